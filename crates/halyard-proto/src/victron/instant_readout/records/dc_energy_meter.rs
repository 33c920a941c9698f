//! 0x0D DC Energy Meter: a SmartShunt in energy-meter mode (emd.pdf p.7; 11 bytes).
//!
//! | bit | width | S/U | field | scale | NA |
//! |---|---|---|---|---|---|
//! | 0 | 16 | S | meter_type (BMV monitor mode) | enum | – |
//! | 16 | 16 | S | voltage | 0.01 V | 0x7FFF |
//! | 32 | 16 | U | alarm (alarm reason bits) | – | – |
//! | 48 | 16 | * | aux value: starter_voltage S 0.01 V (mode 0), temperature_c U 0.01 K (mode 2) | | |
//! | 64 | 2 | U | aux_mode (1, mid-point, is not valid here) | enum | – |
//! | 66 | 22 | S | current | 0.001 A | 0x3FFFFF and 0x1FFFFF |

use super::super::layout::{enumeration, flags, scaled, FieldSpec, Kind};
use crate::victron::reasons::ALARM_REASON;
use crate::victron::states::{AUX_INPUT, MONITOR_MODE};
use crate::Unit;

pub(crate) static LAYOUT: &[FieldSpec] = &[
    FieldSpec {
        name: "meter_type",
        bit: 0,
        width: 16,
        kind: Kind::Enum { table: &MONITOR_MODE, signed: true },
        na: &[],
    },
    scaled("voltage", 16, 16, true, 2, Unit::Volt, &[0x7FFF]),
    flags("alarm", 32, 16, &ALARM_REASON),
    FieldSpec {
        name: "aux",
        bit: 48,
        width: 16,
        kind: Kind::Aux { mode_bit: 64, mid_voltage_allowed: false },
        na: &[],
    },
    enumeration("aux_mode", 64, 2, &AUX_INPUT, &[]),
    scaled("current", 66, 22, true, 3, Unit::Ampere, &[0x3F_FFFF, 0x1F_FFFF]),
];

#[cfg(test)]
mod tests {
    use super::super::testing::{field, number};
    use super::LAYOUT;

    /// keshavdv/victron-ble tests/test_dc_energy_meter.py, a real SmartShunt as DC-DC charger meter.
    #[test]
    fn dc_dc_charger_meter() {
        let p = "fdffe4040000ffff000000";
        assert_eq!(field(LAYOUT, p, "meter_type").enum_name(), Some("dc_dc_charger"));
        assert_eq!(number(LAYOUT, p, "voltage"), Some(12.52));
        assert_eq!(number(LAYOUT, p, "starter_voltage"), Some(-0.01));
        assert_eq!(number(LAYOUT, p, "current"), Some(0.0));
        assert_eq!(number(LAYOUT, "fdffe40400008888020000", "temperature_c"), Some(76.37));
    }
}
