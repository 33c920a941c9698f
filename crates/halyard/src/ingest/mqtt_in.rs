//! MQTT-in: other nodes' raw topics (an ESP32 `halyard-node`, another gateway) → updates, so that
//! their devices join the same model. The raw topics carry what monitorPowerToMQTT published:
//! register numbers with unsigned integer text, text-protocol fields, MasterBus floats.
//!
//! A raw decimal value does not say how many bytes the register has. VE.Direct registers are 8,
//! 16 or 32 bits (ve_regs.h un8/un16/un32/sn16/sn32), so the value is read as 16 bits unless
//! it needs 32, and enumerations as 8 bits unless they need more. A 32-bit register whose
//! value happens to fit in 16 bits decodes the same, except for its "not available" sentinel.

use std::sync::Arc;

use halyard_proto::vedirect::labels;
use halyard_proto::vedirect::registers::{self, Format, RegisterValue};

use crate::model::{push_field, Identity, Metric, Millis, Origin, Reading, Update};
use crate::telemetry::Telemetry;

/// Decoder of raw topics.
pub struct MqttInDecoder {
    telemetry: Arc<Telemetry>,
}

fn register_bytes(register: u16, raw: u32) -> Vec<u8> {
    let small_enum = matches!(registers::lookup(register).map(|r| r.format), Some(Format::Enum(..))) && raw <= 0xFF;
    let width = if small_enum {
        1
    } else if raw <= 0xFFFF {
        2
    } else {
        4
    };
    raw.to_le_bytes()[..width].to_vec()
}

impl MqttInDecoder {
    /// A decoder counting into `telemetry`.
    pub fn new(telemetry: Arc<Telemetry>) -> Self {
        MqttInDecoder { telemetry }
    }

    /// One message. `None` for topics it does not know (counted).
    pub fn message(&mut self, at: Millis, topic: &str, payload: &[u8]) -> Option<Update> {
        self.telemetry.frame("mqtt_in", at);
        let update = decode(at, topic, payload);
        if update.is_none() {
            self.telemetry.inc("halyard_decode_errors_total", &[("source", "mqtt_in"), ("kind", "unknown_topic")]);
        }
        update
    }
}

/// A node's proxied Victron advert, `victron/<mac>/advert` = the manufacturer data in hex
/// (halyard_node_core::topics::Schema::advert_proxy): the address and the bytes, for the BLE
/// decoder and its keys.
pub fn proxied_advert(topic: &str, payload: &[u8]) -> Option<([u8; 6], Vec<u8>)> {
    let mac = topic.strip_prefix("victron/")?.strip_suffix("/advert")?;
    let mac = Identity::parse_mac(mac)?;
    let text = std::str::from_utf8(payload).ok()?.trim();
    let mut data = vec![0u8; text.len() / 2];
    (text.len() % 2 == 0 && halyard_proto::hex::decode_into(text.as_bytes(), &mut data).ok() == Some(data.len()))
        .then_some((mac, data))
}

fn decode(at: Millis, topic: &str, payload: &[u8]) -> Option<Update> {
    let text = std::str::from_utf8(payload).ok()?.trim();
    let levels: Vec<&str> = topic.split('/').collect();
    let mut u = match levels.as_slice() {
        [tree @ ("venetworking" | "vedirect"), serial, reg] if reg.len() == 4 => {
            let register = u16::from_str_radix(reg, 16).ok()?;
            let raw: u32 = text.parse().ok()?;
            let protocol = if *tree == "venetworking" { "venetworking" } else { "vedirect" };
            let mut u = Update::new(at, Identity::Serial((*serial).to_owned()), protocol, protocol);
            if let RegisterValue::Field(f) = registers::decode(register, &register_bytes(register, raw)) {
                push_field(&mut u.metrics, &f);
            }
            u
        }
        ["vedirect", serial, "text", label] => {
            let mut u = Update::new(at, Identity::Serial((*serial).to_owned()), "vedirect", "vedirect");
            let label = if *label == "SER" { "SER#" } else { label };
            if let Some(Ok(f)) = labels::decode(label, text) {
                push_field(&mut u.metrics, &f);
            }
            u
        }
        ["masterbus", device, item] => {
            let device = u32::from_str_radix(device.strip_prefix("0x")?, 16).ok()?;
            let item = u16::from_str_radix(item.strip_prefix("0x")?, 16).ok()?;
            let value = text.parse::<f64>().map_or_else(|_| Reading::Text(text.to_owned()), Reading::Number);
            let mut u = Update::new(at, Identity::MasterBus(device), "masterbus", "masterbus");
            u.metrics.push(Metric { name: format!("item_0x{item:04x}").into(), unit: "".into(), value: Some(value) });
            u
        }
        _ => return None,
    };
    if u.metrics.iter().any(|m| m.name == "panel_power") {
        u.kind = "solar_charger".into();
    }
    u.origin = Origin::MqttIn;
    Some(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_topics_decode_back() {
        let u = decode(0, "venetworking/HQyywwMAEI4/EDBC", b"2338").unwrap();
        assert_eq!(u.metrics[0].name, "panel_power");
        assert_eq!(u.metrics[0].value, Some(Reading::Number(23.38)));
        assert_eq!(u.kind, "solar_charger");
        assert_eq!(u.origin, Origin::MqttIn);
        // Battery current is signed 32-bit mA: -1.5 A arrives as 4294965796.
        let u = decode(0, "venetworking/HQyywwMAEI4/ED8C", b"4294965796").unwrap();
        assert_eq!(u.metrics[0].value, Some(Reading::Number(-1.5)));
        let u = decode(0, "vedirect/HQ1840MAEI4/text/V", b"13880").unwrap();
        assert_eq!(u.metrics[0].value, Some(Reading::Number(13.88)));
        let u = decode(0, "masterbus/0x31297/0x0001", b"13.12").unwrap();
        assert_eq!(u.identity, Identity::MasterBus(0x31297));
        assert!(decode(0, "other/topic", b"1").is_none());
        assert!(decode(0, "venetworking/X/EDBC", b"not a number").is_none());
        assert_eq!(
            proxied_advert("victron/c03b010203ff/advert", b"100242a0"),
            Some(([0xC0, 0x3B, 1, 2, 3, 0xFF], vec![0x10, 0x02, 0x42, 0xA0]))
        );
        assert_eq!(proxied_advert("victron/c03b010203ff/advert", b"100"), None, "odd length");
        assert_eq!(proxied_advert("victron/c03b010203ff/raw", b"1002"), None, "the decrypted payload topic");
    }
}
