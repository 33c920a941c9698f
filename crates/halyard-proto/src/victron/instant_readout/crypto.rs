//! AES-128-CTR exactly as Victron uses it (victron.md §1.2).
//!
//! The initial counter block is `nonce_lo, nonce_hi, 0 × 14`: the advert's two nonce bytes
//! copied verbatim (esphome-victron_ble, dbus-ble-sensors, victron-ble and go-victron agree).
//! Only the first 16-byte block is defined in practice: implementations disagree on how the
//! counter would step for a second block, and Victron's own decoder refuses more than 16 bytes.
//! So this applies at most one block of keystream.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;

/// XOR `data` (at most 16 bytes) with the keystream of `key` and `nonce`.
pub(crate) fn apply_keystream(key: &[u8; 16], nonce: u16, data: &mut [u8]) {
    debug_assert!(data.len() <= 16);
    let cipher = Aes128::new(key.into());
    let mut block = [0u8; 16];
    block[..2].copy_from_slice(&nonce.to_le_bytes());
    let mut block = block.into();
    cipher.encrypt_block(&mut block);
    for (d, k) in data.iter_mut().zip(block.iter()) {
        *d ^= k;
    }
}
