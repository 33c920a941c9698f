//! Meshtastic decoding on messages produced with the official protobuf definitions
//! (tests/fixtures/meshtastic): the stream API with debug text between frames, and each MQTT
//! envelope checked against the same packet in the firmware's JSON layout.

use std::path::{Path, PathBuf};

use halyard::mesh::{self, proto, Said};
use halyard_proto::meshtastic::{Event, StreamFramer};
use prost::Message;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/meshtastic").join(name)
}

#[test]
fn the_stream_with_debug_text_between_frames() {
    let bytes = std::fs::read(fixture("stream_fromradio.bin")).unwrap();
    let mut messages = Vec::new();
    let mut logs = Vec::new();
    // Seven bytes at a time, as a serial port delivers them.
    let mut framer = StreamFramer::new();
    for chunk in bytes.chunks(7) {
        framer.push_all(chunk, |e| match e {
            Event::Frame(p) => messages.push(proto::FromRadio::decode(p).expect("every frame decodes")),
            Event::Log(l) => logs.push(String::from_utf8_lossy(l).into_owned()),
            Event::BadLength(n) => panic!("bad length {n}"),
        });
    }
    assert!(logs.iter().any(|l| l.contains("[Router] Received packet")), "{logs:?}");
    use proto::from_radio::Variant;
    let Some(Variant::MyInfo(me)) = &messages[0].variant else { panic!("{:?}", messages[0]) };
    assert_eq!(mesh::node_id(me.my_node_num), "!a1b2c3d4");
    let nodes: Vec<&proto::NodeInfo> = messages
        .iter()
        .filter_map(|m| match &m.variant {
            Some(Variant::NodeInfo(n)) => Some(n),
            _ => None,
        })
        .collect();
    let names: Vec<&str> = nodes.iter().filter_map(|n| n.user.as_ref()).map(|u| u.long_name.as_str()).collect();
    assert!(
        names.contains(&"Lille Oe dinghy") && names.contains(&"Crew Henri") && names.contains(&"Hill node"),
        "{names:?}"
    );
    assert!(messages.iter().any(|m| matches!(m.variant, Some(Variant::ConfigCompleteId(_)))));
    // The packets after the configuration: positions, users, telemetry, range test.
    let heard: Vec<mesh::Heard> = messages
        .iter()
        .filter_map(|m| match &m.variant {
            Some(Variant::Packet(p)) => Some(mesh::heard(p)),
            _ => None,
        })
        .collect();
    assert!(heard.iter().any(|h| matches!(h.said, Said::Position { .. })), "{heard:?}");
    assert!(heard.iter().any(|h| matches!(h.said, Said::RangeTest(_))), "{heard:?}");
}

#[test]
fn mqtt_envelopes_match_their_json_twins() {
    let envelopes: Vec<serde_json::Value> = std::fs::read_to_string(fixture("mqtt_envelopes.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let json: Vec<serde_json::Value> = std::fs::read_to_string(fixture("mqtt_json.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut compared = 0;
    for e in &envelopes {
        let bytes: Vec<u8> = (0..e["payload_hex"].as_str().unwrap().len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&e["payload_hex"].as_str().unwrap()[i..i + 2], 16).unwrap())
            .collect();
        let env = proto::ServiceEnvelope::decode(bytes.as_slice()).unwrap();
        assert_eq!(env.gateway_id, "!a1b2c3d4");
        let from_proto = mesh::heard(env.packet.as_ref().unwrap());
        let twin = json.iter().find(|j| j["payload"]["id"].as_u64() == Some(u64::from(from_proto.id)));
        let Some(twin) = twin else { continue };
        let from_json = mesh::heard_json(&twin["payload"]).unwrap();
        assert_eq!(from_proto.from, from_json.from);
        assert_eq!(from_proto.rx_time, from_json.rx_time);
        assert_eq!(from_proto.rssi, from_json.rssi);
        assert_eq!(from_proto.hops, from_json.hops, "{twin}");
        assert!((from_proto.snr.unwrap() - from_json.snr.unwrap()).abs() < 1e-3);
        match (&from_proto.said, &from_json.said) {
            (Said::Position { lat: a, lon: b, .. }, Said::Position { lat: c, lon: d, .. }) => {
                assert!((a - c).abs() < 1e-9 && (b - d).abs() < 1e-9)
            }
            (Said::Telemetry { battery_level: a, .. }, Said::Telemetry { battery_level: b, .. }) => assert_eq!(a, b),
            (a, b) => assert_eq!(a, b, "{twin}"),
        }
        compared += 1;
    }
    assert!(compared >= 15, "{compared} packets compared");
}

#[test]
fn a_real_firmware_debug_log_is_only_text() {
    let bytes = std::fs::read(fixture("firmware-debug-log.txt")).unwrap();
    let (mut frames, mut lines) = (0, 0);
    StreamFramer::new().push_all(&bytes, |e| match e {
        Event::Frame(_) | Event::BadLength(_) => frames += 1,
        Event::Log(_) => lines += 1,
    });
    assert_eq!(frames, 0);
    assert!(lines > 100, "{lines}");
}

mod support;

/// A radio on TCP port 4403 (a peer on loopback playing the official-package stream): Halyard
/// asks for the configuration, then publishes the node table under `halyard/mesh/<node>/…`,
/// the configured dinghy under its name, with distance and bearings from our own node; and a
/// gateway's MQTT envelope, read back from a real Mosquitto.
#[test]
fn a_radio_on_tcp_4403_and_a_gateway_on_mqtt() {
    use std::io::{Read, Write};
    use std::time::Duration;
    use support::{free_port, http_get, Halyard, Mosquitto, Scratch, Subscriber};

    let _serial = support::one_at_a_time();
    let scratch = Scratch::new("mesh");
    let broker = Mosquitto::start(&scratch.0, "");
    let sub = Subscriber::start(broker.port, None);
    let radio = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = radio.local_addr().unwrap().port();
    let stream = std::fs::read(fixture("stream_fromradio.bin")).unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = radio.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        // The client speaks first: a framed ToRadio asking for the configuration.
        let mut head = [0u8; 4];
        s.read_exact(&mut head).unwrap();
        assert_eq!(&head[..2], &[0x94, 0xC3]);
        let mut body = vec![0u8; usize::from(head[2]) << 8 | usize::from(head[3])];
        s.read_exact(&mut body).unwrap();
        let asked = proto::ToRadio::decode(body.as_slice()).unwrap();
        assert!(matches!(asked.variant, Some(proto::to_radio::Variant::WantConfigId(_))), "{asked:?}");
        s.write_all(&stream).unwrap();
        // Stay connected while the test reads.
        std::thread::sleep(Duration::from_secs(15));
    });
    let cfg = scratch.path("halyard.toml");
    let metrics = free_port();
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:{}\"\nmdns = false\n[metrics]\nlisten = \"127.0.0.1:{}\"\n[web]\nlisten = \"\"\n[mqtt_in]\ntopics = [\"msh/#\"]\n[[meshtastic]]\nsource = \"tcp:127.0.0.1:{port}\"\n[[device]]\nname = \"dinghy\"\nmeshtastic = \"!0dd1e901\"\n",
            scratch.0.display(),
            broker.port,
            metrics
        ),
    )
    .unwrap();
    let run = Halyard::start(&["run", "-c", cfg.to_str().unwrap()]);
    let ok = sub.wait(Duration::from_secs(30), |m| {
        m.iter().any(|r| r.topic == "halyard/mesh/dinghy/distance")
            && m.iter().any(|r| r.topic == "halyard/mesh/4e11f00d/hops_away")
    });
    assert!(ok, "{:?}\n{}", sub.all().iter().map(|r| &r.topic).collect::<Vec<_>>(), run.log());
    // The dinghy's last position, and its distance and bearing from our node (59.98 N 23.435 E).
    let last = |t: &str| -> f64 { sub.payloads(t).last().unwrap().parse().unwrap() };
    let (lat, lon) = (last("halyard/mesh/dinghy/latitude"), last("halyard/mesh/dinghy/longitude"));
    assert!((lat - 59.982_559).abs() < 1e-6 && (lon - 23.454_100_8).abs() < 1e-6, "{lat} {lon}");
    let (d, b) = halyard::geo::inverse((59.98, 23.435), (lat, lon)).unwrap();
    assert!((last("halyard/mesh/dinghy/distance") - d).abs() < 0.01);
    assert!((last("halyard/mesh/dinghy/bearing") - b).abs() < 0.01);
    // Magnetic: true minus the WMM declination there (about 10° E in 2026).
    let m = last("halyard/mesh/dinghy/bearing_magnetic");
    let decl = (b - m + 540.0).rem_euclid(360.0) - 180.0;
    assert!((7.0..12.0).contains(&decl), "declination {decl}");
    assert_eq!(sub.payloads("halyard/mesh/dinghy/long_name").last().map(String::as_str), Some("Lille Oe dinghy"));
    assert_eq!(last("halyard/mesh/4e11f00d/hops_away"), 2.0, "hop_start 3 − hop_limit 1");
    // A gateway's protobuf envelope on MQTT: the crew member's node.
    let e: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(fixture("mqtt_envelopes.jsonl")).unwrap().lines().next().unwrap())
            .unwrap();
    let hex = e["payload_hex"].as_str().unwrap();
    let bytes: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    let file = scratch.path("envelope.bin");
    std::fs::write(&file, bytes).unwrap();
    let sent = std::process::Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &broker.port.to_string(), "-t", e["topic"].as_str().unwrap(), "-f"])
        .arg(&file)
        .status()
        .unwrap();
    assert!(sent.success());
    // Read by the gateway from the broker and decoded: counted, and no error.
    let mut m = String::new();
    for _ in 0..50 {
        m = http_get(metrics, "/metrics");
        if m.contains("halyard_frames_total{source=\"meshtastic_mqtt\"} 1") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(m.contains("halyard_frames_total{source=\"meshtastic_mqtt\"} 1"), "{m}");
    assert!(!m.contains("meshtastic_mqtt\",kind="), "{m}");
    run.stop();
    peer.join().unwrap();
}

/// The official-package stream replayed into the store, then `halyard mesh`: the dinghy where
/// its last position says, from our own radio's position; the farthest direct reception (the
/// hill node two hops away does not count); the reliable range from the sender's log, checked
/// against the log's own "received" column.
#[test]
fn where_is_the_dinghy_and_how_far_the_radios_reach() {
    use support::{free_port, halyard, Scratch};
    let _serial = support::one_at_a_time();
    let scratch = Scratch::new("mesh-answers");
    let cfg = scratch.path("halyard.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\n[mqtt]\nmdns = false\n[broker]\nlisten = \"127.0.0.1:{}\"\n[metrics]\nlisten = \"\"\n[[device]]\nname = \"dinghy\"\nmeshtastic = \"!0dd1e901\"\n",
            scratch.0.display(),
            free_port()
        ),
    )
    .unwrap();
    let out = halyard()
        .args(["replay", "--max-speed", "-c", cfg.to_str().unwrap()])
        .arg(fixture("stream_fromradio.bin"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = fixture("sender_rangetest_log.csv");
    let out = halyard()
        .args(["mesh", "--json", "-c", cfg.to_str().unwrap(), "--sender-log", log.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let us = (m["us"]["lat"].as_f64().unwrap(), m["us"]["lon"].as_f64().unwrap());
    assert!((us.0 - 59.98).abs() < 1e-6 && (us.1 - 23.435).abs() < 1e-6, "{m}");
    let d = &m["dinghy"];
    let (lat, lon) = (d["lat"].as_f64().unwrap(), d["lon"].as_f64().unwrap());
    assert!((lat - 59.982_559).abs() < 1e-6 && (lon - 23.454_101).abs() < 1e-6, "{d}");
    let (dist, bearing) = halyard::geo::inverse(us, (lat, lon)).unwrap();
    assert!((d["distance_m"].as_f64().unwrap() - dist).abs() < 0.1, "{d}");
    assert!((d["bearing_true"].as_f64().unwrap() - bearing).abs() < 0.1, "{d}");
    let decl = d["declination"].as_f64().unwrap();
    assert!((9.0..11.0).contains(&decl) && d["declination_uncertainty"].as_f64().unwrap() > 0.0, "{d}");
    assert!(d["magnetic_model"].as_str().unwrap().contains("2029-12-31"));
    // The crew member walked to 7.2 km, heard directly; the hill node (two hops) is farther.
    let max = &m["max_range"];
    assert_eq!(max["node"], "c0ffee01", "{m}");
    let last_crew = halyard::geo::inverse(us, (60.036_060_2, 23.499_821_7)).unwrap().0;
    assert!((max["distance_m"].as_f64().unwrap() - last_crew).abs() < 0.5, "{max}");
    // Reliable range: the log's own received flags and positions, banded here.
    let text = std::fs::read_to_string(&log).unwrap();
    let mut bands: std::collections::BTreeMap<i64, (u32, u32)> = Default::default();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let d = halyard::geo::inverse(us, (f[2].parse().unwrap(), f[3].parse().unwrap())).unwrap().0;
        let e = bands.entry((d / 1000.0).floor() as i64).or_default();
        e.0 += 1;
        e.1 += u32::from(f[5] == "True");
    }
    let expected = bands
        .iter()
        .filter(|(_, (n, h))| *n >= 2 && f64::from(*h) >= 0.8 * f64::from(*n))
        .map(|(k, _)| (*k + 1) as f64 * 1000.0)
        .fold(0.0, f64::max);
    let rt = m["range_test"].as_array().unwrap().iter().find(|r| r["sender"] == "c0ffee01").unwrap();
    assert_eq!(rt["reliable_range_m"].as_f64(), Some(expected), "{rt}");
    assert_eq!(expected, 5000.0, "the scenario's sender is heard reliably to 5 km");
}
