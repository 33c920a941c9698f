//! `halyard setup` against emulated hardware on pseudo-terminals: a VE.Direct MPPT that only
//! makes sense at 19,200 baud, an NMEA GPS that only makes sense at 4,800, an SLCAN adapter that
//! acknowledges its commands and then plays recorded MasterBus traffic (a public capture), and
//! Victron adverts from a simulated boat's recording behind the same "advert + address" seam as
//! BlueZ. Each emulated device checks the line speed the probe set and sends what a UART at the
//! wrong speed would deliver (bytes that are not its protocol) otherwise.

mod support;

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use halyard_proto::can::capture::Capture;
use halyard_proto::can::{slcan, Received};
use support::{halyard, mppt_block, Scratch};

/// The line speed a pseudo-terminal was set to (termios2 carries any speed).
fn line_speed(fd: &impl AsFd) -> u32 {
    use nix::libc;
    let mut t: libc::termios2 = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::ioctl(fd.as_fd().as_raw_fd(), libc::TCGETS2, &mut t) };
    assert_eq!(r, 0, "TCGETS2");
    t.c_ospeed
}

/// An emulated device on a pseudo-terminal, linked at `link`.
struct Device {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl Device {
    /// Sends `message()` every `every` while the line is at `baud`, noise otherwise; `answer`
    /// sees what the host writes and may reply.
    fn start(
        link: &Path,
        baud: u32,
        every: Duration,
        mut message: impl FnMut() -> Vec<u8> + Send + 'static,
        mut answer: impl FnMut(&[u8]) -> Vec<u8> + Send + 'static,
    ) -> Device {
        let pty = nix::pty::openpty(None, None).unwrap();
        for fd in [pty.master.as_raw_fd(), pty.slave.as_raw_fd()] {
            nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC)).unwrap();
        }
        let mut termios = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
        nix::sys::termios::cfmakeraw(&mut termios);
        nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &termios).unwrap();
        let flags = nix::fcntl::fcntl(pty.master.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFL).unwrap();
        let flags = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
        nix::fcntl::fcntl(pty.master.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(flags)).unwrap();
        let path = std::fs::read_link(format!("/proc/self/fd/{}", pty.slave.as_raw_fd())).unwrap();
        let _ = std::fs::remove_file(link);
        std::os::unix::fs::symlink(path, link).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let slave = pty.slave;
            let mut master = std::fs::File::from(pty.master);
            let mut received = Vec::new();
            let mut next = Instant::now();
            let mut noise = 0x5Au8;
            while !stopping.load(Ordering::Relaxed) {
                let mut buf = [0u8; 256];
                if let Ok(n) = master.read(&mut buf) {
                    if n > 0 {
                        received.extend_from_slice(&buf[..n]);
                        let reply = answer(&buf[..n]);
                        let _ = master.write_all(&reply);
                    }
                }
                if Instant::now() >= next {
                    next += every;
                    let bytes = if line_speed(&slave) == baud {
                        message()
                    } else {
                        // A UART at the wrong speed: framing garbage, no line structure.
                        (0..64)
                            .map(|_| {
                                noise = noise.rotate_left(3) ^ 0xA7;
                                noise | 0x80
                            })
                            .collect()
                    };
                    let _ = master.write_all(&bytes);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            drop(slave);
            received
        });
        Device { stop, thread: Some(thread) }
    }

    /// Stop; what the host wrote.
    fn stop(mut self) -> Vec<u8> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn nmea(body: &str) -> String {
    let sum = body.bytes().fold(0u8, |a, b| a ^ b);
    format!("${body}*{sum:02X}\r\n")
}

fn gps() -> Vec<u8> {
    [
        nmea("GPRMC,120000.00,A,4317.000,N,00522.000,E,0.1,0.0,210626,,,A"),
        nmea("GPGGA,120000.00,4317.000,N,00522.000,E,1,08,0.9,3.0,M,49.0,M,,"),
    ]
    .concat()
    .into_bytes()
}

/// The recorded MasterBus traffic of a boot of a MasterShunt, a MasterView and a Mass Combi, as
/// SLCAN lines.
fn masterbus_lines() -> Vec<Vec<u8>> {
    let path = format!(
        "{}/../halyard-proto/tests/fixtures/masterbus/bootup_dcshunt_masterview_masscombi.pcap",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(path).unwrap();
    Capture::new(&bytes)
        .unwrap()
        .filter_map(|p| match p.unwrap().received {
            Received::Frame(f) => {
                let mut out = [0u8; slcan::MAX_LINE + 1];
                let n = slcan::encode_frame(&f, &mut out).unwrap();
                Some(out[..n].to_vec())
            }
            Received::Error(_) => None,
        })
        .collect()
}

/// An SLCAN adapter: OK to every command, and once opened the recorded bus, 40 frames at a time.
fn slcan_adapter(link: &Path) -> Device {
    let lines = masterbus_lines();
    let open = Arc::new(AtomicBool::new(false));
    let opened = open.clone();
    let mut at = 0;
    let mut decoder = slcan::Decoder::new();
    Device::start(
        link,
        // USB CDC adapters ignore the line speed; the probe sets 115,200 for them.
        115_200,
        Duration::from_millis(20),
        move || {
            if !opened.load(Ordering::Relaxed) {
                return Vec::new();
            }
            let mut out = Vec::new();
            for _ in 0..40 {
                out.extend(&lines[at % lines.len()]);
                at += 1;
            }
            out
        },
        move |bytes| {
            let mut reply = Vec::new();
            for &b in bytes {
                match decoder.push(b) {
                    Some(Ok(slcan::Event::Command(c))) => {
                        match c {
                            slcan::Command::ListenOnly => open.store(true, Ordering::Relaxed),
                            slcan::Command::Open => panic!("setup opened the adapter in active mode"),
                            slcan::Command::Close => open.store(false, Ordering::Relaxed),
                            _ => {}
                        }
                        reply.push(b'\r');
                    }
                    Some(Ok(slcan::Event::Frame { .. })) => panic!("setup transmitted a frame"),
                    _ => {}
                }
            }
            reply
        },
    )
}

fn vedirect_mppt(link: &Path) -> Device {
    Device::start(link, 19_200, Duration::from_secs(1), || mppt_block("HQ2245ABCDE", 13_250, 120), |_| Vec::new())
}

fn gps_receiver(link: &Path) -> Device {
    Device::start(link, 4_800, Duration::from_millis(500), gps, |_| Vec::new())
}

/// The simulated boat's recording and its configuration's devices (address → key).
fn simulated_boat(s: &Scratch) -> (std::path::PathBuf, Vec<(String, String)>) {
    let out = halyard()
        .args(["sim", "--days", "1", "--period", "60", "--nav-period", "0", "--out", s.path("sim").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config: toml::Table = toml::from_str(&std::fs::read_to_string(s.path("sim/halyard.toml")).unwrap()).unwrap();
    let keys = config["device"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| Some((d.get("mac")?.as_str()?.to_owned(), d.get("key")?.as_str()?.to_owned())))
        .collect();
    (s.path("sim/boat.hrec"), keys)
}

#[test]
fn setup_finds_the_devices_checks_the_key_and_writes_a_file_that_runs() {
    let s = Scratch::new("setup-yes");
    let (recording, keys) = simulated_boat(&s);
    let (mac, key) = keys[0].clone();
    let ve = vedirect_mppt(&s.path("ve"));
    let gps = gps_receiver(&s.path("gps"));
    let can = slcan_adapter(&s.path("can"));
    let config = s.path("etc/halyard.toml");
    let out = halyard()
        .args(["setup", "--yes", "--only-given-ports", "--listen-seconds", "6", "-c", config.to_str().unwrap()])
        .args(["--port", s.path("ve").to_str().unwrap(), "--port", s.path("gps").to_str().unwrap()])
        .args(["--port", s.path("can").to_str().unwrap(), "--port", s.path("gone").to_str().unwrap()])
        .args(["--adverts", recording.to_str().unwrap(), "--key", &format!("{mac}={key}")])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let adapter_heard = can.stop();
    drop((ve, gps));
    // Kept for the record (target/tmp): what a user sees.
    std::fs::write(Path::new(env!("CARGO_TARGET_TMPDIR")).join("setup-transcript.txt"), &stdout).unwrap();

    // What it found, in its words.
    let mppt = halyard_proto::victron::product_name(0xA053).unwrap();
    assert!(stdout.contains(&format!("VE.Direct: {mppt} (PID 0xA053), serial HQ2245ABCDE")), "{stdout}");
    assert!(stdout.contains("NMEA 0183 at 4800 baud: GPGGA GPRMC"), "{stdout}");
    assert!(stdout.contains("SLCAN CAN adapter, MasterBus:") && stdout.contains("(0x31297)"), "{stdout}");
    assert!(stdout.contains("gone (unplugged?)"), "a missing port is reported: {stdout}");
    for (m, _) in &keys {
        assert!(stdout.contains(m.as_str()), "every advertising device is listed ({m}): {stdout}");
    }
    // Listen-only: the adapter saw the listen-only open and never a transmit command.
    assert!(adapter_heard.windows(2).any(|w| w == b"L\r"), "{:?}", String::from_utf8_lossy(&adapter_heard));

    // The file: sources, devices, the key in its own 0600 file.
    let text = std::fs::read_to_string(&config).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(table["vedirect"][0]["port"].as_str(), Some(s.path("ve").to_str().unwrap()));
    assert_eq!(table["nmea"][0]["source"].as_str(), Some(format!("serial:{}@4800", s.path("gps").display()).as_str()));
    assert_eq!(table["masterbus"][0]["source"].as_str(), Some(format!("slcan:{}", s.path("can").display()).as_str()));
    let devices = table["device"].as_array().unwrap();
    let named = |field: &str, value: &str| {
        devices
            .iter()
            .find(|d| d.get(field).and_then(|v| v.as_str()) == Some(value))
            .unwrap_or_else(|| panic!("{text}"))
    };
    assert_eq!(named("serial", "HQ2245ABCDE")["role"].as_str(), Some("solar"));
    assert_eq!(named("masterbus", "0x31297")["role"].as_str(), Some("battery"));
    let keyed = named("mac", &mac)["name"].as_str().unwrap().to_owned();
    assert!(!text.contains(&key), "the key stays out of the main file");
    let keys_file = s.path("etc/keys.toml");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&keys_file).unwrap().permissions().mode() & 0o777, 0o600);
    let keys_table: toml::Table = toml::from_str(&std::fs::read_to_string(&keys_file).unwrap()).unwrap();
    assert_eq!(keys_table["keys"][&mac].as_str(), Some(key.as_str()));

    // It runs: the check, and the recording decoded through it names the keyed device.
    let check = halyard().args(["run", "--check", "-c", config.to_str().unwrap()]).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(stdout.contains(&String::from_utf8_lossy(&check.stdout).into_owned()), "setup ends with the check's view");
    let port = support::free_port();
    let runnable = format!(
        "data_dir = \"{}\"\n{text}\n[mqtt]\nmdns = false\n[broker]\nlisten = \"127.0.0.1:{port}\"\n[web]\nlisten = \"\"\n[metrics]\nlisten = \"\"\n",
        s.path("data").display()
    );
    let replay_config = s.path("replay.toml");
    std::fs::write(&replay_config, runnable).unwrap();
    let excerpt: String =
        std::fs::read_to_string(&recording).unwrap().lines().take(3000).map(|l| format!("{l}\n")).collect();
    std::fs::write(s.path("excerpt.hrec"), excerpt).unwrap();
    let replay = halyard()
        .args(["replay", "--max-speed", "--print", "-c", replay_config.to_str().unwrap()])
        .arg(s.path("excerpt.hrec"))
        .output()
        .unwrap();
    assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
    let printed = String::from_utf8_lossy(&replay.stdout);
    let values = printed
        .lines()
        .filter(|l| l.starts_with(&format!("halyard/{keyed}/")))
        .filter(|l| l.split_once(' ').is_some_and(|(_, v)| v.parse::<f64>().is_ok()))
        .count();
    assert!(values > 10, "the keyed device decodes under its new name `{keyed}`: {values} values");
}

#[test]
fn a_wrong_key_is_refused_and_nothing_is_written() {
    let s = Scratch::new("setup-wrong-key");
    let (recording, keys) = simulated_boat(&s);
    let (mac, _) = &keys[0];
    let (_, other_key) = &keys[1];
    let config = s.path("halyard.toml");
    let out = halyard()
        .args(["setup", "--yes", "--only-given-ports", "--listen-seconds", "1", "-c", config.to_str().unwrap()])
        .args(["--adverts", recording.to_str().unwrap(), "--key", &format!("{mac}={other_key}")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("this key does not match {mac}: check the device")), "{stderr}");
    assert!(!stderr.contains(other_key.as_str()), "the key is never echoed: {stderr}");
    assert!(!config.exists());
}

#[test]
fn a_port_that_vanishes_mid_scan_is_reported_not_fatal() {
    let s = Scratch::new("setup-vanish");
    let link = s.path("flaky");
    let device = Device::start(&link, 9_999_999, Duration::from_millis(50), Vec::new, |_| Vec::new());
    let config = s.path("halyard.toml");
    let child = halyard()
        .args(["setup", "--yes", "--only-given-ports", "--listen-seconds", "4", "-c", config.to_str().unwrap()])
        .args(["--port", link.to_str().unwrap(), "--adverts", "/dev/null"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    device.stop(); // the master closes: the line hangs up, as an unplugged USB adapter does
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("unplugged during the scan"), "{stdout}");
    assert!(config.exists(), "setup went on and wrote the file");
}

/// The interactive path in a real terminal (tmux): a mistyped key is refused at the prompt with
/// the device's address, the right one accepted, names proposed, the file written.
#[test]
fn interactive_setup_in_a_terminal() {
    let s = Scratch::new("setup-tmux");
    let (recording, keys) = simulated_boat(&s);
    let (mac, key) = keys[0].clone();
    let (_, wrong) = keys[1].clone();
    let config = s.path("halyard.toml");
    let session = format!("halyard-setup-{}", std::process::id());
    let tmux = |args: &[&str]| {
        let out = Command::new("tmux").args(args).output().expect("tmux is needed: apt-get install tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let command = format!(
        "{} setup --only-given-ports --listen-seconds 1 -c {} --adverts {}; echo SETUP-EXIT=$?; sleep 30",
        env!("CARGO_BIN_EXE_halyard"),
        config.display(),
        recording.display()
    );
    tmux(&["new-session", "-d", "-s", &session, "-x", "200", "-y", "50", &command]);
    let pane = || tmux(&["capture-pane", "-p", "-J", "-S", "-200", "-t", &session]);
    let wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = pane();
            if text.contains(needle) {
                return text;
            }
            assert!(Instant::now() < deadline, "waited for `{needle}`:\n{text}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let send = |keys: &str| {
        tmux(&["send-keys", "-t", &session, "-l", keys]);
        tmux(&["send-keys", "-t", &session, "Enter"]);
    };
    wait_for(&format!("{mac}: its Instant Readout key"));
    send(&wrong);
    wait_for(&format!("this key does not match {mac}: check the device"));
    // dialoguer keeps the refused text for editing: clear it, then type the right key.
    tmux(&["send-keys", "-t", &session, "C-u"]);
    for _ in 0..40 {
        tmux(&["send-keys", "-t", &session, "BSpace"]);
    }
    send(&key);
    // Every other device: no key now (empty), and each proposed name taken as it is.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = pane();
        if text.contains("SETUP-EXIT=") {
            break;
        }
        assert!(Instant::now() < deadline, "setup did not finish:\n{text}");
        let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
        if last.contains("key:") || last.contains("name for") || last.contains("Write this to") {
            if last.contains("Write this to") {
                tmux(&["send-keys", "-t", &session, "y"]);
            }
            tmux(&["send-keys", "-t", &session, "Enter"]);
            std::thread::sleep(Duration::from_millis(300));
        } else {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let transcript = pane();
    tmux(&["kill-session", "-t", &session]);
    std::fs::write(Path::new(env!("CARGO_TARGET_TMPDIR")).join("setup-tmux-transcript.txt"), &transcript).unwrap();
    assert!(transcript.contains("SETUP-EXIT=0"), "{transcript}");
    let keys_table: toml::Table = toml::from_str(&std::fs::read_to_string(s.path("keys.toml")).unwrap()).unwrap();
    assert_eq!(keys_table["keys"][&mac].as_str(), Some(key.as_str()), "{transcript}");
    assert_eq!(keys_table["keys"].as_table().unwrap().len(), 1, "skipped devices have no key");
    let check = halyard().args(["run", "--check", "-c", config.to_str().unwrap()]).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
}
