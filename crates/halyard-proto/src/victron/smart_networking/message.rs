//! Framing of VE.Smart networking messages (victron.md §3.1).

use super::ccm::{nonce, seal, TAG_LEN};
use super::{Serial, OP_DATA, OP_OVERFLOW};
use crate::victron::instant_readout::PRODUCT_ADVERTISEMENT;

/// One VE.Smart networking broadcast, still encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// Op 0x01: announces the sender's overflow counter; authenticated, not encrypted.
    Overflow {
        /// Group id (first byte of the network id).
        group_id: u8,
        /// Sender.
        serial: Serial,
        /// Message sequence, raw.
        sequence: [u8; 4],
        /// Overflow counter, raw.
        overflow: [u8; 2],
        /// CCM tag.
        tag: [u8; TAG_LEN],
    },
    /// Op 0x02: VE.Direct register records, encrypted.
    Data {
        /// Group id (first byte of the network id).
        group_id: u8,
        /// Sender.
        serial: Serial,
        /// Message sequence, raw.
        sequence: [u8; 4],
        /// Encrypted records.
        ciphertext: &'a [u8],
        /// CCM tag.
        tag: [u8; TAG_LEN],
    },
    /// Op 0x10: an Instant Readout product advertisement; these bytes start at the 0x10.
    ProductAdvertisement(&'a [u8]),
}

/// Why bytes are not a VE.Smart networking message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageError {
    /// Shorter than the op's fixed part.
    TooShort {
        /// The op byte (0 when there was none).
        op: u8,
        /// Bytes received after the company id.
        len: usize,
    },
    /// An op other than 0x01, 0x02 and 0x10.
    UnknownOp(u8),
}

impl core::fmt::Display for MessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            MessageError::TooShort { op, len } => write!(f, "VE.Smart op 0x{op:02X} message too short: {len} bytes"),
            MessageError::UnknownOp(op) => write!(f, "unknown VE.Smart networking op 0x{op:02X}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for MessageError {}

const FIXED: usize = 10; // op, group, serial(4), sequence(4)

impl<'a> Message<'a> {
    /// Parse manufacturer data, with or without the leading `E1 02` company id.
    pub fn parse(data: &'a [u8]) -> Result<Self, MessageError> {
        let data = match data {
            [0xE1, 0x02, rest @ ..] => rest,
            _ => data,
        };
        let op = *data.first().ok_or(MessageError::TooShort { op: 0, len: 0 })?;
        if op == PRODUCT_ADVERTISEMENT {
            return Ok(Message::ProductAdvertisement(data));
        }
        let min = match op {
            OP_OVERFLOW => FIXED + 2 + TAG_LEN,
            OP_DATA => FIXED + TAG_LEN,
            other => return Err(MessageError::UnknownOp(other)),
        };
        if data.len() < min {
            return Err(MessageError::TooShort { op, len: data.len() });
        }
        let group_id = data[1];
        let serial = Serial([data[2], data[3], data[4], data[5]]);
        let sequence = [data[6], data[7], data[8], data[9]];
        let tag_at = data.len() - TAG_LEN;
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&data[tag_at..]);
        Ok(if op == OP_OVERFLOW {
            // Bytes between the overflow counter and the tag are not defined; a longer message
            // is accepted and authenticated on the fixed part, as the C decoder does.
            Message::Overflow { group_id, serial, sequence, overflow: [data[10], data[11]], tag }
        } else {
            Message::Data { group_id, serial, sequence, ciphertext: &data[FIXED..tag_at], tag }
        })
    }
}

/// Build an op 0x01 message (without the company id): 16 bytes.
pub fn encode_overflow(
    key: &[u8; 16],
    network_id: [u8; 2],
    serial: Serial,
    sequence: [u8; 4],
    overflow: [u8; 2],
) -> [u8; 16] {
    let n = nonce(OP_OVERFLOW, sequence, overflow, serial.0, network_id);
    let tag = seal(key, &n, &mut []);
    let mut out = [0u8; 16];
    out[0] = OP_OVERFLOW;
    out[1] = network_id[0];
    out[2..6].copy_from_slice(&serial.0);
    out[6..10].copy_from_slice(&sequence);
    out[10..12].copy_from_slice(&overflow);
    out[12..16].copy_from_slice(&tag);
    out
}

/// Build an op 0x02 message (without the company id) carrying `cleartext` into `out`;
/// returns the length, or `None` if `out` is too small.
pub fn encode_data(
    out: &mut [u8],
    key: &[u8; 16],
    network_id: [u8; 2],
    serial: Serial,
    sequence: [u8; 4],
    overflow: [u8; 2],
    cleartext: &[u8],
) -> Option<usize> {
    let len = FIXED + cleartext.len() + TAG_LEN;
    if out.len() < len {
        return None;
    }
    out[0] = OP_DATA;
    out[1] = network_id[0];
    out[2..6].copy_from_slice(&serial.0);
    out[6..10].copy_from_slice(&sequence);
    let body = &mut out[FIXED..FIXED + cleartext.len()];
    body.copy_from_slice(cleartext);
    let tag = seal(key, &nonce(OP_DATA, sequence, overflow, serial.0, network_id), body);
    out[len - TAG_LEN..len].copy_from_slice(&tag);
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_shared_vectors() {
        let m = crate::hex::decode("e1020101ec259a992a00000003008038e61f").unwrap();
        assert_eq!(
            Message::parse(&m),
            Ok(Message::Overflow {
                group_id: 1,
                serial: Serial([0xec, 0x25, 0x9a, 0x99]),
                sequence: [0x2a, 0, 0, 0],
                overflow: [3, 0],
                tag: [0x80, 0x38, 0xe6, 0x1f],
            })
        );
        let m = crate::hex::decode("e1020201ec259a992b0000005ab92d06c7f403f2f7c24507684adf73").unwrap();
        match Message::parse(&m).unwrap() {
            Message::Data { ciphertext, tag, .. } => {
                assert_eq!(ciphertext.len(), 12);
                assert_eq!(tag, [0x68, 0x4a, 0xdf, 0x73]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_messages() {
        assert_eq!(Message::parse(&[]), Err(MessageError::TooShort { op: 0, len: 0 }));
        assert_eq!(Message::parse(&[0x01, 1, 2, 3]), Err(MessageError::TooShort { op: 1, len: 4 }));
        assert_eq!(Message::parse(&[0x02; 13]), Err(MessageError::TooShort { op: 2, len: 13 }));
        assert_eq!(Message::parse(&[0x07; 20]), Err(MessageError::UnknownOp(7)));
        assert!(matches!(Message::parse(&[0x10, 2, 3]), Ok(Message::ProductAdvertisement(_))));
    }
}
