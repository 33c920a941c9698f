//! MasterBus: any 29-bit id and payload classify without panicking, and the passive listener and
//! the active client's planner accept whatever they are fed.
#![no_main]

use halyard_proto::masterbus::bus::Bus;
use halyard_proto::masterbus::client::{Client, Config};
use halyard_proto::masterbus::{decode, BusId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut bus = Bus::new();
    let mut client = Client::new(Config::new(1));
    let mut now = 0u64;
    for chunk in data.chunks(12) {
        if chunk.len() < 4 {
            break;
        }
        let raw = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) & 0x1FFF_FFFF;
        let id = BusId::new(raw).unwrap();
        let payload = &chunk[4..];
        if let Ok(message) = decode(id, payload) {
            let _ = bus.handle(now, id, &message);
            client.handle(id, &message);
        }
        now += 1_000_000;
        let _ = client.next_frame(now, &bus);
    }
});
