//! A live gateway whose clock misbehaves, moved by libfaketime (Debian `faketime`) while the
//! monotonic clock stays true: the readings end up in the store at their true times, or not at
//! all, never six hours back or in 1970 (`store::time_guard`, `clock`).

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use halyard::store::Backend;
use support::{free_port, halyard, mppt_block, one_at_a_time, Halyard, Scratch, Tty};

const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
const DEVICE: &str = "solar_charger-HQ2213ABCDE";

fn system_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

struct Rig {
    s: Scratch,
    tty: Tty,
    clock: PathBuf,
    gw: Halyard,
}

/// `halyard run` with a VE.Direct MPPT on a pty (and `extra` configuration), its clock read from
/// a file the test rewrites (`+0`, `-6h`, `@1970-01-01 00:00:00`).
fn start(name: &str, clock: &str, extra: &str, env: &[(&str, &str)]) -> Rig {
    assert!(Path::new(FAKETIME).exists(), "tests/clock.rs needs libfaketime: apt-get install faketime");
    let s = Scratch::new(name);
    let tty_path = s.path("ttyVE");
    let tty = Tty::open(&tty_path);
    let clock_file = s.path("clock");
    std::fs::write(&clock_file, clock).unwrap();
    let cfg = s.path("halyard.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\ntimezone = \"UTC\"\n[mqtt]\nmdns = false\n[broker]\nlisten = \"127.0.0.1:{}\"\n[metrics]\nlisten = \"\"\n[web]\nlisten = \"\"\n[[vedirect]]\nport = \"{}\"\n{extra}",
            s.path("data").display(),
            free_port(),
            tty_path.display()
        ),
    )
    .unwrap();
    let mut cmd = halyard();
    cmd.args(["run", "-c", cfg.to_str().unwrap()])
        .env("LD_PRELOAD", FAKETIME)
        .env("FAKETIME_TIMESTAMP_FILE", &clock_file)
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let gw = Halyard::spawn(cmd);
    assert!(gw.wait_log(Duration::from_secs(15), "mqtt: connected"), "{}", gw.log());
    Rig { s, tty, clock: clock_file, gw }
}

impl Rig {
    /// Eight MPPT blocks half a second apart, battery voltage `13.000 + first/1000 …`.
    fn blocks(&mut self, first: u32) {
        for i in first..first + 8 {
            let started = Instant::now();
            self.tty.write_paced(&mppt_block("HQ2213ABCDE", 13_000 + i, 100));
            std::thread::sleep(Duration::from_millis(500).saturating_sub(started.elapsed()));
        }
    }

    fn set_clock(&self, clock: &str) {
        std::fs::write(&self.clock, clock).unwrap();
    }

    /// Stop the gateway (it flushes the store) and read the battery voltages it recorded.
    fn stop(self) -> (Vec<(i64, f64)>, String) {
        let log = self.gw.stop();
        let mut store = halyard::store::sqlite::Store::open(&self.s.path("data").join("halyard.sqlite")).unwrap();
        (store.samples(DEVICE, "battery_voltage", i64::MIN / 2, i64::MAX / 2).unwrap(), log)
    }
}

#[test]
fn a_clock_stepped_back_six_hours_and_put_right_loses_nothing_and_files_nothing_in_the_past() {
    let _serial = one_at_a_time();
    let mut rig = start("clock-back", "+0", "", &[]);
    let from = system_ms();
    rig.blocks(0);
    rig.set_clock("-6h");
    rig.blocks(8);
    rig.set_clock("+0");
    rig.blocks(16);
    let to = system_ms();
    std::thread::sleep(Duration::from_millis(1500));
    let (samples, log) = rig.stop();
    assert!(log.contains("held back"), "{log}");
    assert!(log.contains("held readings recorded at their true times"), "{log}");
    let values: Vec<f64> = samples.iter().map(|s| s.1).collect();
    let expected: Vec<f64> = (0..24).map(|i| (13_000.0 + f64::from(i)) / 1000.0).collect();
    assert_eq!(values, expected, "every reading, in their true order: {samples:?}");
    for (t, v) in &samples {
        assert!((from - 2_000..=to + 2_000).contains(t), "{v} V stamped {t}, outside {from}..{to}");
    }
}

#[test]
fn a_machine_that_booted_at_1970_records_nothing_until_its_clock_is_set() {
    let _serial = one_at_a_time();
    let mut rig = start("clock-1970", "@1970-01-01 00:00:00", "", &[]);
    rig.blocks(0);
    rig.set_clock("+0");
    let from = system_ms();
    rig.blocks(8);
    let (samples, log) = rig.stop();
    assert!(log.contains("is not recorded"), "{log}");
    assert!(log.contains("the clock is not set"), "{log}");
    assert_eq!(samples.len(), 8, "only the readings after the clock was set: {samples:?}");
    assert!(samples.iter().all(|(t, _)| *t >= from - 2_000), "{samples:?}");
}

#[test]
fn a_stale_clock_is_corrected_from_gps_time() {
    let _serial = one_at_a_time();
    // The clock 30 days behind, not synchronised; a GPS on a second pty says the true time.
    let s_gps = Scratch::new("clock-gps-tty");
    let gps_path = s_gps.path("ttyGPS");
    let mut gps = Tty::open(&gps_path);
    let extra = format!("[[nmea]]\nsource = \"serial:{}@4800\"\n", gps_path.display());
    let mut rig = start("clock-gps", "-30d", &extra, &[("HALYARD_CLOCK_UNSYNCHRONISED", "1")]);
    let rmc = || {
        let t = jiff::Timestamp::from_millisecond(system_ms()).unwrap().to_zoned_datetime(jiff::tz::TimeZone::UTC);
        let body =
            format!("GPRMC,{},A,4317.000,N,00522.440,E,0.0,0.0,{},,,A", t.strftime("%H%M%S.00"), t.strftime("%d%m%y"));
        let sum = body.bytes().fold(0u8, |a, b| a ^ b);
        format!("${body}*{sum:02X}\r\n")
    };
    for _ in 0..3 {
        std::io::Write::write_all(&mut gps.master, rmc().as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(rig.gw.wait_log(Duration::from_secs(10), "readings are stamped from GPS time"), "{}", rig.gw.log());
    assert!(rig.gw.log().contains("30 days behind GPS time"), "{}", rig.gw.log());
    let from = system_ms();
    rig.blocks(0);
    let to = system_ms();
    let (samples, _) = rig.stop();
    assert_eq!(samples.len(), 8, "{samples:?}");
    for (t, v) in &samples {
        assert!((from - 2_000..=to + 2_000).contains(t), "{v} V stamped {t}, outside {from}..{to}");
    }
}

/// A recording whose clock misbehaves, imported: every day's yields and the lifetime yield are
/// those of the clean recording (and of the simulator's truth), no day is invented.
#[test]
fn imported_clock_faults_change_no_yield_and_invent_no_day() {
    let s = Scratch::new("clock-import");
    let out = halyard()
        .args(["sim", "--days", "3", "--period", "60", "--nav-period", "0", "--seed", "4", "--out"])
        .arg(s.path("sim"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let recording = std::fs::read_to_string(s.path("sim/boat.hrec")).unwrap();
    let truth: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(s.path("sim/truth.json")).unwrap()).unwrap();
    let dates: Vec<String> = truth.iter().map(|d| d["date"].as_str().unwrap().to_owned()).collect();
    // Local noon and 10:00 of the second day (Europe/Paris, UTC+2 in June), in seconds.
    let day2 = 1_782_086_400; // 2026-06-22T00:00Z
    let noon = day2 + 10 * 3600;
    let ten = day2 + 8 * 3600;
    let twenty_years = 20 * 365 * 86_400;
    // Each case rewrites the recording's times: (name, new time of a record at `t` or `None` to
    // keep it, extra lines).
    type Shift = fn(f64, i64, i64, i64) -> f64;
    let cases: [(&str, Shift, &str); 4] = [
        ("clean", |t, _, _, _| t, ""),
        ("back-30-s-at-noon", |t, noon, _, _| if t >= noon as f64 { t - 30.0 } else { t }, ""),
        (
            "an-hour-20-years-ahead",
            |t, _, ten, y| if (ten as f64..(ten + 3600) as f64).contains(&t) { t + y as f64 } else { t },
            "",
        ),
        (
            "1970-and-beyond-9999",
            |t, _, _, _| t,
            "12.000 vedirect ttyUSB0 0d0a56093132383030\n253402300801.000 vedirect ttyUSB0 0d0a56093132383030\n",
        ),
    ];
    let mut results = Vec::new();
    for (name, shift, extra) in cases {
        let mut text = String::new();
        for line in recording.lines() {
            match line.split_once(' ') {
                Some((t, rest)) if !line.starts_with('#') => {
                    let t: f64 = t.parse().unwrap();
                    text.push_str(&format!("{:.3} {rest}\n", shift(t, noon, ten, twenty_years)));
                }
                _ => text.push_str(&format!("{line}\n")),
            }
        }
        text.push_str(extra);
        let file = s.path(&format!("{name}.hrec"));
        std::fs::write(&file, text).unwrap();
        let cfg = s.path(&format!("{name}.toml"));
        let sim_cfg = support::sim_config(std::fs::read_to_string(s.path("sim/halyard.toml")).unwrap());
        std::fs::write(&cfg, format!("data_dir = \"{}\"\n{sim_cfg}", s.path(name).display())).unwrap();
        let out = halyard().args(["import", "-c", cfg.to_str().unwrap()]).arg(&file).output().unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let reports: Vec<serde_json::Value> = dates
            .iter()
            .map(|d| {
                let out =
                    halyard().args(["report", "--json", "--date", d, "-c", cfg.to_str().unwrap()]).output().unwrap();
                assert!(out.status.success(), "{name} {d}: {}", String::from_utf8_lossy(&out.stderr));
                serde_json::from_slice(&out.stdout).unwrap()
            })
            .collect();
        let mut store = halyard::store::sqlite::Store::open(&s.path(name).join("halyard.sqlite")).unwrap();
        let days = store.days().unwrap();
        assert_eq!(days.len(), 3, "{name}: the recorded days are the three of the recording: {days:?}");
        results.push((name, reports));
    }
    let (_, clean) = &results[0];
    for (day, (t, r)) in truth.iter().zip(clean).enumerate() {
        let (want, got) = (t["network_yield_wh"].as_f64().unwrap(), r["network_yield_wh"].as_f64().unwrap());
        // The counters have 10 Wh steps: four MPPTs, each within a step of the truth.
        assert!((want - got).abs() <= 40.0, "day {day}: truth {want} Wh, clean import {got} Wh");
    }
    for (name, reports) in &results[1..] {
        for (d, (c, r)) in clean.iter().zip(reports).enumerate() {
            assert_eq!(r["yield_wh"], c["yield_wh"], "{name}, day {d}");
            assert_eq!(r["lifetime_yield_kwh"], c["lifetime_yield_kwh"], "{name}, day {d}");
        }
    }
}
