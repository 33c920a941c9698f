//! `halyard nav` for people: the day's wind, distance and GPS fix losses, the last hour's
//! gusts, and where the boat spent its time — times of day in the boat's time zone.

use serde_json::Value as Json;

use crate::text::{self, Align, Page, Times};

/// The day's answers as rows of a page (also the navigation section of `halyard report`).
pub fn day_rows(p: &mut Page, day: &Json, t: &Times) {
    p.row(
        "max gust (3 s)",
        format!("{} at {}", text::with_unit(&day["max_gust_kn"], 1, "kn"), t.at(&day["max_gust_at"])),
    );
    p.row(
        "max apparent wind",
        format!("{} at {}", text::with_unit(&day["max_apparent_wind_kn"], 1, "kn"), t.at(&day["max_apparent_wind_at"])),
    );
    p.row("distance sailed", text::with_unit(&day["distance_nm"], 1, "nm"));
    let losses = day["fix_losses"].as_array().cloned().unwrap_or_default();
    if losses.is_empty() {
        p.row("GPS fix lost", "never");
    }
    for (i, l) in losses.iter().enumerate() {
        p.row(
            if i == 0 { "GPS fix lost" } else { "" },
            format!("{} ({})", t.span(&l["from"], &l["to"]), text::duration(l["seconds"].as_f64().unwrap_or(0.0))),
        );
    }
}

/// The page.
pub fn page(out: &Json, t: &Times) -> String {
    let mut p = Page::new(&format!("Navigation · {} ({})", t.long_date(), t.zone()));
    p.section("The day");
    match out["day"].as_object() {
        Some(_) => day_rows(&mut p, &out["day"], t),
        None => p.line("nothing navigational recorded this day"),
    }
    if let Some(h) = out["last_hour"].as_object() {
        p.section(&format!("The last hour (to {})", t.at(&h["to"])));
        p.row("max gust (3 s)", text::with_unit(&h["max_gust_kn"], 1, "kn"));
        p.row("max apparent wind", text::with_unit(&h["max_apparent_wind_kn"], 1, "kn"));
    }
    p.section("Where we spent our time (every recorded day)");
    let places = out["places"].as_array().cloned().unwrap_or_default();
    if places.is_empty() {
        p.line("no stay of 20 minutes yet");
    }
    let rows: Vec<Vec<String>> = places
        .iter()
        .enumerate()
        .map(|(i, pl)| {
            let stays = pl["stays"].as_array().cloned().unwrap_or_default();
            let last = stays.last().map_or(String::new(), |s| t.span(&s["from"], &s["to"]));
            vec![
                format!("{}.", i + 1),
                format!("{} h", text::number(pl["hours"].as_f64(), 1)),
                text::position(pl["lat"].as_f64().unwrap_or(0.0), pl["lon"].as_f64().unwrap_or(0.0)),
                format!("{}", stays.len()),
                last,
            ]
        })
        .collect();
    if !rows.is_empty() {
        p.table(
            &[
                ("", Align::Right),
                ("time", Align::Right),
                ("where", Align::Left),
                ("stays", Align::Right),
                ("last stay", Align::Left),
            ],
            &rows,
        );
    }
    p.finish()
}
