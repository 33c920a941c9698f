//! `halyard export csv`: values from the store as a table for a spreadsheet — a header, one
//! row per time (local time and UTC), one column per `device.metric (unit)`.
//!
//! `raw` gives every stored reading (a cell is empty where that series has no reading at that
//! time); `1m`, `1h` and `day` give each series' mean over the bucket from the rollups, which
//! outlive the raw readings. Written a local day at a time, so a season takes little memory.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;

use super::{Resolution, Selection};
use crate::store::{Backend, Calendar};

/// A cell of text, quoted when it must be (RFC 4180).
fn cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

impl Selection {
    /// Write the table of `[from, to)`.
    pub fn write_csv(
        &self,
        store: &mut dyn Backend,
        cal: &Calendar,
        from: i64,
        to: i64,
        out: &mut dyn Write,
    ) -> Result<()> {
        let columns = self.columns(store)?;
        let tz = cal.timezone();
        write!(out, "{},utc", cell(&format!("local time ({})", cal.timezone_name())))?;
        for (d, m, u) in &columns {
            let name = if u.is_empty() { format!("{d}.{m}") } else { format!("{d}.{m} ({u})") };
            write!(out, ",{}", cell(&name))?;
        }
        writeln!(out)?;
        for (start, end) in self.days(store, cal, from, to)? {
            let mut rows: BTreeMap<i64, Vec<Option<f64>>> = BTreeMap::new();
            for (i, (d, m, _)) in columns.iter().enumerate() {
                for (t, v) in self.values(store, d, m, start, end)? {
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
    pub fn csv(&self, store: &mut dyn Backend, cal: &Calendar, from: i64, to: i64) -> Result<String> {
        let mut out = Vec::new();
        self.write_csv(store, cal, from, to, &mut out)?;
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
    }
}
