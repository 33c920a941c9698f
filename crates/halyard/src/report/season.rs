//! The season at a glance: one line per recorded day from the day rollups alone (so a season
//! of 180 days reads a few thousand rows, not millions of samples), and each MPPT's trend.
//!
//! Per day: the network yield and each MPPT's yield and share (as in the daily report), the
//! battery's net energy (the integral of `battery_power`: in minus out), the dump-load energy and
//! the lowest battery voltage; and the consumption: the network yield less the battery's net
//! energy (what the solar chargers delivered and the bank did not keep, or what the bank gave on
//! top; other chargers such as shore power or an alternator are not counted).

use std::collections::BTreeMap;

use anyhow::Result;
use serde_json::{json, Map, Value as Json};

use super::performance::{self, DayYields};
use super::series::{median, round};
use super::Roles;
use crate::store::{Backend, Calendar, Resolution};

/// The summary of the local days from the one containing `from_ms` to the one containing
/// `to_ms`, both included.
pub fn summary(
    devices: &[crate::config::Device],
    store: &mut dyn Backend,
    cal: &Calendar,
    from_ms: i64,
    to_ms: i64,
) -> Result<Json> {
    let roles = Roles::find(devices, store)?;
    let (from, to) = (cal.day_start(from_ms), cal.next_day(cal.day_start(to_ms)));
    let mut days: BTreeMap<i64, Map<String, Json>> = BTreeMap::new();
    let mut yields: BTreeMap<i64, DayYields> = BTreeMap::new();
    let row = |days: &mut BTreeMap<i64, Map<String, Json>>, bucket: i64| -> i64 {
        let n = cal.day_number(bucket);
        days.entry(n).or_insert_with(|| {
            let mut m = Map::new();
            m.insert("date".into(), cal.date(bucket).into());
            m
        });
        n
    };
    for (d, _, _) in &roles.solar {
        for (bucket, agg) in store.rollups(Resolution::Day, d, "yield_today", from, to)? {
            if agg.count == 0 {
                continue;
            }
            let n = row(&mut days, bucket);
            yields
                .entry(n)
                .or_insert_with(|| DayYields { day: n, ..Default::default() })
                .yields
                .insert(d.clone(), agg.energy_wh);
        }
    }
    if let Some(b) = &roles.battery {
        for (bucket, agg) in store.rollups(Resolution::Day, b, "battery_power", from, to)? {
            let n = row(&mut days, bucket);
            days.entry(n).or_default().insert("battery_net_wh".into(), json!(round(agg.energy_wh, 1)));
        }
        for metric in ["battery_voltage", "voltage"] {
            let r = store.rollups(Resolution::Day, b, metric, from, to)?;
            for (bucket, agg) in &r {
                let n = row(&mut days, *bucket);
                days.entry(n).or_default().insert("lowest_battery_v".into(), json!(agg.min));
            }
            if !r.is_empty() {
                break;
            }
        }
    }
    for d in &roles.dump_loads {
        for (bucket, agg) in store.rollups(Resolution::Day, d, "power", from, to)? {
            let n = row(&mut days, bucket);
            let e = days.entry(n).or_default();
            let before = e.get("dump_load_wh").and_then(Json::as_f64).unwrap_or(0.0);
            e.insert("dump_load_wh".into(), json!(round(before + agg.energy_wh, 1)));
        }
    }
    for (n, y) in &yields {
        let total: f64 = y.yields.values().sum();
        let e = days.entry(*n).or_default();
        e.insert("network_yield_wh".into(), json!(round(total, 1)));
        if let Some(net) = e.get("battery_net_wh").and_then(Json::as_f64) {
            e.insert("consumption_wh".into(), json!(round(total - net, 1)));
        }
        e.insert(
            "yield_wh".into(),
            json!(y.yields.iter().map(|(d, v)| (d.clone(), json!(round(*v, 1)))).collect::<Map<_, _>>()),
        );
        e.insert(
            "share_percent".into(),
            json!(y
                .yields
                .iter()
                .map(|(d, v)| (d.clone(), json!(if total > 0.0 { round(100.0 * v / total, 1) } else { 0.0 })))
                .collect::<Map<_, _>>()),
        );
    }
    let history: Vec<DayYields> = yields.values().cloned().collect();
    let mppt = performance::assess(&history, i64::MAX / 2);
    let mut network: Vec<f64> = history.iter().map(|d| d.yields.values().sum()).collect();
    let total: f64 = network.iter().sum();
    Ok(json!({
        "from": cal.date(from),
        "to": cal.date(to - 1),
        "days": days.into_values().map(Json::Object).collect::<Vec<_>>(),
        "network_yield": {
            "days": network.len(),
            "min_wh": network.iter().copied().reduce(f64::min).map(|v| round(v, 1)),
            "max_wh": network.iter().copied().reduce(f64::max).map(|v| round(v, 1)),
            "median_wh": median(&mut network).map(|v| round(v, 1)),
            "total_kwh": round(total / 1000.0, 3),
        },
        "mppt": mppt.iter().map(|(d, a)| (d.clone(), a.to_json())).collect::<Map<_, _>>(),
    }))
}

/// The summary as a table.
pub fn print(summary: &Json) {
    let days = summary["days"].as_array().cloned().unwrap_or_default();
    let devices: Vec<String> = summary["mppt"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    let mut header = format!("{:10} {:>9} {:>9} {:>9} {:>7}", "date", "yield Wh", "batt Wh", "dump Wh", "min V");
    for d in &devices {
        header.push_str(&format!(" {:>12}", format!("{d} %")));
    }
    println!("{header}");
    let cell = |v: &Json, decimals: usize| v.as_f64().map_or("-".to_owned(), |x| format!("{x:.decimals$}"));
    for day in &days {
        let mut line = format!(
            "{:10} {:>9} {:>9} {:>9} {:>7}",
            day["date"].as_str().unwrap_or(""),
            cell(&day["network_yield_wh"], 0),
            cell(&day["battery_net_wh"], 0),
            cell(&day["dump_load_wh"], 0),
            cell(&day["lowest_battery_v"], 2)
        );
        for d in &devices {
            line.push_str(&format!(" {:>12}", cell(&day["share_percent"][d], 1)));
        }
        println!("{line}");
    }
    let n = &summary["network_yield"];
    println!(
        "\nnetwork yield over {} days: min {} Wh, median {} Wh, max {} Wh, total {} kWh",
        n["days"],
        cell(&n["min_wh"], 0),
        cell(&n["median_wh"], 0),
        cell(&n["max_wh"], 0),
        cell(&n["total_kwh"], 1)
    );
    for d in &devices {
        let a = &summary["mppt"][d];
        println!(
            "{d}: share trend {} % per 30 days over {} days{}",
            cell(&a["trend_percent_per_30_days"], 1),
            a["trend_days"],
            if a["degrading"] == json!(true) { " — DEGRADING" } else { "" }
        );
    }
}
