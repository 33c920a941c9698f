//! Any bytes as one HEX line; a valid frame must re-encode to a line that parses to itself.
#![no_main]
use halyard_proto::vedirect::hex::{Frame, Message, MAX_LINE};
use halyard_proto::vedirect::registers;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = Frame::parse(data) {
        let mut buf = [0u8; MAX_LINE];
        let n = frame.encode(&mut buf).expect("MAX_LINE fits every frame");
        assert_eq!(Frame::parse(&buf[..n]), Ok(frame));
        if let Ok(Message::Register { register, value, .. }) = frame.message() {
            let _ = registers::decode(register, value);
        }
    }
});
