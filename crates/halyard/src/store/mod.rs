//! History (DESIGN.md §5): the recorder sink writes every published value into the store as raw
//! samples and 1-minute, 1-hour and local-day rollups, in batches.

#[cfg(feature = "postgres")]
pub mod postgres;
pub mod recorder;
pub mod rollup;
pub mod sqlite;
pub mod time_guard;

pub use recorder::Recorder;
pub use rollup::{Aggregate, Calendar, Integrate, Resolution, Roller};
pub use sqlite::Store;

use anyhow::Result;

/// The series ids a backend has handed out, by device and metric: looked up by `&str` for every
/// reading recorded, so no key is built (a `(String, String)` key cost two allocations a reading,
/// a tenth of an import's time).
#[derive(Debug, Default)]
pub struct SeriesIds(std::collections::HashMap<String, std::collections::HashMap<String, u32>>);

impl SeriesIds {
    /// The id of `device`'s `metric`, if known.
    pub fn get(&self, device: &str, metric: &str) -> Option<u32> {
        self.0.get(device)?.get(metric).copied()
    }

    /// Remember an id.
    pub fn insert(&mut self, device: &str, metric: &str, id: u32) {
        self.0.entry(device.to_owned()).or_default().insert(metric.to_owned(), id);
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.values().map(|m| m.len()).sum()
    }

    /// None yet.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What the recorder and the report need from a database; SQLite and PostgreSQL behave alike.
pub trait Backend: Send {
    /// The id of a series, created on first use.
    fn series_id(&mut self, device: &str, metric: &str, unit: &str) -> Result<u32>;
    /// Write one batch in one transaction; samples already stored are not counted again; on
    /// error nothing is written and the roller is as before.
    fn write_batch(&mut self, samples: &[(u32, i64, f64, rollup::Integrate)], roller: &mut Roller) -> Result<()>;
    /// Delete raw samples older than `samples_before` and 1-minute rollups older than
    /// `minutes_before` (ms).
    fn prune(&mut self, samples_before: i64, minutes_before: i64) -> Result<usize>;
    /// Raw samples of a series in `[from, to)`.
    fn samples(&mut self, device: &str, metric: &str, from: i64, to: i64) -> Result<Vec<(i64, f64)>>;
    /// Rollups of a series with buckets in `[from, to)`.
    fn rollups(
        &mut self,
        res: Resolution,
        device: &str,
        metric: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, Aggregate)>>;
    /// Every series: (device, metric, unit).
    fn series(&mut self) -> Result<Vec<(String, String, String)>>;
    /// The starts of every local day with a day rollup, in order.
    fn days(&mut self) -> Result<Vec<i64>>;
    /// Keep a day's report as it was when the day ended (its times need raw samples, which
    /// retention deletes).
    fn save_report(&mut self, date: &str, json: &str) -> Result<()>;
    /// A kept report.
    fn load_report(&mut self, date: &str) -> Result<Option<String>>;
    /// Keep the newest text of devices' labels (a Meshtastic node's names): (device, label,
    /// text, time); an older text does not replace a newer one.
    fn save_labels(&mut self, labels: &[Label]) -> Result<()>;
    /// A device's kept labels, label → text.
    fn labels(&mut self, device: &str) -> Result<std::collections::BTreeMap<String, String>>;
    /// Keep alarm events; one already kept (same alarm, kind and time: an import run again) is
    /// not kept twice.
    fn save_alarm_events(&mut self, events: &[AlarmRecord]) -> Result<()>;
    /// Alarm events at or after `from` (ms), in time order.
    fn alarm_events(&mut self, from: i64) -> Result<Vec<AlarmRecord>>;
}

/// An alarm event as kept: the alarm's name, what happened (`raised`, `repeated`,
/// `acknowledged`, `cleared`), when, since when it was active, how loud, about which device and
/// metric, the value then, and the message.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmRecord {
    /// The alarm.
    pub alarm: String,
    /// `raised`, `repeated`, `acknowledged` or `cleared`.
    pub kind: String,
    /// When (ms).
    pub at: i64,
    /// Active since (ms).
    pub since: i64,
    /// `warn`, `alarm` or `emergency`.
    pub severity: String,
    /// The device.
    pub device: String,
    /// The metric (empty for silence).
    pub metric: String,
    /// The value then.
    pub value: Option<f64>,
    /// In words.
    pub message: String,
}

impl From<&crate::alarms::Event> for AlarmRecord {
    fn from(e: &crate::alarms::Event) -> Self {
        AlarmRecord {
            alarm: e.alarm.clone(),
            kind: crate::notify::message::kind_word(e.kind).into(),
            at: e.at,
            since: e.since,
            severity: e.severity.to_string(),
            device: e.device.clone(),
            metric: e.metric.clone(),
            value: e.value,
            message: e.message.clone(),
        }
    }
}

/// A device's text label: (device, label, text, ms).
pub type Label = (String, String, String, i64);

/// The text metrics kept as labels: what names a device (the store otherwise keeps numbers).
pub const LABELS: [&str; 3] = ["long_name", "short_name", "node_id"];

/// Open the configured store for reading: a SQLite file that does not exist yet is an error
/// that says why (rather than an empty history created on the spot).
pub fn open_existing(config: &crate::config::Config) -> Result<Box<dyn Backend>> {
    if config.store.backend == "sqlite" {
        let path = config.store.path.clone().unwrap_or_else(|| config.data_dir().join("halyard.sqlite"));
        anyhow::ensure!(path.exists(), "no history at {} (is [store] enabled and has Halyard run?)", path.display());
    }
    open(config)
}

/// Open the configured store.
pub fn open(config: &crate::config::Config) -> Result<Box<dyn Backend>> {
    match config.store.backend.as_str() {
        "sqlite" => {
            let path = config.store.path.clone().unwrap_or_else(|| config.data_dir().join("halyard.sqlite"));
            tracing::info!("history: {}", path.display());
            Ok(Box::new(Store::open(&path)?))
        }
        #[cfg(feature = "postgres")]
        "postgres" => {
            let url = config
                .store
                .url
                .as_ref()
                .map(|u| u.0.clone())
                .ok_or_else(|| anyhow::anyhow!("[store] backend = \"postgres\" needs `url`"))?;
            tracing::info!("history: PostgreSQL");
            Ok(Box::new(postgres::Store::open(&url)?))
        }
        #[cfg(not(feature = "postgres"))]
        "postgres" => anyhow::bail!("[store] backend = \"postgres\" needs Halyard built with `--features postgres`"),
        other => anyhow::bail!("[store] backend `{other}`: sqlite or postgres"),
    }
}
