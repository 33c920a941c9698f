//! The PGNs Halyard decodes: each a table of fields (name, bit position, width, signedness and
//! how the raw number becomes a value in Halyard's units), written from the public PGN
//! documentation as canboat's database records it. Field names are the documentation's names in
//! snake_case (`wind_speed`, `state_of_charge`); values are in Halyard's units: V, A, °C,
//! degrees, knots, metres, %, seconds, hPa.
//!
//! Fields are packed little-endian, least significant bit first. The highest values of a number
//! field are not values — every bit set is "not available", one less "out of range", one less
//! again reserved (3 values for fields of a byte or more, 2 for 4–7 bits, 1 for 2–3 bits, as
//! the ranges of canboat's database stop short of the top) — and decode as
//! [`Value::NotAvailable`], never as a number.

use super::lookups::*;
use crate::{Decimal, EnumTable, FlagTable, Unit, Value};

/// How a field's raw bits become a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// `raw × num / den + offset` in units of 10^-`decimals` of `unit` (rounded half away from
    /// zero: a conversion such as radians to degrees is not exact).
    Number {
        /// The unit.
        unit: Unit,
        /// Multiplier.
        num: i128,
        /// Divisor.
        den: i128,
        /// Added after scaling, in output units.
        offset: i64,
        /// Decimal places of the output.
        decimals: u8,
    },
    /// An enumeration.
    Lookup(&'static EnumTable),
    /// A bit set.
    Flags(&'static FlagTable),
    /// Days since 1970-01-01.
    Date,
    /// Fixed-length ASCII, padded with NUL, 0xFF, `@` or spaces.
    Text,
    /// A variable-length string (canboat's STRING_LAU: a length byte counting itself, a byte
    /// saying ASCII (1) or UTF-16 (0), the characters), the `offset`-th of the message's
    /// strings, which follow each other from its first byte (126998's three texts).
    VarText,
    /// An unsigned integer whose every value is a value (the fields of an ISO NAME).
    Raw,
}

/// One field of a PGN.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldDef {
    /// snake_case of the documentation's name.
    pub name: &'static str,
    /// First bit.
    pub offset: u16,
    /// Width in bits (1–64; text: whole bytes).
    pub bits: u16,
    /// Two's complement.
    pub signed: bool,
    /// How to read it.
    pub kind: Kind,
}

/// A PGN Halyard decodes.
#[derive(Debug)]
pub struct PgnDef {
    /// The number.
    pub pgn: u32,
    /// The documentation's title.
    pub description: &'static str,
    /// Its fields (reserved bits left out).
    pub fields: &'static [FieldDef],
}

/// A number: `raw × scale.0 / scale.1` in units of 10^-`decimals` of `unit`.
const fn n(
    name: &'static str,
    offset: u16,
    bits: u16,
    signed: bool,
    unit: Unit,
    (num, den): (i128, i128),
    decimals: u8,
) -> FieldDef {
    FieldDef { name, offset, bits, signed, kind: Kind::Number { unit, num, den, offset: 0, decimals } }
}
/// A count, instance or sequence id.
const fn count(name: &'static str, offset: u16, bits: u16) -> FieldDef {
    n(name, offset, bits, false, Unit::None, (1, 1), 0)
}
/// 0.0001 rad as degrees (3 decimals: the resolution is 0.0057°).
const fn angle(name: &'static str, offset: u16, signed: bool) -> FieldDef {
    n(name, offset, 16, signed, Unit::Degree, (5_729_577_951_308_232, 1_000_000_000_000_000), 3)
}
/// 0.01 m/s as knots (0.01 kn: × 3600 / 1852).
const fn speed(name: &'static str, offset: u16) -> FieldDef {
    n(name, offset, 16, false, Unit::Knot, (3600, 1852), 2)
}
/// Kelvin at 10^-`decimals` per bit as °C (tenths are read at 2 decimals: 273.15 K).
const fn kelvin(name: &'static str, offset: u16, bits: u16, decimals: u8) -> FieldDef {
    let (num, zero, decimals) = match decimals {
        1 => (10, 27_315, 2),
        2 => (1, 27_315, 2),
        _ => (1, 273_150, 3),
    };
    FieldDef {
        name,
        offset,
        bits,
        signed: false,
        kind: Kind::Number { unit: Unit::Celsius, num, den: 1, offset: -zero, decimals },
    }
}
/// Percent at 0.004 % (3 decimals).
const fn fine_percent(name: &'static str, offset: u16) -> FieldDef {
    n(name, offset, 16, true, Unit::Percent, (4, 1), 3)
}
/// Pascal at `pa` per bit as hPa (at 3 decimals when finer than 100 Pa).
const fn pressure(name: &'static str, offset: u16, bits: u16, signed: bool, pa_per_bit_tenths: i128) -> FieldDef {
    // tenths of a pascal per bit → thousandths of a hPa: ×1 (0.1 Pa = 0.001 hPa)
    n(name, offset, bits, signed, Unit::HectoPascal, (pa_per_bit_tenths, 1), 3)
}
const fn lookup(name: &'static str, offset: u16, bits: u16, table: &'static EnumTable) -> FieldDef {
    FieldDef { name, offset, bits, signed: false, kind: Kind::Lookup(table) }
}
const fn date(name: &'static str, offset: u16) -> FieldDef {
    FieldDef { name, offset, bits: 16, signed: false, kind: Kind::Date }
}
/// 0.0001 s since midnight.
const fn time(name: &'static str, offset: u16) -> FieldDef {
    n(name, offset, 32, false, Unit::Second, (1, 1), 4)
}

/// Fixed-length text of `bytes` bytes.
const fn text_field(name: &'static str, offset: u16, bytes: u16) -> FieldDef {
    FieldDef { name, offset, bits: bytes * 8, signed: false, kind: Kind::Text }
}
/// The `index`-th variable-length string of a message (see [`Kind::VarText`]).
const fn var_text(name: &'static str, index: u16) -> FieldDef {
    FieldDef { name, offset: index, bits: 8, signed: false, kind: Kind::VarText }
}
/// A code kept as a number.
const fn code(name: &'static str, offset: u16, bits: u16) -> FieldDef {
    lookup(name, offset, bits, &CODE)
}
/// An integer with no "not available" value (codes whose every value is named, as AIS's).
const fn raw(name: &'static str, offset: u16, bits: u16) -> FieldDef {
    FieldDef { name, offset, bits, signed: false, kind: Kind::Raw }
}
/// A signed speed at 0.01 m/s, as knots.
const fn velocity(name: &'static str, offset: u16) -> FieldDef {
    n(name, offset, 16, true, Unit::Knot, (3600, 1852), 2)
}

const SID: FieldDef = count("sid", 0, 8);

/// The AIS PGNs (129038, 129039, 129041, 129793) open with the same seven fields: the message
/// id, the repeat indicator, the MMSI and the position with its accuracy and RAIM flag (ITU-R
/// M.1371 as NMEA 2000 carries it).
macro_rules! ais {
    ($pgn:expr, $description:expr, [$($more:expr),* $(,)?]) => {
        PgnDef {
            pgn: $pgn,
            description: $description,
            fields: &[
                code("message_id", 0, 6),
                raw("repeat_indicator", 6, 2),
                count("user_id", 8, 32),
                n("longitude", 40, 32, true, Unit::Degree, (1, 1), 7),
                n("latitude", 72, 32, true, Unit::Degree, (1, 1), 7),
                code("position_accuracy", 104, 1),
                code("raim", 105, 1),
                $($more),*
            ],
        }
    };
}

/// The AIS position reports (129038, 129039) share their first twelve fields (messages 1–3
/// and 18).
macro_rules! ais_position_report {
    ($pgn:expr, $description:expr, [$($more:expr),* $(,)?]) => {
        ais!(
            $pgn,
            $description,
            [
                raw("time_stamp", 106, 6),
                angle("cog", 112, false),
                speed("sog", 128),
                code("ais_transceiver_information", 163, 5),
                angle("heading", 168, false),
                $($more),*
            ]
        )
    };
}

/// AC power and current of one phase (127744–127746: phases A, B, C).
macro_rules! ac_power {
    ($pgn:expr, $description:expr) => {
        PgnDef {
            pgn: $pgn,
            description: $description,
            fields: &[
                SID,
                count("connection_number", 8, 8),
                n("ac_rms_current", 16, 16, false, Unit::Ampere, (1, 1), 1),
                n("power", 32, 32, true, Unit::Watt, (1, 1), 0),
            ],
        }
    };
}

/// AC voltage and frequency of one phase (127747–127749: phases A, B, C).
macro_rules! ac_voltage {
    ($pgn:expr, $description:expr) => {
        PgnDef {
            pgn: $pgn,
            description: $description,
            fields: &[
                SID,
                count("connection_number", 8, 8),
                n("ac_voltage_line_to_neutral", 16, 16, false, Unit::Volt, (1, 1), 1),
                n("ac_voltage_line_to_line", 32, 16, false, Unit::Volt, (1, 1), 1),
                n("frequency", 48, 16, false, Unit::Hertz, (1, 1), 1),
            ],
        }
    };
}

/// Every PGN Halyard decodes, by number.
pub static PGNS: &[PgnDef] = &[
    PgnDef { pgn: 59_904, description: "ISO Request", fields: &[count("pgn", 0, 24)] },
    PgnDef {
        pgn: 60_928,
        description: "ISO Address Claim",
        fields: &[
            // The NAME (ISO 11783-5): every value of its fields is a value.
            raw("unique_number", 0, 21),
            code("manufacturer_code", 21, 11),
            raw("device_instance_lower", 32, 3),
            raw("device_instance_upper", 35, 5),
            code("device_function", 40, 8),
            code("device_class", 49, 7),
            raw("system_instance", 56, 4),
            code("industry_group", 60, 3),
            lookup("arbitrary_address_capable", 63, 1, &YES_NO),
        ],
    },
    PgnDef {
        pgn: 126_992,
        description: "System Time",
        fields: &[SID, lookup("source", 8, 4, &SYSTEM_TIME), date("date", 16), time("time", 32)],
    },
    PgnDef {
        pgn: 126_993,
        description: "Heartbeat",
        fields: &[
            n("data_transmit_offset", 0, 16, false, Unit::Second, (1, 1), 2),
            count("sequence_counter", 16, 8),
            lookup("controller_1_state", 24, 2, &CONTROLLER_STATE),
            lookup("controller_2_state", 26, 2, &CONTROLLER_STATE),
            lookup("equipment_status", 28, 2, &EQUIPMENT_STATUS),
        ],
    },
    PgnDef {
        pgn: 126_996,
        description: "Product Information",
        fields: &[
            n("nmea_2000_version", 0, 16, false, Unit::None, (1, 1), 3),
            count("product_code", 16, 16),
            text_field("model_id", 32, 32),
            text_field("software_version_code", 288, 32),
            text_field("model_version", 544, 32),
            text_field("model_serial_code", 800, 32),
            code("certification_level", 1056, 8),
            count("load_equivalency", 1064, 8),
        ],
    },
    PgnDef {
        pgn: 126_998,
        description: "Configuration Information",
        fields: &[
            var_text("installation_description_1", 0),
            var_text("installation_description_2", 1),
            var_text("manufacturer_information", 2),
        ],
    },
    PgnDef {
        pgn: 127_237,
        description: "Heading/Track control",
        fields: &[
            lookup("rudder_limit_exceeded", 0, 2, &YES_NO),
            lookup("off_heading_limit_exceeded", 2, 2, &YES_NO),
            lookup("off_track_limit_exceeded", 4, 2, &YES_NO),
            lookup("override", 6, 2, &YES_NO),
            lookup("steering_mode", 8, 3, &STEERING_MODE),
            lookup("turn_mode", 11, 3, &TURN_MODE),
            lookup("heading_reference", 14, 2, &DIRECTION_REFERENCE),
            lookup("commanded_rudder_direction", 21, 3, &DIRECTION_RUDDER),
            angle("commanded_rudder_angle", 24, true),
            angle("heading_to_steer_course", 40, false),
            angle("track", 56, false),
            angle("rudder_limit", 72, false),
            angle("off_heading_limit", 88, false),
            n("radius_of_turn_order", 104, 16, true, Unit::Metre, (1, 1), 0),
            // 3.125e-5 rad/s as °/min (as 129038's rate of turn).
            n("rate_of_turn_order", 120, 16, true, Unit::DegreePerMinute, (107_429_586_587, 1_000_000_000), 3),
            n("off_track_limit", 136, 16, true, Unit::Metre, (1, 1), 0),
            angle("vessel_heading", 152, false),
        ],
    },
    PgnDef {
        pgn: 127_245,
        description: "Rudder",
        fields: &[
            count("instance", 0, 8),
            lookup("direction_order", 8, 3, &DIRECTION_RUDDER),
            angle("angle_order", 16, true),
            angle("position", 32, true),
        ],
    },
    PgnDef {
        pgn: 127_250,
        description: "Vessel Heading",
        fields: &[
            SID,
            angle("heading", 8, false),
            angle("deviation", 24, true),
            angle("variation", 40, true),
            lookup("reference", 56, 2, &DIRECTION_REFERENCE),
        ],
    },
    PgnDef {
        pgn: 127_251,
        description: "Rate of Turn",
        // 3.125e-8 rad/s as °/min: × 180/π × 60, at 3 decimals.
        fields: &[SID, n("rate", 8, 32, true, Unit::DegreePerMinute, (107_429_586_587, 1_000_000_000_000), 3)],
    },
    PgnDef {
        pgn: 127_257,
        description: "Attitude",
        fields: &[SID, angle("yaw", 8, true), angle("pitch", 24, true), angle("roll", 40, true)],
    },
    PgnDef {
        pgn: 127_258,
        description: "Magnetic Variation",
        fields: &[
            SID,
            lookup("source", 8, 4, &MAGNETIC_VARIATION),
            date("age_of_service", 16),
            angle("variation", 32, true),
        ],
    },
    PgnDef {
        pgn: 127_488,
        description: "Engine Parameters, Rapid Update",
        fields: &[
            lookup("instance", 0, 8, &ENGINE_INSTANCE),
            n("speed", 8, 16, false, Unit::Rpm, (25, 1), 2),
            pressure("boost_pressure", 24, 16, false, 1000),
            n("tilt_trim", 40, 8, true, Unit::Percent, (1, 1), 0),
        ],
    },
    PgnDef {
        pgn: 127_489,
        description: "Engine Parameters, Dynamic",
        fields: &[
            lookup("instance", 0, 8, &ENGINE_INSTANCE),
            pressure("oil_pressure", 8, 16, false, 1000),
            kelvin("oil_temperature", 24, 16, 1),
            kelvin("temperature", 40, 16, 2),
            n("alternator_potential", 56, 16, true, Unit::Volt, (1, 1), 2),
            n("fuel_rate", 72, 16, true, Unit::LitrePerHour, (1, 1), 1),
            n("total_engine_hours", 88, 32, false, Unit::Second, (1, 1), 0),
            pressure("coolant_pressure", 120, 16, false, 1000),
            pressure("fuel_pressure", 136, 16, false, 10_000),
            FieldDef {
                name: "discrete_status_1",
                offset: 160,
                bits: 16,
                signed: false,
                kind: Kind::Flags(&ENGINE_STATUS_1),
            },
            FieldDef {
                name: "discrete_status_2",
                offset: 176,
                bits: 16,
                signed: false,
                kind: Kind::Flags(&ENGINE_STATUS_2),
            },
            n("engine_load", 192, 8, true, Unit::Percent, (1, 1), 0),
            n("engine_torque", 200, 8, true, Unit::Percent, (1, 1), 0),
        ],
    },
    PgnDef {
        pgn: 127_501,
        description: "Binary Switch Bank Status",
        fields: &[
            count("instance", 0, 8),
            lookup("indicator1", 8, 2, &OFF_ON),
            lookup("indicator2", 10, 2, &OFF_ON),
            lookup("indicator3", 12, 2, &OFF_ON),
            lookup("indicator4", 14, 2, &OFF_ON),
            lookup("indicator5", 16, 2, &OFF_ON),
            lookup("indicator6", 18, 2, &OFF_ON),
            lookup("indicator7", 20, 2, &OFF_ON),
            lookup("indicator8", 22, 2, &OFF_ON),
            lookup("indicator9", 24, 2, &OFF_ON),
            lookup("indicator10", 26, 2, &OFF_ON),
            lookup("indicator11", 28, 2, &OFF_ON),
            lookup("indicator12", 30, 2, &OFF_ON),
            lookup("indicator13", 32, 2, &OFF_ON),
            lookup("indicator14", 34, 2, &OFF_ON),
            lookup("indicator15", 36, 2, &OFF_ON),
            lookup("indicator16", 38, 2, &OFF_ON),
            lookup("indicator17", 40, 2, &OFF_ON),
            lookup("indicator18", 42, 2, &OFF_ON),
            lookup("indicator19", 44, 2, &OFF_ON),
            lookup("indicator20", 46, 2, &OFF_ON),
            lookup("indicator21", 48, 2, &OFF_ON),
            lookup("indicator22", 50, 2, &OFF_ON),
            lookup("indicator23", 52, 2, &OFF_ON),
            lookup("indicator24", 54, 2, &OFF_ON),
            lookup("indicator25", 56, 2, &OFF_ON),
            lookup("indicator26", 58, 2, &OFF_ON),
            lookup("indicator27", 60, 2, &OFF_ON),
            lookup("indicator28", 62, 2, &OFF_ON),
        ],
    },
    // AC input and output status: the lines are a repeating group (REPEATING).
    PgnDef {
        pgn: 127_503,
        description: "AC Input Status",
        fields: &[count("instance", 0, 8), count("number_of_lines", 8, 8)],
    },
    PgnDef {
        pgn: 127_504,
        description: "AC Output Status",
        fields: &[count("instance", 0, 8), count("number_of_lines", 8, 8)],
    },
    PgnDef {
        pgn: 127_505,
        description: "Fluid Level",
        fields: &[
            count("instance", 0, 4),
            lookup("type", 4, 4, &TANK_TYPE),
            fine_percent("level", 8),
            n("capacity", 24, 32, false, Unit::Litre, (1, 1), 1),
        ],
    },
    PgnDef {
        pgn: 127_506,
        description: "DC Detailed Status",
        fields: &[
            SID,
            count("instance", 8, 8),
            lookup("dc_type", 16, 8, &DC_SOURCE),
            n("state_of_charge", 24, 8, false, Unit::Percent, (1, 1), 0),
            n("state_of_health", 32, 8, false, Unit::Percent, (1, 1), 0),
            n("time_remaining", 40, 16, false, Unit::Second, (60, 1), 0),
            n("ripple_voltage", 56, 16, false, Unit::Volt, (1, 1), 3),
            n("remaining_capacity", 72, 16, false, Unit::AmpHour, (1, 1), 0),
        ],
    },
    PgnDef {
        pgn: 127_507,
        description: "Charger Status",
        fields: &[
            count("instance", 0, 8),
            count("battery_instance", 8, 8),
            lookup("operating_state", 16, 4, &CHARGER_STATE),
            lookup("charge_mode", 20, 4, &CHARGER_MODE),
            lookup("enabled", 24, 2, &OFF_ON),
            lookup("equalization_pending", 26, 2, &OFF_ON),
            n("equalization_time_remaining", 32, 16, false, Unit::Second, (60, 1), 0),
        ],
    },
    PgnDef {
        pgn: 127_508,
        description: "Battery Status",
        fields: &[
            count("instance", 0, 8),
            n("voltage", 8, 16, true, Unit::Volt, (1, 1), 2),
            n("current", 24, 16, true, Unit::Ampere, (1, 1), 1),
            kelvin("temperature", 40, 16, 2),
            count("sid", 56, 8),
        ],
    },
    PgnDef {
        pgn: 127_509,
        description: "Inverter Status",
        fields: &[
            count("instance", 0, 8),
            count("ac_instance", 8, 8),
            count("dc_instance", 16, 8),
            lookup("operating_state", 24, 4, &INVERTER_STATE),
            lookup("inverter_enable", 28, 2, &OFF_ON),
        ],
    },
    PgnDef {
        pgn: 127_513,
        description: "Battery Configuration Status",
        fields: &[
            count("instance", 0, 8),
            lookup("battery_type", 8, 4, &BATTERY_TYPE),
            lookup("supports_equalization", 12, 2, &YES_NO),
            lookup("nominal_voltage", 16, 4, &BATTERY_VOLTAGE),
            lookup("chemistry", 20, 4, &BATTERY_CHEMISTRY),
            n("capacity", 24, 16, false, Unit::AmpHour, (1, 1), 0),
            n("temperature_coefficient", 40, 8, true, Unit::Percent, (1, 1), 0),
            // 1 + 0.002 × raw.
            FieldDef {
                name: "peukert_exponent",
                offset: 48,
                bits: 8,
                signed: false,
                kind: Kind::Number { unit: Unit::None, num: 2, den: 1, offset: 1000, decimals: 3 },
            },
            n("charge_efficiency_factor", 56, 8, true, Unit::Percent, (1, 1), 0),
        ],
    },
    ac_power!(127_744, "AC Power / Current - Phase A"),
    ac_power!(127_745, "AC Power / Current - Phase B"),
    ac_power!(127_746, "AC Power / Current - Phase C"),
    ac_voltage!(127_747, "AC Voltage / Frequency - Phase A"),
    ac_voltage!(127_748, "AC Voltage / Frequency - Phase B"),
    ac_voltage!(127_749, "AC Voltage / Frequency - Phase C"),
    PgnDef {
        pgn: 127_750,
        description: "Converter Status",
        fields: &[
            SID,
            count("connection_number", 8, 8),
            code("operating_state", 16, 8),
            code("temperature_state", 24, 2),
            code("overload_state", 26, 2),
            code("low_dc_voltage_state", 28, 2),
            code("ripple_state", 30, 2),
        ],
    },
    PgnDef {
        pgn: 127_751,
        description: "DC Voltage/Current",
        fields: &[
            SID,
            count("connection_number", 8, 8),
            n("dc_voltage", 16, 16, false, Unit::Volt, (1, 1), 1),
            n("dc_current", 32, 24, true, Unit::Ampere, (1, 1), 2),
        ],
    },
    PgnDef {
        pgn: 128_259,
        description: "Speed",
        fields: &[
            SID,
            speed("speed_water_referenced", 8),
            speed("speed_ground_referenced", 24),
            lookup("speed_water_referenced_type", 40, 8, &WATER_REFERENCE),
            count("speed_direction", 48, 4),
        ],
    },
    PgnDef {
        pgn: 128_267,
        description: "Water Depth",
        fields: &[
            SID,
            n("depth", 8, 32, false, Unit::Metre, (1, 1), 2),
            n("offset", 40, 16, true, Unit::Metre, (1, 1), 3),
            n("range", 56, 8, false, Unit::Metre, (10, 1), 0),
        ],
    },
    PgnDef {
        pgn: 128_275,
        description: "Distance Log",
        fields: &[
            date("date", 0),
            time("time", 16),
            n("log", 48, 32, false, Unit::Metre, (1, 1), 0),
            n("trip_log", 80, 32, false, Unit::Metre, (1, 1), 0),
        ],
    },
    PgnDef {
        pgn: 129_025,
        description: "Position, Rapid Update",
        fields: &[
            n("latitude", 0, 32, true, Unit::Degree, (1, 1), 7),
            n("longitude", 32, 32, true, Unit::Degree, (1, 1), 7),
        ],
    },
    PgnDef {
        pgn: 129_026,
        description: "COG & SOG, Rapid Update",
        fields: &[SID, lookup("cog_reference", 8, 2, &DIRECTION_REFERENCE), angle("cog", 16, false), speed("sog", 32)],
    },
    PgnDef {
        pgn: 129_029,
        description: "GNSS Position Data",
        fields: &[
            SID,
            date("date", 8),
            time("time", 24),
            // 1e-16° as degrees at 9 decimals.
            n("latitude", 56, 64, true, Unit::Degree, (1, 10_000_000), 9),
            n("longitude", 120, 64, true, Unit::Degree, (1, 10_000_000), 9),
            n("altitude", 184, 64, true, Unit::Metre, (1, 10_000), 2),
            lookup("gnss_type", 248, 4, &GNS),
            lookup("method", 252, 4, &GNS_METHOD),
            lookup("integrity", 256, 2, &GNS_INTEGRITY),
            count("number_of_svs", 264, 8),
            n("hdop", 272, 16, true, Unit::None, (1, 1), 2),
            n("pdop", 288, 16, true, Unit::None, (1, 1), 2),
            n("geoidal_separation", 304, 32, true, Unit::Metre, (1, 1), 2),
            count("reference_stations", 336, 8),
        ],
    },
    PgnDef {
        pgn: 129_033,
        description: "Time & Date",
        fields: &[date("date", 0), time("time", 16), n("local_offset", 48, 16, true, Unit::Second, (60, 1), 0)],
    },
    ais_position_report!(
        129_038,
        "AIS Class A Position Report",
        [
            // 3.125e-5 rad/s as °/min.
            n("rate_of_turn", 184, 16, true, Unit::DegreePerMinute, (107_429_586_587, 1_000_000_000), 3),
            code("nav_status", 200, 4),
            raw("special_maneuver_indicator", 204, 2),
            count("sequence_id", 216, 8),
        ]
    ),
    ais_position_report!(
        129_039,
        "AIS Class B Position Report",
        [
            code("unit_type", 194, 1),
            lookup("integrated_display", 195, 1, &YES_NO),
            lookup("dsc", 196, 1, &YES_NO),
            code("band", 197, 1),
            lookup("can_handle_msg_22", 198, 1, &YES_NO),
            code("ais_mode", 199, 1),
            code("ais_communication_state", 200, 1),
        ]
    ),
    // The AtoN's name (a variable-length string) is not decoded.
    ais!(
        129_041,
        "AIS Aids to Navigation (AtoN) Report",
        [
            raw("time_stamp", 106, 6),
            n("length_diameter", 112, 16, false, Unit::Metre, (1, 1), 1),
            n("beam_diameter", 128, 16, false, Unit::Metre, (1, 1), 1),
            n("position_reference_from_starboard_edge", 144, 16, false, Unit::Metre, (1, 1), 1),
            n("position_reference_from_true_north_facing_edge", 160, 16, false, Unit::Metre, (1, 1), 1),
            code("aton_type", 176, 5),
            lookup("off_position_indicator", 181, 1, &YES_NO),
            lookup("virtual_aton_flag", 182, 1, &YES_NO),
            code("assigned_mode_flag", 183, 1),
            code("position_fixing_device_type", 185, 4),
            code("ais_transceiver_information", 200, 5),
        ]
    ),
    PgnDef {
        pgn: 129_283,
        description: "Cross Track Error",
        fields: &[
            SID,
            code("xte_mode", 8, 4),
            lookup("navigation_terminated", 14, 2, &YES_NO),
            n("xte", 16, 32, true, Unit::Metre, (1, 1), 2),
        ],
    },
    PgnDef {
        pgn: 129_284,
        description: "Navigation Data",
        fields: &[
            SID,
            n("distance_to_waypoint", 8, 32, false, Unit::Metre, (1, 1), 2),
            lookup("course_bearing_reference", 40, 2, &DIRECTION_REFERENCE),
            lookup("perpendicular_crossed", 42, 2, &YES_NO),
            lookup("arrival_circle_entered", 44, 2, &YES_NO),
            code("calculation_type", 46, 2),
            time("eta_time", 48),
            date("eta_date", 80),
            angle("bearing_origin_to_destination_waypoint", 96, false),
            angle("bearing_position_to_destination_waypoint", 112, false),
            count("origin_waypoint_number", 128, 32),
            count("destination_waypoint_number", 160, 32),
            n("destination_latitude", 192, 32, true, Unit::Degree, (1, 1), 7),
            n("destination_longitude", 224, 32, true, Unit::Degree, (1, 1), 7),
            velocity("waypoint_closing_velocity", 256),
        ],
    },
    PgnDef {
        pgn: 129_539,
        description: "GNSS DOPs",
        fields: &[
            SID,
            lookup("desired_mode", 8, 3, &GNSS_MODE),
            lookup("actual_mode", 11, 3, &GNSS_MODE),
            n("hdop", 16, 16, true, Unit::None, (1, 1), 2),
            n("vdop", 32, 16, true, Unit::None, (1, 1), 2),
            n("tdop", 48, 16, true, Unit::None, (1, 1), 2),
        ],
    },
    // The satellites are a repeating group (REPEATING).
    PgnDef {
        pgn: 129_540,
        description: "GNSS Sats in View",
        fields: &[SID, lookup("range_residual_mode", 8, 2, &RANGE_RESIDUAL_MODE), count("sats_in_view", 16, 8)],
    },
    ais!(
        129_793,
        "AIS UTC and Date Report",
        [
            time("position_time", 112),
            code("ais_transceiver_information", 163, 5),
            date("position_date", 168),
            code("gnss_type", 188, 4),
        ]
    ),
    PgnDef {
        pgn: 129_794,
        description: "AIS Class A Static and Voyage Related Data",
        fields: &[
            code("message_id", 0, 6),
            raw("repeat_indicator", 6, 2),
            count("user_id", 8, 32),
            count("imo_number", 40, 32),
            text_field("callsign", 72, 7),
            text_field("name", 128, 20),
            code("type_of_ship", 288, 8),
            n("length", 296, 16, false, Unit::Metre, (1, 1), 1),
            n("beam", 312, 16, false, Unit::Metre, (1, 1), 1),
            n("position_reference_from_starboard", 328, 16, false, Unit::Metre, (1, 1), 1),
            n("position_reference_from_bow", 344, 16, false, Unit::Metre, (1, 1), 1),
            date("eta_date", 360),
            time("eta_time", 376),
            n("draft", 408, 16, false, Unit::Metre, (1, 1), 2),
            text_field("destination", 424, 20),
            raw("ais_version_indicator", 584, 2),
            code("gnss_type", 586, 4),
            code("dte", 590, 1),
            code("ais_transceiver_information", 592, 5),
        ],
    },
    PgnDef {
        pgn: 129_809,
        description: "AIS Class B static data (msg 24 Part A)",
        fields: &[
            code("message_id", 0, 6),
            raw("repeat_indicator", 6, 2),
            count("user_id", 8, 32),
            text_field("name", 40, 20),
            code("ais_transceiver_information", 200, 5),
            count("sequence_id", 208, 8),
        ],
    },
    PgnDef {
        pgn: 129_810,
        description: "AIS Class B static data (msg 24 Part B)",
        fields: &[
            code("message_id", 0, 6),
            raw("repeat_indicator", 6, 2),
            count("user_id", 8, 32),
            code("type_of_ship", 40, 8),
            text_field("vendor_id", 48, 7),
            text_field("callsign", 104, 7),
            n("length", 160, 16, false, Unit::Metre, (1, 1), 1),
            n("beam", 176, 16, false, Unit::Metre, (1, 1), 1),
            n("position_reference_from_starboard", 192, 16, false, Unit::Metre, (1, 1), 1),
            n("position_reference_from_bow", 208, 16, false, Unit::Metre, (1, 1), 1),
            count("mothership_user_id", 224, 32),
            code("gnss_type", 260, 4),
            code("ais_transceiver_information", 264, 5),
            count("sequence_id", 272, 8),
        ],
    },
    PgnDef {
        pgn: 130_306,
        description: "Wind Data",
        fields: &[
            SID,
            speed("wind_speed", 8),
            angle("wind_angle", 24, false),
            lookup("reference", 40, 3, &WIND_REFERENCE),
        ],
    },
    PgnDef {
        pgn: 130_310,
        description: "Environmental Parameters (obsolete)",
        fields: &[
            SID,
            kelvin("water_temperature", 8, 16, 2),
            kelvin("outside_ambient_air_temperature", 24, 16, 2),
            pressure("atmospheric_pressure", 40, 16, false, 1000),
        ],
    },
    PgnDef {
        pgn: 130_311,
        description: "Environmental Parameters",
        fields: &[
            SID,
            lookup("temperature_source", 8, 6, &TEMPERATURE_SOURCE),
            lookup("humidity_source", 14, 2, &HUMIDITY_SOURCE),
            kelvin("temperature", 16, 16, 2),
            fine_percent("humidity", 32),
            pressure("atmospheric_pressure", 48, 16, false, 1000),
        ],
    },
    PgnDef {
        pgn: 130_312,
        description: "Temperature",
        fields: &[
            SID,
            count("instance", 8, 8),
            lookup("source", 16, 8, &TEMPERATURE_SOURCE),
            kelvin("actual_temperature", 24, 16, 2),
            kelvin("set_temperature", 40, 16, 2),
        ],
    },
    PgnDef {
        pgn: 130_313,
        description: "Humidity",
        fields: &[
            SID,
            count("instance", 8, 8),
            lookup("source", 16, 8, &HUMIDITY_SOURCE),
            fine_percent("actual_humidity", 24),
            fine_percent("set_humidity", 40),
        ],
    },
    PgnDef {
        pgn: 130_314,
        description: "Actual Pressure",
        fields: &[
            SID,
            count("instance", 8, 8),
            lookup("source", 16, 8, &PRESSURE_SOURCE),
            pressure("pressure", 24, 32, true, 1),
        ],
    },
    PgnDef {
        pgn: 130_316,
        description: "Temperature Extended Range",
        fields: &[
            SID,
            count("instance", 8, 8),
            lookup("source", 16, 8, &TEMPERATURE_SOURCE),
            kelvin("temperature", 24, 24, 3),
            kelvin("set_temperature", 48, 16, 1),
        ],
    },
];

/// A PGN's repeating group: as many groups as the fixed part's `count` field says, each `bits`
/// long, the first at bit `start`; the fields' offsets are from their group's start.
#[derive(Debug)]
pub struct Repeating {
    /// The PGN.
    pub pgn: u32,
    /// The field of the fixed part that counts the groups.
    pub count: &'static str,
    /// The first group's first bit.
    pub start: u16,
    /// One group's length in bits.
    pub bits: u16,
    /// One group's fields.
    pub fields: &'static [FieldDef],
}

/// One AC line of 127503 (input, with its acceptability) or 127504 (output, with its waveform).
macro_rules! ac_line {
    ($pgn:expr, $quality:expr) => {
        Repeating {
            pgn: $pgn,
            count: "number_of_lines",
            start: 16,
            bits: 144,
            fields: &[
                lookup("line", 0, 2, &AC_LINE),
                $quality,
                n("voltage", 8, 16, false, Unit::Volt, (1, 1), 2),
                n("current", 24, 16, false, Unit::Ampere, (1, 1), 1),
                n("frequency", 40, 16, false, Unit::Hertz, (1, 1), 2),
                n("breaker_size", 56, 16, false, Unit::Ampere, (1, 1), 1),
                n("real_power", 72, 32, false, Unit::Watt, (1, 1), 0),
                n("reactive_power", 104, 32, false, Unit::None, (1, 1), 0),
                n("power_factor", 136, 8, true, Unit::None, (1, 1), 2),
            ],
        }
    };
}

/// The repeating groups of the PGNs that have one, by number.
pub static REPEATING: &[Repeating] = &[
    ac_line!(127_503, lookup("acceptability", 2, 2, &ACCEPTABILITY)),
    ac_line!(127_504, lookup("waveform", 2, 3, &WAVEFORM)),
    Repeating {
        pgn: 129_540,
        count: "sats_in_view",
        start: 24,
        bits: 96,
        fields: &[
            count("prn", 0, 8),
            angle("elevation", 8, true),
            angle("azimuth", 24, false),
            n("snr", 40, 16, true, Unit::None, (1, 1), 2),
            n("range_residuals", 56, 32, true, Unit::Metre, (1, 1), 5),
            lookup("status", 88, 4, &SATELLITE_STATUS),
        ],
    },
];

/// The repeating group of `pgn`, if it has one.
pub fn repeating(pgn: u32) -> Option<&'static Repeating> {
    REPEATING.iter().find(|r| r.pgn == pgn)
}

impl Repeating {
    /// How many groups `data` holds: as many as counted, and no more than are there.
    pub fn groups(&self, data: &[u8]) -> usize {
        let def = find(self.pgn).and_then(|d| d.fields.iter().find(|f| f.name == self.count));
        let counted = def.and_then(|f| field_value(data, f).as_f64()).unwrap_or(0.0) as usize;
        let room = (data.len() * 8).saturating_sub(usize::from(self.start)) / usize::from(self.bits);
        counted.min(room)
    }

    /// The value of field `f` (one of [`Self::fields`]) in group `group`.
    pub fn value<'a>(&self, data: &'a [u8], group: usize, f: &FieldDef) -> Value<'a> {
        let offset = usize::from(self.start) + group * usize::from(self.bits) + usize::from(f.offset);
        match u16::try_from(offset) {
            Ok(offset) => field_value(data, &FieldDef { offset, ..*f }),
            Err(_) => Value::NotAvailable,
        }
    }
}

/// The definition of `pgn`, if Halyard decodes it.
pub fn find(pgn: u32) -> Option<&'static PgnDef> {
    PGNS.binary_search_by_key(&pgn, |p| p.pgn).ok().map(|i| &PGNS[i])
}

/// A whole message read through its PGN's table, field by field name: what a consumer of the
/// values (the gateway's model, the simulator's checks) needs, without walking the table.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The PGN's definition.
    pub def: &'static PgnDef,
    /// The message's data.
    pub data: &'a [u8],
}

impl<'a> Message<'a> {
    /// `data` read as `pgn`, if Halyard decodes that PGN.
    pub fn new(pgn: u32, data: &'a [u8]) -> Option<Self> {
        find(pgn).map(|def| Message { def, data })
    }

    /// The value of the field `name` (not available when the PGN has no such field).
    pub fn value(&self, name: &str) -> Value<'a> {
        self.def.fields.iter().find(|f| f.name == name).map_or(Value::NotAvailable, |f| field_value(self.data, f))
    }

    /// A number field's value in Halyard's units (an enumeration's raw code).
    pub fn number(&self, name: &str) -> Option<f64> {
        self.value(name).as_f64()
    }

    /// An enumeration's name (`apparent`, `true`, `fuel`).
    pub fn name(&self, name: &str) -> Option<&'static str> {
        self.value(name).enum_name()
    }
}

/// Read `bits` (1–64) bits at bit `offset`, least significant first; `None` past the end.
pub fn read_bits(data: &[u8], offset: u16, bits: u16) -> Option<u64> {
    let (offset, bits) = (usize::from(offset), usize::from(bits));
    if bits == 0 || bits > 64 || offset + bits > data.len() * 8 {
        return None;
    }
    let mut acc: u128 = 0;
    let (first, last) = (offset / 8, (offset + bits - 1) / 8);
    for (i, b) in data[first..=last].iter().enumerate() {
        acc |= u128::from(*b) << (8 * i);
    }
    acc >>= offset % 8;
    let mask = if bits == 64 { u128::from(u64::MAX) } else { (1u128 << bits) - 1 };
    Some((acc & mask) as u64)
}

/// The value of one field of `data` (a whole message). A field beyond the message's end (a
/// shorter, older version of the PGN) is not available.
pub fn field_value<'a>(data: &'a [u8], f: &FieldDef) -> Value<'a> {
    if f.kind == Kind::Text {
        return text(data, f.offset, f.bits);
    }
    if f.kind == Kind::VarText {
        return var_text_value(data, f.offset);
    }
    let Some(raw) = read_bits(data, f.offset, f.bits) else { return Value::NotAvailable };
    let bits = u32::from(f.bits);
    let max = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    match f.kind {
        Kind::Lookup(table) => {
            let raw = raw as i32;
            // As canboat: an unnamed all-ones value of 2 bits or more is "not available".
            if table.name(raw).is_none() && bits > 1 && u64::from(raw as u32) == max {
                Value::NotAvailable
            } else {
                Value::Enum { raw, table }
            }
        }
        Kind::Flags(table) => Value::Flags { raw: raw as u32, table },
        Kind::Text | Kind::VarText => Value::NotAvailable,
        Kind::Raw => Value::Number(Decimal::new(raw as i64, 0)),
        Kind::Date => {
            if raw >= max - 1 {
                Value::NotAvailable
            } else {
                Value::Number(Decimal::new(raw as i64, 0))
            }
        }
        Kind::Number { num, den, offset, decimals, .. } => {
            let (value, top) = if f.signed {
                let shift = 64 - bits;
                (i128::from(((raw << shift) as i64) >> shift), i128::from(max >> 1))
            } else {
                (i128::from(raw), i128::from(max))
            };
            if value > top - reserved(f.bits) {
                return Value::NotAvailable;
            }
            let scaled = value * num;
            let q = scaled / den;
            let r = scaled % den;
            let rounded = if 2 * r.abs() >= den { q + scaled.signum() } else { q };
            Value::Number(Decimal::new((rounded + i128::from(offset)) as i64, decimals))
        }
    }
}

/// A fixed-length text field (byte-aligned, `bits / 8` bytes): up to the first NUL or 0xFF,
/// without trailing `@` (AIS's padding) or spaces; not available when nothing is left. Bytes
/// that are not UTF-8 end the text.
fn text(data: &[u8], offset: u16, bits: u16) -> Value<'_> {
    let (start, len) = (usize::from(offset) / 8, usize::from(bits) / 8);
    let Some(bytes) = data.get(start..start + len) else { return Value::NotAvailable };
    let end = bytes.iter().position(|b| *b == 0 || *b == 0xFF).unwrap_or(len);
    let text = match core::str::from_utf8(&bytes[..end]) {
        Ok(t) => t,
        Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
    };
    let text = text.trim_end_matches(['@', ' ']);
    if text.is_empty() {
        Value::NotAvailable
    } else {
        Value::Text(text)
    }
}

/// The `index`-th length-prefixed string of `data`: ASCII as text (trailing spaces, NUL and
/// 0xFF left out); empty, UTF-16 (not borrowed as text here) or cut short, not available.
fn var_text_value(data: &[u8], index: u16) -> Value<'_> {
    let mut at = 0usize;
    for i in 0..=index {
        let Some(&len) = data.get(at) else { return Value::NotAvailable };
        let len = usize::from(len);
        if len < 2 || at + len > data.len() {
            return Value::NotAvailable;
        }
        if i == index {
            if data[at + 1] != 1 {
                return Value::NotAvailable;
            }
            let bytes = &data[at + 2..at + len];
            let end = bytes.iter().position(|b| *b == 0 || *b == 0xFF).unwrap_or(bytes.len());
            return match core::str::from_utf8(&bytes[..end]).map(|t| t.trim_end_matches(' ')) {
                Ok("") | Err(_) => Value::NotAvailable,
                Ok(t) => Value::Text(t),
            };
        }
        at += len;
    }
    Value::NotAvailable
}

/// How many of a number field's highest values are not values: every bit set is "not
/// available", one less "out of range", and in fields of a byte or more one less again is
/// reserved (the ranges of canboat's PGN database stop 3 short of the top for 8 bits and more,
/// 2 for 4–7 bits, 1 for 2–3 bits). Signed fields count down from their largest positive value.
pub(super) fn reserved(bits: u16) -> i128 {
    match bits {
        0 | 1 => 0,
        2 | 3 => 1,
        4..=7 => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(pgn: u32, data: &'a [u8], name: &str) -> Value<'a> {
        let def = find(pgn).unwrap();
        field_value(data, def.fields.iter().find(|f| f.name == name).unwrap())
    }

    fn number(v: Value<'_>) -> f64 {
        v.as_f64().unwrap()
    }

    #[test]
    fn the_table_is_sorted_and_every_field_fits() {
        assert!(PGNS.windows(2).all(|w| w[0].pgn < w[1].pgn));
        for p in PGNS {
            for (i, f) in p.fields.iter().enumerate() {
                assert!((1..=64).contains(&f.bits) || f.kind == Kind::Text && f.bits % 8 == 0, "{} {}", p.pgn, f.name);
                if f.kind == Kind::VarText {
                    // Its offset is its place among the strings.
                    assert!(p.fields.iter().all(|g| g.kind == Kind::VarText), "{}: strings and fields mixed", p.pgn);
                    continue;
                }
                for g in &p.fields[i + 1..] {
                    let apart = f.offset + f.bits <= g.offset || g.offset + g.bits <= f.offset;
                    assert!(apart, "{} {} overlaps {}", p.pgn, f.name, g.name);
                    assert_ne!(f.name, g.name, "{}", p.pgn);
                }
            }
        }
        for r in REPEATING {
            let def = find(r.pgn).expect("a repeating group belongs to a PGN of the table");
            assert!(def.fields.iter().any(|f| f.name == r.count), "{}: no count field", r.pgn);
            assert!(def.fields.iter().all(|f| f.offset + f.bits <= r.start), "{}: the fixed part overlaps", r.pgn);
            for (i, f) in r.fields.iter().enumerate() {
                assert!(f.offset + f.bits <= r.bits, "{} {} leaves its group", r.pgn, f.name);
                assert!(r.fields[i + 1..]
                    .iter()
                    .all(|g| f.offset + f.bits <= g.offset || g.offset + g.bits <= f.offset));
            }
        }
    }

    #[test]
    fn configuration_texts_follow_each_other() {
        // can0-1.pcap's 126998s: three empty ASCII strings.
        let empty = [0x02, 0x01, 0x02, 0x01, 0x02, 0x01];
        for i in 0..3 {
            assert_eq!(
                value(
                    126_998,
                    &empty,
                    ["installation_description_1", "installation_description_2", "manufacturer_information"][i]
                ),
                Value::NotAvailable
            );
        }
        // "Nav station", nothing, "Halyard" (ASCII); a length past the end is not available.
        let data = [
            13, 1, b'N', b'a', b'v', b' ', b's', b't', b'a', b't', b'i', b'o', b'n', 2, 1, 9, 1, b'H', b'a', b'l',
            b'y', b'a', b'r', b'd',
        ];
        assert_eq!(value(126_998, &data, "installation_description_1"), Value::Text("Nav station"));
        assert_eq!(value(126_998, &data, "installation_description_2"), Value::NotAvailable);
        assert_eq!(value(126_998, &data, "manufacturer_information"), Value::Text("Halyard"));
        assert_eq!(value(126_998, &data[..20], "manufacturer_information"), Value::NotAvailable);
        // UTF-16 is not read as text.
        assert_eq!(value(126_998, &[6, 0, b'H', 0, b'i', 0], "installation_description_1"), Value::NotAvailable);
    }

    #[test]
    fn satellites_in_view_are_counted_and_cut_to_what_is_there() {
        // Twelve satellites counted, the first written out by hand from the field layout: PRN 1
        // at 0.6829 rad elevation, 5.4931 rad azimuth, 41.00 dB, no range residual, used.
        let mut data = [0xFFu8; 3 + 12 * 12];
        data[..3].copy_from_slice(&[0x00, 0xFD, 0x0C]);
        data[3..15].copy_from_slice(&[0x01, 0xAD, 0x1A, 0x93, 0xD6, 0x04, 0x10, 0xFF, 0xFF, 0xFF, 0x7F, 0xF2]);
        let r = repeating(129_540).unwrap();
        assert_eq!(r.groups(&data), 12);
        assert_eq!(r.groups(&data[..3 + 12 * 5 + 4]), 5, "no more groups than the bytes hold");
        let get = |name: &str| r.value(&data, 0, r.fields.iter().find(|f| f.name == name).unwrap());
        assert_eq!(get("prn").as_f64(), Some(1.0));
        assert_eq!(get("elevation").as_f64(), Some(39.127)); // 0.6829 rad
        assert_eq!(get("snr").as_f64(), Some(41.0));
        assert_eq!(get("range_residuals"), Value::NotAvailable);
        assert_eq!(get("status").enum_name(), Some("used"));
    }

    #[test]
    fn real_messages() {
        // aava-n2k.data: wind 7.26 m/s at 0.7333 rad, apparent (canboatjs reads the same).
        let wind = [0x00, 0xd6, 0x02, 0xa5, 0x1c, 0xf2, 0xff, 0xff];
        assert_eq!(number(value(130_306, &wind, "wind_speed")), 14.11); // 7.26 × 3600 / 1852
        assert_eq!(number(value(130_306, &wind, "wind_angle")), 42.015); // 0.7333 rad
        assert_eq!(value(130_306, &wind, "reference").enum_name(), Some("apparent"));
        // aava-n2k.data: battery 1 at 13.01 V, 0 A, 299.82 K.
        let battery = [0x01, 0x15, 0x05, 0x00, 0x00, 0x1e, 0x75, 0x06];
        assert_eq!(number(value(127_508, &battery, "voltage")), 13.01);
        assert_eq!(number(value(127_508, &battery, "current")), 0.0);
        assert_eq!(number(value(127_508, &battery, "temperature")), 26.67);
        // Not available: heading's deviation 0x7FFF, a 2-bit lookup at 3, a short message.
        let heading = [0xff, 0x60, 0x70, 0xff, 0x7f, 0xff, 0x7f, 0xfc];
        assert_eq!(value(127_250, &heading, "deviation"), Value::NotAvailable);
        assert_eq!(value(127_250, &heading, "sid"), Value::NotAvailable);
        assert_eq!(number(value(127_250, &heading, "heading")), 164.828); // 2.8768 rad
        assert_eq!(value(127_250, &heading, "reference").enum_name(), Some("true"));
        assert_eq!(value(127_250, &heading[..4], "variation"), Value::NotAvailable);
        // A negative signed value and the out-of-range sentinel (0x7FFE).
        assert_eq!(number(value(127_508, &[1, 0x15, 0x05, 0x9c, 0xff, 0xff, 0xff, 0], "current")), -10.0);
        assert_eq!(value(127_508, &[1, 0x15, 0x05, 0xfe, 0x7f, 0xff, 0xff, 0], "current"), Value::NotAvailable);
    }

    proptest::proptest! {
        /// Any bytes under any PGN: a value or not available, never a panic.
        #[test]
        fn any_bytes_decode(data in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            for p in PGNS {
                for f in p.fields {
                    let _ = field_value(&data, f);
                }
            }
        }
    }
}
