//! Hexadecimal text helpers shared by the CLI, the VE.Direct HEX codec and the tests.

/// Why a hex string could not be turned into bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HexError {
    /// The string has an odd number of hex digits.
    OddLength,
    /// A character that is not a hex digit, at this index.
    InvalidDigit(usize),
    /// The output buffer is smaller than the decoded bytes.
    TooLong,
}

impl core::fmt::Display for HexError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HexError::OddLength => f.write_str("odd number of hex digits"),
            HexError::InvalidDigit(i) => write!(f, "not a hex digit at position {i}"),
            HexError::TooLong => f.write_str("hex string too long"),
        }
    }
}

/// Value of one ASCII hex digit (either case).
pub const fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The value of 1 to 8 hex digits (CAN ids, SLCAN fields); `None` for anything else.
pub fn parse_u32(text: &[u8]) -> Option<u32> {
    if text.is_empty() || text.len() > 8 {
        return None;
    }
    text.iter().try_fold(0u32, |acc, &c| Some(acc << 4 | u32::from(nibble(c)?)))
}

/// Decode hex text into `out`, returning the number of bytes written.
pub fn decode_into(text: &[u8], out: &mut [u8]) -> Result<usize, HexError> {
    if !text.len().is_multiple_of(2) {
        return Err(HexError::OddLength);
    }
    let n = text.len() / 2;
    if n > out.len() {
        return Err(HexError::TooLong);
    }
    for i in 0..n {
        let hi = nibble(text[2 * i]).ok_or(HexError::InvalidDigit(2 * i))?;
        let lo = nibble(text[2 * i + 1]).ok_or(HexError::InvalidDigit(2 * i + 1))?;
        out[i] = hi << 4 | lo;
    }
    Ok(n)
}

/// Decode hex text into a new vector.
#[cfg(any(feature = "alloc", test))]
pub fn decode(text: &str) -> Result<alloc::vec::Vec<u8>, HexError> {
    let mut out = alloc::vec![0u8; text.len() / 2];
    let n = decode_into(text.trim().as_bytes(), &mut out)?;
    out.truncate(n);
    Ok(out)
}

/// Upper-case hex digit for a nibble.
pub(crate) const fn digit(n: u8) -> u8 {
    b"0123456789ABCDEF"[(n & 0xF) as usize]
}

#[cfg(feature = "std")]
impl std::error::Error for HexError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_cases() {
        let mut out = [0u8; 4];
        assert_eq!(decode_into(b"e102aF", &mut out), Ok(3));
        assert_eq!(&out[..3], &[0xE1, 0x02, 0xAF]);
    }

    #[test]
    fn rejects_bad_input() {
        let mut out = [0u8; 1];
        assert_eq!(decode_into(b"abc", &mut out), Err(HexError::OddLength));
        assert_eq!(decode_into(b"zz", &mut out), Err(HexError::InvalidDigit(0)));
        assert_eq!(decode_into(b"0102", &mut out), Err(HexError::TooLong));
    }
}
