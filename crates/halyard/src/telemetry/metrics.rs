//! Prometheus counters and gauges (DESIGN.md §6: every dropped frame, checksum failure, decrypt
//! failure or full queue is counted and exposed).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

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
    Family { name: "halyard_source_up", kind: "gauge", help: "1 while a source is open and delivering, by source." },
    Family {
        name: "halyard_source_reconnects_total",
        kind: "counter",
        help: "Times a source was reopened, by source.",
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
}

fn label_text(labels: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let escaped = v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
        let _ = write!(out, "{k}=\"{escaped}\"");
    }
    out
}

impl Telemetry {
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
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
