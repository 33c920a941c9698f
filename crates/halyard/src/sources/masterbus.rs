//! A MasterBus source in the gateway: a CAN link (SLCAN, ECAN, SocketCAN) decoded in place,
//! because the opt-in active client needs what the listener has learned. Passive unless the
//! configuration sets `active = true`.

use std::sync::Arc;
use std::time::Duration;

use halyard_proto::masterbus::client::{Client, Config as ClientConfig};
use tokio::sync::{mpsc, watch};

use super::can::link::{now_ns, Input as LinkInput, Link};
use super::reopen::{Ended, Reopen};
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
    stop: watch::Receiver<bool>,
) {
    let name = cfg.source.to_string();
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
    let mut reopen = Reopen::new(&name, name.clone(), telemetry, stop).peer(cfg.source.peer());
    while reopen.running() {
        let ended = session(&cfg, &mut decoder, &mut client, &tx, &mut reopen).await;
        reopen.ended(ended).await;
    }
}

/// One session: open the link, decode (and, active, poll) until it fails or `stop`.
async fn session(
    cfg: &MasterBusSource,
    decoder: &mut MasterBusDecoder,
    client: &mut Option<Client>,
    tx: &mpsc::Sender<Input>,
    reopen: &mut Reopen,
) -> Result<(), Ended> {
    let mut link = Link::open(&cfg.source, cfg.active).await.map_err(Ended::open)?;
    if reopen.opened() {
        if let Some(advice) = super::can::mode::advice_on_open(&cfg.source, cfg.active).await {
            tracing::warn!("{}: {advice}", cfg.source);
        }
    }
    tracing::info!("masterbus: listening on {}{}", cfg.source, if cfg.active { " (active)" } else { " (listen-only)" });
    let mut tick = tokio::time::interval(Duration::from_millis(2));
    loop {
        tokio::select! {
            _ = reopen.stop.changed() => return Ok(()),
            input = link.recv() => match input {
                Ok(LinkInput::Frame(ts, received)) => {
                    reopen.delivering();
                    let (decoded, update) = decoder.frame(ts, &received);
                    if let (Some(c), Decoded::Message { id, message, .. }) = (client.as_mut(), &decoded) {
                        c.handle(*id, message);
                    }
                    if let Some(u) = update {
                        if tx.send(Input::Decoded(u)).await.is_err() {
                            return Ok(());
                        }
                    }
                }
                Ok(LinkInput::Garbage(what)) => {
                    decoder.bad_record();
                    tracing::debug!("{}: {what}", cfg.source);
                }
                Err(e) => return Err(Ended::lost(e)),
            },
            _ = tick.tick(), if client.is_some() => {
                if let Some(c) = client.as_mut() {
                    if let Some(frame) = c.next_frame(now_ns(), &decoder.listener.bus) {
                        link.send(&frame).await.map_err(Ended::lost)?;
                    }
                }
            }
        }
    }
}
