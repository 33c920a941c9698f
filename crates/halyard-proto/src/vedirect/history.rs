//! VE.Direct history records (ve_regs.h `VE_REG_HISTORY_TOTAL` 0x104F and
//! `VE_REG_HISTORY_DAY00` 0x1050 … 0x106E; victron.md §4.3). MPPTs send them as async HEX
//! messages; they answer "how much did the panels make each day" without any logging of ours.
//!
//! Day record (34 bytes, little-endian):
//!
//! | offset | size | field | scale |
//! |---|---|---|---|
//! | 0 | 1 | version | |
//! | 1 | 4 | yield | 0.01 kWh |
//! | 5 | 4 | consumed (load output) | 0.01 kWh |
//! | 9 | 2 | battery voltage max | 0.01 V |
//! | 11 | 2 | battery voltage min | 0.01 V |
//! | 13 | 1 | error database | |
//! | 14 | 4 | errors 0–3 (one byte each) | |
//! | 18 | 2 | time in bulk | min |
//! | 20 | 2 | time in absorption | min |
//! | 22 | 2 | time in float | min |
//! | 24 | 4 | max power | W |
//! | 28 | 2 | max battery current | 0.1 A |
//! | 30 | 2 | panel voltage max | 0.01 V |
//! | 32 | 2 | day sequence number | |
//!
//! Total record (34 bytes): version, error database, errors 0–3, user yield u32 and system yield
//! u32 (0.01 kWh), panel voltage max and battery voltage max (0.01 V), days available (u8), then
//! bytes no public source names (a u16 reading 1181, 1174 and 117 in three real samples, so not
//! a voltage; left undecoded) and all-ones padding. All-ones means "not available" everywhere.

use crate::{Decimal, Field, Unit, Value};

/// One day of MPPT history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryDay {
    /// Record layout version.
    pub version: u8,
    /// Energy to the battery, 0.01 kWh.
    pub yield_centi_kwh: Option<u32>,
    /// Energy through the load output, 0.01 kWh.
    pub consumed_centi_kwh: Option<u32>,
    /// Highest battery voltage, 0.01 V.
    pub battery_voltage_max: Option<u16>,
    /// Lowest battery voltage, 0.01 V.
    pub battery_voltage_min: Option<u16>,
    /// Error database id.
    pub error_database: u8,
    /// The day's last four error codes.
    pub errors: [u8; 4],
    /// Minutes in bulk.
    pub bulk_minutes: Option<u16>,
    /// Minutes in absorption.
    pub absorption_minutes: Option<u16>,
    /// Minutes in float.
    pub float_minutes: Option<u16>,
    /// Highest panel power, W.
    pub max_power: Option<u32>,
    /// Highest battery current, 0.1 A.
    pub max_battery_current: Option<u16>,
    /// Highest panel voltage, 0.01 V.
    pub panel_voltage_max: Option<u16>,
    /// The device's day counter (`HSDS` in text mode).
    pub day_sequence: Option<u16>,
}

/// Lifetime MPPT history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryTotal {
    /// Record layout version.
    pub version: u8,
    /// Error database id.
    pub error_database: u8,
    /// The last four error codes.
    pub errors: [u8; 4],
    /// Resettable total yield, 0.01 kWh.
    pub user_yield_centi_kwh: Option<u32>,
    /// Lifetime yield, 0.01 kWh.
    pub system_yield_centi_kwh: Option<u32>,
    /// Highest panel voltage ever, 0.01 V.
    pub panel_voltage_max: Option<u16>,
    /// Highest battery voltage ever, 0.01 V.
    pub battery_voltage_max: Option<u16>,
    /// Number of days of history available.
    pub days_available: Option<u8>,
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    let v = u16::from_le_bytes([b[i], b[i + 1]]);
    (v != u16::MAX).then_some(v)
}
fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    let v = u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (v != u32::MAX).then_some(v)
}

/// Length of both records.
pub const RECORD_LEN: usize = 34;

impl HistoryDay {
    /// Parse the 34 value bytes (after register id and flags). `None` if shorter.
    pub fn parse(b: &[u8]) -> Option<Self> {
        if b.len() < RECORD_LEN {
            return None;
        }
        Some(HistoryDay {
            version: b[0],
            yield_centi_kwh: u32_at(b, 1),
            consumed_centi_kwh: u32_at(b, 5),
            battery_voltage_max: u16_at(b, 9),
            battery_voltage_min: u16_at(b, 11),
            error_database: b[13],
            errors: [b[14], b[15], b[16], b[17]],
            bulk_minutes: u16_at(b, 18),
            absorption_minutes: u16_at(b, 20),
            float_minutes: u16_at(b, 22),
            max_power: u32_at(b, 24),
            max_battery_current: u16_at(b, 28),
            panel_voltage_max: u16_at(b, 30),
            day_sequence: u16_at(b, 32),
        })
    }

    /// The record as named fields.
    pub fn fields(&self) -> [Field<'static>; 10] {
        [
            num("yield", self.yield_centi_kwh.map(u64::from), 2, Unit::KiloWattHour),
            num("consumed", self.consumed_centi_kwh.map(u64::from), 2, Unit::KiloWattHour),
            num("battery_voltage_max", self.battery_voltage_max.map(u64::from), 2, Unit::Volt),
            num("battery_voltage_min", self.battery_voltage_min.map(u64::from), 2, Unit::Volt),
            num("bulk_time", self.bulk_minutes.map(u64::from), 0, Unit::Minute),
            num("absorption_time", self.absorption_minutes.map(u64::from), 0, Unit::Minute),
            num("float_time", self.float_minutes.map(u64::from), 0, Unit::Minute),
            num("max_power", self.max_power.map(u64::from), 0, Unit::Watt),
            num("max_battery_current", self.max_battery_current.map(u64::from), 1, Unit::Ampere),
            num("panel_voltage_max", self.panel_voltage_max.map(u64::from), 2, Unit::Volt),
        ]
    }
}

impl HistoryTotal {
    /// Parse the 34 value bytes (after register id and flags). `None` if shorter than the
    /// 19 bytes that carry named fields.
    pub fn parse(b: &[u8]) -> Option<Self> {
        if b.len() < 19 {
            return None;
        }
        Some(HistoryTotal {
            version: b[0],
            error_database: b[1],
            errors: [b[2], b[3], b[4], b[5]],
            user_yield_centi_kwh: u32_at(b, 6),
            system_yield_centi_kwh: u32_at(b, 10),
            panel_voltage_max: u16_at(b, 14),
            battery_voltage_max: u16_at(b, 16),
            days_available: (b[18] != u8::MAX).then_some(b[18]),
        })
    }

    /// The record as named fields.
    pub fn fields(&self) -> [Field<'static>; 5] {
        [
            num("user_yield", self.user_yield_centi_kwh.map(u64::from), 2, Unit::KiloWattHour),
            num("system_yield", self.system_yield_centi_kwh.map(u64::from), 2, Unit::KiloWattHour),
            num("panel_voltage_max", self.panel_voltage_max.map(u64::from), 2, Unit::Volt),
            num("battery_voltage_max", self.battery_voltage_max.map(u64::from), 2, Unit::Volt),
            num("days_available", self.days_available.map(u64::from), 0, Unit::None),
        ]
    }
}

fn num(name: &'static str, v: Option<u64>, decimals: u8, unit: Unit) -> Field<'static> {
    let value = v.map_or(Value::NotAvailable, |v| Value::Number(Decimal::new(v as i64, decimals)));
    Field { name, unit, value }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(hex: &str) -> Vec<u8> {
        crate::hex::decode(hex).unwrap()
    }

    /// karioja/vedirect bluesolar_1.23.dump, async line `:A5010000000…1201 72`: vbat max 12.61 V,
    /// min 12.22 V, bulk 194 min, Pmax 11 W (= the block's H21), Ibat max 0.9 A, Vpv max 35.28 V,
    /// day 274 (= HSDS).
    #[test]
    fn bluesolar_day() {
        let d =
            HistoryDay::parse(&bytes("000000000000000000ED04C6040000000000C200000000000B0000000900C80D1201")).unwrap();
        assert_eq!(d.yield_centi_kwh, Some(0));
        assert_eq!((d.battery_voltage_max, d.battery_voltage_min), (Some(1261), Some(1222)));
        assert_eq!(d.bulk_minutes, Some(194));
        assert_eq!(d.max_power, Some(11));
        assert_eq!(d.max_battery_current, Some(9));
        assert_eq!(d.panel_voltage_max, Some(3528));
        assert_eq!(d.day_sequence, Some(274));
        assert_eq!(HistoryDay::parse(&[0; 33]), None);
    }

    /// pmarches/vedirect-hex-parser history day: yield 1.27 kWh, consumed N/A, 14.30/12.47 V,
    /// bulk 163, abs 387, float 119 min, Pmax 372 W, Ibat max 25.6 A, Vpv max 43.92 V, day 247.
    #[test]
    fn smartsolar_day() {
        let d =
            HistoryDay::parse(&bytes("007F000000FFFFFFFF9605DF040000000000A300830177007401000000012811F700")).unwrap();
        assert_eq!(d.yield_centi_kwh, Some(127));
        assert_eq!(d.consumed_centi_kwh, None);
        assert_eq!((d.battery_voltage_max, d.battery_voltage_min), (Some(1430), Some(1247)));
        assert_eq!((d.bulk_minutes, d.absorption_minutes, d.float_minutes), (Some(163), Some(387), Some(119)));
        assert_eq!(d.max_power, Some(372));
        assert_eq!(d.max_battery_current, Some(256));
        assert_eq!(d.panel_voltage_max, Some(4392));
        assert_eq!(d.day_sequence, Some(247));
    }

    /// Okm165/ve_direct MPPT 75/15 total: 1.73 kWh user and system, 22.77 V, 14.54 V, 19 days.
    #[test]
    fn total() {
        let t = HistoryTotal::parse(&bytes("010000000000AD000000AD000000E508AE05139D04FFFFFFFFFFFFFFFFFFFFFFFFFF"))
            .unwrap();
        assert_eq!((t.user_yield_centi_kwh, t.system_yield_centi_kwh), (Some(173), Some(173)));
        assert_eq!((t.panel_voltage_max, t.battery_voltage_max), (Some(2277), Some(1454)));
        assert_eq!(t.days_available, Some(19));
    }
}
