//! `halyard export kml|gpx` (the command is `crate::export`'s): the track as KML (one line per local day, a marker per place
//! where the boat stayed, with its time there) or GPX 1.1 (one track segment per day, the places
//! as waypoints), for Google Earth, OpenCPN, Navionics and the dashboard's map.

use std::fmt::Write as _;

use anyhow::Result;

use super::stays::{self, Place};
use super::Fix;
use crate::store::Calendar;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The track split into local days: (date, fixes).
pub fn days<'a>(track: &'a [Fix], cal: &Calendar) -> Vec<(String, &'a [Fix])> {
    let mut out: Vec<(String, &[Fix])> = Vec::new();
    let mut start = 0;
    for i in 1..=track.len() {
        if i == track.len() || cal.day_start(track[i].t) != cal.day_start(track[start].t) {
            out.push((cal.date(track[start].t), &track[start..i]));
            start = i;
        }
    }
    out
}

fn hours(p: &Place) -> String {
    let h = p.total_ms as f64 / 3_600_000.0;
    if h >= 48.0 {
        format!("{:.1} days", h / 24.0)
    } else {
        format!("{h:.1} h")
    }
}

/// KML 2.2.
pub fn kml(track: &[Fix], places: &[Place], cal: &Calendar) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n<Document>\n<name>Halyard track</name>\n\
         <Style id=\"track\"><LineStyle><color>ff00a5ff</color><width>3</width></LineStyle></Style>\n\
         <Style id=\"stay\"><IconStyle><scale>1.1</scale></IconStyle></Style>\n",
    );
    for (date, fixes) in days(track, cal) {
        let _ = write!(s, "<Placemark><name>{}</name><styleUrl>#track</styleUrl><TimeSpan><begin>{}</begin><end>{}</end></TimeSpan><LineString><tessellate>1</tessellate><coordinates>", escape(&date), crate::sinks::mqtt::rfc3339(fixes[0].t), crate::sinks::mqtt::rfc3339(fixes[fixes.len() - 1].t));
        for f in fixes {
            let _ = write!(s, "{:.6},{:.6},0 ", f.lon, f.lat);
        }
        s.push_str("</coordinates></LineString></Placemark>\n");
    }
    for (i, p) in places.iter().enumerate() {
        let _ = writeln!(
            s,
            "<Placemark><name>Stay {}: {}</name><description>{} stays, {} in all</description><styleUrl>#stay</styleUrl><Point><coordinates>{:.6},{:.6},0</coordinates></Point></Placemark>",
            i + 1,
            hours(p),
            p.stays.len(),
            hours(p),
            p.lon,
            p.lat
        );
    }
    s.push_str("</Document>\n</kml>\n");
    s
}

/// GPX 1.1.
pub fn gpx(track: &[Fix], places: &[Place], cal: &Calendar) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gpx version=\"1.1\" creator=\"Halyard\" xmlns=\"http://www.topografix.com/GPX/1/1\">\n",
    );
    for (i, p) in places.iter().enumerate() {
        let _ = writeln!(
            s,
            "<wpt lat=\"{:.6}\" lon=\"{:.6}\"><name>Stay {}: {}</name></wpt>",
            p.lat,
            p.lon,
            i + 1,
            hours(p)
        );
    }
    s.push_str("<trk><name>Halyard track</name>\n");
    for (_, fixes) in days(track, cal) {
        s.push_str("<trkseg>\n");
        for f in fixes {
            let _ = writeln!(
                s,
                "<trkpt lat=\"{:.6}\" lon=\"{:.6}\"><time>{}</time></trkpt>",
                f.lat,
                f.lon,
                crate::sinks::mqtt::rfc3339(f.t)
            );
        }
        s.push_str("</trkseg>\n");
    }
    s.push_str("</trk>\n</gpx>\n");
    s
}

/// The track and places of `[from, to)` in a format.
pub fn render(
    format: &str,
    store: &mut dyn crate::store::Backend,
    cal: &Calendar,
    from: i64,
    to: i64,
) -> Result<String> {
    let track = super::track(store, from, to)?;
    let places = stays::places(&stays::stays(&track, stays::RADIUS_M, stays::MIN_STAY_MS), stays::RADIUS_M);
    Ok(match format {
        "gpx" => gpx(&track, &places, cal),
        _ => kml(&track, &places, cal),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_local_day_and_escaped_names() {
        let cal = Calendar::new("Europe/Paris").unwrap();
        // 2026-06-23 21:00 and 22:30 UTC: the second is the 24th in Paris (UTC+2).
        let t0 = crate::sim::parse_date("2026-06-23").unwrap() * 86_400_000 + 21 * 3_600_000;
        let track = [
            Fix { t: t0, lat: 47.7, lon: -3.4 },
            Fix { t: t0 + 1_800_000, lat: 47.71, lon: -3.41 },
            Fix { t: t0 + 5_400_000, lat: 47.72, lon: -3.42 },
        ];
        let d = days(&track, &cal);
        assert_eq!(
            d.iter().map(|(n, f)| (n.as_str(), f.len())).collect::<Vec<_>>(),
            [("2026-06-23", 2), ("2026-06-24", 1)]
        );
        let k = kml(&track, &[], &cal);
        assert_eq!(k.matches("<LineString>").count(), 2);
        assert!(k.contains("-3.400000,47.700000,0 -3.410000,47.710000,0 "), "{k}");
        let g = gpx(&track, &[], &cal);
        assert_eq!(g.matches("<trkseg>").count(), 2);
        assert!(g.contains("<trkpt lat=\"47.720000\" lon=\"-3.420000\"><time>2026-06-23T22:30:00.000Z</time>"), "{g}");
        assert_eq!(escape("a<b&\"c\""), "a&lt;b&amp;&quot;c&quot;");
    }
}
