//! Messages written through the same PGN tables that read them ([`super::pgn`]): a value in
//! Halyard's units becomes the field's raw number by the inverse of the table's scaling. What is
//! not written stays "not available" (every bit set), as reserved bits stay set — the standard's
//! rule for both — so a message says only what Halyard knows.

use super::pgn::{find, reserved, FieldDef, Kind, PgnDef};

/// Why a value was not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// Halyard has no table for this PGN.
    UnknownPgn(u32),
    /// The PGN has no field of that name.
    UnknownField,
    /// The value does not fit the field (it would read as "not available" or out of range).
    OutOfRange,
    /// A text field was given a number, or a number field text.
    WrongKind,
}

impl core::fmt::Display for WriteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WriteError::UnknownPgn(p) => write!(f, "PGN {p} has no table"),
            WriteError::UnknownField => f.write_str("no such field"),
            WriteError::OutOfRange => f.write_str("the value does not fit the field"),
            WriteError::WrongKind => f.write_str("a number for a text field or text for a number field"),
        }
    }
}

/// The bytes of one PGN's message, written field by field.
#[derive(Debug, Clone)]
pub struct Writer {
    def: &'static PgnDef,
    len: usize,
    data: [u8; super::fast_packet::MAX_LEN],
}

impl Writer {
    /// A message of `pgn` with every field not available.
    pub fn new(pgn: u32) -> Result<Self, WriteError> {
        let def = find(pgn).ok_or(WriteError::UnknownPgn(pgn))?;
        let bits = def.fields.iter().map(|f| usize::from(f.offset) + usize::from(f.bits)).max().unwrap_or(0);
        // Single-frame PGNs are 8 bytes whatever their fields take (the rest is reserved).
        let len = bits.div_ceil(8).clamp(8, super::fast_packet::MAX_LEN);
        let mut w = Writer { def, len, data: [0xFF; super::fast_packet::MAX_LEN] };
        for f in def.fields {
            match f.kind {
                // A signed field's "not available" is its largest positive value (all ones would
                // read as −1: a latitude of 0.0000000000000001° south).
                Kind::Number { .. } if f.signed => w.put(f.offset, f.bits, u64::MAX >> (65 - u32::from(f.bits))),
                // No flag set, not every alarm on.
                Kind::Flags(_) => w.put(f.offset, f.bits, 0),
                // An enumeration with no "not available" code (its all-ones code has a name,
                // GNSS integrity's 3 is "unsafe"): its first code, not its last.
                Kind::Lookup(t) if t.name((u64::MAX >> (64 - u32::from(f.bits))) as i32).is_some() => {
                    w.put(f.offset, f.bits, 0)
                }
                _ => {}
            }
        }
        Ok(w)
    }

    fn field(&self, name: &str) -> Result<&'static FieldDef, WriteError> {
        self.def.fields.iter().find(|f| f.name == name).ok_or(WriteError::UnknownField)
    }

    /// Set a number (an enumeration's or a bit set's raw code) in Halyard's units.
    pub fn set(&mut self, name: &str, value: f64) -> Result<&mut Self, WriteError> {
        let f = self.field(name)?;
        let raw = match f.kind {
            Kind::Number { num, den, offset, decimals, .. } => {
                let mut scale = 1.0;
                for _ in 0..decimals {
                    scale *= 10.0;
                }
                // units of 10^-decimals = raw × num / den + offset × 10^decimals… inverted.
                let units = value * scale - offset as f64;
                round(units * den as f64 / num as f64)
            }
            Kind::Lookup(_) | Kind::Flags(_) | Kind::Raw | Kind::Date => round(value),
            Kind::Text | Kind::VarText => return Err(WriteError::WrongKind),
        };
        let bits = u32::from(f.bits);
        let max: i128 = if bits >= 64 { i128::from(u64::MAX) } else { (1i128 << bits) - 1 };
        // Numbers stop short of their "not available" codes; codes and NAME fields do not.
        let top = match f.kind {
            Kind::Number { .. } if f.signed => (max >> 1) - reserved(f.bits),
            Kind::Number { .. } => max - reserved(f.bits),
            // The reader takes the top two dates for "not available" and "out of range".
            Kind::Date => max - 2,
            _ => max,
        };
        let bottom = if f.signed { -(max >> 1) - 1 } else { 0 };
        if raw > top || raw < bottom {
            return Err(WriteError::OutOfRange);
        }
        self.put(f.offset, f.bits, (raw as u64) & (max as u64));
        Ok(self)
    }

    /// Set a text field: ASCII, cut to the field, padded with `0xFF`.
    pub fn set_text(&mut self, name: &str, text: &str) -> Result<&mut Self, WriteError> {
        let f = self.field(name)?;
        if f.kind != Kind::Text {
            return Err(WriteError::WrongKind);
        }
        let (start, len) = (usize::from(f.offset) / 8, usize::from(f.bits) / 8);
        let field = &mut self.data[start..start + len];
        field.fill(0xFF);
        for (slot, b) in field.iter_mut().zip(text.bytes().filter(u8::is_ascii)) {
            *slot = b;
        }
        Ok(self)
    }

    /// The message.
    pub fn bytes(&self) -> &[u8] {
        &self.data[..self.len]
    }

    fn put(&mut self, offset: u16, bits: u16, value: u64) {
        for i in 0..usize::from(bits) {
            let at = usize::from(offset) + i;
            let (byte, bit) = (at / 8, at % 8);
            if value >> i & 1 == 1 {
                self.data[byte] |= 1 << bit;
            } else {
                self.data[byte] &= !(1 << bit);
            }
        }
    }
}

/// Half away from zero, without `std`.
fn round(x: f64) -> i128 {
    if x >= 0.0 {
        (x + 0.5) as i128
    } else {
        (x - 0.5) as i128
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::n2k::pgn::{field_value, Message};
    use crate::Value;

    #[test]
    fn a_battery_status_reads_back_and_the_rest_is_not_available() {
        let mut w = Writer::new(127_508).unwrap();
        w.set("instance", 1.0).unwrap().set("voltage", 13.01).unwrap().set("current", -10.0).unwrap();
        assert_eq!(w.bytes().len(), 8);
        // The bytes Aava's battery sent for 13.01 V (tests in pgn.rs), with −10.0 A.
        assert_eq!(&w.bytes()[..5], &[0x01, 0x15, 0x05, 0x9c, 0xff]);
        let m = Message::new(127_508, w.bytes()).unwrap();
        assert_eq!(m.number("voltage"), Some(13.01));
        assert_eq!(m.number("current"), Some(-10.0));
        assert_eq!(m.value("temperature"), Value::NotAvailable);
        assert_eq!(w.set("voltage", 400.0).err(), Some(WriteError::OutOfRange), "327.64 V is the top");
        assert_eq!(w.set("volts", 1.0).err(), Some(WriteError::UnknownField));
        assert_eq!(Writer::new(65_280).err(), Some(WriteError::UnknownPgn(65_280)));
    }

    #[test]
    fn temperatures_angles_and_text() {
        let mut w = Writer::new(127_508).unwrap();
        w.set("temperature", 26.67).unwrap();
        assert_eq!(Message::new(127_508, w.bytes()).unwrap().number("temperature"), Some(26.67));
        let mut p = Writer::new(126_996).unwrap();
        p.set("nmea_2000_version", 2.1).unwrap().set_text("model_id", "Halyard gateway").unwrap();
        assert_eq!(p.bytes().len(), 134);
        let m = Message::new(126_996, p.bytes()).unwrap();
        assert_eq!(m.value("model_id"), Value::Text("Halyard gateway"));
        assert_eq!(m.number("nmea_2000_version"), Some(2.1));
        assert_eq!(m.value("model_serial_code"), Value::NotAvailable);
    }

    #[test]
    fn a_new_message_says_nothing() {
        for def in crate::n2k::pgn::PGNS {
            let w = Writer::new(def.pgn).unwrap();
            for f in def.fields {
                let v = field_value(w.bytes(), f);
                let nothing = match f.kind {
                    Kind::Flags(_) => v.as_f64() == Some(0.0),
                    // A bit, or a NAME's field, has no "not available".
                    Kind::Raw => true,
                    Kind::Lookup(_) if f.bits == 1 => true,
                    Kind::Lookup(t) if t.name((u64::MAX >> (64 - u32::from(f.bits))) as i32).is_some() => {
                        v.as_f64() == Some(0.0)
                    }
                    _ => v == Value::NotAvailable,
                };
                assert!(nothing, "{} {}: {v:?}", def.pgn, f.name);
            }
        }
    }

    proptest::proptest! {
        /// Whatever a field reads as a number writes back to the same bytes' value.
        #[test]
        fn every_number_read_writes_back(data in proptest::collection::vec(proptest::num::u8::ANY, 8..64)) {
            for def in crate::n2k::pgn::PGNS {
                for f in def.fields {
                    if let Value::Number(d) = field_value(&data, f) {
                        let Ok(mut w) = Writer::new(def.pgn) else { continue };
                        if w.set(f.name, d.to_f64()).is_ok() {
                            proptest::prop_assert_eq!(field_value(w.bytes(), f), Value::Number(d), "{} {}", def.pgn, f.name);
                        }
                    }
                }
            }
        }
    }
}
