//! The InfluxDB sink (`[influx]`): every changed value becomes a point
//! `halyard,device=<name> <metric>=<value>… <ns>` ([`line`]); points are gathered into batches
//! (at most [`MAX_POINTS`], or `batch_seconds` old), and each batch waits in its own on-disk
//! outbox until InfluxDB has answered the write ([`write`]). An InfluxDB outage, or a restart of
//! Halyard during one, therefore delays points and loses none; a batch InfluxDB refuses as bad
//! data (a field whose type changed) is counted, logged and not sent again, since it never
//! would pass.
//!
//! Values keep Halyard's names and units (`voltage` in V, `state_of_charge` in %, `yield_today`
//! in kWh), as on MQTT, so a Grafana panel reads like the dashboard.

pub mod line;
pub mod write;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::burst::BurstLog;
use crate::config::Secret;
use crate::model::{Change, Reading};
use crate::sinks::outbox::{Message, Outbox};
use crate::sources::backoff::{Backoff, Peer, Watch};
use crate::telemetry::Telemetry;
use line::Field;
use write::{Outcome, Writer};

/// Points per batch, at most (InfluxDB's documentation suggests batches of about 5,000).
pub const MAX_POINTS: usize = 5_000;

/// `[influx]`: where to write. With `bucket` it is InfluxDB 2.x (`org`, `bucket`, `token`),
/// else 1.x (`database`, optional `username`/`password` and `retention_policy`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The server, `http://host:8086` (a path, for a server behind a proxy, is kept).
    pub url: String,
    /// 1.x: the database (default `halyard`).
    pub database: Option<String>,
    /// 1.x: the retention policy (default: the database's default).
    pub retention_policy: Option<String>,
    /// 1.x: user name, when the server has authentication on.
    pub username: Option<String>,
    /// 1.x: that user's password.
    pub password: Option<Secret>,
    /// 2.x: the organisation.
    pub org: Option<String>,
    /// 2.x: the bucket (setting it selects the 2.x API).
    pub bucket: Option<String>,
    /// 2.x: an API token with write access to the bucket.
    pub token: Option<Secret>,
    /// The measurement's name.
    pub measurement: String,
    /// A batch is written when it is this old (or full).
    pub batch_seconds: u64,
    /// The outbox's bound while InfluxDB is away; the oldest batches go first when it is reached.
    pub outbox_max_mib: u64,
    /// 1.x: create the database when the server says it does not exist (as Telegraf does).
    pub create_database: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            url: "http://127.0.0.1:8086".into(),
            database: None,
            retention_policy: None,
            username: None,
            password: None,
            org: None,
            bucket: None,
            token: None,
            measurement: "halyard".into(),
            batch_seconds: 5,
            outbox_max_mib: 64,
            create_database: true,
        }
    }
}

impl Settings {
    /// What is wrong with these settings, in words.
    pub fn check(&self) -> Result<(), String> {
        Writer::new(self)?;
        if self.measurement.trim().is_empty() {
            return Err("[influx] measurement: a name is needed".into());
        }
        match &self.bucket {
            Some(_) => {
                if self.org.as_deref().is_none_or(str::is_empty) {
                    return Err("[influx] bucket is InfluxDB 2.x, which needs `org` too".into());
                }
                if self.database.is_some() || self.username.is_some() || self.password.is_some() {
                    return Err("[influx]: `database`, `username` and `password` are InfluxDB 1.x; with `bucket` (2.x) use `org` and `token`".into());
                }
            }
            None => {
                if self.org.is_some() || self.token.is_some() {
                    return Err(
                        "[influx]: `org` and `token` are InfluxDB 2.x; set `bucket` too (or `database` for 1.x)".into(),
                    );
                }
                if self.password.is_some() && self.username.is_none() {
                    return Err("[influx] password needs `username`".into());
                }
            }
        }
        Ok(())
    }
}

/// Turns changes into points. The store keeps the first reading of a series at a given
/// millisecond (so importing a file twice adds nothing), where InfluxDB would keep the last
/// written; two updates of one device in the same millisecond (two AIS sentences in one read)
/// would leave the two histories different. So a field already written for a device at that
/// millisecond is left out of the next point, and both keep the first.
#[derive(Debug, Default)]
pub struct Points {
    /// Device → the time of its last point and the fields written at that time.
    last: std::collections::HashMap<String, (i64, Vec<String>)>,
}

impl Points {
    /// Append the point of one change (the device's changed values at the change's time) to
    /// `out`; whether there was one.
    pub fn push(&mut self, change: &Change, measurement: &str, out: &mut String) -> bool {
        let (at, written) = self.last.entry(change.device.name.clone()).or_insert_with(|| (change.at, Vec::new()));
        if *at != change.at {
            *at = change.at;
            written.clear();
        }
        let fresh: Vec<(&str, Field)> = change
            .changed
            .iter()
            .filter(|m| !written.iter().any(|w| *w == *m.name))
            .filter_map(|m| {
                let value = match m.value.as_ref()? {
                    Reading::Number(v) => Field::Number(*v),
                    Reading::Text(t) => Field::Text(t),
                };
                Some((&*m.name, value))
            })
            .collect();
        written.extend(fresh.iter().map(|(k, _)| (*k).to_owned()));
        line::push_point(out, measurement, &change.device.name, fresh, change.at)
    }
}

/// Everything the sink needs besides its channel.
pub struct Sink {
    /// The `[influx]` settings.
    pub settings: Settings,
    /// The outbox (one message per batch).
    pub outbox: Outbox,
    /// Counters.
    pub telemetry: Arc<Telemetry>,
    /// How long to keep trying to deliver the outbox after the input ends.
    pub drain_timeout: Duration,
    /// Stop taking changes while this many batches wait (replays and the demo, whose input can
    /// wait); `None` for live input, which the outbox's bound absorbs.
    pub backpressure: Option<usize>,
}

/// Open the InfluxDB outbox in `dir`.
pub fn outbox(dir: &Path, settings: &Settings) -> std::io::Result<Outbox> {
    Outbox::open(dir, "influx", settings.outbox_max_mib.max(1) << 20)
}

type Pending = tokio::task::JoinHandle<Outcome>;

impl Sink {
    /// Run until `changes` closes and the outbox is delivered (or `drain_timeout` passes).
    pub async fn run(mut self, mut changes: mpsc::Receiver<Arc<Change>>) -> Result<()> {
        let writer = Arc::new(Writer::new(&self.settings).map_err(anyhow::Error::msg)?);
        // Its port is watched while it is away (the address is the one the writes go to).
        let peer = Peer::Tcp(writer.server());
        tracing::info!("influx: writing to {} ({})", writer.server(), writer.path().split('?').next().unwrap_or(""));
        let every = Duration::from_secs(self.settings.batch_seconds.max(1));
        let mut batch = String::new();
        let mut make = Points::default();
        let mut points = 0usize;
        let mut batch_since: Option<Instant> = None;
        let mut sending: Option<(u64, usize, Pending)> = None;
        let mut retry_at = Instant::now();
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let mut watch: Option<Watch> = None;
        let mut errors = BurstLog::new("influx", Duration::from_secs(60));
        let mut rejected = BurstLog::new("influx", Duration::from_secs(60));
        let mut created = false;
        let mut input_open = true;
        let mut drain_deadline: Option<Instant> = None;
        loop {
            let now = Instant::now();
            if sending.is_none() && now >= retry_at {
                if let Some((seq, m)) = self.outbox.next_unsent() {
                    let w = writer.clone();
                    let n = line::count(&m.payload);
                    sending = Some((seq, n, tokio::spawn(async move { w.write(m.payload).await })));
                }
            }
            if !input_open && batch.is_empty() && (self.outbox.is_empty() || drain_deadline.is_some_and(|d| now >= d)) {
                break;
            }
            let flush_at = batch_since.map(|t| t + every);
            let wake = [flush_at, (sending.is_none() && !self.outbox.is_empty()).then_some(retry_at), drain_deadline]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(now + Duration::from_secs(3600))
                .max(now + Duration::from_millis(1));
            let room = self.backpressure.is_none_or(|limit| self.outbox.len() < limit);
            tokio::select! {
                outcome = async { match sending.as_mut() { Some((_, _, task)) => task.await, None => std::future::pending().await } } => {
                    let (seq, n, _) = sending.take().expect("a write was in flight");
                    let outcome = outcome.unwrap_or_else(|e| Outcome::Retry(format!("the write task failed: {e}")));
                    match outcome {
                        Outcome::Written => {
                            self.outbox.ack(seq);
                            self.telemetry.add("halyard_influx_points_total", &[], n as f64);
                            backoff.reset();
                            watch = None;
                        }
                        Outcome::BadData(why) => {
                            self.outbox.ack(seq);
                            self.telemetry.add("halyard_influx_rejected_points_total", &[], n as f64);
                            rejected.report(Instant::now(), || format!("a batch of {n} points refused as bad data, not sent again: {why}"));
                        }
                        Outcome::NoDatabase(why) if !created => {
                            created = true;
                            let db = writer.database().unwrap_or_default().to_owned();
                            match writer.create_database().await {
                                Ok(()) => tracing::info!("influx: created database `{db}` on {}", writer.server()),
                                Err(e) => tracing::error!("influx: {why}; creating database `{db}` failed: {e}"),
                            }
                            self.outbox.rewind();
                        }
                        Outcome::NoDatabase(why) | Outcome::Retry(why) => {
                            self.telemetry.inc("halyard_influx_errors_total", &[]);
                            self.outbox.rewind();
                            let delay = backoff.next_delay();
                            errors.report(Instant::now(), || format!("{why}; trying again (within {} s)", delay.as_secs_f32().ceil()));
                            retry_at = Instant::now() + delay;
                            if watch.is_none() {
                                watch = Some(Watch::new(peer.clone()));
                            }
                        }
                    }
                    self.sync(&mut errors);
                }
                change = changes.recv(), if input_open && room => match change {
                    Some(change) => {
                        if make.push(&change, &self.settings.measurement, &mut batch) {
                            points += 1;
                            batch_since.get_or_insert_with(Instant::now);
                            if points >= MAX_POINTS {
                                self.queue(&mut batch, &mut points, &mut batch_since, &mut errors);
                            }
                        }
                    }
                    None => {
                        input_open = false;
                        self.queue(&mut batch, &mut points, &mut batch_since, &mut errors);
                        drain_deadline = Some(Instant::now() + self.drain_timeout);
                    }
                },
                _ = async { match &watch { Some(w) => w.came_back().await, None => std::future::pending().await } }, if sending.is_none() => {
                    tracing::info!("influx: {} is accepting connections again", writer.server());
                    watch = None;
                    retry_at = Instant::now();
                }
                _ = tokio::time::sleep_until(wake.into()) => {
                    if flush_at.is_some_and(|t| Instant::now() >= t) {
                        self.queue(&mut batch, &mut points, &mut batch_since, &mut errors);
                    }
                }
            }
        }
        if let Some((_, _, task)) = sending {
            task.abort();
        }
        self.sync(&mut errors);
        if !self.outbox.is_empty() {
            tracing::warn!(
                "influx: {} batches not written yet; they stay in the outbox for the next start",
                self.outbox.len()
            );
        }
        Ok(())
    }

    /// The batch so far goes into the outbox (journalled and synced: at most one sync a second
    /// or per [`MAX_POINTS`] points).
    fn queue(&mut self, batch: &mut String, points: &mut usize, since: &mut Option<Instant>, errors: &mut BurstLog) {
        if batch.is_empty() {
            return;
        }
        let payload = std::mem::take(batch).into_bytes();
        self.outbox.push(Message { topic: String::new(), payload, retain: false, qos: 1 });
        *points = 0;
        *since = None;
        self.sync(errors);
    }

    fn sync(&mut self, errors: &mut BurstLog) {
        if let Err(e) = self.outbox.sync() {
            errors.report(Instant::now(), || format!("outbox: {e}"));
        }
        self.telemetry.set("halyard_influx_outbox_depth", &[], self.outbox.len() as f64);
        self.telemetry.set("halyard_influx_dropped_total", &[], self.outbox.dropped as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_in_words() {
        let ok: Settings = toml::from_str("database = \"boat\"").unwrap();
        assert!(ok.check().is_ok());
        let v2: Settings = toml::from_str("org = \"o\"\nbucket = \"b\"\ntoken = \"t\"").unwrap();
        assert!(v2.check().is_ok());
        for (bad, says) in [
            ("bucket = \"b\"", "needs `org`"),
            ("token = \"t\"", "set `bucket`"),
            ("password = \"p\"", "needs `username`"),
            ("url = \"pi.local:8086\"", "url"),
            ("org = \"o\"\nbucket = \"b\"\ndatabase = \"d\"", "1.x"),
        ] {
            let s: Settings = toml::from_str(bad).unwrap();
            let e = s.check().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
            assert!(!e.contains("\"t\"") && !e.contains("\"p\""), "a secret in {e}");
        }
        assert!(toml::from_str::<Settings>("databse = \"x\"").is_err(), "unknown keys are refused");
    }
}
