//! Decoder throughput (`cargo bench -p halyard-proto`). Figures are items per second for the
//! whole decode a gateway does per message: framing, decryption and every field.
//!
//! Reference (victron.md §2): the Python victron-ble 0.9.3 full decode runs at ~4,400
//! adverts/s/core on this machine kind.

use divan::counter::{BytesCount, ItemsCount};
use divan::{black_box, Bencher};
use halyard_proto::vedirect::hex::{Frame, Message};
use halyard_proto::vedirect::labels;
use halyard_proto::vedirect::registers;
use halyard_proto::vedirect::text::{Event, TextFramer};
use halyard_proto::victron::instant_readout;
use halyard_proto::victron::smart_networking::{encode_data, encode_overflow, Event as NetEvent, Network, Serial};

fn main() {
    divan::main();
}

fn hex(s: &str) -> Vec<u8> {
    let mut out = vec![0u8; s.len() / 2];
    let n = halyard_proto::hex::decode_into(s.as_bytes(), &mut out).unwrap();
    out.truncate(n);
    out
}

/// The real captures with keys (solar, shunt, Battery Sense, DC meter, Orion, Multi RS, SBP,
/// VE.Bus, AC charger) from the shared vectors.
fn adverts() -> Vec<([u8; 16], Vec<u8>)> {
    [
        ("adeccb947395801a4dd45a2eaa44bf17", "100242a0016207adceb37b605d7e0ee21b24df5c"),
        ("aff4d0995b7d1e176c0c33ecb9e70dcd", "100289a302b040af925d09a4d89aa0128bdef48c6298a9"),
        ("0da694539597f9cf6c613cde60d7bf05", "1000a4a3025f150d8dcbff517f30eb65e76b22a04ac4e1"),
        ("aff4d0995b7d1e176c0c33ecb9e70dcd", "100289a30d787fafde83ccec982199fd815286"),
        ("64ba49f1a8562e45197a8e1fe50d7658", "1000c0a304121d64ca8d442b90bbdf6a8cba"),
        ("346c410e8c824dd723c0f5b13b9eabc8", "100043a40bf4e434af0e46c3b8eb68e08e616993f70c"),
        ("fac570d66380b797a5b7543758be00e4", "1080b0a3093523fadedea38b1af8bcbde91ca8b6dbb60e"),
        ("da3f5fa2860cb1cf86ba7a6d1d16b9dd", "100380270c1252dad26f0b8eb39162074d140df410"),
        ("c129cf8f75c3fe5a1655b481e205fb7d", "100030a308f926c1b5170a0d2280335bf12d5ed083"),
    ]
    .iter()
    .map(|(k, a)| (hex(k).try_into().unwrap(), hex(a)))
    .collect()
}

/// Touch every field so the decode cannot be optimised away.
fn field_sum(r: &instant_readout::Record) -> f64 {
    r.fields().map(|f| f.value.as_f64().unwrap_or(0.0)).sum()
}

#[divan::bench]
fn instant_readout_decode(bencher: Bencher) {
    let ads = adverts();
    bencher.counter(ItemsCount::new(ads.len())).bench(|| {
        ads.iter().map(|(key, adv)| field_sum(&instant_readout::decode(black_box(adv), key).unwrap())).sum::<f64>()
    });
}

/// The gateway's path: one expanded key per device, kept across adverts.
#[divan::bench]
fn instant_readout_decode_cached_key(bencher: Bencher) {
    let ads: Vec<(instant_readout::Key, Vec<u8>)> =
        adverts().into_iter().map(|(k, a)| (instant_readout::Key::new(&k), a)).collect();
    bencher.counter(ItemsCount::new(ads.len())).bench(|| {
        ads.iter().map(|(key, adv)| field_sum(&instant_readout::decode_with(black_box(adv), key).unwrap())).sum::<f64>()
    });
}

#[divan::bench]
fn smart_networking_data(bencher: Bencher) {
    let key = [7u8; 16];
    let id = [1, 0x0A];
    let serial = Serial([0xec, 0x25, 0x9a, 0x99]);
    let body = hex("0f27200440e201000c200105bced0422090000");
    let mut msg = [0u8; 64];
    let n = encode_data(&mut msg, &key, id, serial, [9, 0, 0, 0], [3, 0], &body).unwrap();
    let mut net = Network::new(key, id);
    net.handle(&encode_overflow(&key, id, serial, [8, 0, 0, 0], [3, 0])).unwrap();
    bencher.counter(ItemsCount::new(1usize)).bench_local(|| {
        let mut sum = 0.0;
        if let Ok(NetEvent::Data { cleartext, .. }) = net.handle(black_box(&msg[..n])) {
            for r in cleartext.records().flatten() {
                if let registers::RegisterValue::Field(f) = registers::decode(r.register, r.value) {
                    sum += f.value.as_f64().unwrap_or(0.0);
                }
            }
        }
        sum
    });
}

fn dump() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/vedirect/karioja_bluesolar_1.23.dump")).unwrap()
}

/// 248 text blocks and 7 HEX lines of a real BlueSolar 75/15, every field decoded.
#[divan::bench]
fn vedirect_text_blocks(bencher: Bencher) {
    let data = dump();
    bencher.counter(ItemsCount::new(248usize)).bench_local(|| {
        let mut f = TextFramer::new();
        let mut n = 0usize;
        f.push_all(black_box(&data), |e| {
            if let Event::Block { block, .. } = e {
                for t in block.fields() {
                    if let Some(Ok(_)) = labels::decode(t.label, t.value) {
                        n += 1;
                    }
                }
            }
        });
        n
    });
}

#[divan::bench]
fn vedirect_text_bytes(bencher: Bencher) {
    let data = dump();
    bencher.counter(BytesCount::new(data.len())).bench_local(|| {
        let mut f = TextFramer::new();
        let mut n = 0usize;
        f.push_all(black_box(&data), |_| n += 1);
        n
    });
}

#[divan::bench]
fn vedirect_hex_lines(bencher: Bencher) {
    let lines: Vec<&[u8]> = vec![
        b":ABCED002209000077\n",
        b":AD5ED0009057B\n",
        b":ABBED00081C7F\n",
        b":ABDED0002009F\n",
        b":A0102000543\n",
        b":7F0ED009600DB\n",
    ];
    bencher.counter(ItemsCount::new(lines.len())).bench(|| {
        let mut sum = 0.0;
        for l in &lines {
            let frame = Frame::parse(black_box(l)).unwrap();
            if let Ok(Message::Register { register, value, .. }) = frame.message() {
                if let registers::RegisterValue::Field(f) = registers::decode(register, value) {
                    sum += f.value.as_f64().unwrap_or(0.0);
                }
            }
        }
        sum
    });
}
