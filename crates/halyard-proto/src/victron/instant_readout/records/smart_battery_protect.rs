//! 0x09 Smart BatteryProtect (emd.pdf p.6; 15 bytes).
//!
//! The document prints the start bits as 8, 16, 24 …, off by 24: the real layout starts at
//! record bit 32 like every other record, and only that reading decodes the captures
//! (victron.md §1.5).
//!
//! | bit | width | S/U | field | scale | NA |
//! |---|---|---|---|---|---|
//! | 0 | 8 | U | device_state | enum | 0xFF |
//! | 8 | 8 | U | output_state | enum | 0xFF |
//! | 16 | 8 | U | error_code (charger error table) | enum | 0xFF |
//! | 24 | 16 | U | alarm_reason (bits) | – | – |
//! | 40 | 16 | U | warning_reason (bits) | – | – |
//! | 56 | 16 | S | input_voltage | 0.01 V | 0x7FFF |
//! | 72 | 16 | U | output_voltage | 0.01 V | 0xFFFF |
//! | 88 | 32 | U | off_reason (bits) | – | – |

use super::super::layout::{enumeration, flags, scaled, FieldSpec};
use crate::victron::reasons::{ALARM_REASON, OFF_REASON};
use crate::victron::states::{CHARGER_ERROR, DEVICE_STATE, OUTPUT_STATE};
use crate::Unit;

pub(crate) static LAYOUT: &[FieldSpec] = &[
    enumeration("device_state", 0, 8, &DEVICE_STATE, &[0xFF]),
    enumeration("output_state", 8, 8, &OUTPUT_STATE, &[0xFF]),
    enumeration("error_code", 16, 8, &CHARGER_ERROR, &[0xFF]),
    flags("alarm_reason", 24, 16, &ALARM_REASON),
    flags("warning_reason", 40, 16, &ALARM_REASON),
    scaled("input_voltage", 56, 16, true, 2, Unit::Volt, &[0x7FFF]),
    scaled("output_voltage", 72, 16, false, 2, Unit::Volt, &[0xFFFF]),
    flags("off_reason", 88, 32, &OFF_REASON),
];

#[cfg(test)]
mod tests {
    use super::super::testing::{field, number};
    use super::LAYOUT;

    /// keshavdv/victron-ble tests/test_smart_battery_protect.py, a real SBP-65.
    #[test]
    fn real_sbp() {
        let p = "f90100000000001b051b0500000000";
        assert_eq!(field(LAYOUT, p, "device_state").enum_name(), Some("load_detect"));
        assert_eq!(field(LAYOUT, p, "output_state").enum_name(), Some("on"));
        assert_eq!(number(LAYOUT, p, "input_voltage"), Some(13.07));
        assert_eq!(number(LAYOUT, p, "output_voltage"), Some(13.07));
        assert_eq!(number(LAYOUT, p, "off_reason"), Some(0.0));
    }
}
