//! Dates, times of day and durations, which MasterBus sends as plain f32 values
//! (masterbus.md §4.1).
//!
//! * Date: `T = year*416 + month*32 + day` (416 = 13 × 32). 841202.0 is 2022-01-18.
//!   Integer arithmetic only: the Wireshark dissector computes the month in floating point and
//!   shows 841027 (2021-09-03) as "3/8/2021".
//! * Time: seconds since midnight; 67151.0 is 18:39:11. The same visualisation carries durations
//!   longer than a day ("Remaining" 567600 = 6 days 13:40:00).

pub use crate::date::Date;

/// MasterBus Date fields.
impl Date {
    /// Decode a Date field's value; `None` when it is not a valid date (negative, not finite,
    /// month 0 or above 12, day 0).
    pub fn from_value(value: f32) -> Option<Self> {
        if !value.is_finite() || !(0.0..=(u16::MAX as f32 * 416.0)).contains(&value) {
            return None;
        }
        let t = value as u32;
        let date = Date { year: (t / 416) as u16, month: (t / 32 % 13) as u8, day: (t % 32) as u8 };
        (1..=12).contains(&date.month).then_some(date).filter(|d| d.day >= 1)
    }

    /// Encode as a Date field value.
    pub fn to_value(self) -> f32 {
        (u32::from(self.year) * 416 + u32::from(self.month) * 32 + u32::from(self.day)) as f32
    }
}

impl core::fmt::Display for Date {
    /// `dd/mm/yyyy`, as monitorPowerToMQTT published dates.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:02}/{:02}/{:04}", self.day, self.month, self.year)
    }
}

/// A time of day or a duration from a MasterBus Time field, in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Clock {
    /// Whole seconds.
    pub seconds: u32,
}

impl Clock {
    /// Decode a Time field's value; `None` when negative or not finite.
    pub fn from_value(value: f32) -> Option<Self> {
        if !value.is_finite() || !(0.0..=u32::MAX as f32).contains(&value) {
            return None;
        }
        Some(Clock { seconds: value as u32 })
    }

    /// Whole days (non-zero only for durations).
    pub const fn days(self) -> u32 {
        self.seconds / 86_400
    }

    /// Whether this is a time of day (under 24 hours) rather than a longer duration.
    pub const fn is_time_of_day(self) -> bool {
        self.seconds < 86_400
    }
}

impl core::fmt::Display for Clock {
    /// `hh:mm:ss`, with `Nd ` in front when the value is a day or longer.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = self.seconds % 86_400;
        if self.days() > 0 {
            write!(f, "{}d ", self.days())?;
        }
        write!(f, "{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_the_captures_and_the_original_tests() {
        let cases = [
            (841_202.0, "18/01/2022"),
            (841_027.0, "03/09/2021"),
            (840_509.0, "29/05/2020"),
            (832_034.0, "02/01/2000"),
        ];
        for (value, text) in cases {
            let date = Date::from_value(value).unwrap();
            assert_eq!(date.to_string(), text);
            assert_eq!(date.to_value(), value);
        }
        assert_eq!(Date::from_value(-1.0), None);
        assert_eq!(Date::from_value(f32::NAN), None);
        assert_eq!(Date::from_value(2022.0 * 416.0), None, "month 0");
    }

    #[test]
    fn times_and_durations() {
        assert_eq!(Clock::from_value(67_151.0).unwrap().to_string(), "18:39:11");
        assert_eq!(Clock::from_value(17_400.0).unwrap().to_string(), "04:50:00");
        let remaining = Clock::from_value(567_600.0).unwrap();
        assert!(!remaining.is_time_of_day());
        assert_eq!(remaining.to_string(), "6d 13:40:00");
        assert_eq!(Clock::from_value(f32::INFINITY), None);
    }
}
