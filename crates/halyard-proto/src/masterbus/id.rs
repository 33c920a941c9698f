//! The 29-bit MasterBus identifier and the two ways to split it (masterbus.md §2).
//!
//! ```text
//!  28      24 23 22     18 17 16 15                 0
//! +----------+--+---------+-----+--------------------+
//! |  class   |S | type(5) | ins |   16-bit address   |
//! +----------+--+---------+-----+--------------------+
//!  \______ kind (11 bits) ______/ \__ device (18 bits) __/     (monitorPowerToMQTT, the dissector)
//!  \_ class _/ \_________ addr24 (24 bits) __________/         (keesverruijt/masterbus)
//! ```
//!
//! `S` is the "shadow" bit: a device answers questions about its fields' metadata on its
//! address with bit 23 set. Bit 28 (class + 0x10) marks a request. A device is identified by its
//! type, instance and address (`addr24` without `S`); the published `device` number is the low 18
//! bits, as monitorPowerToMQTT and the DESIGN's MQTT topics use it.

/// A 29-bit MasterBus CAN identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BusId(u32);

/// Bit 23 of the address: the field-metadata ("shadow") address of a device.
pub const SHADOW: u32 = 0x80_0000;
/// Bit 4 of the class (bit 28 of the id): the frame is a request.
pub const REQUEST: u8 = 0x10;

impl BusId {
    /// An id from its 29-bit value; `None` if bits above 28 are set.
    pub const fn new(raw: u32) -> Option<Self> {
        if raw > 0x1FFF_FFFF {
            None
        } else {
            Some(BusId(raw))
        }
    }

    /// An id from a class and a 24-bit address.
    pub const fn from_parts(class: u8, addr24: u32) -> Self {
        BusId(((class as u32 & 0x1F) << 24) | (addr24 & 0xFF_FFFF))
    }

    /// The 29-bit value.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// Bits 28..24: the message class (0x04 announcement, 0x08 value reply, 0x18 value request …).
    pub const fn class(self) -> u8 {
        (self.0 >> 24) as u8 & 0x1F
    }

    /// Whether bit 28 marks this as a request (class ≥ 0x10).
    pub const fn is_request(self) -> bool {
        self.class() & REQUEST != 0
    }

    /// Bits 23..0: the address including the shadow bit.
    pub const fn addr24(self) -> u32 {
        self.0 & 0xFF_FFFF
    }

    /// Whether this frame goes to or comes from a device's field-metadata (shadow) address.
    pub const fn is_shadow(self) -> bool {
        self.0 & SHADOW != 0
    }

    /// Bits 22..18: the device type code, repeated as byte 0 of the device's announcement.
    pub const fn type_code(self) -> u8 {
        (self.0 >> 18) as u8 & 0x1F
    }

    /// Bits 17..16: the instance.
    pub const fn instance(self) -> u8 {
        (self.0 >> 16) as u8 & 0x03
    }

    /// Bits 15..0: the address.
    pub const fn address(self) -> u16 {
        self.0 as u16
    }

    /// The 11-bit "kind" of monitorPowerToMQTT and the Wireshark dissector: `id >> 18`.
    pub const fn kind(self) -> u16 {
        (self.0 >> 18) as u16 & 0x7FF
    }

    /// The node this frame is about: type, instance and address, without the shadow bit.
    pub const fn node(self) -> Node {
        Node(self.0 & 0x7F_FFFF)
    }

    /// The 18-bit device number of monitorPowerToMQTT's topics (`masterbus/0x<DEVICE>/…`).
    pub const fn device(self) -> DeviceId {
        DeviceId(self.0 & 0x3_FFFF)
    }
}

/// A MasterBus node: type code, instance and address (23 bits).
///
/// Two devices of different types may share an address and instance, so the registry keys on
/// this rather than on the 18-bit [`DeviceId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node(u32);

impl Node {
    /// A node from its announcement bytes `[type, addr_lo, addr_hi, instance]` (masterbus.md §3).
    pub const fn from_identity(type_code: u8, address: u16, instance: u8) -> Self {
        Node(((type_code as u32 & 0x1F) << 18) | ((instance as u32 & 3) << 16) | address as u32)
    }

    /// The node's 23-bit value (what goes in bits 22..0 of its ids).
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// The device type code.
    pub const fn type_code(self) -> u8 {
        (self.0 >> 18) as u8 & 0x1F
    }

    /// The identity bytes `[type, addr_lo, addr_hi, instance]` of the node's announcement.
    pub const fn identity(self) -> [u8; 4] {
        let a = (self.0 as u16).to_le_bytes();
        [self.type_code(), a[0], a[1], (self.0 >> 16) as u8 & 3]
    }

    /// The 18-bit device number.
    pub const fn device(self) -> DeviceId {
        DeviceId(self.0 & 0x3_FFFF)
    }

    /// The id of a frame of `class` to (or from) this node, on its shadow address if `shadow`.
    pub const fn id(self, class: u8, shadow: bool) -> BusId {
        BusId::from_parts(class, self.0 | if shadow { SHADOW } else { 0 })
    }
}

/// The 18-bit device number (instance and address), printed as monitorPowerToMQTT did: `0x31297`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(pub u32);

impl core::fmt::Display for DeviceId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "0x{:05X}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_splits_agree_on_the_captured_devices() {
        // masterbus.md §2: the shunt's value reply, the MasterView's heartbeat, the combi's metadata reply.
        let reply = BusId::new(0x086F_1297).unwrap();
        assert_eq!((reply.class(), reply.addr24(), reply.kind(), reply.device().0), (0x08, 0x6F1297, 0x21B, 0x31297));
        assert_eq!((reply.type_code(), reply.instance(), reply.address()), (0x1B, 3, 0x1297));
        assert!(!reply.is_request() && !reply.is_shadow());
        let heartbeat = BusId::new(0x0550_840A).unwrap();
        assert_eq!((heartbeat.kind(), heartbeat.device().to_string().as_str()), (0x154, "0x0840A"));
        let meta = BusId::new(0x08BA_F412).unwrap();
        assert!(meta.is_shadow());
        assert_eq!((meta.kind(), meta.node(), meta.device().0), (0x22E, BusId::new(0x3AF412).unwrap().node(), 0x2F412));
        // kind = class << 6 | addr24 >> 18
        assert_eq!(u32::from(reply.kind()), u32::from(reply.class()) << 6 | reply.addr24() >> 18);
    }

    #[test]
    fn announcement_identity_rebuilds_the_node() {
        // `1b 97 12 03` from the shunt's class-0x04 broadcast.
        let node = Node::from_identity(0x1B, 0x1297, 3);
        assert_eq!(node.id(0x18, false).raw(), 0x186F_1297);
        assert_eq!(node.id(0x18, true).raw(), 0x18EF_1297);
        assert_eq!(BusId::new(0x2000_0000), None);
    }
}
