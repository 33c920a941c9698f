//! Each MPPT against its own history and its peers (DESIGN.md §5: "is one MPPT degrading?").
//!
//! Arrays on different arches yield differently, so a charger is not compared with its peers'
//! watts but through its **share** of the network's yield: the peers see the same sky, so
//! clouds cancel out and what is left is the charger itself (shading, a failing panel, a loose
//! connector, a dying MPPT). Not entirely: under an overcast sky the light is diffuse, and a
//! steep panel sees less of it than a flat one (a 60° pushpit panel loses a quarter of its
//! share), so a day is compared with days of similar weather.
//!
//! - A day **counts** when the network yielded at least [`MIN_NETWORK_WH`] (on a dark day the
//!   shares are noise).
//! - **brightness** of a day: the median over the chargers of each one's yield divided by its
//!   median yield of the previous [`HISTORY_DAYS`] counting days. A median over chargers, so a
//!   failing one does not dim the day; days are **similar** when their brightness differs by at
//!   most [`SIMILAR`].
//! - **expected share**: the median of the charger's share over the similar days among the
//!   previous [`HISTORY_DAYS`] counting days (at least [`MIN_HISTORY`] of them).
//! - **relative to history**: today's share as a percentage of the expected share.
//! - **underperforming**: relative to history below [`UNDERPERFORMING_PERCENT`] on a counting
//!   day.
//! - **trend**: the least-squares slope of the charger's daily share over the counting days of
//!   the last [`TREND_DAYS`] days (today included, at least [`MIN_TREND`] of them), as a
//!   percentage of its mean share per 30 days; **degrading** when that is below
//!   [`DEGRADING_PERCENT`] over at least [`MIN_DEGRADING`] days. The sun's path moves through
//!   the season and favours one arch over another by a few percent a month, so only a trend
//!   steeper than that is flagged.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use super::series::{median, round};

/// A day counts when the network yielded at least this, Wh.
pub const MIN_NETWORK_WH: f64 = 50.0;
/// Counting days the expected share is the median of.
pub const HISTORY_DAYS: usize = 14;
/// Similar days needed for an expected share.
pub const MIN_HISTORY: usize = 2;
/// Days whose brightness differs by at most this are similar.
pub const SIMILAR: f64 = 0.15;
/// Below this percentage of its expected share, a charger underperforms.
pub const UNDERPERFORMING_PERCENT: f64 = 80.0;
/// Days the trend looks back.
pub const TREND_DAYS: i64 = 90;
/// Counting days needed for a trend.
pub const MIN_TREND: usize = 7;
/// A trend below this (% of the mean share per 30 days) is a degradation.
pub const DEGRADING_PERCENT: f64 = -10.0;
/// Counting days needed to call a trend a degradation.
pub const MIN_DEGRADING: usize = 14;

/// Each charger's yield (Wh) on one local day.
#[derive(Debug, Clone, Default)]
pub struct DayYields {
    /// The day's number (days since 1970-01-01 of its local date).
    pub day: i64,
    /// Yield per charger.
    pub yields: BTreeMap<String, f64>,
}

impl DayYields {
    fn network(&self) -> f64 {
        self.yields.values().sum()
    }

    fn counts(&self) -> bool {
        self.network() >= MIN_NETWORK_WH
    }

    fn share(&self, device: &str) -> Option<f64> {
        let n = self.network();
        self.yields.get(device).filter(|_| n > 0.0).map(|y| 100.0 * y / n)
    }
}

/// One charger's assessment for the last day of a history.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Today's share of the network's yield, %.
    pub share_percent: Option<f64>,
    /// The median share of the previous counting days, %.
    pub expected_share_percent: Option<f64>,
    /// Today's share as a percentage of the expected one.
    pub relative_percent: Option<f64>,
    /// Below [`UNDERPERFORMING_PERCENT`] on a counting day.
    pub underperforming: Option<bool>,
    /// Share trend, % of the mean share per 30 days.
    pub trend_percent_per_30_days: Option<f64>,
    /// Counting days behind the trend.
    pub trend_days: usize,
    /// A steeper decline than the season explains.
    pub degrading: bool,
}

impl Assessment {
    /// As JSON.
    pub fn to_json(&self) -> Json {
        let r = |v: Option<f64>| v.map(|v| round(v, 1));
        json!({
            "share_percent": r(self.share_percent),
            "expected_share_percent": r(self.expected_share_percent),
            "relative_to_history_percent": r(self.relative_percent),
            "underperforming": self.underperforming,
            "trend_percent_per_30_days": r(self.trend_percent_per_30_days),
            "trend_days": self.trend_days,
            "degrading": self.degrading,
        })
    }
}

/// Assess every charger of `days` (in day order) on the last day, with a trend over the last
/// `trend_days` days ([`TREND_DAYS`] in the daily report, the whole season in its summary).
pub fn assess(days: &[DayYields], trend_days: i64) -> BTreeMap<String, Assessment> {
    let Some(today) = days.last() else { return BTreeMap::new() };
    let before = &days[..days.len() - 1];
    let previous: Vec<&DayYields> = before.iter().rev().filter(|d| d.counts()).take(HISTORY_DAYS).collect();
    let usual: BTreeMap<&String, f64> = today
        .yields
        .keys()
        .filter_map(|dev| {
            median(&mut previous.iter().filter_map(|d| d.yields.get(dev).copied()).collect::<Vec<_>>())
                .map(|m| (dev, m))
        })
        .filter(|(_, m)| *m > 0.0)
        .collect();
    let brightness = |d: &DayYields| {
        median(&mut usual.iter().filter_map(|(dev, m)| d.yields.get(*dev).map(|y| y / m)).collect::<Vec<_>>())
    };
    let bright_today = brightness(today);
    let mut out = BTreeMap::new();
    for device in today.yields.keys() {
        let share = today.share(device);
        let mut history: Vec<f64> = previous
            .iter()
            .filter(|d| match (brightness(d), bright_today) {
                (Some(b), Some(t)) => (b - t).abs() <= SIMILAR,
                _ => false,
            })
            .filter_map(|d| d.share(device))
            .collect();
        let expected = if history.len() >= MIN_HISTORY { median(&mut history) } else { None };
        let relative = match (share, expected) {
            (Some(s), Some(e)) if e > 0.0 && today.counts() => Some(100.0 * s / e),
            _ => None,
        };
        let points: Vec<(f64, f64)> = days
            .iter()
            .filter(|d| d.day > today.day - trend_days && d.counts())
            .filter_map(|d| d.share(device).map(|s| (d.day as f64, s)))
            .collect();
        let trend = (points.len() >= MIN_TREND)
            .then(|| slope(&points))
            .flatten()
            .and_then(|(slope, mean)| (mean > 0.0).then(|| 100.0 * slope * 30.0 / mean));
        out.insert(
            device.clone(),
            Assessment {
                share_percent: share,
                expected_share_percent: expected,
                relative_percent: relative,
                underperforming: relative.map(|r| r < UNDERPERFORMING_PERCENT),
                trend_percent_per_30_days: trend,
                trend_days: points.len(),
                degrading: trend.is_some_and(|t| t < DEGRADING_PERCENT) && points.len() >= MIN_DEGRADING,
            },
        );
    }
    out
}

/// Least-squares slope of `y` over `x`, and the mean of `y`.
fn slope(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    let (mx, my) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let (sxy, sxx) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + (x - mx) * (y - my), b + (x - mx).powi(2)));
    (sxx > 0.0).then(|| (sxy / sxx, my))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(day: i64, a: f64, b: f64) -> DayYields {
        DayYields { day, yields: [("a".to_owned(), a), ("b".to_owned(), b)].into_iter().collect() }
    }

    #[test]
    fn a_charger_that_halves_is_flagged_and_its_peer_is_not() {
        // Different weather every day; `a` always 40 % of the network, until it halves.
        let mut days: Vec<DayYields> =
            (0..10).map(|i| day(i, 400.0 + 100.0 * (i % 3) as f64, 600.0 + 150.0 * (i % 3) as f64)).collect();
        let r = assess(&days, TREND_DAYS);
        assert!((r["a"].expected_share_percent.unwrap() - 40.0).abs() < 1e-9);
        assert_eq!(r["a"].underperforming, Some(false));
        assert_eq!(r["b"].underperforming, Some(false));
        days.push(day(10, 250.0, 750.0));
        let r = assess(&days, TREND_DAYS);
        // 25 % of the network instead of 40 %: 62.5 % of its expected share.
        assert!((r["a"].relative_percent.unwrap() - 62.5).abs() < 1e-9);
        assert_eq!(r["a"].underperforming, Some(true));
        // Its peer gained share: not underperforming.
        assert_eq!(r["b"].underperforming, Some(false));
    }

    #[test]
    fn dark_days_neither_count_nor_flag() {
        let mut days: Vec<DayYields> = (0..5).map(|i| day(i, 400.0, 600.0)).collect();
        days.push(day(5, 5.0, 30.0));
        let r = assess(&days, TREND_DAYS);
        assert_eq!(r["a"].underperforming, None);
        assert_eq!(r["a"].expected_share_percent, None, "no day is like a dark day");
        assert!((r["a"].share_percent.unwrap() - 100.0 * 5.0 / 35.0).abs() < 1e-9);
        // Too little history: no expectation.
        let r = assess(&days[..2], TREND_DAYS);
        assert_eq!(r["a"].expected_share_percent, None);
        assert_eq!(r["a"].underperforming, None);
    }

    #[test]
    fn a_slow_decline_is_a_trend() {
        // `a` loses 1 % of its output a day over 30 days: its share goes from 50 % to 41.5 %,
        // about −0.29 points a day around a mean of 45.9 %: −19 % of its share per 30 days.
        let days: Vec<DayYields> = (0..30).map(|i| day(i, 500.0 * (1.0 - 0.01 * i as f64), 500.0)).collect();
        let r = assess(&days, TREND_DAYS);
        let t = r["a"].trend_percent_per_30_days.unwrap();
        assert!((-20.0..-18.0).contains(&t), "{t}");
        assert!(r["a"].degrading);
        assert!(r["b"].trend_percent_per_30_days.unwrap() > 10.0);
        assert!(!r["b"].degrading);
        assert_eq!(r["a"].trend_days, 30);
    }
}
