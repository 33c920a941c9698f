//! The time live readings are stamped with: the system clock, corrected from GPS time while the
//! system clock is not synchronised.
//!
//! At sea there is no NTP, and a Raspberry Pi has no battery-backed clock: it boots at the time
//! `fake-hwclock` saved at the last shutdown, possibly weeks stale. A GPS knows the time to a
//! second. So when the kernel says the system clock is not synchronised (`adjtimex`:
//! `STA_UNSYNC`) and a GPS's time (a valid RMC, or a ZDA) differs from it by more than
//! [`AGREE_MS`], readings are stamped with the system clock plus that offset (logged once per
//! change). With `[clock] set_system_time = true` Halyard sets the system clock instead
//! (`clock_settime`, needs `CAP_SYS_TIME`). A GPS date before this build is not believed: old
//! receivers with the GPS week-number roll-over bug report dates 19.6 years back.
//!
//! The store's `TimeGuard` asks [`trusted`]: a synchronised clock, or one GPS has checked within
//! the last [`GPS_FRESH_MS`], is believed at once when it jumps.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Mutex;

use crate::model::Millis;

/// GPS and system time within this of each other agree (NMEA arrives up to a second late).
pub const AGREE_MS: i64 = 2_000;
/// How long a GPS check of the clock counts.
pub const GPS_FRESH_MS: i64 = 10_000;

/// Added to the system clock for live stamps.
static OFFSET: AtomicI64 = AtomicI64::new(0);
/// When (system ms) GPS last checked the clock; `i64::MIN` never.
static GPS_CHECKED: AtomicI64 = AtomicI64::new(i64::MIN);
static SET_SYSTEM_TIME: AtomicBool = AtomicBool::new(false);
/// The last offset logged, to log a change once.
static LOGGED: Mutex<Option<i64>> = Mutex::new(None);
/// When the offset was last reported (monotonic): a GPS whose offset keeps changing (a
/// receiver's clock stepping, a clock being slewed) is reported once per [`OFFSET_REPORT_EVERY`].
static OFFSET_REPORTED: Mutex<Option<std::time::Instant>> = Mutex::new(None);
const OFFSET_REPORT_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// `[clock] set_system_time`.
pub fn configure(set_system_time: bool) {
    SET_SYSTEM_TIME.store(set_system_time, Ordering::Relaxed);
}

/// The system clock, ms since the epoch.
pub fn system_ms() -> Millis {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as Millis)
}

/// The time to stamp a live reading with.
pub fn now_ms() -> Millis {
    system_ms() + OFFSET.load(Ordering::Relaxed)
}

/// The correction applied to the system clock, ms (0: none).
pub fn offset_ms() -> Millis {
    OFFSET.load(Ordering::Relaxed)
}

/// Whether the kernel says the system clock is synchronised (NTP, chrony, gpsd through chrony):
/// `adjtimex` without changing anything, `STA_UNSYNC` clear. `None` when it cannot tell (a
/// seccomp filter that refuses the call). `HALYARD_CLOCK_UNSYNCHRONISED=1` says no whatever
/// the kernel says: a container shares its host's kernel clock state while its own time may be
/// wrong, and the tests move a process's clock (libfaketime) without touching the kernel's.
pub fn synchronised() -> Option<bool> {
    if std::env::var_os("HALYARD_CLOCK_UNSYNCHRONISED").is_some_and(|v| v == "1") {
        return Some(false);
    }
    // SAFETY: adjtimex with modes 0 only reads the kernel's clock state into the zeroed struct.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    let state = unsafe { libc::adjtimex(&mut tx) };
    (state >= 0).then_some(state != libc::TIME_ERROR && tx.status & libc::STA_UNSYNC == 0)
}

/// Whether live stamps can be believed when they jump: the kernel's clock is synchronised, or
/// GPS time checked it recently.
pub fn trusted() -> Option<bool> {
    let checked = GPS_CHECKED.load(Ordering::Relaxed);
    if checked != i64::MIN && system_ms().saturating_sub(checked) < GPS_FRESH_MS {
        return Some(true);
    }
    synchronised()
}

/// A GPS's time (`gps_ms`), just received.
pub fn gps_time(gps_ms: Millis) {
    if gps_ms < crate::store::time_guard::BUILD_DATE_MS {
        log_once(i64::MIN, || {
            tracing::warn!(
                "GPS time {} is before this build: not used (a receiver with the week-number roll-over bug?)",
                crate::sinks::mqtt::rfc3339(gps_ms)
            )
        });
        return;
    }
    let system = system_ms();
    let offset = gps_ms - system;
    GPS_CHECKED.store(system, Ordering::Relaxed);
    if synchronised() == Some(true) || offset.abs() < AGREE_MS {
        if OFFSET.swap(0, Ordering::Relaxed) != 0 {
            tracing::info!("the system clock agrees with GPS time: readings are stamped by it again");
        }
        return;
    }
    if SET_SYSTEM_TIME.load(Ordering::Relaxed) {
        match set_system_clock(gps_ms) {
            Ok(()) => {
                OFFSET.store(0, Ordering::Relaxed);
                tracing::warn!("set the system clock from GPS time: it was {} it", seconds(offset));
                return;
            }
            Err(e) => log_once(i64::MAX, || {
                tracing::error!(
                    "cannot set the system clock from GPS time ({e}): it needs CAP_SYS_TIME (and ProtectClock=no in \
                     the systemd unit); readings are stamped from GPS time instead"
                )
            }),
        }
    }
    if (offset - OFFSET.load(Ordering::Relaxed)).abs() >= AGREE_MS {
        OFFSET.store(offset, Ordering::Relaxed);
        let mut reported = OFFSET_REPORTED.lock().unwrap_or_else(|e| e.into_inner());
        if reported.is_none_or(|at| at.elapsed() >= OFFSET_REPORT_EVERY) {
            *reported = Some(std::time::Instant::now());
            tracing::warn!(
                "the system clock is not synchronised and is {} GPS time: readings are stamped from GPS time",
                seconds(offset)
            );
        } else {
            tracing::debug!("GPS time offset now {}", seconds(offset));
        }
    }
}

/// `3 h behind` / `40 s ahead of`: how the system clock stands against GPS (`offset` = GPS −
/// system).
fn seconds(offset: i64) -> String {
    let s = offset.unsigned_abs() / 1000;
    let amount = match s {
        0..=119 => format!("{s} s"),
        120..=7_199 => format!("{} min", (s + 30) / 60),
        7_200..=172_799 => format!("{} h", (s + 1800) / 3600),
        _ => format!("{} days", (s + 43_200) / 86_400),
    };
    format!("{amount} {}", if offset > 0 { "behind" } else { "ahead of" })
}

fn log_once(key: i64, log: impl FnOnce()) {
    let mut last = LOGGED.lock().unwrap_or_else(|e| e.into_inner());
    if *last != Some(key) {
        *last = Some(key);
        log();
    }
}

fn set_system_clock(ms: Millis) -> std::io::Result<()> {
    let ts =
        libc::timespec { tv_sec: ms.div_euclid(1000) as libc::time_t, tv_nsec: (ms.rem_euclid(1000) * 1_000_000) as _ };
    // SAFETY: a valid timespec; the kernel checks the caller's capability.
    if unsafe { libc::clock_settime(libc::CLOCK_REALTIME, &ts) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_answers_and_gps_time_corrects_stamps_only_when_it_disagrees() {
        // This machine's clock: the kernel answers one way or the other.
        assert!(synchronised().is_some());
        let before = offset_ms();
        assert_eq!(before, 0);
        // GPS agreeing within a second: no correction, and the clock is trusted for a while.
        gps_time(system_ms() + 500);
        assert_eq!(offset_ms(), 0);
        assert_eq!(trusted(), Some(true));
        // A GPS date from before this build (a week roll-over): ignored.
        gps_time(crate::store::time_guard::BUILD_DATE_MS - 7 * 86_400_000);
        assert_eq!(offset_ms(), 0);
        // GPS 3 hours ahead: stamps follow GPS unless the kernel's clock is synchronised.
        gps_time(system_ms() + 3 * 3_600_000);
        if synchronised() == Some(true) {
            assert_eq!(offset_ms(), 0);
        } else {
            assert!((offset_ms() - 3 * 3_600_000).abs() < 1_000, "{}", offset_ms());
            assert!((now_ms() - system_ms() - 3 * 3_600_000).abs() < 1_000);
        }
        gps_time(system_ms());
        assert_eq!(offset_ms(), 0);
    }
}
