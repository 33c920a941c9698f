//! `halyard export`: the history out of the store for other tools — the track as KML or GPX
//! (`nav::export`) and every value as CSV for a spreadsheet ([`csv`]).

pub mod csv;

use anyhow::Result;

/// `halyard export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// `kml` or `gpx` (the track and the places stayed at), `csv` (values, one column each).
    #[arg(value_parser = ["kml", "gpx", "csv"])]
    format: String,
    /// The configuration (store, time zone).
    #[arg(short, long, env = "HALYARD_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// First day, YYYY-MM-DD (default: the first recorded).
    #[arg(long)]
    from: Option<String>,
    /// Last day, YYYY-MM-DD (default: the last recorded).
    #[arg(long)]
    to: Option<String>,
    /// CSV: `raw` (every reading kept, within the raw retention), `1m`, `1h` (means) or `day`.
    #[arg(long, default_value = "1m", value_parser = ["raw", "1m", "1h", "day"])]
    resolution: String,
    /// CSV: only these devices (repeat the option for several).
    #[arg(long)]
    device: Vec<String>,
    /// CSV: only these metrics (repeat the option for several).
    #[arg(long)]
    metric: Vec<String>,
    /// Write here instead of standard output.
    #[arg(short, long)]
    output: Option<std::path::PathBuf>,
}

/// Write the export.
pub fn command(args: Args) -> Result<()> {
    let config = crate::config::Config::load_or_default(args.config.as_deref())?;
    let cal = config.calendar()?;
    let mut store = crate::store::open_existing(&config)?;
    let from = match &args.from {
        Some(d) => cal.day_start(crate::report::noon(d)?),
        None => 0,
    };
    let to = match &args.to {
        Some(d) => cal.next_day(cal.day_start(crate::report::noon(d)?)),
        None => i64::MAX,
    };
    let mut out: Box<dyn std::io::Write> = match &args.output {
        Some(p) => Box::new(std::fs::File::create(p)?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::new(&mut out);
    if args.format == "csv" {
        let table = csv::Table {
            resolution: csv::Resolution::parse(&args.resolution)?,
            devices: args.device,
            metrics: args.metric,
        };
        table.write(store.as_mut(), &cal, from, to, &mut out)?;
    } else {
        let text = crate::nav::export::render(&args.format, store.as_mut(), &cal, from, to)?;
        std::io::Write::write_all(&mut out, text.as_bytes())?;
    }
    std::io::Write::flush(&mut out)?;
    Ok(())
}
