//! What a decoder hands the model: values about one device, as read, with the raw register
//! records monitorPowerToMQTT published for them.

use std::borrow::Cow;
use std::fmt;

use halyard_proto::{Field, Value};

/// Milliseconds since the Unix epoch: when a source received the bytes (or, in a replay, when the
/// recording says they were received).
pub type Millis = i64;

/// How a device identified itself on the wire. The registry maps these to friendly names; one
/// physical MPPT can appear under several (its Bluetooth address, its VE.Smart serial, its
/// VE.Direct `SER#`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Identity {
    /// A Bluetooth LE address (Instant Readout adverts), e.g. `C0:3B:12:34:56:78`.
    Mac([u8; 6]),
    /// A Victron serial number: a VE.Direct `SER#` such as `HQ1840MAEI4`, or the `HQyywwMAEI4`
    /// form VE.Smart networking carries (victron.md §3.4: year and week are not on the air).
    Serial(String),
    /// A MasterBus device number, e.g. `0x31297`.
    MasterBus(u32),
    /// A VE.Direct port that has not told its serial number yet (e.g. `ttyUSB0`).
    Port(String),
    /// A Meshtastic node number (`!0dd1e901`).
    Mesh(u32),
    /// A value the model computes, e.g. `solar/network`.
    Derived(String),
    /// A Victron GX's device without a serial number: a tank sender, a temperature input, the
    /// system summary (`tank` instance `20`).
    Gx {
        /// The Venus OS service type (`tank`, `temperature`, `system` …).
        service: String,
        /// Its device instance.
        instance: String,
    },
    /// An NMEA 2000 device by what it is and its instance on the bus (`battery` 1,
    /// `tank-fuel` 0, `engine` 1): the instances are how the bus itself tells them apart.
    N2k {
        /// `battery`, `charger`, `tank-fuel`, `engine` …
        kind: String,
        /// The PGN's instance field.
        instance: u32,
    },
}

impl Identity {
    /// The text used in topics and logs: `c03b12345678`, `HQ1840MAEI4`, `0x31297`, `ttyUSB0`.
    pub fn topic_text(&self) -> String {
        match self {
            Identity::Mac(m) => m.iter().map(|b| format!("{b:02x}")).collect(),
            Identity::Serial(s) | Identity::Port(s) | Identity::Derived(s) => s.clone(),
            Identity::MasterBus(d) => format!("0x{d:05X}"),
            Identity::Mesh(n) => format!("{n:08x}"),
            Identity::Gx { service, instance } if service == "system" && instance == "0" => "gx".to_owned(),
            Identity::Gx { service, instance } => format!("{service}-{instance}"),
            Identity::N2k { kind, instance } => format!("{kind}-{instance}"),
        }
    }

    /// Parse `AA:BB:CC:DD:EE:FF` (or without separators).
    pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
        let digits: String = text.chars().filter(|c| !matches!(c, ':' | '-')).collect();
        let mut mac = [0u8; 6];
        (digits.len() == 12 && halyard_proto::hex::decode_into(digits.as_bytes(), &mut mac).ok() == Some(6))
            .then_some(mac)
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::Mac(m) => {
                write!(f, "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}", m[0], m[1], m[2], m[3], m[4], m[5])
            }
            Identity::Serial(s) => f.write_str(s),
            Identity::MasterBus(d) => write!(f, "MasterBus 0x{d:05X}"),
            Identity::Port(p) => write!(f, "VE.Direct port {p}"),
            Identity::Derived(n) => f.write_str(n),
            Identity::Mesh(n) => write!(f, "Meshtastic !{n:08x}"),
            Identity::Gx { service, instance } => write!(f, "GX {service}/{instance}"),
            Identity::N2k { kind, instance } => write!(f, "NMEA 2000 {kind}/{instance}"),
        }
    }
}

/// A value in the model: a number in its metric's unit, or text (names of states, serials).
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// A number.
    Number(f64),
    /// Text.
    Text(String),
}

impl Reading {
    /// The MQTT payload: shortest round-trip decimal for numbers (13.88, never 13.879999).
    pub fn payload(&self) -> String {
        match self {
            Reading::Number(v) => format!("{v}"),
            Reading::Text(t) => t.clone(),
        }
    }

    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Reading::Number(v) => crate::json::number(*v),
            Reading::Text(t) => t.clone().into(),
        }
    }

    /// The number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Reading::Number(v) => Some(*v),
            Reading::Text(_) => None,
        }
    }
}

/// One named value with its unit (DESIGN.md §4.3: one unit per metric).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// snake_case name in the user's words.
    pub name: Cow<'static, str>,
    /// Unit symbol (`V`, `W`, `kWh`, `%`, `°C` …), empty for none.
    pub unit: Cow<'static, str>,
    /// The value; `None` when the device says "not available".
    pub value: Option<Reading>,
}

impl Metric {
    /// A number.
    pub fn number(name: impl Into<Cow<'static, str>>, unit: impl Into<Cow<'static, str>>, v: f64) -> Self {
        Metric { name: name.into(), unit: unit.into(), value: Some(Reading::Number(v)) }
    }

    /// Text.
    pub fn text(name: impl Into<Cow<'static, str>>, v: impl Into<String>) -> Self {
        Metric { name: name.into(), unit: Cow::Borrowed(""), value: Some(Reading::Text(v.into())) }
    }
}

/// Turn a decoded field into metrics: the value, plus `<name>_name` for enumerations and bit
/// sets (the same shape as `halyard decode`'s JSON).
pub fn push_field(out: &mut Vec<Metric>, field: &Field<'_>) {
    let unit = Cow::Borrowed(field.unit.symbol());
    let name = Cow::Borrowed(field.name);
    match field.value {
        Value::NotAvailable => out.push(Metric { name, unit, value: None }),
        Value::Text(t) => out.push(Metric { name, unit, value: Some(Reading::Text(t.to_owned())) }),
        Value::Enum { raw, table } => {
            out.push(Metric { name, unit, value: Some(Reading::Number(f64::from(raw))) });
            if let Some(n) = table.name(raw) {
                out.push(Metric::text(format!("{}_name", field.name), n));
            }
        }
        Value::Flags { raw, table } => {
            out.push(Metric { name, unit, value: Some(Reading::Number(f64::from(raw))) });
            out.push(Metric::text(format!("{}_name", field.name), crate::json::flag_names(raw, table)));
        }
        v => {
            if let Some(n) = v.as_f64() {
                out.push(Metric { name, unit, value: Some(Reading::Number(n)) });
            }
        }
    }
}

/// A raw topic as monitorPowerToMQTT published it (DESIGN.md §4.2), e.g.
/// `venetworking/HQyywwMAEI4/EDBC` → `2338`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// The full topic.
    pub topic: String,
    /// The payload text.
    pub payload: String,
}

/// Where an update came from: a local source (its raw records are published) or another node
/// through MQTT-in (its raw records are already on the broker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Read by this gateway.
    Local,
    /// Received from another node's raw topics.
    MqttIn,
}

/// Values about one device from one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// Received at.
    pub at: Millis,
    /// Who sent it.
    pub identity: Identity,
    /// What kind of device it says it is (`solar_charger`, `battery_monitor`, `dc_shunt` …).
    pub kind: Cow<'static, str>,
    /// Its product name, when the message names it.
    pub product: Option<String>,
    /// The protocol that carried it, for the device's `via` list.
    pub protocol: &'static str,
    /// Named values.
    pub metrics: Vec<Metric>,
    /// Raw register records.
    pub raw: Vec<RawRecord>,
    /// Local or from MQTT-in.
    pub origin: Origin,
}

impl Update {
    /// An update with no values yet.
    pub fn new(at: Millis, identity: Identity, kind: impl Into<Cow<'static, str>>, protocol: &'static str) -> Self {
        Update {
            at,
            identity,
            kind: kind.into(),
            product: None,
            protocol,
            metrics: Vec::new(),
            raw: Vec::new(),
            origin: Origin::Local,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_shortest_round_trip() {
        assert_eq!(Reading::Number(1388.0 / 100.0).payload(), "13.88");
        assert_eq!(Reading::Number(-0.5).payload(), "-0.5");
        assert_eq!(Reading::Number(42.0).payload(), "42");
    }

    #[test]
    fn identities_print_for_topics() {
        assert_eq!(Identity::Mac([0xC0, 0x3B, 1, 2, 3, 0xFF]).topic_text(), "c03b010203ff");
        assert_eq!(Identity::MasterBus(0x31297).topic_text(), "0x31297");
        assert_eq!(Identity::parse_mac("c0:3b:01:02:03:ff"), Some([0xC0, 0x3B, 1, 2, 3, 0xFF]));
        assert_eq!(Identity::parse_mac("c0:3b:01:02:03"), None);
    }
}
