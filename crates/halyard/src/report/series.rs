//! Recorded samples as step functions: a value holds from its sample until the next one, for at
//! most [`MAX_HOLD_MS`] (the store's rule, `store::rollup`), so a gap in the data is neither a
//! steady value nor energy.

pub use crate::json::round;
use crate::store::rollup::MAX_HOLD_MS;

/// Samples `(ms, value)` in time order, read as a step function.
#[derive(Debug, Clone, Copy)]
pub struct Held<'a>(pub &'a [(i64, f64)]);

impl Held<'_> {
    /// The value at `t`: the last sample at or before it, unless older than the hold.
    pub fn at(&self, t: i64) -> Option<f64> {
        match self.0.partition_point(|(ts, _)| *ts <= t) {
            0 => None,
            i => {
                let (ts, v) = self.0[i - 1];
                (t - ts <= MAX_HOLD_MS).then_some(v)
            }
        }
    }

    /// Energy in Wh of the held power over `[from, to)`, counting only values `keep` accepts.
    /// As in the rollups, nothing is counted across a gap: a value followed by silence longer
    /// than the hold ends at its sample. The last value holds for the hold (or to `to`).
    pub fn energy(&self, from: i64, to: i64, keep: impl Fn(f64) -> bool) -> f64 {
        let s = self.0;
        let mut wh = 0.0;
        for (i, &(t0, v)) in s.iter().enumerate() {
            let until = match s.get(i + 1) {
                Some(&(next, _)) if next - t0 <= MAX_HOLD_MS => next,
                Some(_) => t0,
                None => t0.saturating_add(MAX_HOLD_MS),
            }
            .min(to);
            let since = t0.max(from);
            if until > since && keep(v) {
                wh += v * (until - since) as f64 / 3_600_000.0;
            }
        }
        wh
    }
}

/// Periods longer than the hold without a sample, within `[from, to)`. `times` must include the
/// last sample before `from` and the first at or after `to` when they exist: silence at the end
/// of the data (a day still running, the end of an import) is not a gap.
pub fn gaps(times: &[i64], from: i64, to: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut previous = times.first().copied().filter(|t| *t <= from).unwrap_or(from);
    for &t in times.iter().filter(|t| **t > from) {
        if t - previous > MAX_HOLD_MS {
            let (a, b) = (previous.max(from), t.min(to));
            if b > a {
                out.push((a, b));
            }
        }
        previous = t;
        if t >= to {
            break;
        }
    }
    out
}

/// The median of `v` (sorted in place); `None` when empty.
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn values_hold_until_the_next_sample_or_the_hold() {
        let s = [(0, 10.0), (MIN, 20.0), (60 * MIN, 30.0)];
        let h = Held(&s);
        assert_eq!(h.at(-1), None);
        assert_eq!(h.at(30_000), Some(10.0));
        assert_eq!(h.at(MIN + 15 * MIN), Some(20.0));
        assert_eq!(h.at(MIN + 15 * MIN + 1), None, "past the hold: a gap");
        // 10 W for 1 min, nothing across the gap, 30 W for 15 min at the end.
        let wh = h.energy(0, 120 * MIN, |_| true);
        assert!((wh - (10.0 / 60.0 + 30.0 * 0.25)).abs() < 1e-9, "{wh}");
        // Clipped to the window, filtered by sign.
        assert!((h.energy(30_000, MIN, |_| true) - 10.0 / 120.0).abs() < 1e-9);
        assert_eq!(h.energy(0, 120 * MIN, |v| v > 25.0), 30.0 * 0.25);
    }

    #[test]
    fn gaps_are_silences_longer_than_the_hold_between_samples() {
        let day = 1_440 * MIN;
        // A sample before the day, one every minute to 06:00, nothing until 08:00, to the end.
        let mut t: Vec<i64> = (-1..=360).map(|m| m * MIN).collect();
        t.extend((480..=1_441).map(|m| m * MIN));
        assert_eq!(gaps(&t, 0, day), vec![(360 * MIN, 480 * MIN)]);
        // Data ending at 20:00 with nothing after it: no gap claimed for the rest of the day.
        let t: Vec<i64> = (0..=1_200).map(|m| m * MIN).collect();
        assert!(gaps(&t, 0, day).is_empty());
        // Data starting at 03:00 after earlier data: the night is a gap from midnight.
        let t: Vec<i64> = std::iter::once(-120 * MIN).chain((180..=1_440).map(|m| m * MIN)).collect();
        assert_eq!(gaps(&t, 0, day), vec![(0, 180 * MIN)]);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
