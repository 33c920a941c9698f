//! The data of the day graphs, midnight to midnight in the configured time zone, one point per
//! minute: the 1-minute rollups' mean for power and voltage, the counters' increases summed
//! from midnight for the yields. A minute without a sample is a gap (`null`), except in sums over devices, where each
//! device's last value holds for up to 15 minutes as in the daily report.
//!
//! - **network power**: the sum of every solar device's PV power (their roles as in the report).
//! - **yield through the day**: the increases of each MPPT's own `yield_today` counter since
//!   midnight (its energy integrated from PV power when it has no counter), held between
//!   samples; the network's is their sum.
//! - **charge targets**: the chargers' `absorption_voltage` and `float_voltage` when they report
//!   them (VE.Direct registers 0xEDF7/0xEDF6), else the highest and lowest target of the day
//!   that the VE.Smart network's master broadcasts (`network_target_voltage`, 0x2001).

use anyhow::Result;
use serde_json::{json, Value as Json};

use crate::json::round;
use crate::report::series::Held;
use crate::report::Roles;
use crate::store::{Backend, Calendar, Resolution};

const MINUTE: i64 = 60_000;
/// A device's last value counts in a sum for this many minutes.
const HOLD_MINUTES: usize = 15;

/// The minutes of one local day (1380 or 1500 on a daylight-saving change).
#[derive(Debug, Clone, Copy)]
pub struct Minutes {
    /// Local midnight, ms.
    pub start: i64,
    /// The next local midnight, ms.
    pub end: i64,
}

impl Minutes {
    /// The day containing `day_ms`.
    pub fn of(cal: &Calendar, day_ms: i64) -> Self {
        let start = cal.day_start(day_ms);
        Minutes { start, end: cal.next_day(start) }
    }

    /// Number of minutes.
    pub fn len(&self) -> usize {
        ((self.end - self.start) / MINUTE) as usize
    }

    /// Whether the day is empty (never: a day has at least 23 hours).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The minutes' starts in Unix seconds (uPlot's x values).
    pub fn times(&self) -> Vec<i64> {
        (0..self.len()).map(|i| (self.start + i as i64 * MINUTE) / 1000).collect()
    }

    fn index(&self, bucket: i64) -> Option<usize> {
        let i = (bucket - self.start).div_euclid(MINUTE);
        (0..self.len() as i64).contains(&i).then_some(i as usize)
    }

    /// One value per minute from the series' 1-minute rollups.
    fn read(
        &self,
        store: &mut dyn Backend,
        device: &str,
        metric: &str,
        pick: impl Fn(&crate::store::Aggregate) -> Option<f64>,
    ) -> Result<Vec<Option<f64>>> {
        let mut out = vec![None; self.len()];
        for (bucket, agg) in store.rollups(Resolution::Minute, device, metric, self.start, self.end)? {
            if let Some(i) = self.index(bucket) {
                out[i] = pick(&agg);
            }
        }
        Ok(out)
    }
}

/// Carry each value forward over up to `limit` empty minutes.
fn hold(values: &[Option<f64>], limit: usize) -> Vec<Option<f64>> {
    let mut out = Vec::with_capacity(values.len());
    let mut last: Option<(usize, f64)> = None;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                last = Some((i, *v));
                out.push(Some(*v));
            }
            None => out.push(last.filter(|(j, _)| i - j <= limit).map(|(_, v)| v)),
        }
    }
    out
}

/// The sum per minute of several series; `None` where none has a value.
fn sum(series: &[Vec<Option<f64>>], len: usize) -> Vec<Option<f64>> {
    (0..len)
        .map(|i| series.iter().filter_map(|s| s[i]).fold(None, |acc: Option<f64>, v| Some(acc.unwrap_or(0.0) + v)))
        .collect()
}

fn rounded(values: &[Option<f64>], decimals: i32) -> Json {
    json!(values.iter().map(|v| v.map(|v| round(v, decimals))).collect::<Vec<_>>())
}

/// A counter through the day: each minute's last value, held to the end of the day once seen.
fn cumulative(values: &[Option<f64>]) -> Vec<Option<f64>> {
    hold(values, usize::MAX)
}

/// `/api/day/solar`.
pub fn solar(devices: &[crate::config::Device], store: &mut dyn Backend, cal: &Calendar, day_ms: i64) -> Result<Json> {
    let day = Minutes::of(cal, day_ms);
    let roles = Roles::find(devices, store)?;
    let mut power = Vec::new();
    let mut yields = Vec::new();
    for (device, metric, _) in &roles.solar {
        let watts = day.read(store, device, metric, |a| a.mean())?;
        // The counter's increases minute by minute (so a reset at sunrise, not midnight, starts
        // nothing twice), else, with no counter, its integrated power; summed through the day.
        let mut energy = day.read(store, device, "yield_today", |a| Some(a.energy_wh))?;
        if energy.iter().all(Option::is_none) {
            energy = day.read(store, device, metric, |a| Some(a.energy_wh))?;
        }
        let mut total = 0.0;
        let wh: Vec<Option<f64>> = energy
            .iter()
            .map(|e| {
                e.map(|e| {
                    total += e;
                    total
                })
            })
            .collect();
        power.push((device.clone(), watts));
        yields.push((device.clone(), cumulative(&wh)));
    }
    let held: Vec<Vec<Option<f64>>> = power.iter().map(|(_, w)| hold(w, HOLD_MINUTES)).collect();
    let network_power = sum(&held, day.len());
    let network_yield = sum(&yields.iter().map(|(_, y)| y.clone()).collect::<Vec<_>>(), day.len());

    // The battery's voltage: the battery device's, else what the first charger measures.
    let mut battery_voltage = None;
    let candidates = roles.battery.iter().map(|b| (b.clone(), ["battery_voltage", "voltage"]));
    let candidates = candidates.chain(roles.solar.iter().map(|(d, _, _)| (d.clone(), ["battery_voltage", "voltage"])));
    'found: for (device, metrics) in candidates {
        for m in metrics {
            let v = day.read(store, &device, m, |a| a.mean())?;
            if v.iter().any(Option::is_some) {
                battery_voltage = Some(v);
                break 'found;
            }
        }
    }
    let mut target = None;
    let (mut absorption, mut float) = (None, None);
    for (device, _, _) in &roles.solar {
        if target.is_none() {
            let t = day.read(store, device, "network_target_voltage", |a| a.mean())?;
            if t.iter().any(Option::is_some) {
                target = Some(t);
            }
        }
        absorption = absorption.or(latest(store, device, "absorption_voltage", day.end)?);
        float = float.or(latest(store, device, "float_voltage", day.end)?);
    }
    if let Some(t) = &target {
        let (lo, hi) = t.iter().flatten().fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        if absorption.is_none() && hi > f64::MIN {
            absorption = Some(hi);
        }
        // A day that never left bulk/absorption has one target only: no float line from it.
        if float.is_none() && hi - lo > 0.1 {
            float = Some(lo);
        }
    }

    let mut power_json = vec![json!({ "name": "network", "values": rounded(&network_power, 1) })];
    power_json.extend(power.iter().map(|(d, w)| json!({ "name": d, "values": rounded(w, 1) })));
    let mut yield_json = vec![json!({ "name": "network", "values": rounded(&network_yield, 1) })];
    yield_json.extend(yields.iter().map(|(d, y)| json!({ "name": d, "values": rounded(y, 1) })));
    Ok(json!({
        "date": cal.date(day.start),
        "start": day.start / 1000,
        "end": day.end / 1000,
        "time": if network_power.iter().any(Option::is_some) || battery_voltage.is_some() { day.times() } else { Vec::new() },
        "power": power_json,
        "yield": yield_json,
        "battery_voltage": battery_voltage.as_deref().map(|v| rounded(v, 3)),
        "target_voltage": target.as_deref().map(|v| rounded(v, 2)),
        "references": { "absorption_v": absorption.map(|v| round(v, 2)), "float_v": float.map(|v| round(v, 2)) },
    }))
}

/// The last value of a series up to `before` (day rollups: a setting changes rarely).
fn latest(store: &mut dyn Backend, device: &str, metric: &str, before: i64) -> Result<Option<f64>> {
    Ok(store.rollups(Resolution::Day, device, metric, 0, before)?.last().and_then(|(_, a)| a.last.map(|(_, v)| v)))
}

/// `/api/day/battery`.
pub fn battery(
    devices: &[crate::config::Device],
    store: &mut dyn Backend,
    cal: &Calendar,
    day_ms: i64,
) -> Result<Json> {
    let day = Minutes::of(cal, day_ms);
    let roles = Roles::find(devices, store)?;
    let Some(bank) = roles.battery.clone() else {
        return Ok(json!({ "date": cal.date(day.start), "device": null, "time": [] }));
    };
    let power = day.read(store, &bank, "battery_power", |a| a.mean())?;
    let mut voltage = vec![None; day.len()];
    for m in ["battery_voltage", "voltage"] {
        voltage = day.read(store, &bank, m, |a| a.mean())?;
        if voltage.iter().any(Option::is_some) {
            break;
        }
    }
    // The state of charge from the bank's monitor, else from another battery device (a
    // MasterShunt beside a SmartShunt).
    let others =
        devices.iter().filter(|d| d.role.as_deref() == Some("battery") && d.name != bank).map(|d| d.name.clone());
    let mut soc = vec![None; day.len()];
    'found: for device in std::iter::once(bank.clone()).chain(others) {
        for m in ["soc", "state_of_charge"] {
            soc = day.read(store, &device, m, |a| a.mean())?;
            if soc.iter().any(Option::is_some) {
                break 'found;
            }
        }
    }
    // Charged and discharged as the report counts them: from the raw samples, each held.
    let samples = store.samples(&bank, "battery_power", day.start - 3_600_000, day.end)?;
    let held = Held(&samples);
    let lowest = voltage.iter().flatten().copied().reduce(f64::min);
    let recorded = power.iter().any(Option::is_some);
    Ok(json!({
        "date": cal.date(day.start),
        "device": bank,
        "time": if recorded { day.times() } else { Vec::new() },
        "power": rounded(&power, 1),
        "voltage": rounded(&voltage, 3),
        "soc": rounded(&soc, 1),
        "charged_wh": (!samples.is_empty()).then(|| round(held.energy(day.start, day.end, |p| p > 0.0), 1)),
        "discharged_wh": (!samples.is_empty()).then(|| round(-held.energy(day.start, day.end, |p| p < 0.0), 1)),
        "lowest_v": lowest.map(|v| round(v, 3)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Roller, Store};

    fn device(name: &str, role: &str) -> crate::config::Device {
        crate::config::Device { name: name.into(), role: Some(role.into()), ..Default::default() }
    }

    #[test]
    fn holding_and_summing() {
        let v = [Some(1.0), None, None, Some(4.0), None];
        assert_eq!(hold(&v, 1), [Some(1.0), Some(1.0), None, Some(4.0), Some(4.0)]);
        assert_eq!(sum(&[vec![Some(1.0), None], vec![Some(2.0), None]], 2), [Some(3.0), None]);
    }

    /// Two chargers over a daylight-saving day in Paris (23 hours): the grid, the sums, the
    /// counters held through the day, the charge targets from the network's broadcasts.
    #[test]
    fn a_solar_day_on_the_spring_change() {
        let dir = std::env::temp_dir().join(format!("halyard-day-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut store = Store::open(&dir.join("h.sqlite")).unwrap();
        let cal = Calendar::new("Europe/Paris").unwrap();
        let mut roller = Roller::new(cal.clone(), crate::store::rollup::MAX_HOLD_MS);
        let day = Minutes::of(&cal, crate::sim::parse_date("2026-03-29").unwrap() * 86_400_000 + 43_200_000);
        assert_eq!(day.len(), 23 * 60);
        let a = store.series_id("port", "panel_power", "W").unwrap();
        let b = store.series_id("stbd", "panel_power", "W").unwrap();
        let ya = store.series_id("port", "yield_today", "kWh").unwrap();
        let t = store.series_id("port", "network_target_voltage", "V").unwrap();
        let mut samples = Vec::new();
        // From 10:00 to 11:00 local (UTC+2 after the change): port 100 W, stbd 50 W (stbd
        // silent from 10:30), port's counter +0.01 kWh a minute; target 14.2 V then 13.5 V.
        let ten = day.start + 9 * 3_600_000; // 23-hour day: 10:00 local is 9 h after midnight
        for m in 0..60 {
            let at = ten + m * MINUTE + 30_000;
            samples.push((a, at, 100.0, crate::store::Integrate::Power));
            if m < 30 {
                samples.push((b, at, 50.0, crate::store::Integrate::Power));
            }
            samples.push((ya, at, 0.01 * (m + 1) as f64, crate::store::Integrate::Counter));
            samples.push((t, at, if m < 40 { 14.2 } else { 13.5 }, crate::store::Integrate::No));
        }
        samples.sort_by_key(|s| (s.0, s.1));
        store.write_batch(&samples, &mut roller).unwrap();
        let devices = [device("port", "solar"), device("stbd", "solar")];
        let j = solar(&devices, &mut store, &cal, day.start + 1).unwrap();
        assert_eq!(j["date"], "2026-03-29");
        assert_eq!(j["time"].as_array().unwrap().len(), 1380);
        let i = ((ten - day.start) / MINUTE) as usize;
        let net = &j["power"][0]["values"];
        assert_eq!(net[i - 1], Json::Null, "nothing before 10:00");
        assert_eq!(net[i], 150.0);
        // stbd's last value holds 15 minutes after it fell silent, then it no longer counts.
        assert_eq!(net[i + 30 + 14], 150.0);
        assert_eq!(net[i + 30 + 16], 100.0);
        assert_eq!(j["power"][2]["values"][i + 31], Json::Null, "a device's own line shows the gap");
        // The counter: 0.6 kWh at 11:00, held to midnight; stbd integrated from its power.
        assert_eq!(j["yield"][1]["values"][i + 59], 600.0);
        assert_eq!(j["yield"][1]["values"][1379], 600.0);
        let stbd_wh = j["yield"][2]["values"][1379].as_f64().unwrap();
        assert!((stbd_wh - 25.0).abs() < 1.5, "50 W for about 30 min: {stbd_wh}");
        assert_eq!(j["references"]["absorption_v"], 14.2);
        assert_eq!(j["references"]["float_v"], 13.5);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
