//! Built-in item tables: what a device's items mean before its own metadata has been heard.
//!
//! A MasterBus device describes every field itself (name, unit, visualisation, options), and
//! the learning listener (`bus`, with `alloc`) picks that up from the traffic. Until then, or on a bus where nobody asks
//! (a MasterView only re-reads what it shows), these tables name the values. Item ids depend on
//! device *and firmware* (another MasterShunt puts Time at 0x0A and Date at 0x0B,
//! masterbus.md §4.1), so entries marked `confirm` are only used once the device's own metadata
//! agrees, and learned metadata always wins over a table.
//!
//! Sources: the MasterShunt and Mass Combi rows are the devices in the public captures, with the
//! labels, units and visualisations they report about themselves (masterbus.md §4.1, §4.2). The
//! other families come from keesverruijt/masterbus's sample dump and catalog (masterbus.md §10);
//! their type codes are not known, so they apply only when configured by [`by_family`].

use super::viz::Viz;

/// One item of a device family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// The item id.
    pub item: u16,
    /// The metric name published for it (snake_case, the user's words).
    pub metric: &'static str,
    /// The device's own label for it, when known (used to check the table against the device).
    pub label: &'static str,
    /// The unit (`V`, `A`, `W`, `%`, `Ah`, `°C`, `s`), empty when none.
    pub unit: &'static str,
    /// How the value reads.
    pub viz: Viz,
    /// Drop-down option labels that have been seen, by index.
    pub options: &'static [(u16, &'static str)],
    /// Only trust this row once the device's metadata confirms the label.
    pub confirm: bool,
}

/// A device family's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    /// The product family, as people call it.
    pub name: &'static str,
    /// A lower-case key for configuration files.
    pub family: &'static str,
    /// The type code of its announcements and ids, when known.
    pub type_code: Option<u8>,
    /// The items.
    pub items: &'static [Item],
    /// Items that are not measurements (write commit targets).
    pub not_measurements: &'static [u16],
}

impl Model {
    /// The table row for an item.
    pub fn item(&self, item: u16) -> Option<&'static Item> {
        self.items.iter().find(|i| i.item == item)
    }
}

const fn item(item: u16, metric: &'static str, label: &'static str, unit: &'static str, viz: Viz) -> Item {
    Item { item, metric, label, unit, viz, options: &[], confirm: false }
}

const fn choice(item: u16, metric: &'static str, label: &'static str, options: &'static [(u16, &'static str)]) -> Item {
    Item { item, metric, label, unit: "", viz: Viz::DropDown, options, confirm: false }
}

const fn confirmed(mut row: Item) -> Item {
    row.confirm = true;
    row
}

const OFF_ON: &[(u16, &str)] = &[(0, "Off"), (1, "On")];

/// Names of the device type codes seen in announcements.
pub fn type_name(type_code: u8) -> Option<&'static str> {
    match type_code {
        0x14 => Some("MasterView"),
        _ => for_type_code(type_code).map(|m| m.name),
    }
}

/// The MasterShunt DC shunt (type 0x1B; "MSH HovseBatShun" in the captures).
pub const MASTERSHUNT: Model = Model {
    name: "MasterShunt",
    family: "mastershunt",
    type_code: Some(0x1B),
    items: &[
        item(0x00, "state_of_charge", "State of Charge", "%", Viz::Float),
        item(0x01, "battery_voltage", "Battery", "V", Viz::Float),
        item(0x02, "battery_current", "Battery", "A", Viz::Float),
        item(0x03, "consumed_ah", "Cap. consumed", "Ah", Viz::Float),
        item(0x04, "time_remaining", "Remaining", "s", Viz::Time),
        item(0x05, "battery_temperature", "Battery", "°C", Viz::Float),
        confirmed(item(0x09, "clock_time", "Time", "", Viz::Time)),
        confirmed(item(0x0A, "clock_date", "Date", "", Viz::Date)),
    ],
    not_measurements: &[],
};

/// The Mass Combi inverter/charger (type 0x0E; "INT Mass Combi" in the captures).
pub const MASS_COMBI: Model = Model {
    name: "Mass Combi",
    family: "mass-combi",
    type_code: Some(0x0E),
    items: &[
        item(0x06, "battery_voltage", "Battery", "V", Viz::Float),
        item(0x07, "battery_current", "Battery", "A", Viz::Float),
        item(0x08, "ac_input_voltage", "AC Input", "V", Viz::Float),
        item(0x09, "ac_input_current", "AC Input", "A", Viz::Float),
        item(0x0A, "ac_output_voltage", "AC Output", "V", Viz::Float),
        item(0x0B, "ac_output_current", "AC Output", "A", Viz::Float),
        choice(0x0E, "input_is_genset", "Input = genset", OFF_ON),
        choice(0x10, "device_state", "State", &[(0, "Off"), (1, "Standby"), (3, "Inverting")]),
        choice(0x11, "load", "Load", &[(5, "5 %")]),
        choice(0x12, "charger_state", "State of charger", &[(5, "No shore")]),
        choice(0x13, "shore_fuse", "Shore fuse", &[(14, "18 A")]),
        choice(0x14, "inverter", "Inverter", OFF_ON),
        choice(0x38, "power", "Power", OFF_ON),
        choice(0x3A, "charger", "Charger", OFF_ON),
        choice(0x3C, "mode", "Mode", &[(1, "Auto")]),
    ],
    not_measurements: &[0x39],
};

/// Mass Combi Ultra with solar input (article 38013000).
pub const MASS_COMBI_ULTRA: Model = Model {
    name: "Mass Combi Ultra",
    family: "mass-combi-ultra",
    type_code: None,
    items: &[
        item(0x04, "ac_input_state", "", "", Viz::DropDown),
        item(0x05, "ac_output_state", "", "", Viz::DropDown),
        item(0x06, "battery_voltage", "", "V", Viz::Float),
        item(0x07, "battery_current", "", "A", Viz::Float),
        item(0x08, "mains_voltage", "", "V", Viz::Float),
        item(0x09, "mains_current", "", "A", Viz::Float),
        item(0x0A, "ac_output_1_voltage", "", "V", Viz::Float),
        item(0x0B, "ac_output_1_current", "", "A", Viz::Float),
        item(0x0E, "secondary_charger", "", "", Viz::DropDown),
        item(0x0F, "solar_charger", "", "", Viz::DropDown),
        item(0x10, "device_state", "", "", Viz::DropDown),
        item(0x12, "charger_state", "", "", Viz::DropDown),
        item(0x13, "mains_fuse", "", "", Viz::DropDown),
        item(0x14, "inverter", "", "", Viz::DropDown),
        item(0x15, "battery_temperature", "", "°C", Viz::Float),
        item(0x27, "solar_voltage", "", "V", Viz::Float),
        item(0x28, "solar_current", "", "A", Viz::Float),
        item(0x29, "solar_power", "", "W", Viz::Float),
        item(0x2A, "solar_state", "", "", Viz::DropDown),
        item(0x2B, "secondary_battery_voltage", "", "V", Viz::Float),
        item(0x2C, "secondary_battery_current", "", "A", Viz::Float),
        item(0x2E, "secondary_battery_mode", "", "", Viz::DropDown),
        item(0x3A, "charger", "", "", Viz::DropDown),
        item(0x3C, "mode", "", "", Viz::DropDown),
        item(0x5E, "mains_power", "", "W", Viz::Float),
        item(0x5F, "generator_voltage", "", "V", Viz::Float),
        item(0x60, "generator_current", "", "A", Viz::Float),
        item(0x61, "generator_power", "", "W", Viz::Float),
        item(0x62, "ac_output_1_power", "", "W", Viz::Float),
        item(0x63, "ac_output_2_voltage", "", "V", Viz::Float),
        item(0x64, "ac_output_2_current", "", "A", Viz::Float),
        item(0x65, "ac_output_2_power", "", "W", Viz::Float),
    ],
    not_measurements: &[],
};

/// ChargeMaster 12 V with three outputs (article 44010250).
pub const CHARGEMASTER: Model = Model {
    name: "ChargeMaster",
    family: "chargemaster",
    type_code: None,
    items: &[
        item(0x00, "device_mode", "", "", Viz::DropDown),
        item(0x01, "charger_state", "", "", Viz::DropDown),
        item(0x02, "output_1_voltage", "", "V", Viz::Float),
        item(0x04, "output_2_voltage", "", "V", Viz::Float),
        item(0x06, "output_3_voltage", "", "V", Viz::Float),
        item(0x09, "ac_input_current", "", "A", Viz::Float),
        item(0x0C, "charge_current", "", "A", Viz::Float),
        item(0x1A, "enabled", "", "", Viz::DropDown),
        item(0x1D, "battery_temperature", "", "°C", Viz::Float),
    ],
    not_measurements: &[],
};

/// Mass Charger (article 40021006).
pub const MASS_CHARGER: Model = Model {
    name: "Mass Charger",
    family: "mass-charger",
    type_code: None,
    items: &[
        item(0x0D, "device_mode", "", "", Viz::DropDown),
        item(0x0E, "output_voltage", "", "V", Viz::Float),
        item(0x0F, "output_current", "", "A", Viz::Float),
        item(0x10, "battery_temperature", "", "°C", Viz::Float),
        item(0x11, "charger_temperature", "", "°C", Viz::Float),
        item(0x12, "charger_state", "", "", Viz::DropDown),
        item(0x15, "enabled", "", "", Viz::DropDown),
    ],
    not_measurements: &[],
};

/// MLi lithium battery (article 66016000).
pub const MLI_BATTERY: Model = Model {
    name: "MLi battery",
    family: "mli-battery",
    type_code: None,
    items: &[
        item(0x00, "state_of_charge", "", "%", Viz::Float),
        item(0x01, "battery_voltage", "", "V", Viz::Float),
        item(0x02, "battery_current", "", "A", Viz::Float),
        item(0x04, "time_remaining", "", "s", Viz::Time),
        item(0x05, "battery_temperature", "", "°C", Viz::Float),
        item(0x26, "relay_state", "", "", Viz::DropDown),
    ],
    not_measurements: &[],
};

/// Every built-in table.
pub const MODELS: &[Model] = &[MASTERSHUNT, MASS_COMBI, MASS_COMBI_ULTRA, CHARGEMASTER, MASS_CHARGER, MLI_BATTERY];

/// The table for a type code seen on the bus.
pub fn for_type_code(type_code: u8) -> Option<&'static Model> {
    MODELS.iter().find(|m| m.type_code == Some(type_code))
}

/// The table for a family named in the configuration (`mastershunt`, `chargemaster` …).
pub fn by_family(family: &str) -> Option<&'static Model> {
    MODELS.iter().find(|m| m.family.eq_ignore_ascii_case(family))
}

/// The kind of device a type code is, in the words Halyard's topics use (`dc_shunt`,
/// `inverter_charger`, `charger`, `battery`, `display`; `masterbus` when unknown): the device
/// name is `<kind>-0x<device>` until the user names it.
pub fn device_kind(type_code: u8) -> &'static str {
    match for_type_code(type_code).map(|m| m.family) {
        Some("mastershunt") => "dc_shunt",
        Some("mass-combi" | "mass-combi-ultra") => "inverter_charger",
        Some("chargemaster" | "mass-charger") => "charger",
        Some("mli-battery") => "battery",
        _ if type_code == 0x14 => "display",
        _ => "masterbus",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_consistent() {
        for model in MODELS {
            let mut metrics: Vec<_> = model.items.iter().map(|i| i.metric).collect();
            metrics.sort_unstable();
            let n = metrics.len();
            metrics.dedup();
            assert_eq!(metrics.len(), n, "{}: duplicate metric names", model.name);
            for (i, row) in model.items.iter().enumerate() {
                assert!(model.items[i + 1..].iter().all(|r| r.item != row.item), "{}: item twice", model.name);
                assert!(row.metric.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'));
            }
            assert_eq!(by_family(model.family), Some(model));
        }
        assert_eq!(for_type_code(0x1B).map(|m| m.name), Some("MasterShunt"));
        assert_eq!(for_type_code(0x14), None, "the MasterView has no items");
    }
}
