//! 0x0C VE.Bus, sent by the VE.Bus Smart dongle for a MultiPlus/Quattro (emd.pdf p.7; 13 bytes).
//!
//! | bit | width | S/U | field | scale | NA |
//! |---|---|---|---|---|---|
//! | 0 | 8 | U | device_state | enum | 0xFF |
//! | 8 | 8 | U | error (VE.Bus error, values undefined) | – | 0xFF |
//! | 16 | 16 | S | battery_current | 0.1 A | 0x7FFF |
//! | 32 | 14 | U | battery_voltage | 0.01 V | 0x3FFF |
//! | 46 | 2 | U | ac_in_state | enum | – |
//! | 48 | 19 | S | ac_in_power | 1 W | 0x3FFFF |
//! | 67 | 19 | S | ac_out_power | 1 W | 0x3FFFF |
//! | 86 | 2 | U | alarm | enum | 3 |
//! | 88 | 7 | U | battery_temperature | °C − 40 | 0x7F |
//! | 95 | 7 | U | soc | 1 % | 0x7F |

use super::super::layout::{celsius_plus_40, code, enumeration, scaled, FieldSpec};
use crate::victron::states::{AC_IN_STATE, DEVICE_STATE, VEBUS_ALARM};
use crate::Unit;

pub(crate) static LAYOUT: &[FieldSpec] = &[
    enumeration("device_state", 0, 8, &DEVICE_STATE, &[0xFF]),
    code("error", 8, 8, &[0xFF]),
    scaled("battery_current", 16, 16, true, 1, Unit::Ampere, &[0x7FFF]),
    scaled("battery_voltage", 32, 14, false, 2, Unit::Volt, &[0x3FFF]),
    enumeration("ac_in_state", 46, 2, &AC_IN_STATE, &[]),
    scaled("ac_in_power", 48, 19, true, 0, Unit::Watt, &[0x3_FFFF]),
    scaled("ac_out_power", 67, 19, true, 0, Unit::Watt, &[0x3_FFFF]),
    enumeration("alarm", 86, 2, &VEBUS_ALARM, &[3]),
    celsius_plus_40("battery_temperature", 88),
    scaled("soc", 95, 7, false, 0, Unit::Percent, &[0x7F]),
];

#[cfg(test)]
mod tests {
    use super::super::testing::{field, number};
    use super::LAYOUT;

    /// keshavdv/victron-ble tests/test_vebus.py, a real MultiPlus-II in float on shore power.
    #[test]
    fn float_on_shore_power() {
        let p = "0500e800a505b305b02000c8ff";
        assert_eq!(field(LAYOUT, p, "device_state").enum_name(), Some("float"));
        assert_eq!(number(LAYOUT, p, "battery_current"), Some(23.2));
        assert_eq!(number(LAYOUT, p, "battery_voltage"), Some(14.45));
        assert_eq!(field(LAYOUT, p, "ac_in_state").enum_name(), Some("ac_in_1"));
        assert_eq!(number(LAYOUT, p, "ac_in_power"), Some(1459.0));
        assert_eq!(number(LAYOUT, p, "ac_out_power"), Some(1046.0));
        assert_eq!(number(LAYOUT, p, "battery_temperature"), Some(32.0));
        assert_eq!(number(LAYOUT, p, "soc"), None);
    }
}
