//! Any bytes as NMEA 2000: as text capture lines (canboat RAW, Yacht Devices RAW), as an
//! Actisense NGT-1 stream, as a stream
//! of CAN frames through the fast-packet and ISO transport assembler (ids, lengths and times
//! from the bytes), and
//! every message that comes out through every field of its PGN's table.
#![no_main]
use halyard_proto::n2k::{actisense, pgn, raw, Assembler, Event};
use libfuzzer_sys::fuzz_target;

/// Every field of every table on `data`, whichever PGN it came as, and every repeating group
/// it holds.
fn decode(data: &[u8]) {
    for def in pgn::PGNS {
        for f in def.fields {
            let _ = pgn::field_value(data, f);
        }
    }
    for r in pgn::REPEATING {
        for g in 0..r.groups(data) {
            for f in r.fields {
                let _ = r.value(data, g, f);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines() {
            if let Ok(l) = raw::parse_canboat(line) {
                decode(l.data());
            }
            let _ = raw::parse_yd(line);
        }
    }
    // An Actisense NGT-1 stream.
    actisense::Framer::new().push_all(data, |m| {
        if let Some(r) = m.ok().and_then(|m| m.received()) {
            decode(r.data);
        }
    });
    // Frames: 4 bytes of id, 1 of length, 1 of time step, then the data.
    let mut a = Assembler::new();
    let mut at = 0u64;
    let mut rest = data;
    while rest.len() >= 6 {
        let id = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) & 0x3FFF_FFFF;
        let len = usize::from(rest[4] % 10).min(rest.len() - 6);
        at += u64::from(rest[5]) * 16;
        let frame = &rest[6..6 + len];
        a.frame(id, frame, at, |e| {
            if let Event::Message { data, .. } = e {
                decode(data);
            }
        });
        rest = &rest[6 + len..];
    }
});
