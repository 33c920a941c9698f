//! The model (DESIGN.md §2): decoded values become typed state about named devices, with change
//! detection, a periodic refresh, and the derived solar-network metrics monitorPowerToMQTT
//! published (network panel power, each MPPT's share).
//!
//! Pure and clocked by the updates' own timestamps, so a replay gives the same output as the
//! live run it was recorded from.

mod derived;
pub mod lifetime;
pub mod registry;
mod update;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub use registry::{DeviceInfo, KeyRing, Registry};
pub use update::{push_field, Identity, Metric, Millis, Origin, RawRecord, Reading, Update};

use crate::config::ModelSettings;

/// One metric's current value.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    /// Unit symbol.
    pub unit: String,
    /// Value (`None`: the device says not available).
    pub value: Option<Reading>,
    /// When it was last reported.
    pub at: Millis,
    /// When it was last handed to the sinks.
    published: Millis,
}

/// Everything known about one device.
#[derive(Debug, Clone)]
pub struct DeviceState {
    /// Who it is (shared with the changes that name it; copied only when it changes).
    pub info: Arc<DeviceInfo>,
    /// Metric name → current value (shared with the last change's `state`: a change is made
    /// for every update, and copying the whole map each time was a fifth of an import's time).
    pub values: Arc<BTreeMap<String, Current>>,
    /// Last heard.
    pub last_seen: Millis,
    /// Updates received.
    pub updates: u64,
    raw: HashMap<String, (String, Millis)>,
}

/// What the sinks get: what changed about one device, and its whole state.
#[derive(Debug, Clone)]
pub struct Change {
    /// When.
    pub at: Millis,
    /// The device.
    pub device: Arc<DeviceInfo>,
    /// Whether this is the first time the device is seen (or its description changed).
    pub device_changed: bool,
    /// Metrics that changed (or are due a refresh).
    pub changed: Vec<Metric>,
    /// Metrics seen for the first time (Home Assistant discovery).
    pub new_metrics: Vec<Metric>,
    /// Raw records to publish (local updates only).
    pub raw: Vec<RawRecord>,
    /// Every current value, for the state JSON (empty when nothing changed).
    pub state: Arc<BTreeMap<String, Current>>,
}

impl Current {
    /// A value reported (and published) at `at`.
    pub fn new(unit: impl Into<String>, value: Option<Reading>, at: Millis) -> Self {
        Current { unit: unit.into(), value, at, published: at }
    }
}

impl Change {
    /// Whether there is anything to publish.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.raw.is_empty() && !self.device_changed
    }
}

/// The model.
#[derive(Debug)]
pub struct Model {
    registry: Registry,
    devices: BTreeMap<String, DeviceState>,
    by_identity: HashMap<Identity, String>,
    refresh_ms: i64,
    stale_ms: i64,
    store_only: bool,
    lifetime: lifetime::Lifetime,
}

impl Model {
    /// A model over configured devices.
    pub fn new(registry: Registry, settings: &ModelSettings) -> Self {
        Model {
            registry,
            devices: BTreeMap::new(),
            by_identity: HashMap::new(),
            refresh_ms: settings.refresh_seconds.saturating_mul(1000) as i64,
            stale_ms: settings.stale_seconds.saturating_mul(1000) as i64,
            store_only: false,
            lifetime: lifetime::Lifetime::new(),
        }
    }

    /// Continue the lifetime energy counters from a saved state (the gateway keeps them across
    /// restarts).
    pub fn with_lifetime(mut self, saved: lifetime::Lifetime) -> Self {
        self.lifetime = saved;
        self
    }

    /// The lifetime energy counters, to save.
    pub fn lifetime(&self) -> &lifetime::Lifetime {
        &self.lifetime
    }

    /// Changes for the store only, without the device's whole state or its raw records: for an
    /// import, where nothing publishes the state JSON or monitorPowerToMQTT's raw topics (a
    /// change still queued for the recorder would make every update copy the state, and each
    /// raw record kept cost two copies and a hash).
    pub fn store_only(mut self) -> Self {
        self.store_only = true;
        self
    }

    /// Every device.
    pub fn devices(&self) -> impl Iterator<Item = &DeviceState> {
        self.devices.values()
    }

    /// Take in an update; returns the changes for the device and for derived metrics.
    pub fn apply(&mut self, update: Update) -> Vec<Change> {
        let mut out = Vec::new();
        let touches_solar = update.metrics.iter().any(|m| derived::is_solar_input(&m.name));
        let change = self.apply_one(update);
        let solar = self.devices.get(&change.device.name).is_some_and(|d| d.info.is_solar());
        if !change.is_empty() {
            out.push(change);
        }
        if touches_solar && solar {
            let at = out.last().map(|c| c.at);
            if let Some(at) = at {
                if let Some(u) = derived::solar_network(at, self.stale_ms, self.devices.values()) {
                    let c = self.apply_one(u);
                    if !c.is_empty() {
                        out.push(c);
                    }
                }
            }
        }
        out
    }

    fn device_name(&mut self, identity: &Identity, kind: &str) -> String {
        if let Some(n) = self.by_identity.get(identity) {
            return n.clone();
        }
        // An unconfigured VE.Smart serial matches the same unit's VE.Direct serial.
        if let Identity::Serial(s) = identity {
            let found = self.by_identity.iter().find_map(|(i, n)| match i {
                Identity::Serial(o) if registry::serials_match(o, s) => Some(n.clone()),
                _ => None,
            });
            if let Some(n) = found {
                self.by_identity.insert(identity.clone(), n.clone());
                return n;
            }
        }
        let info = self.registry.resolve(identity, kind);
        let name = info.name.clone();
        self.by_identity.insert(identity.clone(), name.clone());
        self.devices.entry(name.clone()).or_insert_with(|| DeviceState {
            info: Arc::new(info),
            values: Arc::default(),
            last_seen: 0,
            updates: 0,
            raw: HashMap::new(),
        });
        name
    }

    fn apply_one(&mut self, update: Update) -> Change {
        let name = self.device_name(&update.identity, &update.kind);
        let refresh_ms = self.refresh_ms;
        let device = self.devices.get_mut(&name).expect("device_name inserts the device");
        let mut device_changed = device.updates == 0;
        if !device.info.identities.contains(&update.identity) {
            Arc::make_mut(&mut device.info).identities.push(update.identity.clone());
            device_changed = true;
        }
        if !device.info.via.contains(&update.protocol) {
            Arc::make_mut(&mut device.info).via.push(update.protocol);
            device_changed = true;
        }
        if update.product.is_some() && device.info.product != update.product {
            Arc::make_mut(&mut device.info).product = update.product.clone();
            device_changed = true;
        }
        // A specific kind beats a generic one (a VE.Direct port learns it is a solar charger).
        if device.info.kind != update.kind && generic_kind(&device.info.kind) && !generic_kind(&update.kind) {
            Arc::make_mut(&mut device.info).kind = update.kind.to_string();
            device_changed = true;
        }
        device.last_seen = device.last_seen.max(update.at);
        device.updates += 1;

        let mut changed = Vec::new();
        let mut new_metrics = Vec::new();
        let mut metrics = update.metrics;
        if let Some(p) = derived::power(&device.info, &device.values, &metrics) {
            metrics.push(p);
        }
        if let Some(counts) = lifetime::Counts::of(&device.info) {
            let counters = self.lifetime.entry(name.clone()).or_default();
            let moved = lifetime::take(counters, counts, &metrics, update.at);
            metrics.extend(moved);
        }
        // Copies the map only while the last change still holds it.
        let values = Arc::make_mut(&mut device.values);
        for m in metrics {
            match values.get_mut(m.name.as_ref()) {
                Some(c) => {
                    let (new_value, new_unit) = (c.value != m.value, c.unit != m.unit);
                    let publish = new_value || new_unit || update.at - c.published >= refresh_ms;
                    if new_value {
                        c.value = m.value.clone();
                    }
                    if new_unit {
                        c.unit = m.unit.to_string();
                    }
                    c.at = update.at;
                    if publish {
                        c.published = update.at;
                        changed.push(m);
                    }
                }
                None => {
                    values.insert(
                        m.name.to_string(),
                        Current {
                            unit: m.unit.to_string(),
                            value: m.value.clone(),
                            at: update.at,
                            published: update.at,
                        },
                    );
                    new_metrics.push(m.clone());
                    changed.push(m);
                }
            }
        }
        let mut raw = Vec::new();
        if update.origin == Origin::Local && !self.store_only {
            for r in update.raw {
                let publish = match device.raw.get(&r.topic) {
                    Some((payload, published)) => *payload != r.payload || update.at - published >= refresh_ms,
                    None => true,
                };
                if publish {
                    device.raw.insert(r.topic.clone(), (r.payload.clone(), update.at));
                    raw.push(r);
                }
            }
        }
        let state = if changed.is_empty() || self.store_only { Arc::default() } else { device.values.clone() };
        Change { at: update.at, device: device.info.clone(), device_changed, changed, new_metrics, raw, state }
    }
}

fn generic_kind(kind: &str) -> bool {
    matches!(kind, "vedirect" | "venetworking" | "masterbus" | "victron")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn model(devices: Vec<config::Device>) -> Model {
        Model::new(Registry::new(&devices), &ModelSettings { refresh_seconds: 60, stale_seconds: 300 })
    }

    fn pv(at: Millis, serial: &str, watts: f64) -> Update {
        let mut u = Update::new(at, Identity::Serial(serial.into()), "solar_charger", "venetworking");
        u.metrics.push(Metric::number("panel_power", "W", watts));
        u.raw.push(RawRecord { topic: format!("venetworking/{serial}/EDBC"), payload: format!("{}", watts * 100.0) });
        u
    }

    #[test]
    fn unchanged_values_wait_for_the_refresh() {
        let mut m = model(vec![]);
        let c = m.apply(pv(0, "HQyywwMAEI4", 100.0));
        assert_eq!(c[0].changed.len(), 1);
        assert!(c[0].device_changed);
        let c = m.apply(pv(1_000, "HQyywwMAEI4", 100.0));
        assert!(c.iter().all(|c| c.device.name == "solar/network" || c.changed.is_empty()), "{c:?}");
        let c = m.apply(pv(61_000, "HQyywwMAEI4", 100.0));
        assert_eq!(c[0].changed.len(), 1, "refresh after 60 s");
        assert_eq!(c[0].raw.len(), 1);
    }

    #[test]
    fn network_panel_power_and_shares() {
        let mut m = model(vec![
            config::Device { name: "port".into(), serial: Some("HQ1840MAEI4".into()), ..Default::default() },
            config::Device { name: "stbd".into(), serial: Some("HQ1840NH7ZQ".into()), ..Default::default() },
        ]);
        m.apply(pv(0, "HQyywwMAEI4", 300.0));
        let c = m.apply(pv(100, "HQyywwNH7ZQ", 100.0));
        let network = c.iter().find(|c| c.device.name == "solar/network").expect("derived change");
        let get = |n: &str| network.state.get(n).and_then(|c| c.value.as_ref()).and_then(Reading::as_f64);
        assert_eq!(get("panel_power"), Some(400.0));
        assert_eq!(get("share/port"), Some(75.0));
        assert_eq!(get("share/stbd"), Some(25.0));
        // A device not heard for longer than `stale_seconds` no longer counts.
        let c = m.apply(pv(400_000, "HQyywwNH7ZQ", 50.0));
        let network = c.iter().find(|c| c.device.name == "solar/network").expect("derived change");
        assert_eq!(network.state["panel_power"].value, Some(Reading::Number(50.0)));
        assert_eq!(network.state["share/stbd"].value, Some(Reading::Number(100.0)));
    }

    #[test]
    fn mqtt_in_updates_do_not_republish_raw_topics() {
        let mut m = model(vec![]);
        let mut u = pv(0, "HQyywwMAEI4", 10.0);
        u.origin = Origin::MqttIn;
        let c = m.apply(u);
        assert!(c[0].raw.is_empty());
        assert_eq!(c[0].changed.len(), 1);
    }
}
