//! A MasterBus source in the gateway: a CAN link (SLCAN, ECAN, SocketCAN) decoded in place,
//! because the opt-in active client needs what the listener has learned. Passive unless the
//! configuration sets `active = true`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use halyard_proto::masterbus::client::{Client, Config as ClientConfig};
use tokio::sync::{mpsc, watch};

use super::backoff::Backoff;
use super::can::link::{now_ns, Input as LinkInput, Link};
use crate::burst::BurstLog;
use crate::config::MasterBusSource;
use crate::ingest::masterbus::MasterBusDecoder;
use crate::ingest::Input;
use crate::masterbus::listen::parse_poll;
use crate::masterbus::Decoded;
use crate::telemetry::Telemetry;

/// Halyard's own bus address in active mode.
const ADDRESS: u16 = 0x4859;

/// Run one source until `stop` turns true.
pub async fn run(
    cfg: MasterBusSource,
    tx: mpsc::Sender<Input>,
    telemetry: Arc<Telemetry>,
    mut stop: watch::Receiver<bool>,
) {
    let name = cfg.source.to_string();
    let labels = [("source", name.as_str())];
    let mut decoder = MasterBusDecoder::new(&name, telemetry.clone());
    let mut client = cfg.active.then(|| {
        let mut c = ClientConfig::new(ADDRESS);
        c.polls = cfg
            .poll
            .iter()
            .filter_map(|p| parse_poll(p).map_err(|e| tracing::error!("masterbus poll {e}")).ok())
            .collect();
        Client::new(c)
    });
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(10));
    let mut errors = BurstLog::new("masterbus", Duration::from_secs(60));
    let mut first = true;
    let peer = cfg.source.peer();
    loop {
        if *stop.borrow() {
            break;
        }
        match Link::open(&cfg.source, cfg.active).await {
            Err(e) => {
                telemetry.set("halyard_source_up", &labels, 0.0);
                errors.report(Instant::now(), || format!("{name}: cannot open: {e}{}", super::open_hint(&e)));
            }
            Ok(mut link) => {
                if !first {
                    telemetry.inc("halyard_source_reconnects_total", &labels);
                } else if let Some(advice) = super::can::mode::advice_on_open(&cfg.source, cfg.active).await {
                    tracing::warn!("{name}: {advice}");
                }
                first = false;
                telemetry.set("halyard_source_up", &labels, 1.0);
                tracing::info!(
                    "masterbus: listening on {name}{}",
                    if cfg.active { " (active)" } else { " (listen-only)" }
                );
                let mut tick = tokio::time::interval(Duration::from_millis(2));
                let reason = loop {
                    tokio::select! {
                        _ = stop.changed() => break None,
                        input = link.recv() => match input {
                            Ok(LinkInput::Frame(ts, received)) => {
                                backoff.reset();
                                let (decoded, update) = decoder.frame(ts, &received);
                                if let (Some(c), Decoded::Message { id, message, .. }) = (&mut client, &decoded) {
                                    c.handle(*id, message);
                                }
                                if let Some(u) = update {
                                    if tx.send(Input::Decoded(u)).await.is_err() {
                                        break None;
                                    }
                                }
                            }
                            Ok(LinkInput::Garbage(what)) => {
                                decoder.bad_record();
                                tracing::debug!("{name}: {what}");
                            }
                            Err(e) => break Some(e),
                        },
                        _ = tick.tick(), if client.is_some() => {
                            if let Some(c) = &mut client {
                                if let Some(frame) = c.next_frame(now_ns(), &decoder.listener.bus) {
                                    if let Err(e) = link.send(&frame).await {
                                        break Some(e);
                                    }
                                }
                            }
                        }
                    }
                };
                telemetry.set("halyard_source_up", &labels, 0.0);
                match reason {
                    None => break,
                    Some(e) => errors.report(Instant::now(), || format!("{name}: lost ({e}); reopening")),
                }
            }
        }
        tokio::select! {
            _ = stop.changed() => {}
            _ = backoff.wait(peer.as_ref()) => {}
        }
    }
    telemetry.set("halyard_source_up", &labels, 0.0);
}
