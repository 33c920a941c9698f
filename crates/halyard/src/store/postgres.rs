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
";

const UPSERT_ROLLUP: &str = "
INSERT INTO rollups AS r (resolution, series, bucket, min, max, sum, count, first, first_ts, last, last_ts, energy_wh)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
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
    series: std::collections::HashMap<(String, String), u32>,
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
        if let Some(id) = self.series.get(&(device.to_owned(), metric.to_owned())) {
            return Ok(*id);
        }
        self.client.execute(
            "INSERT INTO series (device, metric, unit) VALUES ($1, $2, $3) ON CONFLICT (device, metric) DO NOTHING",
            &[&device, &metric, &unit],
        )?;
        let id = self.find(device, metric)?.context("series vanished")? as u32;
        self.series.insert((device.to_owned(), metric.to_owned()), id);
        Ok(id)
    }

    fn write_batch(&mut self, samples: &[(u32, i64, f64, bool)], roller: &mut Roller) -> Result<()> {
        let held = roller.held();
        let result = (|| -> Result<()> {
            let mut tx = self.client.transaction()?;
            let ins =
                tx.prepare("INSERT INTO samples (series, ts, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")?;
            for (s, ts, v, power) in samples {
                if tx.execute(&ins, &[&(*s as i32), ts, v])? == 1 {
                    roller.add(*s, *ts, *v, *power);
                } else {
                    roller.hold(*s, *ts, *v);
                }
            }
            let up = tx.prepare(UPSERT_ROLLUP)?;
            for ((res, s, bucket), a) in &roller.pending {
                tx.execute(
                    &up,
                    &[
                        &res.name(),
                        &(*s as i32),
                        bucket,
                        &a.min,
                        &a.max,
                        &a.sum,
                        &(a.count as i64),
                        &a.first.map(|f| f.1),
                        &a.first.map(|f| f.0),
                        &a.last.map(|l| l.1),
                        &a.last.map(|l| l.0),
                        &a.energy_wh,
                    ],
                )?;
            }
            tx.commit()?;
            Ok(())
        })();
        roller.pending.clear();
        if result.is_err() {
            roller.restore(held);
        }
        result
    }

    fn prune(&mut self, before: i64) -> Result<usize> {
        Ok(self.client.execute("DELETE FROM samples WHERE ts < $1", &[&before])? as usize)
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
}
