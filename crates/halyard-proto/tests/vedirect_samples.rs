//! Every VE.Direct sample in `fixtures/vedirect` (real captures; see PROVENANCE.md).
//!
//! Block counts were cross-checked with an independent reading of the checksum rule (a short
//! Python script following shared/data/vedirect/README.md). One difference from that README:
//! it counts the first block of `karioja_bluesolar_1.23.dump` as a fragment because the file
//! starts with the previous block's checksum byte; the block itself is complete from its `\r\n`
//! and its checksum holds, so it is decoded.

use std::collections::BTreeMap;

use halyard_proto::vedirect::hex::{Frame, Message};
use halyard_proto::vedirect::labels;
use halyard_proto::vedirect::registers::{self, RegisterValue};
use halyard_proto::vedirect::text::{BlockStatus, Event, TextFramer};
use halyard_proto::Value;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/vedirect/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[derive(Debug, Default)]
struct Decoded {
    statuses: Vec<BlockStatus>,
    /// Fields of valid blocks only, as (name → value as f64 or text).
    blocks: Vec<BTreeMap<String, String>>,
    hex_valid: Vec<Frame>,
    hex_invalid: usize,
}

fn decode(bytes: &[u8]) -> Decoded {
    let mut d = Decoded::default();
    let mut f = TextFramer::new();
    f.push_all(bytes, |e| match e {
        Event::Block { block, status } => {
            d.statuses.push(status);
            if status == BlockStatus::Valid {
                let mut m = BTreeMap::new();
                for t in block.fields() {
                    let field = labels::decode(t.label, t.value).expect("known label").expect("well-formed");
                    let text = match field.value {
                        Value::Text(s) => s.to_string(),
                        Value::NotAvailable => "null".into(),
                        v => v.as_f64().unwrap().to_string(),
                    };
                    m.insert(field.name.to_string(), text);
                }
                d.blocks.push(m);
            }
        }
        Event::Hex(Ok(frame)) => d.hex_valid.push(frame),
        Event::Hex(Err(_)) => d.hex_invalid += 1,
        Event::BlockTooLong => panic!("block too long"),
    });
    d
}

fn count(d: &Decoded) -> (usize, usize, usize) {
    let valid = d.statuses.iter().filter(|s| **s == BlockStatus::Valid).count();
    let partial = d.statuses.iter().filter(|s| **s == BlockStatus::Partial).count();
    (valid, partial, d.statuses.len() - valid - partial)
}

fn get<'a>(b: &'a BTreeMap<String, String>, k: &str) -> &'a str {
    b.get(k).unwrap_or_else(|| panic!("{k} missing in {b:?}"))
}

fn register_value(frame: &Frame) -> (u16, RegisterValue<'_>) {
    match frame.message().unwrap() {
        Message::Register { register, value, .. } => (register, registers::decode(register, value)),
        other => panic!("{other:?}"),
    }
}

fn field_f64(v: &RegisterValue<'_>) -> Option<f64> {
    match v {
        RegisterValue::Field(f) => f.value.as_f64(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bluesolar_75_15() {
    let d = decode(&fixture("karioja_bluesolar_1.23.dump"));
    assert_eq!(count(&d), (248, 0, 0));
    assert_eq!((d.hex_valid.len(), d.hex_invalid), (7, 0));
    // The first full block (the file starts at its previous block's checksum byte).
    let b = &d.blocks[0];
    assert_eq!(get(b, "product_id"), (0xA042).to_string());
    assert_eq!(get(b, "serial_number"), "HQ1411MYIKN");
    assert_eq!(get(b, "battery_voltage"), "12.53");
    assert_eq!(get(b, "panel_voltage"), "33.58");
    // The README's "first valid block" is our second.
    let b = &d.blocks[1];
    assert_eq!((get(b, "battery_current"), get(b, "panel_voltage"), get(b, "panel_power")), ("0.64", "31.39", "8"));
    assert_eq!((get(b, "device_state"), get(b, "load_output"), get(b, "load_current")), ("3", "1", "0"));
    assert_eq!((get(b, "user_yield"), get(b, "max_power_today"), get(b, "yield_yesterday")), ("82.72", "11", "0.25"));
    assert_eq!((get(b, "max_power_yesterday"), get(b, "day_sequence")), ("119", "274"));
    // The async history line agrees with the text block: Pmax 11 W = H21, day 274 = HSDS.
    let (reg, value) = register_value(&d.hex_valid[0]);
    assert_eq!(reg, 0x1050);
    match value {
        RegisterValue::HistoryDay { days_ago: 0, day } => {
            assert_eq!((day.max_power, day.day_sequence, day.bulk_minutes), (Some(11), Some(274), Some(194)));
            assert_eq!((day.battery_voltage_max, day.battery_voltage_min), (Some(1261), Some(1222)));
            assert_eq!((day.max_battery_current, day.panel_voltage_max), (Some(9), Some(3528)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn smartsolar_100_20() {
    let d = decode(&fixture("karioja_smartsolar_1.39.dump"));
    assert_eq!(count(&d), (493, 1, 0));
    assert_eq!((d.hex_valid.len(), d.hex_invalid), (2, 0));
    let b = &d.blocks[0];
    assert_eq!(get(b, "product_id"), (0xA05F).to_string());
    assert_eq!(
        (get(b, "battery_voltage"), get(b, "battery_current"), get(b, "panel_voltage")),
        ("12.81", "-0.01", "0.01")
    );
    assert_eq!((get(b, "device_state"), get(b, "tracker_mode")), ("0", "0"));
    let totals: Vec<_> = d.hex_valid.iter().map(register_value).filter(|(r, _)| *r == 0x104F).collect();
    match &totals[0].1 {
        RegisterValue::HistoryTotal(t) => {
            assert_eq!((t.version, t.user_yield_centi_kwh, t.system_yield_centi_kwh), (1, Some(0), Some(0)));
            assert_eq!((t.panel_voltage_max, t.battery_voltage_max, t.days_available), (Some(1), Some(1293), Some(0)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bmv_700_two_block_cycle() {
    let d = decode(&fixture("karioja_bvm702.dump"));
    assert_eq!(count(&d), (906, 0, 0));
    let main = &d.blocks[0];
    assert_eq!(
        (get(main, "battery_voltage"), get(main, "battery_current"), get(main, "battery_power")),
        ("12.065", "-7.625", "-92")
    );
    assert_eq!((get(main, "consumed_ah"), get(main, "soc"), get(main, "remaining_mins")), ("-65.473", "83.9", "942"));
    assert_eq!(
        (get(main, "model_description"), get(main, "firmware"), get(main, "alarm_reason")),
        ("700", "0308", "0")
    );
    let history = &d.blocks[1];
    assert_eq!((get(history, "deepest_discharge"), get(history, "last_discharge")), ("-149.322", "-82.854"));
    assert_eq!((get(history, "cumulative_ah_drawn"), get(history, "min_battery_voltage")), ("-5526.294", "11.733"));
    assert_eq!((get(history, "max_battery_voltage"), get(history, "seconds_since_full")), ("16.161", "368003"));
    assert_eq!(
        (get(history, "automatic_syncs"), get(history, "discharged_energy"), get(history, "charged_energy")),
        ("26", "68.43", "85.27")
    );
}

#[test]
fn bmv_712_partial_start() {
    let d = decode(&fixture("dbr_vedirect-rs_bmv712_stream.bin"));
    assert_eq!(count(&d), (2, 1, 0));
    let b = &d.blocks[0];
    assert_eq!(
        (get(b, "battery_voltage"), get(b, "starter_voltage"), get(b, "battery_current")),
        ("12.282", "0.029", "-2.288")
    );
    assert_eq!((get(b, "consumed_ah"), get(b, "soc"), get(b, "remaining_mins")), ("-74.9", "91.6", "10350"));
    let h = &d.blocks[1];
    assert_eq!(
        (get(h, "deepest_discharge"), get(h, "cumulative_ah_drawn"), get(h, "seconds_since_full")),
        ("-76.138", "-1876.218", "1199744")
    );
    assert_eq!((get(h, "min_aux_voltage"), get(h, "max_aux_voltage")), ("0.02", "21.033"));
    assert_eq!((get(h, "discharged_energy"), get(h, "charged_energy")), ("24.04", "24.15"));
}

#[test]
fn mppt_text_then_hex() {
    let d = decode(&fixture("koestler_go-victron_mppt_a056_text_then_hex.bin"));
    assert_eq!(count(&d), (1, 0, 0));
    let b = &d.blocks[0];
    assert_eq!((get(b, "battery_voltage"), get(b, "off_reason"), get(b, "user_yield")), ("11.88", "1", "48.03"));
    assert_eq!(get(b, "day_sequence"), "280");
    let (reg, v) = register_value(&d.hex_valid[0]);
    assert_eq!((reg, field_f64(&v)), (0xEDD0, Some(0.0)));
}

/// Negative test: an upstream-edited stream whose text checksums are a `?` placeholder. Both
/// blocks are reported as failing (the first as `Partial`: a reader cannot tell it from a
/// mid-block start) and none of their fields is accepted; the HEX lines in between decode.
#[test]
fn placeholder_checksums_fail_and_hex_still_decodes() {
    let d = decode(&fixture("okm165_ve_direct_mppt_a053_with_async_hex.bin"));
    assert_eq!(d.statuses.len(), 2);
    assert_eq!(count(&d), (0, 1, 1));
    assert!(d.blocks.is_empty());
    assert_eq!((d.hex_valid.len(), d.hex_invalid), (7, 0));
    let values: BTreeMap<u16, RegisterValue<'_>> = d.hex_valid.iter().map(register_value).collect();
    assert_eq!(field_f64(&values[&0xED8D]), Some(50.19));
    assert_eq!(field_f64(&values[&0xED8F]), Some(4.7));
    assert_eq!(field_f64(&values[&0xEDEC]), Some(20.75));
    assert_eq!(field_f64(&values[&0xEDDB]), Some(41.0));
    assert_eq!(field_f64(&values[&0x2003]), Some(20.76));
    match &values[&0x1050] {
        RegisterValue::HistoryDay { day, .. } => {
            assert_eq!((day.yield_centi_kwh, day.consumed_centi_kwh, day.day_sequence), (Some(2), Some(4), Some(19)));
        }
        other => panic!("{other:?}"),
    }
}

/// Negative test: a BMV block with a truncated HEX fragment inside. The fragment fails; the
/// block, without it, is valid.
#[test]
fn truncated_hex_fragment() {
    let d = decode(&fixture("okm165_ve_direct_bmv700_with_hex_fragment.bin"));
    assert_eq!(count(&d), (1, 0, 0));
    assert_eq!((d.hex_valid.len(), d.hex_invalid), (0, 1));
    assert_eq!(get(&d.blocks[0], "battery_voltage"), "26.201");
    assert_eq!(get(&d.blocks[0], "remaining_mins"), "null");
}

#[test]
fn smartsolar_150_60_hex_lines() {
    let d = decode(&fixture("pmarches_vedirect-hex-parser_smartsolar_150-60_hex_lines.txt"));
    assert_eq!((d.hex_valid.len(), d.hex_invalid), (20, 0));
    let regs: Vec<_> = d
        .hex_valid
        .iter()
        .filter_map(|f| match f.message().unwrap() {
            Message::Register { register, value, flags: 0, .. } => Some((register, registers::decode(register, value))),
            _ => None,
        })
        .collect();
    let find = |id: u16| regs.iter().find(|(r, _)| *r == id).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(
        find(0x010A),
        RegisterValue::Field(halyard_proto::Field {
            name: "serial_number",
            unit: halyard_proto::Unit::None,
            value: Value::Text("HQ1840MAEI4")
        })
    );
    assert_eq!(field_f64(&find(0x0100)), Some(f64::from(0xA062u16)));
    assert_eq!(field_f64(&find(0xEDBC)), Some(23.38));
    assert_eq!(field_f64(&find(0xEDD5)), Some(12.89));
    assert_eq!(field_f64(&find(0xEDBB)), Some(71.76));
    assert_eq!(field_f64(&find(0xEDBD)), Some(0.2));
    match find(0x0201) {
        RegisterValue::Field(f) => assert_eq!(f.value.enum_name(), Some("float")),
        other => panic!("{other:?}"),
    }
    match find(0x1050) {
        RegisterValue::HistoryDay { day, .. } => {
            assert_eq!((day.yield_centi_kwh, day.consumed_centi_kwh), (Some(127), None));
            assert_eq!(
                (day.bulk_minutes, day.absorption_minutes, day.float_minutes),
                (Some(163), Some(387), Some(119))
            );
            assert_eq!(
                (day.max_power, day.max_battery_current, day.panel_voltage_max, day.day_sequence),
                (Some(372), Some(256), Some(4392), Some(247))
            );
        }
        other => panic!("{other:?}"),
    }
}

/// go-victron's request → response pairs: each request and response parses and means what the
/// session's third column says.
#[test]
fn hex_session_pairs() {
    let text = String::from_utf8(fixture("koestler_go-victron_mppt_a056_hex_session.txt")).unwrap();
    let mut pairs = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let request = Frame::parse(cols[0].as_bytes()).unwrap();
        let response = cols[1].rsplit('>').next().unwrap();
        let response = Frame::parse(response.as_bytes()).unwrap();
        match (request.message().unwrap(), response.message().unwrap()) {
            (Message::Ping, Message::PingResponse(v)) => assert_eq!(v, 0x4116),
            (Message::ProductIdRequest, Message::Done(v)) => assert_eq!(v, [0x56, 0xA0]),
            (Message::GetRequest { register }, Message::Register { register: r, flags, value, .. }) => {
                assert_eq!(register, r);
                match (register, flags) {
                    (0x7777, 1) => {}
                    (0xEDF0, 0) => assert_eq!(field_f64(&registers::decode(r, value)), Some(15.0)),
                    (0x0100, 0) => assert_eq!(field_f64(&registers::decode(r, value)), Some(f64::from(0xA056u16))),
                    (0xEDF2, 0) => assert_eq!(field_f64(&registers::decode(r, value)), Some(-16.2)),
                    (0xEDD0, 0) => assert_eq!(field_f64(&registers::decode(r, value)), Some(0.0)),
                    (0x010B, 0) => match registers::decode(r, value) {
                        RegisterValue::Field(f) => assert_eq!(f.value, Value::Text("SmartSolar Charger MPPT 100/30")),
                        other => panic!("{other:?}"),
                    },
                    other => panic!("unexpected {other:?}"),
                }
            }
            other => panic!("unexpected pair {other:?}"),
        }
        pairs += 1;
    }
    assert_eq!(pairs, 8);
}
