//! Names for NMEA 2000's enumerated fields: the documentation's names in snake_case (as listed
//! in canboat's PGN database, `LookupEnumerations`).

use crate::{EnumTable, FlagTable};

macro_rules! table {
    ($name:ident, $what:literal, [$(($v:literal, $n:literal)),* $(,)?]) => {
        pub static $name: EnumTable = EnumTable { what: $what, entries: &[$(($v, $n)),*] };
    };
}

// A code Halyard keeps as a number (AIS message ids, manufacturer codes, device classes …).
table!(CODE, "code", []);
table!(CONTROLLER_STATE, "controller state", [(0, "error_active"), (1, "error_passive"), (2, "bus_off")]);
table!(EQUIPMENT_STATUS, "equipment status", [(0, "operational"), (1, "fault")]);
table!(DIRECTION_REFERENCE, "direction reference", [(0, "true"), (1, "magnetic"), (2, "error")]);
table!(
    WIND_REFERENCE,
    "wind reference",
    [
        (0, "true_ground_referenced_to_north"),
        (1, "magnetic_ground_referenced_to_magnetic_north"),
        (2, "apparent"),
        (3, "true_boat_referenced"),
        (4, "true_water_referenced"),
    ]
);
table!(
    DC_SOURCE,
    "DC source",
    [(0, "battery"), (1, "alternator"), (2, "convertor"), (3, "solar_cell"), (4, "wind_generator")]
);
table!(
    TANK_TYPE,
    "tank type",
    [(0, "fuel"), (1, "water"), (2, "gray_water"), (3, "live_well"), (4, "oil"), (5, "black_water"),]
);
table!(
    TEMPERATURE_SOURCE,
    "temperature source",
    [
        (0, "sea_temperature"),
        (1, "outside_temperature"),
        (2, "inside_temperature"),
        (3, "engine_room_temperature"),
        (4, "main_cabin_temperature"),
        (5, "live_well_temperature"),
        (6, "bait_well_temperature"),
        (7, "refrigeration_temperature"),
        (8, "heating_system_temperature"),
        (9, "dew_point_temperature"),
        (10, "apparent_wind_chill_temperature"),
        (11, "theoretical_wind_chill_temperature"),
        (12, "heat_index_temperature"),
        (13, "freezer_temperature"),
        (14, "exhaust_gas_temperature"),
        (15, "shaft_seal_temperature"),
    ]
);
table!(HUMIDITY_SOURCE, "humidity source", [(0, "inside"), (1, "outside")]);
table!(
    PRESSURE_SOURCE,
    "pressure source",
    [
        (0, "atmospheric"),
        (1, "water"),
        (2, "steam"),
        (3, "compressed_air"),
        (4, "hydraulic"),
        (5, "filter"),
        (6, "altimeter_setting"),
        (7, "oil"),
        (8, "fuel"),
    ]
);
table!(BATTERY_TYPE, "battery type", [(0, "flooded"), (1, "gel"), (2, "agm")]);
table!(BATTERY_CHEMISTRY, "battery chemistry", [(0, "pb_lead"), (1, "li"), (2, "nicd"), (3, "zno"), (4, "nimh")]);
table!(
    BATTERY_VOLTAGE,
    "battery nominal voltage",
    [(0, "6v"), (1, "12v"), (2, "24v"), (3, "32v"), (4, "36v"), (5, "42v"), (6, "48v"),]
);
table!(YES_NO, "yes/no", [(0, "no"), (1, "yes")]);
table!(
    SATELLITE_STATUS,
    "satellite status",
    [(0, "not_tracked"), (1, "tracked"), (2, "used"), (3, "not_tracked_diff"), (4, "tracked_diff"), (5, "used_diff")]
);
table!(
    RANGE_RESIDUAL_MODE,
    "range residual mode",
    [(0, "range_residuals_were_used_to_calculate_data"), (1, "range_residuals_were_calculated_after_the_position")]
);
table!(AC_LINE, "AC line", [(0, "line_1"), (1, "line_2"), (2, "line_3")]);
table!(ACCEPTABILITY, "acceptability", [(0, "bad_level"), (1, "bad_frequency"), (2, "being_qualified"), (3, "good")]);
table!(WAVEFORM, "waveform", [(0, "sine_wave"), (1, "modified_sine_wave")]);
table!(
    INVERTER_STATE,
    "inverter state",
    [(0, "invert"), (1, "ac_passthru"), (2, "load_sense"), (3, "fault"), (4, "disabled")]
);
table!(
    STEERING_MODE,
    "steering mode",
    [
        (0, "main_steering"),
        (1, "non_follow_up_device"),
        (2, "follow_up_device"),
        (3, "heading_control_standalone"),
        (4, "heading_control"),
        (5, "track_control"),
    ]
);
table!(TURN_MODE, "turn mode", [(0, "rudder_limit_controlled"), (1, "turn_rate_controlled"), (2, "radius_controlled")]);
table!(OFF_ON, "off/on", [(0, "off"), (1, "on")]);
table!(
    SYSTEM_TIME,
    "time source",
    [
        (0, "gps"),
        (1, "glonass"),
        (2, "radio_station"),
        (3, "local_cesium_clock"),
        (4, "local_rubidium_clock"),
        (5, "local_crystal_clock"),
    ]
);
table!(
    CHARGER_STATE,
    "charger state",
    [
        (0, "not_charging"),
        (1, "bulk"),
        (2, "absorption"),
        (3, "overcharge"),
        (4, "equalise"),
        (5, "float"),
        (6, "no_float"),
        (7, "constant_vi"),
        (8, "disabled"),
        (9, "fault"),
    ]
);
table!(CHARGER_MODE, "charger mode", [(0, "standalone"), (1, "primary"), (2, "secondary"), (3, "echo")]);
table!(
    GNS,
    "GNSS type",
    [
        (0, "gps"),
        (1, "glonass"),
        (2, "gps_glonass"),
        (3, "gps_sbas_waas"),
        (4, "gps_sbas_waas_glonass"),
        (5, "chayka"),
        (6, "integrated"),
        (7, "surveyed"),
        (8, "galileo"),
    ]
);
table!(
    GNS_METHOD,
    "GNSS method",
    [
        (0, "no_gnss"),
        (1, "gnss_fix"),
        (2, "dgnss_fix"),
        (3, "precise_gnss"),
        (4, "rtk_fixed_integer"),
        (5, "rtk_float"),
        (6, "estimated_dr_mode"),
        (7, "manual_input"),
        (8, "simulate_mode"),
    ]
);
table!(GNS_INTEGRITY, "GNSS integrity", [(0, "no_integrity_checking"), (1, "safe"), (2, "caution"), (3, "unsafe")]);
table!(GNSS_MODE, "GNSS mode", [(0, "1d"), (1, "2d"), (2, "3d"), (3, "auto")]);
table!(ENGINE_INSTANCE, "engine instance", [(0, "single_engine_or_dual_engine_port"), (1, "dual_engine_starboard")]);
table!(
    WATER_REFERENCE,
    "speed sensor",
    [(0, "paddle_wheel"), (1, "pitot_tube"), (2, "doppler"), (3, "correlation_ultra_sound"), (4, "electro_magnetic"),]
);
table!(DIRECTION_RUDDER, "rudder order", [(0, "no_order"), (1, "move_to_starboard"), (2, "move_to_port")]);
table!(
    MAGNETIC_VARIATION,
    "variation source",
    [
        (0, "manual"),
        (1, "automatic_chart"),
        (2, "automatic_table"),
        (3, "automatic_calculation"),
        (4, "wmm_2000"),
        (5, "wmm_2005"),
        (6, "wmm_2010"),
        (7, "wmm_2015"),
        (8, "wmm_2020"),
        (9, "wmm_2025"),
    ]
);

/// Engine discrete status 1 (127489).
pub static ENGINE_STATUS_1: FlagTable = FlagTable {
    what: "engine status 1",
    bits: &[
        (1 << 0, "check_engine"),
        (1 << 1, "over_temperature"),
        (1 << 2, "low_oil_pressure"),
        (1 << 3, "low_oil_level"),
        (1 << 4, "low_fuel_pressure"),
        (1 << 5, "low_system_voltage"),
        (1 << 6, "low_coolant_level"),
        (1 << 7, "water_flow"),
        (1 << 8, "water_in_fuel"),
        (1 << 9, "charge_indicator"),
        (1 << 10, "preheat_indicator"),
        (1 << 11, "high_boost_pressure"),
        (1 << 12, "rev_limit_exceeded"),
        (1 << 13, "egr_system"),
        (1 << 14, "throttle_position_sensor"),
        (1 << 15, "emergency_stop"),
    ],
};

/// Engine discrete status 2 (127489).
pub static ENGINE_STATUS_2: FlagTable = FlagTable {
    what: "engine status 2",
    bits: &[
        (1 << 0, "warning_level_1"),
        (1 << 1, "warning_level_2"),
        (1 << 2, "power_reduction"),
        (1 << 3, "maintenance_needed"),
        (1 << 4, "engine_comm_error"),
        (1 << 5, "sub_or_secondary_throttle"),
        (1 << 6, "neutral_start_protect"),
        (1 << 7, "engine_shutting_down"),
    ],
};
