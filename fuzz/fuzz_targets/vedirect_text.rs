//! Any serial bytes through the VE.Direct text framer, with every field through the label
//! dictionary and every HEX line through the message and register decoders.
#![no_main]
use halyard_proto::vedirect::hex::Message;
use halyard_proto::vedirect::text::{Event, TextFramer};
use halyard_proto::vedirect::{labels, registers};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut f = TextFramer::new();
    f.push_all(data, |e| match e {
        Event::Block { block, .. } => {
            for t in block.fields() {
                let _ = labels::decode(t.label, t.value);
            }
        }
        Event::Hex(Ok(frame)) => {
            if let Ok(Message::Register { register, value, .. }) = frame.message() {
                let _ = registers::decode(register, value);
            }
        }
        _ => {}
    });
});
