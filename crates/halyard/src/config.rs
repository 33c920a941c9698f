//! `halyard.toml` (DESIGN.md §4.4): every setting has a default, so no file at all means the
//! embedded defaults; a bad file is refused with the line and the key that are wrong.
//!
//! Secrets (Instant Readout keys, the VE.Smart network key, the broker password) are held in
//! [`Secret`]/[`Key`], whose `Debug` never shows them, and may live in a separate keys file
//! readable by the daemon only.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Deserializer};

/// The whole configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where Halyard keeps its state (the MQTT outbox, later the store). Default: systemd's
    /// `$STATE_DIRECTORY`, else `$XDG_STATE_HOME/halyard`, else `~/.local/state/halyard`.
    pub data_dir: Option<PathBuf>,
    /// A TOML file with `[keys]` (address or serial → key) and `network_key`, readable by the
    /// daemon only (mode 0600), so the main file can be shared.
    pub keys_file: Option<PathBuf>,
    /// Time zone of "a day" (an IANA name such as `Europe/Paris`). Default: the system's, else UTC.
    pub timezone: Option<String>,
    /// The history store.
    pub store: StoreSettings,
    /// MQTT publishing.
    pub mqtt: Mqtt,
    /// The embedded broker, used when no broker is configured or found.
    pub broker: Broker,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// The web dashboard.
    pub web: WebSettings,
    /// The Signal K server beside the dashboard.
    pub signalk: crate::signalk::Settings,
    /// Every value to InfluxDB as well (`[influx]`; off unless the section is present).
    pub influx: Option<crate::sinks::influx::Settings>,
    /// Logging.
    pub log: Log,
    /// The model: refresh and staleness.
    pub model: ModelSettings,
    /// Victron BLE through BlueZ.
    pub bluetooth: Bluetooth,
    /// The VE.Smart network whose broadcasts to decrypt.
    pub venetworking: Option<VeNetworking>,
    /// VE.Direct serial ports.
    pub vedirect: Vec<VeDirectPort>,
    /// MasterBus (CAN) sources.
    pub masterbus: Vec<MasterBusSource>,
    /// NMEA 0183 sources (GPS, wind, depth, AIS).
    pub nmea: Vec<NmeaSource>,
    /// NMEA 2000 buses (listen-only).
    pub n2k: Vec<N2kSource>,
    /// Halyard's devices sent on NMEA 2000 (off unless `enabled = true`).
    pub n2k_out: crate::sources::n2k::transmit::Settings,
    /// Meshtastic radios (stream API). A gateway's MQTT topics go in `[mqtt_in] topics`.
    pub meshtastic: Vec<MeshtasticSource>,
    /// Other nodes' raw topics to read back into the model.
    pub mqtt_in: MqttIn,
    /// Other Bluetooth gateways' JSON adverts over MQTT: where the address and the advert are.
    pub ble_json: Vec<crate::ingest::ble_json::Mapping>,
    /// ESPHome Bluetooth proxies (native API): their Victron adverts, read with this file's keys.
    pub esphome: Vec<crate::sources::esphome::Settings>,
    /// Victron GX devices (Venus OS) read through their MQTT, read-only.
    pub venus: Vec<crate::sources::venus::Settings>,
    /// Known devices.
    pub device: Vec<Device>,
    /// The system clock and GPS time.
    pub clock: ClockSettings,
    /// Alarm rules (`[[alarm]]`).
    pub alarm: Vec<crate::alarms::AlarmRule>,
    /// The built-in alarms (`[alarms]`).
    pub alarms: crate::alarms::AlarmSettings,
    /// Notifiers by name (`[notify.<name>]`), which alarms name in `notify`.
    pub notify: std::collections::BTreeMap<String, crate::notify::NotifierSettings>,
}

/// `[clock]`: when the system clock is not synchronised (no NTP at sea, a Pi without a real-time
/// clock), readings are stamped from GPS time (RMC/ZDA) instead; see `ingest::clock`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClockSettings {
    /// Also set the system clock from GPS time (needs `CAP_SYS_TIME`: root, or the unit's
    /// `AmbientCapabilities=CAP_SYS_TIME` with `ProtectClock=no`). Off by default: Halyard
    /// changes nothing on the machine unless asked.
    pub set_system_time: bool,
}

/// `[mqtt]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mqtt {
    /// `mqtt://[user@]host[:port]` or `mqtts://…` (feature `tls`). Unset: look for a broker by
    /// mDNS, else start the embedded one.
    pub url: Option<String>,
    /// Look for a `_mqtt._tcp` broker by mDNS when no URL is set.
    pub mdns: bool,
    /// Client id. Default: `halyard-<hostname>` (`halyard-replay-<pid>` for a replay).
    pub client_id: Option<String>,
    /// User name.
    pub username: Option<String>,
    /// Password (or put it in `password_file`).
    pub password: Option<Secret>,
    /// A file whose first line is the password.
    pub password_file: Option<PathBuf>,
    /// CA certificate (PEM) for `mqtts://`; unset: the system's roots.
    pub ca_file: Option<PathBuf>,
    /// QoS of value publishes (0, 1 or 2).
    #[serde(deserialize_with = "qos")]
    pub qos: u8,
    /// Root of the human-readable topics.
    pub root: String,
    /// Publish monitorPowerToMQTT's raw topic trees.
    pub raw_topics: RawTopics,
    /// `<root>/<device>/<metric>` topics.
    pub named_topics: bool,
    /// `<root>/<device>/state` JSON.
    pub state_json: bool,
    /// Home Assistant discovery.
    pub home_assistant: bool,
    /// Home Assistant's discovery prefix.
    pub discovery_prefix: String,
    /// Warnings and errors on `<root>/log`.
    pub log_topic: bool,
    /// At most this many log lines per minute on `<root>/log` (and syslog).
    pub log_lines_per_minute: u32,
    /// Also send warnings and errors to a syslog server (`udp://host:514`).
    pub syslog: Option<String>,
    /// The on-disk outbox holds at most this many MiB; beyond, the oldest are dropped (counted).
    pub outbox_max_mib: u64,
    /// Keep-alive in seconds.
    pub keep_alive_seconds: u64,
    /// Statistics windows on `<root>/stats/…`, minutes (0: off).
    pub stats_minutes: u32,
}

impl Default for Mqtt {
    fn default() -> Self {
        Mqtt {
            url: None,
            mdns: true,
            client_id: None,
            username: None,
            password: None,
            password_file: None,
            ca_file: None,
            qos: 1,
            root: "halyard".into(),
            raw_topics: RawTopics::default(),
            named_topics: true,
            state_json: true,
            home_assistant: true,
            discovery_prefix: "homeassistant".into(),
            log_topic: true,
            log_lines_per_minute: 20,
            syslog: None,
            outbox_max_mib: 64,
            keep_alive_seconds: 15,
            stats_minutes: 15,
        }
    }
}

/// `[mqtt.raw_topics]`: each of monitorPowerToMQTT's trees can be switched off.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawTopics {
    /// `venetworking/<SERIAL>/<REG>`.
    pub venetworking: bool,
    /// `vedirect/<SERIAL>/<REG>` and `vedirect/<SERIAL>/text/<LABEL>`.
    pub vedirect: bool,
    /// `masterbus/0x<DEVICE>/0x<ITEM>`.
    pub masterbus: bool,
    /// `victron/<MAC>/raw`.
    pub victron: bool,
}

impl Default for RawTopics {
    fn default() -> Self {
        RawTopics { venetworking: true, vedirect: true, masterbus: true, victron: true }
    }
}

impl RawTopics {
    /// Whether a raw topic's tree is on.
    pub fn allows(&self, topic: &str) -> bool {
        match topic.split('/').next() {
            Some("venetworking") => self.venetworking,
            Some("vedirect") => self.vedirect,
            Some("masterbus") => self.masterbus,
            Some("victron") => self.victron,
            _ => false,
        }
    }
}

/// `[broker]`: the embedded broker.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Broker {
    /// Start it when no broker is configured or found.
    pub enabled: bool,
    /// Listen address. Loopback by default; `0.0.0.0:1883` lets ESP32 nodes connect, and only
    /// then is it advertised by mDNS (a loopback address is useless to anyone else).
    pub listen: String,
}

impl Default for Broker {
    fn default() -> Self {
        Broker { enabled: true, listen: "127.0.0.1:1883".into() }
    }
}

/// `[metrics]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Metrics {
    /// Prometheus `/metrics` listen address; empty switches it off.
    pub listen: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics { listen: "127.0.0.1:9651".into() }
    }
}

/// `[web]`: the dashboard.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebSettings {
    /// Listen address; empty switches the dashboard off. Loopback by default: anything else
    /// needs `token`.
    pub listen: String,
    /// The token a browser must present (`?token=…` once, then a cookie) when the dashboard
    /// listens beyond loopback. A secret: never logged.
    pub token: Option<Secret>,
    /// An online map tile layer (`https://…/{z}/{x}/{y}.png`) drawn over the built-in offline
    /// coastline when the browser can reach it. Empty (the default): offline only — a boat at sea
    /// has no network, and tile servers have usage policies the owner should choose to accept.
    pub tiles: String,
    /// The tile layer's attribution, shown on the map as its licence requires.
    pub tiles_attribution: String,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            listen: "127.0.0.1:8080".into(),
            token: None,
            tiles: String::new(),
            tiles_attribution: String::new(),
        }
    }
}

/// `[log]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Log {
    /// `info`, `debug`, or any `RUST_LOG`-style filter (the environment's `RUST_LOG` wins).
    pub level: String,
    /// `auto` (journald under systemd, else text), `text`, `json` or `journald`.
    pub format: String,
}

impl Default for Log {
    fn default() -> Self {
        Log { level: "info".into(), format: "auto".into() }
    }
}

/// `[store]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSettings {
    /// Record history.
    pub enabled: bool,
    /// `sqlite` (embedded, the default) or `postgres` (feature `postgres`).
    pub backend: String,
    /// The SQLite file. Default: `<data_dir>/halyard.sqlite`.
    pub path: Option<PathBuf>,
    /// PostgreSQL connection string (`postgresql://user@host/db`); a secret, never logged.
    pub url: Option<Secret>,
    /// Raw samples are kept this many days.
    pub raw_days: u32,
    /// 1-minute rollups are kept this many days (about 100,000 rows a day for a boat of 70
    /// series, the bulk of the store); hour and day rollups forever.
    pub minute_days: u32,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings { enabled: true, backend: "sqlite".into(), path: None, url: None, raw_days: 30, minute_days: 90 }
    }
}

/// `[model]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSettings {
    /// Unchanged values are published again after this many seconds.
    pub refresh_seconds: u64,
    /// A device not heard for this many seconds no longer counts in network totals.
    pub stale_seconds: u64,
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings { refresh_seconds: 60, stale_seconds: 300 }
    }
}

/// `[bluetooth]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Bluetooth {
    /// `auto`: scan when any device has a key or a VE.Smart network is configured.
    pub enabled: Option<bool>,
    /// Adapter name (`hci0`); unset: BlueZ's default adapter.
    pub adapter: Option<String>,
    /// Several adapters at once (`["hci0", "hci1"]`: one in the saloon, a USB dongle on a
    /// cable up the mast); an advert heard by more than one is decoded once.
    pub adapters: Vec<String>,
}

impl Bluetooth {
    /// The adapters to scan with: `adapters`, else `adapter`, else BlueZ's default (`None`).
    pub fn scanned(&self) -> Vec<Option<String>> {
        if self.adapters.is_empty() {
            vec![self.adapter.clone()]
        } else {
            self.adapters.iter().cloned().map(Some).collect()
        }
    }
}

/// `[venetworking]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VeNetworking {
    /// The 4-hex-digit network id (VictronConnect → VE.Smart networking).
    #[serde(deserialize_with = "network_id")]
    pub network_id: [u8; 2],
    /// The network key (or `network_key` in the keys file).
    pub key: Option<Key>,
}

/// `[[vedirect]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VeDirectPort {
    /// The serial device (`/dev/ttyUSB0`, `/dev/serial/by-id/…`).
    pub port: String,
    /// Registers to read with HEX GET, e.g. `["0xEDBC", "0xEDD3"]` (a GET changes nothing).
    #[serde(default, deserialize_with = "registers")]
    pub poll: Vec<u16>,
    /// Seconds between polls.
    #[serde(default = "ten")]
    pub poll_seconds: u64,
    /// Allow `set`: off by default, nothing is ever written to a device without it.
    #[serde(default)]
    pub allow_writes: bool,
    /// Registers to SET once after each connect, register → value as little-endian hex
    /// (`"0xEDF0" = "9600"`). Needs `allow_writes`; each write is logged.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
}

fn ten() -> u64 {
    10
}

/// `[[masterbus]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MasterBusSource {
    /// `slcan:/dev/ttyACM0`, `ecan:HOST[:PORT]`, `socketcan:can0`.
    #[serde(deserialize_with = "can_spec")]
    pub source: crate::sources::can::Spec,
    /// Take part in the bus (announce, ask devices to describe themselves, poll). Off by default.
    #[serde(default)]
    pub active: bool,
    /// Items to poll in active mode, `DEVICE:ITEM[@SECONDS]`.
    #[serde(default)]
    pub poll: Vec<String>,
}

/// `[[nmea]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NmeaSource {
    /// `serial:/dev/ttyUSB1[@4800]`, `tcp:HOST:PORT`, `udp:ADDRESS:PORT`, `gpsd[:HOST[:PORT]]`.
    #[serde(deserialize_with = "nmea_spec")]
    pub source: crate::sources::nmea::Spec,
}

/// `[[n2k]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct N2kSource {
    /// `socketcan:can0`, `slcan:/dev/ttyACM0`, `ecan:HOST[:PORT]`, `ydwg:HOST[:1457]`,
    /// `ydwg-udp:[ADDRESS:]PORT`, `actisense:/dev/ttyUSB0[@115200]`.
    #[serde(deserialize_with = "n2k_spec")]
    pub source: crate::sources::n2k::Spec,
}

/// `[[meshtastic]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshtasticSource {
    /// `serial:/dev/ttyACM0` or `tcp:HOST[:4403]`.
    #[serde(deserialize_with = "mesh_spec")]
    pub source: crate::sources::mesh::Spec,
}

/// `[mqtt_in]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttIn {
    /// Subscribe to these raw-topic filters and feed them to the model (ESP32 nodes publish
    /// the same raw topics as the gateway, and `victron/<mac>/advert`: the adverts they hear,
    /// decoded here with this gateway's keys).
    pub topics: Vec<String>,
}

/// `[[device]]`: one physical device, however it is seen.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// Friendly name, used in topics (`port-arch`): lower case, digits, `-` and `_`.
    #[serde(deserialize_with = "device_name")]
    pub name: String,
    /// `solar`, `battery`, `dump_load`, `inverter`, `charger`, `load` … (free text, for the
    /// analytics and Home Assistant).
    #[serde(default)]
    pub role: Option<String>,
    /// A group such as `port-arch`, for comparisons between groups.
    #[serde(default)]
    pub group: Option<String>,
    /// Bluetooth address of its Instant Readout adverts.
    #[serde(default, deserialize_with = "mac")]
    pub mac: Option<[u8; 6]>,
    /// Victron serial (`HQ1840MAEI4`): matches VE.Direct `SER#` and, by its last five
    /// characters, VE.Smart networking's `HQyywwMAEI4`.
    #[serde(default)]
    pub serial: Option<String>,
    /// MasterBus device number (`0x31297`).
    #[serde(default, deserialize_with = "masterbus_device")]
    pub masterbus: Option<u32>,
    /// VE.Direct port, for devices whose serial is not known yet.
    #[serde(default)]
    pub port: Option<String>,
    /// Meshtastic node id (`!0dd1e901`): name a radio (`dinghy`: topics `halyard/mesh/dinghy/…`).
    #[serde(default, deserialize_with = "mesh_node")]
    pub meshtastic: Option<u32>,
    /// A Victron GX's device without a serial number, as `service/instance` (`tank/20`,
    /// `temperature/24`, `system/0`): the names `[[venus]]` gives such devices otherwise.
    #[serde(default, deserialize_with = "gx_device")]
    pub gx: Option<String>,
    /// An NMEA 2000 device as `kind/instance` (`battery/1`, `charger/0`, `tank-fuel/0`,
    /// `engine/1`): the names `[[n2k]]` gives such devices otherwise (`battery-1`).
    #[serde(default, deserialize_with = "n2k_device")]
    pub n2k: Option<(String, u32)>,
    /// With several receivers (adapters, proxies), the one to take this device's adverts from
    /// while it hears them (`bluetooth:hci1`, `esphome:saloon`); the others stand in.
    #[serde(default)]
    pub receiver: Option<String>,
    /// Instant Readout key (or in the keys file under the address).
    #[serde(default)]
    pub key: Option<Key>,
    /// A battery's chemistry (`lead`, `agm`, `gel`, `lifepo4`), for its voltage alarms.
    #[serde(default)]
    pub chemistry: Option<crate::alarms::battery::Chemistry>,
    /// A battery's nominal voltage (12, 24, 36 or 48 V); else read from its first reading.
    #[serde(default, deserialize_with = "nominal_voltage")]
    pub nominal_voltage: Option<f64>,
}

/// A 16-byte key; never printed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key(pub [u8; 16]);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        crate::keys::parse_key("the key", &text).map(Key).map_err(|e| serde::de::Error::custom(format!("{e:#}")))
    }
}

/// A password; never printed.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

fn qos<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let v = u8::deserialize(d)?;
    if v > 2 {
        return Err(serde::de::Error::custom(format!("QoS is 0, 1 or 2, not {v}")));
    }
    Ok(v)
}

fn parse_hex_u32(text: &str) -> Option<u32> {
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or(text);
    u32::from_str_radix(digits, 16).ok()
}

fn network_id<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 2], D::Error> {
    let text = String::deserialize(d)?;
    let v = parse_hex_u32(&text).filter(|v| *v <= 0xFFFF && text.trim_start_matches("0x").len() == 4);
    v.map(|v| (v as u16).to_be_bytes())
        .ok_or_else(|| serde::de::Error::custom(format!("`{text}`: the network id is 4 hex digits, e.g. \"010A\"")))
}

fn registers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u16>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    list.iter()
        .map(|t| {
            parse_hex_u32(t)
                .filter(|v| *v <= 0xFFFF)
                .map(|v| v as u16)
                .ok_or_else(|| serde::de::Error::custom(format!("`{t}` is not a register number such as \"0xEDBC\"")))
        })
        .collect()
}

fn can_spec<'de, D: Deserializer<'de>>(d: D) -> Result<crate::sources::can::Spec, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

fn mesh_node<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let text = String::deserialize(d)?;
    crate::mesh::parse_node_id(&text)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("`{text}`: a Meshtastic node id is !xxxxxxxx (8 hex digits)")))
}

fn gx_device<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    match text.split_once('/') {
        Some((service, instance)) if !service.is_empty() && !instance.is_empty() && !instance.contains('/') => {
            Ok(Some(text))
        }
        _ => Err(serde::de::Error::custom(format!("`{text}`: a GX device is service/instance, e.g. tank/20"))),
    }
}

fn n2k_device<'de, D: Deserializer<'de>>(d: D) -> Result<Option<(String, u32)>, D::Error> {
    let text = String::deserialize(d)?;
    match text.split_once('/').map(|(k, i)| (k, i.parse::<u32>())) {
        Some((kind, Ok(instance))) if !kind.is_empty() => Ok(Some((kind.to_owned(), instance))),
        _ => Err(serde::de::Error::custom(format!(
            "`{text}`: an NMEA 2000 device is kind/instance, e.g. battery/1 or tank-fuel/0"
        ))),
    }
}

fn mesh_spec<'de, D: Deserializer<'de>>(d: D) -> Result<crate::sources::mesh::Spec, D::Error> {
    let text = String::deserialize(d)?;
    crate::sources::mesh::Spec::parse(&text).map_err(serde::de::Error::custom)
}

fn n2k_spec<'de, D: Deserializer<'de>>(d: D) -> Result<crate::sources::n2k::Spec, D::Error> {
    let text = String::deserialize(d)?;
    crate::sources::n2k::Spec::parse(&text).map_err(serde::de::Error::custom)
}

fn nmea_spec<'de, D: Deserializer<'de>>(d: D) -> Result<crate::sources::nmea::Spec, D::Error> {
    let text = String::deserialize(d)?;
    crate::sources::nmea::Spec::parse(&text).map_err(serde::de::Error::custom)
}

fn device_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    let ok =
        !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        return Err(serde::de::Error::custom(format!(
            "`{name}`: device names appear in MQTT topics; use lower-case letters, digits, - and _"
        )));
    }
    Ok(name)
}

fn mac<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 6]>, D::Error> {
    let text = String::deserialize(d)?;
    crate::model::Identity::parse_mac(&text)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a Bluetooth address like C0:3B:12:34:56:78")))
}

fn nominal_voltage<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = f64::deserialize(d)?;
    [12.0, 24.0, 36.0, 48.0]
        .contains(&v)
        .then_some(Some(v))
        .ok_or_else(|| serde::de::Error::custom(format!("{v} V: a bank's nominal voltage is 12, 24, 36 or 48")))
}

fn masterbus_device<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let text = String::deserialize(d)?;
    parse_hex_u32(&text)
        .filter(|v| *v <= 0x3FFFF)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a MasterBus device number like 0x31297")))
}

/// The keys file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct KeysFile {
    keys: BTreeMap<String, Key>,
    network_key: Option<Key>,
    mqtt_password: Option<Secret>,
}

impl Config {
    /// Parse configuration text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config> {
        parse_toml(text, origin)
    }

    /// The file when one is given, else every default (the commands that read the history).
    pub fn load_or_default(path: Option<&Path>) -> Result<Config> {
        match path {
            Some(p) => Config::load(p),
            None => Ok(Config::default()),
        }
    }

    /// Load a file, then its keys file, then check what cannot be checked field by field.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut config = Config::parse(&text, &path.display().to_string())?;
        if let Some(keys) = config.keys_file.clone() {
            let keys = if keys.is_relative() { path.parent().unwrap_or(Path::new(".")).join(keys) } else { keys };
            config.merge_keys_file(&keys)?;
        }
        config.validate()?;
        Ok(config)
    }

    fn merge_keys_file(&mut self, path: &Path) -> Result<()> {
        warn_if_readable_by_others(path);
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "reading keys file {} (it must be readable by the user Halyard runs as: the packaged service runs as \
                 `halyard`, so `sudo chown halyard: {}`; run other commands with sudo)",
                path.display(),
                path.display()
            )
        })?;
        let keys: KeysFile = parse_toml(&text, &path.display().to_string())?;
        for (who, key) in keys.keys {
            let mac = crate::model::Identity::parse_mac(&who);
            let device = self.device.iter_mut().find(|d| {
                (mac.is_some() && d.mac == mac) || d.serial.as_deref() == Some(who.as_str()) || d.name == who
            });
            match device {
                Some(d) => d.key = Some(key),
                None => {
                    let Some(mac) = mac else {
                        bail!(
                            "{}: key for `{who}`, which is no configured device's name, serial or address",
                            path.display()
                        )
                    };
                    self.device.push(Device {
                        name: format!("victron-{}", crate::model::Identity::Mac(mac).topic_text()),
                        mac: Some(mac),
                        key: Some(key),
                        ..Device::default()
                    });
                }
            }
        }
        if let Some(k) = keys.network_key {
            match &mut self.venetworking {
                Some(n) => n.key = Some(k),
                None => {
                    bail!("{}: network_key given but no [venetworking] network_id in the configuration", path.display())
                }
            }
        }
        if keys.mqtt_password.is_some() {
            self.mqtt.password = keys.mqtt_password;
        }
        Ok(())
    }

    /// Checks across fields.
    pub fn validate(&self) -> Result<()> {
        let mut names = std::collections::BTreeSet::new();
        for d in &self.device {
            if !names.insert(&d.name) {
                bail!("two [[device]] entries are named `{}`", d.name);
            }
        }
        if let Some(n) = &self.venetworking {
            if n.key.is_none() {
                bail!("[venetworking] needs `key` (or `network_key` in the keys file)");
            }
        }
        for p in &self.vedirect {
            if !p.set.is_empty() && !p.allow_writes {
                bail!("[[vedirect]] {}: `set` writes to the device; add `allow_writes = true` to allow it", p.port);
            }
        }
        if !self.web.listen.is_empty() && !crate::web::is_loopback(&self.web.listen) && self.web.token.is_none() {
            bail!(
                "[web] listen = \"{}\" is reachable from the network: set `token` too (or listen on 127.0.0.1)",
                self.web.listen
            );
        }
        self.signalk.check().map_err(|e| anyhow::anyhow!(e))?;
        if let Some(i) = &self.influx {
            i.check().map_err(|e| anyhow::anyhow!(e))?;
        }
        let mut alarm_names = std::collections::BTreeSet::new();
        for a in &self.alarm {
            let topic_safe =
                a.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if a.name.is_empty() || !topic_safe {
                bail!(
                    "[[alarm]] `{}`: alarm names appear in MQTT topics; use lower-case letters, digits, - and _",
                    a.name
                );
            }
            if !alarm_names.insert(&a.name) {
                bail!("two [[alarm]] entries are named `{}`", a.name);
            }
            let clear = a.clear_condition().map_err(|e| anyhow::anyhow!("[[alarm]] `{}`: clear: {e}", a.name))?;
            for c in a.when.comparisons().chain(clear.iter().flat_map(|c| c.comparisons())) {
                if !self.device.iter().any(|d| d.name == c.device) {
                    bail!(
                        "[[alarm]] `{}`: no [[device]] is named `{}` (name the device in a [[device]] entry; named: {})",
                        a.name,
                        c.device,
                        self.device.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")
                    );
                }
            }
        }
        let low = self.alarms.low_state_of_charge;
        if !(0.0..100.0).contains(&low) {
            bail!("[alarms] low_state_of_charge = {low}: a percentage from 0 (off) to below 100");
        }
        let radios: Vec<_> = self.meshtastic.iter().map(|m| (m.source.clone(), None)).collect();
        for (name, n) in &self.notify {
            crate::notify::Delivery::new(n, &radios).map_err(|e| anyhow::anyhow!("[notify.{name}]: {e}"))?;
        }
        let named = self.alarm.iter().map(|a| (format!("[[alarm]] `{}`", a.name), &a.notify));
        for (what, names) in named.chain([("[alarms]".to_owned(), &self.alarms.notify)]) {
            if let Some(missing) = names.iter().find(|n| !self.notify.contains_key(*n)) {
                bail!(
                    "{what}: notify names `{missing}`, but there is no [notify.{missing}] (configured: {})",
                    if self.notify.is_empty() {
                        "none".to_owned()
                    } else {
                        self.notify.keys().cloned().collect::<Vec<_>>().join(", ")
                    }
                );
            }
        }
        for m in &self.masterbus {
            if !m.poll.is_empty() && !m.active {
                bail!("[[masterbus]] {}: `poll` sends requests on the bus; add `active = true` to allow it", m.source);
            }
        }
        Ok(())
    }

    /// Where state lives.
    pub fn data_dir(&self) -> PathBuf {
        if let Some(d) = &self.data_dir {
            return d.clone();
        }
        if let Some(d) = std::env::var_os("STATE_DIRECTORY") {
            return PathBuf::from(d);
        }
        if let Some(d) = std::env::var_os("XDG_STATE_HOME") {
            return PathBuf::from(d).join("halyard");
        }
        match std::env::var_os("HOME") {
            Some(h) => PathBuf::from(h).join(".local/state/halyard"),
            None => PathBuf::from("/var/lib/halyard"),
        }
    }

    /// The calendar of "a day".
    pub fn calendar(&self) -> Result<crate::store::Calendar> {
        match &self.timezone {
            Some(tz) => crate::store::Calendar::new(tz),
            None => Ok(crate::store::Calendar::system()),
        }
    }

    /// Whether to scan Bluetooth.
    pub fn bluetooth_wanted(&self) -> bool {
        self.bluetooth.enabled.unwrap_or_else(|| {
            self.venetworking.is_some() || self.device.iter().any(|d| d.key.is_some() || d.mac.is_some())
        })
    }
}

fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "keys file {} is readable by other users; `chmod 600 {}` keeps the keys secret",
                path.display(),
                path.display()
            );
        }
    }
}

/// Parse TOML into `T`, with errors as `FILE:LINE:COLUMN: key `a.b`: message`.
fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    let located = |span: Option<std::ops::Range<usize>>| {
        span.map(|s| {
            let before = &text[..s.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("{origin}:{line}:{column}")
        })
        .unwrap_or_else(|| origin.to_owned())
    };
    let de =
        toml::de::Deserializer::parse(text).map_err(|e| anyhow::anyhow!("{}: {}", located(e.span()), e.message()))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let key = if path == "." { String::new() } else { format!(" key `{path}`:") };
        anyhow::anyhow!("{}:{key} {}", located(inner.span()), inner.message().trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_all_defaults() {
        let c = Config::parse("", "t").unwrap();
        assert_eq!(c.mqtt.qos, 1);
        assert_eq!(c.mqtt.root, "halyard");
        assert_eq!(c.broker.listen, "127.0.0.1:1883");
        assert!(c.mqtt.raw_topics.allows("venetworking/HQ/EDBC"));
        assert!(!c.bluetooth_wanted());
    }

    #[test]
    fn errors_name_line_and_key() {
        let text = "[mqtt]\nroot = \"boat\"\nqos = 7\n";
        let e = Config::parse(text, "halyard.toml").unwrap_err().to_string();
        assert!(e.starts_with("halyard.toml:3:"), "{e}");
        assert!(e.contains("mqtt.qos") && e.contains("0, 1 or 2"), "{e}");

        let e = Config::parse("[mqtt]\nrot = \"x\"\n", "h.toml").unwrap_err().to_string();
        assert!(e.starts_with("h.toml:2:") && e.contains("rot"), "{e}");

        let text = "[[device]]\nname = \"port-arch\"\nmac = \"zz\"\n";
        let e = Config::parse(text, "h.toml").unwrap_err().to_string();
        assert!(e.starts_with("h.toml:3:") && e.contains("device[0].mac"), "{e}");

        let e = Config::parse("[mqtt\n", "h.toml").unwrap_err().to_string();
        assert!(e.starts_with("h.toml:1:"), "{e}");
    }

    #[test]
    fn keys_never_print() {
        let text = "[[device]]\nname = \"a\"\nkey = \"00112233445566778899aabbccddeeff\"\n";
        let c = Config::parse(text, "t").unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("0011") && !debug.contains("aabb") && debug.contains("redacted"), "{debug}");
        let e = Config::parse("[[device]]\nname = \"a\"\nkey = \"0011223344556677\"\n", "t").unwrap_err().to_string();
        assert!(e.contains("32 hex digits") && !e.contains("0011"), "{e}");
    }

    #[test]
    fn writes_need_explicit_permission() {
        let c = Config::parse("[[vedirect]]\nport = \"/dev/x\"\nset = { \"0xEDF0\" = \"9600\" }\n", "t").unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("allow_writes"));
        let c = Config::parse("[[masterbus]]\nsource = \"slcan:/dev/x\"\npoll = [\"0x31297:0x0001\"]\n", "t").unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("active = true"));
    }

    #[test]
    fn the_sample_config_parses() {
        let text = include_str!("../../../packaging/halyard.toml");
        let c = Config::parse(text, "packaging/halyard.toml").unwrap();
        c.validate().unwrap();
        // The commented `[influx]` example names real keys (1.x and 2.x together: parsed, not
        // checked).
        let block: String = text
            .lines()
            .skip_while(|l| *l != "# [influx]")
            .skip(1)
            .take_while(|l| !l.is_empty())
            .map(|l| format!("{}\n", l.trim_start_matches("# ")))
            .collect();
        assert!(block.contains("bucket"), "{block}");
        toml::from_str::<crate::sinks::influx::Settings>(&block).unwrap();
    }
}
