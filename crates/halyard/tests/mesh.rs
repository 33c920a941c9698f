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
