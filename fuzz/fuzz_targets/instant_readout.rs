//! Any bytes as an Instant Readout advert, under a key taken from the input, and any payload
//! under any record type: a typed value or a typed error, never a panic.
#![no_main]
use halyard_proto::victron::instant_readout::{self, Record, RecordType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 17 {
        return;
    }
    let (key, rest) = data.split_at(16);
    let mut k = [0u8; 16];
    k.copy_from_slice(key);
    // Make the key check pass half of the time so decryption and field decoding run.
    if rest.len() > 8 && rest[0] & 1 == 0 {
        k[0] = rest.get(7).copied().unwrap_or(0);
    }
    if let Ok(r) = instant_readout::decode(rest, &k) {
        for f in r.fields() {
            let _ = f.value.as_f64();
        }
    }
    let r = Record::from_payload(0, RecordType::from(rest[0] & 0x0F), &rest[1..]);
    for f in r.fields() {
        let _ = f.value.as_f64();
    }
});
