//! `halyard export csv`: values from the store as a table for a spreadsheet — a header, one
//! row per time (local time and UTC), one column per `device.metric (unit)`.
//!
//! `raw` gives every stored reading (a cell is empty where that series has no reading at that
//! time); `1m`, `1h` and `day` give each series' mean over the bucket from the rollups, which
//! outlive the raw readings. Written a local day at a time, so a season takes little memory.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{bail, Result};

use crate::store::{Backend, Calendar, Resolution as Rollup};

/// Rows at what spacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Every reading.
    Raw,
    /// Means over rollup buckets.
    Rollup(Rollup),
}

impl Resolution {
    /// `raw`, `1m`, `1h` or `day`.
    pub fn parse(text: &str) -> Result<Resolution> {
        Ok(match text {
            "raw" => Resolution::Raw,
            "1m" => Resolution::Rollup(Rollup::Minute),
            "1h" => Resolution::Rollup(Rollup::Hour),
            "day" | "1d" => Resolution::Rollup(Rollup::Day),
            other => bail!("resolution `{other}`: raw, 1m, 1h or day"),
        })
    }
}

/// What to export.
#[derive(Debug, Clone)]
pub struct Table {
    /// Rows at what spacing.
    pub resolution: Resolution,
    /// Only these devices (all when empty).
    pub devices: Vec<String>,
    /// Only these metrics (all when empty).
    pub metrics: Vec<String>,
}

/// A cell of text, quoted when it must be (RFC 4180).
fn cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

impl Table {
    /// The series exported: (device, metric, unit).
    pub fn columns(&self, store: &mut dyn Backend) -> Result<Vec<(String, String, String)>> {
        let mut series = store.series()?;
        series.retain(|(d, m, _)| {
            (self.devices.is_empty() || self.devices.contains(d))
                && (self.metrics.is_empty() || self.metrics.contains(m))
        });
        series.sort();
        Ok(series)
    }

    /// Write the table of `[from, to)`.
    pub fn write(
        &self,
        store: &mut dyn Backend,
        cal: &Calendar,
        from: i64,
        to: i64,
        out: &mut dyn Write,
    ) -> Result<()> {
        let columns = self.columns(store)?;
        if columns.is_empty() {
            bail!(
                "nothing to export: no stored series{}{}",
                if self.devices.is_empty() { String::new() } else { format!(" of {}", self.devices.join(", ")) },
                if self.metrics.is_empty() { String::new() } else { format!(" named {}", self.metrics.join(", ")) }
            );
        }
        let tz = cal.timezone();
        write!(out, "{},utc", cell(&format!("local time ({})", cal.timezone_name())))?;
        for (d, m, u) in &columns {
            let name = if u.is_empty() { format!("{d}.{m}") } else { format!("{d}.{m} ({u})") };
            write!(out, ",{}", cell(&name))?;
        }
        writeln!(out)?;
        let days: Vec<i64> = store.days()?.into_iter().filter(|d| *d < to && cal.next_day(*d) > from).collect();
        for day in days {
            let (start, end) = (day.max(from), cal.next_day(day).min(to));
            let mut rows: BTreeMap<i64, Vec<Option<f64>>> = BTreeMap::new();
            for (i, (d, m, _)) in columns.iter().enumerate() {
                let values: Vec<(i64, f64)> = match self.resolution {
                    Resolution::Raw => store.samples(d, m, start, end)?,
                    Resolution::Rollup(r) => store
                        .rollups(r, d, m, start, end)?
                        .into_iter()
                        .filter_map(|(bucket, a)| Some((bucket, a.mean()?)))
                        .collect(),
                };
                for (t, v) in values {
                    rows.entry(t).or_insert_with(|| vec![None; columns.len()])[i] = Some(v);
                }
            }
            for (t, values) in rows {
                let Ok(ts) = jiff::Timestamp::from_millisecond(t) else { continue };
                let local = tz.to_datetime(ts);
                let utc = if self.resolution == Resolution::Raw && t % 1000 != 0 {
                    format!("{}.{:03}Z", ts.strftime("%Y-%m-%dT%H:%M:%S"), t.rem_euclid(1000))
                } else {
                    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
                };
                write!(out, "{},{utc}", local.strftime("%Y-%m-%d %H:%M:%S"))?;
                for v in values {
                    match v {
                        Some(v) => write!(out, ",{v}")?,
                        None => write!(out, ",")?,
                    }
                }
                writeln!(out)?;
            }
        }
        Ok(())
    }

    /// The table as text (the dashboard's download).
    pub fn text(&self, store: &mut dyn Backend, cal: &Calendar, from: i64, to: i64) -> Result<String> {
        let mut out = Vec::new();
        self.write(store, cal, from, to, &mut out)?;
        Ok(String::from_utf8(out)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_when_they_must_be() {
        assert_eq!(cell("house-bank.voltage (V)"), "house-bank.voltage (V)");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert!(Resolution::parse("5m").is_err());
        assert_eq!(Resolution::parse("day").unwrap(), Resolution::Rollup(Rollup::Day));
    }
}
