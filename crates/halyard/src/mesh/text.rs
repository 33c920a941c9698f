//! `halyard mesh` for people: where we are, where the node asked for is, everyone with their
//! announced names, the ranges and the delivery of each distance band — times of day in the
//! boat's time zone.

use serde_json::Value as Json;

use crate::store::Calendar;
use crate::text::{self, Align, Page, Times};

/// A node's name as people know it: `dinghy (Dinghy tracker, DNGY)`.
fn who(w: &Json) -> String {
    let node = w["node"].as_str().unwrap_or("?");
    let names: Vec<&str> =
        [&w["long_name"], &w["short_name"]].iter().filter_map(|v| v.as_str()).filter(|n| *n != node).collect();
    if names.is_empty() {
        node.to_owned()
    } else {
        format!("{node} ({})", names.join(", "))
    }
}

fn bearing(v: &Json) -> String {
    v.as_f64().map_or("–".into(), |b| format!("{b:03.0}°"))
}

/// Distance and bearings of a node, in words.
fn whereabouts(w: &Json) -> String {
    match w["distance_m"].as_f64() {
        Some(d) if d < 20.0 => format!("alongside ({d:.0} m)"),
        Some(d) => format!(
            "{}  {} T  {} M",
            text::distance(d),
            bearing(&w["bearing_true"]),
            w["bearing_magnetic"].as_f64().map_or_else(
                || format!("(no magnetic bearing: {})", w["bearing_magnetic_error"].as_str().unwrap_or("?")),
                |m| format!("{m:03.0}°")
            )
        ),
        None => "distance unknown (our position is not known)".into(),
    }
}

/// The page.
pub fn page(out: &Json, node: &str, cal: &Calendar) -> String {
    let now = out["now"].as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok()).map_or(0, |t| t.as_millisecond());
    let t = Times::new(cal.timezone(), now);
    let mut p = Page::new(&format!("Mesh · {} · last heard {} ({})", t.long_date(), t.at(&out["now"]), t.zone()));
    p.section("Us");
    match out["us"].as_object() {
        Some(us) => {
            let radio = match us.get("node").and_then(Json::as_str) {
                Some(n) => format!("  our radio {}", who(&Json::Object(us.clone())).replacen(n, &format!("!{n}"), 1)),
                None => String::new(),
            };
            p.line(format!(
                "{}{radio}",
                text::position(us["lat"].as_f64().unwrap_or(0.0), us["lon"].as_f64().unwrap_or(0.0))
            ));
        }
        None => p.line("position unknown (no GPS and no report from our own radio): no distances"),
    }
    p.section(&format!("Where is {node}"));
    match out.get(node).filter(|w| !w.is_null()) {
        Some(w) => {
            p.row(&who(w), whereabouts(w));
            p.row(
                "position",
                format!(
                    "{}  at {}",
                    text::position(w["lat"].as_f64().unwrap_or(0.0), w["lon"].as_f64().unwrap_or(0.0)),
                    t.at(&w["position_at"])
                ),
            );
            p.row("last heard", t.at(&w["last_heard"]));
        }
        None => p.line(format!("no position heard from {node}")),
    }
    let everyone = out["everyone"].as_array().cloned().unwrap_or_default();
    p.section("Everyone");
    let rows: Vec<Vec<String>> = everyone
        .iter()
        .map(|w| {
            // Alongside, a bearing means nothing.
            let near = w["distance_m"].as_f64().is_some_and(|d| d < 20.0);
            let b = |v: &Json| if near { "–".to_owned() } else { bearing(v) };
            vec![
                who(w),
                w["distance_m"].as_f64().map_or("–".into(), text::distance),
                b(&w["bearing_true"]),
                b(&w["bearing_magnetic"]),
                w["hops_away"].as_f64().map_or("–".into(), |h| format!("{h:.0}")),
                text::with_unit(&w["snr"], 1, "dB"),
                text::with_unit(&w["rssi"], 0, "dBm"),
                text::with_unit(&w["battery_level"], 0, "%"),
                t.at(&w["last_heard"]),
            ]
        })
        .collect();
    p.table(
        &[
            ("node", Align::Left),
            ("distance", Align::Right),
            ("true", Align::Right),
            ("magnetic", Align::Right),
            ("hops", Align::Right),
            ("SNR", Align::Right),
            ("RSSI", Align::Right),
            ("battery", Align::Right),
            ("heard", Align::Right),
        ],
        &rows,
    );
    if let Some(w) = everyone.iter().find(|w| w["declination"].is_number()) {
        p.line(format!(
            "magnetic bearings: declination {:+.1}° ± {:.1}° ({})",
            w["declination"].as_f64().unwrap_or(0.0),
            w["declination_uncertainty"].as_f64().unwrap_or(0.0),
            w["magnetic_model"].as_str().unwrap_or("")
        ));
    }
    p.section("Range");
    match out["max_range"].as_object() {
        Some(m) => p.row(
            "max range (heard directly)",
            format!(
                "{} from {} at {}",
                text::distance(m["distance_m"].as_f64().unwrap_or(0.0)),
                m["node"].as_str().unwrap_or("?"),
                t.at(&m["at"])
            ),
        ),
        None => p.row("max range (heard directly)", "no direct reception with a position and a known hop count"),
    }
    for r in out["range_test"].as_array().into_iter().flatten() {
        let sender = r["sender"].as_str().unwrap_or("?");
        let km = |v: &Json| v.as_f64().map_or("none".to_owned(), text::distance);
        p.row(
            &format!("reliable range to {sender}"),
            format!("{}  (every band out to it ≥ 80 %)", km(&r["reliable_range_m"])),
        );
        p.row("farthest band ≥ 80 %", km(&r["farthest_reliable_band_m"]));
        let width = r["band_m"].as_f64().unwrap_or(1000.0);
        let rows: Vec<Vec<String>> = r["bands"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| {
                let (e, h) = (b["expected"].as_u64().unwrap_or(0), b["heard"].as_u64().unwrap_or(0));
                let from = b["from_m"].as_f64().unwrap_or(0.0);
                let share = h as f64 / e.max(1) as f64;
                let band = if width % 1000.0 == 0.0 {
                    format!("{:.0}–{:.0} km", from / 1000.0, (from + width) / 1000.0)
                } else {
                    format!("{:.0}–{:.0} m", from, from + width)
                };
                vec![
                    band,
                    format!("{h}/{e}"),
                    format!("{:.0} %", share * 100.0),
                    "#".repeat((share * 20.0).round() as usize),
                ]
            })
            .collect();
        p.table(
            &[("band", Align::Left), ("heard", Align::Right), ("delivery", Align::Right), ("", Align::Left)],
            &rows,
        );
    }
    p.finish()
}
