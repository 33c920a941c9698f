//! can-utils log lines, as `candump -l` writes them and `canplayer` reads them:
//!
//! ```text
//! (1642604267.705626) can0 073AF412#083F
//! (1642604392.916364) can0 20000004#0004000000000000
//! ```
//!
//! An id of three hex digits is an 11-bit frame; eight digits carry the SocketCAN flags, so
//! `20000004` is an error frame (`CAN_ERR_FLAG`) and any other eight-digit id a 29-bit frame.
//! `ID#R` (optionally `#R<dlc>`) is a remote request. CAN FD lines (`ID##<flags><data>`) are refused:
//! MasterBus is classic CAN. Error frames are recognised by the flag in the id, which is how
//! can-utils writes them (python-can 4.3.1 misses these, masterbus.md §11.2).

use super::{from_socketcan, Frame, FrameError, Id, Received, ERR_FLAG};

/// One parsed log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// The timestamp in nanoseconds since the Unix epoch.
    pub timestamp_ns: u64,
    /// The interface name as logged (`can0`).
    pub interface: &'a str,
    /// The frame.
    pub received: Received,
}

/// Why a log line was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineError {
    /// The line does not have the `(time) interface frame` shape.
    Shape,
    /// The timestamp is not `seconds.fraction`.
    Timestamp,
    /// The id is not 3 or 8 hex digits.
    Id,
    /// The data is not an even number of hex digits, at most 8 bytes.
    Data,
    /// A CAN FD frame (`##`), which MasterBus never sends.
    CanFd,
    /// The frame is not a valid CAN frame.
    Frame(FrameError),
}

impl core::fmt::Display for LineError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LineError::Shape => f.write_str("not a candump log line: expected `(seconds) interface ID#DATA`"),
            LineError::Timestamp => f.write_str("bad timestamp"),
            LineError::Id => f.write_str("CAN id must be 3 or 8 hex digits"),
            LineError::Data => f.write_str("data must be up to 8 bytes of hex"),
            LineError::CanFd => f.write_str("CAN FD frames are not supported"),
            LineError::Frame(e) => write!(f, "{e}"),
        }
    }
}

fn timestamp_ns(text: &str) -> Result<u64, LineError> {
    let (seconds, fraction) = text.split_once('.').unwrap_or((text, ""));
    // Digits only on both sides of one point: `(67.6.6)` was once read with a second point in the
    // fraction (a subtraction overflow the can_framings fuzz target found).
    let digits = |t: &str| t.bytes().all(|c| c.is_ascii_digit());
    if seconds.is_empty() || fraction.len() > 9 || !digits(seconds) || !digits(fraction) {
        return Err(LineError::Timestamp);
    }
    let seconds: u64 = seconds.parse().map_err(|_| LineError::Timestamp)?;
    let mut ns = 0u64;
    for (i, c) in fraction.bytes().enumerate() {
        ns += u64::from(c - b'0') * 10u64.pow(8 - i as u32);
    }
    seconds.checked_mul(1_000_000_000).and_then(|s| s.checked_add(ns)).ok_or(LineError::Timestamp)
}

/// Parse one log line (without its line ending). Blank lines and `#` comments are `Ok(None)`.
pub fn parse_line(line: &str) -> Result<Option<Line<'_>>, LineError> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let mut parts = line.split_ascii_whitespace();
    let (Some(time), Some(interface), Some(frame)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(LineError::Shape);
    };
    let time = time.strip_prefix('(').and_then(|t| t.strip_suffix(')')).ok_or(LineError::Shape)?;
    let timestamp_ns = timestamp_ns(time)?;
    let (id_text, data_text) = frame.split_once('#').ok_or(LineError::Shape)?;
    if data_text.starts_with('#') {
        return Err(LineError::CanFd);
    }
    let raw = crate::hex::parse_u32(id_text.as_bytes()).ok_or(LineError::Id)?;
    let id = match id_text.len() {
        3 => Id::Standard(raw as u16),
        8 if raw & ERR_FLAG != 0 => Id::Extended(raw),
        8 => Id::Extended(raw & super::MAX_EXTENDED_ID),
        _ => return Err(LineError::Id),
    };
    let received = if let Some(dlc) = data_text.strip_prefix('R') {
        let dlc = if dlc.is_empty() { 0 } else { dlc.parse::<u8>().map_err(|_| LineError::Data)? };
        Received::Frame(Frame::remote(id, dlc).ok_or(LineError::Data)?)
    } else {
        let text = data_text.as_bytes();
        let mut data = [0u8; 8];
        let n = crate::hex::decode_into(text, &mut data).map_err(|_| LineError::Data)?;
        if id_text.len() == 8 && raw & ERR_FLAG != 0 {
            from_socketcan(raw, n as u8, &data).map_err(LineError::Frame)?
        } else {
            Received::Frame(Frame::new(id, &data[..n]).ok_or(LineError::Frame(FrameError::BadStandardId(raw)))?)
        }
    };
    Ok(Some(Line { timestamp_ns, interface, received }))
}

/// Write `received` as a log line (no line ending) into `out`; returns the length, or `None` when
/// `out` is too small (60 bytes is always enough).
pub fn format_line(timestamp_ns: u64, interface: &str, received: &Received, out: &mut [u8]) -> Option<usize> {
    use core::fmt::Write;
    struct Buf<'o> {
        out: &'o mut [u8],
        at: usize,
    }
    impl Write for Buf<'_> {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let dst = self.out.get_mut(self.at..self.at + s.len()).ok_or(core::fmt::Error)?;
            dst.copy_from_slice(s.as_bytes());
            self.at += s.len();
            Ok(())
        }
    }
    let mut buf = Buf { out, at: 0 };
    let seconds = timestamp_ns / 1_000_000_000;
    let micros = timestamp_ns % 1_000_000_000 / 1000;
    write!(buf, "({seconds}.{micros:06}) {interface} ").ok()?;
    match received {
        Received::Frame(f) => {
            match f.id() {
                Id::Standard(id) => write!(buf, "{id:03X}#").ok()?,
                Id::Extended(id) => write!(buf, "{id:08X}#").ok()?,
            }
            if f.is_remote() {
                write!(buf, "R").ok()?;
                if f.dlc() > 0 {
                    write!(buf, "{}", f.dlc()).ok()?;
                }
            }
            for b in f.data() {
                write!(buf, "{b:02X}").ok()?;
            }
        }
        Received::Error(e) => {
            write!(buf, "{:08X}#", e.class | ERR_FLAG).ok()?;
            for b in e.data {
                write!(buf, "{b:02X}").ok()?;
            }
        }
    }
    Some(buf.at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_from_the_volts_amps_capture() {
        let line = parse_line("(1642604267.716660) can0 063AF412#083F0800").unwrap().unwrap();
        assert_eq!(line.timestamp_ns, 1_642_604_267_716_660_000);
        assert_eq!(line.interface, "can0");
        let Received::Frame(f) = line.received else { panic!() };
        assert_eq!((f.id(), f.data()), (Id::Extended(0x063A_F412), &[0x08, 0x3f, 0x08, 0x00][..]));

        let err = parse_line("(1642604392.916364) can0 20000004#0004000000000000").unwrap().unwrap();
        let Received::Error(e) = err.received else { panic!("error frame read as data") };
        assert_eq!(e.controller_state(), Some("rx warning"));
    }

    #[test]
    fn formatting_round_trips() {
        for text in [
            "(1642604267.705626) can0 073AF412#083F",
            "(1642604392.917066) can0 20000004#0010000000000000",
            "(1.000001) vcan0 123#R",
            "(2.000000) can1 0550840A#",
        ] {
            let parsed = parse_line(text).unwrap().unwrap();
            let mut out = [0u8; 64];
            let n = format_line(parsed.timestamp_ns, parsed.interface, &parsed.received, &mut out).unwrap();
            assert_eq!(core::str::from_utf8(&out[..n]).unwrap(), text);
        }
    }

    #[test]
    fn malformed_lines_are_refused() {
        assert_eq!(parse_line(""), Ok(None));
        assert_eq!(parse_line("can0 123#00"), Err(LineError::Shape));
        assert_eq!(parse_line("(x) can0 123#00"), Err(LineError::Timestamp));
        // Found by the can_framings fuzz target: a second point in the time overflowed.
        assert_eq!(parse_line("(67.6.6) can0 123#00"), Err(LineError::Timestamp));
        assert_eq!(parse_line("(1.+5) can0 123#00"), Err(LineError::Timestamp));
        assert_eq!(parse_line("(1.0) can0 12#00"), Err(LineError::Id));
        assert_eq!(parse_line("(1.0) can0 123#0"), Err(LineError::Data));
        assert_eq!(parse_line("(1.0) can0 123#001122334455667788"), Err(LineError::Data));
        assert_eq!(parse_line("(1.0) can0 123##100"), Err(LineError::CanFd));
        assert_eq!(parse_line("(1.0) can0 923#00"), Err(LineError::Frame(FrameError::BadStandardId(0x923))));
    }
}
