//! The simulated boat's navigation instruments as NMEA 0183 sentences (marine.md §2.2 layouts):
//! the GPS (RMC, GGA, GLL, VTG, ZDA; status V and quality 0 while it has no fix), the wind
//! instrument (MWV relative and true), the fluxgate compass (HDG, magnetic with the variation),
//! the depth sounder (DPT), and the AIS receiver's position reports of the vessels around
//! (`!AIVDM` type 1, armoured by `halyard_proto::nmea::ais::encode_class_a`).
//!
//! Every number is printed to the resolution real instruments use (0.1 kn, 0.1°, 0.0001′), and
//! [`printed`] gives that value back, so the ground truth is what the instruments said.

use halyard_proto::nmea::ais::{encode_class_a, PositionReport};

use super::voyage::{self, Motion};
use super::weather::Wind;

/// A value as printed with one decimal.
pub fn printed(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// `$…*hh` around a sentence's content.
pub fn sentence(content: &str) -> String {
    format!("${content}*{:02X}", halyard_proto::nmea::checksum(content.as_bytes()))
}

fn encapsulated(content: &str) -> String {
    format!("!{content}*{:02X}", halyard_proto::nmea::checksum(content.as_bytes()))
}

/// `ddmm.mmmm,N` / `dddmm.mmmm,E`.
fn angle(v: f64, degree_digits: usize, hemispheres: [char; 2]) -> String {
    let total = (v.abs() * 600_000.0).round() as i64;
    let (deg, min) = (total / 600_000, (total % 600_000) as f64 / 10_000.0);
    let h = if v < 0.0 { hemispheres[1] } else { hemispheres[0] };
    format!("{deg:0degree_digits$}{min:07.4},{h}")
}

/// A position as the sentences print it.
pub fn lat_lon(lat: f64, lon: f64) -> String {
    format!("{},{}", angle(lat, 2, ['N', 'S']), angle(lon, 3, ['E', 'W']))
}

/// UTC time and date fields of `at` (ms).
fn utc(at: i64) -> (String, jiff::civil::DateTime) {
    let t = jiff::Timestamp::from_millisecond(at).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let dt = jiff::tz::TimeZone::UTC.to_datetime(t);
    (format!("{:02}{:02}{:02}.{:02}", dt.hour(), dt.minute(), dt.second(), dt.subsec_nanosecond() / 10_000_000), dt)
}

/// The apparent wind from the true wind and the boat's motion: (angle off the bow 0–360°, kn).
pub fn apparent(wind: Wind, m: &Motion) -> (f64, f64) {
    let d = wind.direction.to_radians();
    let c = m.cog.to_radians();
    // Air moves towards `direction + 180°`; the boat along its course; apparent = air − boat.
    let (ax, ay) = (-wind.speed_kn * d.sin(), -wind.speed_kn * d.cos());
    let (bx, by) = (m.sog_kn * c.sin(), m.sog_kn * c.cos());
    let (rx, ry) = (ax - bx, ay - by);
    let from = (-rx).atan2(-ry).to_degrees();
    ((from - m.heading).rem_euclid(360.0), rx.hypot(ry))
}

/// What the instruments printed at one instant (the truth keeps these).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Said {
    /// True wind speed, kn, as printed.
    pub true_wind_kn: f64,
    /// Apparent wind speed, kn, as printed.
    pub apparent_wind_kn: f64,
    /// The GPS had a fix.
    pub fix: bool,
}

/// The GPS, wind, compass and depth sentences at `at`; `variation` is the magnetic variation
/// (degrees east) the compass's HDG carries.
pub fn sentences(at: i64, m: &Motion, wind: Wind, fix: bool, variation: f64, out: &mut Vec<String>) -> Said {
    let (time, dt) = utc(at);
    let date = format!("{:02}{:02}{:02}", dt.day(), dt.month(), dt.year() % 100);
    let (sog, cog) = (printed(m.sog_kn), printed(m.cog).rem_euclid(360.0));
    if fix {
        let pos = lat_lon(m.lat, m.lon);
        out.push(sentence(&format!("GPRMC,{time},A,{pos},{sog:.1},{cog:.1},{date},,,A")));
        out.push(sentence(&format!("GPGGA,{time},{pos},1,09,0.9,2.0,M,49.5,M,,")));
        out.push(sentence(&format!("GPGLL,{pos},{time},A,A")));
        out.push(sentence(&format!("GPVTG,{cog:.1},T,,M,{sog:.1},N,{:.1},K,A", printed(m.sog_kn * 1.852))));
    } else {
        out.push(sentence(&format!("GPRMC,{time},V,,,,,,,{date},,,N")));
        out.push(sentence(&format!("GPGGA,{time},,,,,0,00,99.9,,,,,,")));
        out.push(sentence(&format!("GPGLL,,,,,{time},V,N")));
    }
    out.push(sentence(&format!("GPZDA,{time},{:02},{:02},{:04},00,00", dt.day(), dt.month(), dt.year())));
    let magnetic = (m.heading - variation).rem_euclid(360.0);
    let (var, ew) = (variation.abs(), if variation < 0.0 { 'W' } else { 'E' });
    out.push(sentence(&format!("HCHDG,{:.1},,,{var:.1},{ew}", printed(magnetic).rem_euclid(360.0))));
    let (awa, aws) = apparent(wind, m);
    let twa = (wind.direction - m.heading).rem_euclid(360.0);
    let (aws, tws) = (printed(aws), printed(wind.speed_kn));
    out.push(sentence(&format!("WIMWV,{:.1},R,{aws:.1},N,A", printed(awa).rem_euclid(360.0))));
    out.push(sentence(&format!("WIMWV,{:.1},T,{tws:.1},N,A", printed(twa).rem_euclid(360.0))));
    out.push(sentence(&format!("SDDPT,{:.1},0.5", printed(m.depth_m.max(0.5)))));
    Said { true_wind_kn: tws, apparent_wind_kn: aws, fix }
}

/// An AIS target.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// MMSI.
    pub mmsi: u32,
    /// Name (for the truth and the README).
    pub name: &'static str,
}

/// The vessels around: the Frioul ferry, a container ship offshore, a fishing boat.
pub const TARGETS: [Target; 3] = [
    Target { mmsi: 227_123_450, name: "Frioul If Express" },
    Target { mmsi: 228_333_000, name: "a container ship bound east" },
    Target { mmsi: 227_555_120, name: "Lou Pescadou, fishing" },
];

/// Where target `i` is at local hour `hour` (ms `at`): position, SOG, COG, navigational status.
pub fn target(i: usize, at: i64, hour: f64) -> ((f64, f64), f64, f64, u8) {
    let quay = (43.2952, 5.3680);
    let frioul = (43.2800, 5.3085);
    match i {
        0 => {
            // An hourly shuttle 07:00–19:00: 15 min across, 20 min at the Frioul, 15 back.
            let m = (hour.fract()) * 60.0;
            let running = (7.0..19.0).contains(&hour);
            let (pos, sog, cog, status) = if !running || m >= 50.0 {
                (quay, 0.0, 0.0, 5)
            } else if m < 15.0 {
                (lerp(quay, frioul, m / 15.0), 12.5, voyage::bearing(quay, frioul), 0)
            } else if m < 35.0 {
                (frioul, 0.0, 0.0, 5)
            } else {
                (lerp(frioul, quay, (m - 35.0) / 15.0), 12.5, voyage::bearing(frioul, quay), 0)
            };
            (pos, sog, cog, status)
        }
        1 => {
            // East along 43.15° N at 14 kn, from 5.0° E to 5.8° E, again and again.
            let span_m = 0.8 * 111_320.0 * 43.15f64.to_radians().cos();
            let s = (at as f64 / 1000.0 * 14.0 * 1852.0 / 3600.0) % span_m;
            ((43.15, 5.0 + 0.8 * s / span_m), 14.0, 90.0, 0)
        }
        _ => {
            // Circling a fishing ground west of the islands, 800 m across, at 3 kn.
            let r = 400.0;
            let a = (at as f64 / 1000.0 * 3.0 * 1852.0 / 3600.0 / r) % std::f64::consts::TAU;
            let centre = (43.2300, 5.2500);
            let pos = voyage::offset(centre, a.to_degrees(), r);
            (pos, 3.0, (a.to_degrees() + 90.0).rem_euclid(360.0), 7)
        }
    }
}

fn lerp(a: (f64, f64), b: (f64, f64), f: f64) -> (f64, f64) {
    (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f)
}

/// The AIS receiver's sentences at `at` (whole seconds): vessels under way report every 10 s,
/// moored ones every 3 minutes.
pub fn ais(at: i64, hour: f64, out: &mut Vec<String>) {
    let second = at.div_euclid(1000);
    for (i, t) in TARGETS.iter().enumerate() {
        let (pos, sog, cog, status) = target(i, at, hour);
        let every = if sog > 0.0 { 10 } else { 180 };
        if second % every != 0 {
            continue;
        }
        let report = PositionReport {
            message_type: 1,
            mmsi: t.mmsi,
            lat: Some(pos.0),
            lon: Some(pos.1),
            sog_kn: Some(sog),
            cog: Some(cog),
            heading: Some(cog.round() as u16 % 360),
        };
        let payload = encode_class_a(&report, status, (second % 60) as u8);
        let payload = std::str::from_utf8(&payload).unwrap_or_default();
        out.push(encapsulated(&format!("AIVDM,1,1,,A,{payload},0")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halyard_proto::nmea::{self, Sentence};

    fn motion() -> Motion {
        Motion {
            lat: 43.2795,
            lon: 5.3105,
            sog_kn: 6.0,
            cog: 90.0,
            heading: 90.0,
            depth_m: 12.3,
            under_way: true,
            motoring: false,
        }
    }

    /// Every sentence parses with Halyard's parser and says what it was given.
    #[test]
    fn sentences_parse_back() {
        let mut out = Vec::new();
        let wind = Wind { direction: 0.0, speed_kn: 10.0 };
        let said = sentences(1_781_000_000_000, &motion(), wind, true, 2.5, &mut out);
        assert_eq!(out.len(), 9);
        for line in &out {
            let p = nmea::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"));
            match p.sentence {
                Sentence::Rmc(r) => {
                    let pos = r.position.unwrap();
                    assert!((pos.lat - 43.2795).abs() < 1e-6 && (pos.lon - 5.3105).abs() < 1e-6);
                    assert_eq!((r.sog_kn, r.cog_true), (Some(6.0), Some(90.0)));
                }
                Sentence::Hdg(h) => assert_eq!((h.heading, h.variation), (Some(87.5), Some(2.5))),
                _ => {}
            }
        }
        // Wind from the north at 10 kn, boat going east at 6: apparent √136 kn from 031° true,
        // 59° off the bow to port (301°).
        assert_eq!(said.apparent_wind_kn, printed(136f64.sqrt()));
        assert!(out.iter().any(|l| l.starts_with("$WIMWV,301.0,R,11.7,N,A")), "{out:?}");
        assert!(out.iter().any(|l| l.starts_with("$WIMWV,270.0,T,10.0,N,A")), "{out:?}");
        out.clear();
        assert!(!sentences(0, &motion(), wind, false, 2.5, &mut out).fix);
        assert!(out.iter().all(|l| nmea::parse(l.as_bytes()).is_ok()), "{out:?}");
    }

    #[test]
    fn ais_reports_decode() {
        let mut out = Vec::new();
        ais(1_781_000_000_000, 10.2, &mut out);
        assert!(!out.is_empty());
        for line in out {
            let p = nmea::parse(line.as_bytes()).unwrap();
            let Sentence::Vdm(v) = p.sentence else { panic!("{line}") };
            let r = nmea::ais::position_report(v.payload).unwrap();
            assert!(TARGETS.iter().any(|t| t.mmsi == r.mmsi));
        }
    }
}
