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
    /// The last time given to a live message.
    last_at: Millis,
}

impl MeshIngest {
    /// Empty.
    pub fn new(telemetry: Arc<Telemetry>) -> Self {
        MeshIngest { framers: HashMap::new(), me: None, own: None, telemetry, told_magnetic: false, last_at: 0 }
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
                telemetry.frame(source, at);
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
                    let at = if log && n.last_heard > 0 { i64::from(n.last_heard) * 1000 } else { self.live(at) };
                    self.node_info(at, &n, boat, out)
                }
                Some(Variant::Packet(p)) => {
                    let at = if log && p.rx_time > 0 { i64::from(p.rx_time) * 1000 } else { self.live(at) };
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
        self.telemetry.frame("meshtastic_mqtt", at);
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
            Some(h) => {
                let at = self.live(at);
                self.packet(at, &h, boat, out)
            }
            None => self
                .telemetry
                .inc("halyard_decode_errors_total", &[("source", "meshtastic_mqtt"), ("kind", "undecodable")]),
        }
        true
    }

    /// A live message's time: its arrival, but after the one before. On connecting, a radio
    /// sends its node database and the packets it queued for us in one burst; in the order
    /// they come each is newer than the one before, so the store (which keeps the first of
    /// two samples with the same time) keeps the newest position, not the oldest.
    fn live(&mut self, at: Millis) -> Millis {
        self.last_at = at.max(self.last_at + 1);
        self.last_at
    }

    fn node_info(&mut self, at: Millis, n: &proto::NodeInfo, boat: Option<(f64, f64)>, out: &mut Vec<Update>) {
        let mut u = Update::new(at, Identity::Mesh(n.num), "mesh_node", "meshtastic");
        if let Some(user) = &n.user {
            names(&mut u.metrics, &user.long_name, &user.short_name, &user.id);
        }
        if let Some(hops) = n.hops_away {
            u.metrics.push(Metric::number("hops_away", "", f64::from(hops)));
        }
        if n.snr != 0.0 {
            u.metrics.push(Metric::number("snr", "dB", f64::from(n.snr)));
        }
        if let Some(d) = &n.device_metrics {
            device_metrics(&mut u.metrics, d);
        }
        if let Some(p) =
            n.position.as_ref().and_then(|p| Some((f64::from(p.latitude_i?) * 1e-7, f64::from(p.longitude_i?) * 1e-7)))
        {
            if p != (0.0, 0.0) {
                let _ = self.position(&mut u, n.num, p, n.last_heard, boat);
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
                let distance = self.position(&mut u, h.from, (*lat, *lon), h.rx_time, boat);
                // Heard straight from the node (hop_start − hop_limit = 0, not unknown): a range
                // the radios attained (mesh::answers::max_range).
                if let (Some(0), false, Some(d)) = (h.hops, h.via_mqtt, distance) {
                    u.metrics.push(Metric::number("direct_distance", "m", d));
                }
            }
            Said::User { id, long_name, short_name } => names(&mut u.metrics, long_name, short_name, id),
            Said::Telemetry { device, environment } => {
                device_metrics(&mut u.metrics, device);
                let e = environment;
                let metrics = [
                    ("temperature", "°C", e.temperature),
                    ("humidity", "%", e.relative_humidity),
                    ("pressure", "hPa", e.barometric_pressure),
                    ("wind_speed", "kn", e.wind_speed.map(|v| v * KN_PER_MS as f32)),
                    ("wind_gust", "kn", e.wind_gust.map(|v| v * KN_PER_MS as f32)),
                    ("wind_lull", "kn", e.wind_lull.map(|v| v * KN_PER_MS as f32)),
                ];
                u.metrics.extend(
                    metrics.into_iter().filter_map(|(n, unit, v)| Some(Metric::number(n, unit, f64::from(v?)))),
                );
                u.metrics.extend(e.wind_direction.map(|v| Metric::number("wind_direction", "°", f64::from(v))));
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

    /// A node's position, and its distance (returned) and bearings from us.
    fn position(
        &mut self,
        u: &mut Update,
        node: u32,
        p: (f64, f64),
        rx_time: u32,
        boat: Option<(f64, f64)>,
    ) -> Option<f64> {
        u.metrics.push(Metric::number("latitude", "°", p.0));
        u.metrics.push(Metric::number("longitude", "°", p.1));
        if Some(node) == self.me {
            self.own = Some(p);
            return None;
        }
        let us = boat.or(self.own)?;
        let (distance, bearing) = crate::geo::inverse(us, p)?;
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
        Some(distance)
    }
}

/// A node's battery and radio figures (from its telemetry, or the radio's node database).
fn device_metrics(m: &mut Vec<Metric>, d: &proto::DeviceMetrics) {
    m.extend(d.battery_level.map(|v| Metric::number("battery_level", "%", f64::from(v))));
    m.extend(d.voltage.map(|v| Metric::number("voltage", "V", f64::from(v))));
    m.extend(d.channel_utilization.map(|v| Metric::number("channel_utilization", "%", f64::from(v))));
    m.extend(d.air_util_tx.map(|v| Metric::number("air_util_tx", "%", f64::from(v))));
    m.extend(d.uptime_seconds.map(|v| Metric::number("uptime", "s", f64::from(v))));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Reading;

    fn position_packet(hop_start: u32, hop_limit: u32, via_mqtt: bool) -> Heard {
        Heard {
            from: 7,
            id: 1,
            rx_time: 0,
            snr: None,
            rssi: None,
            hops: (hop_start != 0).then(|| hop_start - hop_limit),
            via_mqtt,
            said: Said::Position { lat: 60.0, lon: 23.5, altitude: None, time: None },
        }
    }

    fn number(u: &Update, name: &str) -> Option<f64> {
        u.metrics.iter().find(|m| m.name == name).and_then(|m| match m.value {
            Some(Reading::Number(v)) => Some(v),
            _ => None,
        })
    }

    /// Only a position heard straight from its node, with a known hop count and not through an
    /// MQTT gateway, is a range the radios attained.
    #[test]
    fn direct_distance_only_for_direct_receptions() {
        let mut mesh = MeshIngest::new(Arc::new(Telemetry::default()));
        let boat = Some((59.98, 23.435));
        let mut cases = Vec::new();
        for (hop_start, hop_limit, via_mqtt) in [(3, 3, false), (3, 1, false), (0, 0, false), (7, 7, true)] {
            let mut out = Vec::new();
            mesh.packet(1_000, &position_packet(hop_start, hop_limit, via_mqtt), boat, &mut out);
            cases.push((number(&out[0], "distance").is_some(), number(&out[0], "direct_distance").is_some()));
        }
        assert_eq!(cases, [(true, true), (true, false), (true, false), (true, false)]);
    }

    /// A burst of live messages in one millisecond gets one time each, in order.
    #[test]
    fn live_times_follow_the_order_of_arrival() {
        let mut mesh = MeshIngest::new(Arc::new(Telemetry::default()));
        let times: Vec<Millis> = [5_000, 5_000, 5_000, 4_000, 9_000].iter().map(|t| mesh.live(*t)).collect();
        assert_eq!(times, [5_000, 5_001, 5_002, 5_003, 9_000]);
    }
}
