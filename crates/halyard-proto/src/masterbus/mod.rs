//! Mastervolt MasterBus: CAN 2.0B at 250 kbit/s with 29-bit ids (facts: masterbus.md).
//!
//! * [`id`] — the identifier: class, shadow bit, type code, instance, address; and the
//!   `kind`/`device` view of monitorPowerToMQTT.
//! * [`message`] — every frame kind seen on a real bus, classified.
//! * [`calendar`] — dates, times of day and durations carried as f32.
//! * [`viz`] — field-metadata ops and visualisation types.
//! * [`catalog`] — built-in item tables, the fallback before a device has described itself.
//! * `bus` (with `alloc`) — the passive listener that learns devices, names and units from the
//!   traffic.
//! * `client` (with `alloc`) — the opt-in active side: announce, discover, poll, write.

#[cfg(feature = "alloc")]
pub mod bus;
pub mod calendar;
pub mod catalog;
#[cfg(feature = "alloc")]
pub mod client;
pub mod id;
pub mod message;
pub mod viz;

pub use id::{BusId, DeviceId, Node};
pub use message::{decode, Message, MessageError};

use crate::can::{Frame, Id};

/// Why a CAN frame is not a MasterBus message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// MasterBus uses only 29-bit ids; an 11-bit frame belongs to some other protocol.
    StandardId(u16),
    /// A remote request, which MasterBus never sends.
    Remote,
    /// The payload does not fit its class.
    Message(MessageError),
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrameError::StandardId(id) => write!(f, "11-bit id 0x{id:03X} is not MasterBus"),
            FrameError::Remote => f.write_str("remote frames are not MasterBus"),
            FrameError::Message(e) => write!(f, "{e}"),
        }
    }
}

/// Classify a CAN frame as a MasterBus message.
pub fn decode_frame(frame: &Frame) -> Result<(BusId, Message), FrameError> {
    let raw = match frame.id() {
        Id::Extended(raw) => raw,
        Id::Standard(id) => return Err(FrameError::StandardId(id)),
    };
    if frame.is_remote() {
        return Err(FrameError::Remote);
    }
    // `Frame` guarantees 29 bits.
    let id = BusId::new(raw).ok_or(FrameError::StandardId(0))?;
    let message = decode(id, frame.data()).map_err(FrameError::Message)?;
    Ok((id, message))
}

/// Build the CAN frame for a message body sent with `id`.
pub fn frame(id: BusId, data: &[u8]) -> Option<Frame> {
    Frame::new(Id::Extended(id.raw()), data)
}
