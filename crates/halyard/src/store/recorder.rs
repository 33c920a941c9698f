//! The recorder sink: model changes → samples and rollups → the store, one transaction per
//! batch (at most one second's worth, or 50,000 samples). A failed write (a full disk) keeps the
//! batch in memory and retries; nothing is dropped until a million samples wait.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::mpsc;

use super::rollup::{Integrate, Roller};
use super::time_guard::{Event, TimeGuard, BUILD_DATE_MS};
use super::Backend;
use crate::burst::BurstLog;
use crate::model::{Change, Reading};
use crate::telemetry::Telemetry;

/// Samples per batch, at most. Live, a second's worth is far fewer; an import fills batches:
/// at 5,000 a 10-day import committed 740 times, rewriting each series' last pages into the WAL
/// each time (7.4 s of system time of 23.4 s; 3.9 s of 20.9 s at 50,000, 1.6 MB of samples).
const BATCH: usize = 50_000;
/// Samples kept in memory while the store cannot be written, at most.
const BACKLOG: usize = 1_000_000;

/// The recorder.
pub struct Recorder {
    store: Box<dyn Backend>,
    roller: Roller,
    samples: Vec<(u32, i64, f64, Integrate)>,
    labels: Vec<super::Label>,
    /// Alarm events not yet kept.
    alarms: Vec<super::AlarmRecord>,
    telemetry: Arc<Telemetry>,
    errors: BurstLog,
    raw_ms: i64,
    minute_ms: i64,
    newest: i64,
    pruned_at: i64,
    reports: Option<Reports>,
    day: Option<i64>,
    /// A mesh node changed since the mesh's answers were last published.
    mesh_changed: bool,
    mesh_published: Option<Instant>,
    /// After a failed write (a full disk, a lost database), no new attempt before this: without
    /// it every change would retry the whole batch and spin a core until space returns.
    retry_at: Option<Instant>,
    /// The wait after the next failure (doubling from 1 s to 30 s).
    retry_delay: Duration,
    /// Energy counters whose last stored value has been looked up.
    counters_looked_up: std::collections::HashSet<u32>,
    /// Which reading times are believed.
    guard: TimeGuard<Arc<Change>>,
    sync_asked: Option<(Instant, Option<bool>)>,
    clock_errors: BurstLog,
    /// The MPPTs' performance alarms, judged with each daily report.
    performance: crate::alarms::performance::PerformanceWatch,
}

/// The longest wait between attempts to write after failures.
const RETRY_MAX: Duration = Duration::from_secs(30);

/// The mesh's answers are published at most this often (they read every node's history).
const MESH_EVERY: Duration = Duration::from_secs(60);

/// Where and how the daily report is published (retained `<root>/report/<date>` and
/// `<root>/report/today`, and the network's yield over the last 30 days and its lifetime yield
/// on `<root>/stats/solar/network/yield`) when a local day ends.
pub struct Reports {
    /// The configured devices (roles, groups).
    pub devices: Vec<crate::config::Device>,
    /// The topic root.
    pub root: String,
    /// QoS.
    pub qos: u8,
    /// To the MQTT sink (`None`: `halyard import`, which keeps the reports in the store only).
    pub tx: Option<mpsc::Sender<crate::sinks::outbox::Message>>,
    /// Whether each report's MPPT assessment raises alarms (`alarms::performance`).
    pub mppt_alarms: bool,
    /// Where those alarms' events go besides the history: the gateway, which publishes and
    /// notifies them (`None`: an import, which keeps them only).
    pub alarm_tx: Option<mpsc::Sender<crate::alarms::Event>>,
}

impl Recorder {
    /// A recorder into `store`, keeping raw samples `raw_days` and minute rollups `minute_days`.
    pub fn new(
        store: Box<dyn Backend>,
        roller: Roller,
        (raw_days, minute_days): (u32, u32),
        telemetry: Arc<Telemetry>,
    ) -> Self {
        Recorder {
            store,
            roller,
            samples: Vec::new(),
            labels: Vec::new(),
            alarms: Vec::new(),
            telemetry,
            errors: BurstLog::new("store", Duration::from_secs(60)),
            raw_ms: i64::from(raw_days) * 86_400_000,
            minute_ms: i64::from(minute_days) * 86_400_000,
            newest: i64::MIN,
            pruned_at: i64::MIN,
            reports: None,
            day: None,
            mesh_changed: false,
            mesh_published: None,
            retry_at: None,
            retry_delay: Duration::from_secs(1),
            counters_looked_up: Default::default(),
            guard: TimeGuard::new(false, BUILD_DATE_MS),
            sync_asked: None,
            clock_errors: BurstLog::new("clock", Duration::from_secs(60)),
            performance: Default::default(),
        }
    }

    /// Publish the daily report when a day ends.
    /// Readings stamped by this machine's clock (`halyard run`): the live [`TimeGuard`] rules.
    pub fn live(mut self, live: bool) -> Self {
        self.guard = TimeGuard::new(live, BUILD_DATE_MS);
        self
    }

    /// With the daily reports published.
    pub fn with_reports(mut self, reports: Reports) -> Self {
        self.reports = Some(reports);
        self
    }

    /// Alarm events of the recorder's own (the MPPTs' performance): kept, and told to the
    /// gateway.
    fn keep_alarms(&mut self, events: Vec<crate::alarms::Event>) {
        for e in events {
            self.alarms.push((&e).into());
            if let Some(tx) = self.reports.as_ref().and_then(|r| r.alarm_tx.as_ref()) {
                // Never waits: the gateway may be past reading (stopping), and the history has it.
                if tx.try_send(e).is_err() {
                    tracing::warn!(
                        "an MPPT performance alarm was kept but not published: the gateway is not listening"
                    );
                }
            }
        }
    }

    /// Compute and publish the report of the day starting at `day` (also as `today`), made at
    /// `at`; its MPPT assessment raises or clears the performance alarms.
    fn publish_report(&mut self, day: i64, at: i64) {
        let Some(r) = &self.reports else { return };
        let report = match crate::report::daily(&r.devices, self.store.as_mut(), self.roller.calendar(), day) {
            Ok(j) => j,
            Err(e) => {
                self.errors.report(Instant::now(), || format!("daily report: {e:#}"));
                return;
            }
        };
        if r.mppt_alarms {
            let mut events = Vec::new();
            self.performance.report(at, &report["mppt"], &mut events);
            self.keep_alarms(events);
        }
        let Some(r) = &self.reports else { return };
        let date = self.roller.calendar().date(day);
        if let Err(e) = self.store.save_report(&date, &report.to_string()) {
            self.errors.report(Instant::now(), || format!("keeping the report of {date}: {e:#}"));
        }
        let payload = report.to_string().into_bytes();
        // The network's yield statistics also stand on their own, beside the other statistics.
        let mut yields = report["network_yield_days"].clone();
        if let Some(m) = yields.as_object_mut() {
            m.insert("date".into(), date.clone().into());
            m.insert("lifetime_kwh".into(), report["lifetime_yield_kwh"].clone());
        }
        let messages = [
            (format!("{}/report/{date}", r.root), payload.clone()),
            (format!("{}/report/today", r.root), payload),
            (format!("{}/stats/solar/network/yield", r.root), yields.to_string().into_bytes()),
        ];
        let Some(tx) = &r.tx else { return };
        for (topic, payload) in messages {
            let m = crate::sinks::outbox::Message { topic, payload, retain: true, qos: r.qos };
            if tx.blocking_send(m).is_err() {
                tracing::warn!("daily report for {date} not published: the MQTT sink has stopped");
            }
        }
    }

    /// Publish the mesh's answers (`mesh::answers::summary`: where the first configured
    /// Meshtastic device — else `dinghy` — and everyone are, max and reliable range) retained on
    /// `<root>/mesh/answers`, when a node changed and a minute has passed.
    fn publish_mesh(&mut self) {
        let due = self.mesh_published.is_none_or(|t| t.elapsed() >= MESH_EVERY);
        let Some(r) = self.reports.as_ref().filter(|r| self.mesh_changed && due && r.tx.is_some()) else { return };
        self.mesh_changed = false;
        self.mesh_published = Some(Instant::now());
        let node = r.devices.iter().find(|d| d.meshtastic.is_some()).map_or("dinghy", |d| d.name.as_str());
        let answers = match crate::mesh::answers::summary(self.store.as_mut(), node, None, 1000.0) {
            Ok(Some(j)) => j,
            Ok(None) => return,
            Err(e) => return self.errors.report(Instant::now(), || format!("mesh answers: {e:#}")),
        };
        let m = crate::sinks::outbox::Message {
            topic: format!("{}/mesh/answers", r.root),
            payload: answers.to_string().into_bytes(),
            retain: true,
            qos: r.qos,
        };
        if r.tx.as_ref().is_some_and(|tx| tx.blocking_send(m).is_err()) {
            tracing::warn!("mesh answers not published: the MQTT sink has stopped");
        }
    }

    /// Take in one change's numeric values.
    pub fn take(&mut self, change: &Change) -> Result<()> {
        for m in &change.changed {
            if let (Some(Reading::Text(t)), true) = (&m.value, super::LABELS.contains(&&*m.name)) {
                self.labels.push((change.device.name.clone(), m.name.to_string(), t.clone(), change.at));
                continue;
            }
            let Some(Reading::Number(v)) = m.value else { continue };
            if !v.is_finite() {
                continue;
            }
            let id = self.store.series_id(&change.device.name, &m.name, &m.unit)?;
            let how = Integrate::of(&m.name, &m.unit);
            if how == Integrate::Counter && !self.roller.holds(id) && self.counters_looked_up.insert(id) {
                self.hold_last_stored(id, &change.device.name, &m.name, change.at);
            }
            self.samples.push((id, change.at, v, how));
            self.newest = self.newest.max(change.at);
        }
        Ok(())
    }

    /// An energy counter's first sample in this process counts from the last value the store
    /// has of it (within a day and a half), not from zero: a restart or a second import counts
    /// nothing twice.
    fn hold_last_stored(&mut self, id: u32, device: &str, metric: &str, at: i64) {
        let from = at - 36 * 3_600_000;
        let last =
            self.store.samples(device, metric, from, at).map(|s| s.last().copied()).and_then(|last| match last {
                Some(l) => Ok(Some(l)),
                // Raw samples may be pruned sooner: the minute rollups keep their last values.
                None => self
                    .store
                    .rollups(super::Resolution::Minute, device, metric, from, at)
                    .map(|r| r.iter().rev().find_map(|(_, a)| a.last)),
            });
        match last {
            Ok(Some((t, v))) => self.roller.hold(id, t, v),
            Ok(None) => {}
            Err(e) => self.errors.report(Instant::now(), || format!("reading {device} {metric}: {e:#}")),
        }
    }

    /// While the store cannot be written, keep at most [`BACKLOG`] samples, dropping (and
    /// counting) the oldest.
    fn bound_backlog(&mut self) {
        if self.samples.len() > BACKLOG {
            let drop = self.samples.len() - BACKLOG;
            self.samples.drain(..drop);
            self.telemetry.add("halyard_store_dropped_total", &[], drop as f64);
        }
    }

    /// Write what is pending.
    pub fn flush(&mut self) {
        if !self.alarms.is_empty() {
            match self.store.save_alarm_events(&self.alarms) {
                Ok(()) => self.alarms.clear(),
                Err(e) => self.errors.report(Instant::now(), || format!("keeping alarm events: {e:#}")),
            }
        }
        if !self.labels.is_empty() {
            match self.store.save_labels(&self.labels) {
                Ok(()) => self.labels.clear(),
                Err(e) => self.errors.report(Instant::now(), || format!("keeping names: {e:#}")),
            }
        }
        if self.samples.is_empty() {
            return;
        }
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            self.bound_backlog();
            return;
        }
        match self.store.write_batch(&self.samples, &mut self.roller) {
            Ok(()) => {
                self.telemetry.add("halyard_store_samples_total", &[], self.samples.len() as f64);
                self.samples.clear();
                self.retry_at = None;
                self.retry_delay = Duration::from_secs(1);
            }
            Err(e) => {
                self.telemetry.inc("halyard_store_errors_total", &[]);
                let wait = self.retry_delay;
                self.retry_at = Some(Instant::now() + wait);
                self.retry_delay = (wait * 2).min(RETRY_MAX);
                self.errors.report(Instant::now(), || {
                    format!(
                        "writing the store failed: {e:#}; keeping {} samples, next attempt in {} s",
                        self.samples.len(),
                        wait.as_secs()
                    )
                });
                self.bound_backlog();
            }
        }
        // Raw retention, checked hourly (by the data's own clock).
        if self.newest.saturating_sub(self.pruned_at) > 3_600_000 {
            self.pruned_at = self.newest;
            if let Err(e) = self.store.prune(self.newest - self.raw_ms, self.newest - self.minute_ms) {
                self.errors.report(Instant::now(), || format!("pruning raw samples: {e:#}"));
            }
        }
    }

    /// Record one change whose time the [`TimeGuard`] believes; a new local day publishes the
    /// report of the one before.
    fn record(&mut self, c: &Change) {
        let day = self.roller.calendar().day_start(c.at);
        if let Some(previous) = self.day.filter(|p| day > *p) {
            self.flush();
            self.publish_report(previous, c.at);
        }
        if self.day.is_none_or(|p| day > p) {
            self.day = Some(day);
        }
        self.mesh_changed |= c.device.name.starts_with("mesh/");
        if let Err(e) = self.take(c) {
            self.errors.report(Instant::now(), || format!("{e:#}"));
        }
    }

    /// Whether the clock's jumps are believed at once (synchronised, or checked by GPS), asked
    /// at most once a second.
    fn synchronised(&mut self) -> Option<bool> {
        if self.sync_asked.is_none_or(|(t, _)| t.elapsed() >= Duration::from_secs(1)) {
            self.sync_asked = Some((Instant::now(), crate::clock::trusted()));
        }
        self.sync_asked.and_then(|(_, s)| s)
    }

    /// Log and count what the [`TimeGuard`] did.
    fn clock_event(&mut self, device: &str, e: Event) {
        let date = |ms: i64| crate::sinks::mqtt::rfc3339(ms);
        let newest = self.guard.newest().map_or_else(|| "none".into(), date);
        match e {
            Event::Rejected { at } => {
                self.telemetry.inc("halyard_store_rejected_total", &[("reason", "implausible_time")]);
                self.clock_errors.report(Instant::now(), || {
                    let when = if at > 0 && at <= super::time_guard::LATEST { date(at) } else { format!("{at} ms") };
                    format!(
                        "a reading of {device} stamped {when} is not recorded: before this build ({}) or beyond year \
                         9999, the clock is not set",
                        date(super::time_guard::BUILD_DATE_MS)
                    )
                });
            }
            Event::Holding { at, off } => tracing::warn!(
                "readings of {device} are stamped {} ({} h {} the newest recorded, {newest}): held back until the clock \
                 comes back or keeps this time for 2 hours",
                date(at),
                off.unsigned_abs() / 3_600_000,
                if off > 0 { "after" } else { "before" }
            ),
            Event::Believed { count } => {
                tracing::warn!("the clock keeps its new time: {count} held readings recorded as stamped")
            }
            Event::Restamped { count, by } => tracing::warn!(
                "the clock came back: {count} held readings recorded at their true times ({} s corrected)",
                by / 1000
            ),
            Event::Dropped { count } => {
                self.telemetry.add("halyard_store_dropped_total", &[], count as f64);
                self.clock_errors.report(Instant::now(), || {
                    format!("{count} readings with a glitched time (now {newest}) were not recorded")
                });
            }
        }
    }

    /// Record until the changes end. Blocking (database clients are synchronous): run it on a
    /// blocking thread. `Input::Tick` arrives every second and flushes the batch.
    pub fn run_blocking(mut self, mut rx: mpsc::Receiver<Input>) -> Result<()> {
        let mut last_flush = Instant::now();
        while let Some(input) = rx.blocking_recv() {
            match input {
                Input::Change(c) => {
                    let device = c.device.name.clone();
                    let mut events = Vec::new();
                    let synchronised = if self.guard.is_live() { self.synchronised() } else { None };
                    for c in self.guard.admit(c, Instant::now(), synchronised, &mut events) {
                        self.record(&c);
                        if self.samples.len() >= BATCH {
                            self.flush();
                            last_flush = Instant::now();
                        }
                    }
                    for e in events {
                        self.clock_event(&device, e);
                    }
                }
                Input::Alarm(e) => {
                    // A store that keeps failing keeps the newest events only.
                    if self.alarms.len() >= 10_000 {
                        self.alarms.remove(0);
                        self.telemetry.inc("halyard_store_dropped_total", &[]);
                    }
                    self.alarms.push(e);
                }
                Input::Acknowledge { alarm, at } => {
                    let event = self.performance.acknowledge(&alarm, at);
                    self.keep_alarms(event.into_iter().collect());
                }
                Input::Tick => {
                    if last_flush.elapsed() >= Duration::from_millis(900) {
                        self.flush();
                        last_flush = Instant::now();
                        self.publish_mesh();
                    }
                }
            }
        }
        self.retry_at = None; // the last chance: try once more whatever the backoff
        self.flush();
        self.mesh_published = None;
        self.publish_mesh();
        if let Some(day) = self.day {
            self.publish_report(day, self.newest);
            self.flush();
        }
        Ok(())
    }
}

/// What the recorder receives.
#[derive(Debug)]
pub enum Input {
    /// A model change.
    Change(Arc<Change>),
    /// A second has passed.
    Tick,
    /// An alarm's event, for the history.
    Alarm(super::AlarmRecord),
    /// The owner acknowledges one of the recorder's own alarms (`alarms::performance`).
    Acknowledge {
        /// Its name.
        alarm: String,
        /// When.
        at: i64,
    },
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;
    use crate::store::rollup::{Aggregate, Calendar, Resolution};

    /// The real SQLite store behind a switch that makes its writes fail as a full disk does.
    struct FillingDisk {
        store: crate::store::sqlite::Store,
        full: Arc<AtomicBool>,
        attempts: Arc<AtomicUsize>,
    }

    impl Backend for FillingDisk {
        fn series_id(&mut self, device: &str, metric: &str, unit: &str) -> Result<u32> {
            self.store.series_id(device, metric, unit)
        }
        fn write_batch(&mut self, samples: &[(u32, i64, f64, Integrate)], roller: &mut Roller) -> Result<()> {
            self.attempts.fetch_add(1, Ordering::Relaxed);
            anyhow::ensure!(!self.full.load(Ordering::Relaxed), "database or disk is full");
            self.store.write_batch(samples, roller)
        }
        fn prune(&mut self, samples_before: i64, minutes_before: i64) -> Result<usize> {
            self.store.prune(samples_before, minutes_before)
        }
        fn samples(&mut self, device: &str, metric: &str, from: i64, to: i64) -> Result<Vec<(i64, f64)>> {
            self.store.samples(device, metric, from, to)
        }
        fn rollups(&mut self, r: Resolution, d: &str, m: &str, from: i64, to: i64) -> Result<Vec<(i64, Aggregate)>> {
            self.store.rollups(r, d, m, from, to)
        }
        fn series(&mut self) -> Result<Vec<(String, String, String)>> {
            self.store.series()
        }
        fn days(&mut self) -> Result<Vec<i64>> {
            self.store.days()
        }
        fn save_report(&mut self, date: &str, json: &str) -> Result<()> {
            self.store.save_report(date, json)
        }
        fn load_report(&mut self, date: &str) -> Result<Option<String>> {
            self.store.load_report(date)
        }
        fn save_labels(&mut self, labels: &[crate::store::Label]) -> Result<()> {
            self.store.save_labels(labels)
        }
        fn labels(&mut self, device: &str) -> Result<std::collections::BTreeMap<String, String>> {
            self.store.labels(device)
        }
        fn save_alarm_events(&mut self, events: &[crate::store::AlarmRecord]) -> Result<()> {
            self.store.save_alarm_events(events)
        }
        fn alarm_events(&mut self, from: i64) -> Result<Vec<crate::store::AlarmRecord>> {
            self.store.alarm_events(from)
        }
    }

    #[test]
    fn a_full_disk_is_retried_with_backoff_and_nothing_is_lost_when_space_returns() {
        let dir = std::env::temp_dir().join(format!("halyard-recorder-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let full = Arc::new(AtomicBool::new(true));
        let attempts = Arc::new(AtomicUsize::new(0));
        let store = crate::store::sqlite::Store::open(&dir.join("h.sqlite")).unwrap();
        let backend = FillingDisk { store, full: full.clone(), attempts: attempts.clone() };
        let telemetry = Arc::new(Telemetry::default());
        let roller = Roller::new(Calendar::utc(), 600_000);
        let mut recorder = Recorder::new(Box::new(backend), roller, (30, 90), telemetry.clone());
        let id = recorder.store.series_id("house-bank", "voltage", "V").unwrap();
        // A busy boat: batch after batch arrives while the disk is full.
        for batch in 0..20i64 {
            recorder
                .samples
                .extend((0..BATCH as i64).map(|k| (id, (batch * BATCH as i64 + k) * 1000, 12.5, Integrate::No)));
            recorder.flush();
        }
        assert_eq!(attempts.load(Ordering::Relaxed), 1, "one attempt, then a wait: no spinning");
        assert_eq!(telemetry.get("halyard_store_errors_total", &[]), 1.0);
        let kept = recorder.samples.len();
        assert_eq!(kept, (20 * BATCH).min(BACKLOG), "kept up to the backlog");

        // Space returns; the wait is over.
        full.store(false, Ordering::Relaxed);
        recorder.retry_at = Some(Instant::now());
        recorder.flush();
        assert!(recorder.samples.is_empty());
        let stored = recorder.store.samples("house-bank", "voltage", 0, i64::MAX).unwrap();
        assert_eq!(stored.len(), kept, "everything kept was written");
        let dropped = telemetry.get("halyard_store_dropped_total", &[]);
        assert_eq!(dropped as usize + kept, 20 * BATCH, "what was not kept is counted");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
