//! Properties of everything the node reads from outside: no input panics, encoders and decoders
//! agree, and what must be refused is refused.

use halyard_node_core::config::{self, Config};
use halyard_node_core::improv::{Piece, Splitter};
use halyard_node_core::mqtt::codec::{self, Incoming, Message};
use halyard_node_core::{dnssd, hci, sntp};
use proptest::prelude::*;

proptest! {
    #[test]
    fn any_bytes_from_a_broker(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        // Decoding never panics and never claims more bytes than it was given.
        let mut rest = bytes.as_slice();
        while let Ok(Some((_, used))) = codec::decode(rest) {
            prop_assert!(used > 0 && used <= rest.len());
            rest = &rest[used..];
        }
    }

    #[test]
    fn publish_round_trips(topic in "[a-z0-9/_-]{1,60}", payload in proptest::collection::vec(any::<u8>(), 0..3000), qos in 0u8..2, retain: bool, id in 1u16..) {
        let mut out = Vec::new();
        codec::publish(&mut out, &topic, &payload, qos, retain, false, id);
        let (p, used) = codec::decode(&out).unwrap().unwrap();
        prop_assert_eq!(used, out.len());
        prop_assert_eq!(p, Incoming::Publish(Message { topic, payload, qos, retain, id: (qos > 0).then_some(id) }));
    }

    #[test]
    fn any_serial_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600), improv in any::<bool>()) {
        // The Improv splitter never panics; text without an `IMPROV` in it reaches the console
        // unchanged, byte for byte.
        let mut bytes = bytes;
        if improv {
            bytes.splice(0..0, b"IMPROV\x01\x03".iter().copied());
        }
        let mut s = Splitter::default();
        let mut text = Vec::new();
        for b in &bytes {
            s.push(*b, &mut |p| if let Piece::Text(t) = p { text.push(t) });
        }
        if !bytes.windows(6).any(|w| w == b"IMPROV") {
            prop_assert_eq!(text, bytes);
        }
    }

    #[test]
    fn any_controller_packet(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = hci::parse(&bytes);
    }

    #[test]
    fn any_dns_answer(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = dnssd::parse(&bytes);
        let _ = sntp::unix_ms(&bytes);
    }

    /// A configuration error names a line that exists; a good one survives the flash record.
    #[test]
    fn configuration_text(lines in proptest::collection::vec("[a-z_.0-9]{0,12} ?=? ?[ -~]{0,20}", 0..8)) {
        let text = lines.join("\n");
        match Config::parse(&text) {
            Ok(c) => prop_assert_eq!(config::from_flash(&config::to_flash(&c)), Some(c)),
            Err(e) => prop_assert!(e.line >= 1 && e.line <= lines.len(), "{e}"),
        }
    }

    /// Any changed byte of a flash record is noticed.
    #[test]
    fn a_changed_flash_byte_is_refused(at in 0usize..200, flip in 1u8..) {
        let c = Config::parse("wifi_ssid = Lille Oe\nled = on\nname.c03b010203ff = port-mppt\n").unwrap();
        let mut bytes = config::to_flash(&c);
        let at = at % bytes.len();
        bytes[at] ^= flip;
        prop_assert_ne!(config::from_flash(&bytes), Some(c));
    }
}
