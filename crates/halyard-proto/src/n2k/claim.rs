//! Taking an address on the bus (ISO 11783-5 address claim, PGN 60928), as a node that
//! transmits must: it claims its preferred address with its NAME, waits 250 ms for a
//! contest, and when another node claims the same address, the lower NAME keeps it — the
//! higher one moves to an address nobody has claimed (it is "arbitrary address capable") or,
//! with none left, claims the null address 254 and stays silent. A request for address claims
//! (59904 asking for 60928) is answered with the claim again.
//!
//! Pure state: the caller feeds the claims it hears and the time, and sends what it is told.

use super::id::Header;

/// The address claim PGN.
pub const ADDRESS_CLAIM: u32 = 60_928;
/// The address a node without one claims from ("cannot claim").
pub const NULL_ADDRESS: u8 = 254;
/// The highest address a node may hold (252 and 253 are reserved, 254 null, 255 global).
pub const MAX_ADDRESS: u8 = 251;
/// How long after its claim a node waits before sending anything else.
pub const CLAIM_WAIT_MS: u64 = 250;

/// A node's 64-bit NAME: its identity on the bus. The lower NAME wins a contest for an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Name(pub u64);

impl Name {
    /// A NAME with instance 0 in system 0, arbitrary address capable: `unique_number` (21
    /// bits), `manufacturer_code` (11 bits), `device_function` and `device_class` (7 bits) from
    /// the NMEA 2000 device lists, industry group 4 (marine).
    pub const fn new(unique_number: u32, manufacturer_code: u16, device_function: u8, device_class: u8) -> Name {
        Name(
            (unique_number as u64 & 0x1F_FFFF)
                | (manufacturer_code as u64 & 0x7FF) << 21
                | (device_function as u64) << 40
                | (device_class as u64 & 0x7F) << 49
                | 4 << 60
                | 1 << 63,
        )
    }

    /// The NAME as the claim's data (little-endian).
    pub const fn bytes(self) -> [u8; 8] {
        self.0.to_le_bytes()
    }

    /// A claim's data as a NAME.
    pub fn from_bytes(data: &[u8]) -> Option<Name> {
        Some(Name(u64::from_le_bytes(data.get(..8)?.try_into().ok()?)))
    }

    /// Whether the node may move to another address when it loses a contest.
    pub const fn arbitrary_address_capable(self) -> bool {
        self.0 >> 63 == 1
    }
}

/// The claim to send: its header (from the address claimed, to everyone) and data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// 60928 from the address claimed.
    pub header: Header,
    /// The NAME.
    pub data: [u8; 8],
}

/// A node's claim on an address.
#[derive(Debug, Clone)]
pub struct AddressClaim {
    name: Name,
    address: u8,
    /// Addresses other nodes have claimed, a bit each.
    taken: [u64; 4],
    claimed_at: u64,
}

impl AddressClaim {
    /// Claiming `preferred` (at most [`MAX_ADDRESS`]) from `now_ms`: send [`Self::claim`].
    pub fn new(name: Name, preferred: u8, now_ms: u64) -> Self {
        AddressClaim { name, address: preferred.min(MAX_ADDRESS), taken: [0; 4], claimed_at: now_ms }
    }

    /// The NAME.
    pub fn name(&self) -> Name {
        self.name
    }

    /// The address held, `None` when no address was left ([`NULL_ADDRESS`]).
    pub fn address(&self) -> Option<u8> {
        (self.address != NULL_ADDRESS).then_some(self.address)
    }

    /// Whether the node may send other messages: it holds an address, claimed 250 ms ago
    /// without a contest it lost.
    pub fn ready(&self, now_ms: u64) -> bool {
        self.address().is_some() && now_ms >= self.claimed_at + CLAIM_WAIT_MS
    }

    /// The claim message for the address held (or the null address).
    pub fn claim(&self) -> Claim {
        let header = Header { priority: 6, pgn: ADDRESS_CLAIM, source: self.address, destination: 255 };
        Claim { header, data: self.name.bytes() }
    }

    fn is_taken(&self, address: u8) -> bool {
        self.taken[usize::from(address / 64)] >> (address % 64) & 1 == 1
    }

    /// A claim heard from `address` with `data` (its NAME) at `now_ms`; returns the claim to
    /// send in answer, if any: ours again when we keep the address, ours from a new address
    /// (or the null one) when we lost it.
    pub fn heard(&mut self, address: u8, data: &[u8], now_ms: u64) -> Option<Claim> {
        let theirs = Name::from_bytes(data)?;
        if theirs == self.name || address > MAX_ADDRESS {
            // Our own claim coming back (a gateway echoes), or a node that could not claim.
            return None;
        }
        self.taken[usize::from(address / 64)] |= 1 << (address % 64);
        if address != self.address {
            return None;
        }
        if self.name < theirs {
            // Ours is the lower NAME: we keep the address and say so again.
            return Some(self.claim());
        }
        self.address = match self.name.arbitrary_address_capable() {
            true => (1..=u16::from(MAX_ADDRESS) + 1)
                .map(|step| ((u16::from(address) + step) % (u16::from(MAX_ADDRESS) + 1)) as u8)
                .find(|a| !self.is_taken(*a))
                .unwrap_or(NULL_ADDRESS),
            false => NULL_ADDRESS,
        };
        self.claimed_at = now_ms;
        Some(self.claim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::n2k::pgn::Message;

    const OURS: Name = Name::new(0x1_2345, 2046, 130, 25);

    #[test]
    fn the_name_reads_as_the_address_claim_table_says() {
        let data = OURS.bytes();
        let m = Message::new(ADDRESS_CLAIM, &data).unwrap();
        assert_eq!(m.number("unique_number"), Some(f64::from(0x1_2345)));
        assert_eq!(m.number("manufacturer_code"), Some(2046.0));
        assert_eq!(m.number("device_function"), Some(130.0));
        assert_eq!(m.number("device_class"), Some(25.0));
        assert_eq!(m.number("industry_group"), Some(4.0));
        assert_eq!(m.name("arbitrary_address_capable"), Some("yes"));
        assert_eq!(Name::from_bytes(&data), Some(OURS));
    }

    #[test]
    fn the_lower_name_keeps_the_address_and_the_other_moves_on() {
        let mut c = AddressClaim::new(OURS, 35, 0);
        assert_eq!(c.claim().header.source, 35);
        assert!(!c.ready(249) && c.ready(250));
        // A node with a higher NAME claims 35: ours is said again.
        let higher = Name(OURS.0 + 1).bytes();
        assert_eq!(c.heard(35, &higher, 300).unwrap().header.source, 35);
        assert_eq!(c.address(), Some(35));
        // Another node holds 36; a lower NAME then takes 35: we move past 36 to 37.
        assert_eq!(c.heard(36, &Name(OURS.0 + 2).bytes(), 400), None);
        let lower = Name(OURS.0 - 1).bytes();
        let moved = c.heard(35, &lower, 500).unwrap();
        assert_eq!((moved.header.source, c.address()), (37, Some(37)));
        assert!(!c.ready(600) && c.ready(750), "a new claim waits again");
        // Our own claim echoed is no contest.
        assert_eq!(c.heard(37, &OURS.bytes(), 800), None);
        assert_eq!(c.address(), Some(37));
    }

    #[test]
    fn with_every_address_taken_the_node_claims_the_null_address() {
        let mut c = AddressClaim::new(OURS, 251, 0);
        for a in 0..251u8 {
            c.heard(a, &Name(OURS.0 + 10).bytes(), 1);
        }
        let lost = c.heard(251, &Name(OURS.0 - 1).bytes(), 2).unwrap();
        assert_eq!(lost.header.source, NULL_ADDRESS);
        assert_eq!(c.address(), None);
        assert!(!c.ready(10_000));
        // Not arbitrary address capable: straight to the null address.
        let fixed = Name(OURS.0 & !(1 << 63));
        let mut c = AddressClaim::new(fixed, 10, 0);
        c.heard(10, &Name(0).bytes(), 1);
        assert_eq!(c.address(), None);
    }
}
