//! Why the node last restarted, kept across the reset in RTC memory that survives it: the
//! panic message and location and the backtrace's return addresses, published after the next
//! boot on `<root>/node/<id>/boot` (with the reset reason) so a crash far from a laptop is seen.
//! The record carries a magic and a CRC: after a power-up the memory holds noise.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::config::crc32;

/// Bytes of the record.
pub const RECORD: usize = 384;
const MAGIC: &[u8; 4] = b"HNCR";
const MAX_PCS: usize = 16;

/// Write a crash into `buf` (message truncated to fit, at most 16 addresses). Allocates
/// nothing: it runs in the panic handler, perhaps after the heap ran out.
pub fn store(buf: &mut [u8; RECORD], message: &str, pcs: &[u32]) {
    let pcs = &pcs[..pcs.len().min(MAX_PCS)];
    let room = RECORD - 4 - 2 - 1 - 4 * MAX_PCS - 4;
    let mut end = message.len().min(room);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    buf.fill(0);
    buf[..4].copy_from_slice(MAGIC);
    buf[4..6].copy_from_slice(&(end as u16).to_le_bytes());
    buf[6..6 + end].copy_from_slice(&message.as_bytes()[..end]);
    buf[6 + end] = pcs.len() as u8;
    for (i, pc) in pcs.iter().enumerate() {
        buf[7 + end + 4 * i..11 + end + 4 * i].copy_from_slice(&pc.to_le_bytes());
    }
    let crc = crc32(&buf[4..7 + end + 4 * pcs.len()]);
    buf[RECORD - 4..].copy_from_slice(&crc.to_le_bytes());
}

/// The crash kept in `buf`, if any: (message, return addresses).
pub fn load(buf: &[u8; RECORD]) -> Option<(String, Vec<u32>)> {
    if &buf[..4] != MAGIC {
        return None;
    }
    let len = usize::from(u16::from_le_bytes([buf[4], buf[5]]));
    let text = buf.get(6..6 + len)?;
    let n = usize::from(*buf.get(6 + len)?).min(MAX_PCS);
    let pcs_at = 7 + len;
    let body = buf.get(4..pcs_at + 4 * n)?;
    if crc32(body).to_le_bytes() != buf[RECORD - 4..] {
        return None;
    }
    let pcs = (0..n).map(|i| u32::from_le_bytes(buf[pcs_at + 4 * i..pcs_at + 4 * i + 4].try_into().unwrap())).collect();
    Some((String::from_utf8_lossy(text).into_owned(), pcs))
}

/// The `<root>/node/<id>/boot` payload: JSON with the firmware version, the reset reason, the
/// running image and the crash when there was one (addresses for `addr2line` on the ELF).
pub fn boot_report(version: &str, reset_reason: &str, image: &str, crash: Option<&(String, Vec<u32>)>) -> String {
    let escape = |s: &str| s.chars().flat_map(|c| c.escape_default()).collect::<String>();
    let mut out = format!(
        "{{\"version\":\"{}\",\"reset_reason\":\"{}\",\"image\":\"{}\"",
        escape(version),
        escape(reset_reason),
        escape(image)
    );
    if let Some((message, pcs)) = crash {
        let pcs: Vec<String> = pcs.iter().map(|p| format!("\"0x{p:08x}\"")).collect();
        out += &format!(",\"panic\":\"{}\",\"backtrace\":[{}]", escape(message), pcs.join(","));
    }
    out + "}"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_across_a_reset_and_noise_is_not_a_crash() {
        let mut buf = [0u8; RECORD];
        assert_eq!(load(&buf), None);
        store(&mut buf, "panicked at src/main.rs:42:9: index out of bounds", &[0x4200_1234, 0x4200_5678]);
        let got = load(&buf).unwrap();
        assert_eq!(got, ("panicked at src/main.rs:42:9: index out of bounds".into(), vec![0x4200_1234, 0x4200_5678]));
        let json = boot_report("0.1.0", "software", "ota_1", Some(&got));
        assert_eq!(
            json,
            "{\"version\":\"0.1.0\",\"reset_reason\":\"software\",\"image\":\"ota_1\",\"panic\":\"panicked at src/main.rs:42:9: index out of bounds\",\"backtrace\":[\"0x42001234\",\"0x42005678\"]}"
        );
        buf[10] ^= 0x20;
        assert_eq!(load(&buf), None, "a flipped bit");
        let long = "é".repeat(400);
        store(&mut buf, &long, &[1; 40]);
        let (m, pcs) = load(&buf).unwrap();
        assert!(m.len() < RECORD && m.chars().all(|c| c == 'é') && pcs.len() == MAX_PCS);
    }
}
