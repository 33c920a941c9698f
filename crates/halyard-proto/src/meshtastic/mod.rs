//! Meshtastic (marine.md §4): the stream API that a radio speaks on USB serial and on TCP port
//! 4403. Frames are `0x94 0xC3`, a big-endian 16-bit length (at most 512) and a protobuf
//! (`FromRadio` from the radio, `ToRadio` to it); every byte outside a frame is the firmware's
//! debug log text. The protobuf messages themselves are decoded by the daemon (prost).

pub mod stream;

pub use stream::{encode_frame, Event, StreamFramer, MAX_PAYLOAD};
