//! A decrypted Instant Readout record and its fields.

use super::layout::{decode_field, FieldSpec};
use super::records;
use crate::{Field, Value};

/// The record types of emd.pdf plus the reverse-engineered ones (victron.md §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// 0x00 test record.
    Test,
    /// 0x01 solar charger (MPPT).
    SolarCharger,
    /// 0x02 battery monitor (SmartShunt, BMV, Smart Battery Sense).
    BatteryMonitor,
    /// 0x03 inverter (Phoenix).
    Inverter,
    /// 0x04 DC/DC converter (Orion Smart).
    DcDcConverter,
    /// 0x05 SmartLithium battery.
    SmartLithium,
    /// 0x06 Inverter RS.
    InverterRs,
    /// 0x07 GX device.
    GxDevice,
    /// 0x08 AC charger.
    AcCharger,
    /// 0x09 Smart BatteryProtect.
    SmartBatteryProtect,
    /// 0x0A Lynx Smart BMS.
    LynxSmartBms,
    /// 0x0B Multi RS.
    MultiRs,
    /// 0x0C VE.Bus (via the VE.Bus Smart dongle).
    VeBus,
    /// 0x0D DC energy meter.
    DcEnergyMeter,
    /// 0x0E Smart BMS: named in Victron's code, layout undocumented (raw payload only).
    SmartBms,
    /// 0x0F Orion XS.
    OrionXs,
    /// Any other type: the raw payload is still available.
    Unknown(u8),
}

impl From<u8> for RecordType {
    fn from(b: u8) -> Self {
        use RecordType::*;
        match b {
            0x00 => Test,
            0x01 => SolarCharger,
            0x02 => BatteryMonitor,
            0x03 => Inverter,
            0x04 => DcDcConverter,
            0x05 => SmartLithium,
            0x06 => InverterRs,
            0x07 => GxDevice,
            0x08 => AcCharger,
            0x09 => SmartBatteryProtect,
            0x0A => LynxSmartBms,
            0x0B => MultiRs,
            0x0C => VeBus,
            0x0D => DcEnergyMeter,
            0x0E => SmartBms,
            0x0F => OrionXs,
            other => Unknown(other),
        }
    }
}

impl RecordType {
    /// The record type byte.
    pub fn code(self) -> u8 {
        use RecordType::*;
        match self {
            Test => 0x00,
            SolarCharger => 0x01,
            BatteryMonitor => 0x02,
            Inverter => 0x03,
            DcDcConverter => 0x04,
            SmartLithium => 0x05,
            InverterRs => 0x06,
            GxDevice => 0x07,
            AcCharger => 0x08,
            SmartBatteryProtect => 0x09,
            LynxSmartBms => 0x0A,
            MultiRs => 0x0B,
            VeBus => 0x0C,
            DcEnergyMeter => 0x0D,
            SmartBms => 0x0E,
            OrionXs => 0x0F,
            Unknown(b) => b,
        }
    }

    /// snake_case name, as in `halyard decode` output.
    pub fn name(self) -> &'static str {
        use RecordType::*;
        match self {
            Test => "test_record",
            SolarCharger => "solar_charger",
            BatteryMonitor => "battery_monitor",
            Inverter => "inverter",
            DcDcConverter => "dcdc_converter",
            SmartLithium => "smart_lithium",
            InverterRs => "inverter_rs",
            GxDevice => "gx_device",
            AcCharger => "ac_charger",
            SmartBatteryProtect => "smart_battery_protect",
            LynxSmartBms => "lynx_smart_bms",
            MultiRs => "multi_rs",
            VeBus => "ve_bus",
            DcEnergyMeter => "dc_energy_meter",
            SmartBms => "smart_bms",
            OrionXs => "orion_xs",
            Unknown(_) => "unknown",
        }
    }

    fn layout(self) -> &'static [FieldSpec] {
        use RecordType::*;
        match self {
            Test => records::test_record::LAYOUT,
            SolarCharger => records::solar_charger::LAYOUT,
            BatteryMonitor => records::battery_monitor::LAYOUT,
            Inverter => records::inverter::LAYOUT,
            DcDcConverter => records::dcdc_converter::LAYOUT,
            SmartLithium => records::smart_lithium::LAYOUT,
            InverterRs => records::inverter_rs::LAYOUT,
            GxDevice => records::gx_device::LAYOUT,
            AcCharger => records::ac_charger::LAYOUT,
            SmartBatteryProtect => records::smart_battery_protect::LAYOUT,
            LynxSmartBms => records::lynx_smart_bms::LAYOUT,
            MultiRs => records::multi_rs::LAYOUT,
            VeBus => records::ve_bus::LAYOUT,
            DcEnergyMeter => records::dc_energy_meter::LAYOUT,
            OrionXs => records::orion_xs::LAYOUT,
            SmartBms | Unknown(_) => &[],
        }
    }

    /// Whether this crate knows the record's field layout.
    pub fn has_layout(self) -> bool {
        !self.layout().is_empty()
    }
}

/// A decrypted record: the model, the type and up to 16 bytes of payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    model_id: u16,
    record_type: RecordType,
    payload: [u8; 16],
    len: u8,
}

impl Record {
    /// A record from an already-decrypted payload (at most 16 bytes are kept).
    pub fn new(model_id: u16, record_type: RecordType, payload: [u8; 16], len: usize) -> Self {
        Record { model_id, record_type, payload, len: len.min(16) as u8 }
    }

    /// A record from a decrypted payload slice (at most 16 bytes are kept).
    pub fn from_payload(model_id: u16, record_type: RecordType, payload: &[u8]) -> Self {
        let mut buf = [0u8; 16];
        let len = payload.len().min(16);
        buf[..len].copy_from_slice(&payload[..len]);
        Record::new(model_id, record_type, buf, len)
    }

    /// Product id.
    pub fn model_id(&self) -> u16 {
        self.model_id
    }

    /// Product name, if known.
    pub fn product_name(&self) -> Option<&'static str> {
        crate::victron::product_name(self.model_id)
    }

    /// The record type.
    pub fn record_type(&self) -> RecordType {
        self.record_type
    }

    /// The decrypted payload (for unknown types, the only content).
    pub fn payload(&self) -> &[u8] {
        &self.payload[..usize::from(self.len)]
    }

    /// Every field of the record's layout, in table order. Unknown record types have none.
    pub fn fields(&self) -> Fields<'_> {
        Fields { specs: self.record_type.layout().iter(), payload: self.payload() }
    }

    /// The value of the field called `name`, if the record has it.
    pub fn get(&self, name: &str) -> Option<Value<'static>> {
        self.fields().find(|f| f.name == name).map(|f| f.value)
    }
}

/// Iterator over a record's fields.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    specs: core::slice::Iter<'static, FieldSpec>,
    payload: &'a [u8],
}

impl Iterator for Fields<'_> {
    type Item = Field<'static>;

    fn next(&mut self) -> Option<Self::Item> {
        for spec in self.specs.by_ref() {
            if let Some(f) = decode_field(spec, self.payload) {
                return Some(f);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_type_codes_round_trip() {
        for b in 0..=255u8 {
            assert_eq!(RecordType::from(b).code(), b);
        }
    }

    #[test]
    fn unknown_type_keeps_its_payload() {
        let r = Record::from_payload(0xA3E8, RecordType::from(0x0E), &[0, 0, 0, 0xE8, 0x04]);
        assert_eq!(r.record_type(), RecordType::SmartBms);
        assert_eq!(r.fields().count(), 0);
        assert_eq!(r.payload(), &[0, 0, 0, 0xE8, 0x04]);
    }
}
