//! NMEA 2000 sources: the boat's backbone through the CAN hardware Halyard already drives for
//! the MasterBus (SocketCAN, an SLCAN adapter, an ECAN gateway — always opened listen-only),
//! a Yacht Devices Wi-Fi/Ethernet gateway's RAW stream (TCP, or UDP broadcasts), or an Actisense
//! NGT-1 on USB (its binary stream of assembled messages). Bytes in, timestamped on arrival,
//! reconnected with backoff; the messages are ingest's business ([`crate::ingest::n2k`]).
//! Nothing is ever sent onto the bus unless `[n2k_out] enabled = true` ([`transmit`]).
//!
//! | spec | transport |
//! |---|---|
//! | `socketcan:can0` | a Linux CAN interface at 250 kbit/s (feature `socketcan`) |
//! | `slcan:/dev/ttyACM0` | a CANable/USBtin-style adapter, opened listen-only |
//! | `ecan:HOST[:8881]` | an Ebyte ECAN-E01 / E810-DTU gateway in TCP-server mode |
//! | `ydwg:HOST[:1457]` | a YDWG-02 / YDEN-02 server in RAW mode over TCP |
//! | `ydwg-udp:[ADDRESS:]PORT` | the same gateway's RAW UDP broadcasts, listened for |
//! | `actisense:/dev/ttyUSB0[@115200]` | an Actisense NGT-1 (binary) |

pub mod capture;
pub mod transmit;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use halyard_proto::can::{Id, Received};
use halyard_proto::n2k::{actisense, raw};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{mpsc, watch};
use tokio_serial::SerialPortBuilderExt;

use self::capture::Carried;
use super::backoff::Peer;
use super::can::link::{Input as LinkInput, Link};
use super::reopen::{Ended, Reopen};
use crate::ingest::{now_ms, Input};
use crate::telemetry::Telemetry;

/// The Yacht Devices gateways' default RAW server port.
pub const YDWG_PORT: u16 = 1457;
/// The longest Yacht Devices RAW line kept: a frame is 40 characters.
const MAX_YD_LINE: usize = 256;

/// Where NMEA 2000 comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// A CAN link (SocketCAN, SLCAN, ECAN).
    Can(super::can::Spec),
    /// A Yacht Devices gateway's RAW server, `host:port`.
    Ydwg(String),
    /// Yacht Devices RAW datagrams on this local `address:port`.
    YdwgUdp(String),
    /// An Actisense NGT-1.
    Actisense {
        /// Device path.
        path: String,
        /// Baud rate.
        baud: u32,
    },
}

impl Spec {
    /// Parse a spec (see the module's table).
    pub fn parse(text: &str) -> Result<Spec, String> {
        let (kind, rest) = text.split_once(':').unwrap_or((text, ""));
        if rest.is_empty() {
            return Err(format!(
                "`{text}`: socketcan:IFACE, slcan:DEVICE, ecan:HOST, ydwg:HOST[:PORT], ydwg-udp:PORT or actisense:DEVICE"
            ));
        }
        match kind {
            "socketcan" | "slcan" | "ecan" => text.parse().map(Spec::Can),
            "ydwg" => Ok(Spec::Ydwg(if rest.contains(':') { rest.to_owned() } else { format!("{rest}:{YDWG_PORT}") })),
            "ydwg-udp" => {
                let addr = if rest.contains(':') { rest.to_owned() } else { format!("0.0.0.0:{rest}") };
                match addr.rsplit_once(':').map(|(_, p)| p.parse::<u16>()) {
                    Some(Ok(_)) => Ok(Spec::YdwgUdp(addr)),
                    _ => Err(format!("`{text}`: ydwg-udp needs a port, e.g. ydwg-udp:1456")),
                }
            }
            "actisense" => {
                let (path, baud) = match rest.rsplit_once('@') {
                    Some((p, b)) => (p, b.parse::<u32>().map_err(|_| format!("`{b}` is not a baud rate"))?),
                    None => (rest, 115_200),
                };
                Ok(Spec::Actisense { path: path.to_owned(), baud })
            }
            other => Err(format!(
                "unknown NMEA 2000 source kind `{other}` (socketcan, slcan, ecan, ydwg, ydwg-udp or actisense)"
            )),
        }
    }

    /// The source's short name for counters and logs.
    pub fn name(&self) -> String {
        match self {
            Spec::Can(super::can::Spec::SocketCan(i)) => i.clone(),
            Spec::Can(super::can::Spec::Slcan(p)) => crate::model::registry::port_name(p),
            Spec::Can(other) => other.to_string(),
            Spec::Ydwg(a) => format!("ydwg:{a}"),
            Spec::YdwgUdp(a) => format!("ydwg-udp:{a}"),
            Spec::Actisense { path, .. } => format!("actisense:{}", crate::model::registry::port_name(path)),
        }
    }

    /// What a reconnect looks at to come back promptly.
    pub fn peer(&self) -> Option<Peer> {
        match self {
            Spec::Can(c) => c.peer(),
            Spec::Ydwg(a) => Some(Peer::Tcp(a.clone())),
            Spec::YdwgUdp(_) => None,
            Spec::Actisense { path, .. } => Some(Peer::Device(path.clone())),
        }
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spec::Can(c) => c.fmt(f),
            Spec::Actisense { path, baud } => write!(f, "actisense:{path}@{baud}"),
            other => f.write_str(&other.name()),
        }
    }
}

/// One open session's reading: what it hands on, and what it counts.
struct Pump<'a> {
    name: &'a Arc<str>,
    tx: &'a mpsc::Sender<Input>,
    telemetry: &'a Telemetry,
    reopen: &'a mut Reopen,
}

impl Pump<'_> {
    /// Hand a record on; `false` when the pipeline is gone.
    async fn send(&mut self, at: crate::model::Millis, carried: Carried) -> bool {
        self.reopen.delivering();
        self.tx.send(Input::N2k { at, source: self.name.clone(), carried, live: true }).await.is_ok()
    }

    /// A CAN frame: heard by the transmitter (claims, requests); the transmitter's own frames
    /// coming back (a gateway echoes what it sent) are not the bus's news.
    async fn frame(
        &mut self,
        can_id: u32,
        data: &[u8],
        at: crate::model::Millis,
        t: &mut Option<&mut transmit::Transmitter>,
        started: Instant,
    ) -> bool {
        if let (Some(t), Ok(header)) = (t.as_mut(), halyard_proto::n2k::Header::from_can_id(can_id)) {
            if t.address() == Some(header.source) && header.pgn != halyard_proto::n2k::claim::ADDRESS_CLAIM {
                return true;
            }
            t.heard(&header, data, started.elapsed().as_millis() as u64);
        }
        self.send(at, Carried::Frame { can_id, data: data.to_vec() }).await
    }

    fn bad(&self, kind: &'static str, what: &dyn fmt::Display) {
        self.telemetry.inc("halyard_decode_errors_total", &[("source", self.name), ("kind", kind)]);
        tracing::debug!("{}: {what}", self.name);
    }

    /// Yacht Devices RAW text: whole lines parsed, a line too long dropped.
    async fn yd_lines(
        &mut self,
        pending: &mut Vec<u8>,
        bytes: &[u8],
        t: &mut Option<&mut transmit::Transmitter>,
        started: Instant,
    ) -> bool {
        for b in bytes {
            if *b != b'\n' {
                if pending.len() < MAX_YD_LINE {
                    pending.push(*b);
                }
                continue;
            }
            let line = String::from_utf8_lossy(pending).trim().to_owned();
            let long = pending.len() >= MAX_YD_LINE;
            pending.clear();
            if line.is_empty() {
                continue;
            }
            match raw::parse_yd(&line) {
                Ok(l) if !long => {
                    let raw::Carried::Frame { can_id, .. } = l.carried else { continue };
                    if !self.frame(can_id, l.data(), now_ms(), t, started).await {
                        return false;
                    }
                }
                Ok(_) => self.bad("bad_line", &"a line too long"),
                Err(e) => self.bad(e.kind(), &e),
            }
        }
        true
    }
}

/// Where transmitted frames go: a CAN link, or a Yacht Devices gateway's TCP stream (RAW
/// lines without a time: `19F51323 01 02 …`).
enum Wire<'a> {
    Can(&'a mut Link),
    Yd(&'a mut tokio::net::tcp::OwnedWriteHalf),
}

impl Wire<'_> {
    async fn send(&mut self, can_id: u32, data: &[u8]) -> std::io::Result<()> {
        match self {
            Wire::Can(link) => {
                let frame = halyard_proto::can::Frame::new(Id::Extended(can_id), data)
                    .ok_or_else(|| std::io::Error::other("not a CAN frame"))?;
                link.send(&frame).await
            }
            Wire::Yd(w) => {
                use tokio::io::AsyncWriteExt;
                let mut line = String::new();
                let _ = raw::write_yd(&mut line, None, can_id, data);
                w.write_all(line.as_bytes()).await
            }
        }
    }
}

/// The transmitting side of a session: what is due, sent through `wire`.
async fn transmit(t: &mut transmit::Transmitter, wire: &mut Wire<'_>, started: Instant) -> std::io::Result<()> {
    t.tick(started.elapsed().as_millis() as u64, now_ms());
    while let Some((id, data)) = t.next_frame() {
        wire.send(id, &data).await?;
    }
    Ok(())
}

/// Read a stream until it ends or fails (`Err`), or `stop` (`Ok`). With a transmitter (a Yacht
/// Devices gateway's TCP stream), also send what it has due.
async fn read_stream(
    mut r: impl AsyncRead + Unpin,
    pump: &mut Pump<'_>,
    actisense: bool,
    mut out: Option<(&mut transmit::Transmitter, Wire<'_>)>,
) -> Result<(), Ended> {
    let mut buf = vec![0u8; 4096];
    let mut pending = Vec::new();
    let mut framer = actisense::Framer::new();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let started = Instant::now();
    loop {
        let n = tokio::select! {
            _ = pump.reopen.stop.changed() => return Ok(()),
            r = r.read(&mut buf) => match r {
                Ok(0) => return Err(Ended::lost("end of stream")),
                Ok(n) => n,
                Err(e) => return Err(Ended::lost(e)),
            },
            _ = tick.tick(), if out.is_some() => {
                if let Some((t, wire)) = &mut out {
                    transmit(t, wire, started).await.map_err(sending)?;
                }
                continue;
            }
        };
        if !actisense {
            let mut t = out.as_mut().map(|(t, _)| &mut **t);
            if !pump.yd_lines(&mut pending, &buf[..n], &mut t, started).await {
                return Ok(());
            }
            continue;
        }
        let mut messages = Vec::new();
        let skipped = framer.skipped;
        framer.push_all(&buf[..n], |m| match m {
            // The NGT-1's own messages (its status) are not the bus's.
            Ok(frame) => {
                if let Some(r) = frame.received() {
                    messages.push(Ok(Carried::Message { header: r.header, data: r.data.to_vec() }));
                }
            }
            Err(e) => messages.push(Err(e)),
        });
        if framer.skipped > skipped {
            pump.bad("skipped_bytes", &format!("{} bytes between messages", framer.skipped - skipped));
        }
        for m in messages {
            match m {
                Ok(carried) => {
                    if !pump.send(now_ms(), carried).await {
                        return Ok(());
                    }
                }
                Err(e) => pump.bad(e.kind(), &e),
            }
        }
    }
}

/// What a transmitting source is given: `[n2k_out]` and the devices' latest values.
pub type Transmit = (transmit::Settings, Arc<transmit::Table>);

/// Whether `[n2k_out]` can send through this kind of source.
pub fn can_transmit(spec: &Spec) -> bool {
    matches!(spec, Spec::Can(_) | Spec::Ydwg(_))
}

/// A failed send ends the session like a failed read.
fn sending(e: std::io::Error) -> Ended {
    Ended::lost(format_args!("sending: {e}"))
}

/// Run one source until `stop` turns true; with `transmit`, it also claims an address and
/// sends (`[n2k_out]`, opt-in).
pub async fn run(
    spec: Spec,
    transmit: Option<Transmit>,
    tx: mpsc::Sender<Input>,
    telemetry: Arc<Telemetry>,
    stop: watch::Receiver<bool>,
) {
    let name: Arc<str> = spec.name().into();
    let mut reopen = Reopen::new(&name, format!("n2k {spec}"), telemetry.clone(), stop).peer(spec.peer());
    while reopen.running() {
        // Each session claims its address afresh.
        let transmitter =
            transmit.clone().filter(|_| can_transmit(&spec)).map(|(s, table)| transmit::Transmitter::new(s, table, 0));
        let mut pump = Pump { name: &name, tx: &tx, telemetry: &telemetry, reopen: &mut reopen };
        let ended = session(&spec, transmitter, &mut pump).await;
        reopen.ended(ended).await;
    }
}

/// One session: open the source, read it (and send what `transmitter` has due) until it fails
/// or `stop`.
async fn session(
    spec: &Spec,
    mut transmitter: Option<transmit::Transmitter>,
    pump: &mut Pump<'_>,
) -> Result<(), Ended> {
    let started = Instant::now();
    match spec {
        Spec::Can(can) => {
            let active = transmitter.is_some();
            let mut link = Link::open(can, active).await.map_err(Ended::open)?;
            opened(pump, spec, active).await;
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            loop {
                let input = tokio::select! {
                    _ = pump.reopen.stop.changed() => return Ok(()),
                    input = link.recv() => input,
                    _ = tick.tick(), if transmitter.is_some() => {
                        if let Some(t) = &mut transmitter {
                            self::transmit(t, &mut Wire::Can(&mut link), started).await.map_err(sending)?;
                        }
                        continue;
                    }
                };
                match input {
                    Ok(LinkInput::Frame(ts, Received::Frame(f))) => match f.id() {
                        Id::Extended(can_id) => {
                            let at = (ts / 1_000_000) as crate::model::Millis;
                            let mut t = transmitter.as_mut();
                            if !pump.frame(can_id, f.data(), at, &mut t, started).await {
                                return Ok(());
                            }
                        }
                        Id::Standard(_) => pump.bad("standard_id", &"an 11-bit CAN id (not NMEA 2000)"),
                    },
                    Ok(LinkInput::Frame(_, Received::Error(_))) => pump.bad("error_frame", &"a CAN error frame"),
                    Ok(LinkInput::Garbage(what)) => pump.bad("garbage", &what),
                    Err(e) => return Err(Ended::lost(e)),
                }
            }
        }
        Spec::Ydwg(addr) => {
            let s = tokio::net::TcpStream::connect(addr).await.map_err(Ended::open)?;
            opened(pump, spec, transmitter.is_some()).await;
            let (r, mut w) = s.into_split();
            let out = transmitter.as_mut().map(|t| (t, Wire::Yd(&mut w)));
            read_stream(r, pump, false, out).await
        }
        Spec::Actisense { path, baud } => {
            let port = tokio_serial::new(path, *baud).open_native_async().map_err(Ended::open)?;
            opened(pump, spec, false).await;
            read_stream(port, pump, true, None).await
        }
        Spec::YdwgUdp(addr) => {
            let socket = tokio::net::UdpSocket::bind(addr).await.map_err(Ended::open)?;
            opened(pump, spec, false).await;
            let mut buf = vec![0u8; 65_536];
            loop {
                let n = tokio::select! {
                    _ = pump.reopen.stop.changed() => return Ok(()),
                    r = socket.recv(&mut buf) => r.map_err(Ended::lost)?,
                };
                // A datagram holds whole lines: end it as one.
                let mut pending = Vec::new();
                let mut bytes = buf[..n].to_vec();
                bytes.push(b'\n');
                if !pump.yd_lines(&mut pending, &bytes, &mut None, Instant::now()).await {
                    return Ok(());
                }
            }
        }
    }
}

/// The session is open: counted, logged, told to ingest (which starts its assembly afresh); the
/// first time on a CAN link, advice on its listen-only mode.
async fn opened(pump: &mut Pump<'_>, spec: &Spec, transmitting: bool) {
    if pump.reopen.opened() {
        if let Spec::Can(can) = spec {
            if let Some(advice) = super::can::mode::advice_on_open(can, transmitting).await {
                tracing::warn!("{}: {advice}", pump.name);
            }
        }
    }
    if transmitting {
        tracing::info!("n2k: reading {spec} and transmitting ([n2k_out] enabled)");
    } else {
        tracing::info!("n2k: reading {spec} (listen-only)");
    }
    let _ = pump.tx.send(Input::N2kReopened { source: pump.name.clone() }).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(Spec::parse("socketcan:can0"), Ok(Spec::Can(super::super::can::Spec::SocketCan("can0".into()))));
        assert_eq!(Spec::parse("socketcan:can0").unwrap().name(), "can0");
        assert_eq!(Spec::parse("ydwg:192.168.4.1"), Ok(Spec::Ydwg("192.168.4.1:1457".into())));
        assert_eq!(Spec::parse("ydwg-udp:1456"), Ok(Spec::YdwgUdp("0.0.0.0:1456".into())));
        assert_eq!(
            Spec::parse("actisense:/dev/ttyUSB0"),
            Ok(Spec::Actisense { path: "/dev/ttyUSB0".into(), baud: 115_200 })
        );
        assert_eq!(Spec::parse("actisense:/dev/ttyUSB0").unwrap().name(), "actisense:ttyUSB0");
        assert_eq!(Spec::parse("ecan:10.0.0.7").unwrap().to_string(), "ecan:10.0.0.7:8881");
        assert!(Spec::parse("ydwg-udp:x").is_err());
        assert!(Spec::parse("nmea2000").is_err());
        assert!(Spec::parse("file:x.pcap").is_err(), "captures are replayed, not sources");
    }
}
