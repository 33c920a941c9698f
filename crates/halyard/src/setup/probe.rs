//! What speaks on a serial port or a CAN link: listen at each likely speed and recognise the
//! protocol by what only it produces — a VE.Direct block whose checksum holds, NMEA sentences
//! whose checksums hold, a Meshtastic frame (0x94 0xC3) that decodes, an SLCAN adapter's replies.
//!
//! Setup sends queries only, never settings: SLCAN's close/250 kbit/s/listen-only open (so the
//! adapter never drives the bus) and Meshtastic's `want_config_id` (the request every client
//! sends to read the node database). Victron devices and GPS receivers are only listened to.

use std::collections::BTreeSet;
use std::time::Duration;

use halyard_proto::can::{slcan, Received};
use halyard_proto::meshtastic::stream::{Event as MeshEvent, StreamFramer};
use halyard_proto::nmea::{Checksum, Frame as NmeaFrame, LineFramer};
use halyard_proto::vedirect::text::{BlockStatus, Event as VeEvent, TextFramer};
use prost::Message as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_serial::{SerialPort as _, SerialPortBuilderExt, SerialStream};

use super::find::Hint;
use crate::masterbus::Listener;
use crate::mesh::proto::{from_radio, to_radio, FromRadio, ToRadio};

/// What was found on a port.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// A Victron device's VE.Direct text protocol (19,200 baud).
    VeDirect {
        /// `PID` (the product id).
        pid: Option<u16>,
        /// The product's name from its id.
        product: String,
        /// `SER#`.
        serial: Option<String>,
    },
    /// NMEA 0183 sentences whose checksums hold.
    Nmea {
        /// The speed they came at.
        baud: u32,
        /// Talker and sentence (`GPRMC`, `WIMWV`, `AIVDM` …).
        sentences: BTreeSet<String>,
    },
    /// A Meshtastic radio on its stream API.
    Meshtastic {
        /// Its node id (`!0dd1e901`) and long name, when it told.
        node: Option<(String, String)>,
    },
    /// An SLCAN CAN adapter, and the MasterBus devices heard through it.
    Slcan {
        /// Devices heard.
        devices: Vec<MasterBusDevice>,
    },
}

/// A MasterBus device heard on a CAN link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterBusDevice {
    /// Its 18-bit number as the configuration writes it (`0x31297`).
    pub device: String,
    /// Its announced name, else its type's name.
    pub name: String,
    /// `dc_shunt`, `inverter_charger`, `charger` …
    pub kind: &'static str,
}

/// The outcome of probing one port.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Recognised.
    Found(Found),
    /// Open, but nothing recognisable came.
    Silent,
    /// Could not be used: a one-line reason that says what to do.
    Failed(String),
}

/// Bytes recognised as they come, for every protocol at once.
struct Recogniser {
    vedirect: TextFramer,
    nmea: LineFramer,
    mesh: StreamFramer,
    found_vedirect: Option<Found>,
    sentences: BTreeSet<String>,
    nmea_valid: usize,
    mesh_frames: usize,
    my_node: Option<u32>,
    node_names: Vec<(u32, String, String)>,
    config_complete: bool,
}

impl Recogniser {
    fn new() -> Self {
        Recogniser {
            vedirect: TextFramer::new(),
            nmea: LineFramer::new(),
            mesh: StreamFramer::new(),
            found_vedirect: None,
            sentences: BTreeSet::new(),
            nmea_valid: 0,
            mesh_frames: 0,
            my_node: None,
            node_names: Vec::new(),
            config_complete: false,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        let found = &mut self.found_vedirect;
        self.vedirect.push_all(bytes, |event| {
            if let VeEvent::Block { block, status: BlockStatus::Valid } = event {
                let field = |label: &str| block.fields().find(|f| f.label == label).map(|f| f.value.to_owned());
                let pid = field("PID").and_then(|p| u16::from_str_radix(p.trim_start_matches("0x"), 16).ok());
                if pid.is_some() || field("V").is_some() {
                    let product = pid
                        .and_then(halyard_proto::victron::product_name)
                        .map(str::to_owned)
                        .or_else(|| pid.map(|p| format!("Victron product 0x{p:04X}")))
                        .unwrap_or_else(|| "Victron device".to_owned());
                    *found = Some(Found::VeDirect { pid, product, serial: field("SER#") });
                }
            }
        });
        let (sentences, valid) = (&mut self.sentences, &mut self.nmea_valid);
        self.nmea.push_all(bytes, |line| {
            if let Ok(line) = line {
                if let Ok(frame) = NmeaFrame::parse(line) {
                    if frame.checksum == Checksum::Valid {
                        *valid += 1;
                        sentences.insert(format!("{}{}", frame.talker, frame.kind));
                    }
                }
            }
        });
        let mut frames = Vec::new();
        self.mesh.push_all(bytes, |event| {
            if let MeshEvent::Frame(payload) = event {
                frames.push(payload.to_vec());
            }
        });
        for payload in frames {
            let Ok(message) = FromRadio::decode(payload.as_slice()) else { continue };
            let Some(variant) = message.variant else { continue };
            self.mesh_frames += 1;
            match variant {
                from_radio::Variant::MyInfo(info) => self.my_node = Some(info.my_node_num),
                from_radio::Variant::NodeInfo(node) => {
                    if let Some(user) = node.user {
                        self.node_names.push((node.num, user.id, user.long_name));
                    }
                }
                from_radio::Variant::ConfigCompleteId(_) => self.config_complete = true,
                _ => {}
            }
        }
    }

    /// What the bytes so far show, once they show it for sure.
    fn found(&self, baud: u32) -> Option<Found> {
        if let Some(found) = &self.found_vedirect {
            return Some(found.clone());
        }
        if self.nmea_valid >= 3 {
            return Some(Found::Nmea { baud, sentences: self.sentences.clone() });
        }
        if self.mesh_frames > 0 && (self.config_complete || self.my_node.is_none()) {
            return Some(self.meshtastic());
        }
        None
    }

    fn meshtastic(&self) -> Found {
        let node = self.my_node.and_then(|me| {
            self.node_names.iter().find(|(num, ..)| *num == me).map(|(_, id, name)| (id.clone(), name.clone()))
        });
        Found::Meshtastic { node }
    }
}

/// One step of a port's probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Listen at this speed.
    Listen(u32),
    /// Ask a Meshtastic radio for its node database (115,200 baud).
    AskMeshtastic,
    /// Open an SLCAN adapter listen-only and hear the bus.
    Slcan,
}

fn steps(hint: Hint) -> Vec<Step> {
    use Step::*;
    match hint {
        Hint::VeDirectCable => vec![Listen(19_200)],
        Hint::CanAdapter => vec![Slcan],
        Hint::Gps => vec![Listen(4_800), Listen(38_400), Listen(9_600)],
        Hint::Radio => vec![AskMeshtastic, Slcan],
        Hint::Unknown => vec![Listen(19_200), Listen(4_800), Listen(38_400), AskMeshtastic, Slcan],
    }
}

/// Probe `path`, spending at most `listen` per step (and, for a CAN adapter, listening to the bus
/// until `until`).
pub async fn serial(path: &str, hint: Hint, listen: Duration, until: Instant) -> Outcome {
    let mut port = match tokio_serial::new(path, 19_200).timeout(Duration::from_millis(200)).open_native_async() {
        Ok(p) => p,
        Err(e) => return Outcome::Failed(open_error(path, &e)),
    };
    let mut heard_anything = false;
    for step in steps(hint) {
        let result = match step {
            Step::Listen(baud) => listen_at(&mut port, baud, listen, &mut heard_anything).await,
            Step::AskMeshtastic => ask_meshtastic(&mut port, listen, &mut heard_anything).await,
            Step::Slcan => slcan(&mut port, path, listen, until).await,
        };
        match result {
            Ok(Some(found)) => return Outcome::Found(found),
            Ok(None) => {}
            Err(e) => return Outcome::Failed(format!("{path}: {e} (unplugged during the scan?)")),
        }
    }
    if heard_anything {
        Outcome::Failed(format!("{path}: bytes came, but in no protocol Halyard knows at 4,800–115,200 baud"))
    } else {
        Outcome::Silent
    }
}

/// The one-line reason a port cannot be opened, with what to do.
fn open_error(path: &str, e: &tokio_serial::Error) -> String {
    let lower = e.to_string().to_ascii_lowercase();
    if lower.contains("no such file") {
        format!("{path}: gone (unplugged?)")
    } else if lower.contains("busy") {
        format!("{path}: busy, another program has it open (the halyard service? `sudo systemctl stop halyard` while setting up)")
    } else {
        format!("{path}: {e}{}", crate::sources::open_hint(e))
    }
}

async fn read_until(
    port: &mut SerialStream,
    deadline: Instant,
    mut on: impl FnMut(&[u8]) -> bool,
) -> std::io::Result<()> {
    let mut buf = [0u8; 1024];
    loop {
        let n = tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return Ok(()),
            r = port.read(&mut buf) => match r {
                Ok(0) => return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the port closed")),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
                Err(e) => return Err(e),
            },
        };
        if on(&buf[..n]) {
            return Ok(());
        }
    }
}

async fn listen_at(
    port: &mut SerialStream,
    baud: u32,
    listen: Duration,
    heard: &mut bool,
) -> std::io::Result<Option<Found>> {
    port.set_baud_rate(baud).map_err(std::io::Error::other)?;
    let _ = port.clear(tokio_serial::ClearBuffer::Input);
    let mut recogniser = Recogniser::new();
    read_until(port, Instant::now() + listen, |bytes| {
        *heard = true;
        recogniser.feed(bytes);
        recogniser.found(baud).is_some()
    })
    .await?;
    Ok(recogniser.found(baud))
}

async fn ask_meshtastic(port: &mut SerialStream, listen: Duration, heard: &mut bool) -> std::io::Result<Option<Found>> {
    port.set_baud_rate(115_200).map_err(std::io::Error::other)?;
    let _ = port.clear(tokio_serial::ClearBuffer::Input);
    let ask = crate::sources::mesh::frame(&ToRadio { variant: Some(to_radio::Variant::WantConfigId(0x5E7)) });
    port.write_all(&ask).await?;
    let mut recogniser = Recogniser::new();
    read_until(port, Instant::now() + listen, |bytes| {
        *heard = true;
        recogniser.feed(bytes);
        recogniser.mesh_frames > 0 && recogniser.config_complete
    })
    .await?;
    Ok((recogniser.mesh_frames > 0).then(|| recogniser.meshtastic()))
}

async fn slcan(
    port: &mut SerialStream,
    path: &str,
    listen: Duration,
    until: Instant,
) -> std::io::Result<Option<Found>> {
    port.set_baud_rate(115_200).map_err(std::io::Error::other)?;
    let _ = port.clear(tokio_serial::ClearBuffer::Input);
    // Close first (an adapter left open refuses S5), 250 kbit/s, no timestamps, listen-only.
    for command in [slcan::CLOSE, slcan::BITRATE_250K, slcan::TIMESTAMPS_OFF, slcan::OPEN_LISTEN_ONLY] {
        port.write_all(command).await?;
    }
    port.flush().await?;
    let mut decoder = slcan::Decoder::new();
    let mut replies = 0;
    let mut listener = Listener::default();
    let answered = Instant::now() + listen;
    let result = read_until(port, until.max(answered), |bytes| {
        for &b in bytes {
            match decoder.push(b) {
                Some(Ok(slcan::Event::Frame { frame, .. })) => {
                    replies += 1;
                    listener.handle(crate::sources::can::link::now_ns(), &Received::Frame(frame));
                }
                Some(Ok(slcan::Event::Ack | slcan::Event::Nack | slcan::Event::Info(_))) => replies += 1,
                _ => {}
            }
        }
        // Nothing that answers like an adapter within the listening time: not one.
        replies == 0 && Instant::now() >= answered
    })
    .await;
    // Leave the adapter closed, as found.
    let _ = port.write_all(slcan::CLOSE).await;
    result?;
    if replies == 0 {
        return Ok(None);
    }
    tracing::debug!("{path}: SLCAN adapter, {} frames", listener.counters.frames);
    Ok(Some(Found::Slcan { devices: masterbus_devices(&listener) }))
}

/// The devices a MasterBus listener has heard, named.
pub fn masterbus_devices(listener: &Listener) -> Vec<MasterBusDevice> {
    use halyard_proto::masterbus::catalog;
    listener
        .bus
        .nodes()
        .filter(|(node, _)| node.type_code() != 0x14) // MasterView displays: nothing to read
        .map(|(node, state)| MasterBusDevice {
            device: node.device().to_string(),
            name: state
                .name()
                .or_else(|| catalog::type_name(node.type_code()).map(str::to_owned))
                .unwrap_or_else(|| format!("MasterBus type 0x{:02X}", node.type_code())),
            kind: catalog::device_kind(node.type_code()),
        })
        .collect()
}

/// Listen to a CAN link (ECAN gateway, SocketCAN) until `until`: the MasterBus devices on it.
pub async fn can(spec: &crate::sources::can::Spec, until: Instant) -> Outcome {
    use crate::sources::can::link::{Input, Link};
    let mut link = match tokio::time::timeout_at(until, Link::open(spec, false)).await {
        Ok(Ok(link)) => link,
        Ok(Err(e)) => return Outcome::Failed(format!("{spec}: {e}")),
        Err(_) => return Outcome::Failed(format!("{spec}: no answer")),
    };
    let mut listener = Listener::default();
    loop {
        match tokio::time::timeout_at(until, link.recv()).await {
            Err(_) => break,
            Ok(Ok(Input::Frame(ts, received))) => {
                listener.handle(ts, &received);
            }
            Ok(Ok(Input::Garbage(_))) => {}
            Ok(Err(e)) => return Outcome::Failed(format!("{spec}: {e} (lost during the scan)")),
        }
    }
    if listener.counters.frames == 0 {
        return Outcome::Silent;
    }
    Outcome::Found(Found::Slcan { devices: masterbus_devices(&listener) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_protocol_from_its_bytes() {
        let mut r = Recogniser::new();
        r.feed(b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n");
        r.feed(b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n");
        assert_eq!(r.found(4800), None, "two sentences are not yet proof");
        r.feed(b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n");
        let Some(Found::Nmea { baud: 4800, sentences }) = r.found(4800) else { panic!("{:?}", r.found(4800)) };
        assert_eq!(sentences.into_iter().collect::<Vec<_>>(), ["GPGGA", "GPRMC"]);

        let mut garbage = Recogniser::new();
        garbage.feed(b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*00\r\n".repeat(5).as_slice());
        garbage.feed(&[0x55; 300]);
        assert_eq!(garbage.found(4800), None, "wrong checksums and noise prove nothing");

        let mut mesh = Recogniser::new();
        let info = crate::mesh::proto::FromRadio {
            variant: Some(from_radio::Variant::MyInfo(crate::mesh::proto::MyNodeInfo { my_node_num: 7 })),
        };
        let mut framed = vec![0x94, 0xC3, 0, 0];
        let payload = info.encode_to_vec();
        framed[3] = payload.len() as u8;
        framed.extend(payload);
        mesh.feed(&framed);
        assert_eq!(mesh.found(115_200), None, "waits for the node database after MyInfo");
        mesh.feed(&[0x94, 0xC3, 0, 2, 0x38, 0x01]); // config_complete_id = 1
        assert_eq!(mesh.found(115_200), Some(Found::Meshtastic { node: None }));
    }
}
