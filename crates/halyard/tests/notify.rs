//! Notifications end to end (issue 20): a live gateway reads a VE.Direct cable, an alarm rule
//! fires, and real receivers on loopback get it — Python's HTTP server playing ntfy and a
//! webhook, aiosmtpd as the mail server (Debian python3-aiosmtpd), and a Meshtastic radio played
//! by the official Python package, which reads the text packet with the official protobufs.
//! A notifier that is down is retried and logged, and delays nobody.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use support::*;

/// The HTTP and SMTP receivers (tests/notify_receivers.py), killed on drop.
struct Receivers {
    child: Child,
    dir: std::path::PathBuf,
    http: u16,
    smtp: u16,
}

impl Receivers {
    fn start(dir: &Path) -> Receivers {
        let dir = dir.join("received");
        std::fs::create_dir_all(&dir).unwrap();
        // Debian's interpreter: python3-aiosmtpd is installed for it by scripts/test.sh.
        let mut child = Command::new("/usr/bin/python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/notify_receivers.py"))
            .arg(&dir)
            .spawn()
            .expect("/usr/bin/python3 (Debian python3 and python3-aiosmtpd, installed by scripts/test.sh)");
        for _ in 0..100 {
            if let Ok(p) = std::fs::read_to_string(dir.join("ports.json")) {
                let p: Value = serde_json::from_str(&p).unwrap();
                let port = |k: &str| p[k].as_u64().unwrap() as u16;
                return Receivers { http: port("http"), smtp: port("smtp"), child, dir };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the receivers did not start: is python3-aiosmtpd installed? (scripts/test.sh installs it)");
    }

    fn lines(&self, name: &str) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join(name))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn http(&self, path: &str) -> Vec<Value> {
        self.lines("http.jsonl").into_iter().filter(|l| l["path"] == path).collect()
    }
}

impl Drop for Receivers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(timeout: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    ok()
}

fn epoch() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn notifiers(r: &Receivers, dead_port: u16) -> String {
    format!(
        "[notify.phone]\nkind = \"ntfy\"\nurl = \"http://127.0.0.1:{http}/boat-alarms\"\ntoken = \"tk_hunter2\"\n\
         [notify.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{http}/hook\"\n\
         [notify.mail]\nkind = \"email\"\nsmtp = \"127.0.0.1:{smtp}\"\nsecurity = \"none\"\nusername = \"boat\"\n\
         password = \"s3cret\"\nfrom = \"Halyard <boat@example.org>\"\nto = [\"skipper@example.org\"]\n\
         [notify.dead]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{dead_port}/nobody\"\n",
        http = r.http,
        smtp = r.smtp,
    )
}

#[test]
fn an_alarm_reaches_ntfy_a_webhook_email_and_the_crews_radio() {
    let _serial = one_at_a_time();
    let s = Scratch::new("notify");
    let receivers = Receivers::start(&s.0);
    let vectors = s.path("vectors");
    official_vectors(&vectors, 3);
    let (radio, radio_port) = official_radio(&s.0, &vectors);
    let broker = Mosquitto::start(&s.0, "");
    let tty_path = s.path("ttyNOTIFY");
    let mut tty = Tty::open(&tty_path);
    let cfg = s.path("halyard.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:{}\"\nmdns = false\n[metrics]\nlisten = \"\"\n[web]\nlisten = \"\"\n\
             [[vedirect]]\nport = \"{}\"\n[[meshtastic]]\nsource = \"tcp:127.0.0.1:{radio_port}\"\n\
             [[device]]\nname = \"bimini\"\nserial = \"HQ2213NOTE\"\n\
             [[alarm]]\nname = \"low-volts\"\nwhen = \"bimini.battery_voltage < 12\"\nclear = \"> 12.5\"\n\
             notify = [\"dead\", \"phone\", \"hook\", \"mail\", \"crew\"]\n\
             {}[notify.crew]\nkind = \"meshtastic\"\nchannel = 1\n",
            s.path("data").display(),
            broker.port,
            tty_path.display(),
            notifiers(&receivers, free_port()),
        ),
    )
    .unwrap();
    let gw = Halyard::start(&["run", "-c", cfg.to_str().unwrap()]);
    assert!(gw.wait_log(Duration::from_secs(10), "mqtt: connected"), "{}", gw.log());
    assert!(gw.wait_log(Duration::from_secs(10), "meshtastic: connected"), "{}", gw.log());
    tty.write_paced(&mppt_block("HQ2213NOTE", 12_600, 50));
    std::thread::sleep(Duration::from_millis(500));

    // Three raise/clear cycles; each message's latency from the reading written on the cable.
    let mut latencies: Vec<(String, f64)> = Vec::new();
    let texts = || {
        std::fs::read_to_string(vectors.join("texts.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    for cycle in 0..3 {
        for (mv, word) in [(11_800, "raised"), (12_600, "cleared")] {
            let n = 2 * cycle + usize::from(word == "cleared") + 1;
            // From the moment the block's last byte (its checksum) is on the cable.
            let block = mppt_block("HQ2213NOTE", mv, 50);
            let (most, last) = block.split_at(block.len() - 1);
            tty.write_paced(most);
            let written = epoch();
            tty.master.write_all(last).unwrap();
            let all_there = wait_until(Duration::from_secs(10), || {
                receivers.http("/boat-alarms").len() >= n
                    && receivers.http("/hook").len() >= n
                    && receivers.lines("smtp.jsonl").len() >= n
                    && texts().len() >= n
            });
            assert!(all_there, "{word} #{n} not everywhere:\n{}", gw.log());
            let at = |v: &Value| v["at"].as_f64().unwrap() - written;
            latencies.push(("ntfy".into(), at(&receivers.http("/boat-alarms")[n - 1])));
            latencies.push(("webhook".into(), at(&receivers.http("/hook")[n - 1])));
            latencies.push(("email".into(), at(&receivers.lines("smtp.jsonl")[n - 1])));
            latencies.push(("meshtastic".into(), at(&texts()[n - 1])));
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    // ntfy: the title, priority and tags in its headers, the words in the body, the token.
    let ntfy = receivers.http("/boat-alarms");
    assert_eq!(ntfy.len(), 6, "one message per event: {ntfy:?}");
    assert_eq!(ntfy[0]["headers"]["title"], "ALARM low-volts");
    assert_eq!(ntfy[0]["headers"]["priority"], "4");
    assert_eq!(ntfy[0]["headers"]["authorization"], "Bearer tk_hunter2");
    let body = ntfy[0]["body"].as_str().unwrap();
    assert!(body.contains("bimini.battery_voltage < 12") && body.contains("11.8"), "{body}");
    assert_eq!(ntfy[1]["headers"]["title"], "Cleared: low-volts");
    assert_eq!(ntfy[1]["headers"]["priority"], "2");
    // The webhook: the event as JSON.
    let hook: Vec<Value> =
        receivers.http("/hook").iter().map(|h| serde_json::from_str(h["body"].as_str().unwrap()).unwrap()).collect();
    assert_eq!(hook[0]["alarm"], "low-volts");
    assert_eq!(hook[0]["event"], "raised");
    assert_eq!(hook[0]["device"], "bimini");
    assert_eq!(hook[0]["metric"], "battery_voltage");
    assert_eq!(hook[0]["value"], 11.8);
    assert_eq!(hook[1]["event"], "cleared");
    // E-mail: logged in, from and to as configured, the subject is the title.
    let mail = receivers.lines("smtp.jsonl");
    assert_eq!(mail[0]["login"], "boat");
    assert_eq!(mail[0]["to"], serde_json::json!(["skipper@example.org"]));
    let message = mail[0]["message"].as_str().unwrap();
    assert!(message.contains("Subject: ALARM low-volts") && message.contains("11.8"), "{message}");
    // The radio, read by the official package: a text broadcast on channel 1, no acknowledgement
    // asked (a broadcast has none), the firmware's default hop limit.
    let t = texts();
    assert_eq!(t[0]["to"], 0xFFFF_FFFFu32);
    assert_eq!(t[0]["channel"], 1);
    assert_eq!(t[0]["want_ack"], false);
    assert_eq!(t[0]["hop_limit"], 3);
    assert!(t[0]["text"].as_str().unwrap().starts_with("ALARM low-volts: bimini.battery_voltage < 12"), "{t:?}");

    // The dead notifier was tried, logged and left to retry; it delayed nobody (above: every
    // other message within 10 s, while its own backoff is 2 s and growing).
    let log = gw.stop();
    assert!(log.contains("notify dead: `ALARM low-volts` not sent"), "{log}");
    assert!(!log.contains("hunter2"), "a secret in the log:\n{log}");
    let said = radio.wait_with_output().unwrap();
    let said: Value = serde_json::from_slice(&said.stdout).unwrap();
    assert_eq!(said["packets_sent_to_mesh"], 6, "only the alarms' texts go to the mesh: {said}");

    let mut by: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for (k, v) in latencies {
        by.entry(k).or_default().push(v * 1000.0);
    }
    for (k, mut v) in by {
        v.sort_by(f64::total_cmp);
        eprintln!(
            "notification latency {k}: median {:.0} ms, max {:.0} ms (n = {})",
            v[v.len() / 2],
            v[v.len() - 1],
            v.len()
        );
    }
}

/// `halyard notify test`: each notifier tried once and reported; a wrong password and a
/// closed port are failures with their reasons, and the exit status says so.
#[test]
fn notify_test_reports_each_notifier() {
    let s = Scratch::new("notify-test");
    let receivers = Receivers::start(&s.0);
    let cfg = s.path("halyard.toml");
    let good = notifiers(&receivers, free_port());
    std::fs::write(&cfg, format!("data_dir = \"{}\"\n{good}", s.path("data").display())).unwrap();
    let out = halyard().args(["notify", "test", "-c", cfg.to_str().unwrap()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "the dead one fails the command: {stdout}");
    for ok in ["phone (ntfy on 127.0.0.1:", "hook (webhook on", "mail (e-mail through"] {
        assert!(stdout.lines().any(|l| l.starts_with(ok) && l.contains("sent in")), "{ok}: {stdout}");
    }
    assert!(stdout.lines().any(|l| l.starts_with("dead") && l.contains("FAILED") && l.contains("refused")), "{stdout}");
    assert_eq!(receivers.http("/boat-alarms")[0]["headers"]["title"], "Halyard test");
    assert_eq!(receivers.lines("smtp.jsonl").len(), 1);

    // Only one, with a wrong password: refused by the server, said so.
    let wrong = good.replace("password = \"s3cret\"", "password = \"wrong\"");
    std::fs::write(&cfg, format!("data_dir = \"{}\"\n{wrong}", s.path("data").display())).unwrap();
    let out = halyard().args(["notify", "test", "mail", "-c", cfg.to_str().unwrap()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success() && stdout.starts_with("mail (") && stdout.contains("FAILED"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert_eq!(receivers.lines("smtp.jsonl").len(), 1, "nothing delivered without the login");
    let out = halyard().args(["notify", "test", "pager", "-c", cfg.to_str().unwrap()]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no [notify.pager]"));
}

/// Notifiers are checked by `run --check`: an unknown name in an alarm, a key of another kind.
#[test]
fn bad_notifiers_are_refused_by_check() {
    let s = Scratch::new("notify-check");
    let cfg = s.path("halyard.toml");
    let check = |body: &str| {
        std::fs::write(
            &cfg,
            format!("data_dir = \"{}\"\n[[device]]\nname = \"bank\"\nserial = \"HQ1\"\n{body}", s.path("d").display()),
        )
        .unwrap();
        let out = halyard().args(["run", "--check", "-c", cfg.to_str().unwrap()]).output().unwrap();
        assert!(!out.status.success(), "{body}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = check("[[alarm]]\nname = \"low\"\nwhen = \"bank.voltage < 12\"\nnotify = [\"phone\"]\n");
    assert!(e.contains("no [notify.phone]"), "{e}");
    let e = check("[notify.phone]\nkind = \"ntfy\"\nurl = \"https://ntfy.sh/t\"\nchannel = 2\n");
    assert!(e.contains("[notify.phone]") && e.contains("`channel` is not a ntfy setting"), "{e}");
    let e = check("[notify.crew]\nkind = \"meshtastic\"\nchannel = 1\n");
    assert!(e.contains("none is configured"), "{e}");
    let e = check("[notify.x]\nkind = \"pager\"\n");
    assert!(e.contains("pager"), "{e}");
}
