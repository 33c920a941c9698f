//! `halyard decode nmea FILE`: one JSON line per line of an NMEA 0183 log — its talker, sentence
//! type, checksum status and fields in units (kn, m, °C, bar, degrees), AIS position reports
//! decoded; a line that is not a usable sentence gets its error and kind. Lines are framed as the
//! gateway frames them (CR, LF or both; NULs dropped; a logger's prefix before `$`/`!` skipped).

use std::path::PathBuf;

use anyhow::Result;
use halyard_proto::nmea::{self, ais, Checksum, LineFramer, Position, Sentence, TimeOfDay, WindReference};
use serde_json::{json, Map, Value as Json};

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The log (bytes as received), or `-` for standard input.
    file: PathBuf,
}

/// Decode and print.
pub fn run(args: Args) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut n = 0usize;
    let mut framer = LineFramer::new();
    super::for_each_chunk(&args.file, &mut out, |out, bytes| {
        let mut result = Ok(());
        framer.push_all(bytes, |line| {
            n += 1;
            if result.is_ok() {
                result = super::writeln_json(out, &line_json(n, line));
            }
        });
        result
    })
}

/// One line as JSON.
pub fn line_json(n: usize, line: Result<&[u8], nmea::Error>) -> Json {
    let parsed = line.and_then(nmea::parse);
    match parsed {
        Ok(p) => {
            let mut o = json!({
                "line": n,
                "talker": p.frame.talker,
                "sentence": p.frame.kind,
                "checksum": match p.frame.checksum { Checksum::Valid => "valid", Checksum::Absent => "absent" },
            });
            match sentence_json(&p.sentence) {
                Some(values) => o["values"] = values,
                None => o["unsupported"] = true.into(),
            }
            o
        }
        Err(e) => json!({ "line": n, "error": e.to_string(), "kind": e.kind() }),
    }
}

fn time(t: Option<TimeOfDay>) -> Json {
    t.map_or(Json::Null, |t| t.to_string().into())
}

fn date(d: Option<nmea::Date>) -> Json {
    d.map_or(Json::Null, |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day).into())
}

fn position(o: &mut Map<String, Json>, p: Option<Position>) {
    o.insert("lat".into(), p.map(|p| p.lat).into());
    o.insert("lon".into(), p.map(|p| p.lon).into());
}

/// The fields of a sentence; `None` for a type Halyard does not read.
fn sentence_json(s: &Sentence<'_>) -> Option<Json> {
    let mut o = Map::new();
    let mut put = |k: &str, v: Json| drop(o.insert(k.into(), v));
    match s {
        Sentence::Rmc(r) => {
            put("time", time(r.time));
            put("valid", r.valid.into());
            put("sog_kn", r.sog_kn.into());
            put("cog_true", r.cog_true.into());
            put("date", date(r.date));
            put("variation", r.variation.into());
            put("mode", r.mode.map(String::from).into());
            position(&mut o, r.position);
        }
        Sentence::Gga(g) => {
            put("time", time(g.time));
            put("quality", g.quality.into());
            put("satellites", g.satellites.into());
            put("hdop", g.hdop.into());
            put("altitude_m", g.altitude_m.into());
            position(&mut o, g.position);
        }
        Sentence::Gll(g) => {
            put("time", time(g.time));
            put("valid", g.valid.into());
            put("mode", g.mode.map(String::from).into());
            position(&mut o, g.position);
        }
        Sentence::Gsa(g) => {
            put("fix", g.fix.into());
            put("pdop", g.pdop.into());
            put("hdop", g.hdop.into());
            put("vdop", g.vdop.into());
        }
        Sentence::Vtg(v) => {
            put("cog_true", v.cog_true.into());
            put("cog_magnetic", v.cog_magnetic.into());
            put("sog_kn", v.sog_kn.into());
        }
        Sentence::Zda(z) => {
            put("time", time(z.time));
            put("date", date(z.date));
            put("zone_minutes", z.zone_minutes.into());
        }
        Sentence::Mwv(w) => {
            put("angle", w.angle.into());
            put("reference", if w.reference == WindReference::True { "true" } else { "apparent" }.into());
            put("speed_kn", w.speed_kn.into());
            put("valid", w.valid.into());
        }
        Sentence::Vwr(w) | Sentence::Vwt(w) => {
            put("angle", w.angle.into());
            put("speed_kn", w.speed_kn.into());
        }
        Sentence::Mwd(w) => {
            put("direction_true", w.direction_true.into());
            put("direction_magnetic", w.direction_magnetic.into());
            put("speed_kn", w.speed_kn.into());
        }
        Sentence::Mda(m) => {
            put("pressure_bar", m.pressure_bar.into());
            put("air_c", m.air_c.into());
            put("water_c", m.water_c.into());
            put("humidity", m.humidity.into());
            put("dew_point_c", m.dew_point_c.into());
            put("wind_direction_true", m.wind_direction_true.into());
            put("wind_kn", m.wind_kn.into());
        }
        Sentence::Xdr(x) => {
            let m: Vec<Json> = x
                .measurements()
                .map(|m| json!({ "type": m.kind, "value": m.value, "unit": m.unit, "name": m.name }))
                .collect();
            put("measurements", m.into());
        }
        Sentence::Hdg(h) => {
            put("heading", h.heading.into());
            put("deviation", h.deviation.into());
            put("variation", h.variation.into());
        }
        Sentence::Hdm(h) => put("heading_magnetic", (*h).into()),
        Sentence::Hdt(h) => put("heading_true", (*h).into()),
        Sentence::Dbt(d) => put("depth_m", d.depth_m.into()),
        Sentence::Dpt(d) => {
            put("depth_m", d.depth_m.into());
            put("offset_m", d.offset_m.into());
        }
        Sentence::Vhw(v) => {
            put("heading_true", v.heading_true.into());
            put("heading_magnetic", v.heading_magnetic.into());
            put("stw_kn", v.stw_kn.into());
        }
        Sentence::Mtw(t) => put("water_c", (*t).into()),
        Sentence::Vdm(v) => {
            put("own_ship", v.own.into());
            put("fragment", format!("{}/{}", v.fragment, v.fragments).into());
            put("channel", v.channel.map(String::from).into());
            put("payload", v.payload.into());
            put("message_type", ais::message_type(v.payload).into());
            if let Some(r) = (v.fragments == 1).then(|| ais::position_report(v.payload)).flatten() {
                put(
                    "position_report",
                    json!({ "mmsi": r.mmsi, "lat": r.lat, "lon": r.lon, "sog_kn": r.sog_kn, "cog": r.cog, "heading": r.heading }),
                );
            }
        }
        Sentence::Unsupported => return None,
    }
    Some(Json::Object(o))
}
