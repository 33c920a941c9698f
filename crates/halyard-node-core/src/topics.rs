//! The MQTT schema the node shares with the gateway (DESIGN.md §4.2): what a Victron advert, a
//! MasterBus frame or a VE.Direct text block becomes — monitorPowerToMQTT's raw topics and the
//! human-readable `<root>/<device>/<metric>` topics, named as the gateway names them
//! (`<kind>-<identity>` until the user gives a name). Only changed values go out, as on the
//! gateway; [`Schema::refresh`] forgets them so everything is sent again after a reconnect.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use halyard_proto::masterbus::bus::{Bus, Observation};
use halyard_proto::masterbus::catalog;
use halyard_proto::vedirect::labels;
use halyard_proto::vedirect::registers::{self, RegisterValue};
use halyard_proto::vedirect::text::{Block, BlockStatus, Event as TextEvent, TextFramer};
use halyard_proto::victron::instant_readout::{Advertisement, Key, PRODUCT_ADVERTISEMENT};
use halyard_proto::victron::smart_networking::{serials_match, Event, Network};
use halyard_proto::{Field, Value};

/// VE.Smart registers monitorPowerToMQTT did not publish as raw topics (victron.md §3.3).
const NOT_PUBLISHED: [u16; 2] = [0x0100, 0x0102];
/// Values remembered for change detection, at most (then everything counts as changed).
const REMEMBERED: usize = 1024;

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Out {
    /// Topic.
    pub topic: String,
    /// Payload text.
    pub payload: String,
    /// Retained (the human-readable topics are, raw ones are not).
    pub retain: bool,
}

/// Why an advert or frame gave nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// Not a Victron advert (wrong first byte).
    NotVictron,
    /// Malformed.
    Malformed,
    /// No key configured for this device.
    NoKey,
    /// The key does not match (the advert's key-check byte).
    WrongKey,
    /// VE.Smart networking: no network key, another network, or not authenticated.
    Network,
    /// Decoded, nothing new.
    Nothing,
}

/// The schema: the topic root, the names the user gave, which trees are on, and the last
/// payload of every human-readable topic.
#[derive(Debug, Clone)]
pub struct Schema {
    /// Topic root (`halyard`).
    pub root: String,
    /// Identity text (`c03b010203ff`, `HQ2231ABCDE`, `0x31297`) → device name.
    pub names: BTreeMap<String, String>,
    /// Identity text → role (`battery`, `dump_load`, `solar`), as in the gateway's devices.
    pub roles: BTreeMap<String, String>,
    /// monitorPowerToMQTT's raw trees.
    pub raw: bool,
    last: BTreeMap<String, String>,
    /// Each device's latest numbers, for the derived power.
    numbers: BTreeMap<String, BTreeMap<String, f64>>,
    /// VE.Smart senders known to be solar chargers.
    solar_serials: Vec<String>,
}

impl Schema {
    /// Under `root`, raw topics on.
    pub fn new(root: &str) -> Self {
        Schema {
            root: root.into(),
            names: BTreeMap::new(),
            roles: BTreeMap::new(),
            raw: true,
            last: BTreeMap::new(),
            numbers: BTreeMap::new(),
            solar_serials: Vec::new(),
        }
    }

    /// Send every value again (after a reconnect).
    pub fn refresh(&mut self) {
        self.last.clear();
    }

    fn lookup<'a>(map: &'a BTreeMap<String, String>, identity: &str) -> Option<&'a String> {
        map.get(identity).or_else(|| map.iter().find(|(k, _)| serials_match(k, identity)).map(|(_, v)| v))
    }

    /// Watts from a voltage and a current the update touched ([`crate::derive::power_rule`]).
    fn derive_power(&mut self, out: &mut Vec<Out>, device: &str, kind: &str, identity: &str, touched: &[&str]) {
        let role = Self::lookup(&self.roles, identity).cloned();
        let Some(rule) = crate::derive::power_rule(kind, role.as_deref()) else { return };
        if !touched.iter().any(|t| rule.volts.contains(t) || rule.amps.contains(t)) {
            return;
        }
        let Some(values) = self.numbers.get(device) else { return };
        let latest = |names: &[&str]| names.iter().find_map(|n| values.get(*n).copied());
        if let (Some(v), Some(i)) = (latest(rule.volts), latest(rule.amps)) {
            self.named(out, device, rule.metric, format!("{}", crate::derive::round(v * i, 1)));
        }
    }

    /// The device's name: the configured one, else `<kind>-<identity>`. A VE.Smart serial
    /// (`HQyywwPORT1`) finds the name given to the full serial (`HQ2232PORT1`), as on the gateway.
    pub fn device_name(&self, kind: &str, identity: &str) -> String {
        Self::lookup(&self.names, identity).cloned().unwrap_or_else(|| format!("{kind}-{identity}"))
    }

    fn named(&mut self, out: &mut Vec<Out>, device: &str, metric: &str, payload: String) {
        let topic = format!("{}/{device}/{metric}", self.root);
        if self.last.get(&topic) == Some(&payload) {
            return;
        }
        if self.last.len() >= REMEMBERED {
            self.last.clear();
        }
        self.last.insert(topic.clone(), payload.clone());
        out.push(Out { topic, payload, retain: true });
    }

    /// A decoded field as the gateway publishes it: numbers in their unit, enumerations and bit
    /// sets as their raw number plus `<field>_name`; "not available" publishes nothing.
    pub fn field(&mut self, out: &mut Vec<Out>, device: &str, field: &Field<'_>) {
        match field.value {
            Value::NotAvailable => {}
            Value::Text(t) => self.named(out, device, field.name, t.to_string()),
            Value::Enum { raw, table } => {
                self.named(out, device, field.name, format!("{}", f64::from(raw)));
                if let Some(n) = table.name(raw) {
                    self.named(out, device, &format!("{}_name", field.name), n.to_string());
                }
            }
            Value::Flags { raw, table } => {
                self.named(out, device, field.name, format!("{}", f64::from(raw)));
                let mut names: Vec<String> = table.names(raw).map(ToString::to_string).collect();
                let unknown = table.unknown_bits(raw);
                if unknown != 0 {
                    names.push(format!("0x{unknown:X}"));
                }
                let text = if names.is_empty() { "none".to_string() } else { names.join("|") };
                self.named(out, device, &format!("{}_name", field.name), text);
            }
            v => {
                if let Some(n) = v.as_f64() {
                    self.named(out, device, field.name, format!("{n}"));
                }
            }
        }
        if let Some(n) = field.value.as_f64() {
            self.numbers.entry(device.into()).or_default().insert(field.name.into(), n);
        }
    }

    /// An Instant Readout advert (manufacturer data after the company id) from `mac`.
    pub fn instant_readout(&mut self, mac: [u8; 6], data: &[u8], key: Option<&Key>) -> Result<Vec<Out>, Skipped> {
        let advert = Advertisement::parse(data).map_err(|_| Skipped::Malformed)?;
        let key = key.ok_or(Skipped::NoKey)?;
        let record = advert.decrypt_with(key).map_err(|e| match e {
            halyard_proto::victron::instant_readout::Error::KeyMismatch { .. } => Skipped::WrongKey,
            _ => Skipped::Malformed,
        })?;
        let identity: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        let mut out = Vec::new();
        if self.raw {
            let hex: String = record.payload().iter().map(|b| format!("{b:02x}")).collect();
            out.push(Out { topic: format!("victron/{identity}/raw"), payload: hex, retain: false });
        }
        let kind = record.record_type().name();
        let device = self.device_name(kind, &identity);
        let mut touched = Vec::new();
        for f in record.fields() {
            self.field(&mut out, &device, &f);
            touched.push(f.name);
        }
        self.derive_power(&mut out, &device, kind, &identity, &touched);
        Ok(out)
    }

    /// A VE.Smart networking broadcast, through the network's state machine.
    pub fn venetworking(&mut self, network: &mut Network, data: &[u8]) -> Result<Vec<Out>, Skipped> {
        let Ok(Event::Data { serial, cleartext }) = network.handle(data) else {
            return Err(Skipped::Network);
        };
        let serial = serial.to_text();
        let serial = serial.as_str();
        let mut raw = Vec::new();
        let mut fields = Vec::new();
        for record in cleartext.records() {
            let Ok(record) = record else { return Err(Skipped::Malformed) };
            if let (true, Some(v)) = (self.raw, record.raw_u32()) {
                if !NOT_PUBLISHED.contains(&record.register) {
                    raw.push(Out {
                        topic: format!("venetworking/{serial}/{:04X}", record.register),
                        payload: format!("{v}"),
                        retain: false,
                    });
                }
            }
            if let RegisterValue::Field(f) = registers::decode(record.register, record.value) {
                fields.push(f);
            }
        }
        // A sender that reports panel power is a solar charger (as the gateway names it); once
        // known, its messages without panel power keep that name.
        let solar = fields.iter().any(|f| f.name == "panel_power");
        let kind =
            if solar || self.solar_serials.iter().any(|s| s == serial) { "solar_charger" } else { "venetworking" };
        if solar && !self.solar_serials.iter().any(|s| s == serial) {
            self.solar_serials.push(serial.into());
        }
        let device = self.device_name(kind, serial);
        let mut out = raw;
        for f in &fields {
            self.field(&mut out, &device, f);
        }
        let touched: Vec<&str> = fields.iter().map(|f| f.name).collect();
        self.derive_power(&mut out, &device, kind, serial, &touched);
        Ok(out)
    }

    /// The advert itself for the gateway, `victron/<mac>/advert` = the manufacturer data after
    /// the company id in hex (what `halyard decode victron-ble` takes): the node as a BLE proxy,
    /// so that the keys may live on the gateway alone and the gateway records what only the
    /// node hears (`[mqtt_in] topics = ["victron/+/advert"]`). Every advert goes, unchanged
    /// ones too: each carries a new reading.
    pub fn advert_proxy(&self, mac: [u8; 6], data: &[u8]) -> Out {
        let body = match data {
            [0xE1, 0x02, rest @ ..] => rest,
            _ => data,
        };
        let identity: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        let hex: String = body.iter().map(|b| format!("{b:02x}")).collect();
        Out { topic: format!("victron/{identity}/advert"), payload: hex, retain: false }
    }

    /// Any Victron advert: Instant Readout (first byte 0x10) or VE.Smart networking (0x01, 0x02).
    pub fn victron_advert(
        &mut self,
        mac: [u8; 6],
        data: &[u8],
        key: Option<&Key>,
        network: Option<&mut Network>,
    ) -> Result<Vec<Out>, Skipped> {
        let body = match data {
            [0xE1, 0x02, rest @ ..] => rest,
            _ => data,
        };
        match (body.first(), network) {
            (Some(&PRODUCT_ADVERTISEMENT), _) => self.instant_readout(mac, body, key),
            (Some(0x01 | 0x02), Some(n)) => self.venetworking(n, body),
            (Some(0x01 | 0x02), None) => Err(Skipped::Network),
            _ => Err(Skipped::NotVictron),
        }
    }

    /// A MasterBus CAN frame (29-bit id, data), read by the passive listener `bus`.
    pub fn masterbus(&mut self, bus: &mut Bus, timestamp_ns: u64, id: u32, data: &[u8]) -> Result<Vec<Out>, Skipped> {
        let frame =
            halyard_proto::can::Frame::new(halyard_proto::can::Id::Extended(id), data).ok_or(Skipped::Malformed)?;
        let (bus_id, message) = halyard_proto::masterbus::decode_frame(&frame).map_err(|_| Skipped::Malformed)?;
        let Some(Observation::Reading(r)) = bus.handle(timestamp_ns, bus_id, &message) else {
            return Err(Skipped::Nothing);
        };
        let identity = format!("{}", r.device());
        let payload = match &r.text {
            Some(t) => t.clone(),
            None => format!("{}", r.value),
        };
        let mut out = Vec::new();
        if self.raw {
            out.push(Out {
                topic: format!("masterbus/{identity}/0x{:04X}", r.item),
                payload: payload.clone(),
                retain: false,
            });
        }
        let kind = catalog::device_kind(r.node.type_code());
        let device = self.device_name(kind, &identity);
        self.named(&mut out, &device, &r.metric, payload.clone());
        if let Some(option) = &r.option {
            self.named(&mut out, &device, &format!("{}_name", r.metric), option.clone());
        }
        if r.text.is_none() {
            if let Ok(v) = payload.parse::<f64>() {
                self.numbers.entry(device.clone()).or_default().insert(r.metric.clone(), v);
            }
        }
        self.derive_power(&mut out, &device, kind, &identity, &[r.metric.as_str()]);
        Ok(out)
    }

    /// VE.Direct text-protocol bytes from a UART: each valid block becomes its raw
    /// `vedirect/<SER#>/text/<LABEL>` topics and the device's named topics. Blocks before the
    /// device's first `SER#` are skipped (battery monitors send it in every other block), so
    /// the device is never published under a name that changes.
    pub fn vedirect(&mut self, port: &mut VeDirectPort, bytes: &[u8]) -> Vec<Out> {
        let mut blocks: Vec<Vec<(String, String)>> = Vec::new();
        port.framer.push_all(bytes, |e| match e {
            TextEvent::Block { block, status: BlockStatus::Valid } => blocks.push(owned(&block)),
            TextEvent::Block { .. } => port.bad_blocks += 1,
            _ => {}
        });
        let mut out = Vec::new();
        for fields in blocks {
            if let Some((_, serial)) = fields.iter().find(|(l, v)| l == "SER#" && !v.is_empty()) {
                port.serial = Some(serial.clone());
            }
            let Some(serial) = port.serial.clone() else { continue };
            let decoded: Vec<Field<'_>> = fields.iter().filter_map(|(l, v)| labels::decode(l, v)?.ok()).collect();
            let kind = vedirect_kind(|n| decoded.iter().any(|f| f.name == n));
            if self.raw {
                for (label, value) in &fields {
                    let label: String = label.chars().filter(|c| !matches!(c, '#' | '+' | '/')).collect();
                    out.push(Out {
                        topic: format!("vedirect/{serial}/text/{label}"),
                        payload: value.clone(),
                        retain: false,
                    });
                }
            }
            let device = self.device_name(kind, &serial);
            for f in &decoded {
                self.field(&mut out, &device, f);
            }
            let touched: Vec<&str> = decoded.iter().map(|f| f.name).collect();
            self.derive_power(&mut out, &device, kind, &serial, &touched);
        }
        out
    }
}

/// What a VE.Direct device is, from the fields of its text block (`has(name)`): a solar charger
/// reports panel power, a battery monitor state of charge or consumed Ah, an inverter its AC
/// output voltage. The gateway names devices by the same rule.
pub fn vedirect_kind(has: impl Fn(&str) -> bool) -> &'static str {
    if has("panel_power") {
        "solar_charger"
    } else if has("soc") || has("consumed_ah") {
        "battery_monitor"
    } else if has("ac_output_voltage") {
        "inverter"
    } else {
        "vedirect"
    }
}

/// One VE.Direct port's framer and the device's serial number once known.
#[derive(Clone, Default)]
pub struct VeDirectPort {
    framer: TextFramer,
    serial: Option<String>,
    /// Blocks whose checksum failed (noise on the line).
    pub bad_blocks: u32,
}

fn owned(block: &Block<'_>) -> Vec<(String, String)> {
    block.fields().map(|f| (f.label.to_string(), f.value.to_string())).collect()
}
