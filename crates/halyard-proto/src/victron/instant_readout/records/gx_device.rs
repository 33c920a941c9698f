//! 0x07 GX device (emd.pdf p.5, "layout TBD and might change"). No capture exists publicly.
//!
//! | bit | width | S/U | field | scale | NA |
//! |---|---|---|---|---|---|
//! | 0 | 16 | U | battery_voltage | 0.01 V | 0xFFFF |
//! | 16 | 20 | U | pv_power | 1 W | 0xFFFFF |
//! | 36 | 7 | U | soc | 1 % | 0x7F |
//! | 43 | 21 | S | battery_power | 1 W | 0x0FFFFF |
//! | 64 | 21 | S | dc_power | 1 W | 0x0FFFFF |

use super::super::layout::{scaled, FieldSpec};
use crate::Unit;

pub(crate) static LAYOUT: &[FieldSpec] = &[
    scaled("battery_voltage", 0, 16, false, 2, Unit::Volt, &[0xFFFF]),
    scaled("pv_power", 16, 20, false, 0, Unit::Watt, &[0xF_FFFF]),
    scaled("soc", 36, 7, false, 0, Unit::Percent, &[0x7F]),
    scaled("battery_power", 43, 21, true, 0, Unit::Watt, &[0x0F_FFFF]),
    scaled("dc_power", 64, 21, true, 0, Unit::Watt, &[0x0F_FFFF]),
];

#[cfg(test)]
mod tests {
    use super::super::testing::number;
    use super::LAYOUT;

    #[test]
    fn hand_packed_per_document() {
        // 13.20 V, 250 W PV, 87 %, -120 W battery, 370 W DC.
        let v: u128 = 1320 | (250 << 16) | (87 << 36) | (((-120i64 as u128) & 0x1F_FFFF) << 43) | (370 << 64);
        let hex: String = v.to_le_bytes()[..11].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(number(LAYOUT, &hex, "battery_voltage"), Some(13.2));
        assert_eq!(number(LAYOUT, &hex, "pv_power"), Some(250.0));
        assert_eq!(number(LAYOUT, &hex, "soc"), Some(87.0));
        assert_eq!(number(LAYOUT, &hex, "battery_power"), Some(-120.0));
        assert_eq!(number(LAYOUT, &hex, "dc_power"), Some(370.0));
    }
}
