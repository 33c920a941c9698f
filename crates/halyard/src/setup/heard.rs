//! The Victron devices heard over Bluetooth during setup, and the check of a key against them.
//!
//! Every Instant Readout advert carries, in clear, the first byte of the key it was encrypted
//! with (victron-ble.md: byte 7 of the manufacturer data). That catches most typos but not a key
//! of another device that happens to share its first byte (1 in 256; the demo's keys all do). So
//! setup also decrypts the adverts heard with different counters: with the right key, readings a
//! few seconds apart share most of their bytes (state, error code, yield, the high bytes of the
//! voltage, unused bits), while with a wrong key each decrypts to unrelated noise (about 1 byte
//! in 256 alike). A mistyped key is refused at the prompt instead of making the device silently
//! vanish later.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use halyard_proto::victron::instant_readout::{Advertisement, RecordType};

/// One device heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    /// Its address.
    pub mac: [u8; 6],
    /// The product id in its adverts.
    pub model_id: u16,
    /// The record type it advertises.
    pub record_type: RecordType,
    /// The strongest signal heard, dBm (BlueZ only).
    pub rssi: Option<i16>,
    /// Adverts heard.
    pub adverts: u32,
    /// The last adverts' manufacturer data (after the company id), one per counter value, at
    /// most [`SAMPLES`], for the key check.
    pub samples: Vec<Vec<u8>>,
}

/// Adverts with distinct counters kept per device for the key check.
pub const SAMPLES: usize = 8;

impl Heard {
    /// The product's name, from its id.
    pub fn product(&self) -> String {
        halyard_proto::victron::product_name(self.model_id)
            .map_or_else(|| format!("Victron product 0x{:04X}", self.model_id), str::to_owned)
    }
}

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProblem {
    /// Not 32 hexadecimal digits.
    Malformed(String),
    /// The device encrypts with another key.
    Mismatch,
}

/// Devices by address.
#[derive(Debug, Default)]
pub struct Devices {
    /// What was heard.
    pub by_mac: BTreeMap<[u8; 6], Heard>,
}

impl Devices {
    /// Take in one advert (manufacturer data of company 0x02E1). Other records (VE.Smart
    /// networking, beacons) are not devices to configure here.
    pub fn advert(&mut self, mac: [u8; 6], data: &[u8], rssi: Option<i16>) {
        let Ok(advert) = Advertisement::parse(data) else { return };
        let entry = self.by_mac.entry(mac).or_insert_with(|| Heard {
            mac,
            model_id: advert.model_id,
            record_type: RecordType::from(advert.record_type),
            rssi: None,
            adverts: 0,
            samples: Vec::new(),
        });
        entry.adverts += 1;
        entry.model_id = advert.model_id;
        entry.record_type = RecordType::from(advert.record_type);
        let counter = |d: &[u8]| Advertisement::parse(d).map(|a| a.nonce).ok();
        if !entry.samples.iter().any(|d| counter(d) == Some(advert.nonce)) {
            if entry.samples.len() == SAMPLES {
                entry.samples.remove(0);
            }
            entry.samples.push(data.to_vec());
        }
        entry.rssi = match (entry.rssi, rssi) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    /// The adverts of a Halyard recording (tests, or a capture made elsewhere).
    pub fn from_recording(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for line in text.lines() {
            if let Ok(Some(crate::ingest::recording::Record::Ble { mac, data, .. })) =
                crate::ingest::recording::parse_line(line)
            {
                self.advert(mac, &data, None);
            }
        }
        Ok(())
    }
}

/// `aa:bb:…` in upper case.
pub fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// Bytes alike between two readings of the right key, at least (see the module's note).
const ALIKE: usize = 3;

/// Check `text` as the key of `device`: 32 hex digits whose first byte is the adverts' key check
/// and under which readings with different counters look like one device's readings.
pub fn check_key(device: &Heard, text: &str) -> Result<[u8; 16], KeyProblem> {
    let key = crate::keys::parse_key("the key", text.trim()).map_err(|e| KeyProblem::Malformed(format!("{e:#}")))?;
    let mut payloads = Vec::new();
    for data in &device.samples {
        let advert = Advertisement::parse(data).map_err(|_| KeyProblem::Mismatch)?;
        let record = advert.decrypt(&key).map_err(|_| KeyProblem::Mismatch)?;
        payloads.push(record.payload().to_vec());
    }
    if payloads.is_empty() {
        return Err(KeyProblem::Mismatch);
    }
    let alike = payloads.windows(2).map(|w| w[0].iter().zip(&w[1]).filter(|(a, b)| a == b).count()).max();
    match alike {
        Some(n) if n < ALIKE => Err(KeyProblem::Mismatch),
        _ => Ok(key),
    }
}

/// The refusal, as the user reads it.
pub fn refusal(device: &Heard, problem: &KeyProblem) -> String {
    match problem {
        KeyProblem::Malformed(why) => format!("{why}: a key is 32 hexadecimal digits"),
        KeyProblem::Mismatch => format!(
            "this key does not match {}: check the device (VictronConnect: Product info → Instant readout details → Show)",
            mac_text(&device.mac)
        ),
    }
}

/// Listen through BlueZ until `until`.
#[cfg(feature = "bluetooth")]
pub async fn listen_bluez(adapter: Option<&str>, devices: &mut Devices, until: tokio::time::Instant) -> Result<()> {
    use bluer::{AdapterEvent, DiscoveryFilter, DiscoveryTransport};
    use futures_util::StreamExt;
    let session = bluer::Session::new().await.context(
        "cannot reach bluetoothd over D-Bus (is bluez installed and running? `sudo systemctl start bluetooth`)",
    )?;
    let adapter = match adapter {
        Some(n) => session.adapter(n)?,
        None => session.default_adapter().await.context("no Bluetooth adapter")?,
    };
    adapter.set_powered(true).await.context("cannot power the Bluetooth adapter on (rfkill?)")?;
    adapter
        .set_discovery_filter(DiscoveryFilter {
            transport: DiscoveryTransport::Le,
            duplicate_data: true,
            ..Default::default()
        })
        .await?;
    let events = adapter.discover_devices_with_changes().await?;
    let mut events = std::pin::pin!(events);
    loop {
        let event = tokio::select! {
            _ = tokio::time::sleep_until(until) => return Ok(()),
            e = events.next() => e,
        };
        match event {
            Some(AdapterEvent::DeviceAdded(addr)) => {
                let Ok(device) = adapter.device(addr) else { continue };
                let Ok(Some(data)) = device.manufacturer_data().await else { continue };
                if let Some(bytes) = data.get(&halyard_proto::victron::COMPANY_ID) {
                    let rssi = device.rssi().await.ok().flatten();
                    devices.advert(addr.0, bytes, rssi);
                }
            }
            Some(_) => {}
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_checked_against_the_advert() {
        let key = [0x1Fu8; 16];
        let mut data = vec![0u8; 32];
        let n = halyard_proto::victron::instant_readout::encode(&mut data, &key, 0xA060, 0x01, 0x0102, &[0x55; 12])
            .expect("encodes");
        data.truncate(n);
        let mut devices = Devices::default();
        devices.advert([0xC0, 0x3B, 0, 0, 0, 1], &data, Some(-70));
        devices.advert([0xC0, 0x3B, 0, 0, 0, 1], &data, Some(-60));
        // A second reading: the same but for the power's low byte.
        let mut reading = [0x55u8; 12];
        reading[7] = 0x56;
        let mut second = vec![0u8; 32];
        let n =
            halyard_proto::victron::instant_readout::encode(&mut second, &key, 0xA060, 0x01, 0x0103, &reading).unwrap();
        devices.advert([0xC0, 0x3B, 0, 0, 0, 1], &second[..n], None);
        let heard = &devices.by_mac[&[0xC0, 0x3B, 0, 0, 0, 1]];
        assert_eq!((heard.adverts, heard.rssi, heard.record_type), (3, Some(-60), RecordType::SolarCharger));
        assert_eq!(heard.samples.len(), 2, "one sample per counter value");
        assert_eq!(check_key(heard, &"1f".repeat(16)), Ok(key));
        assert_eq!(check_key(heard, &"2f".repeat(16)), Err(KeyProblem::Mismatch), "another first byte");
        let same_first_byte = format!("1f{}", "3c".repeat(15));
        assert_eq!(check_key(heard, &same_first_byte), Err(KeyProblem::Mismatch), "decrypts to noise");
        assert!(refusal(heard, &KeyProblem::Mismatch)
            .starts_with("this key does not match C0:3B:00:00:00:01: check the device"));
        assert!(matches!(check_key(heard, "1f1f"), Err(KeyProblem::Malformed(_))));
    }
}
