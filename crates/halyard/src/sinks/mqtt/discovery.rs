//! Home Assistant MQTT discovery: one retained `sensor` config per metric under
//! `<prefix>/sensor/halyard_<device>/<metric>/config`, all of one physical device's sensors
//! grouped under one HA device.
//!
//! Device classes and state classes follow Home Assistant's sensor rules
//! (homeassistant/components/sensor/const.py, `DEVICE_CLASS_UNITS` and
//! `DEVICE_CLASS_STATE_CLASSES`): an energy sensor must be `total` or `total_increasing`, never
//! `measurement`; a device class only with one of its units.

use serde_json::{json, Value as Json};

use crate::config;
use crate::model::{Change, DeviceInfo, Identity};
use crate::sinks::outbox::Message;

/// Topic-safe id: HA's discovery topic levels allow `[a-zA-Z0-9_-]` only.
pub fn safe_id(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

/// HA's `device_class` and `state_class` for a metric with this unit.
pub fn classes(metric: &str, unit: &str, numeric: bool) -> (Option<&'static str>, Option<&'static str>) {
    if !numeric {
        return (None, None);
    }
    let device_class = match unit {
        "V" => Some("voltage"),
        "A" => Some("current"),
        "W" => Some("power"),
        "VA" => Some("apparent_power"),
        "kWh" | "Wh" => Some("energy"),
        "°C" => Some("temperature"),
        "s" | "min" | "h" => Some("duration"),
        "kn" if metric.contains("wind") || metric.starts_with("gust") => Some("wind_speed"),
        "kn" => Some("speed"),
        "hPa" => Some("atmospheric_pressure"),
        "m" => Some("distance"),
        "%" if metric == "soc" || metric.contains("state_of_charge") => Some("battery"),
        _ => None,
    };
    let state_class = match (device_class, unit) {
        (Some("energy"), _) => Some("total_increasing"),
        // Codes of enumerations and bit sets are not quantities to average.
        (None, "") => None,
        _ => Some("measurement"),
    };
    (device_class, state_class)
}

fn manufacturer(d: &DeviceInfo) -> &'static str {
    if d.identities.iter().any(|i| matches!(i, Identity::MasterBus(_))) {
        "Mastervolt"
    } else if d.identities.iter().any(|i| matches!(i, Identity::Derived(_))) {
        "Halyard"
    } else {
        "Victron Energy"
    }
}

/// A readable name: `battery_voltage` → `Battery voltage`.
fn title(metric: &str) -> String {
    let text = metric.replace(['_', '/'], " ");
    let mut c = text.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => text,
    }
}

/// The HA device object.
pub fn device_object(d: &DeviceInfo) -> Json {
    let mut device = json!({
        "identifiers": [format!("halyard_{}", safe_id(&d.name))],
        "name": d.name,
        "manufacturer": manufacturer(d),
    });
    if let Some(p) = &d.product {
        device["model"] = p.clone().into();
    }
    if let Some(serial) = d.identities.iter().find_map(|i| match i {
        Identity::Serial(s) => Some(s.clone()),
        Identity::MasterBus(_) => Some(i.topic_text()),
        _ => None,
    }) {
        device["serial_number"] = serial.into();
    }
    let macs: Vec<Json> = d
        .identities
        .iter()
        .filter_map(|i| match i {
            Identity::Mac(_) => Some(json!(["bluetooth", i.to_string().to_lowercase()])),
            _ => None,
        })
        .collect();
    if !macs.is_empty() {
        device["connections"] = macs.into();
    }
    if let Some(area) = &d.group {
        device["suggested_area"] = area.clone().into();
    }
    device
}

/// A device's own availability: `online` once heard, `offline` while silent (retained).
pub fn availability_topic(s: &config::Mqtt, device: &str) -> String {
    format!("{}/{device}/availability", s.root)
}

/// The discovery config for one metric.
pub fn config_payload(s: &config::Mqtt, d: &DeviceInfo, metric: &str, unit: &str, numeric: bool) -> Json {
    let id = format!("halyard_{}_{}", safe_id(&d.name), safe_id(metric));
    let mut c = json!({
        "name": title(metric),
        "unique_id": id,
        "state_topic": format!("{}/{}/{metric}", s.root, d.name),
        // Unavailable when Halyard is offline, and when this device has gone silent
        // (`<root>/<device>/availability`): a frozen value is not shown as current.
        "availability": [
            {"topic": format!("{}/status", s.root), "payload_available": "online", "payload_not_available": "offline"},
            {"topic": availability_topic(s, &d.name), "payload_available": "online", "payload_not_available": "offline"},
        ],
        "availability_mode": "all",
        "device": device_object(d),
        "origin": {
            "name": "Halyard",
            "sw_version": env!("CARGO_PKG_VERSION"),
            "support_url": env!("CARGO_PKG_REPOSITORY"),
        },
    });
    if !unit.is_empty() {
        c["unit_of_measurement"] = unit.into();
    }
    let (device_class, state_class) = classes(metric, unit, numeric);
    if let Some(dc) = device_class {
        c["device_class"] = dc.into();
    }
    if let Some(sc) = state_class {
        c["state_class"] = sc.into();
    }
    if s.qos > 0 {
        c["qos"] = 1.into();
    }
    c
}

/// Discovery messages for a change: its new metrics, or every metric when the device's
/// description changed (a product name learned later).
pub fn messages(change: &Change, s: &config::Mqtt) -> Vec<Message> {
    if !s.home_assistant || !s.named_topics {
        return Vec::new();
    }
    let d = &change.device;
    let metrics: Vec<(String, String, bool)> = if change.device_changed {
        change
            .state
            .iter()
            .map(|(n, c)| (n.clone(), c.unit.clone(), c.value.as_ref().is_none_or(|v| v.as_f64().is_some())))
            .collect()
    } else {
        change
            .new_metrics
            .iter()
            .map(|m| (m.name.to_string(), m.unit.to_string(), m.value.as_ref().is_none_or(|v| v.as_f64().is_some())))
            .collect()
    };
    metrics
        .into_iter()
        .map(|(name, unit, numeric)| Message {
            topic: format!("{}/sensor/halyard_{}/{}/config", s.discovery_prefix, safe_id(&d.name), safe_id(&name)),
            payload: config_payload(s, d, &name, &unit, numeric).to_string().into_bytes(),
            retain: true,
            qos: s.qos,
        })
        .collect()
}
