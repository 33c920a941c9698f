//! Both VE.Smart networking vectors of `fixtures/venetworking/synthetic_vectors.json`, checked
//! field by field against the file's own expectations (nonce, tag, serial text, cleartext and
//! the register values it names).

use halyard_proto::vedirect::registers::{self, RegisterValue};
use halyard_proto::victron::smart_networking::{nonce, Event, Message, Network, Serial};
use serde_json::Value as Json;

fn bytes(hex: &str) -> Vec<u8> {
    let mut out = vec![0u8; hex.len() / 2];
    let n = halyard_proto::hex::decode_into(hex.as_bytes(), &mut out).unwrap();
    out.truncate(n);
    out
}

#[test]
fn shared_vectors() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/venetworking/synthetic_vectors.json"
    ))
    .unwrap();
    let v: Vec<Json> = serde_json::from_str(&text).unwrap();
    assert_eq!(v.len(), 2);
    let key: [u8; 16] = bytes(v[0]["key_hex"].as_str().unwrap()).try_into().unwrap();
    let id: [u8; 2] = bytes(v[0]["network_id_hex"].as_str().unwrap()).try_into().unwrap();
    let mut net = Network::new(key, id);

    // Op 0x01: the nonce we build equals the vector's, and the tag authenticates.
    let m1 = bytes(v[0]["manufacturer_data_hex_incl_company_id"].as_str().unwrap());
    let Ok(Message::Overflow { group_id, serial, sequence, overflow, tag }) = Message::parse(&m1) else { panic!() };
    assert_eq!(format!("0x{group_id:02X}"), v[0]["expected"]["group_id"].as_str().unwrap());
    assert_eq!(serial.to_text().as_str(), v[0]["expected"]["serial_str"].as_str().unwrap());
    assert_eq!(&sequence[..], &bytes(v[0]["expected"]["sequence_hex"].as_str().unwrap())[..]);
    assert_eq!(&overflow[..], &bytes(v[0]["expected"]["overflow_hex"].as_str().unwrap())[..]);
    assert_eq!(&tag[..], &bytes(v[0]["tag_hex"].as_str().unwrap())[..]);
    assert_eq!(&nonce(1, sequence, overflow, serial.0, id)[..], &bytes(v[0]["nonce_hex"].as_str().unwrap())[..]);
    assert!(matches!(net.handle(&m1), Ok(Event::OverflowAuthenticated { .. })));

    // Op 0x02: decrypts to the vector's cleartext; the registers mean what it says.
    let m2 = bytes(v[1]["manufacturer_data_hex_incl_company_id"].as_str().unwrap());
    let Ok(Message::Data { serial, sequence, .. }) = Message::parse(&m2) else { panic!() };
    let overflow: [u8; 2] = bytes(v[1]["overflow_from_previous_0x01_hex"].as_str().unwrap()).try_into().unwrap();
    assert_eq!(net.overflow_of(serial), Some(overflow));
    assert_eq!(&nonce(2, sequence, overflow, serial.0, id)[..], &bytes(v[1]["nonce_hex"].as_str().unwrap())[..]);
    let Ok(Event::Data { cleartext, .. }) = net.handle(&m2) else { panic!() };
    assert_eq!(cleartext.0, &bytes(v[1]["cleartext_hex"].as_str().unwrap())[..]);
    assert_eq!(cleartext.kind(), Some(0x0F));
    let recs: Vec<_> = cleartext.records().map(Result::unwrap).collect();
    assert_eq!(recs.len(), 2);
    match registers::decode(recs[0].register, recs[0].value) {
        RegisterValue::Field(f) => {
            assert_eq!((recs[0].register, f.name, f.value.as_f64()), (0x2027, "network_panel_power", Some(1234.56)))
        }
        other => panic!("{other:?}"),
    }
    match registers::decode(recs[1].register, recs[1].value) {
        RegisterValue::Field(f) => assert_eq!((recs[1].register, f.value.enum_name()), (0x200C, Some("float"))),
        other => panic!("{other:?}"),
    }
    assert_eq!(serial, Serial([0xec, 0x25, 0x9a, 0x99]));
}
