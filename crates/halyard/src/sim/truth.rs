//! Ground truth: the simulator's own account of each local day, from its true values (not from
//! what the devices reported), with the energy balance terms and the daily answers' times.

use serde_json::{json, Value as Json};

use super::boat::{Sample, Stage};
use crate::sinks::mqtt::rfc3339;

/// One local day's truth.
#[derive(Debug, Clone, Default)]
pub struct Day {
    /// Local day number (days since the epoch, local time).
    pub day: i64,
    /// Weather type.
    pub weather: &'static str,
    /// PV energy into each MPPT, Wh.
    pub pv_wh: Vec<f64>,
    /// Each MPPT's output (its yield), Wh.
    pub yield_wh: Vec<f64>,
    /// Loads, Wh (DC, including the inverter's input).
    pub loads_wh: f64,
    /// Dump load, Wh.
    pub dump_wh: f64,
    /// MPPT conversion losses, Wh.
    pub mppt_loss_wh: f64,
    /// Battery resistance losses, Wh.
    pub battery_heat_wh: f64,
    /// Change of the energy stored in the cells, Wh.
    pub stored_wh: f64,
    /// First time the battery charged with the sun up.
    pub charging_started: Option<i64>,
    /// Highest power into the battery, W.
    pub max_charge_w: f64,
    /// First time in float.
    pub full_at: Option<i64>,
    /// Lowest battery voltage.
    pub min_volts: f64,
    /// First and last time the network produced more than 5 W.
    pub solar_start: Option<i64>,
    /// Last time above 5 W.
    pub solar_stop: Option<i64>,
    /// First time production covered consumption (battery not discharging, PV > 5 W).
    pub covered_at: Option<i64>,
    /// Seconds with the battery discharging (below −5 W) while the network produced (> 5 W).
    pub negative_with_sun_s: f64,
    /// Energy taken out of the battery (negative terminal power), Wh.
    pub discharge_wh: f64,
    /// Seconds charging at night (must stay 0).
    pub charging_at_night_s: f64,
    /// Lowest state of charge while in float (float only near full).
    pub min_soc_in_float: Option<f64>,
    /// Energy taken out of the battery from the previous solar stop to this day's solar start
    /// (`None` on a day without sun, or with no solar stop before it).
    pub overnight_wh: Option<f64>,
    /// The chargers' groups, by index.
    pub groups: Vec<&'static str>,
    /// Spread of the groups' PV power at each step the network produced more than 50 W, %.
    pub group_spreads: Vec<f64>,
    /// Samples.
    pub samples: u64,
    /// The navigation side's truth (wind, distance, stays, fix losses, the mesh), when the
    /// scenario has it (`nav_truth`).
    pub nav: Option<Json>,
}

/// The overnight draw across days: battery discharge since the network last produced.
#[derive(Debug, Default)]
pub struct Overnight {
    wh: f64,
    seen_sun: bool,
}

impl Overnight {
    /// Account for one step after `day` has (the solar start tells the first producing step).
    pub fn add(&mut self, s: &Sample, dt_s: f64, day: &mut Day) {
        let pv: f64 = s.pv_watts.iter().sum();
        if pv > 5.0 {
            if day.solar_start == Some(s.at) && self.seen_sun {
                day.overnight_wh = Some(self.wh);
            }
            self.wh = 0.0;
            self.seen_sun = true;
        } else {
            let charge_w = s.battery_amps * s.battery_volts;
            if charge_w < 0.0 {
                self.wh -= charge_w * dt_s / 3600.0;
            }
        }
    }
}

impl Day {
    /// A day with MPPTs in these groups.
    pub fn new(day: i64, weather: &'static str, groups: Vec<&'static str>) -> Self {
        Day {
            day,
            weather,
            pv_wh: vec![0.0; groups.len()],
            yield_wh: vec![0.0; groups.len()],
            groups,
            min_volts: f64::MAX,
            ..Default::default()
        }
    }

    /// Account for one step of `dt_s` seconds.
    pub fn add(&mut self, s: &Sample, dt_s: f64) {
        let h = dt_s / 3600.0;
        self.samples += 1;
        for (i, (pv, out)) in s.pv_watts.iter().zip(&s.out_watts).enumerate() {
            self.pv_wh[i] += pv * h;
            self.yield_wh[i] += out * h;
            self.mppt_loss_wh += (pv - out) * h;
        }
        self.loads_wh += s.load_watts * h;
        self.dump_wh += s.dump_watts * h;
        self.battery_heat_wh += s.heat_wh;
        self.stored_wh += s.stored_wh;
        let pv: f64 = s.pv_watts.iter().sum();
        let charge_w = s.battery_amps * s.battery_volts;
        // The report's definitions (crate::report), applied to the true values.
        if charge_w > 5.0 && pv > 5.0 && self.charging_started.is_none() {
            self.charging_started = Some(s.at);
        }
        self.max_charge_w = self.max_charge_w.max(charge_w);
        if charge_w < 0.0 {
            self.discharge_wh -= charge_w * h;
        }
        if pv > crate::report::COMPARING_W {
            let mut by_group: std::collections::BTreeMap<&str, f64> = Default::default();
            for (g, p) in self.groups.iter().zip(&s.pv_watts) {
                *by_group.entry(g).or_default() += p;
            }
            if by_group.len() >= 2 {
                self.group_spreads.extend(crate::report::spread(by_group.values().copied()));
            }
        }
        // Full: float, or the shunt's state of charge (0.1 % steps) at 100 %.
        if s.stage == Stage::Float || (s.soc * 1000.0).round() >= 1000.0 {
            self.full_at.get_or_insert(s.at);
        }
        if s.stage == Stage::Float {
            self.min_soc_in_float = Some(self.min_soc_in_float.map_or(s.soc, |m| m.min(s.soc)));
        }
        self.min_volts = self.min_volts.min(s.battery_volts);
        if pv > 5.0 {
            self.solar_start.get_or_insert(s.at);
            self.solar_stop = Some(s.at);
            if s.battery_amps >= 0.0 {
                self.covered_at.get_or_insert(s.at);
            }
        }
        if pv > 5.0 && charge_w < -5.0 {
            self.negative_with_sun_s += dt_s;
        }
        if s.sun.elevation < -6.0 && charge_w > 0.0 {
            self.charging_at_night_s += dt_s;
        }
    }

    /// Solar in − loads − losses − stored, as a fraction of the solar input (0 = balanced).
    pub fn balance_error(&self) -> f64 {
        let pv: f64 = self.pv_wh.iter().sum();
        let residual = pv - self.loads_wh - self.dump_wh - self.mppt_loss_wh - self.battery_heat_wh - self.stored_wh;
        residual / pv.max(self.loads_wh).max(1.0)
    }

    /// As JSON, with the chargers' names.
    pub fn to_json(&self, names: &[&str]) -> Json {
        let t = |v: Option<i64>| v.map(rfc3339);
        let per = |v: &[f64]| {
            names
                .iter()
                .zip(v)
                .map(|(n, w)| ((*n).to_owned(), json!((w * 10.0).round() / 10.0)))
                .collect::<serde_json::Map<_, _>>()
        };
        let network: f64 = self.yield_wh.iter().sum();
        json!({
            "date": rfc3339(self.day * 86_400_000)[..10].to_owned(),
            "weather": self.weather,
            "yield_wh": per(&self.yield_wh),
            "network_yield_wh": (network * 10.0).round() / 10.0,
            "pv_wh": per(&self.pv_wh),
            "loads_wh": (self.loads_wh * 10.0).round() / 10.0,
            "dump_load_wh": (self.dump_wh * 10.0).round() / 10.0,
            "mppt_loss_wh": (self.mppt_loss_wh * 10.0).round() / 10.0,
            "battery_heat_wh": (self.battery_heat_wh * 100.0).round() / 100.0,
            "stored_wh": (self.stored_wh * 10.0).round() / 10.0,
            "balance_error": self.balance_error(),
            "charging_started": t(self.charging_started),
            "max_charge_w": self.max_charge_w.round(),
            "full_at": t(self.full_at),
            "lowest_battery_v": (self.min_volts * 100.0).round() / 100.0,
            "solar_start": t(self.solar_start),
            "solar_stop": t(self.solar_stop),
            "covered_consumption_at": t(self.covered_at),
            "negative_battery_with_sun_s": self.negative_with_sun_s,
            "battery_consumption_wh": (self.discharge_wh * 10.0).round() / 10.0,
            "overnight_wh": self.overnight_wh.map(|w| (w * 10.0).round() / 10.0),
            "group_power_deviation_percent":
                crate::report::series::median(&mut self.group_spreads.clone()).map(|v| (v * 10.0).round() / 10.0),
            "nav": self.nav,
        })
    }
}
