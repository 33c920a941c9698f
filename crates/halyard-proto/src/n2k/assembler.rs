//! From frames and capture lines to whole messages: fast packets assembled per source and PGN,
//! single-frame PGNs passed through, canboat RAW lines taken as whole messages once a capture
//! shows it holds assembled ones.

use super::fast_packet::{is_fast_packet, FastPacketError, Reassembler};
use super::id::{Header, IdError};
use super::transport::{self, Transport, TransportError};

/// What one input gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A whole message.
    Message {
        /// Its header.
        header: Header,
        /// Its data.
        data: &'a [u8],
    },
    /// A frame or message given up, and why.
    Error(Error),
}

/// Why a frame gave no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Not an NMEA 2000 identifier.
    Id(IdError),
    /// A fast-packet message given up.
    FastPacket {
        /// Its PGN.
        pgn: u32,
        /// Its source.
        source: u8,
        /// Why.
        why: FastPacketError,
    },
    /// A CAN frame of more than 8 bytes.
    FrameTooLong(u8),
    /// An ISO transport message given up.
    Transport {
        /// Its PGN (0 when not known).
        pgn: u32,
        /// Its sender.
        source: u8,
        /// Why.
        why: TransportError,
    },
}

impl Error {
    /// A snake_case name, for counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Id(IdError::TooLarge(_)) => "bad_id",
            Error::Id(IdError::ReservedBit(_)) => "reserved_id_bit",
            Error::FastPacket { why, .. } => why.kind(),
            Error::FrameTooLong(_) => "frame_too_long",
            Error::Transport { why, .. } => why.kind(),
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Id(e) => e.fmt(f),
            Error::FastPacket { pgn, source, why } => write!(f, "PGN {pgn} from {source}: {why}"),
            Error::FrameTooLong(n) => write!(f, "a CAN frame of {n} bytes"),
            Error::Transport { pgn, source, why } => write!(f, "PGN {pgn} from {source} (ISO transport): {why}"),
        }
    }
}

/// Messages in progress from every source (at most 32 fast packets and 4 ISO transport
/// sessions at once).
#[derive(Default)]
pub struct Assembler {
    fast: Reassembler<32>,
    transport: Transport<4>,
    /// A canboat RAW line longer than 8 bytes was seen: the capture holds assembled messages,
    /// so 8-byte lines of fast-packet PGNs are whole messages too.
    assembled: bool,
}

impl Assembler {
    /// An assembler with nothing in progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// One CAN frame with its 29-bit id, received at `at_ms`.
    pub fn frame(&mut self, can_id: u32, data: &[u8], at_ms: u64, mut on: impl FnMut(Event<'_>)) {
        if data.len() > 8 {
            return on(Event::Error(Error::FrameTooLong(data.len() as u8)));
        }
        match Header::from_can_id(can_id) {
            Ok(header) => self.take(header, data, at_ms, true, &mut on),
            Err(e) => on(Event::Error(Error::Id(e))),
        }
    }

    /// One canboat RAW line: a whole message, or one fast-packet frame of a capture written
    /// frame by frame (8 bytes of a fast-packet PGN, in a capture that has shown no longer line).
    pub fn canboat(&mut self, header: Header, data: &[u8], at_ms: u64, mut on: impl FnMut(Event<'_>)) {
        self.assembled |= data.len() > 8;
        let frame = !self.assembled && data.len() == 8;
        self.take(header, data, at_ms, frame, &mut on)
    }

    fn take(&mut self, header: Header, data: &[u8], at_ms: u64, frame: bool, on: &mut impl FnMut(Event<'_>)) {
        // ISO transport frames are messages of their own, and carry a longer one.
        if matches!(header.pgn, transport::CONNECTION | transport::DATA) && data.len() <= 8 {
            on(Event::Message { header, data });
            let o = self.transport.push(header.pgn, header.source, header.destination, data, at_ms);
            if let Some((pgn, why)) = o.dropped {
                on(Event::Error(Error::Transport { pgn, source: header.source, why }));
            }
            if let Some((pgn, source, destination, data)) = o.complete {
                on(Event::Message { header: Header { priority: header.priority, pgn, source, destination }, data });
            }
            return;
        }
        if !(frame && is_fast_packet(header.pgn)) {
            return on(Event::Message { header, data });
        }
        let o = self.fast.push(header.source, header.pgn, data, at_ms);
        if let Some(why) = o.dropped {
            on(Event::Error(Error::FastPacket { pgn: header.pgn, source: header.source, why }));
        }
        if let Some(data) = o.complete {
            on(Event::Message { header, data });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn frames_and_lines() {
        let mut a = Assembler::new();
        let mut got = Vec::new();
        // PGN127507.raw's single-frame fast packet, as a canboat line and as a CAN frame.
        let h = Header { priority: 6, pgn: 127_507, source: 129, destination: 255 };
        let frame = [0xA0, 0x06, 0x31, 0x01, 0x51, 0x01, 0xFF, 0xFF];
        a.canboat(h, &frame, 0, |e| got.push(format!("{e:?}")));
        a.frame(h.can_id(), &frame, 0, |e| got.push(format!("{e:?}")));
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|g| g.contains("data: [49, 1, 81, 1, 255, 255]")), "{got:?}");
        // A reserved bit and a long frame are errors, never messages.
        got.clear();
        a.frame(0x1B00_0000, &[0; 8], 0, |e| got.push(format!("{e:?}")));
        a.frame(h.can_id(), &[0; 9], 0, |e| got.push(format!("{e:?}")));
        assert!(got[0].contains("ReservedBit") && got[1].contains("FrameTooLong"), "{got:?}");
        // Once a long line is seen, 8-byte lines of fast PGNs are whole messages.
        let long = [0u8; 43];
        let gnss = Header { priority: 3, pgn: 129_029, source: 160, destination: 255 };
        let mut n = 0;
        a.canboat(gnss, &long, 0, |_| n += 1);
        a.canboat(h, &frame, 0, |e| assert!(matches!(e, Event::Message { data, .. } if data.len() == 8)));
        assert_eq!(n, 1);
    }
}
