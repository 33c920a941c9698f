//! Live MasterBus transports through the real binary: an SLCAN adapter on a pseudo-terminal with
//! a MasterShunt emulator behind it, and a CAN-Ethernet gateway on loopback that drops its socket.
//!
//! The emulator answers as the real shunt did: every reply comes from the recorded request/reply
//! pairs of the public captures (tests/fixtures/masterbus), nothing is made up.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use halyard_proto::can::capture::Capture;
use halyard_proto::can::{ecan, slcan, Frame, Id, Received};
use serde_json::Value;

const SHUNT_NODE: u32 = 0x6F_1297;

fn fixture(name: &str) -> String {
    format!("{}/../halyard-proto/tests/fixtures/masterbus/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn frames(name: &str) -> Vec<Frame> {
    let bytes = std::fs::read(fixture(name)).unwrap();
    Capture::new(&bytes)
        .unwrap()
        .filter_map(|p| match p.unwrap().received {
            Received::Frame(f) => Some(f),
            Received::Error(_) => None,
        })
        .collect()
}

fn raw_id(f: &Frame) -> u32 {
    f.id().raw()
}

/// The shunt, as recorded: request (id, data) → the replies it gave, in order.
struct ShuntEmulator {
    replies: HashMap<(u32, Vec<u8>), Vec<Frame>>,
    served: HashMap<(u32, Vec<u8>), usize>,
    announcement: Frame,
}

impl ShuntEmulator {
    fn from_captures() -> Self {
        let mut replies: HashMap<(u32, Vec<u8>), Vec<Frame>> = HashMap::new();
        let mut announcement = None;
        for name in
            ["menus_dcshunt_masterview_masscombi_masterview2.pcap", "bootup_dcshunt_masterview.pcap", "date_time.pcap"]
        {
            let mut last_request: Option<Frame> = None;
            for f in frames(name) {
                let id = raw_id(&f);
                let to_shunt = id & 0x7F_FFFF == SHUNT_NODE;
                let is_request = id >> 24 & 0x10 != 0 || id >> 24 == 0x07;
                if to_shunt && id >> 24 == 0x04 {
                    announcement = Some(f);
                } else if to_shunt && is_request {
                    last_request = Some(f);
                } else if to_shunt {
                    if let Some(req) = last_request.take() {
                        replies.entry((raw_id(&req), req.data().to_vec())).or_default().push(f);
                    }
                }
            }
        }
        ShuntEmulator { replies, served: HashMap::new(), announcement: announcement.unwrap() }
    }

    fn answer(&mut self, request: &Frame) -> Option<Frame> {
        let key = (raw_id(request), request.data().to_vec());
        let options = self.replies.get(&key)?;
        let n = self.served.entry(key).or_default();
        let reply = options[*n % options.len()];
        *n += 1;
        Some(reply)
    }
}

fn slcan_line(f: &Frame) -> Vec<u8> {
    let mut out = [0u8; slcan::MAX_LINE + 1];
    let n = slcan::encode_frame(f, &mut out).unwrap();
    out[..n].to_vec()
}

struct AdapterLog {
    commands: Vec<slcan::Command>,
    transmitted: Vec<Frame>,
}

/// Run halyard against an emulated SLCAN adapter; returns its stdout lines and what it sent.
fn run_on_pty(extra: &[&str], seconds: &str) -> (Vec<Value>, String, AdapterLog) {
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut termios = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
    nix::sys::termios::cfmakeraw(&mut termios);
    nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &termios).unwrap();
    let path = std::fs::read_link(format!("/proc/self/fd/{}", pty.slave.as_raw_fd())).unwrap();
    let flags = nix::fcntl::fcntl(pty.master.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFL).unwrap();
    let flags = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(pty.master.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(flags)).unwrap();
    let mut master = std::fs::File::from(pty.master);

    let source = format!("slcan:{}", path.display());
    let mut args = vec!["masterbus", "listen", &source, "--duration", seconds];
    args.extend_from_slice(extra);
    let child = Command::new(env!("CARGO_BIN_EXE_halyard"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let mut emulator = ShuntEmulator::from_captures();
    let mut decoder = slcan::Decoder::new();
    let mut log = AdapterLog { commands: vec![], transmitted: vec![] };
    let start = Instant::now();
    let mut announced = false;
    let limit = Duration::from_secs_f64(seconds.parse::<f64>().unwrap() + 1.0);
    while start.elapsed() < limit {
        let mut buf = [0u8; 512];
        let n = match master.read(&mut buf) {
            Ok(n) => n,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(1));
                0
            }
        };
        let mut reply = Vec::new();
        for &b in &buf[..n] {
            match decoder.push(b) {
                Some(Ok(slcan::Event::Command(c))) => {
                    log.commands.push(c);
                    reply.push(b'\r');
                    if matches!(c, slcan::Command::Open | slcan::Command::ListenOnly) && !announced {
                        announced = true;
                        // Line noise first: it must be counted and skipped.
                        reply.extend_from_slice(b"garbage!\rT12\r");
                        reply.extend(slcan_line(&emulator.announcement));
                    }
                }
                Some(Ok(slcan::Event::Frame { frame, .. })) => {
                    log.transmitted.push(frame);
                    reply.extend_from_slice(b"Z\r");
                    if let Some(answer) = emulator.answer(&frame) {
                        reply.extend(slcan_line(&answer));
                    }
                }
                _ => {}
            }
        }
        if !reply.is_empty() {
            master.write_all(&reply).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (lines, String::from_utf8(out.stderr).unwrap(), log)
}

#[test]
fn passive_listening_never_transmits() {
    let (lines, _, log) = run_on_pty(&[], "1.5");
    assert!(log.commands.contains(&slcan::Command::ListenOnly), "{:?}", log.commands);
    assert!(!log.commands.contains(&slcan::Command::Open));
    assert_eq!(
        log.commands.iter().find(|c| matches!(c, slcan::Command::Bitrate(_))),
        Some(&slcan::Command::Bitrate(5))
    );
    assert!(log.transmitted.is_empty(), "read-only by default, but sent {:?}", log.transmitted);
    let device = lines.iter().find(|l| l["event"] == "device").unwrap();
    assert_eq!((device["device"].as_str(), device["type_name"].as_str()), (Some("0x31297"), Some("MasterShunt")));
    let inventory = lines.last().unwrap();
    assert!(inventory["counters"]["bad_records"].as_u64().unwrap() >= 2, "garbage counted: {inventory}");
}

#[test]
fn active_discovery_and_polling_against_the_shunt_emulator() {
    let (lines, stderr, log) = run_on_pty(&["--active", "--poll", "0x31297:0x0001@0.2"], "5");
    assert!(log.commands.contains(&slcan::Command::Open), "{stderr}");
    // Discovery learned the shunt's name and its fields from its own answers.
    let named = lines.iter().find(|l| l["event"] == "named").unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(named["name"], "MSH HovseBatShun");
    let inventory = lines.last().unwrap();
    let shunt = inventory["devices"].as_array().unwrap().iter().find(|d| d["device"] == "0x31297").unwrap();
    let fields = &shunt["fields"];
    assert_eq!(fields["0x0000"]["name"], "State of Charge");
    assert_eq!(fields["0x0001"]["unit"], "V");
    // The polled item: values as the shunt recorded them, named by its metadata.
    let volts: Vec<&Value> = lines.iter().filter(|l| l["item"] == "0x0001" && l["device"] == "0x31297").collect();
    assert!(volts.len() >= 5, "{} replies", volts.len());
    assert!(volts
        .iter()
        .all(|v| (11.0..15.0).contains(&v["value"].as_f64().unwrap()) && v["metric"] == "battery_voltage"));
    // Every frame halyard sent was a request or its own announcement; never a write.
    for f in &log.transmitted {
        let Id::Extended(id) = f.id() else { panic!() };
        let class = id >> 24;
        assert!(class == 0x04 || class == 0x07 || class == 0x18 || class == 0x19, "{f:?}");
        assert!(!(class == 0x18 && f.data().len() == 6), "a write was sent: {f:?}");
    }
}

#[test]
fn gateway_that_drops_the_socket_is_reconnected() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_halyard"))
        .args(["masterbus", "listen", &format!("ecan:{addr}"), "--duration", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let replies: Vec<Frame> =
        frames("volts_amps_only.pcap").into_iter().filter(|f| raw_id(f) == 0x086F_1297).take(20).collect();
    for (round, chunk) in replies.chunks(10).enumerate() {
        let (mut socket, _) = server.accept().unwrap();
        let mut stream = Vec::new();
        if round == 1 {
            stream.extend_from_slice(&[0xFF; 5]); // out of step: must resynchronise
        }
        for f in chunk {
            stream.extend_from_slice(&ecan::encode(f));
        }
        // Written in odd-sized pieces, as TCP may deliver them.
        for piece in stream.chunks(7) {
            socket.write_all(piece).unwrap();
        }
        std::thread::sleep(Duration::from_millis(200));
        drop(socket);
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let values: Vec<Value> =
        stdout.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).filter(|l| l.get("item").is_some()).collect();
    assert_eq!(values.len(), 20, "every frame from both connections\n{stderr}");
    assert!(stderr.contains("lost"), "the drop was logged: {stderr}");
    let inventory: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(inventory["counters"]["bad_records"].as_u64().unwrap() >= 1);
}
