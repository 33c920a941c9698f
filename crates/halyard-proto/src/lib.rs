//! # halyard-proto
//!
//! The protocol core of Halyard: pure, allocation-free decoders (and the encoders a simulator and
//! the tests need) for the devices a boat's electrical system talks through.
//!
//! * [`victron::instant_readout`] — Victron "Instant Readout" BLE advertisements (AES-128-CTR).
//! * [`victron::smart_networking`] — VE.Smart networking BLE broadcasts between MPPTs (AES-CCM).
//! * [`vedirect`] — the VE.Direct serial text protocol and HEX register protocol.
//! * [`masterbus`] — Mastervolt MasterBus (CAN): values, self-description and device discovery.
//! * [`can`] — the framings CAN arrives in: pcapng/pcap, candump logs, SLCAN, CAN-Ethernet gateways.
//! * [`n2k`] — NMEA 2000: the CAN id, fast packets, PGN field tables and text captures.
//! * [`nmea`] — NMEA 0183: GPS, wind, heading, depth and AIS sentences.
//! * [`meshtastic`] — the Meshtastic radios' stream framing (serial, TCP 4403).
//!
//! Every decoder takes bytes (and, where state is needed, a plain state machine that the caller
//! feeds) and returns typed values or a structured error. Nothing here reads a clock, a socket or a
//! file, so the same code runs in the Linux daemon, in replay tools and on an ESP32-C3.
//!
//! Values are reported as [`Field`]s: a snake_case name in the user's words, a [`Unit`] and a
//! [`Value`] that is exact (a scaled integer, not a float) or explicitly *not available*.
#![cfg_attr(not(any(feature = "std", test)), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(any(feature = "alloc", test))]
extern crate alloc;

mod bits;
pub mod ble;
pub mod can;
pub mod date;
pub mod hex;
pub mod masterbus;
pub mod meshtastic;
pub mod n2k;
pub mod nmea;
mod value;
pub mod vedirect;
pub mod victron;

pub use value::{Decimal, EnumTable, Field, FlagTable, Unit, Value};
