//! Fast packet: NMEA 2000's way of sending up to 223 bytes in 8-byte frames.
//!
//! Every frame's first byte holds a 3-bit sequence counter (the same for all frames of one
//! message, the next message from that source and PGN takes the next value, wrapping at 8) and a
//! 5-bit frame index. Frame 0 carries the total length in its second byte and the first 6 data
//! bytes; frames 1 to 31 carry 7 bytes each. Frames of different messages are never interleaved
//! by one source for one PGN, but several sources (and several PGNs of one source) interleave
//! freely, so a message is assembled per (source, PGN). At most `N` messages are in progress:
//! a new one beyond that replaces the one idle the longest, and a live reader drops those idle
//! for [`TIMEOUT_MS`] with [`Reassembler::expire`].

/// The longest fast-packet message: 6 + 31 × 7 bytes.
pub const MAX_LEN: usize = 223;

/// A partial message older than this is dropped by [`Reassembler::expire`], and reported as
/// timed out (rather than interrupted) when a new message from its source replaces it.
pub const TIMEOUT_MS: u64 = 2_000;

/// PGNs sent as fast packets (NMEA 2000 Appendix B, as listed in canboat's PGN database), beside
/// the proprietary ranges 126720 and 130816–131071, which are fast packets by definition.
const FAST: &[u32] = &[
    126208, 126464, 126720, 126983, 126984, 126985, 126986, 126987, 126988, 126996, 126998, 127233, 127237, 127489,
    127490, 127491, 127494, 127495, 127496, 127497, 127498, 127503, 127504, 127506, 127507, 127509, 127510, 127511,
    127512, 127513, 127514, 128275, 128520, 128538, 129029, 129038, 129039, 129040, 129041, 129044, 129045, 129284,
    129285, 129301, 129302, 129538, 129540, 129541, 129542, 129545, 129547, 129549, 129551, 129556, 129792, 129793,
    129794, 129795, 129796, 129797, 129798, 129799, 129800, 129801, 129802, 129803, 129804, 129805, 129806, 129807,
    129808, 129809, 129810, 130052, 130053, 130054, 130060, 130061, 130064, 130065, 130066, 130067, 130068, 130069,
    130070, 130071, 130072, 130073, 130074, 130320, 130321, 130322, 130323, 130324, 130329, 130330, 130561, 130562,
    130563, 130564, 130565, 130566, 130567, 130569, 130570, 130571, 130572, 130573, 130574, 130577, 130578, 130580,
    130581, 130583, 130584, 130586,
];

/// Whether `pgn` travels as fast packets.
pub fn is_fast_packet(pgn: u32) -> bool {
    (130_816..=131_071).contains(&pgn) || FAST.binary_search(&pgn).is_ok()
}

/// Why a message was not assembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FastPacketError {
    /// A frame with fewer bytes than its place needs (8, or the rest of the message).
    ShortFrame {
        /// Its frame index.
        frame: u8,
        /// Its length.
        len: u8,
    },
    /// A first frame announcing more than [`MAX_LEN`] bytes.
    TooLong(u8),
    /// A frame that is not the next one (a frame was lost): the partial message is dropped.
    MissingFrame {
        /// The index expected.
        expected: u8,
        /// The index received.
        got: u8,
    },
    /// A frame of another sequence, or a new first frame, while a message was incomplete.
    Interrupted,
    /// A continuation frame without its first frame.
    Orphan,
    /// No frame for [`TIMEOUT_MS`].
    TimedOut,
    /// More messages in progress at once than there are buffers: the oldest was dropped.
    Overflow,
}

impl core::fmt::Display for FastPacketError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FastPacketError::ShortFrame { frame, len } => write!(f, "fast-packet frame {frame} has only {len} bytes"),
            FastPacketError::TooLong(n) => write!(f, "fast packet of {n} bytes (at most {MAX_LEN})"),
            FastPacketError::MissingFrame { expected, got } => {
                write!(f, "fast-packet frame {expected} missing (frame {got} came)")
            }
            FastPacketError::Interrupted => f.write_str("fast packet interrupted by a new message"),
            FastPacketError::Orphan => f.write_str("fast-packet frame without its first frame"),
            FastPacketError::TimedOut => f.write_str("fast packet incomplete for 2 s"),
            FastPacketError::Overflow => f.write_str("too many fast packets in progress at once"),
        }
    }
}

impl FastPacketError {
    /// A snake_case name, for counters.
    pub fn kind(&self) -> &'static str {
        match self {
            FastPacketError::ShortFrame { .. } => "short_frame",
            FastPacketError::TooLong(_) => "too_long",
            FastPacketError::MissingFrame { .. } => "missing_frame",
            FastPacketError::Interrupted => "interrupted",
            FastPacketError::Orphan => "orphan_frame",
            FastPacketError::TimedOut => "timed_out",
            FastPacketError::Overflow => "overflow",
        }
    }
}

#[derive(Clone)]
struct Slot {
    source: u8,
    pgn: u32,
    sequence: u8,
    next: u8,
    len: u8,
    have: u8,
    last_ms: u64,
    data: [u8; MAX_LEN],
}

/// What one frame did.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome<'a> {
    /// A message given up (because of this frame, or timed out when it came).
    pub dropped: Option<FastPacketError>,
    /// The message this frame completed.
    pub complete: Option<&'a [u8]>,
}

/// Assembles fast-packet messages, at most `N` at once (a bus rarely has more than a dozen in
/// flight; 32 is plenty). No allocation: `N` × 240 bytes.
pub struct Reassembler<const N: usize> {
    slots: [Option<Slot>; N],
    out: [u8; MAX_LEN],
}

impl<const N: usize> Default for Reassembler<N> {
    fn default() -> Self {
        Reassembler { slots: [const { None }; N], out: [0; MAX_LEN] }
    }
}

impl<const N: usize> Reassembler<N> {
    /// A reassembler with no message in progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// Messages in progress.
    pub fn pending(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Drop partial messages older than [`TIMEOUT_MS`] at `now_ms`; how many.
    pub fn expire(&mut self, now_ms: u64) -> usize {
        let mut n = 0;
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|s| now_ms.saturating_sub(s.last_ms) > TIMEOUT_MS) {
                *slot = None;
                n += 1;
            }
        }
        n
    }

    /// Take one frame of a fast-packet PGN from `source`, received at `now_ms`.
    pub fn push(&mut self, source: u8, pgn: u32, frame: &[u8], now_ms: u64) -> Outcome<'_> {
        let mut dropped = None;
        let Some(&first) = frame.first() else {
            return Outcome { dropped: Some(FastPacketError::ShortFrame { frame: 0, len: 0 }), complete: None };
        };
        let (sequence, index) = (first >> 5, first & 0x1F);
        let at = self.slots.iter().position(|s| s.as_ref().is_some_and(|s| s.source == source && s.pgn == pgn));
        if let Some(i) = at {
            let s = self.slots[i].as_ref().expect("found");
            // The next frame of the message continues it however long it took: a capture's
            // clock may jump in the middle of a message (can0-1.pcap's does, by 14 days), and
            // the buffers are bounded by their number, not by time.
            let continues = index != 0 && index == s.next && s.sequence == sequence;
            if !continues {
                let why = if now_ms.saturating_sub(s.last_ms) > TIMEOUT_MS {
                    FastPacketError::TimedOut
                } else if index == 0 || s.sequence != sequence {
                    FastPacketError::Interrupted
                } else {
                    FastPacketError::MissingFrame { expected: s.next, got: index }
                };
                self.slots[i] = None;
                if matches!(why, FastPacketError::MissingFrame { .. }) {
                    return Outcome { dropped: Some(why), complete: None };
                }
                dropped = Some(why);
            }
        }
        if index == 0 {
            if frame.len() < 2 {
                return Outcome {
                    dropped: dropped.or(Some(FastPacketError::ShortFrame { frame: 0, len: frame.len() as u8 })),
                    complete: None,
                };
            }
            let len = frame[1];
            if usize::from(len) > MAX_LEN {
                return Outcome { dropped: dropped.or(Some(FastPacketError::TooLong(len))), complete: None };
            }
            let take = usize::from(len).min(6);
            if frame.len() < 2 + take {
                return Outcome {
                    dropped: dropped.or(Some(FastPacketError::ShortFrame { frame: 0, len: frame.len() as u8 })),
                    complete: None,
                };
            }
            if usize::from(len) <= 6 {
                self.out[..take].copy_from_slice(&frame[2..2 + take]);
                return Outcome { dropped, complete: Some(&self.out[..take]) };
            }
            let mut slot = Slot { source, pgn, sequence, next: 1, len, have: 6, last_ms: now_ms, data: [0; MAX_LEN] };
            slot.data[..6].copy_from_slice(&frame[2..8]);
            let free = match self.slots.iter().position(Option::is_none) {
                Some(i) => i,
                None => {
                    // The message idle the longest makes room.
                    dropped = dropped.or(Some(FastPacketError::Overflow));
                    (0..N).min_by_key(|i| self.slots[*i].as_ref().map_or(0, |s| s.last_ms)).unwrap_or(0)
                }
            };
            if N == 0 {
                return Outcome { dropped: Some(FastPacketError::Overflow), complete: None };
            }
            self.slots[free] = Some(slot);
            return Outcome { dropped, complete: None };
        }
        let Some(i) = at.filter(|i| self.slots[*i].is_some()) else {
            return Outcome { dropped: dropped.or(Some(FastPacketError::Orphan)), complete: None };
        };
        let s = self.slots[i].as_mut().expect("found");
        let want = (usize::from(s.len) - usize::from(s.have)).min(7);
        if frame.len() < 1 + want {
            self.slots[i] = None;
            return Outcome {
                dropped: Some(FastPacketError::ShortFrame { frame: index, len: frame.len() as u8 }),
                complete: None,
            };
        }
        let from = usize::from(s.have);
        s.data[from..from + want].copy_from_slice(&frame[1..1 + want]);
        s.have += want as u8;
        s.next += 1;
        s.last_ms = now_ms;
        if s.have < s.len {
            return Outcome { dropped, complete: None };
        }
        let len = usize::from(s.len);
        self.out[..len].copy_from_slice(&s.data[..len]);
        self.slots[i] = None;
        Outcome { dropped, complete: Some(&self.out[..len]) }
    }
}

/// Split `data` (at most [`MAX_LEN`] bytes) into fast-packet frames with sequence counter
/// `sequence` (0–7), padding the last with `0xFF`; calls `frame` for each.
pub fn split(data: &[u8], sequence: u8, mut frame: impl FnMut([u8; 8])) -> bool {
    if data.len() > MAX_LEN {
        return false;
    }
    let seq = (sequence & 7) << 5;
    let mut first = [0xFF; 8];
    first[0] = seq;
    first[1] = data.len() as u8;
    let head = data.len().min(6);
    first[2..2 + head].copy_from_slice(&data[..head]);
    frame(first);
    for (i, chunk) in data[head..].chunks(7).enumerate() {
        let mut f = [0xFF; 8];
        f[0] = seq | (i as u8 + 1);
        f[1..1 + chunk.len()].copy_from_slice(chunk);
        frame(f);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn frames(data: &[u8], seq: u8) -> Vec<[u8; 8]> {
        let mut out = Vec::new();
        assert!(split(data, seq, |f| out.push(f)));
        out
    }

    #[test]
    fn a_single_frame_fast_packet_completes_at_once() {
        // PGN127507.raw: a 6-byte 127507 in one frame, `a0,06,…`.
        let mut r = Reassembler::<4>::new();
        let o = r.push(129, 127_507, &[0xA0, 0x06, 0x31, 0x01, 0x51, 0x01, 0xFF, 0xFF], 0);
        assert_eq!(o.complete, Some(&[0x31, 0x01, 0x51, 0x01, 0xFF, 0xFF][..]));
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn interleaved_sources_are_assembled_apart() {
        let a: Vec<u8> = (0..40).collect();
        let b: Vec<u8> = (100..120).collect();
        let (fa, fb) = (frames(&a, 3), frames(&b, 7));
        let mut r = Reassembler::<4>::new();
        let mut done = Vec::new();
        for i in 0..fa.len().max(fb.len()) {
            for (src, f) in [(1u8, fa.get(i)), (2, fb.get(i))] {
                if let Some(f) = f {
                    let o = r.push(src, 129_029, f, i as u64);
                    assert_eq!(o.dropped, None);
                    if let Some(m) = o.complete {
                        done.push((src, m.to_vec()));
                    }
                }
            }
        }
        assert_eq!(done, [(2, b.clone()), (1, a.clone())]);
    }

    #[test]
    fn a_lost_frame_drops_the_message_and_the_next_one_comes_through() {
        let data: Vec<u8> = (0..30).collect();
        let f = frames(&data, 1);
        let mut r = Reassembler::<4>::new();
        r.push(5, 129_029, &f[0], 0);
        let o = r.push(5, 129_029, &f[2], 1);
        assert_eq!(o.dropped, Some(FastPacketError::MissingFrame { expected: 1, got: 2 }));
        assert_eq!(r.push(5, 129_029, &f[3], 2).dropped, Some(FastPacketError::Orphan));
        let g = frames(&data, 2);
        let mut last = None;
        for (i, f) in g.iter().enumerate() {
            last = r.push(5, 129_029, f, 10 + i as u64).complete.map(<[u8]>::to_vec);
        }
        assert_eq!(last, Some(data));
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn stale_and_excess_messages_are_dropped_not_kept() {
        let data: Vec<u8> = (0..30).collect();
        let f = frames(&data, 0);
        let mut r = Reassembler::<2>::new();
        r.push(1, 129_029, &f[0], 0);
        r.push(2, 129_029, &f[0], 1);
        assert_eq!(r.push(3, 129_029, &f[0], 2).dropped, Some(FastPacketError::Overflow));
        assert_eq!(r.pending(), 2);
        // The next frame continues its message even after a long gap (a capture's clock jump).
        assert_eq!(r.push(3, 129_029, &f[1], TIMEOUT_MS + 10).dropped, None);
        // A new message from a source whose last one went quiet: that one timed out.
        assert_eq!(r.push(3, 129_029, &f[0], 4 * TIMEOUT_MS).dropped, Some(FastPacketError::TimedOut));
        assert_eq!(r.expire(4 * TIMEOUT_MS), 1);
        assert_eq!(r.pending(), 1);
        assert_eq!(r.expire(10 * TIMEOUT_MS), 1);
        assert_eq!(r.pending(), 0);
        // Short frames and impossible lengths.
        assert_eq!(r.push(1, 129_029, &[0x00], 0).dropped, Some(FastPacketError::ShortFrame { frame: 0, len: 1 }));
        assert_eq!(r.push(1, 129_029, &[0x00, 224, 0, 0, 0, 0, 0, 0], 0).dropped, Some(FastPacketError::TooLong(224)));
        r.push(1, 129_029, &f[0], 0);
        assert_eq!(
            r.push(1, 129_029, &[0x01, 1, 2], 0).dropped,
            Some(FastPacketError::ShortFrame { frame: 1, len: 3 })
        );
    }

    proptest::proptest! {
        /// Whatever frames come, in whatever order: no panic, and the buffers stay bounded.
        #[test]
        fn any_frames_are_taken_without_panic(
            frames in proptest::collection::vec((0u8..4, proptest::collection::vec(proptest::num::u8::ANY, 0..9), 0u64..5000), 0..200)
        ) {
            let mut r = Reassembler::<3>::new();
            for (src, f, t) in frames {
                let o = r.push(src, 129_029, &f, t);
                if let Some(m) = o.complete {
                    proptest::prop_assert!(m.len() <= MAX_LEN);
                }
                proptest::prop_assert!(r.pending() <= 3);
            }
        }

        /// Split and assembled again, any message of any length comes back.
        #[test]
        fn split_then_assembled_is_the_same(data in proptest::collection::vec(proptest::num::u8::ANY, 0..=MAX_LEN), seq in 0u8..8) {
            let mut r = Reassembler::<1>::new();
            let mut got = None;
            for f in frames(&data, seq) {
                if let Some(m) = r.push(9, 130_820, &f, 0).complete {
                    got = Some(m.to_vec());
                }
            }
            proptest::prop_assert_eq!(got, Some(data));
        }
    }
}
