//! A Victron GX device (Cerbo GX, Ekrano, Venus OS on a Raspberry Pi) on MQTT.
//!
//! Venus OS publishes its D-Bus services on its own broker (TCP 1883) as
//! `N/<portal ID>/<service type>/<device instance>/<D-Bus path>` with a JSON payload
//! `{"value": …}`; `null` is an invalid value, an empty payload a device that left the bus
//! (marine.md §1.6; victronenergy/dbus-flashmq README, "Notifications"). Since Venus OS 3.20
//! nothing is retained: a reader sends `R/<portal ID>/keepalive` and gets every topic once,
//! then `N/<portal ID>/full_publish_completed`, then changes, for 60 s after each keep-alive
//! (same README, "Keep-alive"; src/state.cpp `publish_all`, `handle_keepalive`).
//!
//! This module knows the topic layout and which D-Bus paths are which of Halyard's quantities,
//! in Halyard's units and under the names Halyard's own decoders use for the same device — the
//! Instant Readout record's names first (a SmartShunt heard over Bluetooth and through the GX
//! fills the same metrics), VE.Direct's names for what Instant Readout does not carry. The JSON
//! is the gateway's business. Paths and units: Victron's D-Bus documentation (victronenergy
//! venus wiki "dbus"; the tank and temperature paths also victronenergy/dbus-adc README).

use crate::victron::states::{CHARGER_ERROR, DEVICE_STATE, TRACKER_MODE};
use crate::{EnumTable, Unit};

/// How a device's identity is found: Victron products carry their serial number on `/Serial`
/// (the same `HQ…` as VE.Direct's `SER#`), so a device the owner named by serial is the same
/// device whichever way it is heard; tank senders, temperature inputs and the system summary
/// have no serial and are known by service and instance.
pub fn has_serial(service: &str) -> bool {
    matches!(service, "battery" | "solarcharger" | "vebus" | "inverter" | "charger" | "dcdc" | "multi")
}

/// One topic from the GX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notification<'a> {
    /// A D-Bus value: `N/<portal>/<service>/<instance>/<path>`.
    Value {
        /// The GX's VRM portal ID (`c0619ab1c2d3`).
        portal: &'a str,
        /// The service type (`battery`, `solarcharger`, `tank` …).
        service: &'a str,
        /// The device instance (`279`), as the topic spells it.
        instance: &'a str,
        /// The D-Bus path without its leading `/` (`Dc/0/Voltage`).
        path: &'a str,
    },
    /// `N/<portal>/full_publish_completed`: every topic has been sent once after a keep-alive.
    FullPublishCompleted {
        /// The portal ID.
        portal: &'a str,
    },
    /// `N/<portal>/heartbeat` (every 3 s while kept alive) or `N/<portal>/keepalive`.
    Alive {
        /// The portal ID.
        portal: &'a str,
    },
}

/// Parse a topic; `None` for anything that is not a notification (`R/…`, `W/…`, other trees).
pub fn parse(topic: &str) -> Option<Notification<'_>> {
    let rest = topic.strip_prefix("N/")?;
    let (portal, rest) = rest.split_once('/')?;
    if portal.is_empty() {
        return None;
    }
    match rest {
        "full_publish_completed" => return Some(Notification::FullPublishCompleted { portal }),
        "heartbeat" | "keepalive" => return Some(Notification::Alive { portal }),
        _ => {}
    }
    let (service, rest) = rest.split_once('/')?;
    let (instance, path) = rest.split_once('/')?;
    (!service.is_empty() && !instance.is_empty() && !path.is_empty()).then_some(Notification::Value {
        portal,
        service,
        instance,
        path,
    })
}

/// The kind of device a service is, in the words Halyard's other decoders use.
pub fn kind(service: &str) -> Option<&'static str> {
    Some(match service {
        "battery" => "battery_monitor",
        "solarcharger" => "solar_charger",
        "vebus" => "ve_bus",
        "inverter" => "inverter",
        "multi" => "multi_rs",
        "charger" => "ac_charger",
        "dcdc" => "dcdc_converter",
        "tank" => "tank",
        "temperature" => "temperature",
        "system" => "gx",
        _ => return None,
    })
}

/// What a D-Bus path is in Halyard: a metric name, its unit, and the factor from the D-Bus
/// value to that unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantity {
    /// Metric name.
    pub name: &'static str,
    /// Halyard's unit.
    pub unit: Unit,
    /// Multiply the D-Bus value by this (seconds → minutes, m³ → L).
    pub scale: f64,
    /// Names for the codes of an enumeration.
    pub table: Option<&'static EnumTable>,
}

const fn q(name: &'static str, unit: Unit) -> Quantity {
    Quantity { name, unit, scale: 1.0, table: None }
}

const fn scaled(name: &'static str, unit: Unit, scale: f64) -> Quantity {
    Quantity { name, unit, scale, table: None }
}

const fn code(name: &'static str, table: &'static EnumTable) -> Quantity {
    Quantity { name, unit: Unit::None, scale: 1.0, table: Some(table) }
}

/// Tank contents (`/FluidType`), kept in step with NMEA 2000's fluid types (dbus-adc README;
/// the D-Bus documentation adds 6–11).
pub static FLUID_TYPE: EnumTable = EnumTable {
    what: "fluid type",
    entries: &[
        (0, "fuel"),
        (1, "fresh_water"),
        (2, "waste_water"),
        (3, "live_well"),
        (4, "oil"),
        (5, "black_water"),
        (6, "gasoline"),
        (7, "diesel"),
        (8, "lpg"),
        (9, "lng"),
        (10, "hydraulic_oil"),
        (11, "raw_water"),
    ],
};

/// A tank sender's or temperature input's `/Status` (dbus-adc README).
pub static SENSOR_STATUS: EnumTable = EnumTable {
    what: "sensor status",
    entries: &[(0, "ok"), (1, "disconnected"), (2, "short_circuited"), (3, "reverse_polarity"), (4, "unknown")],
};

/// What a temperature input measures (`/TemperatureType`; 0–2 dbus-adc README, 3–6 the D-Bus
/// documentation).
pub static TEMPERATURE_TYPE: EnumTable = EnumTable {
    what: "temperature type",
    entries: &[
        (0, "battery"),
        (1, "fridge"),
        (2, "generic"),
        (3, "room"),
        (4, "outdoor"),
        (5, "water_heater"),
        (6, "freezer"),
    ],
};

/// A VE.Bus inverter/charger's switch position (`vebus` `/Mode`).
pub static VEBUS_MODE: EnumTable =
    EnumTable { what: "VE.Bus mode", entries: &[(1, "charger_only"), (2, "inverter_only"), (3, "on"), (4, "off")] };

/// An inverter's switch position (`inverter` `/Mode`).
pub static INVERTER_MODE: EnumTable =
    EnumTable { what: "inverter mode", entries: &[(2, "on"), (4, "off"), (5, "eco")] };

/// Which AC input an inverter/charger uses (`/Ac/ActiveIn/ActiveInput`). Not the Instant
/// Readout record's 2-bit `ac_in_state`: "not connected" is 240 here, 2 there.
pub static ACTIVE_INPUT: EnumTable =
    EnumTable { what: "active AC input", entries: &[(0, "ac_in_1"), (1, "ac_in_2"), (240, "not_connected")] };

/// The quantity a service's path carries; `None` for paths Halyard does not keep (settings,
/// alarms, identity paths, which the gateway reads itself).
pub fn quantity(service: &str, path: &str) -> Option<Quantity> {
    use Unit::{
        AmpHour, Ampere, Celsius, HectoPascal, Hertz, KiloWattHour, Litre, Minute, Percent, Second, Volt, VoltAmpere,
        Watt,
    };
    const COUNT: Unit = Unit::None;
    Some(match (service, path) {
        // com.victronenergy.battery: battery monitors, smart batteries, BMSes.
        ("battery", "Dc/0/Voltage") => q("voltage", Volt),
        ("battery", "Dc/0/Current") => q("current", Ampere),
        ("battery", "Dc/0/Power") => q("battery_power", Watt),
        ("battery", "Dc/0/Temperature") => q("battery_temperature", Celsius),
        ("battery", "Dc/0/MidVoltage") => q("midpoint_voltage", Volt),
        ("battery", "Dc/0/MidVoltageDeviation") => q("midpoint_deviation", Percent),
        ("battery", "Dc/1/Voltage") => q("starter_voltage", Volt),
        ("battery" | "vebus" | "multi", "Soc") => q("soc", Percent),
        // Negative when drawn, as VE.Direct's CE and Instant Readout's consumed Ah.
        ("battery", "ConsumedAmphours") => q("consumed_ah", AmpHour),
        // Seconds on the bus; minutes in Halyard (VE.Direct TTG, Instant Readout).
        ("battery", "TimeToGo") => scaled("remaining_mins", Minute, 1.0 / 60.0),
        ("battery", "System/MinCellVoltage") => q("min_cell_voltage", Volt),
        ("battery", "System/MaxCellVoltage") => q("max_cell_voltage", Volt),
        ("battery", "History/DeepestDischarge") => q("deepest_discharge", AmpHour),
        ("battery", "History/LastDischarge") => q("last_discharge", AmpHour),
        ("battery", "History/AverageDischarge") => q("average_discharge", AmpHour),
        ("battery", "History/ChargeCycles") => q("charge_cycles", COUNT),
        ("battery", "History/FullDischarges") => q("full_discharges", COUNT),
        ("battery", "History/TotalAhDrawn") => q("cumulative_ah_drawn", AmpHour),
        ("battery", "History/MinimumVoltage") => q("min_battery_voltage", Volt),
        ("battery", "History/MaximumVoltage") => q("max_battery_voltage", Volt),
        ("battery", "History/TimeSinceLastFullCharge") => q("seconds_since_full", Second),
        ("battery", "History/AutomaticSyncs") => q("automatic_syncs", COUNT),
        ("battery", "History/DischargedEnergy") => q("discharged_energy", KiloWattHour),
        ("battery", "History/ChargedEnergy") => q("charged_energy", KiloWattHour),
        ("battery" | "solarcharger", "Relay/0/State") => q("relay", COUNT),

        // com.victronenergy.solarcharger: MPPTs on VE.Direct, VE.Can or Bluetooth.
        ("solarcharger", "Dc/0/Voltage") => q("battery_voltage", Volt),
        ("solarcharger", "Dc/0/Current") => q("battery_charging_current", Ampere),
        ("solarcharger", "Pv/V") => q("panel_voltage", Volt),
        ("solarcharger", "Pv/I") => q("panel_current", Ampere),
        ("solarcharger", "Yield/Power") => q("solar_power", Watt),
        ("solarcharger", "Yield/User") => q("user_yield", KiloWattHour),
        ("solarcharger", "Yield/System") => q("system_yield", KiloWattHour),
        ("solarcharger", "History/Daily/0/Yield") => q("yield_today", KiloWattHour),
        ("solarcharger", "History/Daily/0/MaxPower") => q("max_power_today", Watt),
        ("solarcharger", "History/Daily/1/Yield") => q("yield_yesterday", KiloWattHour),
        ("solarcharger", "History/Daily/1/MaxPower") => q("max_power_yesterday", Watt),
        ("solarcharger" | "charger", "State") => code("charge_state", &DEVICE_STATE),
        ("solarcharger" | "charger" | "dcdc", "ErrorCode") => code("charger_error", &CHARGER_ERROR),
        ("solarcharger", "MppOperationMode") => code("tracker_mode", &TRACKER_MODE),
        ("solarcharger", "Load/I") => q("load_current", Ampere),
        ("solarcharger", "Load/State") => q("load_output", COUNT),

        // com.victronenergy.vebus: MultiPlus and Quattro inverter/chargers.
        ("vebus" | "inverter" | "multi" | "dcdc", "State") => code("device_state", &DEVICE_STATE),
        ("vebus", "Mode") => code("device_mode", &VEBUS_MODE),
        ("inverter", "Mode") => code("device_mode", &INVERTER_MODE),
        ("vebus" | "inverter" | "multi", "Dc/0/Voltage") => q("battery_voltage", Volt),
        ("vebus" | "multi", "Dc/0/Current") => q("battery_current", Ampere),
        ("vebus" | "multi", "Dc/0/Temperature") => q("battery_temperature", Celsius),
        ("vebus" | "multi", "Ac/ActiveIn/P") => q("ac_in_power", Watt),
        ("vebus" | "multi", "Ac/Out/P") => q("ac_out_power", Watt),
        ("vebus" | "multi", "Ac/ActiveIn/L1/V") => q("ac_in_voltage", Volt),
        ("vebus" | "multi", "Ac/ActiveIn/L1/I") => q("ac_in_current", Ampere),
        ("vebus" | "multi", "Ac/ActiveIn/L1/F") => q("ac_in_frequency", Hertz),
        ("vebus" | "multi", "Ac/Out/L1/V") => q("ac_out_voltage", Volt),
        ("vebus" | "multi", "Ac/Out/L1/I") => q("ac_out_current", Ampere),
        ("vebus" | "multi", "Ac/Out/L1/F") => q("ac_out_frequency", Hertz),
        ("vebus" | "multi", "Ac/ActiveIn/L2/V") => q("ac_in_l2_voltage", Volt),
        ("vebus" | "multi", "Ac/ActiveIn/L2/I") => q("ac_in_l2_current", Ampere),
        ("vebus" | "multi", "Ac/ActiveIn/L2/P") => q("ac_in_l2_power", Watt),
        ("vebus" | "multi", "Ac/ActiveIn/L3/V") => q("ac_in_l3_voltage", Volt),
        ("vebus" | "multi", "Ac/ActiveIn/L3/I") => q("ac_in_l3_current", Ampere),
        ("vebus" | "multi", "Ac/ActiveIn/L3/P") => q("ac_in_l3_power", Watt),
        ("vebus" | "multi", "Ac/Out/L2/V") => q("ac_out_l2_voltage", Volt),
        ("vebus" | "multi", "Ac/Out/L2/I") => q("ac_out_l2_current", Ampere),
        ("vebus" | "multi", "Ac/Out/L2/P") => q("ac_out_l2_power", Watt),
        ("vebus" | "multi", "Ac/Out/L3/V") => q("ac_out_l3_voltage", Volt),
        ("vebus" | "multi", "Ac/Out/L3/I") => q("ac_out_l3_current", Ampere),
        ("vebus" | "multi", "Ac/Out/L3/P") => q("ac_out_l3_power", Watt),
        ("vebus" | "multi", "Ac/ActiveIn/ActiveInput") => code("active_ac_input", &ACTIVE_INPUT),
        ("vebus" | "multi", "Ac/ActiveIn/CurrentLimit") => q("ac_in_current_limit", Ampere),
        ("vebus", "VebusError") => q("vebus_error", COUNT),

        // com.victronenergy.inverter: Phoenix inverters (the Instant Readout record's names).
        ("inverter", "Ac/Out/L1/V") => q("ac_voltage", Volt),
        ("inverter", "Ac/Out/L1/I") => q("ac_current", Ampere),
        ("inverter", "Ac/Out/L1/P") => q("ac_power", Watt),
        ("inverter", "Ac/Out/L1/S") => q("ac_apparent_power", VoltAmpere),

        // com.victronenergy.charger: Phoenix/Blue Smart AC chargers, up to three outputs.
        ("charger", "Dc/0/Voltage") => q("output_voltage1", Volt),
        ("charger", "Dc/0/Current") => q("output_current1", Ampere),
        ("charger", "Dc/1/Voltage") => q("output_voltage2", Volt),
        ("charger", "Dc/1/Current") => q("output_current2", Ampere),
        ("charger", "Dc/2/Voltage") => q("output_voltage3", Volt),
        ("charger", "Dc/2/Current") => q("output_current3", Ampere),
        ("charger", "Ac/In/L1/I") => q("ac_current", Ampere),

        // com.victronenergy.dcdc: Orion chargers.
        ("dcdc", "Dc/In/V") => q("input_voltage", Volt),
        ("dcdc", "Dc/0/Voltage") => q("output_voltage", Volt),
        ("dcdc", "Dc/0/Current") => q("output_current", Ampere),

        // com.victronenergy.tank: the GX's tank inputs, N2K and Bluetooth tank senders.
        ("tank", "Level") => q("level", Percent),
        ("tank", "Remaining") => scaled("remaining", Litre, 1000.0),
        ("tank", "Capacity") => scaled("capacity", Litre, 1000.0),
        ("tank", "FluidType") => code("fluid_type", &FLUID_TYPE),
        ("tank" | "temperature", "Status") => code("sensor_status", &SENSOR_STATUS),

        // com.victronenergy.temperature: the GX's temperature inputs, Ruuvi tags, N2K sensors.
        ("temperature", "Temperature") => q("temperature", Celsius),
        ("temperature", "TemperatureType") => code("temperature_type", &TEMPERATURE_TYPE),
        ("temperature", "Humidity") => q("humidity", Percent),
        ("temperature", "Pressure") => q("pressure", HectoPascal),

        // com.victronenergy.system: the GX's own summary of the installation.
        ("system", "Dc/Battery/Voltage") => q("battery_voltage", Volt),
        ("system", "Dc/Battery/Current") => q("battery_current", Ampere),
        ("system", "Dc/Battery/Power") => q("battery_power", Watt),
        ("system", "Dc/Battery/Soc") => q("soc", Percent),
        ("system", "Dc/Battery/ConsumedAmphours") => q("consumed_ah", AmpHour),
        ("system", "Dc/Battery/TimeToGo") => scaled("remaining_mins", Minute, 1.0 / 60.0),
        ("system", "Dc/Pv/Power") => q("pv_power", Watt),
        ("system", "Dc/System/Power") => q("dc_system_power", Watt),
        ("system", "Ac/Consumption/L1/Power") => q("ac_consumption_power", Watt),
        ("system", "Ac/Consumption/L2/Power") => q("ac_consumption_l2_power", Watt),
        ("system", "Ac/Consumption/L3/Power") => q("ac_consumption_l3_power", Watt),
        ("system", "Ac/Grid/L1/Power") => q("grid_power", Watt),
        ("system", "Ac/Genset/L1/Power") => q("genset_power", Watt),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_as_the_gx_sends_them() {
        // Topic shapes from a real Venus OS capture (sbender9/signalk-venus-plugin
        // test/mqtt-test.log, portal c0847dba509e) and the dbus-flashmq README.
        assert_eq!(
            parse("N/c0847dba509e/system/0/Dc/Battery/Voltage"),
            Some(Notification::Value {
                portal: "c0847dba509e",
                service: "system",
                instance: "0",
                path: "Dc/Battery/Voltage"
            })
        );
        assert_eq!(
            parse("N/c0847dba509e/full_publish_completed"),
            Some(Notification::FullPublishCompleted { portal: "c0847dba509e" })
        );
        assert_eq!(parse("N/c0847dba509e/heartbeat"), Some(Notification::Alive { portal: "c0847dba509e" }));
        for other in
            ["R/c0847dba509e/keepalive", "W/x/vebus/257/Mode", "N//system/0/Serial", "N/x/system/0/", "N/x", ""]
        {
            assert_eq!(parse(other), None, "{other}");
        }
    }

    #[test]
    fn paths_become_halyards_quantities() {
        let ttg = quantity("battery", "TimeToGo").unwrap();
        assert_eq!((ttg.name, ttg.unit, 3480.0 * ttg.scale), ("remaining_mins", Unit::Minute, 58.0));
        let tank = quantity("tank", "Capacity").unwrap();
        assert_eq!((tank.name, tank.unit.symbol(), 0.2 * tank.scale), ("capacity", "L", 200.0));
        assert_eq!(quantity("tank", "FluidType").unwrap().table.unwrap().name(5), Some("black_water"));
        assert_eq!(quantity("solarcharger", "State").unwrap().table.unwrap().name(3), Some("bulk"));
        assert_eq!(
            quantity("vebus", "Ac/ActiveIn/ActiveInput").unwrap().table.unwrap().name(240),
            Some("not_connected")
        );
        // Settings and identity paths are not quantities.
        assert_eq!(quantity("settings", "Settings/System/VncInternet"), None);
        assert_eq!(quantity("battery", "Serial"), None);
    }

    #[test]
    fn every_mapped_service_has_a_kind_and_unique_names() {
        let services = [
            "battery",
            "solarcharger",
            "vebus",
            "inverter",
            "multi",
            "charger",
            "dcdc",
            "tank",
            "temperature",
            "system",
        ];
        let paths = [
            "Dc/0/Voltage",
            "Dc/0/Current",
            "Dc/0/Power",
            "Dc/0/Temperature",
            "Dc/0/MidVoltage",
            "Dc/1/Voltage",
            "Dc/1/Current",
            "Dc/2/Voltage",
            "Dc/2/Current",
            "Dc/In/V",
            "Soc",
            "State",
            "Mode",
            "ErrorCode",
            "Ac/Out/L1/V",
            "Ac/Out/L1/I",
            "Ac/Out/L1/P",
            "Ac/Out/P",
            "Ac/ActiveIn/P",
            "Level",
            "Temperature",
        ];
        for s in services {
            assert!(kind(s).is_some(), "{s}");
            let mut names: Vec<&str> = paths.iter().filter_map(|p| quantity(s, p)).map(|q| q.name).collect();
            let n = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), n, "{s}: two paths share a metric name");
        }
        assert!(has_serial("battery") && !has_serial("tank") && !has_serial("system"));
    }
}
