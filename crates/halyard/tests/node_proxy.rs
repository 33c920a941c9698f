//! The node as a BLE proxy: a node without any key passes every Victron advert on as
//! `victron/<mac>/advert` (its MQTT session, through a real Mosquitto); the gateway, which has
//! the keys (Instant Readout keys and the VE.Smart network's), reads them with
//! `[mqtt_in] topics = ["victron/+/advert"]` and publishes each device's values — the same as the
//! node itself would with the keys. This gateway has no Bluetooth of its own. The same adverts
//! as an OpenMQTTGateway or Theengs Gateway publishes them (`home/<gateway>/BTtoMQTT/<MAC>`,
//! JSON), with other makers' devices and garbage among them, give the same values.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use halyard_node_core::mqtt::{Options, Session};
use halyard_node_core::topics::Schema;

mod support;
use support::{Halyard, Mosquitto, Scratch, Subscriber};

#[test]
fn adverts_proxied_by_a_node_are_decoded_by_the_gateway() {
    let keyless = Schema::new("halyard");
    proxied("node-proxy", "[mqtt_in]\ntopics = [\"victron/+/advert\"]", |mac, data| {
        let o = keyless.advert_proxy(mac, data);
        vec![(o.topic, o.payload)]
    });
}

#[test]
fn adverts_from_openmqttgateway_and_theengs_are_decoded_by_the_gateway() {
    let mut n = 0;
    proxied("ble-gateway", "[mqtt_in]\ntopics = [\"home/+/BTtoMQTT/#\"]", move |mac, data| {
        n += 1;
        let id: Vec<String> = mac.iter().map(|b| format!("{b:02X}")).collect();
        let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
        // Manufacturer data as the gateways publish it: the company id first (E1 02).
        let hex = if hex.starts_with("e102") { hex } else { format!("e102{hex}") };
        let gateway = if n % 2 == 0 { "OpenMQTTGateway" } else { "TheengsGateway" };
        let topic = format!("home/{gateway}/BTtoMQTT/{}", id.concat());
        let json = format!(r#"{{"id":"{}","rssi":-{},"manufacturerdata":"{hex}"}}"#, id.join(":"), 60 + n % 30);
        let mut out = vec![(topic, json)];
        if n % 50 == 0 {
            // A phone, a beacon without manufacturer data, a gateway's garbage.
            let other = "home/OpenMQTTGateway/BTtoMQTT/112233445566".to_owned();
            out.push((
                other.clone(),
                r#"{"id":"11:22:33:44:55:66","manufacturerdata":"4c0010050b1c","rssi":-80}"#.into(),
            ));
            out.push((other.clone(), r#"{"id":"11:22:33:44:55:66","servicedata":"0201","rssi":-80}"#.into()));
            out.push((other, "not json".into()));
        }
        out
    });
}

#[test]
fn adverts_from_a_gateway_of_its_own_shape_are_decoded_through_a_mapping() {
    // A Shelly-style script: the address nested, manufacturer data by company id, in base64;
    // other makers' data beside Victron's, and now and then a message that is not JSON.
    let mapping = "[[ble_json]]\nname = \"shelly\"\ntopics = [\"shelly/+/ble\"]\naddress = \"device.mac\"\n\
                   data = \"manufacturer_data\"\nholds = \"by_company\"\nencoding = \"base64\"";
    let mut n = 0;
    proxied("ble-json", mapping, move |mac, data| {
        use base64::Engine;
        n += 1;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let data = data.strip_prefix(&[0xE1, 0x02][..]).unwrap_or(data);
        let id: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        let json = format!(
            r#"{{"device":{{"mac":"{id}"}},"rssi":-71,"manufacturer_data":{{"004c":"{}","02e1":"{}"}}}}"#,
            b64(&[0x10, 0x05]),
            b64(data)
        );
        let mut out = vec![(format!("shelly/shellyplus1-{}/ble", n % 3), json)];
        if n % 97 == 0 {
            out.push(("shelly/shellyplus1-0/ble".to_owned(), "{truncated".to_owned()));
        }
        out
    });
}

/// A gateway without Bluetooth, configured with `subscribed`, decodes every device's adverts,
/// sent as `message` makes them, as a node with the keys would.
fn proxied(name: &str, subscribed: &str, mut message: impl FnMut([u8; 6], &[u8]) -> Vec<(String, String)>) {
    let _serial = support::one_at_a_time();
    let s = Scratch::new(name);
    let (sim_config, recording) = support::node::simulated_day(&s.0);
    let broker = Mosquitto::start(&s.0, "");
    let sub = Subscriber::start(broker.port, None);
    let extra = format!("[metrics]\nlisten = \"\"\n[web]\nlisten = \"\"\n{subscribed}\n");
    let config = support::node::gateway_config(&s.0, &sim_config, broker.port, &extra);
    let run = Halyard::start(&["run", "-c", config.to_str().unwrap()]);
    assert!(
        sub.wait(Duration::from_secs(20), |m| m.iter().any(|r| r.topic == "halyard/status" && r.payload == "online"))
    );

    // What the node would say with the keys (the reference), and what it sends without them.
    let (adverts, expected) = support::node::reference(&sim_config, &recording);
    let proxied: Vec<(String, String)> = adverts.iter().flat_map(|(mac, data)| message(*mac, data)).collect();
    assert!(proxied.len() > 500 && expected.len() > 30, "{} {}", proxied.len(), expected.len());

    // The node's session sends them, QoS 1 in its window like the firmware.
    let mut tcp = TcpStream::connect(("127.0.0.1", broker.port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let start = Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut session = Session::new(Options {
        client_id: "halyard-node-proxy".into(),
        root: "halyard-node".into(),
        keep_alive_s: 30,
        credentials: None,
        subscriptions: vec![],
    });
    session.connect(now());
    let mut events = Vec::new();
    let mut buf = [0u8; 4096];
    let mut next = proxied.iter().peekable();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && (next.peek().is_some() || session.in_flight() > 0) {
        while let Some(p) = next.peek() {
            match session.publish(&p.0, p.1.as_bytes(), 1, false, now()) {
                Ok(_) => drop(next.next()),
                Err(_) => break,
            }
        }
        tcp.write_all(&session.take_output()).unwrap();
        match tcp.read(&mut buf) {
            Ok(0) => panic!("the broker closed the connection"),
            Ok(n) => session.receive(&buf[..n], now(), &mut events),
            Err(_) => session.poll(now(), &mut events),
        }
    }
    assert!(next.peek().is_none() && session.in_flight() == 0, "{events:?}");

    // The gateway decoded every device's last advert as the keyed node would.
    let done = |m: &[support::Received]| {
        expected.iter().all(|(t, p)| m.iter().rev().find(|r| &r.topic == t).is_some_and(|r| &r.payload == p))
    };
    let ok = sub.wait(Duration::from_secs(30), done);
    let got: BTreeMap<String, String> = sub.all().into_iter().map(|r| (r.topic, r.payload)).collect();
    let wrong: Vec<_> = expected.iter().filter(|(t, p)| got.get(*t) != Some(p)).take(5).collect();
    assert!(ok, "not as expected: {wrong:?}\n{}", run.log());
    run.stop();
}
