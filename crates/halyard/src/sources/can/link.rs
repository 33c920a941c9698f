//! One connection to a CAN transport: receive frames, and send them when the user has enabled the
//! active mode. Every transport decodes with the `no_std` codecs of `halyard_proto::can`.

use std::collections::VecDeque;
use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use halyard_proto::can::{ecan, slcan, Frame, Received};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_serial::SerialPortBuilderExt;

use super::Spec;

/// Nanoseconds since the Unix epoch, now (the simulated boat's time in `halyard demo`, as
/// [`crate::ingest::now_ms`]).
pub fn now_ns() -> u64 {
    if crate::ingest::simulated() {
        return crate::ingest::now_ms().max(0) as u64 * 1_000_000;
    }
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// What a link delivers besides frames: garbage it skipped, so that it is counted.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A frame, timestamped on arrival.
    Frame(u64, Received),
    /// Bytes that were not a frame (SLCAN noise, an out-of-step gateway stream).
    Garbage(String),
}

/// An open transport.
pub enum Link {
    /// SLCAN over a serial port.
    Slcan {
        /// The port.
        port: tokio_serial::SerialStream,
        /// The line decoder.
        decoder: slcan::Decoder,
        /// Bytes read but not yet decoded.
        pending: VecDeque<u8>,
    },
    /// A CAN-Ethernet gateway over TCP.
    Ecan {
        /// The socket.
        socket: TcpStream,
        /// The 13-byte reassembler.
        decoder: ecan::Decoder,
        /// Bytes read but not yet decoded.
        pending: VecDeque<u8>,
    },
    /// Linux SocketCAN.
    #[cfg(feature = "socketcan")]
    SocketCan(socketcan::tokio::CanSocket),
}

impl Link {
    /// Open the transport. `active` opens an SLCAN adapter in normal mode (it acknowledges and
    /// may send); otherwise listen-only, so the adapter never drives the bus.
    pub async fn open(spec: &Spec, active: bool) -> io::Result<Link> {
        match spec {
            Spec::Slcan(path) => {
                let mut port = tokio_serial::new(path, 115_200).open_native_async()?;
                let open = if active { slcan::OPEN } else { slcan::OPEN_LISTEN_ONLY };
                // Close first: an adapter left open by a previous run refuses `S5`.
                for command in [slcan::CLOSE, slcan::BITRATE_250K, slcan::TIMESTAMPS_OFF, open] {
                    port.write_all(command).await?;
                }
                port.flush().await?;
                Ok(Link::Slcan { port, decoder: slcan::Decoder::new(), pending: VecDeque::new() })
            }
            Spec::Ecan(addr) => {
                let socket = TcpStream::connect(addr.as_str()).await?;
                socket.set_nodelay(true)?;
                Ok(Link::Ecan { socket, decoder: ecan::Decoder::new(), pending: VecDeque::new() })
            }
            #[cfg(feature = "socketcan")]
            Spec::SocketCan(name) => Ok(Link::SocketCan(socketcan::tokio::CanSocket::open(name)?)),
            #[cfg(not(feature = "socketcan"))]
            Spec::SocketCan(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this halyard was built without the `socketcan` feature",
            )),
            Spec::File(_) => {
                Err(io::Error::new(io::ErrorKind::InvalidInput, "a file is replayed, not opened as a link"))
            }
        }
    }

    /// The next frame or piece of garbage. An error means the link is gone (unplugged, socket closed).
    pub async fn recv(&mut self) -> io::Result<Input> {
        loop {
            match self {
                Link::Slcan { port, decoder, pending } => {
                    while let Some(byte) = pending.pop_front() {
                        match decoder.push(byte) {
                            Some(Ok(slcan::Event::Frame { frame, .. })) => {
                                return Ok(Input::Frame(now_ns(), Received::Frame(frame)))
                            }
                            Some(Ok(slcan::Event::Nack)) => {
                                return Ok(Input::Garbage("adapter refused a command".into()))
                            }
                            Some(Ok(_)) | None => {}
                            Some(Err(e)) => return Ok(Input::Garbage(e.to_string())),
                        }
                    }
                    let mut buf = [0u8; 256];
                    let n = port.read(&mut buf).await?;
                    if n == 0 {
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "serial port closed"));
                    }
                    pending.extend(&buf[..n]);
                }
                Link::Ecan { socket, decoder, pending } => {
                    while !pending.is_empty() {
                        let (used, result) = decoder.feed(pending.make_contiguous());
                        pending.drain(..used);
                        match result {
                            Some(Ok(frame)) => return Ok(Input::Frame(now_ns(), Received::Frame(frame))),
                            Some(Err(e)) => return Ok(Input::Garbage(e.to_string())),
                            None => {}
                        }
                    }
                    let mut buf = [0u8; 1300];
                    let n = socket.read(&mut buf).await?;
                    if n == 0 {
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "gateway closed the connection"));
                    }
                    pending.extend(&buf[..n]);
                }
                #[cfg(feature = "socketcan")]
                Link::SocketCan(socket) => {
                    use socketcan::{EmbeddedFrame, Frame as _};
                    let frame = socket.read_frame().await?;
                    let mut data = [0u8; 8];
                    let bytes = frame.data();
                    data[..bytes.len()].copy_from_slice(bytes);
                    let dlc = frame.dlc() as u8;
                    return Ok(match halyard_proto::can::from_socketcan(frame.id_word(), dlc, &data) {
                        Ok(received) => Input::Frame(now_ns(), received),
                        Err(e) => Input::Garbage(e.to_string()),
                    });
                }
            }
        }
    }

    /// Send a frame (only called in active mode).
    pub async fn send(&mut self, frame: &Frame) -> io::Result<()> {
        match self {
            Link::Slcan { port, .. } => {
                let mut line = [0u8; slcan::MAX_LINE + 1];
                let n = slcan::encode_frame(frame, &mut line).unwrap_or(0);
                port.write_all(&line[..n]).await
            }
            Link::Ecan { socket, .. } => socket.write_all(&ecan::encode(frame)).await,
            #[cfg(feature = "socketcan")]
            Link::SocketCan(socket) => {
                use halyard_proto::can::Id;
                use socketcan::EmbeddedFrame;
                let id: socketcan::Id = match frame.id() {
                    Id::Standard(id) => socketcan::StandardId::new(id).map(Into::into),
                    Id::Extended(id) => socketcan::ExtendedId::new(id).map(Into::into),
                }
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad CAN id"))?;
                let frame = socketcan::CanFrame::new(id, frame.data())
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad CAN frame"))?;
                socket.write_frame(frame).await
            }
        }
    }
}
