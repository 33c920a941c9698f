//! `halyard demo --once`: the whole gateway on simulated days, with the embedded broker (or the
//! broker already on 127.0.0.1:1883), exits 0 with every message acknowledged.

use std::process::Command;

#[test]
fn demo_once_plays_a_day_and_exits_cleanly() {
    let state = std::env::temp_dir().join(format!("halyard-demo-test-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_halyard"))
        .args(["demo", "--once", "--days", "2", "--web", ""])
        .env("XDG_STATE_HOME", &state)
        .env_remove("STATE_DIRECTORY")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let summary: serde_json::Value = stderr
        .lines()
        .find(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .unwrap_or_else(|| panic!("no summary\n{stderr}"));
    assert_eq!(summary["decode_errors"], 0.0, "{summary}");
    assert!(summary["devices"].as_u64() >= Some(7), "{summary}");
    assert!(summary["mqtt_messages"].as_f64().unwrap() > 100_000.0, "{summary}");
    // The ground truth of the day, as JSON on standard output.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let days: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(days.len(), 2, "{stdout}");
    assert_eq!(days[0]["date"], "2026-06-20", "the days end on the demo's day");
    let day = &days[1];
    assert_eq!(day["date"], "2026-06-21");
    assert!(day["network_yield_wh"].as_f64().unwrap() > 1000.0, "{day}");
    assert!(day["balance_error"].as_f64().unwrap().abs() < 0.01, "{day}");
    // Everything was delivered: the outbox is empty.
    let journal = state.join("halyard/demo/outbox/mqtt-outbox.journal");
    assert_eq!(std::fs::metadata(&journal).map(|m| m.len()).unwrap_or(0), 0, "{}", journal.display());
    let _ = std::fs::remove_dir_all(&state);
}
