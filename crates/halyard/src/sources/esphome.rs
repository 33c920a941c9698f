//! One ESPHome Bluetooth proxy (`[[esphome]]`): connect, subscribe to its raw advertisements,
//! pass Victron's manufacturer data on as the local adapter would, and reconnect with backoff
//! when it goes away. The protocol is `crate::esphome`'s business.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use halyard_proto::victron::COMPANY_ID;
use prost::Message;
use serde::{Deserialize, Deserializer};
use tokio::sync::{mpsc, watch};

use super::backoff::Peer;
use super::reopen::{Ended, Reopen};
use crate::config::Secret;
use crate::esphome::api;
use crate::esphome::session::{login_answer, Error, Session};
use crate::ingest::{now_ms, Input, Receiver};
use crate::telemetry::Telemetry;

/// The native API's port.
pub const PORT: u16 = 6053;
/// How often Halyard pings a quiet proxy (aioesphomeapi's default keep-alive).
const PING_EVERY: Duration = Duration::from_secs(20);
/// Silence after which the connection is given up (4.5 pings, as the official client).
const SILENT_AFTER: Duration = Duration::from_secs(90);
/// How long connecting and the handshake may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// `[[esphome]]`: one proxy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The node's address (`bt-proxy-saloon.local`, `192.168.1.31`).
    pub host: String,
    /// Its API port.
    #[serde(default)]
    pub port: Option<u16>,
    /// The node's `api: encryption: key` (44 characters of base64); none for a plaintext API.
    #[serde(default, deserialize_with = "encryption_key")]
    pub encryption_key: Option<Secret>,
    /// The API password of older firmware.
    #[serde(default)]
    pub password: Option<Secret>,
    /// A short name for counters and logs (else the host).
    #[serde(default)]
    pub name: Option<String>,
}

fn psk(text: &str) -> Option<[u8; 32]> {
    base64::engine::general_purpose::STANDARD.decode(text.trim()).ok()?.try_into().ok()
}

fn encryption_key<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    let text = String::deserialize(d)?;
    match psk(&text) {
        Some(_) => Ok(Some(Secret(text.trim().to_owned()))),
        None => Err(serde::de::Error::custom(
            "encryption_key is the node's `api: encryption: key`: 32 bytes in base64 (44 characters)",
        )),
    }
}

impl Settings {
    /// `host:port`.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port.unwrap_or(PORT))
    }

    /// The source's name in counters and logs: `esphome:<name>`.
    pub fn source(&self) -> String {
        format!("esphome:{}", self.name.as_deref().unwrap_or(&self.host))
    }
}

/// Read one proxy until `stop` turns true.
pub async fn run(settings: Settings, tx: mpsc::Sender<Input>, telemetry: Arc<Telemetry>, stop: watch::Receiver<bool>) {
    let (source, address) = (settings.source(), settings.address());
    let mut reopen = Reopen::new(&source, format!("{source} ({address})"), telemetry.clone(), stop)
        .backoff(Duration::from_millis(500), Duration::from_secs(30))
        .peer(Some(Peer::Tcp(address)));
    while reopen.running() {
        let ended = session(&settings, &tx, &telemetry, &mut reopen).await;
        reopen.ended(ended.map_err(|e| Ended { kind: e.kind(), why: e.to_string() })).await;
    }
}

async fn session(
    settings: &Settings,
    tx: &mpsc::Sender<Input>,
    telemetry: &Telemetry,
    link: &mut Reopen,
) -> Result<(), Error> {
    let source = settings.source();
    let via: Arc<str> = source.as_str().into();
    let timed_out = || Error::Io(std::io::ErrorKind::TimedOut.into());
    let tcp = tokio::time::timeout(OPEN_TIMEOUT, tokio::net::TcpStream::connect(settings.address()))
        .await
        .map_err(|_| timed_out())??;
    let _ = tcp.set_nodelay(true);
    let key = settings.encryption_key.as_ref().and_then(|k| psk(&k.0));
    let password = settings.password.as_ref().map_or("", |p| p.0.as_str());
    let (mut s, hello) = tokio::time::timeout(OPEN_TIMEOUT, Session::open(tcp, key.as_ref(), password))
        .await
        .map_err(|_| timed_out())??;
    s.send(api::DEVICE_INFO_REQUEST, &[]).await?;
    let subscribe = api::SubscribeBluetoothLeAdvertisements { flags: api::RAW_ADVERTISEMENTS };
    s.send(api::SUBSCRIBE_BLUETOOTH_LE_ADVERTISEMENTS, &subscribe.encode_to_vec()).await?;
    link.opened();
    tracing::info!("{source}: connected to {} ({})", hello.name, hello.server_info);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = Instant::now();
    loop {
        let (kind, body) = tokio::select! {
            _ = link.stop.changed() => {
                let _ = s.send(api::DISCONNECT_REQUEST, &[]).await;
                return Ok(());
            }
            _ = ping.tick() => {
                if heard.elapsed() > SILENT_AFTER {
                    return Err(Error::Silent);
                }
                s.send(api::PING_REQUEST, &[]).await?;
                continue;
            }
            m = s.recv() => m?,
        };
        heard = Instant::now();
        let mut adverts = Vec::new();
        match kind {
            api::PING_REQUEST => s.send(api::PING_RESPONSE, &[]).await?,
            api::DISCONNECT_REQUEST => {
                let _ = s.send(api::DISCONNECT_RESPONSE, &[]).await;
                return Err(Error::Goodbye);
            }
            api::AUTHENTICATION_RESPONSE => login_answer(&body)?,
            api::DEVICE_INFO_RESPONSE => {
                let info = api::DeviceInfoResponse::decode(&body[..]).map_err(|_| Error::Malformed("device info"))?;
                tracing::info!("{source}: {} ({}, ESPHome {})", info.name, info.model, info.esphome_version);
                if info.bluetooth_proxy_feature_flags == 0 {
                    tracing::warn!(
                        "{source}: {} is not a Bluetooth proxy (add `bluetooth_proxy:` to its YAML)",
                        info.name
                    );
                }
            }
            api::BLUETOOTH_LE_RAW_ADVERTISEMENTS => {
                let m =
                    api::RawAdvertisements::decode(&body[..]).map_err(|_| Error::Malformed("raw advertisements"))?;
                for a in m.advertisements {
                    let mac = api::mac(a.address);
                    for (company, data) in halyard_proto::ble::manufacturer_data(&a.data) {
                        if company == COMPANY_ID {
                            adverts.push((mac, data.to_vec(), a.rssi));
                        }
                    }
                    telemetry.frame(&source, now_ms());
                }
            }
            api::BLUETOOTH_LE_ADVERTISEMENT => {
                let a = api::Advertisement::decode(&body[..]).map_err(|_| Error::Malformed("advertisement"))?;
                let mac = api::mac(a.address);
                for m in a.manufacturer_data {
                    if api::company(&m.uuid) == Some(COMPANY_ID) {
                        adverts.push((mac, m.data, a.rssi));
                    }
                }
                telemetry.frame(&source, now_ms());
            }
            _ => {}
        }
        if !adverts.is_empty() {
            link.delivering();
        }
        for (mac, data, rssi) in adverts {
            let via = Receiver { name: via.clone(), rssi: i8::try_from(rssi).ok() };
            if tx.send(Input::Ble { at: now_ms(), mac, data, via: Some(via) }).await.is_err() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_check_the_key_and_hide_it() {
        let key = "px7tsbK3C7bpXHr2OevEV2ZMg/FXNTw2ji6SmEJLNJs=";
        let s: Settings = toml::from_str(&format!("host = \"proxy.local\"\nencryption_key = \"{key}\"")).unwrap();
        assert_eq!((s.address(), s.source()), ("proxy.local:6053".to_owned(), "esphome:proxy.local".to_owned()));
        assert!(!format!("{s:?}").contains(key));
        assert_eq!(psk(key).map(|k| k.len()), Some(32));
        let short = toml::from_str::<Settings>("host = \"x\"\nencryption_key = \"c2hvcnQ=\"").unwrap_err();
        assert!(short.to_string().contains("44 characters"), "{short}");
    }
}
