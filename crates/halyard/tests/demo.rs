//! `halyard demo --once`: the whole gateway on simulated days, with the embedded broker (or the
//! broker already on 127.0.0.1:1883), exits 0 with every message acknowledged.

use std::path::Path;
use std::process::Command;

// Metres between two positions: the library's haversine, ample for the 5 m and 200 m
// tolerances here.
use halyard::geo::distance_m as metres;
use serde_json::Value;

/// `halyard demo --once --days 2` and `extra`, its state in `state`: the run's summary, each
/// simulated day's truth, and what it said on standard error.
fn demo(extra: &[&str], state: &Path) -> (Value, Vec<Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_halyard"))
        .args(["demo", "--once", "--days", "2", "--web", ""])
        .args(extra)
        .env("XDG_STATE_HOME", state)
        .env_remove("STATE_DIRECTORY")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let summary: Value = stderr
        .lines()
        .find(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .unwrap_or_else(|| panic!("no summary\n{stderr}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let days = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (summary, days, stderr)
}

#[test]
fn demo_once_plays_a_day_and_exits_cleanly() {
    let state = std::env::temp_dir().join(format!("halyard-demo-test-{}", std::process::id()));
    let (summary, days, stderr) = demo(&[], &state);
    // The only decode errors allowed: VE.Smart networking messages heard before the first
    // message carrying the overflow counter (the live day starts a fresh gateway, as a boot does;
    // the protocol cannot authenticate those), and never more than a minute's worth.
    let kinds = summary["decode_errors_by_kind"].as_object().unwrap();
    assert!(kinds.keys().all(|k| k == "ble/waiting_for_overflow"), "{summary}");
    assert!(summary["decode_errors"].as_f64().unwrap() <= 60.0, "{summary}");
    assert!(summary["devices"].as_u64() >= Some(7), "{summary}");
    assert!(summary["mqtt_messages"].as_f64().unwrap() > 100_000.0, "{summary}");
    // The ground truth of the day, as JSON on standard output.
    assert_eq!(days.len(), 2, "{days:?}");
    assert_eq!(days[0]["date"], "2026-06-20", "the days end on the demo's day");
    let day = &days[1];
    assert_eq!(day["date"], "2026-06-21");
    assert!(day["network_yield_wh"].as_f64().unwrap() > 1000.0, "{day}");
    assert!(day["balance_error"].as_f64().unwrap().abs() < 0.01, "{day}");
    // Everything was delivered: the outbox is empty.
    let journal = state.join("halyard/demo/outbox/mqtt-outbox.journal");
    assert_eq!(std::fs::metadata(&journal).map(|m| m.len()).unwrap_or(0), 0, "{}", journal.display());
    // The demo left its configuration beside its store, and its closing lines say how to ask.
    let config = state.join("halyard/demo/halyard.toml");
    assert!(stderr.contains(&format!("halyard nav -c {}", config.display())), "{stderr}");
    navigation_matches_the_truth(&config, &day["nav"]);
    mesh_matches_the_truth(&config, &state.join("halyard/demo/rangetest.csv"), &day["nav"]["mesh"]);
    reports_read_like_reports(&config, day);
    let _ = std::fs::remove_dir_all(&state);
}

/// `halyard demo --once --nav n2k`: the same instruments on NMEA 2000 (a GPS, a compass, a
/// wind instrument, an echo sounder and an AIS receiver as nodes sending PGNs): every navigation
/// update comes through Halyard's NMEA 2000 path, none through NMEA 0183, and `halyard nav`
/// still matches the simulator's truth.
#[test]
fn demo_once_with_nmea_2000_instruments_matches_the_truth() {
    let state = std::env::temp_dir().join(format!("halyard-demo-n2k-test-{}", std::process::id()));
    // Its own broker port: the other demo test may hold 1883 at the same time.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let broker = format!("127.0.0.1:{port}");
    let (summary, days, _) = demo(&["--nav", "n2k", "--broker", &broker], &state);
    let by_protocol = &summary["updates_by_protocol"];
    assert!(by_protocol["n2k"].as_f64().unwrap_or(0.0) > 10_000.0, "{summary}");
    assert!(by_protocol.get("nmea").is_none(), "NMEA 0183 updates with --nav n2k: {summary}");
    let config = state.join("halyard/demo/halyard.toml");
    navigation_matches_the_truth(&config, &days[1]["nav"]);
    let _ = std::fs::remove_dir_all(&state);
}

fn halyard(args: &[&str], config: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_halyard")).args(args).arg("-c").arg(config).output().unwrap();
    assert!(out.status.success(), "halyard {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn ms(t: &Value) -> i64 {
    t.as_str().unwrap_or_else(|| panic!("a time: {t}")).parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("a number: {v}"))
}

/// `halyard nav` on what went through the GPS and wind instruments' NMEA, against the
/// simulator's own record of the weather and the boat's motion.
fn navigation_matches_the_truth(config: &Path, truth: &Value) {
    let nav: Value = serde_json::from_str(&halyard(&["nav", "--json", "--date", "2026-06-21"], config)).unwrap();
    let day = &nav["day"];
    // The gust: the highest 3-s mean of the true wind; the instruments print 0.1 kn.
    assert!((f(&day["max_gust_kn"]) - f(&truth["max_gust_kn"])).abs() <= 0.15, "{day}\n{truth}");
    assert!((ms(&day["max_gust_at"]) - ms(&truth["max_gust_at"])).abs() <= 3_000, "{day}\n{truth}");
    assert!((f(&day["max_apparent_wind_kn"]) - f(&truth["max_apparent_wind_kn"])).abs() <= 0.1, "{day}");
    assert!((ms(&day["max_apparent_wind_at"]) - ms(&truth["max_apparent_wind_at"])).abs() <= 1_000, "{day}");
    // Distance under way, from 1-Hz fixes printed to 1/10000 of a minute: within 2 %.
    let (got, want) = (f(&day["distance_nm"]), f(&truth["distance_nm"]));
    assert!(want > 1.0 && (got - want).abs() <= 0.02 * want, "distance {got} nm, sailed {want} nm");
    // Every fix loss, to the second it ended (the first missing fix may start it a second early).
    let (found, lost) = (day["fix_losses"].as_array().unwrap(), truth["fix_losses"].as_array().unwrap());
    assert_eq!(found.len(), lost.len(), "{found:?} vs {lost:?}");
    for (a, b) in found.iter().zip(lost) {
        assert!(
            (ms(&a["from"]) - ms(&b["from"])).abs() <= 2_000 && (ms(&a["to"]) - ms(&b["to"])).abs() <= 2_000,
            "{a} vs {b}"
        );
    }
    // Each stay of the truth is a place of the answer, within 200 m and within 10 minutes.
    let places = nav["places"].as_array().unwrap();
    for stay in truth["stays"].as_array().unwrap() {
        let at = (f(&stay["lat"]), f(&stay["lon"]));
        let place = places
            .iter()
            .find(|p| metres(at, (f(&p["lat"]), f(&p["lon"]))) < 200.0)
            .unwrap_or_else(|| panic!("no place near {stay} in {places:?}"));
        let near = place["stays"].as_array().unwrap().iter().any(|s| {
            (ms(&s["from"]) - ms(&stay["from"])).abs() <= 600_000 && (ms(&s["to"]) - ms(&stay["to"])).abs() <= 600_000
        });
        assert!(near, "stay {stay} not among {place}");
    }
}

/// `halyard mesh` on what the fake radio sent over TCP 4403, against the simulator's record.
fn mesh_matches_the_truth(config: &Path, sender_log: &Path, truth: &Value) {
    let mesh: Value =
        serde_json::from_str(&halyard(&["mesh", "--json", "--sender-log", sender_log.to_str().unwrap()], config))
            .unwrap();
    // The names the radios announced in NodeInfo, read back from the store by a new process.
    assert_eq!(
        (mesh["us"]["long_name"].as_str(), mesh["us"]["short_name"].as_str()),
        (Some("Halyard demo boat"), Some("HDB"))
    );
    let anna = mesh["everyone"].as_array().unwrap().iter().find(|n| n["node"] == "anna").expect("anna");
    assert_eq!(anna["long_name"], "Anna's handheld", "{anna}");
    let far =
        mesh["everyone"].as_array().unwrap().iter().find(|n| n["hops_away"] == 2.0).expect("a node two hops away");
    assert!(far["long_name"].as_str().is_some_and(|n| !n.is_empty()), "{far}");
    // The dinghy where it was last heard.
    let (dinghy, heard) = (&mesh["dinghy"], &truth["dinghy_last_heard"]);
    assert_eq!(ms(&dinghy["last_heard"]), ms(&heard["at"]), "{dinghy}\n{heard}");
    let off = metres((f(&dinghy["lat"]), f(&dinghy["lon"])), (f(&heard["lat"]), f(&heard["lon"])));
    assert!(off < 5.0, "dinghy {off:.1} m from where it was: {dinghy}");
    // The farthest direct reception (our GPS against the truth's position of the boat).
    let (got, want) = (f(&mesh["max_range"]["distance_m"]), f(&truth["max_direct_range_m"]));
    assert!((got - want).abs() <= 0.01 * want, "max range {got} m, truth {want} m");
    // The range test's bands from the sender's own log equal the truth's packets by band: the
    // distances differ by the GPS's few metres, so a packet may fall in the next band only when
    // it was within 10 m of the edge.
    let packets = truth["range_test"].as_array().unwrap();
    let test = &mesh["range_test"][0];
    assert_eq!(test["sender"], "anna", "{test}");
    let mut bands = std::collections::BTreeMap::<i64, (i64, i64, i64)>::new();
    for p in packets {
        let d = f(&p["distance_m"]);
        let b = bands.entry((d / 1000.0).floor() as i64).or_default();
        b.0 += 1;
        b.1 += i64::from(p["heard"] == true);
        b.2 += i64::from(d % 1000.0 < 10.0 || d % 1000.0 > 990.0);
    }
    for band in test["bands"].as_array().unwrap() {
        let k = (f(&band["from_m"]) / 1000.0) as i64;
        let (expected, heard, edge) = bands.get(&k).copied().unwrap_or_default();
        let (e, h) = (band["expected"].as_i64().unwrap(), band["heard"].as_i64().unwrap());
        assert!((e - expected).abs() <= edge && (h - heard).abs() <= edge, "band {band}: truth {expected}/{heard}");
    }
    // The headline by its definition, computed here from the truth's packets.
    let mut reliable = 0.0;
    for (k, (expected, heard, _)) in &bands {
        if *k as f64 * 1000.0 != reliable {
            break;
        }
        if *expected >= 2 && (*heard as f64) < 0.8 * *expected as f64 {
            break;
        }
        reliable = (*k + 1) as f64 * 1000.0;
    }
    assert_eq!(f(&test["reliable_range_m"]), reliable, "{test}\n{bands:?}");
}

/// The text pages: local times (the boat is in Europe/Paris, UTC+2 in June), sections, units.
fn reports_read_like_reports(config: &Path, truth: &Value) {
    let report = halyard(&["report"], config);
    assert!(report.starts_with("Report · Sunday 21 June 2026 (Europe/Paris)"), "the last recorded day:\n{report}");
    let yield_wh = f(&truth["network_yield_wh"]);
    let printed = format!("{:.0}", (yield_wh / 10.0).round() * 10.0);
    let with_commas = format!("{},{}", &printed[..printed.len() - 3], &printed[printed.len() - 3..]);
    assert!(report.contains("network yield") && report.contains("MPPT"), "{report}");
    assert!(report.contains(&with_commas) || report.contains(&printed), "yield {yield_wh} Wh:\n{report}");
    let nav = halyard(&["nav", "--date", "2026-06-21"], config);
    let gust_at = truth["nav"]["max_gust_at"].as_str().unwrap();
    let utc: jiff::Timestamp = gust_at.parse().unwrap();
    let local = jiff::tz::TimeZone::get("Europe/Paris").unwrap().to_datetime(utc).strftime("%H:%M").to_string();
    assert!(nav.contains(&format!("at {local}")), "gust at {gust_at} is {local} local:\n{nav}");
    assert!(!nav.trim_start().starts_with('{'), "text, not JSON");
    let mesh = halyard(&["mesh"], config);
    assert!(mesh.contains("Anna's handheld") && mesh.contains("Where is dinghy"), "{mesh}");
}
