//! CAN captures on disk: pcapng / pcap (link types 113, 227, 276) and can-utils candump logs.
//! The format is recognised from the content, not the file name (the public MasterBus captures
//! are pcapng files named `.pcap`).

use halyard_proto::can::capture::{Capture, CaptureError};
use halyard_proto::can::{candump, Received};

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
    text.lines().find(|l| !l.trim().is_empty()).filter(|l| l.trim_start().starts_with('(')).map(|_| Format::Candump)
}

/// Every record of a capture, in file order.
pub fn records(bytes: &[u8]) -> Result<Box<dyn Iterator<Item = Result<CanRecord, RecordError>> + Send + '_>, String> {
    match detect(bytes) {
        Some(Format::Pcap) => {
            let capture = Capture::new(bytes).map_err(|e| e.to_string())?;
            Ok(Box::new(capture.map(|r| {
                r.map(|p| CanRecord { timestamp_ns: p.timestamp_ns.unwrap_or(0), received: p.received })
                    .map_err(capture_error)
            })))
        }
        Some(Format::Candump) => Ok(Box::new(bytes.split(|b| *b == b'\n').enumerate().filter_map(|(i, line)| {
            let location = || format!("line {}", i + 1);
            let Ok(text) = std::str::from_utf8(line) else {
                return Some(Err(RecordError { location: location(), message: "not UTF-8 text".into(), fatal: false }));
            };
            match candump::parse_line(text) {
                Ok(None) => None,
                Ok(Some(l)) => Some(Ok(CanRecord { timestamp_ns: l.timestamp_ns, received: l.received })),
                Err(e) => Some(Err(RecordError { location: location(), message: e.to_string(), fatal: false })),
            }
        }))),
        None => Err("not a pcapng, pcap or candump log file".into()),
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
