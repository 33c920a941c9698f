//! `halyard decode vedirect FILE`: one JSON line per text block or HEX message.

use std::path::PathBuf;

use anyhow::Result;
use halyard_proto::vedirect::hex::{Frame, Message};
use halyard_proto::vedirect::labels;
use halyard_proto::vedirect::registers::{self, RegisterValue};
use halyard_proto::vedirect::text::{Block, BlockStatus, Event, TextFramer};
use serde_json::{json, Map, Value as Json};

use crate::json as j;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Capture file (raw bytes as read from the serial port), or `-` for standard input.
    file: PathBuf,
}

/// Decode and print.
pub fn run(args: Args) -> Result<()> {
    let mut framer = TextFramer::new();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    super::for_each_chunk(&args.file, &mut out, |out, bytes| {
        let mut result = Ok(());
        framer.push_all(bytes, |event| {
            if result.is_ok() {
                result = super::writeln_json(out, &event_json(&event));
            }
        });
        result
    })
}

fn event_json(event: &Event<'_>) -> Json {
    match event {
        Event::Block { block, status } => block_json(block, *status),
        Event::Hex(Ok(frame)) => hex_json(frame),
        Event::Hex(Err(e)) => json!({ "kind": "hex", "checksum": "invalid", "error": e.to_string() }),
        Event::BlockTooLong => json!({ "kind": "text", "checksum": "invalid", "error": "block too long, dropped" }),
    }
}

fn block_json(block: &Block<'_>, status: BlockStatus) -> Json {
    let mut values = Map::new();
    let mut unknown = Map::new();
    let mut errors = Vec::new();
    for f in block.fields() {
        match labels::decode(f.label, f.value) {
            Some(Ok(field)) => {
                j::insert(&mut values, &field);
                if field.name == "product_id" {
                    if let Some(id) = field.value.as_f64() {
                        values.insert("product_name".into(), halyard_proto::victron::product_name(id as u16).into());
                    }
                }
            }
            Some(Err(e)) => errors.push(format!("bad value for {}", e.label)),
            None => {
                unknown.insert(f.label.into(), f.value.into());
            }
        }
    }
    let checksum = match status {
        BlockStatus::Valid => "valid",
        BlockStatus::ChecksumMismatch { .. } => "mismatch",
        BlockStatus::Partial => "partial",
    };
    let mut out = json!({ "kind": "text", "checksum": checksum, "values": values });
    if !unknown.is_empty() {
        out["unknown_labels"] = Json::Object(unknown);
    }
    if !errors.is_empty() {
        out["errors"] = errors.into();
    }
    out
}

fn hex_json(frame: &Frame) -> Json {
    let mut out =
        json!({ "kind": "hex", "checksum": "valid", "command": frame.command(), "data": j::hex(frame.data()) });
    match frame.message() {
        Ok(Message::Register { command, register, flags, value }) => {
            out["message"] = match command {
                7 => "get",
                8 => "set",
                _ => "async",
            }
            .into();
            out["register"] = format!("0x{register:04X}").into();
            out["flags"] = flags.into();
            let mut values = Map::new();
            if flags == 0 {
                match registers::decode(register, value) {
                    RegisterValue::Field(f) => j::insert(&mut values, &f),
                    RegisterValue::HistoryDay { days_ago, day } => {
                        values.insert("days_ago".into(), days_ago.into());
                        values.insert("day_sequence".into(), day.day_sequence.into());
                        for f in day.fields() {
                            j::insert(&mut values, &f);
                        }
                    }
                    RegisterValue::HistoryTotal(total) => {
                        for f in total.fields() {
                            j::insert(&mut values, &f);
                        }
                    }
                    RegisterValue::Raw(bytes) => {
                        out["value"] = j::hex(bytes).into();
                    }
                }
            }
            out["values"] = Json::Object(values);
        }
        Ok(Message::GetRequest { register }) => {
            out["message"] = "get_request".into();
            out["register"] = format!("0x{register:04X}").into();
        }
        Ok(Message::PingResponse(v)) => {
            out["message"] = "ping_response".into();
            out["app_version"] = format!("0x{v:04X}").into();
        }
        Ok(Message::Done(v)) => {
            out["message"] = "done".into();
            out["value"] = j::hex(v).into();
        }
        Ok(Message::UnknownCommand(v)) => {
            out["message"] = "unknown_command".into();
            out["value"] = j::hex(v).into();
        }
        Ok(Message::Error(v)) => {
            out["message"] = "error".into();
            out["value"] = j::hex(v).into();
        }
        Ok(other) => {
            let name = match other {
                Message::Ping => "ping",
                Message::AppVersionRequest => "app_version_request",
                Message::ProductIdRequest => "product_id_request",
                Message::Restart => "restart",
                Message::EnterBoot => "enter_boot",
                _ => "reserved",
            };
            out["message"] = name.into();
        }
        Err(e) => out["error"] = e.to_string().into(),
    }
    out
}
