//! Property tests: arbitrary bytes never panic any decoder; encoders and decoders round-trip.

use halyard_proto::meshtastic::{encode_frame, Event as MeshEvent, StreamFramer};
use halyard_proto::nmea::{self, ais, Checksum, LineFramer, Sentence};
use halyard_proto::vedirect::hex::{self as vhex, Frame, Message};
use halyard_proto::vedirect::text::{encode_block, BlockStatus, Event, TextFramer};
use halyard_proto::vedirect::{history, labels, registers};
use halyard_proto::victron::instant_readout::{self, Record, RecordType};
use halyard_proto::victron::smart_networking::{
    encode_data, encode_overflow, Event as NetEvent, Message as NetMessage, Network, Serial,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn instant_readout_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64), key in any::<[u8; 16]>()) {
        if let Ok(r) = instant_readout::decode(&data, &key) {
            prop_assert!(r.payload().len() <= 16);
            for f in r.fields() { let _ = f.value.as_f64(); }
        }
    }

    #[test]
    fn every_record_type_decodes_any_payload(t in any::<u8>(), payload in proptest::collection::vec(any::<u8>(), 0..40)) {
        let r = Record::from_payload(0xA042, RecordType::from(t), &payload);
        for f in r.fields() {
            let _ = f.value.as_f64();
        }
    }

    #[test]
    fn instant_readout_round_trip(key in any::<[u8; 16]>(), nonce in any::<u16>(), t in 0u8..16, payload in proptest::collection::vec(any::<u8>(), 1..=16)) {
        let mut adv = [0u8; 32];
        let n = instant_readout::encode(&mut adv, &key, 0xA389, t, nonce, &payload).unwrap();
        let r = instant_readout::decode(&adv[..n], &key).unwrap();
        prop_assert_eq!(r.payload(), &payload[..]);
        prop_assert_eq!(r.record_type().code(), t);
    }

    #[test]
    fn smart_networking_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300), key in any::<[u8; 16]>()) {
        let mut net = Network::new(key, [data.first().copied().unwrap_or(1), 0x0A]);
        let _ = NetMessage::parse(&data);
        if let Ok(NetEvent::Data { cleartext, .. }) = net.handle(&data) {
            for r in cleartext.records().flatten() { let _ = registers::decode(r.register, r.value); }
        }
    }

    #[test]
    fn smart_networking_round_trip(key in any::<[u8; 16]>(), id in any::<[u8; 2]>(), serial in any::<[u8; 4]>(),
                                   seq in any::<[u8; 4]>(), overflow in any::<[u8; 2]>(),
                                   body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut net = Network::new(key, id);
        let o = encode_overflow(&key, id, Serial(serial), seq, overflow);
        let ok = matches!(net.handle(&o), Ok(NetEvent::OverflowAuthenticated { .. }));
        prop_assert!(ok);
        let mut msg = vec![0u8; body.len() + 14];
        let n = encode_data(&mut msg, &key, id, Serial(serial), seq, overflow, &body).unwrap();
        match net.handle(&msg[..n]) {
            Ok(NetEvent::Data { cleartext, serial: s }) => {
                prop_assert_eq!(cleartext.0, &body[..]);
                prop_assert_eq!(s, Serial(serial));
            }
            other => prop_assert!(false, "{:?}", other),
        }
        // Any single flipped bit is caught by the tag.
        let bit = (body.len() * 7 + 3) % (n * 8);
        msg[bit / 8] ^= 1 << (bit % 8);
        let accepted = matches!(net.handle(&msg[..n]), Ok(NetEvent::Data { .. }));
        prop_assert!(!accepted, "a corrupted message was accepted");
    }

    #[test]
    fn text_framer_never_panics(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let mut f = TextFramer::new();
        f.push_all(&data, |e| if let Event::Block { block, .. } = e {
            for t in block.fields() { let _ = labels::decode(t.label, t.value); }
        });
    }

    #[test]
    fn text_round_trip(fields in proptest::collection::vec(("[A-Z][A-Z0-9#]{0,8}", "[ -9;-~]{0,33}"), 1..22)) {
        let pairs: Vec<(&str, &str)> = fields.iter().filter(|(l, _)| l != "Checksum").map(|(l, v)| (l.as_str(), v.as_str())).collect();
        let mut out = vec![0u8; 2048];
        let n = encode_block(&pairs, &mut out).unwrap();
        let mut stream = out[..n].to_vec();
        stream.extend_from_slice(&out[..n]);
        let mut f = TextFramer::new();
        let mut got = Vec::new();
        f.push_all(&stream, |e| if let Event::Block { block, status } = e {
            got.push((status, block.fields().map(|t| (t.label.to_string(), t.value.to_string())).collect::<Vec<_>>()));
        });
        prop_assert_eq!(got.len(), 2);
        for (status, decoded) in got {
            prop_assert_eq!(status, BlockStatus::Valid);
            let want: Vec<(String, String)> = pairs.iter().map(|(l, v)| (l.to_string(), v.to_string())).collect();
            prop_assert_eq!(decoded, want);
        }
    }

    #[test]
    fn hex_line_never_panics(line in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(f) = Frame::parse(&line) {
            if let Ok(Message::Register { register, value, .. }) = f.message() {
                let _ = registers::decode(register, value);
            }
        }
    }

    #[test]
    fn hex_round_trip(command in 0u8..16, data in proptest::collection::vec(any::<u8>(), 0..=vhex::MAX_DATA)) {
        let frame = Frame::new(command, &data).unwrap();
        let mut buf = [0u8; vhex::MAX_LINE];
        let n = frame.encode(&mut buf).unwrap();
        let parsed = Frame::parse(&buf[..n]).unwrap();
        prop_assert_eq!(parsed, frame);
        prop_assert_eq!(parsed.data(), &data[..]);
    }

    #[test]
    fn register_frames_round_trip(register in any::<u16>(), value in proptest::collection::vec(any::<u8>(), 1..8)) {
        let frame = vhex::register_frame(vhex::code::ASYNC, register, 0, &value).unwrap();
        let mut buf = [0u8; vhex::MAX_LINE];
        let n = frame.encode(&mut buf).unwrap();
        let parsed = Frame::parse(&buf[..n]).unwrap();
        prop_assert_eq!(parsed.message().unwrap(), Message::Register { command: 0xA, register, flags: 0, value: &value });
    }

    #[test]
    fn history_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Some(d) = history::HistoryDay::parse(&data) { let _ = d.fields(); }
        if let Some(t) = history::HistoryTotal::parse(&data) { let _ = t.fields(); }
    }
}

mod masterbus_and_can {
    use halyard_proto::can::{candump, ecan, slcan, Frame, Id, Received};
    use halyard_proto::masterbus::calendar::{Clock, Date};
    use halyard_proto::masterbus::{decode, BusId};
    use proptest::prelude::*;

    fn frame() -> impl Strategy<Value = Frame> {
        (any::<bool>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..=8), any::<bool>(), 0u8..=8).prop_map(
            |(ext, raw, data, remote, dlc)| {
                let id = if ext { Id::Extended(raw & 0x1FFF_FFFF) } else { Id::Standard((raw & 0x7FF) as u16) };
                if remote {
                    Frame::remote(id, dlc).unwrap()
                } else {
                    Frame::new(id, &data).unwrap()
                }
            },
        )
    }

    proptest! {
        #[test]
        fn id_splits_are_consistent(raw in 0u32..=0x1FFF_FFFF) {
            let id = BusId::new(raw).unwrap();
            prop_assert_eq!(u32::from(id.kind()), u32::from(id.class()) << 6 | id.addr24() >> 18);
            prop_assert_eq!(id.addr24(), (u32::from(id.kind()) & 0x3F) << 18 | id.device().0);
            prop_assert_eq!(id.node().id(id.class(), id.is_shadow()), id);
        }

        #[test]
        fn any_payload_classifies_or_errors(raw in 0u32..=0x1FFF_FFFF, data in proptest::collection::vec(any::<u8>(), 0..=8)) {
            let _ = decode(BusId::new(raw).unwrap(), &data);
        }

        #[test]
        fn dates_round_trip(year in 1990u16..2200, month in 1u8..=12, day in 1u8..=31) {
            let d = Date { year, month, day };
            prop_assert_eq!(Date::from_value(d.to_value()), Some(d));
        }

        #[test]
        fn clocks_print_what_they_hold(seconds in 0u32..10_000_000) {
            let c = Clock::from_value(seconds as f32).unwrap();
            let text = c.to_string();
            let (days, hms) = text.split_once("d ").map_or((0, text.as_str()), |(d, r)| (d.parse().unwrap(), r));
            let parts: Vec<u32> = hms.split(':').map(|p| p.parse().unwrap()).collect();
            prop_assert_eq!(days * 86_400 + parts[0] * 3600 + parts[1] * 60 + parts[2], c.seconds);
        }

        #[test]
        fn framings_round_trip(f in frame(), ts in 0u64..4_000_000_000_000_000_000) {
            let mut line = [0u8; slcan::MAX_LINE + 1];
            let n = slcan::encode_frame(&f, &mut line).unwrap();
            let mut d = slcan::Decoder::new();
            let events: Vec<_> = line[..n].iter().filter_map(|b| d.push(*b)).collect();
            prop_assert_eq!(events, vec![Ok(slcan::Event::Frame { frame: f, timestamp_ms: None })]);

            prop_assert_eq!(ecan::decode(&ecan::encode(&f)), Ok(f));

            let mut text = [0u8; 64];
            let ts = ts / 1000 * 1000;
            let n = candump::format_line(ts, "can0", &Received::Frame(f), &mut text).unwrap();
            let parsed = candump::parse_line(core::str::from_utf8(&text[..n]).unwrap()).unwrap().unwrap();
            prop_assert_eq!((parsed.timestamp_ns, parsed.received), (ts, Received::Frame(f)));
        }

        #[test]
        fn framings_never_panic_on_noise(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut s = slcan::Decoder::new();
            for b in &bytes { let _ = s.push(*b); }
            let mut e = ecan::Decoder::new();
            let mut rest = &bytes[..];
            while !rest.is_empty() { let (n, _) = e.feed(rest); rest = &rest[n..]; }
            if let Ok(c) = halyard_proto::can::capture::Capture::new(&bytes) { for _ in c {} }
            let _ = candump::parse_line(&String::from_utf8_lossy(&bytes));
        }
    }
}

/// A sentence with its checksum.
fn nmea_line(body: &str) -> String {
    let sum = body.bytes().fold(0u8, |a, b| a ^ b);
    format!("${body}*{sum:02X}")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn nmea_any_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut f = LineFramer::new();
        f.push_all(&data, |line| {
            if let Ok(line) = line {
                assert!(line.len() <= nmea::MAX_LINE && !line.contains(&0));
                if let Ok(p) = nmea::parse(line) {
                    if let Sentence::Xdr(x) = p.sentence { x.measurements().for_each(drop); }
                    if let Sentence::Vdm(v) = p.sentence { let _ = ais::position_report(v.payload); }
                }
            }
        });
    }

    #[test]
    fn nmea_printable_garbage_after_a_tag_never_panics(tag in "(GP|II|WI|SD|P)(RMC|GGA|GLL|GSA|VTG|ZDA|MWV|VWR|VWT|MWD|MDA|XDR|HDG|HDM|HDT|DBT|DPT|VHW|MTW)", body in "[ -~]{0,80}") {
        let _ = nmea::parse(nmea_line(&format!("{tag},{body}")).as_bytes());
        let _ = nmea::parse(format!("!AIVDM,{body}").as_bytes());
    }

    #[test]
    fn nmea_rmc_round_trips(lat in -89.99f64..89.99, lon in -179.99f64..179.99, ms in 0u32..86_400_000,
                            day in 1u8..=28, month in 1u8..=12, yy in 0u8..=79, sog in 0f64..60.0, cog in 0f64..359.9) {
        let (lat_d, lon_d) = (lat.abs().trunc(), lon.abs().trunc());
        let (lat_m, lon_m) = ((lat.abs() - lat_d) * 60.0, (lon.abs() - lon_d) * 60.0);
        let t = ms / 10 * 10;
        let body = format!(
            "GPRMC,{:02}{:02}{:02}.{:02},A,{:02}{:07.4},{},{:03}{:07.4},{},{:.1},{:.1},{:02}{:02}{:02},,,A",
            t / 3_600_000, t / 60_000 % 60, t / 1000 % 60, t % 1000 / 10,
            lat_d, lat_m, if lat < 0.0 { "S" } else { "N" }, lon_d, lon_m, if lon < 0.0 { "W" } else { "E" },
            sog, cog, day, month, yy
        );
        let line = nmea_line(&body);
        let p = nmea::parse(line.as_bytes()).unwrap();
        prop_assert_eq!(p.frame.checksum, Checksum::Valid);
        let Sentence::Rmc(r) = p.sentence else { panic!("{line}") };
        let pos = r.position.unwrap();
        // ddmm.mmmm keeps 1e-4 minutes: 1.7e-6 degrees.
        prop_assert!((pos.lat - lat).abs() < 2e-6 && (pos.lon - lon).abs() < 2e-6, "{line} {pos:?}");
        prop_assert_eq!(r.time.unwrap().0, t);
        let d = r.date.unwrap();
        prop_assert_eq!((d.day, d.month, d.year), (day, month, 2000 + u16::from(yy)));
        prop_assert!((r.sog_kn.unwrap() - sog).abs() <= 0.05 + 1e-9 && (r.cog_true.unwrap() - cog).abs() <= 0.05 + 1e-9);
    }

    #[test]
    fn nmea_a_changed_byte_never_passes_the_checksum(index in 1usize..30, byte in 0x20u8..0x7F) {
        let line = nmea_line("IIMWV,338,R,13.41,N,A");
        let mut bytes = line.into_bytes();
        let i = index % bytes.len();
        // Another case of a checksum digit is the same checksum (`*2c` is `*2C`): not a change.
        prop_assume!(i > 0 && !bytes[i].eq_ignore_ascii_case(&byte));
        bytes[i] = byte;
        if let Ok(p) = nmea::parse(&bytes) {
            // Only by losing its `*` can the line parse, and then as unchecked.
            prop_assert_eq!(p.frame.checksum, Checksum::Absent, "{}", String::from_utf8_lossy(&bytes));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn meshtastic_any_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        StreamFramer::new().push_all(&data, |e| {
            if let MeshEvent::Frame(p) = e { assert!(p.len() <= 512); }
        });
    }

    #[test]
    fn meshtastic_frames_survive_log_text_and_any_chunking(
        frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..512), 1..6),
        text in "[ -~]{0,60}",
        chunk in 1usize..64,
    ) {
        let mut stream = Vec::new();
        for f in &frames {
            stream.extend_from_slice(text.as_bytes());
            stream.push(b'\n');
            let mut buf = [0u8; 516];
            let n = encode_frame(f, &mut buf).unwrap();
            stream.extend_from_slice(&buf[..n]);
        }
        let mut got = Vec::new();
        let mut framer = StreamFramer::new();
        for c in stream.chunks(chunk) {
            framer.push_all(c, |e| if let MeshEvent::Frame(p) = e { got.push(p.to_vec()) });
        }
        prop_assert_eq!(got, frames);
    }
}
