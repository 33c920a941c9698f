//! Ground truth of the navigation side, per local day: what the instruments said (the true wind
//! and apparent wind as printed), where the boat really went (its unrounded path), where it
//! stayed, when the GPS had no fix, and what the mesh delivered. The answers (`halyard nav`,
//! `halyard mesh`) are checked against these; they are computed here with their definitions
//! written out again (nav::answers, mesh::answers), on the simulator's own values.

use serde_json::{json, Value as Json};

use super::radios::RangeTest;
use crate::sinks::mqtt::rfc3339;

/// One local day.
#[derive(Debug, Clone, Default)]
pub struct NavDay {
    /// The day's wind pattern.
    pub pattern: &'static str,
    /// True wind speed as printed, kn, at each instrument sample.
    pub true_wind: Vec<(i64, f64)>,
    /// Highest apparent wind as printed: (kn, at).
    pub max_apparent: Option<(f64, i64)>,
    /// Metres sailed: the unrounded path between fixes, under way (not swinging at anchor).
    pub distance_m: f64,
    /// Stays that ended or were under way this day: (place, from, to).
    pub stays: Vec<(&'static str, (f64, f64), i64, i64)>,
    /// GPS fix losses: (first sample without a fix, first sample with one again).
    pub fix_losses: Vec<(i64, i64)>,
    /// Direct position receptions: (node, at, where, distance m).
    pub direct: Vec<(u32, i64, (f64, f64), f64)>,
    /// Range-test packets sent.
    pub range_tests: Vec<RangeTest>,
    /// The boat's position at the day's last sample.
    pub boat_at_end: Option<(f64, f64)>,
}

/// The highest mean over any `window` ms of a step function (each value holding until the
/// next, at most 15 minutes), whose window ends in `[from, to]`: (mean, end). Written apart
/// from `nav::highest_window_mean`: windows start or end on a sample; the mean is summed
/// piece by piece.
pub fn highest_mean(samples: &[(i64, f64)], window: i64, from: i64, to: i64) -> Option<(f64, i64)> {
    const HOLD: i64 = 15 * 60_000;
    let held = |t: i64| -> Option<f64> {
        let i = samples.partition_point(|(s, _)| *s <= t);
        let (s, v) = *samples.get(i.checked_sub(1)?)?;
        (t - s < HOLD).then_some(v)
    };
    let mean = |end: i64| -> Option<f64> {
        // Every change inside the window, plus its start.
        let start = end - window;
        let inside = |a: i64, b: i64| {
            let (i, j) = (samples.partition_point(|(t, _)| *t <= a), samples.partition_point(|(t, _)| *t < b));
            samples[i..j.max(i)].iter().map(|(t, _)| *t)
        };
        let mut cuts = vec![start];
        cuts.extend(inside(start, end));
        cuts.extend(inside(start - HOLD, end - HOLD).map(|t| t + HOLD));
        cuts.sort_unstable();
        cuts.push(end);
        let mut sum = 0.0;
        for w in cuts.windows(2) {
            sum += held(w[0])? * (w[1] - w[0]) as f64;
        }
        Some(sum / window as f64)
    };
    let mut best: Option<(f64, i64)> = None;
    for &(t, _) in samples {
        for end in [t, t + window] {
            if end < from || end > to {
                continue;
            }
            if let Some(m) = mean(end) {
                if best.is_none_or(|(b, _)| m > b + 1e-12) {
                    best = Some((m, end));
                }
            }
        }
    }
    best
}

impl NavDay {
    /// As JSON; `previous` is the day before (its last wind readings hold into this one);
    /// `[start, end)` the local day.
    pub fn to_json(&self, previous: Option<&NavDay>, start: i64, end: i64, node_name: impl Fn(u32) -> String) -> Json {
        let mut wind: Vec<(i64, f64)> = previous.map(|p| p.true_wind.clone()).unwrap_or_default();
        wind.extend(&self.true_wind);
        let gust = highest_mean(&wind, crate::nav::GUST_WINDOW_MS, start, end);
        let direct = self.direct.iter().copied().reduce(|a, b| if b.3 > a.3 { b } else { a });
        let last = |num: u32| {
            self.direct
                .iter()
                .rev()
                .find(|d| d.0 == num)
                .map(|(_, at, p, _)| json!({"lat": p.0, "lon": p.1, "at": rfc3339(*at)}))
        };
        json!({
            "wind": self.pattern,
            "max_gust_kn": gust.map(|(v, _)| crate::json::round(v, 2)),
            "max_gust_at": gust.map(|(_, t)| rfc3339(t)),
            "max_apparent_wind_kn": self.max_apparent.map(|(v, _)| v),
            "max_apparent_wind_at": self.max_apparent.map(|(_, t)| rfc3339(t)),
            "distance_nm": crate::json::round(self.distance_m / 1852.0, 3),
            "stays": self.stays.iter().map(|(name, p, a, b)| json!({"place": name, "lat": p.0, "lon": p.1, "from": rfc3339(*a), "to": rfc3339(*b)})).collect::<Vec<_>>(),
            "fix_losses": self.fix_losses.iter().map(|(a, b)| json!({"from": rfc3339(*a), "to": rfc3339(*b), "seconds": (b - a) / 1000})).collect::<Vec<_>>(),
            "boat_at_end": self.boat_at_end.map(|p| json!({"lat": p.0, "lon": p.1})),
            "mesh": {
                "max_direct_range_m": direct.map(|d| crate::json::round(d.3, 1)),
                "max_direct_range_node": direct.map(|d| node_name(d.0)),
                "dinghy_last_heard": last(super::radios::DINGHY.num),
                "crew_last_heard": last(super::radios::CREW.num),
                "range_test": self.range_tests.iter().map(|r| json!({
                    "seq": r.seq, "at": rfc3339(r.at), "lat": r.from.0, "lon": r.from.1,
                    "distance_m": crate::json::round(r.distance_m, 1), "heard": r.heard,
                })).collect::<Vec<_>>(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_mean_of_held_values() {
        // 10 kn a second, a 2-second puff of 25 kn: the best 3 s hold 25, 25, 10.
        let s: Vec<(i64, f64)> =
            (0..200).map(|i| (i * 1000, if (100..102).contains(&i) { 25.0 } else { 10.0 })).collect();
        let (v, end) = highest_mean(&s, 3000, 0, 300_000).unwrap();
        assert!((v - 20.0).abs() < 1e-9, "{v}");
        assert!((101_000..=103_000).contains(&end));
        // Every 5 s: a value holds its 5 s.
        let s = [(0, 10.0), (5_000, 30.0), (10_000, 10.0)];
        assert_eq!(highest_mean(&s, 3000, 0, 20_000).map(|x| x.0), Some(30.0));
        // A value older than 15 minutes holds no more.
        assert_eq!(highest_mean(&[(0, 5.0)], 3000, 1_000_000, 2_000_000), None);
    }
}
