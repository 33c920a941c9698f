//! `halyard masterbus listen SOURCE`: live MasterBus as JSON lines, from an SLCAN adapter, a
//! CAN-Ethernet gateway, a SocketCAN interface or a capture file. Passive unless `--active`.
//! The link reconnects with backoff when the adapter is unplugged or the gateway drops the socket.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use halyard_proto::masterbus::bus::Observation;
use halyard_proto::masterbus::client::{Client, Config, Poll};
use halyard_proto::masterbus::DeviceId;
use serde_json::{json, Value as Json};

use super::{json as mbjson, replay, Decoded, Listener};
use crate::burst::BurstLog;
use crate::sources::backoff::Backoff;
use crate::sources::can::link::{now_ns, Input, Link};
use crate::sources::can::Spec;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// slcan:/dev/ttyACM0, ecan:HOST[:PORT], socketcan:can0 or file:CAPTURE.
    source: Spec,
    /// Print every frame, not only values and device events.
    #[arg(long)]
    all: bool,
    /// Take part in the bus: announce, ask every device to describe itself, poll `--poll` items.
    /// Off by default: without it Halyard never sends a frame.
    #[arg(long)]
    active: bool,
    /// Poll an item, DEVICE:ITEM[@SECONDS] (e.g. 0x31297:0x0001@1). Needs --active.
    #[arg(long = "poll", value_name = "DEVICE:ITEM[@SECONDS]", value_parser = parse_poll)]
    polls: Vec<Poll>,
    /// Halyard's own 16-bit bus address in active mode.
    #[arg(long, default_value = "0x4859", value_parser = parse_u16)]
    address: u16,
    /// Stop after this many seconds (default: run until interrupted).
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
}

fn parse_u16(s: &str) -> Result<u16, String> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"));
    match digits {
        Some(h) => u16::from_str_radix(h, 16),
        None => s.parse(),
    }
    .map_err(|_| format!("`{s}` is not a 16-bit number"))
}

/// Parse `DEVICE:ITEM[@SECONDS]` (the CLI's `--poll` and the configuration's `poll`).
pub(crate) fn parse_poll(s: &str) -> Result<Poll, String> {
    let (target, every) = s.split_once('@').unwrap_or((s, "1"));
    let (device, item) = target.split_once(':').ok_or_else(|| format!("`{s}`: expected DEVICE:ITEM[@SECONDS]"))?;
    let device = u32::from_str_radix(device.trim_start_matches("0x"), 16)
        .ok()
        .filter(|d| *d <= 0x3FFFF)
        .ok_or_else(|| format!("`{device}` is not an 18-bit device number such as 0x31297"))?;
    let item = parse_u16(item)?;
    let seconds: f64 =
        every.parse().ok().filter(|s: &f64| *s >= 0.05).ok_or_else(|| format!("`{every}`: seconds ≥ 0.05"))?;
    Ok(Poll { device: DeviceId(device), item, every_ns: (seconds * 1e9) as u64 })
}

fn emit(out: &mut impl Write, line: &Json) -> Result<()> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// Device events printed even without `--all`.
fn event_line(ts_ns: u64, decoded: &Decoded) -> Option<Json> {
    let Decoded::Message { observation: Some(o), .. } = decoded else { return None };
    match o {
        Observation::NewDevice { node, type_code } => Some(json!({
            "ts": mbjson::timestamp(ts_ns), "event": "device", "device": node.device().to_string(),
            "type_code": format!("0x{type_code:02X}"),
            "type_name": halyard_proto::masterbus::catalog::type_name(*type_code),
        })),
        Observation::DeviceNamed { node, name } => Some(json!({
            "ts": mbjson::timestamp(ts_ns), "event": "named", "device": node.device().to_string(), "name": name,
        })),
        _ => None,
    }
}

/// Everything learned, as one JSON object.
fn inventory(listener: &Listener) -> Json {
    let devices: Vec<Json> = listener
        .bus
        .nodes()
        .map(|(node, state)| {
            let fields: serde_json::Map<String, Json> = state
                .fields
                .iter()
                .map(|(field, info)| {
                    let (name, unit) = state.field_label(*field);
                    let key = format!("0x{field:04X}");
                    (key, json!({ "name": name, "unit": unit, "viz": info.viz.map(|v| v.name()), "writable": info.writable }))
                })
                .collect();
            json!({
                "device": node.device().to_string(),
                "type_code": format!("0x{:02X}", node.type_code()),
                "name": state.name(),
                "fields": fields,
            })
        })
        .collect();
    json!({ "event": "devices", "devices": devices, "counters": mbjson::summary(&listener.counters) })
}

/// Run the listener.
pub fn run(args: Args) -> Result<()> {
    if !args.polls.is_empty() && !args.active {
        bail!("--poll sends requests on the bus; add --active to allow it");
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(listen(args))
}

async fn listen(args: Args) -> Result<()> {
    let mut listener = Listener::default();
    let mut out = std::io::stdout().lock();
    let deadline = args.duration.map(|s| Instant::now() + Duration::from_secs_f64(s));
    if let Spec::File(path) = &args.source {
        let file = std::fs::File::open(path).with_context(|| format!("reading {path}"))?;
        let mut bad = BurstLog::new("masterbus capture", Duration::from_secs(1));
        replay(
            file,
            &mut listener,
            |ts, decoded| match mbjson::decoded(ts, decoded, args.all).or_else(|| event_line(ts, decoded)) {
                Some(line) => emit(&mut out, &line),
                None => Ok(()),
            },
            |e| {
                bad.report(Instant::now(), || e.to_string());
                Ok(())
            },
        )
        .map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
        return emit(&mut out, &inventory(&listener));
    }
    let mut client = args.active.then(|| {
        let mut config = Config::new(args.address);
        config.polls = args.polls.clone();
        Client::new(config)
    });
    let mut backoff = Backoff::default();
    let mut link_errors = BurstLog::new("masterbus link", Duration::from_secs(10));
    let mut garbage = BurstLog::new("masterbus input", Duration::from_secs(10));
    let sleep_until_deadline = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(sleep_until_deadline);
    loop {
        let mut link = tokio::select! {
            _ = &mut sleep_until_deadline => break,
            link = Link::open(&args.source, args.active) => link,
        };
        match &mut link {
            Err(e) => link_errors.report(Instant::now(), || format!("cannot open {}: {e}", args.source)),
            Ok(link) => {
                eprintln!(
                    "halyard: masterbus: listening on {}{}",
                    args.source,
                    if args.active { " (active)" } else { " (listen-only)" }
                );
                if let Some(advice) = crate::sources::can::mode::advice_on_open(&args.source, args.active).await {
                    eprintln!("halyard: masterbus: {advice}");
                }
                let mut tick = tokio::time::interval(Duration::from_millis(2));
                let mut got_frames = false;
                let reason = loop {
                    tokio::select! {
                        _ = &mut sleep_until_deadline => break None,
                        input = link.recv() => match input {
                            Ok(Input::Frame(ts, received)) => {
                                if !got_frames {
                                    got_frames = true;
                                    backoff.reset();
                                }
                                let decoded = listener.handle(ts, &received);
                                if let (Some(c), Decoded::Message { id, message, .. }) = (&mut client, &decoded) {
                                    c.handle(*id, message);
                                }
                                if let Some(line) = mbjson::decoded(ts, &decoded, args.all).or_else(|| event_line(ts, &decoded)) {
                                    emit(&mut out, &line)?;
                                }
                            }
                            Ok(Input::Garbage(what)) => {
                                listener.counters.bad_records += 1;
                                garbage.report(Instant::now(), || what);
                            }
                            Err(e) => break Some(e),
                        },
                        _ = tick.tick(), if client.is_some() => {
                            if let Some(c) = &mut client {
                                if let Some(frame) = c.next_frame(now_ns(), &listener.bus) {
                                    if let Err(e) = link.send(&frame).await {
                                        break Some(e);
                                    }
                                }
                            }
                        }
                    }
                };
                match reason {
                    None => break,
                    Some(e) => link_errors.report(Instant::now(), || format!("{} lost: {e}", args.source)),
                }
            }
        }
        let delay = backoff.next_delay();
        tokio::select! {
            _ = &mut sleep_until_deadline => break,
            _ = tokio::time::sleep(delay) => {}
        }
    }
    emit(&mut out, &inventory(&listener))?;
    eprintln!("halyard: masterbus summary {}", mbjson::summary(&listener.counters));
    Ok(())
}
