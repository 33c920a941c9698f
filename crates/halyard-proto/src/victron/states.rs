//! Enumerations shared by Instant Readout records, VE.Direct text fields and registers
//! (victron.md §1.6). One table each, so a code means the same thing whichever way it arrived.

use crate::EnumTable;

/// Device state / charge state (VE_REG_DEVICE_STATE 0x0201, VE.Direct `CS`).
///
/// vedirect-3.34.pdf p.15 lists 0–7, 9, 11, 245–248, 252; Victron's ESPHome-facing headers add
/// 8, 10, 244, 249–251 (Fabian-Schmidt/esphome-victron_ble victron_ble.h).
pub static DEVICE_STATE: EnumTable = EnumTable {
    what: "device state",
    entries: &[
        (0, "off"),
        (1, "low_power"),
        (2, "fault"),
        (3, "bulk"),
        (4, "absorption"),
        (5, "float"),
        (6, "storage"),
        (7, "equalize_manual"),
        (8, "passthru"),
        (9, "inverting"),
        (10, "assisting"),
        (11, "power_supply"),
        (244, "sustain"),
        (245, "starting_up"),
        (246, "repeated_absorption"),
        (247, "auto_equalize"),
        (248, "battery_safe"),
        (249, "load_detect"),
        (250, "blocked"),
        (251, "test"),
        (252, "external_control"),
        (255, "not_available"),
    ],
};

/// Charger error (VE_REG_CHR_ERROR_CODE 0xEDDA, VE.Direct `ERR`). Codes sharing a meaning keep
/// distinct names (`_a`, `_b`) so that the raw code can be recovered from the name.
pub static CHARGER_ERROR: EnumTable = EnumTable {
    what: "charger error",
    entries: &[
        (0, "no_error"),
        (1, "battery_temperature_high"),
        (2, "battery_voltage_high"),
        (3, "remote_temperature_sensor_a"),
        (4, "remote_temperature_sensor_b"),
        (5, "remote_temperature_sensor_c"),
        (6, "remote_battery_voltage_sense_a"),
        (7, "remote_battery_voltage_sense_b"),
        (8, "remote_battery_voltage_sense_c"),
        (11, "battery_high_ripple"),
        (14, "battery_temperature_low"),
        (17, "charger_temperature_high"),
        (18, "charger_over_current"),
        (19, "charger_current_reversed"),
        (20, "bulk_time_limit"),
        (21, "current_sensor"),
        (22, "internal_temperature_sensor_a"),
        (23, "internal_temperature_sensor_b"),
        (24, "fan"),
        (26, "terminals_overheated"),
        (27, "charger_short_circuit"),
        (28, "power_stage"),
        (29, "over_charge_protection"),
        (33, "pv_over_voltage"),
        (34, "pv_over_current"),
        (35, "pv_over_power"),
        (38, "input_shutdown_battery_voltage"),
        (39, "input_shutdown_current_off_mode"),
        (40, "pv_input_failed_to_shutdown"),
        (41, "inverter_shutdown_pv_isolation_a"),
        (42, "inverter_shutdown_pv_isolation_b"),
        (43, "inverter_shutdown_ground_fault"),
        (50, "inverter_overload"),
        (51, "inverter_temperature"),
        (52, "inverter_peak_current"),
        (53, "inverter_output_voltage_a"),
        (54, "inverter_output_voltage_b"),
        (55, "inverter_self_test_a"),
        (56, "inverter_self_test_b"),
        (57, "inverter_ac_voltage_on_output"),
        (58, "inverter_self_test_c"),
        (65, "communication_lost"),
        (66, "synchronised_charging_config"),
        (67, "bms_connection_lost"),
        (68, "network_misconfigured_a"),
        (69, "network_misconfigured_b"),
        (70, "network_misconfigured_c"),
        (71, "network_misconfigured_d"),
        (80, "pv_input_shutdown_1"),
        (81, "pv_input_shutdown_2"),
        (82, "pv_input_shutdown_3"),
        (83, "pv_input_shutdown_4"),
        (84, "pv_input_shutdown_5"),
        (85, "pv_input_shutdown_6"),
        (86, "pv_input_shutdown_7"),
        (87, "pv_input_shutdown_8"),
        (114, "cpu_temperature"),
        (116, "calibration_lost"),
        (117, "invalid_firmware"),
        (119, "settings_invalid"),
        (121, "tester_fail"),
        (200, "internal_dc_voltage_a"),
        (201, "internal_dc_voltage_b"),
        (202, "residual_current_self_test"),
        (203, "internal_supply_voltage_a"),
        (205, "internal_supply_voltage_b"),
        (212, "internal_supply_voltage_c"),
        (215, "internal_supply_voltage_d"),
        (255, "not_available"),
    ],
};

/// Active AC input (2-bit field of Multi RS and VE.Bus records; emd.pdf).
pub static AC_IN_STATE: EnumTable = EnumTable {
    what: "active AC input",
    entries: &[(0, "ac_in_1"), (1, "ac_in_2"), (2, "not_connected"), (3, "unknown")],
};

/// VE.Bus alarm (2-bit field of the VE.Bus record; 3 = not available).
pub static VEBUS_ALARM: EnumTable =
    EnumTable { what: "VE.Bus alarm", entries: &[(0, "no_alarm"), (1, "warning"), (2, "alarm")] };

/// Battery-monitor auxiliary input (VE_REG_BMV_AUX_INPUT 0xEEF8).
pub static AUX_INPUT: EnumTable = EnumTable {
    what: "aux input",
    entries: &[(0, "starter_voltage"), (1, "midpoint_voltage"), (2, "temperature"), (3, "disabled")],
};

/// DC monitor mode (VE.Direct `MON`, VE_REG_BMV_MONITOR_MODE 0xEEB8, signed; vedirect-3.34.pdf p.16).
pub static MONITOR_MODE: EnumTable = EnumTable {
    what: "monitor mode",
    entries: &[
        (-9, "solar_charger"),
        (-8, "wind_turbine"),
        (-7, "shaft_generator"),
        (-6, "alternator"),
        (-5, "fuel_cell"),
        (-4, "water_generator"),
        (-3, "dc_dc_charger"),
        (-2, "ac_charger"),
        (-1, "generic_source"),
        (0, "battery_monitor"),
        (1, "generic_load"),
        (2, "electric_drive"),
        (3, "fridge"),
        (4, "water_pump"),
        (5, "bilge_pump"),
        (6, "dc_system"),
        (7, "inverter"),
        (8, "water_heater"),
    ],
};

/// SmartLithium balancer status (VE_REG_BALANCER_STATUS 0xEA15).
pub static BALANCER_STATUS: EnumTable = EnumTable {
    what: "balancer status",
    entries: &[(0, "unknown"), (1, "balanced"), (2, "balancing"), (3, "imbalance")],
};

/// DC output state of a Smart BatteryProtect / load output (VE_REG_DC_OUTPUT_STATUS 0xEDA8).
///
/// Sources conflict on 0 and 4 (victron.md §1.6): ve_regs.h says 0 off, victron-ble observed
/// 4 = off and 0 = shutdown. Both are named off-like; the raw code is always reported.
pub static OUTPUT_STATE: EnumTable = EnumTable {
    what: "output state",
    entries: &[(0, "off"), (1, "on"), (2, "scheduled"), (3, "attempting"), (4, "off_4")],
};

/// MPPT tracker operation mode (VE.Direct `MPPT`, register 0xEDB3).
pub static TRACKER_MODE: EnumTable =
    EnumTable { what: "tracker mode", entries: &[(0, "off"), (1, "voltage_current_limited"), (2, "mppt_active")] };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_unique_codes_and_names() {
        for t in [
            &DEVICE_STATE,
            &CHARGER_ERROR,
            &AC_IN_STATE,
            &VEBUS_ALARM,
            &AUX_INPUT,
            &MONITOR_MODE,
            &BALANCER_STATUS,
            &OUTPUT_STATE,
            &TRACKER_MODE,
        ] {
            for (i, a) in t.entries.iter().enumerate() {
                for b in &t.entries[i + 1..] {
                    assert_ne!(a.0, b.0, "{}: duplicate code", t.what);
                    assert_ne!(a.1, b.1, "{}: duplicate name", t.what);
                }
            }
        }
    }

    #[test]
    fn documented_codes() {
        assert_eq!(DEVICE_STATE.name(4), Some("absorption"));
        assert_eq!(DEVICE_STATE.name(249), Some("load_detect"));
        assert_eq!(CHARGER_ERROR.name(19), Some("charger_current_reversed"));
        assert_eq!(MONITOR_MODE.name(-3), Some("dc_dc_charger"));
        assert_eq!(DEVICE_STATE.name(12), None);
    }
}
