//! The decrypted body of a data message: a type byte, then VE.Direct register records
//! `register u16 LE ‖ length u8 ‖ value (length bytes, LE)` (victron.md §3.3).

/// A decrypted data-message body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cleartext<'a>(pub &'a [u8]);

/// One register record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterRecord<'a> {
    /// VE.Direct register id.
    pub register: u16,
    /// Little-endian value bytes.
    pub value: &'a [u8],
}

impl RegisterRecord<'_> {
    /// The value as an unsigned integer (values of up to 4 bytes), as monitorPowerToMQTT
    /// published it on its raw topics.
    pub fn raw_u32(&self) -> Option<u32> {
        (self.value.len() <= 4).then(|| self.value.iter().rev().fold(0u32, |acc, b| acc << 8 | u32::from(*b)))
    }
}

/// A record that runs past the end of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleartextError {
    /// Offset of the truncated record in the body.
    pub offset: usize,
}

impl core::fmt::Display for CleartextError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "VE.Smart register record at offset {} runs past the end of the message", self.offset)
    }
}

impl<'a> Cleartext<'a> {
    /// The type byte: 0x0F and 0x08 have been seen; others were published raw by
    /// monitorPowerToMQTT as `unparsedcleartext`.
    pub fn kind(&self) -> Option<u8> {
        self.0.first().copied()
    }

    /// Whether the type byte is one known to carry register records.
    pub fn has_records(&self) -> bool {
        matches!(self.kind(), Some(0x0F | 0x08))
    }

    /// The register records. Trailing zero padding (an all-zero tail shorter than a record
    /// header) ends the iteration quietly.
    pub fn records(&self) -> Records<'a> {
        Records { body: self.0, pos: 1 }
    }
}

/// Iterator over [`RegisterRecord`]s; yields one error and stops on a truncated record.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<RegisterRecord<'a>, CleartextError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.body.get(self.pos..)?;
        if rest.is_empty() || (rest.len() < 3 && rest.iter().all(|b| *b == 0)) {
            return None;
        }
        let offset = self.pos;
        if rest.len() < 3 || rest.len() < 3 + usize::from(rest[2]) {
            self.pos = self.body.len();
            return Some(Err(CleartextError { offset }));
        }
        let len = usize::from(rest[2]);
        self.pos += 3 + len;
        Some(Ok(RegisterRecord { register: u16::from_le_bytes([rest[0], rest[1]]), value: &rest[3..3 + len] }))
    }
}

#[cfg(feature = "std")]
impl std::error::Error for CleartextError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_vector_records() {
        let body = crate::hex::decode("0f27200440e201000c200105").unwrap();
        let c = Cleartext(&body);
        assert!(c.has_records());
        let recs: Vec<_> = c.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!((recs[0].register, recs[0].raw_u32()), (0x2027, Some(123_456)));
        assert_eq!((recs[1].register, recs[1].raw_u32()), (0x200C, Some(5)));
    }

    #[test]
    fn truncated_record_is_reported_once() {
        let body = [0x0F, 0xBC, 0xED, 4, 1, 2];
        let out: Vec<_> = Cleartext(&body).records().collect();
        assert_eq!(out, [Err(CleartextError { offset: 1 })]);
    }
}
