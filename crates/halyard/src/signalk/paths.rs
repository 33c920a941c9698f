//! Where a Halyard value lives in the Signal K data model, and in which unit.
//!
//! Signal K keeps everything in SI units (marine.md §1.3, SignalK/specification
//! `schemas/groups/*.json`): V, A, W, K, ratio 0–1, J, C (coulomb), s, rad, m/s, m, Pa.
//! Halyard keeps the units owners read (°C, %, kWh, kn, degrees, minutes), so every value is
//! converted here, once. A device's values go under the group its kind or role names
//! (`electrical.solar.<name>`, `electrical.batteries.<name>` …) with `<name>` the configured
//! device name; navigation and the environment are the vessel's own. Values the specification
//! has no path for (a gust over the hour, a Meshtastic node's SNR) are left out rather than
//! invented: `halyard/…` MQTT topics and the dashboard carry them.

use serde_json::{json, Value as Json};

use crate::model::{DeviceInfo, Reading};

/// The part of the model a device's values belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// `electrical.solar.<id>`: MPPT solar chargers.
    Solar,
    /// `electrical.batteries.<id>`: battery monitors, shunts, smart batteries.
    Battery,
    /// `electrical.inverters.<id>`: inverters and inverter/chargers.
    Inverter,
    /// `electrical.chargers.<id>`: AC chargers and DC-DC chargers.
    Charger,
    /// The vessel's own `navigation.*` and `environment.*` (Halyard's `nav` device).
    Navigation,
    /// A Meshtastic node: a vessel context of its own with its position.
    MeshNode,
    /// `tanks.<type>.<id>`: a tank of this Signal K type (`fuel`, `freshWater`, `blackWater` …).
    Tank(&'static str),
    /// `propulsion.<id>`: an engine.
    Engine,
}

/// Signal K's tank type for an NMEA 2000 fluid (127505's `type`, in a device's kind `tank-fuel`).
fn tank_type(fluid: &str) -> Option<&'static str> {
    Some(match fluid {
        "fuel" => "fuel",
        "water" => "freshWater",
        "gray-water" => "wasteWater",
        "black-water" => "blackWater",
        "oil" => "lubrication",
        "live-well" => "liveWell",
        _ => return None,
    })
}

impl Group {
    /// The group of a device: its configured role first, else the kind it said it is.
    pub fn of(device: &DeviceInfo) -> Option<Group> {
        if device.name == "nav" || device.kind == "navigation" {
            return Some(Group::Navigation);
        }
        if device.kind == "mesh_node" || device.name.starts_with("mesh/") {
            return Some(Group::MeshNode);
        }
        match device.role.as_deref() {
            Some("solar") => return Some(Group::Solar),
            Some("battery") => return Some(Group::Battery),
            Some("inverter") => return Some(Group::Inverter),
            Some("charger") => return Some(Group::Charger),
            _ => {}
        }
        // An NMEA 2000 tank says its fluid in its identity (`tank-fuel` 0).
        let fluid = device.identities.iter().find_map(|i| match i {
            crate::model::Identity::N2k { kind, .. } => kind.strip_prefix("tank-").and_then(tank_type),
            _ => None,
        });
        match device.kind.as_str() {
            "tank" => fluid.map(Group::Tank),
            "engine" => Some(Group::Engine),
            "solar_charger" => Some(Group::Solar),
            "battery_monitor" | "dc_shunt" | "smart_lithium" | "lynx_smart_bms" | "smart_bms" | "battery" => {
                Some(Group::Battery)
            }
            "inverter" | "inverter_rs" | "multi_rs" | "ve_bus" | "inverter_charger" => Some(Group::Inverter),
            "ac_charger" | "charger" | "dcdc_converter" | "orion_xs" => Some(Group::Charger),
            _ => None,
        }
    }

    /// The path prefix of a device of this group (`electrical.batteries.houseBank.`); empty
    /// for the vessel's own navigation and for a mesh node (its own context).
    pub fn prefix(self, device: &str) -> String {
        let id = id(device);
        match self {
            Group::Solar => format!("electrical.solar.{id}."),
            Group::Battery => format!("electrical.batteries.{id}."),
            Group::Inverter => format!("electrical.inverters.{id}."),
            Group::Charger => format!("electrical.chargers.{id}."),
            Group::Tank(fluid) => format!("tanks.{fluid}.{id}."),
            Group::Engine => format!("propulsion.{id}."),
            Group::Navigation | Group::MeshNode => String::new(),
        }
    }
}

/// The key of a device in its group: the schema allows letters and digits only
/// (`electrical.json`: `(^[A-Za-z0-9]+$)`), so `house-bank` becomes `houseBank`; the device's
/// own name stays beside it as the group's `name`.
pub fn id(device: &str) -> String {
    let mut out = String::with_capacity(device.len());
    let mut upper = false;
    for c in device.chars() {
        if !c.is_ascii_alphanumeric() {
            upper = !out.is_empty();
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    if out.is_empty() {
        out.push_str("device");
    }
    out
}

/// One value placed in the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// The path below the context (`electrical.batteries.house-bank.voltage`).
    pub path: String,
    /// The value in Signal K's unit.
    pub value: Json,
    /// Signal K's unit symbol (`V`, `ratio`, `rad`), none for text.
    pub units: Option<&'static str>,
    /// What it is, in words (the meta's description and display name).
    pub description: &'static str,
}

/// A Halyard unit's value in SI, with Signal K's symbol for it.
pub fn si(unit: &str, v: f64) -> Option<(f64, &'static str)> {
    Some(match unit {
        "V" => (v, "V"),
        "A" => (v, "A"),
        "W" => (v, "W"),
        "Hz" => (v, "Hz"),
        "°C" => (v + 273.15, "K"),
        "%" => (v / 100.0, "ratio"),
        "kWh" => (v * 3.6e6, "J"),
        "Wh" => (v * 3600.0, "J"),
        "Ah" => (v * 3600.0, "C"),
        // One knot is 1852 m per hour (definition of the international nautical mile).
        "kn" => (v * 1852.0 / 3600.0, "m/s"),
        "°" => (v.to_radians(), "rad"),
        "s" => (v, "s"),
        "min" => (v * 60.0, "s"),
        "h" => (v * 3600.0, "s"),
        "m" => (v, "m"),
        "hPa" => (v * 100.0, "Pa"),
        "L" => (v / 1000.0, "m3"),
        "rpm" => (v / 60.0, "Hz"),
        "L/h" => (v / 1000.0 / 3600.0, "m3/s"),
        _ => return None,
    })
}

/// Where one of a device's metrics goes: the path below the group's prefix and its meaning.
/// `None`: Signal K has no place for it.
fn slot(group: Group, metric: &str) -> Option<(&'static str, &'static str)> {
    use Group::*;
    Some(match (group, metric) {
        (Solar, "battery_voltage") => ("voltage", "Battery voltage at the charger"),
        (Solar, "battery_current" | "battery_charging_current") => ("current", "Charging current into the battery"),
        (Solar, "panel_power" | "solar_power") => ("panelPower", "Power from the panels"),
        (Solar, "panel_voltage") => ("panelVoltage", "Panel voltage"),
        (Solar, "panel_current") => ("panelCurrent", "Panel current"),
        (Solar, "load_current") => ("loadCurrent", "Load output current"),
        (Solar, "yield_today") => ("yieldToday", "Energy harvested today"),
        (Solar, "charge_state_name" | "device_state_name" | "charge_state" | "device_state") => {
            ("chargingMode", "Charging mode")
        }
        (Battery, "voltage" | "battery_voltage") => ("voltage", "Battery voltage"),
        (Battery, "current" | "battery_current") => ("current", "Battery current (positive charging)"),
        (Battery, "temperature" | "battery_temperature") => ("temperature", "Battery temperature"),
        (Battery, "soc" | "state_of_charge") => ("capacity.stateOfCharge", "State of charge"),
        (Battery, "remaining_mins" | "time_remaining") => ("capacity.timeRemaining", "Time to go"),
        (Battery, "consumed_ah") => ("capacity.dischargeSinceFull", "Charge drawn since the battery was full"),
        (Inverter, "battery_voltage") => ("dc.voltage", "DC voltage"),
        (Inverter, "battery_current") => ("dc.current", "DC current"),
        (Inverter, "ac_output_voltage") => ("ac.lineNeutralVoltage", "AC output voltage"),
        (Inverter, "ac_output_current") => ("ac.current", "AC output current"),
        (Inverter, "ac_output_power") => ("ac.realPower", "AC output power"),
        (Inverter, "device_state_name" | "device_state") => ("inverterMode", "Inverter mode"),
        (Charger, "battery_voltage" | "output_voltage") => ("voltage", "Output voltage"),
        (Charger, "battery_current" | "output_current" | "charge_current") => ("current", "Output current"),
        (Charger, "charge_state_name" | "device_state_name" | "charge_state" | "device_state" | "charger_state") => {
            ("chargingMode", "Charging mode")
        }
        (Tank(_), "level") => ("currentLevel", "Level"),
        (Tank(_), "capacity") => ("capacity", "Capacity"),
        (Tank(_), "remaining") => ("currentVolume", "Volume in the tank"),
        (Engine, "rpm") => ("revolutions", "Engine revolutions"),
        (Engine, "coolant_temperature") => ("temperature", "Coolant temperature"),
        (Engine, "oil_temperature") => ("oilTemperature", "Oil temperature"),
        (Engine, "oil_pressure") => ("oilPressure", "Oil pressure"),
        (Engine, "coolant_pressure") => ("coolantPressure", "Coolant pressure"),
        (Engine, "boost_pressure") => ("boostPressure", "Boost pressure"),
        (Engine, "alternator_voltage") => ("alternatorVoltage", "Alternator voltage"),
        (Engine, "engine_hours") => ("runTime", "Total running time"),
        (Engine, "fuel_rate") => ("fuel.rate", "Fuel rate"),
        (Engine, "fuel_pressure") => ("fuel.pressure", "Fuel pressure"),
        (Engine, "engine_load") => ("engineLoad", "Engine load"),
        (Engine, "engine_torque") => ("engineTorque", "Engine torque"),
        (Navigation, "speed_over_ground") => ("navigation.speedOverGround", "Speed over ground"),
        (Navigation, "speed_through_water") => ("navigation.speedThroughWater", "Speed through water"),
        (Navigation, "course_over_ground") => ("navigation.courseOverGroundTrue", "Course over ground (true)"),
        (Navigation, "heading") => ("navigation.headingTrue", "Heading (true)"),
        (Navigation, "heading_magnetic") => ("navigation.headingMagnetic", "Heading (magnetic)"),
        (Navigation, "satellites") => ("navigation.gnss.satellites", "Satellites in use"),
        (Navigation, "hdop") => ("navigation.gnss.horizontalDilution", "Horizontal dilution of precision"),
        (Navigation, "distance_over_ground") => ("navigation.trip.log", "Distance over ground since the log began"),
        (Navigation, "apparent_wind_angle") => ("environment.wind.angleApparent", "Apparent wind angle"),
        (Navigation, "apparent_wind_speed") => ("environment.wind.speedApparent", "Apparent wind speed"),
        // Halyard's true wind is over the water when a log gives the speed through it (and
        // over the ground otherwise, the usual approximation at anchor).
        (Navigation, "true_wind_angle") => ("environment.wind.angleTrueWater", "True wind angle"),
        (Navigation, "true_wind_speed") => ("environment.wind.speedTrue", "True wind speed"),
        (Navigation, "true_wind_direction" | "wind_direction") => {
            ("environment.wind.directionTrue", "True wind direction")
        }
        (Navigation, "depth") => ("environment.depth.belowTransducer", "Depth below the transducer"),
        (Navigation, "water_temperature") => ("environment.water.temperature", "Water temperature"),
        (Navigation, "air_temperature") => ("environment.outside.temperature", "Air temperature"),
        (Navigation, "pressure") => ("environment.outside.pressure", "Barometric pressure"),
        (Navigation, "humidity") => ("environment.outside.relativeHumidity", "Relative humidity"),
        _ => return None,
    })
}

/// Signal K's `chargingMode` for a Victron/Mastervolt charger state (Signal K's enum: bulk,
/// acceptance, overcharge, float, equalize, unknown, other). Absorption is Signal K's
/// acceptance stage.
fn charging_mode(state: &str) -> &'static str {
    match state {
        "bulk" => "bulk",
        "absorption" | "repeated_absorption" => "acceptance",
        "float" | "storage" => "float",
        "equalize_manual" | "auto_equalize" | "equalize" => "equalize",
        "not_available" | "" => "unknown",
        _ => "other",
    }
}

/// Signal K's `inverterMode` (inverting, disabled, standby, faulted, unknown, other).
fn inverter_mode(state: &str) -> &'static str {
    match state {
        "inverting" | "assisting" => "inverting",
        "off" => "disabled",
        "low_power" | "load_detect" | "search" => "standby",
        "fault" => "faulted",
        "not_available" | "" => "unknown",
        _ => "other",
    }
}

/// Place one of a device's values; `None` when Signal K has no path for it (or it is the
/// position, which [`position`] places from both coordinates).
pub fn place(group: Group, device: &str, metric: &str, unit: &str, reading: Option<&Reading>) -> Option<Placed> {
    let (rest, description) = slot(group, metric)?;
    let path = format!("{}{rest}", group.prefix(device));
    let (value, units) = match reading {
        None => (Json::Null, si(unit, 0.0).map(|(_, u)| u)),
        Some(Reading::Text(t)) => {
            let text = if rest == "chargingMode" {
                charging_mode(t)
            } else if rest == "inverterMode" {
                inverter_mode(t)
            } else {
                return None;
            };
            (Json::from(text), None)
        }
        Some(Reading::Number(v)) => {
            let (mut v, units) = si(unit, *v)?;
            if metric == "consumed_ah" {
                // Victron counts consumed charge negative; Signal K counts what was removed.
                v = v.abs();
            }
            (crate::json::number(v), Some(units))
        }
    };
    Some(Placed { path, value, units, description })
}

/// The position from a device's latitude and longitude (degrees, as Signal K keeps them) and
/// its altitude when known.
pub fn position(latitude: f64, longitude: f64, altitude: Option<f64>) -> Json {
    let mut p = json!({ "latitude": latitude, "longitude": longitude });
    if let Some(a) = altitude.filter(|a| a.is_finite()) {
        p["altitude"] = crate::json::number(a);
    }
    p
}

/// The Signal K context of a Meshtastic node: a vessel with a UUID made from its node number,
/// so it is the same context on every gateway and after every restart.
pub fn mesh_context(node: u32) -> String {
    // A version-4 layout (the schema's pattern) whose first groups spell "mesh" in hex.
    format!("vessels.urn:mrn:signalk:uuid:6d657368-0000-4000-8000-{node:012x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, kind: &str, role: Option<&str>) -> DeviceInfo {
        DeviceInfo {
            name: name.into(),
            role: role.map(Into::into),
            group: None,
            kind: kind.into(),
            product: None,
            identities: vec![],
            via: vec![],
            configured: true,
        }
    }

    #[test]
    fn groups_come_from_the_role_then_the_kind() {
        assert_eq!(Group::of(&info("bimini", "vedirect", Some("solar"))), Some(Group::Solar));
        assert_eq!(Group::of(&info("house", "battery_monitor", None)), Some(Group::Battery));
        assert_eq!(Group::of(&info("shunt", "dc_shunt", None)), Some(Group::Battery));
        assert_eq!(Group::of(&info("combi", "inverter_charger", None)), Some(Group::Inverter));
        assert_eq!(Group::of(&info("nav", "navigation", None)), Some(Group::Navigation));
        assert_eq!(Group::of(&info("mesh/anna", "mesh_node", None)), Some(Group::MeshNode));
        assert_eq!(Group::of(&info("water-heater", "dc_energy_meter", Some("dump_load"))), None);
    }

    #[test]
    fn nmea_2000_tanks_and_engines_have_their_places() {
        let mut tank = info("tank-fuel-0", "tank", None);
        tank.identities = vec![crate::model::Identity::N2k { kind: "tank-fuel".into(), instance: 0 }];
        assert_eq!(Group::of(&tank), Some(Group::Tank("fuel")));
        let p = place(Group::Tank("fuel"), "tank-fuel-0", "level", "%", Some(&Reading::Number(39.78))).unwrap();
        assert_eq!(p.path, "tanks.fuel.tankFuel0.currentLevel");
        assert!((p.value.as_f64().unwrap() - 0.3978).abs() < 1e-12 && p.units == Some("ratio"));
        let p = place(Group::Tank("fuel"), "tank-fuel-0", "capacity", "L", Some(&Reading::Number(246.0))).unwrap();
        assert!((p.value.as_f64().unwrap() - 0.246).abs() < 1e-12 && p.units == Some("m3"));
        // A GX tank sender says no fluid in its identity: no guess.
        assert_eq!(Group::of(&info("tank-20", "tank", None)), None);
        let engine = info("engine-0", "engine", None);
        assert_eq!(Group::of(&engine), Some(Group::Engine));
        let p = place(Group::Engine, "engine-0", "rpm", "rpm", Some(&Reading::Number(1800.0))).unwrap();
        assert_eq!(
            (p.path.as_str(), p.value.as_f64(), p.units),
            ("propulsion.engine0.revolutions", Some(30.0), Some("Hz"))
        );
        let p = place(Group::Engine, "engine-0", "engine_hours", "h", Some(&Reading::Number(4275.0))).unwrap();
        assert_eq!((p.value.as_f64(), p.units), (Some(15_390_000.0), Some("s")));
    }

    #[test]
    fn values_are_converted_to_si() {
        let n = |v| Some(Reading::Number(v));
        let p = place(Group::Battery, "house-bank", "soc", "%", n(71.8).as_ref()).unwrap();
        assert_eq!(p.path, "electrical.batteries.houseBank.capacity.stateOfCharge");
        assert_eq!((p.value.as_f64().unwrap(), p.units), (0.718, Some("ratio")));
        let p = place(Group::Battery, "house-bank", "battery_temperature", "°C", n(21.5).as_ref()).unwrap();
        assert!((p.value.as_f64().unwrap() - 294.65).abs() < 1e-9 && p.units == Some("K"));
        let p = place(Group::Battery, "house-bank", "remaining_mins", "min", n(90.0).as_ref()).unwrap();
        assert_eq!(p.value.as_f64(), Some(5400.0));
        let p = place(Group::Battery, "house-bank", "consumed_ah", "Ah", n(-12.5).as_ref()).unwrap();
        assert_eq!((p.value.as_f64(), p.units), (Some(45_000.0), Some("C")));
        let p = place(Group::Solar, "bimini", "yield_today", "kWh", n(1.25).as_ref()).unwrap();
        assert_eq!(
            (p.path.as_str(), p.value.as_f64(), p.units),
            ("electrical.solar.bimini.yieldToday", Some(4.5e6), Some("J"))
        );
        assert_eq!(id("house-bank"), "houseBank");
        assert_eq!(id("port arch 2"), "portArch2");
        assert_eq!(id("-"), "device");
        let p = place(Group::Navigation, "nav", "speed_over_ground", "kn", n(10.0).as_ref()).unwrap();
        assert!((p.value.as_f64().unwrap() - 5.144_444).abs() < 1e-6);
        let p = place(Group::Navigation, "nav", "apparent_wind_angle", "°", n(-90.0).as_ref()).unwrap();
        assert!((p.value.as_f64().unwrap() + std::f64::consts::FRAC_PI_2).abs() < 1e-12, "negative to port");
        assert_eq!(place(Group::Navigation, "nav", "gust_hour", "kn", n(20.0).as_ref()), None, "no such path");
    }

    #[test]
    fn states_become_the_specifications_words() {
        let t = |s: &str| Some(Reading::Text(s.into()));
        assert_eq!(
            place(Group::Solar, "bimini", "charge_state", "", Some(Reading::Number(4.0)).as_ref()),
            None,
            "the code's name is the text"
        );
        let p = place(Group::Solar, "bimini", "charge_state_name", "", t("absorption").as_ref()).unwrap();
        assert_eq!((p.path.as_str(), p.value.as_str()), ("electrical.solar.bimini.chargingMode", Some("acceptance")));
        assert_eq!(
            place(Group::Inverter, "combi", "device_state", "", t("inverting").as_ref()).unwrap().value,
            "inverting"
        );
        assert_eq!(place(Group::Inverter, "combi", "device_state", "", t("fault").as_ref()).unwrap().value, "faulted");
        let unknown = place(Group::Battery, "house-bank", "voltage", "V", None).unwrap();
        assert_eq!((unknown.value, unknown.units), (Json::Null, Some("V")), "not available is null");
    }

    #[test]
    fn mesh_contexts_are_stable_version_4_uuids() {
        assert_eq!(mesh_context(0xa77a0003), "vessels.urn:mrn:signalk:uuid:6d657368-0000-4000-8000-0000a77a0003");
    }
}
