//! The pipeline without I/O: capture → decoder → model → MQTT messages (raw, named, state,
//! discovery), the work `halyard run` does per input. `cargo bench -p halyard --bench pipeline`.

use std::sync::Arc;

use divan::{black_box, Bencher};
use halyard::config;
use halyard::ingest::masterbus::MasterBusDecoder;
use halyard::ingest::vedirect::VeDirectDecoder;
use halyard::model::{Model, Registry, Update};
use halyard::sinks::mqtt::{discovery, topics};
use halyard::telemetry::Telemetry;

fn main() {
    divan::main();
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../halyard-proto/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Model and formatting for a list of updates; returns the number of messages.
fn publish(updates: Vec<Update>) -> usize {
    let settings = config::Mqtt::default();
    let mut model = Model::new(Registry::default(), &config::ModelSettings::default());
    let mut n = 0;
    for u in updates {
        for change in model.apply(u) {
            n += discovery::messages(&change, &settings).len();
            n += topics::messages(&change, &settings).len();
        }
    }
    n
}

/// 20,035 MasterBus frames of a shunt polled by a MasterView (volts_amps_only.pcap).
#[divan::bench(sample_count = 20)]
fn masterbus_capture_to_messages(b: Bencher) {
    let bytes = fixture("masterbus/volts_amps_only.pcap");
    b.bench(|| {
        let mut d = MasterBusDecoder::new("bench", Arc::new(Telemetry::default()));
        let mut updates = Vec::new();
        for r in halyard::sources::can::file::stream(&bytes[..]).unwrap() {
            let r = r.unwrap();
            if let (_, Some(u)) = d.frame(r.timestamp_ns, &r.received) {
                updates.push(u);
            }
        }
        black_box(publish(updates))
    });
}

/// 79 KB of a real SmartSolar's VE.Direct output (karioja_smartsolar_1.39.dump).
#[divan::bench(sample_count = 20)]
fn vedirect_dump_to_messages(b: Bencher) {
    let bytes = fixture("vedirect/karioja_smartsolar_1.39.dump");
    b.bench(|| {
        let mut d = VeDirectDecoder::new("bench", Arc::new(Telemetry::default()));
        let mut updates = Vec::new();
        // Stamped one second apart per 600 bytes (about one block), as the port delivers them.
        for (i, chunk) in bytes.chunks(600).enumerate() {
            d.feed(i as i64 * 1000, chunk, &mut updates);
        }
        black_box(publish(updates))
    });
}
