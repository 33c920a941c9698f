//! The simulated boat's instruments on NMEA 2000 (`halyard demo --nav n2k`): the same GPS,
//! compass, wind instrument, echo sounder and AIS receiver, each a node on the bus sending
//! what its NMEA 0183 twin prints ([`super::instruments`]) as the PGNs a real one sends — so the
//! demo's navigation answers come through Halyard's NMEA 2000 path and still match the truth.
//!
//! | instrument (address) | NMEA 0183 | NMEA 2000 |
//! |---|---|---|
//! | GPS (2) | RMC, GGA, ZDA | 129025, 129026, 129029, 126992 |
//! | compass (3) | HDG | 127250 (magnetic, with variation) |
//! | wind (4) | MWV R and T | 130306 apparent and true (boat referenced) |
//! | echo sounder (5) | DPT | 128267 |
//! | AIS (6) | !AIVDM types 1–3, 18 | 129038, 129039 |

use halyard_proto::n2k::write::Writer;
use halyard_proto::n2k::Header;
use halyard_proto::nmea::{self, ais, Date, Sentence, WindReference};

const GPS: u8 = 2;
const COMPASS: u8 = 3;
const WIND: u8 = 4;
const SOUNDER: u8 = 5;
const AIS: u8 = 6;

/// One message on the bus.
pub type Message = (Header, Vec<u8>);

/// The instruments: the GPS remembers the date its RMC and ZDA gave (GGA has none).
#[derive(Debug, Default)]
pub struct Instruments {
    date: Option<Date>,
}

fn message(pgn: u32, source: u8, priority: u8, fields: &[(&str, Option<f64>)]) -> Option<Message> {
    let mut w = Writer::new(pgn).ok()?;
    for (name, value) in fields {
        if let Some(v) = value {
            w.set(name, *v).ok()?;
        }
    }
    Some((Header { priority, pgn, source, destination: 255 }, w.bytes().to_vec()))
}

impl Instruments {
    /// What the instruments send for one of their NMEA 0183 twins' sentences.
    pub fn messages(&mut self, line: &str) -> Vec<Message> {
        let Ok(parsed) = nmea::parse(line.as_bytes()) else { return Vec::new() };
        let days = |d: Option<Date>| d.map(|d| d.days_since_epoch() as f64);
        let seconds = |t: Option<nmea::TimeOfDay>| t.map(|t| f64::from(t.0) / 1000.0);
        let mut out = Vec::new();
        match parsed.sentence {
            Sentence::Rmc(r) => {
                self.date = r.date.or(self.date);
                let (lat, lon) = (r.position.map(|p| p.lat), r.position.map(|p| p.lon));
                let fix = r.valid && r.position.is_some();
                out.extend(message(
                    129_025,
                    GPS,
                    2,
                    &[("latitude", lat.filter(|_| fix)), ("longitude", lon.filter(|_| fix))],
                ));
                if fix {
                    out.extend(message(
                        129_026,
                        GPS,
                        2,
                        &[("cog_reference", Some(0.0)), ("cog", r.cog_true), ("sog", r.sog_kn)],
                    ));
                }
            }
            Sentence::Gga(g) => {
                let fix = g.quality.is_some_and(|q| q > 0) && g.position.is_some();
                out.extend(message(
                    129_029,
                    GPS,
                    3,
                    &[
                        ("date", days(self.date)),
                        ("time", seconds(g.time)),
                        ("latitude", g.position.map(|p| p.lat).filter(|_| fix)),
                        ("longitude", g.position.map(|p| p.lon).filter(|_| fix)),
                        ("altitude", g.altitude_m.filter(|_| fix)),
                        ("gnss_type", Some(0.0)),
                        ("method", Some(if fix { 1.0 } else { 0.0 })),
                        ("integrity", Some(0.0)),
                        ("number_of_svs", g.satellites.map(f64::from)),
                        ("hdop", g.hdop.filter(|_| fix)),
                    ],
                ));
            }
            Sentence::Zda(z) => {
                self.date = z.date.or(self.date);
                out.extend(message(
                    126_992,
                    GPS,
                    3,
                    &[("source", Some(0.0)), ("date", days(z.date)), ("time", seconds(z.time))],
                ));
            }
            Sentence::Hdg(h) => out.extend(message(
                127_250,
                COMPASS,
                2,
                &[
                    ("heading", h.heading),
                    ("deviation", h.deviation),
                    ("variation", h.variation),
                    ("reference", Some(1.0)),
                ],
            )),
            Sentence::Mwv(w) if w.valid => {
                let reference = match w.reference {
                    WindReference::Apparent => 2.0,
                    WindReference::True => 3.0,
                };
                out.extend(message(
                    130_306,
                    WIND,
                    2,
                    &[("wind_speed", w.speed_kn), ("wind_angle", w.angle), ("reference", Some(reference))],
                ));
            }
            Sentence::Dpt(d) => {
                out.extend(message(128_267, SOUNDER, 3, &[("depth", d.depth_m), ("offset", d.offset_m)]))
            }
            Sentence::Vdm(v) if v.fragments == 1 => {
                if let Some(r) = ais::position_report(v.payload) {
                    let pgn = if r.message_type == 18 { 129_039 } else { 129_038 };
                    out.extend(message(
                        pgn,
                        AIS,
                        4,
                        &[
                            ("message_id", Some(f64::from(r.message_type))),
                            ("user_id", Some(f64::from(r.mmsi))),
                            ("latitude", r.lat),
                            ("longitude", r.lon),
                            ("cog", r.cog),
                            ("sog", r.sog_kn),
                            ("heading", r.heading.map(f64::from)),
                        ],
                    ));
                }
            }
            _ => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halyard_proto::n2k::pgn::Message as Read;

    #[test]
    fn the_gps_compass_and_wind_say_on_nmea_2000_what_they_print() {
        let mut i = Instruments::default();
        let rmc = super::super::instruments::sentence("GPRMC,120000.00,A,4316.7700,N,00518.6300,E,6.2,91.5,210626,,,A");
        let m = i.messages(&rmc);
        assert_eq!(m.iter().map(|(h, _)| h.pgn).collect::<Vec<_>>(), [129_025, 129_026]);
        let pos = Read::new(129_025, &m[0].1).unwrap();
        assert!((pos.number("latitude").unwrap() - 43.2795).abs() < 1e-7);
        let cog = Read::new(129_026, &m[1].1).unwrap();
        // 0.0001 rad on the wire is 0.0057°: 91.5° reads back as 91.501°.
        assert!((cog.number("cog").unwrap() - 91.5).abs() < 0.006, "{:?}", cog.number("cog"));
        assert_eq!(cog.number("sog"), Some(6.2));
        let gga =
            super::super::instruments::sentence("GPGGA,120000.00,4316.7700,N,00518.6300,E,1,09,0.9,2.0,M,49.5,M,,");
        let g = i.messages(&gga);
        let gnss = Read::new(129_029, &g[0].1).unwrap();
        assert_eq!(gnss.number("date"), Some(Date { year: 2026, month: 6, day: 21 }.days_since_epoch() as f64));
        assert_eq!((gnss.name("method"), gnss.number("number_of_svs")), (Some("gnss_fix"), Some(9.0)));
        let wind = i.messages(&super::super::instruments::sentence("WIMWV,45.0,R,12.3,N,A"));
        let w = Read::new(130_306, &wind[0].1).unwrap();
        assert_eq!((w.name("reference"), w.number("wind_angle")), (Some("apparent"), Some(45.0)));
        assert!((w.number("wind_speed").unwrap() - 12.3).abs() < 0.02, "0.01 m/s on the wire");
        // No fix: no position, and GNSS data that says so.
        let lost = i.messages(&super::super::instruments::sentence("GPGGA,120001.00,,,,,0,00,99.9,,,,,,"));
        let gnss = Read::new(129_029, &lost[0].1).unwrap();
        assert_eq!((gnss.name("method"), gnss.number("latitude")), (Some("no_gnss"), None));
    }
}
