//! Built-in: an MPPT the daily report finds underperforming (its share of the network's yield
//! below 80 % of its usual one on days of similar weather) raises `<device>-underperforming`,
//! and one whose share has been falling faster than the season explains raises
//! `<device>-degrading` — both `warn`, both judged once a day by `report::performance`, and
//! cleared by the first report that no longer finds it. A day too dark to judge changes
//! nothing.
//!
//! The report is made where the history is (the recorder), so this watch lives there too; the
//! gateway hears its events to publish and notify them, and hands it acknowledgements.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Event, EventKind, Severity};
use crate::model::Millis;

const UNDERPERFORMING: &str = "underperforming";
const DEGRADING: &str = "degrading";

/// An active alarm: since, acknowledged at, its device and metric, what it said.
#[derive(Debug, Clone)]
struct Active {
    since: Millis,
    acknowledged: Option<Millis>,
    device: String,
    metric: &'static str,
    value: Option<f64>,
    message: String,
}

/// The MPPTs' performance alarms.
#[derive(Debug, Default)]
pub struct PerformanceWatch {
    active: BTreeMap<String, Active>,
}

impl PerformanceWatch {
    /// Whether `alarm` is one of this watch's.
    pub fn owns(alarm: &str) -> bool {
        alarm.ends_with(&format!("-{UNDERPERFORMING}")) || alarm.ends_with(&format!("-{DEGRADING}"))
    }

    /// A day's report (`report::daily`'s `mppt` object: each charger's assessment), made at `at`.
    pub fn report(&mut self, at: Millis, mppt: &Value, out: &mut Vec<Event>) {
        let Some(chargers) = mppt.as_object() else { return };
        for (device, a) in chargers {
            let relative = a["relative_to_history_percent"].as_f64();
            let under = a["underperforming"].as_bool();
            let words = relative.map(|r| {
                format!(
                    "{device} made {r:.0} % of its usual share of the network's yield (share {:.1} %, usually {:.1} %)",
                    a["share_percent"].as_f64().unwrap_or(f64::NAN),
                    a["expected_share_percent"].as_f64().unwrap_or(f64::NAN)
                )
            });
            self.judge(device, UNDERPERFORMING, "relative_to_history_percent", under, relative, words, at, out);
            let trend = a["trend_percent_per_30_days"].as_f64();
            let words = trend.map(|t| {
                format!(
                    "{device}'s share of the network's yield is falling {:.0} % per 30 days (over {} days)",
                    -t,
                    a["trend_days"].as_u64().unwrap_or(0)
                )
            });
            let degrading = a["degrading"].as_bool().filter(|d| *d || trend.is_some());
            self.judge(device, DEGRADING, "trend_percent_per_30_days", degrading, trend, words, at, out);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn judge(
        &mut self,
        device: &str,
        what: &str,
        metric: &'static str,
        verdict: Option<bool>,
        value: Option<f64>,
        words: Option<String>,
        at: Millis,
        out: &mut Vec<Event>,
    ) {
        let name = format!("{device}-{what}");
        match (verdict, self.active.contains_key(&name)) {
            (Some(true), false) => {
                let a = Active {
                    since: at,
                    acknowledged: None,
                    device: device.to_owned(),
                    metric,
                    value,
                    message: words.unwrap_or_else(|| format!("{device} is {what}")),
                };
                out.push(event(&name, &a, EventKind::Raised, at, a.message.clone()));
                self.active.insert(name, a);
            }
            (Some(false), true) => {
                if let Some(mut a) = self.active.remove(&name) {
                    a.value = value;
                    out.push(event(&name, &a, EventKind::Cleared, at, format!("{device} is no longer {what}")));
                }
            }
            _ => {}
        }
    }

    /// The owner knows: acknowledged (once).
    pub fn acknowledge(&mut self, alarm: &str, at: Millis) -> Option<Event> {
        let a = self.active.get_mut(alarm)?;
        if a.acknowledged.is_some() {
            return None;
        }
        a.acknowledged = Some(at);
        let a = a.clone();
        Some(event(alarm, &a, EventKind::Acknowledged, at, a.message.clone()))
    }
}

fn event(name: &str, a: &Active, kind: EventKind, at: Millis, message: String) -> Event {
    Event {
        alarm: name.to_owned(),
        kind,
        at,
        since: if kind == EventKind::Raised { at } else { a.since },
        severity: Severity::Warn,
        device: a.device.clone(),
        metric: a.metric.to_owned(),
        value: a.value,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn day(relative: Option<f64>, under: Option<bool>, trend: Option<f64>, degrading: bool) -> Value {
        json!({"stbd-arch": {"share_percent": 14.0, "expected_share_percent": 22.6, "relative_to_history_percent": relative,
               "underperforming": under, "trend_percent_per_30_days": trend, "trend_days": 21, "degrading": degrading}})
    }

    #[test]
    fn raised_by_one_report_kept_through_a_dark_day_and_cleared_by_a_good_one() {
        let mut w = PerformanceWatch::default();
        let mut out = Vec::new();
        w.report(1, &day(Some(62.0), Some(true), Some(-3.0), false), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].alarm.as_str(), out[0].kind, out[0].severity),
            ("stbd-arch-underperforming", EventKind::Raised, Severity::Warn)
        );
        assert!(out[0].message.contains("made 62 % of its usual share"), "{}", out[0].message);
        w.report(2, &day(None, None, None, false), &mut out);
        assert_eq!(out.len(), 1, "a dark day decides nothing");
        assert!(w.acknowledge("stbd-arch-underperforming", 3).is_some());
        assert!(w.acknowledge("stbd-arch-underperforming", 4).is_none(), "once");
        w.report(5, &day(Some(97.0), Some(false), Some(-12.0), true), &mut out);
        let kinds: Vec<(&str, EventKind)> = out[1..].iter().map(|e| (e.alarm.as_str(), e.kind)).collect();
        assert_eq!(
            kinds,
            [("stbd-arch-underperforming", EventKind::Cleared), ("stbd-arch-degrading", EventKind::Raised)]
        );
        assert!(out[2].message.contains("falling 12 % per 30 days (over 21 days)"), "{}", out[2].message);
        w.report(6, &day(Some(97.0), Some(false), Some(-2.0), false), &mut out);
        assert_eq!((out[3].alarm.as_str(), out[3].kind), ("stbd-arch-degrading", EventKind::Cleared));
        assert!(PerformanceWatch::owns("stbd-arch-degrading") && !PerformanceWatch::owns("stbd-arch-silent"));
    }
}
