//! BLE scanning through the controller's HCI (Bluetooth Core 5.x, Vol 4 Part E), as H4 packets
//! (a packet-type byte, then the packet) — what esp-radio's `BleConnector` reads and writes.
//! Passive scanning only: the node never advertises, connects or answers.

use alloc::vec::Vec;

/// H4 packet types.
const COMMAND: u8 = 0x01;
const EVENT: u8 = 0x04;

fn command(opcode: u16, params: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(4 + params.len());
    p.push(COMMAND);
    p.extend_from_slice(&opcode.to_le_bytes());
    p.push(params.len() as u8);
    p.extend_from_slice(params);
    p
}

/// HCI_Reset (OGF 0x03, OCF 0x0003).
pub fn reset() -> Vec<u8> {
    command(0x0C03, &[])
}

/// HCI_Set_Event_Mask with LE Meta events enabled (bit 61), the default set otherwise.
pub fn set_event_mask() -> Vec<u8> {
    command(0x0C01, &0x2000_9FFF_FFFF_FFFFu64.to_le_bytes())
}

/// HCI_LE_Set_Scan_Parameters: passive, `interval_ms`/`window_ms` (0.625 ms units, clamped to
/// 2.5 ms…10.24 s, window ≤ interval), public address, accept all.
pub fn set_scan_parameters(interval_ms: u32, window_ms: u32) -> Vec<u8> {
    let units = |ms: u32| ((ms * 1000 / 625).clamp(4, 0x4000)) as u16;
    let interval = units(interval_ms);
    let window = units(window_ms).min(interval);
    let mut p = Vec::with_capacity(7);
    p.push(0x00); // passive: no scan requests sent
    p.extend_from_slice(&interval.to_le_bytes());
    p.extend_from_slice(&window.to_le_bytes());
    p.push(0x00); // own address public
    p.push(0x00); // accept all advertisements
    command(0x200B, &p)
}

/// HCI_LE_Set_Scan_Enable (duplicates not filtered: every advert carries new readings).
pub fn set_scan_enable(on: bool) -> Vec<u8> {
    command(0x200C, &[u8::from(on), 0x00])
}

/// One advertising report's manufacturer-specific data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    /// Advertiser's address, most significant byte first (as printed `C0:3B:…`).
    pub mac: [u8; 6],
    /// RSSI, dBm.
    pub rssi: i8,
    /// Company id of the manufacturer data (0x02E1: Victron).
    pub company: u16,
    /// Manufacturer data after the company id.
    pub data: Vec<u8>,
}

/// What an H4 packet from the controller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromController {
    /// Command Complete: opcode and status.
    CommandComplete {
        /// The command.
        opcode: u16,
        /// 0 success.
        status: u8,
    },
    /// LE Advertising Reports with manufacturer data.
    Adverts(Vec<Advert>),
    /// Something a scanner does not need.
    Other,
    /// Shorter than its own lengths say.
    Malformed,
}

/// Parse one H4 packet from the controller.
pub fn parse(packet: &[u8]) -> FromController {
    match packet {
        [EVENT, 0x0E, len, rest @ ..] if rest.len() >= usize::from(*len) && *len >= 4 => {
            FromController::CommandComplete { opcode: u16::from_le_bytes([rest[1], rest[2]]), status: rest[3] }
        }
        [EVENT, 0x3E, len, 0x02, rest @ ..] if rest.len() + 1 >= usize::from(*len) => reports(rest),
        [EVENT, 0x3E, ..] | [EVENT, 0x0E, ..] => FromController::Malformed,
        _ => FromController::Other,
    }
}

/// LE Advertising Report (subevent 0x02): count, then per report event type, address type,
/// address (LSB first), data length, data, RSSI.
fn reports(b: &[u8]) -> FromController {
    let Some((&n, mut rest)) = b.split_first() else { return FromController::Malformed };
    let mut out = Vec::new();
    for _ in 0..n {
        let [_kind, _addr_type, a0, a1, a2, a3, a4, a5, len, tail @ ..] = rest else {
            return FromController::Malformed;
        };
        let len = usize::from(*len);
        let (Some(data), Some(&rssi)) = (tail.get(..len), tail.get(len)) else { return FromController::Malformed };
        let mac = [*a5, *a4, *a3, *a2, *a1, *a0];
        for (company, data) in halyard_proto::ble::manufacturer_data(data) {
            out.push(Advert { mac, rssi: rssi as i8, company, data: data.to_vec() });
        }
        rest = &tail[len + 1..];
    }
    FromController::Adverts(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A controller's report of a Victron SmartSolar advert (the manufacturer data of the README's
    /// real BlueSolar example, wrapped as the Core spec lays out an LE Advertising Report).
    #[test]
    fn an_advertising_report() {
        let victron: &[u8] = &[0xE1, 0x02, 0x10, 0x02, 0x42, 0xA0, 0x01];
        let mut ad = Vec::new();
        ad.extend_from_slice(&[2, 0x01, 0x06]); // flags
        ad.push(victron.len() as u8 + 1);
        ad.push(0xFF);
        ad.extend_from_slice(victron);
        let mut p = vec![EVENT, 0x3E, 0, 0x02, 1, 0x00, 0x00, 0xFF, 0x03, 0x02, 0x01, 0x3B, 0xC0, ad.len() as u8];
        p.extend_from_slice(&ad);
        p.push((-70i8) as u8);
        p[2] = (p.len() - 3) as u8;
        let FromController::Adverts(a) = parse(&p) else { panic!("{:?}", parse(&p)) };
        assert_eq!(
            a,
            [Advert {
                mac: [0xC0, 0x3B, 0x01, 0x02, 0x03, 0xFF],
                rssi: -70,
                company: 0x02E1,
                data: victron[2..].to_vec()
            }]
        );
        // Cut anywhere: never a panic, never a made-up advert.
        for cut in 0..p.len() {
            assert!(
                !matches!(parse(&p[..cut]), FromController::Adverts(ref a) if !a.is_empty() && cut < p.len() - 1),
                "{cut}"
            );
        }
    }

    #[test]
    fn scan_parameters_in_slots() {
        // 100 ms interval = 160 slots, 30 ms window = 48 slots, passive.
        assert_eq!(set_scan_parameters(100, 30), [0x01, 0x0B, 0x20, 7, 0, 160, 0, 48, 0, 0, 0]);
        assert_eq!(set_scan_enable(true), [0x01, 0x0C, 0x20, 2, 1, 0]);
        assert_eq!(
            parse(&[EVENT, 0x0E, 4, 1, 0x0C, 0x20, 0]),
            FromController::CommandComplete { opcode: 0x200C, status: 0 }
        );
    }
}
