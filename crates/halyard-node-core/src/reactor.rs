//! The node's main loop as plain logic: inputs, socket events and the time go in, [`Action`]s
//! come out, and the firmware only moves bytes and waits ([`Node::deadline`] says until when).
//!
//! Why a reactor: housekeeping (MQTT keep-alive pings, resends, the dead-link check, the image's
//! probation deadline, the sleep decision) must run on time however busy the inputs are. A loop
//! that waits for "the next input or one second" and rebuilds that second on every pass never
//! reaches it while inputs keep coming; here every call of [`Node::poll`] runs whatever is due,
//! so no stream of inputs can starve it, and the tests prove it with simulated time.
//!
//! The link goes Offline → (network up) Finding the broker → Connecting → Up, and on any failure
//! Waiting, then Finding again. Inputs are decoded in every state: the sleep decision needs the
//! solar chargers' power even while the broker is away.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use halyard_proto::victron::instant_readout::Key;
use halyard_proto::victron::smart_networking::Network;

use crate::clock::Clock;
use crate::config::Config;
use crate::mqtt::{Event, Options, Session};
use crate::ota::{BootAction, Confirmation, Progress, Slot, Update};
use crate::sleep::{Decision, Policy, SolarWatch};
use crate::topics::{Out, Schema, VeDirectPort};

/// Housekeeping runs at least this often.
pub const TICK_MS: u64 = 1_000;
/// After a lost connection, a broker not found or a refused socket: wait this long.
pub const RETRY_MS: u64 = 5_000;
/// After the broker refused the login (bad credentials): wait longer, not to hammer it.
pub const REFUSED_RETRY_MS: u64 = 30_000;
/// The MQTT keep-alive the node asks for, s.
pub const KEEP_ALIVE_S: u16 = 30;
/// Socket output is handed over in pieces of at most this many bytes (the TCP buffer's size).
pub const MAX_SEND: usize = 4096;
/// Log lines held while the broker is away, at most (the newest are dropped, counted).
const MAX_QUEUED_LINES: usize = 16;

/// What the firmware must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Find the broker (DNS-SD or the configured host; SNTP on the way) and answer with
    /// [`Node::broker_found`].
    FindBroker,
    /// Open the TCP connection to the broker found, and answer with [`Node::socket_open`] or
    /// [`Node::socket_failed`].
    Connect,
    /// Write these bytes to the socket.
    Send(Vec<u8>),
    /// Close the socket.
    Close,
    /// The broker accepted the session: call [`Node::publish_stats`] with the counters.
    Connected,
    /// The time of day is known: Unix ms at the call's `now`.
    SetTime(u64),
    /// The running image works: mark it valid.
    ConfirmImage,
    /// The running image is given up: mark it invalid and boot the other one.
    RollBack,
    /// A verified image was written: boot it (after sending what is queued).
    ActivateImage,
    /// A new configuration arrived on `config/set`: save it and restart.
    SaveConfig(Config),
    /// Dark for long enough: deep sleep this long (the goodbye is already in `Send`).
    Sleep {
        /// ms.
        for_ms: u64,
    },
    /// Toggle the status LED (one blink per message).
    Blink,
}

/// Where the connection to the broker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// No network address.
    Offline,
    /// Asked the firmware to find the broker.
    Finding,
    /// Asked the firmware to connect.
    Connecting,
    /// The socket is open (the session may still be waiting for CONNACK).
    Up,
    /// Waiting before finding the broker again.
    Waiting {
        /// Until, ms.
        until: u64,
    },
}

/// What arrives from the hardware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A Victron advert: address and manufacturer data.
    Advert([u8; 6], Vec<u8>),
    /// A MasterBus frame: 29-bit id and data.
    Can(u32, Vec<u8>),
    /// VE.Direct bytes, as the UART delivered them.
    Serial(Vec<u8>),
}

/// The node.
pub struct Node {
    config: Config,
    node: String,
    clock_topic: String,
    boot: String,
    schema: Schema,
    proxy: bool,
    led: bool,
    keys: Vec<([u8; 6], Key)>,
    network: Option<Network>,
    bus: halyard_proto::masterbus::bus::Bus,
    port: VeDirectPort,
    session: Session,
    events: Vec<Event>,
    link: Link,
    net_up: bool,
    ota: Update,
    confirmation: Confirmation,
    policy: Policy,
    solar: SolarWatch,
    boot_sent: bool,
    rolled_back: bool,
    next_tick: u64,
    lines: VecDeque<String>,
    actions: VecDeque<Action>,
    /// Log lines dropped while the broker was away.
    pub lines_dropped: u32,
}

impl Node {
    /// The node as it boots at `now`: `node_id` (the MAC in hex), the boot report, whether the
    /// running image is still on probation, and whether it woke from a dark sleep.
    pub fn new(config: Config, node_id: &str, boot: String, now: u64, image_pending: bool, woke_dark: bool) -> Node {
        let root = String::from(config.get("root").unwrap_or("halyard"));
        let node = format!("{root}/node/{node_id}");
        let mut schema = Schema::new(&root);
        schema.raw = config.on("raw_topics");
        schema.names = config.names();
        schema.roles = config.roles();
        let keys = config.keys().into_iter().map(|(m, k)| (m, Key::new(&k))).collect();
        let network = match (config.get("venetworking_key"), config.get("venetworking_id")) {
            (Some(k), Some(id)) => {
                let (mut key, mut nid) = ([0u8; 16], [0u8; 2]);
                let _ = halyard_proto::hex::decode_into(k.as_bytes(), &mut key);
                let _ = halyard_proto::hex::decode_into(id.as_bytes(), &mut nid);
                Some(Network::new(key, nid))
            }
            _ => None,
        };
        let policy = Policy::new(
            config.number("sleep_below_w") as f64,
            config.number("sleep_after_min") as u32,
            config.number("wake_every_min") as u32,
            now,
            woke_dark,
        );
        let credentials = match (config.get("mqtt_user"), config.get("mqtt_password")) {
            (Some(u), Some(p)) => Some((String::from(u), String::from(p))),
            _ => None,
        };
        let session = Session::new(Options {
            client_id: format!("halyard-node-{node_id}"),
            root: root.clone(),
            keep_alive_s: KEEP_ALIVE_S,
            credentials,
            subscriptions: alloc::vec![format!("{node}/config/set"), format!("{node}/ota/#"), format!("{root}/clock")],
        });
        Node {
            proxy: config.on("ble_proxy"),
            led: config.on("led"),
            clock_topic: format!("{root}/clock"),
            config,
            node,
            boot,
            schema,
            keys,
            network,
            bus: halyard_proto::masterbus::bus::Bus::new(),
            port: VeDirectPort::default(),
            session,
            events: Vec::new(),
            link: Link::Offline,
            net_up: false,
            ota: Update::default(),
            confirmation: Confirmation::at_boot(image_pending, now),
            policy,
            solar: SolarWatch::default(),
            boot_sent: false,
            rolled_back: false,
            next_tick: now,
            lines: VecDeque::new(),
            actions: VecDeque::new(),
            lines_dropped: 0,
        }
    }

    /// Where the link stands.
    pub fn link(&self) -> Link {
        self.link
    }

    /// Whether the MQTT session is up.
    pub fn is_connected(&self) -> bool {
        self.session.is_connected()
    }

    /// The latest time the firmware may call [`Node::poll`] (it may call it earlier, and after
    /// every input it should).
    pub fn deadline(&self) -> u64 {
        self.next_tick
    }

    /// What to do, oldest first.
    pub fn take_actions(&mut self) -> impl Iterator<Item = Action> + '_ {
        self.actions.drain(..)
    }

    /// The oldest action (for a shell whose answers to one action queue more).
    pub fn next_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Whether the network has an address.
    pub fn network(&mut self, up: bool, now: u64) {
        if up == self.net_up {
            self.poll(now);
            return;
        }
        self.net_up = up;
        if up {
            self.link = Link::Waiting { until: now };
        } else {
            if self.link == Link::Up {
                self.session.dropped();
                self.actions.push_back(Action::Close);
            }
            self.link = Link::Offline;
        }
        self.poll(now);
    }

    /// The answer to [`Action::FindBroker`]; `time` is Unix ms from SNTP when it answered.
    pub fn broker_found(&mut self, found: bool, time: Option<u64>, now: u64) {
        if let Some(t) = time {
            self.actions.push_back(Action::SetTime(t));
        }
        if self.link != Link::Finding {
            self.poll(now);
            return;
        }
        if found {
            self.link = Link::Connecting;
            self.actions.push_back(Action::Connect);
        } else {
            self.link = Link::Waiting { until: now + RETRY_MS };
        }
        self.poll(now);
    }

    /// The answer to [`Action::Connect`]: the socket is open.
    pub fn socket_open(&mut self, now: u64) {
        if self.link != Link::Connecting {
            self.poll(now);
            return;
        }
        self.link = Link::Up;
        self.session.connect(now);
        self.schema.refresh();
        self.flush();
        self.poll(now);
    }

    /// The answer to [`Action::Connect`]: the broker could not be reached.
    pub fn socket_failed(&mut self, now: u64) {
        if self.link == Link::Connecting {
            self.link = Link::Waiting { until: now + RETRY_MS };
        }
        self.poll(now);
    }

    /// The socket closed (or failed) under us.
    pub fn socket_closed(&mut self, now: u64) {
        if self.link == Link::Up {
            self.session.dropped();
            self.link = Link::Waiting { until: now + RETRY_MS };
        }
        self.poll(now);
    }

    /// Bytes from the broker; `slot` is where an update's image goes.
    pub fn received(&mut self, bytes: &[u8], now: u64, slot: &mut dyn Slot) {
        if self.link != Link::Up {
            // Late bytes of a closed connection; the timers still run.
            self.poll(now);
            return;
        }
        let mut events = core::mem::take(&mut self.events);
        self.session.receive(bytes, now, &mut events);
        for e in events.drain(..) {
            self.event(e, now, slot);
        }
        self.events = events;
        self.poll(now);
    }

    /// An input from the hardware: decoded in every state (the sleep decision needs it),
    /// published when the session is up.
    pub fn input(&mut self, input: Input, now: u64) {
        let out: Vec<Out> = match input {
            Input::Advert(mac, data) => {
                if self.proxy {
                    let p = self.schema.advert_proxy(mac, &data);
                    self.publish(&p.topic, p.payload.as_bytes(), 0, false, now);
                }
                let key = self.keys.iter().find(|(m, _)| *m == mac).map(|(_, k)| k);
                self.schema.victron_advert(mac, &data, key, self.network.as_mut()).unwrap_or_default()
            }
            Input::Can(id, data) => {
                self.schema.masterbus(&mut self.bus, now * 1_000_000, id, &data).unwrap_or_default()
            }
            Input::Serial(bytes) => self.schema.vedirect(&mut self.port, &bytes),
        };
        for m in out {
            if let Some(total) = self.solar.observe(&m.topic, &m.payload, now) {
                self.policy.solar(total, now);
            }
            // QoS 1 while the window has room; a burst beyond it goes at QoS 0 rather than
            // waiting (the next reading follows within seconds).
            if !self.publish(&m.topic, m.payload.as_bytes(), 1, m.retain, now) {
                self.publish(&m.topic, m.payload.as_bytes(), 0, m.retain, now);
            }
            if self.led {
                self.actions.push_back(Action::Blink);
            }
        }
        self.poll(now);
    }

    /// A log line for `<node>/log` (held while the broker is away, a few at most).
    pub fn log_line(&mut self, line: String, now: u64) {
        if self.session.is_connected() {
            let topic = format!("{}/log", self.node);
            self.publish(&topic, line.as_bytes(), 0, false, now);
        } else if self.lines.len() < MAX_QUEUED_LINES {
            self.lines.push_back(line);
        } else {
            self.lines_dropped = self.lines_dropped.saturating_add(1);
        }
        self.poll(now);
    }

    /// `<node>/stats` (retained), the firmware's counters as JSON; after [`Action::Connected`].
    pub fn publish_stats(&mut self, json: &str, now: u64) {
        let topic = format!("{}/stats", self.node);
        self.publish(&topic, json.as_bytes(), 0, true, now);
        self.flush();
    }

    /// Run what is due (cheap when nothing is): call after every input and by
    /// [`Node::deadline`].
    pub fn poll(&mut self, now: u64) {
        if let Link::Waiting { until } = self.link {
            if self.net_up && now >= until {
                self.link = Link::Finding;
                self.actions.push_back(Action::FindBroker);
            }
        }
        if now >= self.next_tick {
            self.next_tick = now + TICK_MS;
            self.housekeeping(now);
        }
        self.flush();
    }

    fn housekeeping(&mut self, now: u64) {
        // From boot, whatever the network does.
        if self.confirmation.poll(now) == BootAction::RollBack && !self.rolled_back {
            self.rolled_back = true;
            self.actions.push_back(Action::RollBack);
        }
        let mut events = core::mem::take(&mut self.events);
        self.session.poll(now, &mut events);
        for e in events.drain(..) {
            // Timer events carry no OTA data.
            self.event(e, now, &mut NoSlot);
        }
        self.events = events;
        if let Decision::Sleep { for_ms } = self.policy.decide(now, self.ota.busy()) {
            self.session.disconnect();
            self.flush();
            if self.link == Link::Up {
                self.actions.push_back(Action::Close);
            }
            self.link = Link::Offline;
            self.net_up = false;
            self.actions.push_back(Action::Sleep { for_ms });
        }
    }

    fn publish(&mut self, topic: &str, payload: &[u8], qos: u8, retain: bool, now: u64) -> bool {
        self.session.publish(topic, payload, qos, retain, now).is_ok()
    }

    /// The session's output, in pieces the socket can take.
    fn flush(&mut self) {
        let out = self.session.take_output();
        if out.is_empty() {
            return;
        }
        if self.link != Link::Up {
            return;
        }
        for piece in out.chunks(MAX_SEND) {
            self.actions.push_back(Action::Send(piece.to_vec()));
        }
    }

    fn lost(&mut self, now: u64, wait: u64) {
        self.session.dropped();
        self.actions.push_back(Action::Close);
        self.link = Link::Waiting { until: now + wait };
    }

    fn event(&mut self, e: Event, now: u64, slot: &mut dyn Slot) {
        match e {
            Event::Connected { .. } => {
                if self.confirmation.connected() == BootAction::Confirm {
                    self.actions.push_back(Action::ConfirmImage);
                }
                if !self.boot_sent {
                    let (topic, boot) = (format!("{}/boot", self.node), self.boot.clone());
                    self.boot_sent = self.publish(&topic, boot.as_bytes(), 1, true, now);
                }
                let (topic, config) = (format!("{}/config", self.node), self.config.redacted());
                self.publish(&topic, config.as_bytes(), 1, true, now);
                let topic = format!("{}/log", self.node);
                while let Some(line) = self.lines.pop_front() {
                    self.publish(&topic, line.as_bytes(), 0, false, now);
                }
                self.actions.push_back(Action::Connected);
            }
            // 4 bad user name or password, 5 not authorised: retrying at once would only hammer
            // the broker.
            Event::Refused(_) => self.lost(now, REFUSED_RETRY_MS),
            Event::TimedOut | Event::ProtocolError(_) => self.lost(now, RETRY_MS),
            Event::Message(m) if m.topic == self.clock_topic => {
                let mut c = Clock::new();
                if c.set_from_text(&m.payload, now) {
                    if let Some(t) = c.unix_ms(now) {
                        self.actions.push_back(Action::SetTime(t));
                    }
                }
            }
            Event::Message(m) => {
                let Some(what) = m.topic.strip_prefix(self.node.as_str()) else { return };
                if what == "/config/set" {
                    let mut next = self.config.clone();
                    if next.apply(core::str::from_utf8(&m.payload).unwrap_or("")).is_ok() {
                        self.actions.push_back(Action::SaveConfig(next));
                    }
                    return;
                }
                let result = match what {
                    "/ota/begin" => self.ota.begin(core::str::from_utf8(&m.payload).unwrap_or(""), slot),
                    "/ota/abort" => {
                        self.ota.abort();
                        return;
                    }
                    chunk => match chunk.strip_prefix("/ota/chunk/").and_then(|o| o.parse().ok()) {
                        Some(offset) => self.ota.chunk(offset, &m.payload, slot),
                        None => return,
                    },
                };
                let (topic, status) = (format!("{}/ota/status", self.node), Update::status(&result));
                self.publish(&topic, status.as_bytes(), 1, false, now);
                if result == Ok(Progress::Verified) {
                    self.flush();
                    self.actions.push_back(Action::ActivateImage);
                }
            }
            _ => {}
        }
    }
}

/// Housekeeping never writes an image.
struct NoSlot;

impl Slot for NoSlot {
    fn capacity(&mut self) -> u32 {
        0
    }

    fn erase(&mut self) -> Result<(), crate::ota::SlotError> {
        Err(crate::ota::SlotError)
    }

    fn write(&mut self, _offset: u32, _data: &[u8]) -> Result<(), crate::ota::SlotError> {
        Err(crate::ota::SlotError)
    }
}
