//! PostgreSQL as the store (feature `postgres`), for users who bring many boats into one
//! server: the same schema and behaviour as SQLite (one transaction per batch, samples already
//! stored not counted again), with PostgreSQL's types and `LEAST`/`GREATEST`.

use anyhow::{Context, Result};
use postgres::{Client, NoTls};

use super::rollup::{Aggregate, Resolution, Roller};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS series (
    id SERIAL PRIMARY KEY,
    device TEXT NOT NULL,
    metric TEXT NOT NULL,
    unit TEXT NOT NULL,
    UNIQUE (device, metric)
);
CREATE TABLE IF NOT EXISTS samples (
    series INTEGER NOT NULL REFERENCES series(id),
    ts BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (series, ts)
);
CREATE TABLE IF NOT EXISTS rollups (
    resolution TEXT NOT NULL,
    series INTEGER NOT NULL REFERENCES series(id),
    bucket BIGINT NOT NULL,
    min DOUBLE PRECISION, max DOUBLE PRECISION,
    sum DOUBLE PRECISION NOT NULL,
    count BIGINT NOT NULL,
    first DOUBLE PRECISION, first_ts BIGINT,
    last DOUBLE PRECISION, last_ts BIGINT,
    energy_wh DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (resolution, series, bucket)
);
CREATE TABLE IF NOT EXISTS reports (
    date TEXT PRIMARY KEY,
    json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alarm_events (
    alarm TEXT NOT NULL,
    kind TEXT NOT NULL,
    ts BIGINT NOT NULL,
    since BIGINT NOT NULL,
    severity TEXT NOT NULL,
    device TEXT NOT NULL,
    metric TEXT NOT NULL,
    value DOUBLE PRECISION,
    message TEXT NOT NULL,
    PRIMARY KEY (ts, alarm, kind)
);
CREATE TABLE IF NOT EXISTS labels (
    device TEXT NOT NULL,
    label TEXT NOT NULL,
    value TEXT NOT NULL,
    ts BIGINT NOT NULL,
    PRIMARY KEY (device, label)
);
";

/// A batch's samples in one statement (one round trip, not one per row); what comes back is
/// what was new.
const INSERT_SAMPLES: &str = "
INSERT INTO samples (series, ts, value)
SELECT * FROM unnest($1::INTEGER[], $2::BIGINT[], $3::DOUBLE PRECISION[])
ON CONFLICT DO NOTHING
RETURNING series, ts
";

const UPSERT_ROLLUP: &str = "
INSERT INTO rollups AS r (resolution, series, bucket, min, max, sum, count, first, first_ts, last, last_ts, energy_wh)
SELECT * FROM unnest($1::TEXT[], $2::INTEGER[], $3::BIGINT[], $4::DOUBLE PRECISION[], $5::DOUBLE PRECISION[],
    $6::DOUBLE PRECISION[], $7::BIGINT[], $8::DOUBLE PRECISION[], $9::BIGINT[], $10::DOUBLE PRECISION[],
    $11::BIGINT[], $12::DOUBLE PRECISION[])
ON CONFLICT (resolution, series, bucket) DO UPDATE SET
    min = LEAST(r.min, EXCLUDED.min),
    max = GREATEST(r.max, EXCLUDED.max),
    sum = r.sum + EXCLUDED.sum,
    count = r.count + EXCLUDED.count,
    first = CASE WHEN r.first_ts IS NULL OR (EXCLUDED.first_ts IS NOT NULL AND EXCLUDED.first_ts < r.first_ts) THEN EXCLUDED.first ELSE r.first END,
    first_ts = CASE WHEN r.first_ts IS NULL OR (EXCLUDED.first_ts IS NOT NULL AND EXCLUDED.first_ts < r.first_ts) THEN EXCLUDED.first_ts ELSE r.first_ts END,
    last = CASE WHEN r.last_ts IS NULL OR (EXCLUDED.last_ts IS NOT NULL AND EXCLUDED.last_ts >= r.last_ts) THEN EXCLUDED.last ELSE r.last END,
    last_ts = CASE WHEN r.last_ts IS NULL OR (EXCLUDED.last_ts IS NOT NULL AND EXCLUDED.last_ts >= r.last_ts) THEN EXCLUDED.last_ts ELSE r.last_ts END,
    energy_wh = r.energy_wh + EXCLUDED.energy_wh
";

/// The PostgreSQL store.
pub struct Store {
    client: Client,
    series: super::SeriesIds,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "postgres::Store({} series)", self.series.len())
    }
}

impl Store {
    /// Connect (the URL is a secret: errors do not repeat it) and create the schema.
    pub fn open(url: &str) -> Result<Store> {
        let mut client = Client::connect(url, NoTls).context("connecting to PostgreSQL ([store] url)")?;
        client.batch_execute(SCHEMA).context("creating the schema")?;
        Ok(Store { client, series: Default::default() })
    }

    fn find(&mut self, device: &str, metric: &str) -> Result<Option<i32>> {
        Ok(self
            .client
            .query_opt("SELECT id FROM series WHERE device = $1 AND metric = $2", &[&device, &metric])?
            .map(|r| r.get(0)))
    }
}

impl super::Backend for Store {
    fn series_id(&mut self, device: &str, metric: &str, unit: &str) -> Result<u32> {
        if let Some(id) = self.series.get(device, metric) {
            return Ok(id);
        }
        self.client.execute(
            "INSERT INTO series (device, metric, unit) VALUES ($1, $2, $3) ON CONFLICT (device, metric) DO NOTHING",
            &[&device, &metric, &unit],
        )?;
        let id = self.find(device, metric)?.context("series vanished")? as u32;
        self.series.insert(device, metric, id);
        Ok(id)
    }

    fn write_batch(
        &mut self,
        samples: &[(u32, i64, f64, super::rollup::Integrate)],
        roller: &mut Roller,
    ) -> Result<()> {
        let held = roller.held();
        let result = (|| -> Result<()> {
            let mut tx = self.client.transaction()?;
            let series: Vec<i32> = samples.iter().map(|s| s.0 as i32).collect();
            let ts: Vec<i64> = samples.iter().map(|s| s.1).collect();
            let values: Vec<f64> = samples.iter().map(|s| s.2).collect();
            let mut new: std::collections::HashSet<(i32, i64)> =
                tx.query(INSERT_SAMPLES, &[&series, &ts, &values])?.iter().map(|r| (r.get(0), r.get(1))).collect();
            for (s, ts, v, how) in samples {
                // The first of duplicates within the batch is the one stored.
                if new.remove(&(*s as i32, *ts)) {
                    roller.add(*s, *ts, *v, *how);
                } else {
                    roller.hold(*s, *ts, *v);
                }
            }
            let p = &roller.pending;
            let res: Vec<&str> = p.keys().map(|k| k.0.name()).collect();
            let series: Vec<i32> = p.keys().map(|k| k.1 as i32).collect();
            let bucket: Vec<i64> = p.keys().map(|k| k.2).collect();
            let min: Vec<Option<f64>> = p.values().map(|a| a.min).collect();
            let max: Vec<Option<f64>> = p.values().map(|a| a.max).collect();
            let sum: Vec<f64> = p.values().map(|a| a.sum).collect();
            let count: Vec<i64> = p.values().map(|a| a.count as i64).collect();
            let first: Vec<Option<f64>> = p.values().map(|a| a.first.map(|f| f.1)).collect();
            let first_ts: Vec<Option<i64>> = p.values().map(|a| a.first.map(|f| f.0)).collect();
            let last: Vec<Option<f64>> = p.values().map(|a| a.last.map(|l| l.1)).collect();
            let last_ts: Vec<Option<i64>> = p.values().map(|a| a.last.map(|l| l.0)).collect();
            let energy: Vec<f64> = p.values().map(|a| a.energy_wh).collect();
            tx.execute(
                UPSERT_ROLLUP,
                &[&res, &series, &bucket, &min, &max, &sum, &count, &first, &first_ts, &last, &last_ts, &energy],
            )?;
            tx.commit()?;
            Ok(())
        })();
        roller.pending.clear();
        if result.is_err() {
            roller.restore(held);
        }
        result
    }

    /// Series by series, as in SQLite: the primary keys lead with the series, so a condition on
    /// the time alone would read every row of the table.
    fn prune(&mut self, samples_before: i64, minutes_before: i64) -> Result<usize> {
        let mut tx = self.client.transaction()?;
        let ids: Vec<i32> = tx.query("SELECT id FROM series", &[])?.iter().map(|r| r.get(0)).collect();
        let samples = tx.prepare("DELETE FROM samples WHERE series = $1 AND ts < $2")?;
        let minutes = tx.prepare("DELETE FROM rollups WHERE resolution = '1m' AND series = $1 AND bucket < $2")?;
        let mut deleted = 0;
        for id in ids {
            deleted += tx.execute(&samples, &[&id, &samples_before])?;
            deleted += tx.execute(&minutes, &[&id, &minutes_before])?;
        }
        tx.commit()?;
        Ok(deleted as usize)
    }

    fn samples(&mut self, device: &str, metric: &str, from: i64, to: i64) -> Result<Vec<(i64, f64)>> {
        let Some(id) = self.find(device, metric)? else { return Ok(Vec::new()) };
        let rows = self.client.query(
            "SELECT ts, value FROM samples WHERE series = $1 AND ts >= $2 AND ts < $3 ORDER BY ts",
            &[&id, &from, &to],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn rollups(
        &mut self,
        res: Resolution,
        device: &str,
        metric: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, Aggregate)>> {
        let Some(id) = self.find(device, metric)? else { return Ok(Vec::new()) };
        let rows = self.client.query(
            "SELECT bucket, min, max, sum, count, first, first_ts, last, last_ts, energy_wh FROM rollups
             WHERE resolution = $1 AND series = $2 AND bucket >= $3 AND bucket < $4 ORDER BY bucket",
            &[&res.name(), &id, &from, &to],
        )?;
        Ok(rows
            .iter()
            .map(|r| {
                let first: Option<f64> = r.get(5);
                let first_ts: Option<i64> = r.get(6);
                let last: Option<f64> = r.get(7);
                let last_ts: Option<i64> = r.get(8);
                (
                    r.get(0),
                    Aggregate {
                        min: r.get(1),
                        max: r.get(2),
                        sum: r.get(3),
                        count: r.get::<_, i64>(4) as u64,
                        first: first_ts.zip(first),
                        last: last_ts.zip(last),
                        energy_wh: r.get(9),
                    },
                )
            })
            .collect())
    }

    fn series(&mut self) -> Result<Vec<(String, String, String)>> {
        let rows = self.client.query("SELECT device, metric, unit FROM series ORDER BY device, metric", &[])?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }

    fn days(&mut self) -> Result<Vec<i64>> {
        let rows =
            self.client.query("SELECT DISTINCT bucket FROM rollups WHERE resolution = '1d' ORDER BY bucket", &[])?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn save_report(&mut self, date: &str, json: &str) -> Result<()> {
        self.client.execute(
            "INSERT INTO reports (date, json) VALUES ($1, $2) ON CONFLICT (date) DO UPDATE SET json = EXCLUDED.json",
            &[&date, &json],
        )?;
        Ok(())
    }

    fn load_report(&mut self, date: &str) -> Result<Option<String>> {
        Ok(self.client.query_opt("SELECT json FROM reports WHERE date = $1", &[&date])?.map(|r| r.get(0)))
    }

    fn save_labels(&mut self, labels: &[super::Label]) -> Result<()> {
        let mut tx = self.client.transaction()?;
        for (device, label, value, ts) in labels {
            tx.execute(
                "INSERT INTO labels (device, label, value, ts) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (device, label) DO UPDATE SET value = EXCLUDED.value, ts = EXCLUDED.ts
                 WHERE EXCLUDED.ts >= labels.ts",
                &[device, label, value, ts],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn labels(&mut self, device: &str) -> Result<std::collections::BTreeMap<String, String>> {
        let rows = self.client.query("SELECT label, value FROM labels WHERE device = $1", &[&device])?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn save_alarm_events(&mut self, events: &[super::AlarmRecord]) -> Result<()> {
        let mut tx = self.client.transaction()?;
        for e in events {
            tx.execute(
                "INSERT INTO alarm_events (alarm, kind, ts, since, severity, device, metric, value, message)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                &[&e.alarm, &e.kind, &e.at, &e.since, &e.severity, &e.device, &e.metric, &e.value, &e.message],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn alarm_events(&mut self, from: i64) -> Result<Vec<super::AlarmRecord>> {
        let rows = self.client.query(
            "SELECT alarm, kind, ts, since, severity, device, metric, value, message FROM alarm_events
             WHERE ts >= $1 ORDER BY ts, alarm",
            &[&from],
        )?;
        Ok(rows
            .iter()
            .map(|r| super::AlarmRecord {
                alarm: r.get(0),
                kind: r.get(1),
                at: r.get(2),
                since: r.get(3),
                severity: r.get(4),
                device: r.get(5),
                metric: r.get(6),
                value: r.get(7),
                message: r.get(8),
            })
            .collect())
    }
}
