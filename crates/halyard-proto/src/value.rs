//! The vocabulary every decoder reports in: named fields with one unit and an exact value.

use core::fmt;

/// The unit a field is reported in (DESIGN.md §4.3: SI-friendly, one unit per metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// A count, code, enumeration or text: no unit.
    None,
    /// Volt.
    Volt,
    /// Ampere.
    Ampere,
    /// Watt.
    Watt,
    /// Volt-ampere (apparent power).
    VoltAmpere,
    /// Kilowatt-hour.
    KiloWattHour,
    /// Ampere-hour.
    AmpHour,
    /// Percent.
    Percent,
    /// Degree Celsius.
    Celsius,
    /// Millivolt per degree Celsius (temperature compensation).
    MilliVoltPerCelsius,
    /// Second.
    Second,
    /// Minute.
    Minute,
    /// Hour.
    Hour,
    /// Hertz (AC frequency).
    Hertz,
    /// Litre (a tank's contents).
    Litre,
    /// Hectopascal (air pressure).
    HectoPascal,
    /// Metre (depth, altitude).
    Metre,
    /// Degree of arc (latitude, heading, angles).
    Degree,
    /// Knot (speeds through the water and over the ground, wind).
    Knot,
    /// Degree per minute (rate of turn, as NMEA 0183's ROT).
    DegreePerMinute,
    /// Revolutions per minute (engine speed).
    Rpm,
    /// Litre per hour (fuel rate).
    LitrePerHour,
}

impl Unit {
    /// The conventional symbol, empty for [`Unit::None`].
    pub const fn symbol(self) -> &'static str {
        match self {
            Unit::None => "",
            Unit::Volt => "V",
            Unit::Ampere => "A",
            Unit::Watt => "W",
            Unit::VoltAmpere => "VA",
            Unit::KiloWattHour => "kWh",
            Unit::AmpHour => "Ah",
            Unit::Percent => "%",
            Unit::Celsius => "°C",
            Unit::MilliVoltPerCelsius => "mV/°C",
            Unit::Second => "s",
            Unit::Minute => "min",
            Unit::Hour => "h",
            Unit::Hertz => "Hz",
            Unit::Litre => "L",
            Unit::HectoPascal => "hPa",
            Unit::Metre => "m",
            Unit::Degree => "°",
            Unit::Knot => "kn",
            Unit::DegreePerMinute => "°/min",
            Unit::Rpm => "rpm",
            Unit::LitrePerHour => "L/h",
        }
    }
}

/// An exact decimal number: `units / 10^decimals`.
///
/// Devices send scaled integers (0.01 V, 0.1 A, mA …). Keeping them as integers means a value
/// is printed exactly as the device meant it (13.88, never 13.879999) and compares exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    /// The value in units of `10^-decimals`.
    pub units: i64,
    /// How many decimal places `units` carries.
    pub decimals: u8,
}

impl Decimal {
    /// A decimal from a scaled integer.
    pub const fn new(units: i64, decimals: u8) -> Self {
        Decimal { units, decimals }
    }

    /// The nearest `f64`.
    pub fn to_f64(self) -> f64 {
        let mut scale = 1.0;
        for _ in 0..self.decimals {
            scale *= 10.0;
        }
        self.units as f64 / scale
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.decimals == 0 {
            return write!(f, "{}", self.units);
        }
        let scale = 10u64.pow(u32::from(self.decimals));
        let sign = if self.units < 0 { "-" } else { "" };
        let abs = self.units.unsigned_abs();
        write!(f, "{sign}{}.{:0width$}", abs / scale, abs % scale, width = usize::from(self.decimals))
    }
}

/// Names for the values of an enumerated field (device state, charger error …).
#[derive(Debug)]
pub struct EnumTable {
    /// What the enumeration is, for messages.
    pub what: &'static str,
    /// `(raw value, snake_case name)` pairs.
    pub entries: &'static [(i32, &'static str)],
}

/// Tables are compared by identity: two fields share a table or they do not.
impl PartialEq for EnumTable {
    fn eq(&self, other: &Self) -> bool {
        core::ptr::eq(self, other)
    }
}

impl EnumTable {
    /// The name of `raw`, if the table defines one.
    pub fn name(&self, raw: i32) -> Option<&'static str> {
        self.entries.iter().find(|(v, _)| *v == raw).map(|(_, n)| *n)
    }
}

/// Names for the bits of a bit-set field (off reason, alarm reason, BMS flags …).
///
/// Bit sets are never enumerations: devices report combinations (0x81 = no input power and
/// engine shutdown on an Orion, keshavdv/victron-ble#20), and unknown bits are kept.
#[derive(Debug)]
pub struct FlagTable {
    /// What the bit set is, for messages.
    pub what: &'static str,
    /// `(bit mask, snake_case name)` pairs.
    pub bits: &'static [(u32, &'static str)],
}

/// Tables are compared by identity.
impl PartialEq for FlagTable {
    fn eq(&self, other: &Self) -> bool {
        core::ptr::eq(self, other)
    }
}

impl FlagTable {
    /// The names of the set bits that the table knows, lowest bit first.
    pub fn names(&'static self, raw: u32) -> impl Iterator<Item = &'static str> {
        self.bits.iter().filter(move |(m, _)| raw & m != 0).map(|(_, n)| *n)
    }

    /// Set bits the table has no name for.
    pub fn unknown_bits(&self, raw: u32) -> u32 {
        raw & !self.bits.iter().fold(0, |acc, (m, _)| acc | m)
    }
}

/// One decoded value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// A measured or configured quantity.
    Number(Decimal),
    /// An enumeration: the raw code and, where defined, its name.
    Enum {
        /// The raw code as the device sent it.
        raw: i32,
        /// Names for the codes.
        table: &'static EnumTable,
    },
    /// A bit set.
    Flags {
        /// The raw bits.
        raw: u32,
        /// Names for the bits.
        table: &'static FlagTable,
    },
    /// On/off.
    Bool(bool),
    /// Text as the device sent it (serial numbers, firmware versions, model names).
    Text(&'a str),
    /// The device says it does not know this value (its "not available" sentinel).
    NotAvailable,
}

impl<'a> Value<'a> {
    /// The value as a number, if it is one (enumerations and bit sets give their raw code).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Number(d) => Some(d.to_f64()),
            Value::Enum { raw, .. } => Some(f64::from(raw)),
            Value::Flags { raw, .. } => Some(f64::from(raw)),
            Value::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            Value::Text(_) | Value::NotAvailable => None,
        }
    }

    /// The name of an enumerated value, if it has one.
    pub fn enum_name(&self) -> Option<&'static str> {
        match *self {
            Value::Enum { raw, table } => table.name(raw),
            _ => None,
        }
    }
}

/// A named value with its unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Field<'a> {
    /// snake_case name in the user's words (`battery_voltage`, `yield_today`).
    pub name: &'static str,
    /// The unit of `value`.
    pub unit: Unit,
    /// The value.
    pub value: Value<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_display_is_exact() {
        assert_eq!(Decimal::new(1388, 2).to_string(), "13.88");
        assert_eq!(Decimal::new(-1, 2).to_string(), "-0.01");
        assert_eq!(Decimal::new(-128, 1).to_string(), "-12.8");
        assert_eq!(Decimal::new(5, 3).to_string(), "0.005");
        assert_eq!(Decimal::new(42, 0).to_string(), "42");
        assert_eq!(Decimal::new(i64::MIN, 2).to_string(), "-92233720368547758.08");
    }

    #[test]
    fn flag_names_keep_unknown_bits() {
        static T: FlagTable = FlagTable { what: "test", bits: &[(1, "a"), (4, "c")] };
        let names: Vec<_> = T.names(0x85).collect();
        assert_eq!(names, ["a", "c"]);
        assert_eq!(T.unknown_bits(0x85), 0x80);
    }
}
