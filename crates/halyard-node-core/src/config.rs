//! The node's configuration: `key = value` lines (a `#` starts a comment), the same text in
//! flash, over the serial console and in MQTT `<root>/node/<id>/config/set` messages (one or
//! more lines). Every key has a default but the Wi-Fi network's name. Secrets (Wi-Fi and broker
//! passwords, Victron keys) are never shown: [`Config::redacted`] is what the node publishes.
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `wifi_ssid`, `wifi_password` | — | the Wi-Fi network (WPA2) |
//! | `mqtt` | `mdns` | `host[:port]`, or `mdns` to find `_mqtt._tcp` (Halyard's gateway advertises its broker) |
//! | `mqtt_user`, `mqtt_password` | none | broker credentials |
//! | `root` | `halyard` | topic root |
//! | `raw_topics` | `on` | monitorPowerToMQTT's raw trees |
//! | `ble` | `on` | scan Victron adverts |
//! | `ble_proxy` | `on` | also publish each advert as it came (`victron/<mac>/advert`) for the gateway to decode with its keys |
//! | `ble_tx_power` | `-12` | dBm (the node only scans; lower draws less) |
//! | `scan_interval_ms`, `scan_window_ms` | `1000`, `300` | scan duty cycle (30 %) |
//! | `key.<mac>` | — | a device's Instant Readout key (32 hex digits) |
//! | `venetworking_key`, `venetworking_id` | — | the VE.Smart network's key and id |
//! | `name.<identity>` | — | a friendly device name (`name.c03b010203ff = port-mppt`) |
//! | `role.<identity>` | — | `battery`, `dump_load` or `solar`, as the gateway's `role` |
//! | `masterbus` | `off` | `listen` (TWAI listen-only at 250 kbit/s; the node never writes) |
//! | `vedirect` | `off` | `on`: VE.Direct text on UART1 at 19,200 baud |
//! | `led` | `off` | the status LED |
//! | `sleep_below_w`, `sleep_after_min`, `wake_every_min` | `2`, `30`, `10` | sleep when the panels give less than this for that long ([`crate::sleep`]) |

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// A configuration error, naming the line and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line.
    pub line: usize,
    /// The key (empty for a line that is not `key = value`).
    pub key: String,
    /// Why.
    pub reason: &'static str,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "line {}: {}{}",
            self.line,
            if self.key.is_empty() { String::new() } else { format!("{}: ", self.key) },
            self.reason
        )
    }
}

/// The configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    values: BTreeMap<String, String>,
}

const DEFAULTS: &[(&str, &str)] = &[
    ("mqtt", "mdns"),
    ("root", "halyard"),
    ("raw_topics", "on"),
    ("ble", "on"),
    ("ble_proxy", "on"),
    ("ble_tx_power", "-12"),
    ("scan_interval_ms", "1000"),
    ("scan_window_ms", "300"),
    ("masterbus", "off"),
    ("vedirect", "off"),
    ("led", "off"),
    ("sleep_below_w", "2"),
    ("sleep_after_min", "30"),
    ("wake_every_min", "10"),
];

fn is_secret(key: &str) -> bool {
    key.ends_with("password") || key.starts_with("key.") || key == "venetworking_key"
}

/// Whether `key` is a setting the node knows (`key.<mac>`, `name.<mac>`, `role.<mac>` included).
pub fn is_known(key: &str) -> bool {
    ["key.", "name.", "role."].iter().any(|p| key.starts_with(p)) || check(key, "").err() != Some("unknown key")
}

fn check(key: &str, value: &str) -> Result<(), &'static str> {
    let hex = |n: usize| value.len() == n && value.bytes().all(|b| b.is_ascii_hexdigit());
    let number = |lo: i64, hi: i64| {
        value.parse::<i64>().ok().filter(|v| (lo..=hi).contains(v)).map(|_| ()).ok_or("out of range")
    };
    match key {
        "wifi_ssid" if value.is_empty() || value.len() > 32 => Err("1 to 32 characters"),
        "wifi_password" if !value.is_empty() && !(8..=64).contains(&value.len()) => Err("8 to 64 characters"),
        "raw_topics" | "ble" | "ble_proxy" | "led" | "vedirect" if !matches!(value, "on" | "off") => Err("on or off"),
        "masterbus" if !matches!(value, "off" | "listen") => Err("off or listen"),
        "ble_tx_power" => number(-24, 20),
        "scan_interval_ms" | "scan_window_ms" => number(3, 10_240),
        "sleep_below_w" => number(0, 10_000),
        "sleep_after_min" | "wake_every_min" => number(1, 24 * 60),
        "venetworking_key" if !hex(32) => Err("32 hex digits"),
        "ntp" if value.is_empty() || value.contains(char::is_whitespace) => Err("a host name or address"),
        "venetworking_id" if !hex(4) => Err("4 hex digits"),
        k if k.starts_with("key.") && (k.len() != 16 || !k[4..].bytes().all(|b| b.is_ascii_hexdigit())) => {
            Err("key.<12 hex digits of the MAC>")
        }
        k if k.starts_with("key.") && !hex(32) => Err("32 hex digits"),
        k if k.starts_with("name.") && (value.is_empty() || value.contains(['/', '+', '#'])) => {
            Err("a name without / + #")
        }
        k if k.starts_with("role.") && !matches!(value, "battery" | "dump_load" | "solar") => {
            Err("battery, dump_load or solar")
        }
        "wifi_ssid" | "wifi_password" | "mqtt" | "mqtt_user" | "mqtt_password" | "root" | "raw_topics" | "ble"
        | "ble_proxy" | "led" | "vedirect" | "masterbus" | "venetworking_key" | "venetworking_id" | "ntp" => Ok(()),
        k if k.starts_with("key.") || k.starts_with("name.") || k.starts_with("role.") => Ok(()),
        _ => Err("unknown key"),
    }
}

impl Config {
    /// Parse `key = value` lines.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        c.apply(text)?;
        Ok(c)
    }

    /// Apply `key = value` lines on top (all or nothing).
    pub fn apply(&mut self, text: &str) -> Result<(), ConfigError> {
        let mut next = self.values.clone();
        for (i, line) in text.lines().enumerate() {
            let line = line.split_once('#').map_or(line, |(l, _)| l).trim();
            if line.is_empty() {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(ConfigError { line: i + 1, key: String::new(), reason: "not `key = value`" });
            };
            let (key, value) = (key.trim(), value.trim().trim_matches('"'));
            let key = if let Some(mac) = key.strip_prefix("key.") {
                format!("key.{}", mac.replace(':', "").to_ascii_lowercase())
            } else {
                key.to_string()
            };
            check(&key, value).map_err(|reason| ConfigError { line: i + 1, key: key.clone(), reason })?;
            next.insert(key, value.to_string());
        }
        self.values = next;
        Ok(())
    }

    /// A value, or its default.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str).or_else(|| DEFAULTS.iter().find(|(k, _)| *k == key).map(|(_, v)| *v))
    }

    /// A number (its default when unset).
    pub fn number(&self, key: &str) -> i64 {
        self.get(key).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// An `on`/`off` or `listen` switch.
    pub fn on(&self, key: &str) -> bool {
        matches!(self.get(key), Some("on" | "listen"))
    }

    /// Every Instant Readout key: (MAC, key).
    pub fn keys(&self) -> Vec<([u8; 6], [u8; 16])> {
        let mut out = Vec::new();
        for (k, v) in self.values.range("key.".to_string()..) {
            let Some(mac) = k.strip_prefix("key.") else { break };
            let (mut m, mut key) = ([0u8; 6], [0u8; 16]);
            if halyard_proto::hex::decode_into(mac.as_bytes(), &mut m).ok() == Some(6)
                && halyard_proto::hex::decode_into(v.as_bytes(), &mut key).ok() == Some(16)
            {
                out.push((m, key));
            }
        }
        out
    }

    /// Friendly names: identity → name.
    pub fn names(&self) -> BTreeMap<String, String> {
        self.prefixed("name.")
    }

    /// Roles: identity → role.
    pub fn roles(&self) -> BTreeMap<String, String> {
        self.prefixed("role.")
    }

    fn prefixed(&self, prefix: &str) -> BTreeMap<String, String> {
        self.values.iter().filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v.clone()))).collect()
    }

    /// The text to store (secrets included: flash stays on the node).
    pub fn to_text(&self) -> String {
        self.values.iter().map(|(k, v)| format!("{k} = {v}\n")).collect()
    }

    /// The text to show or publish: every setting, secrets as `***`.
    pub fn redacted(&self) -> String {
        let mut keys: Vec<&str> =
            DEFAULTS.iter().map(|(k, _)| *k).chain(self.values.keys().map(String::as_str)).collect();
        keys.sort_unstable();
        keys.dedup();
        keys.iter()
            .map(|k| format!("{k} = {}\n", if is_secret(k) { "***" } else { self.get(k).unwrap_or("") }))
            .collect()
    }
}

/// Flash record: `HNC1`, length (u16 LE), the text, CRC-32 (IEEE) of the text.
pub fn to_flash(config: &Config) -> Vec<u8> {
    let text = config.to_text();
    let mut out = Vec::with_capacity(text.len() + 10);
    out.extend_from_slice(b"HNC1");
    out.extend_from_slice(&(text.len() as u16).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&crc32(text.as_bytes()).to_le_bytes());
    out
}

/// Read a flash record; `None` for erased flash (0xFF), another format or a bad CRC.
pub fn from_flash(bytes: &[u8]) -> Option<Config> {
    let rest = bytes.strip_prefix(b"HNC1")?;
    let len = usize::from(u16::from_le_bytes([*rest.first()?, *rest.get(1)?]));
    let text = rest.get(2..2 + len)?;
    let crc = rest.get(2 + len..6 + len)?;
    (crc32(text) == u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]])).then_some(())?;
    Config::parse(core::str::from_utf8(text).ok()?).ok()
}

/// CRC-32 (IEEE 802.3, reflected, as zlib).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & 0u32.wrapping_sub(crc & 1));
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "wifi_ssid = Lille Oe\nwifi_password = \"correct horse\"\nkey.C0:3B:01:02:03:FF = adeccb947395801a4dd45a2eaa44bf17 # port MPPT\nname.c03b010203ff = port-mppt\nmasterbus = listen\n";

    #[test]
    fn parse_defaults_keys_and_names() {
        let c = Config::parse(TEXT).unwrap();
        assert_eq!(c.get("wifi_ssid"), Some("Lille Oe"));
        assert_eq!(c.get("wifi_password"), Some("correct horse"));
        assert_eq!(c.get("mqtt"), Some("mdns"));
        assert!(c.on("masterbus") && c.on("ble") && !c.on("led"));
        assert_eq!(c.number("ble_tx_power"), -12);
        assert_eq!(
            c.keys(),
            [(
                [0xC0, 0x3B, 1, 2, 3, 0xFF],
                [0xad, 0xec, 0xcb, 0x94, 0x73, 0x95, 0x80, 0x1a, 0x4d, 0xd4, 0x5a, 0x2e, 0xaa, 0x44, 0xbf, 0x17]
            )]
        );
        assert_eq!(c.names().get("c03b010203ff").map(String::as_str), Some("port-mppt"));
    }

    #[test]
    fn errors_name_the_line_and_key_and_change_nothing() {
        let mut c = Config::parse(TEXT).unwrap();
        let e = c.apply("led = on\nble_tx_power = 30\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str(), e.reason), (2, "ble_tx_power", "out of range"));
        assert!(!c.on("led"), "all or nothing");
        assert_eq!(Config::parse("colour = red").unwrap_err().reason, "unknown key");
        assert_eq!(Config::parse("key.c03b010203ff = 12").unwrap_err().reason, "32 hex digits");
        assert_eq!(Config::parse("just words").unwrap_err().line, 1);
    }

    #[test]
    fn secrets_never_in_the_redacted_text() {
        let r = Config::parse(TEXT).unwrap().redacted();
        assert!(!r.contains("correct horse") && !r.contains("adeccb94"), "{r}");
        assert!(
            r.contains("wifi_password = ***")
                && r.contains("key.c03b010203ff = ***")
                && r.contains("ble_tx_power = -12"),
            "{r}"
        );
    }

    #[test]
    fn flash_round_trip_and_corruption() {
        let c = Config::parse(TEXT).unwrap();
        let mut bytes = to_flash(&c);
        assert_eq!(from_flash(&bytes), Some(c));
        assert_eq!(from_flash(&[0xFF; 64]), None, "erased flash");
        bytes[12] ^= 1;
        assert_eq!(from_flash(&bytes), None, "a flipped bit");
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926, "the standard check value");
    }
}
