//! The embedded store: SQLite in WAL mode. One transaction per batch, so a crash or power cut
//! loses at most the batch being written and never leaves a half-written one (SQLite's atomic
//! commit); `synchronous = NORMAL` in WAL mode keeps the database consistent on power loss.

use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension};

use super::rollup::{Aggregate, Resolution};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    metric TEXT NOT NULL,
    unit TEXT NOT NULL,
    UNIQUE (device, metric)
);
CREATE TABLE IF NOT EXISTS samples (
    series INTEGER NOT NULL REFERENCES series(id),
    ts INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (series, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollups (
    resolution TEXT NOT NULL,
    series INTEGER NOT NULL REFERENCES series(id),
    bucket INTEGER NOT NULL,
    min REAL, max REAL,
    sum REAL NOT NULL,
    count INTEGER NOT NULL,
    first REAL, first_ts INTEGER,
    last REAL, last_ts INTEGER,
    energy_wh REAL NOT NULL,
    PRIMARY KEY (resolution, series, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reports (
    date TEXT PRIMARY KEY,
    json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alarm_events (
    alarm TEXT NOT NULL,
    kind TEXT NOT NULL,
    ts INTEGER NOT NULL,
    since INTEGER NOT NULL,
    severity TEXT NOT NULL,
    device TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL,
    message TEXT NOT NULL,
    PRIMARY KEY (ts, alarm, kind)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS labels (
    device TEXT NOT NULL,
    label TEXT NOT NULL,
    value TEXT NOT NULL,
    ts INTEGER NOT NULL,
    PRIMARY KEY (device, label)
) WITHOUT ROWID;
";

/// Merge a batch's aggregate into the stored one.
const UPSERT_ROLLUP: &str = "
INSERT INTO rollups (resolution, series, bucket, min, max, sum, count, first, first_ts, last, last_ts, energy_wh)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
ON CONFLICT (resolution, series, bucket) DO UPDATE SET
    min = CASE WHEN min IS NULL THEN excluded.min WHEN excluded.min IS NULL THEN min ELSE min(min, excluded.min) END,
    max = CASE WHEN max IS NULL THEN excluded.max WHEN excluded.max IS NULL THEN max ELSE max(max, excluded.max) END,
    sum = sum + excluded.sum,
    count = count + excluded.count,
    first = CASE WHEN first_ts IS NULL OR (excluded.first_ts IS NOT NULL AND excluded.first_ts < first_ts) THEN excluded.first ELSE first END,
    first_ts = CASE WHEN first_ts IS NULL OR (excluded.first_ts IS NOT NULL AND excluded.first_ts < first_ts) THEN excluded.first_ts ELSE first_ts END,
    last = CASE WHEN last_ts IS NULL OR (excluded.last_ts IS NOT NULL AND excluded.last_ts >= last_ts) THEN excluded.last ELSE last END,
    last_ts = CASE WHEN last_ts IS NULL OR (excluded.last_ts IS NOT NULL AND excluded.last_ts >= last_ts) THEN excluded.last_ts ELSE last_ts END,
    energy_wh = energy_wh + excluded.energy_wh
";

/// The SQLite store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    series: super::SeriesIds,
}

impl Store {
    /// Open (or create) the database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        anyhow::ensure!(mode.eq_ignore_ascii_case("wal"), "{}: cannot use WAL mode ({mode})", path.display());
        // A 32 MiB page cache (SQLite's default is 2 MiB) keeps the samples' and rollups' upper
        // B-tree levels in memory as the store grows past a gigabyte.
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768;")?;
        conn.execute_batch(SCHEMA).context("creating the schema")?;
        let mut series = super::SeriesIds::default();
        {
            let mut st = conn.prepare("SELECT id, device, metric FROM series")?;
            let rows =
                st.query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
            for row in rows {
                let (id, d, m) = row?;
                series.insert(&d, &m, id);
            }
        }
        Ok(Store { conn, series })
    }

    fn find(&self, device: &str, metric: &str) -> Result<Option<u32>> {
        Ok(self
            .conn
            .query_row("SELECT id FROM series WHERE device = ?1 AND metric = ?2", params![device, metric], |r| r.get(0))
            .optional()?)
    }

    /// `PRAGMA integrity_check`'s answer (`ok` when sound).
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

impl super::Backend for Store {
    /// The id of a series, created on first use.
    fn series_id(&mut self, device: &str, metric: &str, unit: &str) -> Result<u32> {
        if let Some(id) = self.series.get(device, metric) {
            return Ok(id);
        }
        self.conn.execute(
            "INSERT INTO series (device, metric, unit) VALUES (?1, ?2, ?3) ON CONFLICT (device, metric) DO NOTHING",
            params![device, metric, unit],
        )?;
        let id = self.find(device, metric)?.context("the series just inserted is missing")?;
        self.series.insert(device, metric, id);
        Ok(id)
    }

    /// Write one batch in one transaction: the samples, and the rollups of those that were not
    /// already stored (so replaying known data, or retrying after a crash, counts nothing
    /// twice). Samples are `(series, ts, value, is_power)`. On error nothing is written and
    /// the roller is as before.
    fn write_batch(
        &mut self,
        samples: &[(u32, i64, f64, super::rollup::Integrate)],
        roller: &mut super::Roller,
    ) -> Result<()> {
        let held = roller.held();
        let result = (|| -> Result<()> {
            let tx = self.conn.transaction()?;
            {
                let mut ins =
                    tx.prepare_cached("INSERT OR IGNORE INTO samples (series, ts, value) VALUES (?1, ?2, ?3)")?;
                // In key order: each series' rows go into the same few B-tree pages one after
                // another (a batch interleaves 50–100 series). Each series stays in time order,
                // which is all the roller needs.
                let mut order: Vec<&(u32, i64, f64, super::rollup::Integrate)> = samples.iter().collect();
                order.sort_by_key(|(s, ts, _, _)| (*s, *ts));
                for (s, ts, v, how) in order {
                    if ins.execute(params![s, ts, v])? == 1 {
                        roller.add(*s, *ts, *v, *how);
                    } else {
                        roller.hold(*s, *ts, *v);
                    }
                }
                let mut up = tx.prepare_cached(UPSERT_ROLLUP)?;
                for ((res, s, bucket), a) in &roller.pending {
                    up.execute(params![
                        res.name(),
                        s,
                        bucket,
                        a.min,
                        a.max,
                        a.sum,
                        a.count as i64,
                        a.first.map(|f| f.1),
                        a.first.map(|f| f.0),
                        a.last.map(|l| l.1),
                        a.last.map(|l| l.0),
                        a.energy_wh
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })();
        match result {
            Ok(()) => {
                roller.pending.clear();
                Ok(())
            }
            Err(e) => {
                roller.pending.clear();
                roller.restore(held);
                Err(e)
            }
        }
    }

    /// Delete raw samples older than `before` (ms); rollups stay.
    ///
    /// Series by series: the keys are (series, ts) and (resolution, series, bucket), so a
    /// condition on the time alone reads the whole table, and the recorder prunes every hour of
    /// data — an import of a season would read tens of millions of rows thousands of times. With
    /// the series fixed, each delete is a range at the start of that series' keys.
    fn prune(&mut self, samples_before: i64, minutes_before: i64) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let ids: Vec<u32> = {
            let mut st = tx.prepare_cached("SELECT id FROM series")?;
            let ids = st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            ids
        };
        let mut deleted = 0;
        {
            let mut samples = tx.prepare_cached("DELETE FROM samples WHERE series = ?1 AND ts < ?2")?;
            let mut minutes =
                tx.prepare_cached("DELETE FROM rollups WHERE resolution = '1m' AND series = ?1 AND bucket < ?2")?;
            for id in ids {
                deleted += samples.execute(params![id, samples_before])?;
                deleted += minutes.execute(params![id, minutes_before])?;
            }
        }
        tx.commit()?;
        Ok(deleted)
    }

    /// Raw samples of a series in `[from, to)`.
    fn samples(&mut self, device: &str, metric: &str, from: i64, to: i64) -> Result<Vec<(i64, f64)>> {
        let Some(id) = self.find(device, metric)? else { return Ok(Vec::new()) };
        let mut st = self
            .conn
            .prepare_cached("SELECT ts, value FROM samples WHERE series = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts")?;
        let rows = st.query_map(params![id, from, to], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Rollups of a series with buckets in `[from, to)`.
    fn rollups(
        &mut self,
        res: Resolution,
        device: &str,
        metric: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, Aggregate)>> {
        let Some(id) = self.find(device, metric)? else { return Ok(Vec::new()) };
        let mut st = self.conn.prepare_cached(
            "SELECT bucket, min, max, sum, count, first, first_ts, last, last_ts, energy_wh FROM rollups
             WHERE resolution = ?1 AND series = ?2 AND bucket >= ?3 AND bucket < ?4 ORDER BY bucket",
        )?;
        let rows = st.query_map(params![res.name(), id, from, to], |r| {
            let first: Option<f64> = r.get(5)?;
            let first_ts: Option<i64> = r.get(6)?;
            let last: Option<f64> = r.get(7)?;
            let last_ts: Option<i64> = r.get(8)?;
            Ok((
                r.get::<_, i64>(0)?,
                Aggregate {
                    min: r.get(1)?,
                    max: r.get(2)?,
                    sum: r.get(3)?,
                    count: r.get::<_, i64>(4)? as u64,
                    first: first_ts.zip(first),
                    last: last_ts.zip(last),
                    energy_wh: r.get(9)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every series: (device, metric, unit).
    fn series(&mut self) -> Result<Vec<(String, String, String)>> {
        let mut st = self.conn.prepare("SELECT device, metric, unit FROM series ORDER BY device, metric")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn days(&mut self) -> Result<Vec<i64>> {
        let mut st =
            self.conn.prepare_cached("SELECT DISTINCT bucket FROM rollups WHERE resolution = '1d' ORDER BY bucket")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn save_report(&mut self, date: &str, json: &str) -> Result<()> {
        self.conn.execute("INSERT OR REPLACE INTO reports (date, json) VALUES (?1, ?2)", params![date, json])?;
        Ok(())
    }

    fn load_report(&mut self, date: &str) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT json FROM reports WHERE date = ?1", params![date], |r| r.get(0)).optional()?)
    }

    fn save_labels(&mut self, labels: &[super::Label]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO labels (device, label, value, ts) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (device, label) DO UPDATE SET value = excluded.value, ts = excluded.ts
                 WHERE excluded.ts >= labels.ts",
            )?;
            for (device, label, value, ts) in labels {
                upsert.execute(params![device, label, value, ts])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn labels(&mut self, device: &str) -> Result<std::collections::BTreeMap<String, String>> {
        let mut q = self.conn.prepare_cached("SELECT label, value FROM labels WHERE device = ?1")?;
        let rows = q.query_map(params![device], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn save_alarm_events(&mut self, events: &[super::AlarmRecord]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO alarm_events (alarm, kind, ts, since, severity, device, metric, value, message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for e in events {
                insert.execute(params![
                    e.alarm, e.kind, e.at, e.since, e.severity, e.device, e.metric, e.value, e.message
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn alarm_events(&mut self, from: i64) -> Result<Vec<super::AlarmRecord>> {
        let mut q = self.conn.prepare_cached(
            "SELECT alarm, kind, ts, since, severity, device, metric, value, message FROM alarm_events
             WHERE ts >= ?1 ORDER BY ts, alarm",
        )?;
        let rows = q.query_map(params![from], |r| {
            Ok(super::AlarmRecord {
                alarm: r.get(0)?,
                kind: r.get(1)?,
                at: r.get(2)?,
                since: r.get(3)?,
                severity: r.get(4)?,
                device: r.get(5)?,
                metric: r.get(6)?,
                value: r.get(7)?,
                message: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
