//! Victron "Instant Readout": the encrypted product advertisement (manufacturer record 0x10).
//!
//! Layout of the manufacturer data after the company id `E1 02` (victron.md §1.1, emd.pdf p.1):
//!
//! | byte | meaning |
//! |---|---|
//! | 0 | 0x10, "product advertisement" (other values are VE.Smart networking messages) |
//! | 1 | undocumented (0x00, 0x02, 0x03, 0x80 seen); ignored |
//! | 2–3 | model (product) id, u16 LE |
//! | 4 | record type |
//! | 5–6 | nonce / data counter, u16 LE |
//! | 7 | key check: byte 0 of the advertisement key |
//! | 8… | AES-128-CTR ciphertext of the record payload |
//!
//! ```
//! use halyard_proto::victron::instant_readout::{self, RecordType};
//! use halyard_proto::hex::decode_into;
//! // A real BlueSolar MPPT 75/15 advert and its key (keshavdv/victron-ble tests).
//! let (mut adv, mut key) = ([0u8; 20], [0u8; 16]);
//! decode_into(b"100242a0016207adceb37b605d7e0ee21b24df5c", &mut adv).unwrap();
//! decode_into(b"adeccb947395801a4dd45a2eaa44bf17", &mut key).unwrap();
//! let record = instant_readout::decode(&adv, &key).unwrap();
//! assert_eq!(record.record_type(), RecordType::SolarCharger);
//! assert_eq!(record.get("battery_voltage").unwrap().as_f64(), Some(13.88));
//! ```

mod crypto;
mod layout;
mod record;
mod records;

pub use crypto::Key;
pub use record::{Fields, Record, RecordType};

/// Manufacturer record type of a product advertisement (emd.pdf p.1).
pub const PRODUCT_ADVERTISEMENT: u8 = 0x10;

/// Bytes before the ciphertext.
const HEADER_LEN: usize = 8;

/// Why an advertisement could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Fewer than the 8 header bytes plus one byte of ciphertext.
    TooShort {
        /// Bytes received (after the company id).
        len: usize,
    },
    /// Manufacturer data of another company.
    WrongCompanyId {
        /// The company id found.
        company_id: u16,
    },
    /// Byte 0 is not 0x10: a VE.Smart networking message or something else.
    NotProductAdvertisement {
        /// The manufacturer record type found.
        record: u8,
    },
    /// The advert's key-check byte is not the first byte of the key: wrong key, or the device's
    /// key changed (it does when its Bluetooth PIN changes). Victron's own code drops the key.
    KeyMismatch {
        /// Byte 7 of the advertisement.
        advert_key_check: u8,
        /// First byte of the key that was tried.
        key_first_byte: u8,
    },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Error::TooShort { len } => write!(f, "advertisement too short: {len} bytes, need at least 9"),
            Error::WrongCompanyId { company_id } => {
                write!(f, "manufacturer data of company 0x{company_id:04X}, not Victron (0x02E1)")
            }
            Error::NotProductAdvertisement { record } => {
                write!(f, "manufacturer record 0x{record:02X} is not an Instant Readout advertisement (0x10)")
            }
            Error::KeyMismatch { advert_key_check, key_first_byte } => write!(
                f,
                "wrong key: the advertisement's key-check byte is 0x{advert_key_check:02X}, the key starts with 0x{key_first_byte:02X}"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// The cleartext header of a product advertisement and a view of its ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advertisement<'a> {
    /// Byte 1: undocumented, kept for diagnostics.
    pub prefix: u8,
    /// Product id (see [`crate::victron::product_name`]).
    pub model_id: u16,
    /// Record type byte.
    pub record_type: u8,
    /// Data counter; a repeated nonce means a repeated reading.
    pub nonce: u16,
    /// Byte 0 of the key the device encrypted with.
    pub key_check: u8,
    /// The encrypted payload as received (possibly longer than the record).
    pub ciphertext: &'a [u8],
}

impl<'a> Advertisement<'a> {
    /// Parse manufacturer data that starts at the 0x10 byte. A leading `E1 02` company id is
    /// accepted and skipped, so bytes copied from either tool's output work.
    pub fn parse(data: &'a [u8]) -> Result<Self, Error> {
        let data = match data {
            [0xE1, 0x02, rest @ ..] if data.first() != Some(&PRODUCT_ADVERTISEMENT) => rest,
            _ => data,
        };
        if let Some(&record) = data.first() {
            if record != PRODUCT_ADVERTISEMENT {
                return Err(Error::NotProductAdvertisement { record });
            }
        }
        if data.len() <= HEADER_LEN {
            return Err(Error::TooShort { len: data.len() });
        }
        Ok(Advertisement {
            prefix: data[1],
            model_id: u16::from_le_bytes([data[2], data[3]]),
            record_type: data[4],
            nonce: u16::from_le_bytes([data[5], data[6]]),
            key_check: data[7],
            ciphertext: &data[HEADER_LEN..],
        })
    }

    /// Parse what a BLE stack reports as manufacturer data for `company_id`.
    pub fn parse_manufacturer_data(company_id: u16, data: &'a [u8]) -> Result<Self, Error> {
        if company_id != super::COMPANY_ID {
            return Err(Error::WrongCompanyId { company_id });
        }
        Self::parse(data)
    }

    /// Check the key and decrypt the record (at most one 16-byte AES block: the counter
    /// step for a second block is not defined, victron.md §1.2).
    pub fn decrypt(&self, key: &[u8; 16]) -> Result<Record, Error> {
        self.decrypt_with(&Key::new(key))
    }

    /// [`Advertisement::decrypt`] with an already expanded key.
    pub fn decrypt_with(&self, key: &Key) -> Result<Record, Error> {
        if key.check_byte() != self.key_check {
            return Err(Error::KeyMismatch { advert_key_check: self.key_check, key_first_byte: key.check_byte() });
        }
        let mut payload = [0u8; 16];
        let len = self.ciphertext.len().min(16);
        payload[..len].copy_from_slice(&self.ciphertext[..len]);
        crypto::apply_keystream(key, self.nonce, &mut payload[..len]);
        Ok(Record::new(self.model_id, RecordType::from(self.record_type), payload, len))
    }
}

/// Parse and decrypt in one step.
pub fn decode(data: &[u8], key: &[u8; 16]) -> Result<Record, Error> {
    Advertisement::parse(data)?.decrypt(key)
}

/// Parse and decrypt with an already expanded key (the gateway's per-device path).
pub fn decode_with(data: &[u8], key: &Key) -> Result<Record, Error> {
    Advertisement::parse(data)?.decrypt_with(key)
}

/// Encrypt a record payload into an advertisement (the simulator's and the tests' encoder).
///
/// Writes `0x10, prefix, model id, record type, nonce, key[0], ciphertext` into `out` and
/// returns the length; `None` if `out` is too small or the payload exceeds one AES block.
pub fn encode(
    out: &mut [u8],
    key: &[u8; 16],
    model_id: u16,
    record_type: u8,
    nonce: u16,
    payload: &[u8],
) -> Option<usize> {
    let len = HEADER_LEN + payload.len();
    if payload.len() > 16 || out.len() < len {
        return None;
    }
    out[0] = PRODUCT_ADVERTISEMENT;
    out[1] = 0x02;
    out[2..4].copy_from_slice(&model_id.to_le_bytes());
    out[4] = record_type;
    out[5..7].copy_from_slice(&nonce.to_le_bytes());
    out[7] = key[0];
    out[HEADER_LEN..len].copy_from_slice(payload);
    crypto::apply_keystream(&Key::new(key), nonce, &mut out[HEADER_LEN..len]);
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MPPT_KEY: [u8; 16] =
        [0xad, 0xec, 0xcb, 0x94, 0x73, 0x95, 0x80, 0x1a, 0x4d, 0xd4, 0x5a, 0x2e, 0xaa, 0x44, 0xbf, 0x17];

    fn bytes(hex: &str) -> Vec<u8> {
        crate::hex::decode(hex).unwrap()
    }

    /// keshavdv/victron-ble tests/test_solar_charger.py: a real BlueSolar MPPT 75/15.
    #[test]
    fn real_mppt_advert() {
        let adv = bytes("100242a0016207adceb37b605d7e0ee21b24df5c");
        let a = Advertisement::parse(&adv).unwrap();
        assert_eq!((a.model_id, a.record_type, a.nonce, a.key_check), (0xA042, 1, 0x0762, 0xAD));
        let r = a.decrypt(&MPPT_KEY).unwrap();
        assert_eq!(r.payload(), &bytes("04006c050e000300130000fe")[..]);
        assert_eq!(r.product_name(), Some("BlueSolar Charger MPPT 75/15"));
    }

    #[test]
    fn company_id_prefix_is_accepted() {
        let adv = bytes("e102100242a0016207adceb37b605d7e0ee21b24df5c");
        assert_eq!(decode(&adv, &MPPT_KEY).unwrap().model_id(), 0xA042);
    }

    #[test]
    fn wrong_key_is_its_own_error() {
        let adv = bytes("100289a302bb01af129087600b9b97bc2c32867c8238da");
        assert_eq!(decode(&adv, &[0xFF; 16]), Err(Error::KeyMismatch { advert_key_check: 0xAF, key_first_byte: 0xFF }));
    }

    #[test]
    fn bad_framing() {
        assert_eq!(decode(&[], &MPPT_KEY), Err(Error::TooShort { len: 0 }));
        assert_eq!(decode(&[0x10, 0, 0x42, 0xA0, 1, 0, 0, 0xAD], &MPPT_KEY), Err(Error::TooShort { len: 8 }));
        assert_eq!(
            decode(&[0x02, 1, 2, 3, 4, 5, 6, 7, 8], &MPPT_KEY),
            Err(Error::NotProductAdvertisement { record: 2 })
        );
        assert_eq!(
            Advertisement::parse_manufacturer_data(0x004C, &[0x10; 12]),
            Err(Error::WrongCompanyId { company_id: 0x004C })
        );
    }

    /// HA core's crafted 40-byte advert: only the first 16 bytes are a record.
    #[test]
    fn oversized_advert_decrypts_one_block() {
        let adv = bytes("100242a0016207adceb37b605d7e0ee21b24df5c0404040410951e81ea42b0492e356ad5ed8f7eb7");
        let r = decode(&adv, &MPPT_KEY).unwrap();
        assert_eq!(r.payload().len(), 16);
        assert_eq!(r.get("battery_voltage").unwrap().as_f64(), Some(13.88));
    }

    #[test]
    fn expanded_key_decodes_the_same_and_hides_itself() {
        let adv = bytes("100242a0016207adceb37b605d7e0ee21b24df5c");
        let key = Key::new(&MPPT_KEY);
        assert_eq!(decode_with(&adv, &key), decode(&adv, &MPPT_KEY));
        assert_eq!(format!("{key:?}"), "Key(<secret>)");
    }

    #[test]
    fn encode_then_decode() {
        let payload = bytes("04006c050e000300130000fe");
        let mut out = [0u8; 32];
        let n = encode(&mut out, &MPPT_KEY, 0xA042, 1, 0x0762, &payload).unwrap();
        assert_eq!(&out[..n], &bytes("100242a0016207adceb37b605d7e0ee21b24df5c")[..]);
    }
}
