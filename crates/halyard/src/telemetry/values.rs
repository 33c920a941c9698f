//! The boat's values for Prometheus, beside the gateway's own counters:
//! `halyard_battery_voltage_volts{device="house-bank"} 13.31`.
//!
//! Names follow Prometheus's conventions (prometheus.io/docs/practices/naming: one quantity
//! per family, base units as a suffix — volts, amperes, watts, celsius, ratio, joules, seconds,
//! meters, meters_per_second, radians, pascals). What a value is and its base unit come from the
//! Signal K placement (`signalk::paths`), so a metric, a Signal K path and an MQTT topic always
//! agree on what a value means: `electrical.batteries.houseBank.capacity.stateOfCharge` is
//! `halyard_battery_capacity_state_of_charge_ratio{device="house-bank"}`. Text values and
//! values with no Signal K place are left out; other vessels (Meshtastic nodes) too.
//!
//! The lifetime energy counters (`model::lifetime`), which Signal K has no place for, are
//! counters in joules: `halyard_solar_yield_joules_total`, `halyard_battery_charged_joules_total`,
//! `halyard_battery_discharged_joules_total`, `halyard_load_energy_joules_total`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use crate::model::Change;
use crate::signalk::paths::{self, Group};

/// At most this many series (a misconfigured bus must not grow the page without end).
const MAX_SERIES: usize = 2_000;

/// One family's devices: device → (value, what it is).
type Family = BTreeMap<String, (f64, &'static str)>;

/// The latest value of every series.
#[derive(Debug, Default)]
pub struct Values {
    /// family name → its devices.
    series: Mutex<BTreeMap<String, Family>>,
}

/// The family of a Signal K path in `units`, and the factor and offset from Signal K's unit to
/// the family's.
pub fn family(path: &str, units: &str) -> Option<(String, f64)> {
    let (group, rest) = match path.strip_prefix("electrical.") {
        Some(r) => {
            let mut parts = r.splitn(3, '.');
            let group = match parts.next()? {
                "batteries" => "battery",
                "solar" => "solar",
                "inverters" => "inverter",
                "chargers" => "charger",
                _ => return None,
            };
            parts.next()?;
            (group, parts.next()?)
        }
        None => ("", path),
    };
    let (suffix, offset) = match units {
        "V" => ("volts", 0.0),
        "A" => ("amperes", 0.0),
        "W" => ("watts", 0.0),
        "K" => ("celsius", -273.15),
        "ratio" => ("ratio", 0.0),
        "J" => ("joules", 0.0),
        "C" => ("coulombs", 0.0),
        "s" => ("seconds", 0.0),
        "rad" => ("radians", 0.0),
        "m/s" => ("meters_per_second", 0.0),
        "m" => ("meters", 0.0),
        "Pa" => ("pascals", 0.0),
        "Hz" => ("hertz", 0.0),
        _ => return None,
    };
    let mut name = String::from("halyard_");
    if !group.is_empty() {
        name.push_str(group);
        name.push('_');
    }
    for c in rest.chars() {
        match c {
            '.' => name.push('_'),
            c if c.is_ascii_uppercase() => {
                name.push('_');
                name.push(c.to_ascii_lowercase());
            }
            c if c.is_ascii_alphanumeric() => name.push(c),
            _ => name.push('_'),
        }
    }
    name.push('_');
    name.push_str(suffix);
    Some((name, offset))
}

/// A lifetime counter's family and help (its value in kWh, the family's in joules).
pub fn counter_family(metric: &str) -> Option<(&'static str, &'static str)> {
    Some(match metric {
        "lifetime_yield" => ("halyard_solar_yield_joules_total", "Solar energy produced, counted by Halyard"),
        "lifetime_charged" => ("halyard_battery_charged_joules_total", "Energy into the battery, counted by Halyard"),
        "lifetime_discharged" => {
            ("halyard_battery_discharged_joules_total", "Energy out of the battery, counted by Halyard")
        }
        "lifetime_energy" => ("halyard_load_energy_joules_total", "Energy used by the load, counted by Halyard"),
        _ => return None,
    })
}

impl Values {
    /// Take in one change of the model.
    pub fn apply(&self, change: &Change) {
        if change.device.name.starts_with("mesh/") {
            return;
        }
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let count: usize = series.values().map(BTreeMap::len).sum();
        for m in &change.changed {
            let (Some((name, help)), Some(kwh)) = (counter_family(&m.name), m.value.as_ref().and_then(|v| v.as_f64()))
            else {
                continue;
            };
            let devices = series.entry(name.to_owned()).or_default();
            if devices.contains_key(&change.device.name) || count < MAX_SERIES {
                devices.insert(change.device.name.clone(), ((kwh * 3.6e6).round(), help));
            }
        }
        let Some(group) = Group::of(&change.device).filter(|g| *g != Group::MeshNode) else { return };
        for m in &change.changed {
            let Some(p) = paths::place(group, &change.device.name, &m.name, &m.unit, m.value.as_ref()) else {
                continue;
            };
            let (Some(v), Some(units)) = (p.value.as_f64(), p.units) else { continue };
            let Some((name, offset)) = family(&p.path, units) else { continue };
            let devices = series.entry(name).or_default();
            if devices.contains_key(&change.device.name) || count < MAX_SERIES {
                // Rounded to 1e-9: K back to °C must give 21.5, not 21.499999999999972.
                let v = ((v + offset) * 1e9).round() / 1e9;
                devices.insert(change.device.name.clone(), (v, p.description));
            }
        }
    }

    /// The Prometheus text of every series.
    pub fn render(&self, out: &mut String) {
        let series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        for (name, devices) in series.iter() {
            let help = devices.values().next().map_or("", |(_, d)| *d);
            let kind = if name.ends_with("_total") { "counter" } else { "gauge" };
            let _ = writeln!(out, "# HELP {name} {help}.\n# TYPE {name} {kind}");
            for (device, (v, _)) in devices {
                let device = device.replace('\\', "\\\\").replace('"', "\\\"");
                let _ = writeln!(out, "{name}{{device=\"{device}\"}} {v}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions() {
        let f = |p, u| family(p, u).unwrap().0;
        assert_eq!(f("electrical.batteries.houseBank.voltage", "V"), "halyard_battery_voltage_volts");
        assert_eq!(f("electrical.solar.bimini.panelPower", "W"), "halyard_solar_panel_power_watts");
        assert_eq!(
            f("electrical.batteries.houseBank.capacity.stateOfCharge", "ratio"),
            "halyard_battery_capacity_state_of_charge_ratio"
        );
        assert_eq!(f("electrical.solar.bimini.yieldToday", "J"), "halyard_solar_yield_today_joules");
        assert_eq!(f("navigation.speedOverGround", "m/s"), "halyard_navigation_speed_over_ground_meters_per_second");
        assert_eq!(
            family("electrical.batteries.houseBank.temperature", "K"),
            Some(("halyard_battery_temperature_celsius".into(), -273.15))
        );
        assert_eq!(family("electrical.batteries.houseBank.name", ""), None);
    }

    #[test]
    fn lifetime_counters_are_counters_in_joules() {
        use crate::model::{DeviceInfo, Metric};
        let info = DeviceInfo {
            name: "house-bank".into(),
            role: None,
            group: None,
            kind: "battery_monitor".into(),
            product: None,
            identities: vec![],
            via: vec![],
            configured: true,
        };
        let change = Change {
            at: 0,
            device: std::sync::Arc::new(info),
            device_changed: false,
            changed: vec![Metric::number("lifetime_charged", "kWh", 1.25)],
            new_metrics: vec![],
            raw: vec![],
            state: Default::default(),
        };
        let v = Values::default();
        v.apply(&change);
        let mut out = String::new();
        v.render(&mut out);
        assert!(out.contains("# TYPE halyard_battery_charged_joules_total counter\n"), "{out}");
        assert!(out.contains("halyard_battery_charged_joules_total{device=\"house-bank\"} 4500000\n"), "{out}");
    }
}
