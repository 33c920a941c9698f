//! The boat's navigation state from NMEA sentences of every source (a GPS on one port, the wind
//! instruments on another): position, fix, speed and course, heading, apparent and true wind,
//! depth, water and weather, as metrics of the device `nav` (topics `halyard/nav/…`).
//!
//! - **True wind** is taken as sent (MWV T, VWT, MWD) and otherwise computed from the apparent
//!   wind, the boat's speed (through the water, else over ground) and its heading (true, else
//!   magnetic + variation, else the course over ground): the vector difference of the apparent
//!   wind and the boat's motion.
//! - **Gust**: the highest 3-second mean of the true wind speed; `gust_hour` is the highest of
//!   the last hour, updated with every true-wind reading.
//! - **Track**: the position is published at most every 5 s, and then only when the boat moved
//!   10 m or a minute passed: a 15 m trail under way, a point a minute at anchor; at once when
//!   the fix comes back or the position jumps more than a kilometre.
//! - **Distance over ground**: an odometer (`distance_over_ground`, m, since Halyard started)
//!   summing the steps between consecutive valid fixes (at most 30 s apart) while the boat makes
//!   way — speed over ground ≥ 0.5 kn, so a GPS wandering at anchor adds nothing; without any
//!   speed sentence, steps of 10 m from the last counted point. It is published with the track's
//!   points, so the day's distance sees every fix, not only the downsampled track.
//! - **Fix loss**: a position sentence that says "no fix" (RMC/GLL status V, GGA quality 0)
//!   starts one, and so does a silence of position sentences longer than 10 s; it ends with the
//!   next valid position, which publishes `fix_loss` = its duration in seconds (so each loss is
//!   one stored sample: end time and duration).

use std::collections::{HashSet, VecDeque};

use halyard_proto::nmea::{ais, Position, Sentence, WindReference};

use crate::geo::distance_m;
use crate::model::{Identity, Metric, Millis, Update};
use crate::nav::GUST_WINDOW_MS;

/// Sent true wind is preferred over computed for this long after it was last heard.
const SENT_TRUE_WIND_MS: Millis = 10_000;
/// A longer silence of position sentences is a fix loss.
const POSITION_SILENCE_MS: Millis = 10_000;
const HOUR: Millis = 3_600_000;
/// Track downsampling.
const TRACK_MIN_MS: Millis = 5_000;
const TRACK_MAX_MS: Millis = 60_000;
const TRACK_MIN_M: f64 = 10.0;
/// A position this far from the last one is published at once (another GPS took over).
const TRACK_JUMP_M: f64 = 1_000.0;
/// Consecutive fixes further apart than this are not a step of the odometer.
const ODOMETER_GAP_MS: Millis = 30_000;
/// Making way: at least this speed over ground, kn.
const MAKING_WAY_KN: f64 = 0.5;
/// AIS vessels count as in range this long after their last report.
const AIS_RANGE_MS: Millis = 600_000;

/// An angle in −180…180°.
fn signed_angle(a: f64) -> f64 {
    let a = a.rem_euclid(360.0);
    if a > 180.0 {
        a - 360.0
    } else {
        a
    }
}

/// True wind (speed kn, angle off the bow −180…180°) from the apparent wind and the boat's
/// speed through the water: subtract the boat's own motion from the apparent wind vector.
pub fn true_wind(apparent_kn: f64, apparent_angle: f64, boat_kn: f64) -> (f64, f64) {
    let a = apparent_angle.to_radians();
    let (x, y) = (apparent_kn * a.cos() - boat_kn, apparent_kn * a.sin());
    let speed = x.hypot(y);
    let angle = if speed < 1e-9 { 0.0 } else { y.atan2(x).to_degrees() };
    (speed, signed_angle(angle))
}

/// One quantity a navigation source reports, whatever carried it: how NMEA 2000's PGNs reach
/// the same state as NMEA 0183's sentences ([`Nav::apply`]). Angles in degrees, speeds in knots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observation {
    /// A position report: whether the receiver has a fix, and the position if it gave one.
    Position {
        /// A valid fix.
        fix: bool,
        /// The position.
        position: Option<Position>,
    },
    /// Satellites in use.
    Satellites(u8),
    /// Horizontal dilution of precision.
    Hdop(f64),
    /// Speed and course over ground (true).
    Motion {
        /// kn.
        sog_kn: Option<f64>,
        /// Degrees true.
        cog_true: Option<f64>,
    },
    /// Apparent wind.
    ApparentWind {
        /// Off the bow, degrees.
        angle: f64,
        /// kn.
        speed_kn: f64,
    },
    /// True wind as an instrument sends it.
    TrueWind {
        /// Off the bow, degrees.
        angle: Option<f64>,
        /// kn.
        speed_kn: Option<f64>,
        /// The direction it blows from, degrees true.
        direction: Option<f64>,
    },
    /// True heading.
    HeadingTrue(f64),
    /// Magnetic heading (a compass), with its deviation and the variation when sent.
    HeadingMagnetic {
        /// The sensor's heading.
        heading: f64,
        /// Deviation, east positive.
        deviation: Option<f64>,
        /// Variation, east positive.
        variation: Option<f64>,
    },
    /// Magnetic variation, east positive.
    Variation(f64),
    /// Depth below the transducer, m.
    Depth(f64),
    /// Speed through the water, kn.
    SpeedThroughWater(f64),
    /// Sea temperature, °C.
    WaterTemperature(f64),
    /// Outside air temperature, °C.
    AirTemperature(f64),
    /// Atmospheric pressure, hPa.
    Pressure(f64),
    /// Outside humidity, %.
    Humidity(f64),
    /// Heel (roll), degrees, starboard down positive.
    Heel(f64),
    /// Pitch, degrees, bow up positive.
    Pitch(f64),
    /// Another vessel's AIS position report.
    Ais(ais::PositionReport),
}

/// The state.
#[derive(Debug, Default)]
pub struct Nav {
    heading_true: Option<(Millis, f64)>,
    heading_magnetic: Option<(Millis, f64)>,
    variation: Option<f64>,
    stw: Option<(Millis, f64)>,
    sog: Option<(Millis, f64)>,
    cog: Option<(Millis, f64)>,
    true_wind_sent_at: Option<Millis>,
    /// True wind speeds of the last 3 s, and the 3-second means of the last hour.
    wind: VecDeque<(Millis, f64)>,
    means: VecDeque<(Millis, f64)>,
    last_position_sentence: Option<Millis>,
    published_position: Option<(Millis, f64, f64)>,
    /// The odometer, m, and the last fix it counted from.
    odometer_m: f64,
    odometer_from: Option<(Millis, f64, f64)>,
    fix_lost_since: Option<Millis>,
    ais: VecDeque<(Millis, u32)>,
    ais_seen: HashSet<u32>,
    /// Other vessels' position reports not yet taken (`take_ais`: Signal K's AIS contexts).
    ais_reports: Vec<(Millis, ais::PositionReport)>,
}

/// Position reports kept for `take_ais` at most (the pipeline takes them after every batch).
const AIS_REPORTS_MAX: usize = 1024;

/// A value this recent is current.
fn recent(v: Option<(Millis, f64)>, at: Millis) -> Option<f64> {
    v.filter(|(t, _)| at - t <= 30_000).map(|(_, v)| v)
}

impl Nav {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Other vessels' position reports since the last call (AIS targets are not devices of
    /// the boat: they go to Signal K only).
    pub fn take_ais(&mut self) -> Vec<(Millis, ais::PositionReport)> {
        std::mem::take(&mut self.ais_reports)
    }

    /// The boat's last published position.
    pub fn position(&self) -> Option<(f64, f64)> {
        self.published_position.map(|(_, lat, lon)| (lat, lon))
    }

    fn heading(&self, at: Millis) -> Option<f64> {
        recent(self.heading_true, at)
            .or_else(|| Some(recent(self.heading_magnetic, at)? + self.variation?))
            .or_else(|| recent(self.cog, at))
    }

    /// What one sentence changes; `None` when nothing to publish.
    pub fn observe(&mut self, at: Millis, sentence: &Sentence<'_>) -> Option<Update> {
        let mut m: Vec<Metric> = Vec::new();
        match sentence {
            Sentence::Rmc(r) => {
                if let Some(v) = r.variation {
                    self.variation = Some(v);
                }
                if r.valid {
                    self.motion(at, r.sog_kn, r.cog_true, &mut m);
                }
                self.position_sentence(at, r.valid && r.position.is_some(), r.position, &mut m);
            }
            Sentence::Gga(g) => {
                let fix = g.quality.is_some_and(|q| q > 0) && g.position.is_some();
                if let Some(n) = g.satellites {
                    m.push(Metric::number("satellites", "", f64::from(n)));
                }
                if let Some(h) = g.hdop {
                    m.push(Metric::number("hdop", "", h));
                }
                self.position_sentence(at, fix, g.position, &mut m);
            }
            Sentence::Gll(g) => self.position_sentence(at, g.valid && g.position.is_some(), g.position, &mut m),
            Sentence::Vtg(v) => self.motion(at, v.sog_kn, v.cog_true, &mut m),
            Sentence::Mwv(w) if w.valid => match w.reference {
                WindReference::Apparent => self.apparent(at, w.angle, w.speed_kn, &mut m),
                WindReference::True => self.true_sent(at, w.angle.map(signed_angle), w.speed_kn, None, &mut m),
            },
            Sentence::Vwr(w) => self.apparent(at, w.angle, w.speed_kn, &mut m),
            Sentence::Vwt(w) => self.true_sent(at, w.angle, w.speed_kn, None, &mut m),
            Sentence::Mwd(w) => self.true_sent(at, None, w.speed_kn, w.direction_true, &mut m),
            Sentence::Mda(d) => {
                if let Some(p) = d.pressure_bar {
                    m.push(Metric::number("pressure", "hPa", p * 1000.0));
                }
                if let Some(t) = d.air_c {
                    m.push(Metric::number("air_temperature", "°C", t));
                }
                if let Some(t) = d.water_c {
                    m.push(Metric::number("water_temperature", "°C", t));
                }
                if let Some(h) = d.humidity {
                    m.push(Metric::number("humidity", "%", h));
                }
            }
            Sentence::Xdr(x) => {
                for t in x.measurements() {
                    let Some(v) = t.value else { continue };
                    let name = t.name.to_ascii_uppercase();
                    match (t.kind, t.unit) {
                        ("P", "B") => m.push(Metric::number("pressure", "hPa", v * 1000.0)),
                        ("P", "P") => m.push(Metric::number("pressure", "hPa", v / 100.0)),
                        ("C", "C") if name.contains("AIR") || name.contains("ENV") || name.is_empty() => {
                            m.push(Metric::number("air_temperature", "°C", v))
                        }
                        ("H", _) => m.push(Metric::number("humidity", "%", v)),
                        ("A", "D") if name.contains("HEEL") || name.contains("ROLL") => {
                            m.push(Metric::number("heel", "°", v))
                        }
                        ("A", "D") if name.contains("PITCH") => m.push(Metric::number("pitch", "°", v)),
                        _ => {}
                    }
                }
            }
            Sentence::Hdg(h) => {
                if let Some(v) = h.variation {
                    self.variation = Some(v);
                }
                if let Some(heading) = h.heading {
                    self.compass(at, heading, h.deviation, &mut m);
                }
            }
            Sentence::Hdm(Some(h)) => {
                self.heading_magnetic = Some((at, *h));
                m.push(Metric::number("heading_magnetic", "°", *h));
            }
            Sentence::Hdt(Some(h)) => {
                self.heading_true = Some((at, *h));
                m.push(Metric::number("heading", "°", *h));
            }
            Sentence::Dbt(d) => m.extend(d.depth_m.map(|v| Metric::number("depth", "m", v))),
            Sentence::Dpt(d) => m.extend(d.depth_m.map(|v| Metric::number("depth", "m", v))),
            Sentence::Vhw(v) => {
                if let Some(s) = v.stw_kn {
                    self.stw = Some((at, s));
                    m.push(Metric::number("speed_through_water", "kn", s));
                }
                if self.heading_true.is_none_or(|(t, _)| at - t > 5_000) {
                    if let Some(h) = v.heading_true {
                        self.heading_true = Some((at, h));
                        m.push(Metric::number("heading", "°", h));
                    }
                }
            }
            Sentence::Mtw(Some(t)) => m.push(Metric::number("water_temperature", "°C", *t)),
            Sentence::Vdm(v) => {
                let report = (v.fragments == 1).then(|| ais::position_report(v.payload)).flatten();
                self.ais_report(at, report, &mut m);
            }
            _ => {}
        }
        Self::update(at, "nmea", m)
    }

    /// What observations of another protocol (NMEA 2000) change; `None` when nothing to
    /// publish. The same rules as for sentences: the quantities are the same, only their
    /// wrapping differs.
    pub fn apply(&mut self, at: Millis, protocol: &'static str, observations: &[Observation]) -> Option<Update> {
        let mut m: Vec<Metric> = Vec::new();
        for o in observations {
            match *o {
                Observation::Position { fix, position } => self.position_sentence(at, fix, position, &mut m),
                Observation::Satellites(n) => m.push(Metric::number("satellites", "", f64::from(n))),
                Observation::Hdop(h) => m.push(Metric::number("hdop", "", h)),
                Observation::Motion { sog_kn, cog_true } => self.motion(at, sog_kn, cog_true, &mut m),
                Observation::ApparentWind { angle, speed_kn } => self.apparent(at, Some(angle), Some(speed_kn), &mut m),
                Observation::TrueWind { angle, speed_kn, direction } => {
                    self.true_sent(at, angle.map(signed_angle), speed_kn, direction, &mut m)
                }
                Observation::HeadingTrue(h) => {
                    self.heading_true = Some((at, h));
                    m.push(Metric::number("heading", "°", h));
                }
                Observation::HeadingMagnetic { heading, deviation, variation } => {
                    if let Some(v) = variation {
                        self.variation = Some(v);
                    }
                    self.compass(at, heading, deviation, &mut m);
                }
                Observation::Variation(v) => self.variation = Some(v),
                Observation::Depth(d) => m.push(Metric::number("depth", "m", d)),
                Observation::SpeedThroughWater(s) => {
                    self.stw = Some((at, s));
                    m.push(Metric::number("speed_through_water", "kn", s));
                }
                Observation::WaterTemperature(t) => m.push(Metric::number("water_temperature", "°C", t)),
                Observation::AirTemperature(t) => m.push(Metric::number("air_temperature", "°C", t)),
                Observation::Pressure(p) => m.push(Metric::number("pressure", "hPa", p)),
                Observation::Humidity(h) => m.push(Metric::number("humidity", "%", h)),
                Observation::Heel(a) => m.push(Metric::number("heel", "°", a)),
                Observation::Pitch(a) => m.push(Metric::number("pitch", "°", a)),
                Observation::Ais(r) => self.ais_report(at, Some(r), &mut m),
            }
        }
        Self::update(at, protocol, m)
    }

    fn update(at: Millis, protocol: &'static str, metrics: Vec<Metric>) -> Option<Update> {
        if metrics.is_empty() {
            return None;
        }
        let mut u = Update::new(at, Identity::Derived("nav".into()), "navigation", protocol);
        u.metrics = metrics;
        Some(u)
    }

    /// Another vessel's position report (or an AIS message that is not one): the vessels in
    /// range are those heard in the last ten minutes.
    fn ais_report(&mut self, at: Millis, report: Option<ais::PositionReport>, m: &mut Vec<Metric>) {
        if let Some(r) = report {
            self.ais.push_back((at, r.mmsi));
            if self.ais_reports.len() < AIS_REPORTS_MAX {
                self.ais_reports.push((at, r));
            }
        }
        while self.ais.front().is_some_and(|(t, _)| at - t > AIS_RANGE_MS) {
            self.ais.pop_front();
        }
        self.ais_seen.clear();
        self.ais_seen.extend(self.ais.iter().map(|(_, id)| *id));
        m.push(Metric::number("ais_vessels", "", self.ais_seen.len() as f64));
    }

    /// A compass's heading: magnetic once corrected for its deviation, true with the variation
    /// when known (HDG, 127250 referenced to magnetic north).
    fn compass(&mut self, at: Millis, heading: f64, deviation: Option<f64>, m: &mut Vec<Metric>) {
        let mag = (heading + deviation.unwrap_or(0.0)).rem_euclid(360.0);
        self.heading_magnetic = Some((at, mag));
        m.push(Metric::number("heading_magnetic", "°", mag));
        if let Some(var) = self.variation {
            let t = (mag + var).rem_euclid(360.0);
            self.heading_true = Some((at, t));
            m.push(Metric::number("heading", "°", t));
        }
    }

    /// Speed and course over ground (RMC, VTG).
    fn motion(&mut self, at: Millis, sog: Option<f64>, cog: Option<f64>, m: &mut Vec<Metric>) {
        if let Some(s) = sog {
            self.sog = Some((at, s));
            m.push(Metric::number("speed_over_ground", "kn", s));
        }
        if let Some(c) = cog {
            self.cog = Some((at, c));
            m.push(Metric::number("course_over_ground", "°", c));
        }
    }

    fn position_sentence(&mut self, at: Millis, fix: bool, p: Option<Position>, m: &mut Vec<Metric>) {
        let silent = self.last_position_sentence.is_some_and(|t| at - t > POSITION_SILENCE_MS);
        if silent && self.fix_lost_since.is_none() {
            self.fix_lost_since = self.last_position_sentence;
        }
        self.last_position_sentence = Some(at);
        m.push(Metric::number("fix", "", if fix { 1.0 } else { 0.0 }));
        if !fix {
            self.fix_lost_since.get_or_insert(at);
            return;
        }
        let regained = self.fix_lost_since.take().map(|since| {
            m.push(Metric::number("fix_loss", "s", (at - since) as f64 / 1000.0));
        });
        let Some(p) = p else { return };
        self.count_distance(at, p);
        let due = match self.published_position {
            None => true,
            Some((t, lat, lon)) => {
                let (dt, moved) = (at - t, distance_m((lat, lon), (p.lat, p.lon)));
                regained.is_some()
                    || dt >= TRACK_MAX_MS
                    || (dt >= TRACK_MIN_MS && moved >= TRACK_MIN_M)
                    || moved >= TRACK_JUMP_M
            }
        };
        if due {
            self.published_position = Some((at, p.lat, p.lon));
            m.push(Metric::number("latitude", "°", p.lat));
            m.push(Metric::number("longitude", "°", p.lon));
            m.push(Metric::number("distance_over_ground", "m", self.odometer_m));
        }
    }

    /// The odometer's step to a valid fix.
    fn count_distance(&mut self, at: Millis, p: Position) {
        let Some((t, lat, lon)) = self.odometer_from.filter(|(t, _, _)| at - t <= ODOMETER_GAP_MS) else {
            self.odometer_from = Some((at, p.lat, p.lon));
            return;
        };
        let step = distance_m((lat, lon), (p.lat, p.lon));
        let counted = match recent(self.sog, at) {
            Some(sog) => sog >= MAKING_WAY_KN,
            None => step >= TRACK_MIN_M,
        };
        if counted {
            self.odometer_m += step;
        }
        // Without speed sentences a short step keeps its starting point (else GPS noise adds up).
        if counted || recent(self.sog, at).is_some() || at - t > ODOMETER_GAP_MS / 2 {
            self.odometer_from = Some((at, p.lat, p.lon));
        }
    }

    fn apparent(&mut self, at: Millis, angle: Option<f64>, speed: Option<f64>, m: &mut Vec<Metric>) {
        let (Some(angle), Some(speed)) = (angle.map(signed_angle), speed) else { return };
        m.push(Metric::number("apparent_wind_angle", "°", angle));
        m.push(Metric::number("apparent_wind_speed", "kn", speed));
        if self.true_wind_sent_at.is_some_and(|t| at - t <= SENT_TRUE_WIND_MS) {
            return;
        }
        let Some(boat) = recent(self.stw, at).or_else(|| recent(self.sog, at)) else { return };
        let (tws, twa) = true_wind(speed, angle, boat);
        let direction = self.heading(at).map(|h| (h + twa).rem_euclid(360.0));
        self.true_wind(at, Some(twa), Some(tws), direction, m);
    }

    fn true_sent(
        &mut self,
        at: Millis,
        angle: Option<f64>,
        speed: Option<f64>,
        direction: Option<f64>,
        m: &mut Vec<Metric>,
    ) {
        self.true_wind_sent_at = Some(at);
        let direction = direction.or_else(|| Some((self.heading(at)? + angle?).rem_euclid(360.0)));
        self.true_wind(at, angle, speed, direction, m);
    }

    fn true_wind(
        &mut self,
        at: Millis,
        angle: Option<f64>,
        speed: Option<f64>,
        direction: Option<f64>,
        m: &mut Vec<Metric>,
    ) {
        // Derived values are rounded to the instruments' own resolution at most (0.01), so a
        // payload reads 46.4, not 46.39999999999998.
        let (angle, direction, speed) = {
            let hundredths = |x: f64| crate::json::round(x, 2);
            (angle.map(hundredths), direction.map(hundredths), speed.map(hundredths))
        };
        m.extend(angle.map(|a| Metric::number("true_wind_angle", "°", a)));
        m.extend(direction.map(|d| Metric::number("true_wind_direction", "°", d)));
        let Some(speed) = speed else { return };
        m.push(Metric::number("true_wind_speed", "kn", speed));
        // Several sentences may carry the same reading (MWV T and MWD): one sample per instant.
        if self.wind.back().is_some_and(|(t, _)| *t == at) {
            return;
        }
        self.wind.push_back((at, speed));
        while self.wind.front().is_some_and(|(t, _)| at - t >= GUST_WINDOW_MS) {
            self.wind.pop_front();
        }
        let mean = self.wind.iter().map(|(_, v)| v).sum::<f64>() / self.wind.len() as f64;
        self.means.push_back((at, mean));
        while self.means.front().is_some_and(|(t, _)| at - t > HOUR) {
            self.means.pop_front();
        }
        let gust = self.means.iter().map(|(_, v)| *v).fold(0.0, f64::max);
        m.push(Metric::number("gust_hour", "kn", gust));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halyard_proto::nmea;

    fn feed(nav: &mut Nav, at: Millis, line: &str) -> Vec<(String, f64)> {
        let p = nmea::parse(line.as_bytes()).unwrap();
        nav.observe(at, &p.sentence)
            .map(|u| {
                u.metrics.iter().map(|m| (m.name.to_string(), m.value.as_ref().unwrap().as_f64().unwrap())).collect()
            })
            .unwrap_or_default()
    }

    fn get(v: &[(String, f64)], name: &str) -> Option<f64> {
        v.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// Checked against the wind triangle by hand: 10 kn apparent from dead ahead while making
    /// 6 kn is 4 kn of true wind from ahead; 10 kn on the beam at 6 kn is √136 = 11.66 kn from
    /// 120.96° (abaft the beam).
    #[test]
    fn true_wind_from_apparent() {
        let (s, a) = true_wind(10.0, 0.0, 6.0);
        assert!((s - 4.0).abs() < 1e-9 && a.abs() < 1e-9);
        let (s, a) = true_wind(10.0, 90.0, 6.0);
        assert!((s - 136f64.sqrt()).abs() < 1e-9, "{s}");
        assert!((a - 120.963_756_5).abs() < 1e-6, "{a}");
        let (_, a) = true_wind(10.0, -90.0, 6.0);
        assert!((a + 120.963_756_5).abs() < 1e-6, "port side stays negative: {a}");
        let (s, _) = true_wind(5.0, 180.0, 5.0);
        assert!((s - 10.0).abs() < 1e-9, "running before 10 kn of wind at 5 kn");
    }

    #[test]
    fn computed_true_wind_gives_way_to_sent_true_wind() {
        let mut nav = Nav::new();
        feed(&mut nav, 0, "$IIVHW,,T,,M,06.0,N,,K");
        feed(&mut nav, 0, "$IIHDT,010.0,T");
        let m = feed(&mut nav, 1_000, "$IIMWV,090,R,10.0,N,A");
        assert_eq!(get(&m, "true_wind_speed"), Some(11.66), "√136 kn, to 0.01");
        assert!((get(&m, "true_wind_direction").unwrap() - 130.96).abs() < 1e-9);
        let m = feed(&mut nav, 2_000, "$IIMWV,100,T,12.0,N,A");
        assert_eq!((get(&m, "true_wind_speed"), get(&m, "true_wind_direction")), (Some(12.0), Some(110.0)));
        let m = feed(&mut nav, 3_000, "$IIMWV,090,R,10.0,N,A");
        assert_eq!(get(&m, "true_wind_speed"), None, "the instrument's own true wind wins");
    }

    #[test]
    fn gust_is_the_highest_three_second_mean_of_the_hour() {
        let mut nav = Nav::new();
        let mut last = Vec::new();
        // 10 kn, one reading a second, with a 2-second puff of 25 kn at t = 100 s.
        for s in 0..200i64 {
            let kn = if (100..102).contains(&s) { 25.0 } else { 10.0 };
            last = feed(&mut nav, s * 1000, &format!("$WIMWV,045,T,{kn},N,A"));
        }
        // The best 3-s window holds 25, 25, 10: 20 kn (not the 25 kn peak).
        assert!((get(&last, "gust_hour").unwrap() - 20.0).abs() < 1e-9, "{last:?}");
        let m = feed(&mut nav, 103_000 + HOUR + 1_000, "$WIMWV,045,T,8,N,A");
        assert_eq!(get(&m, "gust_hour"), Some(10.0), "an hour later the puff is forgotten");
    }

    #[test]
    fn fix_losses_and_track_downsampling() {
        let mut nav = Nav::new();
        let rmc = |ok: bool, lat_min: f64| {
            format!("$GPRMC,120000,{},43{lat_min:07.4},N,00522.44,E,5.0,90.0,230626,,,A", if ok { "A" } else { "V" })
        };
        let m = feed(&mut nav, 0, &rmc(true, 17.0));
        assert!(get(&m, "latitude").is_some(), "the first position is published");
        let m = feed(&mut nav, 1_000, &rmc(true, 17.001));
        assert!(get(&m, "latitude").is_none(), "1 s and 2 m later: not yet");
        let m = feed(&mut nav, 6_000, &rmc(true, 17.02));
        assert!(get(&m, "latitude").is_some(), "6 s and 37 m later");
        let m = feed(&mut nav, 7_000, &rmc(false, 17.02));
        assert_eq!(get(&m, "fix"), Some(0.0));
        let m = feed(&mut nav, 19_000, &rmc(true, 17.03));
        assert_eq!(get(&m, "fix_loss"), Some(12.0));
        assert!(get(&m, "latitude").is_some(), "a regained fix is published at once");
        let m = feed(&mut nav, 20_000, &rmc(true, 27.0));
        assert!(get(&m, "latitude").is_some(), "a 18 km jump is published at once");
        // Silence: no position sentence for 29 s.
        let m = feed(&mut nav, 49_000, &rmc(true, 17.04));
        assert_eq!(get(&m, "fix_loss"), Some(29.0));
    }
}
