//! The JSON form of decoded fields, shared by every `decode` subcommand (DESIGN.md §4.1):
//! numbers in the field's unit, `null` for "not available", enumerations and bit sets as their
//! raw number plus `<field>_name`.

use halyard_proto::{Field, Value};
use serde_json::{Map, Value as Json};

/// Insert `field` (and its `_name` companion) into `map`.
pub fn insert(map: &mut Map<String, Json>, field: &Field<'_>) {
    let name = field.name;
    match field.value {
        Value::Number(d) if d.decimals == 0 => {
            map.insert(name.into(), d.units.into());
        }
        Value::Number(d) => {
            map.insert(name.into(), number(d.to_f64()));
        }
        Value::Enum { raw, table } => {
            map.insert(name.into(), raw.into());
            if let Some(n) = table.name(raw) {
                map.insert(format!("{name}_name"), n.into());
            }
        }
        Value::Flags { raw, table } => {
            map.insert(name.into(), raw.into());
            map.insert(format!("{name}_name"), flag_names(raw, table).into());
        }
        Value::Bool(b) => {
            map.insert(name.into(), b.into());
        }
        Value::Text(t) => {
            map.insert(name.into(), t.into());
        }
        Value::NotAvailable => {
            map.insert(name.into(), Json::Null);
        }
    }
}

/// The `<field>_name` text of a bit set: the known bits' names joined by `|`, unknown bits in
/// hex, `none` when no bit is set.
pub fn flag_names(raw: u32, table: &'static halyard_proto::FlagTable) -> String {
    let mut names: Vec<String> = table.names(raw).map(str::to_owned).collect();
    let unknown = table.unknown_bits(raw);
    if unknown != 0 {
        names.push(format!("0x{unknown:X}"));
    }
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join("|")
    }
}

/// A finite number as JSON (non-finite values cannot occur from integer decoders, but
/// would become `null` rather than invalid JSON).
pub fn number(v: f64) -> Json {
    serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number)
}

/// Rounded to `decimals` for publishing (derived metrics, reports), never −0.
pub fn round(v: f64, decimals: i32) -> f64 {
    let s = 10f64.powi(decimals);
    (v * s).round() / s + 0.0
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
