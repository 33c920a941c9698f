//! Any bytes through the Meshtastic stream framer, every frame through the FromRadio and
//! ServiceEnvelope decoders and every packet through Halyard's reading of it; and the bytes as
//! firmware JSON.
#![no_main]
use halyard::mesh::{self, proto};
use halyard_proto::meshtastic::{Event, StreamFramer};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    StreamFramer::new().push_all(data, |e| {
        if let Event::Frame(p) = e {
            if let Ok(proto::FromRadio { variant: Some(proto::from_radio::Variant::Packet(p)) }) = proto::FromRadio::decode(p) {
                let _ = mesh::heard(&p);
            }
        }
    });
    if let Ok(env) = proto::ServiceEnvelope::decode(data) {
        if let Some(p) = env.packet {
            let _ = mesh::heard(&p);
        }
    }
    if let Ok(j) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = mesh::heard_json(&j);
    }
});
