//! The decode stage of the pipeline (DESIGN.md §2): what sources read (advert bytes + address +
//! time, serial bytes, CAN frames, MQTT messages) becomes [`Update`]s for the model. Pure
//! wrappers around `halyard-proto` with counters; no I/O, so live runs and replays share it.

pub mod ble;
pub mod ble_gateway;
pub mod ble_json;
pub mod dedupe;
pub mod masterbus;
pub mod mesh;
pub mod mqtt_in;
pub mod n2k;
pub mod nav;
pub mod nmea;
pub mod recording;
pub mod vedirect;
pub mod venus;

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::{Millis, Update};
use crate::telemetry::Telemetry;

/// What a source hands the pipeline.
#[derive(Debug)]
pub enum Input {
    /// A Victron advert: manufacturer data of company 0x02E1.
    Ble {
        /// Received at.
        at: Millis,
        /// The advertiser's address.
        mac: [u8; 6],
        /// The data after the company id.
        data: Vec<u8>,
        /// The receiver that heard it live; `None` in a recording.
        via: Option<Receiver>,
    },
    /// Bytes from a VE.Direct port.
    VeDirect {
        /// Received at.
        at: Millis,
        /// The port's short name.
        port: Arc<str>,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// A VE.Direct port was (re)opened: drop any half-received block.
    VeDirectReopened {
        /// The port's short name.
        port: Arc<str>,
    },
    /// NMEA 0183 bytes.
    Nmea {
        /// Received at.
        at: Millis,
        /// The source's name (`ttyUSB1`, `tcp:192.168.1.10:10110`, `gpsd`, a log's file name).
        source: Arc<str>,
        /// The bytes.
        bytes: Vec<u8>,
        /// How its sentences are timed.
        clock: nmea::Clock,
    },
    /// An NMEA source reconnected: drop any half-received line.
    NmeaReopened {
        /// The source's name.
        source: Arc<str>,
    },
    /// NMEA 2000 traffic from one bus: a frame, a canboat RAW line or a gateway's message.
    N2k {
        /// Received at (in a replay: the capture's time).
        at: Millis,
        /// The bus's name (`can0`, `ydwg:192.168.4.1:1457`, a capture's file name).
        source: Arc<str>,
        /// What came.
        carried: crate::sources::n2k::capture::Carried,
        /// Read as it happens (its time messages may set the clock).
        live: bool,
    },
    /// An NMEA 2000 link reconnected: drop messages in progress.
    N2kReopened {
        /// The bus's name.
        source: Arc<str>,
    },
    /// Meshtastic stream API bytes (serial, TCP 4403).
    Mesh {
        /// Received at.
        at: Millis,
        /// The source's name.
        source: Arc<str>,
        /// The bytes.
        bytes: Vec<u8>,
        /// From a recorded stream: time packets by their reception time (`rx_time`).
        log: bool,
    },
    /// Updates a source decoded itself (MasterBus: its active client needs the decoder's state).
    Decoded(Update),
    /// A message from a Victron GX's broker (`N/<portal>/…`).
    Venus {
        /// Received at.
        at: Millis,
        /// The topic.
        topic: String,
        /// The payload.
        payload: Vec<u8>,
    },
    /// A message on a subscribed raw topic.
    Mqtt {
        /// Received at.
        at: Millis,
        /// The topic.
        topic: String,
        /// The payload.
        payload: Vec<u8>,
    },
}

/// Who heard an advert live: an adapter (`bluetooth:hci0`), a proxy (`esphome:saloon`), a
/// gateway; with the signal strength when the receiver tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receiver {
    /// The receiver's source name.
    pub name: Arc<str>,
    /// dBm.
    pub rssi: Option<i8>,
}

/// Every decoder the pipeline runs itself.
pub struct Ingest {
    /// Victron BLE.
    pub ble: ble::BleDecoder,
    vedirect: HashMap<Arc<str>, vedirect::VeDirectDecoder>,
    mqtt_in: mqtt_in::MqttInDecoder,
    nmea: HashMap<Arc<str>, nmea::NmeaDecoder>,
    /// The navigation state all NMEA sources feed.
    nav: nav::Nav,
    n2k: HashMap<Arc<str>, n2k::N2kDecoder>,
    /// Which NMEA 2000 sender each navigation quantity is taken from.
    n2k_priority: n2k::Priority,
    /// The Meshtastic node table's decoder.
    mesh: mesh::MeshIngest,
    venus: venus::VenusDecoder,
    dedupe: dedupe::Dedupe,
    /// The receivers of adverts that come over MQTT: nodes' proxy topics, gateways' JSON.
    receivers: (Arc<str>, Arc<str>),
    /// Other gateways' JSON shapes (`[[ble_json]]`), each with its receiver name.
    json: Vec<(ble_json::Mapping, Arc<str>)>,
    telemetry: Arc<Telemetry>,
}

impl Ingest {
    /// With the BLE decoder built from the configuration.
    pub fn new(ble: ble::BleDecoder, telemetry: Arc<Telemetry>) -> Self {
        Ingest {
            ble,
            vedirect: HashMap::new(),
            mqtt_in: mqtt_in::MqttInDecoder::new(telemetry.clone()),
            nmea: HashMap::new(),
            nav: nav::Nav::new(),
            n2k: HashMap::new(),
            n2k_priority: n2k::Priority::default(),
            mesh: mesh::MeshIngest::new(telemetry.clone()),
            venus: venus::VenusDecoder::new(telemetry.clone()),
            dedupe: dedupe::Dedupe::default(),
            receivers: ("mqtt_in".into(), "ble_gateway".into()),
            json: Vec::new(),
            telemetry,
        }
    }

    /// With the shapes of other gateways' JSON adverts.
    pub fn with_json_gateways(mut self, mappings: Vec<ble_json::Mapping>) -> Self {
        self.json = mappings
            .into_iter()
            .map(|m| {
                let via = format!("json:{}", m.name).into();
                (m, via)
            })
            .collect();
        self
    }

    /// Devices whose adverts are taken from one receiver while it hears them (`[[device]]
    /// receiver`).
    pub fn with_preferred_receivers(mut self, preferred: impl IntoIterator<Item = ([u8; 6], String)>) -> Self {
        for (mac, receiver) in preferred {
            self.dedupe.prefer(mac, receiver.as_str().into());
        }
        self
    }

    /// Other vessels' AIS position reports decoded since the last call.
    pub fn take_ais(&mut self) -> Vec<(Millis, halyard_proto::nmea::ais::PositionReport)> {
        self.nav.take_ais()
    }

    /// Decode one input.
    pub fn handle(&mut self, input: Input, out: &mut Vec<Update>) {
        match input {
            Input::Ble { at, mac, data, via } => self.advert(at, mac, &data, via, out),
            Input::VeDirect { at, port, bytes } => {
                let telemetry = &self.telemetry;
                self.vedirect
                    .entry(port.clone())
                    .or_insert_with(|| vedirect::VeDirectDecoder::new(&port, telemetry.clone()))
                    .feed(at, &bytes, out);
            }
            Input::VeDirectReopened { port } => {
                if let Some(d) = self.vedirect.get_mut(&port) {
                    d.reset();
                }
            }
            Input::Nmea { at, source, bytes, clock } => {
                let telemetry = &self.telemetry;
                self.nmea
                    .entry(source.clone())
                    .or_insert_with(|| nmea::NmeaDecoder::new(&source, clock, telemetry.clone()))
                    .feed(at, &bytes, &mut self.nav, out);
            }
            Input::NmeaReopened { source } => {
                if let Some(d) = self.nmea.get_mut(&source) {
                    d.reset();
                }
            }
            Input::N2k { at, source, carried, live } => {
                let telemetry = &self.telemetry;
                self.n2k
                    .entry(source.clone())
                    .or_insert_with(|| n2k::N2kDecoder::new(&source, live, telemetry.clone()))
                    .feed(at, &carried, &mut self.nav, &mut self.n2k_priority, out);
            }
            Input::N2kReopened { source } => {
                if let Some(d) = self.n2k.get_mut(&source) {
                    d.reset();
                }
            }
            Input::Decoded(u) => out.push(u),
            Input::Mesh { at, source, bytes, log } => {
                let boat = self.nav.position();
                self.mesh.stream(at, &source, &bytes, boat, log, out);
            }
            Input::Venus { at, topic, payload } => self.venus.message(at, &topic, &payload, out),
            Input::Mqtt { at, topic, payload } => {
                let boat = self.nav.position();
                if let Some(i) = self.json.iter().position(|(m, _)| m.owns(&topic)) {
                    let via = self.json[i].1.clone();
                    self.telemetry.frame(&via, at);
                    match self.json[i].0.adverts(&topic, &payload) {
                        Ok(found) => {
                            for (mac, data) in found {
                                self.advert(at, mac, &data, Some(Receiver { name: via.clone(), rssi: None }), out);
                            }
                        }
                        Err(kind) => {
                            self.telemetry.inc("halyard_decode_errors_total", &[("source", &via), ("kind", kind)])
                        }
                    }
                } else if let Some((mac, data)) = mqtt_in::proxied_advert(&topic, &payload) {
                    let via = Receiver { name: self.receivers.0.clone(), rssi: None };
                    self.advert(at, mac, &data, Some(via), out);
                } else if let Some(heard) = ble_gateway::heard(&topic, &payload) {
                    self.telemetry.frame("ble_gateway", at);
                    match heard {
                        ble_gateway::Heard::Victron { mac, data, rssi } => {
                            let via = Receiver { name: self.receivers.1.clone(), rssi };
                            self.advert(at, mac, &data, Some(via), out)
                        }
                        ble_gateway::Heard::Other => {}
                        ble_gateway::Heard::Bad(kind) => self
                            .telemetry
                            .inc("halyard_decode_errors_total", &[("source", "ble_gateway"), ("kind", kind)]),
                    }
                } else if !self.mesh.mqtt(at, &topic, &payload, boat, out) {
                    out.extend(self.mqtt_in.message(at, &topic, &payload));
                }
            }
        }
    }

    /// A Victron advert, unless another receiver's copy of it was decoded already (or the
    /// device's preferred receiver hears it).
    fn advert(&mut self, at: Millis, mac: [u8; 6], data: &[u8], via: Option<Receiver>, out: &mut Vec<Update>) {
        if let Some(via) = via {
            self.telemetry.heard_by(&crate::model::Identity::Mac(mac), &via.name, via.rssi);
            if self.dedupe.taken_elsewhere(at, mac, data, &via.name) {
                self.telemetry.inc("halyard_ble_duplicates_total", &[("source", &via.name)]);
                return;
            }
        }
        out.extend(self.ble.advert(at, mac, data));
    }
}

/// The demo's clock, once it plays its simulated day in real time (see [`simulate`]).
static SIMULATED: std::sync::OnceLock<crate::sim::devices::Clock> = std::sync::OnceLock::new();

/// Milliseconds since the epoch, now: the time sources stamp what they receive with. In
/// `halyard demo` it is the simulated boat's time, so what the demo records lands on the
/// simulated day in the store and on the dashboard, not on today's date squeezed into minutes.
pub fn now_ms() -> Millis {
    if let Some(clock) = SIMULATED.get() {
        // Not before the live day starts (its clock runs from a second ahead, so the sources
        // can open first).
        return clock.now().max(clock.t0);
    }
    crate::clock::now_ms()
}

/// Whether [`now_ms`] follows the demo's clock.
pub fn simulated() -> bool {
    SIMULATED.get().is_some()
}

/// From now on, [`now_ms`] follows `clock` (once per process: the demo's live day).
pub fn simulate(clock: crate::sim::devices::Clock) {
    let _ = SIMULATED.set(clock);
}
