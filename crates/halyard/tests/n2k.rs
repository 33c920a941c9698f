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
use std::time::Duration;

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
        // Text as sent; an empty one is "not available" (null) in Halyard's output, while
        // canboatjs gives 126998's unused texts (0xFF padding) as DEL characters.
        (Json::String(s), _) if kind.is_some_and(|k| k.starts_with("STRING")) && s.chars().all(char::is_control) => {
            Some(Json::Null)
        }
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

/// Our fields against canboatjs's (`[value, unit, name, type]` by field id): every field of ours
/// is canboatjs's value in our units, or null where canboatjs has none. Returns the fields
/// compared and the codes kept as numbers (which canboatjs names) left aside.
fn compare(ours: &Json, theirs: &Json, at: &str, o: &Json, t: &Json) -> (usize, usize) {
    let theirs_snake: BTreeMap<String, &Json> = theirs
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "list")
        .map(|(_, v)| (snake(v[2].as_str().unwrap()), v))
        .collect();
    let (mut checked, mut codes) = (0, 0);
    for (field, value) in ours.as_object().unwrap() {
        if field == "list" {
            continue;
        }
        match theirs_snake.get(field) {
            None => assert!(value.is_null(), "{at}: {field} = {value}, canboatjs has none\n{o}\n{t}"),
            Some(pair) => {
                let Some(expected) = in_our_units(&pair[0], pair[1].as_str(), pair[3].as_str()) else { continue };
                if value.is_number() && expected.is_string() {
                    codes += 1;
                    continue;
                }
                assert!(
                    same(value, &expected, pair[1].as_str()),
                    "{at}: {field} = {value}, canboatjs {expected}\n{o}\n{t}"
                );
                checked += 1;
            }
        }
    }
    (checked, codes)
}

#[test]
fn every_capture_decodes_as_canboatjs_reads_it() {
    let mut report = Vec::new();
    // An eighth form: Aava's capture as Actisense N2K ASCII, written by canboatjs's own encoder.
    let scratch = support::Scratch::new("n2k-ascii");
    let aava = captures().into_iter().next().unwrap();
    let out = Command::new("node").arg(referee_dir().join("to_ascii.mjs")).arg(&aava).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ascii = scratch.path("aava-n2k.ascii");
    std::fs::write(&ascii, &out.stdout).unwrap();
    for file in captures().into_iter().chain([ascii]) {
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
        let (mut fields_checked, mut codes, mut groups) = (0, 0, 0);
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
                let (of, tf) = (&o["fields"], &t["fields"]);
                let (checked, kept) = compare(of, tf, &format!("{name}: PGN {pgn} #{i}"), o, t);
                fields_checked += checked;
                codes += kept;
                // A repeating group, entry by entry.
                if let Some(list) = of.get("list").and_then(Json::as_array) {
                    let theirs_list = tf["list"].as_array().map(Vec::as_slice).unwrap_or_default();
                    assert_eq!(list.len(), theirs_list.len(), "{name}: PGN {pgn} #{i}: groups\n{o}\n{t}");
                    for (g, (a, b)) in list.iter().zip(theirs_list).enumerate() {
                        let (checked, kept) = compare(a, b, &format!("{name}: PGN {pgn} #{i} group {g}"), o, t);
                        fields_checked += checked;
                        codes += kept;
                        groups += 1;
                    }
                }
            }
        }
        report.push(format!(
            "{name}: {} messages, {} of {} PGNs decoded, {fields_checked} fields equal to canboatjs's \
             ({groups} repeating groups; {codes} codes kept as numbers not compared)",
            ours.len(),
            by_pgn.len(),
            ours.iter().map(|m| m["pgn"].as_u64()).collect::<std::collections::BTreeSet<_>>().len()
        ));
    }
    eprintln!("{}", report.join("\n"));
}

/// A store configuration in `dir` (nothing on the network but a loopback broker port).
fn store_config(scratch: &support::Scratch, name: &str) -> PathBuf {
    let cfg = scratch.path(&format!("{name}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\ntimezone = \"UTC\"\n[mqtt]\nmdns = false\n[broker]\nlisten = \"127.0.0.1:{}\"\n\
             [metrics]\nlisten = \"\"\n[web]\nlisten = \"\"\n",
            scratch.path(name).display(),
            support::free_port()
        ),
    )
    .unwrap();
    cfg
}

fn import(cfg: &Path, file: &Path) {
    let out = support::halyard().args(["import", "-c", cfg.to_str().unwrap()]).arg(file).output().unwrap();
    assert!(out.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
}

/// Every stored sample of `device` as (metric, ms) → value, from `halyard export influx`.
fn stored(cfg: &Path, device: &str) -> BTreeMap<(String, i64), f64> {
    let out = support::halyard()
        .args(["export", "influx", "--resolution", "raw", "--device", device, "-c", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut samples = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut parts = line.split(' ');
        let (Some(_), Some(fields), Some(ns)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let ms = ns.parse::<i64>().unwrap() / 1_000_000;
        for f in fields.split(',') {
            let (k, v) = f.split_once('=').unwrap();
            if let Ok(v) = v.trim_end_matches('i').parse::<f64>() {
                samples.insert((k.to_owned(), ms), v);
            }
        }
    }
    samples
}

fn shared_or_fixture(whole: &str, excerpt: &str) -> PathBuf {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/n2k").join(whole);
    if shared.exists() {
        shared
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/n2k").join(excerpt)
    }
}

/// A capture imported through Halyard's NMEA 2000 path, and its NMEA 0183 twin — the same
/// navigation values written as sentences from canboatjs's reading of the capture
/// (tests/n2k/twin.mjs) — imported through the NMEA 0183 path, answer `halyard nav` alike: the
/// same gust and wind at the same instants, the same distance and track, and every stored
/// navigation sample the same.
#[test]
fn a_capture_answers_like_its_nmea_0183_twin() {
    let scratch = support::Scratch::new("n2k-twin");
    let capture = shared_or_fixture("aava-n2k.data", "aava-n2k.head.data");
    let out = Command::new("node").arg(referee_dir().join("twin.mjs")).arg(&capture).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let twin = scratch.path("twin.nmea");
    std::fs::write(&twin, &out.stdout).unwrap();
    let (n2k, nmea) = (store_config(&scratch, "n2k"), store_config(&scratch, "nmea"));
    import(&n2k, &capture);
    import(&nmea, &twin);
    let answer = |cfg: &Path| -> Json {
        let out = support::halyard()
            .args(["nav", "--json", "--date", "2014-08-15", "-c", cfg.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (ours, twins) = (answer(&n2k), answer(&nmea));
    eprintln!("NMEA 2000: {ours}\nNMEA 0183 twin: {twins}");
    assert_eq!(ours["day"], twins["day"]);
    assert_eq!(ours["last_hour"], twins["last_hour"]);
    assert!(ours["day"]["max_gust_kn"].as_f64().unwrap() > 5.0, "{ours}");
    assert!(ours["day"]["track_points"].as_u64().unwrap() > 10, "{ours}");
    // Every navigation sample both carry (the twin has no AIS and no weather sentences).
    let (a, b) = (stored(&n2k, "nav"), stored(&nmea, "nav"));
    let shared = [
        "latitude",
        "longitude",
        "distance_over_ground",
        "fix",
        "satellites",
        "hdop",
        "speed_over_ground",
        "course_over_ground",
        "apparent_wind_speed",
        "apparent_wind_angle",
        "true_wind_speed",
        "true_wind_angle",
        "true_wind_direction",
        "gust_hour",
        "heading",
        "depth",
        "speed_through_water",
    ];
    let pick = |s: &BTreeMap<(String, i64), f64>| -> Vec<((String, i64), f64)> {
        s.iter().filter(|((m, _), _)| shared.contains(&m.as_str())).map(|(k, v)| (k.clone(), *v)).collect()
    };
    let (a, b) = (pick(&a), pick(&b));
    // The whole capture gives 6,576; the excerpt in fixtures/n2k (its first minute and a half) 957.
    assert!(a.len() > 500, "{} samples", a.len());
    assert_eq!(a.len(), b.len(), "samples: NMEA 2000 {}, twin {}", a.len(), b.len());
    for ((ka, va), (kb, vb)) in a.iter().zip(&b) {
        assert_eq!(ka, kb);
        assert!((va - vb).abs() <= 1e-6 * va.abs().max(1.0), "{ka:?}: {va} vs the twin's {vb}");
    }
    eprintln!("{} navigation samples equal to the twin's", a.len());
}

/// The boat's systems on NMEA 2000 become devices by kind and instance, every stored value the
/// one canboatjs reads in the message of that instant: Aava's battery (127508, 127506, 127513)
/// and Dirona's tanks (127505) and engines (127489).
#[test]
fn batteries_tanks_and_engines_are_devices_with_the_referees_values() {
    let scratch = support::Scratch::new("n2k-devices");
    // (device, PGN, instance field and value, [(our metric, canboatjs field, factor, offset)]):
    // canboatjs gives kelvin and ampere-hours as coulombs.
    type Check = (&'static str, u64, &'static str, u64, &'static [(&'static str, &'static str, f64, f64)]);
    let aava: &[Check] = &[
        (
            "battery-1",
            127_508,
            "instance",
            1,
            &[
                ("voltage", "voltage", 1.0, 0.0),
                ("current", "current", 1.0, 0.0),
                ("battery_temperature", "temperature", 1.0, -273.15),
            ],
        ),
        ("battery-1", 127_513, "instance", 1, &[("capacity", "capacity", 1.0 / 3600.0, 0.0)]),
    ];
    let dirona: &[Check] = &[
        ("battery-1", 127_506, "instance", 1, &[("soc", "stateOfCharge", 1.0, 0.0)]),
        ("tank-water-0", 127_505, "instance", 0, &[("level", "level", 1.0, 0.0), ("capacity", "capacity", 1.0, 0.0)]),
        ("tank-fuel-9", 127_505, "instance", 9, &[("level", "level", 1.0, 0.0)]),
        (
            "engine-11",
            127_489,
            "instance",
            11,
            &[
                ("alternator_voltage", "alternatorPotential", 1.0, 0.0),
                ("coolant_temperature", "temperature", 1.0, -273.15),
            ],
        ),
    ];
    let mut checked = 0;
    for (capture, checks) in [
        (shared_or_fixture("aava-n2k.data", "aava-n2k.head.data"), aava),
        (shared_or_fixture("dirona-actisense-serial.raw", "dirona-actisense-serial.head.raw"), dirona),
    ] {
        let name = capture.file_name().unwrap().to_string_lossy().into_owned();
        let cfg = store_config(&scratch, name.split('.').next().unwrap());
        import(&cfg, &capture);
        let theirs = referee(&capture);
        for (device, pgn, instance_field, instance, metrics) in checks {
            let ours = stored(&cfg, device);
            for (metric, field, factor, offset) in *metrics {
                let samples: Vec<(i64, f64)> =
                    ours.iter().filter(|((m, _), _)| m == metric).map(|((_, t), v)| (*t, *v)).collect();
                assert!(!samples.is_empty(), "{name}: no {device}.{metric} stored");
                for (t, v) in samples {
                    // The referee's messages of that PGN and instance at that instant.
                    let at = |m: &&Json| {
                        m["pgn"] == *pgn
                            && m["fields"][instance_field][0] == *instance
                            && chrono_ms(m["ts"].as_str().unwrap()) == t
                    };
                    let values: Vec<f64> = theirs
                        .iter()
                        .filter(at)
                        .filter_map(|m| m["fields"][field][0].as_f64())
                        .map(|x| x * factor + offset)
                        .collect();
                    assert!(
                        values.iter().any(|x| (x - v).abs() <= 0.006 + x.abs() * 1e-9),
                        "{name}: {device}.{metric} = {v} at {t}, canboatjs {values:?}"
                    );
                    checked += 1;
                }
            }
        }
    }
    eprintln!("{checked} stored device values equal to canboatjs's");
}

/// `2014-08-15T19:00:00.042Z` → ms since the epoch.
fn chrono_ms(text: &str) -> i64 {
    let (date, time) = text.trim_end_matches('Z').split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m) = if d[1] <= 2 { (d[0] - 1, d[1] + 9) } else { (d[0], d[1] - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let ms: i64 = format!("{frac:0<3}")[..3].parse().unwrap();
    ((days * 24 + t[0]) * 60 + t[1]) * 60_000 + t[2] * 1000 + ms
}

/// A Yacht Devices gateway on the network, played by this test: a TCP server sending its RAW
/// lines (merrimac-ydwg-2020.raw, garbage mixed in). `[[n2k]] source = "ydwg:…"` reads it
/// live: the boat's position and batteries reach MQTT with the values canboatjs reads in the
/// capture, the garbage is counted, and when the gateway drops the connection Halyard comes
/// back and reads on. Nothing is written to the gateway: `[n2k_out]` is off by default.
#[test]
fn a_yacht_devices_gateway_read_live_through_a_dropped_connection() {
    use std::io::Write;
    let _serial = support::one_at_a_time();
    let scratch = support::Scratch::new("n2k-ydwg");
    let capture = shared_or_fixture("merrimac-ydwg-2020.raw", "merrimac-ydwg-2020.raw");
    let text = std::fs::read_to_string(&capture).unwrap();
    let theirs = referee(&capture);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sessions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = sessions.clone();
    // Bytes Halyard sends the gateway: none, as `[n2k_out]` is off.
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let w = written.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let session = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = stream.write_all(b"garbage, not a frame\r\n19F51323 not either\r\n");
            for (i, chunk) in text.lines().collect::<Vec<_>>().chunks(50).enumerate() {
                let lines: String = chunk.iter().map(|l| format!("{l}\r\n")).collect();
                if stream.write_all(lines.as_bytes()).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
                // The first session ends mid-capture: the gateway drops the connection.
                if session == 0 && i == 10 {
                    break;
                }
            }
            if session > 0 {
                use std::io::Read;
                stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                let mut buf = [0u8; 256];
                while let Ok(n @ 1..) = stream.read(&mut buf) {
                    w.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
                }
            }
        }
    });
    let broker = support::Mosquitto::start(&scratch.0, "");
    let sub = support::Subscriber::start(broker.port, None);
    let metrics = support::free_port();
    let cfg = scratch.path("halyard.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\ntimezone = \"UTC\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:{}\"\nmdns = false\n\
             [metrics]\nlisten = \"127.0.0.1:{metrics}\"\n[web]\nlisten = \"\"\n[[n2k]]\nsource = \"ydwg:127.0.0.1:{port}\"\n",
            scratch.0.display(),
            broker.port
        ),
    )
    .unwrap();
    let run = support::Halyard::start(&["run", "-c", cfg.to_str().unwrap()]);
    let topics = ["halyard/nav/latitude", "halyard/nav/apparent_wind_speed", "halyard/battery-0/voltage"];
    let ok = sub.wait(Duration::from_secs(30), |m| topics.iter().all(|t| m.iter().any(|r| r.topic == *t)));
    assert!(ok, "{:?}\n{}", sub.all().iter().map(|r| &r.topic).collect::<Vec<_>>(), run.log());
    // The values are canboatjs's: a position of 129025/129029, a battery 0 voltage of 127508.
    let lat: f64 = sub.payloads("halyard/nav/latitude")[0].parse().unwrap();
    let positions: Vec<f64> = theirs
        .iter()
        .filter(|m| m["pgn"] == 129_025 || m["pgn"] == 129_029)
        .filter_map(|m| m["fields"]["latitude"][0].as_f64())
        .collect();
    assert!(positions.iter().any(|p| (p - lat).abs() < 1e-7), "{lat} not among {positions:?}");
    let volts: f64 = sub.payloads("halyard/battery-0/voltage")[0].parse().unwrap();
    let batteries: Vec<f64> = theirs
        .iter()
        .filter(|m| m["pgn"] == 127_508 && m["fields"]["instance"][0] == 0)
        .filter_map(|m| m["fields"]["voltage"][0].as_f64())
        .collect();
    assert!(batteries.iter().any(|v| (v - volts).abs() < 1e-9), "{volts} V not among {batteries:?}");
    // The gateway dropped the first connection: Halyard is back, reading the second.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sessions.load(std::sync::atomic::Ordering::SeqCst) < 2 {
        assert!(std::time::Instant::now() < deadline, "no reconnect\n{}", run.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let source = format!("ydwg:127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let page = loop {
        let page = support::http_get(metrics, "/metrics");
        let reconnected =
            page.lines().any(|l| l.starts_with(&format!("halyard_source_reconnects_total{{source=\"{source}\"}} 1")));
        if reconnected || std::time::Instant::now() > deadline {
            break page;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let has = |needle: &str| page.lines().any(|l| l.contains(needle) && l.contains(&source));
    assert!(has("halyard_source_reconnects_total"), "{page}");
    assert!(has("halyard_decode_errors_total"), "the garbage lines are counted: {page}");
    assert!(has("halyard_source_up"), "{page}");
    run.stop();
    assert_eq!(written.load(std::sync::atomic::Ordering::SeqCst), 0, "a listen-only source wrote to the gateway");
}

/// `[n2k_out]`, opt-in: a battery monitor and a solar charger on VE.Direct ports are sent on
/// the bus through a Yacht Devices gateway played by this test, and canboatjs reads what
/// Halyard transmitted: its address claim (a gateway's NAME), product information, heartbeat,
/// the battery's 127508 and 127506 and the charger's 127507 and 127751 with the values the
/// devices gave. When a second node with a lower NAME claims Halyard's address, Halyard moves to
/// the next one and goes on from there; a request to it for its product information is answered.
#[test]
fn halyard_transmits_its_devices_when_enabled_and_yields_its_address_to_a_lower_name() {
    use std::io::{BufRead, Write};
    let _serial = support::one_at_a_time();
    let scratch = support::Scratch::new("n2k-out");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let (h, conflict) = (heard.clone(), std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)));
    let c = conflict.clone();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut writer = stream.try_clone().unwrap();
        let lines = std::io::BufReader::new(stream);
        let mut asked = false;
        for line in lines.lines() {
            let Ok(line) = line else { break };
            h.lock().unwrap().push(line.trim().to_owned());
            // Once Halyard sends battery values from 35, a node with the NAME 1 claims 35.
            if line.starts_with("19F21423") && !c.swap(true, std::sync::atomic::Ordering::SeqCst) {
                writer.write_all(b"00:00:01.000 R 18EEFF23 01 00 00 00 00 00 00 00\r\n").unwrap();
            }
            // From its new address 36, it is asked for its product information.
            if line.starts_with("18EEFF24") && !asked {
                asked = true;
                writer.write_all(b"00:00:02.000 R 18EA2409 14 F0 01\r\n").unwrap();
            }
        }
    });
    let (battery_link, charger_link) = (scratch.path("ttyBMV"), scratch.path("ttyMPPT"));
    let (mut battery, mut charger) = (support::Tty::open(&battery_link), support::Tty::open(&charger_link));
    let cfg = scratch.path("halyard.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\ntimezone = \"UTC\"\n[mqtt]\nmdns = false\n[broker]\nlisten = \"127.0.0.1:{}\"\n\
             [metrics]\nlisten = \"\"\n[web]\nlisten = \"\"\n\
             [[vedirect]]\nport = \"{}\"\n[[vedirect]]\nport = \"{}\"\n\
             [[device]]\nname = \"house-bank\"\nserial = \"HQ2150BMV01\"\n\
             [[device]]\nname = \"arch\"\nserial = \"HQ2213ARCH1\"\n\
             [[n2k]]\nsource = \"ydwg:127.0.0.1:{port}\"\n\
             [n2k_out]\nenabled = true\nunique_number = 12345\ndevices = {{ \"house-bank\" = 1, \"arch\" = 2 }}\n",
            scratch.0.display(),
            support::free_port(),
            battery_link.display(),
            charger_link.display()
        ),
    )
    .unwrap();
    let run = support::Halyard::start(&["run", "-c", cfg.to_str().unwrap()]);
    assert!(run.wait_log(Duration::from_secs(20), "transmitting ([n2k_out] enabled)"), "{}", run.log());
    let bmv = |mv: &str| {
        let fields =
            [("PID", "0x0203"), ("SER#", "HQ2150BMV01"), ("V", mv), ("I", "-3500"), ("SOC", "876"), ("TTG", "600")];
        let mut out = [0u8; 512];
        let n = halyard_proto::vedirect::text::encode_block(&fields, &mut out).unwrap();
        out[..n].to_vec()
    };
    // Blocks every second until the product information has been asked for and sent.
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        battery.write_paced(&bmv("12800"));
        charger.write_paced(&support::mppt_block("HQ2213ARCH1", 12_800, 180));
        let done = heard.lock().unwrap().iter().any(|l| l.starts_with("19F01424"));
        if done {
            // A little longer: the values from the new address.
            std::thread::sleep(Duration::from_secs(2));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{:?}\n{}", heard.lock().unwrap(), run.log());
        std::thread::sleep(Duration::from_millis(500));
    }
    run.stop();
    // What Halyard sent, as a Yacht Devices RAW log for canboatjs.
    let lines: Vec<String> = heard.lock().unwrap().clone();
    let log: String = lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("00:00:{:02}.{:03} R {l}\r\n", i / 1000 % 60, i % 1000))
        .collect();
    let file = scratch.path("sent.raw");
    std::fs::write(&file, log).unwrap();
    let theirs = referee(&file);
    let from = |pgn: u64, src: u64| theirs.iter().filter(move |m| m["pgn"] == pgn && m["src"] == src);
    let field = |m: &Json, f: &str| m["fields"][f][0].clone();
    // The claims: from 35, then from 36 once the lower NAME took 35; a gateway's NAME.
    let claims: Vec<&Json> = theirs.iter().filter(|m| m["pgn"] == 60_928).collect();
    assert_eq!(claims.first().map(|m| m["src"].clone()), Some(Json::from(35)), "{claims:?}");
    assert!(from(60_928, 36).count() >= 1, "no claim from 36: {claims:?}");
    let claim = claims[0];
    assert_eq!(field(claim, "uniqueNumber"), Json::from(12345));
    assert_eq!(field(claim, "manufacturerCode"), Json::from(2046));
    assert_eq!(field(claim, "industryGroup"), Json::from("Marine Industry"));
    assert_eq!(field(claim, "arbitraryAddressCapable"), Json::from("Yes"));
    // The battery monitor: 12.8 V, −3.5 A, 87.6 % sent as 88 %, 600 minutes to go.
    let status: Vec<&Json> = from(127_508, 36).filter(|m| field(m, "instance") == 1).collect();
    assert!(!status.is_empty(), "no battery status from 36");
    for m in &status {
        assert_eq!((field(m, "voltage"), field(m, "current")), (Json::from(12.8), Json::from(-3.5)), "{m}");
    }
    let dc = from(127_506, 36).next().expect("DC detailed status");
    assert_eq!(field(dc, "stateOfCharge"), Json::from(88));
    assert_eq!(field(dc, "timeRemaining"), Json::from("10:00:00"), "{dc}");
    // The solar charger: bulk (CS 3), its panels at 36 V and 180 W (5 A).
    let charger_status = from(127_507, 36).next().expect("charger status");
    assert_eq!(field(charger_status, "instance"), Json::from(2));
    assert_eq!(field(charger_status, "operatingState"), Json::from("Bulk"), "{charger_status}");
    let pv = from(127_751, 36).next().expect("DC voltage/current");
    assert_eq!((field(pv, "dcVoltage").as_f64(), field(pv, "dcCurrent").as_f64()), (Some(36.0), Some(5.0)), "{pv}");
    // Product information (asked for from 36) and the heartbeat.
    let product = from(126_996, 36).next().expect("product information");
    assert_eq!(field(product, "modelId"), Json::from("Halyard gateway"));
    assert!(theirs.iter().any(|m| m["pgn"] == 126_993), "no heartbeat");
    // Nothing from 35 after the claim from 36.
    let moved = theirs.iter().position(|m| m["pgn"] == 60_928 && m["src"] == 36).unwrap();
    assert!(theirs[moved..].iter().all(|m| m["src"] != 35), "35 used after it was lost");
    eprintln!("canboatjs read {} messages Halyard sent: {} battery statuses", theirs.len(), status.len());
}

/// Captures without dates on their records replay on the time the bus itself gave: a Yacht
/// Devices log's times of day and an NGT-1's milliseconds since power-on are placed by the
/// capture's first System Time (126992) — as canboatjs reads it — so every stored navigation
/// sample falls within the capture's span of that instant, never on the day of the import.
#[test]
fn captures_without_dates_replay_on_the_bus_time() {
    let scratch = support::Scratch::new("n2k-clock");
    for (whole, excerpt, span_ms) in [
        ("merrimac-ydwg-2020.raw", "merrimac-ydwg-2020.raw", 3_000),
        (
            "actisense-serial-ng1-cat-usb-2021-05-14-1005.bin",
            "actisense-serial-ng1-cat-usb-2021-05-14-1005.bin",
            30_000,
        ),
    ] {
        let capture = shared_or_fixture(whole, excerpt);
        // The bus's time, as canboatjs reads the first System Time with a date.
        let theirs = referee(&capture);
        let first = theirs
            .iter()
            .find(|m| m["pgn"] == 126_992 && m["fields"]["date"][0].is_string())
            .unwrap_or_else(|| panic!("{whole}: no dated System Time"));
        let date = first["fields"]["date"][0].as_str().unwrap().replace('.', "-");
        let time = first["fields"]["time"][0].as_str().unwrap();
        let bus = chrono_ms(&format!("{date}T{time}Z"));
        let cfg = store_config(&scratch, whole.split('.').next().unwrap());
        import(&cfg, &capture);
        let samples = stored(&cfg, "nav");
        assert!(!samples.is_empty(), "{whole}: nothing stored");
        for (metric, t) in samples.keys() {
            assert!((t - bus).abs() <= span_ms, "{whole}: {metric} at {t}, the bus said {bus} ({date}T{time})");
        }
        eprintln!("{whole}: {} navigation samples around {date}T{time}", samples.len());
    }
}
