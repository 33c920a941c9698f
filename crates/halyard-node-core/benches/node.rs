//! What the node spends per input on the host (the ESP32-C3 at 160 MHz is some 20–40× slower):
//! an Instant Readout advert to its topics, a MasterBus frame, a VE.Direct block, and one MQTT
//! message through the session.

use halyard_node_core::mqtt::{Options, Session};
use halyard_node_core::topics::{Schema, VeDirectPort};
use halyard_proto::victron::instant_readout::Key;

fn main() {
    divan::main();
}

/// The README's real BlueSolar MPPT advert and its key.
const ADVERT: &str = "100242a0016207adceb37b605d7e0ee21b24df5c";
const KEY: &str = "adeccb947395801a4dd45a2eaa44bf17";

fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

#[divan::bench]
fn instant_readout_advert(b: divan::Bencher) {
    let data = bytes(ADVERT);
    let key = Key::new(&bytes(KEY).try_into().unwrap());
    let mut schema = Schema::new("halyard");
    b.bench_local(|| {
        schema.refresh(); // every value counts as changed: the worst case
        schema.instant_readout([0xC0, 0x3B, 1, 2, 3, 4], divan::black_box(&data), Some(&key)).unwrap().len()
    });
}

#[divan::bench]
fn vedirect_block(b: divan::Bencher) {
    let fields = [
        ("PID", "0xA060"),
        ("FW", "161"),
        ("SER#", "HQ2232PORT1"),
        ("V", "13310"),
        ("I", "4200"),
        ("VPV", "35120"),
        ("PPV", "60"),
        ("CS", "3"),
        ("MPPT", "2"),
        ("OR", "0x00000000"),
        ("ERR", "0"),
        ("LOAD", "ON"),
        ("H19", "1234"),
        ("H20", "42"),
        ("H21", "212"),
        ("H22", "51"),
        ("H23", "230"),
        ("HSDS", "12"),
    ];
    let mut buf = [0u8; 1024];
    let n = halyard_proto::vedirect::text::encode_block(&fields, &mut buf).unwrap();
    let block = buf[..n].to_vec();
    let mut schema = Schema::new("halyard");
    let mut port = VeDirectPort::default();
    b.bench_local(|| {
        schema.refresh();
        schema.vedirect(&mut port, divan::black_box(&block)).len()
    });
}

#[divan::bench]
fn mqtt_publish(b: divan::Bencher) {
    let mut s = Session::new(Options {
        client_id: "b".into(),
        root: "halyard".into(),
        keep_alive_s: 30,
        credentials: None,
        subscriptions: vec![],
    });
    s.connect(0);
    let mut events = Vec::new();
    s.receive(&[0x20, 2, 0, 0], 0, &mut events);
    b.bench_local(|| {
        s.publish("halyard/port-arch/battery_voltage", b"13.31", 0, true, 1).unwrap();
        s.take_output().len()
    });
}
