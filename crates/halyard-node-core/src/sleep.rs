//! When the node may sleep. At night the panels give nothing, the MPPTs' adverts say so, and a
//! node powered by the boat's bus should stop drawing its ~80 mA of Wi-Fi and BLE scanning
//! (ESP32-C3 datasheet §5.5: RX ~82 mA; light sleep ~130 µA; deep sleep ~5 µA).
//!
//! Rule: when every solar charger heard reports less than `below_w` in total for `after_ms`
//! (and at least one was heard), sleep for `wake_every_ms`; on waking, scan for
//! [`AWAKE_SCAN_MS`] and sleep again while still dark. Any reading above the threshold, or a
//! configuration or OTA message pending, keeps the node awake. A node that never heard a solar
//! charger (MasterBus or VE.Direct only) never sleeps.

use alloc::collections::BTreeMap;
use alloc::string::String;

/// How long a woken node scans before deciding again, ms.
pub const AWAKE_SCAN_MS: u64 = 60_000;

/// What to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Keep scanning and publishing.
    Stay,
    /// Sleep this long (deep sleep; the node restarts on the timer).
    Sleep {
        /// ms.
        for_ms: u64,
    },
}

/// The policy's state.
#[derive(Debug, Clone)]
pub struct Policy {
    below_w: f64,
    after_ms: u64,
    wake_every_ms: u64,
    /// Since when the total has been below the threshold (None: not below, or nothing heard).
    dark_since: Option<u64>,
    awake_since: u64,
    heard_solar: bool,
}

impl Policy {
    /// A policy from the configuration's `sleep_below_w`, `sleep_after_min`, `wake_every_min`;
    /// `now` is when the node (re)started. `woke_from_sleep` shortens the wait to one scan.
    pub fn new(below_w: f64, after_min: u32, wake_every_min: u32, now: u64, woke_from_sleep: bool) -> Self {
        Policy {
            below_w,
            after_ms: u64::from(after_min) * 60_000,
            wake_every_ms: u64::from(wake_every_min) * 60_000,
            // Woken from a dark sleep: it was already dark for long enough.
            dark_since: woke_from_sleep.then(|| now.saturating_sub(u64::from(after_min) * 60_000)),
            awake_since: now,
            heard_solar: false,
        }
    }

    /// The total solar power of a round of adverts, W.
    pub fn solar(&mut self, total_w: f64, now: u64) {
        self.heard_solar = true;
        if total_w < self.below_w {
            self.dark_since.get_or_insert(now);
        } else {
            self.dark_since = None;
        }
    }

    /// Decide; `busy` (an OTA or a configuration change in progress) keeps the node awake.
    pub fn decide(&self, now: u64, busy: bool) -> Decision {
        let Some(since) = self.dark_since.filter(|_| self.heard_solar && !busy) else { return Decision::Stay };
        let dark_long_enough = now.saturating_sub(since) >= self.after_ms;
        let scanned_enough = now.saturating_sub(self.awake_since) >= AWAKE_SCAN_MS;
        if dark_long_enough && scanned_enough {
            Decision::Sleep { for_ms: self.wake_every_ms }
        } else {
            Decision::Stay
        }
    }
}

/// A solar charger's reading counts this long, ms (an MPPT out of range is not "dark").
pub const READING_MS: u64 = 10 * 60_000;

/// The total solar power from the node's own human-readable topics (`…/solar_power` from
/// Instant Readout, `…/panel_power` from VE.Smart networking and VE.Direct).
#[derive(Debug, Clone, Default)]
pub struct SolarWatch {
    powers: BTreeMap<String, (f64, u64)>,
}

impl SolarWatch {
    /// A published topic and payload; the new total when it was a solar power.
    pub fn observe(&mut self, topic: &str, payload: &str, now: u64) -> Option<f64> {
        let device = topic.strip_suffix("/solar_power").or_else(|| topic.strip_suffix("/panel_power"))?;
        let watts: f64 = payload.parse().ok()?;
        self.powers.insert(device.into(), (watts, now));
        self.total(now)
    }

    /// The sum of the recent readings; `None` when no charger was heard lately.
    pub fn total(&self, now: u64) -> Option<f64> {
        let recent: alloc::vec::Vec<f64> =
            self.powers.values().filter(|(_, t)| now.saturating_sub(*t) <= READING_MS).map(|(w, _)| *w).collect();
        (!recent.is_empty()).then(|| recent.iter().sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;

    #[test]
    fn dusk_sleep_and_dawn() {
        let mut p = Policy::new(2.0, 30, 10, 0, false);
        assert_eq!(p.decide(0, false), Decision::Stay, "nothing heard yet");
        p.solar(150.0, MIN);
        p.solar(1.5, 10 * MIN); // dusk
        assert_eq!(p.decide(39 * MIN, false), Decision::Stay, "29 minutes dark");
        assert_eq!(p.decide(40 * MIN, false), Decision::Sleep { for_ms: 10 * MIN });
        assert_eq!(p.decide(40 * MIN, true), Decision::Stay, "an update in progress");
        p.solar(2.5, 41 * MIN); // a cloud lifts
        assert_eq!(p.decide(80 * MIN, false), Decision::Stay);
    }

    #[test]
    fn woken_at_night_scans_once_then_sleeps_again() {
        let mut p = Policy::new(2.0, 30, 10, 1_000 * MIN, true);
        p.solar(0.0, 1_000 * MIN + 5_000);
        assert_eq!(p.decide(1_000 * MIN + 30_000, false), Decision::Stay, "scans a minute first");
        assert_eq!(p.decide(1_001 * MIN, false), Decision::Sleep { for_ms: 10 * MIN });
        // Dawn while awake: stays up.
        p.solar(40.0, 1_001 * MIN + 1);
        assert_eq!(p.decide(1_002 * MIN, false), Decision::Stay);
    }

    #[test]
    fn never_sleeps_without_a_solar_charger() {
        let p = Policy::new(2.0, 30, 10, 0, true);
        assert_eq!(p.decide(10_000 * MIN, false), Decision::Stay);
    }

    #[test]
    fn the_total_of_recent_chargers() {
        let mut w = SolarWatch::default();
        assert_eq!(w.observe("halyard/port-arch/battery_voltage", "13.2", 0), None);
        assert_eq!(w.observe("halyard/port-arch/solar_power", "120", 0), Some(120.0));
        assert_eq!(w.observe("halyard/solar_charger-HQ22/panel_power", "30", MIN), Some(150.0));
        assert_eq!(w.total(11 * MIN), Some(30.0), "port-arch not heard for 11 minutes");
        assert_eq!(w.total(30 * MIN), None);
    }
}
