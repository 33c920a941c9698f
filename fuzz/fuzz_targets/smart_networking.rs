//! A stream of VE.Smart networking messages (length-prefixed chunks of the input) through one
//! `Network` state machine; decrypted records go through the register dictionary.
#![no_main]
use halyard_proto::vedirect::registers;
use halyard_proto::victron::smart_networking::{encode_overflow, Event, Network, Serial};
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

fuzz_target!(|data: &[u8]| {
    let mut net = Network::new(KEY, [0x01, 0x0A]);
    // Seed one authenticated device so data messages reach decryption.
    let _ = net.handle(&encode_overflow(&KEY, [0x01, 0x0A], Serial([1, 2, 3, 4]), [0; 4], [0; 2]));
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (msg, next) = tail.split_at(n);
        if let Ok(Event::Data { cleartext, .. }) = net.handle(msg) {
            for r in cleartext.records().flatten() {
                let _ = registers::decode(r.register, r.value);
            }
        }
        rest = next;
    }
});
