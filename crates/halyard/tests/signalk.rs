//! Halyard as a Signal K server, judged by Signal K's own tools: the specification's JSON
//! schemas, a WebSocket client, and the reference server (npm `signalk-server`) reading
//! Halyard's stream as a data connection (`tests/signalk/check.mjs`); the values streamed are
//! compared with what the same gateway publishes on MQTT, converted back from SI.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{free_port, Halyard, Scratch};

fn referees() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/signalk");
    let found = Command::new("sh").arg("-c").arg("command -v node").output().unwrap().status.success();
    assert!(found, "node is needed for the Signal K test (scripts/test.sh installs it)");
    assert!(
        dir.join("node_modules/signalk-server").exists() && dir.join("node_modules/@signalk/signalk-schema").exists(),
        "the Signal K referees are missing: run `npm ci` in {} (scripts/test.sh does)",
        dir.display()
    );
    dir
}

#[test]
fn the_reference_server_and_the_schemas_accept_halyards_signal_k() {
    let dir = referees();
    let _serial = support::one_at_a_time();
    let scratch = Scratch::new("signalk");
    let (web, broker, sk) = (free_port(), free_port(), free_port());
    let mut cmd = support::halyard();
    // The instruments on NMEA 2000 (a Yacht Devices gateway the demo plays): Signal K's
    // navigation comes from NMEA 2000 alone (the NMEA 0183 path feeds the same `nav` device).
    cmd.args(["demo", "--days", "1", "--nav", "n2k", "--web", &format!("127.0.0.1:{web}")])
        .args(["--broker", &format!("127.0.0.1:{broker}")])
        .env("XDG_STATE_HOME", scratch.path("state"))
        .env_remove("STATE_DIRECTORY");
    let demo = Halyard::spawn(cmd);
    assert!(demo.wait_log(Duration::from_secs(60), "signal k on"), "{}", demo.log());
    let mqtt = support::Subscriber::start(broker, None);
    let out = Command::new("node")
        .arg(dir.join("check.mjs"))
        .args([&web.to_string(), &sk.to_string(), scratch.0.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}\nhalyard:\n{}", String::from_utf8_lossy(&out.stderr), demo.log());
    let verdict: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    eprintln!("{verdict}");
    assert!(verdict["checked_units"].as_u64().unwrap() >= 10, "units checked against the specification: {verdict}");

    // What the stream said of the house bank is what MQTT said, in Halyard's units.
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * a.abs().max(1.0);
    // Everything MQTT said of a metric: its topic (live or retained, as the stream's first
    // values are the current ones) and the device's state JSON.
    let published = |metric: &str| -> Vec<f64> {
        let topic = format!("halyard/house-bank/{metric}");
        let all = mqtt.all();
        let plain = all.iter().filter(|m| m.topic == topic).filter_map(|m| m.payload.parse().ok());
        let state = all
            .iter()
            .filter(|m| m.topic == "halyard/house-bank/state")
            .filter_map(|m| serde_json::from_str::<serde_json::Value>(&m.payload).ok()?["values"][metric].as_f64());
        plain.chain(state).collect()
    };
    let mut compared = 0;
    for (path, metric, to_halyard) in [
        ("electrical.batteries.houseBank.voltage", "voltage", 1.0),
        ("electrical.batteries.houseBank.current", "current", 1.0),
        ("electrical.batteries.houseBank.capacity.stateOfCharge", "soc", 100.0),
        ("electrical.batteries.houseBank.capacity.timeRemaining", "remaining_mins", 1.0 / 60.0),
    ] {
        let published = published(metric);
        for v in verdict["streamed"][path].as_array().into_iter().flatten() {
            let v = v.as_f64().unwrap() * to_halyard;
            assert!(
                published.iter().any(|p| close(*p, v)),
                "{path} = {v} (in Halyard's unit) on the stream was never published as halyard/house-bank/{metric}: {published:?}"
            );
            compared += 1;
        }
    }
    assert!(compared >= 3, "values compared with MQTT: {compared}; {verdict}");
    drop(demo);
}
