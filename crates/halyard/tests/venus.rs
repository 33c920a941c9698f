//! A Victron GX read through its MQTT: a real Mosquitto stands in for the GX's broker and a
//! stand-in GX behaves as dbus-flashmq does (marine.md §1.6): it keeps `N/<portal>/system/0/Serial`
//! retained, answers `R/<portal>/keepalive` with every topic of `fixtures/venus/cerbo.topics`
//! and `full_publish_completed` (unless the keep-alive says `suppress-republish`), and sends
//! changes while kept alive. Halyard publishes on its own broker, a second Mosquitto.
//!
//! Checked: the portal is found without configuration; the values arrive in Halyard's units and
//! names; a SmartShunt configured with `mac` and `serial` is one device whether heard over
//! Bluetooth (through a node's proxy topic, a real advert with its key) or through the GX; a
//! tank is named by `gx = "tank/20"`; garbage is counted; a broker restart is survived with a
//! new full publish; the keep-alive repeats with `suppress-republish`; and Halyard publishes
//! nothing on the GX but its keep-alives — never a `W/` write.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

mod support;
use support::{Halyard, Mosquitto, Scratch, Subscriber};

const PORTAL: &str = "c0847dba509e";
/// keshavdv/victron-ble tests/test_battery_monitor.py: a real SmartShunt 500A advert and key
/// (also shared/data/victron-ble/vectors.json): 12.53 V, 50 %, −50 Ah, aux input disabled.
const SHUNT_KEY: &str = "aff4d0995b7d1e176c0c33ecb9e70dcd";
const SHUNT_ADVERT: &str = "100289a302b040af925d09a4d89aa0128bdef48c6298a9";
const SHUNT_MAC: &str = "c03b0a0b0c0d";

/// The stand-in GX: what it was asked, and a switch to stop it.
struct FakeGx {
    keepalives: Arc<Mutex<Vec<(Instant, String)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeGx {
    fn start(port: u16, dump: Vec<(String, String)>) -> FakeGx {
        let keepalives = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (asked, stopped) = (keepalives.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut o = MqttOptions::new("fake-gx", "127.0.0.1", port);
            o.set_keep_alive(Duration::from_secs(5));
            let (client, mut connection) = Client::new(o, 512);
            let mut alive_until = Instant::now();
            let mut next_change = Instant::now();
            let mut volts = 12.70;
            while !stopped.load(Ordering::Relaxed) {
                match connection.recv_timeout(Duration::from_millis(100)) {
                    Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                        client.try_subscribe(format!("R/{PORTAL}/#"), QoS::AtMostOnce).unwrap();
                        let serial = format!(r#"{{"value": "{PORTAL}"}}"#);
                        client
                            .try_publish(format!("N/{PORTAL}/system/0/Serial"), QoS::AtLeastOnce, true, serial)
                            .unwrap();
                    }
                    Ok(Ok(Event::Incoming(Packet::Publish(p)))) if p.topic == format!("R/{PORTAL}/keepalive") => {
                        let payload = String::from_utf8_lossy(&p.payload).into_owned();
                        asked.lock().unwrap().push((Instant::now(), payload.clone()));
                        alive_until = Instant::now() + Duration::from_secs(60);
                        if !payload.contains("suppress-republish") {
                            for (topic, payload) in &dump {
                                client.try_publish(topic.as_str(), QoS::AtMostOnce, false, payload.as_str()).unwrap();
                            }
                        }
                    }
                    Ok(Err(_)) => std::thread::sleep(Duration::from_millis(200)),
                    _ => {}
                }
                // While kept alive, the house bank's voltage changes once a second.
                if Instant::now() < alive_until && Instant::now() >= next_change {
                    next_change = Instant::now() + Duration::from_secs(1);
                    volts = if volts > 12.705 { 12.70 } else { 12.71 };
                    let _ = client.try_publish(
                        format!("N/{PORTAL}/battery/279/Dc/0/Power"),
                        QoS::AtMostOnce,
                        false,
                        format!(r#"{{"value": {}}}"#, -4.2 * volts),
                    );
                }
            }
        });
        FakeGx { keepalives, stop, thread: Some(thread) }
    }

    fn keepalives(&self) -> Vec<(Instant, String)> {
        self.keepalives.lock().unwrap().clone()
    }
}

impl Drop for FakeGx {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn dump() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/venus/cerbo.topics")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (t, p) = l.split_once(' ').unwrap();
            (t.to_owned(), p.to_owned())
        })
        .collect()
}

fn latest(sub: &Subscriber) -> BTreeMap<String, String> {
    sub.all().into_iter().map(|r| (r.topic, r.payload)).collect()
}

#[test]
fn a_gx_is_read_through_its_mqtt_and_never_written() {
    let _serial = support::one_at_a_time();
    let s = Scratch::new("venus");
    std::fs::create_dir_all(s.path("gx")).unwrap();
    std::fs::create_dir_all(s.path("boat")).unwrap();
    let mut gx_broker = Mosquitto::start(&s.path("gx"), "");
    let boat_broker = Mosquitto::start(&s.path("boat"), "");
    let on_gx = Subscriber::start(gx_broker.port, None);
    let sub = Subscriber::start(boat_broker.port, None);
    let gx = FakeGx::start(gx_broker.port, dump());
    let metrics = support::free_port();
    std::fs::write(
        s.path("halyard.toml"),
        format!(
            r#"data_dir = "{data}"
[store]
enabled = false
[mqtt]
url = "mqtt://127.0.0.1:{boat}"
mdns = false
[web]
listen = ""
[metrics]
listen = "127.0.0.1:{metrics}"
[mqtt_in]
topics = ["victron/+/advert"]

[[venus]]
host = "127.0.0.1"
port = {gx}

[[device]]
name = "house-bank"
role = "battery"
mac = "{SHUNT_MAC}"
serial = "HQ2031ABCDE"
key = "{SHUNT_KEY}"

[[device]]
name = "fresh-water"
gx = "tank/20"
"#,
            data = s.path("data").display(),
            boat = boat_broker.port,
            gx = gx_broker.port,
        ),
    )
    .unwrap();
    let run = Halyard::start(&["run", "-c", s.path("halyard.toml").to_str().unwrap()]);
    let online = |m: &[support::Received]| m.iter().any(|r| r.topic == "halyard/status" && r.payload == "online");
    assert!(sub.wait(Duration::from_secs(20), online), "{}", run.log());

    // The SmartShunt's own advert, as a node without keys passes it on: again every half
    // second, as the shunt advertises (Halyard subscribes to its in-topics after announcing
    // itself online, so a single message could come before the subscription).
    let advertising = Arc::new(AtomicBool::new(true));
    let shunt = {
        let advertising = advertising.clone();
        let port = boat_broker.port.to_string();
        std::thread::spawn(move || {
            while advertising.load(Ordering::Relaxed) {
                let advert = std::process::Command::new("mosquitto_pub")
                    .args(["-h", "127.0.0.1", "-p", &port, "-q", "1"])
                    .args(["-t", &format!("victron/{SHUNT_MAC}/advert"), "-m", SHUNT_ADVERT])
                    .output()
                    .unwrap();
                assert!(advert.status.success(), "{}", String::from_utf8_lossy(&advert.stderr));
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };

    // What the GX's values are in Halyard's units (D-Bus documentation: TimeToGo in seconds,
    // tank volumes in m³), under the configured names or the GX's service and instance.
    let expected = [
        ("halyard/house-bank/remaining_mins", "345"),
        ("halyard/house-bank/starter_voltage", "12.9"),
        ("halyard/house-bank/charge_cycles", "42"),
        ("halyard/fresh-water/level", "62.5"),
        ("halyard/fresh-water/remaining", "125"),
        ("halyard/fresh-water/capacity", "200"),
        ("halyard/fresh-water/fluid_type_name", "fresh_water"),
        ("halyard/fresh-water/custom_name", "Fresh water"),
        ("halyard/temperature-24/temperature", "4.5"),
        ("halyard/temperature-24/temperature_type_name", "fridge"),
        ("halyard/solar_charger-HQ2142XYZ12/solar_power", "111"),
        ("halyard/solar_charger-HQ2142XYZ12/yield_today", "0.42"),
        ("halyard/solar_charger-HQ2142XYZ12/charge_state_name", "bulk"),
        ("halyard/solar_charger-HQ2142XYZ12/tracker_mode_name", "mppt_active"),
        ("halyard/vebus-276/device_state_name", "inverting"),
        ("halyard/vebus-276/device_mode_name", "on"),
        ("halyard/vebus-276/active_ac_input_name", "not_connected"),
        ("halyard/vebus-276/ac_out_voltage", "230.1"),
        ("halyard/gx/soc", "87.5"),
        ("halyard/gx/battery_voltage", "12.71"),
        // From the advert only: the same device.
        ("halyard/house-bank/aux_mode_name", "disabled"),
    ];
    let all_there = |m: &[support::Received]| {
        expected.iter().all(|(t, p)| m.iter().rev().find(|r| r.topic == *t).is_some_and(|r| r.payload == *p))
    };
    let ok = sub.wait(Duration::from_secs(30), all_there);
    let got = latest(&sub);
    let wrong: Vec<_> = expected
        .iter()
        .filter(|(t, p)| got.get(*t).map(String::as_str) != Some(*p))
        .map(|(t, p)| format!("{t}: {:?} instead of {p:?}", got.get(*t)))
        .collect();
    advertising.store(false, Ordering::Relaxed);
    shunt.join().unwrap();
    assert!(ok, "not as expected: {wrong:?}\n{}", run.log());
    // One device for the SmartShunt, and none named after its serial.
    assert!(!got.keys().any(|t| t.contains("HQ2031ABCDE") || t.contains("battery_monitor-")), "{got:?}");
    // The changes keep coming while the GX is kept alive.
    let changing = |m: &[support::Received]| {
        let power: Vec<&str> =
            m.iter().filter(|r| r.topic == "halyard/house-bank/battery_power").map(|r| r.payload.as_str()).collect();
        power.contains(&"-53.4") && power.contains(&"-53.34") && power.contains(&"-53.382")
    };
    assert!(sub.wait(Duration::from_secs(10), changing), "{:?}", sub.payloads("halyard/house-bank/battery_power"));
    // The first keep-alive asked for everything.
    let asked = gx.keepalives();
    assert_eq!(asked.first().map(|k| k.1.as_str()), Some(""), "{asked:?}");

    // Garbage from the GX is counted, and the rest keeps flowing.
    let garbage = std::process::Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &gx_broker.port.to_string()])
        .args(["-t", &format!("N/{PORTAL}/battery/279/Dc/0/Voltage"), "-m", "\u{1}not json"])
        .output()
        .unwrap();
    assert!(garbage.status.success());
    let counted = |text: &str| text.contains(r#"halyard_decode_errors_total{source="venus",kind="bad_json"} 1"#);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut text = String::new();
    while Instant::now() < deadline && !counted(&text) {
        text = support::http_get(metrics, "/metrics");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(counted(&text), "{text}");

    // The GX's broker restarts: Halyard reconnects and asks for everything again.
    gx_broker.stop();
    std::thread::sleep(Duration::from_secs(2));
    gx_broker.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && gx.keepalives().iter().filter(|k| k.1.is_empty()).count() < 2 {
        std::thread::sleep(Duration::from_millis(100));
    }
    let asked = gx.keepalives();
    assert!(asked.iter().filter(|k| k.1.is_empty()).count() >= 2, "no full publish asked after the restart: {asked:?}");
    let text = support::http_get(metrics, "/metrics");
    assert!(text.contains(r#"halyard_source_reconnects_total{source="venus:127.0.0.1"} 1"#), "{text}");
    assert!(text.contains(r#"halyard_source_up{source="venus:127.0.0.1"} 1"#), "{text}");

    // Kept alive every 30 s without a full republish each time.
    let since = asked.last().unwrap().0;
    let deadline = since + Duration::from_secs(40);
    while Instant::now() < deadline
        && !gx.keepalives().iter().any(|k| k.0 > since && k.1.contains("suppress-republish"))
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    let asked = gx.keepalives();
    let repeat = asked.iter().find(|k| k.0 > since && k.1.contains("suppress-republish"));
    let gap = repeat.map(|k| k.0.duration_since(since));
    assert!(gap.is_some_and(|g| g >= Duration::from_secs(25) && g <= Duration::from_secs(35)), "{gap:?} {asked:?}");

    // Read-only: on the GX's broker Halyard said nothing but keep-alives.
    let halyards: Vec<_> = on_gx
        .all()
        .into_iter()
        .filter(|m| !m.topic.starts_with("N/") && m.topic != "test/probe")
        .map(|m| m.topic)
        .collect();
    assert!(!halyards.is_empty() && halyards.iter().all(|t| *t == format!("R/{PORTAL}/keepalive")), "{halyards:?}");

    // A GX that floods (a loop on the GX, a bridge echoing): 60,000 messages at once are more
    // than the limit; the connection is dropped, counted and opened again, and the boat's own
    // broker keeps getting Halyard's values.
    let lines = "{\"value\": 12.7}\n".repeat(60_000);
    let flood = s.path("flood.txt");
    std::fs::write(&flood, lines).unwrap();
    let topic = format!("N/{PORTAL}/battery/279/Dc/0/Voltage");
    let port = gx_broker.port.to_string();
    let sent = std::process::Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port, "-t", &topic, "-l"])
        .stdin(std::fs::File::open(&flood).unwrap())
        .output()
        .unwrap();
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    let flooded = |t: &str| t.contains(r#"halyard_source_errors_total{source="venus:127.0.0.1",kind="flood"} 1"#);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut text = String::new();
    while Instant::now() < deadline
        && !(flooded(&text) && text.contains(r#"halyard_source_up{source="venus:127.0.0.1"} 1"#))
    {
        text = support::http_get(metrics, "/metrics");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(flooded(&text) && text.contains(r#"halyard_source_up{source="venus:127.0.0.1"} 1"#), "{text}");
    let before = sub.all().len();
    assert!(sub.wait(Duration::from_secs(10), |m| m.len() > before + 3), "the boat's broker went quiet");

    let log = run.stop();
    assert!(log.contains(&format!("found GX {PORTAL}")), "{log}");
}
