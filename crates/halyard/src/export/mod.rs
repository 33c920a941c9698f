//! `halyard export`: the history out of the store for other tools — the track as KML or GPX
//! (`nav::export`), every value as CSV for a spreadsheet ([`csv`]) or as InfluxDB line protocol
//! to back-fill a database ([`influx`]).

pub mod csv;
pub mod influx;
mod select;

pub use select::{Resolution, Selection};

use anyhow::Result;

/// `halyard export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// `kml` or `gpx` (the track and the places stayed at), `csv` (values, one column each),
    /// `influx` (values as InfluxDB line protocol, the `[influx]` sink's measurement and names).
    #[arg(value_parser = ["kml", "gpx", "csv", "influx"])]
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
    /// CSV and InfluxDB: `raw` (every reading kept, within the raw retention), `1m`, `1h`
    /// (means) or `day`. Default: `1m` for CSV, `raw` for InfluxDB.
    #[arg(long, value_parser = ["raw", "1m", "1h", "day"])]
    resolution: Option<String>,
    /// CSV and InfluxDB: only these devices (repeat the option for several).
    #[arg(long)]
    device: Vec<String>,
    /// CSV and InfluxDB: only these metrics (repeat the option for several).
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
    let default = if args.format == "influx" { "raw" } else { "1m" };
    let selection = Selection {
        resolution: Resolution::parse(args.resolution.as_deref().unwrap_or(default))?,
        devices: args.device,
        metrics: args.metric,
    };
    if args.format == "csv" {
        selection.write_csv(store.as_mut(), &cal, from, to, &mut out)?;
    } else if args.format == "influx" {
        let measurement = config.influx.as_ref().map_or("halyard", |i| i.measurement.as_str());
        let points = selection.write_influx(store.as_mut(), &cal, measurement, from, to, &mut out)?;
        eprintln!("{points} points");
    } else {
        let text = crate::nav::export::render(&args.format, store.as_mut(), &cal, from, to)?;
        std::io::Write::write_all(&mut out, text.as_bytes())?;
    }
    std::io::Write::flush(&mut out)?;
    Ok(())
}
