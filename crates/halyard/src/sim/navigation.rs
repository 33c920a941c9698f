//! The navigation side of the simulated boat, stepped between the electrical samples: the
//! voyage, the wind, the instruments' sentences, the AIS targets and the mesh, as records of a
//! Halyard recording (`nmea` lines from the instruments' multiplexer `nmea0`, `mesh` frames from
//! the radio `radio0`), and the truth of each day.
//!
//! Sampling: real instruments talk once a second. The simulator does so under way, and at
//! anchor at [`NavRates::at_anchor_s`] (a week of history at anchor at 1 Hz would be millions
//! of lines that say the same thing; five seconds keeps GPS silences below the ten seconds that
//! count as a lost fix).

use std::collections::BTreeMap;

use super::instruments;
use super::nav_truth::NavDay;
use super::radios::{Heard, Radios};
use super::voyage::{self, Activity, Voyage};
use super::weather::Weather;
use crate::ingest::recording::Record;

/// How often the instruments report, s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NavRates {
    /// Under way.
    pub under_way_s: u32,
    /// At anchor or moored.
    pub at_anchor_s: u32,
}

impl NavRates {
    /// Once a second, always (the demo's live day).
    pub const LIVE: NavRates = NavRates { under_way_s: 1, at_anchor_s: 1 };
    /// Once a second under way, every 5 s at anchor (`halyard sim`, the demo's history).
    pub const LIGHT: NavRates = NavRates { under_way_s: 1, at_anchor_s: 5 };
}

/// The source name of the instruments' sentences in a recording.
pub const NMEA_SOURCE: &str = "nmea0";
/// The source name of the radio's stream in a recording.
pub const MESH_SOURCE: &str = "radio0";

/// The state.
#[derive(Debug)]
pub struct Navigation {
    tz: jiff::tz::TimeZone,
    voyage: Voyage,
    weather: Weather,
    radios: Radios,
    next: i64,
    last: Option<i64>,
    variation: (i64, f64),
    last_fix: Option<(f64, f64)>,
    lost_since: Option<i64>,
    days: BTreeMap<i64, NavDay>,
    lines: Vec<String>,
    frames: Vec<Vec<u8>>,
    blackouts: Vec<(i64, i64)>,
}

impl Navigation {
    /// Starting at `start` (ms) on the first day's starting place.
    pub fn new(seed: u64, tz: jiff::tz::TimeZone, start: i64) -> Self {
        let mut n = Navigation {
            tz,
            voyage: Voyage::new(0, start, seed),
            weather: Weather::new(seed),
            radios: Radios::new(seed),
            next: start,
            last: None,
            variation: (i64::MIN, 0.0),
            last_fix: None,
            lost_since: None,
            days: BTreeMap::new(),
            lines: Vec::new(),
            frames: Vec::new(),
            blackouts: Vec::new(),
        };
        let (day, _) = n.local(start);
        n.voyage = Voyage::new(day, start, seed);
        n
    }

    /// The anchor lets go during the run (`halyard sim --scenario anchor-drag`).
    pub fn with_drag(mut self, drag: Option<voyage::Drag>) -> Self {
        self.voyage.drag = drag;
        self
    }

    /// The GPS also loses its fix in these `[from, to)` ms (a scenario's).
    pub fn with_blackouts(mut self, blackouts: Vec<(i64, i64)>) -> Self {
        self.blackouts = blackouts;
        self
    }

    /// When the boat first left the dragging anchor's watch circle.
    pub fn dragged_out(&self) -> Option<i64> {
        self.voyage.dragged_out
    }

    fn local(&self, at: i64) -> (i64, f64) {
        let t = jiff::Timestamp::from_millisecond(at).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let local = at + i64::from(self.tz.to_offset(t).seconds()) * 1000;
        (local.div_euclid(86_400_000), local.rem_euclid(86_400_000) as f64 / 3_600_000.0)
    }

    /// Emit every sample up to `to` (ms) at `rates`.
    pub fn advance(&mut self, to: i64, rates: NavRates, out: &mut Vec<Record>) {
        while self.next <= to {
            let at = self.next;
            let step = self.sample(at, out);
            let every = if step { rates.under_way_s } else { rates.at_anchor_s };
            self.next = at + i64::from(every.max(1)) * 1000;
        }
    }

    /// One sample at `at`; whether the boat is under way.
    fn sample(&mut self, at: i64, out: &mut Vec<Record>) -> bool {
        let (day, hour) = self.local(at);
        let plan = voyage::plan(day);
        let wind = self.weather.at(at, day, hour);
        let dt = self.last.map_or(1.0, |l| (at - l) as f64 / 1000.0);
        self.last = Some(at);
        let m = self.voyage.step(at, dt, day, hour, wind);
        let truth = self.days.entry(day).or_default();
        truth.pattern = self.weather.pattern().name();
        if let Some((place, from, to)) = self.voyage.ended_stay.take() {
            truth.stays.push((place.name, (place.lat, place.lon), from, to));
        }
        let fix = plan.fix_loss.is_none_or(|(h, s)| hour < h || hour >= h + f64::from(s) / 3600.0)
            && !self.blackouts.iter().any(|(from, to)| (*from..*to).contains(&at));
        if self.variation.0 != day {
            self.variation =
                (day, crate::geo::declination(m.lat, m.lon, at.div_euclid(86_400_000)).map_or(0.0, |d| d.0));
        }
        self.lines.clear();
        let said = instruments::sentences(at, &m, wind, fix, self.variation.1, &mut self.lines);
        instruments::ais(at, hour, &mut self.lines);
        out.extend(self.lines.drain(..).map(|line| Record::Nmea { at, source: NMEA_SOURCE.into(), line }));
        truth.true_wind.push((at, said.true_wind_kn));
        if truth.max_apparent.is_none_or(|(v, _)| said.apparent_wind_kn > v) {
            truth.max_apparent = Some((said.apparent_wind_kn, at));
        }
        if fix {
            if let Some(since) = self.lost_since.take() {
                truth.fix_losses.push((since, at));
            }
            if let (Some(p), true) = (self.last_fix, m.under_way) {
                truth.distance_m += crate::geo::distance_m(p, (m.lat, m.lon));
            }
            self.last_fix = Some((m.lat, m.lon));
        } else {
            self.lost_since.get_or_insert(at);
        }
        truth.boat_at_end = Some((m.lat, m.lon));
        // The mesh.
        let walking = plan.walk.is_some_and(|w| hour >= w[0].2 && hour <= w[w.len() - 1].2);
        let positions = [(m.lat, m.lon), self.voyage.dinghy(day, hour), self.voyage.crew(day, hour)];
        let mut heard = Heard::default();
        self.radios.step(at, positions, walking, &mut self.frames, &mut heard);
        truth.direct.extend(heard.direct);
        truth.range_tests.extend(heard.range_tests);
        out.extend(self.frames.drain(..).map(|bytes| Record::Mesh { at, source: MESH_SOURCE.into(), bytes }));
        matches!(self.voyage.activity, Activity::UnderWay { .. })
    }

    /// A day's truth (local day number).
    pub fn day(&self, day: i64) -> Option<&NavDay> {
        self.days.get(&day)
    }
}
