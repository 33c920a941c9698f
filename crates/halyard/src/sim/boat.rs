//! The boat's physics, one step at a time: PV arrays on different arches, MPPTs that share one
//! charge stage (as a VE.Smart network does), a LiFePO4 bank, and the loads aboard.
//!
//! Energy is kept exactly: per step, PV power × MPPT efficiency = charger output = loads + dump
//! load + power into the battery terminals, and the terminals' power is what the cells store
//! plus the `I²R` heat. Summed over a day that is the energy balance the tests check.

use super::battery::Battery;
use super::rng::Rng;
use super::sky::{self, Clouds, DayType, Sun};

/// MPPT conversion efficiency.
pub const MPPT_EFFICIENCY: f64 = 0.97;
/// Absorption voltage (LiFePO4 preset), V.
pub const ABSORPTION_V: f64 = 14.2;
/// Float voltage, V.
pub const FLOAT_V: f64 = 13.5;
/// Time in absorption before float, ms.
const ABSORPTION_MS: i64 = 2 * 3_600_000;

/// How a charger reports itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Instant Readout adverts, and VE.Smart networking when `networked`.
    Bluetooth {
        /// Member of the VE.Smart network.
        networked: bool,
    },
    /// A VE.Direct cable.
    VeDirect,
}

/// A PV array and its MPPT.
#[derive(Debug, Clone)]
pub struct Charger {
    /// Friendly name.
    pub name: &'static str,
    /// Group (the arch it is on).
    pub group: &'static str,
    /// Victron serial (`HQ…`).
    pub serial: &'static str,
    /// Bluetooth address.
    pub mac: [u8; 6],
    /// Instant Readout key.
    pub key: [u8; 16],
    /// Product id.
    pub product_id: u16,
    /// How it reports.
    pub link: Link,
    /// Array peak power, W.
    pub peak_watts: f64,
    /// Tilt, degrees.
    pub tilt: f64,
    /// Facing, degrees from north.
    pub azimuth: f64,
    /// Output current limit, A.
    pub max_current: f64,
    /// Output degradation (1 = healthy; a failing MPPT is < 1).
    pub health: f64,
    /// The charger error it reports (0: none); in fault it charges nothing.
    pub error: u8,
}

impl Charger {
    /// Whether `record` is one this charger sent (its adverts, or its VE.Direct port's bytes).
    pub fn sent(&self, record: &crate::ingest::recording::Record) -> bool {
        use crate::ingest::recording::Record;
        match (record, self.link) {
            (Record::Ble { mac, .. }, Link::Bluetooth { .. }) => *mac == self.mac,
            (Record::VeDirect { port, .. }, Link::VeDirect) => port == super::emit::VEDIRECT_PORT,
            _ => false,
        }
    }

    /// The state it reports: its own fault, or the network's charge stage.
    pub fn state_code(&self, stage: Stage) -> u8 {
        if self.error != 0 {
            FAULT_STATE
        } else {
            stage.code()
        }
    }
}

/// Victron device state "Fault" (victron.md: device state 2).
pub const FAULT_STATE: u8 = 2;

/// Where the charge cycle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// No PV.
    Off,
    /// Full available current.
    Bulk,
    /// Holding the absorption voltage.
    Absorption,
    /// Holding the float voltage.
    Float,
}

impl Stage {
    /// Victron device state code (victron.md: 0 off, 3 bulk, 4 absorption, 5 float).
    pub fn code(self) -> u8 {
        match self {
            Stage::Off => 0,
            Stage::Bulk => 3,
            Stage::Absorption => 4,
            Stage::Float => 5,
        }
    }
}

/// What happened in one step: the true values the devices then report.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Time, ms since the epoch.
    pub at: i64,
    /// The sun.
    pub sun: Sun,
    /// Per charger: PV power, W.
    pub pv_watts: Vec<f64>,
    /// Per charger: output power, W.
    pub out_watts: Vec<f64>,
    /// Per charger: output current, A.
    pub out_amps: Vec<f64>,
    /// Per charger: yield today, Wh (output).
    pub yield_today_wh: Vec<f64>,
    /// Per charger: max output power today, W.
    pub max_power_today: Vec<f64>,
    /// Battery terminal voltage, V.
    pub battery_volts: f64,
    /// Battery current, A (positive charging).
    pub battery_amps: f64,
    /// State of charge, 0–1.
    pub soc: f64,
    /// Ah consumed from full (the shunt's counter), positive.
    pub consumed_ah: f64,
    /// Battery temperature, °C.
    pub battery_temperature: f64,
    /// DC loads including the inverter's input, W.
    pub load_watts: f64,
    /// Dump load, W.
    pub dump_watts: f64,
    /// Inverter AC output, W.
    pub inverter_ac_watts: f64,
    /// Charge stage.
    pub stage: Stage,
    /// Cloud cover.
    pub cloud_cover: f64,
    /// Energy the cells took in this step (negative when discharging), Wh.
    pub stored_wh: f64,
    /// Heat in the battery's resistance this step, Wh.
    pub heat_wh: f64,
}

/// Loads aboard.
#[derive(Debug, Clone)]
struct Loads {
    fridge_on: bool,
    fridge_switch_at: i64,
}

/// The boat.
#[derive(Debug, Clone)]
pub struct Boat {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// The local time zone (a day is local midnight to midnight, 23 or 25 hours across a
    /// daylight-saving change).
    pub tz: jiff::tz::TimeZone,
    /// The chargers.
    pub chargers: Vec<Charger>,
    /// The bank.
    pub battery: Battery,
    stage: Stage,
    absorption_ms: i64,
    dark_since: Option<i64>,
    loads: Loads,
    rng: Rng,
    clouds: Clouds,
    day: i64,
    yield_wh: Vec<f64>,
    max_power: Vec<f64>,
    last_volts: f64,
    /// Forced day types by day index (tests); otherwise drawn from the seed.
    pub forced_days: Vec<(i64, DayType)>,
    /// Extra DC loads by local day (a heater left on), W.
    pub extra_loads: Vec<(i64, f64)>,
}

impl Boat {
    fn offset_ms(&self, ms: i64) -> i64 {
        let at = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        i64::from(self.tz.to_offset(at).seconds()) * 1000
    }

    /// The local day number of `ms` (days since 1970-01-01 of its local date).
    pub fn local_day(&self, ms: i64) -> i64 {
        (ms + self.offset_ms(ms)).div_euclid(86_400_000)
    }

    /// Local time of day, hours.
    fn local_hour(&self, ms: i64) -> f64 {
        (ms + self.offset_ms(ms)).rem_euclid(86_400_000) as f64 / 3_600_000.0
    }

    /// A boat with these chargers.
    pub fn new(lat: f64, lon: f64, tz: jiff::tz::TimeZone, chargers: Vec<Charger>, seed: u64) -> Self {
        let n = chargers.len();
        Boat {
            lat,
            lon,
            tz,
            chargers,
            battery: Battery { capacity_ah: 400.0, soc: 0.6, resistance: 0.004, temperature: 22.0 },
            stage: Stage::Off,
            absorption_ms: 0,
            dark_since: None,
            loads: Loads { fridge_on: false, fridge_switch_at: 0 },
            rng: Rng::new(seed),
            clouds: Clouds::new(DayType::Clear),
            day: i64::MIN,
            yield_wh: vec![0.0; n],
            max_power: vec![0.0; n],
            last_volts: 13.2,
            forced_days: Vec::new(),
            extra_loads: Vec::new(),
        }
    }

    fn day_type(&mut self, day: i64) -> DayType {
        if let Some((_, t)) = self.forced_days.iter().find(|(d, _)| *d == day) {
            return *t;
        }
        match self.rng.next_f64() {
            x if x < 0.5 => DayType::Clear,
            x if x < 0.8 => DayType::Broken,
            _ => DayType::Overcast,
        }
    }

    /// The current day's weather.
    pub fn weather(&self) -> DayType {
        self.clouds.day()
    }

    /// DC loads at `at`, W, and the inverter's AC output.
    fn loads(&mut self, at: i64, sun: Sun) -> (f64, f64) {
        let hour = self.local_hour(at);
        if at >= self.loads.fridge_switch_at {
            self.loads.fridge_on = !self.loads.fridge_on;
            let minutes =
                if self.loads.fridge_on { 8.0 + 8.0 * self.rng.next_f64() } else { 15.0 + 20.0 * self.rng.next_f64() };
            self.loads.fridge_switch_at = at + (minutes * 60_000.0) as i64;
        }
        let mut dc = 12.0; // instruments, router, standby
        let day = self.local_day(at);
        dc += self.extra_loads.iter().filter(|(d, _)| *d == day).map(|(_, w)| w).sum::<f64>();
        if self.loads.fridge_on {
            dc += 48.0;
        }
        let dark = sun.elevation < -3.0;
        if dark && !(0.0..6.0).contains(&hour) && hour < 23.0 || dark && (6.0..7.5).contains(&hour) {
            dc += 25.0; // cabin and navigation lights
        }
        let mut ac = 0.0;
        if (7.5..7.6).contains(&hour) {
            ac += 900.0; // coffee
        }
        if (9.0..12.0).contains(&hour) {
            ac += 60.0; // laptop
        }
        if (14.0..14.75).contains(&hour) && self.clouds.day() == DayType::Clear && self.battery.soc > 0.7 {
            ac += 700.0; // watermaker on sunny afternoons
        }
        // Inverter: 90 % efficient, 8 W idle while anything runs.
        if ac > 0.0 {
            dc += ac / 0.9 + 8.0;
        }
        // A battery protect disconnects everything at 5 %.
        if self.battery.soc < 0.05 {
            return (0.0, 0.0);
        }
        (dc, ac)
    }

    /// Advance `dt_s` seconds ending at `at`.
    pub fn step(&mut self, at: i64, dt_s: f64) -> Sample {
        let day = self.local_day(at);
        if day != self.day {
            self.day = day;
            let t = self.day_type(day);
            self.clouds = Clouds::new(t);
        }
        let sun = sky::sun(at, self.lat, self.lon);
        let cover = self.clouds.cover(at, &mut self.rng);
        let irradiance = match self.clouds.day() {
            DayType::Covered => sky::Irradiance { direct_normal: 0.0, diffuse: 0.0 },
            _ => sky::under_clouds(sky::clear_sky(sun), sun, cover),
        };
        // Each array's available output power.
        let available: Vec<f64> = self
            .chargers
            .iter()
            .map(|c| {
                let poa = sky::on_panel(irradiance, sun, c.tilt, c.azimuth);
                let cell = self.battery.temperature + 0.03 * poa;
                let pv = c.peak_watts * poa / 1000.0 * (1.0 - 0.004 * (cell - 25.0)) * c.health;
                // A charger in fault stops charging.
                let pv = if c.error == 0 { pv } else { 0.0 };
                (pv.max(0.0) * MPPT_EFFICIENCY).min(c.max_current * self.last_volts)
            })
            .collect();
        let total_available: f64 = available.iter().sum();
        let (mut load_w, ac_w) = self.loads(at, sun);

        // The network's stage.
        if total_available < 1.0 {
            let since = *self.dark_since.get_or_insert(at);
            if at - since > 3_600_000 {
                self.stage = Stage::Off;
                self.absorption_ms = 0;
            }
        } else {
            self.dark_since = None;
            if self.stage == Stage::Off {
                self.stage = Stage::Bulk;
                // A Victron MPPT has no clock: its "today" (yield, maximum power, the history
                // day) starts with the morning's sun after an hour of darkness, not at midnight.
                self.yield_wh.iter_mut().for_each(|y| *y = 0.0);
                self.max_power.iter_mut().for_each(|p| *p = 0.0);
            }
        }
        let volts_guess = self.last_volts.max(11.0);
        let load_a = load_w / volts_guess;
        let available_a = total_available / volts_guess;
        let mut dump_w = 0.0;
        let battery_a = match self.stage {
            Stage::Off => -load_a,
            Stage::Bulk => {
                let acceptance = self.battery.current_at(ABSORPTION_V);
                if available_a - load_a >= acceptance {
                    self.stage = Stage::Absorption;
                    acceptance
                } else {
                    available_a - load_a
                }
            }
            Stage::Absorption => {
                self.absorption_ms += (dt_s * 1000.0) as i64;
                if self.absorption_ms >= ABSORPTION_MS {
                    self.stage = Stage::Float;
                }
                (available_a - load_a).min(self.battery.current_at(ABSORPTION_V))
            }
            Stage::Float => {
                let hold = self.battery.current_at(FLOAT_V);
                let surplus_w = (available_a - load_a - hold.max(0.0)) * FLOAT_V;
                if surplus_w > 100.0 {
                    dump_w = surplus_w.min(600.0);
                }
                (available_a - load_a - dump_w / volts_guess).min(hold)
            }
        };
        let volts = self.battery.voltage(battery_a);
        // Charger output = loads + dump + battery, as power at the terminal voltage.
        let out_total_w = ((load_a + dump_w / volts_guess + battery_a) * volts).max(0.0);
        // When no charger runs, the loads come from the battery alone.
        let battery_a = if out_total_w <= 0.0 { -(load_w + dump_w) / volts } else { battery_a };
        let volts = self.battery.voltage(battery_a);
        let out_total_w = if out_total_w <= 0.0 { 0.0 } else { load_w + dump_w + battery_a * volts };
        let (stored_wh, heat_wh) = self.battery.step(battery_a, dt_s);
        // The bank follows the cabin's temperature (24 °C ± 4, warmest at 15:00) with a
        // one-hour time constant, warmed by its own I²R heat (about 40 kJ/K for 400 Ah).
        let ambient = 24.0 + 4.0 * ((self.local_hour(at) - 9.0) / 24.0 * std::f64::consts::TAU).sin();
        let t = &mut self.battery.temperature;
        *t += (ambient - *t) * (dt_s / 3600.0).min(1.0) + heat_wh * 3600.0 / 40_000.0;
        self.last_volts = volts;

        let mut pv_watts = Vec::with_capacity(available.len());
        let mut out_watts = Vec::with_capacity(available.len());
        let mut out_amps = Vec::with_capacity(available.len());
        for (i, a) in available.iter().enumerate() {
            let share = if total_available > 0.0 { a / total_available } else { 0.0 };
            let out = out_total_w * share;
            out_watts.push(out);
            out_amps.push(out / volts);
            pv_watts.push(out / MPPT_EFFICIENCY);
            self.yield_wh[i] += out * dt_s / 3600.0;
            self.max_power[i] = self.max_power[i].max(out);
        }
        load_w = load_w.max(0.0);
        Sample {
            at,
            sun,
            pv_watts,
            out_watts,
            out_amps,
            yield_today_wh: self.yield_wh.clone(),
            max_power_today: self.max_power.clone(),
            battery_volts: volts,
            battery_amps: battery_a,
            soc: self.battery.soc,
            consumed_ah: (1.0 - self.battery.soc) * self.battery.capacity_ah,
            battery_temperature: self.battery.temperature,
            load_watts: load_w,
            dump_watts: dump_w,
            inverter_ac_watts: ac_w,
            stage: if out_total_w > 0.0 { self.stage } else { Stage::Off },
            cloud_cover: cover,
            stored_wh,
            heat_wh,
        }
    }
}
