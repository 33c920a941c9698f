//! CAN captures on disk: pcapng / pcap (link types 113, 227, 276) and can-utils candump logs.
//! The format is recognised from the content, not the file name (the public MasterBus captures
//! are pcapng files named `.pcap`).

use std::io::Read;

use halyard_proto::can::capture::{Capture, CaptureError, Resume};
use halyard_proto::can::{candump, Received};

/// The most a capture block (or a candump line) may hold. CAN packets are tens of bytes; a
/// block larger than this is garbage, and a reader that believed it would buffer without bound.
pub const MAX_BLOCK: usize = 1 << 20;

/// One frame from a capture, with the time it was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CanRecord {
    /// Nanoseconds since the Unix epoch (0 when the capture has no time for it).
    pub timestamp_ns: u64,
    /// The frame or error frame.
    pub received: Received,
}

/// A record the reader could not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Where: `byte 1234` or `line 56`.
    pub location: String,
    /// What went wrong.
    pub message: String,
    /// Whether reading stopped here (framing lost, e.g. a truncated pcapng block).
    pub fatal: bool,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// The container formats recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// pcapng or classic pcap.
    Pcap,
    /// can-utils log lines.
    Candump,
}

/// Recognise a capture's format from its first bytes.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if Capture::new(bytes).is_ok() {
        return Some(Format::Pcap);
    }
    let head = &bytes[..bytes.len().min(4096)];
    let text = std::str::from_utf8(head).ok().or_else(|| {
        // A cut in the middle of a UTF-8 sequence at 4096 is still text.
        std::str::from_utf8(&head[..head.len().saturating_sub(4)]).ok()
    })?;
    // A log may open with `#` comments (candumpSample3.txt names the bus's devices there).
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| l.starts_with('('))
        .map(|_| Format::Candump)
}

/// Every record of a capture read from a stream (a pipe, a device, a file of any size), in
/// bounded memory: a window of at most [`MAX_BLOCK`] plus one read is held at a time.
pub fn stream<R: Read>(mut reader: R) -> std::io::Result<Stream<R>> {
    // The format is recognised from the first bytes: as few as say it (a live `candump` pipe
    // should not wait), at most 4 KiB.
    let mut head = Vec::with_capacity(4096);
    let mut eof = false;
    while detect(&head).is_none() && head.len() < 4096 && !eof {
        let most = 4096 - head.len();
        eof = read_some(&mut reader, &mut head, most)? == 0;
    }
    let (kind, start) = match detect(&head) {
        Some(Format::Pcap) => {
            let capture = Capture::new(&head).map_err(|e| std::io::Error::other(e.to_string()))?;
            let (at, state) = capture.resume_point();
            (Kind::Capture { state, failed: false }, at)
        }
        Some(Format::Candump) => (Kind::Candump { line: 0 }, 0),
        None => return Err(std::io::Error::other("not a pcapng, pcap or candump log file")),
    };
    Ok(Stream { reader, kind, window: head, start, base: 0, eof })
}

/// One `read` (retried when interrupted) appended to `buf`; 0 at the end of the input.
fn read_some(reader: &mut impl Read, buf: &mut Vec<u8>, most: usize) -> std::io::Result<usize> {
    let len = buf.len();
    buf.resize(len + most, 0);
    let n = loop {
        match reader.read(&mut buf[len..]) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            other => break other,
        }
    };
    buf.truncate(len + *n.as_ref().unwrap_or(&0));
    n
}

/// The iterator [`stream`] returns.
pub struct Stream<R> {
    reader: R,
    kind: Kind,
    /// Bytes read and not yet walked start at `window[start]`; `window[0]` is byte `base` of
    /// the input.
    window: Vec<u8>,
    start: usize,
    base: usize,
    eof: bool,
}

enum Kind {
    Capture { state: Resume, failed: bool },
    Candump { line: usize },
}

impl<R: Read> Stream<R> {
    /// Drop what has been walked and read more; `false` at the end of the input.
    fn refill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.window.drain(..self.start);
        self.base += self.start;
        self.start = 0;
        let n = read_some(&mut self.reader, &mut self.window, 64 * 1024)?;
        self.eof = n == 0;
        Ok(n > 0)
    }

    fn io_error(&mut self, e: &std::io::Error) -> RecordError {
        self.eof = true;
        self.window.clear();
        self.start = 0;
        RecordError { location: format!("byte {}", self.base), message: format!("reading: {e}"), fatal: true }
    }

    fn next_capture(&mut self) -> Option<Result<CanRecord, RecordError>> {
        loop {
            let Kind::Capture { state, failed } = &mut self.kind else { unreachable!() };
            if *failed {
                return None;
            }
            let mut capture = Capture::resume(&self.window[self.start..], *state);
            let item = capture.next();
            let (walked, next_state) = capture.resume_point();
            match item {
                Some(Err(CaptureError::Truncated { .. })) | None if !self.eof => {
                    if self.window.len() - self.start > MAX_BLOCK {
                        *failed = true;
                        let at = self.base + self.start;
                        return Some(Err(RecordError {
                            location: format!("byte {at}"),
                            message: format!("a block of more than {MAX_BLOCK} bytes: not a CAN capture from here on"),
                            fatal: true,
                        }));
                    }
                    match self.refill() {
                        Ok(_) => continue,
                        Err(e) => return Some(Err(self.io_error(&e))),
                    }
                }
                None => return None,
                Some(item) => {
                    *state = next_state;
                    let shift = self.base + self.start;
                    self.start += walked;
                    return Some(match item {
                        Ok(p) => Ok(CanRecord { timestamp_ns: p.timestamp_ns.unwrap_or(0), received: p.received }),
                        Err(e) => {
                            *failed = !e.is_recoverable();
                            Err(capture_error(e.shifted(shift)))
                        }
                    });
                }
            }
        }
    }

    fn next_candump(&mut self) -> Option<Result<CanRecord, RecordError>> {
        loop {
            let rest = &self.window[self.start..];
            let Some(end) =
                rest.iter().position(|b| *b == b'\n').or((self.eof && !rest.is_empty()).then_some(rest.len()))
            else {
                if rest.len() > MAX_BLOCK {
                    // A "line" this long is not a candump line: skip it whole.
                    self.start = self.window.len();
                }
                match self.refill() {
                    Ok(true) => continue,
                    Ok(false) => return None,
                    Err(e) => return Some(Err(self.io_error(&e))),
                }
            };
            let line = &rest[..end];
            self.start += (end + 1).min(rest.len());
            let Kind::Candump { line: n } = &mut self.kind else { unreachable!() };
            *n += 1;
            let location = || format!("line {n}");
            let Ok(text) = std::str::from_utf8(line) else {
                return Some(Err(RecordError { location: location(), message: "not UTF-8 text".into(), fatal: false }));
            };
            match candump::parse_line(text) {
                Ok(None) => continue,
                Ok(Some(l)) => return Some(Ok(CanRecord { timestamp_ns: l.timestamp_ns, received: l.received })),
                Err(e) => return Some(Err(RecordError { location: location(), message: e.to_string(), fatal: false })),
            }
        }
    }
}

impl<R: Read> Iterator for Stream<R> {
    type Item = Result<CanRecord, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.kind {
            Kind::Capture { .. } => self.next_capture(),
            Kind::Candump { .. } => self.next_candump(),
        }
    }
}

impl<R> Stream<R> {
    /// How many bytes of the input have been walked.
    pub fn position(&self) -> u64 {
        (self.base + self.start) as u64
    }
}

fn capture_error(e: CaptureError) -> RecordError {
    let location = match e {
        CaptureError::NotACapture => "byte 0".to_string(),
        CaptureError::Truncated { offset }
        | CaptureError::BadBlock { offset }
        | CaptureError::UnknownInterface { offset, .. }
        | CaptureError::UnsupportedLinkType { offset, .. }
        | CaptureError::ShortPacket { offset, .. }
        | CaptureError::NotCan { offset, .. }
        | CaptureError::BadFrame { offset, .. } => format!("byte {offset}"),
    };
    // The offset is in the location already; keep the message short.
    let message = e.to_string();
    RecordError { location, message, fatal: !e.is_recoverable() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that gives at most `most` bytes per read, as a pipe or a serial port may.
    struct Trickle<'a> {
        bytes: &'a [u8],
        most: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.most).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    fn fixture(name: &str) -> Vec<u8> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../halyard-proto/tests/fixtures/masterbus/");
        std::fs::read(format!("{dir}{name}")).unwrap()
    }

    /// The records as the in-memory reader of halyard-proto sees the whole file: the truth the
    /// stream must match however its reads are cut.
    fn whole(bytes: &[u8]) -> Vec<(u64, Received)> {
        Capture::new(bytes).unwrap().map(|p| p.unwrap()).map(|p| (p.timestamp_ns.unwrap_or(0), p.received)).collect()
    }

    #[test]
    fn real_captures_read_the_same_however_the_reads_are_cut() {
        for name in ["bootup_dcshunt_masterview_masscombi.pcap", "canhat-capture.pcap", "date_time.pcap"] {
            let bytes = fixture(name);
            let truth = whole(&bytes);
            assert!(truth.len() > 10, "{name}");
            for most in [1, 3, 7, 64, 4096, usize::MAX] {
                let got: Vec<_> = stream(Trickle { bytes: &bytes, most })
                    .unwrap()
                    .map(|r| r.map(|r| (r.timestamp_ns, r.received)))
                    .collect::<Result<_, _>>()
                    .unwrap_or_else(|e| panic!("{name} in reads of {most}: {e}"));
                assert_eq!(got, truth, "{name} in reads of {most}");
            }
        }
    }

    #[test]
    fn a_candump_log_streams_line_by_line() {
        let bytes = fixture("volts_amps_only.candump.log");
        let lines = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
        for most in [1, 5, usize::MAX] {
            let got: Vec<_> = stream(Trickle { bytes: &bytes, most }).unwrap().collect();
            assert_eq!(got.len(), lines);
            assert!(got.iter().all(Result::is_ok));
        }
        // The same frames as the pcap of the same traffic.
        let pcap = whole(&fixture("volts_amps_only.pcap"));
        let log: Vec<_> = stream(&bytes[..]).unwrap().map(|r| r.unwrap().received).collect();
        assert_eq!(log, pcap.iter().map(|p| p.1).collect::<Vec<_>>());
    }

    #[test]
    fn a_cut_capture_ends_with_the_truncation_at_its_file_offset() {
        let bytes = fixture("volts_amps_only.pcap");
        let cut = &bytes[..bytes.len() - 5];
        let items: Vec<_> = stream(Trickle { bytes: cut, most: 100 }).unwrap().collect();
        let last = items.last().unwrap().as_ref().unwrap_err();
        assert!(last.fatal);
        // The same packets, then the error naming where the cut block starts in the file, as the
        // whole-file reader of halyard-proto gives them.
        let expected: Vec<_> = Capture::new(cut).unwrap().collect();
        assert_eq!(items.len(), expected.len());
        assert!(items.len() > 20_000);
        let expected_error = expected.last().unwrap().unwrap_err();
        assert!(matches!(expected_error, CaptureError::Truncated { .. }));
        assert_eq!(last.location, capture_error(expected_error).location);
    }

    #[test]
    fn an_impossible_block_length_stops_instead_of_buffering() {
        // A pcapng section header, then a block that claims 4 GiB.
        let mut bytes = fixture("volts_amps_only.pcap");
        let first = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        let idb = u32::from_le_bytes(bytes[first + 4..first + 8].try_into().unwrap()) as usize;
        let at = first + idb;
        bytes[at + 4..at + 8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        bytes.extend(std::iter::repeat_n(0u8, 3 * MAX_BLOCK));
        let items: Vec<_> = stream(&bytes[..]).unwrap().collect();
        assert_eq!(items.len(), 1);
        assert!(items[0].as_ref().unwrap_err().fatal);
        assert!(stream(&[0u8; 100][..]).is_err(), "zeros are not a capture");
    }
}
