//! A progress bar for long imports (`halyard replay` of a season), on standard error when it is
//! a terminal and silent otherwise (logs and pipes get the summary at the end instead).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Bytes done out of a known total, redrawn at most four times a second.
#[derive(Debug)]
pub struct Progress {
    total: u64,
    done: u64,
    records: u64,
    started: Instant,
    drawn: Option<Instant>,
    enabled: bool,
}

impl Progress {
    /// A bar for `total` bytes; drawn only when standard error is a terminal.
    pub fn new(total: u64) -> Self {
        Self::with(total, std::io::stderr().is_terminal())
    }

    fn with(total: u64, enabled: bool) -> Self {
        Progress { total: total.max(1), done: 0, records: 0, started: Instant::now(), drawn: None, enabled }
    }

    /// `bytes` more done, in `records` records.
    pub fn advance(&mut self, bytes: u64, records: u64) {
        self.done += bytes;
        self.records += records;
        if self.enabled && self.drawn.is_none_or(|d| d.elapsed() >= Duration::from_millis(250)) {
            self.drawn = Some(Instant::now());
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}", self.line());
            let _ = err.flush();
        }
    }

    /// The bar's text.
    fn line(&self) -> String {
        const WIDTH: usize = 30;
        let fraction = (self.done as f64 / self.total as f64).min(1.0);
        let filled = (fraction * WIDTH as f64).round() as usize;
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = self.records as f64 / secs;
        let eta = if fraction > 0.0 { secs * (1.0 - fraction) / fraction } else { f64::NAN };
        format!(
            "importing [{}{}] {:5.1} %  {} records  {:.0}/s  eta {}",
            "#".repeat(filled),
            ".".repeat(WIDTH - filled),
            fraction * 100.0,
            self.records,
            rate,
            if eta.is_finite() { format!("{:.0} s", eta) } else { "-".into() }
        )
    }

    /// Clear the bar.
    pub fn finish(&mut self) {
        if self.enabled && self.drawn.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}\r", " ".repeat(100));
            let _ = err.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_tracks_bytes_and_records() {
        let mut p = Progress::with(1_000, false);
        p.advance(250, 10);
        let line = p.line();
        assert!(line.contains("[########"), "{line}");
        assert!(line.contains(" 25.0 %"), "{line}");
        assert!(line.contains(" 10 records"), "{line}");
        p.advance(10_000, 1);
        assert!(p.line().contains("100.0 %"), "never past the end: {}", p.line());
    }
}
