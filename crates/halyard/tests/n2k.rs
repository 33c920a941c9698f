//! NMEA 2000 decoding against the referee: every capture in `shared/data/n2k` (or the excerpts
//! in fixtures/n2k) decoded by `halyard decode n2k` and by canboatjs (npm `@canboat/canboatjs`,
//! the decoder Signal K uses, run by tests/n2k/referee.mjs). For each PGN Halyard decodes: the
//! same number of messages, from the same sources, and every field the same — canboatjs's SI
//! values converted to Halyard's units here (rad → °, m/s → kn, K → °C, Pa → hPa), its
//! enumeration names in snake_case, and a field canboatjs leaves out ("not available") null in
//! Halyard's.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

fn referee_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/n2k")
}

/// The captures: the whole file when the shared corpus is here, else the excerpt.
fn captures() -> Vec<PathBuf> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/n2k");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/n2k");
    [
        ("aava-n2k.data", "aava-n2k.head.data"),
        ("dirona-actisense-serial.raw", "dirona-actisense-serial.head.raw"),
        ("merrimac-ydwg-2020.raw", "merrimac-ydwg-2020.raw"),
        ("candumpSample3.txt", "candumpSample3.txt"),
        ("can0-1.pcap", "can0-1.head.pcap"),
        ("PGN127507.raw", "PGN127507.raw"),
        ("actisense-serial-ng1-cat-usb-2021-05-14-1005.bin", "actisense-serial-ng1-cat-usb-2021-05-14-1005.bin"),
    ]
    .iter()
    .map(|(whole, excerpt)| if shared.join(whole).exists() { shared.join(whole) } else { fixtures.join(excerpt) })
    .collect()
}

fn lines(out: &[u8]) -> Vec<Json> {
    String::from_utf8_lossy(out).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn referee(file: &Path) -> Vec<Json> {
    assert!(
        referee_dir().join("node_modules/@canboat/canboatjs").exists(),
        "canboatjs is missing: run `npm ci` in crates/halyard/tests/n2k (scripts/test.sh does)"
    );
    let out = Command::new("node")
        .arg(referee_dir().join("referee.mjs"))
        .arg(file)
        .output()
        .expect("node is missing: install nodejs (scripts/test.sh does)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    lines(&out.stdout)
}

/// A documentation name → snake_case (`True (boat referenced)` → `true_boat_referenced`).
fn snake(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// canboatjs's value in Halyard's units, or `None` where the two do not write it the same way
/// (times of day as text).
fn in_our_units(value: &Json, unit: Option<&str>, kind: Option<&str>) -> Option<Json> {
    match (value, unit) {
        // Text as sent.
        (Json::String(s), _) if kind.is_some_and(|k| k.starts_with("STRING")) => Some(Json::from(s.as_str())),
        (Json::Number(n), unit) => {
            let v = n.as_f64().unwrap();
            Some(Json::from(match unit {
                Some("rad") => v.to_degrees(),
                Some("rad/s") => v.to_degrees() * 60.0,
                Some("m/s") => v * 3600.0 / 1852.0,
                Some("K") => v - 273.15,
                Some("Pa") => v / 100.0,
                // canboatjs gives ampere-hours in coulombs (×3600; shared/data/n2k/README).
                Some("Ah") => v / 3600.0,
                _ => v,
            }))
        }
        // Dates: `2014.08.15`.
        (Json::String(s), Some("d")) => Some(Json::from(s.replace('.', "-"))),
        (Json::String(_), Some("s")) => None,
        (Json::String(s), _) => match s.parse::<f64>() {
            Ok(v) => Some(Json::from(v)),
            Err(_) => Some(Json::from(snake(s))),
        },
        _ => None,
    }
}

fn same(ours: &Json, theirs: &Json, unit: Option<&str>) -> bool {
    match (ours, theirs) {
        (Json::Number(a), Json::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            // Halyard rounds a converted value to its resolution (0.001° for 0.0001 rad,
            // 0.01 kn for 0.01 m/s); canboatjs prints rates of turn to 0.00001 rad/s
            // (0.017 °/min).
            let tolerance = if unit == Some("rad/s") { 0.02 } else { 0.006 };
            (a - b).abs() <= tolerance + b.abs() * 1e-9
        }
        _ => ours == theirs,
    }
}

#[test]
fn every_capture_decodes_as_canboatjs_reads_it() {
    let mut report = Vec::new();
    for file in captures() {
        let out = support::halyard().args(["decode", "n2k"]).arg(&file).output().unwrap();
        assert!(out.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
        let ours = lines(&out.stdout);
        let theirs = referee(&file);
        // Messages per PGN, for the PGNs Halyard decodes (the others keep their bytes).
        let decoded =
            |m: &&Json| m["description"].as_str().is_some_and(|d| d != "Not decoded by Halyard" && d != "Proprietary");
        let mut by_pgn: BTreeMap<u64, (Vec<&Json>, Vec<&Json>)> = BTreeMap::new();
        for m in ours.iter().filter(decoded) {
            by_pgn.entry(m["pgn"].as_u64().unwrap()).or_default().0.push(m);
        }
        for m in &theirs {
            if let Some(e) = by_pgn.get_mut(&m["pgn"].as_u64().unwrap()) {
                e.1.push(m);
            }
        }
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!by_pgn.is_empty(), "{name}: nothing decoded");
        let (mut fields_checked, mut codes) = (0, 0);
        for (pgn, (ours, theirs)) in &by_pgn {
            assert_eq!(
                ours.len(),
                theirs.len(),
                "{name}: PGN {pgn}: {} messages, canboatjs {}",
                ours.len(),
                theirs.len()
            );
            for (i, (o, t)) in ours.iter().zip(theirs.iter()).enumerate() {
                assert_eq!(o["src"], t["src"], "{name}: PGN {pgn} #{i}");
                let tf = t["fields"].as_object().unwrap();
                let theirs_snake: BTreeMap<String, &Json> =
                    tf.values().map(|v| (snake(v[2].as_str().unwrap()), v)).collect();
                for (field, value) in o["fields"].as_object().unwrap() {
                    match theirs_snake.get(field) {
                        None => assert!(
                            value.is_null(),
                            "{name}: PGN {pgn} #{i}: {field} = {value}, canboatjs has none\n{o}\n{t}"
                        ),
                        Some(pair) => {
                            let Some(expected) = in_our_units(&pair[0], pair[1].as_str(), pair[3].as_str()) else {
                                continue;
                            };
                            // A code Halyard keeps as a number, which canboatjs names.
                            if value.is_number() && expected.is_string() {
                                codes += 1;
                                continue;
                            }
                            assert!(
                                same(value, &expected, pair[1].as_str()),
                                "{name}: PGN {pgn} #{i}: {field} = {value}, canboatjs {expected}\n{o}\n{t}"
                            );
                            fields_checked += 1;
                        }
                    }
                }
            }
        }
        report.push(format!(
            "{name}: {} messages, {} of {} PGNs decoded, {fields_checked} fields equal to canboatjs's \
             ({codes} codes kept as numbers not compared)",
            ours.len(),
            by_pgn.len(),
            ours.iter().map(|m| m["pgn"].as_u64()).collect::<std::collections::BTreeSet<_>>().len()
        ));
    }
    eprintln!("{}", report.join("\n"));
}
