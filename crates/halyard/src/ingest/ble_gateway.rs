//! Adverts heard by Bluetooth-to-MQTT gateways people already run around a boat or a house:
//! OpenMQTTGateway and Theengs Gateway publish every advertisement they hear as JSON on
//! `<base>/BTtoMQTT/<MAC>` — `{"id":"C0:3B:…","rssi":-70,"manufacturerdata":"e102…",…}`, the
//! manufacturer data in hex with the company identifier first, little-endian (Victron's 0x02E1
//! reads `e102`). Subscribed with `[mqtt_in] topics = ["home/+/BTtoMQTT/#"]`, Victron's adverts
//! go to the same decoder and keys as the local adapter's; everybody else's are left alone.

use serde_json::Value as Json;

use crate::model::Identity;

/// What a gateway's message held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A Victron advert: the address and the manufacturer data (company identifier included).
    Victron {
        /// Bluetooth address.
        mac: [u8; 6],
        /// Manufacturer data, `E1 02` first.
        data: Vec<u8>,
        /// Signal strength as the gateway heard it, dBm.
        rssi: Option<i8>,
    },
    /// Another maker's device, or an advert without manufacturer data.
    Other,
    /// A message that is not what the gateways publish (the kind, for the error counter).
    Bad(&'static str),
}

/// Victron Energy's Bluetooth company identifier, as it appears on the air (little-endian).
const VICTRON: [u8; 2] = [0xE1, 0x02];

/// `None` when the topic is not a gateway's advert topic.
pub fn heard(topic: &str, payload: &[u8]) -> Option<Heard> {
    let mut levels = topic.rsplit('/');
    let (last, marker) = (levels.next()?, levels.next()?);
    if marker != "BTtoMQTT" {
        return None;
    }
    let Ok(json) = serde_json::from_slice::<Json>(payload) else { return Some(Heard::Bad("bad_json")) };
    let Some(fields) = json.as_object() else { return Some(Heard::Bad("bad_json")) };
    // The address is in `id`; the topic's last level has it too, without separators.
    let mac =
        fields.get("id").and_then(Json::as_str).and_then(Identity::parse_mac).or_else(|| Identity::parse_mac(last));
    let Some(mac) = mac else { return Some(Heard::Bad("no_address")) };
    let Some(hex) = fields.get("manufacturerdata") else { return Some(Heard::Other) };
    let Some(hex) = hex.as_str() else { return Some(Heard::Bad("bad_manufacturer_data")) };
    // An odd length or a stray character is refused by the decoder.
    let mut data = vec![0u8; hex.len() / 2];
    if halyard_proto::hex::decode_into(hex.as_bytes(), &mut data).is_err() {
        return Some(Heard::Bad("bad_manufacturer_data"));
    }
    let rssi = fields.get("rssi").and_then(Json::as_i64).and_then(|r| i8::try_from(r).ok());
    Some(if data.starts_with(&VICTRON) && data.len() > 2 { Heard::Victron { mac, data, rssi } } else { Heard::Other })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0xC0, 0x3B, 0x01, 0x02, 0x03, 0xFF];

    #[test]
    fn openmqttgateway_and_theengs_messages() {
        let omg =
            br#"{"id":"C0:3B:01:02:03:FF","mac_type":0,"adv_type":0,"manufacturerdata":"e1021000a0a2","rssi":-71}"#;
        assert_eq!(
            heard("home/OpenMQTTGateway/BTtoMQTT/C03B010203FF", omg),
            Some(Heard::Victron { mac: MAC, data: vec![0xE1, 0x02, 0x10, 0x00, 0xA0, 0xA2], rssi: Some(-71) })
        );
        // Theengs adds what it decoded; upper-case hex; the address only in the topic.
        let theengs = br#"{"rssi":-60,"manufacturerdata":"E1021000A0A2","brand":"Victron"}"#;
        assert!(matches!(
            heard("home/TheengsGateway/BTtoMQTT/c03b010203ff", theengs),
            Some(Heard::Victron { mac: MAC, .. })
        ));
        // Somebody else's phone, a beacon without manufacturer data.
        let apple = br#"{"id":"11:22:33:44:55:66","manufacturerdata":"4c0010050b1c","rssi":-80}"#;
        assert_eq!(heard("home/OpenMQTTGateway/BTtoMQTT/112233445566", apple), Some(Heard::Other));
        let beacon = br#"{"id":"11:22:33:44:55:66","servicedata":"0201","rssi":-80}"#;
        assert_eq!(heard("home/OpenMQTTGateway/BTtoMQTT/112233445566", beacon), Some(Heard::Other));
    }

    #[test]
    fn what_is_not_a_gateway_advert() {
        assert_eq!(heard("victron/c03b010203ff/advert", b"1000a0"), None);
        assert_eq!(heard("home/OpenMQTTGateway/LWT", b"online"), None);
        let at = "home/OpenMQTTGateway/BTtoMQTT/C03B010203FF";
        assert_eq!(heard(at, b"online"), Some(Heard::Bad("bad_json")));
        assert_eq!(heard(at, b"[1,2]"), Some(Heard::Bad("bad_json")));
        assert_eq!(heard("x/BTtoMQTT/nomac", br#"{"manufacturerdata":"e10210"}"#), Some(Heard::Bad("no_address")));
        assert_eq!(heard(at, br#"{"manufacturerdata":"e1021"}"#), Some(Heard::Bad("bad_manufacturer_data")));
        assert_eq!(heard(at, br#"{"manufacturerdata":"e102zz"}"#), Some(Heard::Bad("bad_manufacturer_data")));
        assert_eq!(heard(at, br#"{"manufacturerdata":12}"#), Some(Heard::Bad("bad_manufacturer_data")));
        assert_eq!(heard(at, br#"{"manufacturerdata":"e102"}"#), Some(Heard::Other), "nothing after the company");
    }
}
