//! A VE.Direct serial port (19,200 baud 8N1, vedirect-3.34.pdf p.2): bytes in, timestamped,
//! reopened with backoff when the cable is unplugged. Optionally sends HEX GETs of configured
//! registers (a GET changes nothing) and, only with `allow_writes`, the configured SETs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use halyard_proto::vedirect::hex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio_serial::SerialPortBuilderExt;

use super::backoff::Backoff;
use crate::burst::BurstLog;
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
pub async fn run(
    cfg: VeDirectPort,
    tx: mpsc::Sender<Input>,
    telemetry: Arc<Telemetry>,
    mut stop: watch::Receiver<bool>,
) {
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
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(1));
    let mut errors = BurstLog::new("vedirect", Duration::from_secs(60));
    let labels = [("source", &*name)];
    let mut first = true;
    loop {
        if *stop.borrow() {
            break;
        }
        let opened = tokio_serial::new(&cfg.port, 19_200)
            .data_bits(tokio_serial::DataBits::Eight)
            .parity(tokio_serial::Parity::None)
            .stop_bits(tokio_serial::StopBits::One)
            .flow_control(tokio_serial::FlowControl::None)
            .open_native_async();
        match opened {
            Err(e) => {
                telemetry.set("halyard_source_up", &labels, 0.0);
                errors.report(Instant::now(), || format!("{}: cannot open: {e}{}", cfg.port, super::open_hint(&e)));
            }
            Ok(mut port) => {
                if !first {
                    telemetry.inc("halyard_source_reconnects_total", &labels);
                }
                first = false;
                telemetry.set("halyard_source_up", &labels, 1.0);
                tracing::info!("vedirect: reading {}", cfg.port);
                let _ = tx.send(Input::VeDirectReopened { port: name.clone() }).await;
                for (reg, frame) in &sets {
                    let line = frame.to_line();
                    match port.write_all(line.as_bytes()).await {
                        Ok(()) => tracing::warn!("vedirect {}: wrote register 0x{reg:04X} ({})", cfg.port, line.trim()),
                        Err(e) => tracing::error!("vedirect {}: writing register 0x{reg:04X} failed: {e}", cfg.port),
                    }
                }
                let mut poll = tokio::time::interval(Duration::from_secs(cfg.poll_seconds.max(1)));
                let mut buf = vec![0u8; 1024];
                let reason = loop {
                    tokio::select! {
                        _ = stop.changed() => break None,
                        r = port.read(&mut buf) => match r {
                            Ok(0) => break Some("end of file".to_owned()),
                            Ok(n) => {
                                backoff.reset();
                                let input = Input::VeDirect { at: now_ms(), port: name.clone(), bytes: buf[..n].to_vec() };
                                if tx.send(input).await.is_err() {
                                    break None;
                                }
                            }
                            Err(e) => break Some(e.to_string()),
                        },
                        _ = poll.tick(), if !cfg.poll.is_empty() => {
                            let mut lines = String::new();
                            for reg in &cfg.poll {
                                lines.push_str(&hex::get(*reg).to_line());
                            }
                            if let Err(e) = port.write_all(lines.as_bytes()).await {
                                break Some(e.to_string());
                            }
                        }
                    }
                };
                telemetry.set("halyard_source_up", &labels, 0.0);
                match reason {
                    None => break,
                    Some(r) => errors.report(Instant::now(), || format!("{}: lost ({r}); reopening", cfg.port)),
                }
            }
        }
        tokio::select! {
            _ = stop.changed() => {}
            _ = tokio::time::sleep(backoff.next_delay()) => {}
        }
    }
    telemetry.set("halyard_source_up", &labels, 0.0);
}
