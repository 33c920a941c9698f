//! Endless input in bounded memory: `halyard decode` of every protocol and `halyard import` read
//! their input as a stream, so `/dev/zero`, `/dev/urandom` or a pipe that never ends are read
//! for as long as they last without the process growing. Each run is watched for a few seconds:
//! its peak resident memory (`VmHWM`) must stay small while it has read hundreds of megabytes
//! (`rchar`), so the bound is real and not a process that stopped reading.

mod support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::{free_port, halyard, Scratch};

/// Far above what a streaming decoder needs (a few MiB of buffers and the binary), far below
/// what holding the input would take (each run reads four times as much).
const PEAK_LIMIT_KIB: u64 = 64 * 1024;

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix(field)?.trim().trim_end_matches("kB").trim().parse().ok())
}

fn bytes_read(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines().find_map(|l| l.strip_prefix("rchar:")?.trim().parse().ok())
}

/// How much each run reads before it is judged: four times the memory limit, so a process that
/// held its input would be well past the limit.
const READ_BEFORE_JUDGING: u64 = 4 * PEAK_LIMIT_KIB * 1024;

/// Watch a running command until it has read [`READ_BEFORE_JUDGING`] bytes (at most a minute,
/// for a slow machine): (peak RSS KiB, bytes read, how it exited if it did), then kill it.
fn watch(mut child: Child) -> (u64, u64, Option<String>) {
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut peak, mut read) = (0, 0);
    let mut exited = None;
    while Instant::now() < deadline && read < READ_BEFORE_JUDGING {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            exited = Some(format!("{status}: {err}"));
            break;
        }
        peak = peak.max(status_kib(pid, "VmHWM:").unwrap_or(0));
        read = read.max(bytes_read(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    (peak, read, exited)
}

fn check(what: &str, args: &[&str], endless: &str) {
    let child = halyard()
        .args(args)
        .arg(endless)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env("RUST_LOG", "error")
        .spawn()
        .unwrap();
    let started = Instant::now();
    let (peak, read, exited) = watch(child);
    assert!(exited.is_none(), "{what} {endless} stopped: {exited:?}");
    eprintln!("{what} {endless}: peak {peak} KiB after reading {} MiB in {:?}", read >> 20, started.elapsed());
    assert!(read >= READ_BEFORE_JUDGING, "{what} {endless} read only {read} bytes in a minute");
    assert!(peak < PEAK_LIMIT_KIB, "{what} {endless}: peak resident memory {peak} KiB");
}

#[test]
fn decoders_read_an_endless_input_in_bounded_memory() {
    for endless in ["/dev/zero", "/dev/urandom"] {
        check("decode nmea", &["decode", "nmea"], endless);
        check("decode vedirect", &["decode", "vedirect"], endless);
        check("decode meshtastic", &["decode", "meshtastic"], endless);
        check("decode n2k", &["decode", "n2k"], endless);
        check(
            "decode venetworking",
            &["decode", "venetworking", "--key", "00112233445566778899aabbccddeeff", "--network-id", "1234", "--file"],
            endless,
        );
    }
}

#[test]
fn a_capture_that_is_not_one_is_refused_at_once() {
    for endless in ["/dev/zero", "/dev/urandom"] {
        let out = halyard().args(["decode", "masterbus", endless]).output().unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("not a pcapng, pcap or candump log file"), "{stderr}");
    }
}

#[test]
fn a_pipe_that_never_ends_is_decoded_as_it_comes() {
    // A live candump through a pipe: each line is decoded when it arrives, not at the end.
    let mut child = halyard()
        .args(["decode", "masterbus", "--all", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let log = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../halyard-proto/tests/fixtures/masterbus/volts_amps_only.candump.log"
    ))
    .unwrap();
    use std::io::{BufRead, Write};
    for line in log.lines().take(3) {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        let mut out = String::new();
        stdout.read_line(&mut out).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(v.is_object(), "{out}");
    }
    drop(stdin);
    child.wait().unwrap();
}

#[test]
fn import_of_an_endless_input_runs_in_bounded_memory() {
    let scratch = Scratch::new("streams");
    let cfg = scratch.path("halyard.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\n[mqtt]\nmdns = false\n[broker]\nlisten = \"127.0.0.1:{}\"\n[metrics]\nlisten = \"\"\n[web]\nlisten = \"\"\n",
            scratch.path("data").display(),
            free_port()
        ),
    )
    .unwrap();
    for endless in ["/dev/zero", "/dev/urandom"] {
        check("import", &["import", "-c", cfg.to_str().unwrap()], endless);
    }
    // Random bytes whose head looks like a Meshtastic stream (a `0x94 0xC3` frame start, as one
    // run in sixteen of /dev/urandom has in its first 4 KiB): read as one, in the same bound.
    let fifo = scratch.path("mesh-looking");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut out = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            let mut random = std::fs::File::open("/dev/urandom").unwrap();
            // Until the reader is killed (a broken pipe ends the copy).
            let _ = out.write_all(&[0x94, 0xC3]).and_then(|()| std::io::copy(&mut random, &mut out));
        })
    };
    check("import", &["import", "-c", cfg.to_str().unwrap()], fifo.to_str().unwrap());
    writer.join().unwrap();
}
