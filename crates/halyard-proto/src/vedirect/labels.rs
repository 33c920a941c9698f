//! What each VE.Direct text label means (vedirect-3.34.pdf p.6–9; victron.md §4.1).
//!
//! Names follow the register dictionary where both carry the same quantity, so a metric has one
//! name whether it arrived as text, as HEX or over VE.Smart networking.

use crate::victron::reasons::{ALARM_REASON, OFF_REASON};
use crate::victron::states::{CHARGER_ERROR, DEVICE_STATE, MONITOR_MODE, TRACKER_MODE};
use crate::{Decimal, EnumTable, Field, FlagTable, Unit, Value};

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Decimal integer, `decimals` places after scaling to `unit`.
    Int(u8, Unit),
    /// Decimal integer, "-1" means not available (TTG when not discharging).
    IntMinusOneNa(u8, Unit),
    /// Temperature in °C, `---` when no sensor.
    Temperature,
    /// Enumeration in decimal.
    Enum(&'static EnumTable),
    /// Bit set in decimal.
    Flags(&'static FlagTable),
    /// Bit set in `0x` hex.
    HexFlags(&'static FlagTable),
    /// Number in `0x` hex (product id, capabilities).
    HexNumber,
    /// ON/OFF.
    OnOff,
    /// Kept as text.
    Text,
}

struct Label {
    label: &'static str,
    name: &'static str,
    kind: Kind,
}

const fn l(label: &'static str, name: &'static str, kind: Kind) -> Label {
    Label { label, name, kind }
}

use Kind::*;

static LABELS: &[Label] = &[
    l("V", "battery_voltage", Int(3, Unit::Volt)),
    l("V2", "battery2_voltage", Int(3, Unit::Volt)),
    l("V3", "battery3_voltage", Int(3, Unit::Volt)),
    l("VS", "starter_voltage", Int(3, Unit::Volt)),
    l("VM", "midpoint_voltage", Int(3, Unit::Volt)),
    l("DM", "midpoint_deviation", Int(1, Unit::Percent)),
    l("VPV", "panel_voltage", Int(3, Unit::Volt)),
    l("PPV", "panel_power", Int(0, Unit::Watt)),
    l("I", "battery_current", Int(3, Unit::Ampere)),
    l("I2", "battery2_current", Int(3, Unit::Ampere)),
    l("I3", "battery3_current", Int(3, Unit::Ampere)),
    l("IL", "load_current", Int(3, Unit::Ampere)),
    l("LOAD", "load_output", OnOff),
    l("T", "battery_temperature", Temperature),
    l("P", "battery_power", Int(0, Unit::Watt)),
    l("CE", "consumed_ah", Int(3, Unit::AmpHour)),
    l("SOC", "soc", Int(1, Unit::Percent)),
    l("TTG", "remaining_mins", IntMinusOneNa(0, Unit::Minute)),
    l("Alarm", "alarm_active", OnOff),
    l("Relay", "relay", OnOff),
    l("AR", "alarm_reason", Flags(&ALARM_REASON)),
    l("WARN", "warning_reason", Flags(&ALARM_REASON)),
    l("OR", "off_reason", HexFlags(&OFF_REASON)),
    l("H1", "deepest_discharge", Int(3, Unit::AmpHour)),
    l("H2", "last_discharge", Int(3, Unit::AmpHour)),
    l("H3", "average_discharge", Int(3, Unit::AmpHour)),
    l("H4", "charge_cycles", Int(0, Unit::None)),
    l("H5", "full_discharges", Int(0, Unit::None)),
    l("H6", "cumulative_ah_drawn", Int(3, Unit::AmpHour)),
    l("H7", "min_battery_voltage", Int(3, Unit::Volt)),
    l("H8", "max_battery_voltage", Int(3, Unit::Volt)),
    l("H9", "seconds_since_full", Int(0, Unit::Second)),
    l("H10", "automatic_syncs", Int(0, Unit::None)),
    l("H11", "low_voltage_alarms", Int(0, Unit::None)),
    l("H12", "high_voltage_alarms", Int(0, Unit::None)),
    l("H13", "low_aux_voltage_alarms", Int(0, Unit::None)),
    l("H14", "high_aux_voltage_alarms", Int(0, Unit::None)),
    l("H15", "min_aux_voltage", Int(3, Unit::Volt)),
    l("H16", "max_aux_voltage", Int(3, Unit::Volt)),
    l("H17", "discharged_energy", Int(2, Unit::KiloWattHour)),
    l("H18", "charged_energy", Int(2, Unit::KiloWattHour)),
    l("H19", "user_yield", Int(2, Unit::KiloWattHour)),
    l("H20", "yield_today", Int(2, Unit::KiloWattHour)),
    l("H21", "max_power_today", Int(0, Unit::Watt)),
    l("H22", "yield_yesterday", Int(2, Unit::KiloWattHour)),
    l("H23", "max_power_yesterday", Int(0, Unit::Watt)),
    l("ERR", "charger_error", Enum(&CHARGER_ERROR)),
    l("CS", "device_state", Enum(&DEVICE_STATE)),
    l("MPPT", "tracker_mode", Enum(&TRACKER_MODE)),
    l("MON", "monitor_mode", Enum(&MONITOR_MODE)),
    l("BMV", "model_description", Text),
    l("FW", "firmware", Text),
    l("FWE", "firmware", Text),
    l("PID", "product_id", HexNumber),
    l("SER#", "serial_number", Text),
    l("HSDS", "day_sequence", Int(0, Unit::None)),
    l("MODE", "device_mode", Int(0, Unit::None)),
    l("AC_OUT_V", "ac_out_voltage", Int(2, Unit::Volt)),
    l("AC_OUT_I", "ac_out_current", Int(1, Unit::Ampere)),
    l("AC_OUT_S", "ac_out_apparent_power", Int(0, Unit::VoltAmpere)),
    l("DC_IN_V", "dc_in_voltage", Int(2, Unit::Volt)),
    l("DC_IN_I", "dc_in_current", Int(1, Unit::Ampere)),
    l("DC_IN_P", "dc_in_power", Int(0, Unit::Watt)),
    l("CAP_BLE", "ble_capabilities", HexNumber),
];

/// Why a known label's value could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueError {
    /// The label.
    pub label: &'static str,
}

impl core::fmt::Display for ValueError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "malformed value for VE.Direct label {}", self.label)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ValueError {}

/// Decode one text field. `None` for labels this table does not know (kept by callers as raw
/// text); `Some(Err)` for a known label whose value is malformed.
pub fn decode<'a>(label: &str, value: &'a str) -> Option<Result<Field<'a>, ValueError>> {
    let spec = LABELS.iter().find(|s| s.label == label)?;
    let err = ValueError { label: spec.label };
    let v = value.trim();
    let unit = match spec.kind {
        Int(_, u) | IntMinusOneNa(_, u) => u,
        Temperature => Unit::Celsius,
        _ => Unit::None,
    };
    let value = match spec.kind {
        Int(decimals, _) => v.parse::<i64>().ok().map(|n| Value::Number(Decimal::new(n, decimals))),
        IntMinusOneNa(decimals, _) => v.parse::<i64>().ok().map(|n| match n {
            -1 => Value::NotAvailable,
            n => Value::Number(Decimal::new(n, decimals)),
        }),
        Temperature if v.starts_with("---") => Some(Value::NotAvailable),
        Temperature => v.parse::<i64>().ok().map(|n| Value::Number(Decimal::new(n, 0))),
        Enum(table) => v.parse::<i32>().ok().map(|raw| Value::Enum { raw, table }),
        Flags(table) => v.parse::<u32>().ok().map(|raw| Value::Flags { raw, table }),
        HexFlags(table) => parse_hex(v).map(|raw| Value::Flags { raw, table }),
        HexNumber => parse_hex(v).map(|n| Value::Number(Decimal::new(i64::from(n), 0))),
        OnOff if v.eq_ignore_ascii_case("ON") => Some(Value::Bool(true)),
        OnOff if v.eq_ignore_ascii_case("OFF") => Some(Value::Bool(false)),
        OnOff => None,
        Text => Some(Value::Text(value)),
    };
    Some(value.map(|value| Field { name: spec.name, unit, value }).ok_or(err))
}

fn parse_hex(v: &str) -> Option<u32> {
    let digits = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")).unwrap_or(v);
    u32::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(label: &str, value: &str) -> Option<f64> {
        decode(label, value).unwrap().unwrap().value.as_f64()
    }

    /// Spot checks of shared/data/vedirect/README.md.
    #[test]
    fn documented_units() {
        assert_eq!(num("V", "12530"), Some(12.53));
        assert_eq!(num("I", "-7625"), Some(-7.625));
        assert_eq!(num("CE", "-65473"), Some(-65.473));
        assert_eq!(num("SOC", "839"), Some(83.9));
        assert_eq!(num("H19", "8272"), Some(82.72));
        assert_eq!(num("VS", "29"), Some(0.029));
        assert_eq!(num("PID", "0xA042"), Some(f64::from(0xA042u16)));
        assert_eq!(num("TTG", "-1"), None);
        assert_eq!(num("T", "---"), None);
        assert_eq!(num("LOAD", "ON"), Some(1.0));
        assert_eq!(num("Relay", "Off"), Some(0.0));
        let or = decode("OR", "0x00000001").unwrap().unwrap();
        assert!(matches!(or.value, Value::Flags { raw: 1, .. }));
        assert_eq!(decode("CS", "3").unwrap().unwrap().value.enum_name(), Some("bulk"));
    }

    #[test]
    fn unknown_and_malformed() {
        assert!(decode("XYZ", "1").is_none());
        assert_eq!(decode("V", "12.5"), Some(Err(ValueError { label: "V" })));
        assert_eq!(decode("LOAD", "MAYBE"), Some(Err(ValueError { label: "LOAD" })));
    }
}
