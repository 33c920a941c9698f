//! SLCAN: the Lawicel ASCII protocol spoken by CANable, USBtin, CANtact and most other USB-CAN
//! adapters (the serial-line CAN of Linux's `slcan` driver).
//!
//! Every message is ASCII ending in `\r`:
//!
//! | text | direction | meaning |
//! |---|---|---|
//! | `tiiildd…` / `Tiiiiiiiildd…` | both | 11-bit / 29-bit data frame, `l` = DLC, optional 4-digit ms timestamp |
//! | `riiil` / `Riiiiiiiil` | both | remote requests |
//! | `S0`…`S8` | host → adapter | bit rate (`S5` = 250 kbit/s, MasterBus) |
//! | `O`, `L`, `C` | host → adapter | open, open listen-only, close |
//! | `Z0`, `Z1` | host → adapter | timestamps off / on |
//! | `V`, `N`, `F` | host → adapter | version, serial number, status flags |
//! | `\r` alone, BEL (0x07) | adapter → host | OK, error |
//! | `z`, `Z` | adapter → host | frame queued for transmission |
//!
//! One [`Decoder`] reads either direction (the daemon reads the adapter; the test emulator reads
//! the daemon), a byte at a time with a fixed buffer. Garbage, overlong lines and unknown
//! commands are reported and skipped up to the next `\r`; the decoder never panics.

use super::{Frame, Id, MAX_EXTENDED_ID, MAX_STANDARD_ID};
use crate::hex::{nibble, parse_u32 as hex};

/// The longest valid line: `T` + 8 id digits + DLC + 16 data digits + 4 timestamp digits.
pub const MAX_LINE: usize = 30;

/// The command that sets 250 kbit/s, MasterBus's bit rate.
pub const BITRATE_250K: &[u8] = b"S5\r";
/// Open the channel for normal operation (the adapter acknowledges frames on the bus).
pub const OPEN: &[u8] = b"O\r";
/// Open the channel listen-only: the adapter never drives the bus, not even an acknowledge bit.
pub const OPEN_LISTEN_ONLY: &[u8] = b"L\r";
/// Close the channel.
pub const CLOSE: &[u8] = b"C\r";
/// Turn adapter timestamps off.
pub const TIMESTAMPS_OFF: &[u8] = b"Z0\r";

/// The `Sn` command for a bit rate, if SLCAN has one.
pub const fn bitrate_command(bits_per_second: u32) -> Option<&'static [u8]> {
    Some(match bits_per_second {
        10_000 => b"S0\r",
        20_000 => b"S1\r",
        50_000 => b"S2\r",
        100_000 => b"S3\r",
        125_000 => b"S4\r",
        250_000 => b"S5\r",
        500_000 => b"S6\r",
        800_000 => b"S7\r",
        1_000_000 => b"S8\r",
        _ => return None,
    })
}

/// A host command (what a host sends to an adapter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `Sn`: one of the nine standard bit rates, 0 (10 kbit/s) to 8 (1 Mbit/s).
    Bitrate(u8),
    /// `O`: open.
    Open,
    /// `L`: open listen-only.
    ListenOnly,
    /// `C`: close.
    Close,
    /// `Z0` / `Z1`: timestamps.
    Timestamps(bool),
    /// `V`: hardware and software version request.
    Version,
    /// `N`: serial number request.
    SerialNumber,
    /// `F`: status flags request.
    Status,
}

/// One message read from an SLCAN line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A CAN frame, with the adapter's millisecond timestamp (0..60000) when timestamps are on.
    Frame {
        /// The frame.
        frame: Frame,
        /// Milliseconds within the minute, if the adapter sent one.
        timestamp_ms: Option<u16>,
    },
    /// A command from a host.
    Command(Command),
    /// An empty line: the adapter's OK.
    Ack,
    /// BEL: the adapter refused the last command.
    Nack,
    /// `z` / `Z`: the adapter queued a frame for transmission.
    Transmitted,
    /// `Vhhss` / `Nxxxx`: a version or serial-number reply, four characters.
    Info([u8; 4]),
    /// `Fxx`: the status flags (bit 0 RX queue full, bit 3 data overrun, bit 5 error passive,
    /// bit 7 bus error).
    Status(u8),
}

/// Why a line was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlcanError {
    /// The line is longer than any valid message (noise, wrong baud rate, not an SLCAN device).
    Overlong,
    /// A line starting with a character that is not an SLCAN message.
    Unknown(u8),
    /// A frame line with bad hex, a DLC above 8 or a length that does not match its DLC.
    BadFrame,
}

impl core::fmt::Display for SlcanError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SlcanError::Overlong => write!(f, "line longer than {MAX_LINE} characters"),
            SlcanError::Unknown(c) => write!(f, "unknown SLCAN message starting with 0x{c:02X}"),
            SlcanError::BadFrame => f.write_str("malformed SLCAN frame"),
        }
    }
}

/// Byte-at-a-time SLCAN reader.
#[derive(Debug, Clone)]
pub struct Decoder {
    line: [u8; MAX_LINE],
    len: usize,
    overlong: bool,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder waiting for the first line.
    pub const fn new() -> Self {
        Decoder { line: [0; MAX_LINE], len: 0, overlong: false }
    }

    /// Feed one byte; a complete message (or a reason to skip one) comes out at `\r` or BEL.
    pub fn push(&mut self, byte: u8) -> Option<Result<Event, SlcanError>> {
        match byte {
            0x07 => {
                self.len = 0;
                self.overlong = false;
                Some(Ok(Event::Nack))
            }
            b'\r' => {
                let result = if self.overlong { Err(SlcanError::Overlong) } else { parse(&self.line[..self.len]) };
                self.len = 0;
                self.overlong = false;
                Some(result)
            }
            // Some adapters and terminals add `\n`; it separates nothing in SLCAN.
            b'\n' => None,
            _ => {
                if self.len == MAX_LINE {
                    self.overlong = true;
                } else {
                    self.line[self.len] = byte;
                    self.len += 1;
                }
                None
            }
        }
    }
}

fn parse(line: &[u8]) -> Result<Event, SlcanError> {
    let Some((&first, rest)) = line.split_first() else {
        return Ok(Event::Ack);
    };
    match (first, rest) {
        (b't' | b'T' | b'r' | b'R', _) => {
            parse_frame(first, rest).map(|(frame, timestamp_ms)| Event::Frame { frame, timestamp_ms })
        }
        (b'S', [d @ b'0'..=b'8']) => Ok(Event::Command(Command::Bitrate(d - b'0'))),
        (b'O', []) => Ok(Event::Command(Command::Open)),
        (b'L', []) => Ok(Event::Command(Command::ListenOnly)),
        (b'C', []) => Ok(Event::Command(Command::Close)),
        (b'Z', [b'0']) => Ok(Event::Command(Command::Timestamps(false))),
        (b'Z', [b'1']) => Ok(Event::Command(Command::Timestamps(true))),
        (b'z' | b'Z', []) => Ok(Event::Transmitted),
        (b'V', []) => Ok(Event::Command(Command::Version)),
        (b'N', []) => Ok(Event::Command(Command::SerialNumber)),
        (b'F', []) => Ok(Event::Command(Command::Status)),
        (b'V' | b'N', [a, b, c, d]) => Ok(Event::Info([*a, *b, *c, *d])),
        (b'F', [_, _]) => hex(rest).map(|v| Event::Status(v as u8)).ok_or(SlcanError::BadFrame),
        (c, _) => Err(SlcanError::Unknown(c)),
    }
}

fn parse_frame(kind: u8, rest: &[u8]) -> Result<(Frame, Option<u16>), SlcanError> {
    let extended = kind.is_ascii_uppercase();
    let id_len = if extended { 8 } else { 3 };
    if rest.len() < id_len + 1 {
        return Err(SlcanError::BadFrame);
    }
    let raw = hex(&rest[..id_len]).ok_or(SlcanError::BadFrame)?;
    let dlc = nibble(rest[id_len]).filter(|d| *d <= 8).ok_or(SlcanError::BadFrame)?;
    let id = if extended {
        if raw > MAX_EXTENDED_ID {
            return Err(SlcanError::BadFrame);
        }
        Id::Extended(raw)
    } else {
        if raw > MAX_STANDARD_ID {
            return Err(SlcanError::BadFrame);
        }
        Id::Standard(raw as u16)
    };
    let body = &rest[id_len + 1..];
    let data_len = if kind == b'r' || kind == b'R' { 0 } else { 2 * usize::from(dlc) };
    let (data_text, timestamp) = match body.len() {
        n if n == data_len => (body, None),
        n if n == data_len + 4 => (&body[..data_len], Some(&body[data_len..])),
        _ => return Err(SlcanError::BadFrame),
    };
    let timestamp_ms = match timestamp {
        Some(t) => Some(hex(t).ok_or(SlcanError::BadFrame)? as u16),
        None => None,
    };
    let frame = if data_len == 0 && (kind == b'r' || kind == b'R') {
        Frame::remote(id, dlc)
    } else {
        let mut data = [0u8; 8];
        crate::hex::decode_into(data_text, &mut data).map_err(|_| SlcanError::BadFrame)?;
        Frame::new(id, &data[..usize::from(dlc)])
    };
    frame.map(|f| (f, timestamp_ms)).ok_or(SlcanError::BadFrame)
}

/// Write `frame` as an SLCAN line (with its `\r`); returns the length. `out` must hold
/// [`MAX_LINE`] + 1 bytes; `None` if it does not.
pub fn encode_frame(frame: &Frame, out: &mut [u8]) -> Option<usize> {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let (kind, id, id_len) = match (frame.id(), frame.is_remote()) {
        (Id::Standard(id), false) => (b't', u32::from(id), 3),
        (Id::Standard(id), true) => (b'r', u32::from(id), 3),
        (Id::Extended(id), false) => (b'T', id, 8),
        (Id::Extended(id), true) => (b'R', id, 8),
    };
    let total = 1 + id_len + 1 + 2 * frame.data().len() + 1;
    let out = out.get_mut(..total)?;
    out[0] = kind;
    for i in 0..id_len {
        out[1 + i] = DIGITS[(id >> (4 * (id_len - 1 - i)) & 0xF) as usize];
    }
    out[1 + id_len] = DIGITS[usize::from(frame.dlc())];
    for (i, b) in frame.data().iter().enumerate() {
        out[2 + id_len + 2 * i] = DIGITS[usize::from(b >> 4)];
        out[3 + id_len + 2 * i] = DIGITS[usize::from(b & 0xF)];
    }
    out[total - 1] = b'\r';
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(decoder: &mut Decoder, text: &[u8]) -> Vec<Result<Event, SlcanError>> {
        text.iter().filter_map(|b| decoder.push(*b)).collect()
    }

    #[test]
    fn frames_commands_and_replies() {
        let mut d = Decoder::new();
        let events = feed(&mut d, b"S5\rL\rT086F129760100AD1C4A41\rt1232ABCD1F40\r\x07\rZ\rV1013\rF04\r");
        let value = Frame::new(Id::Extended(0x086F_1297), &[1, 0, 0xad, 0x1c, 0x4a, 0x41]).unwrap();
        let short = Frame::new(Id::Standard(0x123), &[0xab, 0xcd]).unwrap();
        assert_eq!(
            events,
            [
                Ok(Event::Command(Command::Bitrate(5))),
                Ok(Event::Command(Command::ListenOnly)),
                Ok(Event::Frame { frame: value, timestamp_ms: None }),
                Ok(Event::Frame { frame: short, timestamp_ms: Some(0x1F40) }),
                Ok(Event::Nack),
                Ok(Event::Ack),
                Ok(Event::Transmitted),
                Ok(Event::Info(*b"1013")),
                Ok(Event::Status(4)),
            ]
        );
    }

    #[test]
    fn garbage_is_reported_and_skipped() {
        let mut d = Decoder::new();
        let mut noise = [b'x'; 100].to_vec();
        noise.extend_from_slice(b"\rq\rT1234\rT0000000090\rt12390\r");
        noise.extend_from_slice(b"T0550840A0\r");
        let events = feed(&mut d, &noise);
        assert_eq!(events[0], Err(SlcanError::Overlong));
        assert_eq!(events[1], Err(SlcanError::Unknown(b'q')));
        assert_eq!(events[2], Err(SlcanError::BadFrame));
        assert_eq!(events[3], Err(SlcanError::BadFrame), "DLC 9");
        assert_eq!(events[4], Err(SlcanError::BadFrame), "data shorter than DLC");
        assert!(matches!(events[5], Ok(Event::Frame { .. })));
    }

    #[test]
    fn encoding_round_trips() {
        let frames = [
            Frame::new(Id::Extended(0x186F_1297), &[1, 0]).unwrap(),
            Frame::new(Id::Standard(0x7FF), &[]).unwrap(),
            Frame::remote(Id::Extended(0x0550_840A), 3).unwrap(),
        ];
        for frame in frames {
            let mut out = [0u8; MAX_LINE + 1];
            let n = encode_frame(&frame, &mut out).unwrap();
            let mut d = Decoder::new();
            assert_eq!(feed(&mut d, &out[..n]), [Ok(Event::Frame { frame, timestamp_ms: None })]);
        }
    }
}
