//! 0x03 Inverter (Phoenix) (emd.pdf p.4).
//!
//! | bit | width | S/U | field | scale | NA |
//! |---|---|---|---|---|---|
//! | 0 | 8 | U | device_state | enum | 0xFF |
//! | 8 | 16 | U | alarm (alarm reason bits) | – | – |
//! | 24 | 16 | S | battery_voltage | 0.01 V | 0x7FFF |
//! | 40 | 16 | U | ac_apparent_power | 1 VA | 0xFFFF |
//! | 56 | 15 | U | ac_voltage | 0.01 V | 0x7FFF |
//! | 71 | 11 | U | ac_current | 0.1 A | 0x7FF |

use super::super::layout::{enumeration, flags, scaled, FieldSpec};
use crate::victron::reasons::ALARM_REASON;
use crate::victron::states::DEVICE_STATE;
use crate::Unit;

pub(crate) static LAYOUT: &[FieldSpec] = &[
    enumeration("device_state", 0, 8, &DEVICE_STATE, &[0xFF]),
    flags("alarm", 8, 16, &ALARM_REASON),
    scaled("battery_voltage", 24, 16, true, 2, Unit::Volt, &[0x7FFF]),
    scaled("ac_apparent_power", 40, 16, false, 0, Unit::VoltAmpere, &[0xFFFF]),
    scaled("ac_voltage", 56, 15, false, 2, Unit::Volt, &[0x7FFF]),
    scaled("ac_current", 71, 11, false, 1, Unit::Ampere, &[0x7FF]),
];

#[cfg(test)]
mod tests {
    use super::super::testing::number;
    use super::LAYOUT;

    /// rajlaud/victron-ble-ha-parser tests (synthetic, built from the published table).
    #[test]
    fn ha_parser_payload() {
        let p = "090000dd04f401d8590b0005";
        assert_eq!(number(LAYOUT, p, "battery_voltage"), Some(12.45));
        assert_eq!(number(LAYOUT, p, "ac_apparent_power"), Some(500.0));
        assert_eq!(number(LAYOUT, p, "ac_voltage"), Some(230.0));
        assert_eq!(number(LAYOUT, p, "ac_current"), Some(2.2));
    }
}
