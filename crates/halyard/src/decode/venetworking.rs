//! `halyard decode venetworking --key KEY --network-id ID MSG…`: each message on its own JSON line.

use std::path::PathBuf;

use anyhow::{bail, Result};
use halyard_proto::vedirect::registers::{self, RegisterValue};
use halyard_proto::victron::smart_networking::{Event, Network, Rejection};
use serde_json::{json, Map, Value as Json};

use crate::{json as j, keys, Exit};

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The VE.Smart network key (32 hex digits, from VictronConnect's `networks` table).
    #[arg(long, env = "HALYARD_VENETWORK_KEY", hide_env_values = true)]
    key: String,
    /// The 4-hex-digit network id (VictronConnect → VE.Smart networking).
    #[arg(long)]
    network_id: String,
    /// A file with one message in hex per line (`#` comments allowed), instead of arguments.
    #[arg(long, conflicts_with = "messages")]
    file: Option<PathBuf>,
    /// Messages in hex (manufacturer data, with or without the e102 company id).
    messages: Vec<String>,
}

/// Decode and print.
pub fn run(args: Args) -> Result<()> {
    let key = keys::parse_key("--key", &args.key)?;
    let id = super::parse_hex("--network-id", &args.network_id)?;
    let Ok(network_id) = <[u8; 2]>::try_from(id.as_slice()) else {
        bail!("--network-id must be 4 hex digits");
    };
    let out = super::output();
    // Messages from the command line, or a file's lines read one at a time (bounded memory).
    let lines: Box<dyn Iterator<Item = Result<String>>> = match &args.file {
        Some(path) => {
            let flushing = super::Flushing { input: super::open_input(path)?, out: out.clone() };
            let mut input = std::io::BufReader::new(flushing);
            let mut line = Vec::new();
            Box::new(std::iter::from_fn(move || {
                line.clear();
                match crate::lines::read_line(&mut input, &mut line) {
                    Ok((0, _)) => None,
                    Ok((_, true)) => Some(Ok("(a line too long to be a message)".into())),
                    Ok(_) => Some(Ok(String::from_utf8_lossy(&line).trim().to_owned())),
                    Err(e) => Some(Err(e.into())),
                }
            }))
        }
        None => Box::new(args.messages.clone().into_iter().map(Ok)),
    };
    let mut network = Network::new(key, network_id);
    let (mut authenticated, mut auth_failures) = (0, 0);
    for line in lines {
        let line = line?;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bytes = match super::parse_hex("a message", &line) {
            Ok(bytes) => bytes,
            Err(e) => {
                super::writeln_json(&mut *out.borrow_mut(), &json!({ "error": format!("{e:#}") }))?;
                continue;
            }
        };
        let line_out = match network.handle(&bytes) {
            Ok(event) => {
                authenticated += 1;
                event_json(&event)
            }
            Err(rejection) => {
                if matches!(rejection, Rejection::AuthenticationFailed { .. }) {
                    auth_failures += 1;
                }
                json!({ "error": rejection.to_string() })
            }
        };
        super::writeln_json(&mut *out.borrow_mut(), &line_out)?;
    }
    std::io::Write::flush(&mut *out.borrow_mut())?;
    if authenticated == 0 && auth_failures > 0 {
        return Err(Exit { code: 3, message: "no message authenticated: wrong network key or id".into() }.into());
    }
    Ok(())
}

fn event_json(event: &Event<'_>) -> Json {
    match event {
        Event::OverflowAuthenticated { serial, overflow } => json!({
            "op": 1,
            "serial": serial.to_text().as_str(),
            "overflow": u16::from_le_bytes(*overflow),
        }),
        Event::ProductAdvertisement(bytes) => json!({ "op": 0x10, "instant_readout": j::hex(bytes) }),
        Event::Data { serial, cleartext } => {
            let mut records = Vec::new();
            let mut values = Map::new();
            let mut error = None;
            for r in cleartext.records() {
                match r {
                    Ok(rec) => {
                        let mut item = json!({ "register": format!("0x{:04X}", rec.register), "raw": rec.raw_u32() });
                        if let RegisterValue::Field(f) = registers::decode(rec.register, rec.value) {
                            item["name"] = f.name.into();
                            item["unit"] = f.unit.symbol().into();
                            j::insert(&mut values, &f);
                        } else {
                            item["bytes"] = j::hex(rec.value).into();
                        }
                        records.push(item);
                    }
                    Err(e) => error = Some(e.to_string()),
                }
            }
            let mut out = json!({
                "op": 2,
                "serial": serial.to_text().as_str(),
                "cleartext_type": cleartext.kind(),
                "registers": records,
                "values": values,
            });
            if let Some(e) = error {
                out["error"] = e.into();
            }
            out
        }
    }
}
