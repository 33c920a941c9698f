//! 0x01 Solar Charger (emd.pdf p.3; 12-byte payload observed).
//!
//! | bit | width | S/U | field | scale | NA |
//! |---|---|---|---|---|---|
//! | 0 | 8 | U | charge_state (device state) | enum | 0xFF |
//! | 8 | 8 | U | charger_error | enum | 0xFF |
//! | 16 | 16 | S | battery_voltage | 0.01 V | 0x7FFF |
//! | 32 | 16 | S | battery_charging_current | 0.1 A | 0x7FFF |
//! | 48 | 16 | U | yield_today | 0.01 kWh | 0xFFFF |
//! | 64 | 16 | U | solar_power (PV power) | 1 W | 0xFFFF |
//! | 80 | 9 | U | external_device_load (load current) | 0.1 A | 0x1FF |

use super::super::layout::{enumeration, scaled, FieldSpec};
use crate::victron::states::{CHARGER_ERROR, DEVICE_STATE};
use crate::Unit;

pub(crate) static LAYOUT: &[FieldSpec] = &[
    enumeration("charge_state", 0, 8, &DEVICE_STATE, &[0xFF]),
    enumeration("charger_error", 8, 8, &CHARGER_ERROR, &[0xFF]),
    scaled("battery_voltage", 16, 16, true, 2, Unit::Volt, &[0x7FFF]),
    scaled("battery_charging_current", 32, 16, true, 1, Unit::Ampere, &[0x7FFF]),
    scaled("yield_today", 48, 16, false, 2, Unit::KiloWattHour, &[0xFFFF]),
    scaled("solar_power", 64, 16, false, 0, Unit::Watt, &[0xFFFF]),
    scaled("external_device_load", 80, 9, false, 1, Unit::Ampere, &[0x1FF]),
];

#[cfg(test)]
mod tests {
    use super::super::testing::{field, number};
    use super::LAYOUT;

    /// keshavdv/victron-ble tests/test_solar_charger.py: a real BlueSolar 75/15, and an MPPT 100
    /// whose load output is absent (0x1FF).
    #[test]
    fn real_payloads() {
        let p = "04006c050e000300130000fe";
        assert_eq!(field(LAYOUT, p, "charge_state").enum_name(), Some("absorption"));
        assert_eq!(number(LAYOUT, p, "battery_voltage"), Some(13.88));
        assert_eq!(number(LAYOUT, p, "battery_charging_current"), Some(1.4));
        assert_eq!(number(LAYOUT, p, "yield_today"), Some(0.03));
        assert_eq!(number(LAYOUT, p, "solar_power"), Some(19.0));
        assert_eq!(number(LAYOUT, p, "external_device_load"), Some(0.0));
        let p = "0300fb09650032000901ffff31bc45ad";
        assert_eq!(number(LAYOUT, p, "battery_voltage"), Some(25.55));
        assert_eq!(number(LAYOUT, p, "yield_today"), Some(0.5));
        assert_eq!(number(LAYOUT, p, "solar_power"), Some(265.0));
        assert_eq!(number(LAYOUT, p, "external_device_load"), None);
    }
}
