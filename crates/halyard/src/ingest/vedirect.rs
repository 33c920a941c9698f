//! VE.Direct serial bytes → updates: text blocks (used only when their checksum is valid, as
//! Victron's implementation guideline asks, vedirect-3.34.pdf p.17) and HEX register messages.

use std::sync::Arc;

use halyard_proto::vedirect::hex::{Frame, Message};
use halyard_proto::vedirect::labels;
use halyard_proto::vedirect::registers::{self, RegisterValue};
use halyard_proto::vedirect::text::{Block, BlockStatus, Event, TextFramer};

use crate::model::{push_field, Identity, Millis, RawRecord, Update};
use crate::telemetry::Telemetry;

/// Blocks held back while waiting for the device's `SER#`, so that a device is not first
/// known by its port and then by its serial (battery monitors send `SER#` in their second block).
const HOLD_BLOCKS: usize = 3;

/// One port's decoder.
pub struct VeDirectDecoder {
    port: String,
    framer: TextFramer,
    serial: Option<String>,
    product: Option<String>,
    held: Vec<Update>,
    telemetry: Arc<Telemetry>,
}

impl VeDirectDecoder {
    /// For the port named `port` (`ttyUSB0`).
    pub fn new(port: &str, telemetry: Arc<Telemetry>) -> Self {
        VeDirectDecoder {
            port: port.to_owned(),
            framer: TextFramer::new(),
            serial: None,
            product: None,
            held: Vec::new(),
            telemetry,
        }
    }

    /// Forget a partial block (the port was reopened: what follows is not its continuation).
    pub fn reset(&mut self) {
        self.framer = TextFramer::new();
    }

    /// Bytes as read from the port.
    pub fn feed(&mut self, at: Millis, bytes: &[u8], out: &mut Vec<Update>) {
        let mut events = Vec::new();
        self.framer.push_all(bytes, |e| events.push(self::owned(&e)));
        for e in events {
            self.telemetry.frame(&self.port, at);
            match &e {
                Owned::BadBlock(kind) => self.telemetry.heard_error(&self.identity(), kind),
                Owned::Hex(Err(())) => self.telemetry.heard_error(&self.identity(), "hex_checksum"),
                _ => self.telemetry.heard_ok(&self.identity()),
            }
            match e {
                Owned::Block(fields) => self.block(at, &fields, out),
                Owned::BadBlock(kind) => self.error(kind),
                Owned::Hex(Ok(frame)) => self.hex(at, &frame, out),
                Owned::Hex(Err(())) => self.error("hex_checksum"),
            }
        }
    }

    fn error(&self, kind: &str) {
        self.telemetry.inc("halyard_decode_errors_total", &[("source", &self.port), ("kind", kind)]);
    }

    fn identity(&self) -> Identity {
        match &self.serial {
            Some(s) => Identity::Serial(s.clone()),
            None => Identity::Port(self.port.clone()),
        }
    }

    fn topic_id(&self) -> String {
        self.serial.clone().unwrap_or_else(|| self.port.clone())
    }

    fn block(&mut self, at: Millis, fields: &[(String, String)], out: &mut Vec<Update>) {
        for (label, value) in fields {
            if label == "SER#" && !value.is_empty() {
                self.serial = Some(value.clone());
            }
        }
        let mut u = Update::new(at, Identity::Port(String::new()), "vedirect", "vedirect");
        for (label, value) in fields {
            match labels::decode(label, value) {
                Some(Ok(field)) => {
                    if field.name == "product_id" {
                        if let Some(id) = field.value.as_f64() {
                            self.product = halyard_proto::victron::product_name(id as u16).map(str::to_owned);
                        }
                    }
                    push_field(&mut u.metrics, &field);
                }
                Some(Err(_)) => self.error("bad_value"),
                None => {}
            }
            u.raw.push(RawRecord {
                topic: format!("vedirect/{{id}}/text/{}", topic_label(label)),
                payload: value.clone(),
            });
        }
        u.kind = halyard_node_core::topics::vedirect_kind(|n| u.metrics.iter().any(|m| m.name == n)).into();
        self.emit(u, out);
    }

    fn hex(&mut self, at: Millis, frame: &Frame, out: &mut Vec<Update>) {
        let Ok(Message::Register { register, flags, value, .. }) = frame.message() else { return };
        if flags != 0 {
            return;
        }
        let mut u = Update::new(at, Identity::Port(String::new()), "vedirect", "vedirect");
        if value.len() <= 4 && !value.is_empty() {
            let raw = value.iter().rev().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
            u.raw.push(RawRecord { topic: format!("vedirect/{{id}}/{register:04X}"), payload: raw.to_string() });
        }
        match registers::decode(register, value) {
            RegisterValue::Field(f) => push_field(&mut u.metrics, &f),
            RegisterValue::HistoryDay { days_ago: 0, day } => {
                for f in day.fields() {
                    push_field(&mut u.metrics, &f);
                }
            }
            _ => {}
        }
        if !u.metrics.is_empty() || !u.raw.is_empty() {
            self.emit(u, out);
        }
    }

    /// Hand out an update once the device's identity is settled.
    fn emit(&mut self, u: Update, out: &mut Vec<Update>) {
        self.held.push(u);
        if self.serial.is_none() && self.held.len() < HOLD_BLOCKS {
            return;
        }
        let identity = self.identity();
        let id = self.topic_id();
        for mut u in self.held.drain(..) {
            u.identity = identity.clone();
            u.product = self.product.clone();
            for r in &mut u.raw {
                r.topic = r.topic.replace("{id}", &id);
            }
            out.push(u);
        }
    }
}

/// A text label as a topic level. `#` and `+` are MQTT wildcards, which a published topic must
/// not contain (MQTT 3.1.1 §4.7.1), so `SER#` is published as `vedirect/<SERIAL>/text/SER`.
pub fn topic_label(label: &str) -> String {
    label.chars().filter(|c| !matches!(c, '#' | '+' | '/')).collect()
}

/// An event copied out of the framer's buffer.
enum Owned {
    Block(Vec<(String, String)>),
    BadBlock(&'static str),
    Hex(Result<Frame, ()>),
}

fn owned(e: &Event<'_>) -> Owned {
    match e {
        Event::Block { block, status: BlockStatus::Valid } => Owned::Block(fields(block)),
        Event::Block { status: BlockStatus::ChecksumMismatch { .. }, .. } => Owned::BadBlock("text_checksum"),
        Event::Block { status: BlockStatus::Partial, .. } => Owned::BadBlock("partial_block"),
        Event::BlockTooLong => Owned::BadBlock("block_too_long"),
        Event::Hex(Ok(f)) => Owned::Hex(Ok(*f)),
        Event::Hex(Err(_)) => Owned::Hex(Err(())),
    }
}

fn fields(block: &Block<'_>) -> Vec<(String, String)> {
    block.fields().map(|f| (f.label.to_owned(), f.value.to_owned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/../halyard-proto/tests/fixtures/vedirect/{name}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
    }

    /// Real SmartSolar 100/20 text dump (karioja/vedirect test data).
    #[test]
    fn smartsolar_dump_names_the_device_by_serial() {
        let t = Arc::new(Telemetry::default());
        let mut d = VeDirectDecoder::new("ttyUSB0", t.clone());
        let mut out = Vec::new();
        d.feed(0, &fixture("karioja_smartsolar_1.39.dump"), &mut out);
        assert!(!out.is_empty());
        let serial = match &out[0].identity {
            Identity::Serial(s) => s.clone(),
            other => panic!("first update is known by {other:?}"),
        };
        assert!(out.iter().all(|u| u.identity == Identity::Serial(serial.clone())));
        assert!(out.iter().any(|u| u.kind == "solar_charger"));
        let ser = out[0].raw.iter().find(|r| r.topic.ends_with("/text/SER")).expect("SER# raw topic");
        assert_eq!(ser.topic, format!("vedirect/{serial}/text/SER"));
        assert_eq!(ser.payload, serial);
        assert!(out[0].metrics.iter().any(|m| m.name == "panel_power"));
    }

    /// Okm165/ve_direct's stream with a placeholder checksum: counted, never used.
    #[test]
    fn bad_checksums_are_counted_not_used() {
        let t = Arc::new(Telemetry::default());
        let mut d = VeDirectDecoder::new("ttyS1", t.clone());
        let mut out = Vec::new();
        d.feed(0, &fixture("okm165_ve_direct_bmv700_with_hex_fragment.bin"), &mut out);
        let errors = t.total("halyard_decode_errors_total");
        assert!(errors >= 1.0, "{}", t.render());
    }

    /// Real HEX async lines (pmarches/vedirect-hex-parser): `:ABCED002209000077` is 0xEDBC = 23.38 W.
    #[test]
    fn hex_registers_become_raw_topics() {
        let t = Arc::new(Telemetry::default());
        let mut d = VeDirectDecoder::new("ttyUSB1", t);
        let mut out = Vec::new();
        let mut bytes = Vec::new();
        for _ in 0..HOLD_BLOCKS {
            bytes.extend_from_slice(b":ABCED002209000077\n");
        }
        d.feed(0, &bytes, &mut out);
        assert_eq!(out.len(), HOLD_BLOCKS);
        assert_eq!(out[0].raw[0].topic, "vedirect/ttyUSB1/EDBC");
        assert_eq!(out[0].raw[0].payload, "2338");
        assert_eq!(out[0].metrics[0].value.as_ref().and_then(|v| v.as_f64()), Some(23.38));
    }
}
