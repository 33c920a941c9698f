//! Victron BLE advertisements (manufacturer data of company 0x02E1) → updates: Instant Readout
//! records (AES-CTR, one key per device) and VE.Smart networking register broadcasts (AES-CCM,
//! one key per network). Everything after "advert bytes + address + time" lives here, so the
//! replay tests cover all of it; the BlueZ source only delivers those three things.

use std::collections::HashSet;
use std::sync::Arc;

use halyard_proto::vedirect::registers::{self, RegisterValue};
use halyard_proto::victron::instant_readout::{Advertisement, Error as IrError, PRODUCT_ADVERTISEMENT};
use halyard_proto::victron::smart_networking::{Event, Network, Rejection};

use crate::json::hex;
use crate::model::{push_field, Identity, KeyRing, Millis, RawRecord, Update};
use crate::telemetry::Telemetry;

/// VE.Smart registers monitorPowerToMQTT did not publish as raw topics (victron.md §3.3).
const NOT_PUBLISHED: [u16; 2] = [0x0100, 0x0102];

/// Decodes adverts from every Victron device in range.
pub struct BleDecoder {
    keys: KeyRing,
    network: Option<Network>,
    telemetry: Arc<Telemetry>,
    told: HashSet<(u8, [u8; 6])>,
    /// Why the advert being handled could not be used (for the per-address counters).
    failed: std::cell::Cell<Option<&'static str>>,
}

impl BleDecoder {
    /// With the configured keys and network.
    pub fn new(keys: KeyRing, network: Option<Network>, telemetry: Arc<Telemetry>) -> Self {
        BleDecoder { keys, network, telemetry, told: HashSet::new(), failed: Default::default() }
    }

    fn error(&self, kind: &'static str) {
        self.telemetry.inc("halyard_decode_errors_total", &[("source", "ble"), ("kind", kind)]);
        self.failed.set(Some(kind));
    }

    /// Say something about a device once (not on every advert, several per second).
    fn once(&mut self, what: u8, mac: [u8; 6]) -> bool {
        self.told.insert((what, mac))
    }

    /// One advertisement's manufacturer data (after the company id; a leading `E1 02` is accepted).
    pub fn advert(&mut self, at: Millis, mac: [u8; 6], data: &[u8]) -> Option<Update> {
        self.telemetry.frame("ble", at);
        let body = match data {
            [0xE1, 0x02, rest @ ..] => rest,
            _ => data,
        };
        self.failed.set(None);
        let update = match body.first() {
            Some(&PRODUCT_ADVERTISEMENT) => self.instant_readout(at, mac, body),
            Some(0x01 | 0x02) => self.venetworking(at, mac, body),
            _ => {
                self.error("unknown_record");
                None
            }
        };
        let id = Identity::Mac(mac);
        match self.failed.take() {
            Some(kind) => self.telemetry.heard_error(&id, kind),
            None => self.telemetry.heard_ok(&id),
        }
        update
    }

    fn instant_readout(&mut self, at: Millis, mac: [u8; 6], body: &[u8]) -> Option<Update> {
        let advert = match Advertisement::parse(body) {
            Ok(a) => a,
            Err(e) => {
                self.error("malformed");
                tracing::debug!("{}: {e}", Identity::Mac(mac));
                return None;
            }
        };
        let Some(key) = self.keys.get(&mac) else {
            self.error("no_key");
            if self.once(0, mac) {
                tracing::info!(
                    "Victron {} ({}) is in range; add its Instant Readout key to decode it",
                    Identity::Mac(mac),
                    halyard_proto::victron::product_name(advert.model_id).unwrap_or("unknown product")
                );
            }
            return None;
        };
        let record = match advert.decrypt_with(key) {
            Ok(r) => r,
            Err(e @ IrError::KeyMismatch { .. }) => {
                self.error("key_mismatch");
                if self.once(1, mac) {
                    tracing::warn!("{}: {e}; check the key configured for it", Identity::Mac(mac));
                }
                return None;
            }
            Err(e) => {
                self.error("malformed");
                tracing::debug!("{}: {e}", Identity::Mac(mac));
                return None;
            }
        };
        let mut u = Update::new(at, Identity::Mac(mac), record.record_type().name(), "instant_readout");
        u.product = record.product_name().map(str::to_owned);
        for f in record.fields() {
            push_field(&mut u.metrics, &f);
        }
        u.raw.push(RawRecord {
            topic: format!("victron/{}/raw", Identity::Mac(mac).topic_text()),
            payload: hex(record.payload()),
        });
        Some(u)
    }

    fn venetworking(&mut self, at: Millis, mac: [u8; 6], body: &[u8]) -> Option<Update> {
        let Some(network) = &mut self.network else {
            self.error("no_network_key");
            if self.told.insert((2, [0; 6])) {
                tracing::info!("VE.Smart networking broadcasts are in range; configure [venetworking] to decode them");
            }
            return None;
        };
        let event = network.handle(body);
        let (telemetry, failed) = (&self.telemetry, &self.failed);
        let error = |kind: &'static str| {
            telemetry.inc("halyard_decode_errors_total", &[("source", "ble"), ("kind", kind)]);
            failed.set(Some(kind));
        };
        match event {
            Ok(Event::OverflowAuthenticated { .. }) => None,
            Ok(Event::ProductAdvertisement(_)) => None,
            Ok(Event::Data { serial, cleartext }) => {
                let text = serial.to_text();
                let mut u = Update::new(at, Identity::Serial(text.as_str().to_owned()), "venetworking", "venetworking");
                for record in cleartext.records() {
                    let Ok(record) = record else {
                        error("malformed_cleartext");
                        break;
                    };
                    if let Some(raw) = record.raw_u32() {
                        if !NOT_PUBLISHED.contains(&record.register) {
                            u.raw.push(RawRecord {
                                topic: format!("venetworking/{}/{:04X}", text.as_str(), record.register),
                                payload: raw.to_string(),
                            });
                        }
                    }
                    if let RegisterValue::Field(f) = registers::decode(record.register, record.value) {
                        if f.name == "product_id" {
                            if let Some(id) = f.value.as_f64() {
                                u.product = halyard_proto::victron::product_name(id as u16).map(str::to_owned);
                            }
                        }
                        push_field(&mut u.metrics, &f);
                    }
                }
                if u.metrics.iter().any(|m| m.name == "panel_power") {
                    u.kind = "solar_charger".into();
                }
                Some(u)
            }
            Err(Rejection::OtherNetwork { .. }) => {
                error("other_network");
                None
            }
            Err(Rejection::AuthenticationFailed { serial, .. }) => {
                error("auth_failed");
                if self.told.insert((3, [0, 0, serial.0[0], serial.0[1], serial.0[2], serial.0[3]])) {
                    tracing::warn!(
                        "VE.Smart message from {} (via {}) does not authenticate: wrong network key or id?",
                        serial.to_text(),
                        Identity::Mac(mac)
                    );
                }
                None
            }
            Err(Rejection::NoOverflowCounter { .. }) => {
                error("waiting_for_overflow");
                None
            }
            Err(_) => {
                error("malformed");
                None
            }
        }
    }
}

/// The metric names of an update, for tests.
#[cfg(test)]
fn names(u: &Update) -> Vec<&str> {
    u.metrics.iter().map(|m| m.name.as_ref()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(hex: &str) -> crate::config::Key {
        crate::config::Key(crate::keys::parse_key("k", hex).unwrap())
    }

    /// Real capture with its published key: keshavdv/victron-ble tests/test_solar_charger.py
    /// (halyard-proto/tests/fixtures/victron-ble/vectors.json), a BlueSolar MPPT 75/15 at 13.88 V.
    #[test]
    fn instant_readout_with_and_without_the_key() {
        let data = crate::decode::parse_hex("advert", "100242a0016207adceb37b605d7e0ee21b24df5c").unwrap();
        let mac = [0xC0, 0x3B, 1, 2, 3, 4];
        let t = Arc::new(Telemetry::default());
        let devices = vec![crate::config::Device {
            name: "port".into(),
            mac: Some(mac),
            key: Some(key("adeccb947395801a4dd45a2eaa44bf17")),
            ..Default::default()
        }];
        let mut d = BleDecoder::new(KeyRing::new(&devices), None, t.clone());
        let u = d.advert(5, mac, &data).expect("decrypts");
        assert_eq!(u.kind, "solar_charger");
        assert!(names(&u).contains(&"solar_power"), "{:?}", names(&u));
        let expected = 13.88;
        let got = u.metrics.iter().find(|m| m.name == "battery_voltage").unwrap().value.clone().unwrap();
        assert_eq!(got.as_f64(), Some(expected));
        assert_eq!(u.raw[0].topic, "victron/c03b01020304/raw");

        let other = [0xC0, 0x3B, 9, 9, 9, 9];
        assert!(d.advert(6, other, &data).is_none());
        assert_eq!(t.get("halyard_decode_errors_total", &[("source", "ble"), ("kind", "no_key")]), 1.0);

        let wrong = vec![crate::config::Device {
            name: "x".into(),
            mac: Some(mac),
            key: Some(key("ff0102030405060708090a0b0c0d0e0f")),
            ..Default::default()
        }];
        let mut d = BleDecoder::new(KeyRing::new(&wrong), None, t.clone());
        assert!(d.advert(7, mac, &data).is_none());
        assert_eq!(t.get("halyard_decode_errors_total", &[("source", "ble"), ("kind", "key_mismatch")]), 1.0);
    }

    /// Synthetic vectors of shared/data/venetworking (victron.md §3.5).
    #[test]
    fn venetworking_registers_become_raw_topics_and_metrics() {
        let t = Arc::new(Telemetry::default());
        let net = Network::new(*b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f", [0x01, 0x0A]);
        let mut d = BleDecoder::new(KeyRing::default(), Some(net), t.clone());
        let mac = [1, 2, 3, 4, 5, 6];
        let op1 = crate::decode::parse_hex("m", "e1020101ec259a992a00000003008038e61f").unwrap();
        let op2 = crate::decode::parse_hex("m", "e1020201ec259a992b0000005ab92d06c7f403f2f7c24507684adf73").unwrap();
        assert!(d.advert(1, mac, &op2).is_none(), "no overflow counter yet");
        assert!(d.advert(2, mac, &op1).is_none());
        let u = d.advert(3, mac, &op2).expect("data");
        assert_eq!(u.identity, Identity::Serial("HQyywwMAEI4".into()));
        let raw: Vec<(&str, &str)> = u.raw.iter().map(|r| (r.topic.as_str(), r.payload.as_str())).collect();
        assert_eq!(raw, [("venetworking/HQyywwMAEI4/2027", "123456"), ("venetworking/HQyywwMAEI4/200C", "5")]);
        let power = u.metrics.iter().find(|m| m.name == "network_panel_power").unwrap();
        assert_eq!(power.value.as_ref().and_then(|v| v.as_f64()), Some(1234.56));
        assert_eq!(t.get("halyard_decode_errors_total", &[("source", "ble"), ("kind", "waiting_for_overflow")]), 1.0);
    }
}
