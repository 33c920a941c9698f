//! Reconnect delays: exponential with a ceiling, reset after a connection that lasted — and cut
//! short when the peer comes back.
//!
//! A long outage grows the delay to its ceiling (30 s for the broker), so a plain backoff would
//! leave a returning broker or multiplexer unused for up to that long. While waiting, the peer is
//! looked at cheaply every [`PROBE_EVERY`] — a TCP connect that is closed at once, or whether a
//! serial device's node exists — and the wait ends on the *edge* from refusing to accepting. An
//! edge, not a level: a peer whose port is open but which refuses the session (a wrong MQTT
//! password, a gateway that drops the socket) keeps its growing delay instead of being hammered.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// How often a waiting reconnect looks at its peer.
pub const PROBE_EVERY: Duration = Duration::from_millis(500);

/// How long one look may take (an unreachable host does not answer a SYN at all).
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Exponential backoff from `initial` to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Start at `initial`, double each failure, never above `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff { initial, max, next: initial }
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    /// A connection worked: start again from the initial delay.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }

    /// Sleep the next delay, or less: until `peer`, seen down, is up again.
    pub async fn wait(&mut self, peer: Option<&Peer>) {
        let delay = self.next_delay();
        match peer {
            None => tokio::time::sleep(delay).await,
            Some(peer) => tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = peer.came_back() => {}
            },
        }
    }
}

/// What a reconnect can look at while it waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// `host:port` of a TCP server: up when it accepts a connection.
    Tcp(String),
    /// A device node (`/dev/ttyUSB0`, a by-id link): up when it exists again after an unplug.
    Device(String),
}

impl Peer {
    /// Whether the peer answers now.
    pub async fn is_up(&self) -> bool {
        match self {
            Peer::Tcp(addr) => {
                matches!(
                    tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(addr.as_str())).await,
                    Ok(Ok(_))
                )
            }
            Peer::Device(path) => std::path::Path::new(path).exists(),
        }
    }

    /// Resolves when the peer goes from down to up (never, while it stays up or stays down).
    pub async fn came_back(&self) {
        let mut seen_down = false;
        loop {
            let started = tokio::time::Instant::now();
            let up = self.is_up().await;
            if up && seen_down {
                return;
            }
            seen_down |= !up;
            tokio::time::sleep_until(started + PROBE_EVERY).await;
        }
    }
}

/// [`Peer::came_back`] in a task of its own, for a loop whose `select!` is woken by other work
/// many times a second (a probe started there would be cancelled before it could finish). The
/// task ends when this is dropped.
pub struct Watch {
    task: tokio::task::JoinHandle<()>,
    back: Arc<Notify>,
}

impl Watch {
    /// Start watching `peer`.
    pub fn new(peer: Peer) -> Watch {
        let back = Arc::new(Notify::new());
        let notify = back.clone();
        let task = tokio::spawn(async move {
            peer.came_back().await;
            notify.notify_one();
        });
        Watch { task, back }
    }

    /// Resolves once the peer has come back (cancel-safe: a return missed by one `select!`
    /// pass is kept for the next).
    pub async fn came_back(&self) {
        self.back.notified().await;
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_millis(250), Duration::from_secs(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_a_ceiling_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
        let delays: Vec<_> = (0..5).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        b.reset();
        assert_eq!(b.next_delay().as_millis(), 100);
    }

    /// A port that refuses, then accepts: the wait ends within a probe or two of its return,
    /// long before the 30 s delay.
    #[tokio::test]
    async fn a_wait_ends_when_the_port_comes_back() {
        let spare = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = spare.local_addr().unwrap();
        drop(spare);
        let peer = Peer::Tcp(addr.to_string());
        assert!(!peer.is_up().await);
        let mut b = Backoff::new(Duration::from_secs(30), Duration::from_secs(30));
        let started = std::time::Instant::now();
        let reopen = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1200)).await;
            tokio::net::TcpListener::bind(addr).await.unwrap()
        });
        b.wait(Some(&peer)).await;
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(1200), "woke before the port opened: {waited:?}");
        assert!(waited < Duration::from_secs(5), "waited {waited:?} for a port that came back after 1.2 s");
        drop(reopen.await.unwrap());
    }

    /// A port that never went away (the broker refuses the session, not the connection) does
    /// not cut the delay short.
    #[tokio::test]
    async fn a_port_that_stays_up_keeps_the_delay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = Peer::Tcp(listener.local_addr().unwrap().to_string());
        let mut b = Backoff::new(Duration::from_millis(1500), Duration::from_secs(30));
        let started = std::time::Instant::now();
        b.wait(Some(&peer)).await;
        assert!(started.elapsed() >= Duration::from_millis(1500));
    }

    /// A device node that reappears (a USB adapter plugged back in) ends the wait; the watch
    /// keeps the news for a `select!` that was not listening at that moment.
    #[tokio::test]
    async fn a_watch_sees_a_device_come_back() {
        let dir = std::env::temp_dir().join(format!("halyard-backoff-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let node = dir.join("ttyUSB0");
        let _ = std::fs::remove_file(&node);
        let watch = Watch::new(Peer::Device(node.to_string_lossy().into_owned()));
        tokio::time::sleep(Duration::from_millis(700)).await;
        std::fs::write(&node, b"").unwrap();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        tokio::time::timeout(Duration::from_millis(100), watch.came_back()).await.expect("the return was kept");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
