//! What an export takes from the store: which series, at what spacing, a local day at a time (so
//! a season takes little memory). Shared by the CSV table and InfluxDB's line protocol.

use anyhow::{bail, Result};

use crate::store::{Backend, Calendar, Resolution as Rollup};

/// Values at what spacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Every reading kept (within the store's raw retention).
    Raw,
    /// Means over rollup buckets (which outlive the raw readings).
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
pub struct Selection {
    /// Values at what spacing.
    pub resolution: Resolution,
    /// Only these devices (all when empty).
    pub devices: Vec<String>,
    /// Only these metrics (all when empty).
    pub metrics: Vec<String>,
}

impl Selection {
    /// The series exported, sorted: (device, metric, unit); an error in words when none is.
    pub fn columns(&self, store: &mut dyn Backend) -> Result<Vec<(String, String, String)>> {
        let mut series = store.series()?;
        series.retain(|(d, m, _)| {
            (self.devices.is_empty() || self.devices.contains(d))
                && (self.metrics.is_empty() || self.metrics.contains(m))
        });
        series.sort();
        if series.is_empty() {
            bail!(
                "nothing to export: no stored series{}{}",
                if self.devices.is_empty() { String::new() } else { format!(" of {}", self.devices.join(", ")) },
                if self.metrics.is_empty() { String::new() } else { format!(" named {}", self.metrics.join(", ")) }
            );
        }
        Ok(series)
    }

    /// The recorded local days that meet `[from, to)`, each clipped to it: `[start, end)`.
    pub fn days(&self, store: &mut dyn Backend, cal: &Calendar, from: i64, to: i64) -> Result<Vec<(i64, i64)>> {
        Ok(store
            .days()?
            .into_iter()
            .filter(|d| *d < to && cal.next_day(*d) > from)
            .map(|d| (d.max(from), cal.next_day(d).min(to)))
            .collect())
    }

    /// One series' values in `[start, end)`: readings, or bucket means stamped at the bucket's
    /// start.
    pub fn values(
        &self,
        store: &mut dyn Backend,
        device: &str,
        metric: &str,
        start: i64,
        end: i64,
    ) -> Result<Vec<(i64, f64)>> {
        Ok(match self.resolution {
            Resolution::Raw => store.samples(device, metric, start, end)?,
            Resolution::Rollup(r) => store
                .rollups(r, device, metric, start, end)?
                .into_iter()
                .filter_map(|(bucket, a)| Some((bucket, a.mean()?)))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions() {
        assert!(Resolution::parse("5m").is_err());
        assert_eq!(Resolution::parse("day").unwrap(), Resolution::Rollup(Rollup::Day));
        assert_eq!(Resolution::parse("raw").unwrap(), Resolution::Raw);
    }
}
