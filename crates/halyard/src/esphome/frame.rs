//! The native API's framing, both kinds (facts from the official client, esphome/aioesphomeapi
//! `_frame_helper/plain_text.py` and `noise.py`, MIT):
//!
//! - plaintext: `0x00`, varint length of the message, varint message type, the protobuf message;
//! - Noise: `0x01`, a big-endian 16-bit length, then that many bytes — during the handshake a
//!   status byte and a Noise message, afterwards a ciphertext whose plaintext is a big-endian
//!   16-bit message type, a 16-bit length and the protobuf message.
//!
//! Pure functions on byte buffers: the session does the I/O and the cryptography.

/// The largest frame taken from a device. A Noise frame cannot be longer (16-bit length); a
/// plaintext one is held to the same, so a garbled length never makes Halyard wait for (or
/// allocate) megabytes.
pub const MAX_FRAME: usize = 0xFFFF;

/// The marker of a plaintext frame.
pub const PLAINTEXT: u8 = 0x00;
/// The marker of a Noise frame.
pub const NOISE: u8 = 0x01;

/// What is wrong with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The first byte is neither marker; the other kind's marker says which side is encrypted.
    Marker(u8),
    /// Longer than [`MAX_FRAME`].
    TooLarge(usize),
    /// A varint longer than 5 bytes.
    BadVarint,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Marker(m) => write!(f, "unexpected frame marker 0x{m:02x}"),
            FrameError::TooLarge(n) => write!(f, "a {n}-byte frame (the API allows {MAX_FRAME})"),
            FrameError::BadVarint => f.write_str("a malformed length"),
        }
    }
}

/// One frame off the front of `buf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A plaintext message.
    Plain {
        /// The message type.
        kind: u32,
        /// The protobuf message.
        body: &'a [u8],
    },
    /// A Noise frame's payload.
    Noise(&'a [u8]),
}

fn varint(buf: &[u8]) -> Result<Option<(u32, usize)>, FrameError> {
    let mut v: u64 = 0;
    for (i, b) in buf.iter().enumerate().take(5) {
        v |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return u32::try_from(v).map(|v| Some((v, i + 1))).map_err(|_| FrameError::BadVarint);
        }
    }
    if buf.len() >= 5 {
        Err(FrameError::BadVarint)
    } else {
        Ok(None)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The first frame of `buf` and its length in bytes, `None` until it is complete.
pub fn split(buf: &[u8], encrypted: bool) -> Result<Option<(Frame<'_>, usize)>, FrameError> {
    let Some(&marker) = buf.first() else { return Ok(None) };
    match (marker, encrypted) {
        (NOISE, true) => {
            let [_, hi, lo, rest @ ..] = buf else { return Ok(None) };
            let n = usize::from(u16::from_be_bytes([*hi, *lo]));
            Ok(rest.get(..n).map(|payload| (Frame::Noise(payload), 3 + n)))
        }
        (PLAINTEXT, false) => {
            let Some((len, a)) = varint(&buf[1..])? else { return Ok(None) };
            let len = len as usize;
            if len > MAX_FRAME {
                return Err(FrameError::TooLarge(len));
            }
            let Some((kind, b)) = varint(&buf[1 + a..])? else { return Ok(None) };
            let start = 1 + a + b;
            Ok(buf.get(start..start + len).map(|body| (Frame::Plain { kind, body }, start + len)))
        }
        (m, _) => Err(FrameError::Marker(m)),
    }
}

/// A plaintext frame.
pub fn plain(kind: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 11);
    out.push(PLAINTEXT);
    put_varint(&mut out, body.len() as u32);
    put_varint(&mut out, kind);
    out.extend_from_slice(body);
    out
}

/// A Noise frame around `payload` (at most [`MAX_FRAME`] bytes).
pub fn noise(payload: &[u8]) -> Vec<u8> {
    let n = payload.len().min(MAX_FRAME) as u16;
    let mut out = Vec::with_capacity(payload.len() + 3);
    out.push(NOISE);
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(&payload[..usize::from(n)]);
    out
}

/// The plaintext inside a Noise transport message: type, length, message.
pub fn inner(kind: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(kind as u16).to_be_bytes());
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// The message type and message of a decrypted Noise payload.
pub fn parse_inner(plain: &[u8]) -> Option<(u32, &[u8])> {
    let [t0, t1, l0, l1, body @ ..] = plain else { return None };
    let len = usize::from(u16::from_be_bytes([*l0, *l1]));
    Some((u32::from(u16::from_be_bytes([*t0, *t1])), body.get(..len)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_frames_round_trip_and_wait_for_their_end() {
        // HelloRequest (type 1) with client_info "aioesphomeapi": the bytes the official client
        // sends, 0x00, length 15, type 1, field 1 string.
        let body = b"\x0a\x0daioesphomeapi";
        let f = plain(1, body);
        assert_eq!(&f[..3], &[0x00, 0x0F, 0x01]);
        assert_eq!(split(&f, false), Ok(Some((Frame::Plain { kind: 1, body }, f.len()))));
        for cut in 0..f.len() {
            assert_eq!(split(&f[..cut], false), Ok(None), "{cut}");
        }
        // A message type above 127 takes two varint bytes (93: raw adverts fits in one).
        let f = plain(145, b"");
        assert_eq!(f, [0x00, 0x00, 0x91, 0x01]);
        assert_eq!(split(&f, false), Ok(Some((Frame::Plain { kind: 145, body: b"" }, 4))));
    }

    #[test]
    fn noise_frames_and_their_inner_layout() {
        let f = noise(&inner(93, b"\x0a\x00"));
        assert_eq!(f, [0x01, 0x00, 0x06, 0x00, 0x5D, 0x00, 0x02, 0x0a, 0x00]);
        let Ok(Some((Frame::Noise(p), 9))) = split(&f, true) else { panic!() };
        assert_eq!(parse_inner(p), Some((93, &b"\x0a\x00"[..])));
        assert_eq!(parse_inner(&[0, 93, 0, 9, 1]), None, "shorter than its length");
    }

    #[test]
    fn the_wrong_side_and_garbage_are_errors() {
        // An encrypted device answering a plaintext client, and the reverse.
        assert_eq!(split(&[0x01, 0x00, 0x00], false), Err(FrameError::Marker(0x01)));
        assert_eq!(split(&[0x00, 0x01, 0x07, 0x00], true), Err(FrameError::Marker(0x00)));
        assert_eq!(split(b"HTTP/1.1 400", false), Err(FrameError::Marker(b'H')));
        assert_eq!(split(&[0x00, 0xFF, 0xFF, 0x7F], false), Err(FrameError::TooLarge(0x1F_FFFF)));
        assert_eq!(split(&[0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], false), Err(FrameError::BadVarint));
    }
}
