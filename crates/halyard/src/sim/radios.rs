//! The simulated boat's Meshtastic mesh, as its radio's stream API delivers it (marine.md §4:
//! `0x94 0xC3` frames of `FromRadio`): our own radio aboard, a GPS tracker in the dinghy, a crew
//! member's handheld that runs the range test while she walks ashore, and a far node inland heard
//! over two hops. Positions go out as nodes do (every minute while moving, every 15 minutes
//! when still), names every three hours, telemetry every half hour.
//!
//! Whether a packet from the dinghy or the handheld reaches our radio depends on the distance:
//! [`delivery`] falls from 98 % near the boat to half at 4.2 km. The simulator keeps which
//! range-test packets arrived (the truth) and the handheld's own log (what the range-test
//! plugin writes on the sender: `seq,tx_time,lat,lon`).

use prost::Message;

use super::rng::Rng;
use crate::mesh::proto::{self, from_radio, mesh_packet, port, FromRadio, MeshPacket};

/// A node of the simulated mesh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// Node number.
    pub num: u32,
    /// Long name.
    pub long_name: &'static str,
    /// Short name.
    pub short_name: &'static str,
}

/// Our radio, aboard.
pub const BOAT: Node = Node { num: 0x4841_4c01, long_name: "Halyard demo boat", short_name: "HDB" };
/// The dinghy's tracker (configured as `dinghy` in the simulated boat's halyard.toml).
pub const DINGHY: Node = Node { num: 0xd1b9_0002, long_name: "Dinghy tracker", short_name: "DNGY" };
/// The crew's handheld: the range-test sender.
pub const CREW: Node = Node { num: 0xa77a_0003, long_name: "Anna's handheld", short_name: "ANNA" };
/// A node far inland, relayed twice.
pub const FAR: Node = Node { num: 0xfa20_0004, long_name: "Sainte-Baume hut", short_name: "STBM" };
/// Where the far node is.
pub const FAR_AT: (f64, f64) = (43.3340, 5.7580);

/// Every node.
pub const NODES: [Node; 4] = [BOAT, DINGHY, CREW, FAR];

/// The names the simulated boat's halyard.toml gives nodes (`[[device]] meshtastic = …`).
pub const CONFIGURED: [(Node, &str); 2] = [(DINGHY, "dinghy"), (CREW, "anna")];

/// A node's name in Halyard: the configured one, else its number in hex (as the model names it).
pub fn name(num: u32) -> String {
    CONFIGURED.iter().find(|(n, _)| n.num == num).map_or_else(|| format!("{num:08x}"), |(_, name)| (*name).to_owned())
}

/// The chance that a direct packet over `d` metres arrives.
pub fn delivery(d: f64) -> f64 {
    0.98 / (1.0 + ((d - 4200.0) / 450.0).exp())
}

/// A framed `FromRadio`.
pub fn frame(message: &FromRadio) -> Vec<u8> {
    let payload = message.encode_to_vec();
    let mut out = vec![0u8; payload.len() + 4];
    let n = halyard_proto::meshtastic::encode_frame(&payload, &mut out).unwrap_or(0);
    out.truncate(n);
    out
}

fn user(n: Node) -> proto::User {
    proto::User {
        id: crate::mesh::node_id(n.num),
        long_name: n.long_name.into(),
        short_name: n.short_name.into(),
        hw_model: 0,
        role: 0,
    }
}

/// What a radio sends first after `want_config_id`: who it is, the node database (names),
/// and `config_complete_id` with the id asked for.
pub fn database(config_id: u32) -> Vec<u8> {
    let mut out =
        frame(&FromRadio { variant: Some(from_radio::Variant::MyInfo(proto::MyNodeInfo { my_node_num: BOAT.num })) });
    for n in NODES {
        let info = proto::NodeInfo { num: n.num, user: Some(user(n)), ..Default::default() };
        out.extend(frame(&FromRadio { variant: Some(from_radio::Variant::NodeInfo(info)) }));
    }
    out.extend(frame(&FromRadio { variant: Some(from_radio::Variant::ConfigCompleteId(config_id)) }));
    out
}

/// One range-test packet, for the truth: (seq, distance from the boat m, heard, sent at ms,
/// where the sender was).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RangeTest {
    /// Sequence number.
    pub seq: u32,
    /// Sent at, ms.
    pub at: i64,
    /// The sender's position.
    pub from: (f64, f64),
    /// Distance from the boat, m.
    pub distance_m: f64,
    /// Our radio heard it.
    pub heard: bool,
}

/// What the radios did in one step, for the truth.
#[derive(Debug, Default, Clone)]
pub struct Heard {
    /// Positions our radio heard straight from a node: (node, at, position, distance m).
    pub direct: Vec<(u32, i64, (f64, f64), f64)>,
    /// Range-test packets sent.
    pub range_tests: Vec<RangeTest>,
}

/// The mesh's state.
#[derive(Debug, Clone)]
pub struct Radios {
    rng: Rng,
    packet_id: u32,
    seq: u32,
    next_position: [i64; 4],
    next_names: [i64; 4],
    next_telemetry: [i64; 4],
    next_range_test: i64,
    last: [(f64, f64); 4],
    started: bool,
}

impl Radios {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Radios {
            rng: Rng::new(seed ^ 0x4D45_5348),
            packet_id: 0x1000,
            seq: 0,
            next_position: [i64::MIN; 4],
            next_names: [i64::MIN; 4],
            next_telemetry: [i64::MIN; 4],
            next_range_test: i64::MIN,
            last: [(0.0, 0.0); 4],
            started: false,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn packet(
        &mut self,
        at: i64,
        from: Node,
        portnum: i32,
        payload: Vec<u8>,
        hops: u32,
        snr: f32,
        rssi: i32,
    ) -> Vec<u8> {
        self.packet_id = self.packet_id.wrapping_add(1);
        let p = MeshPacket {
            from: from.num,
            to: 0xFFFF_FFFF,
            channel: 0,
            payload: Some(mesh_packet::Payload::Decoded(proto::Data { portnum, payload })),
            id: self.packet_id,
            rx_time: (at / 1000) as u32,
            rx_snr: snr,
            hop_limit: 3 - hops,
            want_ack: false,
            rx_rssi: rssi,
            via_mqtt: false,
            hop_start: 3,
        };
        frame(&FromRadio { variant: Some(from_radio::Variant::Packet(p)) })
    }

    /// One step at `at`: the boat, the dinghy and the handheld where they are now, whether the
    /// handheld runs its range test; framed packets our radio delivers go to `out`.
    pub fn step(
        &mut self,
        at: i64,
        positions: [(f64, f64); 3],
        range_testing: bool,
        out: &mut Vec<Vec<u8>>,
        heard: &mut Heard,
    ) {
        if !self.started {
            self.started = true;
            out.push(database(1));
        }
        let [boat, dinghy, crew] = positions;
        let places = [boat, dinghy, crew, FAR_AT];
        for (i, node) in NODES.iter().enumerate() {
            let here = places[i];
            // On the ellipsoid, as the answers measure it (a sphere is 0.3 % off here: 15 m at
            // 5 km, enough to move a range-test packet across a band's edge).
            let d = if i == 0 { 0.0 } else { crate::geo::inverse(boat, here).map_or(0.0, |(d, _)| d) };
            let moved = crate::geo::distance_m(self.last[i], here) > 20.0;
            // Heard straight (our own radio, the dinghy, the handheld) or over two hops.
            let (hops, chance) = if *node == FAR { (2, 0.8) } else { (0, if i == 0 { 1.0 } else { delivery(d) }) };
            let snr = if hops == 2 { -12.5 } else { (11.0 - 10.0 * (d.max(50.0) / 50.0).log10()) as f32 };
            let rssi = if hops == 2 { -118 } else { (-45.0 - 28.0 * (d.max(10.0) / 10.0).log10()).round() as i32 };
            let mut send = |this: &mut Self, portnum: i32, payload: Vec<u8>| -> bool {
                let arrived = this.rng.next_f64() < chance;
                if arrived {
                    out.push(this.packet(at, *node, portnum, payload, hops, snr, rssi));
                }
                arrived
            };
            if at >= self.next_names[i] {
                self.next_names[i] = at + 3 * 3_600_000;
                send(self, port::NODEINFO, user(*node).encode_to_vec());
            }
            if at >= self.next_position[i] || (moved && at >= self.next_position[i] - 14 * 60_000) {
                self.next_position[i] = at + if *node == FAR { 30 } else { 15 } * 60_000;
                self.last[i] = here;
                let position = proto::Position {
                    latitude_i: Some((here.0 * 1e7).round() as i32),
                    longitude_i: Some((here.1 * 1e7).round() as i32),
                    altitude: Some(if *node == FAR { 680 } else { 2 }),
                    time: (at / 1000) as u32,
                    ..Default::default()
                };
                if send(self, port::POSITION, position.encode_to_vec()) && hops == 0 && i > 0 {
                    heard.direct.push((node.num, at, here, d));
                }
            }
            if at >= self.next_telemetry[i] {
                self.next_telemetry[i] = at + 30 * 60_000;
                let hours = (at / 3_600_000) % 24;
                let metrics = proto::DeviceMetrics {
                    battery_level: Some(100 - (hours as u32 * 2).min(60)),
                    voltage: Some(4.15 - hours as f32 * 0.01),
                    channel_utilization: Some(3.5),
                    air_util_tx: Some(0.4),
                    uptime_seconds: Some(((at / 1000) % 864_000) as u32),
                };
                let t = proto::Telemetry {
                    time: (at / 1000) as u32,
                    device_metrics: Some(metrics),
                    environment_metrics: None,
                };
                send(self, port::TELEMETRY, t.encode_to_vec());
            }
            if *node == CREW && range_testing && at >= self.next_range_test {
                self.next_range_test = at + 60_000;
                self.seq += 1;
                let seq = self.seq;
                let arrived = send(self, port::RANGE_TEST, format!("seq {seq}").into_bytes());
                heard.range_tests.push(RangeTest { seq, at, from: here, distance_m: d, heard: arrived });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_falls_with_distance() {
        assert!(delivery(100.0) > 0.97 && delivery(3_000.0) > 0.9);
        assert!((delivery(4_200.0) - 0.49).abs() < 1e-9);
        assert!(delivery(7_000.0) < 0.01);
    }

    /// The frames decode with Halyard's own reading of the stream (the Meshtastic tests check
    /// that reading against the official Python package).
    #[test]
    fn frames_decode() {
        let mut r = Radios::new(1);
        let (mut out, mut heard) = (Vec::new(), Heard::default());
        let boat = (43.2795, 5.3105);
        r.step(1_781_000_000_000, [boat, boat, (43.2840, 5.3713)], true, &mut out, &mut heard);
        let bytes: Vec<u8> = out.concat();
        let mut packets = 0;
        halyard_proto::meshtastic::StreamFramer::default().push_all(&bytes, |e| {
            if let halyard_proto::meshtastic::Event::Frame(f) = e {
                if let Ok(FromRadio { variant: Some(from_radio::Variant::Packet(p)) }) = FromRadio::decode(f) {
                    packets += 1;
                    assert!(NODES.iter().any(|n| n.num == p.from));
                }
            }
        });
        assert!(packets >= 8, "{packets}");
        assert_eq!(heard.range_tests.len(), 1);
        assert!((heard.range_tests[0].distance_m - 4_940.0).abs() < 60.0, "{:?}", heard.range_tests);
    }
}
