//! The simulated devices behind real transports, for `halyard demo`: the VE.Direct MPPT writes
//! into a pseudo-terminal that the gateway's serial source opens like a USB cable; the MasterBus
//! traffic comes from a fake Ebyte ECAN gateway on a loopback TCP port that the MasterBus
//! source connects to; the navigation instruments from an NMEA multiplexer on another TCP port;
//! the Meshtastic radio answers the stream API on a third, as a radio on Wi-Fi does (TCP 4403):
//! it waits for `want_config_id`, sends its node database, then the packets it hears. Bluetooth
//! adverts have no transport without an adapter; they go in as "advert bytes + address + time",
//! exactly what the BlueZ source delivers.
//!
//! The simulator runs on its own thread and hands its records to a [`Router`]: the history
//! (everything up to the live day's start) to the import, the live day to each transport's
//! feeder through bounded channels, so a week aboard never sits in memory. Every feeder paces
//! itself on a shared clock: record time `t` is sent at `origin + (t − t0) / speed`.

use std::time::Duration;

use halyard_proto::can::{ecan, Received};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::ingest::recording::Record;
use crate::ingest::{now_ms, Input};
use crate::model::Millis;

/// The shared clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Wall-clock start.
    pub origin: Instant,
    /// Record time at the start.
    pub t0: Millis,
    /// Times real time; `None` as fast as possible.
    pub speed: Option<f64>,
}

impl Clock {
    /// The record time it is now: `t0` at `origin`, then `speed` times faster than real time.
    pub fn now(&self) -> Millis {
        let since = tokio::time::Instant::now().saturating_duration_since(self.origin).as_secs_f64();
        let before = self.origin.saturating_duration_since(tokio::time::Instant::now()).as_secs_f64();
        self.t0 + ((since - before) * 1000.0 * self.speed.unwrap_or(1.0)) as Millis
    }

    /// Wait until `at` is due.
    pub async fn wait(&self, at: Millis) {
        if let Some(speed) = self.speed {
            let offset = (at - self.t0).max(0) as f64 / 1000.0 / speed.max(1e-3);
            tokio::time::sleep_until(self.origin + Duration::from_secs_f64(offset)).await;
        }
    }
}

/// Records waiting per transport, at most.
const QUEUE: usize = 20_000;

/// The receiving ends of the live day's transports.
#[derive(Debug)]
pub struct Feeds {
    /// VE.Direct bytes.
    pub serial: mpsc::Receiver<(Millis, Vec<u8>)>,
    /// CAN frames.
    pub can: mpsc::Receiver<(Millis, Received)>,
    /// NMEA sentences.
    pub nmea: mpsc::Receiver<(Millis, String)>,
    /// NMEA 2000 messages (`halyard demo --nav n2k`).
    pub n2k: mpsc::Receiver<(Millis, halyard_proto::n2k::Header, Vec<u8>)>,
    /// Meshtastic stream bytes.
    pub mesh: mpsc::Receiver<(Millis, Vec<u8>)>,
    /// Everything else (BLE adverts).
    pub direct: mpsc::Receiver<Record>,
}

/// Where the simulator's records go.
#[derive(Debug)]
pub struct Router {
    cut: Millis,
    history: Option<mpsc::Sender<Record>>,
    /// As fast as possible: the live day as records too.
    once: Option<mpsc::Sender<Record>>,
    /// The radio's node database went out on the live day (a radio sends it on connecting).
    introduced: bool,
    serial: mpsc::Sender<(Millis, Vec<u8>)>,
    can: mpsc::Sender<(Millis, Received)>,
    nmea: mpsc::Sender<(Millis, String)>,
    n2k: mpsc::Sender<(Millis, halyard_proto::n2k::Header, Vec<u8>)>,
    mesh: mpsc::Sender<(Millis, Vec<u8>)>,
    direct: mpsc::Sender<Record>,
}

/// The gateway stopped reading (the demo was interrupted).
#[derive(Debug)]
pub struct Closed;

impl Router {
    /// Records up to `cut` go to the returned history receiver; later ones to the transports'
    /// feeds, or with `once` to the second receiver as records.
    pub fn new(cut: Millis, once: bool) -> (Router, mpsc::Receiver<Record>, Option<mpsc::Receiver<Record>>, Feeds) {
        let (history, history_rx) = mpsc::channel(QUEUE);
        let (once_tx, once_rx) = if once {
            let (tx, rx) = mpsc::channel(QUEUE);
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let (serial, serial_rx) = mpsc::channel(QUEUE);
        let (can, can_rx) = mpsc::channel(QUEUE);
        let (nmea, nmea_rx) = mpsc::channel(QUEUE);
        let (n2k, n2k_rx) = mpsc::channel(QUEUE);
        let (mesh, mesh_rx) = mpsc::channel(QUEUE);
        let (direct, direct_rx) = mpsc::channel(QUEUE);
        let router = Router {
            cut,
            history: Some(history),
            once: once_tx,
            introduced: false,
            serial,
            can,
            nmea,
            n2k,
            mesh,
            direct,
        };
        let feeds =
            Feeds { serial: serial_rx, can: can_rx, nmea: nmea_rx, n2k: n2k_rx, mesh: mesh_rx, direct: direct_rx };
        (router, history_rx, once_rx, feeds)
    }

    /// Send one record where it belongs (blocking: call it from the simulator's thread).
    pub fn route(&mut self, r: Record) -> Result<(), Closed> {
        let at = r.at();
        if at <= self.cut {
            if let Some(h) = &self.history {
                return h.blocking_send(r).map_err(|_| Closed);
            }
        }
        // The history ends with the first record of the live day.
        self.history = None;
        if let Some(once) = &self.once {
            // A gateway connecting to the radio first gets its node database (radio_feeder).
            if let (Record::Mesh { source, .. }, false) = (&r, self.introduced) {
                self.introduced = true;
                let hello = Record::Mesh { at, source: source.clone(), bytes: super::radios::database(1) };
                once.blocking_send(hello).map_err(|_| Closed)?;
            }
            return once.blocking_send(r).map_err(|_| Closed);
        }
        let sent = match r {
            Record::VeDirect { bytes, .. } => self.serial.blocking_send((at, bytes)).is_ok(),
            Record::Can { received, .. } => self.can.blocking_send((at, received)).is_ok(),
            Record::Nmea { line, .. } => self.nmea.blocking_send((at, line)).is_ok(),
            Record::N2k { header, data, .. } => self.n2k.blocking_send((at, header, data)).is_ok(),
            Record::Mesh { bytes, .. } => self.mesh.blocking_send((at, bytes)).is_ok(),
            other => self.direct.blocking_send(other).is_ok(),
        };
        sent.then_some(()).ok_or(Closed)
    }
}

/// What a feeder hands back when done: its transport, to be closed only after the gateway has
/// stopped (closing it earlier would look like an unplugged cable), and how many records it sent.
pub type Transport = (Box<dyn Send>, u64);

/// Write VE.Direct bytes into the pseudo-terminal's master side.
pub async fn serial_feeder(
    mut master: tokio_serial::SerialStream,
    mut data: mpsc::Receiver<(Millis, Vec<u8>)>,
    clock: Clock,
) -> Transport {
    let mut n = 0;
    while let Some((at, bytes)) = data.recv().await {
        clock.wait(at).await;
        if let Err(e) = master.write_all(&bytes).await {
            tracing::warn!("demo: VE.Direct emulator stopped: {e}");
            break;
        }
        n += 1;
    }
    // Give the gateway time to read what is still in the line.
    tokio::time::sleep(Duration::from_secs(2)).await;
    (Box::new(master), n)
}

/// Serve the CAN frames as an ECAN-E01 would (13-byte frames over TCP), to the first client.
pub async fn ecan_feeder(
    listener: tokio::net::TcpListener,
    mut frames: mpsc::Receiver<(Millis, Received)>,
    clock: Clock,
) -> Transport {
    let Ok((mut socket, _)) = listener.accept().await else { return (Box::new(listener), 0) };
    let mut n = 0;
    while let Some((at, received)) = frames.recv().await {
        let Received::Frame(frame) = received else { continue };
        clock.wait(at).await;
        if socket.write_all(&ecan::encode(&frame)).await.is_err() {
            break;
        }
        n += 1;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    (Box::new(socket), n)
}

/// Serve the instruments' NMEA 2000 messages as a Yacht Devices gateway does in RAW mode (one
/// CAN frame a line over TCP, fast packets split), to the first client.
pub async fn ydwg_feeder(
    listener: tokio::net::TcpListener,
    mut messages: mpsc::Receiver<(Millis, halyard_proto::n2k::Header, Vec<u8>)>,
    clock: Clock,
) -> Transport {
    let Ok((mut socket, _)) = listener.accept().await else { return (Box::new(listener), 0) };
    let mut n = 0;
    let mut sequence = 0u8;
    while let Some((at, header, data)) = messages.recv().await {
        clock.wait(at).await;
        let time = Some(at.rem_euclid(86_400_000) as u32);
        let mut text = String::new();
        let mut line = |frame: &[u8]| {
            let _ = halyard_proto::n2k::raw::write_yd(&mut text, time, header.can_id(), frame);
        };
        if halyard_proto::n2k::is_fast_packet(header.pgn) {
            sequence = (sequence + 1) & 7;
            halyard_proto::n2k::fast_packet::split(&data, sequence, |f| line(&f));
        } else {
            line(&data);
        }
        if socket.write_all(text.as_bytes()).await.is_err() {
            break;
        }
        n += 1;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    (Box::new(socket), n)
}

/// Serve the instruments' sentences as a Wi-Fi NMEA multiplexer does (lines over TCP), to the
/// first client.
pub async fn nmea_feeder(
    listener: tokio::net::TcpListener,
    mut lines: mpsc::Receiver<(Millis, String)>,
    clock: Clock,
) -> Transport {
    let Ok((mut socket, _)) = listener.accept().await else { return (Box::new(listener), 0) };
    let mut n = 0;
    let mut buf = String::new();
    let mut pending: Option<(Millis, String)> = lines.recv().await;
    while let Some((at, line)) = pending.take() {
        clock.wait(at).await;
        // One write per instant: the sentences of one second leave together.
        buf.clear();
        buf.push_str(&line);
        buf.push_str("\r\n");
        n += 1;
        loop {
            match lines.try_recv() {
                Ok((t, l)) if t == at => {
                    buf.push_str(&l);
                    buf.push_str("\r\n");
                    n += 1;
                }
                Ok(next) => {
                    pending = Some(next);
                    break;
                }
                Err(_) => {
                    pending = None;
                    break;
                }
            }
        }
        if socket.write_all(buf.as_bytes()).await.is_err() {
            break;
        }
        if pending.is_none() {
            pending = lines.recv().await;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    (Box::new(socket), n)
}

/// Play a Meshtastic radio on its TCP stream API: wait for the client's `want_config_id`,
/// answer with the node database and `config_complete_id`, then send what the radio hears.
/// Whatever else the client writes is read and ignored (a real radio would act on it; Halyard
/// sends only heartbeats).
pub async fn radio_feeder(
    listener: tokio::net::TcpListener,
    mut frames: mpsc::Receiver<(Millis, Vec<u8>)>,
    clock: Clock,
) -> Transport {
    use prost::Message;
    let Ok((socket, _)) = listener.accept().await else { return (Box::new(listener), 0) };
    let (mut reader, mut writer) = socket.into_split();
    // The first frame the client sends: ToRadio { want_config_id }.
    let mut id = None;
    let mut framer = halyard_proto::meshtastic::StreamFramer::default();
    let mut buf = [0u8; 512];
    while id.is_none() {
        let Ok(n) = reader.read(&mut buf).await else { return (Box::new(writer), 0) };
        if n == 0 {
            return (Box::new(writer), 0);
        }
        framer.push_all(&buf[..n], |e| {
            if let halyard_proto::meshtastic::Event::Frame(f) = e {
                if let Ok(crate::mesh::proto::ToRadio {
                    variant: Some(crate::mesh::proto::to_radio::Variant::WantConfigId(i)),
                }) = crate::mesh::proto::ToRadio::decode(f)
                {
                    id = Some(i);
                }
            }
        });
    }
    // Drain the client's later heartbeats.
    tokio::spawn(async move {
        let mut buf = [0u8; 256];
        while matches!(reader.read(&mut buf).await, Ok(n) if n > 0) {}
    });
    if writer.write_all(&super::radios::database(id.unwrap_or(1))).await.is_err() {
        return (Box::new(writer), 0);
    }
    let mut n = 0;
    while let Some((at, bytes)) = frames.recv().await {
        clock.wait(at).await;
        if writer.write_all(&bytes).await.is_err() {
            break;
        }
        n += 1;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    (Box::new(writer), n)
}

/// Hand the BLE adverts to the pipeline as the BlueZ source would: stamped on arrival.
pub async fn direct_feeder(mut records: mpsc::Receiver<Record>, clock: Clock, tx: mpsc::Sender<Input>) -> u64 {
    let mut n = 0;
    while let Some(r) = records.recv().await {
        clock.wait(r.at()).await;
        let input = match r {
            Record::Ble { mac, data, .. } => Input::Ble { at: now_ms(), mac, data, via: None },
            Record::Mqtt { topic, payload, .. } => Input::Mqtt { at: now_ms(), topic, payload: payload.into_bytes() },
            _ => continue,
        };
        if tx.send(input).await.is_err() {
            break;
        }
        n += 1;
    }
    n
}
