//! The JSON lines of `halyard decode masterbus` and `halyard masterbus listen` (DESIGN.md §4.1):
//! one line per value reply, `{"ts", "device": "0x31297", "item": "0x0001", "value"}` plus `text`
//! for dates, times and durations; with `--all`, one line for every frame.

use halyard_proto::can::ErrorFrame;
use halyard_proto::masterbus::bus::{Observation, Reading};
use halyard_proto::masterbus::message::Number;
use halyard_proto::masterbus::{BusId, Message};
use serde_json::{json, Map, Value as Json};

use super::{Counters, Decoded};

/// Seconds since the epoch with microsecond resolution, as a JSON number.
pub fn timestamp(ns: u64) -> Json {
    json_f64((ns / 1000) as f64 / 1e6)
}

fn json_f64(v: f64) -> Json {
    serde_json::Number::from_f64(v).map(Json::Number).unwrap_or(Json::Null)
}

/// An f32 as the shortest decimal that reads back as the same f32 (12.632, not 12.631999969…).
pub fn float(v: f32) -> Json {
    if !v.is_finite() {
        return Json::Null;
    }
    format!("{v}").parse::<f64>().map(json_f64).unwrap_or(Json::Null)
}

fn hex16(v: u16) -> String {
    format!("0x{v:04X}")
}

/// A value reply.
pub fn reading(ts_ns: u64, r: &Reading) -> Json {
    let mut m = Map::new();
    m.insert("ts".into(), timestamp(ts_ns));
    m.insert("device".into(), r.device().to_string().into());
    m.insert("item".into(), hex16(r.item).into());
    m.insert("value".into(), float(r.value));
    insert_meaning(&mut m, r);
    Json::Object(m)
}

/// What a reading means beyond its number: text, option, metric, label, unit.
fn insert_meaning(m: &mut Map<String, Json>, r: &Reading) {
    if let Some(text) = &r.text {
        m.insert("text".into(), text.clone().into());
    }
    if let Some(option) = &r.option {
        m.insert("option".into(), option.clone().into());
    }
    m.insert("metric".into(), r.metric.clone().into());
    if let Some(label) = &r.label {
        m.insert("label".into(), label.clone().into());
    }
    if let Some(unit) = &r.unit {
        m.insert("unit".into(), unit.clone().into());
    }
}

fn number(n: Number) -> Json {
    match n {
        Number::U16(v) => v.into(),
        Number::F32(v) => float(v),
    }
}

fn message_fields(m: &mut Map<String, Json>, message: &Message) {
    let mut put = |k: &str, v: Json| {
        m.insert(k.into(), v);
    };
    match *message {
        Message::Announcement(a) => {
            put("type_code", format!("0x{:02X}", a.type_code).into());
            if let Some(name) = halyard_proto::masterbus::catalog::type_name(a.type_code) {
                put("type_name", name.into());
            }
            put("address", hex16(a.address).into());
            put("instance", a.instance.into());
            put("change_counter", a.change_counter.into());
        }
        Message::Heartbeat => {}
        Message::PropertyRequest { op, selector } | Message::PropertyEcho { op, selector } => {
            put("op", format!("0x{op:02X}").into());
            put("selector", format!("0x{selector:02X}").into());
        }
        Message::PropertyReply { op, selector, value } => {
            put("op", format!("0x{op:02X}").into());
            put("selector", format!("0x{selector:02X}").into());
            put("value", value.into());
        }
        Message::StringRequest { string_id, chunk } => {
            put("string_id", hex16(string_id).into());
            put("chunk", chunk.into());
        }
        Message::StringChunk { string_id, chunk, text, len } => {
            put("string_id", hex16(string_id).into());
            put("chunk", chunk.into());
            let s: String = text[..usize::from(len)].iter().take_while(|b| **b != 0).map(|b| char::from(*b)).collect();
            put("text", s.into());
        }
        Message::ValueRequest { item } => put("item", hex16(item).into()),
        Message::Write { item, raw } => {
            put("item", hex16(item).into());
            put("value", float(f32::from_le_bytes(raw)));
            put("raw", format!("{:02x}{:02x}{:02x}{:02x}", raw[0], raw[1], raw[2], raw[3]).into());
        }
        Message::ValueReply { item, value, .. } => {
            put("item", hex16(item).into());
            put("value", float(value));
        }
        Message::MetadataRequest { op, field, option } => {
            put("op", op.0.into());
            if let Some(name) = op.name() {
                put("op_name", name.into());
            }
            put("field", hex16(field).into());
            if let Some(o) = option {
                put("option", o.into());
            }
        }
        Message::MetadataReply { op, field, index, value } => {
            put("op", op.0.into());
            if let Some(name) = op.name() {
                put("op_name", name.into());
            }
            put("field", hex16(field).into());
            if op == halyard_proto::masterbus::viz::MetaOp::OPTION {
                put("option", index.into());
            }
            put("value", number(value));
        }
        Message::SchemaRequest { op, group, index } => {
            put("op", format!("0x{op:02X}").into());
            put("group", group.into());
            if let Some(i) = index {
                put("index", i.into());
            }
        }
        Message::SchemaReply { op, group, index, value } => {
            put("op", format!("0x{op:02X}").into());
            put("group", group.into());
            if op == 0x03 {
                put("index", index.into());
            }
            put("value", number(value));
        }
        Message::TableRequest { table, op, index } => {
            put("table", format!("{table:?}").to_lowercase().into());
            put("op", format!("0x{op:02X}").into());
            put("index", index.into());
        }
        Message::TableReply { table, op, index, value } => {
            put("table", format!("{table:?}").to_lowercase().into());
            put("op", format!("0x{op:02X}").into());
            put("index", index.into());
            put("value", float(value));
        }
    }
}

fn frame_head(ts_ns: u64, id: BusId, message: &Message) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("ts".into(), timestamp(ts_ns));
    m.insert("id".into(), format!("0x{:08X}", id.raw()).into());
    m.insert("class".into(), format!("0x{:02X}", id.class()).into());
    m.insert("kind".into(), format!("0x{:03X}", id.kind()).into());
    m.insert("device".into(), id.device().to_string().into());
    if id.is_shadow() {
        m.insert("shadow".into(), true.into());
    }
    m.insert("message".into(), message.name().into());
    m
}

/// The line for one frame: `None` when only value lines are wanted and this is not one.
pub fn decoded(ts_ns: u64, decoded: &Decoded, all: bool) -> Option<Json> {
    match decoded {
        Decoded::Message { observation: Some(Observation::Reading(r)), .. } if !all => Some(reading(ts_ns, r)),
        _ if !all => None,
        Decoded::Message { id, message, observation } => {
            let mut m = frame_head(ts_ns, *id, message);
            message_fields(&mut m, message);
            match observation {
                Some(Observation::Reading(r)) => insert_meaning(&mut m, r),
                Some(Observation::WriteAnswered { previous, .. }) => {
                    m.insert("note".into(), "answer to a write: the value before it".into());
                    m.insert("previous".into(), float(*previous));
                }
                Some(Observation::DeviceNamed { name, .. }) => {
                    m.insert("device_name".into(), name.clone().into());
                }
                _ => {}
            }
            Some(Json::Object(m))
        }
        Decoded::ErrorFrame(e) => Some(error_frame(ts_ns, e)),
        Decoded::Unclassified { frame, error } => Some(json!({
            "ts": timestamp(ts_ns),
            "frame": format!("{frame:?}"),
            "message": "unclassified",
            "error": error.to_string(),
        })),
    }
}

fn error_frame(ts_ns: u64, e: &ErrorFrame) -> Json {
    json!({
        "ts": timestamp(ts_ns),
        "message": "error_frame",
        "error_class": format!("0x{:08X}", e.class),
        "controller": e.controller_state(),
    })
}

/// The closing summary of a capture.
pub fn summary(c: &Counters) -> Json {
    json!({
        "frames": c.frames,
        "classified": c.classified,
        "readings": c.readings,
        "error_frames": c.error_frames,
        "unclassified": c.unclassified,
        "bad_records": c.bad_records,
    })
}
