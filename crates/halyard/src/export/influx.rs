//! `halyard export influx`: values from the store as InfluxDB line protocol, to back-fill a
//! database with what was recorded before the `[influx]` sink was set up (or while it was off):
//! `halyard export influx --from 2026-06-01 | curl --data-binary @- 'http://pi:8086/write?db=halyard'`.
//!
//! One point per device and time, every metric recorded at that time a field of it, exactly as
//! the sink writes them live (same measurement, tag and field names), so a back-fill and the live
//! points are one series and writing a day twice changes nothing (InfluxDB keeps one point per
//! series and time). The store keeps numbers only, so text values (state names) are not in a
//! back-fill.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;

use super::Selection;
use crate::sinks::influx::line::{self, Field};
use crate::store::{Backend, Calendar};

impl Selection {
    /// Write the points of `[from, to)`; returns how many.
    pub fn write_influx(
        &self,
        store: &mut dyn Backend,
        cal: &Calendar,
        measurement: &str,
        from: i64,
        to: i64,
        out: &mut dyn Write,
    ) -> Result<u64> {
        let columns = self.columns(store)?;
        let mut points = 0;
        let mut text = String::new();
        for (start, end) in self.days(store, cal, from, to)? {
            // (device, time) → fields, for this day.
            let mut rows: BTreeMap<(&str, i64), Vec<(&str, f64)>> = BTreeMap::new();
            for (d, m, _) in &columns {
                for (t, v) in self.values(store, d, m, start, end)? {
                    rows.entry((d.as_str(), t)).or_default().push((m.as_str(), v));
                }
            }
            for ((device, t), fields) in rows {
                let fields = fields.into_iter().map(|(k, v)| (k, Field::Number(v)));
                points += u64::from(line::push_point(&mut text, measurement, device, fields, t));
            }
            out.write_all(text.as_bytes())?;
            text.clear();
        }
        Ok(points)
    }
}
