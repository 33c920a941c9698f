//! Actisense NGT-1 binary: the byte stream the NGT-1 (and actisense-serial's logs) carry.
//!
//! A message is `DLE STX command length payload… checksum DLE ETX` (DLE 0x10, STX 0x02, ETX
//! 0x03); a DLE inside it is sent twice. The checksum makes the sum of command, length, payload
//! and checksum 0 modulo 256. Command 0x93 is an NMEA 2000 message received: priority, PGN (3
//! bytes, little-endian), destination, source, the NGT-1's timestamp (ms, 4 bytes), the data
//! length and the data — whole messages, fast packets already assembled. Other commands (0xA0,
//! the NGT-1's own status) are not NMEA 2000 traffic.

use super::fast_packet::MAX_LEN;
use super::id::Header;

const DLE: u8 = 0x10;
const STX: u8 = 0x02;
const ETX: u8 = 0x03;

/// The command of a received NMEA 2000 message.
pub const N2K_RECEIVED: u8 = 0x93;

/// Room for a message's command, length, payload and checksum: a 0x93 with 223 bytes of data
/// is 11 + 223 bytes of payload.
const MAX_FRAME: usize = 3 + 11 + MAX_LEN;

/// Why bytes were not a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The bytes do not add up.
    Checksum,
    /// The length byte disagrees with the bytes received.
    Length,
    /// More bytes than a message can hold before its end.
    TooLong,
    /// A DLE followed by something other than DLE, STX or ETX.
    BadEscape,
}

impl FrameError {
    /// A snake_case name, for counters.
    pub fn kind(&self) -> &'static str {
        match self {
            FrameError::Checksum => "checksum",
            FrameError::Length => "length_mismatch",
            FrameError::TooLong => "too_long",
            FrameError::BadEscape => "bad_escape",
        }
    }
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            FrameError::Checksum => "Actisense message with a bad checksum",
            FrameError::Length => "Actisense message whose length byte is wrong",
            FrameError::TooLong => "Actisense message longer than any can be",
            FrameError::BadEscape => "Actisense stream with a stray DLE",
        })
    }
}

/// One message of the stream.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The command (0x93: an NMEA 2000 message received).
    pub command: u8,
    /// What follows the length byte, without the checksum.
    pub payload: &'a [u8],
}

/// An NMEA 2000 message received (command 0x93).
#[derive(Debug, PartialEq, Eq)]
pub struct Received<'a> {
    /// The header.
    pub header: Header,
    /// The NGT-1's clock, ms.
    pub timestamp_ms: u32,
    /// The message's data.
    pub data: &'a [u8],
}

impl<'a> Frame<'a> {
    /// The NMEA 2000 message this frame carries, if it is a well-formed 0x93.
    pub fn received(&self) -> Option<Received<'a>> {
        let p = self.payload;
        if self.command != N2K_RECEIVED || p.len() < 11 || usize::from(p[10]) != p.len() - 11 {
            return None;
        }
        Some(Received {
            header: Header {
                priority: p[0] & 7,
                pgn: u32::from_le_bytes([p[1], p[2], p[3], 0]),
                destination: p[4],
                source: p[5],
            },
            timestamp_ms: u32::from_le_bytes([p[6], p[7], p[8], p[9]]),
            data: &p[11..],
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between messages: bytes here are skipped (a capture starting mid-message).
    Outside,
    /// A DLE between messages.
    OutsideDle,
    Inside,
    InsideDle,
}

/// Splits the stream into messages, byte by byte, in fixed memory.
pub struct Framer {
    state: State,
    buf: [u8; MAX_FRAME],
    len: usize,
    overflow: bool,
    /// Bytes skipped between messages.
    pub skipped: u64,
}

impl Default for Framer {
    fn default() -> Self {
        Framer { state: State::Outside, buf: [0; MAX_FRAME], len: 0, overflow: false, skipped: 0 }
    }
}

impl Framer {
    /// A framer between messages.
    pub fn new() -> Self {
        Self::default()
    }

    /// Take `bytes`; `on` gets each message or error.
    pub fn push_all(&mut self, bytes: &[u8], mut on: impl FnMut(Result<Frame<'_>, FrameError>)) {
        for &b in bytes {
            self.state = match (self.state, b) {
                (State::Outside, DLE) => State::OutsideDle,
                (State::Outside, _) => {
                    self.skipped += 1;
                    State::Outside
                }
                (State::OutsideDle, STX) => {
                    self.len = 0;
                    self.overflow = false;
                    State::Inside
                }
                (State::OutsideDle, DLE) => State::OutsideDle,
                (State::OutsideDle, _) => {
                    self.skipped += 2;
                    State::Outside
                }
                (State::Inside, DLE) => State::InsideDle,
                (State::Inside, _) => {
                    self.put(b);
                    State::Inside
                }
                (State::InsideDle, DLE) => {
                    self.put(DLE);
                    State::Inside
                }
                (State::InsideDle, ETX) => {
                    on(self.finish());
                    State::Outside
                }
                (State::InsideDle, STX) => {
                    // A new message before this one ended: this one is lost.
                    on(Err(FrameError::BadEscape));
                    self.len = 0;
                    self.overflow = false;
                    State::Inside
                }
                (State::InsideDle, _) => {
                    on(Err(FrameError::BadEscape));
                    State::Outside
                }
            };
        }
    }

    fn put(&mut self, b: u8) {
        if self.len < MAX_FRAME {
            self.buf[self.len] = b;
            self.len += 1;
        } else {
            self.overflow = true;
        }
    }

    fn finish(&self) -> Result<Frame<'_>, FrameError> {
        if self.overflow {
            return Err(FrameError::TooLong);
        }
        let m = &self.buf[..self.len];
        if m.len() < 3 {
            return Err(FrameError::Length);
        }
        if m.iter().fold(0u8, |s, b| s.wrapping_add(*b)) != 0 {
            return Err(FrameError::Checksum);
        }
        if usize::from(m[1]) != m.len() - 3 {
            return Err(FrameError::Length);
        }
        Ok(Frame { command: m[0], payload: &m[2..m.len() - 1] })
    }
}

/// Whether `bytes` look like an Actisense binary stream: a `DLE STX` and a valid message within.
pub fn is_actisense(bytes: &[u8]) -> bool {
    let mut f = Framer::new();
    let mut good = false;
    f.push_all(&bytes[..bytes.len().min(4096)], |m| good |= m.is_ok());
    good
}

/// Encode one message (for tests and a simulator): command, payload, checksum, escapes.
pub fn encode(command: u8, payload: &[u8], mut out: impl FnMut(u8)) {
    let len = payload.len() as u8;
    let sum = payload.iter().fold(command.wrapping_add(len), |s, b| s.wrapping_add(*b));
    out(DLE);
    out(STX);
    for b in [command, len].into_iter().chain(payload.iter().copied()).chain([sum.wrapping_neg()]) {
        if b == DLE {
            out(DLE);
        }
        out(b);
    }
    out(DLE);
    out(ETX);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn the_ngt1_capture_opening() {
        // actisense-serial-ng1-cat-usb-2021-05-14-1005.bin: a stray byte, then 129026 from 127.
        let bytes = [
            0x03, 0x10, 0x02, 0x93, 0x13, 0x02, 0x02, 0xf8, 0x01, 0xff, 0x7f, 0xae, 0x3a, 0x0a, 0x09, 0x08, 0x00, 0xfc,
            0xff, 0xff, 0x00, 0x00, 0xff, 0xff, 0xe4, 0x10, 0x03,
        ];
        let mut f = Framer::new();
        let mut got = Vec::new();
        f.push_all(&bytes, |m| {
            let r = m.unwrap().received().unwrap();
            got.push((r.header, r.data.to_vec()));
        });
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, Header { priority: 2, pgn: 129_026, source: 127, destination: 255 });
        assert_eq!(got[0].1, [0x00, 0xfc, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff]);
        assert_eq!(f.skipped, 1);
        assert!(is_actisense(&bytes));
    }

    #[test]
    fn escapes_checksums_and_garbage() {
        // A payload full of DLEs comes back whole.
        let payload = [2, 0x10, 0xf8, 0x01, 0xff, 0x10, 0, 0, 0, 0, 3, 0x10, 0x10, 0x02];
        let mut bytes = Vec::new();
        encode(N2K_RECEIVED, &payload, |b| bytes.push(b));
        let mut f = Framer::new();
        let mut got = Vec::new();
        f.push_all(&bytes, |m| got.push(m.map(|m| m.payload.to_vec())));
        assert_eq!(got, [Ok(payload.to_vec())]);
        // One bit flipped: the checksum says so.
        let mut bad = bytes.clone();
        let at = bad.iter().position(|b| *b == 0xf8).unwrap();
        bad[at] ^= 0x01;
        let mut got = Vec::new();
        Framer::new().push_all(&bad, |m| got.push(m.map(|m| m.payload.to_vec())));
        assert_eq!(got, [Err(FrameError::Checksum)]);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_framed_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2000)) {
            let mut f = Framer::new();
            f.push_all(&bytes, |m| {
                if let Ok(m) = m {
                    let _ = m.received();
                }
            });
        }

        #[test]
        fn encoded_messages_come_back(payload in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut bytes = Vec::new();
            encode(0x93, &payload, |b| bytes.push(b));
            let mut got = Vec::new();
            Framer::new().push_all(&bytes, |m| got.push(m.map(|m| m.payload.to_vec())));
            proptest::prop_assert_eq!(got, [Ok(payload)]);
        }
    }
}
