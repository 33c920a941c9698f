//! Where the boat spent its time: stay points (a run of the track that stays within a radius
//! for a minimum time; Li et al., "Mining user similarity based on location history", 2008),
//! merged into places when their centres are within the same radius, ranked by total time.

use serde_json::{json, Value as Json};

use super::Fix;
use crate::geo::distance_m;

/// A stay keeps within this distance of its first point, m (an anchorage's swinging circle).
pub const RADIUS_M: f64 = 200.0;
/// A stay lasts at least this long, ms.
pub const MIN_STAY_MS: i64 = 20 * 60_000;
/// A silence longer than this ends a stay (the track was not recorded; nothing is assumed).
const MAX_SILENCE_MS: i64 = 6 * 3_600_000;

/// One stay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stay {
    /// Centre (mean of its points).
    pub lat: f64,
    /// Centre.
    pub lon: f64,
    /// Arrival, ms.
    pub from: i64,
    /// Departure (last point), ms.
    pub to: i64,
}

/// A place and the stays there.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// Centre (time-weighted mean of its stays' centres).
    pub lat: f64,
    /// Centre.
    pub lon: f64,
    /// Total time, ms.
    pub total_ms: i64,
    /// The stays, in time order.
    pub stays: Vec<Stay>,
}

impl Place {
    /// As JSON for the CLI and the dashboard.
    pub fn to_json(&self) -> Json {
        let time = crate::sinks::mqtt::rfc3339;
        json!({
            "lat": crate::json::round(self.lat, 6),
            "lon": crate::json::round(self.lon, 6),
            "hours": crate::json::round(self.total_ms as f64 / 3_600_000.0, 2),
            "stays": self.stays.iter().map(|s| json!({"from": time(s.from), "to": time(s.to)})).collect::<Vec<_>>(),
        })
    }
}

/// The stays of a track (in time order).
pub fn stays(track: &[Fix], radius_m: f64, min_ms: i64) -> Vec<Stay> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < track.len() {
        let anchor = track[i];
        let mut j = i + 1;
        while j < track.len()
            && distance_m((anchor.lat, anchor.lon), (track[j].lat, track[j].lon)) <= radius_m
            && track[j].t - track[j - 1].t <= MAX_SILENCE_MS
        {
            j += 1;
        }
        let last = track[j - 1];
        if last.t - anchor.t >= min_ms {
            let n = (j - i) as f64;
            let (lat, lon) = track[i..j].iter().fold((0.0, 0.0), |(a, b), f| (a + f.lat / n, b + f.lon / n));
            out.push(Stay { lat, lon, from: anchor.t, to: last.t });
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// Stays merged into places, most time first.
pub fn places(stays: &[Stay], radius_m: f64) -> Vec<Place> {
    let mut places: Vec<Place> = Vec::new();
    for s in stays {
        let d = s.to - s.from;
        match places.iter_mut().find(|p| distance_m((p.lat, p.lon), (s.lat, s.lon)) <= radius_m) {
            Some(p) => {
                let w = d as f64 / (p.total_ms + d).max(1) as f64;
                p.lat += (s.lat - p.lat) * w;
                p.lon += (s.lon - p.lon) * w;
                p.total_ms += d;
                p.stays.push(*s);
            }
            None => places.push(Place { lat: s.lat, lon: s.lon, total_ms: d, stays: vec![*s] }),
        }
    }
    places.sort_by_key(|p| std::cmp::Reverse(p.total_ms));
    places
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    /// A point `north_m` metres north of 43°N 5°E (a degree of latitude is 111.2 km).
    fn at(t_min: i64, north_m: f64) -> Fix {
        Fix { t: t_min * MIN, lat: 43.0 + north_m / 111_195.0, lon: 5.0 }
    }

    #[test]
    fn anchorages_passages_and_places() {
        let mut track = Vec::new();
        // 60 min swinging within 50 m, a 30-min passage of 7.5 km, 10 min stopped (too short),
        // 40 min at a second anchorage, then back to the first one for 90 min.
        track.extend((0..=60).map(|m| at(m, (m % 7) as f64 * 7.0)));
        track.extend((61..=90).map(|m| at(m, (m - 60) as f64 * 250.0)));
        track.extend((91..=100).map(|m| at(m, 7_600.0)));
        track.extend((101..=110).map(|m| at(m, 7_600.0 + (m - 100) as f64 * 200.0)));
        track.extend((111..=150).map(|m| at(m, 10_000.0 + (m % 3) as f64 * 20.0)));
        track.extend((151..=240).map(|m| at(m, 30.0)));
        let s = stays(&track, RADIUS_M, MIN_STAY_MS);
        assert_eq!(s.len(), 3, "{s:?}");
        assert_eq!((s[0].from, s[0].to), (0, 60 * MIN));
        assert_eq!((s[1].from, s[1].to), (111 * MIN, 150 * MIN));
        let p = places(&s, RADIUS_M);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].stays.len(), 2, "the first anchorage twice");
        assert_eq!(p[0].total_ms, 60 * MIN + 89 * MIN);
        assert!(distance_m((p[0].lat, p[0].lon), (43.0, 5.0)) < 50.0);
    }
}
