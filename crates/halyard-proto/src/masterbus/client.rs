//! The active side, off unless the user turns it on: announce on the bus, discover every device's
//! self-description, poll chosen items, and write only when writes are explicitly allowed.
//!
//! It asks what a MasterView asks at boot (masterbus.md §7): the name string id (`09 03`) and its
//! chunks, the monitoring group count (`08 02`), each group's field count and field ids (schema),
//! then each field's name, unit, visualisation, limits, writability and drop-down options. It keeps
//! no knowledge of its own: the answers travel on the bus, [`Bus`] learns them like any other
//! traffic, and the client asks for whatever the `Bus` still lacks. One request is in flight at a
//! time (as a MasterView does); a request that goes unanswered is retried and then given up on, so a
//! device that ignores a question cannot stall discovery.
//!
//! Own identity: type code 0x1C, which no Mastervolt firmware is known to use (keesverruijt/masterbus
//! `bus_id.rs`), with an address the user chooses so that two gateways on one bus differ.

use alloc::collections::BTreeMap;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::bus::{Bus, NodeState};
use super::id::{BusId, DeviceId, Node};
use super::message::{Message, STRING_OP};
use super::viz::{MetaOp, Viz};
use crate::can::Frame;

/// The type code Halyard announces itself with.
pub const OWN_TYPE_CODE: u8 = 0x1C;

/// One item polled at a fixed interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Poll {
    /// The device (18-bit number, as in `masterbus/0x31297/…`).
    pub device: DeviceId,
    /// The item.
    pub item: u16,
    /// Interval in nanoseconds.
    pub every_ns: u64,
}

/// What the active client may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Halyard's own node (type [`OWN_TYPE_CODE`]).
    pub identity: Node,
    /// Ask every device to describe itself.
    pub discover: bool,
    /// Items to poll.
    pub polls: Vec<Poll>,
    /// Allow [`Client::write`]. Off unless the user sets it.
    pub allow_writes: bool,
    /// How long to wait for an answer (ns).
    pub timeout_ns: u64,
    /// Attempts per question before giving up on it.
    pub attempts: u8,
    /// Minimum gap between two frames sent (ns), to leave the bus to the devices.
    pub gap_ns: u64,
    /// Announcement interval (ns); devices announce about every 30 s.
    pub announce_every_ns: u64,
}

impl Config {
    /// Defaults: discovery on, no polls, no writes, 150 ms timeout, 3 attempts, 5 ms gap, 30 s
    /// announcements.
    pub fn new(address: u16) -> Self {
        Config {
            identity: Node::from_identity(OWN_TYPE_CODE, address, 0),
            discover: true,
            polls: Vec::new(),
            allow_writes: false,
            timeout_ns: 150_000_000,
            attempts: 3,
            gap_ns: 5_000_000,
            announce_every_ns: 30_000_000_000,
        }
    }
}

/// A question the client can ask a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Request {
    /// Class 0x07 `[op, selector]`.
    Property(u8, u8),
    /// Class 0x07 `[30, sid, chunk]`.
    StringChunk(u16, u8),
    /// Class 0x19 `[op, group, 00 (, index)]`.
    Schema(u8, u8, Option<u8>),
    /// Class 0x18 on the shadow address `[op, field (, option)]`.
    Metadata(u8, u16, Option<u8>),
    /// Class 0x18 `[item]`.
    Value(u16),
}

impl Request {
    /// The frame that asks it of `node`.
    pub fn frame(self, node: Node) -> Frame {
        let mut data = [0u8; 4];
        let (class, shadow, len) = match self {
            Request::Property(op, sel) => {
                data[..2].copy_from_slice(&[op, sel]);
                (0x07, false, 2)
            }
            Request::StringChunk(sid, chunk) => {
                let s = sid.to_le_bytes();
                data = [STRING_OP, s[0], s[1], chunk];
                (0x07, false, 4)
            }
            Request::Schema(op, group, index) => {
                data = [op, group, 0, index.unwrap_or(0)];
                (0x19, false, if index.is_some() { 4 } else { 3 })
            }
            Request::Metadata(op, field, option) => {
                let f = field.to_le_bytes();
                data = [op, f[0], f[1], option.unwrap_or(0)];
                (0x18, true, if option.is_some() { 4 } else { 3 })
            }
            Request::Value(item) => {
                data[..2].copy_from_slice(&item.to_le_bytes());
                (0x18, false, 2)
            }
        };
        frame(node.id(class, shadow), &data[..len])
    }

    /// Whether `message` (from `node`'s address) answers this request.
    pub fn is_answered_by(self, message: &Message) -> bool {
        match (self, *message) {
            (Request::Property(op, sel), Message::PropertyReply { op: o, selector: s, .. })
            | (Request::Property(op, sel), Message::PropertyEcho { op: o, selector: s }) => (op, sel) == (o, s),
            (Request::StringChunk(sid, chunk), Message::StringChunk { string_id, chunk: c, .. }) => {
                (sid, chunk) == (string_id, c)
            }
            (Request::Schema(op, group, index), Message::SchemaReply { op: o, group: g, index: i, .. }) => {
                (op, group) == (o, g) && index.is_none_or(|x| x == i)
            }
            (Request::Metadata(op, field, option), Message::MetadataReply { op: o, field: f, index, .. }) => {
                (op, field) == (o.0, f) && option.is_none_or(|x| x == index)
            }
            (Request::Value(item), Message::ValueReply { item: i, .. }) => item == i,
            _ => false,
        }
    }
}

fn frame(id: BusId, data: &[u8]) -> Frame {
    // Ids built from a class and a node are 29-bit and data is at most 8 bytes.
    super::frame(id, data).unwrap_or_else(|| unreachable!("MasterBus frames are always valid CAN frames"))
}

/// Why a write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// Writes are off (the default); the user must enable them explicitly.
    Disabled,
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    node: Node,
    request: Request,
    sent_ns: u64,
}

/// The active client.
#[derive(Debug, Clone)]
pub struct Client {
    config: Config,
    in_flight: Option<InFlight>,
    failures: BTreeMap<(Node, Request), u8>,
    next_poll_ns: Vec<u64>,
    next_announce_ns: u64,
    last_sent_ns: Option<u64>,
    writes: VecDeque<Frame>,
    /// Questions answered, for counters.
    pub answered: u64,
    /// Questions that timed out, for counters.
    pub timeouts: u64,
}

/// The limits asked of every field once all fields have names.
const LIMIT_OPS: [MetaOp; 4] = [MetaOp::MIN, MetaOp::MAX, MetaOp::STEP, MetaOp::WRITABLE];

/// Drop-down options asked per field at most (the combi's largest has 28).
const MAX_OPTIONS: u16 = 64;

impl Client {
    /// A client that will start by announcing itself.
    pub fn new(config: Config) -> Self {
        let polls = config.polls.len();
        Client {
            config,
            in_flight: None,
            failures: BTreeMap::new(),
            next_poll_ns: alloc::vec![0; polls],
            next_announce_ns: 0,
            last_sent_ns: None,
            writes: VecDeque::new(),
            answered: 0,
            timeouts: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Queue a write of `value` to `item` followed by the commit token (this node's identity) to
    /// `item + 1`, as a MasterView writes (masterbus.md §4).
    pub fn write(&mut self, node: Node, item: u16, value: f32) -> Result<(), WriteError> {
        if !self.config.allow_writes {
            return Err(WriteError::Disabled);
        }
        let id = node.id(0x18, false);
        let mut data = [0u8; 6];
        data[..2].copy_from_slice(&item.to_le_bytes());
        data[2..].copy_from_slice(&value.to_le_bytes());
        self.writes.push_back(frame(id, &data));
        data[..2].copy_from_slice(&item.wrapping_add(1).to_le_bytes());
        data[2..].copy_from_slice(&self.config.identity.identity());
        self.writes.push_back(frame(id, &data));
        Ok(())
    }

    /// Take in a frame heard on the bus (after [`Bus::handle`]).
    pub fn handle(&mut self, id: BusId, message: &Message) {
        if let Some(f) = self.in_flight {
            if !id.is_request() && id.node() == f.node && f.request.is_answered_by(message) {
                self.in_flight = None;
                self.failures.remove(&(f.node, f.request));
                self.answered += 1;
            }
        }
    }

    /// The next frame to send at `now_ns`, if any.
    pub fn next_frame(&mut self, now_ns: u64, bus: &Bus) -> Option<Frame> {
        if let Some(f) = self.in_flight {
            if now_ns.saturating_sub(f.sent_ns) < self.config.timeout_ns {
                return None;
            }
            self.timeouts += 1;
            *self.failures.entry((f.node, f.request)).or_default() += 1;
            self.in_flight = None;
        }
        if self.last_sent_ns.is_some_and(|t| now_ns.saturating_sub(t) < self.config.gap_ns) {
            return None;
        }
        let frame = self.choose(now_ns, bus)?;
        self.last_sent_ns = Some(now_ns);
        Some(frame)
    }

    fn choose(&mut self, now_ns: u64, bus: &Bus) -> Option<Frame> {
        if now_ns >= self.next_announce_ns {
            self.next_announce_ns = now_ns + self.config.announce_every_ns;
            let own = self.config.identity;
            let [t, lo, hi, instance] = own.identity();
            return Some(frame(own.id(0x04, false), &[t, lo, hi, instance, 0, 0x01, 0, 0]));
        }
        if let Some(w) = self.writes.pop_front() {
            return Some(w);
        }
        for i in 0..self.config.polls.len() {
            let poll = self.config.polls[i];
            if now_ns < self.next_poll_ns[i] {
                continue;
            }
            let Some((node, _)) = bus.nodes().find(|(n, _)| n.device() == poll.device && *n != self.config.identity)
            else {
                continue;
            };
            self.next_poll_ns[i] = now_ns + poll.every_ns;
            return Some(self.ask(node, Request::Value(poll.item), now_ns));
        }
        if !self.config.discover {
            return None;
        }
        let attempts = self.config.attempts;
        let failures = &self.failures;
        let (node, request) = bus.nodes().filter(|(n, _)| *n != self.config.identity).find_map(|(node, state)| {
            let usable = |r: &Request| failures.get(&(node, *r)).is_none_or(|n| *n < attempts);
            plan(state, usable).map(|r| (node, r))
        })?;
        Some(self.ask(node, request, now_ns))
    }

    fn ask(&mut self, node: Node, request: Request, now_ns: u64) -> Frame {
        self.in_flight = Some(InFlight { node, request, sent_ns: now_ns });
        request.frame(node)
    }
}

/// The first question still open about a device, skipping those `usable` rejects.
fn plan(state: &NodeState, usable: impl Fn(&Request) -> bool) -> Option<Request> {
    let mut candidates = Candidates { usable, found: None };
    candidates.walk(state);
    candidates.found
}

struct Candidates<F> {
    usable: F,
    found: Option<Request>,
}

impl<F: Fn(&Request) -> bool> Candidates<F> {
    /// Offer a question; true once one has been accepted (stop walking).
    fn offer(&mut self, r: Request) -> bool {
        if self.found.is_none() && (self.usable)(&r) {
            self.found = Some(r);
        }
        self.found.is_some()
    }

    /// Offer the next chunk of a string; true when the walk should stop.
    fn string(&mut self, state: &NodeState, sid: Option<u16>) -> bool {
        match sid.and_then(|s| state.missing_chunk(s).map(|c| (s, c))) {
            Some((s, c)) => self.offer(Request::StringChunk(s, c)),
            None => false,
        }
    }

    fn walk(&mut self, state: &NodeState) {
        match state.name_sid {
            None => {
                if self.offer(Request::Property(0x09, 0x03)) {
                    return;
                }
            }
            sid => {
                if self.string(state, sid) {
                    return;
                }
            }
        }
        // A device that does not say how many monitoring groups it has still has group 0.
        let groups = match state.properties.get(&(0x08, 0x02)) {
            Some(&groups) => groups,
            None if self.offer(Request::Property(0x08, 0x02)) => return,
            None => 1,
        };
        let mut fields = Vec::new();
        for g in 0..groups.min(32) as u8 {
            let group = state.groups.get(&g);
            let Some(count) = group.and_then(|x| x.count) else {
                if self.offer(Request::Schema(0x07, g, None)) {
                    return;
                }
                continue;
            };
            for idx in 0..count.min(64) as u8 {
                match group.and_then(|x| x.fields.get(&idx)) {
                    Some(f) => fields.push(*f),
                    None => {
                        if self.offer(Request::Schema(0x03, g, Some(idx))) {
                            return;
                        }
                    }
                }
            }
        }
        // Names and units first (what makes values readable), then drop-down options, then limits.
        for &field in &fields {
            let info = state.fields.get(&field);
            if info.is_none_or(|i| i.name_sid.is_none()) && self.offer(Request::Metadata(MetaOp::NAME.0, field, None)) {
                return;
            }
            if self.string(state, info.and_then(|i| i.name_sid)) {
                return;
            }
            if info.is_none_or(|i| i.unit_sid.is_none()) && self.offer(Request::Metadata(MetaOp::UNIT.0, field, None)) {
                return;
            }
            if self.string(state, info.and_then(|i| i.unit_sid).filter(|s| *s != 0)) {
                return;
            }
            if info.is_none_or(|i| i.viz.is_none()) && self.offer(Request::Metadata(MetaOp::VIZ.0, field, None)) {
                return;
            }
        }
        for &field in &fields {
            let Some(info) = state.fields.get(&field) else { continue };
            if info.viz != Some(Viz::DropDown) {
                continue;
            }
            if info.max.is_none() && self.offer(Request::Metadata(MetaOp::MAX.0, field, None)) {
                return;
            }
            let highest = info.max.map_or(0, |m| (m.max(0.0) as u16).min(MAX_OPTIONS - 1));
            for option in 0..=highest {
                let done = match info.options.get(&option) {
                    None => self.offer(Request::Metadata(MetaOp::OPTION.0, field, Some(option as u8))),
                    Some(sid) => self.string(state, Some(*sid)),
                };
                if done {
                    return;
                }
            }
        }
        for &field in &fields {
            let info = state.fields.get(&field);
            for op in LIMIT_OPS {
                let known = info.is_some_and(|i| match op {
                    MetaOp::MIN => i.min.is_some(),
                    MetaOp::MAX => i.max.is_some(),
                    MetaOp::STEP => i.step.is_some(),
                    _ => i.writable.is_some(),
                });
                if !known && self.offer(Request::Metadata(op.0, field, None)) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::masterbus::decode_frame;

    #[test]
    fn requests_build_the_frames_a_masterview_sends() {
        let shunt = Node::from_identity(0x1B, 0x1297, 3);
        let cases = [
            (Request::Value(1), "186F1297#0100"),
            (Request::Property(0x09, 0x03), "076F1297#0903"),
            (Request::StringChunk(0xD6, 2), "076F1297#30D60002"),
            (Request::Schema(0x03, 0, Some(4)), "196F1297#03000004"),
            (Request::Metadata(0x28, 2, None), "18EF1297#280200"),
        ];
        for (request, text) in cases {
            assert_eq!(alloc::format!("{:?}", request.frame(shunt)), text);
        }
    }

    #[test]
    fn writes_are_refused_unless_enabled() {
        let combi = Node::from_identity(0x0E, 0xF412, 2);
        let mut client = Client::new(Config::new(0x0001));
        assert_eq!(client.write(combi, 0x38, 1.0), Err(WriteError::Disabled));
        let mut config = Config::new(0x0001);
        config.allow_writes = true;
        let mut client = Client::new(config);
        client.write(combi, 0x38, 1.0).unwrap();
        let bus = Bus::new();
        let announce = client.next_frame(0, &bus).unwrap();
        assert_eq!(alloc::format!("{announce:?}"), "04700001#1C01000000010000");
        let first = client.next_frame(10_000_000, &bus).unwrap();
        let second = client.next_frame(20_000_000, &bus).unwrap();
        assert_eq!(alloc::format!("{first:?}"), "183AF412#38000000803F");
        assert_eq!(alloc::format!("{second:?}"), "183AF412#39001C010000", "commit token = own identity");
    }

    #[test]
    fn discovery_asks_then_gives_up_on_silence() {
        let shunt = Node::from_identity(0x1B, 0x1297, 3);
        let mut bus = Bus::new();
        let announce = crate::masterbus::frame(shunt.id(0x04, false), &[0x1b, 0x97, 0x12, 0x03, 0, 2, 0, 0]).unwrap();
        let (id, m) = decode_frame(&announce).unwrap();
        bus.handle(0, id, &m);
        let mut config = Config::new(0x0001);
        config.announce_every_ns = u64::MAX / 2;
        let mut client = Client::new(config);
        let _own_announcement = client.next_frame(0, &bus);
        let mut asked = Vec::new();
        let mut now = 0;
        for _ in 0..10_000 {
            now += 1_000_000;
            if let Some(f) = client.next_frame(now, &bus) {
                asked.push(alloc::format!("{f:?}"));
            }
        }
        // The name property is asked three times, then the group count three times, then group 0
        // is assumed and its field count asked three times; then nothing is left to ask.
        let name = "076F1297#0903";
        let groups = "076F1297#0802";
        let count = "196F1297#070000";
        assert_eq!(asked, [name, name, name, groups, groups, groups, count, count, count]);
        assert_eq!(client.timeouts, 9);
        // An answer clears the question; the next one follows.
        let reply = crate::masterbus::frame(shunt.id(0x06, false), &[0x09, 0x03, 0xD6, 0x00]).unwrap();
        let (id, m) = decode_frame(&reply).unwrap();
        bus.handle(now, id, &m);
        client.handle(id, &m);
        assert_eq!(client.answered, 0, "not in flight any more: it had timed out");
    }
}
