//! 0x00 Test record (emd.pdf p.3).
//!
//! | bit | width | field | scale | NA |
//! |---|---|---|---|---|
//! | 0 | 30 | uptime | 1 s | 0x3FFFFFFF |
//! | 30 | 7 | temperature | °C − 40 | 0x7F (the document's 0xFF cannot fit 7 bits) |

use super::super::layout::{celsius_plus_40, scaled, FieldSpec};
use crate::Unit;

pub(crate) static LAYOUT: &[FieldSpec] =
    &[scaled("uptime", 0, 30, false, 0, Unit::Second, &[0x3FFF_FFFF]), celsius_plus_40("temperature", 30)];

#[cfg(test)]
mod tests {
    use super::super::testing::number;
    use super::LAYOUT;

    #[test]
    fn decodes_hand_packed_record() {
        // uptime 3600 s = 0xE10, temperature raw 61 → 21 °C at bit 30.
        let raw: u64 = 3600 | (61 << 30);
        let hex: String = raw.to_le_bytes()[..5].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(number(LAYOUT, &hex, "uptime"), Some(3600.0));
        assert_eq!(number(LAYOUT, &hex, "temperature"), Some(21.0));
    }
}
