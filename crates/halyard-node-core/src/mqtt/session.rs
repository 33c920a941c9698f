//! The node's MQTT session as a state machine without I/O: bytes from the broker and the time go
//! in, bytes for the broker and events come out. The firmware feeds it from an embassy-net TCP
//! socket, the host tests from a `std::net::TcpStream` to a real Mosquitto.
//!
//! - Last will `<root>/status` = `offline` (retained, QoS 1); `online` published on connecting.
//! - QoS 1 messages stay in flight until their PUBACK and are sent again (DUP) after
//!   [`RESEND_MS`] or on a new connection; at most [`MAX_IN_FLIGHT`] (a full window is reported,
//!   the caller keeps or drops the message: the node's RAM is small).
//! - PINGREQ when nothing was sent for the keep-alive; the connection is declared dead when no
//!   PINGRESP (or anything) came back within half a keep-alive more.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::codec::{self, Connect, DecodeError, Incoming, Message};

/// A QoS 1 message unanswered for this long is sent again.
pub const RESEND_MS: u64 = 10_000;
/// QoS 1 messages in flight at most.
pub const MAX_IN_FLIGHT: usize = 16;
/// The packet id of the one SUBSCRIBE a session sends.
const SUBSCRIBE_ID: u16 = 0xFFFF;

/// What the session tells its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The broker accepted us.
    Connected {
        /// It kept our earlier session.
        session_present: bool,
    },
    /// The broker refused us (CONNACK code).
    Refused(u8),
    /// A message on one of our subscriptions.
    Message(Message),
    /// A QoS 1 message of ours arrived.
    Delivered(u16),
    /// The broker granted our subscriptions (QoS per filter, 0x80 refused).
    Subscribed(Vec<u8>),
    /// Nothing came back for too long: reconnect.
    TimedOut,
    /// The broker sent bytes that are not MQTT: reconnect.
    ProtocolError(DecodeError),
}

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishError {
    /// Not connected yet.
    NotConnected,
    /// [`MAX_IN_FLIGHT`] QoS 1 messages await their PUBACK.
    WindowFull,
}

/// Session options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Client id.
    pub client_id: String,
    /// Topic root (`halyard`): the will goes to `<root>/status`.
    pub root: String,
    /// Keep-alive, s.
    pub keep_alive_s: u16,
    /// User name and password.
    pub credentials: Option<(String, String)>,
    /// Topic filters to subscribe to once connected (configuration, OTA).
    pub subscriptions: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Connecting,
    Connected,
}

struct InFlight {
    id: u16,
    sent_at: u64,
    topic: String,
    payload: Vec<u8>,
    retain: bool,
}

/// The session.
pub struct Session {
    options: Options,
    state: State,
    out: Vec<u8>,
    rx: Vec<u8>,
    next_id: u16,
    in_flight: VecDeque<InFlight>,
    last_sent: u64,
    last_heard: u64,
    ping_sent: Option<u64>,
}

impl Session {
    /// A session that is not connected.
    pub fn new(options: Options) -> Self {
        Session {
            options,
            state: State::Idle,
            out: Vec::new(),
            rx: Vec::new(),
            next_id: 1,
            in_flight: VecDeque::new(),
            last_sent: 0,
            last_heard: 0,
            ping_sent: None,
        }
    }

    /// `<root>/status`.
    pub fn status_topic(&self) -> String {
        format!("{}/status", self.options.root)
    }

    /// A new TCP connection: queue CONNECT (with the will).
    pub fn connect(&mut self, now: u64) {
        self.rx.clear();
        self.out.clear();
        let will = self.status_topic();
        let credentials = self.options.credentials.clone();
        codec::connect(
            &mut self.out,
            &Connect {
                client_id: &self.options.client_id,
                keep_alive: self.options.keep_alive_s,
                clean_session: true,
                will: Some((&will, b"offline", 1, true)),
                username: credentials.as_ref().map(|c| c.0.as_str()),
                password: credentials.as_ref().map(|c| c.1.as_bytes()),
            },
        );
        self.state = State::Connecting;
        self.last_sent = now;
        self.last_heard = now;
        self.ping_sent = None;
    }

    /// Connected and accepted.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// QoS 1 messages awaiting their PUBACK.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Bytes to write to the socket (then cleared).
    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.out)
    }

    /// Queue a message; QoS 1 returns its packet id.
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: u8,
        retain: bool,
        now: u64,
    ) -> Result<Option<u16>, PublishError> {
        if self.state != State::Connected {
            return Err(PublishError::NotConnected);
        }
        if qos == 0 {
            codec::publish(&mut self.out, topic, payload, 0, retain, false, 0);
            self.last_sent = now;
            return Ok(None);
        }
        if self.in_flight.len() >= MAX_IN_FLIGHT {
            return Err(PublishError::WindowFull);
        }
        let id = self.next_id;
        // 0xFFFF is the SUBSCRIBE's id: publish ids stay below it.
        self.next_id = if self.next_id >= SUBSCRIBE_ID - 1 { 1 } else { self.next_id + 1 };
        codec::publish(&mut self.out, topic, payload, 1, retain, false, id);
        self.in_flight.push_back(InFlight { id, sent_at: now, topic: topic.into(), payload: payload.to_vec(), retain });
        self.last_sent = now;
        Ok(Some(id))
    }

    /// Bytes from the broker.
    pub fn receive(&mut self, bytes: &[u8], now: u64, events: &mut Vec<Event>) {
        self.rx.extend_from_slice(bytes);
        self.last_heard = now;
        loop {
            match codec::decode(&self.rx) {
                Ok(None) => break,
                Ok(Some((packet, used))) => {
                    self.rx.drain(..used);
                    self.handle(packet, now, events);
                }
                Err(e) => {
                    self.rx.clear();
                    self.state = State::Idle;
                    events.push(Event::ProtocolError(e));
                    break;
                }
            }
        }
    }

    fn handle(&mut self, packet: Incoming, now: u64, events: &mut Vec<Event>) {
        match packet {
            Incoming::ConnAck { code: 0, session_present } => {
                self.state = State::Connected;
                let status = self.status_topic();
                codec::publish(&mut self.out, &status, b"online", 0, true, false, 0);
                if !self.options.subscriptions.is_empty() {
                    let filters: Vec<(&str, u8)> = self.options.subscriptions.iter().map(|s| (s.as_str(), 1)).collect();
                    codec::subscribe(&mut self.out, SUBSCRIBE_ID, &filters);
                }
                // What was in flight when the last connection dropped goes again.
                for m in &mut self.in_flight {
                    codec::publish(&mut self.out, &m.topic, &m.payload, 1, m.retain, true, m.id);
                    m.sent_at = now;
                }
                self.last_sent = now;
                events.push(Event::Connected { session_present });
            }
            Incoming::ConnAck { code, .. } => {
                self.state = State::Idle;
                events.push(Event::Refused(code));
            }
            Incoming::Publish(m) => {
                if let (1, Some(id)) = (m.qos, m.id) {
                    codec::puback(&mut self.out, id);
                }
                events.push(Event::Message(m));
            }
            Incoming::PubAck(id) => {
                if let Some(i) = self.in_flight.iter().position(|m| m.id == id) {
                    self.in_flight.remove(i);
                    events.push(Event::Delivered(id));
                }
            }
            Incoming::SubAck { granted, .. } => events.push(Event::Subscribed(granted)),
            Incoming::PingResp => self.ping_sent = None,
        }
    }

    /// Timers: keep-alive pings, resends, the dead-connection check. Call every second or so.
    pub fn poll(&mut self, now: u64, events: &mut Vec<Event>) {
        if self.state == State::Idle {
            return;
        }
        let keep_alive = u64::from(self.options.keep_alive_s) * 1000;
        if now.saturating_sub(self.last_heard) > keep_alive + keep_alive / 2 {
            self.state = State::Idle;
            events.push(Event::TimedOut);
            return;
        }
        if self.state != State::Connected {
            return;
        }
        for m in &mut self.in_flight {
            if now.saturating_sub(m.sent_at) >= RESEND_MS {
                codec::publish(&mut self.out, &m.topic, &m.payload, 1, m.retain, true, m.id);
                m.sent_at = now;
                self.last_sent = now;
            }
        }
        // Ping when we have been quiet (the broker's keep-alive), and also when the broker has
        // (QoS 0 traffic gets no answers: without a ping the link would look dead).
        let quiet = now.saturating_sub(self.last_sent).max(now.saturating_sub(self.last_heard));
        if self.ping_sent.is_none() && quiet >= keep_alive {
            codec::pingreq(&mut self.out);
            self.ping_sent = Some(now);
            self.last_sent = now;
        }
    }

    /// A clean goodbye: `offline` on the status topic, then DISCONNECT (no will).
    pub fn disconnect(&mut self) {
        if self.state == State::Connected {
            let status = self.status_topic();
            codec::publish(&mut self.out, &status, b"offline", 0, true, false, 0);
            codec::disconnect(&mut self.out);
        }
        self.state = State::Idle;
    }

    /// The connection dropped (the session keeps what is in flight for the next one).
    pub fn dropped(&mut self) {
        self.state = State::Idle;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connected(keep_alive_s: u16) -> Session {
        let mut s = Session::new(Options {
            client_id: "t".into(),
            root: "h".into(),
            keep_alive_s,
            credentials: None,
            subscriptions: alloc::vec![],
        });
        s.connect(0);
        let mut e = Vec::new();
        s.receive(&[0x20, 2, 0, 0], 0, &mut e);
        assert!(s.is_connected());
        s.take_output();
        s
    }

    /// A node publishing QoS 0 all the time hears nothing back; it still pings, and a broker
    /// that answers keeps the session alive.
    #[test]
    fn busy_qos0_publisher_pings_and_stays_up() {
        let mut s = connected(10);
        let mut events = Vec::new();
        for t in (0..60_000).step_by(500) {
            s.publish("h/x", b"1", 0, false, t).unwrap();
            s.poll(t, &mut events);
            let out = s.take_output();
            if out.windows(2).any(|w| w == [0xC0, 0]) {
                s.receive(&[0xD0, 0], t + 20, &mut events); // PINGRESP
            }
        }
        assert!(!events.contains(&Event::TimedOut), "{events:?}");
        assert!(s.is_connected());
    }

    /// A broker that stops answering is noticed within one and a half keep-alives.
    #[test]
    fn a_silent_broker_times_out() {
        let mut s = connected(10);
        let mut events = Vec::new();
        let mut at = None;
        for t in (0..60_000).step_by(500) {
            s.poll(t, &mut events);
            if at.is_none() && events.contains(&Event::TimedOut) {
                at = Some(t);
            }
        }
        assert_eq!(at, Some(15_500));
    }

    #[test]
    fn packet_ids_skip_zero_and_the_subscribe_id() {
        let mut s = connected(30);
        s.next_id = 0xFFFD;
        let ids: Vec<u16> = (0..3).map(|i| s.publish("h/x", b"1", 1, false, i).unwrap().unwrap()).collect();
        assert_eq!(ids, [0xFFFD, 0xFFFE, 1]);
    }
}
