//! LSB-first bit unpacking, as Victron packs Instant Readout records.
//!
//! Field bit *i* is bit `(pos + i) % 8` of byte `(pos + i) / 8`: fields run little-endian across
//! byte boundaries (victron.md §1.3; Victron confirmed the order in keshavdv/victron-ble#47).

/// Read `width` (1..=32) bits starting at bit `offset` of `data`, LSB first.
///
/// Returns `None` when the field extends past the end of `data`: bytes beyond the real
/// ciphertext are padding garbage, so a field that is not wholly inside the record is
/// "not available" rather than a guess (victron.md §1.2).
pub(crate) fn read_bits(data: &[u8], offset: u16, width: u8) -> Option<u32> {
    debug_assert!((1..=32).contains(&width));
    let offset = usize::from(offset);
    let width = usize::from(width);
    let end = offset + width;
    if end > data.len() * 8 {
        return None;
    }
    let first = offset / 8;
    let last = (end - 1) / 8;
    // At most 5 bytes hold a 32-bit field that starts mid-byte.
    let mut acc: u64 = 0;
    for (i, byte) in data[first..=last].iter().enumerate() {
        acc |= u64::from(*byte) << (8 * i);
    }
    acc >>= offset % 8;
    let mask = if width == 32 { u64::from(u32::MAX) } else { (1u64 << width) - 1 };
    Some((acc & mask) as u32)
}

/// Two's-complement sign extension of a `width`-bit raw value.
pub(crate) fn sign_extend(raw: u32, width: u8) -> i64 {
    let shift = 64 - u32::from(width);
    (i64::from(raw) << shift) >> shift
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_across_byte_boundaries_lsb_first() {
        // 0b1010_1100, 0b0000_0011: bits 2..10 = 0b11_1010_11
        let data = [0xAC, 0x03];
        assert_eq!(read_bits(&data, 2, 8), Some(0b1110_1011));
        assert_eq!(read_bits(&data, 0, 16), Some(0x03AC));
        assert_eq!(read_bits(&data, 15, 1), Some(0));
        assert_eq!(read_bits(&data, 9, 1), Some(1));
    }

    #[test]
    fn field_past_the_end_is_none() {
        assert_eq!(read_bits(&[0xFF], 4, 5), None);
        assert_eq!(read_bits(&[], 0, 1), None);
    }

    #[test]
    fn thirty_two_bits_at_odd_offset() {
        let data = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(read_bits(&data, 7, 32), Some(u32::MAX));
    }

    #[test]
    fn sign_extension() {
        assert_eq!(sign_extend(0x3FFFFF, 22), -1);
        assert_eq!(sign_extend(0x1FFFFF, 22), 0x1FFFFF);
        assert_eq!(sign_extend(0x8000, 16), -32768);
        assert_eq!(sign_extend(0x7F, 8), 127);
    }
}
