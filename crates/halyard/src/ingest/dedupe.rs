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

/// Which adverts were taken already, by address.
#[derive(Debug, Default)]
pub struct Dedupe {
    last: HashMap<[u8; 6], Last>,
}

impl Dedupe {
    /// Whether `data` from `mac`, heard by `via` at `at`, was already taken from another
    /// receiver within [`WINDOW_MS`]. When it was not, it is the one remembered.
    pub fn taken_elsewhere(&mut self, at: Millis, mac: [u8; 6], data: &[u8], via: &Arc<str>) -> bool {
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
}
