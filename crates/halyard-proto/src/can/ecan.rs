//! The 13-byte CAN frame of Ebyte ECAN-E01 / E810-DTU CAN-to-Ethernet gateways (masterbus.md §9).
//!
//! ```text
//! byte 0     FF (bit 7: 1 = 29-bit id) | RTR (bit 6) | 0 0 | DLC (bits 3..0)
//! bytes 1-4  id, big-endian, right-aligned (0x123 → 00 00 01 23)
//! bytes 5-12 data, zero-padded to 8
//! ```
//!
//! The gateway's TCP server (port 8881 for CAN1, 8882 for CAN2) sends these back to back, and one
//! TCP read may hold several frames or part of one, so [`Decoder`] reassembles them across reads.

use super::{Frame, Id, MAX_EXTENDED_ID, MAX_STANDARD_ID};

/// The size of one frame on the wire.
pub const FRAME_LEN: usize = 13;

/// The gateway's TCP port for its first CAN channel.
pub const PORT_CAN1: u16 = 8881;

/// Why 13 bytes were not a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcanError {
    /// DLC above 8, or reserved bits 5..4 set (the stream is out of step).
    BadHeader(u8),
    /// An id too large for its kind.
    BadId(u32),
}

impl core::fmt::Display for EcanError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EcanError::BadHeader(b) => write!(f, "bad ECAN header byte 0x{b:02X}"),
            EcanError::BadId(id) => write!(f, "ECAN id 0x{id:X} out of range"),
        }
    }
}

/// Decode one 13-byte frame.
pub fn decode(bytes: &[u8; FRAME_LEN]) -> Result<Frame, EcanError> {
    let header = bytes[0];
    let dlc = header & 0x0F;
    if dlc > 8 || header & 0x30 != 0 {
        return Err(EcanError::BadHeader(header));
    }
    let raw = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    let id = if header & 0x80 != 0 {
        if raw > MAX_EXTENDED_ID {
            return Err(EcanError::BadId(raw));
        }
        Id::Extended(raw)
    } else {
        if raw > MAX_STANDARD_ID {
            return Err(EcanError::BadId(raw));
        }
        Id::Standard(raw as u16)
    };
    let frame =
        if header & 0x40 != 0 { Frame::remote(id, dlc) } else { Frame::new(id, &bytes[5..5 + usize::from(dlc)]) };
    frame.ok_or(EcanError::BadHeader(header))
}

/// Encode one frame into its 13 bytes.
pub fn encode(frame: &Frame) -> [u8; FRAME_LEN] {
    let mut out = [0u8; FRAME_LEN];
    let (ff, id) = match frame.id() {
        Id::Standard(id) => (0, u32::from(id)),
        Id::Extended(id) => (0x80, id),
    };
    out[0] = ff | if frame.is_remote() { 0x40 } else { 0 } | frame.dlc();
    out[1..5].copy_from_slice(&id.to_be_bytes());
    out[5..5 + frame.data().len()].copy_from_slice(frame.data());
    out
}

/// Reassembles 13-byte frames from a byte stream cut anywhere.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    buf: [u8; FRAME_LEN],
    len: usize,
}

impl Decoder {
    /// A decoder at a frame boundary.
    pub const fn new() -> Self {
        Decoder { buf: [0; FRAME_LEN], len: 0 }
    }

    /// Take bytes from the front of `input` until one frame is complete. Returns the number of
    /// bytes consumed and, when a frame completed, its result. Call again with the rest.
    ///
    /// After a bad header the decoder drops one byte and tries again at the next one, so a
    /// stream that got out of step finds its way back to frame boundaries.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Result<Frame, EcanError>>) {
        let take = (FRAME_LEN - self.len).min(input.len());
        self.buf[self.len..self.len + take].copy_from_slice(&input[..take]);
        self.len += take;
        if self.len < FRAME_LEN {
            return (take, None);
        }
        match decode(&self.buf) {
            Ok(frame) => {
                self.len = 0;
                (take, Some(Ok(frame)))
            }
            Err(e) => {
                self.buf.copy_within(1.., 0);
                self.len = FRAME_LEN - 1;
                (take, Some(Err(e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_gateway_manual() {
        let frame = Frame::new(Id::Standard(0x123), &[0xAA]).unwrap();
        assert_eq!(encode(&frame), [0x01, 0, 0, 0x01, 0x23, 0xAA, 0, 0, 0, 0, 0, 0, 0]);
        let ext = Frame::new(Id::Extended(0x086F_1297), &[1, 0, 0xad, 0x1c, 0x4a, 0x41]).unwrap();
        let bytes = encode(&ext);
        assert_eq!(bytes[..5], [0x86, 0x08, 0x6F, 0x12, 0x97]);
        assert_eq!(decode(&bytes), Ok(ext));
    }

    #[test]
    fn stream_cut_anywhere_reassembles() {
        let frames =
            [Frame::new(Id::Extended(0x186F_1297), &[1, 0]).unwrap(), Frame::remote(Id::Standard(0x10), 2).unwrap()];
        let mut stream = Vec::new();
        for f in &frames {
            stream.extend_from_slice(&encode(f));
        }
        for cut in 0..stream.len() {
            let mut d = Decoder::new();
            let mut out = Vec::new();
            for chunk in [&stream[..cut], &stream[cut..]] {
                let mut rest = chunk;
                while !rest.is_empty() {
                    let (n, frame) = d.feed(rest);
                    rest = &rest[n..];
                    out.extend(frame);
                }
            }
            assert_eq!(out, frames.map(Ok));
        }
    }

    #[test]
    fn out_of_step_streams_resynchronise() {
        let good = encode(&Frame::new(Id::Extended(0x0550_840A), &[]).unwrap());
        let mut stream = vec![0x3F];
        stream.extend_from_slice(&good);
        let mut d = Decoder::new();
        let mut results = Vec::new();
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let (n, r) = d.feed(rest);
            rest = &rest[n..];
            results.extend(r);
        }
        assert_eq!(results.first(), Some(&Err(EcanError::BadHeader(0x3F))));
        assert_eq!(results.last().map(|r| r.is_ok()), Some(true));
    }
}
