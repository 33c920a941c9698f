//! 0x04 DC/DC converter (Orion Smart) (emd.pdf p.4; 10 bytes).
//!
//! | bit | width | S/U | field | scale | NA |
//! |---|---|---|---|---|---|
//! | 0 | 8 | U | device_state | enum | 0xFF |
//! | 8 | 8 | U | charger_error | enum | 0xFF |
//! | 16 | 16 | U | input_voltage | 0.01 V | 0xFFFF |
//! | 32 | 16 | S | output_voltage | 0.01 V | 0x7FFF |
//! | 48 | 32 | U | off_reason (bits) | – | – |

use super::super::layout::{enumeration, flags, scaled, FieldSpec};
use crate::victron::reasons::OFF_REASON;
use crate::victron::states::{CHARGER_ERROR, DEVICE_STATE};
use crate::Unit;

pub(crate) static LAYOUT: &[FieldSpec] = &[
    enumeration("device_state", 0, 8, &DEVICE_STATE, &[0xFF]),
    enumeration("charger_error", 8, 8, &CHARGER_ERROR, &[0xFF]),
    scaled("input_voltage", 16, 16, false, 2, Unit::Volt, &[0xFFFF]),
    scaled("output_voltage", 32, 16, true, 2, Unit::Volt, &[0x7FFF]),
    flags("off_reason", 48, 32, &OFF_REASON),
];

#[cfg(test)]
mod tests {
    use super::super::testing::{field, number};
    use super::LAYOUT;
    use crate::Value;

    /// keshavdv/victron-ble tests/test_dcdc_converter.py, a real Orion Smart 12/12-18.
    #[test]
    fn orion_engine_shutdown() {
        let p = "00002305ff7f80000000";
        assert_eq!(number(LAYOUT, p, "input_voltage"), Some(13.15));
        assert_eq!(number(LAYOUT, p, "output_voltage"), None);
        assert!(matches!(field(LAYOUT, p, "off_reason"), Value::Flags { raw: 0x80, .. }));
    }

    /// The combination that crashes enum-based decoders (keshavdv/victron-ble#20).
    #[test]
    fn combined_off_reasons() {
        match field(LAYOUT, "00002305ff7f81000000", "off_reason") {
            Value::Flags { raw, table } => {
                assert_eq!(raw, 0x81);
                assert_eq!(table.names(raw).collect::<Vec<_>>(), ["no_input_power", "engine_shutdown"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
