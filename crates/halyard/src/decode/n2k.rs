//! `halyard decode n2k FILE [--all]`: an NMEA 2000 capture as JSON lines, one per message —
//! `{"ts","src","dst","prio","pgn","description","fields":{…}}`, field names in snake_case of the
//! PGN documentation's names and values in Halyard's units (V, A, °C, degrees, kn, m, %, s, hPa),
//! "not available" as null; PGNs Halyard does not decode keep their bytes (`"data"`). With
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
use halyard_proto::can::{candump, Id, Received};
use halyard_proto::n2k::{self, raw, Assembler, Event, Header};
use halyard_proto::Value;
use serde_json::{json, Map, Value as Json};

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

/// When a record was captured.
#[derive(Clone, Copy)]
enum Stamp {
    Utc(i64),
    TimeOfDay(u32),
    /// An Actisense NGT-1's own clock (ms since it started).
    Gateway(u32),
}

impl Stamp {
    fn json(self) -> Json {
        match self {
            Stamp::Utc(ms) => crate::sinks::mqtt::rfc3339(ms).into(),
            Stamp::TimeOfDay(ms) => {
                format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000).into()
            }
            Stamp::Gateway(ms) => ms.into(),
        }
    }

    fn ms(self) -> u64 {
        match self {
            Stamp::Utc(ms) => ms.max(0) as u64,
            Stamp::TimeOfDay(ms) | Stamp::Gateway(ms) => u64::from(ms),
        }
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
            let fields: Map<String, Json> =
                def.fields.iter().map(|f| (f.name.to_owned(), value_json(f, n2k::pgn::field_value(data, f)))).collect();
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
                super::writeln_json(self.out, &message_json(ts.json(), &header, data))
            }
            Event::Error(err) => {
                *self.counts.errors.entry(err.kind()).or_default() += 1;
                if self.all {
                    super::writeln_json(
                        self.out,
                        &json!({ "ts": ts.json(), "error": err.to_string(), "kind": err.kind() }),
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
                &json!({ "ts": ts.json(), "frame": format!("{can_id:08x}"), "data": crate::json::hex(data) }),
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
    if n2k::actisense::is_actisense(&head) {
        let mut framer = n2k::actisense::Framer::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match std::io::Read::read(&mut reader, &mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            let mut result = Ok(());
            framer.push_all(&buf[..n], |m| {
                if result.is_err() {
                    return;
                }
                result = match m {
                    Ok(frame) => match frame.received() {
                        // Whole messages: the NGT-1 assembles fast packets itself.
                        Some(r) => {
                            p.event(Stamp::Gateway(r.timestamp_ms), Event::Message { header: r.header, data: r.data })
                        }
                        None => {
                            *p.counts.gateway.entry(frame.command).or_default() += 1;
                            Ok(())
                        }
                    },
                    Err(e) => p.bad(e.kind(), e.to_string()),
                };
            });
            result?;
        }
        if framer.skipped > 0 {
            *p.counts.errors.entry("skipped_bytes").or_default() += framer.skipped;
        }
    } else if halyard_proto::can::capture::Capture::new(&head).is_ok() {
        let records = crate::sources::can::file::stream(reader)?;
        for r in records {
            match r {
                Ok(r) => match r.received {
                    Received::Frame(f) => {
                        let ts = Stamp::Utc((r.timestamp_ns / 1_000_000) as i64);
                        match f.id() {
                            Id::Extended(id) => p.frame(&mut assembler, ts, id, f.data())?,
                            Id::Standard(_) => p.bad("standard_id", "an 11-bit CAN id (not NMEA 2000)".into())?,
                        }
                    }
                    Received::Error(_) => p.bad("error_frame", "a CAN error frame".into())?,
                },
                Err(e) => p.bad("bad_record", e.to_string())?,
            }
        }
    } else {
        let mut line = Vec::new();
        let mut n = 0u64;
        loop {
            line.clear();
            let (read, cut) = crate::lines::read_line(&mut reader, &mut line)?;
            if read == 0 {
                break;
            }
            n += 1;
            if cut {
                p.bad("bad_line", format!("line {n}: longer than {} bytes", crate::lines::MAX_LINE))?;
                continue;
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            if raw::is_canboat(text) {
                match raw::parse_canboat(text) {
                    Ok(l) => {
                        let (raw::Stamp::Utc(ms), raw::Carried::Message(h)) = (l.stamp, l.carried) else { continue };
                        p.canboat(&mut assembler, Stamp::Utc(ms), h, l.data())?;
                    }
                    Err(e) => p.bad(e.kind(), format!("line {n}: {e}"))?,
                }
            } else if let Ok(l) = raw::parse_yd(text) {
                let (raw::Stamp::TimeOfDay(ms), raw::Carried::Frame { can_id, .. }) = (l.stamp, l.carried) else {
                    continue;
                };
                p.frame(&mut assembler, Stamp::TimeOfDay(ms), can_id, l.data())?;
            } else {
                match candump::parse_line(text) {
                    Ok(Some(l)) => match l.received {
                        Received::Frame(f) => match f.id() {
                            Id::Extended(id) => {
                                p.frame(&mut assembler, Stamp::Utc((l.timestamp_ns / 1_000_000) as i64), id, f.data())?
                            }
                            Id::Standard(_) => p.bad("standard_id", format!("line {n}: an 11-bit CAN id"))?,
                        },
                        Received::Error(_) => p.bad("error_frame", format!("line {n}: a CAN error frame"))?,
                    },
                    Ok(None) => {}
                    Err(_) => p.bad("bad_line", format!("line {n}: not canboat RAW, Yacht Devices RAW or candump"))?,
                }
            }
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
