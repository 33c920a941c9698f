//! `[n2k_out]`: Halyard's batteries and solar on the NMEA 2000 bus for the chart plotter —
//! opt-in, off by default; nothing is ever sent without `enabled = true`.
//!
//! Through one `[[n2k]]` link (a CAN link opened in normal mode, or a Yacht Devices gateway over
//! TCP) Halyard claims an address as a gateway (ISO address claim; a contest moves it, see
//! [`halyard_proto::n2k::claim`]), answers requests for its claim and its Product Information
//! (others are refused with an ISO acknowledgement), sends a Heartbeat (126993) every minute,
//! and, every 1.5 s — the rate of the battery and charger PGNs — for each configured device:
//!
//! | Halyard device | PGNs |
//! |---|---|
//! | battery monitor, smart battery, BMS | 127508 Battery Status, 127506 DC Detailed Status |
//! | solar charger | 127507 Charger Status, 127751 DC Voltage/Current of its PV input, 127508 of its battery side |
//! | AC charger, DC-DC charger | 127507 Charger Status, 127508 of its output |
//!
//! The instance each device is sent as is the configuration's (`devices = { "house-bank" = 0 }`):
//! a plotter's battery page is chosen by instance.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use halyard_proto::n2k::claim::{AddressClaim, Name, ADDRESS_CLAIM};
use halyard_proto::n2k::write::Writer;
use halyard_proto::n2k::{fast_packet, Header};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::model::{Change, Millis, Reading};
use crate::signalk::paths::Group;

/// The battery and charger PGNs' rate.
pub const PERIOD_MS: u64 = 1_500;
/// The heartbeat's.
pub const HEARTBEAT_MS: u64 = 60_000;
/// Values older than this are not sent (the device went quiet).
const STALE_MS: Millis = 60_000;
/// ISO Request, and the ISO Acknowledgement that refuses one.
const REQUEST: u32 = 59_904;
const ACKNOWLEDGEMENT: u32 = 59_392;
const PRODUCT_INFORMATION: u32 = 126_996;
/// No manufacturer code is assigned to Halyard: 2046 is the one open-source NMEA 2000 nodes
/// commonly use.
pub const MANUFACTURER_CODE: u16 = 2046;
/// Device class 25 (internetwork device), function 130 (PC gateway), from the NMEA 2000 device
/// lists.
const DEVICE_CLASS: u8 = 25;
const DEVICE_FUNCTION: u8 = 130;

/// `[n2k_out]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Transmit at all. Off by default: nothing is ever sent without it.
    #[serde(default)]
    pub enabled: bool,
    /// The `[[n2k]]` source to transmit through (its `source` text); the first one by default.
    #[serde(default)]
    pub source: Option<String>,
    /// The address to claim first (another is taken if a node with a lower NAME holds it).
    #[serde(default = "preferred_address")]
    pub address: u8,
    /// The NAME's unique number (21 bits); by default from the machine's id, so it stays the
    /// same across restarts.
    #[serde(default)]
    pub unique_number: Option<u32>,
    /// Devices to send, by name, with the instance each is sent as.
    #[serde(default)]
    pub devices: BTreeMap<String, u8>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: false,
            source: None,
            address: preferred_address(),
            unique_number: None,
            devices: BTreeMap::new(),
        }
    }
}

fn preferred_address() -> u8 {
    35
}

impl Settings {
    /// The NAME: the unique number configured, else one of 21 bits hashed from the machine's
    /// id (`/etc/machine-id`, else the host name).
    pub fn name(&self) -> Name {
        let unique = self.unique_number.unwrap_or_else(|| {
            let id = std::fs::read_to_string("/etc/machine-id")
                .or_else(|_| std::fs::read_to_string("/etc/hostname"))
                .unwrap_or_default();
            // FNV-1a: stable across builds and runs (std's hasher is not).
            let hash = id
                .trim()
                .bytes()
                .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
            (hash ^ hash >> 21 ^ hash >> 42) as u32
        });
        Name::new(unique, MANUFACTURER_CODE, DEVICE_FUNCTION, DEVICE_CLASS)
    }
}

/// A device's latest values, as the model handed them on, and what it is (the Signal K group:
/// the same judgement of "a battery", "a solar charger" from its role or kind).
#[derive(Debug, Clone, Default)]
struct Device {
    group: Option<Group>,
    values: BTreeMap<String, (Millis, Reading)>,
}

/// The configured devices' latest values, kept by a task that follows the model's changes
/// whatever the link's state (the model never waits for the bus).
#[derive(Debug, Default)]
pub struct Table {
    devices: Mutex<HashMap<String, Device>>,
}

impl Table {
    /// Follow `changes` for the devices named in `settings`.
    pub fn follow(settings: &Settings, mut changes: mpsc::Receiver<Arc<Change>>) -> Arc<Table> {
        let table = Arc::new(Table::default());
        let wanted: Vec<String> = settings.devices.keys().cloned().collect();
        let t = table.clone();
        tokio::spawn(async move {
            while let Some(c) = changes.recv().await {
                if wanted.iter().any(|w| *w == c.device.name) {
                    t.apply(&c);
                }
            }
        });
        table
    }

    fn apply(&self, c: &Change) {
        let mut devices = self.devices.lock().unwrap_or_else(|e| e.into_inner());
        let d = devices.entry(c.device.name.clone()).or_default();
        d.group = Group::of(&c.device);
        for m in &c.changed {
            match &m.value {
                Some(v) => d.values.insert(m.name.to_string(), (c.at, v.clone())),
                None => d.values.remove(m.name.as_ref()),
            };
        }
    }

    fn snapshot(&self, name: &str) -> Option<Device> {
        self.devices.lock().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }
}

/// A device's number `metric` (the first of several names), if fresh at `now`.
fn number(d: &Device, names: &[&str], now: Millis) -> Option<f64> {
    names.iter().find_map(|n| match d.values.get(*n) {
        Some((at, Reading::Number(v))) if now - at <= STALE_MS => Some(*v),
        _ => None,
    })
}

fn text<'a>(d: &'a Device, name: &str, now: Millis) -> Option<&'a str> {
    match d.values.get(name) {
        Some((at, Reading::Text(t))) if now - at <= STALE_MS => Some(t),
        _ => None,
    }
}

/// NMEA 2000's charger state (127507) for a Victron or Mastervolt state's name.
fn charger_state(name: &str) -> Option<f64> {
    Some(match name {
        "off" | "not_charging" | "low_power" | "inverting" => 0.0,
        "bulk" => 1.0,
        "absorption" | "repeated_absorption" => 2.0,
        "equalize_manual" | "auto_equalize" | "equalize" | "equalise" => 4.0,
        "float" | "storage" => 5.0,
        "power_supply" => 7.0,
        "fault" => 9.0,
        _ => return None,
    })
}

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Its header (the source is the address held when it was made).
    pub header: Header,
    /// Its data.
    pub data: Vec<u8>,
}

/// The transmitting side of one link session: the claim, the schedule, and the frames to send.
pub struct Transmitter {
    settings: Settings,
    claim: AddressClaim,
    table: Arc<Table>,
    frames: VecDeque<(u32, Vec<u8>)>,
    sequence: u8,
    heartbeat: u8,
    next_values: u64,
    next_heartbeat: u64,
    product_sent: bool,
}

impl Transmitter {
    /// A session starting at `now_ms`: the claim goes out first.
    pub fn new(settings: Settings, table: Arc<Table>, now_ms: u64) -> Self {
        let claim = AddressClaim::new(settings.name(), settings.address, now_ms);
        let mut t = Transmitter {
            settings,
            claim,
            table,
            frames: VecDeque::new(),
            sequence: 0,
            heartbeat: 0,
            next_values: 0,
            next_heartbeat: 0,
            product_sent: false,
        };
        let c = t.claim.claim();
        t.queue(c.header, &c.data);
        t
    }

    /// The address held.
    pub fn address(&self) -> Option<u8> {
        self.claim.address()
    }

    /// A frame heard on the bus: claims and requests concern the transmitter.
    pub fn heard(&mut self, header: &Header, data: &[u8], now_ms: u64) {
        match header.pgn {
            ADDRESS_CLAIM => {
                let before = self.claim.address();
                if let Some(c) = self.claim.heard(header.source, data, now_ms) {
                    if self.claim.address() != before {
                        match self.claim.address() {
                            Some(a) => tracing::warn!(
                                "n2k: a node with a lower NAME claimed address {}; Halyard moves to {a}",
                                header.source
                            ),
                            None => tracing::error!("n2k: no address left to claim; Halyard stops transmitting"),
                        }
                        // What was queued carries the old address.
                        self.frames.clear();
                        self.product_sent = false;
                    }
                    self.queue(c.header, &c.data);
                }
            }
            REQUEST if header.destination == 255 || Some(header.destination) == self.claim.address() => {
                let Some(asked) = halyard_proto::n2k::pgn::read_bits(data, 0, 24) else { return };
                self.answer(asked as u32, header, now_ms);
            }
            _ => {}
        }
    }

    fn answer(&mut self, asked: u32, request: &Header, now_ms: u64) {
        match asked {
            // The claim is answered even from the null address (the standard asks it).
            ADDRESS_CLAIM => {
                let c = self.claim.claim();
                self.queue(c.header, &c.data);
            }
            PRODUCT_INFORMATION if self.claim.ready(now_ms) => self.product(),
            // A request to us alone for what we do not send: a NAK (control 1).
            _ if request.destination != 255 && self.claim.ready(now_ms) => {
                let Some(source) = self.claim.address() else { return };
                let mut nak = [0xFF; 8];
                nak[0] = 1;
                nak[5..8].copy_from_slice(&asked.to_le_bytes()[..3]);
                let header = Header { priority: 6, pgn: ACKNOWLEDGEMENT, source, destination: request.source };
                self.queue(header, &nak);
            }
            _ => {}
        }
    }

    fn product(&mut self) {
        let mut w = match Writer::new(PRODUCT_INFORMATION) {
            Ok(w) => w,
            Err(_) => return,
        };
        let version = env!("CARGO_PKG_VERSION");
        let done = w
            .set("nmea_2000_version", 2.1)
            .and_then(|w| w.set("product_code", 1.0))
            .and_then(|w| w.set_text("model_id", "Halyard gateway"))
            .and_then(|w| w.set_text("software_version_code", version))
            .and_then(|w| w.set_text("model_version", version))
            .and_then(|w| w.set_text("model_serial_code", &format!("{:06X}", self.claim.name().0 & 0x1F_FFFF)))
            .and_then(|w| w.set("certification_level", 0.0))
            .and_then(|w| w.set("load_equivalency", 1.0))
            .is_ok();
        if done {
            self.send(PRODUCT_INFORMATION, 6, w.bytes().to_vec());
            self.product_sent = true;
        }
    }

    /// What is due at `now_ms` (ms on the session's clock) with the device values fresh at
    /// `now` (the model's clock).
    pub fn tick(&mut self, now_ms: u64, now: Millis) {
        if !self.claim.ready(now_ms) {
            return;
        }
        if !self.product_sent {
            self.product();
        }
        if now_ms >= self.next_heartbeat {
            self.next_heartbeat = now_ms + HEARTBEAT_MS;
            let mut w = Writer::new(126_993).expect("126993 has a table");
            let sequence = f64::from(self.heartbeat);
            self.heartbeat = self.heartbeat.wrapping_add(1) % 253;
            if w.set("data_transmit_offset", HEARTBEAT_MS as f64 / 1000.0)
                .and_then(|w| w.set("sequence_counter", sequence))
                .and_then(|w| w.set("controller_1_state", 0.0))
                .and_then(|w| w.set("equipment_status", 0.0))
                .is_ok()
            {
                self.send(126_993, 7, w.bytes().to_vec());
            }
        }
        if now_ms < self.next_values {
            return;
        }
        self.next_values = now_ms + PERIOD_MS;
        let devices: Vec<(String, u8)> = self.settings.devices.iter().map(|(k, v)| (k.clone(), *v)).collect();
        for (name, instance) in devices {
            let Some(d) = self.table.snapshot(&name) else { continue };
            for (pgn, data) in values(&d, instance, now) {
                self.send(pgn, 6, data);
            }
        }
    }

    fn send(&mut self, pgn: u32, priority: u8, data: Vec<u8>) {
        let Some(source) = self.claim.address() else { return };
        self.queue(Header { priority, pgn, source, destination: 255 }, &data);
    }

    fn queue(&mut self, header: Header, data: &[u8]) {
        let id = header.can_id();
        if fast_packet::is_fast_packet(header.pgn) {
            self.sequence = (self.sequence + 1) & 7;
            let frames = &mut self.frames;
            fast_packet::split(data, self.sequence, |f| frames.push_back((id, f.to_vec())));
        } else {
            self.frames.push_back((id, data.to_vec()));
        }
    }

    /// The next frame to send: its 29-bit id and data.
    pub fn next_frame(&mut self) -> Option<(u32, Vec<u8>)> {
        self.frames.pop_front()
    }
}

/// The PGNs one device is sent as.
fn values(d: &Device, instance: u8, now: Millis) -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::new();
    let i = f64::from(instance);
    let battery = |volts: &[&str], amps: &[&str], temperature: &[&str]| -> Option<Vec<u8>> {
        let v = number(d, volts, now)?;
        let mut w = Writer::new(127_508).ok()?;
        w.set("instance", i).ok()?.set("voltage", v).ok()?;
        if let Some(a) = number(d, amps, now) {
            let _ = w.set("current", a);
        }
        if let Some(t) = number(d, temperature, now) {
            let _ = w.set("temperature", t);
        }
        Some(w.bytes().to_vec())
    };
    let charger = || -> Option<Vec<u8>> {
        let state =
            ["charge_state_name", "device_state_name"].iter().find_map(|n| text(d, n, now)).and_then(charger_state)?;
        let mut w = Writer::new(127_507).ok()?;
        w.set("instance", i).ok()?.set("battery_instance", i).ok()?.set("operating_state", state).ok()?;
        let _ = w.set("enabled", if state == 0.0 { 0.0 } else { 1.0 });
        Some(w.bytes().to_vec())
    };
    match d.group {
        Some(Group::Battery) => {
            out.extend(
                battery(
                    &["voltage", "battery_voltage"],
                    &["current", "battery_current"],
                    &["battery_temperature", "temperature", "temperature_c"],
                )
                .map(|b| (127_508, b)),
            );
            let soc = number(d, &["soc", "state_of_charge"], now);
            let remaining = number(d, &["remaining_mins"], now);
            if soc.is_some() || remaining.is_some() {
                if let Ok(mut w) = Writer::new(127_506) {
                    let _ = w.set("instance", i).and_then(|w| w.set("dc_type", 0.0));
                    if let Some(s) = soc {
                        let _ = w.set("state_of_charge", s.round());
                    }
                    if let Some(m) = remaining {
                        let _ = w.set("time_remaining", (m * 60.0).round());
                    }
                    out.push((127_506, w.bytes().to_vec()));
                }
            }
        }
        Some(Group::Solar) => {
            out.extend(charger().map(|c| (127_507, c)));
            if let Some(v) = number(d, &["panel_voltage"], now) {
                let amps = number(d, &["panel_current"], now)
                    .or_else(|| Some(number(d, &["panel_power", "solar_power"], now)? / v).filter(|_| v > 0.5));
                if let Ok(mut w) = Writer::new(127_751) {
                    let _ = w.set("connection_number", i).and_then(|w| w.set("dc_voltage", v));
                    if let Some(a) = amps {
                        let _ = w.set("dc_current", a);
                    }
                    out.push((127_751, w.bytes().to_vec()));
                }
            }
            out.extend(
                battery(
                    &["battery_voltage"],
                    &["battery_charging_current", "battery_current"],
                    &["battery_temperature"],
                )
                .map(|b| (127_508, b)),
            );
        }
        Some(Group::Charger) => {
            out.extend(charger().map(|c| (127_507, c)));
            out.extend(
                battery(
                    &["output_voltage1", "output_voltage", "battery_voltage"],
                    &["output_current1", "output_current", "battery_current"],
                    &[],
                )
                .map(|b| (127_508, b)),
            );
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use halyard_proto::n2k::pgn::Message;

    fn device(group: Group, values: &[(&str, Reading)]) -> Device {
        Device { group: Some(group), values: values.iter().map(|(k, v)| (k.to_string(), (0, v.clone()))).collect() }
    }

    #[test]
    fn a_battery_monitor_is_sent_as_battery_status_and_dc_detailed_status() {
        let d = device(
            Group::Battery,
            &[
                ("voltage", Reading::Number(12.8)),
                ("current", Reading::Number(-3.5)),
                ("soc", Reading::Number(87.6)),
                ("remaining_mins", Reading::Number(600.0)),
            ],
        );
        let sent = values(&d, 1, 1_000);
        let status = Message::new(127_508, &sent.iter().find(|(p, _)| *p == 127_508).unwrap().1).unwrap();
        assert_eq!(
            (status.number("instance"), status.number("voltage"), status.number("current")),
            (Some(1.0), Some(12.8), Some(-3.5))
        );
        let dc = Message::new(127_506, &sent.iter().find(|(p, _)| *p == 127_506).unwrap().1).unwrap();
        assert_eq!((dc.number("state_of_charge"), dc.number("time_remaining")), (Some(88.0), Some(36_000.0)));
        assert_eq!(dc.name("dc_type"), Some("battery"));
        assert!(values(&d, 1, 1_000 + STALE_MS + 1).is_empty(), "stale values are not sent");
    }

    #[test]
    fn a_solar_charger_is_sent_as_charger_status_and_its_pv_input() {
        let d = device(
            Group::Solar,
            &[
                ("charge_state_name", Reading::Text("absorption".into())),
                ("panel_voltage", Reading::Number(40.0)),
                ("panel_power", Reading::Number(200.0)),
            ],
        );
        let sent = values(&d, 2, 0);
        let charger = Message::new(127_507, &sent[0].1).unwrap();
        assert_eq!((charger.name("operating_state"), charger.name("enabled")), (Some("absorption"), Some("on")));
        let pv = Message::new(127_751, &sent[1].1).unwrap();
        assert_eq!(
            (pv.number("connection_number"), pv.number("dc_voltage"), pv.number("dc_current")),
            (Some(2.0), Some(40.0), Some(5.0))
        );
    }

    #[test]
    fn the_claim_comes_first_and_nothing_else_before_250_ms() {
        let settings = Settings { enabled: true, unique_number: Some(7), ..Settings::default() };
        let mut t = Transmitter::new(settings, Arc::new(Table::default()), 0);
        let (id, data) = t.next_frame().unwrap();
        let h = Header::from_can_id(id).unwrap();
        assert_eq!((h.pgn, h.source, data.len()), (ADDRESS_CLAIM, 35, 8));
        t.tick(100, 0);
        assert_eq!(t.next_frame(), None, "nothing before the claim stood 250 ms");
        t.tick(300, 0);
        let mut pgns = Vec::new();
        while let Some((id, _)) = t.next_frame() {
            pgns.push(Header::from_can_id(id).unwrap().pgn);
        }
        assert!(pgns.contains(&PRODUCT_INFORMATION) && pgns.contains(&126_993), "{pgns:?}");
        // A request for 127508 addressed to us is refused with a NAK.
        let request = Header { priority: 6, pgn: REQUEST, source: 9, destination: 35 };
        t.heard(&request, &127_508u32.to_le_bytes()[..3], 400);
        let (id, data) = t.next_frame().unwrap();
        let h = Header::from_can_id(id).unwrap();
        assert_eq!((h.pgn, h.destination, data[0]), (ACKNOWLEDGEMENT, 9, 1));
    }
}
