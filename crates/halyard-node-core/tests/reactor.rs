//! The node's whole main loop on simulated time, under heavy input (200 Victron adverts a second,
//! VE.Direct blocks arriving in 7-byte reads, 500 CAN frames a second), against a broker written
//! for the test that answers, goes silent or refuses, or no broker or network at all. What the
//! old loop could not guarantee, each test proves: keep-alive pings, resends and the dead-link
//! check happen on time; the new image's probation ends 5 minutes after boot whatever the
//! network does; the node sleeps at dusk with adverts still arriving; queues stay bounded.

use halyard_node_core::config::Config;
use halyard_node_core::ota::{Slot, SlotError};
use halyard_node_core::reactor::{Action, Input, Link, Node, KEEP_ALIVE_S};
use proptest::prelude::*;

const S: u64 = 1_000;

/// How the broker behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Broker {
    /// Answers everything.
    Good,
    /// Accepts the connection, then never says another word.
    Silent,
    /// Accepts the TCP connection and never answers at all.
    Mute,
    /// Refuses the login (CONNACK 5, not authorised).
    Refuses,
    /// Not found on the network.
    Missing,
}

/// A client packet seen by the broker: (time, type, flags, body).
type Packet = (u64, u8, u8, Vec<u8>);

/// The broker's side of the socket: MQTT 3.1.1 fixed headers parsed independently of the node's
/// codec.
#[derive(Default)]
struct Wire {
    buf: Vec<u8>,
    seen: Vec<Packet>,
}

impl Wire {
    fn feed(&mut self, bytes: &[u8], now: u64, broker: Broker) -> Vec<u8> {
        self.buf.extend_from_slice(bytes);
        let mut reply = Vec::new();
        while let Some(&first) = self.buf.first() {
            let (mut len, mut mult, mut at) = (0usize, 1usize, 1usize);
            loop {
                let Some(&b) = self.buf.get(at) else { return reply };
                len += usize::from(b & 0x7F) * mult;
                mult *= 128;
                at += 1;
                if b & 0x80 == 0 {
                    break;
                }
            }
            if self.buf.len() < at + len {
                break;
            }
            let body = self.buf[at..at + len].to_vec();
            self.buf.drain(..at + len);
            let (kind, flags) = (first >> 4, first & 0x0F);
            let first_packet = self.seen.is_empty();
            self.seen.push((now, kind, flags, body.clone()));
            let answering = broker == Broker::Good || (broker == Broker::Silent && first_packet);
            match kind {
                1 if broker == Broker::Refuses => reply.extend_from_slice(&[0x20, 2, 0, 5]),
                1 if answering => reply.extend_from_slice(&[0x20, 2, 0, 0]),
                3 if answering && (flags >> 1) & 3 == 1 => {
                    let tlen = usize::from(u16::from_be_bytes([body[0], body[1]]));
                    reply.extend_from_slice(&[0x40, 2, body[2 + tlen], body[3 + tlen]]);
                }
                8 if answering => reply.extend_from_slice(&[0x90, 3, body[0], body[1], 1]),
                12 if answering => reply.extend_from_slice(&[0xD0, 0]),
                _ => {}
            }
        }
        reply
    }
}

/// An image slot that takes nothing (no update in these tests).
struct NoFlash;

impl Slot for NoFlash {
    fn capacity(&mut self) -> u32 {
        0
    }
    fn erase(&mut self) -> Result<(), SlotError> {
        Err(SlotError)
    }
    fn write(&mut self, _: u32, _: &[u8]) -> Result<(), SlotError> {
        Err(SlotError)
    }
}

/// Which inputs arrive, how often (per second).
#[derive(Debug, Clone, Copy)]
struct Load {
    adverts: u64,
    can: u64,
    /// One VE.Direct block a second, in 7-byte reads, with this panel power.
    vedirect_watts: Option<u32>,
}

const HEAVY: Load = Load { adverts: 200, can: 500, vedirect_watts: Some(0) };

fn mppt_block(watts: u32) -> Vec<u8> {
    let (v, p) = (format!("{}", 13_200), format!("{watts}"));
    let fields = [
        ("PID", "0xA060"),
        ("SER#", "HQ2232TEST1"),
        ("V", v.as_str()),
        ("I", "0"),
        ("VPV", "100"),
        ("PPV", p.as_str()),
        ("CS", "0"),
        ("ERR", "0"),
        ("H20", "12"),
    ];
    let mut out = [0u8; 512];
    let n = halyard_proto::vedirect::text::encode_block(&fields, &mut out).unwrap();
    out[..n].to_vec()
}

/// Everything that happened in a run.
#[derive(Default)]
struct Run {
    actions: Vec<(u64, Action)>,
    packets: Vec<Packet>,
    /// The most actions one call left queued.
    most_queued: usize,
}

impl Run {
    fn first(&self, want: impl Fn(&Action) -> bool) -> Option<u64> {
        self.actions.iter().find(|(_, a)| want(a)).map(|(t, _)| *t)
    }
    fn count(&self, want: impl Fn(&Action) -> bool) -> usize {
        self.actions.iter().filter(|(_, a)| want(a)).count()
    }
    fn pings(&self) -> Vec<u64> {
        self.packets.iter().filter(|p| p.1 == 12).map(|p| p.0).collect()
    }
}

/// Run the node for `for_ms` of simulated time.
fn simulate(config: &str, pending: bool, network: bool, broker: Broker, load: Load, for_ms: u64) -> Run {
    let config = Config::parse(config).unwrap();
    let mut node = Node::new(config, "a1b2c3d4e5f6", "{\"reset\":\"power-on\"}".into(), 0, pending, false);
    let mut wire = Wire::default();
    let mut run = Run::default();
    let block = load.vedirect_watts.map(mppt_block).unwrap_or_default();
    let (mut next_advert, mut next_can, mut next_serial, mut serial_at) = (0u64, 0u64, 0u64, 0usize);
    let every = |rate: u64| S.checked_div(rate).unwrap_or(u64::MAX);
    let mut replies: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut now = 0;
    let mut counter = 0u32;
    node.network(network, 0);
    let mut sleeping = false;
    while now < for_ms && !sleeping {
        // The next thing to happen: an input, a reply from the broker, or the node's deadline.
        let serial_due = if block.is_empty() { u64::MAX } else { next_serial };
        let reply_due = replies.first().map_or(u64::MAX, |r| r.0);
        now = [next_advert, next_can, serial_due, reply_due, node.deadline()].into_iter().min().unwrap().max(now);
        if now == next_advert {
            counter = counter.wrapping_add(1);
            let mac = [0xC0, 0x3B, 0, 0, (counter >> 8) as u8, counter as u8];
            let mut data = vec![0xE1, 0x02, 0x10, 0x02, 0xA0, 0x42, 0x01, (counter & 0xFF) as u8, 0x07];
            data.extend_from_slice(&[0x5A; 16]);
            node.input(Input::Advert(mac, data), now);
            next_advert += every(load.adverts);
        } else if now == next_can {
            let id = 0x1000_0000 | (counter & 0xFFFF);
            node.input(Input::Can(id, vec![0x01, 0x00, 0x00, 0x80, 0x3F]), now);
            next_can += every(load.can);
        } else if now == serial_due {
            let end = (serial_at + 7).min(block.len());
            node.input(Input::Serial(block[serial_at..end].to_vec()), now);
            serial_at = if end == block.len() { 0 } else { end };
            // A block is ~150 bytes: its reads spread over the first 200 ms of each second.
            next_serial = if serial_at == 0 { (now / S + 1) * S } else { now + 10 };
        } else if now == reply_due {
            let (_, bytes) = replies.remove(0);
            node.received(&bytes, now, &mut NoFlash);
        } else {
            node.poll(now);
        }
        // Act on what the node asked for, and on what that in turn asks for.
        loop {
            let actions: Vec<Action> = node.take_actions().collect();
            if actions.is_empty() {
                break;
            }
            run.most_queued = run.most_queued.max(actions.len());
            for a in actions {
                match &a {
                    Action::FindBroker => node.broker_found(broker != Broker::Missing, None, now),
                    Action::Connect => {
                        run.packets.append(&mut wire.seen);
                        wire = Wire::default();
                        replies.clear();
                        node.socket_open(now);
                    }
                    Action::Send(bytes) => {
                        let reply = wire.feed(bytes, now, broker);
                        if !reply.is_empty() {
                            // A LAN's round trip.
                            replies.push((now + 5, reply));
                        }
                    }
                    Action::Close => {
                        run.packets.append(&mut wire.seen);
                        replies.clear();
                    }
                    Action::Connected => node.publish_stats("{\"inputs_dropped\":0}", now),
                    Action::Sleep { .. } => sleeping = true,
                    _ => {}
                }
                if !matches!(a, Action::Send(_) | Action::Blink) {
                    run.actions.push((now, a));
                }
            }
        }
    }
    run.packets.append(&mut wire.seen);
    run
}

const CONFIG: &str = "wifi_ssid = Boat\nmqtt = 192.168.1.2\n";

#[test]
fn keep_alive_pings_come_on_time_under_heavy_input() {
    // Adverts alone go out at QoS 0, which the broker never answers: only the node's pings show
    // the link is alive, so they must come every keep-alive however busy the inputs are.
    let run =
        simulate(CONFIG, false, true, Broker::Good, Load { adverts: 200, can: 500, vedirect_watts: None }, 10 * 60 * S);
    let pings = run.pings();
    assert!(pings.len() >= 18, "{} pings in 10 min", pings.len());
    let keep_alive = u64::from(KEEP_ALIVE_S) * S;
    let gaps: Vec<u64> = pings.windows(2).map(|w| w[1] - w[0]).collect();
    eprintln!("{} pings, {}..{} ms apart", pings.len(), gaps.iter().min().unwrap(), gaps.iter().max().unwrap());
    for w in pings.windows(2) {
        let gap = w[1] - w[0];
        assert!((keep_alive..=keep_alive + S).contains(&gap), "pings {gap} ms apart");
    }
    assert_eq!(run.count(|a| *a == Action::Close), 0, "a good broker is never dropped");
    let published = run.packets.iter().filter(|p| p.1 == 3).count();
    assert!(published > 100_000, "{published} messages");
}

#[test]
fn a_silent_broker_is_detected_and_left_on_time_under_heavy_input() {
    let run = simulate(CONFIG, false, true, Broker::Silent, HEAVY, 3 * 60 * S);
    let keep_alive = u64::from(KEEP_ALIVE_S) * S;
    // QoS 1 messages not acknowledged go again (DUP) after 10 s.
    let resent = run.packets.iter().filter(|p| p.1 == 3 && p.2 & 0x08 != 0).map(|p| p.0).next();
    assert!(resent.is_some_and(|t| (10 * S..=12 * S).contains(&t)), "first resend at {resent:?}");
    // Nothing heard for 1.5 keep-alives: the link is dropped within the tick after, and the
    // broker looked for again.
    let closed = run.first(|a| *a == Action::Close).expect("the dead link is closed");
    eprintln!("first resend at {resent:?} ms, closed at {closed} ms");
    assert!((keep_alive * 3 / 2..=keep_alive * 3 / 2 + 2 * S).contains(&closed), "closed at {closed} ms");
    let again = run.actions.iter().filter(|(t, a)| *a == Action::FindBroker && *t > closed).map(|(t, _)| *t).next();
    assert!(again.is_some_and(|t| t - closed <= 5 * S + S), "found again at {again:?}");
}

#[test]
fn probation_ends_five_minutes_after_boot_whatever_the_network_does() {
    for (network, broker) in
        [(false, Broker::Good), (true, Broker::Missing), (true, Broker::Refuses), (true, Broker::Mute)]
    {
        let run = simulate(CONFIG, true, network, broker, HEAVY, 6 * 60 * S);
        let back = run.first(|a| *a == Action::RollBack);
        eprintln!("network {network}, broker {broker:?}: rolled back at {back:?} ms");
        assert!(
            back.is_some_and(|t| (300 * S..=301 * S).contains(&t)),
            "{network} {broker:?}: rolled back at {back:?}"
        );
        assert_eq!(run.count(|a| *a == Action::ConfirmImage), 0);
    }
    let run = simulate(CONFIG, true, true, Broker::Good, HEAVY, 6 * 60 * S);
    assert!(run.first(|a| *a == Action::ConfirmImage).is_some_and(|t| t < S));
    assert_eq!(run.count(|a| *a == Action::RollBack), 0);
}

#[test]
fn the_node_sleeps_at_dusk_with_adverts_still_arriving() {
    let config = format!("{CONFIG}sleep_after_min = 30\nwake_every_min = 10\n");
    // Dark from the start (PPV 0 every second), with or without a broker.
    for (network, broker) in [(true, Broker::Good), (false, Broker::Missing)] {
        let run = simulate(&config, false, network, broker, HEAVY, 40 * 60 * S);
        let slept = run.first(|a| matches!(a, Action::Sleep { .. }));
        eprintln!("network {network}: slept at {slept:?} ms");
        assert!(slept.is_some_and(|t| (30 * 60 * S..=30 * 60 * S + 2 * S).contains(&t)), "slept at {slept:?}");
        assert!(run.actions.iter().any(|(_, a)| *a == Action::Sleep { for_ms: 10 * 60 * S }));
        if network {
            // The goodbye went out first: `offline` retained, then DISCONNECT.
            assert_eq!(run.packets.last().map(|p| p.1), Some(14), "DISCONNECT last");
        }
    }
    // Panels producing: awake all along.
    let run = simulate(&config, false, true, Broker::Good, Load { vedirect_watts: Some(250), ..HEAVY }, 40 * 60 * S);
    assert_eq!(run.count(|a| matches!(a, Action::Sleep { .. })), 0);
}

#[test]
fn queues_stay_bounded() {
    let run = simulate(CONFIG, false, true, Broker::Silent, HEAVY, 5 * 60 * S);
    // One step leaves at most a handful of actions (socket writes are cut at MAX_SEND).
    assert!(run.most_queued < 64, "{} actions queued at once", run.most_queued);
    let mut node = Node::new(Config::parse(CONFIG).unwrap(), "a1", String::new(), 0, false, false);
    for i in 0..1_000 {
        node.log_line(format!("line {i}"), i);
    }
    assert_eq!(node.lines_dropped, 1_000 - 16, "lines beyond the bound are counted, not kept");
}

/// Found by `any_interleaving`: bytes arriving on a link already closed skipped the timers, so
/// a call at 301 s issued no roll-back. Every entry point runs what is due.
#[test]
fn every_entry_point_runs_the_timers() {
    type Call = fn(&mut Node, u64);
    let calls: [(&str, Call); 5] = [
        ("received", |n, t| n.received(&[0x20, 2, 0, 0], t, &mut NoFlash)),
        ("socket_open", |n, t| n.socket_open(t)),
        ("broker_found", |n, t| n.broker_found(true, None, t)),
        ("network", |n, t| n.network(false, t)),
        ("socket_closed", |n, t| n.socket_closed(t)),
    ];
    for (name, call) in calls {
        let mut node = Node::new(Config::parse(CONFIG).unwrap(), "a1", String::new(), 0, true, false);
        let _ = node.take_actions().count();
        call(&mut node, 301_000);
        assert!(node.take_actions().any(|a| a == Action::RollBack), "{name} at 301 s");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any interleaving of network changes, socket failures and broker behaviour: no panic, the
    /// link never claims to be up while the network is down, and a pending image is rolled
    /// back exactly once, 5 minutes after boot, unless the broker confirmed it before.
    #[test]
    fn any_interleaving(steps in proptest::collection::vec((0u8..8, 1u64..20_000), 1..80)) {
        let mut node = Node::new(Config::parse(CONFIG).unwrap(), "a1b2", String::new(), 0, true, false);
        let (mut now, mut net, mut confirmed, mut rollbacks) = (0u64, false, None, Vec::new());
        for (what, dt) in steps {
            now += dt;
            match what {
                0 => { net = !net; node.network(net, now); }
                1 => node.socket_closed(now),
                2 => node.socket_failed(now),
                3 => node.received(&[0x20, 2, 0, 0], now, &mut NoFlash),
                4 => node.received(&[0xFF, 0xFF, 0xFF], now, &mut NoFlash),
                5 => node.input(Input::Serial(mppt_block(0)), now),
                6 => node.input(Input::Advert([1, 2, 3, 4, 5, 6], vec![0xE1, 0x02, 0x10]), now),
                _ => node.poll(now),
            }
            let actions: Vec<Action> = node.take_actions().collect();
            for a in actions {
                match a {
                    Action::FindBroker => node.broker_found(true, None, now),
                    Action::Connect => node.socket_open(now),
                    Action::ConfirmImage => confirmed = Some(now),
                    Action::RollBack => rollbacks.push(now),
                    _ => {}
                }
            }
            let _ = node.take_actions().count();
            if !net {
                prop_assert!(matches!(node.link(), Link::Offline), "{:?}", node.link());
            }
        }
        prop_assert!(rollbacks.len() <= 1, "{rollbacks:?}");
        if let Some(t) = rollbacks.first() {
            prop_assert!(*t >= 300_000 && confirmed.is_none());
        }
        if confirmed.is_none() && now >= 301_000 {
            prop_assert_eq!(rollbacks.len(), 1);
        }
    }
}
