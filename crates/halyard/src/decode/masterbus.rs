//! `halyard decode masterbus FILE [--all]`: a CAN capture (pcapng, pcap or candump log) as JSON
//! lines, one per value reply, or with `--all` one per frame; a summary of the counters goes to
//! standard error.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use serde_json::json;

use crate::burst::BurstLog;
use crate::masterbus::{json as mbjson, replay, Listener};

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Capture file: pcapng or pcap (link types 113, 227, 276) or a can-utils candump log; `-` reads
    /// standard input.
    file: PathBuf,
    /// Print every frame (class, kind, meaning), not only value replies.
    #[arg(long)]
    all: bool,
}

/// Decode and print.
pub fn run(args: Args) -> Result<()> {
    let out = super::output();
    let input = super::Flushing { input: super::open_input(&args.file)?, out: out.clone() };
    let mut listener = Listener::default();
    let mut bad = BurstLog::new("masterbus capture", Duration::from_secs(1));
    let write = |line: &serde_json::Value| -> Result<()> { super::writeln_json(&mut *out.borrow_mut(), line) };
    replay(
        input,
        &mut listener,
        |ts, decoded| mbjson::decoded(ts, decoded, args.all).map_or(Ok(()), |line| write(&line)),
        |e| {
            bad.report(Instant::now(), || e.to_string());
            if args.all {
                write(&json!({ "message": "bad_record", "location": e.location, "error": e.message }))?;
            }
            Ok(())
        },
    )
    .map_err(|e| anyhow!("{}: {e}", args.file.display()))?;
    out.borrow_mut().flush()?;
    eprintln!("halyard: masterbus summary {}", mbjson::summary(&listener.counters));
    Ok(())
}
