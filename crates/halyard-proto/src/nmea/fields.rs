//! Field readers: numbers, latitude/longitude (`ddmm.mmmm`, `dddmm.mmmm` + hemisphere), UTC
//! time of day (`hhmmss.ss`) and dates (`ddmmyy`, or ZDA's day, month, year).

/// A position, decimal degrees (north and east positive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// UTC time of day, milliseconds since midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay(pub u32);

/// `hh:mm:ss.mmm`, as logs and captures write a time of day (a leap second's `23:59:60.5` too).
impl core::fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let ms = self.0;
        write!(f, "{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
    }
}

pub use crate::date::Date;

/// Dates with NMEA's times of day.
impl Date {
    /// Milliseconds since the Unix epoch at `time` on this date.
    pub fn at(&self, time: TimeOfDay) -> i64 {
        self.days_since_epoch() * 86_400_000 + i64::from(time.0)
    }
}

/// A field that is wrong (the sentence decoder adds which).
pub(crate) struct Bad;

/// A number, `None` when empty.
pub(crate) fn num(f: &str) -> Result<Option<f64>, Bad> {
    if f.is_empty() {
        return Ok(None);
    }
    match f.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(Bad),
    }
}

/// A small integer (satellites, fix quality), `None` when empty.
pub(crate) fn int(f: &str) -> Result<Option<u8>, Bad> {
    if f.is_empty() {
        return Ok(None);
    }
    f.parse::<u8>().map(Some).map_err(|_| Bad)
}

/// `ddmm.mmmm` / `dddmm.mmmm` and `N`/`S`/`E`/`W` → signed degrees.
fn coordinate(value: &str, hemisphere: &str, degree_digits: usize, limit: f64) -> Result<Option<f64>, Bad> {
    if value.is_empty() && hemisphere.is_empty() {
        return Ok(None);
    }
    // Two digits of whole minutes before the point; up to `degree_digits` of degrees before
    // them (some instruments drop leading zeros).
    let dot = value.find('.').unwrap_or(value.len());
    if !(3..=degree_digits + 2).contains(&dot) || !value.is_ascii() {
        return Err(Bad);
    }
    let degrees: f64 = value[..dot - 2].parse().map_err(|_| Bad)?;
    if degrees.is_sign_negative() {
        return Err(Bad);
    }
    let minutes: f64 = value[dot - 2..].parse().map_err(|_| Bad)?;
    if !(0.0..60.0).contains(&minutes) {
        return Err(Bad);
    }
    let v = degrees + minutes / 60.0;
    if v > limit {
        return Err(Bad);
    }
    match hemisphere {
        "N" | "E" => Ok(Some(v)),
        "S" | "W" => Ok(Some(-v)),
        _ => Err(Bad),
    }
}

/// A position from four fields; `None` when both are empty.
pub(crate) fn position(lat: &str, ns: &str, lon: &str, ew: &str) -> Result<Option<Position>, Bad> {
    let lat = coordinate(lat, ns, 2, 90.0)?;
    let lon = coordinate(lon, ew, 3, 180.0)?;
    Ok(match (lat, lon) {
        (Some(lat), Some(lon)) => Some(Position { lat, lon }),
        (None, None) => None,
        _ => return Err(Bad),
    })
}

/// `hhmmss` or `hhmmss.sss`.
pub(crate) fn time(f: &str) -> Result<Option<TimeOfDay>, Bad> {
    if f.is_empty() {
        return Ok(None);
    }
    let b = f.as_bytes();
    if b.len() < 6 || !b[..6].iter().all(u8::is_ascii_digit) {
        return Err(Bad);
    }
    let two = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    let (h, m, s) = (two(0), two(2), two(4));
    let frac = match &f[6..] {
        "" => 0.0,
        rest if rest.starts_with('.') && rest.len() > 1 && rest[1..].bytes().all(|c| c.is_ascii_digit()) => {
            rest.parse::<f64>().map_err(|_| Bad)?
        }
        _ => return Err(Bad),
    };
    // 60 s is a leap second.
    if h > 23 || m > 59 || s > 60 {
        return Err(Bad);
    }
    // Rounded (`.042` is 41.999… thousandths in binary; `frac` is not negative).
    Ok(Some(TimeOfDay((h * 3600 + m * 60 + s) * 1000 + (frac * 1000.0 + 0.5) as u32)))
}

/// Two-digit years: 1980–2079 (the GPS epoch onwards).
fn year(yy: u16) -> u16 {
    if yy < 80 {
        2000 + yy
    } else {
        1900 + yy
    }
}

/// `ddmmyy` (RMC).
pub(crate) fn date(f: &str) -> Result<Option<Date>, Bad> {
    if f.is_empty() {
        return Ok(None);
    }
    let b = f.as_bytes();
    if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
        return Err(Bad);
    }
    let two = |i: usize| (b[i] - b'0') * 10 + (b[i + 1] - b'0');
    Date::new(year(u16::from(two(4))), two(2), two(0)).map(Some).ok_or(Bad)
}

/// ZDA's day, month and four-digit year: a date only when all three are there.
pub(crate) fn date_parts(day: &str, month: &str, y: &str) -> Result<Option<Date>, Bad> {
    if day.is_empty() || month.is_empty() || y.is_empty() {
        return Ok(None);
    }
    let d: u8 = day.parse().map_err(|_| Bad)?;
    let m: u8 = month.parse().map_err(|_| Bad)?;
    let y: u16 = y.parse().map_err(|_| Bad)?;
    Date::new(y, m, d).map(Some).ok_or(Bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_times_and_dates() {
        let p = position("0907.340", "S", "14013.396", "W").ok().flatten().unwrap();
        assert!((p.lat - -9.122_333).abs() < 1e-6 && (p.lon - -140.223_266_7).abs() < 1e-6, "{p:?}");
        assert!(position("", "", "", "").ok().unwrap().is_none());
        assert!(position("9100.0", "N", "00000.0", "E").is_err(), "91°N");
        assert!(position("4916.45", "X", "12311.12", "W").is_err());
        assert_eq!(time("221802").ok().flatten(), Some(TimeOfDay(80_282_000)));
        assert_eq!(time("000000.50").ok().flatten(), Some(TimeOfDay(500)));
        assert!(time("25xx00").is_err() && time("240000").is_err());
        assert_eq!(date("211110").ok().flatten(), Some(Date { year: 2010, month: 11, day: 21 }));
        assert!(date("310226").is_err(), "no 31 February");
        assert_eq!(date_parts("", "", "").ok().flatten(), None, "never invent a date");
        let d = date_parts("23", "06", "2023").ok().flatten().unwrap();
        assert_eq!(d.days_since_epoch(), 19_531);
        assert_eq!(Date { year: 1970, month: 1, day: 1 }.at(TimeOfDay(1000)), 1000);
    }
}
