//! 0x08 AC Charger: Blue Smart IP22/IP65, Phoenix Smart IP43 (emd.pdf p.5–6; 13 bytes).
//!
//! | bit | width | S/U | field | scale | NA |
//! |---|---|---|---|---|---|
//! | 0 | 8 | U | charge_state | enum | 0xFF |
//! | 8 | 8 | U | charger_error | enum | 0xFF |
//! | 16 | 13 | U | output_voltage1 | 0.01 V | 0x1FFF |
//! | 29 | 11 | U | output_current1 | 0.1 A | 0x7FF |
//! | 40 | 13 | U | output_voltage2 | 0.01 V | 0x1FFF |
//! | 53 | 11 | U | output_current2 | 0.1 A | 0x7FF |
//! | 64 | 13 | U | output_voltage3 | 0.01 V | 0x1FFF |
//! | 77 | 11 | U | output_current3 | 0.1 A | 0x7FF |
//! | 88 | 7 | U | temperature | °C − 40 | 0x7F |
//! | 95 | 9 | U | ac_current | 0.1 A | 0x1FF |

use super::super::layout::{celsius_plus_40, enumeration, scaled, FieldSpec};
use crate::victron::states::{CHARGER_ERROR, DEVICE_STATE};
use crate::Unit;

pub(crate) static LAYOUT: &[FieldSpec] = &[
    enumeration("charge_state", 0, 8, &DEVICE_STATE, &[0xFF]),
    enumeration("charger_error", 8, 8, &CHARGER_ERROR, &[0xFF]),
    scaled("output_voltage1", 16, 13, false, 2, Unit::Volt, &[0x1FFF]),
    scaled("output_current1", 29, 11, false, 1, Unit::Ampere, &[0x7FF]),
    scaled("output_voltage2", 40, 13, false, 2, Unit::Volt, &[0x1FFF]),
    scaled("output_current2", 53, 11, false, 1, Unit::Ampere, &[0x7FF]),
    scaled("output_voltage3", 64, 13, false, 2, Unit::Volt, &[0x1FFF]),
    scaled("output_current3", 77, 11, false, 1, Unit::Ampere, &[0x7FF]),
    celsius_plus_40("temperature", 88),
    scaled("ac_current", 95, 9, false, 1, Unit::Ampere, &[0x1FF]),
];

#[cfg(test)]
mod tests {
    use super::super::testing::{field, number};
    use super::LAYOUT;

    /// keshavdv/victron-ble tests/test_ac_charger.py, a real Blue Smart IP22 12/30.
    #[test]
    fn ip22_storage() {
        let p = "0600458500ffffffffffffbdff";
        assert_eq!(field(LAYOUT, p, "charge_state").enum_name(), Some("storage"));
        assert_eq!(number(LAYOUT, p, "output_voltage1"), Some(13.49));
        assert_eq!(number(LAYOUT, p, "output_current1"), Some(0.4));
        assert_eq!(number(LAYOUT, p, "output_current2"), None);
        assert_eq!(number(LAYOUT, p, "temperature"), Some(21.0));
        assert_eq!(number(LAYOUT, p, "ac_current"), None);
    }
}
