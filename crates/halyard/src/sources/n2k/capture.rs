//! NMEA 2000 captures on disk or in a pipe, read as a stream of records in bounded memory:
//! canboat RAW (whole messages or frames), Yacht Devices RAW, Actisense N2K ASCII, `candump -l`,
//! pcap/pcapng of SocketCAN (link type 227) and the Actisense NGT-1 binary stream. The format is recognised
//! from the first bytes; the records keep each format's own clock ([`Stamp`]), which the
//! caller places in time. The bytes go to [`halyard_proto::n2k`] untouched: no protocol logic
//! here beyond telling the formats apart.

use std::collections::VecDeque;
use std::io::BufRead;

use halyard_proto::can::{candump, Id, Received};
use halyard_proto::n2k::{self, raw, Header};

/// When a record was captured, as its format says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// Milliseconds since 1970-01-01 UTC (canboat RAW, candump, pcap).
    Utc(i64),
    /// Milliseconds since midnight, date unknown (Yacht Devices RAW).
    TimeOfDay(u32),
    /// An Actisense NGT-1's own clock: milliseconds since it started.
    Gateway(u32),
}

impl Stamp {
    /// The stamp as a number of milliseconds on its own clock.
    pub fn ms(self) -> u64 {
        match self {
            Stamp::Utc(ms) => ms.max(0) as u64,
            Stamp::TimeOfDay(ms) | Stamp::Gateway(ms) => u64::from(ms),
        }
    }
}

/// What a record carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carried {
    /// One CAN frame with its 29-bit id (fast packets still to assemble).
    Frame {
        /// The CAN id.
        can_id: u32,
        /// 0–8 bytes.
        data: Vec<u8>,
    },
    /// A canboat RAW line: a whole message, or one frame of a capture written frame by frame
    /// ([`n2k::Assembler::canboat`] tells which).
    Canboat {
        /// The header the line spells out.
        header: Header,
        /// The data.
        data: Vec<u8>,
    },
    /// A message a gateway assembled itself (the NGT-1).
    Message {
        /// Its header.
        header: Header,
        /// Its data.
        data: Vec<u8>,
    },
}

impl Carried {
    /// Through `assembler` at `at_ms`: frames and canboat lines assembled, a gateway's whole
    /// message passed on as it is.
    pub fn assemble(&self, assembler: &mut n2k::Assembler, at_ms: u64, mut on: impl FnMut(n2k::Event<'_>)) {
        match self {
            Carried::Frame { can_id, data } => assembler.frame(*can_id, data, at_ms, on),
            Carried::Canboat { header, data } => assembler.canboat(*header, data, at_ms, on),
            Carried::Message { header, data } => on(n2k::Event::Message { header: *header, data }),
        }
    }
}

/// One record of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// NMEA 2000 traffic.
    N2k(Stamp, Carried),
    /// A gateway's own message (an NGT-1's status), by command byte.
    Gateway(u8),
    /// Something that could not be read, counted by kind.
    Bad {
        /// snake_case, for counters.
        kind: &'static str,
        /// What and where.
        what: String,
    },
}

/// The formats recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Actisense NGT-1 binary stream.
    Actisense,
    /// pcap or pcapng of SocketCAN frames.
    Pcap,
    /// Text, one record a line: canboat RAW, Yacht Devices RAW, Actisense N2K ASCII or `candump -l`.
    Lines,
}

/// PGNs nearly every NMEA 2000 bus carries besides those Halyard decodes: ISO acknowledgement,
/// transport and group function, PGN lists, configuration information.
const COMMON_PGNS: [u32; 7] = [59_392, 60_160, 60_416, 126_208, 126_464, 126_720, 126_998];

/// Whether a 29-bit id reads as an NMEA 2000 PGN Halyard knows of: how CAN captures of the
/// NMEA 2000 bus are told from MasterBus captures (the same 29-bit frames, other ids).
fn known_pgn(can_id: u32) -> bool {
    Header::from_can_id(can_id).is_ok_and(|h| n2k::pgn::find(h.pgn).is_some() || COMMON_PGNS.contains(&h.pgn))
}

/// The first line of `head` that is neither blank nor a `#` comment.
fn first_line(head: &[u8]) -> Option<&str> {
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
    };
    text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'))
}

/// The format of a capture whose first bytes are `head`, if it is NMEA 2000. A CAN capture
/// (pcap, candump) counts when most of its first frames carry PGNs Halyard knows.
pub fn detect(head: &[u8]) -> Option<Format> {
    if n2k::actisense::is_actisense(head) {
        return Some(Format::Actisense);
    }
    if let Some(line) = first_line(head) {
        if raw::is_canboat(line) || raw::parse_yd(line).is_ok() || raw::is_actisense_ascii(line) {
            return Some(Format::Lines);
        }
    }
    let format = super::super::can::file::detect(head)?;
    let frames =
        super::super::can::file::stream(head).ok()?.take(200).filter_map(Result::ok).filter_map(|r| match r.received {
            Received::Frame(f) => match f.id() {
                Id::Extended(id) => Some(known_pgn(id)),
                Id::Standard(_) => Some(false),
            },
            Received::Error(_) => None,
        });
    let (mut known, mut all) = (0, 0);
    for k in frames {
        all += 1;
        known += usize::from(k);
    }
    (all > 0 && known * 2 > all).then_some(match format {
        super::super::can::file::Format::Pcap => Format::Pcap,
        super::super::can::file::Format::Candump => Format::Lines,
    })
}

/// Records of a capture as they are read.
pub struct Capture<R: BufRead> {
    inner: Inner<R>,
    /// Bytes of the input walked so far (for a progress bar).
    position: u64,
}

enum Inner<R: BufRead> {
    Actisense { reader: R, framer: n2k::actisense::Framer, pending: VecDeque<Record>, buf: Vec<u8>, skipped: u64 },
    Pcap(super::super::can::file::Stream<R>),
    Lines { reader: R, line: Vec<u8>, number: u64 },
}

impl<R: BufRead> Capture<R> {
    /// Read `reader`, a capture of `format`.
    pub fn new(format: Format, reader: R) -> std::io::Result<Self> {
        let inner = match format {
            Format::Actisense => Inner::Actisense {
                reader,
                framer: n2k::actisense::Framer::new(),
                pending: VecDeque::new(),
                buf: vec![0; 4096],
                skipped: 0,
            },
            Format::Pcap => Inner::Pcap(super::super::can::file::stream(reader)?),
            Format::Lines => Inner::Lines { reader, line: Vec::new(), number: 0 },
        };
        Ok(Capture { inner, position: 0 })
    }

    /// Bytes of the input walked so far.
    pub fn position(&self) -> u64 {
        match &self.inner {
            Inner::Pcap(s) => s.position(),
            _ => self.position,
        }
    }

    /// The next record; `None` at the end of the input.
    pub fn next_record(&mut self) -> std::io::Result<Option<Record>> {
        match &mut self.inner {
            Inner::Actisense { reader, framer, pending, buf, skipped } => loop {
                if let Some(r) = pending.pop_front() {
                    return Ok(Some(r));
                }
                let n = match reader.read(buf) {
                    Ok(0) => {
                        // Bytes between messages are counted once, at the end.
                        let lost = framer.skipped.saturating_sub(*skipped);
                        *skipped = framer.skipped;
                        return Ok((lost > 0).then(|| Record::Bad {
                            kind: "skipped_bytes",
                            what: format!("{lost} bytes between messages"),
                        }));
                    }
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                self.position += n as u64;
                framer.push_all(&buf[..n], |m| {
                    pending.push_back(match m {
                        Ok(frame) => match frame.received() {
                            // Whole messages: the NGT-1 assembles fast packets itself.
                            Some(r) => Record::N2k(
                                Stamp::Gateway(r.timestamp_ms),
                                Carried::Message { header: r.header, data: r.data.to_vec() },
                            ),
                            None => Record::Gateway(frame.command),
                        },
                        Err(e) => Record::Bad { kind: e.kind(), what: e.to_string() },
                    })
                });
            },
            Inner::Pcap(records) => Ok(records.next().map(|r| match r {
                Ok(r) => match r.received {
                    Received::Frame(f) => match f.id() {
                        Id::Extended(can_id) => Record::N2k(
                            Stamp::Utc((r.timestamp_ns / 1_000_000) as i64),
                            Carried::Frame { can_id, data: f.data().to_vec() },
                        ),
                        Id::Standard(_) => {
                            Record::Bad { kind: "standard_id", what: "an 11-bit CAN id (not NMEA 2000)".into() }
                        }
                    },
                    Received::Error(_) => Record::Bad { kind: "error_frame", what: "a CAN error frame".into() },
                },
                Err(e) => Record::Bad { kind: "bad_record", what: e.to_string() },
            })),
            Inner::Lines { reader, line, number } => loop {
                line.clear();
                let (read, cut) = crate::lines::read_line(reader, line)?;
                if read == 0 {
                    return Ok(None);
                }
                self.position += read as u64;
                *number += 1;
                let n = *number;
                if cut {
                    let what = format!("line {n}: longer than {} bytes", crate::lines::MAX_LINE);
                    return Ok(Some(Record::Bad { kind: "bad_line", what }));
                }
                let text = String::from_utf8_lossy(line);
                let text = text.trim();
                if text.is_empty() || text.starts_with('#') {
                    continue;
                }
                if let Some(r) = line_record(text, n) {
                    return Ok(Some(r));
                }
            },
        }
    }
}

/// One text line: canboat RAW, Actisense N2K ASCII (whole messages), Yacht Devices RAW (with the
/// frames the gateway sent itself: they were on the bus too) or `candump -l`.
fn line_record(text: &str, n: u64) -> Option<Record> {
    if raw::is_canboat(text) {
        return Some(match raw::parse_canboat(text) {
            Ok(l) => match (l.stamp, l.carried) {
                (raw::Stamp::Utc(ms), raw::Carried::Message(header)) => {
                    Record::N2k(Stamp::Utc(ms), Carried::Canboat { header, data: l.data().to_vec() })
                }
                _ => return None,
            },
            Err(e) => Record::Bad { kind: e.kind(), what: format!("line {n}: {e}") },
        });
    }
    if raw::is_actisense_ascii(text) {
        return Some(match raw::parse_actisense_ascii(text) {
            Ok(l) => match (l.stamp, l.carried) {
                (raw::Stamp::TimeOfDay(ms), raw::Carried::Message(header)) => {
                    Record::N2k(Stamp::TimeOfDay(ms), Carried::Message { header, data: l.data().to_vec() })
                }
                _ => return None,
            },
            Err(e) => Record::Bad { kind: e.kind(), what: format!("line {n}: {e}") },
        });
    }
    if let Ok(l) = raw::parse_yd(text) {
        return match (l.stamp, l.carried) {
            (raw::Stamp::TimeOfDay(ms), raw::Carried::Frame { can_id, .. }) => {
                Some(Record::N2k(Stamp::TimeOfDay(ms), Carried::Frame { can_id, data: l.data().to_vec() }))
            }
            _ => None,
        };
    }
    Some(match candump::parse_line(text) {
        Ok(Some(l)) => match l.received {
            Received::Frame(f) => match f.id() {
                Id::Extended(can_id) => Record::N2k(
                    Stamp::Utc((l.timestamp_ns / 1_000_000) as i64),
                    Carried::Frame { can_id, data: f.data().to_vec() },
                ),
                Id::Standard(_) => Record::Bad { kind: "standard_id", what: format!("line {n}: an 11-bit CAN id") },
            },
            Received::Error(_) => Record::Bad { kind: "error_frame", what: format!("line {n}: a CAN error frame") },
        },
        Ok(None) => return None,
        Err(_) => {
            Record::Bad { kind: "bad_line", what: format!("line {n}: not canboat RAW, Yacht Devices RAW or candump") }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/n2k/");
        std::fs::read(format!("{dir}{name}")).unwrap()
    }

    #[test]
    fn every_capture_format_is_recognised_and_masterbus_is_not_nmea_2000() {
        for (name, format) in [
            ("aava-n2k.head.data", Format::Lines),
            ("merrimac-ydwg-2020.raw", Format::Lines),
            ("candumpSample3.txt", Format::Lines),
            ("can0-1.head.pcap", Format::Pcap),
            ("actisense-serial-ng1-cat-usb-2021-05-14-1005.bin", Format::Actisense),
        ] {
            let bytes = fixture(name);
            assert_eq!(detect(&bytes[..bytes.len().min(1 << 20)]), Some(format), "{name}");
        }
        let masterbus = concat!(env!("CARGO_MANIFEST_DIR"), "/../halyard-proto/tests/fixtures/masterbus/");
        let mut seen = 0;
        for entry in std::fs::read_dir(masterbus).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            if super::super::super::can::file::detect(&bytes).is_some() {
                seen += 1;
                assert_eq!(detect(&bytes), None, "{}", path.display());
            }
        }
        assert!(seen > 0, "no MasterBus capture among the fixtures");
        assert_eq!(detect(b"$GPRMC,120000,A,4317.00,N,00522.44,E,0.0,0.0,230626,,,A\r\n"), None);
    }

    #[test]
    fn records_keep_their_format_clock_and_bad_lines_are_counted() {
        let text = "# a comment\n\
            2014-08-15T19:00:00.042Z,2,127250,204,255,8,ff,60,70,ff,7f,ff,7f,fc\n\
            19:57:01.123 R 09F8017F 87 A9 5A 23 0A 8E 87 0E\n\
            19:57:01.124 T 09F8017F 87 A9 5A 23 0A 8E 87 0E\n\
            garbage\n";
        let mut c = Capture::new(Format::Lines, text.as_bytes()).unwrap();
        let mut got = Vec::new();
        while let Some(r) = c.next_record().unwrap() {
            got.push(r);
        }
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(matches!(&got[0], Record::N2k(Stamp::Utc(1_408_129_200_042), Carried::Canboat { header, data })
            if header.pgn == 127_250 && data.len() == 8));
        assert!(matches!(
            &got[1],
            Record::N2k(Stamp::TimeOfDay(71_821_123), Carried::Frame { can_id: 0x09F8_017F, .. })
        ));
        // The gateway's own frame is a record too: it was on the bus.
        assert!(matches!(&got[2], Record::N2k(Stamp::TimeOfDay(71_821_124), _)));
        assert!(matches!(&got[3], Record::Bad { kind: "bad_line", .. }));
        assert_eq!(c.position(), text.len() as u64);
    }
}
