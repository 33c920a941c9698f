//! Alarms on MQTT: each alarm's state, retained on `<root>/alarm/<name>`, and a Home Assistant
//! `binary_sensor` for it (on while active).
//!
//! ```json
//! {"state":"active","since":"2026-06-23T04:10:00.000Z","severity":"alarm","device":"house-bank",
//!  "metric":"state_of_charge","value":28.5,"message":"house-bank.state_of_charge < 30 (now 28.5)",
//!  "acknowledged":false}
//! ```

use serde_json::json;

use super::discovery::safe_id;
use super::topics::rfc3339;
use crate::alarms::{Event, Severity};
use crate::sinks::outbox::Message;

/// Where and how alarm messages go.
#[derive(Debug, Clone)]
pub struct AlarmTopics {
    /// The topics' root (`halyard`).
    pub root: String,
    /// QoS.
    pub qos: u8,
    /// Home Assistant's discovery prefix, when discovery is on.
    pub discovery: Option<String>,
}

impl AlarmTopics {
    /// The retained state after `e`.
    pub fn state(&self, e: &Event) -> Message {
        let payload = e.state_json();
        Message {
            topic: format!("{}/alarm/{}", self.root, e.alarm),
            payload: payload.to_string().into_bytes(),
            retain: true,
            qos: self.qos,
        }
    }

    /// A device's availability (`<root>/<device>/availability`, retained): `offline` while its
    /// silence alarm is active, so that Home Assistant shows its sensors unavailable rather than
    /// their last values as current.
    pub fn availability(&self, device: &str, online: bool) -> Message {
        Message {
            topic: format!("{}/{device}/availability", self.root),
            payload: if online { b"online".to_vec() } else { b"offline".to_vec() },
            retain: true,
            qos: self.qos,
        }
    }

    /// A configured alarm that is not active (published at start, so that Home Assistant shows
    /// it off rather than unknown).
    pub fn normal(&self, name: &str, severity: Severity, at: i64) -> Message {
        Message {
            topic: format!("{}/alarm/{name}", self.root),
            payload: json!({"state": "normal", "since": rfc3339(at), "severity": severity.to_string(), "acknowledged": false})
                .to_string()
                .into_bytes(),
            retain: true,
            qos: self.qos,
        }
    }

    /// The anchor watch's state, retained on `<root>/anchor` (`alarms::anchor`).
    pub fn anchor(&self, state: &serde_json::Value) -> Message {
        Message {
            topic: format!("{}/anchor", self.root),
            payload: state.to_string().into_bytes(),
            retain: true,
            qos: self.qos,
        }
    }

    /// Home Assistant's discovery of the alarm `name`: a `binary_sensor`, device class `safety`
    /// for emergencies (an anchor dragging) and `problem` otherwise.
    pub fn discovery(&self, name: &str, severity: Severity) -> Option<Message> {
        let prefix = self.discovery.as_ref()?;
        let id = format!("halyard_alarm_{}", safe_id(name));
        let mut c = json!({
            "name": format!("Alarm {name}"),
            "unique_id": id,
            "state_topic": format!("{}/alarm/{name}", self.root),
            "value_template": "{{ 'ON' if value_json.state == 'active' else 'OFF' }}",
            "json_attributes_topic": format!("{}/alarm/{name}", self.root),
            "device_class": if severity == Severity::Emergency { "safety" } else { "problem" },
            "availability_topic": format!("{}/status", self.root),
            "payload_available": "online",
            "payload_not_available": "offline",
            "device": {"identifiers": ["halyard_alarms"], "name": "Halyard alarms", "manufacturer": "Halyard"},
        });
        if self.qos > 0 {
            c["qos"] = 1.into();
        }
        Some(Message {
            topic: format!("{prefix}/binary_sensor/{id}/config"),
            payload: c.to_string().into_bytes(),
            retain: true,
            qos: self.qos,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarms::EventKind;

    fn topics() -> AlarmTopics {
        AlarmTopics { root: "halyard".into(), qos: 1, discovery: Some("homeassistant".into()) }
    }

    fn event(kind: EventKind) -> Event {
        Event {
            alarm: "low".into(),
            kind,
            at: 1_782_187_800_000,
            since: 1_782_187_800_000,
            severity: Severity::Alarm,
            device: "house-bank".into(),
            metric: "state_of_charge".into(),
            value: Some(28.5),
            message: "house-bank.state_of_charge < 30 (now 28.5)".into(),
        }
    }

    #[test]
    fn raised_and_cleared_states() {
        let m = topics().state(&event(EventKind::Raised));
        assert_eq!(m.topic, "halyard/alarm/low");
        assert!(m.retain);
        let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(v["state"], "active");
        assert_eq!(v["value"], 28.5);
        assert_eq!(v["since"], "2026-06-23T04:10:00.000Z");
        let v: serde_json::Value = serde_json::from_slice(&topics().state(&event(EventKind::Cleared)).payload).unwrap();
        assert_eq!(v["state"], "normal");
        let v: serde_json::Value =
            serde_json::from_slice(&topics().state(&event(EventKind::Acknowledged)).payload).unwrap();
        assert_eq!((v["state"].as_str(), v["acknowledged"].as_bool()), (Some("active"), Some(true)));
    }

    #[test]
    fn home_assistant_sees_a_binary_sensor() {
        let m = topics().discovery("anchor-drag", Severity::Emergency).unwrap();
        assert_eq!(m.topic, "homeassistant/binary_sensor/halyard_alarm_anchor-drag/config");
        let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(v["device_class"], "safety");
        assert_eq!(v["state_topic"], "halyard/alarm/anchor-drag");
        let low = topics().discovery("low", Severity::Warn).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&low.payload).unwrap();
        assert_eq!(v["device_class"], "problem");
        assert!(AlarmTopics { discovery: None, ..topics() }.discovery("low", Severity::Warn).is_none());
    }
}
