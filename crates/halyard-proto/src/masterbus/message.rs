//! Every MasterBus frame kind seen on a real bus, classified from its id and payload
//! (masterbus.md §2–§6; the table of kinds in §2 lists all 36,621 frames of the public captures).
//!
//! | class | shadow | DLC | message |
//! |---|---|---|---|
//! | 0x04 | – | 8 | [`Announcement`]: `[type, addr_lo, addr_hi, instance, counter, b5, b6, b7]` |
//! | 0x05 | – | 0 | heartbeat |
//! | 0x07 | – | 2 | property request `[op, selector]` |
//! | 0x07 | – | 4 | string request `[0x30, sid_lo, sid_hi, chunk]` |
//! | 0x06 | – | 4 | property reply `[op, selector, u16]` |
//! | 0x06 | – | 4–8 | string chunk `[0x30, sid_lo, sid_hi, chunk, up to 4 characters]` |
//! | 0x06 | any | 2 | property echo `[op, selector]` (no value) |
//! | 0x18 | no | 2 / 6 | value request `[item u16]` / write `[item u16, 4 bytes]` |
//! | 0x08 | no | 6 | value reply `[item u16, f32]` |
//! | 0x18 | yes | 3 / 4 | field-metadata request `[op, field u16 (, option)]` |
//! | 0x08 | yes | 6 / 8 | field-metadata reply `[op, field u16, x, u16 or f32]` |
//! | 0x19 / 0x09 | – | 3–4 / 6–8 | schema request / reply |
//! | 0x1A–0x1C / 0x0A–0x0C | – | 3 / 8 | table request / reply `[07, n, 00 (, 00, f32)]` |
//!
//! Decoding is total: any id and payload gives a [`Message`] or a [`MessageError`] naming the
//! class and length that did not fit, never a panic.

use super::id::{BusId, Node};
use super::viz::MetaOp;

/// The op byte of a string request or chunk.
pub const STRING_OP: u8 = 0x30;

/// A class-0x04 device announcement (masterbus.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announcement {
    /// Byte 0: the device type code (0x1B MasterShunt, 0x0E Mass Combi, 0x14 MasterView).
    pub type_code: u8,
    /// Bytes 1–2: the 16-bit address.
    pub address: u16,
    /// Byte 3: the instance.
    pub instance: u8,
    /// Byte 4: goes up after every settings change on the combi (keesverruijt: an event counter).
    pub change_counter: u8,
    /// Bytes 5–7 as sent (b5 is 0x01 or 0x02 in the captures, b6 0, b7 0x00 or 0x08).
    pub flags: [u8; 3],
}

impl Announcement {
    /// Bytes 0..4 (`[type, addr_lo, addr_hi, instance]`), which a writer also sends as its commit
    /// token after a write (masterbus.md §4, inference from the menus capture).
    pub const fn identity(&self) -> [u8; 4] {
        Node::from_identity(self.type_code, self.address, self.instance).identity()
    }
}

/// A value that a metadata or schema reply carries: a u16 (DLC 6) or an f32 (DLC 8).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// Two bytes, little-endian: string ids, viz codes, field ids.
    U16(u16),
    /// Four bytes, IEEE-754 little-endian: minima, maxima, steps, counts.
    F32(f32),
}

impl Number {
    /// The value as a float.
    pub fn as_f32(self) -> f32 {
        match self {
            Number::U16(v) => f32::from(v),
            Number::F32(v) => v,
        }
    }

    /// The value as a u16 (a float is truncated; used for ids and counts).
    pub fn as_u16(self) -> u16 {
        match self {
            Number::U16(v) => v,
            Number::F32(v) => v as u16,
        }
    }
}

/// The tables of classes 0x0A–0x0C / 0x1A–0x1C. keesverruijt names them alarm schema, history
/// schema and "Btm3" metadata; the captures do not confirm those meanings (masterbus.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Classes 0x0A / 0x1A.
    Alarm,
    /// Classes 0x0B / 0x1B.
    History,
    /// Classes 0x0C / 0x1C.
    Btm3,
}

/// One classified MasterBus frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Message {
    /// Class 0x04: a device announcing itself.
    Announcement(Announcement),
    /// Class 0x05, no data: a bus poll or heartbeat.
    Heartbeat,
    /// Class 0x07 `[op, selector]`: a device property request (`08 02` group count, `09 03` name …).
    PropertyRequest {
        /// The op byte.
        op: u8,
        /// The selector byte.
        selector: u8,
    },
    /// Class 0x06 `[op, selector, u16]`: a property reply.
    PropertyReply {
        /// The op byte.
        op: u8,
        /// The selector byte.
        selector: u8,
        /// The value (a count, or a string id for `09 03`).
        value: u16,
    },
    /// Class 0x06 `[op, selector]`: acknowledges a property request without a value.
    PropertyEcho {
        /// The op byte.
        op: u8,
        /// The selector byte.
        selector: u8,
    },
    /// Class 0x07 `[30, sid, chunk]`: asks for four characters of a string.
    StringRequest {
        /// The string id.
        string_id: u16,
        /// The chunk number (characters `4*chunk ..`).
        chunk: u8,
    },
    /// Class 0x06 `[30, sid, chunk, chars…]`: up to four characters of a string.
    StringChunk {
        /// The string id.
        string_id: u16,
        /// The chunk number.
        chunk: u8,
        /// The characters (only `len` are valid; a NUL ends the string).
        text: [u8; 4],
        /// How many characters came (0–4).
        len: u8,
    },
    /// Class 0x18, 2 bytes: asks a device for an item's value.
    ValueRequest {
        /// The item id.
        item: u16,
    },
    /// Class 0x18, 6 bytes: writes an item (masterbus.md §4).
    Write {
        /// The item id.
        item: u16,
        /// The four value bytes (an f32, or a writer's commit token on item + 1).
        raw: [u8; 4],
    },
    /// Class 0x08, 6 bytes: an item's value.
    ValueReply {
        /// The item id.
        item: u16,
        /// The value.
        value: f32,
        /// The value's four bytes as sent (a write's commit-token echo is not a float).
        raw: [u8; 4],
    },
    /// Class 0x18 on the shadow address: asks for one piece of a field's metadata.
    MetadataRequest {
        /// What is asked.
        op: MetaOp,
        /// The field (item) id.
        field: u16,
        /// For op 0x26 (option string), the option index.
        option: Option<u8>,
    },
    /// Class 0x08 on the shadow address: one piece of a field's metadata.
    MetadataReply {
        /// What this is.
        op: MetaOp,
        /// The field (item) id.
        field: u16,
        /// Byte 3: the option index for op 0x26, otherwise stale (masterbus.md §6).
        index: u8,
        /// The value.
        value: Number,
    },
    /// Class 0x19: a schema request, `[op, group, 00 (, index)]`.
    SchemaRequest {
        /// 0x07 field count, 0x03 field id at `index`, 0x28 group name.
        op: u8,
        /// The monitoring group.
        group: u8,
        /// The position in the group, for op 0x03.
        index: Option<u8>,
    },
    /// Class 0x09: a schema reply, `[op, group, 00, index, value]`.
    SchemaReply {
        /// As in the request.
        op: u8,
        /// The monitoring group.
        group: u8,
        /// The position in the group (stale for op 0x07).
        index: u8,
        /// The count (f32) or the field id (u16).
        value: Number,
    },
    /// Classes 0x1A–0x1C: a table request `[op, n, 00]`.
    TableRequest {
        /// Which table.
        table: Table,
        /// The op byte (0x07 in the captures).
        op: u8,
        /// The entry.
        index: u8,
    },
    /// Classes 0x0A–0x0C: a table reply `[op, n, 00, x, f32]`.
    TableReply {
        /// Which table.
        table: Table,
        /// The op byte.
        op: u8,
        /// The entry.
        index: u8,
        /// The value.
        value: f32,
    },
}

/// Why a frame could not be classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageError {
    /// A class no public source describes.
    UnknownClass {
        /// The class (bits 28..24).
        class: u8,
    },
    /// A known class with a payload length (or op) it never has.
    UnexpectedLength {
        /// The class.
        class: u8,
        /// The payload length.
        len: u8,
    },
}

impl core::fmt::Display for MessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MessageError::UnknownClass { class } => write!(f, "unknown MasterBus class 0x{class:02X}"),
            MessageError::UnexpectedLength { class, len } => {
                write!(f, "MasterBus class 0x{class:02X} never has {len} data bytes")
            }
        }
    }
}

fn u16_at(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([d[at], d[at + 1]])
}

fn f32_at(d: &[u8], at: usize) -> f32 {
    f32::from_le_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

fn number(d: &[u8]) -> Option<Number> {
    match d.len() {
        6 => Some(Number::U16(u16_at(d, 4))),
        8 => Some(Number::F32(f32_at(d, 4))),
        _ => None,
    }
}

fn table(class: u8) -> Option<Table> {
    match class & 0x0F {
        0x0A => Some(Table::Alarm),
        0x0B => Some(Table::History),
        0x0C => Some(Table::Btm3),
        _ => None,
    }
}

/// Classify one frame.
pub fn decode(id: BusId, data: &[u8]) -> Result<Message, MessageError> {
    let class = id.class();
    let d = data;
    let bad = MessageError::UnexpectedLength { class, len: d.len().min(255) as u8 };
    let message = match (class, id.is_shadow(), d.len()) {
        (0x04, _, 8) => Message::Announcement(Announcement {
            type_code: d[0],
            address: u16_at(d, 1),
            instance: d[3],
            change_counter: d[4],
            flags: [d[5], d[6], d[7]],
        }),
        (0x05, _, 0) => Message::Heartbeat,
        (0x07, _, 2) => Message::PropertyRequest { op: d[0], selector: d[1] },
        (0x07, _, 4) if d[0] == STRING_OP => Message::StringRequest { string_id: u16_at(d, 1), chunk: d[3] },
        (0x06, _, 4..=8) if d[0] == STRING_OP => {
            let mut text = [0u8; 4];
            text[..d.len() - 4].copy_from_slice(&d[4..]);
            Message::StringChunk { string_id: u16_at(d, 1), chunk: d[3], text, len: d.len() as u8 - 4 }
        }
        (0x06, _, 4) => Message::PropertyReply { op: d[0], selector: d[1], value: u16_at(d, 2) },
        (0x06, _, 2) => Message::PropertyEcho { op: d[0], selector: d[1] },
        (0x18, false, 2) => Message::ValueRequest { item: u16_at(d, 0) },
        (0x18, false, 6) => Message::Write { item: u16_at(d, 0), raw: [d[2], d[3], d[4], d[5]] },
        (0x08, false, 6) => {
            Message::ValueReply { item: u16_at(d, 0), value: f32_at(d, 2), raw: [d[2], d[3], d[4], d[5]] }
        }
        (0x18, true, 3 | 4) => {
            Message::MetadataRequest { op: MetaOp(d[0]), field: u16_at(d, 1), option: d.get(3).copied() }
        }
        (0x08, true, 6 | 8) => {
            Message::MetadataReply { op: MetaOp(d[0]), field: u16_at(d, 1), index: d[3], value: number(d).ok_or(bad)? }
        }
        (0x19, _, 3 | 4) => Message::SchemaRequest { op: d[0], group: d[1], index: d.get(3).copied() },
        (0x09, _, 6 | 8) => Message::SchemaReply { op: d[0], group: d[1], index: d[3], value: number(d).ok_or(bad)? },
        (0x1A..=0x1C, _, 3) => Message::TableRequest { table: table(class).ok_or(bad)?, op: d[0], index: d[1] },
        (0x0A..=0x0C, _, 8) => {
            Message::TableReply { table: table(class).ok_or(bad)?, op: d[0], index: d[1], value: f32_at(d, 4) }
        }
        (0x04..=0x09 | 0x0A..=0x0C | 0x18 | 0x19 | 0x1A..=0x1C, _, _) => return Err(bad),
        _ => return Err(MessageError::UnknownClass { class }),
    };
    Ok(message)
}

impl Message {
    /// A short name for the message kind, stable for scripts (`--all` output, counters).
    pub const fn name(&self) -> &'static str {
        match self {
            Message::Announcement(_) => "announcement",
            Message::Heartbeat => "heartbeat",
            Message::PropertyRequest { .. } => "property_request",
            Message::PropertyReply { .. } => "property_reply",
            Message::PropertyEcho { .. } => "property_echo",
            Message::StringRequest { .. } => "string_request",
            Message::StringChunk { .. } => "string_chunk",
            Message::ValueRequest { .. } => "value_request",
            Message::Write { .. } => "write",
            Message::ValueReply { .. } => "value_reply",
            Message::MetadataRequest { .. } => "metadata_request",
            Message::MetadataReply { .. } => "metadata_reply",
            Message::SchemaRequest { .. } => "schema_request",
            Message::SchemaReply { .. } => "schema_reply",
            Message::TableRequest { .. } => "table_request",
            Message::TableReply { .. } => "table_reply",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(id: u32, data: &[u8]) -> Result<Message, MessageError> {
        decode(BusId::new(id).unwrap(), data)
    }

    #[test]
    fn frames_from_the_captures() {
        // masterbus.md §4: item 1, 12.632 V (test/testMvParser.cpp).
        let Ok(Message::ValueReply { item, value, .. }) = classify(0x086F_1297, &[1, 0, 0xad, 0x1c, 0x4a, 0x41]) else {
            panic!()
        };
        assert_eq!(item, 1);
        assert!((value - 12.632).abs() < 1e-3);
        // §3: the shunt's announcement.
        let Ok(Message::Announcement(a)) = classify(0x046F_1297, &[0x1b, 0x97, 0x12, 0x03, 0x0c, 0x02, 0, 0]) else {
            panic!()
        };
        assert_eq!((a.type_code, a.address, a.instance, a.identity()), (0x1B, 0x1297, 3, [0x1b, 0x97, 0x12, 0x03]));
        // §6: field 2 minimum −1500.0 on the shadow address.
        assert_eq!(
            classify(0x08EF_1297, &[0x06, 0x02, 0x00, 0x01, 0x00, 0x80, 0xbb, 0xc4]),
            Ok(Message::MetadataReply { op: MetaOp::MIN, field: 2, index: 1, value: Number::F32(-1500.0) })
        );
        // §5: "g" then NUL ends the string 0x18.
        assert_eq!(
            classify(0x063A_F412, &[0x30, 0x18, 0x00, 0x02, b'g', 0]),
            Ok(Message::StringChunk { string_id: 0x18, chunk: 2, text: [b'g', 0, 0, 0], len: 2 })
        );
        // §4: the MasterView switching the combi's power on.
        assert_eq!(
            classify(0x183A_F412, &[0x38, 0, 0, 0, 0x80, 0x3f]),
            Ok(Message::Write { item: 0x38, raw: [0, 0, 0x80, 0x3f] })
        );
        assert_eq!(classify(0x0550_840A, &[]), Ok(Message::Heartbeat));
        assert_eq!(
            classify(0x0BAF_F412 & !0x80_0000 | 0x0B00_0000, &[7, 1, 0, 0, 0, 0, 0x80, 0x3f]),
            Ok(Message::TableReply { table: Table::History, op: 7, index: 1, value: 1.0 })
        );
    }

    #[test]
    fn impossible_lengths_and_classes_are_errors() {
        assert_eq!(classify(0x086F_1297, &[1, 0, 0]), Err(MessageError::UnexpectedLength { class: 8, len: 3 }));
        assert_eq!(classify(0x056F_1297, &[1]), Err(MessageError::UnexpectedLength { class: 5, len: 1 }));
        assert_eq!(classify(0x0F6F_1297, &[]), Err(MessageError::UnknownClass { class: 0x0F }));
        assert_eq!(classify(0x1F6F_1297, &[]), Err(MessageError::UnknownClass { class: 0x1F }));
    }
}
