//! The dashboard end to end: `halyard demo` records days into its store and plays its last day
//! live; headless Chromium (Debian's, driven by playwright-core from `web/node_modules`) opens
//! every page (web/tests/dashboard.mjs); here the chart data it read is compared with the
//! store, read with SQL of its own, and the pages are searched for the demo's keys. Also the
//! token when the dashboard listens beyond loopback, and the embedded assets over plain HTTP.

mod support;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use support::{browser, free_port, get, halyard, http, need, web_dir, Halyard, Scratch};

fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// The 1-minute means of a series on a local day, straight from the SQLite file.
fn minute_means(db: &rusqlite::Connection, device: &str, metrics: &[&str], from_s: i64, to_s: i64) -> Vec<(i64, f64)> {
    for metric in metrics {
        let mut st = db
            .prepare(
                "SELECT r.bucket / 1000, r.sum / r.count FROM rollups r JOIN series s ON s.id = r.series
                 WHERE r.resolution = '1m' AND r.count > 0 AND s.device = ?1 AND s.metric = ?2
                   AND r.bucket >= ?3 AND r.bucket < ?4
                 ORDER BY r.bucket",
            )
            .unwrap();
        let rows: Vec<(i64, f64)> = st
            .query_map(rusqlite::params![device, metric, from_s * 1000, to_s * 1000], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        if !rows.is_empty() {
            return rows;
        }
    }
    Vec::new()
}

/// Every point of a chart series matches the store's minute mean (to the 0.1 W the API rounds
/// to), and every minute the store has is on the chart.
fn assert_matches_store(chart: &Json, index: usize, expected: &[(i64, f64)], what: &str) {
    let time: Vec<i64> = chart["time"].as_array().unwrap().iter().map(|t| t.as_i64().unwrap()).collect();
    let values = chart["series"][index]["values"].as_array().unwrap();
    assert_eq!(time.len(), values.len(), "{what}");
    let on_chart: std::collections::BTreeMap<i64, f64> =
        time.iter().zip(values).filter_map(|(t, v)| v.as_f64().map(|v| (*t, v))).collect();
    assert!(expected.len() > 600, "{what}: {} minutes in the store", expected.len());
    assert_eq!(on_chart.len(), expected.len(), "{what}: minutes on the chart and in the store");
    for (t, v) in expected {
        let shown = on_chart.get(t).unwrap_or_else(|| panic!("{what}: minute {t} missing"));
        assert!((shown - v).abs() <= 0.051 + v.abs() * 1e-9, "{what} at {t}: chart {shown}, store {v}");
    }
}

#[test]
fn dashboard_in_headless_chromium_against_the_demo() {
    let chromium = browser();
    let _serial = support::one_at_a_time();
    let scratch = Scratch::new("web");
    let (web, broker) = (free_port(), free_port());
    let mut cmd = halyard();
    cmd.args(["demo", "--days", "3", "--speed", "400", "--web", &format!("127.0.0.1:{web}")])
        .args(["--broker", &format!("127.0.0.1:{broker}")])
        .env("XDG_STATE_HOME", &scratch.0)
        .env_remove("STATE_DIRECTORY");
    let mut demo = Halyard::spawn(cmd);
    // The history is stored and the live day has begun.
    let ready = wait_for(Duration::from_secs(120), || {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", web)) else { return false };
        let _ = s.write_all(b"GET /api/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.contains("\"days\":[\"2026-06-19\",\"2026-06-20\",\"2026-06-21\"]")
    });
    assert!(ready, "the demo did not start\n{}", demo.log());
    let (_, _, status) = get(web, "/api/status", "");
    let status: Json = serde_json::from_slice(&status).unwrap();
    assert_eq!(status["days"], serde_json::json!(["2026-06-19", "2026-06-20", "2026-06-21"]), "{status}");
    assert_eq!(status["today"], "2026-06-21", "the dashboard lives on the demo's simulated day: {status}");

    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/web-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let out = Command::new("node")
        .arg(web_dir().join("tests/dashboard.mjs"))
        .args([&format!("http://127.0.0.1:{web}"), shots.to_str().unwrap(), "2026-06-19"])
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "browser test failed:\n{stderr}\n{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("page weight and first render: {}", String::from_utf8_lossy(&out.stdout).trim());
    assert!(demo.is_running(), "the demo stopped early\n{}", demo.log());

    // What the charts showed is what the store holds.
    let results: Json = serde_json::from_slice(&std::fs::read(shots.join("results.json")).unwrap()).unwrap();
    let db = rusqlite::Connection::open_with_flags(
        scratch.path("halyard/demo/halyard.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let solar = &results["charts"]["solar"]["power"];
    let time = solar["time"].as_array().unwrap();
    let (from, to) = (time[0].as_i64().unwrap(), time.last().unwrap().as_i64().unwrap() + 60);
    assert_eq!(to - from, 86_400, "2026-06-19 in Paris is 24 hours");
    for (i, s) in solar["series"].as_array().unwrap().iter().enumerate().skip(1) {
        let device = s["label"].as_str().unwrap();
        let expected = minute_means(&db, device, &["solar_power", "panel_power"], from, to);
        assert_matches_store(solar, i, &expected, &format!("solar power of {device}"));
    }
    let battery = &results["charts"]["battery"]["power"];
    let expected = minute_means(&db, "house-bank", &["battery_power"], from, to);
    assert_matches_store(battery, 0, &expected, "battery power");
    // The History page's CSV: the day's mean of the bank's voltage is the mean of its raw
    // readings that day (the CSV reads the day rollup).
    let csv = &results["csv"];
    let column = csv["header"].as_array().unwrap().iter().position(|h| h == "house-bank.voltage (V)").unwrap();
    let row =
        csv["rows"].as_array().unwrap().iter().find(|r| r[0] == "2026-06-19 00:00:00").expect("a row for 2026-06-19");
    assert_eq!(row[1], "2026-06-18T22:00:00Z", "local midnight in Paris is 22:00 UTC in June");
    let raw_mean: f64 = db
        .query_row(
            "SELECT avg(value) FROM samples JOIN series ON series.id = samples.series \
             WHERE device = 'house-bank' AND metric = 'voltage' AND ts >= ?1 AND ts < ?2",
            [from * 1000, to * 1000],
            |r| r.get(0),
        )
        .unwrap();
    let csv_mean: f64 = row[column].as_str().unwrap().parse().unwrap();
    assert!((csv_mean - raw_mean).abs() < 1e-9, "CSV {csv_mean} V against the raw readings' {raw_mean} V");
    // The network line is the devices' sum where all of them reported that minute.
    let net = solar["series"][0]["values"].as_array().unwrap();
    let parts: Vec<&Vec<Json>> =
        solar["series"].as_array().unwrap()[1..].iter().map(|s| s["values"].as_array().unwrap()).collect();
    let mut compared = 0;
    for (i, n) in net.iter().enumerate() {
        let values: Vec<f64> = parts.iter().filter_map(|p| p[i].as_f64()).collect();
        if values.len() == parts.len() {
            let sum: f64 = values.iter().sum();
            assert!((n.as_f64().unwrap() - sum).abs() < 0.3, "network at minute {i}: {n} against {sum}");
            compared += 1;
        }
    }
    assert!(compared > 1000, "{compared} minutes compared");
    // The day picker moved to the next day, whose data differ.
    let next = &results["charts"]["solar_next"];
    assert_eq!(next["date"], "2026-06-20");
    assert_ne!(next["network_sum"], next["first_sum"]);

    // No key of the demo boat reaches a page or an answer.
    let config = halyard::sim::config_text();
    let keys: Vec<&str> =
        config.lines().filter_map(|l| l.strip_prefix("key = \"")).map(|k| k.trim_end_matches('"')).collect();
    assert!(keys.len() >= 6, "{keys:?}");
    let mut pages = String::new();
    for entry in std::fs::read_dir(&shots).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "html" || e == "json") {
            pages.push_str(&std::fs::read_to_string(&p).unwrap().to_lowercase());
        }
    }
    for path in ["/api/devices", "/api/status", "/api/report?date=2026-06-19"] {
        pages.push_str(&String::from_utf8_lossy(&get(web, path, "").2).to_lowercase());
    }
    for k in keys {
        assert!(!pages.contains(&k.to_lowercase()), "a key reached the dashboard");
    }
    for name in ["overview", "solar", "battery", "history", "report", "devices", "overview-phone"] {
        assert!(shots.join(format!("{name}.png")).exists(), "no screenshot of {name}");
    }
    // Halyard's own errors only (the embedded broker logs client disconnects as errors); the
    // metrics port may be taken by another test's demo.
    let log = demo.stop();
    let errors: Vec<&str> =
        log.lines().filter(|l| l.contains("ERROR halyard") && !l.contains("metrics: cannot listen")).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn beyond_loopback_the_dashboard_asks_for_its_token() {
    let _serial = support::one_at_a_time();
    let scratch = Scratch::new("web-token");
    let (web, broker) = (free_port(), free_port());
    let token = "tok3n-Of-the-boat";
    let config = scratch.path("halyard.toml");
    let base = format!(
        "data_dir = \"{}\"\n[mqtt]\nmdns = false\n[broker]\nlisten = \"127.0.0.1:{broker}\"\n[metrics]\nlisten = \"\"\n[web]\nlisten = \"0.0.0.0:{web}\"\n",
        scratch.0.display()
    );
    // Without a token the configuration is refused, with a reason.
    std::fs::write(&config, &base).unwrap();
    let out = halyard().args(["run", "--check", "-c", config.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("set `token`"), "{}", String::from_utf8_lossy(&out.stderr));

    std::fs::write(&config, format!("{base}token = \"{token}\"\n")).unwrap();
    let run = Halyard::start(&["run", "-c", config.to_str().unwrap()]);
    assert!(run.wait_log(Duration::from_secs(20), "dashboard on"), "{}", run.log());
    assert_eq!(get(web, "/api/status", "").0, 401);
    assert_eq!(get(web, "/", "").0, 401);
    assert_eq!(get(web, "/api/status", "Authorization: Bearer wrong\r\n").0, 401);
    let (code, _, body) = get(web, "/api/status", &format!("Authorization: Bearer {token}\r\n"));
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    // ?token= once: a cookie, and the address without the token.
    let (code, head, _) = get(web, &format!("/?token={token}"), "");
    assert_eq!(code, 303, "{head}");
    assert!(head.to_lowercase().contains("location: /\r\n"), "{head}");
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(head.contains("HttpOnly"), "{head}");
    let (code, head, page) = get(web, "/", &format!("Cookie: {cookie}\r\nAccept-Encoding: gzip, br\r\n"));
    assert_eq!(code, 200);
    assert!(head.to_lowercase().contains("content-encoding: gzip"), "{head}");
    let mut html = Vec::new();
    flate2::read::GzDecoder::new(&page[..]).read_to_end(&mut html).unwrap();
    assert_eq!(html, std::fs::read(web_dir().join("src/index.html")).unwrap(), "the embedded page is the source");
    // Revalidation by ETag.
    let etag = head.lines().find_map(|l| l.to_lowercase().strip_prefix("etag: ").map(str::to_owned)).unwrap();
    let (code, _, body) = get(web, "/", &format!("Cookie: {cookie}\r\nIf-None-Match: {etag}\r\n"));
    assert_eq!((code, body.len()), (304, 0));
    // The history is on, still empty: no recorded day, and a bad date is a clear 400.
    let (_, _, status) = get(web, "/api/status", &format!("Cookie: {cookie}\r\n"));
    let status: Json = serde_json::from_slice(&status).unwrap();
    assert_eq!(status["days"], serde_json::json!([]));
    let (code, _, body) = get(web, "/api/day/solar?date=yesterday", &format!("Cookie: {cookie}\r\n"));
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));
    let log = run.stop();
    assert!(!log.contains(token), "the token reached the log");
}

/// The alarms on the dashboard, in headless Chromium (web/tests/alarms.mjs): the Map page drops
/// the anchor, the boat on a pseudo-terminal GPS drags, the banner appears on every page, its
/// button acknowledges, the Alarms page lists it, Anchor up clears it — and MQTT, read by
/// `mosquitto_sub` from the embedded broker, agrees at each step. A request another site's page
/// could send (a form post) is refused.
#[test]
fn alarms_and_the_anchor_watch_in_headless_chromium() {
    need("mosquitto_sub", "reading the alarms on MQTT");
    let chromium = browser();
    let _serial = support::one_at_a_time();
    let scratch = Scratch::new("web-alarms");
    let (web, broker) = (free_port(), free_port());
    let link = scratch.path("ttyGPS");
    let mut tty = support::Tty::open(&link);
    // And an MPPT on VE.Direct that says one thing and falls silent (silent after 15 s here).
    let ve_link = scratch.path("ttyVE");
    let mut ve = support::Tty::open(&ve_link);
    let config = scratch.path("halyard.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\ntimezone = \"Europe/Paris\"\n[mqtt]\nmdns = false\n[broker]\nlisten = \"127.0.0.1:{broker}\"\n\
             [metrics]\nlisten = \"\"\n[web]\nlisten = \"127.0.0.1:{web}\"\n[alarms]\nsilent_after = \"15s\"\n\
             [[nmea]]\nsource = \"serial:{}@4800\"\n[[vedirect]]\nport = \"{}\"\n\
             [[device]]\nname = \"bimini\"\nrole = \"solar\"\nserial = \"HQ2232BIMI3\"\n",
            scratch.0.display(),
            link.display(),
            ve_link.display()
        ),
    )
    .unwrap();
    let run = Halyard::start(&["run", "-c", config.to_str().unwrap()]);
    assert!(run.wait_log(Duration::from_secs(20), "dashboard on"), "{}", run.log());
    assert!(run.wait_log(Duration::from_secs(10), "vedirect: reading"), "{}", run.log());
    let sub = support::Subscriber::start(broker, None);
    assert!(sub.wait(Duration::from_secs(10), |m| m.iter().any(|r| r.topic == "halyard/status")), "{}", run.log());
    ve.master.write_all(&support::mppt_block("HQ2232BIMI3", 13_250, 212)).unwrap();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/web-screenshots/alarms");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();

    // The GPS: at the anchor until the page has dropped it, then dragging south-west.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let gps = {
        let (stop, dropped) = (stop.clone(), shots.join("dropped"));
        std::thread::spawn(move || {
            let (la, lo) = (43.2795, 5.3105);
            let (mut second, mut distance) = (0, 0.0);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if dropped.exists() {
                    distance = f64::min(distance + 20.0, 120.0);
                }
                let (a, o) = support::offset(la, lo, distance, 212.0);
                second += 5;
                let _ = tty.master.write_all(support::gga(second, a, o).as_bytes());
                // The watch sees the track's fixes: one per 5 s at most.
                std::thread::sleep(Duration::from_millis(5_200));
            }
        })
    };

    let out = Command::new("node")
        .arg(web_dir().join("tests/alarms.mjs"))
        .args([&format!("http://127.0.0.1:{web}"), shots.to_str().unwrap()])
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    gps.join().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser test failed:\n{}\n{said}\n{}",
        String::from_utf8_lossy(&out.stderr),
        run.log()
    );
    eprintln!("alarms in the browser: {said}");

    // MQTT saw what the page did: dropped with 40 m, dragged, acknowledged, cleared by `up`.
    let states = |topic: &str| -> Vec<Json> {
        sub.payloads(topic).iter().filter_map(|p| serde_json::from_str(p).ok()).collect()
    };
    let anchor = states("halyard/anchor");
    assert!(anchor.iter().any(|s| s["state"] == "down" && s["radius"] == 40.0), "{anchor:?}");
    assert!(anchor.iter().any(|s| s["state"] == "dragging"), "{anchor:?}");
    assert_eq!(anchor.last().unwrap()["state"], "up", "{anchor:?}");
    let alarm = states("halyard/alarm/anchor-drag");
    assert!(alarm.iter().any(|s| s["state"] == "active" && s["acknowledged"] == true), "{alarm:?}");
    assert_eq!(alarm.last().unwrap()["state"], "normal", "{alarm:?}");
    let silent = states("halyard/alarm/bimini-silent");
    assert_eq!(silent.last().map(|s| s["state"].clone()), Some("active".into()), "{silent:?}");
    // Heard, then silent: Home Assistant's availability for its sensors.
    assert_eq!(sub.payloads("halyard/bimini/availability"), ["online", "offline"]);
    drop(ve);

    // Only JSON is taken: a form post (what a page of another site could send) is refused, and
    // a bad request says why.
    let form = "action=up";
    let (code, _, _) = http(
        web,
        &format!("POST /api/anchor HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}", form.len()),
    );
    assert_eq!(code, 415);
    let body = r#"{"action":"drop","radius":-3}"#;
    let (code, _, answer) = http(
        web,
        &format!("POST /api/anchor HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
    );
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&answer));
    assert!(String::from_utf8_lossy(&answer).contains("radius -3 m"), "{}", String::from_utf8_lossy(&answer));
    let (code, _, _) = http(
        web,
        "POST /api/alarms/nothing-here/ack HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    );
    assert_eq!(code, 404);
    let log = run.stop();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR halyard")).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}
