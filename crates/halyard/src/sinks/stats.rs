//! Statistics topics (monitorPowerToMQTT's data-augmentation list): for every numeric metric,
//! min, max, average and median over clock-aligned windows (15 minutes by default), published
//! retained on `<root>/stats/<device>/<metric>` when a window ends.
//!
//! A value holds until the next one (the model publishes on change), so min and max include
//! the value held at the window's start, and the average is weighted by how long each value
//! held. The median is that of the values reported in the window (and the held one).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use tokio::sync::mpsc;

use super::outbox::Message;
use crate::model::{Change, Reading};

/// One series' current window.
#[derive(Debug, Clone)]
struct Window {
    start: i64,
    /// From when a value is known in this window (the start, unless the series began inside it).
    from: i64,
    values: Vec<f64>,
    weighted: f64,
    last: (i64, f64),
}

/// The statistics of one finished window.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Window start, ms.
    pub start: i64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Time-weighted average.
    pub avg: f64,
    /// Median of the values.
    pub median: f64,
    /// Values reported in the window.
    pub samples: usize,
}

/// The accumulator for every series.
#[derive(Debug)]
pub struct Stats {
    window_ms: i64,
    series: HashMap<(String, String), Window>,
}

impl Stats {
    /// Windows of `minutes`.
    pub fn new(minutes: u32) -> Self {
        Stats { window_ms: i64::from(minutes.max(1)) * 60_000, series: HashMap::new() }
    }

    fn close(w: &Window, end: i64) -> Summary {
        let mut values = w.values.clone();
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 };
        let weighted = w.weighted + w.last.1 * (end - w.last.0) as f64;
        Summary {
            start: w.start,
            min: values[0],
            max: values[n - 1],
            avg: if end > w.from { weighted / (end - w.from) as f64 } else { w.last.1 },
            median,
            samples: n,
        }
    }

    /// A value of `device`/`metric` at `at`; returns the windows it closed.
    pub fn add(&mut self, device: &str, metric: &str, at: i64, v: f64) -> Vec<Summary> {
        let start = at - at.rem_euclid(self.window_ms);
        let key = (device.to_owned(), metric.to_owned());
        let mut closed = Vec::new();
        match self.series.get_mut(&key) {
            Some(w) if at < w.last.0 => {} // out of order: ignored
            Some(w) if start == w.start => {
                w.weighted += w.last.1 * (at - w.last.0) as f64;
                w.values.push(v);
                w.last = (at, v);
            }
            Some(w) => {
                closed.push(Stats::close(w, w.start + self.window_ms));
                // Windows with no report at all hold the last value throughout; the new window
                // starts with the held value.
                let held = w.last.1;
                let values = if at == start { vec![v] } else { vec![held, v] };
                *w = Window { start, from: start, values, weighted: held * (at - start) as f64, last: (at, v) };
            }
            None => {
                // Nothing is known before the first value.
                self.series.insert(key, Window { start, from: at, values: vec![v], weighted: 0.0, last: (at, v) });
            }
        }
        closed
    }

    /// The window length, ms.
    pub fn window_ms(&self) -> i64 {
        self.window_ms
    }
}

/// Run the statistics over the changes, sending messages to the MQTT sink.
pub async fn run(minutes: u32, root: String, qos: u8, mut rx: mpsc::Receiver<Arc<Change>>, tx: mpsc::Sender<Message>) {
    let mut stats = Stats::new(minutes);
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    while let Some(change) = rx.recv().await {
        for m in &change.changed {
            let Some(Reading::Number(v)) = m.value else { continue };
            for s in stats.add(&change.device.name, &m.name, change.at, v) {
                let payload = json!({
                    "min": round(s.min),
                    "max": round(s.max),
                    "avg": round(s.avg),
                    "median": round(s.median),
                    "samples": s.samples,
                    "window": format!("{}/PT{}M", super::mqtt::rfc3339(s.start), stats.window_ms() / 60_000),
                    "unit": m.unit,
                });
                let topic = format!("{root}/stats/{}/{}", change.device.name, m.name);
                if tx
                    .send(Message { topic, payload: payload.to_string().into_bytes(), retain: true, qos })
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_of_held_values() {
        let mut s = Stats::new(15);
        let m = 60_000;
        assert!(s.add("d", "p", 0, 10.0).is_empty());
        assert!(s.add("d", "p", 5 * m, 40.0).is_empty());
        assert!(s.add("d", "p", 10 * m, 20.0).is_empty());
        let closed = s.add("d", "p", 16 * m, 0.0);
        assert_eq!(closed.len(), 1);
        let w = &closed[0];
        // 10 for 5 min, 40 for 5 min, 20 for 5 min.
        assert_eq!((w.start, w.min, w.max, w.median, w.samples), (0, 10.0, 40.0, 20.0, 3));
        assert!((w.avg - 70.0 / 3.0).abs() < 1e-9, "{w:?}");
        // The next window starts with the held 20, then 0 from minute 16.
        let closed = s.add("d", "p", 31 * m, 5.0);
        let w = &closed[0];
        assert_eq!((w.start, w.min, w.max, w.samples), (15 * m, 0.0, 20.0, 2));
        assert!((w.avg - 20.0 / 15.0).abs() < 1e-9, "{w:?}");
    }
}
