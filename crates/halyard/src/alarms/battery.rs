//! Built-in battery voltage alarms: a bank's voltage outside what its chemistry stands raises
//! `<device>-low-voltage` or `<device>-high-voltage`, for a device whose role is `battery`.
//!
//! The limits, per 12 V of nominal voltage (× 2 for 24 V, × 4 for 48 V):
//!
//! | chemistry        | low    | cleared at | high   | cleared at |
//! |------------------|--------|------------|--------|------------|
//! | lead (flooded, AGM, gel) | 11.8 V | 12.2 V | 15.5 V | 15.0 V |
//! | LiFePO4          | 12.0 V | 12.8 V     | 14.6 V | 14.2 V     |
//! | not said         | 11.8 V | 12.2 V     | 15.5 V | 15.0 V     |
//!
//! Lead: 11.8 V is a bank at rest near 20 % (or one pulled hard under load), and 15.5 V is above
//! any absorption or equalisation a charger is set to — a regulator run away. LiFePO4: 3.0 V a
//! cell is the foot of the discharge curve, where a BMS soon cuts the loads off, and 3.65 V a
//! cell the most a cell may see. A bank whose chemistry is not said gets the limits that hold
//! for both without a false alarm: the lead ones. A limit must hold for [`HOLD_MS`]: a windlass
//! or an inverter starting pulls a bank down for seconds, which is not a flat bank.
//!
//! The nominal voltage is configured (`nominal_voltage`) or read from the first reading: below
//! 18 V a 12 V bank, below 36 V a 24 V one, else 48 V.

use serde::Deserialize;

use crate::model::Millis;

/// A limit must hold this long (ms) to raise, and its clearing level as long to clear.
pub const HOLD_MS: Millis = 60_000;

/// What a bank is made of (`[[device]] chemistry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Chemistry {
    /// Flooded lead-acid.
    Lead,
    /// Absorbed glass mat (lead).
    Agm,
    /// Gel (lead).
    Gel,
    /// Lithium iron phosphate.
    #[serde(alias = "lfp")]
    Lifepo4,
}

/// One bank's limits, V: (low, cleared above, high, cleared below).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Below: low.
    pub low: f64,
    /// At or above: no longer low.
    pub low_clear: f64,
    /// Above: high.
    pub high: f64,
    /// At or below: no longer high.
    pub high_clear: f64,
}

impl Limits {
    /// For `chemistry` (none: not said) at `nominal` volts.
    pub fn new(chemistry: Option<Chemistry>, nominal: f64) -> Limits {
        let per_12 = match chemistry {
            Some(Chemistry::Lifepo4) => [12.0, 12.8, 14.6, 14.2],
            _ => [11.8, 12.2, 15.5, 15.0],
        };
        let k = nominal / 12.0;
        Limits { low: per_12[0] * k, low_clear: per_12[1] * k, high: per_12[2] * k, high_clear: per_12[3] * k }
    }
}

/// The nominal voltage a reading says a bank has.
pub fn nominal_from(volts: f64) -> f64 {
    if volts < 18.0 {
        12.0
    } else if volts < 36.0 {
        24.0
    } else {
        48.0
    }
}

/// Which way a bank is out of its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Too low.
    Low,
    /// Too high.
    High,
}

impl Side {
    /// `low-voltage` or `high-voltage`, after the device's name in the alarm's.
    pub fn suffix(self) -> &'static str {
        match self {
            Side::Low => "low-voltage",
            Side::High => "high-voltage",
        }
    }
}

/// What a reading did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Out of its limits for [`HOLD_MS`]: raise.
    Raise(Side, Limits),
    /// Back within for [`HOLD_MS`]: clear.
    Clear(Side, Limits),
}

/// One bank's watch.
#[derive(Debug, Clone, Default)]
pub struct BankWatch {
    /// Configured chemistry and nominal voltage.
    pub chemistry: Option<Chemistry>,
    /// Configured nominal voltage; else from the first reading.
    pub nominal: Option<f64>,
    /// Raised, on which side.
    raised: Option<Side>,
    /// Since when the reading has been beyond a limit (or, raised, back past its clearing level).
    since: Option<Millis>,
}

impl BankWatch {
    /// A bank of `chemistry` (none: not said) at `nominal` volts (none: from its first reading).
    pub fn new(chemistry: Option<Chemistry>, nominal: Option<f64>) -> Self {
        BankWatch { chemistry, nominal, ..Default::default() }
    }

    /// A reading of the bank's voltage at `at`.
    pub fn reading(&mut self, volts: f64, at: Millis) -> Option<Verdict> {
        let nominal = *self.nominal.get_or_insert_with(|| nominal_from(volts));
        let l = Limits::new(self.chemistry, nominal);
        let (crossing, side) = match self.raised {
            None if volts < l.low => (true, Side::Low),
            None if volts > l.high => (true, Side::High),
            None => (false, Side::Low),
            Some(Side::Low) => (volts >= l.low_clear, Side::Low),
            Some(Side::High) => (volts <= l.high_clear, Side::High),
        };
        if !crossing {
            self.since = None;
            return None;
        }
        let since = *self.since.get_or_insert(at);
        if at - since < HOLD_MS {
            return None;
        }
        self.since = None;
        match self.raised.take() {
            None => {
                self.raised = Some(side);
                Some(Verdict::Raise(side, l))
            }
            Some(side) => Some(Verdict::Clear(side, l)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_scale_with_the_nominal_voltage_and_chemistry() {
        let lead24 = Limits::new(None, 24.0);
        assert_eq!((lead24.low, lead24.high), (23.6, 31.0));
        let lfp = Limits::new(Some(Chemistry::Lifepo4), 12.0);
        assert_eq!((lfp.low, lfp.high), (12.0, 14.6));
        assert_eq!(Limits::new(Some(Chemistry::Agm), 12.0), Limits::new(None, 12.0));
        assert_eq!([nominal_from(13.1), nominal_from(26.4), nominal_from(53.0)], [12.0, 24.0, 48.0]);
    }

    #[test]
    fn a_sag_is_not_a_flat_bank_but_a_minute_below_is() {
        let mut w = BankWatch::new(Some(Chemistry::Lifepo4), None);
        // A windlass: 30 s at 11.5 V, then back.
        for (t, v) in [(0, 13.2), (10_000, 11.5), (40_000, 11.5), (45_000, 13.1), (110_000, 13.0)] {
            assert_eq!(w.reading(v, t), None, "{v} V at {t}");
        }
        // A bank running flat: raised once the minute has passed, not before.
        assert_eq!(w.reading(11.9, 200_000), None);
        assert_eq!(w.reading(11.8, 259_999), None);
        assert!(matches!(w.reading(11.8, 260_000), Some(Verdict::Raise(Side::Low, _))));
        assert_eq!(w.reading(11.7, 400_000), None, "raised once");
        // Charging lifts it past 12.0 but not to 12.8: still low.
        assert_eq!(w.reading(12.5, 500_000), None);
        assert_eq!(w.reading(12.9, 600_000), None);
        assert!(matches!(w.reading(13.0, 660_000), Some(Verdict::Clear(Side::Low, _))));
        // A regulator run away.
        assert_eq!(w.reading(14.9, 700_000), None);
        assert!(matches!(w.reading(15.0, 760_000), Some(Verdict::Raise(Side::High, _))));
    }

    #[test]
    fn the_nominal_voltage_comes_from_the_first_reading_when_not_configured() {
        let mut w = BankWatch::default();
        assert_eq!(w.reading(25.4, 0), None);
        assert_eq!(w.nominal, Some(24.0));
        assert_eq!(w.reading(23.0, 1_000), None);
        assert!(matches!(w.reading(23.0, 61_000), Some(Verdict::Raise(Side::Low, l)) if l.low == 23.6));
    }
}
