//! Other Bluetooth-to-MQTT gateways — a Shelly's script, an ESP32 running someone else's
//! firmware, a home-made scanner — publish what they hear as JSON in shapes of their own. A
//! `[[ble_json]]` mapping says where the address and the advert are in such a message, and in
//! what form, so Victron's adverts reach the same decoder and keys as the local adapter's:
//!
//! ```toml
//! [[ble_json]]
//! name = "shelly-saloon"              # counters and logs: json:shelly-saloon
//! topics = ["shellies/+/ble"]
//! address = "addr"                    # dotted path; left out: the topic's last level
//! data = "manufacturer_data"          # dotted path to the advert
//! holds = "by_company"                # manufacturer_data | advertisement | by_company
//! encoding = "hex"                    # hex | base64
//! ```
//!
//! `manufacturer_data`: the manufacturer-specific data with the company id first (`e102…`);
//! `advertisement`: the raw advertising data (AD structures, Bluetooth Core Vol 3 Part C §11);
//! `by_company`: an object keyed by company id (`"02e1"`, `"0x02E1"`, `"737"`) whose values are
//! the data after it.

use base64::Engine;
use serde::Deserialize;
use serde_json::Value as Json;

use crate::model::Identity;

/// A Victron advert: the address and the data after the company id.
pub type Advert = ([u8; 6], Vec<u8>);

/// What a mapping's `data` holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Holds {
    /// Manufacturer-specific data, the company id first.
    #[default]
    ManufacturerData,
    /// Raw advertising data.
    Advertisement,
    /// Manufacturer data by company id.
    ByCompany,
}

/// How the bytes are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// Hexadecimal.
    #[default]
    Hex,
    /// Base64 (standard alphabet).
    Base64,
}

/// `[[ble_json]]`: one gateway's message shape.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// A short name: the receiver in counters (`json:<name>`).
    pub name: String,
    /// MQTT topic filters its messages come on (subscribed with the `[mqtt_in]` ones).
    pub topics: Vec<String>,
    /// Dotted path to the address (`addr`, `device.mac`); else the topic's last level.
    #[serde(default)]
    pub address: Option<String>,
    /// Dotted path to the advert.
    pub data: String,
    /// What `data` holds.
    #[serde(default)]
    pub holds: Holds,
    /// How its bytes are written.
    #[serde(default)]
    pub encoding: Encoding,
}

/// Whether `topic` matches the MQTT filter `filter` (`+` one level, `#` the rest).
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let mut t = topic.split('/');
    for f in filter.split('/') {
        match (f, t.next()) {
            ("#", _) => return true,
            ("+", Some(_)) => {}
            (f, Some(level)) if f == level => {}
            _ => return false,
        }
    }
    t.next().is_none()
}

fn at<'a>(json: &'a Json, path: &str) -> Option<&'a Json> {
    path.split('.').try_fold(json, |j, key| j.get(key))
}

impl Mapping {
    /// Whether a message on `topic` is this gateway's.
    pub fn owns(&self, topic: &str) -> bool {
        self.topics.iter().any(|f| topic_matches(f, topic))
    }

    fn bytes(&self, text: &str) -> Option<Vec<u8>> {
        match self.encoding {
            Encoding::Hex => {
                // An odd length or a stray character is refused by the decoder.
                let mut out = vec![0u8; text.len() / 2];
                (halyard_proto::hex::decode_into(text.as_bytes(), &mut out).ok() == Some(out.len())).then_some(out)
            }
            Encoding::Base64 => base64::engine::general_purpose::STANDARD.decode(text).ok(),
        }
    }

    /// Victron's adverts in one message (address, data after the company id), or the kind of
    /// what is wrong with it for the error counter.
    pub fn adverts(&self, topic: &str, payload: &[u8]) -> Result<Vec<Advert>, &'static str> {
        let json: Json = serde_json::from_slice(payload).map_err(|_| "bad_json")?;
        let address = match &self.address {
            Some(path) => at(&json, path).and_then(Json::as_str),
            None => topic.rsplit('/').next(),
        };
        let mac = address.and_then(Identity::parse_mac).ok_or("no_address")?;
        let Some(data) = at(&json, &self.data) else { return Ok(Vec::new()) };
        let victron = halyard_proto::victron::COMPANY_ID;
        let found: Vec<Vec<u8>> = match self.holds {
            Holds::ManufacturerData => {
                let bytes = data.as_str().and_then(|t| self.bytes(t)).ok_or("bad_data")?;
                match bytes.as_slice() {
                    [lo, hi, rest @ ..] if u16::from_le_bytes([*lo, *hi]) == victron && !rest.is_empty() => {
                        vec![rest.to_vec()]
                    }
                    _ => Vec::new(),
                }
            }
            Holds::Advertisement => {
                let bytes = data.as_str().and_then(|t| self.bytes(t)).ok_or("bad_data")?;
                halyard_proto::ble::manufacturer_data(&bytes)
                    .filter(|(company, d)| *company == victron && !d.is_empty())
                    .map(|(_, d)| d.to_vec())
                    .collect()
            }
            Holds::ByCompany => {
                let companies = data.as_object().ok_or("bad_data")?;
                let mut out = Vec::new();
                for (key, value) in companies {
                    if crate::esphome::api::company(key).or_else(|| u16::from_str_radix(key, 16).ok()) == Some(victron)
                    {
                        out.push(value.as_str().and_then(|t| self.bytes(t)).ok_or("bad_data")?);
                    }
                }
                out
            }
        };
        Ok(found.into_iter().map(|d| (mac, d)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0xC0, 0x3B, 0x0A, 0x0B, 0x0C, 0x0D];

    fn mapping(text: &str) -> Mapping {
        toml::from_str(&format!("name = \"gw\"\ntopics = [\"gw/+/ble\", \"scan/#\"]\n{text}")).unwrap()
    }

    #[test]
    fn filters() {
        assert!(topic_matches("gw/+/ble", "gw/saloon/ble"));
        assert!(topic_matches("scan/#", "scan/a/b"));
        assert!(!topic_matches("gw/+/ble", "gw/saloon/ble/x"));
        assert!(!topic_matches("gw/+/ble", "gw/ble"));
        assert!(mapping("data = \"d\"").owns("scan/x"));
    }

    #[test]
    fn three_shapes_of_the_same_advert() {
        // A real BlueSolar MPPT advert (keshavdv/victron-ble tests/test_solar_charger.py).
        let advert = "100242a0016207adceb37b605d7e0ee21b24df5c";
        let bytes: Vec<u8> =
            (0..advert.len()).step_by(2).map(|i| u8::from_str_radix(&advert[i..i + 2], 16).unwrap()).collect();
        let m = mapping("address = \"addr\"\ndata = \"mfd\"");
        let msg = format!(r#"{{"addr":"c0:3b:0a:0b:0c:0d","rssi":-70,"mfd":"e102{advert}"}}"#);
        assert_eq!(m.adverts("gw/x/ble", msg.as_bytes()), Ok(vec![(MAC, bytes.clone())]));

        // Shelly-style: manufacturer data by company id, the address in a nested object.
        let m = mapping("address = \"device.mac\"\ndata = \"manufacturer_data\"\nholds = \"by_company\"");
        let msg =
            format!(r#"{{"device":{{"mac":"C03B0A0B0C0D"}},"manufacturer_data":{{"004c":"1005","02e1":"{advert}"}}}}"#);
        assert_eq!(m.adverts("gw/x/ble", msg.as_bytes()), Ok(vec![(MAC, bytes.clone())]));

        // The raw advertising data in base64, the address from the topic.
        let mut ad = vec![0x02, 0x01, 0x06, bytes.len() as u8 + 3, 0xFF, 0xE1, 0x02];
        ad.extend_from_slice(&bytes);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&ad);
        let m = mapping("data = \"adv\"\nholds = \"advertisement\"\nencoding = \"base64\"");
        let msg = format!(r#"{{"adv":"{b64}"}}"#);
        assert_eq!(m.adverts("scan/C0:3B:0A:0B:0C:0D", msg.as_bytes()), Ok(vec![(MAC, bytes)]));
    }

    #[test]
    fn others_and_garbage() {
        let m = mapping("address = \"addr\"\ndata = \"mfd\"");
        assert_eq!(m.adverts("gw/x/ble", br#"{"addr":"11:22:33:44:55:66","mfd":"4c001005"}"#), Ok(vec![]));
        assert_eq!(m.adverts("gw/x/ble", br#"{"addr":"11:22:33:44:55:66"}"#), Ok(vec![]), "no data: not an advert");
        assert_eq!(m.adverts("gw/x/ble", b"not json"), Err("bad_json"));
        assert_eq!(m.adverts("gw/x/ble", br#"{"mfd":"e10210"}"#), Err("no_address"));
        assert_eq!(m.adverts("gw/x/ble", br#"{"addr":"c03b0a0b0c0d","mfd":"e1021"}"#), Err("bad_data"));
    }
}
