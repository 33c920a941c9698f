//! Victron Energy: Bluetooth LE (Instant Readout, VE.Smart networking) and shared vocabulary.
//!
//! Facts: `shared/protocols/victron.md`. VE.Direct serial lives in [`crate::vedirect`]; its
//! register dictionary is shared with VE.Smart networking, whose records are VE.Direct registers.

pub mod instant_readout;
mod product;
pub mod reasons;
pub mod smart_networking;
pub mod states;
pub mod venus;

pub use product::product_name;

/// Victron Energy BV's Bluetooth SIG company identifier (AD type 0xFF, sent as `E1 02`).
pub const COMPANY_ID: u16 = 0x02E1;
