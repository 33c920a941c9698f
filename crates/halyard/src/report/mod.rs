//! The daily report (DESIGN.md §5): the questions boat owners ask, answered from the store for
//! one local day (midnight to midnight in the configured time zone).
//!
//! Definitions, all from recorded values. A value holds from its sample until the next one, for
//! at most 15 minutes (`series`); longer silences are data gaps, listed in `data_gaps`, and no
//! energy is counted across them.
//! - **network solar power**: the sum of every solar device's PV power (`solar_power` or
//!   `panel_power`), each held.
//! - **solar start / stop**: the first and last recorded time the network's solar power was above
//!   5 W.
//! - **battery power**: the battery device's `battery_power` (V × I, positive when charging).
//! - **charging started**: the first recorded time battery power was above 5 W while the network
//!   produced more than 5 W.
//! - **production covered consumption**: the first recorded time battery power was ≥ 0 while the
//!   network produced more than 5 W.
//! - **max charging power**: the largest battery power of the day (0 when it never charged).
//! - **full**: the first recorded time a solar charger reported float (state 5) or the battery
//!   device a state of charge of 100 %.
//! - **lowest battery voltage**: the smallest voltage the battery device reported.
//! - **yield** of each MPPT: the sum of the increases of its own `yield_today` counter over the
//!   day (a drop to less than half is a reset: see `store::rollup`), whenever the device resets
//!   it (Victron MPPTs at the morning's sun, having no clock); the network total and each MPPT's share of it; each MPPT against its history and its peers as
//!   defined in [`performance`].
//! - **daily battery consumption**: the energy of negative battery power over the day.
//! - **overnight draw**: the energy of negative battery power from the previous solar stop (up
//!   to a week back) to this day's solar start; none on a day without sun.
//! - **dump-load energy**: the energy of the `power` of every `dump_load` device over the day.
//! - **discharging with the sun up**: the time battery power was below −5 W while the network
//!   produced more than 5 W.
//! - **group deviation**: for every device group, the sum of its yields, and the spread between
//!   the largest and the smallest as a percentage of their mean; for power, the median of that
//!   spread over the day's samples while the network produced more than 50 W.
//! - **network yield over N days**: min, max and median of the network yield of the last 30
//!   days with a recorded yield (this day included); **lifetime yield**: the sum over every
//!   day in the store.
//!
//! The simulator's ground truth (`sim::truth`) applies the same definitions to its true values.

pub mod performance;
pub mod season;
pub mod series;
mod text;

use std::collections::BTreeMap;

use anyhow::Result;
use serde_json::{json, Map, Value as Json};

use crate::config::Config;
use crate::store::{Backend, Calendar, Resolution};
use series::{median, round, Held};

/// Above this the network counts as producing, W.
pub const PRODUCING_W: f64 = 5.0;
/// Above this the network's groups are compared, W.
pub const COMPARING_W: f64 = 50.0;
/// Days of the network yield statistics.
pub const YIELD_DAYS: usize = 30;
/// How far back the overnight draw looks for the previous solar stop, days.
const OVERNIGHT_DAYS: i64 = 7;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

/// The devices the report reads: the configured roles; without any `solar` role, every device
/// that records a yield counter and PV power.
#[derive(Debug, Default)]
pub struct Roles {
    /// Solar devices with their PV-power metric and group.
    pub solar: Vec<(String, &'static str, Option<String>)>,
    /// The battery device.
    pub battery: Option<String>,
    /// Dump loads with a `power` series.
    pub dump_loads: Vec<String>,
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
                Some("dump_load") if has(&d.name, "power") => roles.dump_loads.push(d.name.clone()),
                _ => {}
            }
        }
        // No device configured as solar: every device that records a yield counter and PV
        // power is a solar charger (what an unconfigured `halyard run` finds).
        if !devices.iter().any(|d| d.role.as_deref() == Some("solar")) {
            let mut names: Vec<&str> = series.iter().map(|(d, _, _)| d.as_str()).collect();
            names.dedup();
            for d in names {
                if let Some(metric) = ["solar_power", "panel_power"].into_iter().find(|m| has(d, m)) {
                    if has(d, "yield_today") {
                        roles.solar.push((d.to_owned(), metric, None));
                    }
                }
            }
        }
        Ok(roles)
    }
}

/// The network's solar power as the sum of its devices' held PV power.
struct Network {
    pv: Vec<Vec<(i64, f64)>>,
}

impl Network {
    fn read(roles: &Roles, store: &mut dyn Backend, from: i64, to: i64) -> Result<Self> {
        let pv = roles.solar.iter().map(|(d, m, _)| store.samples(d, m, from, to)).collect::<Result<_>>()?;
        Ok(Network { pv })
    }

    fn at(&self, t: i64) -> f64 {
        self.pv.iter().map(|s| Held(s).at(t).unwrap_or(0.0)).sum()
    }

    /// Every sample time in `[from, to)`, sorted.
    fn times(&self, from: i64, to: i64) -> Vec<i64> {
        let mut t: Vec<i64> = self.pv.iter().flatten().map(|(t, _)| *t).filter(|t| (from..to).contains(t)).collect();
        t.sort_unstable();
        t.dedup();
        t
    }
}

/// The report of the local day containing `day_ms`.
pub fn daily(devices: &[crate::config::Device], store: &mut dyn Backend, cal: &Calendar, day_ms: i64) -> Result<Json> {
    let start = cal.day_start(day_ms);
    let end = cal.next_day(start);
    let roles = Roles::find(devices, store)?;
    let time = |t: Option<i64>| t.map(crate::sinks::mqtt::rfc3339);

    let network = Network::read(&roles, store, start - HOUR, end)?;
    let times = network.times(start, end);
    let producing: Vec<i64> = times.iter().copied().filter(|t| network.at(*t) > PRODUCING_W).collect();
    let (solar_start, solar_stop) = (producing.first().copied(), producing.last().copied());

    let mut out = Map::new();
    out.insert("date".into(), cal.date(start).into());
    out.insert("solar_start".into(), json!(time(solar_start)));
    out.insert("solar_stop".into(), json!(time(solar_stop)));

    solar(&mut out, &roles, store, cal, start, &network, &times)?;

    // The battery; the times that tell the data gaps.
    let heard_at: Vec<i64> = if let Some(b) = &roles.battery {
        // From the previous solar stop when there is one, for the overnight draw.
        let previous_stop = match solar_start {
            Some(first) => previous_solar_stop(&roles, store, start, first)?,
            None => None,
        };
        let from = previous_stop.unwrap_or(start).min(start) - HOUR;
        let power = store.samples(b, "battery_power", from, end + HOUR)?;
        let held = Held(&power);
        let in_day: Vec<(i64, f64)> = power.iter().copied().filter(|(t, _)| (start..end).contains(t)).collect();
        let charging = in_day.iter().find(|(t, p)| *p > PRODUCING_W && network.at(*t) > PRODUCING_W).map(|(t, _)| *t);
        let covered = in_day.iter().find(|(t, p)| *p >= 0.0 && network.at(*t) > PRODUCING_W).map(|(t, _)| *t);
        out.insert("charging_started".into(), json!(time(charging)));
        out.insert("covered_consumption_at".into(), json!(time(covered)));
        let max_charge = in_day.iter().map(|(_, p)| *p).reduce(f64::max);
        out.insert("max_charge_w".into(), json!(max_charge.map(|w| w.max(0.0).round())));
        let consumed = -held.energy(start, end, |p| p < 0.0);
        out.insert("battery_consumption_wh".into(), json!(round(consumed, 1)));
        let overnight = match (previous_stop, solar_start) {
            (Some(a), Some(b)) => Some(round(-held.energy(a, b, |p| p < 0.0), 1)),
            _ => None,
        };
        out.insert("overnight_wh".into(), json!(overnight));
        out.insert("overnight_since".into(), json!(time(previous_stop.filter(|_| overnight.is_some()))));
        // Both step functions change only at sample times: walk their union.
        let mut points: Vec<i64> = times.iter().copied().chain(in_day.iter().map(|(t, _)| *t)).collect();
        points.push(end);
        points.sort_unstable();
        points.dedup();
        let negative_ms: i64 = points
            .windows(2)
            .filter(|w| held.at(w[0]).is_some_and(|p| p < -PRODUCING_W) && network.at(w[0]) > PRODUCING_W)
            .map(|w| w[1] - w[0])
            .sum();
        out.insert("negative_battery_with_sun_s".into(), json!(negative_ms / 1000));
        let volts = ["battery_voltage", "voltage"]
            .iter()
            .find_map(|m| store.rollups(Resolution::Day, b, m, start, start + 1).ok().filter(|r| !r.is_empty()))
            .and_then(|r| r[0].1.min);
        out.insert("lowest_battery_v".into(), json!(volts));
        // Gaps: the battery device is heard (and republished) at least every minute.
        heard(power.iter().map(|(t, _)| *t), start, end)
    } else {
        heard(network.times(start - HOUR, end + HOUR).into_iter(), start, end)
    };

    out.insert("full_at".into(), json!(time(full(&roles, store, start, end)?)));
    let mut dump = 0.0;
    for d in &roles.dump_loads {
        dump += store.rollups(Resolution::Day, d, "power", start, start + 1)?.first().map_or(0.0, |(_, a)| a.energy_wh);
    }
    if !roles.dump_loads.is_empty() {
        out.insert("dump_load_wh".into(), json!(round(dump, 1)));
    }
    gaps(&mut out, &heard_at, start, end);
    if let Some(nav) = crate::nav::answers(store, start, end)? {
        out.insert("nav".into(), nav);
    }
    Ok(Json::Object(out))
}

/// The sample times inside the day, with the last one before it and the first one after it
/// (what [`series::gaps`] needs), from sorted times.
fn heard(times: impl Iterator<Item = i64>, start: i64, end: i64) -> Vec<i64> {
    let mut before = None;
    let mut out = Vec::new();
    for t in times {
        if t <= start {
            before = Some(t);
        } else if t < end {
            out.push(t);
        } else {
            out.push(t);
            break;
        }
    }
    before.into_iter().chain(out).collect()
}

fn gaps(out: &mut Map<String, Json>, times: &[i64], start: i64, end: i64) {
    let g = series::gaps(times, start, end);
    let secs: i64 = g.iter().map(|(a, b)| b - a).sum::<i64>() / 1000;
    out.insert(
        "data_gaps".into(),
        json!(g
            .iter()
            .map(|(a, b)| json!({"from": crate::sinks::mqtt::rfc3339(*a), "to": crate::sinks::mqtt::rfc3339(*b)}))
            .collect::<Vec<_>>()),
    );
    out.insert("data_gap_s".into(), json!(secs));
}

/// The last time before `first` (this day's solar start) the network produced, looking back a
/// day at a time.
fn previous_solar_stop(roles: &Roles, store: &mut dyn Backend, start: i64, first: i64) -> Result<Option<i64>> {
    for back in 0..OVERNIGHT_DAYS {
        let (from, to) = (start - (back + 1) * DAY, if back == 0 { first } else { start - back * DAY });
        let n = Network::read(roles, store, from - HOUR, to)?;
        if let Some(t) = n.times(from, to).into_iter().rev().find(|t| n.at(*t) > PRODUCING_W) {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// The first float from a solar charger, or 100 % from the battery device.
fn full(roles: &Roles, store: &mut dyn Backend, start: i64, end: i64) -> Result<Option<i64>> {
    let mut first: Option<i64> = None;
    let mut seen = |t: i64| first = Some(first.map_or(t, |f| f.min(t)));
    for (d, _, _) in &roles.solar {
        for metric in ["charge_state", "device_state"] {
            if let Some((t, _)) = store.samples(d, metric, start, end)?.into_iter().find(|(_, v)| *v == 5.0) {
                seen(t);
            }
        }
    }
    if let Some(b) = &roles.battery {
        for metric in ["soc", "state_of_charge"] {
            if let Some((t, _)) = store.samples(b, metric, start, end)?.into_iter().find(|(_, v)| *v >= 100.0) {
                seen(t);
            }
        }
    }
    Ok(first)
}

/// Yields, shares, groups, each MPPT's performance, the network's yield statistics.
fn solar(
    out: &mut Map<String, Json>,
    roles: &Roles,
    store: &mut dyn Backend,
    cal: &Calendar,
    start: i64,
    network: &Network,
    times: &[i64],
) -> Result<()> {
    // Every recorded day's yield per MPPT: the increases of its `yield_today` counter that day
    // (the day rollup's energy, Wh).
    let mut history: BTreeMap<i64, performance::DayYields> = BTreeMap::new();
    for (d, _, _) in &roles.solar {
        for (bucket, agg) in store.rollups(Resolution::Day, d, "yield_today", 0, start + 1)? {
            if agg.count > 0 {
                let day = cal.day_number(bucket);
                let e = history.entry(day).or_insert_with(|| performance::DayYields { day, ..Default::default() });
                e.yields.insert(d.clone(), agg.energy_wh);
            }
        }
    }
    let today = cal.day_number(start);
    let yields = history.get(&today).map(|d| d.yields.clone()).unwrap_or_default();
    let total: f64 = yields.values().sum();
    out.insert(
        "yield_wh".into(),
        json!(yields.iter().map(|(d, y)| (d.clone(), json!(round(*y, 1)))).collect::<Map<_, _>>()),
    );
    out.insert("network_yield_wh".into(), json!(round(total, 1)));
    out.insert(
        "share_percent".into(),
        json!(yields
            .iter()
            .map(|(d, y)| (d.clone(), json!(if total > 0.0 { round(y / total * 100.0, 1) } else { 0.0 })))
            .collect::<Map<_, _>>()),
    );

    // Groups: yields, and the spread of their power while the network produces.
    let mut by_group: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (_, _, g)) in roles.solar.iter().enumerate() {
        if let Some(g) = g {
            by_group.entry(g).or_default().push(i);
        }
    }
    if by_group.len() >= 2 {
        let group_yield: BTreeMap<&str, f64> = by_group
            .iter()
            .map(|(g, members)| (*g, members.iter().filter_map(|i| yields.get(&roles.solar[*i].0)).sum()))
            .collect();
        out.insert(
            "group_yield_wh".into(),
            json!(group_yield.iter().map(|(g, y)| ((*g).to_owned(), json!(round(*y, 1)))).collect::<Map<_, _>>()),
        );
        out.insert("group_deviation_percent".into(), json!(spread(group_yield.values().copied()).map(|s| round(s, 1))));
        let mut spreads: Vec<f64> = times
            .iter()
            .filter(|t| network.at(**t) > COMPARING_W)
            .filter_map(|t| {
                spread(by_group.values().map(|m| m.iter().map(|i| Held(&network.pv[*i]).at(*t).unwrap_or(0.0)).sum()))
            })
            .collect();
        out.insert("group_power_deviation_percent".into(), json!(median(&mut spreads).map(|s| round(s, 1))));
    }

    // Each MPPT against its history and its peers.
    let days: Vec<performance::DayYields> =
        history.range(today - performance::TREND_DAYS + 1..=today).map(|(_, d)| d.clone()).collect();
    let assessed = if days.last().is_some_and(|d| d.day == today) {
        performance::assess(&days, performance::TREND_DAYS)
    } else {
        BTreeMap::new()
    };
    out.insert("mppt".into(), json!(assessed.iter().map(|(d, a)| (d.clone(), a.to_json())).collect::<Map<_, _>>()));

    // The network's yield over the last days, and since the store began.
    let mut recent: Vec<f64> =
        history.range(..=today).rev().take(YIELD_DAYS).map(|(_, d)| d.yields.values().sum()).collect();
    let lifetime: f64 = history.range(..=today).map(|(_, d)| d.yields.values().sum::<f64>()).sum();
    let (min, max) = (recent.iter().copied().reduce(f64::min), recent.iter().copied().reduce(f64::max));
    out.insert(
        "network_yield_days".into(),
        json!({
            "days": recent.len(),
            "min_wh": min.map(|v| round(v, 1)),
            "max_wh": max.map(|v| round(v, 1)),
            "median_wh": median(&mut recent).map(|v| round(v, 1)),
        }),
    );
    out.insert("lifetime_yield_kwh".into(), json!(round(lifetime / 1000.0, 3)));
    Ok(())
}

/// (max − min) / mean × 100 of the values; `None` when their mean is not positive.
pub fn spread(values: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = values.collect();
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let (max, min) = (v.iter().copied().fold(f64::MIN, f64::max), v.iter().copied().fold(f64::MAX, f64::min));
    (mean > 0.0).then(|| (max - min) / mean * 100.0)
}

/// `halyard report`.
#[derive(Debug, clap::Args)]
#[command(long_about = "The daily answers for one local day (midnight to midnight in the configured time zone), \
from the history store. Values hold between their samples for at most 15 minutes; longer silences are \
data gaps (data_gaps, data_gap_s) and no energy is counted across them.\n\n\
solar_start/solar_stop: first/last time the network's PV power (sum of every solar device's \
solar_power or panel_power) was above 5 W.\n\
charging_started: first time the battery device's battery_power was above 5 W while the network produced.\n\
covered_consumption_at: first time battery_power was >= 0 while the network produced.\n\
max_charge_w: largest battery_power of the day (0 when it never charged).\n\
full_at: first time a solar charger reported float or the battery device 100 % state of charge.\n\
lowest_battery_v: smallest battery voltage reported.\n\
yield_wh: the increases of each MPPT's own yield_today counter over the day (resets at any hour); network_yield_wh and share_percent.\n\
mppt: each MPPT's share against the median of its previous 14 days with >= 50 Wh network yield \
(relative_to_history_percent; underperforming below 80 %), and the least-squares trend of its share over \
90 days in % of its mean per 30 days (degrading below -10 % over >= 14 days).\n\
battery_consumption_wh: energy of negative battery_power over the day.\n\
overnight_wh: energy of negative battery_power from the previous solar stop (overnight_since) to solar_start.\n\
dump_load_wh: energy of the power of the dump_load devices.\n\
negative_battery_with_sun_s: seconds of battery_power below -5 W while the network produced.\n\
group_deviation_percent: spread of the device groups' yields as a percentage of their mean; \
group_power_deviation_percent: the median of that spread for their power while the network produced > 50 W.\n\
network_yield_days: min, max, median network yield of the last 30 recorded days; lifetime_yield_kwh: \
the sum over every recorded day.\n\n\
--season prints one line per day from the daily rollups and each MPPT's trend over the whole range.")]
pub struct Args {
    /// The configuration (devices, roles, store, time zone).
    #[arg(short, long, env = "HALYARD_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// The day, YYYY-MM-DD (default: the last day with readings, today on a running boat).
    #[arg(long, conflicts_with = "season")]
    date: Option<String>,
    /// A summary of many days instead: --from to --to (default: the whole store).
    #[arg(long)]
    season: bool,
    /// First day of the season, YYYY-MM-DD.
    #[arg(long, requires = "season")]
    from: Option<String>,
    /// Last day of the season, YYYY-MM-DD (default: today).
    #[arg(long, requires = "season")]
    to: Option<String>,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// A time inside the local day of `date` (YYYY-MM-DD): noon UTC lands inside that local day
/// for every offset of ±12 h.
pub fn noon(date: &str) -> Result<i64> {
    Ok(crate::sim::parse_date(date)? * DAY + 12 * HOUR)
}

/// Print the report.
pub fn command(args: Args) -> Result<()> {
    let config = Config::load_or_default(args.config.as_deref())?;
    let cal = config.calendar()?;
    let mut store = crate::store::open_existing(&config)?;
    if args.season {
        let from = match &args.from {
            Some(d) => noon(d)?,
            None => first_day(store.as_mut())?,
        };
        let to = args.to.as_deref().map(noon).transpose()?.unwrap_or_else(crate::ingest::now_ms);
        let summary = season::summary(&config.device, store.as_mut(), &cal, from, to)?;
        if args.json {
            println!("{summary}");
        } else {
            season::print(&summary);
        }
        return Ok(());
    }
    // Without --date: the last day with readings — today on a running boat, the recording's
    // last day after an import or the demo.
    // The store prunes raw samples by the data's own clock (store::recorder), so "now" for the
    // retention is the last recorded day, not the wall clock: a recording or the demo's June
    // week read in December still has its raw samples.
    let newest = store.days()?.last().copied();
    let day_ms = match &args.date {
        Some(d) => noon(d)?,
        None => newest.unwrap_or_else(crate::ingest::now_ms),
    };
    let now = newest.map_or_else(crate::ingest::now_ms, |n| cal.next_day(cal.day_start(n)));
    let (report, kept) = for_day(&config.device, store.as_mut(), &cal, config.store.raw_days, now, day_ms)?;
    if args.json {
        println!("{report}");
    } else {
        print!("{}", text::page(&report, &crate::text::Times::new(cal.timezone(), cal.day_start(day_ms)), kept));
    }
    Ok(())
}

/// The report of the day containing `day_ms`, and whether it is the one kept when the day
/// ended: past the raw retention (`raw_days` before `now`) the day's times are gone from the
/// store, and the kept report still has them.
pub fn for_day(
    devices: &[crate::config::Device],
    store: &mut dyn Backend,
    cal: &Calendar,
    raw_days: u32,
    now: i64,
    day_ms: i64,
) -> Result<(Json, bool)> {
    if day_ms < now - i64::from(raw_days) * DAY {
        if let Some(kept) = store.load_report(&cal.date(day_ms))?.and_then(|j| serde_json::from_str(&j).ok()) {
            return Ok((kept, true));
        }
    }
    Ok((daily(devices, store, cal, day_ms)?, false))
}

/// The first day any series has a day rollup.
pub fn first_day(store: &mut dyn Backend) -> Result<i64> {
    let mut first = i64::MAX;
    for (d, m, _) in store.series()? {
        if let Some((t, _)) = store.rollups(Resolution::Day, &d, &m, 0, i64::MAX)?.first() {
            first = first.min(*t);
        }
    }
    anyhow::ensure!(first < i64::MAX, "the store holds no days yet");
    Ok(first)
}
