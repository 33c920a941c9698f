//! An alarm as a Meshtastic text: the one thing Halyard ever sends to a radio, and only when the
//! owner configured a Meshtastic notifier. The crew ashore reads "ALARM anchor: drag 85 m, 212°
//! from the anchor" on a handheld with no internet.
//!
//! The daemon's radio connection (`sources::mesh`) carries the packet: a notifier hands it an
//! [`Outgoing`] and waits for the write. `halyard notify test` opens a connection of its own.

use prost::Message as _;
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;

use super::Failure;
use crate::mesh::proto::{mesh_packet, to_radio, Data, MeshPacket, ToRadio};

/// Broadcast on a channel.
pub const BROADCAST: u32 = 0xFFFF_FFFF;
/// The firmware's default hop limit (`LoRaConfig.hop_limit` 3).
const HOP_LIMIT: u32 = 3;

/// A packet for the radio, and where to say it was written.
#[derive(Debug)]
pub struct Outgoing {
    /// The framed `ToRadio`.
    pub bytes: Vec<u8>,
    /// Written (or why not).
    pub done: oneshot::Sender<Result<(), String>>,
}

/// Where a text goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destination {
    /// A node number, or [`BROADCAST`].
    pub to: u32,
    /// The channel index (0 primary … 7).
    pub channel: u32,
}

/// `ToRadio{packet}` with a text for `dest`: a direct message asks for the node's
/// acknowledgement, so the radio retries it over the mesh; a broadcast cannot be acknowledged.
pub fn text_packet(text: &str, dest: Destination, id: u32) -> ToRadio {
    ToRadio {
        variant: Some(to_radio::Variant::Packet(MeshPacket {
            to: dest.to,
            channel: dest.channel,
            payload: Some(mesh_packet::Payload::Decoded(Data {
                portnum: crate::mesh::proto::port::TEXT,
                payload: text.as_bytes().to_vec(),
            })),
            id,
            hop_limit: HOP_LIMIT,
            want_ack: dest.to != BROADCAST,
            ..MeshPacket::default()
        })),
    }
}

/// A fresh packet id (the radio would pick one for 0, but then its acknowledgement could not
/// be matched to ours).
pub fn packet_id() -> u32 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (t.as_nanos() as u32).rotate_left(13) | 1
}

/// Hand a packet to the daemon's connection and wait until it is written.
pub async fn through(radio: &tokio::sync::mpsc::Sender<Outgoing>, packet: &ToRadio) -> Result<(), Failure> {
    let (done, written) = oneshot::channel();
    let bytes = crate::sources::mesh::frame(packet);
    radio
        .try_send(Outgoing { bytes, done })
        .map_err(|_| Failure::Retry("the radio's queue is full or closed".into()))?;
    match tokio::time::timeout(crate::http_client::TIMEOUT, written).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => Err(Failure::Retry(format!("the radio: {e}"))),
        Ok(Err(_)) => Err(Failure::Retry("the radio's connection closed".into())),
        Err(_) => Err(Failure::Retry("the radio is not connected".into())),
    }
}

/// Open the radio, write the packet, close (for `halyard notify test`).
pub async fn direct(spec: &crate::sources::mesh::Spec, packet: &ToRadio) -> Result<(), Failure> {
    use crate::sources::mesh::Spec;
    let bytes = crate::sources::mesh::frame(packet);
    debug_assert!(packet.encoded_len() < 512);
    let written = match spec {
        Spec::Tcp(addr) => match tokio::net::TcpStream::connect(addr).await {
            Ok(mut s) => s.write_all(&bytes).await.and(s.flush().await).map_err(|e| e.to_string()),
            Err(e) => Err(format!("cannot connect to {addr}: {e}")),
        },
        Spec::Serial(path) => {
            use tokio_serial::SerialPortBuilderExt;
            match tokio_serial::new(path, 115_200).open_native_async() {
                Ok(mut p) => p.write_all(&bytes).await.and(p.flush().await).map_err(|e| e.to_string()),
                Err(e) => Err(format!(
                    "cannot open {path}: {e} (a running `halyard run` holds the radio's port: stop it for the test)"
                )),
            }
        }
    };
    written.map_err(Failure::Retry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_packet_field_by_field() {
        let p = text_packet("hi", Destination { to: 0x0a0b0c0d, channel: 2 }, 0x11223344);
        // ToRadio.packet (field 1, length-delimited) holding MeshPacket: to (2, fixed32),
        // channel (3, varint), decoded (4) = Data{portnum 1, payload "hi"}, id (6, fixed32),
        // hop_limit (9) 3, want_ack (10) true — the field numbers of meshtastic's mesh.proto.
        let bytes = p.encode_to_vec();
        let inner = [
            0x15, 0x0d, 0x0c, 0x0b, 0x0a, 0x18, 0x02, 0x22, 0x06, 0x08, 0x01, 0x12, 0x02, b'h', b'i', 0x35, 0x44, 0x33,
            0x22, 0x11, 0x48, 0x03, 0x50, 0x01,
        ];
        assert_eq!(bytes[0], 0x0a);
        assert_eq!(bytes[1] as usize, inner.len());
        assert_eq!(&bytes[2..], &inner);
        let b = text_packet("x", Destination { to: BROADCAST, channel: 0 }, 7);
        let Some(to_radio::Variant::Packet(m)) = b.variant else { panic!() };
        assert!(!m.want_ack, "a broadcast cannot be acknowledged");
    }
}
