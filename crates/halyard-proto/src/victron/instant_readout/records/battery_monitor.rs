//! 0x02 Battery Monitor: SmartShunt, BMV-71x and the Smart Battery Sense (emd.pdf p.3; 15 bytes).
//!
//! | bit | width | S/U | field | scale | NA |
//! |---|---|---|---|---|---|
//! | 0 | 16 | U | remaining_mins (TTG) | 1 min | 0xFFFF |
//! | 16 | 16 | S | voltage | 0.01 V | 0x7FFF |
//! | 32 | 16 | U | alarm (alarm reason bits) | – | – |
//! | 48 | 16 | * | aux value, by aux mode: starter_voltage S 0.01 V (0x7FFF), midpoint_voltage U 0.01 V (0xFFFF), temperature_c U 0.01 K (0xFFFF) | | |
//! | 64 | 2 | U | aux_mode | enum | – |
//! | 66 | 22 | S | current | 0.001 A | 0x3FFFFF and 0x1FFFFF |
//! | 88 | 20 | U | consumed_ah | −0.1 Ah | 0xFFFFF |
//! | 108 | 10 | U | soc | 0.1 % | 0x3FF |
//!
//! The 22-bit current: the document gives 0x3FFFFF as "not available", real Smart Battery Sense
//! units send 0x1FFFFF (the largest positive value). Both are NA here; victron-ble 0.9.3 reports
//! the latter as 2097.151 A (victron.md §1.7-1).

use super::super::layout::{consumed_ah, enumeration, flags, scaled, FieldSpec, Kind};
use crate::victron::reasons::ALARM_REASON;
use crate::victron::states::AUX_INPUT;
use crate::Unit;

pub(crate) static LAYOUT: &[FieldSpec] = &[
    scaled("remaining_mins", 0, 16, false, 0, Unit::Minute, &[0xFFFF]),
    scaled("voltage", 16, 16, true, 2, Unit::Volt, &[0x7FFF]),
    flags("alarm", 32, 16, &ALARM_REASON),
    FieldSpec { name: "aux", bit: 48, width: 16, kind: Kind::Aux { mode_bit: 64, mid_voltage_allowed: true }, na: &[] },
    enumeration("aux_mode", 64, 2, &AUX_INPUT, &[]),
    scaled("current", 66, 22, true, 3, Unit::Ampere, &[0x3F_FFFF, 0x1F_FFFF]),
    consumed_ah(88),
    scaled("soc", 108, 10, false, 1, Unit::Percent, &[0x3FF]),
];

#[cfg(test)]
mod tests {
    use super::super::testing::{field, number};
    use super::LAYOUT;

    /// keshavdv/victron-ble tests/test_battery_monitor.py, a real SmartShunt 500A.
    #[test]
    fn smartshunt() {
        let p = "ffffe50400000000030000f40140df";
        assert_eq!(number(LAYOUT, p, "remaining_mins"), None);
        assert_eq!(number(LAYOUT, p, "voltage"), Some(12.53));
        assert_eq!(number(LAYOUT, p, "current"), Some(0.0));
        assert_eq!(number(LAYOUT, p, "consumed_ah"), Some(-50.0));
        assert_eq!(number(LAYOUT, p, "soc"), Some(50.0));
        assert_eq!(field(LAYOUT, p, "aux_mode").enum_name(), Some("disabled"));
    }

    /// keshavdv/victron-ble tests/test_battery_sense.py: the current is 0x1FFFFF, i.e. not
    /// available (go-victron's expectation), not 2097.151 A.
    #[test]
    fn smart_battery_sense_current_is_not_available() {
        let p = "ffffc60400007d73feff7fffffffff";
        assert_eq!(number(LAYOUT, p, "current"), None);
        assert_eq!(number(LAYOUT, p, "temperature_c"), Some(22.5));
        assert_eq!(number(LAYOUT, p, "consumed_ah"), None);
        assert_eq!(number(LAYOUT, p, "soc"), None);
    }

    /// Aux temperature raw 0xFFFF is "not available" (victron-ble reports 382.2 °C).
    #[test]
    fn aux_temperature_sentinel() {
        assert_eq!(number(LAYOUT, "ffffe6040000ffff020000000080fe", "temperature_c"), None);
        assert_eq!(number(LAYOUT, "ffffe6040000feff000000000080fe", "starter_voltage"), Some(-0.02));
        assert_eq!(number(LAYOUT, "ffffe6040000feff010000000080fe", "midpoint_voltage"), Some(655.34));
    }

    #[test]
    fn negative_current_sign_extends_after_the_na_check() {
        // current = -1.000 A → 22-bit two's complement 0x3FFC18 at bit 66.
        let raw: u32 = (-1000i32 as u32) & 0x3F_FFFF;
        let mut p = [0u8; 15];
        p[8] = 3 | ((raw & 0x3F) << 2) as u8; // aux mode 3 (none) in bits 64..66
        p[9] = (raw >> 6) as u8;
        p[10] = (raw >> 14) as u8;
        let hex: String = p.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(number(LAYOUT, &hex, "current"), Some(-1.0));
    }
}
