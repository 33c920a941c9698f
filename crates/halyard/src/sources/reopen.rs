//! The life of every source: open a session, run it, count and log why it ended, wait with
//! backoff — cut short when the peer comes back — and open again, until told to stop. Serial
//! ports, CAN links, TCP and UDP streams, proxies and a GX all live this one way, so
//! `halyard_source_up`, `halyard_source_reconnects_total` and `halyard_source_errors_total` mean
//! the same for each; a source writes only its session:
//!
//! ```ignore
//! let mut reopen = Reopen::new(&name, spec.to_string(), telemetry, stop).peer(spec.peer());
//! while reopen.running() {
//!     let ended = session(&spec, &tx, &mut reopen).await; // opened(), delivering(), stop
//!     reopen.ended(ended).await;
//! }
//! ```

use std::fmt::Display;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::backoff::{Backoff, Peer};
use crate::burst::BurstLog;
use crate::telemetry::Telemetry;

/// Why a session ended: a kind for `halyard_source_errors_total`, and words for the log.
#[derive(Debug)]
pub struct Ended {
    /// `open`, `lost`, `wrong_key`, `refused`, `flood` …
    pub kind: &'static str,
    /// What happened and what to do about it.
    pub why: String,
}

impl Ended {
    /// The device or connection could not be opened (with what to do about a serial port's
    /// permissions or absence).
    pub fn open(e: impl Display) -> Ended {
        Ended { kind: "open", why: format!("cannot open: {e}{}", super::open_hint(&e)) }
    }

    /// An open session failed or its peer went away.
    pub fn lost(e: impl Display) -> Ended {
        Ended { kind: "lost", why: format!("lost ({e})") }
    }
}

/// One source's sessions: the way to stop, the link's state to report, the wait between tries.
pub struct Reopen {
    /// Turns true when the gateway stops; a session then ends with `Ok`.
    pub stop: watch::Receiver<bool>,
    source: String,
    shown: String,
    telemetry: Arc<Telemetry>,
    backoff: Backoff,
    peer: Option<Peer>,
    errors: BurstLog,
    opened_before: bool,
    finished: bool,
}

impl Reopen {
    /// The sessions of `source` (its label in the counters), named `shown` in the log; retried
    /// from 250 ms up to every 10 s unless [`Reopen::backoff`] says otherwise.
    pub fn new(source: &str, shown: String, telemetry: Arc<Telemetry>, stop: watch::Receiver<bool>) -> Reopen {
        Reopen {
            stop,
            source: source.to_owned(),
            shown,
            telemetry,
            backoff: Backoff::new(Duration::from_millis(250), Duration::from_secs(10)),
            peer: None,
            errors: BurstLog::new("source", Duration::from_secs(60)),
            opened_before: false,
            finished: false,
        }
    }

    /// Waits between tries from `initial`, doubling up to `max`.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Reopen {
        self.backoff = Backoff::new(initial, max);
        self
    }

    /// What a wait looks at to end early: the peer coming back ([`Peer::came_back`]).
    pub fn peer(mut self, peer: Option<Peer>) -> Reopen {
        self.peer = peer;
        self
    }

    /// Whether to open (another) session: not told to stop, and no session ended with `Ok`.
    pub fn running(&self) -> bool {
        !self.finished && !*self.stop.borrow()
    }

    /// The session is open (counted as a reconnect after the first); `true` the first time.
    pub fn opened(&mut self) -> bool {
        let labels = [("source", self.source.as_str())];
        let again = std::mem::replace(&mut self.opened_before, true);
        if again {
            self.telemetry.inc("halyard_source_reconnects_total", &labels);
        }
        self.telemetry.set("halyard_source_up", &labels, 1.0);
        !again
    }

    /// Data flows: the next failure starts the backoff from the beginning.
    pub fn delivering(&mut self) {
        self.backoff.reset();
    }

    /// A session ended: `Ok` (told to stop, or the pipeline is gone) ends the source; an error
    /// is counted by kind, logged once per burst, and waited on before the next try.
    pub async fn ended(&mut self, session: Result<(), Ended>) {
        self.telemetry.set("halyard_source_up", &[("source", self.source.as_str())], 0.0);
        let e = match session {
            Ok(()) => {
                self.finished = true;
                return;
            }
            Err(e) => e,
        };
        self.telemetry.inc("halyard_source_errors_total", &[("source", self.source.as_str()), ("kind", e.kind)]);
        let shown = &self.shown;
        self.errors.report(Instant::now(), || format!("{shown}: {}; reconnecting", e.why));
        tokio::select! {
            _ = self.stop.changed() => {}
            _ = self.backoff.wait(self.peer.as_ref()) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_reconnects_and_errors_and_stops_on_ok() {
        let telemetry = Arc::new(Telemetry::default());
        let (stop_tx, stop) = watch::channel(false);
        let mut reopen = Reopen::new("ttyX", "/dev/ttyX".into(), telemetry.clone(), stop)
            .backoff(Duration::from_millis(1), Duration::from_millis(2));
        let labels = [("source", "ttyX")];
        assert!(reopen.running());
        reopen.ended(Err(Ended::open("No such file or directory"))).await;
        assert!(reopen.opened(), "the first opening");
        assert_eq!(telemetry.get("halyard_source_up", &labels), 1.0);
        reopen.ended(Err(Ended::lost("end of stream"))).await;
        assert_eq!(telemetry.get("halyard_source_up", &labels), 0.0);
        assert!(!reopen.opened(), "a reconnect");
        assert_eq!(telemetry.get("halyard_source_reconnects_total", &labels), 1.0);
        assert_eq!(telemetry.get("halyard_source_errors_total", &[("source", "ttyX"), ("kind", "open")]), 1.0);
        assert_eq!(telemetry.get("halyard_source_errors_total", &[("source", "ttyX"), ("kind", "lost")]), 1.0);
        reopen.ended(Ok(())).await;
        assert!(!reopen.running(), "Ok ends the source");

        let mut told = Reopen::new("b", "b".into(), telemetry, stop_tx.subscribe())
            .backoff(Duration::from_secs(3600), Duration::from_secs(3600));
        stop_tx.send(true).unwrap();
        assert!(!told.running(), "told to stop");
        // The stop cuts the hour's wait short (else this test would not end).
        told.ended(Err(Ended::lost("x"))).await;
    }
}
