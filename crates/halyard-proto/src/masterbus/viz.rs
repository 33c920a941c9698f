//! Field metadata vocabulary: what a metadata request asks for, and how a value is shown
//! (masterbus.md §6; opcodes and visualisation codes from keesverruijt/masterbus, the ones in the
//! captures checked there).

/// The op byte of a field-metadata request or reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetaOp(pub u8);

impl MetaOp {
    /// 0x02: visualisation type ([`Viz`]), u16.
    pub const VIZ: MetaOp = MetaOp(0x02);
    /// 0x06: minimum, f32.
    pub const MIN: MetaOp = MetaOp(0x06);
    /// 0x07: maximum (for a drop-down, the highest option index), f32.
    pub const MAX: MetaOp = MetaOp(0x07);
    /// 0x08: step, f32.
    pub const STEP: MetaOp = MetaOp(0x08);
    /// 0x09: factory default (not seen in the captures).
    pub const DEFAULT: MetaOp = MetaOp(0x09);
    /// 0x0B: whether the field can be written.
    pub const WRITABLE: MetaOp = MetaOp(0x0B);
    /// 0x0C: whether the field is shown greyed out.
    pub const GRAY: MetaOp = MetaOp(0x0C);
    /// 0x26: the string id of one drop-down option (the option index is byte 3).
    pub const OPTION: MetaOp = MetaOp(0x26);
    /// 0x28: the string id of the field's name.
    pub const NAME: MetaOp = MetaOp(0x28);
    /// 0x2C: the string id of the field's unit.
    pub const UNIT: MetaOp = MetaOp(0x2C);

    /// A name for the op, `None` when no public source names it.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x02 => "viz",
            0x06 => "min",
            0x07 => "max",
            0x08 => "step",
            0x09 => "default",
            0x0B => "writable",
            0x0C => "gray",
            0x26 => "option",
            0x28 => "name",
            0x2C => "unit",
            _ => return None,
        })
    }
}

/// How a field's f32 value is to be read ("visualisation type").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Viz {
    /// 1: a real number in the field's unit.
    Float,
    /// 3: an index into the field's option strings ("Shore fuse" 14.0 is option 14, "18 A").
    DropDown,
    /// 4: an event source.
    Eventable,
    /// 5: on/off.
    CheckBox,
    /// 6: text.
    Text,
    /// 7: seconds; a time of day below one day, a duration (`d` days and a time) above.
    Time,
    /// 8: a date, `year*416 + month*32 + day`.
    Date,
    /// 9: a list of devices.
    DeviceList,
    /// A code no public source describes.
    Other(u16),
}

impl Viz {
    /// From the wire code.
    pub const fn from_code(code: u16) -> Self {
        match code {
            1 => Viz::Float,
            3 => Viz::DropDown,
            4 => Viz::Eventable,
            5 => Viz::CheckBox,
            6 => Viz::Text,
            7 => Viz::Time,
            8 => Viz::Date,
            9 => Viz::DeviceList,
            other => Viz::Other(other),
        }
    }

    /// A lower-case name for JSON output.
    pub const fn name(self) -> &'static str {
        match self {
            Viz::Float => "float",
            Viz::DropDown => "drop_down",
            Viz::Eventable => "eventable",
            Viz::CheckBox => "check_box",
            Viz::Text => "text",
            Viz::Time => "time",
            Viz::Date => "date",
            Viz::DeviceList => "device_list",
            Viz::Other(_) => "other",
        }
    }
}
