//! Bluetooth LE advertising data: a sequence of AD structures — length (type and value), type,
//! value — of which type 0xFF is manufacturer-specific data, the company identifier first,
//! little-endian (Bluetooth Core Specification Vol 3 Part C §11; Supplement Part A §1.4).
//! Scanners hand over this raw data (an HCI advertising report, an ESPHome proxy's raw
//! advertisement); Victron's adverts are the 0xFF structures of company 0x02E1.

/// AD type of manufacturer-specific data.
pub const MANUFACTURER_DATA: u8 = 0xFF;

/// The manufacturer-specific data in `ad`: `(company, data after the company id)`. A structure
/// whose length runs past the end, or a zero length, ends the walk (what follows cannot be
/// framed).
pub fn manufacturer_data(ad: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = ad;
    core::iter::from_fn(move || loop {
        let [len, kind, more @ ..] = rest else { return None };
        let len = usize::from(*len);
        if len == 0 || more.len() < len - 1 {
            rest = &[];
            return None;
        }
        let (value, next) = more.split_at(len - 1);
        rest = next;
        if *kind == MANUFACTURER_DATA && value.len() >= 2 {
            return Some((u16::from_le_bytes([value[0], value[1]]), &value[2..]));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_victrons_data_among_other_structures() {
        // Flags, a complete local name "SmartSolar", Victron's manufacturer data (a real
        // BlueSolar MPPT advert, keshavdv/victron-ble tests/test_solar_charger.py), Apple's.
        let mut ad = vec![0x02, 0x01, 0x06, 0x0B, 0x09];
        ad.extend_from_slice(b"SmartSolar");
        let victron = [0x10, 0x02, 0x42, 0xA0, 0x01, 0x62, 0x07];
        ad.extend_from_slice(&[1 + 2 + victron.len() as u8, 0xFF, 0xE1, 0x02]);
        ad.extend_from_slice(&victron);
        ad.extend_from_slice(&[0x05, 0xFF, 0x4C, 0x00, 0x10, 0x05]);
        let found: Vec<_> = manufacturer_data(&ad).collect();
        assert_eq!(found, [(0x02E1, &victron[..]), (0x004C, &[0x10, 0x05][..])]);
    }

    #[test]
    fn bad_lengths_end_the_walk() {
        assert_eq!(manufacturer_data(&[0x00, 0xFF, 0xE1, 0x02]).count(), 0);
        assert_eq!(manufacturer_data(&[0x09, 0xFF, 0xE1, 0x02, 0x10]).count(), 0, "runs past the end");
        assert_eq!(manufacturer_data(&[0x02, 0xFF, 0xE1]).count(), 0, "no room for a company id");
        assert_eq!(manufacturer_data(&[0x03]).count(), 0);
    }
}
