//! Prometheus counters and gauges (DESIGN.md §6: every dropped frame, checksum failure, decrypt
//! failure or full queue is counted and exposed).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use crate::model::Identity;

/// A metric's Prometheus type and help text.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
}

const FAMILIES: &[Family] = &[
    Family {
        name: "halyard_frames_total",
        kind: "counter",
        help: "Frames, adverts, blocks and messages received, by source.",
    },
    Family {
        name: "halyard_decode_errors_total",
        kind: "counter",
        help: "Input that could not be used, by source and kind.",
    },
    Family {
        name: "halyard_updates_total",
        kind: "counter",
        help: "Decoded updates handed to the model, by protocol.",
    },
    Family { name: "halyard_mqtt_publishes_total", kind: "counter", help: "MQTT messages acknowledged by the broker." },
    Family {
        name: "halyard_mqtt_dropped_total",
        kind: "counter",
        help: "MQTT messages dropped because the outbox was full.",
    },
    Family { name: "halyard_mqtt_outbox_depth", kind: "gauge", help: "MQTT messages waiting in the outbox." },
    Family { name: "halyard_mqtt_connected", kind: "gauge", help: "1 while connected to the broker." },
    Family { name: "halyard_influx_points_total", kind: "counter", help: "Points InfluxDB accepted." },
    Family {
        name: "halyard_influx_rejected_points_total",
        kind: "counter",
        help: "Points in batches InfluxDB refused as bad data (HTTP 400), not sent again.",
    },
    Family {
        name: "halyard_influx_dropped_total",
        kind: "counter",
        help: "InfluxDB batches dropped because the outbox was full.",
    },
    Family { name: "halyard_influx_outbox_depth", kind: "gauge", help: "InfluxDB batches waiting in the outbox." },
    Family {
        name: "halyard_influx_errors_total",
        kind: "counter",
        help: "InfluxDB writes that failed and will be tried again.",
    },
    Family { name: "halyard_source_up", kind: "gauge", help: "1 while a source is open and delivering, by source." },
    Family {
        name: "halyard_source_reconnects_total",
        kind: "counter",
        help: "Times a source was reopened, by source.",
    },
    Family {
        name: "halyard_source_last_heard_timestamp_seconds",
        kind: "gauge",
        help: "When a source last delivered a frame (Unix time), by source.",
    },
    Family {
        name: "halyard_ble_duplicates_total",
        kind: "counter",
        help: "Bluetooth adverts already taken from another receiver (adapter, proxy, gateway), by receiver.",
    },
    Family {
        name: "halyard_source_errors_total",
        kind: "counter",
        help: "Connections to a network source (a proxy, a GX) that failed or ended, by source and kind.",
    },
    Family {
        name: "halyard_notifications_total",
        kind: "counter",
        help: "Alarm notifications by notifier and result (sent, failed, retried, dropped).",
    },
    Family {
        name: "halyard_log_lines_suppressed_total",
        kind: "counter",
        help: "Remote log lines withheld by the rate limit.",
    },
];

/// The process's metrics.
#[derive(Debug, Default)]
pub struct Telemetry {
    values: Mutex<BTreeMap<(&'static str, String), f64>>,
    heard: Mutex<BTreeMap<Identity, Heard>>,
    /// The boat's own values (`halyard_battery_voltage_volts{device="house-bank"}`).
    pub boat: super::values::Values,
}

/// At most this many identities are counted one by one (a marina full of other boats'
/// Victron devices must not grow the table without end); the rest only in the totals.
const MAX_HEARD: usize = 512;

/// What one identity on the wire (a Bluetooth address, a serial, a MasterBus device) sent,
/// for the dashboard's devices page. Not exported to Prometheus: one series per neighbour's
/// device would be unbounded there.
#[derive(Debug, Clone, Default)]
pub struct Heard {
    /// Frames or adverts received from it.
    pub frames: u64,
    /// Those that could not be used, by kind.
    pub errors: BTreeMap<&'static str, u64>,
    /// Whether the latest one decoded (`Err(kind)` when it did not).
    pub last: Option<Result<(), &'static str>>,
    /// Who heard it live: adverts per receiver and the best signal each had.
    pub receivers: BTreeMap<String, Reception>,
}

/// One receiver's view of one device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reception {
    /// Adverts it passed on.
    pub adverts: u64,
    /// The strongest signal, dBm.
    pub best_rssi: Option<i8>,
}

impl Reception {
    /// Count `other`'s adverts in, keeping the stronger signal.
    pub fn merge(&mut self, other: &Reception) {
        self.adverts += other.adverts;
        self.best_rssi = self.best_rssi.max(other.best_rssi);
    }
}

/// The inverse of [`label_text`].
fn parse_labels(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => {}
                },
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.push((key.trim_start_matches(',').to_owned(), value));
        rest = &after[end..];
    }
    out
}

fn label_text(labels: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Counted on every frame: escape (and allocate) only the rare value that needs it.
        if v.contains(['\\', '"', '\n']) {
            let escaped = v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            let _ = write!(out, "{k}=\"{escaped}\"");
        } else {
            let _ = write!(out, "{k}=\"{v}\"");
        }
    }
    out
}

impl Telemetry {
    /// A frame (an advert, a block, a message) from `source` received at `at`: counted, and the
    /// source's last-heard time moved on (the devices page's "last heard", a stale-source alert).
    pub fn frame(&self, source: &str, at: crate::model::Millis) {
        let labels = label_text(&[("source", source)]);
        let mut m = self.values.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry(("halyard_frames_total", labels.clone())).or_insert(0.0) += 1.0;
        let last = m.entry(("halyard_source_last_heard_timestamp_seconds", labels)).or_insert(0.0);
        *last = last.max(at as f64 / 1000.0);
    }

    fn heard_entry(&self, id: &Identity, f: impl FnOnce(&mut Heard)) {
        let mut m = self.heard.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = m.get_mut(id) {
            f(h);
        } else if m.len() < MAX_HEARD {
            f(m.entry(id.clone()).or_default());
        }
    }

    /// `receiver` heard `id` (with `rssi`, when it says).
    pub fn heard_by(&self, id: &Identity, receiver: &str, rssi: Option<i8>) {
        self.heard_entry(id, |h| {
            let r = match h.receivers.get_mut(receiver) {
                Some(r) => r,
                None => h.receivers.entry(receiver.to_owned()).or_default(),
            };
            r.merge(&Reception { adverts: 1, best_rssi: rssi });
        });
    }

    /// A frame from `id` that decoded.
    pub fn heard_ok(&self, id: &Identity) {
        self.heard_entry(id, |h| {
            h.frames += 1;
            h.last = Some(Ok(()));
        });
    }

    /// A frame from `id` that could not be used.
    pub fn heard_error(&self, id: &Identity, kind: &'static str) {
        self.heard_entry(id, |h| {
            h.frames += 1;
            *h.errors.entry(kind).or_default() += 1;
            h.last = Some(Err(kind));
        });
    }

    /// Everything heard, by identity.
    pub fn heard(&self) -> BTreeMap<Identity, Heard> {
        self.heard.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Every label set of a family with its value, labels as (name, value) pairs.
    pub fn family(&self, name: &'static str) -> Vec<(Vec<(String, String)>, f64)> {
        let m = self.values.lock().unwrap_or_else(|e| e.into_inner());
        m.iter().filter(|((n, _), _)| *n == name).map(|((_, labels), v)| (parse_labels(labels), *v)).collect()
    }

    /// Add 1.
    pub fn inc(&self, name: &'static str, labels: &[(&str, &str)]) {
        self.add(name, labels, 1.0);
    }

    /// Add `v`.
    pub fn add(&self, name: &'static str, labels: &[(&str, &str)], v: f64) {
        let mut m = self.values.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry((name, label_text(labels))).or_insert(0.0) += v;
    }

    /// Set a gauge.
    pub fn set(&self, name: &'static str, labels: &[(&str, &str)], v: f64) {
        let mut m = self.values.lock().unwrap_or_else(|e| e.into_inner());
        m.insert((name, label_text(labels)), v);
    }

    /// Read one value (0 when never set).
    pub fn get(&self, name: &'static str, labels: &[(&str, &str)]) -> f64 {
        let m = self.values.lock().unwrap_or_else(|e| e.into_inner());
        m.get(&(name, label_text(labels))).copied().unwrap_or(0.0)
    }

    /// The sum over every label set of a family.
    pub fn total(&self, name: &'static str) -> f64 {
        let m = self.values.lock().unwrap_or_else(|e| e.into_inner());
        m.iter().filter(|((n, _), _)| *n == name).map(|(_, v)| v).sum::<f64>() + 0.0
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let m = self.values.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        for f in FAMILIES {
            let _ = writeln!(out, "# HELP {} {}\n# TYPE {} {}", f.name, f.help, f.name, f.kind);
            for ((name, labels), v) in m.iter().filter(|((n, _), _)| *n == f.name) {
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {v}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {v}");
                }
            }
        }
        self.boat.render(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_sets_read_back_and_heard_identities() {
        let t = Telemetry::default();
        t.inc("halyard_decode_errors_total", &[("source", "tty\"a\\b"), ("kind", "checksum")]);
        let f = t.family("halyard_decode_errors_total");
        assert_eq!(
            f[0].0,
            vec![("source".to_owned(), "tty\"a\\b".to_owned()), ("kind".to_owned(), "checksum".to_owned())]
        );
        let mac = Identity::Mac([1, 2, 3, 4, 5, 6]);
        t.heard_error(&mac, "key_mismatch");
        t.heard_ok(&mac);
        let h = &t.heard()[&mac];
        assert_eq!((h.frames, h.errors["key_mismatch"], h.last), (2, 1, Some(Ok(()))));
        for i in 0..600u32 {
            t.heard_ok(&Identity::MasterBus(i));
        }
        assert_eq!(t.heard().len(), MAX_HEARD, "bounded");
    }

    #[test]
    fn renders_prometheus_text() {
        let t = Telemetry::default();
        t.inc("halyard_decode_errors_total", &[("source", "ttyUSB0"), ("kind", "checksum")]);
        t.inc("halyard_decode_errors_total", &[("source", "ttyUSB0"), ("kind", "checksum")]);
        t.set("halyard_mqtt_outbox_depth", &[], 3.0);
        let text = t.render();
        assert!(text.contains("halyard_decode_errors_total{source=\"ttyUSB0\",kind=\"checksum\"} 2\n"), "{text}");
        assert!(text.contains("# TYPE halyard_mqtt_outbox_depth gauge\nhalyard_mqtt_outbox_depth 3\n"), "{text}");
        assert_eq!(t.total("halyard_decode_errors_total"), 2.0);
    }
}
