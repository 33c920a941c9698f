//! # halyard-node-core
//!
//! Everything of Halyard's ESP32 node (`firmware/halyard-node`) that is not hardware, as plain
//! `no_std` code the host test suite runs: the MQTT session ([`mqtt`]), what adverts, CAN frames
//! and serial lines become on MQTT ([`topics`], the same schema as the gateway), BLE scanning
//! through HCI ([`hci`]), finding the broker by DNS-SD ([`dnssd`]), when to sleep ([`sleep`]),
//! over-the-air updates ([`ota`]), the node's configuration ([`config`], [`console`]), the
//! crash report kept across a restart ([`crash`]) and the time ([`clock`], [`sntp`]) — and the
//! main loop that drives them all ([`reactor`]); Improv Wi-Fi provisioning over the USB serial port
//! ([`improv`]).
//!
//! Nothing here reads a clock or a socket: time comes in as milliseconds, bytes in and out as
//! slices, so the firmware is a thin shell around these state machines.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod clock;
pub mod config;
pub mod console;
pub mod crash;
pub mod derive;
pub mod dnssd;
pub mod hci;
pub mod improv;
pub mod mqtt;
pub mod ota;
pub mod reactor;
pub mod sleep;
pub mod sntp;
pub mod topics;
