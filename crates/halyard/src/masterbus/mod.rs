//! MasterBus in the daemon: the passive listener with its counters, JSON output, the live
//! command and the opt-in active client.

pub mod json;
pub mod listen;

use halyard_proto::can::Received;
use halyard_proto::masterbus::bus::{Bus, Observation};
use halyard_proto::masterbus::{decode_frame, BusId, FrameError, Message};

use crate::sources::can::file::{self, RecordError};

/// Counters of everything that went past, for `--all` summaries and (later) metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// CAN frames seen (data and error frames).
    pub frames: u64,
    /// Frames classified as MasterBus messages.
    pub classified: u64,
    /// Value replies turned into readings.
    pub readings: u64,
    /// Controller error frames.
    pub error_frames: u64,
    /// Frames that are not MasterBus (11-bit ids, remote frames, impossible lengths).
    pub unclassified: u64,
    /// Records a capture reader or transport could not use.
    pub bad_records: u64,
}

/// What one CAN frame amounted to.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A MasterBus message, and what the listener learned from it.
    Message {
        /// Its id.
        id: BusId,
        /// The message.
        message: Message,
        /// A reading, a new device, a write …
        observation: Option<Observation>,
    },
    /// A controller error frame.
    ErrorFrame(halyard_proto::can::ErrorFrame),
    /// Not a MasterBus message.
    Unclassified {
        /// The frame.
        frame: halyard_proto::can::Frame,
        /// Why.
        error: FrameError,
    },
}

/// Feed a capture (pcapng, pcap or candump log, read as a stream) through `listener`. Each frame
/// goes to `on_frame`; each record the reader could not use is counted in `bad_records` and goes
/// to `on_bad`. Fails only when the input is not a capture at all or a callback fails.
pub fn replay(
    input: impl std::io::Read,
    listener: &mut Listener,
    mut on_frame: impl FnMut(u64, &Decoded) -> anyhow::Result<()>,
    mut on_bad: impl FnMut(&RecordError) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    for record in file::stream(input)? {
        match record {
            Ok(r) => {
                let decoded = listener.handle(r.timestamp_ns, &r.received);
                on_frame(r.timestamp_ns, &decoded)?;
            }
            Err(e) => {
                listener.counters.bad_records += 1;
                on_bad(&e)?;
            }
        }
    }
    Ok(())
}

/// The passive listener plus its counters.
#[derive(Debug, Default)]
pub struct Listener {
    /// What has been learned about the devices.
    pub bus: Bus,
    /// Counters.
    pub counters: Counters,
}

impl Listener {
    /// Take in one frame.
    pub fn handle(&mut self, timestamp_ns: u64, received: &Received) -> Decoded {
        self.counters.frames += 1;
        match received {
            Received::Error(e) => {
                self.counters.error_frames += 1;
                Decoded::ErrorFrame(*e)
            }
            Received::Frame(frame) => match decode_frame(frame) {
                Ok((id, message)) => {
                    self.counters.classified += 1;
                    let observation = self.bus.handle(timestamp_ns, id, &message);
                    if matches!(observation, Some(Observation::Reading(_))) {
                        self.counters.readings += 1;
                    }
                    Decoded::Message { id, message, observation }
                }
                Err(error) => {
                    self.counters.unclassified += 1;
                    Decoded::Unclassified { frame: *frame, error }
                }
            },
        }
    }
}
