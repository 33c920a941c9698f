//! The Signal K state: the model's changes and the alarms placed in Signal K's tree (full
//! model for REST) and sent on as deltas (the WebSocket stream).
//!
//! One delta per change of the model: one context, one source (`halyard.<device>`), one
//! timestamp (the reading's own), its values in SI. A path's meta (units, description, display
//! name) rides with the first delta that carries it and stays in the full model beside the
//! value (SignalK/specification `mdbook/src/data_model_metadata.md`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value as Json};
use tokio::sync::{broadcast, mpsc};

use super::paths::{self, Group};
use crate::alarms::{Event, EventKind, Severity};
use crate::model::{Change, Identity, Millis, Reading};

/// One delta: values of one context from one source at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    /// `vessels.urn:mrn:…`.
    pub context: Arc<str>,
    /// `halyard.<device>` (a reference into `sources`).
    pub source: String,
    /// The readings' time.
    pub at: Millis,
    /// (path, value), values in SI.
    pub values: Vec<(String, Json)>,
    /// (path, meta) of paths sent for the first time.
    pub meta: Vec<(String, Json)>,
}

/// RFC 3339 in UTC with milliseconds, as Signal K's timestamps are (`definitions.json#timestamp`).
pub fn timestamp(at: Millis) -> String {
    match jiff::Timestamp::from_millisecond(at) {
        Ok(t) => format!("{t:.3}"),
        Err(_) => "1970-01-01T00:00:00.000Z".into(),
    }
}

impl Delta {
    /// The delta message (`schemas/delta.json`); meta only when `with_meta`.
    pub fn to_json(&self, with_meta: bool) -> Json {
        let mut update = Map::new();
        update.insert("$source".into(), self.source.clone().into());
        update.insert("timestamp".into(), timestamp(self.at).into());
        let values: Vec<Json> = self.values.iter().map(|(p, v)| json!({ "path": p, "value": v })).collect();
        update.insert("values".into(), values.into());
        if with_meta && !self.meta.is_empty() {
            let meta: Vec<Json> = self.meta.iter().map(|(p, m)| json!({ "path": p, "value": m })).collect();
            update.insert("meta".into(), meta.into());
        }
        json!({ "context": &*self.context, "updates": [Json::Object(update)] })
    }
}

/// A value in the tree.
#[derive(Debug, Clone)]
struct Leaf {
    value: Json,
    at: Millis,
    source: String,
    meta: Option<Json>,
}

/// One context (a vessel).
#[derive(Debug, Default)]
struct Context {
    /// Plain (non-value) properties: the vessel's name, a group member's `name`.
    plain: BTreeMap<String, Json>,
    leaves: BTreeMap<String, Leaf>,
}

impl Context {
    /// Set a value from `delta`'s source at its time, and add it to the delta (with its meta
    /// when the path is new to the model).
    fn put(&mut self, delta: &mut Delta, path: String, value: Json, meta: Json) {
        let leaf = self.leaves.entry(path.clone()).or_insert_with(|| {
            delta.meta.push((path.clone(), meta.clone()));
            Leaf { value: Json::Null, at: 0, source: String::new(), meta: Some(meta) }
        });
        leaf.value = value.clone();
        leaf.at = delta.at;
        leaf.source.clone_from(&delta.source);
        delta.values.push((path, value));
    }
}

/// A path's meta: what it is, its display name and unit when it has them
/// (`definitions.json#meta` requires the description).
fn meta(description: &str, display: Option<&str>, units: Option<&str>) -> Json {
    let mut m = json!({ "description": description });
    if let Some(d) = display {
        m["displayName"] = d.into();
    }
    if let Some(u) = units {
        m["units"] = u.into();
    }
    m
}

/// The tree and the stream's sender.
#[derive(Debug)]
pub struct Hub {
    /// This vessel's context (`vessels.urn:mrn:imo:mmsi:…` or `vessels.urn:mrn:signalk:uuid:…`).
    pub self_context: Arc<str>,
    contexts: Mutex<BTreeMap<Arc<str>, Context>>,
    tx: broadcast::Sender<Arc<Delta>>,
}

impl Hub {
    /// An empty tree for the vessel `self_context`.
    pub fn new(self_context: String) -> Hub {
        let self_context: Arc<str> = self_context.into();
        let mut contexts = BTreeMap::new();
        contexts.insert(self_context.clone(), Context::default());
        Hub { self_context, contexts: Mutex::new(contexts), tx: broadcast::channel(1024).0 }
    }

    /// The vessel's name (the configured boat name, else none).
    pub fn with_name(self, name: Option<String>) -> Hub {
        if let Some(n) = name {
            self.lock().entry(self.self_context.clone()).or_default().plain.insert("name".into(), n.into());
        }
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Arc<str>, Context>> {
        self.contexts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A receiver of every delta from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Delta>> {
        self.tx.subscribe()
    }

    /// Take in one change of the model.
    pub fn apply(&self, change: &Change) {
        let Some(group) = Group::of(&change.device) else { return };
        let context: Arc<str> = match group {
            Group::MeshNode => match change.device.identities.iter().find_map(|i| match i {
                Identity::Mesh(n) => Some(*n),
                _ => None,
            }) {
                Some(n) => paths::mesh_context(n).into(),
                None => return,
            },
            _ => self.self_context.clone(),
        };
        let name = &change.device.name;
        let mut values = Vec::new();
        let mut plain = Vec::new();
        let mut moved = false;
        for m in &change.changed {
            match &*m.name {
                "latitude" | "longitude" | "altitude" => moved = true,
                "long_name" if group == Group::MeshNode => {
                    if let Some(Reading::Text(t)) = &m.value {
                        plain.push(("name".to_owned(), Json::from(t.clone())));
                    }
                }
                metric => {
                    if let Some(p) = paths::place(group, name, metric, &m.unit, m.value.as_ref()) {
                        values.push(p);
                    }
                }
            }
        }
        let number = |metric: &str| change.state.get(metric).and_then(|c| c.value.as_ref()?.as_f64());
        let mut position = None;
        if moved {
            if let (Some(la), Some(lo)) = (number("latitude"), number("longitude")) {
                position = Some(paths::position(la, lo, number("altitude")));
            }
        }
        if values.is_empty() && position.is_none() && plain.is_empty() {
            return;
        }
        let source = format!("halyard.{}", source_name(name));
        let mut delta = Delta {
            context: context.clone(),
            source: source.clone(),
            at: change.at,
            values: Vec::new(),
            meta: Vec::new(),
        };
        {
            let mut contexts = self.lock();
            let ctx = contexts.entry(context).or_default();
            if !matches!(group, Group::Navigation | Group::MeshNode) {
                // The group member's own name (`electrical.batteries.houseBank.name`; an
                // engine's is its `label`).
                let key = format!("{}{}", group.prefix(name), if group == Group::Engine { "label" } else { "name" });
                if !ctx.plain.contains_key(&key) {
                    ctx.plain.insert(key.clone(), name.clone().into());
                    delta.values.push((key, name.clone().into()));
                }
            }
            for (key, v) in plain {
                if ctx.plain.get(&key) != Some(&v) {
                    ctx.plain.insert(key.clone(), v.clone());
                    delta.values.push((key, v));
                }
            }
            for p in values {
                let display = format!("{name}: {}", p.description);
                ctx.put(&mut delta, p.path, p.value, meta(p.description, Some(&display), p.units));
            }
            if let Some(pos) = position {
                ctx.put(&mut delta, "navigation.position".into(), pos, meta("Position", Some("Position"), None));
            }
        }
        let _ = self.tx.send(Arc::new(delta));
    }

    /// Another vessel's AIS position report: its own context `vessels.urn:mrn:imo:mmsi:…` with
    /// position, speed, course and heading. Ships' MMSIs only (2–7 first: the schema's vessel
    /// pattern; base stations and SAR aircraft are other contexts Halyard does not make).
    /// Vessels not heard for [`AIS_KEEP_MS`] leave the model.
    pub fn ais(&self, at: Millis, r: &halyard_proto::nmea::ais::PositionReport) {
        if !(200_000_000..800_000_000).contains(&r.mmsi) {
            return;
        }
        let context: Arc<str> = format!("vessels.urn:mrn:imo:mmsi:{}", r.mmsi).into();
        let mut values = Vec::new();
        if let (Some(la), Some(lo)) = (r.lat, r.lon) {
            values.push(("navigation.position", paths::position(la, lo, None), None));
        }
        if let Some(v) = r.sog_kn.and_then(|v| paths::si("kn", v)) {
            values.push(("navigation.speedOverGround", crate::json::number(v.0), Some(v.1)));
        }
        if let Some(v) = r.cog.and_then(|v| paths::si("°", v)) {
            values.push(("navigation.courseOverGroundTrue", crate::json::number(v.0), Some(v.1)));
        }
        if let Some(v) = r.heading.and_then(|v| paths::si("°", f64::from(v))) {
            values.push(("navigation.headingTrue", crate::json::number(v.0), Some(v.1)));
        }
        if values.is_empty() {
            return;
        }
        let source = "halyard.ais".to_owned();
        let mut delta =
            Delta { context: context.clone(), source: source.clone(), at, values: Vec::new(), meta: Vec::new() };
        {
            let mut contexts = self.lock();
            // Forget the vessels gone out of range (by the readings' clock).
            contexts.retain(|c, ctx| {
                *c == self.self_context
                    || ctx.leaves.values().any(|l| l.source != "halyard.ais" || at - l.at <= AIS_KEEP_MS)
            });
            let ctx = contexts.entry(context).or_default();
            if ctx.plain.is_empty() {
                ctx.plain.insert("mmsi".into(), r.mmsi.to_string().into());
            }
            for (path, value, units) in values {
                ctx.put(&mut delta, path.to_owned(), value, meta(path.rsplit('.').next().unwrap_or(path), None, units));
            }
        }
        let _ = self.tx.send(Arc::new(delta));
    }

    /// An alarm's event as the vessel's notification `notifications.<alarm>`
    /// (`groups/notifications.json`: state, method, message); a cleared alarm is `normal` with
    /// no method, an acknowledged one keeps showing but no longer sounds.
    pub fn alarm(&self, e: &Event) {
        let state = match (e.kind, e.severity) {
            (EventKind::Cleared, _) => "normal",
            (_, Severity::Warn) => "warn",
            (_, Severity::Alarm) => "alarm",
            (_, Severity::Emergency) => "emergency",
        };
        let method: &[&str] = match e.kind {
            EventKind::Cleared => &[],
            EventKind::Acknowledged => &["visual"],
            _ => &["visual", "sound"],
        };
        let path = format!("notifications.{}", notification_name(&e.alarm));
        let value = json!({ "state": state, "method": method, "message": e.message });
        let mut delta = Delta {
            context: self.self_context.clone(),
            source: "halyard.alarms".into(),
            at: e.at,
            values: Vec::new(),
            meta: Vec::new(),
        };
        let description = format!("Halyard alarm {}", e.alarm);
        self.lock().entry(self.self_context.clone()).or_default().put(
            &mut delta,
            path,
            value,
            meta(&description, None, None),
        );
        let _ = self.tx.send(Arc::new(delta));
    }

    /// Every current value as deltas (one per context and source), for a new subscriber.
    pub fn current(&self) -> Vec<Delta> {
        let contexts = self.lock();
        let mut out = Vec::new();
        for (context, ctx) in contexts.iter() {
            let mut by_source: BTreeMap<(&str, Millis), Delta> = BTreeMap::new();
            for (path, leaf) in &ctx.leaves {
                let d = by_source.entry((&leaf.source, leaf.at)).or_insert_with(|| Delta {
                    context: context.clone(),
                    source: leaf.source.clone(),
                    at: leaf.at,
                    values: Vec::new(),
                    meta: Vec::new(),
                });
                d.values.push((path.clone(), leaf.value.clone()));
                if let Some(m) = &leaf.meta {
                    d.meta.push((path.clone(), m.clone()));
                }
            }
            out.extend(by_source.into_values());
        }
        out
    }

    /// The full model (`schemas/signalk.json`): version, self, vessels, sources.
    pub fn full(&self) -> Json {
        let contexts = self.lock();
        let mut vessels = Map::new();
        let mut sources = Map::new();
        for (context, ctx) in contexts.iter() {
            let Some(urn) = context.strip_prefix("vessels.") else { continue };
            let mut vessel = Json::Object(Map::new());
            if let Some(mmsi) = urn.strip_prefix("urn:mrn:imo:mmsi:") {
                vessel["mmsi"] = mmsi.into();
            } else {
                vessel["uuid"] = urn.into();
            }
            for (path, v) in &ctx.plain {
                *slot(&mut vessel, path) = v.clone();
            }
            for (path, leaf) in &ctx.leaves {
                let mut l = json!({ "value": leaf.value, "timestamp": timestamp(leaf.at), "$source": leaf.source });
                if let Some(m) = &leaf.meta {
                    l["meta"] = m.clone();
                }
                *slot(&mut vessel, path) = l;
                let device = leaf.source.strip_prefix("halyard.").unwrap_or(&leaf.source);
                sources.insert(device.to_owned(), json!({ "label": device, "type": "Halyard" }));
            }
            vessels.insert(urn.to_owned(), vessel);
        }
        json!({
            "version": super::SPEC_VERSION,
            "self": &*self.self_context,
            "vessels": vessels,
            "sources": { "halyard": sources },
        })
    }

    /// Follow the model's changes until the pipeline stops.
    pub async fn run(self: Arc<Self>, mut rx: mpsc::Receiver<Arc<Change>>) {
        while let Some(c) = rx.recv().await {
            self.apply(&c);
        }
    }
}

/// An AIS vessel not heard for this long leaves the model (ten times the slowest Class B
/// reporting interval at anchor, 3 minutes).
pub const AIS_KEEP_MS: Millis = 30 * 60_000;

/// The place of a dotted path in a JSON object, made on the way.
fn slot<'a>(root: &'a mut Json, path: &str) -> &'a mut Json {
    let mut at = root;
    for key in path.split('.') {
        if !at.is_object() {
            *at = Json::Object(Map::new());
        }
        at = at.as_object_mut().expect("made an object above").entry(key).or_insert(Json::Null);
    }
    at
}

/// A device name as a source reference (`definitions.json#sourceRef`: letters, digits, `-_.`).
fn source_name(device: &str) -> String {
    device.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect()
}

/// An alarm name as a notification key (letters, digits and `-`; `notifications.json`).
fn notification_name(alarm: &str) -> String {
    alarm.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Current, DeviceInfo, Metric};

    fn change(name: &str, kind: &str, identity: Identity, metrics: &[(&str, &str, f64)], at: Millis) -> Change {
        let info = DeviceInfo {
            name: name.into(),
            role: None,
            group: None,
            kind: kind.into(),
            product: None,
            identities: vec![identity],
            via: vec!["test"],
            configured: true,
        };
        let state: BTreeMap<String, Current> =
            metrics.iter().map(|(m, u, v)| (m.to_string(), Current::new(*u, Some(Reading::Number(*v)), at))).collect();
        Change {
            at,
            device: Arc::new(info),
            device_changed: false,
            changed: metrics.iter().map(|(m, u, v)| Metric::number(m.to_string(), u.to_string(), *v)).collect(),
            new_metrics: Vec::new(),
            raw: Vec::new(),
            state: state.into(),
        }
    }

    const SELF: &str = "vessels.urn:mrn:signalk:uuid:c0d79334-4e25-4245-8892-54e8ccc8021d";

    #[test]
    fn a_change_becomes_one_delta_and_a_place_in_the_full_model() {
        let hub = Hub::new(SELF.into());
        let mut rx = hub.subscribe();
        let id = Identity::Mac([1, 2, 3, 4, 5, 6]);
        hub.apply(&change(
            "house-bank",
            "battery_monitor",
            id.clone(),
            &[("voltage", "V", 13.31), ("soc", "%", 71.8)],
            1_781_992_800_000,
        ));
        let d = rx.try_recv().unwrap();
        let j = d.to_json(true);
        assert_eq!(j["context"], SELF);
        assert_eq!(j["updates"][0]["$source"], "halyard.house-bank");
        assert_eq!(j["updates"][0]["timestamp"], "2026-06-20T22:00:00.000Z");
        let values = j["updates"][0]["values"].as_array().unwrap();
        assert_eq!(values[0], json!({ "path": "electrical.batteries.houseBank.name", "value": "house-bank" }));
        assert_eq!(values[1], json!({ "path": "electrical.batteries.houseBank.voltage", "value": 13.31 }));
        assert_eq!(values[2]["value"], 0.718);
        assert_eq!(j["updates"][0]["meta"][0]["value"]["units"], "V", "meta with the first send");
        hub.apply(&change("house-bank", "battery_monitor", id, &[("voltage", "V", 13.2)], 1_781_992_801_000));
        let j = rx.try_recv().unwrap().to_json(true);
        assert!(j["updates"][0].get("meta").is_none(), "meta once");
        assert_eq!(j["updates"][0]["values"].as_array().unwrap().len(), 1);
        let full = hub.full();
        let bank = &full["vessels"]["urn:mrn:signalk:uuid:c0d79334-4e25-4245-8892-54e8ccc8021d"]["electrical"]
            ["batteries"]["houseBank"];
        assert_eq!(bank["voltage"]["value"], 13.2);
        assert_eq!(bank["voltage"]["meta"]["units"], "V");
        assert_eq!(bank["name"], "house-bank");
        assert_eq!(bank["capacity"]["stateOfCharge"]["timestamp"], "2026-06-20T22:00:00.000Z");
    }

    #[test]
    fn positions_and_mesh_nodes() {
        let hub = Hub::new(SELF.into());
        let mut rx = hub.subscribe();
        hub.apply(&change(
            "nav",
            "navigation",
            Identity::Derived("nav".into()),
            &[("latitude", "°", 43.28), ("longitude", "°", 5.37), ("speed_over_ground", "kn", 0.0)],
            1_000,
        ));
        let j = rx.try_recv().unwrap().to_json(false);
        let values = j["updates"][0]["values"].as_array().unwrap();
        assert!(values
            .contains(&json!({ "path": "navigation.position", "value": { "latitude": 43.28, "longitude": 5.37 } })));
        hub.apply(&change(
            "mesh/anna",
            "mesh_node",
            Identity::Mesh(0xa77a0003),
            &[("latitude", "°", 43.3), ("longitude", "°", 5.4), ("snr", "dB", 6.0)],
            2_000,
        ));
        let j = rx.try_recv().unwrap().to_json(false);
        assert_eq!(j["context"], "vessels.urn:mrn:signalk:uuid:6d657368-0000-4000-8000-0000a77a0003");
        assert_eq!(j["updates"][0]["values"].as_array().unwrap().len(), 1, "the SNR has no path");
    }

    #[test]
    fn ais_targets_are_vessels_of_their_own_until_they_leave() {
        let hub = Hub::new(SELF.into());
        let report = |mmsi| halyard_proto::nmea::ais::PositionReport {
            message_type: 1,
            mmsi,
            lat: Some(43.29),
            lon: Some(5.36),
            sog_kn: Some(10.0),
            cog: Some(90.0),
            heading: None,
        };
        hub.ais(1_000, &report(227_006_760));
        hub.ais(1_000, &report(2_275_000)); // a coast station's MMSI: not a vessel
        let full = hub.full();
        let ship = &full["vessels"]["urn:mrn:imo:mmsi:227006760"];
        assert_eq!(ship["mmsi"], "227006760");
        assert_eq!(ship["navigation"]["position"]["value"]["latitude"], 43.29);
        assert!(
            (ship["navigation"]["courseOverGroundTrue"]["value"].as_f64().unwrap() - std::f64::consts::FRAC_PI_2).abs()
                < 1e-12
        );
        assert_eq!(full["vessels"].as_object().unwrap().len(), 2, "self and the ship");
        hub.ais(1_000 + AIS_KEEP_MS + 1, &report(227_006_761));
        let full = hub.full();
        assert!(full["vessels"].get("urn:mrn:imo:mmsi:227006760").is_none(), "gone out of range");
        assert!(full["vessels"].get("urn:mrn:imo:mmsi:227006761").is_some());
    }

    #[test]
    fn alarms_are_notifications() {
        let hub = Hub::new(SELF.into());
        let mut e = Event {
            alarm: "anchor-drag".into(),
            kind: EventKind::Raised,
            at: 5_000,
            since: 5_000,
            severity: Severity::Emergency,
            device: "nav".into(),
            metric: "anchor_distance".into(),
            value: Some(61.0),
            message: "the anchor drags: 61 m from where it was dropped".into(),
        };
        hub.alarm(&e);
        let n = &hub.full()["vessels"]["urn:mrn:signalk:uuid:c0d79334-4e25-4245-8892-54e8ccc8021d"]["notifications"]
            ["anchor-drag"];
        assert_eq!(n["value"]["state"], "emergency");
        assert_eq!(n["value"]["method"], json!(["visual", "sound"]));
        e.kind = EventKind::Cleared;
        hub.alarm(&e);
        let n = &hub.full()["vessels"]["urn:mrn:signalk:uuid:c0d79334-4e25-4245-8892-54e8ccc8021d"]["notifications"]
            ["anchor-drag"];
        assert_eq!(
            (n["value"]["state"].as_str(), n["value"]["method"].as_array().map(Vec::len)),
            (Some("normal"), Some(0))
        );
    }
}
