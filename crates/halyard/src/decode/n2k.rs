//! `halyard decode n2k FILE [--all]`: an NMEA 2000 capture as JSON lines, one per message —
//! `{"ts","src","dst","prio","pgn","description","fields":{…}}`, field names in snake_case of the
//! PGN documentation's names and values in Halyard's units (V, A, °C, degrees, kn, m, %, s, hPa),
//! "not available" as null, a repeating group (satellites, AC lines) as `"list"`; PGNs Halyard
//! does not decode keep their bytes (`"data"`). With
//! `--all`, also every frame and every message given up. A summary of what was read goes to
//! standard error; bad records are counted there, never fatal.
//!
//! Formats, recognised line by line (text) or from the first bytes (binary): canboat RAW (whole
//! messages or frames), Yacht Devices RAW, `candump -l`, pcap/pcapng of SocketCAN (link type
//! 227), and the Actisense NGT-1 binary stream (its `ts` is the NGT-1's own clock, in ms).

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Result;
use halyard_proto::n2k::{self, Assembler, Event, Header};
use halyard_proto::Value;
use serde_json::{json, Map, Value as Json};

use crate::sources::n2k::capture::{self, Capture, Carried, Format, Record, Stamp};

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The capture, or `-` for standard input.
    file: PathBuf,
    /// Also print every frame and every message given up (fast-packet errors).
    #[arg(long)]
    all: bool,
}

/// What was read, for the summary.
#[derive(Default)]
struct Counts {
    messages: u64,
    frames: u64,
    errors: BTreeMap<&'static str, u64>,
    pgns: BTreeMap<u32, u64>,
    /// An Actisense gateway's own messages, by command (0xA0: its status).
    gateway: BTreeMap<u8, u64>,
}

/// A record's time as JSON: RFC 3339, a time of day, or an NGT-1's own milliseconds.
fn stamp_json(stamp: Stamp) -> Json {
    match stamp {
        Stamp::Utc(ms) => crate::sinks::mqtt::rfc3339(ms).into(),
        Stamp::TimeOfDay(ms) => halyard_proto::nmea::TimeOfDay(ms).to_string().into(),
        Stamp::Gateway(ms) => ms.into(),
    }
}

/// One field's value as JSON.
fn value_json(def: &n2k::pgn::FieldDef, v: Value<'_>) -> Json {
    match (v, def.kind) {
        (Value::NotAvailable, _) => Json::Null,
        (Value::Number(d), n2k::pgn::Kind::Date) => halyard_proto::date::Date::from_days(d.units)
            .map_or(Json::Null, |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day).into()),
        (Value::Number(d), _) if d.decimals == 0 => d.units.into(),
        (Value::Number(d), _) => crate::json::number(d.to_f64()),
        (Value::Enum { raw, table }, _) => table.name(raw).map_or_else(|| raw.into(), Json::from),
        (Value::Flags { raw, table }, _) => {
            let mut names: Vec<Json> = table.names(raw).map(Json::from).collect();
            if table.unknown_bits(raw) != 0 {
                names.push(table.unknown_bits(raw).into());
            }
            names.into()
        }
        (Value::Bool(b), _) => b.into(),
        (Value::Text(t), _) => t.into(),
    }
}

/// A message as JSON.
pub fn message_json(ts: Json, header: &Header, data: &[u8]) -> Json {
    let def = n2k::pgn::find(header.pgn);
    let mut o = json!({
        "ts": ts,
        "src": header.source,
        "dst": header.destination,
        "prio": header.priority,
        "pgn": header.pgn,
        "description": def.map_or(describe_unknown(header.pgn), |d| d.description),
    });
    match def {
        Some(def) => {
            let mut fields: Map<String, Json> =
                def.fields.iter().map(|f| (f.name.to_owned(), value_json(f, n2k::pgn::field_value(data, f)))).collect();
            // A repeating group (satellites in view, AC lines): `list`, one object a group.
            if let Some(r) = n2k::pgn::repeating(header.pgn) {
                let list: Vec<Json> = (0..r.groups(data))
                    .map(|g| {
                        let group: Map<String, Json> =
                            r.fields.iter().map(|f| (f.name.to_owned(), value_json(f, r.value(data, g, f)))).collect();
                        Json::Object(group)
                    })
                    .collect();
                fields.insert("list".into(), list.into());
            }
            o["fields"] = fields.into();
        }
        None => {
            o["fields"] = Json::Object(Map::new());
            o["data"] = crate::json::hex(data).into();
        }
    }
    o
}

fn describe_unknown(pgn: u32) -> &'static str {
    match pgn {
        0xEF00..=0xEFFF | 0xFF00..=0xFFFF | 0x1EF00..=0x1EFFF | 0x1FF00..=0x1FFFF => "Proprietary",
        _ => "Not decoded by Halyard",
    }
}

struct Printer<'a, W: Write> {
    out: &'a mut W,
    all: bool,
    counts: Counts,
}

impl<W: Write> Printer<'_, W> {
    fn event(&mut self, ts: Stamp, e: Event<'_>) -> Result<()> {
        match e {
            Event::Message { header, data } => {
                self.counts.messages += 1;
                *self.counts.pgns.entry(header.pgn).or_default() += 1;
                super::writeln_json(self.out, &message_json(stamp_json(ts), &header, data))
            }
            Event::Error(err) => {
                *self.counts.errors.entry(err.kind()).or_default() += 1;
                if self.all {
                    super::writeln_json(
                        self.out,
                        &json!({ "ts": stamp_json(ts), "error": err.to_string(), "kind": err.kind() }),
                    )?;
                }
                Ok(())
            }
        }
    }

    /// One CAN frame, through the assembler (which `run` keeps beside the printer, so the
    /// messages it lends out are printed without a copy).
    fn frame(&mut self, assembler: &mut Assembler, ts: Stamp, can_id: u32, data: &[u8]) -> Result<()> {
        self.counts.frames += 1;
        if self.all {
            super::writeln_json(
                self.out,
                &json!({ "ts": stamp_json(ts), "frame": format!("{can_id:08x}"), "data": crate::json::hex(data) }),
            )?;
        }
        let mut result = Ok(());
        assembler.frame(can_id, data, ts.ms(), |e| {
            if result.is_ok() {
                result = self.event(ts, e);
            }
        });
        result
    }

    /// One canboat RAW line, through the assembler.
    fn canboat(&mut self, assembler: &mut Assembler, ts: Stamp, header: Header, data: &[u8]) -> Result<()> {
        let mut result = Ok(());
        assembler.canboat(header, data, ts.ms(), |e| {
            if result.is_ok() {
                result = self.event(ts, e);
            }
        });
        result
    }

    fn bad(&mut self, kind: &'static str, what: String) -> Result<()> {
        *self.counts.errors.entry(kind).or_default() += 1;
        if self.all {
            super::writeln_json(self.out, &json!({ "error": what, "kind": kind }))?;
        }
        Ok(())
    }
}

/// Decode and print.
pub fn run(args: Args) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let input = super::open_input(&args.file)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, input);
    let head = reader.fill_buf()?.to_vec();
    let mut p = Printer { out: &mut out, all: args.all, counts: Counts::default() };
    let mut assembler = Assembler::new();
    // Asked to read NMEA 2000, any CAN capture is read as such, and any other input as lines
    // (each one that is not a record counted, never fatal).
    let format = capture::detect(&head).unwrap_or(match crate::sources::can::file::detect(&head) {
        Some(crate::sources::can::file::Format::Pcap) => Format::Pcap,
        _ => Format::Lines,
    });
    let mut records = Capture::new(format, reader)?;
    while let Some(record) = records.next_record()? {
        match record {
            Record::N2k(ts, Carried::Frame { can_id, data }) => p.frame(&mut assembler, ts, can_id, &data)?,
            Record::N2k(ts, Carried::Canboat { header, data }) => p.canboat(&mut assembler, ts, header, &data)?,
            Record::N2k(ts, Carried::Message { header, data }) => {
                p.event(ts, Event::Message { header, data: &data })?
            }
            Record::Gateway(command) => *p.counts.gateway.entry(command).or_default() += 1,
            Record::Bad { kind, what } => p.bad(kind, what)?,
        }
    }
    let counts = std::mem::take(&mut p.counts);
    out.flush()?;
    let pgns: Map<String, Json> = counts.pgns.iter().map(|(k, v)| (k.to_string(), (*v).into())).collect();
    let gateway: Map<String, Json> = counts.gateway.iter().map(|(k, v)| (format!("{k:#04x}"), (*v).into())).collect();
    let mut summary =
        json!({ "messages": counts.messages, "frames": counts.frames, "errors": counts.errors, "pgns": pgns });
    if !gateway.is_empty() {
        summary["gateway_messages"] = gateway.into();
    }
    eprintln!("halyard: n2k summary {summary}");
    Ok(())
}
