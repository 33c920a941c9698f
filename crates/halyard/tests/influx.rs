//! The InfluxDB sink against the real server: Debian's `influxdb` (1.x) on loopback ports, its
//! own data folder, started and stopped by the test. InfluxQL aggregates are compared with the
//! store's own SQLite (the independent truth: both come from the same replay through different
//! code), `halyard export influx` back-fills a second database that must answer the same, and an
//! outage, a SIGKILL during one, and a batch InfluxDB refuses lose nothing else.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::*;

/// An InfluxDB 1.x server of its own.
struct Influx {
    port: u16,
    rpc: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Influx {
    /// Ports and a folder, not started yet (an outage from the start).
    fn new(dir: &Path) -> Influx {
        Influx { port: free_port(), rpc: free_port(), dir: dir.join("influxdb"), child: None }
    }

    fn start(&mut self) {
        let conf = self.dir.join("influxdb.conf");
        std::fs::create_dir_all(&self.dir).unwrap();
        let d = self.dir.display();
        std::fs::write(
            &conf,
            format!(
                "reporting-disabled = true\nbind-address = \"127.0.0.1:{}\"\n\
                 [meta]\ndir = \"{d}/meta\"\n[data]\ndir = \"{d}/data\"\nwal-dir = \"{d}/wal\"\nquery-log-enabled = false\n\
                 [http]\nbind-address = \"127.0.0.1:{}\"\nlog-enabled = false\n[monitor]\nstore-enabled = false\n",
                self.rpc, self.port
            ),
        )
        .unwrap();
        let influxd = ["/usr/bin/influxd", "/usr/sbin/influxd"].into_iter().find(|p| Path::new(p).exists()).expect(
            "influxd is missing: install Debian's `influxdb` package (scripts/test.sh does: apt-get install influxdb)",
        );
        let child = Command::new(influxd)
            .arg("-config")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.join("influxd.log")).unwrap())
            .spawn()
            .unwrap();
        self.child = Some(child);
        wait_port(self.port, true);
        // Listening is not yet answering: wait for /ping.
        for _ in 0..100 {
            if http(self.port, "GET", "/ping", "").0 == 204 {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("influxd did not answer /ping");
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.id() as i32), nix::sys::signal::Signal::SIGTERM);
            let _ = c.wait();
        }
        wait_port(self.port, false);
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An InfluxQL query's first statement's series.
    fn query(&self, db: &str, q: &str) -> Vec<Value> {
        let body = format!("db={db}&epoch=ms&q={}", form(q));
        let (status, text) = http(self.port, "POST", "/query", &body);
        assert_eq!(status, 200, "{q}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(v["results"][0]["error"].is_null(), "{q}: {text}");
        v["results"][0]["series"].as_array().cloned().unwrap_or_default()
    }

    /// (device, field) → (count, mean, min, max) of every numeric field.
    fn aggregates(&self, db: &str) -> BTreeMap<(String, String), (u64, f64, f64, f64)> {
        let mut out = BTreeMap::new();
        for s in self.query(db, "SELECT count(*), mean(*), min(*), max(*) FROM halyard GROUP BY device") {
            let device = s["tags"]["device"].as_str().unwrap().to_owned();
            let columns: Vec<&str> = s["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
            let row = &s["values"][0];
            for (i, c) in columns.iter().enumerate() {
                let Some(field) = c.strip_prefix("mean_") else { continue };
                let Some(mean) = row[i].as_f64() else { continue };
                let get =
                    |prefix: &str| row[columns.iter().position(|c| *c == format!("{prefix}_{field}")).unwrap()].clone();
                out.insert(
                    (device.clone(), field.to_owned()),
                    (get("count").as_u64().unwrap(), mean, get("min").as_f64().unwrap(), get("max").as_f64().unwrap()),
                );
            }
        }
        out
    }
}

impl Drop for Influx {
    fn drop(&mut self) {
        self.stop();
    }
}

fn form(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A plain HTTP/1.1 request on loopback: (status, body).
fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return (0, String::new()) };
    let kind = if path.starts_with("/query") { "application/x-www-form-urlencoded" } else { "text/plain" };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    // Chunked answers (queries): the JSON is the one line that starts with `{`.
    let body = body.lines().find(|l| l.starts_with('{')).unwrap_or(body).to_owned();
    (status, body)
}

/// The store's (device, metric) → (count, mean, min, max).
fn store_aggregates(sqlite: &Path) -> BTreeMap<(String, String), (u64, f64, f64, f64)> {
    let db = rusqlite::Connection::open_with_flags(sqlite, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut q = db
        .prepare(
            "SELECT device, metric, count(*), avg(value), min(value), max(value) \
             FROM samples JOIN series ON series.id = samples.series GROUP BY device, metric",
        )
        .unwrap();
    q.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), (r.get::<_, i64>(2)? as u64, r.get(3)?, r.get(4)?, r.get(5)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn assert_same(
    a: &BTreeMap<(String, String), (u64, f64, f64, f64)>,
    b: &BTreeMap<(String, String), (u64, f64, f64, f64)>,
    what: &str,
) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{what}: the same series");
    for (k, x) in a {
        let y = b[k];
        let close = |p: f64, q: f64| (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0);
        assert!(x.0 == y.0 && close(x.1, y.1) && close(x.2, y.2) && close(x.3, y.3), "{what}: {k:?}: {x:?} vs {y:?}");
    }
}

fn with_influx(config: &Path, url: &str, extra: &str) -> String {
    let mut text = std::fs::read_to_string(config).unwrap();
    text.push_str(&format!("\n[influx]\nurl = \"{url}\"\ndatabase = \"boat\"\nbatch_seconds = 1\n{extra}"));
    std::fs::write(config, &text).unwrap();
    config.display().to_string()
}

/// A simulated day replayed into InfluxDB: every stored series has the same count, mean, min and
/// max in InfluxDB as in the store; text values are string fields; and the store's export, written
/// into another database, answers the same again.
#[test]
fn influxdb_holds_what_the_store_holds_and_an_export_back_fills_the_same() {
    let _serial = one_at_a_time();
    let s = Scratch::new("influx");
    let mut influx = Influx::new(&s.0);
    influx.start();
    let sim = s.path("sim");
    let out =
        halyard().args(["sim", "--days", "1", "--period", "60", "--seed", "3", "--out"]).arg(&sim).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cfg = with_influx(&sim.join("halyard.toml"), &influx.url(), "");
    let out = halyard().args(["replay", "-c", &cfg, "--max-speed"]).arg(sim.join("boat.hrec")).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    assert!(log.contains("created database `boat`"), "{log}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["influx_points"].as_f64().unwrap() > 10_000.0, "{summary}");

    let stored = store_aggregates(&sim.join("halyard.sqlite"));
    assert!(stored.len() > 50, "a day aboard has many series: {}", stored.len());
    let live = influx.aggregates("boat");
    assert_same(&stored, &live, "InfluxDB vs the store");

    // Text values are string fields, numbers floats even when whole.
    let keys = influx.query("boat", "SHOW FIELD KEYS FROM halyard");
    let types: BTreeMap<String, String> = keys[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v[0].as_str().unwrap().to_owned(), v[1].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(types["charge_state_name"], "string");
    assert_eq!(types["voltage"], "float");
    assert_eq!(types["product_id"], "float");
    let state = influx.query("boat", "SELECT last(charge_state_name) FROM halyard WHERE device = 'port-arch'");
    let name = state[0]["values"][0][1].as_str().unwrap();
    assert!(["off", "bulk", "absorption", "float"].contains(&name), "{name}");

    // The export back-fills another database with the same values.
    let out = halyard().args(["export", "influx", "-c", &cfg]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = String::from_utf8(out.stdout).unwrap();
    assert!(lines.lines().all(|l| l.starts_with("halyard,device=")), "{}", &lines[..200]);
    assert_eq!(http(influx.port, "POST", "/query", "q=CREATE%20DATABASE%20backfill").0, 200);
    let (status, said) = http(influx.port, "POST", "/write?db=backfill", &lines);
    assert_eq!(status, 204, "{said}");
    assert_same(&stored, &influx.aggregates("backfill"), "the back-fill vs the store");
}

/// Recorded Victron adverts at `t0` (keshavdv/victron-ble's SmartSolar capture, as in
/// gateway.rs): port-arch and stbd-arch decode with their keys.
fn adverts(path: &Path, t0: u64) {
    let hex = "100242a0016207adceb37b605d7e0ee21b24df5c";
    std::fs::write(
        path,
        format!("# halyard recording 1\n{t0}.000 ble C0:3B:00:00:00:01 {hex}\n{t0}.100 ble C0:3B:00:00:00:02 {hex}\n"),
    )
    .unwrap();
}

const DEVICES: &str =
    "[[device]]\nname = \"port-arch\"\nmac = \"C0:3B:00:00:00:01\"\nkey = \"adeccb947395801a4dd45a2eaa44bf17\"\n\
     [[device]]\nname = \"stbd-arch\"\nmac = \"C0:3B:00:00:00:02\"\nkey = \"adeccb947395801a4dd45a2eaa44bf17\"\n";

fn voltages(influx: &Influx, device: &str) -> Vec<(i64, f64)> {
    let rows = influx.query("boat", &format!("SELECT battery_voltage FROM halyard WHERE device = '{device}'"));
    rows.first()
        .map(|s| {
            s["values"].as_array().unwrap().iter().map(|v| (v[0].as_i64().unwrap(), v[1].as_f64().unwrap())).collect()
        })
        .unwrap_or_default()
}

/// InfluxDB away: the batch waits in the outbox through a SIGKILL and is written by the next
/// run; InfluxDB coming back during a run is used at once; a batch InfluxDB refuses (a field that
/// is text there) is logged and dropped, not retried for ever.
#[test]
fn an_outage_and_a_kill_lose_no_point_and_bad_data_is_not_retried_for_ever() {
    let _serial = one_at_a_time();
    let s = Scratch::new("influx-outage");
    let mut influx = Influx::new(&s.0);
    let cfg = s.path("halyard.toml");
    std::fs::write(&cfg, format!("data_dir = \"{}\"\n{DEVICES}", s.0.display())).unwrap();
    let cfg = with_influx(&cfg, &influx.url(), "");
    let rec = s.path("a.hrec");
    adverts(&rec, 1_700_000_000);

    // 1. InfluxDB is down: the run keeps trying; SIGKILL it.
    let run = Halyard::start(&["replay", "-c", &cfg, "--max-speed", rec.to_str().unwrap()]);
    assert!(run.wait_log(Duration::from_secs(20), "trying again"), "{}", run.log());
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(run.pid() as i32), nix::sys::signal::Signal::SIGKILL).unwrap();
    drop(run);
    let journal = s.path("replay-outbox/influx-outbox.journal");
    assert!(std::fs::metadata(&journal).unwrap().len() > 0, "the batch is in the journal");

    // 2. InfluxDB is back; a run with nothing to replay delivers what the killed one left.
    influx.start();
    let empty = s.path("empty.hrec");
    std::fs::write(&empty, "# halyard recording 1\n").unwrap();
    let out = halyard().args(["replay", "-c", &cfg, "--max-speed"]).arg(&empty).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    assert!(log.contains("from before the restart"), "{log}");
    assert_eq!(voltages(&influx, "port-arch"), [(1_700_000_000_000, 13.88)]);
    assert_eq!(voltages(&influx, "stbd-arch"), [(1_700_000_000_100, 13.88)]);
    assert_eq!(std::fs::metadata(&journal).unwrap().len(), 0, "a delivered outbox is empty");

    // 3. InfluxDB goes away during a run and comes back: the run waits, then writes.
    influx.stop();
    adverts(&rec, 1_700_000_060);
    let run = Halyard::start(&["replay", "-c", &cfg, "--max-speed", rec.to_str().unwrap()]);
    assert!(run.wait_log(Duration::from_secs(20), "trying again"), "{}", run.log());
    // Long enough for the retries to be 8 s apart: the server's return is still seen at once
    // (its port is watched), not at the next retry.
    std::thread::sleep(Duration::from_secs(8));
    influx.start();
    let t = std::time::Instant::now();
    let mut run = run;
    while run.is_running() && t.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!run.is_running(), "the run ends once InfluxDB is back: {}", run.log());
    assert!(t.elapsed() < Duration::from_secs(4), "written {:?} after InfluxDB came back: {}", t.elapsed(), run.log());
    assert_eq!(voltages(&influx, "port-arch").len(), 2);

    // 4. A field InfluxDB holds as text (in a later shard: a shard keeps one type per field):
    // the batch is refused, logged, and not sent again; the run ends.
    let later = 1_700_000_000 + 30 * 86_400;
    let conflict = format!("halyard,device=elsewhere battery_voltage=\"broken\" {later}000000000\n");
    let (status, said) = http(influx.port, "POST", "/write?db=boat", &conflict);
    assert_eq!(status, 204, "{said}");
    adverts(&rec, later);
    let out = halyard().args(["replay", "-c", &cfg, "--max-speed"]).arg(&rec).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    assert!(log.contains("refused as bad data") && log.contains("field type conflict"), "{log}");
    assert_eq!(voltages(&influx, "port-arch").len(), 2, "nothing of the refused batch");
    assert_eq!(std::fs::metadata(&journal).unwrap().len(), 0, "a refused batch is not kept");
}
