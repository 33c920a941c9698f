//! The MQTT sink: model changes become messages in the on-disk outbox, and one connection
//! publishes them oldest first, removing each only when the broker has acknowledged it. A broker
//! outage therefore delays messages and loses none; a message whose acknowledgement was lost in
//! the outage can arrive twice (QoS 1 is "at least once").
//!
//! The same connection carries `<root>/status` (retained `online`, `offline` as last will),
//! warnings and errors on `<root>/log`, the clock for ESP32 nodes on `<root>/clock` (Unix ms,
//! every minute), and the MQTT-in subscriptions.

pub mod alarms;
pub mod discovery;
pub mod endpoint;
pub mod topics;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use rumqttc::{AsyncClient, ConnectionError, Event, EventLoop, Incoming, LastWill, MqttOptions, Outgoing, QoS};
use tokio::sync::mpsc;

pub use endpoint::Endpoint;
pub use topics::rfc3339;

use crate::burst::BurstLog;
use crate::config;
use crate::ingest::Input;
use crate::model::Change;
use crate::sinks::outbox::{self, Outbox};
use crate::sources::backoff::{Backoff, Watch};
use crate::telemetry::logging::{syslog_datagram, LogLine, RateLimit};
use crate::telemetry::Telemetry;

/// Messages sent and not yet acknowledged, at most.
const WINDOW: usize = 100;
/// Marks a publish that is not from the outbox (status, log lines, clock).
const NOT_QUEUED: u64 = u64::MAX;
/// How often the gateway publishes its clock for the nodes.
const CLOCK_EVERY: Duration = Duration::from_secs(60);

/// The time for ESP32 nodes that have no other: `<root>/clock`, Unix ms, not retained (a
/// retained time would be stale), on connecting and every minute.
fn publish_clock(c: &mut Connection, root: &str) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    if c.client.try_publish(format!("{root}/clock"), QoS::AtMostOnce, false, now.to_string()).is_ok() {
        c.fifo.push_back(NOT_QUEUED);
    }
}

fn qos(q: u8) -> QoS {
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// Everything the sink needs besides its channels.
pub struct Sink {
    /// The `[mqtt]` settings.
    pub settings: config::Mqtt,
    /// Where to connect.
    pub endpoint: Endpoint,
    /// MQTT client id (two clients with one id would keep disconnecting each other).
    pub client_id: String,
    /// The outbox.
    pub outbox: Outbox,
    /// Counters.
    pub telemetry: Arc<Telemetry>,
    /// MQTT-in: where received raw-topic messages go.
    pub to_model: Option<mpsc::Sender<Input>>,
    /// MQTT-in: the topic filters to subscribe to.
    pub in_topics: Vec<String>,
    /// How long to keep trying to deliver the outbox after the input ends.
    pub drain_timeout: Duration,
    /// Own `<root>/status` (online, offline, last will). A replay leaves it to the gateway.
    pub status: bool,
    /// Print each message on standard output as it is queued (`halyard replay --print`).
    pub print: bool,
    /// Stop taking changes while this many messages wait (replays and the demo: their input can
    /// wait, so nothing is dropped); `None` for live input, which the outbox's bound absorbs.
    pub backpressure: Option<usize>,
}

struct Connection {
    client: AsyncClient,
    events: mpsc::Receiver<Result<Event, ConnectionError>>,
    task: tokio::task::JoinHandle<()>,
    connected: bool,
    /// Outbox sequence numbers of publishes handed to the client, in order.
    fifo: VecDeque<u64>,
    /// Packet id → outbox sequence number, awaiting the broker's acknowledgement.
    by_pkid: HashMap<u16, u64>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A client's options for `endpoint` with the `[mqtt]` credentials and TLS: the sink's, and the
/// commands' that talk to a running daemon (`halyard anchor`).
pub fn client_options(s: &config::Mqtt, endpoint: &Endpoint, client_id: &str) -> Result<MqttOptions> {
    let mut o = MqttOptions::new(client_id, endpoint.host.clone(), endpoint.port);
    o.set_keep_alive(Duration::from_secs(s.keep_alive_seconds.max(5)));
    o.set_clean_session(true);
    o.set_max_packet_size(1 << 20, 1 << 20);
    let user = s.username.clone().or_else(|| endpoint.username.clone());
    let password = match (&s.password, &s.password_file) {
        (Some(p), _) => Some(p.0.clone()),
        (None, Some(path)) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("mqtt.password_file {}: {e}", path.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
        ),
        (None, None) => None,
    };
    if let Some(user) = user {
        o.set_credentials(user, password.unwrap_or_default());
    }
    if endpoint.tls {
        endpoint::set_tls(&mut o, s.ca_file.as_deref())?;
    }
    Ok(o)
}

impl Sink {
    fn options(&self) -> Result<MqttOptions> {
        let mut o = client_options(&self.settings, &self.endpoint, &self.client_id)?;
        o.set_request_channel_capacity(4 * WINDOW + 64);
        o.set_inflight(WINDOW as u16);
        if self.status {
            o.set_last_will(LastWill::new(format!("{}/status", self.settings.root), "offline", QoS::AtLeastOnce, true));
        }
        Ok(o)
    }

    fn connect(&self) -> Result<Connection> {
        let (client, eventloop) = AsyncClient::new(self.options()?, 4 * WINDOW + 64);
        let (tx, events) = mpsc::channel(1024);
        let task = tokio::spawn(pump(eventloop, tx));
        Ok(Connection { client, events, task, connected: false, fifo: VecDeque::new(), by_pkid: HashMap::new() })
    }

    /// Run until `changes` closes and the outbox is delivered (or `drain_timeout` passes).
    pub async fn run(
        mut self,
        mut changes: mpsc::Receiver<Arc<Change>>,
        mut logs: Option<mpsc::Receiver<LogLine>>,
        mut extra: Option<mpsc::Receiver<outbox::Message>>,
    ) -> Result<()> {
        let mut backoff = Backoff::default();
        let mut retry_at = Instant::now();
        let mut conn: Option<Connection> = None;
        // While disconnected, the broker's port is watched so that its return is used within a
        // probe (0.5 s) rather than at the end of a backoff grown to 30 s.
        let mut watch: Option<Watch> = None;
        let mut errors = BurstLog::new("mqtt", Duration::from_secs(30));
        let mut rate = RateLimit::new(self.settings.log_lines_per_minute);
        let syslog = match &self.settings.syslog {
            Some(url) => Some(endpoint::syslog_socket(url).await?),
            None => None,
        };
        let hostname = crate::hostname();
        let mut published_raw: HashMap<String, Vec<u8>> = HashMap::new();
        // Every discovery config sent, sent again when Home Assistant says it is back online
        // (its birth message): a broker without persistence forgets retained messages.
        let mut discovered: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
        let mut sync = tokio::time::interval(Duration::from_secs(1));
        let mut clock = tokio::time::interval(CLOCK_EVERY);
        let mut input_open = true;
        let mut drain_deadline: Option<Instant> = None;
        tracing::info!("mqtt: publishing to {}", self.endpoint);
        loop {
            if conn.is_none() && Instant::now() >= retry_at {
                match self.connect() {
                    Ok(c) => {
                        conn = Some(c);
                        watch = None;
                    }
                    Err(e) => {
                        errors.report(Instant::now(), || format!("{e:#}"));
                        retry_at = Instant::now() + backoff.next_delay();
                    }
                }
            }
            if let Some(c) = conn.as_mut().filter(|c| c.connected) {
                while self.outbox.in_flight() < WINDOW {
                    let Some((seq, m)) = self.outbox.next_unsent() else { break };
                    if self.to_model.is_some() && self.settings.raw_topics.allows(&m.topic) {
                        published_raw.insert(m.topic.clone(), m.payload.clone());
                    }
                    if c.client.try_publish(m.topic, qos(m.qos), m.retain, m.payload).is_err() {
                        self.outbox.rewind();
                        break;
                    }
                    c.fifo.push_back(seq);
                }
            }
            // Done when the changes and the extra messages (reports, statistics) have ended and
            // everything is delivered (or the drain time is up).
            let finished = !input_open
                && extra.is_none()
                && (self.outbox.is_empty() || drain_deadline.is_some_and(|d| Instant::now() >= d));
            if finished {
                break;
            }
            let retry_sleep = tokio::time::sleep_until(retry_at.max(Instant::now() + Duration::from_millis(1)).into());
            tokio::select! {
                event = async { match conn.as_mut() { Some(c) => c.events.recv().await, None => std::future::pending().await } } => {
                    let c = conn.as_mut().expect("an event needs a connection");
                    match event {
                        Some(Ok(e)) => self.event(c, e, &mut backoff, &published_raw, &discovered).await,
                        Some(Err(e)) => {
                            let was = c.connected;
                            self.telemetry.set("halyard_mqtt_connected", &[], 0.0);
                            let text = describe(&e);
                            if was {
                                tracing::warn!("mqtt: connection to {} lost: {text}", self.endpoint);
                            } else {
                                errors.report(Instant::now(), || format!("cannot connect to {}: {text}", self.endpoint));
                            }
                            conn = None;
                            self.outbox.rewind();
                            retry_at = Instant::now() + backoff.next_delay();
                            watch = Some(Watch::new(self.endpoint.peer()));
                        }
                        None => {
                            conn = None;
                            self.outbox.rewind();
                            retry_at = Instant::now() + backoff.next_delay();
                            watch = Some(Watch::new(self.endpoint.peer()));
                        }
                    }
                }
                change = changes.recv(), if input_open && self.backpressure.is_none_or(|limit| self.outbox.len() < limit) => match change {
                    Some(change) => {
                        for m in discovery::messages(&change, &self.settings).into_iter().chain(topics::messages(&change, &self.settings)) {
                            self.queue(m, &mut discovered);
                        }
                    }
                    None => {
                        input_open = false;
                        drain_deadline = Some(Instant::now() + self.drain_timeout);
                    }
                },
                m = async { match extra.as_mut() { Some(x) => x.recv().await, None => std::future::pending().await } } => {
                    match m {
                        Some(m) => self.queue(m, &mut discovered),
                        None => extra = None,
                    }
                }
                line = async { match logs.as_mut() { Some(l) => l.recv().await, None => std::future::pending().await } } => {
                    let Some(line) = line else { logs = None; continue };
                    // Our own errors about the broker are not sent to the broker.
                    if line.target.contains("sinks::mqtt") {
                        continue;
                    }
                    let (admit, withheld) = rate.admit(line.at);
                    if withheld > 0 {
                        self.telemetry.add("halyard_log_lines_suppressed_total", &[], f64::from(withheld));
                    }
                    if !admit {
                        continue;
                    }
                    if let Some((sock, addr)) = &syslog {
                        let _ = sock.send_to(syslog_datagram(&line, &hostname).as_bytes(), addr).await;
                    }
                    if self.settings.log_topic {
                        if let Some(c) = conn.as_mut().filter(|c| c.connected) {
                            let text = format!("{} {} {}: {}", rfc3339(line.at), line.level, line.target, line.message);
                            if c.client.try_publish(format!("{}/log", self.settings.root), QoS::AtMostOnce, false, text).is_ok() {
                                c.fifo.push_back(NOT_QUEUED);
                            }
                        }
                    }
                }
                _ = retry_sleep, if conn.is_none() => {}
                _ = async { match &watch { Some(w) => w.came_back().await, None => std::future::pending().await } }, if conn.is_none() => {
                    tracing::info!("mqtt: {} is accepting connections again", self.endpoint);
                    watch = None;
                    retry_at = Instant::now();
                }
                _ = clock.tick(), if self.status => {
                    if let Some(c) = conn.as_mut().filter(|c| c.connected) {
                        publish_clock(c, &self.settings.root);
                    }
                }
                _ = sync.tick() => {
                    if let Err(e) = self.outbox.sync() {
                        errors.report(Instant::now(), || format!("outbox: {e}"));
                    }
                    self.telemetry.set("halyard_mqtt_outbox_depth", &[], self.outbox.len() as f64);
                    self.telemetry.set("halyard_mqtt_dropped_total", &[], self.outbox.dropped as f64);
                }
            }
        }
        self.telemetry.set("halyard_mqtt_outbox_depth", &[], self.outbox.len() as f64);
        if let Err(e) = self.outbox.sync() {
            tracing::error!("mqtt outbox: {e}");
        }
        if !self.outbox.is_empty() {
            tracing::warn!(
                "mqtt: {} messages not delivered yet; they stay in the outbox for the next start",
                self.outbox.len()
            );
        }
        if let Some(mut c) = conn.filter(|c| c.connected) {
            if self.status {
                let _ =
                    c.client.try_publish(format!("{}/status", self.settings.root), QoS::AtLeastOnce, true, "offline");
            }
            let _ = c.client.try_disconnect();
            let deadline = tokio::time::sleep(Duration::from_secs(2));
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    _ = &mut deadline => break,
                    e = c.events.recv() => match e {
                        Some(Ok(Event::Outgoing(Outgoing::Disconnect))) | Some(Err(_)) | None => break,
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Queue a message for the broker: printed first when asked (`replay --print`), kept when it
    /// is a discovery config (sent again on Home Assistant's birth).
    fn queue(&mut self, m: outbox::Message, discovered: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        if self.print {
            use std::io::Write;
            // A closed pipe (`| head`) only stops the printing.
            let _ = writeln!(std::io::stdout().lock(), "{} {}", m.topic, String::from_utf8_lossy(&m.payload));
        }
        if self.is_discovery(&m.topic) {
            discovered.insert(m.topic.clone(), m.payload.clone());
        }
        self.outbox.push(m);
    }

    /// Whether this sink follows Home Assistant's status: it owns the gateway's status and
    /// discovery is on.
    fn follows_home_assistant(&self) -> bool {
        self.status && self.settings.home_assistant && self.settings.named_topics
    }

    /// Home Assistant's birth and last will topic (`<discovery prefix>/status`), when followed.
    fn home_assistant_status(&self) -> Option<String> {
        self.follows_home_assistant().then(|| format!("{}/status", self.settings.discovery_prefix))
    }

    /// Whether a message is a discovery config (kept to be sent again on Home Assistant's birth).
    fn is_discovery(&self, topic: &str) -> bool {
        self.follows_home_assistant()
            && topic.strip_prefix(self.settings.discovery_prefix.as_str()).is_some_and(|t| t.starts_with('/'))
            && topic.ends_with("/config")
    }

    async fn event(
        &mut self,
        c: &mut Connection,
        event: Event,
        backoff: &mut Backoff,
        published_raw: &HashMap<String, Vec<u8>>,
        discovered: &std::collections::BTreeMap<String, Vec<u8>>,
    ) {
        match event {
            Event::Incoming(Incoming::ConnAck(_)) => {
                c.connected = true;
                backoff.reset();
                self.outbox.rewind();
                self.telemetry.set("halyard_mqtt_connected", &[], 1.0);
                tracing::info!("mqtt: connected to {}", self.endpoint);
                // Subscribed before `online` goes out: the broker takes a connection's packets
                // in order, so whoever waits for `online` to send Halyard something (a node
                // proxy, a test) is heard.
                if self.to_model.is_some() {
                    for filter in &self.in_topics {
                        let _ = c.client.try_subscribe(filter.clone(), QoS::AtLeastOnce);
                    }
                }
                if let Some(topic) = self.home_assistant_status() {
                    let _ = c.client.try_subscribe(topic, QoS::AtLeastOnce);
                }
                let status = format!("{}/status", self.settings.root);
                if self.status && c.client.try_publish(status, QoS::AtLeastOnce, true, "online").is_ok() {
                    c.fifo.push_back(NOT_QUEUED);
                }
                if self.status {
                    publish_clock(c, &self.settings.root);
                }
            }
            Event::Outgoing(Outgoing::Publish(pkid)) => {
                let seq = c.fifo.pop_front().unwrap_or(NOT_QUEUED);
                if seq == NOT_QUEUED {
                    return;
                }
                if pkid == 0 {
                    self.delivered(seq);
                } else {
                    c.by_pkid.insert(pkid, seq);
                }
            }
            Event::Incoming(Incoming::PubAck(ack)) => {
                if let Some(seq) = c.by_pkid.remove(&ack.pkid) {
                    self.delivered(seq);
                }
            }
            Event::Incoming(Incoming::PubComp(comp)) => {
                if let Some(seq) = c.by_pkid.remove(&comp.pkid) {
                    self.delivered(seq);
                }
            }
            Event::Incoming(Incoming::Publish(p)) => {
                if self.home_assistant_status().is_some_and(|t| t == p.topic) {
                    // Retained "online" arrives on every connection too: sending the configs
                    // again then costs little and covers a broker that lost them.
                    if p.payload.as_ref() == b"online" {
                        tracing::info!(
                            "mqtt: Home Assistant is online; discovery sent again ({} sensors)",
                            discovered.len()
                        );
                        for (topic, payload) in discovered {
                            let m = outbox::Message {
                                topic: topic.clone(),
                                payload: payload.clone(),
                                retain: true,
                                qos: self.settings.qos,
                            };
                            self.outbox.push(m);
                        }
                    }
                    return;
                }
                if published_raw.get(&p.topic).is_some_and(|last| *last == p.payload) {
                    return; // our own raw topic coming back
                }
                if let Some(tx) = &self.to_model {
                    let input = Input::Mqtt {
                        at: crate::ingest::now_ms(),
                        topic: p.topic.clone(),
                        payload: p.payload.to_vec(),
                    };
                    let _ = tx.send(input).await;
                }
            }
            _ => {}
        }
    }

    fn delivered(&mut self, seq: u64) {
        if self.outbox.ack(seq) {
            self.telemetry.inc("halyard_mqtt_publishes_total", &[]);
        }
    }
}

/// Drive one connection's event loop; stops at its first error.
async fn pump(mut eventloop: EventLoop, tx: mpsc::Sender<Result<Event, ConnectionError>>) {
    loop {
        let r = eventloop.poll().await;
        let stop = r.is_err();
        if tx.send(r).await.is_err() || stop {
            break;
        }
    }
}

fn describe(e: &ConnectionError) -> String {
    use rumqttc::ConnectReturnCode as C;
    match e {
        ConnectionError::ConnectionRefused(C::BadUserNamePassword | C::NotAuthorized) => {
            "the broker refused the credentials (check mqtt.username and the password)".into()
        }
        other => other.to_string(),
    }
}
