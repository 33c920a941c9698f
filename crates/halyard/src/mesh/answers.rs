//! The mesh's answers from the store (DESIGN.md §5): where the dinghy is, where everyone is
//! (distance and bearing true and magnetic from us), the longest range ever attained and the
//! longest "somewhat reliable" range.
//!
//! Definitions:
//! - **Our position**: the boat's GPS (`nav`), else our own radio's (the mesh node that has no
//!   distance from us).
//! - **Max range ever attained**: the largest distance of a position heard directly — hops
//!   travelled = hop_start − hop_limit = 0; packets whose hop count is unknown (hop_start = 0,
//!   firmware before 2.3) are left out rather than guessed.
//! - **Somewhat reliable range**: range-test packets (`seq N`) of a sender are expected one
//!   after another from its first to its last heard sequence number; each expected packet is
//!   placed at the sender's distance from us then (from the sender's own log when given, with
//!   our position at the packet's time, else interpolated by sequence number between the heard
//!   ones); in distance bands (1 km by default) the delivery is heard / expected. The reliable
//!   range (`reliable_range_m`) is the far edge of the last band of the unbroken run from 0 m
//!   in which every band with at least two expected packets delivered at least 80 % (bands with
//!   fewer packets say nothing and neither break nor extend the run): out to there the link
//!   held. `farthest_reliable_band_m` is the far edge of the farthest band with ≥ 80 % and at
//!   least two packets, wherever it lies — a hill top 7 km away can deliver while 1–2 km behind
//!   a headland does not.
//! - **Names**: the long and short names each node announces (NodeInfo), kept in the store's
//!   labels so that a restart keeps them.

use std::collections::BTreeMap;

use anyhow::Result;
use serde_json::{json, Value as Json};

use crate::store::Backend;

/// Delivery that counts as reliable.
pub const RELIABLE: f64 = 0.8;
/// A distance from the time of a range-test packet is looked for this close in time, ms.
const NEAR_MS: i64 = 5 * 60_000;

fn last(store: &mut dyn Backend, device: &str, metric: &str) -> Result<Option<(i64, f64)>> {
    Ok(store.samples(device, metric, 0, i64::MAX)?.last().copied())
}

/// Every mesh node recorded (device names `mesh/…`).
pub fn nodes(store: &mut dyn Backend) -> Result<Vec<String>> {
    let mut n: Vec<String> =
        store.series()?.into_iter().filter(|(d, _, _)| d.starts_with("mesh/")).map(|(d, _, _)| d).collect();
    n.dedup();
    Ok(n)
}

/// Our position: the boat's GPS, else our own radio's.
pub fn our_position(store: &mut dyn Backend) -> Result<Option<(f64, f64)>> {
    if let (Some((_, lat)), Some((_, lon))) = (last(store, "nav", "latitude")?, last(store, "nav", "longitude")?) {
        return Ok(Some((lat, lon)));
    }
    for node in nodes(store)? {
        let has_distance = !store.samples(&node, "distance", 0, i64::MAX)?.is_empty();
        if let (false, Some((_, lat)), Some((_, lon))) =
            (has_distance, last(store, &node, "latitude")?, last(store, &node, "longitude")?)
        {
            return Ok(Some((lat, lon)));
        }
    }
    Ok(None)
}

/// Where one node is, seen from `us` at `now`.
pub fn where_is(store: &mut dyn Backend, node: &str, us: Option<(f64, f64)>, now: i64) -> Result<Option<Json>> {
    let (Some((t, lat)), Some((_, lon))) = (last(store, node, "latitude")?, last(store, node, "longitude")?) else {
        return Ok(None);
    };
    let heard = ["snr", "rssi", "latitude", "battery_level", "range_test_seq"]
        .iter()
        .filter_map(|m| last(store, node, m).ok().flatten())
        .map(|(t, _)| t)
        .max()
        .unwrap_or(t);
    let labels = store.labels(node)?;
    let mut out = json!({
        "node": node.trim_start_matches("mesh/"),
        "long_name": labels.get("long_name"),
        "short_name": labels.get("short_name"),
        "lat": crate::json::round(lat, 6),
        "lon": crate::json::round(lon, 6),
        "position_at": crate::sinks::mqtt::rfc3339(t),
        "position_age_s": (now - t) / 1000,
        "last_heard": crate::sinks::mqtt::rfc3339(heard),
    });
    if let Some(us) = us {
        if let Some((d, b)) = crate::geo::inverse(us, (lat, lon)) {
            out["distance_m"] = json!(crate::json::round(d, 1));
            out["bearing_true"] = json!(crate::json::round(b, 1));
            match crate::geo::declination(us.0, us.1, now.div_euclid(86_400_000)) {
                Ok((decl, sigma)) => {
                    out["bearing_magnetic"] = json!(crate::json::round((b - decl).rem_euclid(360.0), 1));
                    out["declination"] = json!(crate::json::round(decl, 2));
                    out["declination_uncertainty"] = json!(crate::json::round(sigma, 2));
                    out["magnetic_model"] = json!("WMM2020/WMM2025, valid 2020-01-01 to 2029-12-31");
                }
                Err(e) => out["bearing_magnetic_error"] = json!(e.to_string()),
            }
        }
    }
    Ok(Some(out))
}

/// The farthest direct reception: (node, distance m, when), from the `direct_distance` that
/// ingest::mesh records for positions heard with a known hop count of zero.
pub fn max_range(store: &mut dyn Backend) -> Result<Option<(String, f64, i64)>> {
    let mut best: Option<(String, f64, i64)> = None;
    for node in nodes(store)? {
        for (t, d) in store.samples(&node, "direct_distance", 0, i64::MAX)? {
            if best.as_ref().is_none_or(|(_, b, _)| d > *b) {
                best = Some((node.clone(), d, t));
            }
        }
    }
    Ok(best)
}

/// One band of the reliable-range table.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Near edge, m.
    pub from_m: f64,
    /// Packets expected in it.
    pub expected: usize,
    /// Packets heard.
    pub heard: usize,
}

/// Delivery by distance band from expected packets (distance, heard).
pub fn bands(packets: &[(f64, bool)], width_m: f64) -> Vec<Band> {
    let mut by: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
    for (d, heard) in packets {
        let e = by.entry((d / width_m).floor() as i64).or_default();
        e.0 += 1;
        e.1 += usize::from(*heard);
    }
    by.into_iter().map(|(k, (expected, heard))| Band { from_m: k as f64 * width_m, expected, heard }).collect()
}

/// Whether a band says anything (at least two packets expected), and whether it held (≥ 80 %).
fn held(b: &Band) -> Option<bool> {
    (b.expected >= 2).then_some(b.heard as f64 >= RELIABLE * b.expected as f64)
}

/// The far edge of the last band of the unbroken run from 0 m of bands that held (bands with
/// fewer than two packets expected are skipped); `None` when the first band that says anything
/// did not hold.
pub fn reliable_range(bands: &[Band], width_m: f64) -> Option<f64> {
    let mut edge = None;
    for b in bands {
        match held(b) {
            Some(true) => edge = Some(b.from_m + width_m),
            Some(false) => break,
            None => {}
        }
    }
    edge
}

/// The far edge of the farthest band that held, wherever it lies.
pub fn farthest_reliable_band(bands: &[Band], width_m: f64) -> Option<f64> {
    bands.iter().filter(|b| held(b) == Some(true)).map(|b| b.from_m + width_m).reduce(f64::max)
}

/// The expected range-test packets of a sender, (distance, heard): from its own log
/// (`seq,tx_time,lat,lon,…`) when given, else interpolated between the heard ones.
pub fn range_test_packets(
    store: &mut dyn Backend,
    node: &str,
    sender_log: Option<&str>,
    us: Option<(f64, f64)>,
) -> Result<Vec<(f64, bool)>> {
    let seqs = store.samples(node, "range_test_seq", 0, i64::MAX)?;
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let heard: std::collections::BTreeSet<u64> = seqs.iter().map(|(_, s)| *s as u64).collect();
    if let (Some(log), Some(us)) = (sender_log, us) {
        // Where we were when each packet left: the boat's track (else our last position).
        let track = crate::nav::track(store, 0, i64::MAX)?;
        let ours = |t: Option<i64>| -> (f64, f64) {
            let Some(t) = t.filter(|_| !track.is_empty()) else { return us };
            let i = track.partition_point(|f| f.t <= t).saturating_sub(1);
            (track[i].lat, track[i].lon)
        };
        let mut out = Vec::new();
        for line in log.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (Some(seq), Some(lat), Some(lon)) = (
                f.first().and_then(|s| s.trim().parse::<u64>().ok()),
                f.get(2).and_then(|s| s.trim().parse::<f64>().ok()),
                f.get(3).and_then(|s| s.trim().parse::<f64>().ok()),
            ) else {
                continue;
            };
            let sent = f.get(1).and_then(|s| s.trim().parse::<jiff::Timestamp>().ok()).map(|t| t.as_millisecond());
            if let Some((d, _)) = crate::geo::inverse(ours(sent), (lat, lon)) {
                out.push((d, heard.contains(&seq)));
            }
        }
        return Ok(out);
    }
    // Each heard packet at the distance the node had then; the missing ones in between.
    let distances = store.samples(node, "distance", 0, i64::MAX)?;
    let at = |t: i64| -> Option<f64> {
        let i = distances.partition_point(|(d, _)| *d <= t);
        [i.checked_sub(1), Some(i)]
            .into_iter()
            .flatten()
            .filter_map(|j| distances.get(j))
            .filter(|(d, _)| (d - t).abs() <= NEAR_MS)
            .min_by_key(|(d, _)| (d - t).abs())
            .map(|(_, v)| *v)
    };
    let known: Vec<(u64, f64)> = seqs.iter().filter_map(|(t, s)| Some((*s as u64, at(*t)?))).collect();
    let mut out = Vec::new();
    for w in known.windows(2) {
        let ((s0, d0), (s1, d1)) = (w[0], w[1]);
        for s in s0..s1 {
            let f = (s - s0) as f64 / (s1 - s0).max(1) as f64;
            out.push((d0 + (d1 - d0) * f, heard.contains(&s)));
        }
    }
    out.extend(known.last().map(|(_, d)| (*d, true)));
    Ok(out)
}

/// Every answer at once (`halyard mesh --json`, `/api/mesh`, `<root>/mesh/answers`): our
/// position, `node` (a configured name or a node id) under its own key, everyone, the max range
/// and the reliable range of each range-test sender; `None` when no node was ever recorded.
/// "Now" is the last time anything was heard, since a replayed log lives in its own past.
pub fn summary(store: &mut dyn Backend, node: &str, sender_log: Option<&str>, band_m: f64) -> Result<Option<Json>> {
    let nodes = nodes(store)?;
    if nodes.is_empty() {
        return Ok(None);
    }
    let mut now = 0;
    let series = store.series()?;
    for (device, metric, _) in series.iter().filter(|(d, _, _)| d.starts_with("mesh/")) {
        now = now.max(last(store, device, metric)?.map_or(0, |(t, _)| t));
    }
    let us = our_position(store)?;
    let wanted = format!("mesh/{}", node.trim_start_matches('!'));
    let found = where_is(store, &wanted, us, now)?;
    let mut everyone = Vec::new();
    let mut ours = None;
    for n in &nodes {
        // Our own radio is never given a distance from us (ingest::mesh): it is "us".
        if store.samples(n, "distance", 0, i64::MAX)?.is_empty() && last(store, n, "latitude")?.is_some() {
            ours = Some(n.trim_start_matches("mesh/").to_owned());
            continue;
        }
        if let Some(mut w) = where_is(store, n, us, now)? {
            for metric in ["snr", "rssi", "hops_away", "battery_level"] {
                if let Some((_, v)) = last(store, n, metric)? {
                    w[metric] = json!(v);
                }
            }
            everyone.push(w);
        }
    }
    let mut reliable = Vec::new();
    for n in &nodes {
        let packets = range_test_packets(store, n, sender_log, us)?;
        if packets.is_empty() {
            continue;
        }
        let b = bands(&packets, band_m);
        reliable.push(json!({
            "sender": n.trim_start_matches("mesh/"),
            "reliable_range_m": reliable_range(&b, band_m),
            "farthest_reliable_band_m": farthest_reliable_band(&b, band_m),
            "band_m": band_m,
            "bands": b.iter().map(|b| json!({"from_m": b.from_m, "expected": b.expected, "heard": b.heard})).collect::<Vec<_>>(),
        }));
    }
    Ok(Some(json!({
        "now": crate::sinks::mqtt::rfc3339(now),
        "us": us.map(|(lat, lon)| {
            let names = ours.as_ref().and_then(|n| store.labels(&format!("mesh/{n}")).ok()).unwrap_or_default();
            json!({"lat": lat, "lon": lon, "node": ours, "long_name": names.get("long_name"), "short_name": names.get("short_name")})
        }),
        node: found,
        "everyone": everyone,
        "max_range": max_range(store)?.map(|(n, d, t)| json!({
            "node": n.trim_start_matches("mesh/"),
            "distance_m": crate::json::round(d, 1),
            "at": crate::sinks::mqtt::rfc3339(t),
        })),
        "range_test": reliable,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_and_the_reliable_edge() {
        // 400 m steps; lost at 5.2 km and from 6 km on but for 7.2 km.
        let lost = [13, 15, 16, 17, 19, 20];
        let packets: Vec<(f64, bool)> = (1..=20).map(|s| (s as f64 * 400.0, !lost.contains(&s))).collect();
        let b = bands(&packets, 1000.0);
        assert_eq!(b[5], Band { from_m: 5000.0, expected: 2, heard: 1 });
        assert_eq!(reliable_range(&b, 1000.0), Some(5000.0));
        assert_eq!(farthest_reliable_band(&b, 1000.0), Some(5000.0));
        assert_eq!(reliable_range(&bands(&[(100.0, true)], 1000.0), 1000.0), None, "one packet is no statistic");
    }

    /// The case: bands at 100, 50, 100, 100, 100, 50, 100 %: the link already fails
    /// half the time at 1–2 km, so it is reliable to 1 km, though a band out at 6–7 km held.
    #[test]
    fn the_reliable_range_is_an_unbroken_run_from_the_boat() {
        let rates = [(2, 2), (1, 2), (4, 4), (3, 3), (2, 2), (2, 4), (2, 2)];
        let b: Vec<Band> = rates
            .iter()
            .enumerate()
            .map(|(i, (heard, expected))| Band { from_m: i as f64 * 1000.0, expected: *expected, heard: *heard })
            .collect();
        assert_eq!(reliable_range(&b, 1000.0), Some(1000.0));
        assert_eq!(farthest_reliable_band(&b, 1000.0), Some(7000.0));
        // A band with a single packet neither breaks nor extends the run.
        let b = [
            Band { from_m: 0.0, expected: 5, heard: 5 },
            Band { from_m: 1000.0, expected: 1, heard: 0 },
            Band { from_m: 2000.0, expected: 4, heard: 4 },
        ];
        assert_eq!(reliable_range(&b, 1000.0), Some(3000.0));
        // The first band that says anything failed: no reliable range.
        let b = [Band { from_m: 0.0, expected: 1, heard: 1 }, Band { from_m: 1000.0, expected: 5, heard: 1 }];
        assert_eq!(reliable_range(&b, 1000.0), None);
    }
}
