//! A Victron GX's MQTT (Venus OS) → updates: `N/<portal>/<service>/<instance>/<path>` with
//! `{"value": …}` (halyard_proto::victron::venus has the topic layout and the path table).
//!
//! A device is known by its serial number when it has one (`/Serial`, the `HQ…` of VE.Direct's
//! `SER#`), so a SmartShunt the owner configured with `serial` — and `mac` for its Bluetooth —
//! is one device whichever way it is heard. The GX sends a device's paths in no particular
//! order after a keep-alive, `/Serial` among them, so a device's first values wait until its
//! serial has come, the full publish is complete ([`SETTLE_MS`] at most), and then go out
//! together. Tank senders, temperature inputs and the system summary have no serial: they are
//! `Identity::Gx` (`tank-20`, `gx`), which `[[device]] gx = "tank/20"` names.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use halyard_proto::victron::venus::{self, Notification};
use serde_json::Value as Json;

use crate::burst::BurstLog;
use crate::model::{Identity, Metric, Millis, Update};
use crate::telemetry::Telemetry;

/// How long a device's values wait for its serial number when the GX's full publish does not
/// say it is complete (an old dbus-mqtt, a lost message).
pub const SETTLE_MS: Millis = 10_000;

/// The source label in counters.
const SOURCE: &str = "venus";

/// What one path said.
enum Said {
    Serial(Option<String>),
    Product(Option<String>),
    Values(Vec<Metric>),
}

#[derive(Debug, Default)]
struct Device {
    identity: Option<Identity>,
    first_at: Millis,
    product: Option<String>,
    /// Values heard before the identity was known, the latest per metric.
    pending: Vec<Metric>,
}

/// Decoder of one or several GXes' notifications.
pub struct VenusDecoder {
    devices: HashMap<(String, String, String), Device>,
    telemetry: Arc<Telemetry>,
    garbage: BurstLog,
}

impl VenusDecoder {
    /// A decoder counting into `telemetry`.
    pub fn new(telemetry: Arc<Telemetry>) -> Self {
        VenusDecoder { devices: HashMap::new(), telemetry, garbage: BurstLog::new("venus", Duration::from_secs(60)) }
    }

    /// One message from a GX's broker.
    pub fn message(&mut self, at: Millis, topic: &str, payload: &[u8], out: &mut Vec<Update>) {
        let Some(n) = venus::parse(topic) else { return };
        let (portal, service, instance, path) = match n {
            Notification::Value { portal, service, instance, path } => (portal, service, instance, path),
            Notification::FullPublishCompleted { portal } => return self.settle_portal(portal, at, out),
            Notification::Alive { .. } => return,
        };
        let Some(kind) = venus::kind(service) else { return };
        self.telemetry.frame(SOURCE, at);
        if payload.is_empty() {
            // The device left the bus; its last values stay until they grow stale.
            return;
        }
        let value = match serde_json::from_slice::<Json>(payload) {
            Ok(Json::Object(mut o)) if o.contains_key("value") => o.remove("value").unwrap_or(Json::Null),
            _ => return self.bad("bad_json", topic, payload),
        };
        let said = match path {
            "Serial" if venus::has_serial(service) => {
                Said::Serial(value.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned))
            }
            "ProductName" => Said::Product(value.as_str().map(str::to_owned)),
            "CustomName" => Said::Values(match value.as_str().map(str::trim) {
                Some(name) if !name.is_empty() => vec![Metric::text("custom_name", name)],
                _ => Vec::new(),
            }),
            _ => {
                let Some(q) = venus::quantity(service, path) else { return };
                let unit = q.unit.symbol();
                match value {
                    Json::Null => Said::Values(vec![Metric { name: q.name.into(), unit: unit.into(), value: None }]),
                    Json::Number(v) => {
                        let Some(v) = v.as_f64() else { return self.bad("bad_value", topic, payload) };
                        // D-Bus values are often single-precision floats (51.40999984741211 for
                        // 51.41 V): three decimals keep every quantity's resolution (mV, mA, Wh).
                        let mut m = vec![Metric::number(q.name, unit, crate::json::round(v * q.scale, 3))];
                        if let Some(name) = q.table.and_then(|t| t.name(v as i32)) {
                            m.push(Metric::text(format!("{}_name", q.name), name));
                        }
                        Said::Values(m)
                    }
                    _ => return self.bad("bad_value", topic, payload),
                }
            }
        };
        let key = (portal.to_owned(), service.to_owned(), instance.to_owned());
        let device = self.devices.entry(key).or_insert_with(|| Device { first_at: at, ..Device::default() });
        let mut metrics = Vec::new();
        match said {
            Said::Serial(serial) => {
                if device.identity.is_none() {
                    device.identity = Some(serial.map_or_else(|| gx(service, instance), Identity::Serial));
                }
            }
            Said::Product(p) => device.product = p,
            Said::Values(m) => metrics = m,
        }
        if device.identity.is_none() && (!venus::has_serial(service) || at - device.first_at >= SETTLE_MS) {
            device.identity = Some(gx(service, instance));
        }
        match &device.identity {
            None => {
                for m in metrics {
                    device.pending.retain(|p| p.name != m.name);
                    device.pending.push(m);
                }
            }
            Some(identity) => {
                metrics.splice(0..0, std::mem::take(&mut device.pending));
                if !metrics.is_empty() || device.product.is_some() {
                    let mut u = Update::new(at, identity.clone(), kind, "venus");
                    u.product = device.product.clone();
                    u.metrics = metrics;
                    out.push(u);
                }
            }
        }
    }

    /// The full publish is complete: devices that have not told a serial by now have none.
    fn settle_portal(&mut self, portal: &str, at: Millis, out: &mut Vec<Update>) {
        for ((p, service, instance), device) in &mut self.devices {
            if p != portal || device.identity.is_some() {
                continue;
            }
            let identity = gx(service, instance);
            device.identity = Some(identity.clone());
            if !device.pending.is_empty() {
                let mut u = Update::new(at, identity, venus::kind(service).unwrap_or("gx_device"), "venus");
                u.product = device.product.clone();
                u.metrics = std::mem::take(&mut device.pending);
                out.push(u);
            }
        }
    }

    fn bad(&mut self, kind: &'static str, topic: &str, payload: &[u8]) {
        self.telemetry.inc("halyard_decode_errors_total", &[("source", SOURCE), ("kind", kind)]);
        let shown = String::from_utf8_lossy(&payload[..payload.len().min(60)]).into_owned();
        self.garbage.report(Instant::now(), || format!("{topic}: not a Venus OS value ({kind}): {shown:?}"));
    }
}

fn gx(service: &str, instance: &str) -> Identity {
    Identity::Gx { service: service.to_owned(), instance: instance.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Reading;

    const PORTAL: &str = "c0847dba509e";

    fn feed(d: &mut VenusDecoder, at: Millis, path: &str, payload: &str) -> Vec<Update> {
        let mut out = Vec::new();
        d.message(at, &format!("N/{PORTAL}/{path}"), payload.as_bytes(), &mut out);
        out
    }

    fn value(u: &Update, name: &str) -> Option<Reading> {
        u.metrics.iter().find(|m| m.name == name).and_then(|m| m.value.clone())
    }

    #[test]
    fn a_battery_waits_for_its_serial_then_speaks_as_that_serial() {
        let t = Arc::new(Telemetry::default());
        let mut d = VenusDecoder::new(t.clone());
        // A real capture's system summary value (sbender9/signalk-venus-plugin test/mqtt-test.log).
        let sys = feed(&mut d, 0, "system/0/Dc/Battery/Voltage", r#"{"value": 51.40999984741211}"#);
        assert_eq!(sys[0].identity, gx("system", "0"));
        assert_eq!(Identity::Gx { service: "system".into(), instance: "0".into() }.topic_text(), "gx");
        assert_eq!(value(&sys[0], "battery_voltage"), Some(Reading::Number(51.41)));

        assert!(feed(&mut d, 10, "battery/279/Dc/0/Voltage", r#"{"value": 13.31}"#).is_empty());
        assert!(feed(&mut d, 20, "battery/279/TimeToGo", r#"{"value": 3479.999755859375}"#).is_empty());
        assert!(feed(&mut d, 30, "battery/279/ProductName", r#"{"value": "SmartShunt 500A/50mV"}"#).is_empty());
        let u = feed(&mut d, 40, "battery/279/Serial", r#"{"value": "HQ2031ABCDE"}"#);
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].identity, Identity::Serial("HQ2031ABCDE".into()));
        assert_eq!((u[0].kind.as_ref(), u[0].product.as_deref()), ("battery_monitor", Some("SmartShunt 500A/50mV")));
        assert_eq!(value(&u[0], "voltage"), Some(Reading::Number(13.31)));
        assert_eq!(value(&u[0], "remaining_mins"), Some(Reading::Number(58.0)));
        // Then each value as it comes; null is "not available".
        let u = feed(&mut d, 50, "battery/279/Soc", r#"{"value": null}"#);
        assert_eq!((u[0].metrics[0].name.as_ref(), u[0].metrics[0].value.clone()), ("soc", None));
    }

    #[test]
    fn a_tank_has_no_serial_and_the_full_publish_settles_the_rest() {
        let t = Arc::new(Telemetry::default());
        let mut d = VenusDecoder::new(t.clone());
        let u = feed(&mut d, 0, "tank/20/FluidType", r#"{"value": 1}"#);
        assert_eq!(u[0].identity.topic_text(), "tank-20");
        assert_eq!(value(&u[0], "fluid_type_name"), Some(Reading::Text("fresh_water".into())));
        let u = feed(&mut d, 0, "tank/20/Remaining", r#"{"value": 0.0865}"#);
        assert_eq!((value(&u[0], "remaining"), u[0].metrics[0].unit.as_ref()), (Some(Reading::Number(86.5)), "L"));
        // An MPPT whose serial never comes.
        assert!(feed(&mut d, 0, "solarcharger/278/Yield/Power", r#"{"value": 245.5}"#).is_empty());
        let u = feed(&mut d, 5, "full_publish_completed", r#"{"value": 1702459522}"#);
        assert_eq!(u[0].identity, gx("solarcharger", "278"));
        assert_eq!(value(&u[0], "solar_power"), Some(Reading::Number(245.5)));
        // Or after SETTLE_MS without one.
        assert!(feed(&mut d, 0, "vebus/276/Soc", r#"{"value": 80}"#).is_empty());
        let u = feed(&mut d, SETTLE_MS, "vebus/276/Mode", r#"{"value": 3}"#);
        assert_eq!(u[0].identity, gx("vebus", "276"));
        assert_eq!(value(&u[0], "device_mode_name"), Some(Reading::Text("on".into())));
        assert_eq!(value(&u[0], "soc"), Some(Reading::Number(80.0)));
    }

    #[test]
    fn garbage_is_counted_and_other_services_ignored() {
        let t = Arc::new(Telemetry::default());
        let mut d = VenusDecoder::new(t.clone());
        assert!(feed(&mut d, 0, "battery/279/Dc/0/Voltage", "not json").is_empty());
        assert!(feed(&mut d, 0, "battery/279/Dc/0/Voltage", r#"{"max": 1}"#).is_empty());
        assert!(feed(&mut d, 0, "tank/20/Level", r#"{"value": "full"}"#).is_empty());
        assert!(feed(&mut d, 0, "settings/0/Settings/Relay/1/Function", r#"{"value": 2}"#).is_empty());
        // A device leaving the bus: an empty payload, not an error.
        assert!(feed(&mut d, 0, "tank/20/Level", "").is_empty());
        let text = t.render();
        assert!(text.contains(r#"halyard_decode_errors_total{source="venus",kind="bad_json"} 2"#), "{text}");
        assert!(text.contains(r#"halyard_decode_errors_total{source="venus",kind="bad_value"} 1"#), "{text}");
    }
}
