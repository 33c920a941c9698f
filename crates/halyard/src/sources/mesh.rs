//! A Meshtastic radio over its stream API: USB serial (115,200 baud) or TCP port 4403 (a radio
//! on Wi-Fi). After connecting Halyard asks for the node database (`want_config_id`) and then
//! reads; a heartbeat every five minutes keeps a serial link awake. Nothing else is ever sent —
//! no configuration, no messages — except the alarms' texts of a Meshtastic notifier the owner
//! configured (`notify::radio`), which come in through `link`.

use std::sync::Arc;
use std::time::Duration;

use halyard_proto::meshtastic::encode_frame;
use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio_serial::SerialPortBuilderExt;

use super::backoff::Peer;
use super::reopen::{Ended, Reopen};
use crate::ingest::{now_ms, Input};
use crate::mesh::proto::{to_radio, Heartbeat, ToRadio};
use crate::notify::radio::Outgoing;
use crate::telemetry::Telemetry;

/// The stream API's TCP port.
pub const TCP_PORT: u16 = 4403;
const HEARTBEAT: Duration = Duration::from_secs(300);

/// Where the radio is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// `serial:/dev/ttyACM0`.
    Serial(String),
    /// `tcp:host[:4403]`.
    Tcp(String),
}

impl Spec {
    /// Parse `serial:DEVICE` or `tcp:HOST[:PORT]`.
    pub fn parse(text: &str) -> Result<Spec, String> {
        match text.split_once(':') {
            Some(("serial", p)) if !p.is_empty() => Ok(Spec::Serial(p.to_owned())),
            Some(("tcp", h)) if !h.is_empty() => {
                Ok(Spec::Tcp(if h.contains(':') { h.to_owned() } else { format!("{h}:{TCP_PORT}") }))
            }
            _ => Err(format!("`{text}`: serial:DEVICE or tcp:HOST[:PORT] (port {TCP_PORT} by default)")),
        }
    }

    /// What a reconnect looks at to come back promptly.
    pub fn peer(&self) -> Peer {
        match self {
            Spec::Serial(p) => Peer::Device(p.clone()),
            Spec::Tcp(a) => Peer::Tcp(a.clone()),
        }
    }

    /// The source's name for counters and logs.
    pub fn name(&self) -> String {
        match self {
            Spec::Serial(p) => format!("meshtastic:{}", crate::model::registry::port_name(p)),
            Spec::Tcp(a) => format!("meshtastic:{a}"),
        }
    }
}

/// A framed `ToRadio`.
pub fn frame(message: &ToRadio) -> Vec<u8> {
    let payload = message.encode_to_vec();
    let mut out = vec![0u8; payload.len() + 4];
    let n = encode_frame(&payload, &mut out).expect("ToRadio messages Halyard sends are small");
    out.truncate(n);
    out
}

async fn session(
    mut io: impl AsyncRead + AsyncWrite + Unpin,
    name: &Arc<str>,
    tx: &mpsc::Sender<Input>,
    reopen: &mut Reopen,
    link: &mut Option<mpsc::Receiver<Outgoing>>,
) -> Result<(), Ended> {
    // A config id of our own: the radio ends its dump with it.
    let id = (now_ms() as u32) | 1;
    io.write_all(&frame(&ToRadio { variant: Some(to_radio::Variant::WantConfigId(id)) })).await.map_err(Ended::lost)?;
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    let mut buf = vec![0u8; 4096];
    loop {
        tokio::select! {
            _ = reopen.stop.changed() => return Ok(()),
            Some(out) = async { link.as_mut()?.recv().await }, if link.is_some() => {
                // A notifier that gave up waiting has retried or dropped it: not twice.
                if out.done.is_closed() {
                    continue;
                }
                let written = io.write_all(&out.bytes).await;
                let failed = written.as_ref().err().map(|e| e.to_string());
                let _ = out.done.send(written.map_err(|e| e.to_string()));
                if let Some(e) = failed {
                    return Err(Ended::lost(e));
                }
            }
            _ = heartbeat.tick() => {
                let heartbeat = frame(&ToRadio { variant: Some(to_radio::Variant::Heartbeat(Heartbeat {})) });
                io.write_all(&heartbeat).await.map_err(Ended::lost)?;
            }
            r = io.read(&mut buf) => match r {
                Ok(0) => return Err(Ended::lost("end of stream")),
                Ok(n) => {
                    reopen.delivering();
                    if tx.send(Input::Mesh { at: now_ms(), source: name.clone(), bytes: buf[..n].to_vec(), log: false }).await.is_err() {
                        return Ok(());
                    }
                }
                Err(e) => return Err(Ended::lost(e)),
            },
        }
    }
}

/// Run one radio until `stop` turns true.
pub async fn run(
    spec: Spec,
    mut link: Option<mpsc::Receiver<Outgoing>>,
    tx: mpsc::Sender<Input>,
    telemetry: Arc<Telemetry>,
    stop: watch::Receiver<bool>,
) {
    let name: Arc<str> = spec.name().into();
    let mut reopen = Reopen::new(&name, format!("meshtastic {name}"), telemetry, stop)
        .backoff(Duration::from_millis(500), Duration::from_secs(30))
        .peer(Some(spec.peer()));
    while reopen.running() {
        let ended = match &spec {
            Spec::Tcp(addr) => match tokio::net::TcpStream::connect(addr).await {
                Ok(s) => {
                    reopen.opened();
                    tracing::info!("meshtastic: connected to {addr}");
                    session(s, &name, &tx, &mut reopen, &mut link).await
                }
                Err(e) => Err(Ended::open(e)),
            },
            Spec::Serial(path) => match tokio_serial::new(path, 115_200).open_native_async() {
                Ok(p) => {
                    reopen.opened();
                    tracing::info!("meshtastic: reading {path}");
                    session(p, &name, &tx, &mut reopen, &mut link).await
                }
                Err(e) => Err(Ended::open(e)),
            },
        };
        reopen.ended(ended).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_and_the_config_request() {
        assert_eq!(Spec::parse("tcp:radio.local"), Ok(Spec::Tcp("radio.local:4403".into())));
        assert_eq!(Spec::parse("tcp:10.0.0.5:4404"), Ok(Spec::Tcp("10.0.0.5:4404".into())));
        assert_eq!(Spec::parse("serial:/dev/ttyACM0"), Ok(Spec::Serial("/dev/ttyACM0".into())));
        assert!(Spec::parse("ble:x").is_err());
        // ToRadio{want_config_id = 1}: field 3, varint → 0x18 0x01, framed.
        assert_eq!(
            frame(&ToRadio { variant: Some(to_radio::Variant::WantConfigId(1)) }),
            [0x94, 0xC3, 0, 2, 0x18, 0x01]
        );
    }
}
