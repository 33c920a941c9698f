//! Halyard's daemon and command-line tool: the I/O edge around the `no_std` decoders of
//! `halyard-proto` (DESIGN.md §2). Sources move bytes, `ingest` decodes them, `model` names and
//! tracks devices, `sinks` publish; `gateway` wires them for `halyard run` and `halyard replay`.

pub mod alarms;
pub mod broker;
pub mod burst;
pub mod clock;
pub mod config;
pub mod decode;
pub mod demo;
pub mod esphome;
pub mod export;
pub mod gateway;
pub mod geo;
pub mod http_client;
pub mod ingest;
pub mod json;
pub mod keys;
pub mod lines;
pub mod manual;
pub mod masterbus;
pub mod mesh;
pub mod model;
pub mod nav;
pub mod notify;
pub mod progress;
pub mod report;
pub mod setup;
pub mod signalk;
pub mod sim;
pub mod sinks;
pub mod sources;
pub mod store;
pub mod telemetry;
pub mod text;
#[cfg(feature = "tls")]
pub mod tls;
pub mod web;

/// This machine's host name (for mDNS, syslog and the MQTT client id), empty if unknown.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim().to_owned()
}

/// An error with its own exit code (the `decode` contract: a wrong key exits with 3).
#[derive(Debug)]
pub struct Exit {
    /// The process exit code.
    pub code: u8,
    /// One line for standard error.
    pub message: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}
