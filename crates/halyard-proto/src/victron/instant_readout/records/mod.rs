//! One file per Instant Readout record type, each holding its published field table.

pub(crate) mod ac_charger;
pub(crate) mod battery_monitor;
pub(crate) mod dc_energy_meter;
pub(crate) mod dcdc_converter;
pub(crate) mod gx_device;
pub(crate) mod inverter;
pub(crate) mod inverter_rs;
pub(crate) mod lynx_smart_bms;
pub(crate) mod multi_rs;
pub(crate) mod orion_xs;
pub(crate) mod smart_battery_protect;
pub(crate) mod smart_lithium;
pub(crate) mod solar_charger;
pub(crate) mod test_record;
pub(crate) mod ve_bus;

#[cfg(test)]
pub(crate) mod testing {
    use super::super::layout::{decode_field, FieldSpec};
    use crate::{Field, Value};

    /// Decode `hex` with `layout` and return the field called `name`.
    pub fn field(layout: &[FieldSpec], hex: &str, name: &str) -> Value<'static> {
        let mut buf = [0u8; 32];
        let n = crate::hex::decode_into(hex.as_bytes(), &mut buf).unwrap();
        let payload = &buf[..n.min(16)];
        let found: Vec<Field<'static>> =
            layout.iter().filter_map(|s| decode_field(s, payload)).filter(|f| f.name == name).collect();
        assert_eq!(found.len(), 1, "field {name}");
        found[0].value
    }

    pub fn number(layout: &[FieldSpec], hex: &str, name: &str) -> Option<f64> {
        match field(layout, hex, name) {
            Value::NotAvailable => None,
            v => Some(v.as_f64().unwrap()),
        }
    }
}
