//! A passive listener that learns every device on the bus from the traffic itself.
//!
//! A MasterView (or any MasterBus client) asks each device to describe itself: its name string,
//! its monitoring groups, and for every field a name, a unit, a visualisation, limits and drop-down
//! option strings (masterbus.md §5–§7). The answers travel on the bus for everyone, so [`Bus`]
//! only has to listen: it stores what each device says about itself and then names every value
//! reply by the device's own words. Before that, the built-in [`catalog`](super::catalog) fills in.
//!
//! Like every state machine in this crate it does no I/O and reads no clock: frames go in, with
//! the time they were received, and [`Observation`]s come out.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use super::calendar::{Clock, Date};
use super::catalog::{self, Model};
use super::id::{BusId, DeviceId, Node};
use super::message::{Announcement, Message};
use super::viz::{MetaOp, Viz};

/// Strings a device may hold before the oldest are forgotten (a corrupt or hostile bus cannot
/// grow memory without bound).
pub const MAX_STRINGS_PER_NODE: usize = 512;
/// Fields a device may describe before further ones are ignored.
pub const MAX_FIELDS_PER_NODE: usize = 512;
/// Devices tracked at once.
pub const MAX_NODES: usize = 64;

/// What a device has said about one of its fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldInfo {
    /// String id of the name (op 0x28).
    pub name_sid: Option<u16>,
    /// String id of the unit (op 0x2C).
    pub unit_sid: Option<u16>,
    /// Visualisation (op 0x02).
    pub viz: Option<Viz>,
    /// Minimum (op 0x06).
    pub min: Option<f32>,
    /// Maximum or highest option index (op 0x07).
    pub max: Option<f32>,
    /// Step (op 0x08).
    pub step: Option<f32>,
    /// Writable (op 0x0B).
    pub writable: Option<bool>,
    /// Option index → string id (op 0x26).
    pub options: BTreeMap<u16, u16>,
}

/// A string reassembled from 4-character chunks (masterbus.md §5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Label {
    chunks: BTreeMap<u8, ([u8; 4], u8)>,
}

impl Label {
    /// The first chunk still to be heard, or `None` once the string is complete.
    fn missing_chunk(&self) -> Option<u8> {
        for expected in 0..=u8::MAX {
            let Some((bytes, len)) = self.chunks.get(&expected) else { return Some(expected) };
            if *len < 4 || bytes[..usize::from(*len)].contains(&0) {
                return None;
            }
        }
        None
    }

    /// The text once every chunk up to the terminating one has been heard.
    fn text(&self) -> Option<String> {
        let mut out = String::new();
        for expected in 0..=u8::MAX {
            let (bytes, len) = self.chunks.get(&expected)?;
            for &b in &bytes[..usize::from(*len)] {
                if b == 0 {
                    return Some(out);
                }
                // The device strings are single-byte text; "°C" arrives as 0xB0 'C' (Latin-1).
                out.push(char::from(b));
            }
            if *len < 4 {
                return Some(out);
            }
        }
        Some(out)
    }
}

/// A monitoring group's layout (schema, masterbus.md §5).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Group {
    /// How many fields the device says the group has.
    pub count: Option<u16>,
    /// Position → field id.
    pub fields: BTreeMap<u8, u16>,
}

/// Everything learned about one device.
#[derive(Debug, Clone, Default)]
pub struct NodeState {
    /// Its last announcement.
    pub announcement: Option<Announcement>,
    /// The device's name string id (property `09 03`).
    pub name_sid: Option<u16>,
    /// Field metadata by field id.
    pub fields: BTreeMap<u16, FieldInfo>,
    /// Monitoring groups by number.
    pub groups: BTreeMap<u8, Group>,
    /// Property replies `[op, selector] → value` (`08 02` is the monitoring group count).
    pub properties: BTreeMap<(u8, u8), u16>,
    /// When a frame from or to this device was last seen (ns).
    pub last_seen_ns: u64,
    strings: BTreeMap<u16, Label>,
    model: Option<&'static Model>,
    writes: Vec<(u16, [u8; 4])>,
    name_reported: bool,
}

impl NodeState {
    /// A string the device has sent, if complete.
    pub fn string(&self, sid: u16) -> Option<String> {
        self.strings.get(&sid)?.text()
    }

    /// The next chunk to ask for to complete string `sid` (`Some(0)` if none has been heard).
    pub fn missing_chunk(&self, sid: u16) -> Option<u8> {
        self.strings.get(&sid).map_or(Some(0), Label::missing_chunk)
    }

    /// The device's own name ("MSH HovseBatShun"), once heard.
    pub fn name(&self) -> Option<String> {
        self.string(self.name_sid?)
    }

    /// The built-in table in use.
    pub fn model(&self) -> Option<&'static Model> {
        self.model
    }

    /// A field's name and unit as the device states them.
    pub fn field_label(&self, field: u16) -> (Option<String>, Option<String>) {
        let Some(info) = self.fields.get(&field) else { return (None, None) };
        (info.name_sid.and_then(|s| self.string(s)), info.unit_sid.and_then(|s| self.string(s)))
    }
}

/// Where a reading's name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameSource {
    /// The device's own field metadata.
    Device,
    /// The built-in table.
    Catalog,
    /// Nothing known: the metric is `item_0x….`.
    Unnamed,
}

/// An item's value, named and interpreted.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The device.
    pub node: Node,
    /// The item id.
    pub item: u16,
    /// The value as sent.
    pub value: f32,
    /// How it reads.
    pub viz: Viz,
    /// The metric name (snake_case).
    pub metric: String,
    /// The device's label for it (e.g. "Battery"), if known.
    pub label: Option<String>,
    /// The unit, if known.
    pub unit: Option<String>,
    /// For dates, times and durations, the value as text (`18/01/2022`, `18:39:11`, `6d 13:40:00`).
    pub text: Option<String>,
    /// For drop-downs, the option's label, if known.
    pub option: Option<String>,
    /// Where the name came from.
    pub source: NameSource,
}

impl Reading {
    /// The published device number.
    pub fn device(&self) -> DeviceId {
        self.node.device()
    }
}

/// What a frame told the listener.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// A measurement.
    Reading(Reading),
    /// A device announced itself for the first time.
    NewDevice {
        /// The device.
        node: Node,
        /// Its type code.
        type_code: u8,
    },
    /// A device's name string became complete.
    DeviceNamed {
        /// The device.
        node: Node,
        /// The name.
        name: String,
    },
    /// Someone wrote to an item (a MasterView menu, or Halyard itself when writes are enabled).
    Written {
        /// The device written to.
        node: Node,
        /// The item.
        item: u16,
        /// The four bytes written.
        raw: [u8; 4],
    },
    /// The device's answer to a write: it carries the item's value from *before* the write, so it is
    /// not a measurement (masterbus.md §4, §11.5).
    WriteAnswered {
        /// The device.
        node: Node,
        /// The item.
        item: u16,
        /// The value before the write.
        previous: f32,
    },
}

/// The passive listener.
#[derive(Debug, Clone, Default)]
pub struct Bus {
    nodes: BTreeMap<Node, NodeState>,
}

impl Bus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    /// What is known about a device.
    pub fn node(&self, node: Node) -> Option<&NodeState> {
        self.nodes.get(&node)
    }

    /// Every device heard, in address order.
    pub fn nodes(&self) -> impl Iterator<Item = (Node, &NodeState)> {
        self.nodes.iter().map(|(n, s)| (*n, s))
    }

    /// Use a built-in table for a device whose type code is not known to the catalog (e.g. a
    /// ChargeMaster named in the configuration). Returns false for an unknown family.
    pub fn set_family(&mut self, node: Node, family: &str) -> bool {
        let Some(model) = catalog::by_family(family) else { return false };
        self.state(node).model = Some(model);
        true
    }

    fn state(&mut self, node: Node) -> &mut NodeState {
        if !self.nodes.contains_key(&node) && self.nodes.len() >= MAX_NODES {
            // Forget the device heard from longest ago; a real bus has a handful.
            if let Some(oldest) = self.nodes.iter().min_by_key(|(_, s)| s.last_seen_ns).map(|(n, _)| *n) {
                self.nodes.remove(&oldest);
            }
        }
        self.nodes
            .entry(node)
            .or_insert_with(|| NodeState { model: catalog::for_type_code(node.type_code()), ..NodeState::default() })
    }

    /// Take in one frame received at `timestamp_ns`.
    pub fn handle(&mut self, timestamp_ns: u64, id: BusId, message: &Message) -> Option<Observation> {
        let node = id.node();
        let state = self.state(node);
        state.last_seen_ns = timestamp_ns;
        match *message {
            Message::Announcement(a) => {
                let first = state.announcement.is_none();
                state.announcement = Some(a);
                first.then_some(Observation::NewDevice { node, type_code: a.type_code })
            }
            Message::PropertyReply { op, selector, value } => {
                state.properties.insert((op, selector), value);
                if (op, selector) != (0x09, 0x03) {
                    return None;
                }
                state.name_sid = Some(value);
                name_if_complete(node, state)
            }
            Message::StringChunk { string_id, chunk, text, len } => {
                if !state.strings.contains_key(&string_id) && state.strings.len() >= MAX_STRINGS_PER_NODE {
                    return None;
                }
                state.strings.entry(string_id).or_default().chunks.insert(chunk, (text, len));
                if state.name_sid == Some(string_id) {
                    name_if_complete(node, state)
                } else {
                    None
                }
            }
            Message::MetadataReply { op, field, index, value } => {
                if !state.fields.contains_key(&field) && state.fields.len() >= MAX_FIELDS_PER_NODE {
                    return None;
                }
                let info = state.fields.entry(field).or_default();
                match op {
                    MetaOp::VIZ => info.viz = Some(Viz::from_code(value.as_u16())),
                    MetaOp::MIN => info.min = Some(value.as_f32()),
                    MetaOp::MAX => info.max = Some(value.as_f32()),
                    MetaOp::STEP => info.step = Some(value.as_f32()),
                    MetaOp::WRITABLE => info.writable = Some(value.as_f32() != 0.0),
                    MetaOp::NAME => info.name_sid = Some(value.as_u16()),
                    MetaOp::UNIT => info.unit_sid = Some(value.as_u16()),
                    MetaOp::OPTION => {
                        info.options.insert(u16::from(index), value.as_u16());
                    }
                    _ => {}
                }
                None
            }
            Message::SchemaReply { op, group, index, value } => {
                let g = state.groups.entry(group).or_default();
                match op {
                    0x07 => g.count = Some(value.as_u16()),
                    0x03 => {
                        g.fields.insert(index, value.as_u16());
                    }
                    _ => {}
                }
                None
            }
            Message::Write { item, raw } => {
                if state.writes.len() == 4 {
                    state.writes.remove(0);
                }
                state.writes.push((item, raw));
                Some(Observation::Written { node, item, raw })
            }
            Message::ValueReply { item, value, raw } => {
                if let Some(at) = state.writes.iter().position(|(i, _)| *i == item) {
                    let (_, written) = state.writes.remove(at);
                    // The echo of a commit token is not even a number; the first answer is the old value.
                    if written == raw {
                        return None;
                    }
                    return Some(Observation::WriteAnswered { node, item, previous: value });
                }
                if state.model.is_some_and(|m| m.not_measurements.contains(&item)) {
                    return None;
                }
                Some(Observation::Reading(reading(node, state, item, value)))
            }
            _ => None,
        }
    }
}

fn name_if_complete(node: Node, state: &mut NodeState) -> Option<Observation> {
    if state.name_reported {
        return None;
    }
    let name = state.name()?;
    state.name_reported = true;
    Some(Observation::DeviceNamed { node, name })
}

/// A metric name from a device label and unit: "Battery" + V → `battery_voltage`,
/// "Cap. consumed" → `cap_consumed`, "State of Charge" → `state_of_charge`.
pub fn metric_name(label: &str, unit: Option<&str>) -> String {
    let mut out = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    let suffix = match unit {
        Some("V") => "voltage",
        Some("A") => "current",
        Some("W") => "power",
        Some("°C") => "temperature",
        Some("Hz") => "frequency",
        _ => "",
    };
    if !suffix.is_empty() && !out.ends_with(suffix) {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(suffix);
    }
    out
}

fn reading(node: Node, state: &NodeState, item: u16, value: f32) -> Reading {
    let (label, unit) = state.field_label(item);
    let info = state.fields.get(&item);
    let row = state.model.and_then(|m| m.item(item));
    // A table row is used when the device has not said otherwise, unless it needs confirming.
    // A row that needs confirming is confirmed by the device's label or, before the label has been
    // heard, by its visualisation (a Date field where the table expects a Date).
    let learned_viz = info.and_then(|i| i.viz);
    let row = row.filter(|r| match &label {
        Some(l) => r.label.is_empty() || r.label == l,
        None => !r.confirm || learned_viz == Some(r.viz),
    });
    let viz = learned_viz.or(row.map(|r| r.viz)).unwrap_or(Viz::Float);
    // The device's own label makes the source `Device` even when the agreeing table row names it.
    let (metric, source) = match (row, &label) {
        (Some(r), None) => (String::from(r.metric), NameSource::Catalog),
        (Some(r), Some(_)) => (String::from(r.metric), NameSource::Device),
        (None, Some(l)) => (metric_name(l, unit.as_deref()), NameSource::Device),
        (None, None) => (alloc::format!("item_0x{item:04x}"), NameSource::Unnamed),
    };
    let unit = unit.or_else(|| row.filter(|r| !r.unit.is_empty()).map(|r| String::from(r.unit)));
    let text = match viz {
        Viz::Date => Date::from_value(value).map(|d| alloc::format!("{d}")),
        Viz::Time => Clock::from_value(value).map(|c| alloc::format!("{c}")),
        _ => None,
    };
    let option = if viz == Viz::DropDown && (0.0..65536.0).contains(&value) && value == f32::from(value as u16) {
        let index = value as u16;
        info.and_then(|i| i.options.get(&index))
            .and_then(|sid| state.string(*sid))
            .or_else(|| row.and_then(|r| r.options.iter().find(|(i, _)| *i == index)).map(|(_, s)| String::from(*s)))
    } else {
        None
    };
    let label = label.or_else(|| row.filter(|r| !r.label.is_empty()).map(|r| String::from(r.label)));
    Reading { node, item, value, viz, metric, label, unit, text, option, source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::masterbus::message::decode;

    fn feed(bus: &mut Bus, frames: &[(u32, &[u8])]) -> Vec<Observation> {
        frames
            .iter()
            .filter_map(|(id, data)| {
                let id = BusId::new(*id).unwrap();
                bus.handle(0, id, &decode(id, data).unwrap())
            })
            .collect()
    }

    #[test]
    fn learns_names_units_and_options_from_metadata() {
        let mut bus = Bus::new();
        // Field 0x12 of the combi: name sid 0x20 "State of charger", drop-down, option 5 → sid 0x21 "No shore".
        let obs = feed(
            &mut bus,
            &[
                (0x08BA_F412, &[0x28, 0x12, 0, 0, 0x20, 0]),
                (0x08BA_F412, &[0x02, 0x12, 0, 0, 0x03, 0]),
                (0x08BA_F412, &[0x26, 0x12, 0, 5, 0x21, 0]),
                (0x063A_F412, b"\x30\x20\x00\x00Stat"),
                (0x063A_F412, b"\x30\x20\x00\x01e of"),
                (0x063A_F412, b"\x30\x20\x00\x02 cha"),
                (0x063A_F412, b"\x30\x20\x00\x03rger"),
                (0x063A_F412, b"\x30\x20\x00\x04\x00"),
                (0x063A_F412, b"\x30\x21\x00\x00No s"),
                (0x063A_F412, b"\x30\x21\x00\x01hore"),
                (0x063A_F412, b"\x30\x21\x00\x02"),
                (0x083A_F412, &[0x12, 0, 0, 0, 0xa0, 0x40]),
            ],
        );
        let [Observation::Reading(r)] = &obs[..] else { panic!("{obs:?}") };
        assert_eq!(r.label.as_deref(), Some("State of charger"));
        assert_eq!(r.metric, "charger_state", "the catalog row agrees with the device, so its name is kept");
        assert_eq!(r.option.as_deref(), Some("No shore"));
        assert_eq!(r.source, NameSource::Device);
    }

    #[test]
    fn unconfirmed_rows_wait_for_metadata_and_writes_are_not_measurements() {
        let mut bus = Bus::new();
        let obs = feed(&mut bus, &[(0x086F_1297, &[0x09, 0, 0x00, 0x2f, 0x83, 0x47])]);
        let [Observation::Reading(r)] = &obs[..] else { panic!() };
        assert_eq!((r.metric.as_str(), r.source, r.text.as_deref()), ("item_0x0009", NameSource::Unnamed, None));

        let obs = feed(
            &mut bus,
            &[
                (0x183A_F412, &[0x38, 0, 0, 0, 0x80, 0x3f]),
                (0x183A_F412, &[0x39, 0, 0x14, 0x0a, 0x84, 0]),
                (0x083A_F412, &[0x38, 0, 0, 0, 0, 0]),
                (0x083A_F412, &[0x39, 0, 0x14, 0x0a, 0x84, 0]),
                (0x083A_F412, &[0x38, 0, 0, 0, 0x80, 0x3f]),
            ],
        );
        assert!(matches!(obs[0], Observation::Written { item: 0x38, .. }));
        assert!(matches!(obs[1], Observation::Written { item: 0x39, .. }));
        assert_eq!(
            obs[2],
            Observation::WriteAnswered { node: BusId::new(0x3AF412).unwrap().node(), item: 0x38, previous: 0.0 }
        );
        let Observation::Reading(r) = &obs[3] else { panic!("{obs:?}") };
        assert_eq!((r.metric.as_str(), r.option.as_deref()), ("power", Some("On")));
        assert_eq!(obs.len(), 4, "the commit-token echo on 0x39 is not a reading");
    }

    #[test]
    fn metric_names_from_labels() {
        assert_eq!(metric_name("Battery", Some("V")), "battery_voltage");
        assert_eq!(metric_name("Cap. consumed", Some("Ah")), "cap_consumed");
        assert_eq!(metric_name("AC Output", Some("A")), "ac_output_current");
        assert_eq!(metric_name("Input = genset", None), "input_genset");
        assert_eq!(metric_name("", Some("V")), "voltage");
    }
}
