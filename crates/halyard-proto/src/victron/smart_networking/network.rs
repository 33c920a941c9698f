//! The receiving side of a VE.Smart network: keeps each device's authenticated overflow counter
//! and turns messages into events. Events in, values out; no clock, no I/O.

use super::ccm::{nonce, open};
use super::cleartext::Cleartext;
use super::message::{Message, MessageError};
use super::{Serial, OP_DATA, OP_OVERFLOW};

/// How many devices' counters are kept; the least recently authenticated is forgotten first.
/// A VE.Smart network has a handful of members (a few MPPTs, a shunt, a Battery Sense).
pub const MAX_DEVICES: usize = 16;

/// Longest ciphertext accepted (an extended advertisement holds at most 255 bytes).
const MAX_CIPHERTEXT: usize = 256;

/// What a message meant.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// An op 0x01 message authenticated: data from `serial` can now be decrypted.
    OverflowAuthenticated {
        /// Sender.
        serial: Serial,
        /// The counter now in force for it.
        overflow: [u8; 2],
    },
    /// An op 0x02 message authenticated and decrypted.
    Data {
        /// Sender.
        serial: Serial,
        /// Decrypted body.
        cleartext: Cleartext<'a>,
    },
    /// An Instant Readout advertisement (op 0x10) that shares the company id: route it to
    /// [`crate::victron::instant_readout`].
    ProductAdvertisement(&'a [u8]),
}

/// Why a message was not accepted. Each is counted by the caller, none is fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Not a well-formed message.
    Malformed(MessageError),
    /// From another VE.Smart network (group id differs from our network id's first byte).
    OtherNetwork {
        /// The group id received.
        group_id: u8,
    },
    /// The tag does not verify: wrong network key or id, tampering, or corruption.
    AuthenticationFailed {
        /// Sender.
        serial: Serial,
        /// The op of the message.
        op: u8,
    },
    /// Data from a device whose overflow counter has not been authenticated yet. Devices send
    /// op 0x01 regularly; until then the data cannot be decrypted.
    NoOverflowCounter {
        /// Sender.
        serial: Serial,
    },
    /// Ciphertext longer than any advertisement can carry.
    TooLong {
        /// Ciphertext bytes.
        len: usize,
    },
}

impl core::fmt::Display for Rejection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Rejection::Malformed(e) => e.fmt(f),
            Rejection::OtherNetwork { group_id } => write!(f, "message for VE.Smart group 0x{group_id:02X}, not ours"),
            Rejection::AuthenticationFailed { serial, op } => {
                write!(f, "VE.Smart op 0x{op:02X} from {serial} failed authentication (wrong network key or id?)")
            }
            Rejection::NoOverflowCounter { serial } => {
                write!(f, "VE.Smart data from {serial} before its overflow counter was seen")
            }
            Rejection::TooLong { len } => write!(f, "VE.Smart ciphertext of {len} bytes is too long"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Counter {
    serial: Serial,
    overflow: [u8; 2],
    /// Recency stamp for eviction.
    used: u32,
}

/// A VE.Smart network as seen by a listener holding its key.
pub struct Network {
    key: [u8; 16],
    network_id: [u8; 2],
    counters: [Option<Counter>; MAX_DEVICES],
    clock: u32,
    scratch: [u8; MAX_CIPHERTEXT],
}

impl core::fmt::Debug for Network {
    /// Never prints the key.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Network")
            .field("network_id", &self.network_id)
            .field("devices", &self.counters.iter().flatten().count())
            .finish_non_exhaustive()
    }
}

impl Network {
    /// A listener for the network with this 16-byte key and 2-byte id (both from VictronConnect's
    /// `networks` table, victron.md §3.2).
    pub fn new(key: [u8; 16], network_id: [u8; 2]) -> Self {
        Network { key, network_id, counters: [None; MAX_DEVICES], clock: 0, scratch: [0; MAX_CIPHERTEXT] }
    }

    /// The overflow counter in force for `serial`, if one was authenticated.
    pub fn overflow_of(&self, serial: Serial) -> Option<[u8; 2]> {
        self.counters.iter().flatten().find(|c| c.serial == serial).map(|c| c.overflow)
    }

    /// Handle one message (manufacturer data, with or without the company id).
    pub fn handle<'s>(&'s mut self, data: &'s [u8]) -> Result<Event<'s>, Rejection> {
        let message = Message::parse(data).map_err(Rejection::Malformed)?;
        match message {
            Message::ProductAdvertisement(bytes) => Ok(Event::ProductAdvertisement(bytes)),
            Message::Overflow { group_id, serial, sequence, overflow, tag } => {
                self.check_group(group_id)?;
                let n = nonce(OP_OVERFLOW, sequence, overflow, serial.0, self.network_id);
                if !open(&self.key, &n, &mut [], &tag) {
                    return Err(Rejection::AuthenticationFailed { serial, op: OP_OVERFLOW });
                }
                self.remember(serial, overflow);
                Ok(Event::OverflowAuthenticated { serial, overflow })
            }
            Message::Data { group_id, serial, sequence, ciphertext, tag } => {
                self.check_group(group_id)?;
                let overflow = self.overflow_of(serial).ok_or(Rejection::NoOverflowCounter { serial })?;
                if ciphertext.len() > MAX_CIPHERTEXT {
                    return Err(Rejection::TooLong { len: ciphertext.len() });
                }
                let n = nonce(OP_DATA, sequence, overflow, serial.0, self.network_id);
                let body = &mut self.scratch[..ciphertext.len()];
                body.copy_from_slice(ciphertext);
                if !open(&self.key, &n, body, &tag) {
                    return Err(Rejection::AuthenticationFailed { serial, op: OP_DATA });
                }
                self.touch(serial);
                Ok(Event::Data { serial, cleartext: Cleartext(&self.scratch[..ciphertext.len()]) })
            }
        }
    }

    fn check_group(&self, group_id: u8) -> Result<(), Rejection> {
        if group_id == self.network_id[0] {
            Ok(())
        } else {
            Err(Rejection::OtherNetwork { group_id })
        }
    }

    fn tick(&mut self) -> u32 {
        self.clock = self.clock.wrapping_add(1);
        self.clock
    }

    fn touch(&mut self, serial: Serial) {
        let now = self.tick();
        if let Some(c) = self.counters.iter_mut().flatten().find(|c| c.serial == serial) {
            c.used = now;
        }
    }

    fn remember(&mut self, serial: Serial, overflow: [u8; 2]) {
        let used = self.tick();
        let entry = Counter { serial, overflow, used };
        let now = self.clock;
        let slot = self
            .counters
            .iter()
            .position(|c| matches!(c, Some(c) if c.serial == serial))
            .or_else(|| self.counters.iter().position(Option::is_none))
            .unwrap_or_else(|| {
                // Evict the entry unused for longest (wrapping-safe age comparison).
                (0..MAX_DEVICES).max_by_key(|&i| self.counters[i].map_or(0, |c| now.wrapping_sub(c.used))).unwrap_or(0)
            });
        self.counters[slot] = Some(entry);
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::super::message::{encode_data, encode_overflow};
    use super::*;

    const KEY: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    const ID: [u8; 2] = [0x01, 0x0A];

    fn hex(s: &str) -> Vec<u8> {
        crate::hex::decode(s).unwrap()
    }

    /// shared/data/venetworking/synthetic_vectors.json, in order.
    #[test]
    fn shared_vectors_in_sequence() {
        let mut net = Network::new(KEY, ID);
        let data = hex("e1020201ec259a992b0000005ab92d06c7f403f2f7c24507684adf73");
        let serial = Serial([0xec, 0x25, 0x9a, 0x99]);
        assert_eq!(net.handle(&data), Err(Rejection::NoOverflowCounter { serial }));
        let overflow = hex("e1020101ec259a992a00000003008038e61f");
        assert_eq!(net.handle(&overflow), Ok(Event::OverflowAuthenticated { serial, overflow: [3, 0] }));
        match net.handle(&data) {
            Ok(Event::Data { cleartext, .. }) => assert_eq!(cleartext.0, &hex("0f27200440e201000c200105")[..]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_key_and_other_network_are_rejected() {
        let overflow = hex("e1020101ec259a992a00000003008038e61f");
        let mut wrong = Network::new([9; 16], ID);
        assert!(matches!(wrong.handle(&overflow), Err(Rejection::AuthenticationFailed { op: 1, .. })));
        let mut other = Network::new(KEY, [0x02, 0x0A]);
        assert_eq!(other.handle(&overflow), Err(Rejection::OtherNetwork { group_id: 1 }));
        let mut wrong_id = Network::new(KEY, [0x01, 0x0B]);
        assert!(matches!(wrong_id.handle(&overflow), Err(Rejection::AuthenticationFailed { .. })));
    }

    #[test]
    fn multi_block_round_trip_and_stale_counter() {
        let serial = Serial([1, 2, 3, 4]);
        let mut body = vec![0x0F];
        for reg in 0x2000u16..0x2008 {
            body.extend_from_slice(&reg.to_le_bytes());
            body.extend_from_slice(&[4, 1, 2, 3, 4]);
        }
        assert!(body.len() > 32, "spans several AES blocks");
        let mut net = Network::new(KEY, ID);
        net.handle(&encode_overflow(&KEY, ID, serial, [1, 0, 0, 0], [7, 0])).unwrap();
        let mut msg = [0u8; 128];
        let n = encode_data(&mut msg, &KEY, ID, serial, [2, 0, 0, 0], [7, 0], &body).unwrap();
        match net.handle(&msg[..n]) {
            Ok(Event::Data { cleartext, .. }) => assert_eq!(cleartext.0, &body[..]),
            other => panic!("{other:?}"),
        }
        // The device moved on to overflow 8 but we only know 7: authentication fails, no garbage.
        let n = encode_data(&mut msg, &KEY, ID, serial, [3, 0, 0, 0], [8, 0], &body).unwrap();
        assert!(matches!(net.handle(&msg[..n]), Err(Rejection::AuthenticationFailed { op: 2, .. })));
    }

    #[test]
    fn forgets_the_least_recently_used_device() {
        let mut net = Network::new(KEY, ID);
        for i in 0..=MAX_DEVICES as u8 {
            net.handle(&encode_overflow(&KEY, ID, Serial([i, 0, 0, 0]), [0; 4], [i, 0])).unwrap();
        }
        assert_eq!(net.overflow_of(Serial([0, 0, 0, 0])), None);
        assert_eq!(net.overflow_of(Serial([MAX_DEVICES as u8, 0, 0, 0])), Some([MAX_DEVICES as u8, 0]));
        assert_eq!(net.overflow_of(Serial([1, 0, 0, 0])), Some([1, 0]));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let net = Network::new([0xAB; 16], ID);
        let s = format!("{net:?}");
        assert!(!s.contains("171") && !s.to_lowercase().contains("ab, "), "{s}");
    }
}
