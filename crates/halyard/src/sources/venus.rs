//! A Victron GX (Cerbo GX, Ekrano, Venus OS on a Pi) through its own MQTT broker: what it hears
//! on VE.Bus, VE.Can, VE.Direct and its tank and temperature inputs, which Halyard may not hear
//! itself (a MultiPlus on VE.Bus, N2K tank senders).
//!
//! Venus OS (3.20 on, dbus-flashmq) retains nothing: a reader asks with `R/<portal>/keepalive`
//! and gets every value once, then the changes, for 60 s after each keep-alive. So Halyard
//! subscribes to `N/<portal>/#`, sends an empty keep-alive after each connect (the full
//! publish), and then every [`KEEPALIVE`] one with `suppress-republish` (marine.md §1.6;
//! victronenergy/dbus-flashmq README, "Keep-alive"). Without a configured `portal_id` the
//! portal is found from `N/+/system/0/Serial`, which the GX keeps retained for exactly this.
//!
//! **Read-only**: the keep-alive is the only message Halyard ever publishes to a GX; it never
//! sends `W/…` (a write) whatever is configured.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use super::backoff::Peer;
use super::reopen::{Ended, Reopen};
use crate::config::Secret;
use crate::ingest::{now_ms, Input};
use crate::telemetry::Telemetry;

/// How often the GX is kept alive (it stops publishing 60 s after the last keep-alive).
pub const KEEPALIVE: Duration = Duration::from_secs(30);

/// The keep-alive after the first: no full republish, the changes keep coming.
const SUPPRESS_REPUBLISH: &str = r#"{ "keepalive-options" : ["suppress-republish"] }"#;

/// The largest message taken from a GX: its values are small JSON objects; anything near this
/// is not a D-Bus value, and the connection is dropped (rumqttc refuses the packet).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// More than this many messages in [`FLOOD_WINDOW`] is a flood: a full publish of a large
/// installation is a few thousand topics (the real capture in signalk-venus-plugin's tests has
/// about 3,000), and a GX then sends each value's changes about once a second. A flood is
/// counted as it is taken, so a slow pipeline sees it at its own pace: the limit is low enough
/// to trip there too, and high enough for four full publishes back to back.
pub const FLOOD_LIMIT: u64 = 20_000;
const FLOOD_WINDOW: Duration = Duration::from_secs(10);

/// `[[venus]]`: one GX.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The GX's address (`venus.local`, `192.168.1.20`).
    pub host: String,
    /// Its broker's port: 1883, or 8883 with `tls`.
    #[serde(default)]
    pub port: Option<u16>,
    /// The VRM portal ID (Settings → VRM online portal); found on the broker when left out.
    #[serde(default)]
    pub portal_id: Option<String>,
    /// User name, when the GX's MQTT needs one (Venus OS "MQTT access" with a password).
    #[serde(default)]
    pub username: Option<String>,
    /// Password; never printed.
    #[serde(default)]
    pub password: Option<Secret>,
    /// TLS (port 8883), checked against `ca_file` (the GX's `venus-ca.crt`) or the system's CAs.
    #[serde(default)]
    pub tls: bool,
    /// The CA certificate for `tls`.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

impl Settings {
    /// The broker's port: as configured, else MQTT's (1883, or 8883 with TLS).
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(if self.tls { 8883 } else { 1883 })
    }

    /// `host:port`.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port())
    }

    /// The source's name in counters and logs.
    pub fn name(&self) -> String {
        format!("venus:{}", self.host)
    }
}

/// The keep-alive topic, the one topic Halyard publishes on a GX.
fn keepalive_topic(portal: &str) -> String {
    format!("R/{portal}/keepalive")
}

/// The portal ID in a discovery message `N/<portal>/system/0/Serial`.
fn discovered(topic: &str) -> Option<&str> {
    let portal = topic.strip_prefix("N/")?.strip_suffix("/system/0/Serial")?;
    (!portal.is_empty() && !portal.contains('/')).then_some(portal)
}

/// Read one GX until `stop` turns true.
pub async fn run(settings: Settings, tx: mpsc::Sender<Input>, telemetry: Arc<Telemetry>, stop: watch::Receiver<bool>) {
    let (name, address) = (settings.name(), settings.address());
    let mut reopen = Reopen::new(&name, format!("{name} ({address})"), telemetry, stop)
        .backoff(Duration::from_millis(500), Duration::from_secs(30))
        .peer(Some(Peer::Tcp(address)));
    while reopen.running() {
        let ended = session(&settings, &tx, &mut reopen).await;
        reopen.ended(ended).await;
    }
}

/// One connection; `Ok` when told to stop, else why it ended.
async fn session(settings: &Settings, tx: &mpsc::Sender<Input>, link: &mut Reopen) -> Result<(), Ended> {
    let name = settings.name();
    let client_id = format!("halyard-{}-{}", crate::hostname(), std::process::id());
    let mut o = MqttOptions::new(client_id, settings.host.clone(), settings.port());
    o.set_keep_alive(Duration::from_secs(30));
    o.set_clean_session(true);
    o.set_max_packet_size(MAX_MESSAGE, 4096);
    if let Some(user) = &settings.username {
        o.set_credentials(user, settings.password.as_ref().map(|p| p.0.clone()).unwrap_or_default());
    }
    if settings.tls {
        crate::sinks::mqtt::endpoint::set_tls(&mut o, settings.ca_file.as_deref())
            .map_err(|e| Ended { kind: "tls", why: format!("{e:#}") })?;
    }
    let (client, mut events) = AsyncClient::new(o, 16);
    let mut portal = settings.portal_id.clone();
    let mut connected = false;
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut window = (Instant::now(), 0u64);
    loop {
        tokio::select! {
            _ = link.stop.changed() => {
                let _ = client.try_disconnect();
                return Ok(());
            }
            _ = keepalive.tick(), if connected && portal.is_some() => {
                if let Some(p) = &portal {
                    let _ = client.try_publish(keepalive_topic(p), QoS::AtMostOnce, false, SUPPRESS_REPUBLISH);
                }
            }
            event = events.poll() => match event {
                Ok(Event::Incoming(Incoming::ConnAck(_))) => {
                    connected = true;
                    link.opened();
                    match &portal {
                        Some(p) => {
                            tracing::info!("{name}: reading GX {p} at {}", settings.address());
                            start(&client, p);
                            keepalive.reset();
                        }
                        None => {
                            tracing::info!("{name}: looking for the GX's portal ID at {}", settings.address());
                            let _ = client.try_subscribe("N/+/system/0/Serial", QoS::AtMostOnce);
                        }
                    }
                }
                Ok(Event::Incoming(Incoming::Publish(p))) => {
                    link.delivering();
                    if window.0.elapsed() >= FLOOD_WINDOW {
                        window = (Instant::now(), 0);
                    }
                    window.1 += 1;
                    if window.1 > FLOOD_LIMIT {
                        let _ = client.try_disconnect();
                        let why = format!("more than {FLOOD_LIMIT} messages in {} s", FLOOD_WINDOW.as_secs());
                        return Err(Ended { kind: "flood", why });
                    }
                    if portal.is_none() {
                        if let Some(found) = discovered(&p.topic) {
                            tracing::info!("{name}: found GX {found} at {}", settings.address());
                            let _ = client.try_unsubscribe("N/+/system/0/Serial");
                            start(&client, found);
                            keepalive.reset();
                            portal = Some(found.to_owned());
                        }
                    }
                    let input = Input::Venus { at: now_ms(), topic: p.topic, payload: p.payload.to_vec() };
                    if tx.send(input).await.is_err() {
                        return Ok(());
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    let kind = match &e {
                        rumqttc::ConnectionError::ConnectionRefused(_) => "refused",
                        rumqttc::ConnectionError::MqttState(rumqttc::StateError::Deserialization(_)) => "bad_packet",
                        _ => "connection",
                    };
                    return Err(Ended { kind, why: e.to_string() });
                }
            },
        }
    }
}

/// Subscribe to the portal's notifications and ask for all of them once.
fn start(client: &AsyncClient, portal: &str) {
    let _ = client.try_subscribe(format!("N/{portal}/#"), QoS::AtMostOnce);
    let _ = client.try_publish(keepalive_topic(portal), QoS::AtMostOnce, false, "");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portal_is_found_in_the_systems_serial_topic() {
        assert_eq!(discovered("N/c0847dba509e/system/0/Serial"), Some("c0847dba509e"));
        assert_eq!(discovered("N/c0847dba509e/battery/279/Serial"), None);
        assert_eq!(discovered("N//system/0/Serial"), None);
        assert!(keepalive_topic("c0847dba509e").starts_with("R/"), "a read request, never a write");
    }

    #[test]
    fn settings_default_to_the_gx_broker_and_hide_the_password() {
        let s: Settings = toml::from_str("host = \"venus.local\"\npassword = \"hunter2\"\nusername = \"u\"").unwrap();
        assert_eq!(s.address(), "venus.local:1883");
        assert!(!format!("{s:?}").contains("hunter2"));
        let s: Settings = toml::from_str("host = \"10.0.0.2\"\ntls = true").unwrap();
        assert_eq!(s.address(), "10.0.0.2:8883");
        assert!(toml::from_str::<Settings>("host = \"x\"\nwrite = true").is_err(), "unknown keys are refused");
    }
}
