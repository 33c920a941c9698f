//! Meshtastic radios (marine.md §4): what a packet heard on the mesh says, from the stream API
//! (serial, TCP 4403: [`halyard_proto::meshtastic::StreamFramer`] + [`proto::FromRadio`]) or
//! from an MQTT gateway (protobuf [`proto::ServiceEnvelope`] or the firmware's JSON).
//!
//! Hops: a packet travelled `hop_start − hop_limit` hops; `hop_start = 0` means the sender's
//! firmware predates 2.3 and the count is unknown, not that it came direct (mesh.proto).

pub mod answers;
pub mod proto;
mod text;

use prost::Message;
use serde_json::Value as Json;

use proto::{mesh_packet, port, MeshPacket};

/// What a packet says.
#[derive(Debug, Clone, PartialEq)]
pub enum Said {
    /// A position, degrees and metres; `time` s since 1970 when the node knows it.
    Position {
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
        /// Altitude, m.
        altitude: Option<i32>,
        /// When taken.
        time: Option<u32>,
    },
    /// Who the node is.
    User {
        /// `!a1b2c3d4`.
        id: String,
        /// Long name.
        long_name: String,
        /// Short name.
        short_name: String,
    },
    /// Battery and radio, or sensors (whichever the packet carries; the other is empty).
    Telemetry {
        /// Battery, voltage, channel use, uptime.
        device: proto::DeviceMetrics,
        /// Temperature, humidity, pressure, wind.
        environment: proto::EnvironmentMetrics,
    },
    /// A range-test packet's sequence number (`seq N`).
    RangeTest(u32),
    /// A text message.
    Text(String),
    /// Encrypted with a key Halyard does not have.
    Encrypted,
    /// Another application, or a payload that does not decode.
    Other(i32),
}

/// One packet heard.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    /// Sender's node number.
    pub from: u32,
    /// Packet id.
    pub id: u32,
    /// Reception time, s since 1970 (0: unknown).
    pub rx_time: u32,
    /// SNR, dB.
    pub snr: Option<f32>,
    /// RSSI, dBm.
    pub rssi: Option<i32>,
    /// Hops travelled, when known.
    pub hops: Option<u32>,
    /// Through an MQTT gateway.
    pub via_mqtt: bool,
    /// What it says.
    pub said: Said,
}

/// A node number from `!a1b2c3d4` (or without the `!`).
pub fn parse_node_id(text: &str) -> Option<u32> {
    let hex = text.strip_prefix('!').unwrap_or(text);
    (hex.len() == 8).then(|| u32::from_str_radix(hex, 16).ok()).flatten()
}

/// `!a1b2c3d4` of a node number.
pub fn node_id(num: u32) -> String {
    format!("!{num:08x}")
}

fn position(p: &proto::Position) -> Option<Said> {
    let (lat, lon) = (p.latitude_i?, p.longitude_i?);
    // (0, 0) is what a node without a fix sends.
    if lat == 0 && lon == 0 {
        return None;
    }
    Some(Said::Position {
        lat: f64::from(lat) * 1e-7,
        lon: f64::from(lon) * 1e-7,
        altitude: p.altitude,
        time: (p.time != 0).then_some(p.time),
    })
}

/// Decode a packet.
pub fn heard(p: &MeshPacket) -> Heard {
    let said = match &p.payload {
        Some(mesh_packet::Payload::Encrypted(_)) => Said::Encrypted,
        None => Said::Other(0),
        Some(mesh_packet::Payload::Decoded(d)) => {
            let bytes = d.payload.as_slice();
            let other = Said::Other(d.portnum);
            match d.portnum {
                port::POSITION => proto::Position::decode(bytes).ok().and_then(|p| position(&p)).unwrap_or(other),
                port::NODEINFO => proto::User::decode(bytes).map_or(other, |u| Said::User {
                    id: u.id,
                    long_name: u.long_name,
                    short_name: u.short_name,
                }),
                port::TELEMETRY => proto::Telemetry::decode(bytes).map_or(other, |t| Said::Telemetry {
                    device: t.device_metrics.unwrap_or_default(),
                    environment: t.environment_metrics.unwrap_or_default(),
                }),
                port::RANGE_TEST => std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|t| t.trim().strip_prefix("seq ")?.trim().parse().ok())
                    .map_or(other, Said::RangeTest),
                port::TEXT => Said::Text(String::from_utf8_lossy(bytes).into_owned()),
                _ => other,
            }
        }
    };
    Heard {
        from: p.from,
        id: p.id,
        rx_time: p.rx_time,
        snr: (p.rx_snr != 0.0).then_some(p.rx_snr),
        rssi: (p.rx_rssi != 0).then_some(p.rx_rssi),
        hops: (p.hop_start != 0).then(|| p.hop_start.saturating_sub(p.hop_limit)),
        via_mqtt: p.via_mqtt,
        said,
    }
}

/// A packet in the firmware's MQTT JSON layout (`msh/<region>/2/json/…`); `None` when it is
/// not one.
pub fn heard_json(j: &Json) -> Option<Heard> {
    let num = |v: &Json| v.as_u64().and_then(|n| u32::try_from(n).ok());
    let payload = &j["payload"];
    let said = match j["type"].as_str()? {
        "position" => {
            let (lat, lon) = (payload["latitude_i"].as_i64()?, payload["longitude_i"].as_i64()?);
            Said::Position {
                lat: lat as f64 * 1e-7,
                lon: lon as f64 * 1e-7,
                altitude: payload["altitude"].as_i64().map(|a| a as i32),
                time: num(&payload["time"]),
            }
        }
        "nodeinfo" => Said::User {
            id: payload["id"].as_str()?.to_owned(),
            long_name: payload["longname"].as_str().unwrap_or_default().to_owned(),
            short_name: payload["shortname"].as_str().unwrap_or_default().to_owned(),
        },
        // The firmware's JSON flattens whichever metrics the packet carried into `payload`.
        "telemetry" => {
            let float = |k: &str| payload[k].as_f64().map(|v| v as f32);
            Said::Telemetry {
                device: proto::DeviceMetrics {
                    battery_level: num(&payload["battery_level"]),
                    voltage: float("voltage"),
                    channel_utilization: float("channel_utilization"),
                    air_util_tx: float("air_util_tx"),
                    uptime_seconds: num(&payload["uptime_seconds"]),
                },
                environment: proto::EnvironmentMetrics {
                    temperature: float("temperature"),
                    relative_humidity: float("relative_humidity"),
                    barometric_pressure: float("barometric_pressure"),
                    wind_direction: num(&payload["wind_direction"]),
                    wind_speed: float("wind_speed"),
                    wind_gust: float("wind_gust"),
                    wind_lull: float("wind_lull"),
                },
            }
        }
        // The firmware's JSON gives range-test packets as `text`; their `seq N` tells them.
        "text" => {
            let text = payload["text"].as_str().unwrap_or_default();
            match text.strip_prefix("seq ").and_then(|s| s.trim().parse().ok()) {
                Some(seq) => Said::RangeTest(seq),
                None => Said::Text(text.to_owned()),
            }
        }
        _ => Said::Other(0),
    };
    let hop_start = num(&j["hop_start"]).unwrap_or(0);
    Some(Heard {
        from: num(&j["from"])?,
        id: num(&j["id"])?,
        rx_time: num(&j["timestamp"]).unwrap_or(0),
        snr: j["snr"].as_f64().map(|v| v as f32),
        rssi: j["rssi"].as_i64().map(|v| v as i32),
        hops: match (hop_start, num(&j["hops_away"])) {
            (0, _) => None,
            (_, h) => h,
        },
        via_mqtt: false,
        said,
    })
}

/// `halyard mesh`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Definitions (halyard::mesh::answers): max range: positions heard directly only \
(hop_start − hop_limit = 0). Reliable range: range-test packets by 1 km distance band; the far edge of the \
unbroken run of bands from 0 m in which every band with at least two expected packets delivered ≥ 80 % \
(reliable_range_m); farthest_reliable_band_m: the farthest band with ≥ 80 %, wherever it lies.")]
pub struct Args {
    /// The configuration (store).
    #[arg(short, long, env = "HALYARD_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// The node to find (a configured name or a node id).
    #[arg(long, default_value = "dinghy")]
    node: String,
    /// The range-test sender's own log (`seq,tx_time,lat,lon,…` CSV) for the reliable range.
    #[arg(long)]
    sender_log: Option<std::path::PathBuf>,
    /// Width of the distance bands, m.
    #[arg(long, default_value_t = 1000.0)]
    band: f64,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Print where the node is, where everyone is, the ranges.
pub fn command(args: Args) -> anyhow::Result<()> {
    let config = crate::config::Config::load_or_default(args.config.as_deref())?;
    let mut store = crate::store::open(&config)?;
    let store = store.as_mut();
    let log = args.sender_log.as_ref().map(std::fs::read_to_string).transpose()?;
    let out = answers::summary(store, &args.node, log.as_deref(), args.band)?.ok_or_else(|| {
        anyhow::anyhow!("no Meshtastic node recorded (configure [[meshtastic]] or [mqtt_in] msh/ topics)")
    })?;
    if args.json {
        println!("{out}");
    } else {
        print!("{}", text::page(&out, &args.node, &config.calendar()?));
    }
    Ok(())
}
