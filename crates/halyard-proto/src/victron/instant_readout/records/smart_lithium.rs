//! 0x05 SmartLithium (emd.pdf p.4; 16 bytes).
//!
//! | bit | width | S/U | field | scale | NA |
//! |---|---|---|---|---|---|
//! | 0 | 32 | U | bms_flags (bits) | – | – |
//! | 32 | 16 | U | error_flags (undocumented values) | – | – |
//! | 48 + 7·i | 7 | U | cell1 … cell8 | (260 + raw) / 100 V; 0 means < 2.61 V, 0x7E > 3.85 V | 0x7F |
//! | 104 | 12 | U | battery_voltage | 0.01 V | 0x0FFF |
//! | 116 | 4 | U | balancer_status | enum | 0xF |
//! | 120 | 7 | U | battery_temperature | °C − 40 | 0x7F |

use super::super::layout::{celsius_plus_40, code, enumeration, flags, scaled, FieldSpec, Kind};
use crate::victron::reasons::BMS_FLAGS;
use crate::victron::states::BALANCER_STATUS;
use crate::Unit;

const fn cell(name: &'static str, i: u16) -> FieldSpec {
    FieldSpec {
        name,
        bit: 48 + 7 * i,
        width: 7,
        kind: Kind::Scaled { signed: false, mult: 1, offset: 260, decimals: 2, unit: Unit::Volt },
        na: &[0x7F],
    }
}

pub(crate) static LAYOUT: &[FieldSpec] = &[
    flags("bms_flags", 0, 32, &BMS_FLAGS),
    code("error_flags", 32, 16, &[]),
    cell("cell1", 0),
    cell("cell2", 1),
    cell("cell3", 2),
    cell("cell4", 3),
    cell("cell5", 4),
    cell("cell6", 5),
    cell("cell7", 6),
    cell("cell8", 7),
    scaled("battery_voltage", 104, 12, false, 2, Unit::Volt, &[0x0FFF]),
    enumeration("balancer_status", 116, 4, &BALANCER_STATUS, &[0xF]),
    celsius_plus_40("battery_temperature", 120),
];

#[cfg(test)]
mod tests {
    use super::super::testing::{field, number};
    use super::LAYOUT;

    /// keshavdv/victron-ble tests/test_smart_lithium.py::test_parse (a 4-cell 12.8 V battery).
    #[test]
    fn four_cell_battery() {
        let p = "000000060000c7e3f1f8ffffff2c35b5";
        for c in ["cell1", "cell2", "cell3", "cell4"] {
            assert_eq!(number(LAYOUT, p, c), Some(3.31), "{c}");
        }
        for c in ["cell5", "cell6", "cell7", "cell8"] {
            assert_eq!(number(LAYOUT, p, c), None, "{c}");
        }
        assert_eq!(number(LAYOUT, p, "battery_voltage"), Some(13.24));
        assert_eq!(field(LAYOUT, p, "balancer_status").enum_name(), Some("imbalance"));
        assert_eq!(number(LAYOUT, p, "battery_temperature"), Some(13.0));
        assert_eq!(number(LAYOUT, p, "bms_flags"), Some(100663296.0));
    }
}
