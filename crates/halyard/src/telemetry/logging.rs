//! Logs: human text on a terminal, journald under systemd (structured fields survive), JSON on
//! request; and warnings and errors forwarded to `<root>/log` and syslog, rate-limited.

use std::fmt::Write as _;

use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config;
use crate::model::Millis;

/// One warning or error for remote logging.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// When.
    pub at: Millis,
    /// `WARN` or `ERROR`.
    pub level: Level,
    /// The module that logged it.
    pub target: String,
    /// The message with its fields.
    pub message: String,
}

/// Forwards warnings and errors to a channel; never blocks the logging thread.
struct Forward {
    tx: mpsc::Sender<LogLine>,
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for Forward {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        if level > Level::WARN {
            return;
        }
        let mut m = Message(String::new());
        event.record(&mut m);
        // A full channel means the sink is behind; the rate limiter would drop these anyway.
        let _ = self.tx.try_send(LogLine {
            at: crate::ingest::now_ms(),
            level,
            target: event.metadata().target().to_owned(),
            message: m.0,
        });
    }
}

/// Install the global subscriber; returns the warnings-and-errors channel.
pub fn init(cfg: &config::Log) -> mpsc::Receiver<LogLine> {
    let (tx, rx) = mpsc::channel(256);
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{},rumqttd=off,rumqttc=warn,mdns_sd=warn", cfg.level)));
    let under_systemd = std::env::var_os("JOURNAL_STREAM").is_some();
    let format = match cfg.format.as_str() {
        "auto" if under_systemd => "journald",
        "auto" => "text",
        other => other,
    };
    let forward = Forward { tx };
    let registry = tracing_subscriber::registry().with(filter).with(forward);
    let result = match format {
        "journald" => match tracing_journald::layer() {
            Ok(j) => registry.with(j.with_syslog_identifier("halyard".into())).try_init(),
            Err(e) => {
                eprintln!("halyard: journald unavailable ({e}); logging to standard error");
                registry.with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)).try_init()
            }
        },
        "json" => registry.with(tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr)).try_init(),
        _ => {
            use std::io::IsTerminal;
            let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            registry.with(tracing_subscriber::fmt::layer().with_ansi(ansi).with_writer(std::io::stderr)).try_init()
        }
    };
    if let Err(e) = result {
        eprintln!("halyard: logging already initialised: {e}");
    }
    rx
}

/// At most `per_minute` lines per clock minute; the rest are counted and summarised.
#[derive(Debug)]
pub struct RateLimit {
    per_minute: u32,
    minute: i64,
    sent: u32,
    /// Lines withheld in the current minute.
    pub suppressed: u32,
}

impl RateLimit {
    /// A limiter.
    pub fn new(per_minute: u32) -> Self {
        RateLimit { per_minute, minute: i64::MIN, sent: 0, suppressed: 0 }
    }

    /// Whether a line at `at` may go out. On a new minute, returns how many were withheld in
    /// the previous one as the second value (to report once).
    pub fn admit(&mut self, at: Millis) -> (bool, u32) {
        let minute = at.div_euclid(60_000);
        let mut previous = 0;
        if minute != self.minute {
            previous = self.suppressed;
            self.minute = minute;
            self.sent = 0;
            self.suppressed = 0;
        }
        if self.sent < self.per_minute {
            self.sent += 1;
            (true, previous)
        } else {
            self.suppressed += 1;
            (false, previous)
        }
    }
}

/// An RFC 5424 syslog datagram (facility daemon).
pub fn syslog_datagram(line: &LogLine, host: &str) -> String {
    let severity = if line.level == Level::ERROR { 3 } else { 4 };
    let pri = 3 * 8 + severity;
    format!(
        "<{pri}>1 {} {host} halyard {} - - {}: {}",
        crate::sinks::mqtt::rfc3339(line.at),
        std::process::id(),
        line.target,
        line.message
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_per_minute() {
        let mut r = RateLimit::new(2);
        assert_eq!(r.admit(0), (true, 0));
        assert_eq!(r.admit(1), (true, 0));
        assert_eq!(r.admit(2), (false, 0));
        assert_eq!(r.admit(3), (false, 0));
        assert_eq!(r.admit(60_000), (true, 2));
    }

    #[test]
    fn syslog_line_shape() {
        let l = LogLine { at: 0, level: Level::WARN, target: "halyard::x".into(), message: "hello".into() };
        assert_eq!(
            syslog_datagram(&l, "boat"),
            format!("<28>1 1970-01-01T00:00:00.000Z boat halyard {} - - halyard::x: hello", std::process::id())
        );
    }
}
