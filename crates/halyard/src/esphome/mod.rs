//! ESPHome Bluetooth proxies through their native API (TCP 6053): Home Assistant's usual way to
//! extend Bluetooth range, nodes many owners already have around the boat or the house.
//! Halyard connects as a client like Home Assistant does (several clients may be connected at
//! once), subscribes to the raw advertisements and hands Victron's to the same decoder and keys
//! as its own adapter's. It reads only: no connections to devices, no settings.
//!
//! `frame.rs` the two framings, `api.rs` the few messages, `session.rs` the handshake and the
//! exchange; `crate::sources::esphome` runs one proxy with reconnects.

pub mod api;
pub mod frame;
pub mod session;
