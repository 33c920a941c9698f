//! pcapng and classic pcap files holding CAN frames.
//!
//! The public MasterBus captures are pcapng despite their `.pcap` names (masterbus.md §8): one
//! section header, one interface with link type 113 (Linux cooked capture) and nanosecond
//! timestamps, enhanced packet blocks of 32 bytes each. Three link types carry SocketCAN frames:
//!
//! | link type | header | `can_id` byte order |
//! |---|---|---|
//! | 227 `CAN_SOCKETCAN` | none | big-endian (by definition) |
//! | 113 `LINUX_SLL` | 16 bytes, protocol `0x000C` at 14 | the capturing host's (little-endian in the captures) |
//! | 276 `LINUX_SLL2` | 20 bytes, protocol at 0 | the capturing host's, or big-endian when libpcap fixed it up |
//!
//! For the two cooked types the byte order is settled per frame: a `can_id` is read little-endian
//! unless only the big-endian reading is a word SocketCAN could produce (see
//! `plausible_socketcan_id`). Read big-endian, the captures' ids would make no sense (EFF set on
//! only some frames); read little-endian, every non-error frame is extended, as tshark shows.
//!
//! The reader walks a byte slice: it never allocates and never panics on malformed input. A block
//! whose length is impossible ends the walk with an error (framing is lost); a packet it cannot
//! use (unknown link type, bad CAN payload) is reported and the walk goes on.

use super::{from_socketcan, plausible_socketcan_id, FrameError, Received};

/// Link type 113: Linux cooked capture v1.
pub const LINKTYPE_LINUX_SLL: u16 = 113;
/// Link type 227: SocketCAN `struct can_frame` with a big-endian id.
pub const LINKTYPE_CAN_SOCKETCAN: u16 = 227;
/// Link type 276: Linux cooked capture v2.
pub const LINKTYPE_LINUX_SLL2: u16 = 276;

/// How many pcapng interfaces one section may declare before the rest are refused.
pub const MAX_INTERFACES: usize = 8;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const OBSOLETE_PACKET: u32 = 0x0000_0002;
const SPB: u32 = 0x0000_0003;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const ETH_P_CAN: u16 = 0x000C;
const ETH_P_CANFD: u16 = 0x000D;

/// The container format of a capture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// pcapng (what Wireshark and `tshark -w` write).
    Pcapng,
    /// Classic libpcap format, microsecond or nanosecond timestamps.
    Pcap,
}

/// One CAN frame (or error frame) from a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet {
    /// Capture time in nanoseconds since the Unix epoch; `None` for pcapng simple packet blocks,
    /// which carry no time.
    pub timestamp_ns: Option<u64>,
    /// The link type of the interface it was captured on.
    pub link_type: u16,
    /// The frame.
    pub received: Received,
}

/// What went wrong at a byte offset of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureError {
    /// The file starts with neither a pcapng section header nor a pcap magic number.
    NotACapture,
    /// The file ends inside a block or record (a capture cut short, e.g. by a power cut).
    Truncated {
        /// Offset of the incomplete block.
        offset: usize,
    },
    /// A block length that cannot be right (too small, not a multiple of 4, trailer mismatch).
    BadBlock {
        /// Offset of the block.
        offset: usize,
    },
    /// A packet refers to an interface that was not declared (or beyond [`MAX_INTERFACES`]).
    UnknownInterface {
        /// Offset of the packet block.
        offset: usize,
        /// The interface number it names.
        interface: u32,
    },
    /// A packet on an interface whose link type is not one that carries CAN.
    UnsupportedLinkType {
        /// Offset of the packet.
        offset: usize,
        /// The link type.
        link_type: u16,
    },
    /// A packet too short for its link type's header and CAN frame.
    ShortPacket {
        /// Offset of the packet.
        offset: usize,
        /// Its captured length.
        len: usize,
    },
    /// A cooked-capture packet whose protocol is not CAN (e.g. an IP packet on another interface).
    NotCan {
        /// Offset of the packet.
        offset: usize,
        /// The protocol number in the cooked header.
        protocol: u16,
    },
    /// The CAN frame itself is invalid (length above 8, bad id).
    BadFrame {
        /// Offset of the packet.
        offset: usize,
        /// What is wrong with it.
        error: FrameError,
    },
}

impl CaptureError {
    /// Whether the reader can go on after this error (it concerns one packet, not the framing).
    pub const fn is_recoverable(&self) -> bool {
        !matches!(self, CaptureError::NotACapture | CaptureError::Truncated { .. } | CaptureError::BadBlock { .. })
    }

    /// The same error with its offset moved by `by` bytes: a reader that walks a window of a
    /// stream reports offsets in the window, its caller in the file.
    #[must_use]
    pub const fn shifted(self, by: usize) -> Self {
        match self {
            CaptureError::NotACapture => CaptureError::NotACapture,
            CaptureError::Truncated { offset } => CaptureError::Truncated { offset: offset + by },
            CaptureError::BadBlock { offset } => CaptureError::BadBlock { offset: offset + by },
            CaptureError::UnknownInterface { offset, interface } => {
                CaptureError::UnknownInterface { offset: offset + by, interface }
            }
            CaptureError::UnsupportedLinkType { offset, link_type } => {
                CaptureError::UnsupportedLinkType { offset: offset + by, link_type }
            }
            CaptureError::ShortPacket { offset, len } => CaptureError::ShortPacket { offset: offset + by, len },
            CaptureError::NotCan { offset, protocol } => CaptureError::NotCan { offset: offset + by, protocol },
            CaptureError::BadFrame { offset, error } => CaptureError::BadFrame { offset: offset + by, error },
        }
    }
}

impl core::fmt::Display for CaptureError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            CaptureError::NotACapture => f.write_str("not a pcapng or pcap file"),
            CaptureError::Truncated { offset } => write!(f, "file ends inside the block at byte {offset}"),
            CaptureError::BadBlock { offset } => write!(f, "impossible block length at byte {offset}"),
            CaptureError::UnknownInterface { offset, interface } => {
                write!(f, "packet at byte {offset} names undeclared interface {interface}")
            }
            CaptureError::UnsupportedLinkType { offset, link_type } => {
                write!(f, "packet at byte {offset} has link type {link_type}, which does not carry CAN")
            }
            CaptureError::ShortPacket { offset, len } => write!(f, "packet at byte {offset} is only {len} bytes"),
            CaptureError::NotCan { offset, protocol } => {
                write!(f, "packet at byte {offset} carries protocol 0x{protocol:04X}, not CAN")
            }
            CaptureError::BadFrame { offset, error } => write!(f, "packet at byte {offset}: {error}"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: u16,
    /// Timestamp unit: `Decimal(n)` is 10^-n s, `Binary(n)` is 2^-n s.
    resolution: Resolution,
    offset_s: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolution {
    Decimal(u8),
    Binary(u8),
}

impl Resolution {
    fn to_ns(self, ticks: u64) -> u64 {
        let ns = match self {
            Resolution::Decimal(n) if n <= 9 => u128::from(ticks) * 10u128.pow(u32::from(9 - n)),
            Resolution::Decimal(n) => u128::from(ticks) / 10u128.pow(u32::from(n.min(38) - 9)),
            Resolution::Binary(n) => (u128::from(ticks) * 1_000_000_000) >> n.min(127),
        };
        u64::try_from(ns).unwrap_or(u64::MAX)
    }
}

/// What a [`Capture`] has learned between blocks (format, byte order, interfaces), so that a
/// stream can be read a window at a time: [`Capture::resume_point`] after a packet, then
/// [`Capture::resume`] over the next window starting at that point. A window that ends inside a
/// block gives [`CaptureError::Truncated`] at the block's start; the caller reads more and resumes.
#[derive(Debug, Clone, Copy)]
pub struct Resume {
    format: Format,
    big_endian: bool,
    interfaces: [Option<Interface>; MAX_INTERFACES],
}

/// A reader over a capture in memory (a whole file, or a window of a stream); iterate it for
/// [`Packet`]s.
#[derive(Debug, Clone)]
pub struct Capture<'a> {
    bytes: &'a [u8],
    pos: usize,
    format: Format,
    big_endian: bool,
    interfaces: [Option<Interface>; MAX_INTERFACES],
    done: bool,
}

impl<'a> Capture<'a> {
    /// Recognise the file's format from its first bytes.
    pub fn new(bytes: &'a [u8]) -> Result<Self, CaptureError> {
        let mut capture = Capture {
            bytes,
            pos: 0,
            format: Format::Pcapng,
            big_endian: false,
            interfaces: [None; MAX_INTERFACES],
            done: false,
        };
        let magic = bytes.get(..4).ok_or(CaptureError::NotACapture)?;
        let magic = [magic[0], magic[1], magic[2], magic[3]];
        if u32::from_le_bytes(magic) == SHB {
            // The section header is parsed by the first call to `next`.
            return Ok(capture);
        }
        let (big_endian, resolution) = match (u32::from_le_bytes(magic), u32::from_be_bytes(magic)) {
            (0xA1B2_C3D4, _) => (false, Resolution::Decimal(6)),
            (0xA1B2_3C4D, _) => (false, Resolution::Decimal(9)),
            (_, 0xA1B2_C3D4) => (true, Resolution::Decimal(6)),
            (_, 0xA1B2_3C4D) => (true, Resolution::Decimal(9)),
            _ => return Err(CaptureError::NotACapture),
        };
        capture.format = Format::Pcap;
        capture.big_endian = big_endian;
        if bytes.len() < 24 {
            return Err(CaptureError::Truncated { offset: 0 });
        }
        // The upper bits of the link-type word hold FCS information; the type is the low 16.
        let link_type = capture.u32_at(20) as u16;
        capture.interfaces[0] = Some(Interface { link_type, resolution, offset_s: 0 });
        capture.pos = 24;
        Ok(capture)
    }

    /// How far the reader has gone in its bytes, and what it needs to go on over other bytes
    /// that start there.
    pub const fn resume_point(&self) -> (usize, Resume) {
        (self.pos, Resume { format: self.format, big_endian: self.big_endian, interfaces: self.interfaces })
    }

    /// Go on reading `bytes`, which start where a reader's [`Capture::resume_point`] was.
    pub const fn resume(bytes: &'a [u8], state: Resume) -> Self {
        Capture {
            bytes,
            pos: 0,
            format: state.format,
            big_endian: state.big_endian,
            interfaces: state.interfaces,
            done: false,
        }
    }

    /// The container format.
    pub const fn format(&self) -> Format {
        self.format
    }

    /// The link type of the first interface, once its description has been read.
    pub fn link_type(&self) -> Option<u16> {
        self.interfaces[0].map(|i| i.link_type)
    }

    fn u16_at(&self, at: usize) -> u16 {
        let b = [self.bytes[at], self.bytes[at + 1]];
        if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    fn u32_at(&self, at: usize) -> u32 {
        let b = [self.bytes[at], self.bytes[at + 1], self.bytes[at + 2], self.bytes[at + 3]];
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    fn fail(&mut self, error: CaptureError) -> Option<Result<Packet, CaptureError>> {
        self.done = true;
        Some(Err(error))
    }

    fn next_pcap(&mut self) -> Option<Result<Packet, CaptureError>> {
        let offset = self.pos;
        if offset == self.bytes.len() {
            return None;
        }
        if self.bytes.len() - offset < 16 {
            return self.fail(CaptureError::Truncated { offset });
        }
        let seconds = u64::from(self.u32_at(offset));
        let fraction = u64::from(self.u32_at(offset + 4));
        let caplen = self.u32_at(offset + 8) as usize;
        let start = offset + 16;
        if caplen > self.bytes.len() - start {
            return self.fail(CaptureError::Truncated { offset });
        }
        self.pos = start + caplen;
        let interface = self.interfaces[0]?;
        let ns = seconds * 1_000_000_000 + interface.resolution.to_ns(fraction);
        Some(packet(&self.bytes[start..start + caplen], offset, interface.link_type, Some(ns)))
    }

    fn next_pcapng(&mut self) -> Option<Result<Packet, CaptureError>> {
        loop {
            let offset = self.pos;
            if offset == self.bytes.len() {
                return None;
            }
            if self.bytes.len() - offset < 12 {
                return self.fail(CaptureError::Truncated { offset });
            }
            let block_type = u32::from_le_bytes([
                self.bytes[offset],
                self.bytes[offset + 1],
                self.bytes[offset + 2],
                self.bytes[offset + 3],
            ]);
            if block_type == SHB {
                // A new section: its byte-order magic decides how everything after it reads.
                let magic =
                    [self.bytes[offset + 8], self.bytes[offset + 9], self.bytes[offset + 10], self.bytes[offset + 11]];
                self.big_endian = match (u32::from_le_bytes(magic), u32::from_be_bytes(magic)) {
                    (BYTE_ORDER_MAGIC, _) => false,
                    (_, BYTE_ORDER_MAGIC) => true,
                    _ => return self.fail(CaptureError::BadBlock { offset }),
                };
                self.interfaces = [None; MAX_INTERFACES];
            }
            let len = self.u32_at(offset + 4) as usize;
            if len < 12 || !len.is_multiple_of(4) {
                return self.fail(CaptureError::BadBlock { offset });
            }
            if len > self.bytes.len() - offset {
                return self.fail(CaptureError::Truncated { offset });
            }
            if self.u32_at(offset + len - 4) as usize != len {
                return self.fail(CaptureError::BadBlock { offset });
            }
            self.pos = offset + len;
            let body = offset + 8..offset + len - 4;
            match self.u32_at(offset) {
                IDB => self.add_interface(body),
                EPB | OBSOLETE_PACKET => return Some(self.enhanced_packet(offset, body)),
                SPB => {
                    let Some(interface) = self.interfaces[0] else {
                        return Some(Err(CaptureError::UnknownInterface { offset, interface: 0 }));
                    };
                    let data = &self.bytes[body.start + 4.min(body.len())..body.end];
                    let caplen = (self.u32_at(body.start) as usize).min(data.len());
                    return Some(packet(&data[..caplen], offset, interface.link_type, None));
                }
                // Section headers, statistics, name resolution and custom blocks carry no frames.
                _ => {}
            }
        }
    }

    fn add_interface(&mut self, body: core::ops::Range<usize>) {
        if body.len() < 8 {
            return;
        }
        let mut interface =
            Interface { link_type: self.u16_at(body.start), resolution: Resolution::Decimal(6), offset_s: 0 };
        let mut at = body.start + 8;
        while at + 4 <= body.end {
            let code = self.u16_at(at);
            let len = usize::from(self.u16_at(at + 2));
            let value = at + 4;
            if code == 0 || value + len > body.end {
                break;
            }
            match (code, len) {
                (9, 1) => {
                    let v = self.bytes[value];
                    interface.resolution =
                        if v & 0x80 == 0 { Resolution::Decimal(v) } else { Resolution::Binary(v & 0x7F) };
                }
                (14, 8) => {
                    let lo = u64::from(self.u32_at(value));
                    let hi = u64::from(self.u32_at(value + 4));
                    interface.offset_s = if self.big_endian { (lo << 32 | hi) as i64 } else { (hi << 32 | lo) as i64 };
                }
                _ => {}
            }
            at = value + len.div_ceil(4) * 4;
        }
        if let Some(slot) = self.interfaces.iter_mut().find(|slot| slot.is_none()) {
            *slot = Some(interface);
        }
    }

    fn enhanced_packet(&self, offset: usize, body: core::ops::Range<usize>) -> Result<Packet, CaptureError> {
        if body.len() < 20 {
            return Err(CaptureError::BadBlock { offset });
        }
        let id = self.u32_at(body.start);
        let interface = usize::try_from(id)
            .ok()
            .and_then(|i| self.interfaces.get(i).copied().flatten())
            .ok_or(CaptureError::UnknownInterface { offset, interface: id })?;
        let ticks = u64::from(self.u32_at(body.start + 4)) << 32 | u64::from(self.u32_at(body.start + 8));
        let caplen = self.u32_at(body.start + 12) as usize;
        let data = body.start + 20;
        if caplen > body.end - data {
            return Err(CaptureError::BadBlock { offset });
        }
        let ns = interface.resolution.to_ns(ticks);
        let ns = if interface.offset_s >= 0 {
            ns.saturating_add((interface.offset_s as u64).saturating_mul(1_000_000_000))
        } else {
            ns.saturating_sub(interface.offset_s.unsigned_abs().saturating_mul(1_000_000_000))
        };
        packet(&self.bytes[data..data + caplen], offset, interface.link_type, Some(ns))
    }
}

/// Interpret one captured packet of the given link type as a CAN frame.
fn packet(data: &[u8], offset: usize, link_type: u16, timestamp_ns: Option<u64>) -> Result<Packet, CaptureError> {
    let (frame, host_order) = match link_type {
        LINKTYPE_CAN_SOCKETCAN => (data, false),
        LINKTYPE_LINUX_SLL | LINKTYPE_LINUX_SLL2 => {
            let (header, protocol_at) = if link_type == LINKTYPE_LINUX_SLL { (16, 14) } else { (20, 0) };
            if data.len() < header {
                return Err(CaptureError::ShortPacket { offset, len: data.len() });
            }
            let protocol = u16::from_be_bytes([data[protocol_at], data[protocol_at + 1]]);
            if protocol != ETH_P_CAN && protocol != ETH_P_CANFD {
                return Err(CaptureError::NotCan { offset, protocol });
            }
            (&data[header..], true)
        }
        _ => return Err(CaptureError::UnsupportedLinkType { offset, link_type }),
    };
    // `struct can_frame`: id (4), len (1), three pad/reserved bytes, data (up to 8).
    if frame.len() < 8 {
        return Err(CaptureError::ShortPacket { offset, len: data.len() });
    }
    let word = [frame[0], frame[1], frame[2], frame[3]];
    let can_id = if !host_order {
        u32::from_be_bytes(word)
    } else {
        let le = u32::from_le_bytes(word);
        let be = u32::from_be_bytes(word);
        if !plausible_socketcan_id(le) && plausible_socketcan_id(be) {
            be
        } else {
            le
        }
    };
    let len = frame[4];
    let mut bytes = [0u8; 8];
    let available = &frame[8..frame.len().min(16)];
    bytes[..available.len()].copy_from_slice(available);
    if usize::from(len) > available.len() && len <= 8 && can_id & super::RTR_FLAG == 0 && can_id & super::ERR_FLAG == 0
    {
        return Err(CaptureError::ShortPacket { offset, len: data.len() });
    }
    let received = from_socketcan(can_id, len, &bytes).map_err(|error| CaptureError::BadFrame { offset, error })?;
    Ok(Packet { timestamp_ns, link_type, received })
}

impl Iterator for Capture<'_> {
    type Item = Result<Packet, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.format {
            Format::Pcapng => self.next_pcapng(),
            Format::Pcap => self.next_pcap(),
        }
    }
}

/// Writers for the tests, the simulator and `halyard` tools that save what they heard.
pub mod write {
    use super::*;

    /// The pcapng section header and one interface description (nanosecond timestamps) for
    /// `link_type`, written to `out`. Returns the bytes written, or `None` if `out` is too small.
    pub fn pcapng_header(link_type: u16, out: &mut [u8]) -> Option<usize> {
        let mut w = Writer { out, at: 0 };
        // Section header: type, length 28, byte-order magic, version 1.0, section length -1.
        w.u32(SHB)?;
        w.u32(28)?;
        w.u32(BYTE_ORDER_MAGIC)?;
        w.u16(1)?;
        w.u16(0)?;
        w.u32(u32::MAX)?;
        w.u32(u32::MAX)?;
        w.u32(28)?;
        // Interface description: link type, snaplen, if_tsresol = 9, end of options.
        w.u32(IDB)?;
        w.u32(32)?;
        w.u16(link_type)?;
        w.u16(0)?;
        w.u32(0)?;
        w.u16(9)?;
        w.u16(1)?;
        w.u32(9)?;
        w.u32(0)?;
        w.u32(32)?;
        Some(w.at)
    }

    /// One enhanced packet block holding `frame` as link type 227 (big-endian `can_id`) or 113
    /// (cooked header, little-endian `can_id`), as chosen in [`pcapng_header`].
    pub fn pcapng_packet(link_type: u16, timestamp_ns: u64, received: &Received, out: &mut [u8]) -> Option<usize> {
        let (can_id, len, data) = match received {
            Received::Frame(f) => {
                let mut d = [0u8; 8];
                d[..f.data().len()].copy_from_slice(f.data());
                (f.socketcan_id(), f.dlc(), d)
            }
            Received::Error(e) => (e.class | super::super::ERR_FLAG, 8, e.data),
        };
        let cooked = link_type == LINKTYPE_LINUX_SLL;
        let caplen: u32 = if cooked { 32 } else { 16 };
        let mut w = Writer { out, at: 0 };
        w.u32(EPB)?;
        w.u32(32 + caplen)?;
        w.u32(0)?;
        w.u32((timestamp_ns >> 32) as u32)?;
        w.u32(timestamp_ns as u32)?;
        w.u32(caplen)?;
        w.u32(caplen)?;
        if cooked {
            w.bytes(&[0, 1, 0x01, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0C])?;
            w.bytes(&can_id.to_le_bytes())?;
        } else {
            w.bytes(&can_id.to_be_bytes())?;
        }
        w.bytes(&[len, 0, 0, 0])?;
        w.bytes(&data)?;
        w.u32(32 + caplen)?;
        Some(w.at)
    }

    struct Writer<'o> {
        out: &'o mut [u8],
        at: usize,
    }

    impl Writer<'_> {
        fn bytes(&mut self, b: &[u8]) -> Option<()> {
            self.out.get_mut(self.at..self.at + b.len())?.copy_from_slice(b);
            self.at += b.len();
            Some(())
        }
        fn u16(&mut self, v: u16) -> Option<()> {
            self.bytes(&v.to_le_bytes())
        }
        fn u32(&mut self, v: u32) -> Option<()> {
            self.bytes(&v.to_le_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Frame, Id};
    use super::*;

    fn file(link_type: u16, frames: &[(u64, Received)]) -> ([u8; 1024], usize) {
        let mut out = [0u8; 1024];
        let mut n = write::pcapng_header(link_type, &mut out).unwrap();
        for (ts, r) in frames {
            n += write::pcapng_packet(link_type, *ts, r, &mut out[n..]).unwrap();
        }
        (out, n)
    }

    #[test]
    fn written_files_read_back_for_both_link_types() {
        let f = Received::Frame(Frame::new(Id::Extended(0x086F_1297), &[1, 0, 0xad, 0x1c, 0x4a, 0x41]).unwrap());
        for lt in [LINKTYPE_LINUX_SLL, LINKTYPE_CAN_SOCKETCAN] {
            let (bytes, n) = file(lt, &[(1_642_604_267_705_626_000, f)]);
            let packets: Vec<_> = Capture::new(&bytes[..n]).unwrap().collect();
            assert_eq!(
                packets,
                [Ok(Packet { timestamp_ns: Some(1_642_604_267_705_626_000), link_type: lt, received: f })]
            );
        }
    }

    #[test]
    fn truncation_is_an_error_that_ends_the_walk() {
        let f = Received::Frame(Frame::new(Id::Extended(0x0550_840A), &[]).unwrap());
        let (bytes, n) = file(LINKTYPE_LINUX_SLL, &[(1, f), (2, f)]);
        let items: Vec<_> = Capture::new(&bytes[..n - 10]).unwrap().collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert!(matches!(items[1], Err(CaptureError::Truncated { .. })));
        assert_eq!(Capture::new(b"hello").err(), Some(CaptureError::NotACapture));
    }

    #[test]
    fn resolutions_convert_to_nanoseconds() {
        assert_eq!(Resolution::Decimal(6).to_ns(1_500_000), 1_500_000_000);
        assert_eq!(Resolution::Decimal(9).to_ns(7), 7);
        assert_eq!(Resolution::Decimal(12).to_ns(7_000), 7);
        assert_eq!(Resolution::Binary(10).to_ns(1024), 1_000_000_000);
    }
}
