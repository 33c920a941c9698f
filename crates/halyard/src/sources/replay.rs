//! The replay form of every source (DESIGN.md §2): capture files through the same decoders and
//! model as live input, at the recorded pace or as fast as possible.
//!
//! Formats, recognised by content: Halyard recordings (BLE adverts, VE.Direct bytes, CAN frames
//! and MQTT messages with their times), NMEA 2000 captures (canboat RAW, Yacht Devices RAW,
//! candump, pcap, Actisense NGT-1: [`super::n2k::capture`]), MasterBus captures (pcapng, pcap,
//! candump log), NMEA 0183 logs, Meshtastic streams, and VE.Direct dumps (raw serial bytes,
//! paced at 19,200 baud unless `--max-speed`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::ingest::masterbus::MasterBusDecoder;
use crate::ingest::recording::{self, Record};
use crate::ingest::{now_ms, Input};
use crate::model::Millis;
use crate::telemetry::Telemetry;

/// How to replay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// As fast as possible instead of at the recorded pace.
    pub max_speed: bool,
    /// The date of logs with times of day but no date (else the file's modification date).
    pub date: Option<halyard_proto::date::Date>,
}

/// The date a dateless log's times of day are placed on, and why: `--date`, else the day the
/// file was last written (UTC).
fn dateless(
    path: &std::path::Path,
    given: Option<halyard_proto::date::Date>,
) -> Option<(halyard_proto::date::Date, &'static str)> {
    if let Some(d) = given {
        return Some((d, "given by --date"));
    }
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    let secs = modified.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
    Some((
        halyard_proto::date::Date::from_days(secs.div_euclid(86_400))?,
        "the file's modification date; --date sets another",
    ))
}

/// A file that is not a recording, by what its head says it is.
enum Stream {
    Mesh,
    Nmea(crate::ingest::nmea::Clock),
    VeDirect(Arc<str>),
}

/// What a replay went through.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Records (lines, frames, chunks) read.
    pub records: u64,
    /// Records that could not be read.
    pub bad: u64,
}

/// Holds the pace: record times mapped onto the wall clock from the first record, `speed`
/// times faster than recorded (`None`: as fast as possible).
struct Pace {
    speed: Option<f64>,
    origin: Option<(Millis, Instant)>,
}

impl Pace {
    async fn wait(&mut self, at: Millis) {
        let Some(speed) = self.speed else { return };
        let (t0, w0) = *self.origin.get_or_insert((at, Instant::now()));
        let offset = Duration::from_secs_f64(at.saturating_sub(t0).max(0) as f64 / 1000.0 / speed.max(1e-3));
        tokio::time::sleep_until(w0 + offset).await;
    }
}

/// Play records as they come (the simulator's, from its thread), as fast as possible.
pub async fn play(
    mut records: mpsc::Receiver<Record>,
    tx: &mpsc::Sender<Input>,
    telemetry: &Arc<Telemetry>,
) -> Result<Stats> {
    let mut stats = Stats::default();
    let mut decoders: HashMap<String, MasterBusDecoder> = HashMap::new();
    while let Some(record) = records.recv().await {
        stats.records += 1;
        let Some(input) = to_input(record, &mut decoders, telemetry) else { continue };
        if tx.send(input).await.is_err() {
            break;
        }
    }
    Ok(stats)
}

fn to_input(
    record: Record,
    decoders: &mut HashMap<String, MasterBusDecoder>,
    telemetry: &Arc<Telemetry>,
) -> Option<Input> {
    Some(match record {
        Record::Ble { at, mac, data } => Input::Ble { at, mac, data, via: None },
        Record::VeDirect { at, port, bytes } => Input::VeDirect { at, port: port.into(), bytes },
        Record::Mqtt { at, topic, payload } => Input::Mqtt { at, topic, payload: payload.into_bytes() },
        Record::Nmea { at, source, mut line } => {
            line.push_str("\r\n");
            Input::Nmea {
                at,
                source: source.into(),
                bytes: line.into_bytes(),
                clock: crate::ingest::nmea::Clock::Recorded,
            }
        }
        Record::Mesh { at, source, bytes } => Input::Mesh { at, source: source.into(), bytes, log: false },
        Record::N2k { at, source, header, data } => Input::N2k {
            at,
            source: source.into(),
            carried: crate::sources::n2k::capture::Carried::Message { header, data },
            live: false,
        },
        Record::Can { ts_ns, source, received } => {
            let d = decoders.entry(source.clone()).or_insert_with(|| MasterBusDecoder::new(&source, telemetry.clone()));
            Input::Decoded(d.frame(ts_ns, &received).1?)
        }
    })
}

/// Replay `paths` in order into `tx`.
pub async fn run(
    paths: &[PathBuf],
    options: Options,
    tx: &mpsc::Sender<Input>,
    telemetry: &Arc<Telemetry>,
) -> Result<Stats> {
    let mut stats = Stats::default();
    let mut decoders: HashMap<String, MasterBusDecoder> = HashMap::new();
    let total = paths.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let mut progress = crate::progress::Progress::new(total);
    let result = replay_files(paths, options, tx, telemetry, &mut stats, &mut decoders, &mut progress).await;
    progress.finish();
    result.map(|()| stats)
}

/// The most bytes of a stream (Meshtastic, NMEA, VE.Direct) handed on at once. The pipeline's
/// input queue holds 4,096 inputs, so at most 4 MiB of a stream wait in it whatever the stream
/// is: at 64 KiB a chunk, random bytes that happened to look like a Meshtastic stream filled the
/// queue with 256 MiB. A Meshtastic frame is 516 bytes at most and an NMEA line 82 characters.
const STREAM_CHUNK: usize = 1024;

/// A recorded Meshtastic stream: a `0x94 0xC3` frame header within its first 4 KiB (debug text
/// may come first).
pub fn is_mesh_stream(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(4096)].windows(2).any(|w| w == [0x94, 0xC3])
}

/// An NMEA 0183 log: its first line that is not a `#` comment starts with `$` or `!` (after
/// at most a logger's time stamp).
pub fn is_nmea_log(bytes: &[u8]) -> bool {
    bytes
        .split(|b| *b == b'\n')
        .map(|l| l.trim_ascii())
        .find(|l| !l.is_empty() && l[0] != b'#')
        .is_some_and(|l| l.iter().take(40).any(|b| *b == b'$' || *b == b'!') && l.contains(&b','))
}

/// An NMEA 2000 capture, each record at its time: a UTC stamp as it is; a time of day or an
/// NGT-1's clock placed by the capture's first time message (System Time, GNSS Position Data,
/// Time & Date), else on the date `--date` gives or the file's.
#[allow(clippy::too_many_arguments)]
async fn replay_n2k(
    path: &std::path::Path,
    format: super::n2k::capture::Format,
    reader: impl std::io::BufRead,
    options: Options,
    name: &str,
    tx: &mpsc::Sender<Input>,
    telemetry: &Telemetry,
    stats: &mut Stats,
    progress: &mut crate::progress::Progress,
    pace: &mut Pace,
) -> Result<()> {
    use super::n2k::capture::{Capture, Record};
    let reading = |e: std::io::Error| anyhow::Error::new(e).context(format!("reading {}", path.display()));
    let open = || -> Result<_> {
        let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
        Capture::new(format, std::io::BufReader::with_capacity(1 << 20, file)).map_err(reading)
    };
    let anchor = crate::ingest::n2k::first_time(open()?).map_err(reading)?;
    let date = match anchor {
        Some(_) => None,
        None => dateless(path, options.date).map(|(d, why)| {
            tracing::info!(
                "{}: no time message in the capture: its times are on {:04}-{:02}-{:02} ({why})",
                path.display(),
                d.year,
                d.month,
                d.day
            );
            d.days_since_epoch()
        }),
    };
    let mut clock = crate::ingest::n2k::CaptureClock::new(anchor, date);
    let source: Arc<str> = name.into();
    let _ = tx.send(Input::N2kReopened { source: source.clone() }).await;
    let mut records = Capture::new(format, reader).map_err(reading)?;
    let mut walked = 0;
    while let Some(record) = records.next_record().map_err(reading)? {
        progress.advance(records.position() - walked, 1);
        walked = records.position();
        let (stamp, carried) = match record {
            Record::N2k(stamp, carried) => (stamp, carried),
            Record::Gateway(_) => continue,
            Record::Bad { kind, what } => {
                stats.bad += 1;
                telemetry.inc("halyard_decode_errors_total", &[("source", &source), ("kind", kind)]);
                tracing::debug!("{}: {what}", path.display());
                continue;
            }
        };
        stats.records += 1;
        let Some(at) = clock.place(stamp) else { continue };
        pace.wait(at).await;
        if tx.send(Input::N2k { at, source: source.clone(), carried, live: false }).await.is_err() {
            break;
        }
    }
    Ok(())
}

async fn replay_files(
    paths: &[PathBuf],
    options: Options,
    tx: &mpsc::Sender<Input>,
    telemetry: &Arc<Telemetry>,
    stats: &mut Stats,
    decoders: &mut HashMap<String, MasterBusDecoder>,
    progress: &mut crate::progress::Progress,
) -> Result<()> {
    let max_speed = options.max_speed;
    for path in paths {
        let name = path.file_name().map_or_else(|| "replay".into(), |n| n.to_string_lossy().into_owned());
        let mut pace = Pace { speed: (!max_speed).then_some(1.0), origin: None };
        tracing::info!("replaying {}", path.display());
        let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        let head = std::io::BufRead::fill_buf(&mut reader).with_context(|| format!("reading {}", path.display()))?;
        if recording::is_recording(head) {
            // A season is hundreds of megabytes: read it a line at a time.
            let mut line = Vec::new();
            let mut n = 0usize;
            let mut bad = crate::burst::BurstLog::new("bad recording lines", Duration::from_secs(5));
            loop {
                line.clear();
                let (read, too_long) = crate::lines::read_line(&mut reader, &mut line)
                    .with_context(|| format!("reading {}", path.display()))?;
                if read == 0 {
                    break;
                }
                n += 1;
                progress.advance(read as u64, 1);
                let text = String::from_utf8_lossy(&line);
                let parsed = if too_long {
                    Err(format!("a line of more than {} bytes, skipped", crate::lines::MAX_LINE))
                } else {
                    recording::parse_line(text.trim_end_matches(['\n', '\r']))
                };
                let record = match parsed {
                    Ok(Some(r)) => r,
                    Ok(None) => continue,
                    Err(e) => {
                        stats.bad += 1;
                        telemetry.inc("halyard_decode_errors_total", &[("source", "replay"), ("kind", "bad_record")]);
                        bad.report(std::time::Instant::now(), || format!("{}:{n}: {e}", path.display()));
                        continue;
                    }
                };
                stats.records += 1;
                pace.wait(record.at()).await;
                let Some(input) = to_input(record, decoders, telemetry) else { continue };
                if tx.send(input).await.is_err() {
                    return Ok(());
                }
            }
            continue;
        }
        // Everything else is read as a stream, recognised by its head (what the first read of
        // the 1 MiB buffer gave): memory stays bounded whatever the input's size.
        let head = head.to_vec();
        let reading = |e: std::io::Error| anyhow::Error::new(e).context(format!("reading {}", path.display()));
        if let Some(format) = super::n2k::capture::detect(&head) {
            replay_n2k(path, format, reader, options, &name, tx, telemetry, stats, progress, &mut pace).await?;
            continue;
        }
        if crate::sources::can::file::detect(&head).is_some() {
            let d = decoders.entry(name.clone()).or_insert_with(|| MasterBusDecoder::new(&name, telemetry.clone()));
            let mut records = crate::sources::can::file::stream(&mut reader).map_err(reading)?;
            let mut walked = 0;
            while let Some(r) = records.next() {
                stats.records += 1;
                progress.advance(records.position() - walked, 1);
                walked = records.position();
                match r {
                    Ok(r) => {
                        pace.wait((r.timestamp_ns / 1_000_000) as Millis).await;
                        if let (_, Some(u)) = d.frame(r.timestamp_ns, &r.received) {
                            if tx.send(Input::Decoded(u)).await.is_err() {
                                return Ok(());
                            }
                        }
                    }
                    Err(e) => {
                        stats.bad += 1;
                        d.bad_record();
                        tracing::debug!("{}: {e}", path.display());
                    }
                }
            }
            continue;
        }
        let (kind, size) = if is_mesh_stream(&head) {
            (Stream::Mesh, STREAM_CHUNK)
        } else if is_nmea_log(&head) {
            // An NMEA log: its own clock (RMC/ZDA dates, or its times of day on the date given
            // or the file's), as fast as it can be read.
            let date = match crate::ingest::nmea::first_date(&head) {
                Some(d) => Some(d),
                None => {
                    crate::ingest::nmea::first_date_in(std::fs::File::open(path).map_err(reading)?).map_err(reading)?
                }
            };
            let date = date.or_else(|| {
                let (d, why) = dateless(path, options.date)?;
                tracing::info!(
                    "{}: no date in the log: its times of day are on {:04}-{:02}-{:02} ({why})",
                    path.display(),
                    d.year,
                    d.month,
                    d.day
                );
                Some(d)
            });
            (Stream::Nmea(crate::ingest::nmea::Clock::Log(date)), STREAM_CHUNK)
        } else {
            // A VE.Direct dump: 19,200 baud 8N1 is 1,920 bytes/s, so 192 bytes every 100 ms.
            let port: Arc<str> = name.clone().into();
            let _ = tx.send(Input::VeDirectReopened { port: port.clone() }).await;
            (Stream::VeDirect(port), if max_speed { STREAM_CHUNK } else { 192 })
        };
        let source: Arc<str> = name.clone().into();
        let mut chunk = vec![0u8; size];
        loop {
            let n = match std::io::Read::read(&mut reader, &mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(reading(e)),
            };
            let bytes = chunk[..n].to_vec();
            let input = match &kind {
                // A recorded Meshtastic stream: timed by the packets' reception times.
                Stream::Mesh => {
                    stats.records += 1;
                    progress.advance(n as u64, 1);
                    Input::Mesh { at: now_ms(), source: source.clone(), bytes, log: true }
                }
                Stream::Nmea(clock) => {
                    stats.records += bytes.iter().filter(|b| **b == b'\n').count() as u64;
                    progress.advance(n as u64, 0);
                    Input::Nmea { at: now_ms(), source: source.clone(), bytes, clock: *clock }
                }
                Stream::VeDirect(port) => {
                    stats.records += 1;
                    progress.advance(n as u64, 1);
                    if !max_speed {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Input::VeDirect { at: now_ms(), port: port.clone(), bytes }
                }
            };
            if tx.send(input).await.is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}
