//! Which reading times the store believes. A boat's computer has no battery-backed clock more
//! often than not: a Raspberry Pi boots at 1970 or at the time `fake-hwclock` saved at the last
//! shutdown (a month stale after a month ashore), NTP steps the clock when it finally reaches a
//! server, and a bad GPS or RTC can put it decades ahead for a while. Readings stamped by such a
//! clock must not be filed under the wrong day, stop the daily reports (a reading in 2046 would
//! make every later day "the past") or loop the rollups (beyond year 9999).
//!
//! The rule, applied to every reading before it is recorded (`newest` is the newest time
//! recorded so far in this run):
//! 1. **Implausible**: before `earliest` (this build's date for live input, 2000-01-01 for
//!    imports: no Halyard recording is older) or after 9999-12-31: rejected, counted.
//! 2. **A jump ahead**: more than [`JUMP`] after `newest`: held back. If the readings that follow
//!    stay on the new time for [`CONFIRM`] (by the monotonic clock when live, by their own stamps
//!    when importing), or the kernel says the system clock is synchronised, the clock has really
//!    moved (NTP after a stale boot, the next recording of a season): the held readings are
//!    recorded. If a reading comes back near `newest` first, it was a glitch: live, the held
//!    readings are re-stamped from the monotonic clock (what they would have been stamped
//!    without the glitch) and recorded; imported, they are dropped and counted.
//! 3. **A step back (live only)**: more than [`TOLERANCE`] before `newest` (the clock stepped
//!    back, or booted behind the history): held back the same way. When the clock comes back
//!    past `newest`, they are re-stamped from the monotonic clock; when it stays behind for
//!    [`CONFIRM`], or is synchronised, it is believed and they are recorded as stamped. Steps
//!    back within [`TOLERANCE`] (an NTP correction of seconds) are recorded as they are: the
//!    rollups take them (energy counters count increases in arrival order).
//!
//! Imports may go back in time freely (an older file after a newer one), so rule 3 is live only.
//! At most [`HELD_MAX`] readings wait; past that the oldest are dropped and counted.

use std::collections::VecDeque;
use std::time::Instant;

/// How far ahead of the newest reading a new one may be without being held back, ms.
pub const JUMP: i64 = 24 * 3_600_000;
/// How far behind the newest reading a live one may be without being held back, ms.
pub const TOLERANCE: i64 = 5 * 60_000;
/// How long a new time must last to be believed, ms.
pub const CONFIRM: i64 = 2 * 3_600_000;
/// Readings held back at most.
pub const HELD_MAX: usize = 200_000;
/// 9999-12-31T23:59:59.999Z, the last instant the calendar can file.
pub const LATEST: i64 = 253_402_300_799_999;
/// 2000-01-01T00:00:00Z: the earliest time an imported recording may have.
pub const EARLIEST_IMPORT: i64 = 946_684_800_000;

/// This build's date (ms since the epoch, the start of the UTC day before it).
pub const BUILD_DATE_MS: i64 = parse_ms(env!("HALYARD_BUILD_DATE_MS"));

const fn parse_ms(text: &str) -> i64 {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut v = 0i64;
    while i < bytes.len() {
        v = v * 10 + (bytes[i] - b'0') as i64;
        i += 1;
    }
    v
}

impl Stamped for std::sync::Arc<crate::model::Change> {
    fn at(&self) -> i64 {
        self.at
    }
    fn restamp(&mut self, at: i64) {
        std::sync::Arc::make_mut(self).at = at;
    }
}

/// Something with a time that can be corrected.
pub trait Stamped {
    /// Its time, ms since the epoch.
    fn at(&self) -> i64;
    /// Correct its time.
    fn restamp(&mut self, at: i64);
}

/// What happened to the readings, for the log and the counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A reading with an impossible time was rejected.
    Rejected {
        /// Its time.
        at: i64,
    },
    /// Readings from `at` on are held back, `off` ms from the newest recorded one.
    Holding {
        /// The first held reading's time.
        at: i64,
        /// Its distance from the newest recorded time (positive: ahead).
        off: i64,
    },
    /// The new time was believed: `count` held readings recorded as stamped.
    Believed {
        /// How many.
        count: usize,
    },
    /// The clock came back: `count` held readings re-stamped by `by` ms and recorded.
    Restamped {
        /// How many.
        count: usize,
        /// The correction (the mean one; each reading gets its own).
        by: i64,
    },
    /// Held readings dropped: a glitch in an import, or too many waiting.
    Dropped {
        /// How many.
        count: usize,
    },
}

/// The guard. `T` is what is recorded (a model change).
#[derive(Debug)]
pub struct TimeGuard<T> {
    live: bool,
    earliest: i64,
    newest: Option<i64>,
    held: VecDeque<(T, Instant)>,
}

impl<T: Stamped> TimeGuard<T> {
    /// A guard for live input (stamped by this machine's clock) or for an import.
    pub fn new(live: bool, build_date_ms: i64) -> Self {
        TimeGuard {
            live,
            earliest: if live { build_date_ms } else { EARLIEST_IMPORT },
            newest: None,
            held: VecDeque::new(),
        }
    }

    /// Whether the live rules apply (readings stamped by this machine's clock).
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// The newest time recorded.
    pub fn newest(&self) -> Option<i64> {
        self.newest
    }

    /// Readings waiting.
    pub fn holding(&self) -> usize {
        self.held.len()
    }

    /// Take one reading, arrived at monotonic `now`; `synchronised`: whether the kernel says the
    /// system clock is right (live; `None` when it cannot tell). Returns what to record now, in
    /// order, and appends what happened to `events`.
    pub fn admit(&mut self, item: T, now: Instant, synchronised: Option<bool>, events: &mut Vec<Event>) -> Vec<T> {
        let at = item.at();
        if at < self.earliest || at > LATEST {
            events.push(Event::Rejected { at });
            return Vec::new();
        }
        let Some(newest) = self.newest else {
            self.newest = Some(at);
            return vec![item];
        };
        let ahead = at > newest.saturating_add(JUMP);
        let behind = self.live && at < newest - TOLERANCE;
        let trusted = self.live && synchronised == Some(true);
        if !(ahead || behind) || trusted {
            let mut out = Vec::new();
            if !self.held.is_empty() {
                // Back on the recorded time line while readings wait: they were stamped by a
                // clock that went wrong and came back (or were believed by a synchronised one).
                out = if trusted && (ahead || behind) { self.believe(events) } else { self.come_back(at, now, events) };
            }
            self.advance(at);
            out.push(item);
            return out;
        }
        if self.held.is_empty() {
            events.push(Event::Holding { at, off: at - newest });
        }
        self.held.push_back((item, now));
        if self.held.len() > HELD_MAX {
            self.held.pop_front();
            events.push(Event::Dropped { count: 1 });
        }
        let span = match (self.held.front(), self.held.back()) {
            (Some((_, first)), Some((_, last))) if self.live => last.duration_since(*first).as_millis() as i64,
            (Some((first, _)), Some((last, _))) => last.at() - first.at(),
            _ => 0,
        };
        if span >= CONFIRM {
            return self.believe(events);
        }
        Vec::new()
    }

    fn advance(&mut self, at: i64) {
        if self.newest.is_none_or(|t| at >= t) {
            self.newest = Some(at);
        }
    }

    /// The new time is right: record the held readings as stamped.
    fn believe(&mut self, events: &mut Vec<Event>) -> Vec<T> {
        let out: Vec<T> = self.held.drain(..).map(|(t, _)| t).collect();
        events.push(Event::Believed { count: out.len() });
        // The recorded time line is the new one from here on.
        self.newest = out.iter().map(Stamped::at).max();
        out
    }

    /// The clock came back to the recorded time line at `at` (monotonic `now`): live, re-stamp
    /// each held reading to `at` less the monotonic time since it arrived; imported, drop them.
    fn come_back(&mut self, at: i64, now: Instant, events: &mut Vec<Event>) -> Vec<T> {
        let held: Vec<(T, Instant)> = self.held.drain(..).collect();
        if !self.live {
            events.push(Event::Dropped { count: held.len() });
            return Vec::new();
        }
        let count = held.len();
        let mut total = 0i128;
        let out = held
            .into_iter()
            .map(|(mut t, arrived)| {
                let corrected = at - now.duration_since(arrived).as_millis() as i64;
                total += i128::from(corrected - t.at());
                t.restamp(corrected);
                t
            })
            .collect();
        events.push(Event::Restamped { count, by: (total / count.max(1) as i128) as i64 });
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    struct R(i64);

    impl Stamped for R {
        fn at(&self) -> i64 {
            self.0
        }
        fn restamp(&mut self, at: i64) {
            self.0 = at;
        }
    }

    const H: i64 = 3_600_000;
    const T0: i64 = 1_782_000_000_000; // 2026-06-21
    const BUILD: i64 = 1_770_000_000_000; // 2026-02-02

    /// Feed one reading every 10 s of true time for `seconds`, stamped `clock(true time)`;
    /// returns what was recorded and the events.
    fn run(live: bool, seconds: i64, clock: impl Fn(i64) -> i64, sync: Option<bool>) -> (Vec<i64>, Vec<Event>) {
        let mut g = TimeGuard::new(live, BUILD);
        let start = Instant::now();
        let (mut out, mut events) = (Vec::new(), Vec::new());
        for s in (0..seconds).step_by(10) {
            let now = start + Duration::from_secs(s as u64);
            let got = g.admit(R(clock(T0 + s * 1000)), now, sync, &mut events);
            out.extend(got.into_iter().map(|r| r.0));
        }
        (out, events)
    }

    #[test]
    fn a_30_s_step_back_is_recorded_as_it_is() {
        let (out, events) = run(true, 4 * 3600, |t| if t > T0 + 2 * H { t - 30_000 } else { t }, Some(false));
        assert_eq!(out.len(), 4 * 360);
        assert!(events.is_empty(), "{events:?}");
    }

    #[test]
    fn a_6_h_step_back_that_is_undone_is_restamped_from_the_monotonic_clock() {
        // The clock steps back 6 h at 1 h, and is put right at 1 h 30 min.
        let clock = |t: i64| if (T0 + H..T0 + H + H / 2).contains(&t) { t - 6 * H } else { t };
        let (out, events) = run(true, 3 * 3600, clock, Some(false));
        assert_eq!(out.len(), 3 * 360, "nothing lost");
        let mut sorted = out.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..3 * 3600).step_by(10).map(|s| T0 + s * 1000).collect::<Vec<_>>(), "true times");
        assert!(matches!(events[..], [Event::Holding { off, .. }, Event::Restamped { count: 180, by }]
            if off < -5 * H && by == 6 * H));
    }

    #[test]
    fn a_6_h_step_back_that_stays_is_believed_after_two_hours() {
        let (out, events) = run(true, 5 * 3600, |t| if t > T0 + H { t - 6 * H } else { t }, Some(false));
        assert_eq!(out.len(), 5 * 360, "nothing lost");
        assert!(matches!(events[1], Event::Believed { count } if count > 700), "{events:?}");
    }

    #[test]
    fn a_synchronised_clock_is_believed_at_once() {
        // A boot 30 days stale, put right by NTP after 10 minutes (synchronised from then on).
        let mut g = TimeGuard::new(true, BUILD);
        let start = Instant::now();
        let mut events = Vec::new();
        let stale = T0 - 30 * 24 * H;
        assert_eq!(g.admit(R(T0), start, Some(true), &mut events), [R(T0)], "the history's newest");
        let got = g.admit(R(stale), start, Some(false), &mut events);
        assert!(got.is_empty(), "behind the history: held");
        let got = g.admit(R(T0 + 600_000), start + Duration::from_secs(600), Some(true), &mut events);
        assert_eq!(got, [R(T0), R(T0 + 600_000)], "the held reading restamped to its true time");
    }

    #[test]
    fn boot_at_1970_and_beyond_year_9999_are_rejected() {
        for (live, at) in [(true, 12_000), (true, BUILD - 1), (false, 12_000), (true, LATEST + 1), (false, i64::MAX)] {
            let mut g = TimeGuard::new(live, BUILD);
            let mut events = Vec::new();
            assert!(g.admit(R(at), Instant::now(), None, &mut events).is_empty());
            assert_eq!(events, [Event::Rejected { at }]);
        }
        // An import may hold 2019's data; a live reading may not.
        let mut events = Vec::new();
        let old = 1_560_000_000_000;
        assert_eq!(TimeGuard::new(false, BUILD).admit(R(old), Instant::now(), None, &mut events), [R(old)]);
    }

    #[test]
    fn a_one_hour_glitch_20_years_ahead_is_restamped_live_and_dropped_in_an_import() {
        let twenty = 20 * 365 * 24 * H;
        let clock = |t: i64| if (T0 + H..T0 + 2 * H).contains(&t) { t + twenty } else { t };
        let (out, events) = run(true, 4 * 3600, clock, None);
        assert_eq!(out.len(), 4 * 360);
        assert!(out.iter().all(|t| *t < T0 + 5 * H), "nothing filed 20 years ahead");
        assert!(matches!(events[1], Event::Restamped { count: 360, by } if (by + twenty).abs() < 20_000));
        let (out, events) = run(false, 4 * 3600, clock, None);
        assert_eq!(out.len(), 3 * 360);
        assert_eq!(events[1], Event::Dropped { count: 360 });
    }

    #[test]
    fn ten_years_ahead_for_good_is_believed_after_two_hours() {
        let ten = 10 * 365 * 24 * H;
        let (out, events) = run(true, 5 * 3600, |t| if t > T0 + H { t + ten } else { t }, None);
        assert_eq!(out.len(), 5 * 360);
        assert!(out.iter().filter(|t| **t > T0 + ten).count() > 4 * 360 - 2, "filed on the new time");
        assert!(matches!(events[1], Event::Believed { .. }));
        // An import's next recording a month later: believed after two hours of its own time.
        let (out, _) = run(false, 5 * 3600, |t| if t > T0 + H { t + 30 * 24 * H } else { t }, None);
        assert_eq!(out.len(), 5 * 360);
    }

    #[test]
    fn waiting_readings_are_bounded() {
        let mut g = TimeGuard::new(false, BUILD);
        let now = Instant::now();
        let mut events = Vec::new();
        g.admit(R(T0), now, None, &mut events);
        for k in 0..(HELD_MAX as i64 + 10) {
            g.admit(R(T0 + 2 * JUMP + k % 1000), now, None, &mut events);
        }
        assert_eq!(g.holding(), HELD_MAX);
        assert_eq!(events.iter().filter(|e| **e == Event::Dropped { count: 1 }).count(), 10);
    }
}
