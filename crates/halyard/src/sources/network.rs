//! The life of a source on the network (an ESPHome proxy, a GX's broker): open a session, run it,
//! count and log why it ended, wait with backoff — cut short when the peer comes back — and
//! open again, until told to stop. Each source writes only its session.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::backoff::{Backoff, Peer};
use crate::burst::BurstLog;
use crate::telemetry::Telemetry;

/// Why a session ended: a kind for `halyard_source_errors_total`, and words for the log.
#[derive(Debug)]
pub struct Ended {
    /// `wrong_key`, `refused`, `flood` …
    pub kind: &'static str,
    /// What happened and what to do about it.
    pub why: String,
}

/// What a session is given: the way to stop, and the link's state to report.
pub struct Link {
    /// Turns true when the gateway stops; the session then ends with `Ok`.
    pub stop: watch::Receiver<bool>,
    source: String,
    telemetry: Arc<Telemetry>,
    backoff: Backoff,
    opened_before: bool,
}

/// One session's run, borrowing only its link (the source clones what else it needs).
pub type Session<'a> = Pin<Box<dyn Future<Output = Result<(), Ended>> + Send + 'a>>;

impl Link {
    /// The session is open (counted as a reconnect after the first).
    pub fn opened(&mut self) {
        let labels = [("source", self.source.as_str())];
        if std::mem::replace(&mut self.opened_before, true) {
            self.telemetry.inc("halyard_source_reconnects_total", &labels);
        }
        self.telemetry.set("halyard_source_up", &labels, 1.0);
    }

    /// Data flows: the next failure starts the backoff from the beginning.
    pub fn delivering(&mut self) {
        self.backoff.reset();
    }
}

/// Run `session` until it ends with `Ok` (told to stop) or `stop` turns true.
pub async fn keep_open(
    source: &str,
    address: &str,
    telemetry: Arc<Telemetry>,
    stop: watch::Receiver<bool>,
    mut session: impl for<'a> FnMut(&'a mut Link) -> Session<'a>,
) {
    let labels = [("source", source)];
    let mut errors = BurstLog::new("source", Duration::from_secs(60));
    let peer = Peer::Tcp(address.to_owned());
    let mut link = Link {
        stop,
        source: source.to_owned(),
        telemetry: telemetry.clone(),
        backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(30)),
        opened_before: false,
    };
    loop {
        if *link.stop.borrow() {
            break;
        }
        let ended = session(&mut link).await;
        telemetry.set("halyard_source_up", &labels, 0.0);
        match ended {
            Ok(()) => break,
            Err(e) => {
                telemetry.inc("halyard_source_errors_total", &[("source", source), ("kind", e.kind)]);
                errors.report(Instant::now(), || format!("{source} ({address}): {}; reconnecting", e.why));
            }
        }
        tokio::select! {
            _ = link.stop.changed() => {}
            _ = link.backoff.wait(Some(&peer)) => {}
        }
    }
    telemetry.set("halyard_source_up", &labels, 0.0);
}
