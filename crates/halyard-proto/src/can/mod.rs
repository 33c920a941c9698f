//! CAN frames and the framings they arrive in: capture files, can-utils logs, serial adapters and
//! CAN-to-Ethernet gateways.
//!
//! MasterBus is CAN 2.0B at 250 kbit/s (masterbus.md §1). The transports people own hand those
//! frames over in different wrappings; each wrapping is a small codec here, with no I/O, so the
//! daemon's sources, the replay tools and the ESP32 firmware share them:
//!
//! * [`capture`] — pcapng and classic pcap files, link types 113 (Linux cooked, as in the public
//!   MasterBus captures), 227 (SocketCAN) and 276 (Linux cooked v2) (masterbus.md §8).
//! * [`candump`] — can-utils `candump -l` log lines.
//! * [`slcan`] — the Lawicel ASCII protocol of CANable / USBtin style USB adapters.
//! * [`ecan`] — the 13-byte frame of Ebyte ECAN-E01 / E810-DTU CAN-Ethernet gateways (masterbus.md §9).
//!
//! All of them produce a [`Received`]: a data frame or a controller error frame. Error frames are
//! reported, never decoded as data (the captures hold 21 of them, masterbus.md §11.2).

pub mod candump;
pub mod capture;
pub mod ecan;
pub mod slcan;

/// SocketCAN's flag for a 29-bit identifier (`CAN_EFF_FLAG`, bit 31 of `can_id`).
pub const EFF_FLAG: u32 = 0x8000_0000;
/// SocketCAN's flag for a remote-transmission request (`CAN_RTR_FLAG`).
pub const RTR_FLAG: u32 = 0x4000_0000;
/// SocketCAN's flag for an error frame (`CAN_ERR_FLAG`).
pub const ERR_FLAG: u32 = 0x2000_0000;
/// The largest 29-bit identifier.
pub const MAX_EXTENDED_ID: u32 = 0x1FFF_FFFF;
/// The largest 11-bit identifier.
pub const MAX_STANDARD_ID: u32 = 0x7FF;

/// A CAN identifier: 11-bit (CAN 2.0A) or 29-bit (CAN 2.0B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Id {
    /// An 11-bit identifier.
    Standard(u16),
    /// A 29-bit identifier. MasterBus uses only these.
    Extended(u32),
}

impl Id {
    /// The identifier's numeric value, without flags.
    pub const fn raw(self) -> u32 {
        match self {
            Id::Standard(id) => id as u32,
            Id::Extended(id) => id,
        }
    }
}

/// A classic CAN data (or remote) frame: up to 8 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Frame {
    id: Id,
    remote: bool,
    len: u8,
    data: [u8; 8],
}

impl Frame {
    /// A data frame. `None` when the id is out of range for its kind or there are more than 8 bytes.
    pub fn new(id: Id, data: &[u8]) -> Option<Self> {
        let in_range = match id {
            Id::Standard(id) => u32::from(id) <= MAX_STANDARD_ID,
            Id::Extended(id) => id <= MAX_EXTENDED_ID,
        };
        if !in_range || data.len() > 8 {
            return None;
        }
        let mut bytes = [0u8; 8];
        bytes[..data.len()].copy_from_slice(data);
        Some(Frame { id, remote: false, len: data.len() as u8, data: bytes })
    }

    /// A remote-transmission request with the given DLC (no data bytes travel with it).
    pub fn remote(id: Id, dlc: u8) -> Option<Self> {
        let mut frame = Frame::new(id, &[])?;
        if dlc > 8 {
            return None;
        }
        frame.remote = true;
        frame.len = dlc;
        Some(frame)
    }

    /// The identifier.
    pub const fn id(&self) -> Id {
        self.id
    }

    /// Whether this is a remote-transmission request.
    pub const fn is_remote(&self) -> bool {
        self.remote
    }

    /// The data length code (0..=8).
    pub const fn dlc(&self) -> u8 {
        self.len
    }

    /// The data bytes (empty for a remote frame).
    pub fn data(&self) -> &[u8] {
        if self.remote {
            &[]
        } else {
            &self.data[..usize::from(self.len)]
        }
    }

    /// The SocketCAN `can_id` word: the id with `CAN_EFF_FLAG`/`CAN_RTR_FLAG` set as needed.
    pub const fn socketcan_id(&self) -> u32 {
        let (id, eff) = match self.id {
            Id::Standard(id) => (id as u32, 0),
            Id::Extended(id) => (id, EFF_FLAG),
        };
        id | eff | if self.remote { RTR_FLAG } else { 0 }
    }
}

impl core::fmt::Debug for Frame {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.id {
            Id::Standard(id) => write!(f, "{id:03X}")?,
            Id::Extended(id) => write!(f, "{id:08X}")?,
        }
        if self.remote {
            return write!(f, "#R{}", self.len);
        }
        f.write_str("#")?;
        for b in self.data() {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// A SocketCAN error frame (`CAN_ERR_FLAG`): the controller reporting bus trouble, not data.
///
/// The class bits say what happened (linux/can/error.h): `0x04` is `CAN_ERR_CRTL`, a controller
/// problem whose detail is in `data[1]` (`0x04` RX warning, `0x10` RX passive, `0x40` back to
/// error-active). The MasterBus captures hold only `CAN_ERR_CRTL` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorFrame {
    /// The error class bits (`can_id` without `CAN_ERR_FLAG`).
    pub class: u32,
    /// The eight detail bytes.
    pub data: [u8; 8],
}

impl ErrorFrame {
    /// `CAN_ERR_CRTL`: controller state problems; the detail is in `data[1]`.
    pub const CONTROLLER: u32 = 0x04;

    /// A short name for the controller state carried in `data[1]`, when this is `CAN_ERR_CRTL`.
    pub fn controller_state(&self) -> Option<&'static str> {
        if self.class & Self::CONTROLLER == 0 {
            return None;
        }
        Some(match self.data[1] {
            0x01 => "rx overflow",
            0x02 => "tx overflow",
            0x04 => "rx warning",
            0x08 => "tx warning",
            0x10 => "rx passive",
            0x20 => "tx passive",
            0x40 => "back to error active",
            _ => "controller problem",
        })
    }
}

/// What a CAN interface delivers: a frame, or an error report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Received {
    /// A data or remote frame.
    Frame(Frame),
    /// A controller error report.
    Error(ErrorFrame),
}

/// Why bytes could not be turned into a CAN frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The length field is above 8 (CAN FD frames are not supported).
    BadLength(u8),
    /// An 11-bit frame's id has bits above bit 10 set.
    BadStandardId(u32),
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrameError::BadLength(n) => write!(f, "CAN length {n} is above 8"),
            FrameError::BadStandardId(id) => write!(f, "11-bit CAN id 0x{id:X} out of range"),
        }
    }
}

/// Build a [`Received`] from a SocketCAN `struct can_frame`'s parts: the `can_id` word with its
/// flag bits, the length byte and the data area.
pub fn from_socketcan(can_id: u32, len: u8, data: &[u8; 8]) -> Result<Received, FrameError> {
    if can_id & ERR_FLAG != 0 {
        return Ok(Received::Error(ErrorFrame { class: can_id & MAX_EXTENDED_ID & !ERR_FLAG, data: *data }));
    }
    if len > 8 {
        return Err(FrameError::BadLength(len));
    }
    let id = if can_id & EFF_FLAG != 0 {
        Id::Extended(can_id & MAX_EXTENDED_ID)
    } else {
        let id = can_id & MAX_EXTENDED_ID;
        if id > MAX_STANDARD_ID {
            return Err(FrameError::BadStandardId(id));
        }
        Id::Standard(id as u16)
    };
    let frame = if can_id & RTR_FLAG != 0 { Frame::remote(id, len) } else { Frame::new(id, &data[..usize::from(len)]) };
    // `id` and `len` were range-checked above, so the constructors cannot refuse them.
    frame.map(Received::Frame).ok_or(FrameError::BadLength(len))
}

/// Whether a `can_id` word read in some byte order looks like something SocketCAN would deliver:
/// an error frame without the EFF flag, a 29-bit frame, or an 11-bit frame with no stray bits.
/// Used to settle the byte order of captures that store it in the capturing host's order.
pub(crate) const fn plausible_socketcan_id(can_id: u32) -> bool {
    if can_id & ERR_FLAG != 0 {
        can_id & EFF_FLAG == 0
    } else if can_id & EFF_FLAG != 0 {
        true
    } else {
        can_id & !RTR_FLAG <= MAX_STANDARD_ID
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socketcan_words_become_frames_and_errors() {
        let data = [1, 2, 3, 4, 5, 6, 7, 8];
        let Ok(Received::Frame(f)) = from_socketcan(0x8550_840A, 0, &data) else { panic!() };
        assert_eq!(f.id(), Id::Extended(0x0550_840A));
        assert!(f.data().is_empty());
        assert_eq!(f.socketcan_id(), 0x8550_840A);
        let Ok(Received::Error(e)) = from_socketcan(0x2000_0004, 8, &[0, 0x10, 0, 0, 0, 0, 0, 0]) else { panic!() };
        assert_eq!(e.class, 4);
        assert_eq!(e.controller_state(), Some("rx passive"));
        assert_eq!(from_socketcan(0x800, 0, &data), Err(FrameError::BadStandardId(0x800)));
        assert_eq!(from_socketcan(0x8000_0001, 9, &data), Err(FrameError::BadLength(9)));
        let Ok(Received::Frame(r)) = from_socketcan(0x4000_0123, 2, &data) else { panic!() };
        assert!(r.is_remote());
        assert_eq!((r.dlc(), r.data().len()), (2, 0));
    }

    #[test]
    fn byte_order_plausibility_separates_le_from_be_words() {
        // 0x8550840A stored little-endian, read both ways (masterbus.md §8).
        let bytes = [0x0a, 0x84, 0x50, 0x85];
        assert!(plausible_socketcan_id(u32::from_le_bytes(bytes)));
        assert!(!plausible_socketcan_id(u32::from_be_bytes(bytes)));
        let err = [0x04, 0x00, 0x00, 0x20];
        assert!(plausible_socketcan_id(u32::from_le_bytes(err)));
        assert!(!plausible_socketcan_id(u32::from_be_bytes(err)));
    }
}
