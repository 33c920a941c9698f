//! Table-driven decoding of an Instant Readout record's bit fields.
//!
//! Each record type is a list of [`FieldSpec`]s transcribed from Victron's "extra manufacturer
//! data" document (emd.pdf, 2022-12-14) as summarised in victron.md §1.5. Bit offsets count from
//! the start of the decrypted payload (the document's record bit 32).

use crate::bits::{read_bits, sign_extend};
use crate::{Decimal, EnumTable, Field, FlagTable, Unit, Value};

/// How a raw field becomes a value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// `raw × mult + offset`, in units of `10^-decimals` of `unit`.
    Scaled { signed: bool, mult: i64, offset: i64, decimals: u8, unit: Unit },
    /// An enumeration (sign-extended first when `signed`).
    Enum { table: &'static EnumTable, signed: bool },
    /// A bit set.
    Flags(&'static FlagTable),
    /// A code or bit field without published names: reported as its raw number.
    Code,
    /// The battery monitor's auxiliary value, whose meaning depends on the 2-bit aux-input
    /// field at `mode_bit` (victron.md §1.5, 0x02 bit 48 and 0x0D bit 48).
    Aux { mode_bit: u16, mid_voltage_allowed: bool },
}

/// One field of a record layout.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldSpec {
    pub name: &'static str,
    pub bit: u16,
    pub width: u8,
    pub kind: Kind,
    /// Raw "not available" sentinels, compared **before** sign extension (victron.md §1.3,
    /// dbus-ble-sensors `load_int`). Two are needed for the 22-bit currents: 0x3FFFFF per the
    /// document, 0x1FFFFF as real Smart Battery Sense units send (victron.md §1.7-1).
    pub na: &'static [u32],
}

/// Shorthands that keep the record tables readable.
pub(crate) const fn scaled(
    name: &'static str,
    bit: u16,
    width: u8,
    signed: bool,
    decimals: u8,
    unit: Unit,
    na: &'static [u32],
) -> FieldSpec {
    FieldSpec { name, bit, width, kind: Kind::Scaled { signed, mult: 1, offset: 0, decimals, unit }, na }
}

/// A 7-bit temperature sent as `°C + 40`.
pub(crate) const fn celsius_plus_40(name: &'static str, bit: u16) -> FieldSpec {
    FieldSpec {
        name,
        bit,
        width: 7,
        kind: Kind::Scaled { signed: false, mult: 1, offset: -40, decimals: 0, unit: Unit::Celsius },
        na: &[0x7F],
    }
}

pub(crate) const fn enumeration(
    name: &'static str,
    bit: u16,
    width: u8,
    table: &'static EnumTable,
    na: &'static [u32],
) -> FieldSpec {
    FieldSpec { name, bit, width, kind: Kind::Enum { table, signed: false }, na }
}

pub(crate) const fn flags(name: &'static str, bit: u16, width: u8, table: &'static FlagTable) -> FieldSpec {
    FieldSpec { name, bit, width, kind: Kind::Flags(table), na: &[] }
}

pub(crate) const fn code(name: &'static str, bit: u16, width: u8, na: &'static [u32]) -> FieldSpec {
    FieldSpec { name, bit, width, kind: Kind::Code, na }
}

/// Consumed Ah, sent as a positive 20-bit count of 0.1 Ah and reported negative, as Victron's
/// own apps show it ("Consumed = −raw", emd.pdf; victron.md §1.5).
pub(crate) const fn consumed_ah(bit: u16) -> FieldSpec {
    FieldSpec {
        name: "consumed_ah",
        bit,
        width: 20,
        kind: Kind::Scaled { signed: false, mult: -1, offset: 0, decimals: 1, unit: Unit::AmpHour },
        na: &[0xFFFFF],
    }
}

/// Decode one field of `payload`. `None` means "this field is not present in this reading"
/// (only the aux value uses it, when the aux input is disabled).
pub(crate) fn decode_field(spec: &FieldSpec, payload: &[u8]) -> Option<Field<'static>> {
    if let Kind::Aux { mode_bit, mid_voltage_allowed } = spec.kind {
        return decode_aux(spec.bit, mode_bit, mid_voltage_allowed, payload);
    }
    let unit = match spec.kind {
        Kind::Scaled { unit, .. } => unit,
        _ => Unit::None,
    };
    let value = match read_bits(payload, spec.bit, spec.width) {
        None => Value::NotAvailable,
        Some(raw) if spec.na.contains(&raw) => Value::NotAvailable,
        Some(raw) => value_of(spec.kind, raw, spec.width),
    };
    Some(Field { name: spec.name, unit, value })
}

fn value_of(kind: Kind, raw: u32, width: u8) -> Value<'static> {
    match kind {
        Kind::Scaled { signed, mult, offset, decimals, .. } => {
            let v = if signed { sign_extend(raw, width) } else { i64::from(raw) };
            Value::Number(Decimal::new(v * mult + offset, decimals))
        }
        Kind::Enum { table, signed } => {
            let raw = if signed { sign_extend(raw, width) as i32 } else { raw as i32 };
            Value::Enum { raw, table }
        }
        Kind::Flags(table) => Value::Flags { raw, table },
        Kind::Code => Value::Number(Decimal::new(i64::from(raw), 0)),
        Kind::Aux { .. } => unreachable!("aux fields are decoded by decode_aux"),
    }
}

/// Aux value by aux-input mode: 0 starter voltage (sn16 0.01 V, NA 0x7FFF), 1 mid-point voltage
/// (un16 0.01 V, NA 0xFFFF), 2 temperature (un16 0.01 K, NA 0xFFFF), 3 none.
fn decode_aux(bit: u16, mode_bit: u16, mid_allowed: bool, payload: &[u8]) -> Option<Field<'static>> {
    let mode = read_bits(payload, mode_bit, 2)?;
    let raw = read_bits(payload, bit, 16);
    let (name, unit, na, value) = match mode {
        0 => ("starter_voltage", Unit::Volt, 0x7FFF, raw.map(|r| Decimal::new(sign_extend(r, 16), 2))),
        1 if mid_allowed => ("midpoint_voltage", Unit::Volt, 0xFFFF, raw.map(|r| Decimal::new(r.into(), 2))),
        2 => ("temperature_c", Unit::Celsius, 0xFFFF, raw.map(|r| Decimal::new(i64::from(r) - 27315, 2))),
        _ => return None,
    };
    let value = match (raw, value) {
        (Some(r), Some(d)) if r != na => Value::Number(d),
        _ => Value::NotAvailable,
    };
    Some(Field { name, unit, value })
}
