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
            (Said::Telemetry { device: a, environment: c }, Said::Telemetry { device: b, environment: d }) => {
                assert_eq!(a.battery_level, b.battery_level, "{twin}");
                assert_eq!(a.uptime_seconds, b.uptime_seconds, "{twin}");
                assert_eq!(c.wind_direction, d.wind_direction, "{twin}");
                for (x, y) in [(a.voltage, b.voltage), (c.temperature, d.temperature), (c.wind_speed, d.wind_speed)] {
                    assert_eq!(x.is_some(), y.is_some(), "{twin}");
                    assert!((x.unwrap_or(0.0) - y.unwrap_or(0.0)).abs() < 1e-3, "{twin}");
                }
            }
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
    let (hang_up, hung_up) = std::sync::mpsc::channel::<()>();
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
        let _ = hung_up.recv_timeout(Duration::from_secs(120));
    });
    let cfg = scratch.path("halyard.toml");
    let (metrics, web) = (free_port(), free_port());
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:{}\"\nmdns = false\n[metrics]\nlisten = \"127.0.0.1:{}\"\n[web]\nlisten = \"127.0.0.1:{web}\"\n[mqtt_in]\ntopics = [\"msh/#\"]\n[[meshtastic]]\nsource = \"tcp:127.0.0.1:{port}\"\n[[device]]\nname = \"dinghy\"\nmeshtastic = \"!0dd1e901\"\n",
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
    // The dashboard's mesh page in Chromium: the same answers as `halyard mesh`, the names
    // from the live state, the dinghy first, a marker and a line from us for every node.
    std::thread::sleep(Duration::from_secs(2)); // the recorder's batch (1 s) reaches the store
    let answers = support::halyard().args(["mesh", "--json", "-c", cfg.to_str().unwrap()]).output().unwrap();
    assert!(answers.status.success(), "{}", String::from_utf8_lossy(&answers.stderr));
    let answers: serde_json::Value = serde_json::from_slice(&answers.stdout).unwrap();
    // The same answers retained on MQTT by the daemon (a minute apart at most).
    let published = |m: &[support::Received]| {
        m.iter().rev().find(|r| r.topic == "halyard/mesh/answers").is_some_and(|r| {
            let j: serde_json::Value = serde_json::from_str(&r.payload).unwrap();
            j["max_range"] == answers["max_range"] && j["dinghy"]["distance_m"] == answers["dinghy"]["distance_m"]
        })
    };
    assert!(sub.wait(Duration::from_secs(75), published), "{answers}\n{:?}", sub.payloads("halyard/mesh/answers"));
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/web-screenshots");
    let out = std::process::Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/tests/mesh.mjs"))
        .args([&format!("http://127.0.0.1:{web}"), shots.to_str().unwrap()])
        .output()
        .expect("node (scripts/test.sh installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "mesh page: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let page: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let everyone = answers["everyone"].as_array().unwrap();
    let rows = page["mesh"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), everyone.len(), "{page}");
    assert_eq!(
        (page["mesh"]["markers"].as_u64(), page["mesh"]["lines"].as_u64()),
        (Some(rows.len() as u64), Some(rows.len() as u64))
    );
    assert_eq!(rows[0]["node"], "dinghy", "the node asked for comes first");
    assert_eq!(rows[0]["name"], "Lille Oe dinghy");
    for w in everyone {
        let row = rows.iter().find(|r| r["node"] == w["node"]).unwrap_or_else(|| panic!("{w} not on the page"));
        assert!((row["distance"].as_f64().unwrap() - w["distance_m"].as_f64().unwrap()).abs() < 0.1, "{row} {w}");
        // Live: the declination of the packet's reception day (July); the answer: of today's
        // (November); it changes by about 0.2° a year there.
        assert!((row["magnetic"].as_f64().unwrap() - w["bearing_magnetic"].as_f64().unwrap()).abs() < 0.2, "{row} {w}");
    }
    let d = &answers["dinghy"];
    assert_eq!(
        page["wanted"]["distance"].as_str().unwrap().replace(['\u{202f}', ',', '\u{a0}'], ""),
        format!("{:.0} m", d["distance_m"].as_f64().unwrap()),
        "{page}"
    );
    let max_km = answers["max_range"]["distance_m"].as_f64().unwrap() / 1000.0;
    assert_eq!(page["max_range"], format!("{max_km:.2} km"), "{page}");
    assert_eq!(page["phone_overflow"], false);
    run.stop();
    let _ = hang_up.send(());
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

fn jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A field as the official package's JSON reading gives it (proto3 leaves out zeros).
fn u32_of(j: &serde_json::Value, k: &str) -> u32 {
    j.get(k).map_or(0, |v| u32::try_from(v.as_u64().unwrap_or_else(|| panic!("{k}: {v}"))).unwrap())
}
fn i32_of(j: &serde_json::Value, k: &str) -> i32 {
    j.get(k).map_or(0, |v| i32::try_from(v.as_i64().unwrap()).unwrap())
}
/// A float field: the JSON holds the float32's shortest text, so the cast is exact.
fn f32_of(j: &serde_json::Value, k: &str) -> f32 {
    j.get(k).map_or(0.0, |v| v.as_f64().unwrap() as f32)
}
/// An `optional` field: present in the JSON exactly when set.
fn opt<T>(j: &serde_json::Value, k: &str, f: fn(&serde_json::Value, &str) -> T) -> Option<T> {
    j.get(k).map(|_| f(j, k))
}

fn check_position(p: &proto::Position, j: &serde_json::Value) {
    assert_eq!(p.latitude_i, opt(j, "latitude_i", i32_of), "{j}");
    assert_eq!(p.longitude_i, opt(j, "longitude_i", i32_of), "{j}");
    assert_eq!(p.altitude, opt(j, "altitude", i32_of), "{j}");
    assert_eq!(p.ground_speed, opt(j, "ground_speed", u32_of), "{j}");
    assert_eq!((p.time, p.timestamp), (u32_of(j, "time"), u32_of(j, "timestamp")), "{j}");
    assert_eq!((p.sats_in_view, p.precision_bits), (u32_of(j, "sats_in_view"), u32_of(j, "precision_bits")), "{j}");
}

fn check_user(u: &proto::User, j: &serde_json::Value) {
    assert_eq!((u.id.as_str(), u.long_name.as_str()), (j["id"].as_str().unwrap(), j["long_name"].as_str().unwrap()));
    assert_eq!(u.short_name, j["short_name"].as_str().unwrap());
    assert_eq!((u.hw_model, u.role), (i32_of(j, "hw_model"), i32_of(j, "role")), "{j}");
}

fn check_device(d: &proto::DeviceMetrics, j: &serde_json::Value) {
    assert_eq!(d.battery_level, opt(j, "battery_level", u32_of), "{j}");
    assert_eq!(d.voltage, opt(j, "voltage", f32_of), "{j}");
    assert_eq!(d.channel_utilization, opt(j, "channel_utilization", f32_of), "{j}");
    assert_eq!(d.air_util_tx, opt(j, "air_util_tx", f32_of), "{j}");
    assert_eq!(d.uptime_seconds, opt(j, "uptime_seconds", u32_of), "{j}");
}

fn check_environment(e: &proto::EnvironmentMetrics, j: &serde_json::Value) {
    assert_eq!(e.temperature, opt(j, "temperature", f32_of), "{j}");
    assert_eq!(e.relative_humidity, opt(j, "relative_humidity", f32_of), "{j}");
    assert_eq!(e.barometric_pressure, opt(j, "barometric_pressure", f32_of), "{j}");
    assert_eq!(e.wind_direction, opt(j, "wind_direction", u32_of), "{j}");
    assert_eq!((e.wind_speed, e.wind_gust), (opt(j, "wind_speed", f32_of), opt(j, "wind_gust", f32_of)), "{j}");
    assert_eq!(e.wind_lull, opt(j, "wind_lull", f32_of), "{j}");
}

/// One packet, field by field and as Halyard reads it, against the official package's reading.
fn check_packet(p: &proto::MeshPacket, line: &serde_json::Value) {
    let j = &line["message"]["packet"];
    assert_eq!((p.from, p.to, p.id), (u32_of(j, "from"), u32_of(j, "to"), u32_of(j, "id")), "{j}");
    assert_eq!((p.channel, p.rx_time), (u32_of(j, "channel"), u32_of(j, "rx_time")), "{j}");
    assert_eq!((p.rx_snr, p.rx_rssi), (f32_of(j, "rx_snr"), i32_of(j, "rx_rssi")), "{j}");
    assert_eq!((p.hop_start, p.hop_limit), (u32_of(j, "hop_start"), u32_of(j, "hop_limit")), "{j}");
    assert_eq!(p.via_mqtt, j.get("via_mqtt").is_some_and(|v| v == true), "{j}");
    let heard = mesh::heard(p);
    let hops = (p.hop_start != 0).then(|| p.hop_start - p.hop_limit);
    assert_eq!((heard.from, heard.id, heard.hops), (p.from, p.id, hops));
    let inner = &line["inner"];
    let decoded = match &p.payload {
        Some(proto::mesh_packet::Payload::Decoded(d)) => Some(d),
        _ => None,
    };
    match (line["kind"].as_str().unwrap(), &heard.said) {
        ("encrypted", Said::Encrypted) => {
            assert!(decoded.is_none());
            let Some(proto::mesh_packet::Payload::Encrypted(bytes)) = &p.payload else { unreachable!() };
            assert_eq!(hex(bytes), line["encrypted_hex"].as_str().unwrap());
        }
        ("position", Said::Position { lat, lon, altitude, time }) => {
            check_position(&proto::Position::decode(decoded.unwrap().payload.as_slice()).unwrap(), inner);
            assert_eq!(*lat, f64::from(i32_of(inner, "latitude_i")) * 1e-7);
            assert_eq!(*lon, f64::from(i32_of(inner, "longitude_i")) * 1e-7);
            assert_eq!((*altitude, *time), (opt(inner, "altitude", i32_of), opt(inner, "time", u32_of)));
        }
        ("nodeinfo", Said::User { id, long_name, .. }) => {
            check_user(&proto::User::decode(decoded.unwrap().payload.as_slice()).unwrap(), inner);
            assert_eq!(
                (id.as_str(), long_name.as_str()),
                (inner["id"].as_str().unwrap(), inner["long_name"].as_str().unwrap())
            );
        }
        ("device" | "environment", Said::Telemetry { device, environment }) => {
            let t = proto::Telemetry::decode(decoded.unwrap().payload.as_slice()).unwrap();
            assert_eq!(t.time, u32_of(inner, "time"));
            check_device(device, inner.get("device_metrics").unwrap_or(&serde_json::json!({})));
            check_environment(environment, inner.get("environment_metrics").unwrap_or(&serde_json::json!({})));
        }
        ("range", Said::RangeTest(seq)) => assert_eq!(format!("seq {seq}"), inner.as_str().unwrap()),
        ("text", Said::Text(text)) => assert_eq!(text, inner.as_str().unwrap()),
        (kind, said) => panic!("{kind} read as {said:?}: {line}"),
    }
    assert_eq!(decoded.map(|d| d.portnum), j.get("decoded").map(|d| i32_of(d, "portnum")));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Messages the official Python package builds at test time (random, seeded: every field Halyard
/// reads over its range, names in several scripts, node numbers above 2^31, negative positions
/// and RSSI), read by Halyard's own schema exactly as the package reads them: the stream API
/// with debug text between frames, and each MQTT ServiceEnvelope.
#[test]
fn every_field_as_the_official_package_reads_it() {
    let scratch = support::Scratch::new("mesh-official");
    let (mut packets, mut node_infos, mut envelopes) = (0, 0, 0);
    for seed in 1..=4 {
        let dir = scratch.path(&format!("seed{seed}"));
        support::official_vectors(&dir, seed);
        let expected = jsonl(&dir.join("expected.jsonl"));
        let bytes = std::fs::read(dir.join("stream.bin")).unwrap();
        let (mut frames, mut logs) = (Vec::new(), 0);
        let mut framer = StreamFramer::new();
        for chunk in bytes.chunks(13) {
            framer.push_all(chunk, |e| match e {
                Event::Frame(p) => frames.push(proto::FromRadio::decode(p).expect("a frame of the official package")),
                Event::Log(l) => logs += usize::from(l.starts_with(b"DEBUG |")),
                Event::BadLength(n) => panic!("bad length {n}"),
            });
        }
        assert_eq!(frames.len(), expected.len());
        assert_eq!(
            logs,
            (0..expected.len()).filter(|n| n % 7 == 3).count(),
            "the script writes a debug line before every 7th frame from the 4th"
        );
        for (m, line) in frames.iter().zip(&expected) {
            use proto::from_radio::Variant;
            match &m.variant {
                Some(Variant::NodeInfo(n)) => {
                    let j = &line["message"]["node_info"];
                    assert_eq!(n.num, u32_of(j, "num"));
                    check_user(n.user.as_ref().unwrap(), &j["user"]);
                    check_position(n.position.as_ref().unwrap(), &j["position"]);
                    check_device(n.device_metrics.as_ref().unwrap(), &j["device_metrics"]);
                    assert_eq!((n.snr, n.last_heard), (f32_of(j, "snr"), u32_of(j, "last_heard")), "{j}");
                    assert_eq!((n.hops_away, n.via_mqtt), (opt(j, "hops_away", u32_of), j.get("via_mqtt").is_some()));
                    node_infos += 1;
                }
                Some(Variant::Packet(p)) => {
                    check_packet(p, line);
                    packets += 1;
                }
                other => panic!("{other:?}"),
            }
        }
        // The same packets in MQTT ServiceEnvelopes.
        let packets_of_stream: Vec<&proto::MeshPacket> = frames
            .iter()
            .filter_map(|m| match &m.variant {
                Some(proto::from_radio::Variant::Packet(p)) => Some(p),
                _ => None,
            })
            .collect();
        for (e, p) in jsonl(&dir.join("envelopes.jsonl")).iter().zip(&packets_of_stream) {
            let hex = e["payload_hex"].as_str().unwrap();
            let bytes: Vec<u8> =
                (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
            let env = proto::ServiceEnvelope::decode(bytes.as_slice()).unwrap();
            assert_eq!(env.channel_id, e["envelope"]["channel_id"].as_str().unwrap());
            assert_eq!(env.gateway_id, e["envelope"]["gateway_id"].as_str().unwrap());
            assert_eq!(env.packet.as_ref(), Some(*p));
            envelopes += 1;
        }
    }
    assert!(node_infos == 32 && packets == 240 && envelopes == 240, "{node_infos} {packets} {envelopes}");
}

/// A radio played by the official package on TCP (loopback): it reads what Halyard sends with
/// the official ToRadio — only `want_config_id`, then heartbeats; nothing is ever sent to the
/// mesh — and answers with the node database, config and channel messages (skipped), the
/// config_complete_id asked for, and packets. Halyard's MQTT topics carry each node's names,
/// last position, battery and hops as the package made them.
#[test]
fn a_radio_played_by_the_official_package() {
    use std::time::Duration;
    use support::{Halyard, Mosquitto, Scratch, Subscriber};

    let _serial = support::one_at_a_time();
    let scratch = Scratch::new("mesh-official-radio");
    let vectors = scratch.path("vectors");
    support::official_vectors(&vectors, 11);
    let (radio, port) = support::official_radio(&scratch.0, &vectors);
    let broker = Mosquitto::start(&scratch.0, "");
    let sub = Subscriber::start(broker.port, None);
    let cfg = scratch.path("halyard.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:{}\"\nmdns = false\n[metrics]\nlisten = \"\"\n[web]\nlisten = \"\"\n[[meshtastic]]\nsource = \"tcp:127.0.0.1:{port}\"\n",
            scratch.0.display(),
            broker.port,
        ),
    )
    .unwrap();
    let run = Halyard::start(&["run", "-c", cfg.to_str().unwrap()]);
    // What each node's last message says, in the order the radio sends them (node database first).
    let expected = jsonl(&vectors.join("expected.jsonl"));
    let mut last: std::collections::BTreeMap<(u32, &str), serde_json::Value> = Default::default();
    for line in &expected {
        let m = &line["message"];
        if let Some(n) = m.get("node_info") {
            let num = u32_of(n, "num");
            last.insert((num, "long_name"), n["user"]["long_name"].clone());
            last.insert((num, "latitude"), n["position"]["latitude_i"].clone());
            last.insert((num, "battery_level"), n["device_metrics"]["battery_level"].clone());
        } else {
            let p = &m["packet"];
            let num = u32_of(p, "from");
            match line["kind"].as_str().unwrap() {
                "position" => drop(last.insert((num, "latitude"), line["inner"]["latitude_i"].clone())),
                "nodeinfo" => drop(last.insert((num, "long_name"), line["inner"]["long_name"].clone())),
                "device" => {
                    drop(last.insert((num, "battery_level"), line["inner"]["device_metrics"]["battery_level"].clone()))
                }
                _ => {}
            }
        }
    }
    let topic = |num: u32, metric: &str| format!("halyard/mesh/{num:08x}/{metric}");
    let done = |m: &[support::Received]| {
        last.iter().all(|((num, metric), v)| {
            let t = topic(*num, metric);
            m.iter().rev().find(|r| r.topic == t).is_some_and(|r| match *metric {
                "long_name" => r.payload == v.as_str().unwrap(),
                "latitude" => (r.payload.parse::<f64>().unwrap() - v.as_f64().unwrap() * 1e-7).abs() < 1e-9,
                _ => r.payload.parse::<f64>().unwrap() == v.as_f64().unwrap(),
            })
        })
    };
    let ok = sub.wait(Duration::from_secs(30), done);
    assert!(ok, "{:?}\n{}", last, run.log());
    run.stop();
    let said = radio.wait_with_output().unwrap();
    let said: serde_json::Value = serde_json::from_slice(&said.stdout).unwrap();
    let variants = said["variants"].as_array().unwrap();
    assert_eq!(variants[0], "want_config_id", "{said}");
    assert!(variants[1..].iter().all(|v| v == "heartbeat"), "read-only: {said}");
    assert_eq!(said["packets_sent_to_mesh"], 0);
    assert_ne!(said["want_config_id"], 0);
}
