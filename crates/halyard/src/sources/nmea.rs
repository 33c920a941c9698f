//! NMEA 0183 sources: a serial port (4800 baud by the standard, 38,400 for AIS receivers and
//! multiplexers; `@BAUD` picks), a TCP server to connect to (a Wi-Fi multiplexer, a chartplotter,
//! Signal K's port 10110), a UDP port to listen on (broadcasting multiplexers) and gpsd (its
//! JSON protocol on port 2947, asked with `?WATCH` for the raw NMEA it reads). Bytes in,
//! timestamped, reconnected with backoff; the sentences are ingest's business.

use std::fmt;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio_serial::SerialPortBuilderExt;

use super::backoff::Peer;
use super::reopen::{Ended, Reopen};
use crate::ingest::{now_ms, Input};
use crate::telemetry::Telemetry;

/// Where NMEA comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// `serial:/dev/ttyUSB1[@4800]`.
    Serial {
        /// Device path.
        path: String,
        /// Baud rate.
        baud: u32,
    },
    /// `tcp:host:port`: connect and read.
    Tcp(String),
    /// `udp:address:port`: listen.
    Udp(String),
    /// `gpsd[:host[:port]]`.
    Gpsd(String),
}

impl Spec {
    /// Parse `serial:…`, `tcp:…`, `udp:…` or `gpsd[:…]`.
    pub fn parse(text: &str) -> Result<Spec, String> {
        let (kind, rest) = text.split_once(':').unwrap_or((text, ""));
        match kind {
            "serial" => {
                let (path, baud) = match rest.rsplit_once('@') {
                    Some((p, b)) => (p, b.parse::<u32>().map_err(|_| format!("`{b}` is not a baud rate"))?),
                    None => (rest, 4800),
                };
                if path.is_empty() {
                    return Err("serial: needs a device, e.g. serial:/dev/ttyUSB1@4800".into());
                }
                Ok(Spec::Serial { path: path.to_owned(), baud })
            }
            "tcp" | "udp" if rest.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) => {
                Ok(if kind == "tcp" { Spec::Tcp(rest.to_owned()) } else { Spec::Udp(rest.to_owned()) })
            }
            "tcp" | "udp" => Err(format!("{kind}: needs host:port, e.g. {kind}:192.168.1.10:10110")),
            "gpsd" => Ok(Spec::Gpsd(match rest {
                "" => "127.0.0.1:2947".to_owned(),
                h if h.contains(':') => h.to_owned(),
                h => format!("{h}:2947"),
            })),
            _ => Err(format!("`{text}`: serial:DEVICE[@BAUD], tcp:HOST:PORT, udp:ADDRESS:PORT or gpsd[:HOST[:PORT]]")),
        }
    }

    /// What a reconnect looks at to come back promptly (a UDP socket is only bound, never lost
    /// to a peer).
    pub fn peer(&self) -> Option<Peer> {
        match self {
            Spec::Serial { path, .. } => Some(Peer::Device(path.clone())),
            Spec::Tcp(a) | Spec::Gpsd(a) => Some(Peer::Tcp(a.clone())),
            Spec::Udp(_) => None,
        }
    }

    /// The source's short name for counters and logs.
    pub fn name(&self) -> String {
        match self {
            Spec::Serial { path, .. } => crate::model::registry::port_name(path),
            Spec::Tcp(a) => format!("tcp:{a}"),
            Spec::Udp(a) => format!("udp:{a}"),
            Spec::Gpsd(a) => format!("gpsd:{a}"),
        }
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spec::Serial { path, baud } => write!(f, "serial:{path}@{baud}"),
            other => f.write_str(&other.name()),
        }
    }
}

/// Read one opened stream until it ends or fails (`Err`), or `stop` (`Ok`).
async fn pump(
    mut r: impl AsyncRead + Unpin,
    name: &Arc<str>,
    tx: &mpsc::Sender<Input>,
    reopen: &mut Reopen,
) -> Result<(), Ended> {
    let mut buf = vec![0u8; 4096];
    loop {
        tokio::select! {
            _ = reopen.stop.changed() => return Ok(()),
            r = r.read(&mut buf) => match r {
                Ok(0) => return Err(Ended::lost("end of stream")),
                Ok(n) => {
                    reopen.delivering();
                    if !send(tx, name, buf[..n].to_vec()).await {
                        return Ok(());
                    }
                }
                Err(e) => return Err(Ended::lost(e)),
            },
        }
    }
}

/// Hand bytes on, stamped on arrival; `false` when the pipeline is gone.
async fn send(tx: &mpsc::Sender<Input>, name: &Arc<str>, bytes: Vec<u8>) -> bool {
    let input = Input::Nmea { at: now_ms(), source: name.clone(), bytes, clock: crate::ingest::nmea::Clock::Arrival };
    tx.send(input).await.is_ok()
}

/// gpsd: ask for the raw NMEA of its devices, pass the sentences on (its JSON replies are
/// dropped here).
async fn gpsd(
    stream: tokio::net::TcpStream,
    name: &Arc<str>,
    tx: &mpsc::Sender<Input>,
    reopen: &mut Reopen,
) -> Result<(), Ended> {
    let (r, mut w) = stream.into_split();
    w.write_all(b"?WATCH={\"enable\":true,\"nmea\":true};\n").await.map_err(Ended::lost)?;
    let mut lines = tokio::io::BufReader::new(r).lines();
    loop {
        tokio::select! {
            _ = reopen.stop.changed() => return Ok(()),
            l = lines.next_line() => match l {
                Ok(None) => return Err(Ended::lost("gpsd closed the connection")),
                Ok(Some(line)) => {
                    reopen.delivering();
                    if line.starts_with('{') {
                        continue;
                    }
                    let mut bytes = line.into_bytes();
                    bytes.push(b'\n');
                    if !send(tx, name, bytes).await {
                        return Ok(());
                    }
                }
                Err(e) => return Err(Ended::lost(e)),
            },
        }
    }
}

/// Run one source until `stop` turns true.
pub async fn run(spec: Spec, tx: mpsc::Sender<Input>, telemetry: Arc<Telemetry>, stop: watch::Receiver<bool>) {
    let name: Arc<str> = spec.name().into();
    let mut reopen = Reopen::new(&name, format!("nmea {spec}"), telemetry, stop).peer(spec.peer());
    while reopen.running() {
        let ended = session(&spec, &name, &tx, &mut reopen).await;
        reopen.ended(ended).await;
    }
}

/// One session: open the source, read it until it ends or `stop`.
async fn session(spec: &Spec, name: &Arc<str>, tx: &mpsc::Sender<Input>, reopen: &mut Reopen) -> Result<(), Ended> {
    match spec {
        Spec::Serial { path, baud } => {
            let port = tokio_serial::new(path, *baud).open_native_async().map_err(Ended::open)?;
            opened(reopen, spec, tx, name).await;
            pump(port, name, tx, reopen).await
        }
        Spec::Tcp(addr) => {
            let s = tokio::net::TcpStream::connect(addr).await.map_err(Ended::open)?;
            opened(reopen, spec, tx, name).await;
            pump(s, name, tx, reopen).await
        }
        Spec::Gpsd(addr) => {
            let s = tokio::net::TcpStream::connect(addr).await.map_err(Ended::open)?;
            opened(reopen, spec, tx, name).await;
            gpsd(s, name, tx, reopen).await
        }
        Spec::Udp(addr) => {
            let socket = tokio::net::UdpSocket::bind(addr).await.map_err(Ended::open)?;
            opened(reopen, spec, tx, name).await;
            let mut buf = vec![0u8; 65_536];
            loop {
                tokio::select! {
                    _ = reopen.stop.changed() => return Ok(()),
                    r = socket.recv(&mut buf) => match r {
                        // One datagram holds whole sentences: end it as a line.
                        Ok(n) => {
                            reopen.delivering();
                            let mut bytes = buf[..n].to_vec();
                            bytes.push(b'\n');
                            if !send(tx, name, bytes).await {
                                return Ok(());
                            }
                        }
                        Err(e) => return Err(Ended::lost(e)),
                    },
                }
            }
        }
    }
}

async fn opened(reopen: &mut Reopen, spec: &Spec, tx: &mpsc::Sender<Input>, name: &Arc<str>) {
    reopen.opened();
    tracing::info!("nmea: reading {spec}");
    let _ = tx.send(Input::NmeaReopened { source: name.clone() }).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(Spec::parse("serial:/dev/ttyUSB1"), Ok(Spec::Serial { path: "/dev/ttyUSB1".into(), baud: 4800 }));
        assert_eq!(
            Spec::parse("serial:/dev/ttyUSB1@38400"),
            Ok(Spec::Serial { path: "/dev/ttyUSB1".into(), baud: 38_400 })
        );
        assert_eq!(Spec::parse("tcp:10.0.0.1:10110"), Ok(Spec::Tcp("10.0.0.1:10110".into())));
        assert_eq!(Spec::parse("udp:0.0.0.0:10110"), Ok(Spec::Udp("0.0.0.0:10110".into())));
        assert_eq!(Spec::parse("gpsd"), Ok(Spec::Gpsd("127.0.0.1:2947".into())));
        assert_eq!(Spec::parse("gpsd:pi.local"), Ok(Spec::Gpsd("pi.local:2947".into())));
        assert!(Spec::parse("tcp:nohost").is_err());
        assert!(Spec::parse("serial:/dev/x@fast").is_err());
        assert!(Spec::parse("carrier-pigeon").is_err());
        assert_eq!(Spec::parse("serial:/dev/ttyUSB1").unwrap().name(), "ttyUSB1");
    }
}
