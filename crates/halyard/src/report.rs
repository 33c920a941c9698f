//! The daily report (DESIGN.md §5): the questions boat owners ask, answered from the store for
//! one local day (midnight to midnight in the configured time zone).
//!
//! Definitions, all from recorded values:
//! - **solar power** of the network: the sum of every solar device's PV power (`solar_power` or
//!   `panel_power`), each held at its last value.
//! - **solar start / stop**: the first and last recorded time the network's solar power was above
//!   5 W.
//! - **battery power**: the battery device's `battery_power` (V × I, positive when charging).
//! - **charging started**: the first recorded time battery power was above 5 W while the network
//!   produced more than 5 W.
//!
//! The simulator's ground truth (`sim::truth`) applies the same definitions to its true values.
//! - **production covered consumption**: the first recorded time battery power was ≥ 0 while the
//!   network produced more than 5 W.
//! - **max charging power**: the largest battery power of the day.
//! - **full**: the first recorded time any solar charger reported float (state 5).
//! - **lowest battery voltage**: the smallest voltage the battery device reported.
//! - **yield** of each MPPT: the last value of its own `yield_today` counter of the day; the
//!   network total and each MPPT's share of it.
//! - **daily battery consumption**: the energy of negative battery power over the day.
//! - **discharging with the sun up**: the time battery power was below −5 W while the network
//!   produced more than 5 W (both held between their samples).
//! - **group deviation**: for every device group, the sum of its yields, and the spread between
//!   the largest and the smallest as a percentage of their mean.

use std::collections::BTreeMap;

use anyhow::Result;
use serde_json::{json, Map, Value as Json};

use crate::config::Config;
use crate::store::{Backend, Calendar, Resolution};

/// Above this the network counts as producing, W.
const PRODUCING_W: f64 = 5.0;

/// A step function from samples: the value at any time is the last sample at or before it.
struct Held<'a>(&'a [(i64, f64)]);

impl Held<'_> {
    fn at(&self, t: i64) -> Option<f64> {
        match self.0.partition_point(|(ts, _)| *ts <= t) {
            0 => None,
            i => Some(self.0[i - 1].1),
        }
    }
}

/// The devices the report reads.
#[derive(Debug, Default)]
pub struct Roles {
    /// Solar devices with their PV-power metric and group.
    pub solar: Vec<(String, &'static str, Option<String>)>,
    /// The battery device.
    pub battery: Option<String>,
}

impl Roles {
    /// From the configured devices and what the store holds.
    pub fn find(devices: &[crate::config::Device], store: &mut dyn Backend) -> Result<Roles> {
        let series = store.series()?;
        let has = |d: &str, m: &str| series.iter().any(|(sd, sm, _)| sd == d && sm == m);
        let mut roles = Roles::default();
        for d in devices {
            match d.role.as_deref() {
                Some("solar") => {
                    if let Some(metric) = ["solar_power", "panel_power"].into_iter().find(|m| has(&d.name, m)) {
                        roles.solar.push((d.name.clone(), metric, d.group.clone()));
                    }
                }
                Some("battery") if roles.battery.is_none() && has(&d.name, "battery_power") => {
                    roles.battery = Some(d.name.clone());
                }
                _ => {}
            }
        }
        Ok(roles)
    }
}

fn energy_of(samples: &[(i64, f64)], from: i64, to: i64, keep: impl Fn(f64) -> bool) -> f64 {
    let mut wh = 0.0;
    for w in samples.windows(2) {
        let (t0, v) = w[0];
        let t1 = w[1].0.min(to);
        let t0 = t0.max(from);
        if t1 > t0 && keep(v) {
            wh += v * (t1 - t0) as f64 / 3_600_000.0;
        }
    }
    wh
}

/// The report of the local day containing `day_ms`.
pub fn daily(devices: &[crate::config::Device], store: &mut dyn Backend, cal: &Calendar, day_ms: i64) -> Result<Json> {
    let start = cal.day_start(day_ms);
    let end = cal.next_day(start);
    let roles = Roles::find(devices, store)?;
    let time = |t: Option<i64>| t.map(crate::sinks::mqtt::rfc3339);

    // The network's solar power at every time any solar device reported.
    let pv: Vec<Vec<(i64, f64)>> =
        roles.solar.iter().map(|(d, m, _)| store.samples(d, m, start - 3_600_000, end)).collect::<Result<_>>()?;
    let mut times: Vec<i64> = pv.iter().flatten().map(|(t, _)| *t).filter(|t| (start..end).contains(t)).collect();
    times.sort_unstable();
    times.dedup();
    let network = |t: i64| pv.iter().map(|s| Held(s).at(t).unwrap_or(0.0)).sum::<f64>();
    let producing: Vec<i64> = times.iter().copied().filter(|t| network(*t) > PRODUCING_W).collect();
    let (solar_start, solar_stop) = (producing.first().copied(), producing.last().copied());

    let mut out = Map::new();
    out.insert("date".into(), cal.date(start).into());
    out.insert("solar_start".into(), json!(time(solar_start)));
    out.insert("solar_stop".into(), json!(time(solar_stop)));

    // Yields and shares.
    let mut yields = Map::new();
    let mut total = 0.0;
    let mut by_group: BTreeMap<String, f64> = BTreeMap::new();
    for (d, _, group) in &roles.solar {
        let day = store.rollups(Resolution::Day, d, "yield_today", start, start + 1)?;
        if let Some(y) = day.first().and_then(|(_, a)| a.last).map(|(_, v)| v * 1000.0) {
            yields.insert(d.clone(), json!((y * 10.0).round() / 10.0));
            total += y;
            if let Some(g) = group {
                *by_group.entry(g.clone()).or_default() += y;
            }
        }
    }
    let shares: Map<String, Json> = yields
        .iter()
        .map(|(d, y)| {
            (
                d.clone(),
                json!(if total > 0.0 { (y.as_f64().unwrap_or(0.0) / total * 1000.0).round() / 10.0 } else { 0.0 }),
            )
        })
        .collect();
    out.insert("yield_wh".into(), Json::Object(yields));
    out.insert("network_yield_wh".into(), json!((total * 10.0).round() / 10.0));
    out.insert("share_percent".into(), Json::Object(shares));
    if by_group.len() >= 2 {
        let max = by_group.values().cloned().fold(f64::MIN, f64::max);
        let min = by_group.values().cloned().fold(f64::MAX, f64::min);
        let mean = by_group.values().sum::<f64>() / by_group.len() as f64;
        out.insert(
            "group_yield_wh".into(),
            json!(by_group.iter().map(|(g, y)| (g.clone(), json!((y * 10.0).round() / 10.0))).collect::<Map<_, _>>()),
        );
        out.insert(
            "group_deviation_percent".into(),
            json!(if mean > 0.0 { ((max - min) / mean * 1000.0).round() / 10.0 } else { 0.0 }),
        );
    }

    // The battery.
    if let Some(b) = &roles.battery {
        let power = store.samples(b, "battery_power", start - 3_600_000, end)?;
        let in_day: Vec<(i64, f64)> = power.iter().copied().filter(|(t, _)| (start..end).contains(t)).collect();
        let charging = in_day.iter().find(|(t, p)| *p > PRODUCING_W && network(*t) > PRODUCING_W).map(|(t, _)| *t);
        let covered = in_day.iter().find(|(t, p)| *p >= 0.0 && network(*t) > PRODUCING_W).map(|(t, _)| *t);
        let max_charge = in_day.iter().map(|(_, p)| *p).fold(f64::MIN, f64::max);
        out.insert("charging_started".into(), json!(time(charging)));
        out.insert("covered_consumption_at".into(), json!(time(covered)));
        out.insert(
            "max_charge_w".into(),
            json!(if in_day.is_empty() { Json::Null } else { json!(max_charge.round()) }),
        );
        let consumed = -energy_of(&power, start, end, |p| p < 0.0);
        out.insert("battery_consumption_wh".into(), json!((consumed * 10.0).round() / 10.0));
        // Both step functions change only at sample times: walk their union.
        let mut points: Vec<i64> = times.iter().copied().chain(in_day.iter().map(|(t, _)| *t)).collect();
        points.push(end);
        points.sort_unstable();
        points.dedup();
        let held = Held(&power);
        let negative_ms: i64 = points
            .windows(2)
            .filter(|w| held.at(w[0]).is_some_and(|p| p < -PRODUCING_W) && network(w[0]) > PRODUCING_W)
            .map(|w| w[1] - w[0])
            .sum();
        out.insert("negative_battery_with_sun_s".into(), json!(negative_ms / 1000));
        let volts = ["battery_voltage", "voltage"]
            .iter()
            .find_map(|m| store.rollups(Resolution::Day, b, m, start, start + 1).ok().filter(|r| !r.is_empty()))
            .and_then(|r| r[0].1.min);
        out.insert("lowest_battery_v".into(), json!(volts));
    }

    // Full: the first float reported by a solar charger.
    let mut full: Option<i64> = None;
    for (d, _, _) in &roles.solar {
        for metric in ["charge_state", "device_state"] {
            if let Some((t, _)) = store.samples(d, metric, start, end)?.into_iter().find(|(_, v)| *v == 5.0) {
                full = Some(full.map_or(t, |f: i64| f.min(t)));
            }
        }
    }
    out.insert("full_at".into(), json!(time(full)));
    Ok(Json::Object(out))
}

/// `halyard report`.
#[derive(Debug, clap::Args)]
#[command(long_about = "The daily answers for one local day (midnight to midnight in the configured time zone), \
from the history store.\n\n\
solar_start/solar_stop: first/last time the network's PV power (sum of every solar device's \
solar_power or panel_power, each held at its last value) was above 5 W.\n\
charging_started: first time the battery device's battery_power was above 5 W while the network produced.\n\
covered_consumption_at: first time battery_power was >= 0 while the network produced.\n\
max_charge_w: largest battery_power of the day.\n\
full_at: first time a solar charger reported float.\n\
lowest_battery_v: smallest battery voltage reported.\n\
yield_wh: each MPPT's own yield_today counter, last value of the day; network_yield_wh and share_percent.\n\
battery_consumption_wh: energy of negative battery_power over the day.\n\
negative_battery_with_sun_s: seconds of negative battery_power between solar start and stop.\n\
group_deviation_percent: spread of the device groups' yields as a percentage of their mean.")]
pub struct Args {
    /// The configuration (devices, roles, store, time zone).
    #[arg(short, long, env = "HALYARD_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// The day, YYYY-MM-DD (default: today).
    #[arg(long)]
    date: Option<String>,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Print the report.
pub fn command(args: Args) -> Result<()> {
    let config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let cal = config.calendar()?;
    if config.store.backend == "sqlite" {
        let path = config.store.path.clone().unwrap_or_else(|| config.data_dir().join("halyard.sqlite"));
        anyhow::ensure!(path.exists(), "no history at {} (is [store] enabled and has Halyard run?)", path.display());
    }
    let mut store = crate::store::open(&config)?;
    let day_ms = match &args.date {
        Some(d) => {
            // Noon UTC of the date lands inside that local day for every offset of ±12 h.
            crate::sim::parse_date(d)? * 86_400_000 + 12 * 3_600_000
        }
        None => crate::ingest::now_ms(),
    };
    let report = daily(&config.device, store.as_mut(), &cal, day_ms)?;
    if args.json {
        println!("{report}");
    } else if let Json::Object(m) = &report {
        for (k, v) in m {
            println!(
                "{k:28} {}",
                match v {
                    Json::String(s) => s.clone(),
                    Json::Null => "-".into(),
                    other => other.to_string(),
                }
            );
        }
    }
    Ok(())
}
