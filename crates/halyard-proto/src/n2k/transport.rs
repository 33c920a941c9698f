//! ISO 11783-3 / SAE J1939-21 transport: messages of 9 to 1,785 bytes in packets of 7, for PGNs
//! that are not fast packets (PGN lists, long configuration texts). A sender announces the
//! message with a connection-management frame (PGN 60416, TP.CM) — a broadcast announce (BAM,
//! control 32) to everyone, or a request to send (RTS, 16) to one node, which answers with
//! clear-to-send (CTS, 17) frames — then sends the data frames (PGN 60160, TP.DT: a sequence
//! number 1–255 and 7 bytes). A listener assembles both kinds alike from the announcement and the
//! data frames, whichever node they are addressed to; it never answers (a CTS is the addressed
//! node's business).
//!
//! Sessions are keyed by (sender, receiver), bounded in number, and given up when a frame comes
//! after [`TIMEOUT_MS`] of silence (J1939's T1/T2 are 750 and 1,250 ms).

/// Connection management (TP.CM).
pub const CONNECTION: u32 = 60_416;
/// Data transfer (TP.DT).
pub const DATA: u32 = 60_160;
/// The longest message: 255 packets of 7 bytes.
pub const MAX_LEN: usize = 255 * 7;
/// Silence after which a session is given up.
pub const TIMEOUT_MS: u64 = 1_250;

const RTS: u8 = 16;
const BAM: u8 = 32;
const ABORT: u8 = 255;

/// Why a transported message was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportError {
    /// The sender aborted it (with the J1939 reason code).
    Aborted(u8),
    /// A packet was missing when the session went silent or a new one began.
    TimedOut,
    /// Announced longer than 1,785 bytes, or with too few packets for its size.
    BadAnnouncement,
    /// A data frame with sequence 0 or beyond the packets announced.
    BadSequence(u8),
    /// A data frame without an announcement.
    Orphan,
    /// A data frame shorter than 8 bytes.
    ShortFrame,
}

impl TransportError {
    /// A snake_case name, for counters.
    pub fn kind(&self) -> &'static str {
        match self {
            TransportError::Aborted(_) => "transport_aborted",
            TransportError::TimedOut => "transport_timed_out",
            TransportError::BadAnnouncement => "transport_bad_announcement",
            TransportError::BadSequence(_) => "transport_bad_sequence",
            TransportError::Orphan => "transport_orphan",
            TransportError::ShortFrame => "transport_short_frame",
        }
    }
}

impl core::fmt::Display for TransportError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TransportError::Aborted(r) => write!(f, "aborted by its sender (reason {r})"),
            TransportError::TimedOut => f.write_str("a packet never came"),
            TransportError::BadAnnouncement => f.write_str("an impossible size or packet count"),
            TransportError::BadSequence(s) => write!(f, "packet {s} was not announced"),
            TransportError::Orphan => f.write_str("a data packet without an announcement"),
            TransportError::ShortFrame => f.write_str("a data packet shorter than 8 bytes"),
        }
    }
}

#[derive(Clone)]
struct Session {
    source: u8,
    destination: u8,
    pgn: u32,
    len: u16,
    packets: u8,
    /// Packets received, a bit each (1–255).
    received: [u64; 4],
    last_ms: u64,
    data: [u8; MAX_LEN],
}

impl Session {
    fn complete(&self) -> bool {
        (1..=self.packets).all(|p| self.received[usize::from(p / 64)] >> (p % 64) & 1 == 1)
    }
}

/// What one frame gave.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome<'a> {
    /// A message given up (with its PGN when known).
    pub dropped: Option<(u32, TransportError)>,
    /// A complete message: its PGN, sender, receiver and data.
    pub complete: Option<(u32, u8, u8, &'a [u8])>,
}

/// Transport sessions in progress, at most `N`.
pub struct Transport<const N: usize> {
    sessions: [Option<Session>; N],
    out: [u8; MAX_LEN],
}

impl<const N: usize> Default for Transport<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Transport<N> {
    /// No session.
    pub fn new() -> Self {
        Transport { sessions: core::array::from_fn(|_| None), out: [0; MAX_LEN] }
    }

    fn find(&self, source: u8, destination: u8) -> Option<usize> {
        self.sessions
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.source == source && s.destination == destination))
    }

    /// A TP.CM or TP.DT frame (`pgn` 60416 or 60160) from `source` to `destination`.
    pub fn push(&mut self, pgn: u32, source: u8, destination: u8, frame: &[u8], now_ms: u64) -> Outcome<'_> {
        let mut outcome = Outcome::default();
        // A session silent for too long is over, whatever comes next; a data packet of it is
        // its end, not an orphan.
        if let Some(i) = self.find(source, destination) {
            let s = self.sessions[i].as_ref().expect("found");
            if now_ms.saturating_sub(s.last_ms) > TIMEOUT_MS {
                outcome.dropped = Some((s.pgn, TransportError::TimedOut));
                self.sessions[i] = None;
                if pgn == DATA {
                    return outcome;
                }
            }
        }
        if frame.len() < 8 {
            outcome.dropped = Some((0, TransportError::ShortFrame));
            return outcome;
        }
        if pgn == CONNECTION {
            let announced = u32::from(frame[5]) | u32::from(frame[6]) << 8 | u32::from(frame[7]) << 16;
            match frame[0] {
                RTS | BAM => {
                    if let Some(i) = self.find(source, destination) {
                        // A new announcement ends the one in progress.
                        let old = self.sessions[i].take().expect("found");
                        outcome.dropped = Some((old.pgn, TransportError::TimedOut));
                    }
                    let len = u16::from_le_bytes([frame[1], frame[2]]);
                    let packets = frame[3];
                    if usize::from(len) > MAX_LEN || len < 9 || usize::from(packets) * 7 < usize::from(len) {
                        outcome.dropped = Some((announced, TransportError::BadAnnouncement));
                        return outcome;
                    }
                    let slot = match self.sessions.iter().position(Option::is_none) {
                        Some(i) => i,
                        None => {
                            // All busy: the one silent longest gives way.
                            let i = (0..N)
                                .min_by_key(|i| self.sessions[*i].as_ref().map_or(0, |s| s.last_ms))
                                .expect("N > 0");
                            let old = self.sessions[i].take().expect("all busy");
                            outcome.dropped = Some((old.pgn, TransportError::TimedOut));
                            i
                        }
                    };
                    self.sessions[slot] = Some(Session {
                        source,
                        destination,
                        pgn: announced,
                        len,
                        packets,
                        received: [0; 4],
                        last_ms: now_ms,
                        data: [0; MAX_LEN],
                    });
                }
                ABORT => {
                    if let Some(i) = self.find(source, destination).or_else(|| self.find(destination, source)) {
                        let old = self.sessions[i].take().expect("found");
                        outcome.dropped = Some((old.pgn, TransportError::Aborted(frame[1])));
                    }
                }
                // CTS and end-of-message acknowledgements go from the receiver to the sender.
                _ => {}
            }
            return outcome;
        }
        let Some(i) = self.find(source, destination) else {
            outcome.dropped = Some((0, TransportError::Orphan));
            return outcome;
        };
        let s = self.sessions[i].as_mut().expect("found");
        let sequence = frame[0];
        if sequence == 0 || sequence > s.packets {
            outcome.dropped = Some((s.pgn, TransportError::BadSequence(sequence)));
            self.sessions[i] = None;
            return outcome;
        }
        let at = usize::from(sequence - 1) * 7;
        let n = (usize::from(s.len) - at).min(7);
        s.data[at..at + n].copy_from_slice(&frame[1..1 + n]);
        s.received[usize::from(sequence / 64)] |= 1 << (sequence % 64);
        s.last_ms = now_ms;
        if s.complete() {
            let s = self.sessions[i].take().expect("found");
            let len = usize::from(s.len);
            self.out[..len].copy_from_slice(&s.data[..len]);
            outcome.complete = Some((s.pgn, s.source, s.destination, &self.out[..len]));
        }
        outcome
    }
}

/// The frames that carry `data` (9–1,785 bytes) of `pgn` as a broadcast announce: the TP.CM
/// and each TP.DT, padded with `0xFF`.
pub fn broadcast(pgn: u32, data: &[u8], mut frame: impl FnMut(u32, [u8; 8])) -> bool {
    if data.len() < 9 || data.len() > MAX_LEN {
        return false;
    }
    let packets = data.len().div_ceil(7) as u8;
    let len = (data.len() as u16).to_le_bytes();
    let p = pgn.to_le_bytes();
    frame(CONNECTION, [BAM, len[0], len[1], packets, 0xFF, p[0], p[1], p[2]]);
    for (i, chunk) in data.chunks(7).enumerate() {
        let mut f = [0xFF; 8];
        f[0] = i as u8 + 1;
        f[1..1 + chunk.len()].copy_from_slice(chunk);
        frame(DATA, f);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn frames(pgn: u32, data: &[u8]) -> Vec<(u32, [u8; 8])> {
        let mut out = Vec::new();
        assert!(broadcast(pgn, data, |p, f| out.push((p, f))));
        out
    }

    #[test]
    fn a_broadcast_announce_assembles() {
        let data: Vec<u8> = (0..40u8).collect();
        let mut t = Transport::<4>::new();
        let mut got = None;
        for (i, (pgn, f)) in frames(126_464, &data).into_iter().enumerate() {
            let o = t.push(pgn, 7, 255, &f, i as u64 * 50);
            assert_eq!(o.dropped, None);
            if let Some((p, s, d, bytes)) = o.complete {
                got = Some((p, s, d, bytes.to_vec()));
            }
        }
        assert_eq!(got, Some((126_464, 7, 255, data)));
    }

    #[test]
    fn rts_cts_between_two_nodes_is_read_by_a_listener() {
        // Node 9 sends 20 bytes of PGN 126998 to node 35; 35's clear-to-send frames pass by.
        let data: Vec<u8> = (100..120u8).collect();
        let mut t = Transport::<4>::new();
        let rts = [RTS, 20, 0, 3, 3, 0x16, 0xF0, 0x01];
        assert_eq!(t.push(CONNECTION, 9, 35, &rts, 0), Outcome::default());
        t.push(CONNECTION, 35, 9, &[17, 3, 1, 0xFF, 0xFF, 0x16, 0xF0, 0x01], 5);
        let mut complete = None;
        // Out of order is fine: the sequence number says where a packet goes.
        for seq in [2u8, 1, 3] {
            let mut f = [0xFF; 8];
            f[0] = seq;
            let at = usize::from(seq - 1) * 7;
            let n = (20 - at).min(7);
            f[1..1 + n].copy_from_slice(&data[at..at + n]);
            if let Some((p, s, d, bytes)) = t.push(DATA, 9, 35, &f, 10).complete {
                complete = Some((p, s, d, bytes.to_vec()));
            }
        }
        assert_eq!(complete, Some((126_998, 9, 35, data)));
    }

    #[test]
    fn aborts_gaps_and_strays_are_errors_not_messages() {
        let mut t = Transport::<2>::new();
        let f = frames(126_464, &[1u8; 30]);
        t.push(f[0].0, 7, 255, &f[0].1, 0);
        t.push(f[1].0, 7, 255, &f[1].1, 10);
        // Packet 3 of 5 is lost; the rest comes 2 s later: the session is over.
        let o = t.push(f[3].0, 7, 255, &f[3].1, 2_010);
        assert_eq!(o.dropped, Some((126_464, TransportError::TimedOut)));
        assert_eq!(t.push(DATA, 8, 255, &[1; 8], 0).dropped, Some((0, TransportError::Orphan)));
        t.push(CONNECTION, 9, 35, &[RTS, 20, 0, 3, 3, 0x16, 0xF0, 0x01], 0);
        let o = t.push(CONNECTION, 35, 9, &[ABORT, 3, 0xFF, 0xFF, 0xFF, 0x16, 0xF0, 0x01], 1);
        assert_eq!(o.dropped, Some((126_998, TransportError::Aborted(3))));
        let bad = t.push(CONNECTION, 9, 35, &[BAM, 0x00, 0x08, 2, 0xFF, 0, 0xEE, 0], 2);
        assert_eq!(bad.dropped, Some((0xEE00, TransportError::BadAnnouncement)), "2,048 bytes in 2 packets");
        t.push(CONNECTION, 9, 255, &[BAM, 20, 0, 3, 0xFF, 0, 0xEE, 0], 3);
        assert_eq!(
            t.push(DATA, 9, 255, &[4, 0, 0, 0, 0, 0, 0, 0], 4).dropped,
            Some((0xEE00, TransportError::BadSequence(4)))
        );
    }

    proptest::proptest! {
        /// Any frames: messages or errors, never a panic; and any message broadcast in any
        /// packet order comes out whole.
        #[test]
        fn any_frames_and_any_order(
            junk in proptest::collection::vec((0u8..2, 0u8..4, proptest::collection::vec(proptest::num::u8::ANY, 0..10)), 0..200),
            data in proptest::collection::vec(proptest::num::u8::ANY, 9..300),
            order in proptest::collection::vec(proptest::num::usize::ANY, 0..50),
        ) {
            let mut t = Transport::<2>::new();
            for (i, (kind, source, frame)) in junk.iter().enumerate() {
                let pgn = if *kind == 0 { CONNECTION } else { DATA };
                let _ = t.push(pgn, *source, 255, frame, i as u64);
            }
            let mut f = frames(126_464, &data);
            let (announce, packets) = f.split_at_mut(1);
            for (i, o) in order.iter().enumerate() {
                let j = o % packets.len();
                packets.swap(i % packets.len(), j);
            }
            let mut t = Transport::<2>::new();
            t.push(announce[0].0, 3, 255, &announce[0].1, 0);
            let mut got = None;
            for (pgn, fr) in packets.iter() {
                if let Some((_, _, _, bytes)) = t.push(*pgn, 3, 255, fr, 1).complete {
                    got = Some(bytes.to_vec());
                }
            }
            proptest::prop_assert_eq!(got, Some(data));
        }
    }
}
