//! Text for people: the pages `halyard report`, `halyard nav` and `halyard mesh` print by
//! default (their `--json` is for scripts). Sections, labels aligned in a column, numbers with
//! their unit and thousands separated, times of day in the boat's time zone — with the date
//! only when it is not the page's own day — and simple tables.

use std::fmt::Write as _;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde_json::Value as Json;

/// Width of the labels' column.
const LABEL: usize = 30;

/// A page being written.
#[derive(Debug, Default)]
pub struct Page {
    out: String,
}

/// A table column's alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

impl Page {
    /// A page with a title line.
    pub fn new(title: &str) -> Self {
        Page { out: format!("{title}\n") }
    }

    /// A section heading, after a blank line.
    pub fn section(&mut self, heading: &str) {
        let _ = write!(self.out, "\n{heading}\n");
    }

    /// `label   value`, the values aligned.
    pub fn row(&mut self, label: &str, value: impl AsRef<str>) {
        let _ = writeln!(self.out, "  {label:<LABEL$} {}", value.as_ref());
    }

    /// A line as it is, indented.
    pub fn line(&mut self, text: impl AsRef<str>) {
        let text = text.as_ref();
        if text.is_empty() {
            self.out.push('\n');
        } else {
            let _ = writeln!(self.out, "  {text}");
        }
    }

    /// A table: a header and rows, each column as wide as its widest cell.
    pub fn table(&mut self, columns: &[(&str, Align)], rows: &[Vec<String>]) {
        let mut widths: Vec<usize> = columns.iter().map(|(h, _)| h.chars().count()).collect();
        for r in rows {
            for (w, cell) in widths.iter_mut().zip(r) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| -> String {
            let mut s = String::new();
            for ((cell, (_, align)), w) in cells.iter().zip(columns).zip(&widths) {
                let pad = " ".repeat(w - cell.chars().count());
                match align {
                    Align::Left => s += &format!("  {cell}{pad}"),
                    Align::Right => s += &format!("  {pad}{cell}"),
                }
            }
            s.trim_end().to_owned() + "\n"
        };
        self.out += &line(columns.iter().map(|(h, _)| *h).collect());
        for r in rows {
            self.out += &line(r.iter().map(String::as_str).collect());
        }
    }

    /// The text.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Times in the boat's time zone, relative to the page's day.
#[derive(Debug, Clone)]
pub struct Times {
    tz: TimeZone,
    day: jiff::civil::Date,
}

impl Times {
    /// For a page about the local day containing `ms`.
    pub fn new(tz: TimeZone, ms: i64) -> Self {
        let day = tz.to_datetime(Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)).date();
        Times { tz, day }
    }

    fn local(&self, ms: i64) -> jiff::civil::DateTime {
        self.tz.to_datetime(Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH))
    }

    /// `14:05`, or `Sat 20 Jun 14:05` on another day.
    pub fn at_ms(&self, ms: i64) -> String {
        let t = self.local(ms);
        if t.date() == self.day {
            format!("{:02}:{:02}", t.hour(), t.minute())
        } else {
            format!("{} {:02}:{:02}", short_date(t.date()), t.hour(), t.minute())
        }
    }

    /// An RFC 3339 time of the JSON answers as [`Times::at_ms`]; `–` when missing.
    pub fn at(&self, v: &Json) -> String {
        match v.as_str().and_then(|s| s.parse::<Timestamp>().ok()) {
            Some(t) => self.at_ms(t.as_millisecond()),
            None => "–".into(),
        }
    }

    /// `14:05–14:50`; dates where they are not the page's day, the end's only when it is not
    /// the start's.
    pub fn span(&self, from: &Json, to: &Json) -> String {
        let ms = |v: &Json| v.as_str().and_then(|s| s.parse::<Timestamp>().ok()).map(|t| t.as_millisecond());
        match (ms(from), ms(to)) {
            (Some(a), Some(b)) if self.local(a).date() == self.local(b).date() => {
                let end = self.local(b);
                format!("{}–{:02}:{:02}", self.at_ms(a), end.hour(), end.minute())
            }
            _ => format!("{}–{}", self.at(from), self.at(to)),
        }
    }

    /// The page's day: `Sunday 21 June 2026`.
    pub fn long_date(&self) -> String {
        let d = self.day;
        format!("{} {} {} {}", weekday(d.weekday()), d.day(), month(d.month()), d.year())
    }

    /// The time zone's name.
    pub fn zone(&self) -> &str {
        self.tz.iana_name().unwrap_or("UTC")
    }
}

fn weekday(w: jiff::civil::Weekday) -> &'static str {
    use jiff::civil::Weekday::*;
    match w {
        Monday => "Monday",
        Tuesday => "Tuesday",
        Wednesday => "Wednesday",
        Thursday => "Thursday",
        Friday => "Friday",
        Saturday => "Saturday",
        Sunday => "Sunday",
    }
}

fn month(m: i8) -> &'static str {
    const M: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    M[(m.clamp(1, 12) - 1) as usize]
}

fn short_date(d: jiff::civil::Date) -> String {
    format!("{} {} {}", &weekday(d.weekday())[..3], d.day(), &month(d.month())[..3])
}

/// A number with `decimals` decimals and thousands separated by commas: `12,345.6`; `–` when
/// missing.
pub fn number(v: Option<f64>, decimals: usize) -> String {
    let Some(v) = v.filter(|v| v.is_finite()) else { return "–".into() };
    let text = format!("{:.decimals$}", v.abs());
    let (int, frac) = text.split_once('.').map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') { "-" } else { "" };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// A JSON number with its unit: `13.31 V`; `–` when missing.
pub fn with_unit(v: &Json, decimals: usize, unit: &str) -> String {
    match v.as_f64() {
        Some(x) => format!("{} {unit}", number(Some(x), decimals)),
        None => "–".into(),
    }
}

/// Energy: Wh below 10 kWh, kWh above.
pub fn energy(wh: &Json) -> String {
    match wh.as_f64() {
        Some(w) if w.abs() >= 10_000.0 => format!("{} kWh", number(Some(w / 1000.0), 1)),
        Some(w) => format!("{} Wh", number(Some(w), 0)),
        None => "–".into(),
    }
}

/// A duration in seconds: `45 s`, `12 min`, `2 h 05 min`.
pub fn duration(seconds: f64) -> String {
    if seconds < 90.0 {
        return format!("{seconds:.0} s");
    }
    let m = (seconds / 60.0).round() as i64;
    if m < 60 {
        format!("{m} min")
    } else {
        format!("{} h {:02} min", m / 60, m % 60)
    }
}

/// A distance: `850 m`, `1.25 km`, `31.8 km`.
pub fn distance(m: f64) -> String {
    if m < 1000.0 {
        format!("{m:.0} m")
    } else if m < 10_000.0 {
        format!("{:.2} km", m / 1000.0)
    } else {
        format!("{:.1} km", m / 1000.0)
    }
}

/// A position: `43.2950 N  5.3700 E`.
pub fn position(lat: f64, lon: f64) -> String {
    format!(
        "{:.4} {}  {:.4} {}",
        lat.abs(),
        if lat < 0.0 { 'S' } else { 'N' },
        lon.abs(),
        if lon < 0.0 { 'W' } else { 'E' }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_numbers() {
        assert_eq!(number(Some(1_234_567.891), 1), "1,234,567.9");
        assert_eq!(number(Some(-0.04), 1), "0.0");
        assert_eq!(number(Some(-1234.0), 0), "-1,234");
        assert_eq!(number(Some(999.0), 0), "999");
        assert_eq!(number(None, 0), "–");
        assert_eq!(duration(45.0), "45 s");
        assert_eq!(duration(7_500.0), "2 h 05 min");
        assert_eq!(distance(1_234.0), "1.23 km");
        assert_eq!(energy(&serde_json::json!(12_345.0)), "12.3 kWh");
    }

    #[test]
    fn times_are_local_and_dated_when_not_today() {
        // 2026-06-21 12:00 UTC is 14:00 in Paris (CEST).
        let tz = TimeZone::get("Europe/Paris").unwrap();
        let noon = 1_782_043_200_000;
        let t = Times::new(tz, noon);
        assert_eq!(t.at_ms(noon), "14:00");
        assert_eq!(t.at_ms(noon - 86_400_000), "Sat 20 Jun 14:00");
        assert_eq!(t.at(&Json::from("2026-06-21T21:59:00Z")), "23:59");
        assert_eq!(t.at(&Json::from("2026-06-21T22:00:00Z")), "Mon 22 Jun 00:00");
        assert_eq!(t.long_date(), "Sunday 21 June 2026");
        let (a, b) = (Json::from("2026-06-19T22:00:00Z"), Json::from("2026-06-20T07:01:00Z"));
        assert_eq!(t.span(&a, &b), "Sat 20 Jun 00:00–09:01");
        assert_eq!(
            t.span(&Json::from("2026-06-21T12:00:00Z"), &Json::from("2026-06-21T22:30:00Z")),
            "14:00–Mon 22 Jun 00:30"
        );
    }

    #[test]
    fn tables_align() {
        let mut p = Page::new("T");
        p.table(
            &[("name", Align::Left), ("Wh", Align::Right)],
            &[vec!["a".into(), "1".into()], vec!["bimini".into(), "1,234".into()]],
        );
        assert_eq!(p.finish(), "T\n  name       Wh\n  a           1\n  bimini  1,234\n");
    }
}
