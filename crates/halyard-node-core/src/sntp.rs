//! The time, from an SNTP server (RFC 4330): a 48-byte client request and the server's
//! transmit time stamp. The node needs the time only to stamp its log lines and boot report;
//! readings are stamped by whoever stores them.

/// Seconds from 1900-01-01 (NTP's era 0) to 1970-01-01.
const UNIX_EPOCH: u64 = 2_208_988_800;

/// The request: LI 0, version 4, mode 3 (client); everything else zero.
pub fn request() -> [u8; 48] {
    let mut p = [0u8; 48];
    p[0] = 0b00_100_011;
    p
}

/// The server's transmit time as Unix milliseconds; `None` for a reply that is not a server's
/// (mode 4), a kiss-of-death (stratum 0), or shorter than 48 bytes.
pub fn unix_ms(reply: &[u8]) -> Option<u64> {
    let p = reply.get(..48)?;
    if p[0] & 0x07 != 4 || p[1] == 0 {
        return None;
    }
    let seconds = u64::from(u32::from_be_bytes([p[40], p[41], p[42], p[43]]));
    let fraction = u64::from(u32::from_be_bytes([p[44], p[45], p[46], p[47]]));
    // Era 1 starts in 2036: a seconds value below the 1970 offset belongs to it.
    let seconds = if seconds < UNIX_EPOCH { seconds + (1 << 32) } else { seconds };
    Some((seconds - UNIX_EPOCH) * 1000 + ((fraction * 1000) >> 32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_reply() {
        let mut r = [0u8; 48];
        r[0] = 0b00_100_100; // v4, server
        r[1] = 2;
        // 2026-11-29T00:00:00.5Z = 1795910400.5 s Unix.
        r[40..44].copy_from_slice(&((1_795_910_400u64 + UNIX_EPOCH) as u32).to_be_bytes());
        r[44..48].copy_from_slice(&0x8000_0000u32.to_be_bytes());
        assert_eq!(unix_ms(&r), Some(1_795_910_400_500));
        r[1] = 0;
        assert_eq!(unix_ms(&r), None, "kiss-of-death");
        assert_eq!(request()[0], 0x23);
        assert_eq!(unix_ms(&r[..47]), None);
    }

    #[test]
    fn after_2036_rolls_into_era_1() {
        let mut r = [0u8; 48];
        r[0] = 0x24;
        r[1] = 1;
        r[40..44].copy_from_slice(&100u32.to_be_bytes());
        assert_eq!(unix_ms(&r), Some(((1u64 << 32) + 100 - UNIX_EPOCH) * 1000));
    }
}
