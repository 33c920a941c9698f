//! A VE.Direct serial port (19,200 baud 8N1, vedirect-3.34.pdf p.2): bytes in, timestamped,
//! reopened with backoff when the cable is unplugged. Optionally sends HEX GETs of configured
//! registers (a GET changes nothing) and, only with `allow_writes`, the configured SETs.

use std::sync::Arc;
use std::time::Duration;

use halyard_proto::vedirect::hex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio_serial::SerialPortBuilderExt;

use super::backoff::Peer;
use super::reopen::{Ended, Reopen};
use crate::config::VeDirectPort;
use crate::ingest::{now_ms, Input};
use crate::model::registry::port_name;
use crate::telemetry::Telemetry;

/// The frames to send once after each open: the configured SETs.
fn set_frames(cfg: &VeDirectPort) -> anyhow::Result<Vec<(u16, hex::Frame)>> {
    let mut out = Vec::new();
    for (register, value) in &cfg.set {
        let reg = u16::from_str_radix(register.trim_start_matches("0x").trim_start_matches("0X"), 16)
            .map_err(|_| anyhow::anyhow!("[[vedirect]] {}: `{register}` is not a register", cfg.port))?;
        let bytes = crate::decode::parse_hex("the value", value)?;
        let frame = hex::set(reg, &bytes)
            .ok_or_else(|| anyhow::anyhow!("[[vedirect]] {}: value of {register} too long", cfg.port))?;
        out.push((reg, frame));
    }
    Ok(out)
}

/// Run one port until `stop` turns true.
pub async fn run(cfg: VeDirectPort, tx: mpsc::Sender<Input>, telemetry: Arc<Telemetry>, stop: watch::Receiver<bool>) {
    let name: Arc<str> = port_name(&cfg.port).into();
    let sets = match set_frames(&cfg) {
        Ok(s) if cfg.allow_writes => s,
        Ok(_) => Vec::new(),
        Err(e) => {
            tracing::error!("{e:#}");
            Vec::new()
        }
    };
    // Reopening a serial device is cheap: retry at least every second, so that a replugged
    // cable resumes within one second.
    let mut reopen = Reopen::new(&name, cfg.port.clone(), telemetry, stop)
        .backoff(Duration::from_millis(250), Duration::from_secs(1))
        .peer(Some(Peer::Device(cfg.port.clone())));
    while reopen.running() {
        let ended = session(&cfg, &name, &sets, &tx, &mut reopen).await;
        reopen.ended(ended).await;
    }
}

/// One session: open the port, write the allowed registers, read (and poll) until it fails or
/// `stop`.
async fn session(
    cfg: &VeDirectPort,
    name: &Arc<str>,
    sets: &[(u16, hex::Frame)],
    tx: &mpsc::Sender<Input>,
    reopen: &mut Reopen,
) -> Result<(), Ended> {
    let mut port = tokio_serial::new(&cfg.port, 19_200)
        .data_bits(tokio_serial::DataBits::Eight)
        .parity(tokio_serial::Parity::None)
        .stop_bits(tokio_serial::StopBits::One)
        .flow_control(tokio_serial::FlowControl::None)
        .open_native_async()
        .map_err(Ended::open)?;
    reopen.opened();
    tracing::info!("vedirect: reading {}", cfg.port);
    let _ = tx.send(Input::VeDirectReopened { port: name.clone() }).await;
    for (reg, frame) in sets {
        let line = frame.to_line();
        match port.write_all(line.as_bytes()).await {
            Ok(()) => tracing::warn!("vedirect {}: wrote register 0x{reg:04X} ({})", cfg.port, line.trim()),
            Err(e) => tracing::error!("vedirect {}: writing register 0x{reg:04X} failed: {e}", cfg.port),
        }
    }
    let mut poll = tokio::time::interval(Duration::from_secs(cfg.poll_seconds.max(1)));
    let mut buf = vec![0u8; 1024];
    loop {
        tokio::select! {
            _ = reopen.stop.changed() => return Ok(()),
            r = port.read(&mut buf) => match r {
                Ok(0) => return Err(Ended::lost("end of file")),
                Ok(n) => {
                    reopen.delivering();
                    let input = Input::VeDirect { at: now_ms(), port: name.clone(), bytes: buf[..n].to_vec() };
                    if tx.send(input).await.is_err() {
                        return Ok(());
                    }
                }
                Err(e) => return Err(Ended::lost(e)),
            },
            _ = poll.tick(), if !cfg.poll.is_empty() => {
                let mut lines = String::new();
                for reg in &cfg.poll {
                    lines.push_str(&hex::get(*reg).to_line());
                }
                port.write_all(lines.as_bytes()).await.map_err(Ended::lost)?;
            }
        }
    }
}
