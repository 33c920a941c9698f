//! CAN framings: pcapng/pcap, candump lines, SLCAN and ECAN streams never panic on any input.
#![no_main]

use halyard_proto::can::{candump, capture::Capture, ecan, slcan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(capture) = Capture::new(data) {
        for _ in capture {}
    }
    if let Ok(text) = core::str::from_utf8(data) {
        for line in text.lines() {
            let _ = candump::parse_line(line);
        }
    }
    let mut s = slcan::Decoder::new();
    for &b in data {
        let _ = s.push(b);
    }
    let mut e = ecan::Decoder::new();
    let mut rest = data;
    while !rest.is_empty() {
        let (n, _) = e.feed(rest);
        rest = &rest[n..];
    }
});
