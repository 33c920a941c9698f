//! Sources: they move bytes or frames from a device (or a file) into the pipeline, timestamp them
//! and reconnect when the device goes away. No protocol logic lives here (DESIGN.md §2).

pub mod backoff;
#[cfg(feature = "bluetooth")]
pub mod ble;
pub mod can;
pub mod masterbus;
pub mod mesh;
pub mod nmea;
pub mod replay;
pub mod vedirect;
