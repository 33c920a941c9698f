//! Test harness for the gateway: a real Mosquitto on a loopback port, `mosquitto_sub` as the
//! independent client, pseudo-terminals as VE.Direct cables, and the real `halyard` binary.
#![allow(dead_code)]

pub mod node;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The gateway tests run one at a time: they measure timing (a replugged port resumes within
/// 2 s, another never pauses), which parallel runs on two cores would distort.
pub static SERIAL: Mutex<()> = Mutex::new(());

/// Take the lock even if an earlier test panicked while holding it.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A scratch directory, removed at the end.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("halyard-it-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Mosquitto started as root drops to its own user; it must be able to write here.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        Scratch(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A free loopback TCP port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn wait_port(port: u16, up: bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() == up {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("port {port} never became {}", if up { "reachable" } else { "free" });
}

fn terminate(child: &mut Child) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Mosquitto on a loopback port, with persistence (so that a restart keeps sessions).
pub struct Mosquitto {
    pub port: u16,
    conf: PathBuf,
    child: Option<Child>,
}

impl Mosquitto {
    pub fn start(dir: &Path, extra: &str) -> Mosquitto {
        let port = free_port();
        let conf = dir.join("mosquitto.conf");
        let store = dir.join("mosquitto-store");
        std::fs::create_dir_all(&store).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o777)).unwrap();
        let anonymous = if extra.contains("password_file") { "" } else { "allow_anonymous true\n" };
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\n{anonymous}persistence true\npersistence_location {}/\nmax_queued_messages 100000\n{extra}",
                store.display()
            ),
        )
        .unwrap();
        let mut m = Mosquitto { port, conf, child: None };
        m.restart();
        m
    }

    pub fn restart(&mut self) {
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto (Debian package mosquitto) is installed by scripts/test.sh");
        self.child = Some(child);
        wait_port(self.port, true);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c);
        }
        wait_port(self.port, false);
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One received message.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub topic: String,
    pub payload: String,
    /// Delivered from the broker's retained store (on subscribing), not as a live publish.
    pub retained: bool,
}

/// `mosquitto_sub -v` collecting every message.
pub struct Subscriber {
    child: Child,
    pub messages: Arc<Mutex<Vec<Received>>>,
}

impl Subscriber {
    /// Subscribe to `#`. `session` names a persistent QoS 1 session (it survives a broker restart).
    pub fn start(port: u16, session: Option<&str>) -> Subscriber {
        Subscriber::start_with(port, session, &[])
    }

    /// With extra `mosquitto_sub`/`mosquitto_pub` arguments (TLS).
    pub fn start_with(port: u16, session: Option<&str>, extra: &[&str]) -> Subscriber {
        let mut cmd = Command::new("mosquitto_sub");
        cmd.args(["-h", "127.0.0.1", "-p", &port.to_string(), "-v", "-q", "1", "-t", "#", "-N"]).args(extra);
        if let Some(id) = session {
            cmd.args(["-c", "-i", id]);
        }
        // -N leaves out the newline: records are separated by our own marker via -F.
        cmd.args(["-F", "%r %t %p\u{1e}\n"]);
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("mosquitto_sub");
        let out = child.stdout.take().unwrap();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let sink = messages.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(out);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(0x1e, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&buf);
                        let text = text.trim_start_matches('\n').trim_end_matches('\u{1e}');
                        let (flag, rest) = text.split_once(' ').unwrap_or(("0", text));
                        let (topic, payload) = rest.split_once(' ').unwrap_or((rest, ""));
                        let retained = flag == "1";
                        sink.lock().unwrap().push(Received {
                            at: Instant::now(),
                            topic: topic.into(),
                            payload: payload.into(),
                            retained,
                        });
                    }
                }
            }
        });
        // Wait until the subscription is in place: a probe published now comes back.
        let sub = Subscriber { child, messages };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let _ = Command::new("mosquitto_pub")
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", "test/probe", "-m", "probe", "-q", "1"])
                .args(extra)
                .output();
            if sub.wait(Duration::from_millis(300), |m| m.iter().any(|m| m.topic == "test/probe")) {
                break;
            }
            assert!(Instant::now() < deadline, "mosquitto_sub never subscribed");
        }
        sub
    }

    /// Payloads published live on `topic`, in order (not the broker's retained copies, which it
    /// sends again whenever a client subscribes).
    pub fn payloads(&self, topic: &str) -> Vec<String> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.topic == topic && !m.retained)
            .map(|m| m.payload.clone())
            .collect()
    }

    /// Wait until `pred` holds for the messages so far.
    pub fn wait(&self, timeout: Duration, pred: impl Fn(&[Received]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if pred(&self.messages.lock().unwrap()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        pred(&self.messages.lock().unwrap())
    }

    pub fn all(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `halyard` binary under test, running.
pub struct Halyard {
    child: Child,
    pub log: Arc<Mutex<String>>,
}

pub fn halyard() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_halyard"));
    cmd.env("RUST_LOG", "info").env("NO_COLOR", "1").env_remove("HALYARD_CONFIG");
    cmd
}

impl Halyard {
    pub fn start(args: &[&str]) -> Halyard {
        let mut cmd = halyard();
        cmd.args(args);
        Halyard::spawn(cmd)
    }

    /// Start a prepared command (extra environment), its output collected as the log.
    pub fn spawn(mut cmd: Command) -> Halyard {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        for stream in
            [Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>, Box::new(child.stdout.take().unwrap())]
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    let mut l = log.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        Halyard { child, log }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn wait_log(&self, timeout: Duration, needle: &str) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, wait, return the log.
    pub fn stop(mut self) -> String {
        terminate(&mut self.child);
        std::thread::sleep(Duration::from_millis(100));
        self.log()
    }
}

impl Drop for Halyard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pseudo-terminal standing in for a VE.Direct cable, reachable at a fixed symlink path so
/// that "unplugging" and "replugging" keeps the configured port name.
pub struct Tty {
    pub master: File,
    _slave: OwnedFd,
}

impl Tty {
    pub fn open(link: &Path) -> Tty {
        let pty = nix::pty::openpty(None, None).unwrap();
        // Not inherited by the processes the test starts: otherwise closing the master here
        // would not hang up the line (halyard itself would hold it open).
        for fd in [pty.master.as_raw_fd(), pty.slave.as_raw_fd()] {
            nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC)).unwrap();
        }
        let mut termios = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
        nix::sys::termios::cfmakeraw(&mut termios);
        nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &termios).unwrap();
        let path = std::fs::read_link(format!("/proc/self/fd/{}", pty.slave.as_raw_fd())).unwrap();
        let _ = std::fs::remove_file(link);
        std::os::unix::fs::symlink(path, link).unwrap();
        Tty { master: File::from(pty.master), _slave: pty.slave }
    }

    /// Write at VE.Direct's line speed, 19,200 baud 8N1 = 1,920 bytes/s.
    pub fn write_paced(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(32) {
            self.master.write_all(chunk).unwrap();
            std::thread::sleep(Duration::from_micros(32 * 1_000_000 / 1920));
        }
    }
}

/// A VE.Direct text block of an MPPT with a valid checksum.
pub fn mppt_block(serial: &str, millivolts: u32, panel_watts: u32) -> Vec<u8> {
    let v = millivolts.to_string();
    let ppv = panel_watts.to_string();
    let fields = [
        ("PID", "0xA053"),
        ("FW", "159"),
        ("SER#", serial),
        ("V", v.as_str()),
        ("I", "1500"),
        ("VPV", "36000"),
        ("PPV", ppv.as_str()),
        ("CS", "3"),
        ("ERR", "0"),
        ("H20", "12"),
    ];
    let mut out = [0u8; 512];
    let n = halyard_proto::vedirect::text::encode_block(&fields, &mut out).unwrap();
    out[..n].to_vec()
}

/// A plain HTTP GET on loopback.
pub fn http_get(port: u16, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// The dashboard's front end (`web/`).
pub fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web")
}

/// An HTTP/1.1 exchange on loopback: (status, headers, body).
pub fn http(port: u16, request: &str) -> (u16, String, Vec<u8>) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP answer");
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head, out[split + 4..].to_vec())
}

/// A GET with `extra` header lines: (status, headers, body).
pub fn get(port: u16, path: &str, extra: &str) -> (u16, String, Vec<u8>) {
    http(port, &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n"))
}

/// Fail, saying what to install, when `program` is not on the path.
pub fn need(program: &str, why: &str) {
    let found = Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().unwrap().status.success();
    assert!(found, "{program} is needed for {why} (scripts/test.sh installs it)");
}

/// What the browser tests need (node, Debian's Chromium, playwright-core from npm); Chromium's
/// path.
pub fn browser() -> String {
    need("node", "the browser test");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(Path::new(&chromium).exists(), "{chromium}: Debian's chromium is needed (scripts/test.sh installs it)");
    assert!(
        web_dir().join("node_modules/playwright-core").exists(),
        "web/node_modules/playwright-core is missing: run `npm ci` in web/ (scripts/test.sh does)"
    );
    chromium
}

/// A PostgreSQL cluster of its own (Debian `postgresql`), on a loopback port, trusting local
/// connections. Run as the `postgres` user when the tests run as root (initdb refuses root).
pub struct Postgres {
    pub port: u16,
    child: Child,
}

fn pg_bin(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server (Debian postgresql) is installed by scripts/test.sh")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .collect();
    dirs.sort();
    dirs.pop().expect("a PostgreSQL version").join(name)
}

fn as_postgres(program: PathBuf) -> Command {
    if nix::unistd::Uid::effective().is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl Postgres {
    pub fn start(dir: &Path) -> Postgres {
        let data = dir.join("pgdata");
        let out = as_postgres(pg_bin("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["--auth=trust", "-U", "postgres", "--encoding=UTF8", "--no-sync"])
            .output()
            .unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let port = free_port();
        let child = as_postgres(pg_bin("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .arg("-k")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_port(port, true);
        // Accepting TCP is not yet accepting queries.
        std::thread::sleep(Duration::from_millis(500));
        Postgres { port, child }
    }

    pub fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// The Python interpreter of the virtual environment holding the official package (PyPI
/// `meshtastic`), which scripts/test.sh makes in target/meshtastic-venv.
pub fn official_python() -> PathBuf {
    let python = std::env::var_os("HALYARD_MESHTASTIC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/meshtastic-venv/bin/python"));
    assert!(
        python.exists(),
        "{} missing: scripts/test.sh installs the official `meshtastic` Python package there",
        python.display()
    );
    python
}

/// `meshtastic_official.py vectors DIR --seed N`: messages made by the official package.
pub fn official_vectors(dir: &Path, seed: u32) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/meshtastic_official.py");
    let out = std::process::Command::new(official_python())
        .arg(&script)
        .arg("vectors")
        .arg(dir)
        .args(["--seed", &seed.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `meshtastic_official.py radio`: a radio played by the official package on a loopback port,
/// answering with `vectors`' node database and packets; its stdout says, at the end, what the
/// client sent. Returns the process and the port.
pub fn official_radio(dir: &Path, vectors: &Path) -> (Child, u16) {
    let port_file = dir.join("radio-port");
    let mut radio = Command::new(official_python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/meshtastic_official.py"))
        .arg("radio")
        .arg(&port_file)
        .arg(vectors)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if let Some(port) = std::fs::read_to_string(&port_file).ok().and_then(|p| p.trim().parse().ok()) {
            return (radio, port);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = radio.kill();
    let _ = radio.wait();
    panic!("the official radio did not start");
}

/// A simulated boat's `halyard.toml` without its own `data_dir`, for a test to put its own.
pub fn sim_config(text: String) -> String {
    text.lines().filter(|l| !l.starts_with("data_dir = ")).map(|l| format!("{l}\n")).collect()
}

/// A GGA sentence at 12:MM:SS (`second` after noon) with a fix at `lat`, `lon` (north, east).
pub fn gga(second: u32, lat: f64, lon: f64) -> String {
    let (ld, lm) = (lat.trunc(), (lat - lat.trunc()) * 60.0);
    let (od, om) = (lon.trunc(), (lon - lon.trunc()) * 60.0);
    let body = format!(
        "GPGGA,12{:02}{:02}.00,{:02}{:08.5},N,{:03}{:08.5},E,1,08,0.9,5.0,M,40.0,M,,",
        second / 60,
        second % 60,
        ld as u32,
        lm,
        od as u32,
        om
    );
    let sum = body.bytes().fold(0u8, |a, b| a ^ b);
    format!("${body}*{sum:02X}\r\n")
}

/// A point `d` m from `(lat, lon)` on true bearing `b`: a local flat earth, within centimetres
/// at these distances, independent of Halyard's geodesic.
pub fn offset(lat: f64, lon: f64, d: f64, b: f64) -> (f64, f64) {
    let m_per_deg = 111_320.0;
    let b = b.to_radians();
    (lat + d * b.cos() / m_per_deg, lon + d * b.sin() / (m_per_deg * lat.to_radians().cos()))
}

/// CPU seconds (user + system) a process has used.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).unwrap().unwrap() as f64
}
