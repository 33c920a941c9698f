//! From a model change to MQTT messages (DESIGN.md §4.2): monitorPowerToMQTT's raw topics, the
//! human-readable `<root>/<device>/<metric>` topics and the `<root>/<device>/state` JSON.

use serde_json::{json, Map, Value as Json};

use crate::config;
use crate::model::Change;
use crate::sinks::outbox::Message;

/// RFC 3339 UTC time with milliseconds (`2026-11-24T01:02:03.456Z`).
pub fn rfc3339(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// The state JSON of a device.
pub fn state_json(change: &Change) -> Json {
    let mut values = Map::new();
    let mut units = Map::new();
    for (name, c) in change.state.iter() {
        values.insert(name.clone(), c.value.as_ref().map_or(Json::Null, |v| v.to_json()));
        if !c.unit.is_empty() {
            units.insert(name.clone(), c.unit.clone().into());
        }
    }
    let d = &change.device;
    let mut out = json!({
        "device": d.name,
        "kind": d.kind,
        "time": rfc3339(change.at),
        "values": values,
        "units": units,
    });
    for (k, v) in [("product", &d.product), ("role", &d.role), ("group", &d.group)] {
        if let Some(v) = v {
            out[k] = v.clone().into();
        }
    }
    out
}

/// The messages for one change, in the order they should be published.
pub fn messages(change: &Change, s: &config::Mqtt) -> Vec<Message> {
    let mut out = Vec::new();
    for r in &change.raw {
        if s.raw_topics.allows(&r.topic) {
            out.push(Message {
                topic: r.topic.clone(),
                payload: r.payload.clone().into_bytes(),
                retain: false,
                qos: s.qos,
            });
        }
    }
    let device = &change.device.name;
    if s.named_topics && (change.device_changed || !change.new_metrics.is_empty()) {
        // Heard in this run: available (until its silence says otherwise, `gateway`).
        out.push(Message {
            topic: super::discovery::availability_topic(s, device),
            payload: b"online".to_vec(),
            retain: true,
            qos: s.qos,
        });
    }
    if s.named_topics {
        for m in &change.changed {
            if let Some(v) = &m.value {
                out.push(Message {
                    topic: format!("{}/{device}/{}", s.root, m.name),
                    payload: v.payload().into_bytes(),
                    retain: true,
                    qos: s.qos,
                });
            }
        }
    }
    if s.state_json && !change.changed.is_empty() {
        out.push(Message {
            topic: format!("{}/{device}/state", s.root),
            payload: state_json(change).to_string().into_bytes(),
            retain: true,
            qos: s.qos,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_642_604_268_138), "2022-01-19T14:57:48.138Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }
}
