//! `halyard decode meshtastic FILE`: a Meshtastic radio's stream (serial or TCP 4403: frames
//! `0x94 0xC3 <length> <FromRadio>` between debug text) → one JSON line per frame: our node,
//! each node of the radio's database, the end of the configuration, and each packet as Halyard
//! reads it (sender, hops, signal, and what it says); `--logs` adds the debug text lines.

use std::path::PathBuf;

use anyhow::Result;
use halyard_proto::meshtastic::{Event, StreamFramer};
use prost::Message;
use serde_json::{json, Value as Json};

use crate::mesh::{self, proto, Heard, Said};

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stream as read from the radio, or `-` for standard input.
    file: PathBuf,
    /// Also print the firmware's debug text between frames.
    #[arg(long)]
    logs: bool,
}

/// Decode and print.
pub fn run(args: Args) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut framer = StreamFramer::new();
    super::for_each_chunk(&args.file, &mut out, |out, bytes| {
        let mut result = Ok(());
        framer.push_all(bytes, |e| {
            let line = match e {
                Event::Frame(p) => Some(match proto::FromRadio::decode(p) {
                    Ok(m) => from_radio_json(&m),
                    Err(e) => json!({ "error": format!("not a FromRadio message: {e}") }),
                }),
                Event::BadLength(n) => Some(json!({ "error": format!("frame length {n} over the stream API's 512") })),
                Event::Log(l) if args.logs => Some(json!({ "log": String::from_utf8_lossy(l).trim_end() })),
                Event::Log(_) => None,
            };
            if let (Some(line), true) = (line, result.is_ok()) {
                result = super::writeln_json(out, &line);
            }
        });
        result
    })
}

fn from_radio_json(m: &proto::FromRadio) -> Json {
    use proto::from_radio::Variant;
    match &m.variant {
        Some(Variant::MyInfo(i)) => json!({ "kind": "my_info", "node": mesh::node_id(i.my_node_num) }),
        Some(Variant::NodeInfo(n)) => {
            let u = n.user.clone().unwrap_or_default();
            let p = n.position.as_ref();
            let d = n.device_metrics.as_ref();
            json!({
                "kind": "node_info",
                "node": mesh::node_id(n.num),
                "long_name": u.long_name,
                "short_name": u.short_name,
                "hw_model": u.hw_model,
                "lat": p.and_then(|p| p.latitude_i).map(degrees),
                "lon": p.and_then(|p| p.longitude_i).map(degrees),
                "last_heard": (n.last_heard > 0).then(|| crate::sinks::mqtt::rfc3339(i64::from(n.last_heard) * 1000)),
                "snr": (n.snr != 0.0).then_some(n.snr),
                "hops_away": n.hops_away,
                "battery_level": d.and_then(|d| d.battery_level),
                "voltage": d.and_then(|d| d.voltage),
            })
        }
        Some(Variant::ConfigCompleteId(id)) => json!({ "kind": "config_complete", "id": id }),
        Some(Variant::Rebooted(_)) => json!({ "kind": "rebooted" }),
        Some(Variant::Packet(p)) => {
            let mut j = heard_json(&mesh::heard(p));
            j["to"] = mesh::node_id(p.to).into();
            j
        }
        None => json!({ "kind": "other" }),
    }
}

/// Degrees from the protobuf's 1e-7 units, without the binary float's noise.
fn degrees(v: i32) -> f64 {
    crate::json::round(f64::from(v) * 1e-7, 7)
}

/// A packet as Halyard reads it.
pub fn heard_json(h: &Heard) -> Json {
    let said = match &h.said {
        Said::Position { lat, lon, altitude, time } => json!({ "position": {
            "lat": crate::json::round(*lat, 7), "lon": crate::json::round(*lon, 7), "altitude_m": altitude, "time": time,
        } }),
        Said::User { id, long_name, short_name } => {
            json!({ "user": { "id": id, "long_name": long_name, "short_name": short_name } })
        }
        Said::Telemetry { device: d, environment: e } => json!({ "telemetry": {
            "battery_level": d.battery_level, "voltage": d.voltage, "channel_utilization": d.channel_utilization,
            "air_util_tx": d.air_util_tx, "uptime_s": d.uptime_seconds, "temperature_c": e.temperature,
            "humidity": e.relative_humidity, "pressure_hpa": e.barometric_pressure, "wind_direction": e.wind_direction,
            "wind_speed_ms": e.wind_speed, "wind_gust_ms": e.wind_gust, "wind_lull_ms": e.wind_lull,
        } }),
        Said::RangeTest(seq) => json!({ "range_test_seq": seq }),
        Said::Text(t) => json!({ "text": t }),
        Said::Encrypted => json!({ "encrypted": true }),
        Said::Other(port) => json!({ "portnum": port }),
    };
    json!({
        "kind": "packet",
        "from": mesh::node_id(h.from),
        "id": h.id,
        "rx_time": (h.rx_time > 0).then(|| crate::sinks::mqtt::rfc3339(i64::from(h.rx_time) * 1000)),
        "snr": h.snr,
        "rssi": h.rssi,
        "hops": h.hops,
        "via_mqtt": h.via_mqtt,
        "says": said,
    })
}
