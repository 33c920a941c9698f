//! 0x0B Multi RS (emd.pdf p.6; 14 bytes).
//!
//! | bit | width | S/U | field | scale | NA |
//! |---|---|---|---|---|---|
//! | 0 | 8 | U | device_state | enum | 0xFF |
//! | 8 | 8 | U | charger_error | enum | 0xFF |
//! | 16 | 16 | S | battery_current | 0.1 A | 0x7FFF |
//! | 32 | 14 | U | battery_voltage | 0.01 V | 0x3FFF |
//! | 46 | 2 | U | active_ac_in | enum | – |
//! | 48 | 16 | S | active_ac_in_power | 1 W | 0x7FFF |
//! | 64 | 16 | S | active_ac_out_power | 1 W | 0x7FFF |
//! | 80 | 16 | U | pv_power | 1 W | 0xFFFF |
//! | 96 | 16 | U | yield_today | 0.01 kWh | 0xFFFF |

use super::super::layout::{enumeration, scaled, FieldSpec};
use crate::victron::states::{AC_IN_STATE, CHARGER_ERROR, DEVICE_STATE};
use crate::Unit;

pub(crate) static LAYOUT: &[FieldSpec] = &[
    enumeration("device_state", 0, 8, &DEVICE_STATE, &[0xFF]),
    enumeration("charger_error", 8, 8, &CHARGER_ERROR, &[0xFF]),
    scaled("battery_current", 16, 16, true, 1, Unit::Ampere, &[0x7FFF]),
    scaled("battery_voltage", 32, 14, false, 2, Unit::Volt, &[0x3FFF]),
    enumeration("active_ac_in", 46, 2, &AC_IN_STATE, &[]),
    scaled("active_ac_in_power", 48, 16, true, 0, Unit::Watt, &[0x7FFF]),
    scaled("active_ac_out_power", 64, 16, true, 0, Unit::Watt, &[0x7FFF]),
    scaled("pv_power", 80, 16, false, 0, Unit::Watt, &[0xFFFF]),
    scaled("yield_today", 96, 16, false, 2, Unit::KiloWattHour, &[0xFFFF]),
];

#[cfg(test)]
mod tests {
    use super::super::testing::{field, number};
    use super::LAYOUT;

    /// keshavdv/victron-ble tests/test_multirs.py, a real Multi RS Solar.
    #[test]
    fn inverting() {
        let p = "090080ff33940000d20200001402";
        assert_eq!(field(LAYOUT, p, "device_state").enum_name(), Some("inverting"));
        assert_eq!(number(LAYOUT, p, "battery_current"), Some(-12.8));
        assert_eq!(number(LAYOUT, p, "battery_voltage"), Some(51.71));
        assert_eq!(field(LAYOUT, p, "active_ac_in").enum_name(), Some("not_connected"));
        assert_eq!(number(LAYOUT, p, "active_ac_out_power"), Some(722.0));
        assert_eq!(number(LAYOUT, p, "yield_today"), Some(5.32));
    }
}
