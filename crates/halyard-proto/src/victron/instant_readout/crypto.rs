//! AES-128-CTR exactly as Victron uses it (victron.md §1.2).
//!
//! The initial counter block is `nonce_lo, nonce_hi, 0 × 14`: the advert's two nonce bytes
//! copied verbatim (esphome-victron_ble, dbus-ble-sensors, victron-ble and go-victron agree).
//! Only the first 16-byte block is defined in practice: implementations disagree on how the
//! counter would step for a second block, and Victron's own decoder refuses more than 16 bytes.
//! So this applies at most one block of keystream.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;

/// An advertisement key with its AES key schedule expanded once.
///
/// Expanding the schedule costs about as much as decrypting a block, so a gateway that decodes
/// many adverts of one device keeps a `Key` per device. Its `Debug` never shows key material.
#[derive(Clone)]
pub struct Key {
    check: u8,
    cipher: Aes128,
}

impl Key {
    /// Expand a 16-byte advertisement key.
    pub fn new(key: &[u8; 16]) -> Self {
        Key { check: key[0], cipher: Aes128::new(key.into()) }
    }

    /// The byte an advertisement must carry in its key-check position for this key.
    pub fn check_byte(&self) -> u8 {
        self.check
    }
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Key(<secret>)")
    }
}

/// XOR `data` (at most 16 bytes) with the keystream of `key` and `nonce`.
pub(crate) fn apply_keystream(key: &Key, nonce: u16, data: &mut [u8]) {
    debug_assert!(data.len() <= 16);
    let cipher = &key.cipher;
    let mut block = [0u8; 16];
    block[..2].copy_from_slice(&nonce.to_le_bytes());
    let mut block = block.into();
    cipher.encrypt_block(&mut block);
    for (d, k) in data.iter_mut().zip(block.iter()) {
        *d ^= k;
    }
}
