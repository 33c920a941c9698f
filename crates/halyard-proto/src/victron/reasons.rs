//! Bit sets: off reason, alarm/warning reason, BMS flags (victron.md §1.6).
//!
//! These are masks, never enumerations. Treating them as enums is the bug that crashes other
//! decoders on real combinations (0x81 on an Orion, keshavdv/victron-ble#20; 136 on an Orion XS,
//! keshavdv/victron-hacs#209). Unknown bits are kept in the raw value.

use crate::FlagTable;

/// Off reason (VE_REG_DEVICE_OFF_REASON_2 0x0207, u32; VE.Direct `OR`).
pub static OFF_REASON: FlagTable = FlagTable {
    what: "off reason",
    bits: &[
        (1 << 0, "no_input_power"),
        (1 << 1, "hard_power_switch"),
        (1 << 2, "soft_power_switch"),
        (1 << 3, "remote_input"),
        (1 << 4, "internal_reason"),
        (1 << 5, "pay_as_you_go"),
        (1 << 6, "bms"),
        (1 << 7, "engine_shutdown"),
        (1 << 8, "analysing_input_voltage"),
        (1 << 9, "low_battery_temperature"),
        (1 << 10, "no_pv_power"),
        (1 << 11, "low_battery"),
        (1 << 12, "low_mains"),
        (1 << 13, "no_can_sync"),
        (1 << 14, "not_enough_inverters"),
        (1 << 15, "active_alarm"),
    ],
};

/// Alarm and warning reason (VE_REG_ALARM_REASON 0x031E / VE_REG_WARNING_REASON 0x031C, u16;
/// VE.Direct `AR`, `WARN`).
pub static ALARM_REASON: FlagTable = FlagTable {
    what: "alarm reason",
    bits: &[
        (1, "low_voltage"),
        (2, "high_voltage"),
        (4, "low_soc"),
        (8, "low_starter_voltage"),
        (16, "high_starter_voltage"),
        (32, "low_temperature"),
        (64, "high_temperature"),
        (128, "mid_voltage"),
        (256, "overload"),
        (512, "dc_ripple"),
        (1024, "low_ac_out_voltage"),
        (2048, "high_ac_out_voltage"),
        (4096, "short_circuit"),
        (8192, "bms_lockout"),
        (16384, "bms_cable_failure"),
    ],
};

/// BMS flags (VE_REG_BMS_FLAGS 0x2100; bits 0–21 as VE_REG_LYNX_ION_FLAGS).
pub static BMS_FLAGS: FlagTable = FlagTable {
    what: "BMS flags",
    bits: &[
        (1 << 0, "charged"),
        (1 << 1, "almost_charged"),
        (1 << 2, "discharged"),
        (1 << 3, "almost_discharged"),
        (1 << 4, "charging"),
        (1 << 5, "discharging"),
        (1 << 6, "balancing"),
        (1 << 7, "safety_contactor"),
        (1 << 9, "alarm_over_voltage"),
        (1 << 10, "warning_over_voltage"),
        (1 << 11, "alarm_under_voltage"),
        (1 << 12, "warning_under_voltage"),
        (1 << 13, "warning_over_current_charge"),
        (1 << 14, "warning_over_current_discharge"),
        (1 << 15, "alarm_over_temperature"),
        (1 << 16, "warning_over_temperature"),
        (1 << 17, "warning_low_temperature_charge"),
        (1 << 18, "alarm_low_temperature_charge"),
        (1 << 19, "warning_low_temperature_discharge"),
        (1 << 20, "alarm_low_temperature_discharge"),
        (1 << 22, "alarm_under_temperature"),
        (1 << 24, "hardware_failure"),
        (1 << 25, "allowed_to_charge"),
        (1 << 26, "allowed_to_discharge"),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_combinations_decode() {
        let names: Vec<_> = OFF_REASON.names(0x81).collect();
        assert_eq!(names, ["no_input_power", "engine_shutdown"]);
        let names: Vec<_> = OFF_REASON.names(136).collect();
        assert_eq!(names, ["remote_input", "engine_shutdown"]);
        assert_eq!(OFF_REASON.unknown_bits(0x8000_0081), 0x8000_0000);
        let names: Vec<_> = BMS_FLAGS.names(0x0600_0000).collect();
        assert_eq!(names, ["allowed_to_charge", "allowed_to_discharge"]);
    }
}
