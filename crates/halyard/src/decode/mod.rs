//! `halyard decode …`: one protocol per file, each printing the JSON contract of DESIGN.md §4.1.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use clap::Subcommand;

mod masterbus;
mod meshtastic;
mod nmea;
mod vedirect;
mod venetworking;
mod victron_ble;

/// The protocols `halyard decode` understands.
#[derive(Debug, Subcommand)]
pub enum Protocol {
    /// A Victron Instant Readout advertisement: manufacturer data after the 0x02E1 company id,
    /// starting at the 0x10 byte (a leading e102 is accepted).
    #[command(name = "victron-ble")]
    VictronBle(victron_ble::Args),
    /// VE.Smart networking messages (op 0x01 then 0x02), in the order received.
    #[command(name = "venetworking")]
    VeNetworking(venetworking::Args),
    /// A VE.Direct serial capture (text blocks and HEX lines); `-` reads standard input.
    #[command(name = "vedirect")]
    VeDirect(vedirect::Args),
    /// A MasterBus CAN capture (pcapng, pcap or candump log): one JSON line per value reply.
    #[command(name = "masterbus")]
    MasterBus(masterbus::Args),
    /// An NMEA 0183 log: one JSON line per line, with its fields in units or its error.
    #[command(name = "nmea")]
    Nmea(nmea::Args),
    /// A Meshtastic radio's stream (serial or TCP 4403): one JSON line per frame.
    #[command(name = "meshtastic")]
    Meshtastic(meshtastic::Args),
}

/// Run a decode subcommand.
pub fn run(protocol: Protocol) -> Result<()> {
    match protocol {
        Protocol::VictronBle(a) => victron_ble::run(a),
        Protocol::VeNetworking(a) => venetworking::run(a),
        Protocol::VeDirect(a) => vedirect::run(a),
        Protocol::MasterBus(a) => masterbus::run(a),
        Protocol::Nmea(a) => nmea::run(a),
        Protocol::Meshtastic(a) => meshtastic::run(a),
    }
}

/// Read a whole file, or standard input for `-`.
pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).context("reading standard input")?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    }
}

/// One JSON value and a newline. Write errors stay `io::Error`s (serde_json's wraps them), so
/// that a reader closing the pipe (`| head`) ends the command quietly.
pub(crate) fn writeln_json(out: &mut impl std::io::Write, v: &serde_json::Value) -> Result<()> {
    serde_json::to_writer(&mut *out, v).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Parse hex text (whitespace ignored) into bytes.
pub(crate) fn parse_hex(what: &str, text: &str) -> Result<Vec<u8>> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = vec![0u8; digits.len() / 2 + 1];
    let n =
        halyard_proto::hex::decode_into(digits.as_bytes(), &mut out).with_context(|| format!("{what} is not hex"))?;
    out.truncate(n);
    Ok(out)
}
