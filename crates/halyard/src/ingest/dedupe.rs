//! The same advert heard by several receivers — the Pi's adapters, ESPHome proxies, nodes,
//! Bluetooth-to-MQTT gateways — is decoded once. An Instant Readout advert carries a nonce
//! (its data counter) and a VE.Smart message a sequence, so identical bytes from one address
//! are one transmission; Victron's own scanner checks the same way across its local adapters
//! and remote gateways (victronenergy/dbus-ble-sensors `ble_dbus_check_dup_seq`, victron.md
//! §1.7b). A receiver repeating itself is left alone: a device resends an unchanged advert, and
//! that tells the model it is still there.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::model::Millis;

/// How long the same bytes from another receiver count as the same transmission.
pub const WINDOW_MS: Millis = 2_000;

/// At most this many addresses are remembered (a marina full of other boats' devices);
/// past it the table starts again, which at worst lets one duplicate through per address.
const MAX_ADDRESSES: usize = 4096;

#[derive(Debug)]
struct Last {
    digest: u64,
    at: Millis,
    via: Arc<str>,
}

/// How long a preferred receiver keeps its device after it last heard it: then the others'
/// copies are taken again (the dongle up the mast unplugged, the proxy out of power).
pub const PREFERRED_FOR_MS: Millis = 30_000;

/// Which adverts were taken already, by address.
#[derive(Debug, Default)]
pub struct Dedupe {
    last: HashMap<[u8; 6], Last>,
    /// A device's preferred receiver, and when it last heard the device.
    preferred: HashMap<[u8; 6], (Arc<str>, Option<Millis>)>,
}

impl Dedupe {
    /// Whether `data` from `mac`, heard by `via` at `at`, was already taken from another
    /// receiver within [`WINDOW_MS`]. When it was not, it is the one remembered.
    pub fn taken_elsewhere(&mut self, at: Millis, mac: [u8; 6], data: &[u8], via: &Arc<str>) -> bool {
        if let Some((preferred, heard)) = self.preferred.get_mut(&mac) {
            if preferred == via {
                *heard = Some(at);
            } else if heard.is_some_and(|t| (at - t).abs() < PREFERRED_FOR_MS) {
                return true;
            }
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        data.hash(&mut h);
        let digest = h.finish();
        if let Some(l) = self.last.get(&mac) {
            if l.digest == digest && l.via != *via && (at - l.at).abs() < WINDOW_MS {
                return true;
            }
        }
        if self.last.len() >= MAX_ADDRESSES && !self.last.contains_key(&mac) {
            self.last.clear();
        }
        self.last.insert(mac, Last { digest, at, via: via.clone() });
        false
    }

    /// Take `mac`'s adverts from `receiver` while it hears the device.
    pub fn prefer(&mut self, mac: [u8; 6], receiver: Arc<str>) {
        self.preferred.insert(mac, (receiver, None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_transmission_heard_twice_is_taken_once() {
        let mut d = Dedupe::default();
        let (saloon, cockpit): (Arc<str>, Arc<str>) = ("esphome:saloon".into(), "hci0".into());
        let mac = [0xC0, 0x3B, 1, 2, 3, 4];
        assert!(!d.taken_elsewhere(0, mac, b"\x10\x02\x89\xa3\x02\xb0\x40", &saloon));
        assert!(d.taken_elsewhere(150, mac, b"\x10\x02\x89\xa3\x02\xb0\x40", &cockpit), "same bytes, other receiver");
        // The same receiver repeating itself, new bytes, or the same bytes long after: taken.
        assert!(!d.taken_elsewhere(300, mac, b"\x10\x02\x89\xa3\x02\xb0\x40", &saloon));
        assert!(!d.taken_elsewhere(400, mac, b"\x10\x02\x89\xa3\x02\xb1\x40", &cockpit));
        assert!(!d.taken_elsewhere(400 + WINDOW_MS, mac, b"\x10\x02\x89\xa3\x02\xb1\x40", &saloon));
        // Another address with the same bytes is another device.
        assert!(!d.taken_elsewhere(401 + WINDOW_MS, [1; 6], b"\x10\x02\x89\xa3\x02\xb1\x40", &cockpit));
    }

    #[test]
    fn a_preferred_receiver_is_used_while_it_hears_the_device() {
        let mut d = Dedupe::default();
        let (mast, saloon): (Arc<str>, Arc<str>) = ("bluetooth:hci1".into(), "esphome:saloon".into());
        let mac = [0xC0, 0x3B, 1, 2, 3, 4];
        d.prefer(mac, mast.clone());
        assert!(!d.taken_elsewhere(0, mac, b"a", &saloon), "not heard by the mast yet: taken");
        assert!(!d.taken_elsewhere(1_000, mac, b"b", &mast));
        assert!(d.taken_elsewhere(5_000, mac, b"c", &saloon), "the mast hears it: the saloon's copy is not needed");
        assert!(!d.taken_elsewhere(1_000 + PREFERRED_FOR_MS, mac, b"d", &saloon), "the mast went quiet");
    }
}
