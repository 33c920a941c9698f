//! The 29-bit CAN identifier of an NMEA 2000 frame (ISO 11783-3 / SAE J1939-21 layout).
//!
//! Bits 28–26 priority, bit 25 reserved ("extended data page", 0 in NMEA 2000), bit 24 data
//! page, bits 23–16 PDU format (PF), bits 15–8 PDU specific (PS), bits 7–0 source address.
//! PF below 240 is PDU1: the message is addressed, PS is the destination and not part of the
//! PGN. PF 240 and above is PDU2: broadcast, PS is the low byte of the PGN.

/// The global (broadcast) address.
pub const BROADCAST: u8 = 255;

/// What the identifier says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// 0 (highest) to 7.
    pub priority: u8,
    /// Parameter group number.
    pub pgn: u32,
    /// Source address.
    pub source: u8,
    /// Destination address ([`BROADCAST`] for PDU2 messages).
    pub destination: u8,
}

/// An identifier that is not NMEA 2000's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdError {
    /// More than 29 bits.
    TooLarge(u32),
    /// The reserved bit 25 is set: ISO 15765 or another J1939 page, not NMEA 2000.
    ReservedBit(u32),
}

impl core::fmt::Display for IdError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            IdError::TooLarge(id) => write!(f, "CAN id {id:#x} has more than 29 bits"),
            IdError::ReservedBit(id) => write!(f, "CAN id {id:#010x} has the reserved bit 25 set (not NMEA 2000)"),
        }
    }
}

impl Header {
    /// Read a 29-bit identifier.
    pub fn from_can_id(id: u32) -> Result<Header, IdError> {
        if id > 0x1FFF_FFFF {
            return Err(IdError::TooLarge(id));
        }
        if id & (1 << 25) != 0 {
            return Err(IdError::ReservedBit(id));
        }
        let pf = (id >> 16) & 0xFF;
        let ps = (id >> 8) & 0xFF;
        let page = (id >> 24) & 1;
        let (pgn, destination) =
            if pf < 240 { ((page << 16) | (pf << 8), ps as u8) } else { ((page << 16) | (pf << 8) | ps, BROADCAST) };
        Ok(Header { priority: ((id >> 26) & 7) as u8, pgn, source: (id & 0xFF) as u8, destination })
    }

    /// The identifier for this header (a PDU2 PGN's destination is always broadcast).
    pub fn can_id(&self) -> u32 {
        let pf = (self.pgn >> 8) & 0xFF;
        let low = if pf < 240 { u32::from(self.destination) } else { self.pgn & 0xFF };
        (u32::from(self.priority & 7) << 26) | ((self.pgn & 0x1FF00) << 8) | (low << 8) | u32::from(self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdu2_and_pdu1() {
        // `19F51323`: data page 1, PF 0xF5 (PDU2), PS 0x13: 128275 (Distance Log) from 0x23.
        let h = Header::from_can_id(0x19F5_1323).unwrap();
        assert_eq!(h, Header { priority: 6, pgn: 128_275, source: 0x23, destination: 255 });
        // ISO request (59904 = 0xEA00) to address 0x17 from 0x42, priority 6.
        let h = Header::from_can_id(0x18EA_1742).unwrap();
        assert_eq!(h, Header { priority: 6, pgn: 59_904, source: 0x42, destination: 0x17 });
        assert_eq!(h.can_id(), 0x18EA_1742);
        assert_eq!(Header::from_can_id(0x1B00_0000), Err(IdError::ReservedBit(0x1B00_0000)));
        assert_eq!(Header::from_can_id(0x2000_0000), Err(IdError::TooLarge(0x2000_0000)));
    }

    proptest::proptest! {
        #[test]
        fn a_header_round_trips(id in 0u32..0x2000_0000) {
            match Header::from_can_id(id) {
                Ok(h) => proptest::prop_assert_eq!(h.can_id(), id),
                Err(e) => proptest::prop_assert!(id & (1 << 25) != 0, "{}", e),
            }
        }
    }
}
