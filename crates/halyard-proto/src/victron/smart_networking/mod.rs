//! VE.Smart networking: the BLE broadcasts Victron MPPTs, shunts and Smart Battery Senses
//! exchange to share voltage, temperature and charge state (victron.md §3, reverse-engineered
//! by pmarches/veble-networking for monitorPowerToMQTT).
//!
//! Layout of the manufacturer data after the company id `E1 02` (victron.md §3.1):
//!
//! | bytes | op 0x01 "overflow counter" | op 0x02 "networking data" |
//! |---|---|---|
//! | 0 | 0x01 | 0x02 |
//! | 1 | group id (first byte of the network id) | same |
//! | 2–5 | device serial (u32 LE, see [`Serial`]) | same |
//! | 6–9 | sequence | same |
//! | 10–11 | overflow counter | — |
//! | 10 … n−5 | — | AES-CCM ciphertext, any number of 16-byte blocks |
//! | last 4 | CCM tag | CCM tag |
//!
//! Op 0x10 is the Instant Readout product advertisement, decoded by
//! [`crate::victron::instant_readout`].
//!
//! A data message can only be decrypted with the overflow counter of an earlier, authenticated
//! op 0x01 message of the same device: [`Network`] is the state machine that keeps them.

mod ccm;
mod cleartext;
mod message;
mod network;
mod serial;

pub use self::ccm::{nonce, NONCE_LEN, TAG_LEN};
pub use cleartext::{Cleartext, CleartextError, RegisterRecord};
pub use message::{encode_data, encode_overflow, Message, MessageError};
pub use network::{Event, Network, Rejection, MAX_DEVICES};
pub use serial::{serials_match, Serial, SerialString};

/// Op byte of an overflow-counter message (authentication only).
pub const OP_OVERFLOW: u8 = 0x01;
/// Op byte of a networking-data message.
pub const OP_DATA: u8 = 0x02;
