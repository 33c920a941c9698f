//! The gateway end to end: the real binary, a real Mosquitto (and the embedded broker),
//! `mosquitto_sub` as the independent client, pseudo-terminals as VE.Direct cables, and the
//! public captures of tests/fixtures.

mod support;

use std::collections::HashMap;
use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;

fn fixture(path: &str) -> String {
    format!("{}/../halyard-proto/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn config(s: &Scratch, broker_port: u16, body: &str) -> String {
    let path = s.path("halyard.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"{}\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:{broker_port}\"\nkeep_alive_seconds = 5\n[metrics]\nlisten = \"\"\n{body}",
            s.path("data").display()
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// The text fields of the first complete, valid block of a dump, parsed here independently of
/// the decoder under test (vedirect-3.34.pdf p.5: the bytes of a block sum to 0 mod 256).
fn first_valid_block(bytes: &[u8]) -> Vec<(String, String)> {
    let mut ends = Vec::new();
    let mut at = 0;
    while let Some(p) = bytes[at..].windows(9).position(|w| w == b"Checksum\t") {
        let end = at + p + 10;
        if end <= bytes.len() {
            ends.push(end);
        }
        at = end;
    }
    for w in ends.windows(2) {
        let block = &bytes[w[0]..w[1]];
        if block.iter().fold(0u8, |a, b| a.wrapping_add(*b)) == 0 {
            let body = String::from_utf8_lossy(&block[..block.len() - 12]);
            return body
                .split("\r\n")
                .filter_map(|l| l.split_once('\t'))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        }
    }
    panic!("no valid block");
}

/// Home Assistant's MQTT sensor schema (homeassistant/components/mqtt/sensor.py PLATFORM_SCHEMA
/// with the shared entity schema of mqtt/entity.py) and the sensor rules of
/// homeassistant/components/sensor/const.py (DEVICE_CLASS_UNITS, state classes).
fn check_discovery(topic: &str, payload: &Value) {
    const KEYS: &[&str] = &[
        "name",
        "unique_id",
        "state_topic",
        "availability_topic",
        "payload_available",
        "payload_not_available",
        "device",
        "origin",
        "unit_of_measurement",
        "device_class",
        "state_class",
        "qos",
        "value_template",
        "expire_after",
        "force_update",
        "icon",
        "enabled_by_default",
        "entity_category",
        "object_id",
        "suggested_display_precision",
        "json_attributes_topic",
        "availability",
        "availability_mode",
        "encoding",
    ];
    const DEVICE_KEYS: &[&str] = &[
        "identifiers",
        "connections",
        "name",
        "manufacturer",
        "model",
        "model_id",
        "serial_number",
        "sw_version",
        "hw_version",
        "suggested_area",
        "via_device",
        "configuration_url",
    ];
    let units: HashMap<&str, &[&str]> = HashMap::from([
        ("voltage", &["V", "mV", "µV", "kV", "MV"][..]),
        ("current", &["A", "mA"][..]),
        ("power", &["W", "kW", "mW", "MW", "GW", "TW", "BTU/h"][..]),
        ("apparent_power", &["VA", "kVA", "mVA"][..]),
        ("energy", &["Wh", "kWh", "MWh", "GWh", "TWh", "mWh", "MJ", "GJ", "cal", "kcal", "Mcal", "Gcal"][..]),
        ("temperature", &["°C", "°F", "K"][..]),
        ("duration", &["d", "h", "min", "s", "ms", "µs"][..]),
        ("battery", &["%"][..]),
    ]);
    let obj = payload.as_object().unwrap_or_else(|| panic!("{topic}: not an object"));
    for k in obj.keys() {
        assert!(KEYS.contains(&k.as_str()), "{topic}: `{k}` is not an MQTT sensor option");
    }
    let levels: Vec<&str> = topic.split('/').collect();
    assert_eq!(levels.len(), 5, "{topic}: <prefix>/sensor/<node_id>/<object_id>/config");
    assert_eq!((levels[0], levels[1], levels[4]), ("homeassistant", "sensor", "config"));
    for id in [levels[2], levels[3]] {
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'), "{topic}: bad id `{id}`");
    }
    for k in ["name", "unique_id", "state_topic"] {
        assert!(obj[k].as_str().is_some_and(|s| !s.is_empty()), "{topic}: `{k}` must be a non-empty string");
    }
    // mqtt/mixins.py MQTT_AVAILABILITY_SCHEMA: `availability_topic` or an `availability` list
    // (each entry a `topic`, optional payloads), never both; mode all | any | latest.
    assert!(
        !(obj.contains_key("availability_topic") && obj.contains_key("availability")),
        "{topic}: both availabilities"
    );
    match obj.get("availability") {
        Some(list) => {
            for a in list.as_array().unwrap_or_else(|| panic!("{topic}: availability is a list")) {
                for k in a.as_object().unwrap().keys() {
                    assert!(
                        ["topic", "payload_available", "payload_not_available", "value_template"].contains(&k.as_str()),
                        "{topic}: availability.{k}"
                    );
                }
                assert!(a["topic"].as_str().is_some_and(|t| !t.is_empty() && !t.contains(['+', '#'])), "{topic}: {a}");
            }
            assert!(
                ["all", "any", "latest"].contains(&obj["availability_mode"].as_str().unwrap_or("latest")),
                "{topic}"
            );
        }
        None => assert!(obj["availability_topic"].as_str().is_some_and(|s| !s.is_empty()), "{topic}: no availability"),
    }
    assert!(!obj["state_topic"].as_str().unwrap().contains(['+', '#']), "{topic}: wildcard in state_topic");
    let device = obj["device"].as_object().unwrap();
    for k in device.keys() {
        assert!(DEVICE_KEYS.contains(&k.as_str()), "{topic}: `device.{k}` is not a device option");
    }
    assert!(device["identifiers"].as_array().is_some_and(|a| !a.is_empty()), "{topic}: device.identifiers");
    if let Some(dc) = obj.get("device_class") {
        let dc = dc.as_str().unwrap();
        let allowed = units.get(dc).unwrap_or_else(|| panic!("{topic}: unexpected device_class {dc}"));
        let unit = obj.get("unit_of_measurement").and_then(Value::as_str).unwrap_or("");
        assert!(allowed.contains(&unit), "{topic}: {dc} does not take unit `{unit}`");
    }
    if let Some(sc) = obj.get("state_class") {
        let sc = sc.as_str().unwrap();
        assert!(["measurement", "total", "total_increasing"].contains(&sc), "{topic}: state_class {sc}");
        if obj.get("device_class").and_then(Value::as_str) == Some("energy") {
            assert_ne!(sc, "measurement", "{topic}: an energy sensor cannot be a measurement");
        }
    }
    if let Some(q) = obj.get("qos") {
        assert!(q.as_u64().is_some_and(|q| q <= 2), "{topic}: qos");
    }
}

/// VE.Direct at line speed into a pseudo-terminal and a MasterBus capture replayed: the exact raw
/// topics and the named values arrive at Mosquitto; Home Assistant discovery is valid; the
/// Prometheus endpoint counts the frames.
#[test]
fn vedirect_pty_and_masterbus_replay_reach_mosquitto() {
    let _serial = one_at_a_time();
    let s = Scratch::new("mosquitto");
    let broker = Mosquitto::start(&s.0, "");
    let sub = Subscriber::start(broker.port, None);
    let tty_path = s.path("ttyVE0");
    let mut tty = Tty::open(&tty_path);
    let metrics_port = free_port();
    let cfg = config(
        &s,
        broker.port,
        &format!(
            "[[vedirect]]\nport = \"{}\"\n[[device]]\nname = \"port-arch\"\nrole = \"solar\"\nserial = \"HQ18486U2B4\"\n",
            tty_path.display()
        ),
    );
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("listen = \"\"", &format!("listen = \"127.0.0.1:{metrics_port}\"")),
    )
    .unwrap();
    let gw = Halyard::start(&["run", "-c", &cfg]);
    assert!(gw.wait_log(Duration::from_secs(10), "vedirect: reading"), "{}", gw.log());

    // A real SmartSolar's output (karioja/vedirect test data), the first 4 KiB at 19,200 baud.
    let dump = std::fs::read(fixture("vedirect/karioja_smartsolar_1.39.dump")).unwrap();
    tty.write_paced(&dump[..4096]);
    let block = first_valid_block(&dump[..4096]);
    let serial = &block.iter().find(|(k, _)| k == "SER#").unwrap().1;
    assert_eq!(serial, "HQ18486U2B4");
    let volts = &block.iter().find(|(k, _)| k == "V").unwrap().1;
    let topic = "halyard/port-arch/battery_voltage";
    assert!(sub.wait(Duration::from_secs(10), |m| m.iter().any(|m| m.topic == topic)), "{}", gw.log());
    for (label, value) in &block {
        let t = format!("vedirect/{serial}/text/{}", label.replace('#', ""));
        let got = sub.payloads(&t);
        assert_eq!(got.first(), Some(value), "{t}");
    }
    let expected_v = volts.parse::<f64>().unwrap() / 1000.0;
    assert_eq!(sub.payloads(topic)[0].parse::<f64>().unwrap(), expected_v);
    assert_eq!(sub.payloads("halyard/port-arch/kind"), Vec::<String>::new(), "kind is in the state JSON only");
    let state: Value = serde_json::from_str(&sub.payloads("halyard/port-arch/state")[0]).unwrap();
    assert_eq!((state["kind"].as_str(), state["role"].as_str()), (Some("solar_charger"), Some("solar")));
    assert_eq!(state["values"]["battery_voltage"].as_f64(), Some(expected_v));
    assert_eq!(state["units"]["battery_voltage"], "V");
    assert_eq!(sub.payloads("halyard/status").first().map(String::as_str), Some("online"));

    let metrics = http_get(metrics_port, "/metrics");
    assert!(metrics.contains("halyard_frames_total{source=\"ttyVE0\"}"), "{metrics}");
    assert!(metrics.contains("halyard_mqtt_connected 1"), "{metrics}");
    assert!(metrics.contains("halyard_source_up{source=\"ttyVE0\"} 1"), "{metrics}");
    // The boat's values too, in base units, against the block's own labels (V in mV, PPV in W).
    let label = |l: &str| block.iter().find(|(k, _)| k == l).unwrap().1.parse::<f64>().unwrap();
    let sample = |family: &str| -> Option<f64> {
        let line = metrics.lines().find(|l| l.starts_with(&format!("{family}{{device=\"port-arch\"}} ")))?;
        line.rsplit(' ').next()?.parse().ok()
    };
    assert_eq!(sample("halyard_solar_voltage_volts"), Some(label("V") / 1000.0), "{metrics}");
    assert_eq!(sample("halyard_solar_panel_power_watts"), Some(label("PPV")), "{metrics}");
    assert!(metrics.contains("# TYPE halyard_solar_panel_power_watts gauge"), "{metrics}");

    // The MasterBus capture through `halyard replay` into the same broker.
    let out = halyard()
        .args(["replay", "-c", &cfg, "--max-speed", &fixture("masterbus/volts_amps_only.pcap")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The values the decoder contract (`halyard decode masterbus`, golden file) gives for item
    // 0x0001, with repeats suppressed as the model does (same value, within the 60 s refresh).
    let golden = std::fs::read_to_string(format!(
        "{}/tests/golden/masterbus/volts_amps_only.pcap.jsonl",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut expected = Vec::new();
    // The model's clock is whole milliseconds of the capture's timestamps.
    let mut last: Option<(i64, f64)> = None;
    for line in golden.lines().filter(|l| l.starts_with('{')) {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["item"] != "0x0001" || v["device"] != "0x31297" {
            continue;
        }
        let ms = (v["ts"].as_f64().unwrap() * 1e6).round() as i64 / 1000;
        let (ts, value) = (ms, v["value"].as_f64().unwrap());
        let publish = match last {
            Some((lts, lv)) => lv != value || ts - lts >= 60_000,
            None => true,
        };
        if publish {
            expected.push(value);
            last = Some((ts, value));
        } else if let Some(l) = &mut last {
            l.1 = value;
        }
    }
    assert!(expected.len() > 100, "{}", expected.len());
    let raw_topic = "masterbus/0x31297/0x0001";
    assert!(
        sub.wait(Duration::from_secs(10), |m| m.iter().filter(|m| m.topic == raw_topic).count() >= expected.len()),
        "{summary}"
    );
    let got: Vec<f64> = sub.payloads(raw_topic).iter().map(|p| p.parse().unwrap()).collect();
    assert_eq!(got, expected);
    let named: Vec<f64> =
        sub.payloads("halyard/dc_shunt-0x31297/battery_voltage").iter().map(|p| p.parse().unwrap()).collect();
    assert_eq!(named, expected);

    // Discovery: field by field against Home Assistant's sensor schema.
    let configs: Vec<Received> = sub.all().into_iter().filter(|m| m.topic.starts_with("homeassistant/")).collect();
    assert!(configs.len() > 10, "{}", configs.len());
    for c in &configs {
        check_discovery(&c.topic, &serde_json::from_str(&c.payload).unwrap());
    }
    let bv: Value = serde_json::from_str(
        &configs
            .iter()
            .find(|c| c.topic == "homeassistant/sensor/halyard_port-arch/battery_voltage/config")
            .unwrap()
            .payload,
    )
    .unwrap();
    assert_eq!(
        (bv["device_class"].as_str(), bv["unit_of_measurement"].as_str(), bv["state_class"].as_str()),
        (Some("voltage"), Some("V"), Some("measurement"))
    );
    assert_eq!(bv["device"]["serial_number"], "HQ18486U2B4");
    assert_eq!(bv["state_topic"], "halyard/port-arch/battery_voltage");
    // Unavailable when Halyard or this device is: its own availability topic says online.
    let topics: Vec<&str> =
        bv["availability"].as_array().unwrap().iter().map(|a| a["topic"].as_str().unwrap()).collect();
    assert_eq!(topics, ["halyard/status", "halyard/port-arch/availability"]);
    assert_eq!(bv["availability_mode"], "all");
    assert_eq!(sub.payloads("halyard/port-arch/availability").last().map(String::as_str), Some("online"));
    let yield_today: Value = serde_json::from_str(
        &configs
            .iter()
            .find(|c| c.topic == "homeassistant/sensor/halyard_port-arch/yield_today/config")
            .unwrap()
            .payload,
    )
    .unwrap();
    assert_eq!(
        (yield_today["device_class"].as_str(), yield_today["state_class"].as_str()),
        (Some("energy"), Some("total_increasing"))
    );
    // One HA device per physical device: every sensor of the shunt shares its identifiers.
    let shunt: Vec<&Received> = configs.iter().filter(|c| c.topic.contains("halyard_dc_shunt-0x31297/")).collect();
    assert!(shunt.len() >= 2);
    let ids: Vec<Value> = shunt
        .iter()
        .map(|c| serde_json::from_str::<Value>(&c.payload).unwrap()["device"]["identifiers"].clone())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]));

    let log = gw.stop();
    assert!(
        sub.wait(Duration::from_secs(5), |m| m
            .iter()
            .filter(|m| m.topic == "halyard/status")
            .any(|m| m.payload == "offline")),
        "{log}"
    );
}

/// The same path through the embedded broker (rumqttd), with nothing else running.
#[test]
fn home_assistant_coming_online_gets_the_discovery_again() {
    let _serial = one_at_a_time();
    let s = Scratch::new("ha-birth");
    let broker = Mosquitto::start(&s.0, "");
    let sub = Subscriber::start(broker.port, None);
    let tty_path = s.path("ttyVE0");
    let mut tty = Tty::open(&tty_path);
    let cfg = config(
        &s,
        broker.port,
        &format!(
            "[[vedirect]]\nport = \"{}\"\n[[device]]\nname = \"bimini\"\nrole = \"solar\"\nserial = \"HQ2232BIMI3\"\n",
            tty_path.display()
        ),
    );
    let gw = Halyard::start(&["run", "-c", &cfg]);
    assert!(gw.wait_log(Duration::from_secs(10), "vedirect: reading"), "{}", gw.log());
    tty.master.write_all(&support::mppt_block("HQ2232BIMI3", 13_250, 212)).unwrap();
    let configs = |m: &[support::Received]| {
        m.iter()
            .filter(|m| m.topic.starts_with("homeassistant/sensor/halyard_bimini/") && m.topic.ends_with("/config"))
            .count()
    };
    assert!(sub.wait(Duration::from_secs(10), |m| configs(m) >= 5), "{}", gw.log());
    std::thread::sleep(Duration::from_millis(500));
    let first = configs(&sub.all());
    // Home Assistant's birth message (as it publishes it on starting, not retained).
    let out = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &broker.port.to_string(), "-t", "homeassistant/status", "-m", "online"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        sub.wait(Duration::from_secs(10), |m| configs(m) >= 2 * first),
        "{} then {}\n{}",
        first,
        configs(&sub.all()),
        gw.log()
    );
    // Its last will ("offline") sends nothing.
    let before = configs(&sub.all());
    let _ = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &broker.port.to_string(), "-t", "homeassistant/status", "-m", "offline"])
        .output();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(configs(&sub.all()), before);
}

#[test]
fn embedded_broker_carries_the_same_topics() {
    let _serial = one_at_a_time();
    let s = Scratch::new("embedded");
    let port = free_port();
    let tty_path = s.path("ttyVE1");
    let mut tty = Tty::open(&tty_path);
    let cfg = s.path("halyard.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\n[mqtt]\nmdns = false\n[broker]\nlisten = \"127.0.0.1:{port}\"\n[metrics]\nlisten = \"\"\n[[vedirect]]\nport = \"{}\"\n",
            s.path("data").display(),
            tty_path.display()
        ),
    )
    .unwrap();
    let gw = Halyard::start(&["run", "-c", cfg.to_str().unwrap()]);
    assert!(gw.wait_log(Duration::from_secs(10), "mqtt: connected"), "{}", gw.log());
    let sub = Subscriber::start(port, None);
    for i in 0..5 {
        tty.write_paced(&mppt_block("HQ2213ABCDE", 13_000 + i * 10, 100 + i));
    }
    let topic = "halyard/solar_charger-HQ2213ABCDE/battery_voltage";
    assert!(sub.wait(Duration::from_secs(10), |m| m.iter().filter(|m| m.topic == topic).count() >= 5), "{}", gw.log());
    assert_eq!(sub.payloads(topic), ["13", "13.01", "13.02", "13.03", "13.04"]);
    assert_eq!(sub.payloads("vedirect/HQ2213ABCDE/text/V"), ["13000", "13010", "13020", "13030", "13040"]);
    let share = sub.payloads("halyard/solar/network/share/solar_charger-HQ2213ABCDE");
    assert_eq!(share.first().map(String::as_str), Some("100"));
    // Retained: a late subscriber still learns the gateway is online.
    let late = Subscriber::start(port, None);
    assert!(
        late.wait(Duration::from_secs(5), |m| m.iter().any(|m| m.topic == "halyard/status" && m.payload == "online"))
    );
    gw.stop();
}

/// Stop Mosquitto mid-stream and start it again: every reading arrives exactly once.
#[test]
fn broker_outage_loses_nothing_and_duplicates_nothing() {
    let _serial = one_at_a_time();
    let s = Scratch::new("outage");
    let mut broker = Mosquitto::start(&s.0, "");
    let sub = Subscriber::start(broker.port, Some("outage-checker"));
    let tty_path = s.path("ttyVE2");
    let mut tty = Tty::open(&tty_path);
    let cfg = config(&s, broker.port, &format!("[[vedirect]]\nport = \"{}\"\n", tty_path.display()));
    let gw = Halyard::start(&["run", "-c", &cfg]);
    assert!(gw.wait_log(Duration::from_secs(10), "mqtt: connected"), "{}", gw.log());
    let n = 60u32;
    for i in 0..n {
        if i == 20 {
            broker.stop();
        }
        if i == 40 {
            broker.restart();
        }
        tty.write_paced(&mppt_block("HQ2213OUTAG", 12_000 + i, 50));
        std::thread::sleep(Duration::from_millis(60));
    }
    let topic = "vedirect/HQ2213OUTAG/text/V";
    let named = "halyard/solar_charger-HQ2213OUTAG/battery_voltage";
    let complete = sub.wait(Duration::from_secs(30), |m| m.iter().filter(|m| m.topic == named).count() >= n as usize);
    // A little longer, so that a duplicate would have time to show.
    std::thread::sleep(Duration::from_secs(1));
    let log = gw.stop();
    assert!(complete, "{log}");
    let expected: Vec<String> = (0..n).map(|i| (12_000 + i).to_string()).collect();
    assert_eq!(sub.payloads(topic), expected, "{log}");
    let expected_named: Vec<String> = (0..n).map(|i| format!("{}", f64::from(12_000 + i) / 1000.0)).collect();
    assert_eq!(sub.payloads(named), expected_named);
    assert!(log.contains("connection to") && log.contains("lost"), "{log}");
}

/// A broker away long enough for the reconnect delay to reach its 30 s ceiling is used again
/// within a couple of seconds of its return (the port is watched while waiting), and what was
/// read meanwhile arrives.
#[test]
fn a_returning_broker_is_used_within_two_seconds() {
    let _serial = one_at_a_time();
    let s = Scratch::new("return");
    let mut broker = Mosquitto::start(&s.0, "");
    let tty_path = s.path("ttyVE3");
    let mut tty = Tty::open(&tty_path);
    let cfg = config(&s, broker.port, &format!("[[vedirect]]\nport = \"{}\"\n", tty_path.display()));
    let gw = Halyard::start(&["run", "-c", &cfg]);
    assert!(gw.wait_log(Duration::from_secs(10), "mqtt: connected"), "{}", gw.log());
    broker.stop();
    // 0.25 + 0.5 + 1 + 2 + 4 + 8 + 16 s of failed attempts: the next delay is the 30 s ceiling.
    let away = Instant::now();
    let mut i = 0;
    while away.elapsed() < Duration::from_secs(40) {
        tty.write_paced(&mppt_block("HQ2213RETRN", 12_000 + i, 50));
        i += 1;
        std::thread::sleep(Duration::from_millis(500));
    }
    broker.restart();
    let back = Instant::now();
    let connects = || gw.log().matches("mqtt: connected").count();
    while connects() < 2 && back.elapsed() < Duration::from_secs(40) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = back.elapsed();
    eprintln!("reconnected {took:?} after the broker's port opened (outage 40 s)");
    let sub = Subscriber::start(broker.port, None);
    let named = "halyard/solar_charger-HQ2213RETRN/battery_voltage";
    let last = format!("{}", f64::from(12_000 + i - 1) / 1000.0);
    let delivered = sub.wait(Duration::from_secs(10), |m| m.iter().any(|m| m.topic == named && m.payload == last));
    let log = gw.stop();
    assert!(took < Duration::from_secs(2), "reconnected only after {took:?}\n{log}");
    assert!(log.contains("accepting connections again"), "{log}");
    assert!(delivered, "the reading taken during the outage (retained {named} = {last}) did not arrive\n{log}");
}

/// Close and reopen one pseudo-terminal: that port resumes within 2 s, the other never pauses.
#[test]
fn unplugged_port_resumes_and_the_others_do_not_pause() {
    let _serial = one_at_a_time();
    let s = Scratch::new("unplug");
    let broker = Mosquitto::start(&s.0, "");
    let sub = Subscriber::start(broker.port, None);
    let (a_path, b_path) = (s.path("ttyA"), s.path("ttyB"));
    let mut a = Some(Tty::open(&a_path));
    let mut b = Tty::open(&b_path);
    let cfg = config(
        &s,
        broker.port,
        &format!("[[vedirect]]\nport = \"{}\"\n[[vedirect]]\nport = \"{}\"\n", a_path.display(), b_path.display()),
    );
    let gw = Halyard::start(&["run", "-c", &cfg]);
    assert!(gw.wait_log(Duration::from_secs(10), "mqtt: connected"), "{}", gw.log());
    let started = Instant::now();
    let mut replugged_at = None;
    let mut i = 0u32;
    while started.elapsed() < Duration::from_secs(8) {
        let t = started.elapsed();
        if t > Duration::from_secs(2) && t < Duration::from_secs(4) {
            a = None; // unplugged
        } else if a.is_none() {
            a = Some(Tty::open(&a_path));
            replugged_at = Some(Instant::now());
        }
        if let Some(a) = &mut a {
            a.write_paced(&mppt_block("HQ2213AAAAA", 12_000 + i, 10));
        }
        b.write_paced(&mppt_block("HQ2213BBBBB", 12_000 + i, 10));
        i += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let log = gw.stop();
    let replugged_at = replugged_at.expect("replugged");
    let msgs = sub.all();
    let a_after: Vec<&Received> =
        msgs.iter().filter(|m| m.topic == "vedirect/HQ2213AAAAA/text/V" && m.at > replugged_at).collect();
    assert!(!a_after.is_empty(), "port A never resumed\n{log}");
    let resumed = a_after[0].at.duration_since(replugged_at);
    assert!(resumed < Duration::from_secs(2), "port A resumed after {resumed:?}\n{log}");
    let b_times: Vec<Instant> =
        msgs.iter().filter(|m| m.topic == "vedirect/HQ2213BBBBB/text/V").map(|m| m.at).collect();
    let longest_gap = b_times.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(b_times.len() > 40, "{}", b_times.len());
    assert!(longest_gap < Duration::from_millis(1000), "port B paused for {longest_gap:?}");
    eprintln!("port A resumed {resumed:?} after replug; port B's longest gap {longest_gap:?}");
}

/// Victron BLE adverts through a recording (the BLE source's replay form): the right key decodes,
/// a wrong key and an unconfigured device are counted and named in the log, VE.Smart networking
/// gives its raw register topics.
#[test]
fn ble_recording_replays_with_keys_checked() {
    let _serial = one_at_a_time();
    let s = Scratch::new("ble");
    let broker = Mosquitto::start(&s.0, "");
    let sub = Subscriber::start(broker.port, None);
    let rec = s.path("boat.hrec");
    // keshavdv/victron-ble's SmartSolar capture and the synthetic VE.Smart vectors (fixtures).
    std::fs::write(
        &rec,
        "# halyard recording 1\n\
         1700000000.000 ble C0:3B:00:00:00:01 100242a0016207adceb37b605d7e0ee21b24df5c\n\
         1700000000.100 ble C0:3B:00:00:00:02 100242a0016207adceb37b605d7e0ee21b24df5c\n\
         1700000000.200 ble C0:3B:00:00:00:03 100242a0016207adceb37b605d7e0ee21b24df5c\n\
         1700000000.300 ble C0:3B:00:00:00:04 e1020101ec259a992a00000003008038e61f\n\
         1700000000.400 ble C0:3B:00:00:00:04 e1020201ec259a992b0000005ab92d06c7f403f2f7c24507684adf73\n\
         this line is not a record\n",
    )
    .unwrap();
    let cfg = config(
        &s,
        broker.port,
        "[venetworking]\nnetwork_id = \"010A\"\nkey = \"000102030405060708090a0b0c0d0e0f\"\n\
         [[device]]\nname = \"port-arch\"\nmac = \"C0:3B:00:00:00:01\"\nkey = \"adeccb947395801a4dd45a2eaa44bf17\"\n\
         [[device]]\nname = \"stbd-arch\"\nmac = \"C0:3B:00:00:00:02\"\nkey = \"bdeccb947395801a4dd45a2eaa44bf17\"\n",
    );
    let out = halyard().args(["replay", "-c", &cfg, "--max-speed", rec.to_str().unwrap()]).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["bad_records"], 1, "{summary}");
    assert!(sub.wait(Duration::from_secs(5), |m| m.iter().any(|m| m.topic == "venetworking/HQyywwMAEI4/2027")));
    assert_eq!(sub.payloads("halyard/port-arch/battery_voltage"), ["13.88"]);
    assert_eq!(sub.payloads("halyard/port-arch/solar_power"), ["19"]);
    assert_eq!(sub.payloads("halyard/port-arch/charge_state_name"), ["absorption"]);
    assert_eq!(sub.payloads("venetworking/HQyywwMAEI4/2027"), ["123456"]);
    assert_eq!(sub.payloads("venetworking/HQyywwMAEI4/200C"), ["5"]);
    assert_eq!(sub.payloads("victron/c03b00000001/raw").len(), 1);
    assert!(sub.payloads("halyard/stbd-arch/battery_voltage").is_empty(), "a wrong key decodes nothing");
    assert!(log.contains("C0:3B:00:00:00:02") && log.contains("key"), "{log}");
    assert!(log.contains("C0:3B:00:00:00:03") && log.contains("add its Instant Readout key"), "{log}");
    assert!(
        !log.contains("bdeccb") && !log.contains("adeccb") && !log.contains("0001020304"),
        "keys in the log\n{log}"
    );
    for m in sub.all() {
        assert!(!m.payload.contains("adeccb947395801a"), "a key on MQTT: {}", m.topic);
    }
}

/// Bad input keeps the rest running: a port that does not exist, and a broker that refuses the
/// credentials; a malformed configuration is refused with its line and key.
#[test]
fn bad_input_is_reported_and_the_rest_keeps_running() {
    let _serial = one_at_a_time();
    let s = Scratch::new("bad");
    let passwords = s.path("passwords");
    let out = std::process::Command::new("mosquitto_passwd")
        .args(["-c", "-b", passwords.to_str().unwrap(), "boat", "right-password"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&passwords, std::fs::Permissions::from_mode(0o644)).unwrap();
    let broker = Mosquitto::start(&s.0, &format!("allow_anonymous false\npassword_file {}\n", passwords.display()));
    let tty_path = s.path("ttyOK");
    let mut tty = Tty::open(&tty_path);
    let metrics_port = free_port();
    let cfg = config(
        &s,
        broker.port,
        &format!(
            "[[vedirect]]\nport = \"/dev/halyard-no-such-port\"\n[[vedirect]]\nport = \"{}\"\n",
            tty_path.display()
        ),
    );
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("keep_alive_seconds = 5", "keep_alive_seconds = 5\nusername = \"boat\"\npassword = \"wrong-password\"")
        .replace("listen = \"\"", &format!("listen = \"127.0.0.1:{metrics_port}\""));
    std::fs::write(&cfg, text).unwrap();
    let mut gw = Halyard::start(&["run", "-c", &cfg]);
    for _ in 0..10 {
        tty.write_paced(&mppt_block("HQ2213GOODP", 12_500, 10));
    }
    assert!(gw.wait_log(Duration::from_secs(10), "refused the credentials"), "{}", gw.log());
    assert!(gw.wait_log(Duration::from_secs(5), "/dev/halyard-no-such-port: cannot open"), "{}", gw.log());
    assert!(gw.is_running());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut metrics = http_get(metrics_port, "/metrics");
    while !metrics.contains("halyard_frames_total{source=\"ttyOK\"} 10\n") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        metrics = http_get(metrics_port, "/metrics");
    }
    assert!(metrics.contains("halyard_frames_total{source=\"ttyOK\"} 10\n"), "{metrics}");
    assert!(metrics.contains("halyard_mqtt_outbox_depth"), "{metrics}");
    let log = gw.stop();
    assert!(!log.contains("wrong-password"), "{log}");

    // A malformed value: exit status 1 and `file:line:column: key …`.
    let bad = s.path("bad.toml");
    std::fs::write(&bad, "[mqtt]\nqos = 1\n\n[[vedirect]]\nport = \"/dev/ttyUSB0\"\npoll = [\"0xEDBC\", \"power\"]\n")
        .unwrap();
    let out = halyard().args(["run", "-c", bad.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("bad.toml:6:") && err.contains("vedirect[0].poll") && err.contains("`power`"), "{err}");
}

/// `mqtts://` (feature `tls`) to a Mosquitto TLS listener whose certificate is signed by a CA
/// given in `mqtt.ca_file`; the host name is verified.
#[cfg(feature = "tls")]
#[test]
fn tls_to_mosquitto_with_a_private_ca() {
    let _serial = one_at_a_time();
    let s = Scratch::new("tls");
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl").args(args).current_dir(&s.0).output().expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=halyard test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(s.path("san.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
    ]);
    use std::os::unix::fs::PermissionsExt;
    for f in ["ca.crt", "server.crt", "server.key"] {
        std::fs::set_permissions(s.path(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let broker = Mosquitto::start(
        &s.0,
        &format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            s.path("ca.crt").display(),
            s.path("server.crt").display(),
            s.path("server.key").display()
        ),
    );
    let ca = s.path("ca.crt").display().to_string();
    let sub = Subscriber::start_with(broker.port, None, &["--cafile", &ca]);
    let tty_path = s.path("ttyTLS");
    let mut tty = Tty::open(&tty_path);
    let cfg = config(&s, broker.port, &format!("[[vedirect]]\nport = \"{}\"\n", tty_path.display()));
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(&format!("mqtt://127.0.0.1:{}", broker.port), &format!("mqtts://localhost:{}", broker.port))
        .replace("keep_alive_seconds = 5", &format!("keep_alive_seconds = 5\nca_file = \"{ca}\""));
    std::fs::write(&cfg, text).unwrap();
    let gw = Halyard::start(&["run", "-c", &cfg]);
    assert!(gw.wait_log(Duration::from_secs(10), "mqtt: connected to mqtts://localhost"), "{}", gw.log());
    tty.write_paced(&mppt_block("HQ2213TLSOK", 12_345, 10));
    let topic = "halyard/solar_charger-HQ2213TLSOK/battery_voltage";
    assert!(sub.wait(Duration::from_secs(10), |m| m.iter().any(|m| m.topic == topic)), "{}", gw.log());
    assert_eq!(sub.payloads(topic), ["12.345"]);
    gw.stop();

    // A CA that did not sign the broker's certificate: refused, and said so.
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "other.key",
        "-out",
        "other.crt",
        "-days",
        "2",
        "-subj",
        "/CN=other CA",
    ]);
    let text = std::fs::read_to_string(&cfg).unwrap().replace("ca.crt", "other.crt");
    std::fs::write(&cfg, text).unwrap();
    let gw = Halyard::start(&["run", "-c", &cfg]);
    assert!(gw.wait_log(Duration::from_secs(10), "cannot connect to mqtts://localhost"), "{}", gw.log());
    let log = gw.stop();
    assert!(log.to_lowercase().contains("certificate"), "{log}");
}

/// An `[[alarm]]` and the built-in silence alarm, live: retained states on MQTT (off from the
/// start, on after the condition, off only past the clearing threshold), Home Assistant
/// discovery as binary sensors.
#[test]
fn alarms_are_raised_and_cleared_on_mqtt() {
    let _serial = one_at_a_time();
    let s = Scratch::new("alarms");
    let broker = Mosquitto::start(&s.0, "");
    let sub = Subscriber::start(broker.port, None);
    let tty_path = s.path("ttyALARM");
    let mut tty = Tty::open(&tty_path);
    let cfg = config(
        &s,
        broker.port,
        &format!(
            "[[vedirect]]\nport = \"{}\"\n[[device]]\nname = \"bimini\"\nserial = \"HQ2213ALARM\"\n\
             [[alarm]]\nname = \"low-volts\"\nwhen = \"bimini.battery_voltage < 12\"\nclear = \"> 12.5\"\n\
             [alarms]\nsilent_after = \"4s\"\n",
            tty_path.display()
        ),
    );
    let gw = Halyard::start(&["run", "-c", &cfg]);
    assert!(gw.wait_log(Duration::from_secs(10), "mqtt: connected"), "{}", gw.log());
    let state = |m: &Received| serde_json::from_str::<serde_json::Value>(&m.payload).ok();
    let states = |topic: &str| -> Vec<String> {
        sub.all()
            .iter()
            .filter(|m| m.topic == topic)
            .filter_map(|m| state(m).and_then(|v| v["state"].as_str().map(str::to_owned)))
            .collect()
    };
    let seen = |topic: &'static str, n: usize| {
        sub.wait(Duration::from_secs(10), |m| m.iter().filter(|m| m.topic == topic).count() >= n)
    };
    assert!(seen("halyard/alarm/low-volts", 1), "{}", gw.log());
    assert_eq!(states("halyard/alarm/low-volts"), ["normal"]);
    let discovery = sub.wait(Duration::from_secs(5), |m| {
        m.iter().any(|m| m.topic == "homeassistant/binary_sensor/halyard_alarm_low-volts/config")
    });
    assert!(discovery);

    let send = |tty: &mut Tty, mvs: &[u32]| {
        for mv in mvs {
            tty.write_paced(&mppt_block("HQ2213ALARM", *mv, 50));
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    send(&mut tty, &[12_600, 11_800]);
    assert!(seen("halyard/alarm/low-volts", 2), "{}", gw.log());
    // Acknowledged over MQTT: still active, said so.
    let ack = std::process::Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &broker.port.to_string(), "-t", "halyard/alarm/low-volts/ack", "-m", "ok"])
        .status()
        .unwrap();
    assert!(ack.success());
    assert!(seen("halyard/alarm/low-volts", 3), "{}", gw.log());
    let acked = sub.all().into_iter().filter(|m| m.topic == "halyard/alarm/low-volts").nth(2).unwrap();
    assert_eq!(state(&acked).unwrap()["acknowledged"], true, "{}", acked.payload);
    send(&mut tty, &[12_300, 12_400, 12_700]);
    assert!(seen("halyard/alarm/low-volts", 4), "{}", gw.log());
    std::thread::sleep(Duration::from_millis(500));
    // 12.3 and 12.4 V are above 12 but not above 12.5: still active.
    assert_eq!(states("halyard/alarm/low-volts"), ["normal", "active", "active", "normal"], "{}", gw.log());
    let raised =
        sub.all().into_iter().find(|m| m.topic == "halyard/alarm/low-volts" && m.payload.contains("active")).unwrap();
    let v = state(&raised).unwrap();
    assert_eq!((v["device"].as_str(), v["value"].as_f64()), (Some("bimini"), Some(11.8)), "{v}");

    // Silence: nothing for 5 s, then a block again.
    assert!(seen("halyard/alarm/bimini-silent", 1), "{}", gw.log());
    tty.write_paced(&mppt_block("HQ2213ALARM", 12_800, 50));
    assert!(seen("halyard/alarm/bimini-silent", 2), "{}", gw.log());
    let log = gw.stop();
    assert_eq!(states("halyard/alarm/bimini-silent"), ["active", "normal"], "{log}");
    assert!(log.contains("alarm low-volts (alarm): bimini.battery_voltage < 12"), "{log}");
    assert!(sub.all().iter().any(|m| m.topic == "homeassistant/binary_sensor/halyard_alarm_bimini-silent/config"));
}

/// Rules that cannot work are refused before anything runs, naming the place or the rule.
#[test]
fn bad_alarm_rules_are_refused_by_check() {
    let s = Scratch::new("alarm-check");
    let check = |body: &str| {
        let path = s.path("bad.toml");
        std::fs::write(&path, format!("[[device]]\nname = \"bank\"\nserial = \"HQ2213BANKS\"\n{body}")).unwrap();
        let out = halyard().args(["run", "--check", "-c", path.to_str().unwrap()]).output().unwrap();
        assert!(!out.status.success(), "{body} was accepted");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = check("[[alarm]]\nname = \"x\"\nwhen = \"bank.voltage < twelve\"\n");
    assert!(e.contains("bad.toml:6:8: key `alarm[0].when`") && e.contains("`twelve` is not a number"), "{e}");
    let e = check("[[alarm]]\nname = \"x\"\nwhen = \"bank.voltage < 12\"\nfor = \"soon\"\n");
    assert!(e.contains("bad.toml:7:") && e.contains("duration"), "{e}");
    let e = check("[[alarm]]\nname = \"x\"\nwhen = \"house.voltage < 12\"\n");
    assert!(e.contains("no [[device]] is named `house`") && e.contains("bank"), "{e}");
    let e = check("[[alarm]]\nname = \"Low Volts\"\nwhen = \"bank.voltage < 12\"\n");
    assert!(e.contains("MQTT topics"), "{e}");
}

/// The lifetime energy counters (for Home Assistant's Energy dashboard) over two simulated days
/// against the simulator's own energy balance: each MPPT's lifetime yield is the sum of its
/// daily yields, the water heater's energy the dump load's, and the battery's energy in minus
/// out what it stored plus what it turned into heat. Their discovery configs are
/// `total_increasing` energy sensors, and no published value ever goes down.
#[test]
fn lifetime_counters_match_the_simulated_energy() {
    let _serial = one_at_a_time();
    let s = Scratch::new("lifetime");
    let sim = s.path("sim");
    let out =
        halyard().args(["sim", "--days", "2", "--period", "60", "--seed", "5", "--out"]).arg(&sim).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cfg = sim.join("halyard.toml");
    let out = halyard()
        .args(["replay", "-c", cfg.to_str().unwrap(), "--max-speed", "--print"])
        .arg(sim.join("boat.hrec"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut last: std::collections::BTreeMap<String, f64> = Default::default();
    let mut configs = Vec::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let Some((topic, payload)) = line.split_once(' ') else { continue };
        if topic.starts_with("halyard/") && topic.contains("/lifetime_") && !topic.starts_with("halyard/stats/") {
            let v: f64 = payload.parse().unwrap();
            let before = last.insert(topic.to_owned(), v);
            assert!(before.is_none_or(|b| b <= v), "{topic} went down: {before:?} then {v}");
        }
        if topic.starts_with("homeassistant/") && topic.contains("/lifetime_") {
            configs.push(serde_json::from_str::<Value>(payload).unwrap());
        }
    }
    let truth: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(sim.join("truth.json")).unwrap()).unwrap();
    let sum = |f: &dyn Fn(&Value) -> f64| truth.iter().map(f).sum::<f64>() / 1000.0;
    let near = |what: &str, got: f64, want: f64, tol: f64| {
        assert!((got - want).abs() <= tol, "{what}: {got} kWh, the simulator says {want:.4}");
    };
    for mppt in ["port-arch", "stbd-arch", "bimini", "pushpit"] {
        // Each day's yield_today is read at 0.01 kWh.
        near(
            mppt,
            last[&format!("halyard/{mppt}/lifetime_yield")],
            sum(&|d| d["yield_wh"][mppt].as_f64().unwrap()),
            0.02,
        );
    }
    let dump = sum(&|d| d["dump_load_wh"].as_f64().unwrap());
    near("water-heater", last["halyard/water-heater/lifetime_energy"], dump, 0.01 * dump);
    let net = sum(&|d| d["stored_wh"].as_f64().unwrap() + d["battery_heat_wh"].as_f64().unwrap());
    let bank = last["halyard/house-bank/lifetime_charged"] - last["halyard/house-bank/lifetime_discharged"];
    near("house-bank in - out", bank, net, 0.02 * net.abs() + 0.01);
    let out_of = sum(&|d| d["battery_consumption_wh"].as_f64().unwrap());
    near("house-bank out", last["halyard/house-bank/lifetime_discharged"], out_of, 0.05 * out_of + 0.01);
    assert!(configs.len() >= 7, "{configs:?}");
    for c in &configs {
        assert_eq!(
            (c["device_class"].as_str(), c["state_class"].as_str()),
            (Some("energy"), Some("total_increasing")),
            "{c}"
        );
        assert_eq!(c["unit_of_measurement"], "kWh");
    }
}
