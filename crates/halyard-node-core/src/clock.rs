//! The node's idea of the time: none at power-up, then the gateway's `<root>/clock` (Unix ms,
//! every minute) or an SNTP answer, kept as an offset from the node's own monotonic clock.

use alloc::format;
use alloc::string::String;

/// The wall clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    /// Unix ms minus the monotonic ms at the last setting.
    offset: Option<i64>,
}

impl Clock {
    /// Not known yet (usable in a `static`).
    pub const fn new() -> Self {
        Clock { offset: None }
    }

    /// Set from a time source: `unix_ms` now, when the monotonic clock reads `now_ms`.
    pub fn set(&mut self, unix_ms: u64, now_ms: u64) {
        self.offset = Some(unix_ms as i64 - now_ms as i64);
    }

    /// Set from the gateway's `<root>/clock` payload; `false` when it is not a time after 2020.
    pub fn set_from_text(&mut self, payload: &[u8], now_ms: u64) -> bool {
        let ms = core::str::from_utf8(payload).ok().and_then(|t| t.trim().parse::<u64>().ok());
        match ms.filter(|ms| *ms >= 1_577_836_800_000) {
            Some(ms) => {
                self.set(ms, now_ms);
                true
            }
            None => false,
        }
    }

    /// Unix ms at `now_ms`, once known.
    pub fn unix_ms(&self, now_ms: u64) -> Option<u64> {
        self.offset.map(|o| (now_ms as i64 + o) as u64)
    }

    /// `2026-11-29T07:40:00Z` at `now_ms`, once known.
    pub fn rfc3339(&self, now_ms: u64) -> Option<String> {
        let ms = self.unix_ms(now_ms)? as i64;
        let d = halyard_proto::date::Date::from_days(ms.div_euclid(86_400_000))?;
        let s = ms.rem_euclid(86_400_000) / 1000;
        Some(format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", d.year, d.month, d.day, s / 3600, s / 60 % 60, s % 60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_the_gateway_and_onwards() {
        let mut c = Clock::default();
        assert_eq!(c.rfc3339(5_000), None);
        assert!(!c.set_from_text(b"12", 5_000), "not a time");
        assert!(!c.set_from_text(b"soon", 5_000));
        assert!(c.set_from_text(b"1795942800000\n", 5_000)); // 2026-11-29T09:00:00Z (Python datetime)
        assert_eq!(c.rfc3339(5_000).as_deref(), Some("2026-11-29T09:00:00Z"));
        assert_eq!(c.rfc3339(5_000 + 61_500).as_deref(), Some("2026-11-29T09:01:01Z"));
        assert_eq!(c.unix_ms(5_000), Some(1_795_942_800_000));
    }
}
