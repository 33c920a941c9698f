//! NMEA 0183 bytes from one source (a serial port, a TCP or UDP stream, gpsd, a log file) →
//! sentences → the navigation state ([`super::nav`]). Every line that cannot be used is
//! counted by kind on `halyard_decode_errors_total{source=…}`; gpsd's own JSON lines are not
//! NMEA and are skipped without counting.
//!
//! Time: a live source stamps bytes on arrival. A log has no arrival times, so a replay uses
//! the log's own clock: the date of the last RMC or ZDA with the time of day of each sentence
//! (rolling over at midnight); before its first dated sentence, the first date found in the log
//! ([`first_date`]); sentences before the log's first time of day cannot be placed and are
//! skipped. A log without any date (plaka.log: GLL positions, ZDA with empty date fields) has
//! its times of day placed on the date `halyard replay --date` gives, else on the day the file
//! was last written, and says so in its log line: never on the time of the replay, which would
//! squeeze hours of sailing into the seconds the replay takes.

use std::sync::Arc;

use halyard_proto::nmea::{self, Date, LineFramer, Sentence, TimeOfDay};

use super::nav::Nav;
use crate::model::{Millis, Update};
use crate::telemetry::Telemetry;

const DAY: Millis = 86_400_000;

/// How a source's sentences are timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// When the bytes arrived (live sources): a valid fix's time may also stamp readings while
    /// the system clock is not synchronised ([`crate::clock`]).
    Arrival,
    /// The time a Halyard recording stamped on each record when it arrived: like `Arrival`, but
    /// past — the fixes in it say nothing about the clock now.
    Recorded,
    /// The log's own times, starting on this date when the log has one.
    Log(Option<Date>),
}

/// The first date an RMC or ZDA of a log gives.
pub fn first_date(bytes: &[u8]) -> Option<Date> {
    first_date_in(bytes).ok().flatten()
}

/// [`first_date`] of a stream, read a chunk at a time until the first date (a log may spend its
/// first megabytes without a fix, so its head alone is not enough).
pub fn first_date_in(mut input: impl std::io::Read) -> std::io::Result<Option<Date>> {
    let mut found = None;
    let mut framer = LineFramer::new();
    let mut buf = vec![0u8; 64 * 1024];
    while found.is_none() {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        framer.push_all(&buf[..n], |line| {
            if found.is_some() {
                return;
            }
            found = match line.and_then(nmea::parse).map(|p| p.sentence) {
                Ok(Sentence::Rmc(r)) => r.date,
                Ok(Sentence::Zda(z)) => z.date,
                _ => None,
            };
        });
    }
    Ok(found)
}

/// A log's own clock.
#[derive(Debug, Default)]
struct LogClock {
    date: Option<Date>,
    last_time: Option<TimeOfDay>,
    last: Option<Millis>,
}

impl LogClock {
    fn time_of(&mut self, sentence: &Sentence<'_>) -> Option<Millis> {
        let (time, date) = match sentence {
            Sentence::Rmc(r) => (r.time, r.date),
            Sentence::Zda(z) => (z.time, z.date),
            Sentence::Gga(g) => (g.time, None),
            Sentence::Gll(g) => (g.time, None),
            _ => (None, None),
        };
        if let Some(d) = date {
            self.date = Some(d);
        }
        if let (Some(t), Some(d)) = (time, self.date) {
            // Past midnight before the next dated sentence: the next day.
            let mut at = d.at(t);
            if let (Some(prev), None) = (self.last_time, date) {
                if t.0 + (DAY as u32) / 2 < prev.0 {
                    at += DAY;
                    self.date = Date::from_days(d.days_since_epoch() + 1);
                }
            }
            self.last_time = Some(t);
            self.last = Some(at);
        }
        self.last
    }
}

/// The time a live GPS gives: a valid RMC's, or a ZDA's (the receiver's clock), with its date.
fn gps_time(sentence: &Sentence<'_>) -> Option<Millis> {
    let (time, date) = match sentence {
        Sentence::Rmc(r) if r.valid => (r.time?, r.date?),
        Sentence::Zda(z) => (z.time?, z.date?),
        _ => return None,
    };
    Some(date.at(time))
}

/// One source's decoder.
pub struct NmeaDecoder {
    source: String,
    framer: LineFramer,
    clock: Option<LogClock>,
    /// Whether the bytes arrive now (their fixes may tell the time).
    live: bool,
    telemetry: Arc<Telemetry>,
}

impl NmeaDecoder {
    /// For the source named `source`, timed by `clock`.
    pub fn new(source: &str, clock: Clock, telemetry: Arc<Telemetry>) -> Self {
        let log = match clock {
            Clock::Arrival | Clock::Recorded => None,
            Clock::Log(date) => Some(LogClock { date, ..Default::default() }),
        };
        let live = clock == Clock::Arrival;
        NmeaDecoder { source: source.to_owned(), framer: LineFramer::new(), clock: log, live, telemetry }
    }

    /// Forget a partial line (the source reconnected).
    pub fn reset(&mut self) {
        self.framer.reset();
    }

    /// Bytes as received at `at`.
    pub fn feed(&mut self, at: Millis, bytes: &[u8], nav: &mut Nav, out: &mut Vec<Update>) {
        let (source, telemetry, clock, live) = (&self.source, &self.telemetry, &mut self.clock, self.live);
        self.framer.push_all(bytes, |line| {
            // gpsd's reports and a log's comment lines are not sentences, nor errors.
            if let Ok(l) = line {
                if matches!(l.first(), Some(b'{' | b'#')) {
                    return;
                }
            }
            telemetry.frame(source, at);
            match line.and_then(nmea::parse) {
                Ok(p) => {
                    let at = match clock.as_mut() {
                        None => {
                            if let Some(gps) = gps_time(&p.sentence).filter(|_| live) {
                                crate::clock::gps_time(gps);
                            }
                            at
                        }
                        Some(c) => match c.time_of(&p.sentence) {
                            Some(t) => t,
                            // A dated log, before its first time of day.
                            None if c.date.is_some() => return,
                            None => at,
                        },
                    };
                    out.extend(nav.observe(at, &p.sentence));
                }
                Err(e) => {
                    telemetry.inc("halyard_decode_errors_total", &[("source", source), ("kind", e.kind())]);
                    tracing::debug!("{source}: {e}");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_keeps_its_own_clock_and_invents_no_date() {
        let t = Arc::new(Telemetry::default());
        let mut nav = Nav::new();
        let mut out = Vec::new();
        let mut d = NmeaDecoder::new("log", Clock::Log(None), t.clone());
        // No date yet: the replay's own time.
        d.feed(5, b"$GPGLL,4317.00,N,00522.44,E,235959,A\r\n", &mut nav, &mut out);
        assert_eq!(out.last().unwrap().at, 5);
        d.feed(6, b"$GPRMC,235959,A,4317.00,N,00522.44,E,0.0,0.0,230626,,,A\r\n", &mut nav, &mut out);
        let midnight = Date { year: 2026, month: 6, day: 24 }.at(TimeOfDay(0));
        assert_eq!(out.last().unwrap().at, midnight - 1000);
        // Past midnight on a GGA: the next day.
        d.feed(
            7,
            b"$GPGGA,000001,4317.00,N,00522.44,E,1,08,0.9,1.0,M,,M,,\r\n# comment\r\n{\"class\":\"TPV\"}\r\n",
            &mut nav,
            &mut out,
        );
        assert_eq!(out.last().unwrap().at, midnight + 1000);
        assert_eq!(t.get("halyard_frames_total", &[("source", "log")]), 3.0, "comments and JSON are not frames");
        d.feed(8, b"$GPGGA,000001,4317.00,N*00\r\n", &mut nav, &mut out);
        assert_eq!(t.get("halyard_decode_errors_total", &[("source", "log"), ("kind", "checksum")]), 1.0);
        // With the log's first date found beforehand, the early lines are on that date too.
        let log = b"$WIMWV,045,T,10,N,A\r\n$GPGLL,4317.00,N,00522.44,E,120000,A\r\n$GPRMC,120001,A,4317.00,N,00522.44,E,0.0,0.0,230626,,,A\r\n";
        let date = first_date(log);
        assert_eq!(date, Some(Date { year: 2026, month: 6, day: 23 }));
        let mut d = NmeaDecoder::new("log2", Clock::Log(date), t.clone());
        out.clear();
        d.feed(5, log, &mut nav, &mut out);
        let noon = Date { year: 2026, month: 6, day: 23 }.at(TimeOfDay(43_200_000));
        assert_eq!(out.iter().map(|u| u.at).collect::<Vec<_>>(), [noon, noon + 1000], "no time before the first fix");
    }
}
