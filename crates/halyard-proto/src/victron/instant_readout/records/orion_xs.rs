//! 0x0F Orion XS (undocumented; reverse-engineered in Fabian-Schmidt/esphome-victron_ble PR #54,
//! used by keshavdv/victron-ble orion_xs.py; victron.md §1.5).
//!
//! | bit | width | S/U | field | scale | NA |
//! |---|---|---|---|---|---|
//! | 0 | 8 | U | device_state | enum | 0xFF |
//! | 8 | 8 | U | charger_error | enum | 0xFF |
//! | 16 | 16 | U | output_voltage | 0.01 V | 0xFFFF |
//! | 32 | 16 | U | output_current | 0.1 A | 0xFFFF |
//! | 48 | 16 | U | input_voltage | 0.01 V | 0xFFFF |
//! | 64 | 16 | U | input_current | 0.1 A | 0xFFFF |
//! | 80 | 32 | U | off_reason (bits) | – | – |

use super::super::layout::{enumeration, flags, scaled, FieldSpec};
use crate::victron::reasons::OFF_REASON;
use crate::victron::states::{CHARGER_ERROR, DEVICE_STATE};
use crate::Unit;

pub(crate) static LAYOUT: &[FieldSpec] = &[
    enumeration("device_state", 0, 8, &DEVICE_STATE, &[0xFF]),
    enumeration("charger_error", 8, 8, &CHARGER_ERROR, &[0xFF]),
    scaled("output_voltage", 16, 16, false, 2, Unit::Volt, &[0xFFFF]),
    scaled("output_current", 32, 16, false, 1, Unit::Ampere, &[0xFFFF]),
    scaled("input_voltage", 48, 16, false, 2, Unit::Volt, &[0xFFFF]),
    scaled("input_current", 64, 16, false, 1, Unit::Ampere, &[0xFFFF]),
    flags("off_reason", 80, 32, &OFF_REASON),
];

#[cfg(test)]
mod tests {
    use super::super::testing::number;
    use super::LAYOUT;

    /// rajlaud/victron-ble-ha-parser tests (synthetic).
    #[test]
    fn bulk() {
        let p = "03006c05320060091e00000000000202";
        assert_eq!(number(LAYOUT, p, "output_voltage"), Some(13.88));
        assert_eq!(number(LAYOUT, p, "output_current"), Some(5.0));
        assert_eq!(number(LAYOUT, p, "input_voltage"), Some(24.0));
        assert_eq!(number(LAYOUT, p, "input_current"), Some(3.0));
        assert_eq!(number(LAYOUT, p, "off_reason"), Some(0.0));
    }
}
