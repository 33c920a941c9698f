//! The register dictionary: one table of VE.Direct registers (ids, types, scales, units and
//! "not available" values) for the HEX protocol and VE.Smart networking records.
//!
//! Types, units and NA values: victronenergy/gui-v2@3b94597 velib/inc/velib/ve_regs.h; byte
//! sizes on VE.Direct: pmarches/vedirect-hex-parser, koestler/go-victron (victron.md §4.3).
//! Values are decoded from whatever length arrives (1, 2 or 4 bytes): several registers are
//! un16 on VE.Direct and un32 on VE.Can (yield today, max power).

use super::history::{HistoryDay, HistoryTotal};
use crate::bits::sign_extend;
use crate::victron::reasons::{ALARM_REASON, OFF_REASON};
use crate::victron::states::{CHARGER_ERROR, DEVICE_STATE, MONITOR_MODE, OUTPUT_STATE, TRACKER_MODE};
use crate::{Decimal, EnumTable, Field, FlagTable, Unit, Value};

/// How a register's bytes are read.
#[derive(Debug, Clone, Copy)]
pub enum Format {
    /// Unsigned little-endian integer: `(raw + offset) × 10^-decimals unit`.
    Unsigned {
        /// Decimal places of one raw step.
        decimals: u8,
        /// Added to the raw value (0.01 K → °C uses −27315).
        offset: i64,
        /// All-ones means "not available".
        na: bool,
    },
    /// Signed little-endian integer; the largest positive value means "not available" if `na`.
    Signed {
        /// Decimal places of one raw step.
        decimals: u8,
        /// Whether the largest positive value is "not available".
        na: bool,
    },
    /// An enumeration.
    Enum(&'static EnumTable, bool),
    /// A bit set.
    Flags(&'static FlagTable),
    /// A NUL-terminated string.
    Text,
    /// Register 0x0100 as VE.Direct MPPTs send it: `00 pid_lo pid_hi FF` (ve_regs.h note).
    ProductId,
}

/// One register of the dictionary.
#[derive(Debug)]
pub struct Register {
    /// Register id.
    pub id: u16,
    /// snake_case name in the user's words.
    pub name: &'static str,
    /// How to read it.
    pub format: Format,
    /// Unit of the decoded value.
    pub unit: Unit,
}

const fn un(id: u16, name: &'static str, decimals: u8, unit: Unit) -> Register {
    Register { id, name, format: Format::Unsigned { decimals, offset: 0, na: true }, unit }
}
const fn sn(id: u16, name: &'static str, decimals: u8, unit: Unit) -> Register {
    Register { id, name, format: Format::Signed { decimals, na: true }, unit }
}
const fn count(id: u16, name: &'static str) -> Register {
    Register { id, name, format: Format::Unsigned { decimals: 0, offset: 0, na: false }, unit: Unit::None }
}
const fn signed_count(id: u16, name: &'static str, decimals: u8, unit: Unit) -> Register {
    Register { id, name, format: Format::Signed { decimals, na: false }, unit }
}
const fn enumeration(id: u16, name: &'static str, table: &'static EnumTable) -> Register {
    Register { id, name, format: Format::Enum(table, false), unit: Unit::None }
}
const fn flags(id: u16, name: &'static str, table: &'static FlagTable) -> Register {
    Register { id, name, format: Format::Flags(table), unit: Unit::None }
}
const fn text(id: u16, name: &'static str) -> Register {
    Register { id, name, format: Format::Text, unit: Unit::None }
}
const fn kelvin(id: u16, name: &'static str) -> Register {
    Register { id, name, format: Format::Unsigned { decimals: 2, offset: -27315, na: true }, unit: Unit::Celsius }
}

/// The dictionary, sorted by id (a unit test checks it).
pub static REGISTERS: &[Register] = &[
    Register { id: 0x0100, name: "product_id", format: Format::ProductId, unit: Unit::None },
    count(0x0102, "app_version"),
    count(0x0104, "group_id"),
    text(0x010A, "serial_number"),
    text(0x010B, "model_name"),
    un(0x0120, "uptime", 0, Unit::Second),
    count(0x0140, "capabilities"),
    count(0x0200, "device_mode"),
    enumeration(0x0201, "device_state", &DEVICE_STATE),
    count(0x0202, "remote_control_used"),
    count(0x0205, "device_off_reason"),
    flags(0x0207, "off_reason", &OFF_REASON),
    signed_count(0x0300, "deepest_discharge", 1, Unit::AmpHour),
    signed_count(0x0301, "last_discharge", 1, Unit::AmpHour),
    signed_count(0x0302, "average_discharge", 1, Unit::AmpHour),
    count(0x0303, "charge_cycles"),
    count(0x0304, "full_discharges"),
    signed_count(0x0305, "cumulative_ah_drawn", 1, Unit::AmpHour),
    signed_count(0x0306, "min_battery_voltage", 2, Unit::Volt),
    signed_count(0x0307, "max_battery_voltage", 2, Unit::Volt),
    signed_count(0x0308, "seconds_since_full", 0, Unit::Second),
    count(0x0309, "automatic_syncs"),
    count(0x030A, "low_voltage_alarms"),
    count(0x030B, "high_voltage_alarms"),
    count(0x030C, "low_aux_voltage_alarms"),
    count(0x030D, "high_aux_voltage_alarms"),
    signed_count(0x030E, "min_aux_voltage", 2, Unit::Volt),
    signed_count(0x030F, "max_aux_voltage", 2, Unit::Volt),
    signed_count(0x0310, "discharged_energy", 2, Unit::KiloWattHour),
    signed_count(0x0311, "charged_energy", 2, Unit::KiloWattHour),
    flags(0x031C, "warning_reason", &ALARM_REASON),
    flags(0x031E, "alarm_reason", &ALARM_REASON),
    un(0x0382, "midpoint_voltage", 2, Unit::Volt),
    sn(0x0383, "midpoint_deviation", 1, Unit::Percent),
    un(0x0FFE, "remaining_mins", 0, Unit::Minute),
    un(0x0FFF, "soc", 2, Unit::Percent),
    count(0x2000, "network_algorithm"),
    un(0x2001, "network_target_voltage", 2, Unit::Volt),
    un(0x2002, "network_battery_voltage", 2, Unit::Volt),
    sn(0x2003, "network_battery_temperature", 2, Unit::Celsius),
    un(0x2007, "network_elapsed_time", 3, Unit::Second),
    un(0x2008, "network_absorption_time", 2, Unit::Hour),
    sn(0x200A, "network_battery_current", 3, Unit::Ampere),
    un(0x200B, "network_battery_idle_voltage", 2, Unit::Volt),
    Register { id: 0x200C, name: "network_device_state", format: Format::Enum(&DEVICE_STATE, true), unit: Unit::None },
    count(0x200D, "network_info"),
    count(0x200E, "network_mode"),
    count(0x200F, "network_status"),
    sn(0x2013, "network_charge_current", 3, Unit::Ampere),
    count(0x2015, "network_charge_current_limit"),
    un(0x2027, "network_panel_power", 2, Unit::Watt),
    count(0xEC3E, "parallel_charge_support"),
    un(0xED7D, "starter_voltage", 2, Unit::Volt),
    sn(0xED8C, "battery_current", 3, Unit::Ampere),
    sn(0xED8D, "battery_voltage", 2, Unit::Volt),
    sn(0xED8E, "battery_power", 0, Unit::Watt),
    sn(0xED8F, "battery_current", 1, Unit::Ampere),
    count(0xED91, "load_off_reason"),
    Register { id: 0xEDA8, name: "load_output_state", format: Format::Enum(&OUTPUT_STATE, true), unit: Unit::None },
    un(0xEDA9, "load_output_voltage", 2, Unit::Volt),
    count(0xEDAB, "load_output_control"),
    un(0xEDAD, "load_current", 1, Unit::Ampere),
    Register { id: 0xEDB3, name: "tracker_mode", format: Format::Enum(&TRACKER_MODE, true), unit: Unit::None },
    un(0xEDB8, "panel_max_voltage", 2, Unit::Volt),
    un(0xEDBB, "panel_voltage", 2, Unit::Volt),
    un(0xEDBC, "panel_power", 2, Unit::Watt),
    un(0xEDBD, "panel_current", 1, Unit::Ampere),
    un(0xEDD0, "max_power_yesterday", 0, Unit::Watt),
    un(0xEDD1, "yield_yesterday", 2, Unit::KiloWattHour),
    un(0xEDD2, "max_power_today", 0, Unit::Watt),
    un(0xEDD3, "yield_today", 2, Unit::KiloWattHour),
    count(0xEDD4, "additional_charger_state"),
    un(0xEDD5, "charger_voltage", 2, Unit::Volt),
    sn(0xEDD7, "charger_current", 1, Unit::Ampere),
    Register { id: 0xEDDA, name: "charger_error", format: Format::Enum(&CHARGER_ERROR, true), unit: Unit::None },
    sn(0xEDDB, "charger_internal_temperature", 2, Unit::Celsius),
    un(0xEDDC, "user_yield", 2, Unit::KiloWattHour),
    un(0xEDDD, "system_yield", 2, Unit::KiloWattHour),
    un(0xEDDF, "charger_max_current", 1, Unit::Ampere),
    kelvin(0xEDEC, "battery_temperature"),
    un(0xEDEF, "battery_system_voltage", 0, Unit::Volt),
    un(0xEDF0, "battery_max_current", 1, Unit::Ampere),
    count(0xEDF1, "battery_type"),
    signed_count(0xEDF2, "temperature_compensation", 2, Unit::MilliVoltPerCelsius),
    un(0xEDF4, "equalisation_voltage", 2, Unit::Volt),
    un(0xEDF5, "storage_voltage", 2, Unit::Volt),
    un(0xEDF6, "float_voltage", 2, Unit::Volt),
    un(0xEDF7, "absorption_voltage", 2, Unit::Volt),
    Register {
        id: 0xEEB6,
        name: "synchronized",
        format: Format::Unsigned { decimals: 0, offset: 0, na: false },
        unit: Unit::None,
    },
    Register { id: 0xEEB8, name: "monitor_mode", format: Format::Enum(&MONITOR_MODE, false), unit: Unit::None },
    signed_count(0xEEFF, "consumed_ah", 1, Unit::AmpHour),
];

/// Look a register up.
pub fn lookup(id: u16) -> Option<&'static Register> {
    REGISTERS.binary_search_by_key(&id, |r| r.id).ok().map(|i| &REGISTERS[i])
}

/// What a register's bytes mean.
#[derive(Debug, Clone, PartialEq)]
pub enum RegisterValue<'a> {
    /// A register of the dictionary.
    Field(Field<'a>),
    /// History of one day (0x1050 = today … 0x106E = 30 days ago).
    HistoryDay {
        /// How many days back (0 = today).
        days_ago: u8,
        /// The record.
        day: HistoryDay,
    },
    /// Lifetime history (0x104F).
    HistoryTotal(HistoryTotal),
    /// A register the dictionary does not know, or bytes that do not fit it: the raw bytes.
    Raw(&'a [u8]),
}

/// Decode the value bytes of register `id`.
pub fn decode(id: u16, bytes: &[u8]) -> RegisterValue<'_> {
    match id {
        0x104F => HistoryTotal::parse(bytes).map_or(RegisterValue::Raw(bytes), RegisterValue::HistoryTotal),
        0x1050..=0x106E => HistoryDay::parse(bytes)
            .map_or(RegisterValue::Raw(bytes), |day| RegisterValue::HistoryDay { days_ago: (id - 0x1050) as u8, day }),
        _ => match lookup(id).and_then(|r| decode_with(r, bytes)) {
            Some(f) => RegisterValue::Field(f),
            None => RegisterValue::Raw(bytes),
        },
    }
}

/// Little-endian integer of 1 to 4 bytes.
fn le(bytes: &[u8]) -> Option<u32> {
    (1..=4).contains(&bytes.len()).then(|| bytes.iter().rev().fold(0u32, |acc, b| acc << 8 | u32::from(*b)))
}

/// Decode with a known register; `None` when the bytes cannot be that register.
pub fn decode_with<'a>(reg: &'static Register, bytes: &'a [u8]) -> Option<Field<'a>> {
    let width = (bytes.len() * 8) as u8;
    let value = match reg.format {
        Format::Text => {
            let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
            Value::Text(core::str::from_utf8(&bytes[..end]).ok()?)
        }
        Format::ProductId => match bytes {
            [_, lo, hi, _] => Value::Number(Decimal::new(i64::from(u16::from_le_bytes([*lo, *hi])), 0)),
            _ => return None,
        },
        Format::Unsigned { decimals, offset, na } => {
            let raw = le(bytes)?;
            if na && raw == all_ones(width) {
                Value::NotAvailable
            } else {
                Value::Number(Decimal::new(i64::from(raw) + offset, decimals))
            }
        }
        Format::Signed { decimals, na } => {
            let raw = le(bytes)?;
            if na && raw == all_ones(width) >> 1 {
                Value::NotAvailable
            } else {
                Value::Number(Decimal::new(sign_extend(raw, width), decimals))
            }
        }
        Format::Enum(table, na) => {
            let raw = le(bytes)?;
            if na && raw == all_ones(width) {
                Value::NotAvailable
            } else if matches!(table.entries.first(), Some((v, _)) if *v < 0) {
                Value::Enum { raw: sign_extend(raw, width) as i32, table }
            } else {
                Value::Enum { raw: raw as i32, table }
            }
        }
        Format::Flags(table) => Value::Flags { raw: le(bytes)?, table },
    };
    Some(Field { name: reg.name, unit: reg.unit, value })
}

fn all_ones(width: u8) -> u32 {
    if width >= 32 {
        u32::MAX
    } else {
        (1u32 << width) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(id: u16, hex: &str) -> Field<'static> {
        let bytes: &'static [u8] = Box::leak(crate::hex::decode(hex).unwrap().into_boxed_slice());
        match decode(id, bytes) {
            RegisterValue::Field(f) => f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ids_are_sorted_and_unique() {
        assert!(REGISTERS.windows(2).all(|w| w[0].id < w[1].id));
    }

    /// Values from real HEX lines (pmarches/vedirect-hex-parser, koestler/go-victron, Okm165).
    #[test]
    fn real_values() {
        assert_eq!(field(0xEDBC, "22090000").value.as_f64(), Some(23.38));
        assert_eq!(field(0xEDD5, "0905").value.as_f64(), Some(12.89));
        assert_eq!(field(0xEDBB, "081C").value.as_f64(), Some(71.76));
        assert_eq!(field(0xEDBD, "0200").value.as_f64(), Some(0.2));
        assert_eq!(field(0xEDF0, "9600").value.as_f64(), Some(15.0));
        assert_eq!(field(0xEDF2, "ACF9").value.as_f64(), Some(-16.2));
        assert_eq!(field(0xEDEC, "CE72").value.as_f64(), Some(20.75));
        assert_eq!(field(0xEDDB, "0410").value.as_f64(), Some(41.0));
        assert_eq!(field(0x2003, "1C08").value.as_f64(), Some(20.76));
        assert_eq!(field(0x0201, "05").value.enum_name(), Some("float"));
        assert_eq!(field(0x0100, "0056A0FF").value.as_f64(), Some(f64::from(0xA056u16)));
        assert_eq!(field(0x010A, "4851313834304D414549340000").value, Value::Text("HQ1840MAEI4"));
    }

    #[test]
    fn not_available_by_width() {
        assert_eq!(field(0xEDBC, "FFFFFFFF").value, Value::NotAvailable);
        assert_eq!(field(0xEDD7, "FF7F").value, Value::NotAvailable);
        assert_eq!(field(0xEDD7, "FFFF").value.as_f64(), Some(-0.1));
        assert_eq!(field(0xEDD3, "FFFF").value, Value::NotAvailable);
        assert_eq!(field(0xEDD3, "10270000").value.as_f64(), Some(100.0));
    }

    #[test]
    fn unknown_register_is_raw() {
        assert_eq!(decode(0x7777, &[1, 2]), RegisterValue::Raw(&[1, 2]));
        assert_eq!(decode(0xEDBC, &[1, 2, 3, 4, 5]), RegisterValue::Raw(&[1, 2, 3, 4, 5]));
    }
}
