//! "Logged once per burst": the first error of a burst is logged, the rest are only counted, and
//! the count is reported when the next one is logged (DESIGN.md §6: never lose data silently, never
//! flood the log).

use std::time::{Duration, Instant};

/// A rate limiter for one kind of error.
#[derive(Debug)]
pub struct BurstLog {
    what: &'static str,
    quiet: Duration,
    last_logged: Option<Instant>,
    suppressed: u64,
}

impl BurstLog {
    /// Log at most once per `quiet` for `what`.
    pub fn new(what: &'static str, quiet: Duration) -> Self {
        BurstLog { what, quiet, last_logged: None, suppressed: 0 }
    }

    /// Report one occurrence; the message is built only when it will be printed.
    pub fn report(&mut self, now: Instant, message: impl FnOnce() -> String) {
        if self.last_logged.is_some_and(|t| now.duration_since(t) < self.quiet) {
            self.suppressed += 1;
            return;
        }
        let more = if self.suppressed > 0 {
            format!(" ({} more since the last report)", self.suppressed)
        } else {
            String::new()
        };
        let text = message();
        tracing::warn!("{}: {text}{more}", self.what);
        self.suppressed = 0;
        self.last_logged = Some(now);
    }

    /// Occurrences not printed since the last report.
    #[cfg(test)]
    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_the_first_of_a_burst_and_counts_the_rest() {
        let mut log = BurstLog::new("test", Duration::from_secs(10));
        let t0 = Instant::now();
        let mut built = 0;
        for i in 0..5 {
            log.report(t0 + Duration::from_millis(i), || {
                built += 1;
                "x".into()
            });
        }
        assert_eq!((built, log.suppressed()), (1, 4));
        log.report(t0 + Duration::from_secs(11), || "y".into());
        assert_eq!(log.suppressed(), 0);
    }
}
