//! The decoder against all 12 public MasterBus captures (tests/fixtures/masterbus, see
//! PROVENANCE.md). Expected figures come from masterbus.md, which was checked frame by frame
//! against tshark 4.0.17 and the original Lua dissector, not from this code.

use std::collections::BTreeMap;

use halyard_proto::can::capture::Capture;
use halyard_proto::can::{candump, Received};
use halyard_proto::masterbus::bus::{Bus, Observation, Reading};
use halyard_proto::masterbus::{decode_frame, Node};

const CAPTURES: [&str; 12] = [
    "bootup_dcshunt_masterview.pcap",
    "bootup_dcshunt_masterview_masscombi.pcap",
    "bootup_dcshunt_masterview_masscombi_masterview2.pcap",
    "canhat-capture.pcap",
    "configure_masterview_area6_group2_item1.pcap",
    "configure_masterview_area6_group3_item1.pcap",
    "configure_masterview_area6_group3_item2.pcap",
    "configure_masterview_area6_group4_item2.pcap",
    "date_time.pcap",
    "idle_masterview_page.pcap",
    "menus_dcshunt_masterview_masscombi_masterview2.pcap",
    "volts_amps_only.pcap",
];

const SHUNT: u32 = 0x31297;
const COMBI: u32 = 0x2F412;

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/masterbus/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

struct Replay {
    frames: usize,
    error_frames: usize,
    kinds: BTreeMap<u16, usize>,
    bus: Bus,
    observations: Vec<Observation>,
}

fn replay(name: &str) -> Replay {
    let bytes = read(name);
    let mut r = Replay { frames: 0, error_frames: 0, kinds: BTreeMap::new(), bus: Bus::new(), observations: vec![] };
    for packet in Capture::new(&bytes).unwrap() {
        let packet = packet.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(packet.link_type, 113);
        r.frames += 1;
        match packet.received {
            Received::Error(_) => r.error_frames += 1,
            Received::Frame(f) => {
                let (id, message) = decode_frame(&f).unwrap_or_else(|e| panic!("{name}: {f:?} unclassified: {e}"));
                *r.kinds.entry(id.kind()).or_default() += 1;
                r.observations.extend(r.bus.handle(packet.timestamp_ns.unwrap(), id, &message));
            }
        }
    }
    r
}

fn node(device: u32, type_code: u8) -> Node {
    Node::from_identity(type_code, device as u16, (device >> 16) as u8)
}

fn readings(r: &Replay, device: u32, item: u16) -> Vec<&Reading> {
    r.observations
        .iter()
        .filter_map(|o| match o {
            Observation::Reading(x) if x.device().0 == device && x.item == item => Some(x),
            _ => None,
        })
        .collect()
}

#[test]
fn every_frame_of_every_capture_is_classified() {
    // masterbus.md §2, "Every kind observed (36,621 frames, all 12 files)".
    let expected: BTreeMap<u16, usize> = [
        (0x10E, 122),
        (0x114, 57),
        (0x11B, 108),
        (0x14E, 54),
        (0x154, 53),
        (0x15B, 3),
        (0x1CE, 1309),
        (0x1DB, 2595),
        (0x1D4, 484),
        (0x18E, 1218),
        (0x19B, 2567),
        (0x194, 484),
        (0x1AE, 3),
        (0x1BB, 28),
        (0x1DF, 224),
        (0x60E, 705),
        (0x61B, 2969),
        (0x20E, 705),
        (0x21B, 2969),
        (0x62E, 777),
        (0x63B, 6333),
        (0x22E, 776),
        (0x23B, 6332),
        (0x64E, 1125),
        (0x65B, 1886),
        (0x24E, 784),
        (0x25B, 1886),
        (0x68E, 1),
        (0x69B, 1),
        (0x28E, 1),
        (0x29B, 1),
        (0x6CE, 1),
        (0x6DB, 5),
        (0x2CE, 1),
        (0x2DB, 5),
        (0x72E, 9),
        (0x73B, 5),
        (0x32E, 9),
        (0x33B, 5),
    ]
    .into_iter()
    .collect();
    let mut kinds = BTreeMap::new();
    let (mut frames, mut errors, mut files_with_errors) = (0, 0, 0);
    for name in CAPTURES {
        let r = replay(name);
        frames += r.frames;
        errors += r.error_frames;
        files_with_errors += usize::from(r.error_frames > 0);
        for (k, n) in r.kinds {
            *kinds.entry(k).or_default() += n;
        }
    }
    assert_eq!(kinds, expected);
    // §11.2: 21 SocketCAN error frames in 7 files, recognised and not decoded.
    assert_eq!((errors, files_with_errors), (21, 7));
    assert_eq!(frames, kinds.values().sum::<usize>() + errors);
    assert_eq!(frames - errors, 36_621 - 21);
}

#[test]
fn device_names_and_schemas_are_learned_from_the_menus_capture() {
    let r = replay("menus_dcshunt_masterview_masscombi_masterview2.pcap");
    let shunt = r.bus.node(node(SHUNT, 0x1B)).unwrap();
    let combi = r.bus.node(node(COMBI, 0x0E)).unwrap();
    assert_eq!(shunt.name().as_deref(), Some("MSH HovseBatShun"), "16 characters, 4 chunks + terminator");
    assert_eq!(combi.name().as_deref(), Some("INT Mass Combi"));
    assert_eq!((shunt.name_sid, combi.name_sid), (Some(0x00D6), Some(0x0161)));
    // §4.1 and §4.2: the monitoring groups in order.
    let group = |n: &halyard_proto::masterbus::bus::NodeState, g: u8| -> Vec<u16> {
        n.groups[&g].fields.values().copied().collect()
    };
    assert_eq!(group(shunt, 0), [0x00, 0x04, 0x03, 0x01, 0x02, 0x05, 0x09, 0x0A]);
    assert_eq!(group(combi, 0), [0x10, 0x3C, 0x38, 0x14, 0x3A, 0x13, 0x0E, 0x11]);
    assert_eq!(group(combi, 1), [0x12, 0x06, 0x07]);
    assert_eq!(group(combi, 2), [0x08, 0x09]);
    assert_eq!(group(combi, 3), [0x0A, 0x0B]);
    // Names and units as the devices state them (§4.1 table).
    let label = |n: &halyard_proto::masterbus::bus::NodeState, f: u16| n.field_label(f);
    assert_eq!(label(shunt, 0x02), (Some("Battery".into()), Some("A".into())));
    assert_eq!(label(shunt, 0x05), (Some("Battery".into()), Some("°C".into())));
    assert_eq!(label(shunt, 0x03), (Some("Cap. consumed".into()), Some("Ah".into())));
    assert_eq!(label(combi, 0x13).0.as_deref(), Some("Shore fuse"));
    let current = &shunt.fields[&0x02];
    assert_eq!((current.min, current.max, current.step), (Some(-1500.0), Some(1500.0), Some(0.1)));
    assert_eq!(combi.fields[&0x13].writable, Some(true));
    // The built-in table agrees with every label the devices sent.
    for (n, state) in [(shunt, "MasterShunt"), (combi, "Mass Combi")] {
        let model = n.model().unwrap();
        assert_eq!(model.name, state);
        for row in model.items {
            if let (Some(l), u) = n.field_label(row.item) {
                assert_eq!(l, row.label, "{state} item 0x{:02X}", row.item);
                assert_eq!(u.unwrap_or_default(), if row.unit == "s" { "" } else { row.unit });
            }
        }
    }
}

#[test]
fn shunt_and_combi_values_dates_and_times() {
    let r = replay("date_time.pcap");
    let times = readings(&r, SHUNT, 0x09);
    let dates = readings(&r, SHUNT, 0x0A);
    // §4.1: 67151.0 = 18:39:11 and 841202.0 = 2022-01-18.
    assert_eq!((times[0].value, times[0].text.as_deref()), (67_151.0, Some("18:39:11")));
    assert_eq!((dates[0].value, dates[0].text.as_deref()), (841_202.0, Some("18/01/2022")));
    assert!(dates.iter().all(|d| d.metric == "clock_date"));

    let r = replay("menus_dcshunt_masterview_masscombi_masterview2.pcap");
    let remaining: Vec<_> = readings(&r, SHUNT, 0x04).iter().map(|x| x.text.clone().unwrap()).collect();
    assert!(remaining.contains(&"6d 13:40:00".to_string()) || remaining.contains(&"6d 16:52:00".to_string()));
    let temperature = readings(&r, SHUNT, 0x05);
    assert!(temperature.iter().any(|t| (t.value - 25.29086).abs() < 1e-4));
    assert_eq!(temperature[0].unit.as_deref(), Some("°C"));
    let fuse = readings(&r, COMBI, 0x13);
    assert!(fuse.iter().any(|f| f.value == 14.0 && f.option.as_deref() == Some("18 A")));
    let writes = r.observations.iter().filter(|o| matches!(o, Observation::Written { item: 0x38, .. })).count();
    assert_eq!(writes, 4, "§4: the combi's Power switched off and on twice");
    assert!(readings(&r, COMBI, 0x39).is_empty(), "the commit item is not a measurement");

    let r = replay("volts_amps_only.pcap");
    let volts = readings(&r, SHUNT, 0x01);
    let amps = readings(&r, SHUNT, 0x02);
    // §7: 789 replies each, polled once a second.
    assert_eq!((volts.len(), amps.len()), (789, 789));
    assert!(volts.iter().all(|v| (11.0..15.0).contains(&v.value) && v.metric == "battery_voltage"));
    assert!(amps.iter().all(|a| a.unit.as_deref() == Some("A")));
}

#[test]
fn candump_log_holds_the_same_frames_as_the_pcapng() {
    let pcap = read("volts_amps_only.pcap");
    let log = String::from_utf8(read("volts_amps_only.candump.log")).unwrap();
    let from_pcap: Vec<_> = Capture::new(&pcap).unwrap().map(|p| p.unwrap()).collect();
    let from_log: Vec<_> = log.lines().filter_map(|l| candump::parse_line(l).unwrap()).collect();
    assert_eq!(from_pcap.len(), 20_035);
    assert_eq!(from_log.len(), from_pcap.len());
    for (a, b) in from_pcap.iter().zip(&from_log) {
        assert_eq!(a.received, b.received);
        assert_eq!(a.timestamp_ns.unwrap() / 1000, b.timestamp_ns / 1000);
    }
}
