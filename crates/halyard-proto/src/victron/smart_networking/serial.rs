//! The 4 serial bytes of a VE.Smart message and their "HQ…" text form (victron.md §3.4,
//! pmarches/veble-networking veAddress.cpp).
//!
//! With `s` the u32 LE of the 4 bytes, the text is `c0 c1 y y w w d4 d3 d2 d1 d0` where
//! `c0 = 'G' + s / (26·36⁵)`, `c1 = 'A' + (s / 36⁵) mod 26` and `d4 … d0` are the base-36 digits of
//! `s` (`0-9A-Z`). The production year and week (`yyww`) are not in the 4 bytes, so they are
//! printed as the literal `yyww`, as monitorPowerToMQTT's topics did. The last five characters
//! match the end of the device's VE.Direct `SER#` (HQ1840**MAEI4**).

use core::fmt;

/// The raw serial bytes as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(pub [u8; 4]);

/// The 11-character text form of a [`Serial`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SerialString([u8; 11]);

const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const P5: u32 = 36 * 36 * 36 * 36 * 36;

impl Serial {
    /// The serial as a little-endian integer.
    pub fn value(self) -> u32 {
        u32::from_le_bytes(self.0)
    }

    /// "HQyywwMAEI4"-style text.
    pub fn to_text(self) -> SerialString {
        let s = self.value();
        let mut out = *b"??yyww?????";
        out[0] = b'G' + (s / (26 * P5)) as u8;
        out[1] = b'A' + ((s / P5) % 26) as u8;
        let mut rest = s;
        for i in (6..11).rev() {
            out[i] = DIGITS[(rest % 36) as usize];
            rest /= 36;
        }
        SerialString(out)
    }
}

impl SerialString {
    /// The text.
    pub fn as_str(&self) -> &str {
        // Every byte written by `to_text` is ASCII.
        core::str::from_utf8(&self.0).unwrap_or("???????????")
    }

    /// The five characters that match the end of the device's VE.Direct serial number.
    pub fn suffix(&self) -> &str {
        &self.as_str()[6..]
    }
}

impl fmt::Display for SerialString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SerialString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_text().fmt(f)
    }
}

/// Whether two Victron serial texts are the same device: equal, or equal apart from the
/// `yyww` that VE.Smart networking cannot carry (victron.md §3.4: `HQyywwMAEI4` is `HQ1840MAEI4`).
/// The gateway and the ESP32 node both name devices with it.
pub fn serials_match(a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != 11 || b.len() != 11 {
        return false;
    }
    let placeholder = |s: &[u8]| &s[2..6] == b"yyww";
    (placeholder(a) || placeholder(b)) && a[..2].eq_ignore_ascii_case(&b[..2]) && a[6..].eq_ignore_ascii_case(&b[6..])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test table of veAddress.cpp `testVeAddress()`.
    #[test]
    fn published_examples() {
        for (bytes, text) in [
            ([0xec, 0x25, 0x9a, 0x99], "HQyywwMAEI4"),
            ([0x38, 0xf6, 0x29, 0x98], "HQyyww7X83C"),
            ([0xb6, 0xa1, 0xb8, 0x99], "HQyywwNH7ZQ"),
            ([0x68, 0x55, 0x50, 0x99], "HQyywwJEPUW"),
        ] {
            assert_eq!(Serial(bytes).to_text().as_str(), text);
        }
        // The same unit's VE.Direct SER# is HQ1840MAEI4 (vhp_parser.cpp testParser).
        assert!("HQ1840MAEI4".ends_with(Serial([0xec, 0x25, 0x9a, 0x99]).to_text().suffix()));
    }

    #[test]
    fn any_serial_is_printable_ascii() {
        for s in [0u32, 1, u32::MAX, 0x8000_0000] {
            let t = Serial(s.to_le_bytes()).to_text();
            assert!(t.as_str().bytes().all(|b| b.is_ascii_graphic()), "{t}");
        }
    }
}
