//! `halyard decode …`: one protocol per file, each printing the JSON contract of DESIGN.md §4.1.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use clap::Subcommand;

mod masterbus;
mod meshtastic;
mod n2k;
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
    /// An NMEA 2000 capture (canboat RAW, Yacht Devices RAW, candump, SocketCAN pcap/pcapng):
    /// one JSON line per message.
    #[command(name = "n2k")]
    N2k(n2k::Args),
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
        Protocol::N2k(a) => n2k::run(a),
    }
}

/// A file, or standard input for `-`, to be read as a stream: decoders never hold more than a
/// chunk of it, so a pipe, a serial device or `/dev/zero` runs in bounded memory.
pub(crate) fn open_input(path: &Path) -> Result<Box<dyn Read>> {
    if path == Path::new("-") {
        Ok(Box::new(std::io::stdin().lock()))
    } else {
        let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Box::new(file))
    }
}

/// Hand the input to `each` a chunk (at most 64 KiB, or what one read gave) at a time; framers
/// keep their state between chunks, so the output is the same as for the whole input at once.
/// `out` is flushed before each read, so a live pipe's lines come out as its input arrives,
/// while a file's output is still written in large blocks.
pub(crate) fn for_each_chunk<W: std::io::Write>(
    path: &Path,
    out: &mut W,
    mut each: impl FnMut(&mut W, &[u8]) -> Result<()>,
) -> Result<()> {
    let mut input = open_input(path)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        out.flush()?;
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        each(out, &buf[..n])?;
    }
}

/// Standard output, block-buffered, flushed by [`Flushing`] when the input waits.
pub(crate) type Output = std::rc::Rc<std::cell::RefCell<std::io::BufWriter<std::io::StdoutLock<'static>>>>;

/// Standard output for a decoder.
pub(crate) fn output() -> Output {
    std::rc::Rc::new(std::cell::RefCell::new(std::io::BufWriter::new(std::io::stdout().lock())))
}

/// An input that flushes the output before each read, for readers that own their input (the
/// CAN capture stream): lines of a live pipe come out as it arrives.
pub(crate) struct Flushing<R> {
    /// The input.
    pub input: R,
    /// The output to flush.
    pub out: Output,
}

impl<R: Read> Read for Flushing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::io::Write::flush(&mut *self.out.borrow_mut())?;
        self.input.read(buf)
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
