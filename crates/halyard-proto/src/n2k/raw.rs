//! Text captures of NMEA 2000 traffic, one line each.
//!
//! * **canboat RAW** (actisense-serial, analyzer, Signal K's sample files):
//!   `2014-08-15T19:00:00.042Z,3,129029,160,255,43,87,a9,…` — time, priority, PGN, source,
//!   destination, length, data bytes in hex. The time comes as `YYYY-MM-DDTHH:MM:SS.mmmZ`, with or
//!   without `Z`, or `YYYY-MM-DD-HH:MM:SS` with or without milliseconds (both in one file from
//!   older actisense-serial). A line is a whole message or, for a fast-packet PGN written frame by
//!   frame, one 8-byte frame: the caller decides ([`super::Reassembler`]).
//! * **Yacht Devices RAW** (YDWG-02, YDEN-02, their log files): `19:57:01.123 R 19F51323 01 02 …`
//!   — time of day, direction (`R` received, `T` sent by the gateway), the 29-bit CAN id in hex,
//!   up to 8 data bytes. One CAN frame per line.
//! * **Actisense N2K ASCII** (W2K-1, NGX and Actisense's tools): `A173321.107 23FF7 1F513 012F…`
//!   — `A`, the time of day `hhmmss[.ddd]`; source, destination (two hex digits each) and
//!   priority (one); the PGN in hex; the whole message in hex (white space ignored).

use super::fast_packet::MAX_LEN;
use super::id::Header;
use crate::date::Date;

/// When a line was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// Milliseconds since 1970-01-01 UTC.
    Utc(i64),
    /// Milliseconds since midnight, date unknown (Yacht Devices).
    TimeOfDay(u32),
}

/// What a line carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carried {
    /// canboat RAW: the header spelled out, with a whole message or one fast-packet frame.
    Message(Header),
    /// Yacht Devices RAW: one CAN frame, its 29-bit id, and whether the gateway sent it.
    Frame {
        /// The CAN id.
        can_id: u32,
        /// `T`: sent by the gateway itself.
        sent: bool,
    },
}

/// One line.
#[derive(Clone, PartialEq, Eq)]
pub struct Line {
    /// When.
    pub stamp: Stamp,
    /// What.
    pub carried: Carried,
    len: u8,
    data: [u8; MAX_LEN],
}

impl core::fmt::Debug for Line {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Line")
            .field("stamp", &self.stamp)
            .field("carried", &self.carried)
            .field("data", &self.data())
            .finish()
    }
}

impl Line {
    /// The data bytes.
    pub fn data(&self) -> &[u8] {
        &self.data[..usize::from(self.len)]
    }
}

/// Why a line was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineError {
    /// Not a time this format writes.
    BadTime,
    /// A number (priority, PGN, address, length, id) that does not parse or is out of range.
    BadNumber,
    /// A data byte that is not two hex digits.
    BadByte,
    /// The length says more or fewer bytes than the line has.
    LengthMismatch,
    /// More than 223 bytes (canboat) or 8 (a CAN frame).
    TooLong,
}

impl core::fmt::Display for LineError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            LineError::BadTime => "unreadable time",
            LineError::BadNumber => "unreadable number",
            LineError::BadByte => "unreadable data byte",
            LineError::LengthMismatch => "the length does not match the bytes",
            LineError::TooLong => "too many data bytes",
        })
    }
}

impl LineError {
    /// A snake_case name, for counters.
    pub fn kind(&self) -> &'static str {
        match self {
            LineError::BadTime => "bad_time",
            LineError::BadNumber => "bad_number",
            LineError::BadByte => "bad_byte",
            LineError::LengthMismatch => "length_mismatch",
            LineError::TooLong => "too_long",
        }
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `HH:MM:SS[.fff]` as milliseconds.
fn time_of_day(s: &str) -> Option<u32> {
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut parts = hms.split(':');
    let (h, m, sec) = (digits(parts.next()?)?, digits(parts.next()?)?, digits(parts.next()?)?);
    if parts.next().is_some() || h > 23 || m > 59 || sec > 60 || frac.len() > 6 {
        return None;
    }
    let ms = if frac.is_empty() {
        0
    } else {
        let f = digits(frac)?;
        let scale = 10u32.pow(frac.len() as u32);
        (f * 1000 + scale / 2) / scale
    };
    Some(((h * 60 + m) * 60 + sec) * 1000 + ms.min(999))
}

/// canboat's times: `YYYY-MM-DDTHH:MM:SS[.fff][Z]` or `YYYY-MM-DD-HH:MM:SS[.fff]`.
fn utc(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z').unwrap_or(s);
    if s.len() < 19 || !s.is_char_boundary(10) {
        return None;
    }
    let (date, rest) = s.split_at(10);
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix('-'))?;
    let mut d = date.split('-');
    let (y, m, day) = (digits(d.next()?)?, digits(d.next()?)?, digits(d.next()?)?);
    let date = Date::new(u16::try_from(y).ok()?, u8::try_from(m).ok()?, u8::try_from(day).ok()?)?;
    Some(date.days_since_epoch() * 86_400_000 + i64::from(time_of_day(rest)?))
}

fn hex_byte(s: &str) -> Result<u8, LineError> {
    if s.len() != 2 {
        return Err(LineError::BadByte);
    }
    u8::from_str_radix(s, 16).map_err(|_| LineError::BadByte)
}

/// Read a canboat RAW line.
pub fn parse_canboat(line: &str) -> Result<Line, LineError> {
    let mut f = line.trim_end_matches(['\r', '\n']).split(',');
    let stamp = Stamp::Utc(utc(f.next().unwrap_or("").trim()).ok_or(LineError::BadTime)?);
    let mut number =
        |max: u32| f.next().and_then(|s| digits(s.trim())).filter(|v| *v <= max).ok_or(LineError::BadNumber);
    let priority = number(7)? as u8;
    // Up to 24 bits: canboat numbers its gateway's own messages above NMEA 2000's PGNs (an
    // Actisense NGT-1's status is 262386).
    let pgn = number(0xFF_FFFF)?;
    let source = number(255)? as u8;
    let destination = number(255)? as u8;
    let len = number(u32::MAX)?;
    if len as usize > MAX_LEN {
        return Err(LineError::TooLong);
    }
    let mut data = [0u8; MAX_LEN];
    let mut n = 0;
    for b in f {
        if n == len as usize {
            return Err(LineError::LengthMismatch);
        }
        data[n] = hex_byte(b.trim())?;
        n += 1;
    }
    if n != len as usize {
        return Err(LineError::LengthMismatch);
    }
    Ok(Line { stamp, carried: Carried::Message(Header { priority, pgn, source, destination }), len: len as u8, data })
}

/// Read a Yacht Devices RAW line.
pub fn parse_yd(line: &str) -> Result<Line, LineError> {
    let mut f = line.trim_end_matches(['\r', '\n']).split_ascii_whitespace();
    let stamp = Stamp::TimeOfDay(time_of_day(f.next().unwrap_or("")).ok_or(LineError::BadTime)?);
    let sent = match f.next() {
        Some("R") => false,
        Some("T") => true,
        _ => return Err(LineError::BadNumber),
    };
    let id = f.next().ok_or(LineError::BadNumber)?;
    if id.is_empty() || id.len() > 8 {
        return Err(LineError::BadNumber);
    }
    let can_id = u32::from_str_radix(id, 16).map_err(|_| LineError::BadNumber)?;
    if can_id > 0x1FFF_FFFF {
        return Err(LineError::BadNumber);
    }
    let mut data = [0u8; MAX_LEN];
    let mut n = 0;
    for b in f {
        if n == 8 {
            return Err(LineError::TooLong);
        }
        data[n] = hex_byte(b)?;
        n += 1;
    }
    Ok(Line { stamp, carried: Carried::Frame { can_id, sent }, len: n as u8, data })
}

/// Write one CAN frame as a Yacht Devices RAW line, `\r\n` ended: with a time of day (ms since
/// midnight) as a gateway logs and streams what it receives (`17:33:21.107 R 19F51323 01 02 …`),
/// or without, as a client sends a frame for the gateway to put on the bus (`19F51323 01 02 …`;
/// YDWG-02 manual, "RAW protocol").
pub fn write_yd(
    out: &mut impl core::fmt::Write,
    time_of_day_ms: Option<u32>,
    can_id: u32,
    data: &[u8],
) -> core::fmt::Result {
    if let Some(ms) = time_of_day_ms {
        write!(out, "{} R ", crate::nmea::TimeOfDay(ms % 86_400_000))?;
    }
    write!(out, "{can_id:08X}")?;
    for b in data {
        write!(out, " {b:02X}")?;
    }
    out.write_str("\r\n")
}

/// Read an Actisense N2K ASCII line (messages longer than 223 bytes are refused as too long).
pub fn parse_actisense_ascii(line: &str) -> Result<Line, LineError> {
    let mut f = line.trim().strip_prefix('A').ok_or(LineError::BadTime)?.split_ascii_whitespace();
    let time = f.next().ok_or(LineError::BadTime)?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    if hms.len() != 6 || !hms.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LineError::BadTime);
    }
    let stamp = Stamp::TimeOfDay(hhmmss(hms, frac).ok_or(LineError::BadTime)?);
    let sdp = f.next().ok_or(LineError::BadNumber)?;
    if sdp.len() != 5 || !sdp.is_char_boundary(2) || !sdp.is_char_boundary(4) {
        return Err(LineError::BadNumber);
    }
    let source = hex_byte(&sdp[..2]).map_err(|_| LineError::BadNumber)?;
    let destination = hex_byte(&sdp[2..4]).map_err(|_| LineError::BadNumber)?;
    let priority = u8::from_str_radix(&sdp[4..], 16).ok().filter(|p| *p <= 7).ok_or(LineError::BadNumber)?;
    let pgn = f.next().filter(|p| p.len() <= 5).ok_or(LineError::BadNumber)?;
    let pgn = u32::from_str_radix(pgn, 16).ok().filter(|p| *p <= 0x1_FFFF).ok_or(LineError::BadNumber)?;
    let mut data = [0u8; MAX_LEN];
    let mut n = 0;
    for chunk in f {
        if chunk.len() % 2 != 0 || !chunk.is_ascii() {
            return Err(LineError::BadByte);
        }
        for i in (0..chunk.len()).step_by(2) {
            if n == MAX_LEN {
                return Err(LineError::TooLong);
            }
            data[n] = hex_byte(&chunk[i..i + 2])?;
            n += 1;
        }
    }
    Ok(Line { stamp, carried: Carried::Message(Header { priority, pgn, source, destination }), len: n as u8, data })
}

/// `hhmmss` and a fraction of a second as milliseconds since midnight.
fn hhmmss(hms: &str, frac: &str) -> Option<u32> {
    let mut buf = [0u8; 16];
    if frac.len() > 6 {
        return None;
    }
    let b = hms.as_bytes();
    buf[..8].copy_from_slice(&[b[0], b[1], b':', b[2], b[3], b':', b[4], b[5]]);
    let mut len = 8;
    if !frac.is_empty() {
        buf[8] = b'.';
        buf[9..9 + frac.len()].copy_from_slice(frac.as_bytes());
        len = 9 + frac.len();
    }
    time_of_day(core::str::from_utf8(&buf[..len]).ok()?)
}

/// Whether `line` is Actisense N2K ASCII (`A`, six digits of time, then a space or a fraction).
pub fn is_actisense_ascii(line: &str) -> bool {
    let b = line.trim_start().as_bytes();
    b.len() > 8 && b[0] == b'A' && b[1..7].iter().all(u8::is_ascii_digit) && matches!(b[7], b'.' | b' ')
}

/// Whether `line` looks like canboat RAW (a time, then six or more comma-separated fields).
pub fn is_canboat(line: &str) -> bool {
    line.split(',').next().is_some_and(|t| utc(t.trim()).is_some()) && line.split(',').count() >= 6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canboat_lines_in_every_time_style() {
        // aava-n2k.data's third line.
        let l = parse_canboat("2014-08-15T19:00:00.048Z,2,128259,115,255,8,00,4e,01,ff,ff,00,ff,ff").unwrap();
        assert_eq!(l.stamp, Stamp::Utc(1_408_129_200_048));
        assert_eq!(l.carried, Carried::Message(Header { priority: 2, pgn: 128_259, source: 115, destination: 255 }));
        assert_eq!(l.data(), [0x00, 0x4e, 0x01, 0xff, 0xff, 0x00, 0xff, 0xff]);
        // dirona-actisense-serial.raw's two styles.
        let a = parse_canboat("2016-02-28-19:57:01,2,127250,40,255,8,ff,60,70,ff,7f,ff,7f,fc").unwrap();
        assert_eq!(a.stamp, Stamp::Utc(1_456_689_421_000));
        let b = parse_canboat("2016-02-28T19:57:01.250,2,127250,40,255,8,ff,60,70,ff,7f,ff,7f,fc").unwrap();
        assert_eq!(b.stamp, Stamp::Utc(1_456_689_421_250));
        assert_eq!(parse_canboat("2016-02-28T19:57:01Z,2,127250,40,255,3,ff,60"), Err(LineError::LengthMismatch));
        assert_eq!(parse_canboat("2016-02-28T19:57:01Z,9,127250,40,255,1,ff"), Err(LineError::BadNumber));
        assert_eq!(parse_canboat("yesterday,2,127250,40,255,1,ff"), Err(LineError::BadTime));
        assert_eq!(parse_canboat("2016-02-28T19:57:01Z,2,127250,40,255,1,fg"), Err(LineError::BadByte));
    }

    #[test]
    fn yacht_devices_lines() {
        // merrimac-ydwg-2020.raw style.
        let l = parse_yd("17:33:21.107 R 19F51323 01 2F 30 70 00 2F 30 70\r\n").unwrap();
        assert_eq!(l.stamp, Stamp::TimeOfDay(63_201_107));
        assert_eq!(l.carried, Carried::Frame { can_id: 0x19F5_1323, sent: false });
        assert_eq!(l.data().len(), 8);
        assert_eq!(parse_yd("17:33:21.107 R 19F51323 01 02 03 04 05 06 07 08 09"), Err(LineError::TooLong));
        assert_eq!(parse_yd("17:33:21.107 X 19F51323 01"), Err(LineError::BadNumber));
        assert!(parse_yd("2014-08-15T19:00:00.048Z,2,128259,115,255,8,00,4e,01,ff,ff,00,ff,ff").is_err());
        assert!(is_canboat("2014-08-15T19:00:00.048Z,2,128259,115,255,8,00,4e,01,ff,ff,00,ff,ff"));
    }

    #[test]
    fn yacht_devices_lines_written() {
        struct Text([u8; 64], usize);
        impl core::fmt::Write for Text {
            fn write_str(&mut self, s: &str) -> core::fmt::Result {
                let end = self.1 + s.len();
                self.0.get_mut(self.1..end).ok_or(core::fmt::Error)?.copy_from_slice(s.as_bytes());
                self.1 = end;
                Ok(())
            }
        }
        let data = [0x01, 0x2F, 0x30, 0x70, 0x00, 0x2F, 0x30, 0x70];
        let mut t = Text([0; 64], 0);
        write_yd(&mut t, Some(63_201_107), 0x19F5_1323, &data).unwrap();
        assert_eq!(&t.0[..t.1], b"17:33:21.107 R 19F51323 01 2F 30 70 00 2F 30 70\r\n");
        let back = parse_yd(core::str::from_utf8(&t.0[..t.1]).unwrap()).unwrap();
        assert_eq!(
            (back.stamp, back.carried, back.data()),
            (Stamp::TimeOfDay(63_201_107), Carried::Frame { can_id: 0x19F5_1323, sent: false }, &data[..])
        );
        let mut t = Text([0; 64], 0);
        write_yd(&mut t, None, 0x0EEF_FF00, &[0xFF; 3]).unwrap();
        assert_eq!(&t.0[..t.1], b"0EEFFF00 FF FF FF\r\n");
    }

    #[test]
    fn actisense_ascii_lines() {
        // Actisense's documented example: 128275 from 0x23 to everyone at priority 7, 9 bytes.
        let l = parse_actisense_ascii("A173321.107 23FF7 1F513 012F3070002F30709F\r\n").unwrap();
        assert_eq!(l.stamp, Stamp::TimeOfDay(63_201_107));
        assert_eq!(l.carried, Carried::Message(Header { priority: 7, pgn: 128_275, source: 0x23, destination: 255 }));
        assert_eq!(l.data(), [0x01, 0x2F, 0x30, 0x70, 0x00, 0x2F, 0x30, 0x70, 0x9F]);
        // No fraction, spaces in the data.
        let l = parse_actisense_ascii("A173321 01FF2 1F112 01020304 05060708").unwrap();
        assert_eq!((l.stamp, l.data().len()), (Stamp::TimeOfDay(63_201_000), 8));
        assert!(is_actisense_ascii("A173321.107 23FF7 1F513 01") && !is_actisense_ascii("ABCDEFG"));
        assert_eq!(parse_actisense_ascii("A173321.107 23FF9 1F513 01").err(), Some(LineError::BadNumber));
        assert_eq!(parse_actisense_ascii("A173321.107 23FF7 1F513 012").err(), Some(LineError::BadByte));
        assert_eq!(parse_actisense_ascii("A996321.107 23FF7 1F513 01").err(), Some(LineError::BadTime));
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_read_or_refused(s in "\\PC{0,120}") {
            let _ = parse_canboat(&s);
            let _ = parse_yd(&s);
            let _ = parse_actisense_ascii(&s);
            let _ = is_canboat(&s);
        }

        #[test]
        fn yacht_devices_lines_read_back_as_written(
            ms in 0u32..86_400_000,
            can_id in 0u32..=0x1FFF_FFFF,
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..=8),
        ) {
            let mut line = std::string::String::new();
            write_yd(&mut line, Some(ms), can_id, &data).unwrap();
            let l = parse_yd(&line).unwrap();
            proptest::prop_assert_eq!(l.stamp, Stamp::TimeOfDay(ms));
            proptest::prop_assert_eq!(l.carried, Carried::Frame { can_id, sent: false });
            proptest::prop_assert_eq!(l.data(), &data[..]);
        }
    }
}
