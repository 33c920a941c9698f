//! NMEA 2000: the boat's CAN backbone at 250 kbit/s (the same hardware as MasterBus).
//!
//! * [`id`] — the 29-bit identifier: priority, PGN, source and destination.
//! * [`fast_packet`] — messages of up to 223 bytes in several frames, assembled per source and
//!   PGN, bounded and timed out.
//! * [`pgn`] — the PGNs Halyard decodes, as tables of fields, in Halyard's units.
//! * [`Assembler`] — frames and capture lines to whole messages, errors counted by kind.
//! * [`raw`] — the text captures gateways and loggers write (canboat RAW, Yacht Devices RAW).
//! * [`actisense`] — the Actisense NGT-1 binary stream.
//! * [`write`](mod@write) — messages written through the same tables, for the opt-in transmit side.
//! * [`claim`] — taking an address on the bus (ISO address claim) before transmitting.
//! * [`transport`] — ISO transport (broadcast announce, RTS/CTS): messages up to 1,785 bytes.
//!
//! Everything is pure: bytes in, values out, no clock (times are the caller's).

pub mod actisense;
mod assembler;
pub mod claim;
pub mod fast_packet;
pub mod id;
mod lookups;
pub mod pgn;
pub mod raw;
pub mod transport;
pub mod write;

pub use assembler::{Assembler, Error, Event};
pub use fast_packet::{is_fast_packet, FastPacketError, Reassembler};
pub use id::{Header, IdError};
