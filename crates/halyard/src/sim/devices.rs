//! The simulated devices behind real transports, for `halyard demo`: the VE.Direct MPPT writes
//! into a pseudo-terminal that the gateway's serial source opens like a USB cable, and the
//! MasterBus traffic comes from a fake Ebyte ECAN gateway on a loopback TCP port that the
//! MasterBus source connects to. Bluetooth adverts have no transport without an adapter; they
//! go in as "advert bytes + address + time", exactly what the BlueZ source delivers.
//!
//! Every feeder paces itself on a shared clock: record time `t` is sent at
//! `origin + (t − t0) / speed` (at once when `speed` is `None`).

use std::time::Duration;

use halyard_proto::can::{ecan, Received};
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use tokio::sync::mpsc;

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

/// The records, split by transport.
#[derive(Debug, Default)]
pub struct Split {
    /// VE.Direct bytes with their time.
    pub serial: Vec<(Millis, Vec<u8>)>,
    /// CAN frames with their time.
    pub can: Vec<(Millis, Received)>,
    /// Everything else (BLE adverts).
    pub direct: Vec<Record>,
}

/// Split the simulator's records by the transport their device uses.
pub fn split(records: Vec<Record>) -> Split {
    let mut s = Split::default();
    for r in records {
        match r {
            Record::VeDirect { at, bytes, .. } => s.serial.push((at, bytes)),
            Record::Can { ts_ns, received, .. } => s.can.push(((ts_ns / 1_000_000) as Millis, received)),
            other => s.direct.push(other),
        }
    }
    s
}

/// What a feeder hands back when done: its transport, to be closed only after the gateway has
/// stopped (closing it earlier would look like an unplugged cable).
pub type Transport = Box<dyn Send>;

/// Write VE.Direct bytes into the pseudo-terminal's master side.
pub async fn serial_feeder(
    mut master: tokio_serial::SerialStream,
    data: Vec<(Millis, Vec<u8>)>,
    clock: Clock,
) -> Transport {
    for (at, bytes) in data {
        clock.wait(at).await;
        if let Err(e) = master.write_all(&bytes).await {
            tracing::warn!("demo: VE.Direct emulator stopped: {e}");
            break;
        }
    }
    // Give the gateway time to read what is still in the line.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Box::new(master)
}

/// Serve the CAN frames as an ECAN-E01 would (13-byte frames over TCP), to the first client.
pub async fn ecan_feeder(
    listener: tokio::net::TcpListener,
    frames: Vec<(Millis, Received)>,
    clock: Clock,
) -> Transport {
    let Ok((mut socket, _)) = listener.accept().await else { return Box::new(listener) };
    let mut buf = Vec::with_capacity(13 * 64);
    for (at, received) in frames {
        let Received::Frame(frame) = received else { continue };
        if clock.speed.is_some() {
            clock.wait(at).await;
        }
        buf.extend_from_slice(&ecan::encode(&frame));
        if clock.speed.is_some() || buf.len() >= 13 * 64 {
            if socket.write_all(&buf).await.is_err() {
                return Box::new(socket);
            }
            buf.clear();
        }
    }
    let _ = socket.write_all(&buf).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    Box::new(socket)
}

/// Hand the BLE adverts to the pipeline as the BlueZ source would: stamped on arrival.
pub async fn direct_feeder(records: Vec<Record>, clock: Clock, tx: mpsc::Sender<Input>) -> u64 {
    let mut n = 0;
    for r in records {
        clock.wait(r.at()).await;
        let input = match r {
            Record::Ble { mac, data, .. } => Input::Ble { at: now_ms(), mac, data },
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
