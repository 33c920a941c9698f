//! Derived solar-network metrics (monitorPowerToMQTT published the network's panel power and each
//! MPPT's share of it; its owner wants to see when one MPPT falls behind its peers).
//!
//! - `panel_power` (W): the sum of the fresh PV power of every solar device.
//! - `share/<device>` (%): that device's part of it (0 when the network produces nothing, and
//!   for devices not heard within `stale_seconds`).
//! - `yield_today` (kWh): the sum of the solar devices' own daily yields.
//! - `link_panel_power` (W): the network total the VE.Smart master broadcasts itself
//!   (VE_REG_LINK_TOTAL_DC_INPUT_POWER, register 0x2027, victron.md §3.3), when any does.

use crate::json::round;

use super::{DeviceState, Identity, Metric, Millis, Reading, Update};

/// The metrics each solar device reports its PV power under: `panel_power` (VE.Direct PPV,
/// register 0xEDBC) or `solar_power` (Instant Readout's solar charger record).
const PV_POWER: [&str; 2] = ["panel_power", "solar_power"];

/// Whether a metric feeds the derived network values.
pub fn is_solar_input(name: &str) -> bool {
    PV_POWER.contains(&name) || name == "yield_today" || name == "network_panel_power"
}

fn number(d: &DeviceState, name: &str) -> Option<f64> {
    d.values.get(name).and_then(|c| c.value.as_ref()).and_then(Reading::as_f64)
}

/// The network's values at `at`, or `None` when no solar device has reported PV power.
pub fn solar_network<'a>(at: Millis, stale_ms: i64, devices: impl Iterator<Item = &'a DeviceState>) -> Option<Update> {
    let solar: Vec<(&DeviceState, Option<f64>)> = devices
        .filter(|d| d.info.is_solar())
        .map(|d| {
            let fresh = at - d.last_seen <= stale_ms;
            (d, PV_POWER.iter().find_map(|n| number(d, n)).filter(|_| fresh))
        })
        .collect();
    if solar.iter().all(|(_, p)| p.is_none()) {
        return None;
    }
    let total: f64 = solar.iter().filter_map(|(_, p)| *p).sum();
    let mut u = Update::new(at, Identity::Derived("solar/network".into()), "solar_network", "model");
    u.metrics.push(Metric::number("panel_power", "W", round(total, 2)));
    for (d, p) in &solar {
        let share = match p {
            Some(p) if total > 0.0 => 100.0 * p / total,
            _ => 0.0,
        };
        u.metrics.push(Metric::number(format!("share/{}", d.info.name), "%", round(share, 1)));
    }
    let yields: Vec<f64> =
        solar.iter().filter(|(_, p)| p.is_some()).filter_map(|(d, _)| number(d, "yield_today")).collect();
    if !yields.is_empty() {
        u.metrics.push(Metric::number("yield_today", "kWh", round(yields.iter().sum(), 3)));
    }
    if let Some(link) =
        solar.iter().filter(|(_, p)| p.is_some()).filter_map(|(d, _)| number(d, "network_panel_power")).reduce(f64::max)
    {
        u.metrics.push(Metric::number("link_panel_power", "W", link));
    }
    u.metrics.push(Metric::number(
        "producing_devices",
        "",
        solar.iter().filter(|(_, p)| p.is_some_and(|p| p > 0.0)).count() as f64,
    ));
    Some(u)
}

/// Watts, not Amps (monitorPowerToMQTT's owner asks for it): a device reporting a voltage and a
/// current gets their product, by the rule the ESP32 node shares
/// ([`halyard_node_core::derive::power_rule`]). `None` when this update carries neither, or one
/// is unknown.
pub fn power(
    info: &super::DeviceInfo,
    values: &std::collections::BTreeMap<String, super::Current>,
    update: &[Metric],
) -> Option<Metric> {
    let rule = halyard_node_core::derive::power_rule(&info.kind, info.role.as_deref())?;
    let (name, volts, amps) = (rule.metric, rule.volts, rule.amps);
    if !update.iter().any(|m| volts.contains(&m.name.as_ref()) || amps.contains(&m.name.as_ref())) {
        return None;
    }
    let latest = |names: &[&str]| {
        names.iter().find_map(|n| {
            update
                .iter()
                .find(|m| m.name == *n)
                .and_then(|m| m.value.as_ref())
                .or_else(|| values.get(*n).and_then(|c| c.value.as_ref()))
                .and_then(Reading::as_f64)
        })
    };
    let (v, i) = (latest(volts)?, latest(amps)?);
    Some(Metric::number(name, "W", round(v * i, 1)))
}
