//! A calendar date (proleptic Gregorian), shared by the protocols that carry one — MasterBus Date
//! fields ([`crate::masterbus::calendar`]) and NMEA RMC/ZDA ([`crate::nmea`]) — with the day
//! arithmetic they need (Howard Hinnant's `days_from_civil` and `civil_from_days`).

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// The year (e.g. 2022).
    pub year: u16,
    /// The month, 1–12.
    pub month: u8,
    /// The day of the month, 1–31.
    pub day: u8,
}

impl Date {
    /// A date, `None` when the month or the day does not exist (31 April, 29 February 2026).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days).contains(&day).then_some(Date { year, month, day })
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(&self) -> i64 {
        let (y, m, d) = (i64::from(self.year), i64::from(self.month), i64::from(self.day));
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01 (`None` outside the years 0–65535).
    pub fn from_days(days: i64) -> Option<Date> {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Some(Date { year: u16::try_from(year).ok()?, month, day })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_arithmetic_round_trips_and_invalid_dates_are_refused() {
        let d = Date::new(2023, 6, 23).unwrap();
        assert_eq!(d.days_since_epoch(), 19_531);
        assert_eq!(Date::from_days(19_531), Some(d));
        for n in [0, 59, 60, 365, 11_016, 20_000, 30_000] {
            assert_eq!(Date::from_days(n).unwrap().days_since_epoch(), n);
        }
        assert_eq!(Date::new(2026, 2, 29), None);
        assert!(Date::new(2024, 2, 29).is_some());
        assert_eq!(Date::new(2026, 4, 31), None);
        assert_eq!(Date::new(2026, 13, 1), None);
    }
}
