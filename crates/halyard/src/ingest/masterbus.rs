//! MasterBus CAN frames → updates, through the learning listener of issue 3: each value reply
//! becomes a metric named from the device's own metadata (or the built-in catalog), and the raw
//! topic `masterbus/0x<DEVICE>/0x<ITEM>` monitorPowerToMQTT published.

use std::sync::Arc;

use halyard_proto::can::Received;
use halyard_proto::masterbus::bus::Observation;
use halyard_proto::masterbus::catalog;

use crate::masterbus::{json, Decoded, Listener};
use crate::model::{Identity, Metric, Millis, RawRecord, Reading, Update};
use crate::telemetry::Telemetry;

/// One CAN source's decoder.
pub struct MasterBusDecoder {
    source: String,
    /// The listener (the active client reads what it has learned).
    pub listener: Listener,
    telemetry: Arc<Telemetry>,
}

impl MasterBusDecoder {
    /// For the source named `source` (`slcan:/dev/ttyACM0`).
    pub fn new(source: &str, telemetry: Arc<Telemetry>) -> Self {
        MasterBusDecoder { source: source.to_owned(), listener: Listener::default(), telemetry }
    }

    /// One frame; returns what it decoded too (the active client needs the message).
    pub fn frame(&mut self, timestamp_ns: u64, received: &Received) -> (Decoded, Option<Update>) {
        let t = &self.telemetry;
        t.frame(&self.source, (timestamp_ns / 1_000_000) as Millis);
        let decoded = self.listener.handle(timestamp_ns, received);
        let update = match &decoded {
            Decoded::ErrorFrame(_) => {
                t.inc("halyard_decode_errors_total", &[("source", &self.source), ("kind", "can_error_frame")]);
                None
            }
            Decoded::Unclassified { .. } => {
                t.inc("halyard_decode_errors_total", &[("source", &self.source), ("kind", "not_masterbus")]);
                None
            }
            Decoded::Message { observation: Some(Observation::Reading(r)), .. } => {
                let at = (timestamp_ns / 1_000_000) as Millis;
                let device = r.device();
                t.heard_ok(&Identity::MasterBus(device.0));
                let mut u = Update::new(
                    at,
                    Identity::MasterBus(device.0),
                    catalog::device_kind(r.node.type_code()),
                    "masterbus",
                );
                u.product = self
                    .listener
                    .bus
                    .node(r.node)
                    .and_then(|n| n.name())
                    .or_else(|| catalog::type_name(r.node.type_code()).map(str::to_owned));
                let unit = r.unit.clone().unwrap_or_default();
                let value = match &r.text {
                    Some(text) => Reading::Text(text.clone()),
                    None => Reading::Number(json::float(r.value).as_f64().unwrap_or(f64::from(r.value))),
                };
                let payload = value.payload();
                u.metrics.push(Metric { name: r.metric.clone().into(), unit: unit.into(), value: Some(value) });
                if let Some(option) = &r.option {
                    u.metrics.push(Metric::text(format!("{}_name", r.metric), option.clone()));
                }
                u.raw.push(RawRecord { topic: format!("masterbus/{device}/0x{:04X}", r.item), payload });
                Some(u)
            }
            Decoded::Message { .. } => None,
        };
        (decoded, update)
    }

    /// A record a capture reader or transport could not use.
    pub fn bad_record(&mut self) {
        self.listener.counters.bad_records += 1;
        self.telemetry.inc("halyard_decode_errors_total", &[("source", &self.source), ("kind", "bad_record")]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real capture of a MasterShunt answering a MasterView (volts_amps_only.pcap).
    #[test]
    fn shunt_capture_gives_battery_voltage_and_raw_topics() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../halyard-proto/tests/fixtures/masterbus/volts_amps_only.pcap"
        ))
        .unwrap();
        let t = Arc::new(Telemetry::default());
        let mut d = MasterBusDecoder::new("file", t);
        let mut updates = Vec::new();
        for r in crate::sources::can::file::stream(&bytes[..]).unwrap() {
            let r = r.unwrap();
            if let (_, Some(u)) = d.frame(r.timestamp_ns, &r.received) {
                updates.push(u);
            }
        }
        assert!(!updates.is_empty());
        let u = updates.iter().find(|u| u.metrics[0].name == "battery_voltage").expect("a battery voltage");
        assert_eq!(u.kind, "dc_shunt");
        assert_eq!(u.identity, Identity::MasterBus(0x31297));
        assert_eq!(u.raw[0].topic, "masterbus/0x31297/0x0001");
        let v: f64 = u.raw[0].payload.parse().unwrap();
        assert!((10.0..16.0).contains(&v), "{v}");
    }
}
