//! Lifetime energy counters, for Home Assistant's Energy dashboard (a `total_increasing` sensor
//! in kWh) and Prometheus (`…_joules_total`): numbers that only ever grow, whatever the devices
//! do with their own counters.
//!
//! - `lifetime_yield` (solar chargers): the sum of each day's `yield_today`. A charger resets
//!   that counter at night (or when it loses power), so an increase adds the difference and a
//!   drop (to zero, or by more than [`JITTER_KWH`]) starts a new day, adding the new value. A
//!   smaller drop is jitter between two sources of the same counter (Bluetooth and VE.Direct
//!   rounding differently) and adds nothing.
//! - `lifetime_charged`, `lifetime_discharged` (batteries): the battery power integrated over
//!   time, energy in and energy out apart (trapezoids, split where the power changes sign).
//! - `lifetime_energy` (dump loads and DC energy meters): their power integrated.
//!
//! Samples further apart than [`MAX_GAP_MS`] (a device out of range, Halyard stopped) are not
//! integrated across: nothing is invented for time not seen. The state is kept by the gateway
//! across restarts (`data_dir/lifetime.json`), so a restart continues the counts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{DeviceInfo, Metric, Millis, Reading};
use crate::json::round;

/// Power samples further apart are not integrated across.
pub const MAX_GAP_MS: i64 = 5 * 60_000;

/// A drop of `yield_today` by at most this much is two sources of one counter disagreeing by a
/// step or two of its 0.01 kWh resolution (victron.md: VE.Direct H20, Instant Readout's yield),
/// not a new day.
const JITTER_KWH: f64 = 0.05;

/// W·ms in a kWh.
const WMS_PER_KWH: f64 = 3.6e9;

/// One device's counters (kWh) and what they continue from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counters {
    /// Solar yield.
    pub yield_kwh: f64,
    /// Into the battery.
    pub charged_kwh: f64,
    /// Out of the battery.
    pub discharged_kwh: f64,
    /// Used by a load.
    pub energy_kwh: f64,
    /// The last `yield_today` seen (kWh).
    pub yield_today: Option<f64>,
    /// The last power sample: (ms, W).
    pub power: Option<(Millis, f64)>,
}

/// Every device's counters, by device name.
pub type Lifetime = BTreeMap<String, Counters>;

/// What a device counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counts {
    /// Its yield.
    Solar,
    /// Energy in and out of it (from `battery_power`).
    Battery,
    /// Energy through it (from `power`).
    Load,
}

impl Counts {
    /// What `info` counts, by the same rule that gives it a power metric.
    pub fn of(info: &DeviceInfo) -> Option<Counts> {
        if info.is_solar() {
            return Some(Counts::Solar);
        }
        match halyard_node_core::derive::power_rule(&info.kind, info.role.as_deref())?.metric {
            "battery_power" => Some(Counts::Battery),
            "power" => Some(Counts::Load),
            _ => None,
        }
    }
}

fn number(metrics: &[Metric], name: &str) -> Option<f64> {
    metrics
        .iter()
        .find(|m| m.name == name)
        .and_then(|m| m.value.as_ref())
        .and_then(Reading::as_f64)
        .filter(|v| v.is_finite())
}

/// The energy (W·ms) of a trapezoid from `p0` to `p1` over `dt`, as (positive, negative) parts.
fn trapezoid(p0: f64, p1: f64, dt: f64) -> (f64, f64) {
    if p0 * p1 >= 0.0 {
        let e = (p0 + p1) / 2.0 * dt;
        return if e >= 0.0 { (e, 0.0) } else { (0.0, -e) };
    }
    // The power crosses zero at dt·|p0|/(|p0|+|p1|): two triangles.
    let cross = dt * p0.abs() / (p0.abs() + p1.abs());
    let (a, b) = (p0 / 2.0 * cross, p1 / 2.0 * (dt - cross));
    if a > 0.0 {
        (a, -b)
    } else {
        (b, -a)
    }
}

/// Integrate the power sample `(at, p)`; the (in, out) energy in kWh since the last sample.
fn integrate(c: &mut Counters, at: Millis, p: f64) -> (f64, f64) {
    let energy = match c.power {
        Some((t0, p0)) if at > t0 && at - t0 <= MAX_GAP_MS => {
            let (i, o) = trapezoid(p0, p, (at - t0) as f64);
            (i / WMS_PER_KWH, o / WMS_PER_KWH)
        }
        _ => (0.0, 0.0),
    };
    // A clock that stepped back restarts the integration from here.
    if c.power.is_none_or(|(t0, _)| at != t0) {
        c.power = Some((at, p));
    }
    energy
}

/// Take in one update's metrics; the counters it moved, as metrics to publish with it.
pub fn take(c: &mut Counters, counts: Counts, metrics: &[Metric], at: Millis) -> Vec<Metric> {
    let kwh = |name: &'static str, v: f64| Metric::number(name, "kWh", round(v, 3));
    match counts {
        Counts::Solar => {
            let Some(today) = number(metrics, "yield_today").filter(|v| *v >= 0.0) else { return Vec::new() };
            match c.yield_today {
                Some(last) if today >= last => c.yield_kwh += today - last,
                // A new day (or a charger that restarted): its count starts again.
                Some(last) if today < last - JITTER_KWH || today == 0.0 => c.yield_kwh += today,
                // Jitter between two readings of one counter: keep the higher.
                Some(_) => return vec![kwh("lifetime_yield", c.yield_kwh)],
                None => {}
            }
            c.yield_today = Some(today);
            vec![kwh("lifetime_yield", c.yield_kwh)]
        }
        Counts::Battery => {
            let Some(p) = number(metrics, "battery_power") else { return Vec::new() };
            let (i, o) = integrate(c, at, p);
            c.charged_kwh += i;
            c.discharged_kwh += o;
            vec![kwh("lifetime_charged", c.charged_kwh), kwh("lifetime_discharged", c.discharged_kwh)]
        }
        Counts::Load => {
            let Some(p) = number(metrics, "power") else { return Vec::new() };
            // A load's meter may read a little negative at rest; only use counts.
            let (i, _) = integrate(c, at, p.max(0.0));
            c.energy_kwh += i;
            vec![kwh("lifetime_energy", c.energy_kwh)]
        }
    }
}

/// The counters kept in `path` (none when it does not exist; an unreadable file is named in the
/// log and set aside as `.bad`, so the next save does not lose what a person may recover).
pub fn load(path: &std::path::Path) -> Lifetime {
    let Ok(text) = std::fs::read_to_string(path) else { return Lifetime::new() };
    match serde_json::from_str(&text) {
        Ok(l) => l,
        Err(e) => {
            let bad = path.with_extension("json.bad");
            tracing::warn!(
                "lifetime counters: {} unreadable ({e}); starting from zero, the file kept as {}",
                path.display(),
                bad.display()
            );
            let _ = std::fs::rename(path, bad);
            Lifetime::new()
        }
    }
}

/// Keep the counters in `path` (written aside and renamed: a power cut leaves the old or the
/// new file). A failure is logged; the counts go on in memory.
pub fn keep(path: &std::path::Path, lifetime: &Lifetime) {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(lifetime).unwrap_or_default();
    if let Err(e) = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path)) {
        tracing::warn!("lifetime counters: cannot keep them in {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solar(c: &mut Counters, today: f64) -> f64 {
        take(c, Counts::Solar, &[Metric::number("yield_today", "kWh", today)], 0)[0]
            .value
            .as_ref()
            .unwrap()
            .as_f64()
            .unwrap()
    }

    #[test]
    fn yield_adds_each_day_and_survives_resets_and_jitter() {
        let mut c = Counters::default();
        assert_eq!(solar(&mut c, 1.20), 0.0, "the first reading is where counting starts");
        assert_eq!(solar(&mut c, 2.50), 1.3);
        assert_eq!(solar(&mut c, 2.49), 1.3, "jitter adds nothing");
        assert_eq!(solar(&mut c, 2.50), 1.3, "nor does coming back from it");
        assert_eq!(solar(&mut c, 2.51), 1.31);
        assert_eq!(solar(&mut c, 0.00), 1.31, "midnight: a new day");
        assert_eq!(solar(&mut c, 0.40), 1.71);
        // Halyard was off over a night: the next day's count so far is added.
        let mut restarted: Counters = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(solar(&mut restarted, 0.25), 1.96);
    }

    fn battery(c: &mut Counters, at: Millis, watts: f64) -> (f64, f64) {
        let m = take(c, Counts::Battery, &[Metric::number("battery_power", "W", watts)], at);
        (m[0].value.as_ref().unwrap().as_f64().unwrap(), m[1].value.as_ref().unwrap().as_f64().unwrap())
    }

    #[test]
    fn battery_energy_in_and_out_apart() {
        let mut c = Counters::default();
        let hour = 3_600_000;
        // 1 kW of charge for an hour, sampled every minute: 1 kWh in.
        for t in 0..=60 {
            battery(&mut c, t * 60_000, 1000.0);
        }
        assert!((c.charged_kwh - 1.0).abs() < 1e-9, "{c:?}");
        // From +100 W to -300 W in one minute: a quarter of it charging (12.5 W·min in,
        // 112.5 W·min out).
        battery(&mut c, hour + 60_000, 100.0);
        let before = c.clone();
        battery(&mut c, hour + 120_000, -300.0);
        assert!((c.charged_kwh - before.charged_kwh - 12.5 / 60_000.0).abs() < 1e-12);
        assert!((c.discharged_kwh - 112.5 / 60_000.0).abs() < 1e-12);
        // A gap longer than MAX_GAP_MS, or a clock that stepped back, adds nothing.
        let before = c.clone();
        battery(&mut c, hour + 120_000 + MAX_GAP_MS + 1, -300.0);
        battery(&mut c, hour, -300.0);
        assert_eq!((c.charged_kwh, c.discharged_kwh), (before.charged_kwh, before.discharged_kwh));
    }

    #[test]
    fn counters_never_decrease() {
        // Random walks of power and yield: every published counter is at least the one before.
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut b, mut s) = (Counters::default(), Counters::default());
        let (mut t, mut last_b, mut last_s, mut today) = (0i64, (0.0, 0.0), 0.0, 0.0f64);
        for _ in 0..20_000 {
            t += (next() % 400_000) as i64 - 20_000;
            let p = (next() % 4000) as f64 - 2000.0;
            let now = battery(&mut b, t, p);
            assert!(now.0 >= last_b.0 && now.1 >= last_b.1);
            last_b = now;
            today = if next() % 50 == 0 { 0.0 } else { (today + (next() % 30) as f64 / 1000.0 - 0.005).max(0.0) };
            let y = solar(&mut s, today);
            assert!(y >= last_s);
            last_s = y;
        }
    }

    #[test]
    fn kept_across_restarts_and_a_broken_file_is_set_aside() {
        let dir = std::env::temp_dir().join(format!("halyard-lifetime-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("lifetime.json");
        assert!(load(&path).is_empty());
        let mut l = Lifetime::new();
        l.insert("house-bank".into(), Counters { charged_kwh: 12.5, power: Some((7, -40.0)), ..Counters::default() });
        keep(&path, &l);
        assert_eq!(load(&path), l);
        std::fs::write(&path, "{ half a fi").unwrap();
        assert!(load(&path).is_empty());
        assert!(dir.join("lifetime.json.bad").exists(), "the broken file is kept for a person to look at");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
