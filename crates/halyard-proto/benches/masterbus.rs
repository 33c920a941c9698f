//! MasterBus capture decoding throughput (`cargo bench -p halyard-proto --features alloc --bench masterbus`).
//!
//! Reference (issue 3): tshark 4.0.17 with the original Lua dissector takes 0.9–1.8 s for the
//! 20,035 frames of volts_amps_only.pcap on this machine kind (11,000–22,000 frames/s).

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use halyard_proto::can::capture::Capture;
use halyard_proto::can::{candump, Received};
use halyard_proto::masterbus::bus::Bus;
use halyard_proto::masterbus::decode_frame;

fn main() {
    divan::main();
}

const FRAMES: usize = 20_035;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/masterbus/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// pcapng walk + CAN frame + MasterBus classification.
#[divan::bench]
fn pcapng_classify(bencher: Bencher) {
    let bytes = fixture("volts_amps_only.pcap");
    bencher.counter(ItemsCount::new(FRAMES)).bench(|| {
        let mut n = 0;
        for p in Capture::new(black_box(&bytes)).unwrap().flatten() {
            if let Received::Frame(f) = p.received {
                n += usize::from(decode_frame(&f).is_ok());
            }
        }
        n
    });
}

/// The whole passive pipeline: classification plus the learning listener naming every value.
#[divan::bench]
fn pcapng_listener(bencher: Bencher) {
    let bytes = fixture("volts_amps_only.pcap");
    bencher.counter(ItemsCount::new(FRAMES)).bench(|| {
        let mut bus = Bus::new();
        let mut readings = 0;
        for p in Capture::new(black_box(&bytes)).unwrap().flatten() {
            if let Received::Frame(f) = p.received {
                if let Ok((id, m)) = decode_frame(&f) {
                    readings += usize::from(bus.handle(p.timestamp_ns.unwrap_or(0), id, &m).is_some());
                }
            }
        }
        readings
    });
}

/// can-utils log lines + classification.
#[divan::bench]
fn candump_classify(bencher: Bencher) {
    let text = String::from_utf8(fixture("volts_amps_only.candump.log")).unwrap();
    bencher.counter(ItemsCount::new(FRAMES)).bench(|| {
        let mut n = 0;
        for line in black_box(&text).lines() {
            if let Ok(Some(l)) = candump::parse_line(line) {
                if let Received::Frame(f) = l.received {
                    n += usize::from(decode_frame(&f).is_ok());
                }
            }
        }
        n
    });
}
