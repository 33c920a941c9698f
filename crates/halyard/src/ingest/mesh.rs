//! Meshtastic → the mesh's node table: every node heard becomes the device `mesh/<node id>`
//! (or its configured name) with its position, names, battery, SNR, RSSI and hops, and — once
//! our own position is known (the boat's GPS, else our radio's own reports) — its distance and
//! bearing from us, true and magnetic (World Magnetic Model, `geo`).
//!
//! Input: the stream API's bytes (serial, TCP 4403), or a gateway's MQTT messages: protobuf
//! `ServiceEnvelope`s on `msh/…/2/e/…` and the firmware's JSON on `msh/…/2/json/…`.

use std::collections::HashMap;
use std::sync::Arc;

use halyard_proto::meshtastic::{Event, StreamFramer};
use prost::Message;

use crate::mesh::{self, proto, Heard, Said};
use crate::model::{Identity, Metric, Millis, Update};
use crate::telemetry::Telemetry;

const KN_PER_MS: f64 = 1.943_844_5;

/// The mesh decoder of every Meshtastic source.
pub struct MeshIngest {
    framers: HashMap<Arc<str>, StreamFramer>,
    /// Our own radio's node number (from the stream's `my_info`).
    me: Option<u32>,
    /// Our radio's last position.
    own: Option<(f64, f64)>,
    telemetry: Arc<Telemetry>,
    told_magnetic: bool,
}

impl MeshIngest {
    /// Empty.
    pub fn new(telemetry: Arc<Telemetry>) -> Self {
        MeshIngest { framers: HashMap::new(), me: None, own: None, telemetry, told_magnetic: false }
    }

    /// Stream API bytes from `source`; `boat` is the boat's GPS position when known; `log` for a
    /// recorded stream, whose packets are timed by their reception time (`rx_time`, else `at`).
    pub fn stream(
        &mut self,
        at: Millis,
        source: &Arc<str>,
        bytes: &[u8],
        boat: Option<(f64, f64)>,
        log: bool,
        out: &mut Vec<Update>,
    ) {
        let mut messages = Vec::new();
        let telemetry = self.telemetry.clone();
        self.framers.entry(source.clone()).or_default().push_all(bytes, |e| match e {
            Event::Frame(p) => {
                telemetry.inc("halyard_frames_total", &[("source", source)]);
                match proto::FromRadio::decode(p) {
                    Ok(m) => messages.push(m),
                    Err(_) => telemetry.inc("halyard_decode_errors_total", &[("source", source), ("kind", "protobuf")]),
                }
            }
            Event::BadLength(_) => {
                telemetry.inc("halyard_decode_errors_total", &[("source", source), ("kind", "frame_length")])
            }
            Event::Log(l) => tracing::trace!("{source}: {}", String::from_utf8_lossy(l)),
        });
        use proto::from_radio::Variant;
        // A recorded stream's node database may carry no times: give it the stream's first
        // reception time rather than the time of the replay.
        let first = messages.iter().find_map(|m| match &m.variant {
            Some(Variant::Packet(p)) if p.rx_time > 0 => Some(i64::from(p.rx_time) * 1000),
            _ => None,
        });
        let at = if log { first.unwrap_or(at) } else { at };
        for m in messages {
            match m.variant {
                Some(Variant::MyInfo(i)) => self.me = Some(i.my_node_num),
                Some(Variant::NodeInfo(n)) => {
                    let at = if log && n.last_heard > 0 { i64::from(n.last_heard) * 1000 } else { at };
                    self.node_info(at, &n, boat, out)
                }
                Some(Variant::Packet(p)) => {
                    let at = if log && p.rx_time > 0 { i64::from(p.rx_time) * 1000 } else { at };
                    self.packet(at, &mesh::heard(&p), boat, out)
                }
                _ => {}
            }
        }
    }

    /// A gateway's MQTT message; `false` when the topic is not Meshtastic's.
    pub fn mqtt(
        &mut self,
        at: Millis,
        topic: &str,
        payload: &[u8],
        boat: Option<(f64, f64)>,
        out: &mut Vec<Update>,
    ) -> bool {
        if !topic.starts_with("msh/") {
            return false;
        }
        self.telemetry.inc("halyard_frames_total", &[("source", "meshtastic_mqtt")]);
        let heard = if topic.contains("/2/json/") {
            serde_json::from_slice::<serde_json::Value>(payload).ok().and_then(|j| mesh::heard_json(&j))
        } else {
            proto::ServiceEnvelope::decode(payload).ok().and_then(|e| e.packet).map(|p| {
                let mut h = mesh::heard(&p);
                h.via_mqtt = true;
                h
            })
        };
        match heard {
            Some(h) => self.packet(at, &h, boat, out),
            None => self
                .telemetry
                .inc("halyard_decode_errors_total", &[("source", "meshtastic_mqtt"), ("kind", "undecodable")]),
        }
        true
    }

    fn node_info(&mut self, at: Millis, n: &proto::NodeInfo, boat: Option<(f64, f64)>, out: &mut Vec<Update>) {
        let mut u = Update::new(at, Identity::Mesh(n.num), "mesh_node", "meshtastic");
        if let Some(user) = &n.user {
            names(&mut u.metrics, &user.long_name, &user.short_name, &user.id);
        }
        if let Some(hops) = n.hops_away {
            u.metrics.push(Metric::number("hops_away", "", f64::from(hops)));
        }
        if let Some(p) =
            n.position.as_ref().and_then(|p| Some((f64::from(p.latitude_i?) * 1e-7, f64::from(p.longitude_i?) * 1e-7)))
        {
            if p != (0.0, 0.0) {
                self.position(&mut u, n.num, p, n.last_heard, boat);
            }
        }
        if !u.metrics.is_empty() {
            out.push(u);
        }
    }

    fn packet(&mut self, at: Millis, h: &Heard, boat: Option<(f64, f64)>, out: &mut Vec<Update>) {
        let mut u = Update::new(at, Identity::Mesh(h.from), "mesh_node", "meshtastic");
        if let Some(s) = h.snr {
            u.metrics.push(Metric::number("snr", "dB", f64::from(s)));
        }
        if let Some(r) = h.rssi {
            u.metrics.push(Metric::number("rssi", "dBm", f64::from(r)));
        }
        if let Some(hops) = h.hops {
            u.metrics.push(Metric::number("hops_away", "", f64::from(hops)));
        }
        match &h.said {
            Said::Position { lat, lon, altitude, .. } => {
                if let Some(a) = altitude {
                    u.metrics.push(Metric::number("altitude", "m", f64::from(*a)));
                }
                self.position(&mut u, h.from, (*lat, *lon), h.rx_time, boat);
            }
            Said::User { id, long_name, short_name } => names(&mut u.metrics, long_name, short_name, id),
            Said::Telemetry { battery_level, voltage, temperature, wind_speed } => {
                u.metrics.extend(battery_level.map(|v| Metric::number("battery_level", "%", f64::from(v))));
                u.metrics.extend(voltage.map(|v| Metric::number("voltage", "V", f64::from(v))));
                u.metrics.extend(temperature.map(|v| Metric::number("temperature", "°C", f64::from(v))));
                u.metrics.extend(wind_speed.map(|v| Metric::number("wind_speed", "kn", f64::from(v) * KN_PER_MS)));
            }
            Said::RangeTest(seq) => u.metrics.push(Metric::number("range_test_seq", "", f64::from(*seq))),
            Said::Text(t) => u.metrics.push(Metric::text("last_text", t.clone())),
            Said::Encrypted => {
                self.telemetry.inc("halyard_decode_errors_total", &[("source", "meshtastic"), ("kind", "encrypted")])
            }
            Said::Other(_) => {}
        }
        if !u.metrics.is_empty() {
            out.push(u);
        }
    }

    /// A node's position, and its distance and bearings from us.
    fn position(&mut self, u: &mut Update, node: u32, p: (f64, f64), rx_time: u32, boat: Option<(f64, f64)>) {
        u.metrics.push(Metric::number("latitude", "°", p.0));
        u.metrics.push(Metric::number("longitude", "°", p.1));
        if Some(node) == self.me {
            self.own = Some(p);
            return;
        }
        let Some(us) = boat.or(self.own) else { return };
        let Some((distance, bearing)) = crate::geo::inverse(us, p) else { return };
        u.metrics.push(Metric::number("distance", "m", distance));
        u.metrics.push(Metric::number("bearing", "°", bearing));
        let day = if rx_time > 0 { i64::from(rx_time) / 86_400 } else { u.at.div_euclid(86_400_000) };
        match crate::geo::magnetic(bearing, us.0, us.1, day) {
            Ok((m, _)) => u.metrics.push(Metric::number("bearing_magnetic", "°", m)),
            Err(e) if !self.told_magnetic => {
                self.told_magnetic = true;
                tracing::warn!("mesh: {e}");
            }
            Err(_) => {}
        }
    }
}

fn names(m: &mut Vec<Metric>, long: &str, short: &str, id: &str) {
    if !long.is_empty() {
        m.push(Metric::text("long_name", long.to_owned()));
    }
    if !short.is_empty() {
        m.push(Metric::text("short_name", short.to_owned()));
    }
    if !id.is_empty() {
        m.push(Metric::text("node_id", id.to_owned()));
    }
}
