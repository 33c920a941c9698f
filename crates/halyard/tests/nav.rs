//! NMEA 0183 end to end: real logs through a pseudo-terminal (a serial GPS), through gpsd's
//! `gpsfake` (Debian `gpsd-clients`), and replayed into the store for the answers (fix loss on
//! the log that has real fix loss, the KML export). Expected values are read from the logs here
//! with plain string handling, not with Halyard's parser.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{free_port, gga, halyard, http_get, offset, Halyard, Mosquitto, Scratch, Subscriber, Tty};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../halyard-proto/tests/fixtures/nmea").join(name)
}

/// `ddmm.mmmm` + hemisphere → degrees.
fn degrees(v: &str, hemisphere: &str, degree_digits: usize) -> f64 {
    let d: f64 = v[..degree_digits].parse().unwrap();
    let m: f64 = v[degree_digits..].parse().unwrap();
    let x = d + m / 60.0;
    if hemisphere == "S" || hemisphere == "W" {
        -x
    } else {
        x
    }
}

/// The first valid position of a log: (lat, lon) from a GLL with status A, an RMC with A or a
/// GGA with a fix, whichever comes first.
fn first_position(log: &str) -> (f64, f64) {
    for line in log.lines() {
        let f: Vec<&str> = line.split('*').next().unwrap().split(',').collect();
        let tag = f[0].get(3..).unwrap_or("");
        let at = match tag {
            "GLL" if f.get(6) == Some(&"A") => 1,
            "RMC" if f.get(2) == Some(&"A") => 3,
            "GGA" if f.get(6).is_some_and(|q| !q.is_empty() && *q != "0") => 2,
            _ => continue,
        };
        return (degrees(f[at], f[at + 1], 2), degrees(f[at + 2], f[at + 3], 3));
    }
    panic!("no position");
}

fn config(scratch: &Scratch, mqtt_port: u16, metrics: u16, nmea: &str) -> PathBuf {
    let path = scratch.path("halyard.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"{}\"\ntimezone = \"Europe/Paris\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:{mqtt_port}\"\nmdns = false\n[metrics]\nlisten = \"127.0.0.1:{metrics}\"\n[web]\nlisten = \"\"\n[[nmea]]\nsource = \"{nmea}\"\n",
            scratch.0.display()
        ),
    )
    .unwrap();
    path
}

fn latitude_published(sub: &Subscriber) -> Option<f64> {
    sub.payloads("halyard/nav/latitude").first().map(|p| p.parse().unwrap())
}

#[test]
fn a_gps_on_a_pseudo_terminal_with_garbage_on_the_line() {
    let _serial = support::one_at_a_time();
    let scratch = Scratch::new("nmea-pty");
    let broker = Mosquitto::start(&scratch.0, "");
    let sub = Subscriber::start(broker.port, None);
    let link = scratch.path("ttyGPS");
    let mut tty = Tty::open(&link);
    let metrics = free_port();
    let cfg = config(&scratch, broker.port, metrics, &format!("serial:{}@4800", link.display()));
    let run = Halyard::start(&["run", "-c", cfg.to_str().unwrap()]);
    assert!(run.wait_log(Duration::from_secs(20), "nmea: reading"), "{}", run.log());
    // plaka.log: positions from GLL only, apparent and true wind, no date anywhere.
    let log = std::fs::read_to_string(fixture("plaka.head.log")).unwrap();
    let head: String = log.lines().take(400).map(|l| format!("{l}\r\n")).collect();
    tty.master.write_all(b"\x01\x02garbage that is no sentence\r\n$GPGLL,6007.7,N,02457.0,E,,A*00\r\n").unwrap();
    for chunk in head.as_bytes().chunks(480) {
        // 4,800 baud: 480 bytes a second; ten times faster here.
        tty.master.write_all(chunk).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    let ok = sub.wait(Duration::from_secs(20), |m| {
        ["halyard/nav/latitude", "halyard/nav/apparent_wind_speed", "halyard/nav/true_wind_speed", "halyard/nav/depth"]
            .iter()
            .all(|t| m.iter().any(|r| r.topic == *t))
    });
    assert!(ok, "{:?}\n{}", sub.all().iter().map(|r| &r.topic).collect::<Vec<_>>(), run.log());
    let (lat, lon) = first_position(&head);
    assert!((latitude_published(&sub).unwrap() - lat).abs() < 1e-6);
    let lon_pub: f64 = sub.payloads("halyard/nav/longitude")[0].parse().unwrap();
    assert!((lon_pub - lon).abs() < 1e-6);
    // rob's Pacific log: sentences with runs of NUL bytes inside, which still pass the checksum.
    let rob = std::fs::read(fixture("rob.excerpt.nmea")).unwrap();
    assert!(rob.contains(&0));
    for chunk in rob.chunks(480) {
        tty.master.write_all(chunk).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    let (rob_lat, _) = first_position(&String::from_utf8_lossy(&rob).replace('\0', ""));
    let ok = sub.wait(Duration::from_secs(20), |m| {
        m.iter()
            .any(|r| r.topic == "halyard/nav/latitude" && (r.payload.parse::<f64>().unwrap() - rob_lat).abs() < 0.01)
    });
    assert!(ok, "rob's position (lat {rob_lat}) not published: {:?}", sub.payloads("halyard/nav/latitude"));
    // The garbage and the bad checksum are counted, by kind, for this port.
    let m = http_get(metrics, "/metrics");
    assert!(m.contains("halyard_decode_errors_total{source=\"ttyGPS\",kind=\"not_a_sentence\"} 1"), "{m}");
    assert!(m.contains("halyard_decode_errors_total{source=\"ttyGPS\",kind=\"checksum\"} 1"), "{m}");
    assert!(m.contains("halyard_source_up{source=\"ttyGPS\"} 1"), "{m}");
    run.stop();
}

#[test]
fn a_chartplotter_through_gpsd_gpsfake() {
    let _serial = support::one_at_a_time();
    assert!(
        Command::new("sh").args(["-c", "command -v gpsfake"]).status().unwrap().success(),
        "gpsfake (Debian gpsd-clients, with gpsd) is installed by scripts/test.sh"
    );
    let scratch = Scratch::new("nmea-gpsd");
    let broker = Mosquitto::start(&scratch.0, "");
    let sub = Subscriber::start(broker.port, None);
    let gpsd_port = free_port();
    let log = fixture("bundg_zeus_9.log");
    // gpsfake runs its own gpsd on a loopback port and plays each log into it through a
    // pseudo-terminal of its own, a sentence every 2 ms, once: a B&G chartplotter and a GoFree
    // export with AIS.
    let mut gpsfake = Command::new("gpsfake")
        .args(["-q", "-1", "-P", &gpsd_port.to_string(), "-c", "0.002", "-S"])
        .arg(&log)
        .arg(fixture("gofree-merrimac.log"))
        .current_dir(&scratch.0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let cfg = config(&scratch, broker.port, free_port(), &format!("gpsd:127.0.0.1:{gpsd_port}"));
    let run = Halyard::start(&["run", "-c", cfg.to_str().unwrap()]);
    let ok = sub.wait(Duration::from_secs(60), |m| {
        ["halyard/nav/latitude", "halyard/nav/true_wind_speed", "halyard/nav/depth", "halyard/nav/heading"]
            .iter()
            .all(|t| m.iter().any(|r| r.topic == *t))
            && m.iter().any(|r| r.topic == "halyard/nav/ais_vessels" && r.payload != "0")
    });
    let _ = gpsfake.kill();
    let _ = gpsfake.wait();
    assert!(ok, "{:?}\n{}", sub.all().iter().map(|r| &r.topic).collect::<Vec<_>>(), run.log());
    // Both boats' positions: gpsd may start a log anywhere in its first cycle, so near the
    // first position of each log.
    let logs: Vec<(f64, f64)> = [log.clone(), fixture("gofree-merrimac.log")]
        .iter()
        .map(|p| first_position(&std::fs::read_to_string(p).unwrap()))
        .collect();
    for p in sub.payloads("halyard/nav/latitude") {
        let lat: f64 = p.parse().unwrap();
        assert!(logs.iter().any(|(l, _)| (lat - l).abs() < 0.05), "{lat} is in neither log: {logs:?}");
    }
    assert!(run.log().contains("nmea: reading gpsd:127.0.0.1"), "{}", run.log());
    run.stop();
}

/// Each of the five real logs replayed as a file: every line decoded or counted, the kinds of
/// error each log is known for and no other.
#[test]
fn the_five_logs_replayed() {
    let _serial = support::one_at_a_time();
    let scratch = Scratch::new("nmea-five");
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nmea");
    let logs = [
        ("bundg_zeus_9.log", "bundg_zeus_9.log", 0),
        ("gofree-merrimac.log", "gofree-merrimac.log", 0),
        ("plaka.log", "plaka.head.log", 1), // the excerpt is cut mid-line
        ("rob_2021-03-05_pacific_replay.nmea", "rob.excerpt.nmea", 0),
        ("going.to.groix.2.nmea", "going.to.groix.head.nmea", 1), // one bad checksum in the whole log
    ];
    for (whole, excerpt, most_errors) in logs {
        let path = if shared.join(whole).exists() { shared.join(whole) } else { fixture(excerpt) };
        let cfg = scratch.path(&format!("{whole}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "data_dir = \"{}\"\n[store]\nenabled = false\n[mqtt]\nmdns = false\n[broker]\nlisten = \"127.0.0.1:{}\"\n[metrics]\nlisten = \"\"\n",
                scratch.path(whole).display(),
                free_port()
            ),
        )
        .unwrap();
        let out = halyard().args(["replay", "--max-speed", "-c", cfg.to_str().unwrap()]).arg(&path).output().unwrap();
        assert!(out.status.success(), "{whole}: {}", String::from_utf8_lossy(&out.stderr));
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["devices"], 1, "{whole}: the nav device {summary}");
        assert!(summary["updates"].as_u64().unwrap() > 100, "{whole}: {summary}");
        let errors = summary["decode_errors"].as_f64().unwrap() as u64;
        assert!(errors <= most_errors, "{whole}: {summary}");
        assert_eq!(summary["mqtt_dropped"], 0.0);
    }
}

/// The u-blox log with real fix loss, replayed into the store: the loss found by `halyard nav`
/// is where the log's RMC status turns V and back to A; the KML holds the recorded track.
#[test]
fn fix_loss_and_the_season_track_from_a_real_log() {
    let _serial = support::one_at_a_time();
    let scratch = Scratch::new("nmea-replay");
    let (broker, web) = (free_port(), free_port());
    let cfg = scratch.path("halyard.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\ntimezone = \"Europe/Paris\"\n[mqtt]\nmdns = false\n[broker]\nlisten = \"127.0.0.1:{broker}\"\n[metrics]\nlisten = \"\"\n[web]\nlisten = \"127.0.0.1:{web}\"\n",
            scratch.0.display()
        ),
    )
    .unwrap();
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nmea/going.to.groix.2.nmea");
    let log = if shared.exists() { shared } else { fixture("going.to.groix.head.nmea") };
    let out = halyard().args(["replay", "--max-speed", "-c", cfg.to_str().unwrap()]).arg(&log).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The expected losses: RMC status V from its first V to the next A.
    let text = std::fs::read_to_string(&log).unwrap();
    let mut expected = Vec::new();
    let mut lost: Option<String> = None;
    for line in text.lines().filter(|l| l.starts_with("$GPRMC") && l.len() > 20) {
        let f: Vec<&str> = line.split(',').collect();
        let time = format!("{}:{}:{}", &f[1][0..2], &f[1][2..4], &f[1][4..6]);
        match (f[2], &lost) {
            ("V", None) => lost = Some(time),
            ("A", Some(from)) => {
                expected.push((from.clone(), time));
                lost = None;
            }
            _ => {}
        }
    }
    assert!(!expected.is_empty());
    let nav = halyard().args(["nav", "--json", "-c", cfg.to_str().unwrap()]).output().unwrap();
    assert!(nav.status.success(), "{}", String::from_utf8_lossy(&nav.stderr));
    let nav: serde_json::Value = serde_json::from_slice(&nav.stdout).unwrap();
    assert_eq!(nav["date"], "2023-06-23");
    let found: Vec<(String, String)> = nav["day"]["fix_losses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["from"].as_str().unwrap()[11..19].to_owned(), l["to"].as_str().unwrap()[11..19].to_owned()))
        .collect();
    // Every RMC-reported loss is found (GGA/GLL may start it a sentence earlier, or a silence
    // may add one): each expected end is a found end.
    for (from, to) in &expected {
        assert!(found.iter().any(|(_, t)| t == to), "loss {from}–{to} not found in {found:?}");
    }
    assert!(nav["day"]["max_gust_kn"].as_f64().unwrap() > 0.0, "{nav}");
    // The KML: one line for the day, every recorded point on it.
    let kml = halyard().args(["export", "kml", "-c", cfg.to_str().unwrap()]).output().unwrap();
    let kml = String::from_utf8(kml.stdout).unwrap();
    assert_eq!(kml.matches("<LineString>").count(), 1, "{}", &kml[..kml.len().min(2000)]);
    assert!(kml.contains("<name>2023-06-23</name>"));
    let coordinates = kml.split("<coordinates>").nth(1).unwrap().split("</coordinates>").next().unwrap();
    assert_eq!(coordinates.split_whitespace().count() as u64, nav["day"]["track_points"].as_u64().unwrap());
    let gpx = halyard().args(["export", "gpx", "-c", cfg.to_str().unwrap()]).output().unwrap();
    let gpx = String::from_utf8(gpx.stdout).unwrap();
    assert_eq!(gpx.matches("<trkpt").count() as u64, nav["day"]["track_points"].as_u64().unwrap());
    // The daily report carries the same answers.
    let report =
        halyard().args(["report", "--json", "--date", "2023-06-23", "-c", cfg.to_str().unwrap()]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(report["nav"]["fix_losses"], nav["day"]["fix_losses"]);

    // The map page parses the KML export and draws it: the same points, the same fix losses.
    let run = Halyard::start(&["run", "-c", cfg.to_str().unwrap()]);
    assert!(run.wait_log(Duration::from_secs(20), "dashboard on"), "{}", run.log());
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/web-screenshots");
    let out = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/tests/map.mjs"))
        .args([&format!("http://127.0.0.1:{web}"), shots.to_str().unwrap(), "2023-06-23"])
        .output()
        .expect("node (scripts/test.sh installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "map page: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let map: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(map["season"]["lines"][0]["points"], nav["day"]["track_points"], "{map}");
    assert_eq!(map["season"]["drawn"], 1);
    // The coast is drawn from the built-in Natural Earth land, beneath the track, offline.
    assert!(map["season"]["land"].as_u64().unwrap() > 0, "land polygons in view: {map}");
    assert!(map["season"]["landPixels"].as_u64().unwrap() > 1000, "land painted: {map}");
    assert_eq!(map["season"]["landBelowTrack"], true, "{map}");
    assert_eq!(map["away"], serde_json::json!([]), "requests beyond the server: {map}");
    let losses = map["day"]["losses"].as_array().unwrap();
    assert_eq!(losses.len(), nav["day"]["fix_losses"].as_array().unwrap().len(), "{map}");
    let shown: f64 = map["day"]["gust"].as_str().unwrap().trim_end_matches(" kn").parse().unwrap();
    assert!((shown - nav["day"]["max_gust_kn"].as_f64().unwrap()).abs() <= 0.05, "{map}");
    run.stop();
}

/// What a dateless log says, read here with plain string handling: the highest apparent wind
/// (MWV R) with the time of day of the position before it, and the distance of its GLL track.
fn dateless_log_truth(log: &str) -> (f64, String, f64) {
    let (mut clock, mut max, mut max_at) = (String::new(), -1.0, String::new());
    let (mut last, mut distance): (Option<(f64, f64)>, f64) = (None, 0.0);
    for line in log.lines() {
        let f: Vec<&str> = line.split('*').next().unwrap().split(',').collect();
        match f[0].get(3..).unwrap_or("") {
            "ZDA" if f[1].len() >= 6 => clock = f[1][..6].to_owned(),
            "GLL" if f.len() > 6 && f[6] == "A" => {
                clock = f[5][..6].to_owned();
                let p = (degrees(f[1], f[2], 2), degrees(f[3], f[4], 3));
                if let Some(q) = last {
                    let (p1, p2) = (q.0.to_radians(), p.0.to_radians());
                    let (dp, dl) = (p2 - p1, (p.1 - q.1).to_radians());
                    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
                    distance += 2.0 * 6_371_000.0 * h.sqrt().asin();
                }
                last = Some(p);
            }
            "MWV" if f.len() > 3 && f[2] == "R" => {
                let kn: f64 = f[3].parse().unwrap_or(-1.0);
                if kn > max {
                    (max, max_at) = (kn, clock.clone());
                }
            }
            _ => {}
        }
    }
    let at = format!("{}:{}:{}", &max_at[..2], &max_at[2..4], &max_at[4..6]);
    (max, at, distance / 1852.0)
}

/// plaka.log has no date anywhere (ZDA's date fields are empty, positions are GLL): replayed as
/// fast as it goes, or imported, its times of day land on `--date`, else on the file's
/// modification date — never on the wall clock — so the wind, the track and the stays keep
/// their hours.
#[test]
fn a_dateless_log_keeps_its_own_clock() {
    let _serial = support::one_at_a_time();
    let scratch = Scratch::new("nmea-dateless");
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nmea/plaka.log");
    let source = if shared.exists() { shared } else { fixture("plaka.head.log") };
    let text = std::fs::read_to_string(&source).unwrap();
    let (max, at, distance) = dateless_log_truth(&text);
    assert!(max > 10.0 && distance > 0.5, "{max} kn at {at}, {distance} nm");
    let log = scratch.path("plaka.log");
    std::fs::write(&log, &text).unwrap();
    // Modified on 2023-06-23 at 18:00 UTC.
    let modified = std::time::UNIX_EPOCH + Duration::from_secs(1_687_543_200);
    std::fs::File::options().write(true).open(&log).unwrap().set_modified(modified).unwrap();
    let store = |name: &str| -> PathBuf {
        let cfg = scratch.path(&format!("{name}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "data_dir = \"{}\"\ntimezone = \"UTC\"\n[mqtt]\nmdns = false\n[broker]\nlisten = \"127.0.0.1:{}\"\n[metrics]\nlisten = \"\"\n[web]\nlisten = \"\"\n",
                scratch.path(name).display(),
                free_port()
            ),
        )
        .unwrap();
        cfg
    };
    let check = |cfg: &Path, date: &str| {
        let out = halyard().args(["nav", "--json", "--date", date, "-c", cfg.to_str().unwrap()]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let nav: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let day = &nav["day"];
        assert!((day["max_apparent_wind_kn"].as_f64().unwrap() - max).abs() < 0.01, "{max} kn: {day}");
        assert_eq!(day["max_apparent_wind_at"], format!("{date}T{at}.000Z"), "{day}");
        let got = day["distance_nm"].as_f64().unwrap();
        assert!((got - distance).abs() <= 0.01 * distance, "{got} nm, the GLL track is {distance:.2} nm");
        assert!(day["max_gust_kn"].as_f64().unwrap() > 1.0, "a gust from hours of wind, not seconds: {day}");
    };
    // Replayed with --max-speed on a given date.
    let given = store("given");
    let out = halyard()
        .args(["replay", "--max-speed", "--date", "2024-07-14", "-c", given.to_str().unwrap()])
        .arg(&log)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("2024-07-14 (given by --date)"), "{stderr}");
    check(&given, "2024-07-14");
    // Imported with no date: the file's modification date, said in the log.
    let modified = store("modified");
    let out = halyard().args(["import", "-c", modified.to_str().unwrap()]).arg(&log).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("2023-06-23 (the file's modification date"), "{stderr}");
    check(&modified, "2023-06-23");
}

/// A GGA sentence (a fix, no date: the system clock stamps it) at `(lat, lon)` degrees (north,
/// east), its checksum computed here.
/// Anchor watch, live: dropped over MQTT with a radius, swinging inside says nothing, three
/// fixes outside raise `anchor-drag` with the distance and bearing, the watch is kept across a
/// restart, and `up` clears it.
#[test]
fn the_anchor_watch_raises_a_drag_and_survives_a_restart() {
    let _serial = support::one_at_a_time();
    let scratch = Scratch::new("anchor");
    let broker = Mosquitto::start(&scratch.0, "");
    let sub = Subscriber::start(broker.port, None);
    let link = scratch.path("ttyANCHOR");
    let mut tty = Tty::open(&link);
    let cfg = config(&scratch, broker.port, free_port(), &format!("serial:{}@4800", link.display()));
    let publish = |payload: &str| {
        let ok = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &broker.port.to_string(), "-t", "halyard/anchor/set", "-m", payload])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    let state = |topic: &str| -> Vec<serde_json::Value> {
        sub.payloads(topic).iter().filter_map(|p| serde_json::from_str(p).ok()).collect()
    };
    let (la, lo) = (59.9, 10.7);
    let mut second = 0;
    let mut fix = |tty: &mut Tty, d: f64, b: f64| {
        let (a, o) = offset(la, lo, d, b);
        second += 5;
        tty.master.write_all(gga(second, a, o).as_bytes()).unwrap();
        // The watch sees the track's fixes: one per 5 s at most (ingest::nav's TRACK_MIN_MS).
        std::thread::sleep(Duration::from_millis(5_300));
    };

    let run = Halyard::start(&["run", "-c", cfg.to_str().unwrap()]);
    assert!(run.wait_log(Duration::from_secs(20), "nmea: reading"), "{}", run.log());
    assert!(run.wait_log(Duration::from_secs(10), "mqtt: connected"), "{}", run.log());
    fix(&mut tty, 0.0, 0.0);
    assert!(sub.wait(Duration::from_secs(10), |m| m.iter().any(|r| r.topic == "halyard/nav/latitude")));
    publish("drop sideways");
    let anchor = |args: &[&str]| {
        let out = halyard().arg("anchor").args(args).args(["-c", cfg.to_str().unwrap()]).output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), said)
    };
    let (ok, said) = anchor(&["drop", "--radius", "40"]);
    assert!(ok, "{said}\n{}", run.log());
    assert!(said.contains("anchor down at 59.90000° N, 10.70000° E") && said.contains("radius 40 m"), "{said}");
    assert!(run.log().contains("anchor: `drop sideways` refused"), "{}", run.log());
    // Swinging inside, one jump outside: no alarm.
    for (d, b) in [(30.0, 90.0), (90.0, 200.0), (30.0, 210.0)] {
        fix(&mut tty, d, b);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(state("halyard/alarm/anchor-drag").is_empty(), "{}", run.log());
    let down = state("halyard/anchor");
    let last = down.last().expect("the anchor's state on halyard/anchor");
    assert_eq!(last["state"], "down", "{last}");
    assert!((last["latitude"].as_f64().unwrap() - la).abs() < 1e-6 && last["radius"] == 40.0, "{last}");
    // Dragging south-west.
    for d in [50.0, 65.0, 85.0] {
        fix(&mut tty, d, 212.0);
    }
    let raised = sub.wait(Duration::from_secs(10), |m| {
        m.iter().any(|r| r.topic == "halyard/alarm/anchor-drag" && r.payload.contains("active"))
    });
    assert!(raised, "{}", run.log());
    let alarm = state("halyard/alarm/anchor-drag").pop().unwrap();
    assert_eq!(alarm["severity"], "emergency", "{alarm}");
    let distance = alarm["value"].as_f64().unwrap();
    assert!((distance - 85.0).abs() < 1.0, "{alarm}");
    let message = alarm["message"].as_str().unwrap();
    assert!(message.contains("85 m from the anchor") && message.contains("212°"), "{message}");
    assert!(state("halyard/anchor").iter().any(|s| s["state"] == "dragging"));
    assert!(scratch.0.join("anchor.json").exists());
    // Acknowledged from the command line, as the crew would from a phone.
    let ack = |name: &str| {
        let out = halyard().args(["alarms", "--ack", name, "-c", cfg.to_str().unwrap()]).output().unwrap();
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    let (ok, said) = ack("anchor-drag");
    assert!(ok && said.contains("anchor-drag: acknowledged (active since"), "{said}\n{}", run.log());
    // The daemon has taken the acknowledgement; its new state reaches the subscriber a moment later.
    sub.wait(Duration::from_secs(10), |m| {
        m.iter()
            .rev()
            .find(|r| r.topic == "halyard/alarm/anchor-drag" && !r.retained)
            .is_some_and(|r| r.payload.contains("\"acknowledged\":true"))
    });
    let alarm = state("halyard/alarm/anchor-drag").pop().unwrap();
    assert_eq!((alarm["state"].as_str(), alarm["acknowledged"].as_bool()), (Some("active"), Some(true)), "{alarm}");
    let (ok, said) = ack("no-such-alarm");
    assert!(!ok && said.contains("no alarm `no-such-alarm` known"), "{said}");
    run.stop();

    // A restart at anchor: the watch resumes from anchor.json; `up` ends it and clears the alarm.
    let run = Halyard::start(&["run", "-c", cfg.to_str().unwrap()]);
    assert!(run.wait_log(Duration::from_secs(20), "anchor: watch resumed"), "{}", run.log());
    assert!(run.wait_log(Duration::from_secs(10), "mqtt: connected"), "{}", run.log());
    fix(&mut tty, 20.0, 0.0);
    let (ok, said) = anchor(&["status"]);
    assert!(ok && said.contains("radius 40 m"), "{said}");
    let (ok, said) = anchor(&["up"]);
    assert!(ok && said.contains("anchor up"), "{said}\n{}", run.log());
    let cleared = sub.wait(Duration::from_secs(10), |m| {
        m.iter().rfind(|r| r.topic == "halyard/anchor").is_some_and(|r| r.payload.contains("\"up\""))
    });
    assert!(cleared, "{}", run.log());
    assert!(!scratch.0.join("anchor.json").exists());
    let (ok, said) = anchor(&["up"]);
    assert!(!ok && said.contains("the anchor is not down"), "{said}");
    let log = run.stop();
    assert!(log.contains("anchor: `{\"action\":\"up\"}`"), "{log}");
}
