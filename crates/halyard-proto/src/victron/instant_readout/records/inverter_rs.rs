//! 0x06 Inverter RS (emd.pdf p.5). No capture exists publicly; the layout is the document's.
//!
//! | bit | width | S/U | field | scale | NA |
//! |---|---|---|---|---|---|
//! | 0 | 8 | U | device_state | enum | 0xFF |
//! | 8 | 8 | U | charger_error | enum | 0xFF |
//! | 16 | 16 | S | battery_voltage | 0.01 V | 0x7FFF |
//! | 32 | 16 | S | battery_current | 0.1 A | 0x7FFF |
//! | 48 | 16 | U | pv_power | 1 W | 0xFFFF |
//! | 64 | 16 | U | yield_today | 0.01 kWh | 0xFFFF |
//! | 80 | 16 | S | ac_out_power | 1 W | 0x7FFF |

use super::super::layout::{enumeration, scaled, FieldSpec};
use crate::victron::states::{CHARGER_ERROR, DEVICE_STATE};
use crate::Unit;

pub(crate) static LAYOUT: &[FieldSpec] = &[
    enumeration("device_state", 0, 8, &DEVICE_STATE, &[0xFF]),
    enumeration("charger_error", 8, 8, &CHARGER_ERROR, &[0xFF]),
    scaled("battery_voltage", 16, 16, true, 2, Unit::Volt, &[0x7FFF]),
    scaled("battery_current", 32, 16, true, 1, Unit::Ampere, &[0x7FFF]),
    scaled("pv_power", 48, 16, false, 0, Unit::Watt, &[0xFFFF]),
    scaled("yield_today", 64, 16, false, 2, Unit::KiloWattHour, &[0xFFFF]),
    scaled("ac_out_power", 80, 16, true, 0, Unit::Watt, &[0x7FFF]),
];

#[cfg(test)]
mod tests {
    use super::super::testing::number;
    use super::LAYOUT;

    #[test]
    fn hand_packed_per_document() {
        // state 9, error 0, 51.20 V, -12.5 A, 1500 W PV, 3.21 kWh, -20 W AC out.
        let p = "0900001483ffdc054101ecff";
        assert_eq!(number(LAYOUT, p, "battery_voltage"), Some(51.2));
        assert_eq!(number(LAYOUT, p, "battery_current"), Some(-12.5));
        assert_eq!(number(LAYOUT, p, "pv_power"), Some(1500.0));
        assert_eq!(number(LAYOUT, p, "yield_today"), Some(3.21));
        assert_eq!(number(LAYOUT, p, "ac_out_power"), Some(-20.0));
    }
}
