//! Framing of the VE.Direct text protocol (vedirect-3.34.pdf p.2–5, 17; victron.md §4.1).
//!
//! A device sends a block about once a second: fields `\r\n<label>\t<value>`, the last one
//! `Checksum\t<byte>` where the byte makes the sum of every byte of the block ≡ 0 (mod 256).
//! Battery monitors alternate two blocks, each with its own checksum. HEX messages (`:` … `\n`)
//! may interrupt a block; they are not part of its checksum and are reported separately.
//!
//! The framer is a byte-at-a-time state machine with fixed buffers: no allocation, no I/O.
//! As the document advises, fields are only to be used when the block's checksum is valid;
//! every block is reported with its [`BlockStatus`] so that errors can be counted.
//!
//! Synchronisation: a block opens with `\r`; bytes between a checksum byte and the next `\r`
//! (garbage, NULs) and before the first one (the middle of a block, or the previous block's
//! checksum byte) belong to no block and are skipped. If the first block then fails its checksum it is
//! reported as [`BlockStatus::Partial`], not as an error: a reader that starts mid-stream is
//! expected to see one.

use super::hex::{Frame, FrameError, MAX_LINE};

/// Capacity of one block: the document's limits (22 fields, 9-byte labels, 33-byte values)
/// come to about 1000 bytes.
pub const MAX_BLOCK: usize = 1024;

/// Whether a block can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockStatus {
    /// The checksum is valid.
    Valid,
    /// The checksum is wrong: corruption, noise on the line, or an edited capture.
    ChecksumMismatch {
        /// The sum of the block's bytes (0 when valid).
        sum: u8,
    },
    /// The first block after start-up failed its checksum: most likely it began mid-block.
    Partial,
}

/// A complete text block (only its field area; the `Checksum` field is not included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block<'a> {
    text: &'a [u8],
}

/// One `label\tvalue` field of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextField<'a> {
    /// The label as sent (`V`, `PPV`, `SER#` …).
    pub label: &'a str,
    /// The value as sent.
    pub value: &'a str,
}

impl<'a> Block<'a> {
    /// The block's fields in the order sent. Lines that are not `label\tvalue` in UTF-8 are
    /// skipped (they only occur in blocks that failed their checksum).
    pub fn fields(&self) -> impl Iterator<Item = TextField<'a>> + 'a {
        self.text.split(|b| *b == b'\n').filter_map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let tab = line.iter().position(|b| *b == b'\t')?;
            let label = core::str::from_utf8(&line[..tab]).ok()?;
            let value = core::str::from_utf8(&line[tab + 1..]).ok()?;
            (!label.is_empty()).then_some(TextField { label, value })
        })
    }

    /// The raw bytes of the field area.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.text
    }
}

/// What the framer found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A text block ended (with its checksum byte).
    Block {
        /// The fields.
        block: Block<'a>,
        /// Whether the checksum holds.
        status: BlockStatus,
    },
    /// A HEX line, inside or between blocks.
    Hex(Result<Frame, FrameError>),
    /// A block longer than [`MAX_BLOCK`] was dropped (garbage without line structure, or a
    /// device that is not VE.Direct).
    BlockTooLong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between blocks (and at start-up): waiting for the `\r` that opens a block.
    Hunting,
    /// Inside a text block.
    Text,
    /// The next byte is the checksum.
    ChecksumByte,
    /// Inside a HEX line; `resume` is where to go on `\n`.
    Hex { resume: Resume },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resume {
    Hunting,
    Text,
}

/// The text-protocol framer. Feed it bytes with [`TextFramer::push`].
#[derive(Clone)]
pub struct TextFramer {
    state: State,
    block: [u8; MAX_BLOCK],
    len: usize,
    overflowed: bool,
    sum: u8,
    field_start: usize,
    /// The first bytes of the current line, to spot `Checksum\t` even in an overlong block.
    label: [u8; CHECKSUM_LABEL.len()],
    label_len: usize,
    synced: bool,
    line: [u8; MAX_LINE],
    line_len: usize,
}

impl Default for TextFramer {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for TextFramer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TextFramer").field("state", &self.state).field("buffered", &self.len).finish()
    }
}

const CHECKSUM_LABEL: &[u8] = b"Checksum";

impl TextFramer {
    /// A framer that has seen nothing yet.
    pub const fn new() -> Self {
        TextFramer {
            state: State::Hunting,
            block: [0; MAX_BLOCK],
            len: 0,
            overflowed: false,
            sum: 0,
            field_start: 0,
            label: [0; CHECKSUM_LABEL.len()],
            label_len: 0,
            synced: false,
            line: [0; MAX_LINE],
            line_len: 0,
        }
    }

    /// Feed one byte; returns an event when a block or HEX line ends.
    pub fn push(&mut self, b: u8) -> Option<Event<'_>> {
        match self.state {
            State::Hunting => match b {
                b':' => self.start_hex(Resume::Hunting),
                b'\r' => {
                    self.state = State::Text;
                    self.text_byte(b);
                }
                _ => {}
            },
            State::Text => {
                if b == b':' {
                    self.start_hex(Resume::Text);
                } else {
                    self.text_byte(b);
                    if b == b'\t' && self.label_len == CHECKSUM_LABEL.len() && self.label == CHECKSUM_LABEL {
                        self.state = State::ChecksumByte;
                    }
                }
            }
            State::ChecksumByte => return Some(self.end_block(b)),
            State::Hex { resume } => {
                if b == b'\n' {
                    self.state = match resume {
                        Resume::Hunting => State::Hunting,
                        Resume::Text => State::Text,
                    };
                    let result = if self.line_len > MAX_LINE - 1 {
                        Err(FrameError::TooLong)
                    } else {
                        Frame::parse(&self.line[..self.line_len])
                    };
                    return Some(Event::Hex(result));
                }
                if self.line_len < MAX_LINE {
                    self.line[self.line_len] = b;
                }
                self.line_len = self.line_len.saturating_add(1);
            }
        }
        None
    }

    /// Feed many bytes, calling `on_event` for each event.
    pub fn push_all(&mut self, bytes: &[u8], mut on_event: impl FnMut(Event<'_>)) {
        for &b in bytes {
            if let Some(e) = self.push(b) {
                on_event(e);
            }
        }
    }

    fn start_hex(&mut self, resume: Resume) {
        self.line[0] = b':';
        self.line_len = 1;
        self.state = State::Hex { resume };
    }

    fn text_byte(&mut self, b: u8) {
        self.sum = self.sum.wrapping_add(b);
        if self.len < MAX_BLOCK {
            self.block[self.len] = b;
            self.len += 1;
        } else {
            self.overflowed = true;
        }
        if b == b'\n' {
            self.field_start = self.len;
            self.label_len = 0;
        } else if b != b'\t' {
            if let Some(slot) = self.label.get_mut(self.label_len) {
                *slot = b;
            }
            self.label_len = self.label_len.saturating_add(1);
        }
    }

    fn end_block(&mut self, checksum: u8) -> Event<'_> {
        let sum = self.sum.wrapping_add(checksum);
        let first = !self.synced;
        self.synced = true;
        // Bytes after a checksum and before the next block's `\r` belong to no block.
        self.state = State::Hunting;
        self.label_len = 0;
        self.sum = 0;
        let fields_end = self.field_start;
        self.len = 0;
        self.field_start = 0;
        if core::mem::take(&mut self.overflowed) {
            return Event::BlockTooLong;
        }
        let status = match (sum, first) {
            (0, _) => BlockStatus::Valid,
            (_, true) => BlockStatus::Partial,
            (sum, false) => BlockStatus::ChecksumMismatch { sum },
        };
        Event::Block { block: Block { text: &self.block[..fields_end] }, status }
    }
}

/// Encode a text block: `\r\n<label>\t<value>` per field, then `\r\nChecksum\t<byte>`.
/// Returns the length written into `out`, or `None` if it does not fit.
pub fn encode_block(fields: &[(&str, &str)], out: &mut [u8]) -> Option<usize> {
    fn put(out: &mut [u8], at: &mut usize, bytes: &[u8]) -> Option<()> {
        out.get_mut(*at..*at + bytes.len())?.copy_from_slice(bytes);
        *at += bytes.len();
        Some(())
    }
    let mut at = 0;
    for (label, value) in fields.iter().copied().chain(core::iter::once(("Checksum", ""))) {
        put(out, &mut at, b"\r\n")?;
        put(out, &mut at, label.as_bytes())?;
        put(out, &mut at, b"\t")?;
        put(out, &mut at, value.as_bytes())?;
    }
    let sum = out[..at].iter().fold(0u8, |s, b| s.wrapping_add(*b));
    put(out, &mut at, &[0u8.wrapping_sub(sum)])?;
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default)]
    struct Seen {
        valid: usize,
        mismatch: usize,
        partial: usize,
        hex_ok: usize,
        hex_err: usize,
    }

    fn run(bytes: &[u8]) -> Seen {
        let mut f = TextFramer::new();
        let mut s = Seen::default();
        f.push_all(bytes, |e| match e {
            Event::Block { status: BlockStatus::Valid, .. } => s.valid += 1,
            Event::Block { status: BlockStatus::Partial, .. } => s.partial += 1,
            Event::Block { .. } => s.mismatch += 1,
            Event::Hex(Ok(_)) => s.hex_ok += 1,
            Event::Hex(Err(_)) => s.hex_err += 1,
            Event::BlockTooLong => panic!("unexpected"),
        });
        s
    }

    /// koestler/go-victron: a full MPPT block and the HEX reply right after the checksum byte.
    #[test]
    fn block_then_hex() {
        let bytes = b"\r\nPID\t0xA056\r\nFW\t161\r\nSER#\tHQ19499RHC5\r\nV\t11880\r\nI\t0\r\nVPV\t10\r\nPPV\t0\r\nCS\t0\r\nMPPT\t0\r\nOR\t0x00000001\r\nERR\t0\r\nLOAD\tON\r\nH19\t4803\r\nH20\t0\r\nH21\t0\r\nH22\t0\r\nH23\t0\r\nHSDS\t280\r\nChecksum\t):7D0ED00000091\n";
        let mut f = TextFramer::new();
        let mut labels = Vec::new();
        let mut hex = Vec::new();
        f.push_all(bytes, |e| match e {
            Event::Block { block, status } => {
                assert_eq!(status, BlockStatus::Valid);
                labels.extend(block.fields().map(|t| (t.label.to_string(), t.value.to_string())));
            }
            Event::Hex(r) => hex.push(r.unwrap()),
            Event::BlockTooLong => panic!(),
        });
        assert_eq!(labels.len(), 18);
        assert_eq!(labels[0], ("PID".into(), "0xA056".into()));
        assert_eq!(labels[17], ("HSDS".into(), "280".into()));
        assert_eq!(hex.len(), 1);
    }

    /// Okm165/ve_direct: a BMV block interrupted by a truncated HEX fragment. The fragment is
    /// reported as bad HEX and the block, without it, is valid.
    #[test]
    fn hex_fragment_inside_block() {
        let bytes = b"\r\nPID\t0x203\r\nV\t26201\r\nI\t0\r\nP\t0\r\nCE\t0\r\n:A243434\r\nSOC\t1000\r\nTTG\t-1\r\nAlarm\tOFF\r\nRelay\tOFF\r\nAR\t0\r\nBMV\t700\r\nFW\t0307\r\nChecksum\t\xd8";
        let s = run(bytes);
        assert_eq!((s.valid, s.hex_err, s.mismatch, s.partial), (1, 1, 0, 0));
    }

    #[test]
    fn corrupted_block_is_counted_and_the_next_one_decodes() {
        let mut block = [0u8; 256];
        let n = encode_block(&[("V", "12800"), ("I", "-1500")], &mut block).unwrap();
        let mut stream = Vec::new();
        stream.extend_from_slice(&block[..n]);
        let mut bad = block[..n].to_vec();
        bad[5] ^= 0x01;
        stream.extend_from_slice(&bad);
        stream.extend_from_slice(b"\0\0garbage");
        stream.extend_from_slice(&block[..n]);
        stream.extend_from_slice(&block[..n]);
        let s = run(&stream);
        assert_eq!((s.valid, s.mismatch, s.partial), (3, 1, 0));
    }

    #[test]
    fn start_mid_block_is_partial() {
        let mut block = [0u8; 256];
        let n = encode_block(&[("V", "12800"), ("I", "-1500")], &mut block).unwrap();
        let mut stream = block[4..n].to_vec();
        stream.extend_from_slice(&block[..n]);
        let s = run(&stream);
        assert_eq!((s.valid, s.partial, s.mismatch), (1, 1, 0));
    }

    #[test]
    fn checksum_byte_may_be_any_byte() {
        // Every checksum byte value, including ':', '\r', '\n' and '\t', must frame.
        let printable: Vec<u8> = (0x21..0x7F).filter(|b| *b != b':').collect();
        for target in 0..=255u8 {
            let mut out = [0u8; 64];
            let n = printable
                .iter()
                .flat_map(|a| printable.iter().map(move |b| [*a, *b]))
                .find_map(|v| {
                    let v = core::str::from_utf8(&v).unwrap();
                    let n = encode_block(&[("SER#", v), ("X", "1")], &mut out)?;
                    (out[n - 1] == target).then_some(n)
                })
                .or_else(|| {
                    let n = encode_block(&[("SER#", "~~~"), ("X", "1")], &mut out)?;
                    (out[n - 1] == target).then_some(n)
                });
            let Some(n) = n else { continue };
            let mut stream = out[..n].to_vec();
            stream.extend_from_slice(&out[..n]);
            assert_eq!(run(&stream).valid, 2, "checksum byte {target:#x}");
        }
    }

    #[test]
    fn endless_garbage_is_bounded() {
        let mut f = TextFramer::new();
        let mut too_long = 0;
        let mut junk = vec![b'\r'];
        junk.extend(std::iter::repeat_n(b'x', 5000));
        junk.extend_from_slice(b"\r\nChecksum\t\x00");
        f.push_all(&junk, |e| {
            if e == Event::BlockTooLong {
                too_long += 1
            }
        });
        assert_eq!(too_long, 1);
    }
}
