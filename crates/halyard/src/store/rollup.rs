//! Rollups (DESIGN.md §5): per series and bucket, min, max, sum, count, first and last of the
//! samples, and for power series the energy integrated over time.
//!
//! Values are held between samples (the model publishes a value when it changes, so a value
//! holds until the next one). Energy is the held power × time, split exactly at bucket
//! boundaries. A gap longer than `max_hold` is a data gap: nothing is integrated across it.
//!
//! Energy counters (a charger's `yield_today`, a battery monitor's `charged_energy`…, in kWh)
//! give their energy as the sum of their increases, in Wh, filed under the bucket of the sample
//! that shows each increase. A drop to less than half the value before is a reset (the counter
//! starts again from zero, so the new value is all increase); a smaller drop is a glitch and is
//! ignored. So a day's yield no longer depends on when the device resets its counter: Victron
//! MPPTs have no clock and start their day with the morning's sun, not at midnight, and a clock
//! that steps back across midnight cannot move a whole day's yield into the day before.
//!
//! Minute and hour buckets are aligned to UTC; day buckets to local midnight in the configured
//! time zone, so a day with a daylight-saving change has 23 or 25 hours.

use std::collections::{BTreeMap, HashMap};

use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Bucket sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resolution {
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One local day.
    Day,
}

impl Resolution {
    /// All of them.
    pub const ALL: [Resolution; 3] = [Resolution::Minute, Resolution::Hour, Resolution::Day];

    /// The name stored in the database.
    pub fn name(self) -> &'static str {
        match self {
            Resolution::Minute => "1m",
            Resolution::Hour => "1h",
            Resolution::Day => "1d",
        }
    }
}

/// Local days in a time zone.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: TimeZone,
    /// The last local day looked up, `(start, end)`: consecutive samples fall in the same day,
    /// and each time-zone lookup costs more than the rest of a sample's rollup work.
    day: std::cell::Cell<(i64, i64)>,
}

impl Calendar {
    /// A calendar in `tz` (an IANA name such as `Europe/Paris`, or `UTC`).
    pub fn new(tz: &str) -> anyhow::Result<Self> {
        let tz = TimeZone::get(tz).map_err(|e| anyhow::anyhow!("time zone `{tz}`: {e}"))?;
        Ok(Calendar { tz, day: Default::default() })
    }

    /// The system's time zone (`TZ`, `/etc/localtime`), else UTC.
    pub fn system() -> Self {
        Calendar { tz: TimeZone::try_system().unwrap_or(TimeZone::UTC), day: Default::default() }
    }

    /// UTC.
    pub fn utc() -> Self {
        Calendar { tz: TimeZone::UTC, day: Default::default() }
    }

    /// The time zone (for times of day in text).
    pub fn timezone(&self) -> TimeZone {
        self.tz.clone()
    }

    /// The time zone's IANA name (`Europe/Paris`), `UTC` when the system's has none.
    pub fn timezone_name(&self) -> String {
        self.tz.iana_name().unwrap_or("UTC").to_owned()
    }

    /// Start of the local day containing `ms`, as ms since the epoch.
    pub fn day_start(&self, ms: i64) -> i64 {
        let z = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned_datetime(self.tz.clone());
        z.start_of_day().map_or(ms - ms.rem_euclid(86_400_000), |d| d.timestamp().as_millisecond())
    }

    /// Start of the next local day after the one starting at `start`.
    pub fn next_day(&self, start: i64) -> i64 {
        let z = Timestamp::from_millisecond(start).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned_datetime(self.tz.clone());
        z.tomorrow().and_then(|t| t.start_of_day()).map_or(start + 86_400_000, |d| d.timestamp().as_millisecond())
    }

    /// The local day of `ms` as days since 1970-01-01 of its local date.
    pub fn day_number(&self, ms: i64) -> i64 {
        let z = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned_datetime(self.tz.clone());
        jiff::civil::date(1970, 1, 1).until(z.date()).map_or(ms.div_euclid(86_400_000), |s| i64::from(s.get_days()))
    }

    /// The local date of `ms`, `YYYY-MM-DD`.
    pub fn date(&self, ms: i64) -> String {
        let z = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned_datetime(self.tz.clone());
        z.date().to_string()
    }

    /// The bucket containing `ms`: (start, end).
    pub fn bucket(&self, r: Resolution, ms: i64) -> (i64, i64) {
        match r {
            Resolution::Minute => {
                let s = ms - ms.rem_euclid(60_000);
                (s, s + 60_000)
            }
            Resolution::Hour => {
                let s = ms - ms.rem_euclid(3_600_000);
                (s, s + 3_600_000)
            }
            Resolution::Day => {
                let (s, e) = self.day.get();
                if (s..e).contains(&ms) {
                    return (s, e);
                }
                if Timestamp::from_millisecond(ms).is_err() {
                    // Beyond the calendar (year 9999): a corrupt clock, not a day. A UTC day
                    // keeps the bucket around `ms`, so the caller's walk still moves forward.
                    let s = ms - ms.rem_euclid(86_400_000);
                    return (s, s + 86_400_000);
                }
                let s = self.day_start(ms);
                let day = (s, self.next_day(s));
                self.day.set(day);
                day
            }
        }
    }
}

/// One bucket's aggregate.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Aggregate {
    /// Smallest sample.
    pub min: Option<f64>,
    /// Largest sample.
    pub max: Option<f64>,
    /// Sum of the samples.
    pub sum: f64,
    /// Number of samples.
    pub count: u64,
    /// First sample and its time.
    pub first: Option<(i64, f64)>,
    /// Last sample and its time.
    pub last: Option<(i64, f64)>,
    /// Energy, Wh: integrated for power series, the sum of the increases for energy counters.
    pub energy_wh: f64,
}

impl Aggregate {
    /// Take in a sample.
    pub fn add(&mut self, ts: i64, v: f64) {
        self.min = Some(self.min.map_or(v, |m| m.min(v)));
        self.max = Some(self.max.map_or(v, |m| m.max(v)));
        self.sum += v;
        self.count += 1;
        if self.first.is_none_or(|(t, _)| ts < t) {
            self.first = Some((ts, v));
        }
        if self.last.is_none_or(|(t, _)| ts >= t) {
            self.last = Some((ts, v));
        }
    }

    /// Merge another aggregate of the same bucket (a later batch).
    pub fn merge(&mut self, o: &Aggregate) {
        self.min = match (self.min, o.min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max = match (self.max, o.max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.sum += o.sum;
        self.count += o.count;
        if let Some((t, v)) = o.first {
            if self.first.is_none_or(|(s, _)| t < s) {
                self.first = Some((t, v));
            }
        }
        if let Some((t, v)) = o.last {
            if self.last.is_none_or(|(s, _)| t >= s) {
                self.last = Some((t, v));
            }
        }
        self.energy_wh += o.energy_wh;
    }

    /// The mean of the samples.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// How long a value holds without a new sample. The model republishes every value at least
/// once a minute while its device is heard, so 15 minutes of silence is a gap in the data, not a
/// steady value: no energy is integrated across it, and the report lists it.
pub const MAX_HOLD_MS: i64 = 15 * 60_000;

/// How a series' samples add up to energy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integrate {
    /// Not at all.
    No,
    /// Power, W: held × time.
    Power,
    /// An energy counter, kWh: its increases.
    Counter,
}

/// The energy counters (in kWh) that [`Integrate::Counter`] applies to.
pub const COUNTERS: [&str; 5] = ["yield_today", "user_yield", "system_yield", "charged_energy", "discharged_energy"];

impl Integrate {
    /// How a metric integrates, from its name and unit.
    pub fn of(metric: &str, unit: &str) -> Self {
        match unit {
            "W" => Integrate::Power,
            "kWh" if COUNTERS.contains(&metric) => Integrate::Counter,
            _ => Integrate::No,
        }
    }
}

/// A key of the rollup tables.
pub type Key = (Resolution, u32, i64);

/// Builds rollups from samples in time order per series.
#[derive(Debug)]
pub struct Roller {
    calendar: Calendar,
    max_hold_ms: i64,
    held: HashMap<u32, (i64, f64)>,
    /// The aggregates of the current batch.
    pub pending: BTreeMap<Key, Aggregate>,
}

impl Roller {
    /// A roller; values hold at most `max_hold_ms`.
    pub fn new(calendar: Calendar, max_hold_ms: i64) -> Self {
        Roller { calendar, max_hold_ms, held: HashMap::new(), pending: BTreeMap::new() }
    }

    /// The calendar.
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// A sample of series `id`, integrated into energy as `how` says.
    pub fn add(&mut self, id: u32, ts: i64, v: f64, how: Integrate) {
        let before = self.held.get(&id).copied();
        match (how, before) {
            (Integrate::Power, Some((t0, v0))) if ts > t0 && ts - t0 <= self.max_hold_ms => {
                self.integrate(id, t0, ts, v0);
            }
            (Integrate::Counter, _) => {
                let (increase, hold) = counter_step(before.map(|(_, v0)| v0), v);
                // A counter is held in the order its values come, whatever their stamps: a
                // clock that steps back must not make an old value the reference again.
                if hold {
                    self.held.insert(id, (ts, v));
                }
                for r in Resolution::ALL {
                    let (start, _) = self.calendar.bucket(r, ts);
                    let a = self.pending.entry((r, id, start)).or_default();
                    a.add(ts, v);
                    a.energy_wh += exact_wh(increase * 1000.0);
                }
                return;
            }
            _ => {}
        }
        if self.held.get(&id).is_none_or(|(t, _)| ts >= *t) {
            self.held.insert(id, (ts, v));
        }
        for r in Resolution::ALL {
            let (start, _) = self.calendar.bucket(r, ts);
            self.pending.entry((r, id, start)).or_default().add(ts, v);
        }
    }

    /// A sample that is already in the store (a replay of known data): it only becomes the value
    /// held from now on, without being counted again.
    pub fn hold(&mut self, id: u32, ts: i64, v: f64) {
        if self.held.get(&id).is_none_or(|(t, _)| ts >= *t) {
            self.held.insert(id, (ts, v));
        }
    }

    /// Whether series `id` has a held value (else a counter's next sample would count whole:
    /// the recorder first holds the last stored value, so a restart counts nothing twice).
    pub fn holds(&self, id: u32) -> bool {
        self.held.contains_key(&id)
    }

    /// The held values, to restore when a batch could not be written.
    pub fn held(&self) -> HashMap<u32, (i64, f64)> {
        self.held.clone()
    }

    /// Put back held values saved with [`Roller::held`].
    pub fn restore(&mut self, held: HashMap<u32, (i64, f64)>) {
        self.held = held;
    }

    /// Hold `watts` from `from` to `to`, split at every bucket boundary.
    fn integrate(&mut self, id: u32, from: i64, to: i64, watts: f64) {
        for r in Resolution::ALL {
            let mut t = from;
            while t < to {
                let (start, end) = self.calendar.bucket(r, t);
                if end <= t {
                    break; // never walk backwards (a bucket must contain `t`)
                }
                let until = end.min(to);
                self.pending.entry((r, id, start)).or_default().energy_wh +=
                    exact_wh(watts * (until - t) as f64 / 3_600_000.0);
                t = until;
            }
        }
    }

    /// Take the batch's aggregates.
    pub fn take(&mut self) -> BTreeMap<Key, Aggregate> {
        std::mem::take(&mut self.pending)
    }
}

/// One step of an energy counter from `before` to `v`: (the increase, whether `v` becomes the
/// reference). The first value ever seen counts whole: a counter starts from zero.
fn counter_step(before: Option<f64>, v: f64) -> (f64, bool) {
    match before {
        None => (v.max(0.0), true),
        Some(v0) if v >= v0 => (v - v0, true),
        // A reset: the counter started again from zero, and has counted `v` since.
        Some(v0) if v < v0 * 0.5 => (v.max(0.0), true),
        // A small drop (a rounding, a stale value from a second source): ignored, and the higher
        // value stays the reference so that the recovery is not counted twice.
        Some(_) => (0.0, false),
    }
}

/// An energy step rounded to a multiple of 2⁻²⁴ Wh (0.06 µWh). Sums of such steps are exact in
/// an `f64` up to 2²⁹ Wh (537 MWh), so a bucket's energy is the same however its steps were
/// split between batches and added up in the store (`energy_wh + excluded.energy_wh`): an
/// import, a replay paced by its own ticks and an import resumed after a crash agree to the
/// last bit, where plain sums differed in the last digit of a report now and then.
fn exact_wh(wh: f64) -> f64 {
    const STEPS: f64 = (1u32 << 24) as f64;
    (wh * STEPS).round() / STEPS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day_energy(r: &mut Roller) -> Vec<(String, f64)> {
        let cal = r.calendar().clone();
        r.take()
            .iter()
            .filter(|((res, _, _), _)| *res == Resolution::Day)
            .map(|((_, _, s), a)| (cal.date(*s), (a.energy_wh * 1000.0).round() / 1000.0))
            .collect()
    }

    proptest::proptest! {
        /// A bucket's energy does not depend on where the batches were cut: the recorder adds
        /// each batch's partial aggregate to the stored one, and the batches fall where the
        /// ticks and the batch size put them (an import and a replay cut them differently).
        #[test]
        fn energy_is_the_same_however_the_batches_are_cut(
            steps in proptest::collection::vec((1i64..120_000, -3000.0f64..3000.0), 2..400),
            cuts in proptest::collection::vec(0usize..400, 0..20),
        ) {
            let t0 = 1_782_000_000_000;
            let mut whole = Roller::new(Calendar::utc(), MAX_HOLD_MS);
            let mut split = Roller::new(Calendar::utc(), MAX_HOLD_MS);
            let mut stored: BTreeMap<Key, Aggregate> = BTreeMap::new();
            let mut t = t0;
            for (i, (dt, watts)) in steps.iter().enumerate() {
                t += dt;
                whole.add(1, t, *watts, Integrate::Power);
                split.add(1, t, *watts, Integrate::Power);
                if cuts.contains(&i) {
                    for (k, a) in split.take() {
                        stored.entry(k).or_default().merge(&a);
                    }
                }
            }
            for (k, a) in split.take() {
                stored.entry(k).or_default().merge(&a);
            }
            for (k, a) in whole.take() {
                proptest::prop_assert_eq!(a.energy_wh.to_bits(), stored[&k].energy_wh.to_bits(), "{:?}", k);
            }
        }
    }

    #[test]
    fn a_counter_gives_its_increases_whenever_it_resets() {
        const H: i64 = 3_600_000;
        let t0 = 1_782_000_000_000 - 1_782_000_000_000 % (24 * H); // a UTC midnight
                                                                   // Day 1: 0 → 2.5 kWh, then the counter keeps its value past midnight (no clock) and
                                                                   // resets with the morning's sun on day 2, then climbs to 1.25 kWh.
        let mut r = Roller::new(Calendar::utc(), MAX_HOLD_MS);
        for (t, v) in [(7, 0.0), (12, 1.0), (19, 2.5), (23, 2.5), (25, 2.5), (31, 2.5), (32, 0.0), (40, 1.25)] {
            r.add(1, t0 + t * H, v, Integrate::Counter);
        }
        let days = day_energy(&mut r);
        assert_eq!(days.iter().map(|d| d.1).collect::<Vec<_>>(), [2500.0, 1250.0], "{days:?}");
        // A small drop (a stale value) is not a reset, and the recovery is not counted again.
        let mut r = Roller::new(Calendar::utc(), MAX_HOLD_MS);
        for (t, v) in [(8, 1.0), (9, 0.98), (10, 1.2)] {
            r.add(1, t0 + t * H, v, Integrate::Counter);
        }
        assert_eq!(day_energy(&mut r)[0].1, 1200.0);
        // A clock stepping back 30 s across midnight: the reset is stamped before midnight but
        // neither day loses its yield.
        let mut r = Roller::new(Calendar::utc(), MAX_HOLD_MS);
        for (t, v) in [(t0 - 12 * H, 3.0), (t0 - 60_000, 4.0), (t0 + 20_000 - 30_000, 0.0), (t0 + 10 * H, 2.0)] {
            r.add(1, t, v, Integrate::Counter);
        }
        assert_eq!(day_energy(&mut r).iter().map(|d| d.1).collect::<Vec<_>>(), [4000.0, 2000.0]);
    }

    #[test]
    fn times_beyond_the_calendar_end_in_one_bucket_not_a_loop() {
        let cal = Calendar::new("Europe/Paris").unwrap();
        let far = 400_000_000_000_000i64; // year ~14645
        for ms in [far, -far, i64::MAX / 2] {
            let (s, e) = cal.bucket(Resolution::Day, ms);
            assert!(s <= ms && ms < e, "{ms}: ({s}, {e})");
        }
    }

    #[test]
    fn energy_splits_at_local_midnight_across_a_dst_change() {
        // Europe/Paris, 2026-03-29: clocks go from 02:00 to 03:00, a 23-hour day.
        let cal = Calendar::new("Europe/Paris").unwrap();
        let day = cal.day_start(1_774_771_200_000); // 2026-03-29T08:00Z
        assert_eq!(cal.next_day(day) - day, 23 * 3_600_000);
        assert_eq!(cal.date(day), "2026-03-29");
        // 100 W held from 22:00Z on the 28th (23:00 local) to 00:00Z on the 29th (01:00 local).
        let mut r = Roller::new(cal.clone(), 3 * 3_600_000);
        let t0 = 1_774_735_200_000; // 2026-03-28T22:00Z
        r.add(1, t0, 100.0, Integrate::Power);
        r.add(1, t0 + 2 * 3_600_000, 0.0, Integrate::Power);
        let agg = r.take();
        let day_energy: Vec<(i64, f64)> = agg
            .iter()
            .filter(|((res, _, _), _)| *res == Resolution::Day)
            .map(|((_, _, s), a)| (*s, a.energy_wh))
            .collect();
        assert_eq!(day_energy.len(), 2);
        assert!((day_energy[0].1 - 100.0).abs() < 1e-9, "{day_energy:?}");
        assert!((day_energy[1].1 - 100.0).abs() < 1e-9, "{day_energy:?}");
        assert_eq!(cal.date(day_energy[1].0), "2026-03-29");
    }

    #[test]
    fn gaps_are_not_integrated() {
        let mut r = Roller::new(Calendar::utc(), 600_000);
        r.add(1, 0, 100.0, Integrate::Power);
        r.add(1, 3_600_000, 100.0, Integrate::Power);
        let total: f64 =
            r.take().iter().filter(|((res, _, _), _)| *res == Resolution::Day).map(|(_, a)| a.energy_wh).sum();
        assert_eq!(total, 0.0);
    }
}
