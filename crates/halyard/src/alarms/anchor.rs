//! Anchor watch (issue 20): the anchor's position and a swing radius; the `anchor-drag` alarm
//! when the boat's fixes stay outside the circle. One fix outside is not a drag — a GPS jump or
//! a gust at the end of the swing does that — so it takes [`FIXES_OUTSIDE`] in a row, and as
//! many inside to clear.
//!
//! The radius is given, or comes from the rode out and the depth: the chain's horizontal reach
//! `√(rode² − depth²)` (a taut rode, the largest swing) plus a margin for the boat's length
//! and the GPS's error.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{Event, EventKind, Severity};
use crate::model::Millis;

/// The alarm's name (`halyard/alarm/anchor-drag`).
pub const ALARM: &str = "anchor-drag";
/// Consecutive fixes outside the circle that make a drag (and inside that end it).
pub const FIXES_OUTSIDE: u32 = 3;
/// Added to a rode's reach: the boat's length from the bow roller to the GPS antenna, and the
/// GPS's own wander.
pub const MARGIN_M: f64 = 15.0;
/// The radius when neither a radius nor the rode is given.
pub const DEFAULT_RADIUS_M: f64 = 50.0;
/// The alarm of a watch gone blind: the anchor is down and no fix has come for
/// [`FIX_LOST_AFTER_MS`] (a GPS unplugged, a fix lost under a cliff) — the watch can no longer
/// see a drag, which is worth waking someone for.
pub const BLIND: &str = "anchor-gps-lost";
/// No fix for this long blinds the watch: the track hands it a fix at least once a minute at
/// anchor (`ingest::nav`), so two minutes is a minute of fixes missed.
pub const FIX_LOST_AFTER_MS: Millis = 2 * 60_000;

/// A dropped anchor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anchor {
    /// Degrees.
    pub latitude: f64,
    /// Degrees.
    pub longitude: f64,
    /// The swing circle's radius, m.
    pub radius_m: f64,
    /// When it was dropped (ms since 1970).
    pub dropped_at: Millis,
}

/// What the owner asks (CLI, MQTT `halyard/anchor/set`, the dashboard).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Drop here (the last fix) or at a given position, with a radius or a rode length.
    Drop {
        /// The radius, m.
        radius_m: Option<f64>,
        /// The rode let out, m (the radius then comes from it and the depth).
        rode_m: Option<f64>,
        /// Where the anchor is, when not where the boat is.
        at: Option<(f64, f64)>,
    },
    /// Anchor up: the watch ends.
    Up,
}

impl Command {
    /// `drop`, `drop 40` (radius), `up`, or JSON: `{"action":"drop","radius":40}`,
    /// `{"action":"drop","rode":35}`, `{"action":"drop","latitude":…,"longitude":…}`,
    /// `{"action":"up"}`.
    pub fn parse(payload: &str) -> Result<Command, String> {
        let p = payload.trim();
        if p.starts_with('{') {
            let v: Value = serde_json::from_str(p).map_err(|e| format!("not JSON: {e}"))?;
            let num = |k: &str| v.get(k).and_then(Value::as_f64);
            return match v.get("action").and_then(Value::as_str) {
                Some("up") => Ok(Command::Up),
                Some("drop") => {
                    let at = match (num("latitude"), num("longitude")) {
                        (Some(la), Some(lo)) => Some((la, lo)),
                        (None, None) => None,
                        _ => return Err("latitude and longitude go together".into()),
                    };
                    checked(Command::Drop { radius_m: num("radius"), rode_m: num("rode"), at })
                }
                _ => Err("`action` is \"drop\" or \"up\"".into()),
            };
        }
        let mut words = p.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("up"), None, None) => Ok(Command::Up),
            (Some("drop"), r, None) => {
                let radius_m =
                    r.map(|r| r.parse::<f64>().map_err(|_| format!("`{r}` is not a radius in metres"))).transpose()?;
                checked(Command::Drop { radius_m, rode_m: None, at: None })
            }
            _ => Err(format!("`{p}`: drop [RADIUS_M], up, or JSON {{\"action\": \"drop\", \"radius\": 40}}")),
        }
    }
}

fn checked(c: Command) -> Result<Command, String> {
    if let Command::Drop { radius_m, rode_m, at } = &c {
        for (what, v) in [("radius", radius_m), ("rode", rode_m)] {
            if let Some(v) = v {
                if !(v.is_finite() && *v > 0.0 && *v <= 5_000.0) {
                    return Err(format!("{what} {v} m: between 0 and 5000 m"));
                }
            }
        }
        if let Some((la, lo)) = at {
            if !(la.abs() <= 90.0 && lo.abs() <= 180.0) {
                return Err(format!("{la}, {lo} is not a position"));
            }
        }
    }
    Ok(c)
}

/// The radius for a rode in a depth (both m).
pub fn radius_from_rode(rode_m: f64, depth_m: Option<f64>) -> f64 {
    let depth = depth_m.unwrap_or(0.0).clamp(0.0, rode_m);
    (rode_m * rode_m - depth * depth).sqrt() + MARGIN_M
}

/// The anchor kept in `path` (`<data_dir>/anchor.json`) by [`keep`], so that a Pi rebooting at
/// anchor resumes the watch; none when the file is absent or unreadable (said in the log).
pub fn load(path: &std::path::Path) -> Option<Anchor> {
    let text = std::fs::read_to_string(path).ok()?;
    match serde_json::from_str(&text) {
        Ok(a) => {
            tracing::info!("anchor: watch resumed from {}", path.display());
            Some(a)
        }
        Err(e) => {
            tracing::warn!("anchor: {} unreadable ({e}); no anchor watch", path.display());
            None
        }
    }
}

/// Keep `anchor` in `path` (written aside and renamed, so a power cut leaves the old or the new
/// one), or remove the file when the anchor is up. A failure is logged: the watch goes on in
/// memory.
pub fn keep(path: &std::path::Path, anchor: Option<&Anchor>) {
    let result = match anchor {
        Some(a) => {
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, serde_json::to_vec(a).unwrap_or_default()).and_then(|_| std::fs::rename(&tmp, path))
        }
        None => std::fs::remove_file(path).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        }),
    };
    if let Err(e) = result {
        tracing::warn!("anchor: cannot keep the watch in {}: {e}", path.display());
    }
}

/// The watch.
#[derive(Debug, Default)]
pub struct AnchorWatch {
    anchor: Option<Anchor>,
    position: Option<(f64, f64, Millis)>,
    depth: Option<f64>,
    /// Consecutive fixes on the other side of the circle from the alarm's state.
    streak: u32,
    /// Raised at, and acknowledged at.
    raised: Option<(Millis, Option<Millis>)>,
    /// The last fix's distance and bearing from the anchor.
    last: Option<(f64, f64)>,
    /// Blind since, and acknowledged at.
    blind: Option<(Millis, Option<Millis>)>,
}

impl AnchorWatch {
    /// A watch resuming `anchor` (kept across restarts).
    pub fn resume(anchor: Option<Anchor>) -> AnchorWatch {
        AnchorWatch { anchor, ..AnchorWatch::default() }
    }

    /// The anchor, while down.
    pub fn anchor(&self) -> Option<&Anchor> {
        self.anchor.as_ref()
    }

    /// Do what the owner asks; the anchor's new state, or why not.
    pub fn command(&mut self, c: Command, at: Millis, out: &mut Vec<Event>) -> Result<(), String> {
        match c {
            Command::Up => {
                if self.anchor.take().is_none() {
                    return Err("the anchor is not down".into());
                }
                if let Some((since, _)) = self.raised.take() {
                    let m = "anchor up: the watch ended".to_owned();
                    out.push(self.event(EventKind::Cleared, at, since, None, m));
                }
                self.see(at, out);
                self.streak = 0;
                self.last = None;
                Ok(())
            }
            Command::Drop { radius_m, rode_m, at: position } => {
                let (latitude, longitude) = match position {
                    Some(p) => p,
                    None => match self.position {
                        Some((la, lo, _)) => (la, lo),
                        None => {
                            return Err("no position yet: drop it with latitude and longitude, or wait for a fix".into())
                        }
                    },
                };
                let radius_m = match (radius_m, rode_m) {
                    (Some(r), _) => r,
                    (None, Some(rode)) => radius_from_rode(rode, self.depth),
                    (None, None) => DEFAULT_RADIUS_M,
                };
                if let Some((since, _)) = self.raised.take() {
                    out.push(self.event(EventKind::Cleared, at, since, None, "anchor dropped again".into()));
                }
                self.anchor = Some(Anchor { latitude, longitude, radius_m, dropped_at: at });
                self.streak = 0;
                self.last = None;
                Ok(())
            }
        }
    }

    /// The depth under the boat, m (for a radius from the rode).
    pub fn depth(&mut self, depth_m: f64) {
        self.depth = Some(depth_m);
    }

    /// Time has passed (a live second, or a replay's next reading): a watch with no fix for
    /// [`FIX_LOST_AFTER_MS`] raises [`BLIND`].
    pub fn tick(&mut self, at: Millis, out: &mut Vec<Event>) {
        let Some(a) = &self.anchor else { return };
        // An anchor dropped at a given position, before any fix, counts from the drop.
        let last = self.position.map_or(a.dropped_at, |p| p.2.max(a.dropped_at));
        if self.blind.is_none() && at - last >= FIX_LOST_AFTER_MS {
            self.blind = Some((at, None));
            let m = format!("anchor watch blind: no GPS fix for {} s", (at - last) / 1000);
            out.push(self.blind_event(EventKind::Raised, at, at, m));
        }
    }

    /// A fix came (or the watch ended): a blind watch sees again.
    fn see(&mut self, at: Millis, out: &mut Vec<Event>) {
        if let Some((since, _)) = self.blind.take() {
            let m = if self.anchor.is_some() { "the GPS has a fix again" } else { "anchor up: the watch ended" };
            out.push(self.blind_event(EventKind::Cleared, at, since, m.into()));
        }
    }

    fn blind_event(&self, kind: EventKind, at: Millis, since: Millis, message: String) -> Event {
        Event {
            alarm: BLIND.into(),
            kind,
            at,
            since,
            severity: Severity::Alarm,
            device: "nav".into(),
            metric: String::new(),
            value: None,
            message,
        }
    }

    /// Whether `alarm` is one of the watch's own (acknowledged here, not by the rules).
    pub fn owns(alarm: &str) -> bool {
        alarm == ALARM || alarm == BLIND
    }

    /// A fix of the boat.
    pub fn position(&mut self, latitude: f64, longitude: f64, at: Millis, out: &mut Vec<Event>) {
        self.position = Some((latitude, longitude, at));
        self.see(at, out);
        let Some(a) = &self.anchor else { return };
        let Some((distance, bearing)) = crate::geo::inverse((a.latitude, a.longitude), (latitude, longitude)) else {
            return;
        };
        self.last = Some((distance, bearing));
        let outside = distance > a.radius_m;
        // The streak counts fixes that disagree with the alarm's state.
        if outside != self.raised.is_some() {
            self.streak += 1;
        } else {
            self.streak = 0;
        }
        if self.streak < FIXES_OUTSIDE {
            return;
        }
        self.streak = 0;
        let words = format!(
            "{:.0} m from the anchor (radius {:.0} m), {:.0}° from it",
            distance,
            a.radius_m,
            bearing.rem_euclid(360.0)
        );
        match self.raised {
            None => {
                self.raised = Some((at, None));
                out.push(self.event(EventKind::Raised, at, at, Some(distance), format!("anchor drag: {words}")));
            }
            Some((since, _)) => {
                self.raised = None;
                out.push(self.event(EventKind::Cleared, at, since, Some(distance), format!("back inside: {words}")));
            }
        }
    }

    /// Acknowledge the drag alarm, or the blind watch's.
    pub fn acknowledge(&mut self, alarm: &str, at: Millis) -> Option<Event> {
        if alarm == BLIND {
            let (since, ack) = self.blind.as_mut()?;
            if ack.is_some() {
                return None;
            }
            *ack = Some(at);
            let since = *since;
            return Some(self.blind_event(
                EventKind::Acknowledged,
                at,
                since,
                "anchor watch blind: acknowledged".into(),
            ));
        }
        let (since, ack) = self.raised.as_mut()?;
        if ack.is_some() {
            return None;
        }
        *ack = Some(at);
        let since = *since;
        let value = self.last.map(|l| l.0);
        Some(self.event(EventKind::Acknowledged, at, since, value, "anchor drag acknowledged".into()))
    }

    fn event(&self, kind: EventKind, at: Millis, since: Millis, value: Option<f64>, message: String) -> Event {
        Event {
            alarm: ALARM.into(),
            kind,
            at,
            since,
            severity: Severity::Emergency,
            device: "nav".into(),
            metric: "anchor_distance".into(),
            value,
            message,
        }
    }

    /// The watch as JSON (`halyard/anchor`, retained; the dashboard's map).
    pub fn state(&self) -> Value {
        match &self.anchor {
            None => json!({"state": "up"}),
            Some(a) => json!({
                "state": if self.raised.is_some() { "dragging" } else { "down" },
                "latitude": a.latitude,
                "longitude": a.longitude,
                "radius": a.radius_m,
                "dropped_at": crate::sinks::mqtt::rfc3339(a.dropped_at),
                "distance": self.last.map(|l| (l.0 * 10.0).round() / 10.0),
                "bearing": self.last.map(|l| l.1.rem_euclid(360.0).round()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A point `d` m from (lat, lon) on bearing `b` (spherical; enough for a test's geometry).
    fn offset(lat: f64, lon: f64, d: f64, b: f64) -> (f64, f64) {
        let r = 6_371_008.8;
        let (la, lo, br, dr) = (lat.to_radians(), lon.to_radians(), b.to_radians(), d / r);
        let la2 = (la.sin() * dr.cos() + la.cos() * dr.sin() * br.cos()).asin();
        let lo2 = lo + (br.sin() * dr.sin() * la.cos()).atan2(dr.cos() - la.sin() * la2.sin());
        (la2.to_degrees(), lo2.to_degrees())
    }

    #[test]
    fn commands() {
        assert_eq!(Command::parse("up"), Ok(Command::Up));
        assert_eq!(Command::parse("drop"), Ok(Command::Drop { radius_m: None, rode_m: None, at: None }));
        assert_eq!(Command::parse(" drop 40 "), Ok(Command::Drop { radius_m: Some(40.0), rode_m: None, at: None }));
        assert_eq!(
            Command::parse(r#"{"action":"drop","rode":35,"latitude":59.1,"longitude":10.5}"#),
            Ok(Command::Drop { radius_m: None, rode_m: Some(35.0), at: Some((59.1, 10.5)) })
        );
        for bad in ["drop -4", "drop forty", "hoist", "{\"action\":\"drop\",\"latitude\":1}", "drop 1e9", "{"] {
            assert!(Command::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_radius_from_the_rode_and_the_depth() {
        // 50 m of rode in 30 m of water reaches 40 m (a 3-4-5 triangle), plus the margin.
        assert!((radius_from_rode(50.0, Some(30.0)) - (40.0 + MARGIN_M)).abs() < 1e-9);
        assert_eq!(radius_from_rode(20.0, None), 20.0 + MARGIN_M);
        assert_eq!(radius_from_rode(10.0, Some(25.0)), MARGIN_M, "deeper than the rode: no reach");
    }

    #[test]
    fn a_drag_takes_three_fixes_outside_and_says_how_far_and_where() {
        let (la, lo) = (59.90, 10.70);
        let mut w = AnchorWatch::default();
        let mut out = Vec::new();
        assert!(w.command(Command::Drop { radius_m: Some(40.0), rode_m: None, at: None }, 0, &mut out).is_err());
        w.position(la, lo, 1_000, &mut out);
        w.command(Command::Drop { radius_m: Some(40.0), rode_m: None, at: None }, 2_000, &mut out).unwrap();
        // Swinging inside, one GPS jump outside, back: nothing.
        for (i, (d, b)) in [(30.0, 90.0), (35.0, 180.0), (80.0, 200.0), (20.0, 210.0)].into_iter().enumerate() {
            let (a, o) = offset(la, lo, d, b);
            w.position(a, o, 3_000 + i as i64 * 1000, &mut out);
        }
        assert!(out.is_empty(), "{out:?}");
        // Dragging south-west: raised on the third fix outside.
        for (i, d) in [45.0, 60.0, 85.0].into_iter().enumerate() {
            let (a, o) = offset(la, lo, d, 212.0);
            w.position(a, o, 10_000 + i as i64 * 1000, &mut out);
        }
        assert_eq!(out.len(), 1, "{out:?}");
        let e = &out[0];
        assert_eq!(
            (e.alarm.as_str(), e.kind, e.severity, e.at),
            (ALARM, EventKind::Raised, Severity::Emergency, 12_000)
        );
        assert!((e.value.unwrap() - 85.0).abs() < 0.5, "{e:?}");
        assert!(e.message.contains("85 m from the anchor") && e.message.contains("212°"), "{}", e.message);
        assert_eq!(w.state()["state"], "dragging");
        assert!(w.acknowledge(ALARM, 13_000).is_some());
        assert!(w.acknowledge(ALARM, 13_500).is_none(), "once");
        // Anchor up ends it.
        out.clear();
        w.command(Command::Up, 14_000, &mut out).unwrap();
        assert_eq!(out[0].kind, EventKind::Cleared);
        assert_eq!(w.state(), json!({"state": "up"}));
        assert!(w.command(Command::Up, 15_000, &mut out).is_err());
    }

    #[test]
    fn a_watch_without_fixes_for_two_minutes_is_blind_until_the_next_fix() {
        let mut w = AnchorWatch::default();
        let mut out = Vec::new();
        w.tick(10 * 60_000, &mut out);
        assert!(out.is_empty(), "no anchor, nothing to watch");
        // Dropped at a given position with no fix yet: counted from the drop.
        let drop = Command::Drop { radius_m: Some(30.0), rode_m: None, at: Some((59.9, 10.7)) };
        w.command(drop, 1_000, &mut out).unwrap();
        w.tick(1_000 + FIX_LOST_AFTER_MS - 1, &mut out);
        assert!(out.is_empty());
        w.tick(1_000 + FIX_LOST_AFTER_MS, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].alarm.as_str(), out[0].kind, out[0].severity), (BLIND, EventKind::Raised, Severity::Alarm));
        assert!(out[0].message.contains("no GPS fix for 120 s"), "{}", out[0].message);
        w.tick(1_000 + 3 * FIX_LOST_AFTER_MS, &mut out);
        assert_eq!(out.len(), 1, "raised once");
        assert!(w.acknowledge(BLIND, 200_000).is_some_and(|e| e.kind == EventKind::Acknowledged));
        w.position(59.9, 10.7, 400_000, &mut out);
        assert_eq!((out[1].alarm.as_str(), out[1].kind), (BLIND, EventKind::Cleared));
        // Fixes keep it seeing; a silence blinds it again, and anchor up clears it.
        w.tick(400_000 + FIX_LOST_AFTER_MS, &mut out);
        assert_eq!((out[2].kind, out.len()), (EventKind::Raised, 3));
        w.command(Command::Up, 600_000, &mut out).unwrap();
        assert_eq!((out[3].alarm.as_str(), out[3].kind), (BLIND, EventKind::Cleared));
        w.tick(900_000, &mut out);
        assert_eq!(out.len(), 4);
    }
}
