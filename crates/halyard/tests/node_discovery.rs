//! The ESP32 node finds the gateway the way the firmware does: a one-shot DNS-SD question for
//! `_mqtt._tcp.local` (halyard_node_core::dnssd) to 224.0.0.251:5353 from an ephemeral port,
//! answered by `halyard run`'s mDNS advertisement of its embedded broker; then the node's MQTT
//! session (halyard_node_core::mqtt, through a std socket) connects to the address and port in
//! the answer and publishes, with its will, to the embedded broker, and takes its time from the
//! gateway's `<root>/clock`.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use halyard_node_core::dnssd;
use halyard_node_core::mqtt::{Event, Options, Session};

mod support;
use support::{free_port, Halyard, Scratch, Subscriber};

#[test]
fn the_node_finds_the_gateway_and_publishes_to_it() {
    let _serial = support::one_at_a_time();
    let s = Scratch::new("node-discovery");
    let port = free_port();
    std::fs::write(
        s.path("halyard.toml"),
        format!(
            "data_dir = \"{}\"\n[broker]\nlisten = \"0.0.0.0:{port}\"\n[metrics]\nlisten = \"\"\n[web]\nlisten = \"\"\n[store]\nenabled = false\n",
            s.0.display()
        ),
    )
    .unwrap();
    let run = Halyard::start(&["run", "-c", s.path("halyard.toml").to_str().unwrap()]);
    assert!(run.wait_log(Duration::from_secs(20), "advertised by mDNS"), "{}", run.log());

    // The question, as the firmware sends it; answers until one names our broker.
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut found = None;
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut buf = [0u8; 1500];
    while found.is_none() && Instant::now() < deadline {
        socket.send_to(&dnssd::query(0x4E48), (Ipv4Addr::new(224, 0, 0, 251), 5353)).unwrap();
        while let Ok((n, _)) = socket.recv_from(&mut buf) {
            found = dnssd::parse(&buf[..n]).into_iter().find(|f| f.port == port);
            if found.is_some() {
                break;
            }
        }
    }
    let found = found.unwrap_or_else(|| panic!("no DNS-SD answer for port {port}\n{}", run.log()));
    assert!(found.instance.starts_with("halyard on "), "{found:?}");
    assert_ne!(found.address, [0, 0, 0, 0]);

    // The node's session to the address and port of the answer: the embedded broker.
    let sub = Subscriber::start(port, None);
    let mut tcp = TcpStream::connect((Ipv4Addr::from(found.address), found.port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let start = Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut session = Session::new(Options {
        client_id: "halyard-node-c03b5e000099".into(),
        root: "halyard".into(),
        keep_alive_s: 30,
        credentials: None,
        subscriptions: vec!["halyard/clock".into()],
    });
    session.connect(now());
    let mut events = Vec::new();
    let mut published = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !(published && session.in_flight() == 0) {
        tcp.write_all(&session.take_output()).unwrap();
        match tcp.read(&mut buf) {
            Ok(0) => panic!("the broker closed the connection"),
            Ok(n) => session.receive(&buf[..n], now(), &mut events),
            Err(_) => session.poll(now(), &mut events),
        }
        if !published && events.iter().any(|e| matches!(e, Event::Connected { .. })) {
            session.publish("halyard/port-arch/solar_power", b"123", 1, true, now()).unwrap();
            published = true;
        }
    }
    tcp.write_all(&session.take_output()).unwrap();
    assert!(published && session.in_flight() == 0, "{events:?}");
    // The gateway's clock reaches the node (it publishes it on connecting and every minute).
    let mut clock = halyard_node_core::clock::Clock::new();
    let deadline = Instant::now() + Duration::from_secs(70);
    while Instant::now() < deadline {
        if events.iter().any(
            |e| matches!(e, Event::Message(m) if m.topic == "halyard/clock" && clock.set_from_text(&m.payload, now())),
        ) {
            break;
        }
        if let Ok(n) = tcp.read(&mut buf) {
            session.receive(&buf[..n], now(), &mut events);
        }
        session.poll(now(), &mut events);
        tcp.write_all(&session.take_output()).unwrap();
    }
    let system = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let told = clock.unix_ms(now()).expect("no clock from the gateway");
    assert!(system.abs_diff(told) < 70_000, "{told} vs {system}");
    let got = sub.wait(Duration::from_secs(10), |m| {
        m.iter().any(|r| r.topic == "halyard/port-arch/solar_power" && r.payload == "123")
    });
    assert!(got, "{:?}", sub.all().iter().map(|r| (&r.topic, &r.payload)).collect::<Vec<_>>());
    run.stop();
}
