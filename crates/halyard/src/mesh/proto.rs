//! The Meshtastic protobuf messages Halyard reads, written here from the documented field
//! numbers (marine.md §4.2; checked against the official Python package's descriptors), not
//! generated from the upstream `.proto` files, which are GPL-3.0 while Halyard is MIT OR
//! Apache-2.0. Unknown fields are skipped by prost, so newer firmware decodes too.

/// What the radio sends on the stream API.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FromRadio {
    /// Which message this is.
    #[prost(oneof = "from_radio::Variant", tags = "2, 3, 4, 7, 8")]
    pub variant: Option<from_radio::Variant>,
}

/// `FromRadio`'s variants.
pub mod from_radio {
    /// The oneof.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Variant {
        /// A packet heard on the mesh.
        #[prost(message, tag = "2")]
        Packet(super::MeshPacket),
        /// The radio's own node number.
        #[prost(message, tag = "3")]
        MyInfo(super::MyNodeInfo),
        /// One entry of the radio's node database.
        #[prost(message, tag = "4")]
        NodeInfo(super::NodeInfo),
        /// The end of the configuration dump asked with `want_config_id`.
        #[prost(uint32, tag = "7")]
        ConfigCompleteId(u32),
        /// The radio rebooted.
        #[prost(bool, tag = "8")]
        Rebooted(bool),
    }
}

/// What a client sends on the stream API (Halyard only asks for the configuration and sends
/// heartbeats: read-only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ToRadio {
    /// Which message this is.
    #[prost(oneof = "to_radio::Variant", tags = "1, 3, 7")]
    pub variant: Option<to_radio::Variant>,
}

/// `ToRadio`'s variants.
pub mod to_radio {
    /// The oneof.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Variant {
        /// A packet to send on the mesh: only an alarm's text, and only when the owner configured
        /// a Meshtastic notifier (`notify::radio`).
        #[prost(message, tag = "1")]
        Packet(super::MeshPacket),
        /// Send the node database and configuration, then `config_complete_id` = this.
        #[prost(uint32, tag = "3")]
        WantConfigId(u32),
        /// Keep a serial connection awake.
        #[prost(message, tag = "7")]
        Heartbeat(super::Heartbeat),
    }
}

/// `ToRadio.heartbeat` (no fields Halyard sets).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Heartbeat {}

/// A packet on the mesh.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MeshPacket {
    /// Sender's node number.
    #[prost(fixed32, tag = "1")]
    pub from: u32,
    /// Destination (0xFFFFFFFF: broadcast).
    #[prost(fixed32, tag = "2")]
    pub to: u32,
    /// Channel index.
    #[prost(uint32, tag = "3")]
    pub channel: u32,
    /// Decoded or encrypted.
    #[prost(oneof = "mesh_packet::Payload", tags = "4, 5")]
    pub payload: Option<mesh_packet::Payload>,
    /// Packet id.
    #[prost(fixed32, tag = "6")]
    pub id: u32,
    /// When the receiving radio got it, s since 1970 (0: unknown).
    #[prost(fixed32, tag = "7")]
    pub rx_time: u32,
    /// Signal-to-noise ratio at reception, dB.
    #[prost(float, tag = "8")]
    pub rx_snr: f32,
    /// Hops it may still travel.
    #[prost(uint32, tag = "9")]
    pub hop_limit: u32,
    /// Ask the destination for an acknowledgement (direct messages).
    #[prost(bool, tag = "10")]
    pub want_ack: bool,
    /// Received signal strength, dBm.
    #[prost(int32, tag = "12")]
    pub rx_rssi: i32,
    /// Came through an MQTT gateway, not the radio.
    #[prost(bool, tag = "14")]
    pub via_mqtt: bool,
    /// The hop limit it started with (0: unknown, firmware before 2.3).
    #[prost(uint32, tag = "15")]
    pub hop_start: u32,
}

/// `MeshPacket`'s payload.
pub mod mesh_packet {
    /// The oneof.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Payload {
        /// Readable.
        #[prost(message, tag = "4")]
        Decoded(super::Data),
        /// Encrypted with a channel key Halyard does not have.
        #[prost(bytes, tag = "5")]
        Encrypted(Vec<u8>),
    }
}

/// A packet's application payload.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Data {
    /// The application (`PortNum`): 1 text, 3 position, 4 node info, 66 range test, 67 telemetry…
    #[prost(int32, tag = "1")]
    pub portnum: i32,
    /// Its protobuf (or text).
    #[prost(bytes, tag = "2")]
    pub payload: Vec<u8>,
}

/// `PortNum` values Halyard reads (meshtastic portnums.proto).
pub mod port {
    /// Text messages.
    pub const TEXT: i32 = 1;
    /// `Position`.
    pub const POSITION: i32 = 3;
    /// `User`.
    pub const NODEINFO: i32 = 4;
    /// Range-test text, `seq N`.
    pub const RANGE_TEST: i32 = 66;
    /// `Telemetry`.
    pub const TELEMETRY: i32 = 67;
}

/// A position report.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Position {
    /// Latitude × 1e7.
    #[prost(sfixed32, optional, tag = "1")]
    pub latitude_i: Option<i32>,
    /// Longitude × 1e7.
    #[prost(sfixed32, optional, tag = "2")]
    pub longitude_i: Option<i32>,
    /// Altitude above mean sea level, m.
    #[prost(int32, optional, tag = "3")]
    pub altitude: Option<i32>,
    /// When the position was taken, s since 1970.
    #[prost(fixed32, tag = "4")]
    pub time: u32,
    /// The GPS's own time stamp, s since 1970.
    #[prost(fixed32, tag = "7")]
    pub timestamp: u32,
    /// Ground speed, m/s.
    #[prost(uint32, optional, tag = "15")]
    pub ground_speed: Option<u32>,
    /// Satellites in view.
    #[prost(uint32, tag = "19")]
    pub sats_in_view: u32,
    /// Bits of precision kept (the channel may blur positions).
    #[prost(uint32, tag = "23")]
    pub precision_bits: u32,
}

/// A node's user record.
#[derive(Clone, PartialEq, prost::Message)]
pub struct User {
    /// `!a1b2c3d4`.
    #[prost(string, tag = "1")]
    pub id: String,
    /// Long name.
    #[prost(string, tag = "2")]
    pub long_name: String,
    /// Short name (4 characters).
    #[prost(string, tag = "3")]
    pub short_name: String,
    /// Hardware model (`HardwareModel`).
    #[prost(int32, tag = "5")]
    pub hw_model: i32,
    /// Role (`Config.DeviceConfig.Role`).
    #[prost(int32, tag = "7")]
    pub role: i32,
}

/// One node of the radio's database.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeInfo {
    /// Node number.
    #[prost(uint32, tag = "1")]
    pub num: u32,
    /// Its user record.
    #[prost(message, optional, tag = "2")]
    pub user: Option<User>,
    /// Its last position.
    #[prost(message, optional, tag = "3")]
    pub position: Option<Position>,
    /// SNR of the last reception, dB.
    #[prost(float, tag = "4")]
    pub snr: f32,
    /// Last heard, s since 1970.
    #[prost(fixed32, tag = "5")]
    pub last_heard: u32,
    /// Its last device metrics.
    #[prost(message, optional, tag = "6")]
    pub device_metrics: Option<DeviceMetrics>,
    /// Heard through MQTT.
    #[prost(bool, tag = "8")]
    pub via_mqtt: bool,
    /// Hops away when last heard.
    #[prost(uint32, optional, tag = "9")]
    pub hops_away: Option<u32>,
}

/// The radio's own identity.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MyNodeInfo {
    /// Our node number.
    #[prost(uint32, tag = "1")]
    pub my_node_num: u32,
}

/// A telemetry report.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Telemetry {
    /// When, s since 1970.
    #[prost(fixed32, tag = "1")]
    pub time: u32,
    /// The node's battery and radio.
    #[prost(message, optional, tag = "2")]
    pub device_metrics: Option<DeviceMetrics>,
    /// Its sensors.
    #[prost(message, optional, tag = "3")]
    pub environment_metrics: Option<EnvironmentMetrics>,
}

/// `DeviceMetrics`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeviceMetrics {
    /// Battery, % (101: powered).
    #[prost(uint32, optional, tag = "1")]
    pub battery_level: Option<u32>,
    /// Battery voltage, V.
    #[prost(float, optional, tag = "2")]
    pub voltage: Option<f32>,
    /// Channel utilisation, %.
    #[prost(float, optional, tag = "3")]
    pub channel_utilization: Option<f32>,
    /// Transmit airtime, %.
    #[prost(float, optional, tag = "4")]
    pub air_util_tx: Option<f32>,
    /// Uptime, s.
    #[prost(uint32, optional, tag = "5")]
    pub uptime_seconds: Option<u32>,
}

/// `EnvironmentMetrics` (the fields a boat uses).
#[derive(Clone, PartialEq, prost::Message)]
pub struct EnvironmentMetrics {
    /// °C.
    #[prost(float, optional, tag = "1")]
    pub temperature: Option<f32>,
    /// %.
    #[prost(float, optional, tag = "2")]
    pub relative_humidity: Option<f32>,
    /// hPa.
    #[prost(float, optional, tag = "3")]
    pub barometric_pressure: Option<f32>,
    /// Degrees.
    #[prost(uint32, optional, tag = "13")]
    pub wind_direction: Option<u32>,
    /// m/s.
    #[prost(float, optional, tag = "14")]
    pub wind_speed: Option<f32>,
    /// m/s.
    #[prost(float, optional, tag = "16")]
    pub wind_gust: Option<f32>,
    /// m/s.
    #[prost(float, optional, tag = "17")]
    pub wind_lull: Option<f32>,
}

/// What an MQTT gateway publishes on `msh/<region>/2/e/<channel>/<gateway>`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ServiceEnvelope {
    /// The packet.
    #[prost(message, optional, tag = "1")]
    pub packet: Option<MeshPacket>,
    /// Channel name.
    #[prost(string, tag = "2")]
    pub channel_id: String,
    /// The gateway node's `!id`.
    #[prost(string, tag = "3")]
    pub gateway_id: String,
}
