//! 0x0A Lynx Smart BMS (emd.pdf p.6; also Victron's own decoder, dbus-ble-sensors
//! src/victron-lsbms.c; 16 bytes).
//!
//! | bit | width | S/U | field | scale | NA |
//! |---|---|---|---|---|---|
//! | 0 | 8 | U | error_flags (VE_REG_BMS_ERROR) | – | – |
//! | 8 | 16 | U | remaining_mins (TTG) | 1 min | 0xFFFF |
//! | 24 | 16 | S | voltage | 0.01 V | 0x7FFF |
//! | 40 | 16 | S | current | 0.1 A | 0x7FFF |
//! | 56 | 16 | U | io_status (2-bit fields) | – | – |
//! | 72 | 18 | U | alarm_flags (2-bit fields: 0 unsupported, 1 ok, 2 warning, 3 alarm) | – | – |
//! | 90 | 10 | U | soc | 0.1 % | 0x3FF |
//! | 100 | 20 | U | consumed_ah | −0.1 Ah | 0xFFFFF |
//! | 120 | 7 | U | battery_temperature | °C − 40 | 0x7F |
//!
//! Consumed Ah is negated as for the battery monitor, as the document and dbus-ble-sensors do;
//! victron-ble reports it positive (victron.md §1.7-4).

use super::super::layout::{celsius_plus_40, code, consumed_ah, scaled, FieldSpec};
use crate::Unit;

pub(crate) static LAYOUT: &[FieldSpec] = &[
    code("error_flags", 0, 8, &[]),
    scaled("remaining_mins", 8, 16, false, 0, Unit::Minute, &[0xFFFF]),
    scaled("voltage", 24, 16, true, 2, Unit::Volt, &[0x7FFF]),
    scaled("current", 40, 16, true, 1, Unit::Ampere, &[0x7FFF]),
    code("io_status", 56, 16, &[]),
    code("alarm_flags", 72, 18, &[]),
    scaled("soc", 90, 10, false, 1, Unit::Percent, &[0x3FF]),
    consumed_ah(100),
    celsius_plus_40("battery_temperature", 120),
];

#[cfg(test)]
mod tests {
    use super::super::testing::number;
    use super::LAYOUT;

    /// keshavdv/victron-ble tests/test_lynx_smart_bms.py.
    #[test]
    fn lynx_payload() {
        let p = "0040388b0afaff951555148ccf0200ff";
        assert_eq!(number(LAYOUT, p, "remaining_mins"), Some(14400.0));
        assert_eq!(number(LAYOUT, p, "voltage"), Some(26.99));
        assert_eq!(number(LAYOUT, p, "current"), Some(-0.6));
        assert_eq!(number(LAYOUT, p, "io_status"), Some(5525.0));
        assert_eq!(number(LAYOUT, p, "alarm_flags"), Some(5205.0));
        assert_eq!(number(LAYOUT, p, "soc"), Some(99.5));
        assert_eq!(number(LAYOUT, p, "consumed_ah"), Some(-4.4));
        assert_eq!(number(LAYOUT, p, "battery_temperature"), None);
    }
}
