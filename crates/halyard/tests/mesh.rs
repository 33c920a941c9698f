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
