//! The node's MQTT session against a real Mosquitto on loopback, through a `std::net::TcpStream`
//! adapter standing in for the firmware's embassy-net socket: connect with the last will, the
//! retained `online`, QoS 1 publishing until every PUBACK, a subscription that receives the
//! configuration, keep-alive pings on an idle link, the will `offline` when the link dies, and a
//! refused login.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use halyard_node_core::mqtt::{Event, Options, Session};

struct Broker {
    port: u16,
    child: Child,
    _dir: std::path::PathBuf,
}

impl Broker {
    fn start(extra: &str) -> Broker {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("halyard-node-mqtt-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("mosquitto.conf");
        std::fs::write(&conf, format!("listener {port} 127.0.0.1\n{extra}\n")).unwrap();
        let mut child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto (Debian package, installed by scripts/test.sh)");
        for _ in 0..100 {
            // Listening, and it is this broker: a port picked free can be picked by a test
            // running beside this one too; the broker that lost the race has exited.
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                if child.try_wait().unwrap().is_none() {
                    return Broker { port, child, _dir: dir };
                }
                let _ = std::fs::remove_dir_all(&dir);
                return Broker::start(extra);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("mosquitto did not start");
    }

    /// `mosquitto_sub` for `count` messages on `topic` (retained ones included), as `topic payload`.
    fn sub(&self, topic: &str, count: usize) -> Child {
        Command::new("mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-t",
                topic,
                "-v",
                "-q",
                "1",
                "-C",
                &count.to_string(),
                "-W",
                "20",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn publish(&self, topic: &str, payload: &str) {
        let ok = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-t", topic, "-m", payload, "-q", "1"])
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(child: Child) -> Vec<String> {
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

/// The adapter: a socket and the session, driven until `until` holds for the events seen.
struct Node {
    socket: TcpStream,
    session: Session,
    start: Instant,
    events: Vec<Event>,
}

impl Node {
    fn connect(port: u16, options: Options) -> Node {
        let socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut node = Node { socket, session: Session::new(options), start: Instant::now(), events: Vec::new() };
        let now = node.now();
        node.session.connect(now);
        node
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn run(&mut self, timeout: Duration, until: impl Fn(&[Event]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            let out = self.session.take_output();
            if !out.is_empty() {
                self.socket.write_all(&out).unwrap();
            }
            if until(&self.events) {
                return true;
            }
            match self.socket.read(&mut buf) {
                Ok(0) => return until(&self.events),
                Ok(n) => {
                    let now = self.now();
                    self.session.receive(&buf[..n], now, &mut self.events);
                }
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => panic!("{e}"),
            }
            let now = self.now();
            self.session.poll(now, &mut self.events);
        }
        until(&self.events)
    }
}

fn options(keep_alive_s: u16) -> Options {
    Options {
        client_id: "halyard-node-test".into(),
        root: "halyard".into(),
        keep_alive_s,
        credentials: None,
        subscriptions: vec!["halyard/node/test/config/set".into()],
    }
}

#[test]
fn publish_subscribe_keep_alive_and_the_will() {
    let broker = Broker::start("allow_anonymous true");
    let mut node = Node::connect(broker.port, options(2));
    assert!(node.run(Duration::from_secs(5), |e| e.contains(&Event::Subscribed(vec![1]))), "{:?}", node.events);
    assert!(matches!(node.events[0], Event::Connected { session_present: false }));
    // `online`, retained: a subscriber arriving later still sees it.
    assert_eq!(lines(broker.sub("halyard/status", 1)), ["halyard/status online"]);

    // QoS 1: every message is delivered and acknowledged, in order, with the window respected.
    let sub = broker.sub("halyard/port-mppt/#", 40);
    std::thread::sleep(Duration::from_millis(300));
    let mut ids = Vec::new();
    for i in 0..40 {
        loop {
            let now = node.now();
            match node.session.publish(
                &format!("halyard/port-mppt/m{i:02}"),
                format!("{}", f64::from(i) * 0.5).as_bytes(),
                1,
                false,
                now,
            ) {
                Ok(id) => {
                    ids.push(id.unwrap());
                    break;
                }
                Err(halyard_node_core::mqtt::PublishError::WindowFull) => {
                    assert!(node.run(Duration::from_secs(5), |e| e.iter().any(|e| matches!(e, Event::Delivered(_)))));
                    node.events.clear();
                }
                Err(e) => panic!("{e:?}"),
            }
        }
    }
    for _ in 0..100 {
        if node.session.in_flight() == 0 {
            break;
        }
        node.run(Duration::from_millis(100), |_| false);
    }
    assert_eq!(node.session.in_flight(), 0, "every PUBACK arrived");
    let got = lines(sub);
    let expected: Vec<String> = (0..40).map(|i| format!("halyard/port-mppt/m{i:02} {}", f64::from(i) * 0.5)).collect();
    assert_eq!(got, expected);
    assert_eq!(ids.len(), 40);

    // The configuration topic: a message published by someone else reaches the node.
    node.events.clear();
    broker.publish("halyard/node/test/config/set", "led = on");
    let heard = |e: &[Event]| {
        e.iter().any(
            |e| matches!(e, Event::Message(m) if m.topic == "halyard/node/test/config/set" && m.payload == b"led = on"),
        )
    };
    assert!(node.run(Duration::from_secs(5), heard), "{:?}", node.events);

    // Idle for three keep-alives (2 s): the pings keep the connection (no timeout, no drop).
    node.events.clear();
    node.run(Duration::from_secs(6), |_| false);
    assert!(!node.events.contains(&Event::TimedOut) && node.session.is_connected(), "{:?}", node.events);

    // The link dies without DISCONNECT: Mosquitto publishes the will, retained.
    let sub = broker.sub("halyard/status", 2);
    std::thread::sleep(Duration::from_millis(300));
    node.socket.shutdown(std::net::Shutdown::Both).unwrap();
    drop(node);
    assert_eq!(lines(sub), ["halyard/status online", "halyard/status offline"]);
    assert_eq!(lines(broker.sub("halyard/status", 1)), ["halyard/status offline"], "retained");
}

#[test]
fn a_clean_goodbye_and_a_refused_login() {
    let dir = std::env::temp_dir().join(format!("halyard-node-pw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let passwords = dir.join("passwords");
    std::fs::write(&passwords, "").unwrap();
    let ok = Command::new("mosquitto_passwd").arg("-b").arg(&passwords).args(["node", "s3cret-pass"]).status().unwrap();
    assert!(ok.success());
    let broker = Broker::start(&format!("allow_anonymous false\npassword_file {}", passwords.display()));
    let mut wrong = options(30);
    wrong.credentials = Some(("node".into(), "wrong".into()));
    let mut node = Node::connect(broker.port, wrong);
    assert!(
        node.run(Duration::from_secs(5), |e| e.iter().any(|e| matches!(e, Event::Refused(_)))),
        "{:?}",
        node.events
    );
    assert!(matches!(node.events[0], Event::Refused(5)), "not authorised: {:?}", node.events);

    let mut right = options(30);
    right.credentials = Some(("node".into(), "s3cret-pass".into()));
    let mut node = Node::connect(broker.port, right);
    assert!(node.run(Duration::from_secs(5), |e| e.iter().any(|e| matches!(e, Event::Connected { .. }))));
    // Disconnecting cleanly says `offline` itself.
    node.session.disconnect();
    node.run(Duration::from_millis(300), |_| false);
    let sub = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &broker.port.to_string(),
            "-u",
            "node",
            "-P",
            "s3cret-pass",
            "-t",
            "halyard/status",
            "-v",
            "-C",
            "1",
            "-W",
            "10",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(lines(sub), ["halyard/status offline"]);
}
