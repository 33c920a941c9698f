//! `halyard decode masterbus FILE [--all]`: a CAN capture (pcapng, pcap or candump log) as JSON
//! lines, one per value reply, or with `--all` one per frame; a summary of the counters goes to
//! standard error.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use serde_json::json;

use crate::burst::BurstLog;
use crate::masterbus::{json as mbjson, Listener};
use crate::sources::can::file;

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
    let bytes = super::read_input(&args.file)?;
    let records = file::records(&bytes).map_err(|e| anyhow!("{}: {e}", args.file.display()))?;
    let mut listener = Listener::default();
    let mut bad = BurstLog::new("masterbus capture", Duration::from_secs(1));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for record in records {
        match record {
            Ok(r) => {
                let decoded = listener.handle(r.timestamp_ns, &r.received);
                if let Some(line) = mbjson::decoded(r.timestamp_ns, &decoded, args.all) {
                    serde_json::to_writer(&mut out, &line)?;
                    out.write_all(b"\n")?;
                }
            }
            Err(e) => {
                listener.counters.bad_records += 1;
                bad.report(Instant::now(), || e.to_string());
                if args.all {
                    let line = json!({ "message": "bad_record", "location": e.location, "error": e.message });
                    serde_json::to_writer(&mut out, &line)?;
                    out.write_all(b"\n")?;
                }
            }
        }
    }
    out.flush()?;
    eprintln!("halyard: masterbus summary {}", mbjson::summary(&listener.counters));
    Ok(())
}
