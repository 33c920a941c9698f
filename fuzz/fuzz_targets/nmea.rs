//! Any bytes through the NMEA line framer, every line through the parser, every XDR through
//! its measurements and every AIS payload through the position decoder.
#![no_main]
use halyard_proto::nmea::{self, ais, LineFramer, Sentence};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut f = LineFramer::new();
    f.push_all(data, |line| {
        if let Ok(p) = line.and_then(nmea::parse) {
            match p.sentence {
                Sentence::Xdr(x) => x.measurements().for_each(drop),
                Sentence::Vdm(v) => {
                    let _ = ais::position_report(v.payload);
                }
                _ => {}
            }
        }
    });
    let _ = nmea::parse(data);
});
