//! Property tests of the gateway's own decoders and state: arbitrary input never panics, and
//! what is written reads back.

use std::sync::Arc;

use halyard::ingest::mqtt_in::MqttInDecoder;
use halyard::ingest::recording;
use halyard::ingest::vedirect::VeDirectDecoder;
use halyard::model::{Identity, Metric, Model, Reading, Registry, Update};
use halyard::sinks::outbox::{Message, Outbox};
use halyard::telemetry::Telemetry;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn recording_lines_never_panic(line in ".{0,200}") {
        let _ = recording::parse_line(&line);
    }

    #[test]
    fn recording_ble_lines_parse_what_was_written(ms in 0i64..4_000_000_000_000, mac in any::<[u8; 6]>(), data in proptest::collection::vec(any::<u8>(), 1..40)) {
        let line = format!(
            "{}.{:03} ble {} {}",
            ms / 1000,
            ms % 1000,
            Identity::Mac(mac),
            data.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let parsed = recording::parse_line(&line).unwrap().unwrap();
        prop_assert_eq!(parsed, recording::Record::Ble { at: ms, mac, data });
    }

    #[test]
    fn mqtt_in_never_panics(topic in "[a-zA-Z0-9/#+_]{0,40}", payload in proptest::collection::vec(any::<u8>(), 0..40)) {
        let mut d = MqttInDecoder::new(Arc::new(Telemetry::default()));
        let _ = d.message(0, &topic, &payload);
    }

    #[test]
    fn mqtt_in_registers_read_back(raw in 0u32..=0xFFFF) {
        // Panel power, un32 0.01 W (victron.md §3.3): any raw value reads back as raw / 100.
        let mut d = MqttInDecoder::new(Arc::new(Telemetry::default()));
        let u = d.message(0, "venetworking/HQyywwMAEI4/EDBC", raw.to_string().as_bytes()).unwrap();
        let v = u.metrics[0].value.as_ref().and_then(Reading::as_f64);
        if raw == 0xFFFF {
            prop_assert!(v.is_none() || v == Some(655.35));
        } else {
            prop_assert_eq!(v, Some(f64::from(raw) / 100.0));
        }
    }

    #[test]
    fn vedirect_bytes_never_panic_and_valid_blocks_decode(noise in proptest::collection::vec(any::<u8>(), 0..300), mv in 0u32..60_000) {
        let t = Arc::new(Telemetry::default());
        let mut d = VeDirectDecoder::new("p", t);
        let mut out = Vec::new();
        d.feed(0, &noise, &mut out);
        let mut block = [0u8; 128];
        let v = mv.to_string();
        let n = halyard_proto::vedirect::text::encode_block(&[("SER#", "HQ2213PROPT"), ("V", &v)], &mut block).unwrap();
        out.clear();
        // Twice: the first may be glued to the noise's unfinished line.
        d.feed(1, &block[..n], &mut out);
        d.feed(2, &block[..n], &mut out);
        let last = out.last().expect("a valid block after noise decodes");
        prop_assert_eq!(&last.identity, &Identity::Serial("HQ2213PROPT".into()));
        let volts = last.metrics.iter().find(|m| m.name == "battery_voltage").and_then(|m| m.value.as_ref()).and_then(Reading::as_f64);
        prop_assert_eq!(volts, Some(f64::from(mv) / 1000.0));
    }

    #[test]
    fn the_model_publishes_every_change_and_no_repeat(values in proptest::collection::vec(0u8..4, 1..60)) {
        let mut m = Model::new(Registry::default(), &Default::default());
        let mut published = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let mut u = Update::new(i as i64 * 1000, Identity::Port("p".into()), "vedirect", "vedirect");
            u.metrics.push(Metric::number("x", "V", f64::from(*v)));
            for c in m.apply(u) {
                for c in c.changed {
                    published.push(c.value.and_then(|v| v.as_f64()).unwrap() as u8);
                }
            }
        }
        // Within the 60 s refresh, exactly the values that differ from the one before.
        let mut expected = vec![values[0]];
        for w in values.windows(2) {
            if w[1] != w[0] {
                expected.push(w[1]);
            }
        }
        prop_assert_eq!(published, expected);
    }

    #[test]
    fn the_outbox_keeps_exactly_what_was_not_acknowledged(ops in proptest::collection::vec((any::<bool>(), any::<bool>()), 1..40)) {
        let dir = std::env::temp_dir().join(format!("halyard-prop-outbox-{}-{}", std::process::id(), rand_suffix(&ops)));
        let _ = std::fs::remove_dir_all(&dir);
        let mut expected = std::collections::BTreeSet::new();
        {
            let mut o = Outbox::open(&dir, "mqtt", 1 << 20).unwrap();
            for (i, (ack, reopen)) in ops.iter().enumerate() {
                let seq = o.push(Message { topic: format!("t/{i}"), payload: vec![i as u8], retain: false, qos: 1 });
                expected.insert(format!("t/{i}"));
                if *ack {
                    o.ack(seq);
                    expected.remove(&format!("t/{i}"));
                }
                if *reopen {
                    o.sync().unwrap();
                    drop(o);
                    o = Outbox::open(&dir, "mqtt", 1 << 20).unwrap();
                }
            }
            o.sync().unwrap();
        }
        let mut o = Outbox::open(&dir, "mqtt", 1 << 20).unwrap();
        let mut got = std::collections::BTreeSet::new();
        while let Some((_, m)) = o.next_unsent() {
            got.insert(m.topic);
        }
        let _ = std::fs::remove_dir_all(&dir);
        prop_assert_eq!(got, expected);
    }
}

fn rand_suffix(ops: &[(bool, bool)]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    ops.hash(&mut h);
    std::thread::current().id().hash(&mut h);
    format!("{:x}", h.finish())
}
