//! One MQTT schema for the gateway and the ESP32 node: a simulated day aboard (Instant Readout
//! and VE.Smart adverts, VE.Direct text, MasterBus frames) goes once through `halyard replay`
//! and once through `halyard_node_core::topics` (the code the firmware runs), and both publish
//! the same raw topics and, for every value the node publishes, the same human-readable topic
//! and payload.

use std::collections::{BTreeMap, BTreeSet};

use halyard::ingest::recording::{parse_line, Record};
use halyard_node_core::topics::VeDirectPort;
use halyard_proto::can::Received;

mod support;
use support::{free_port, halyard, Scratch};

fn is_raw(topic: &str) -> bool {
    ["victron/", "venetworking/", "vedirect/", "masterbus/"].iter().any(|p| topic.starts_with(p))
}

#[test]
fn the_node_publishes_what_the_gateway_publishes() {
    let s = Scratch::new("node-schema");
    let out = halyard()
        .args(["sim", "--days", "1", "--period", "300", "--seed", "5", "--out", s.0.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sim_config = support::sim_config(std::fs::read_to_string(s.path("halyard.toml")).unwrap());
    let cfg = format!(
        "data_dir = \"{}\"\n{sim_config}\n[store]\nenabled = false\n[mqtt]\nmdns = false\n[broker]\nlisten = \"127.0.0.1:{}\"\n[metrics]\nlisten = \"\"\n[web]\nlisten = \"\"\n",
        s.path("data").display(),
        free_port()
    );
    std::fs::write(s.path("gateway.toml"), cfg).unwrap();
    let out = halyard()
        .args([
            "replay",
            "--max-speed",
            "--print",
            "-c",
            s.path("gateway.toml").to_str().unwrap(),
            s.path("boat.hrec").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let gateway: BTreeSet<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(t, p)| (t.to_owned(), p.to_owned())))
        .collect();

    // The node, configured from the same file: names, roles, keys, the VE.Smart network.
    let (mut schema, keys, mut network) = support::node::configured(&sim_config);
    let mut bus = halyard_proto::masterbus::bus::Bus::new();
    let mut ports: BTreeMap<String, VeDirectPort> = BTreeMap::new();
    let mut node = Vec::new();
    let recording = std::fs::read_to_string(s.path("boat.hrec")).unwrap();
    let mut kinds = BTreeMap::<&str, usize>::new();
    for line in recording.lines() {
        let Ok(Some(record)) = parse_line(line) else { continue };
        let out = match record {
            Record::Ble { mac, data, .. } => {
                *kinds.entry("ble").or_default() += 1;
                schema.victron_advert(mac, &data, keys.get(&mac), Some(&mut network)).unwrap_or_default()
            }
            Record::Can { ts_ns, received: Received::Frame(f), .. } => {
                *kinds.entry("can").or_default() += 1;
                let halyard_proto::can::Id::Extended(id) = f.id() else { continue };
                schema.masterbus(&mut bus, ts_ns, id, f.data()).unwrap_or_default()
            }
            Record::VeDirect { port, bytes, .. } => {
                *kinds.entry("vedirect").or_default() += 1;
                schema.vedirect(ports.entry(port).or_default(), &bytes)
            }
            _ => continue,
        };
        node.extend(out.into_iter().map(|o| (o.topic, o.payload)));
    }
    assert!(kinds.values().all(|n| *n > 100) && kinds.len() == 3, "{kinds:?}");

    // Raw topics: the same messages, both ways.
    let node_raw: BTreeSet<(String, String)> = node.iter().filter(|(t, _)| is_raw(t)).cloned().collect();
    let gateway_raw: BTreeSet<(String, String)> = gateway.iter().filter(|(t, _)| is_raw(t)).cloned().collect();
    let only_node: Vec<_> = node_raw.difference(&gateway_raw).take(5).collect();
    let only_gateway: Vec<_> = gateway_raw.difference(&node_raw).take(5).collect();
    assert!(
        only_node.is_empty() && only_gateway.is_empty(),
        "node only: {only_node:?}\ngateway only: {only_gateway:?}"
    );
    assert!(node_raw.len() > 1000, "{}", node_raw.len());

    // Human-readable topics: every one the node publishes, the gateway published too, with the
    // same payload; and the node covers every device and metric the gateway read from these inputs.
    let node_named: BTreeSet<(String, String)> =
        node.iter().filter(|(t, _)| t.starts_with("halyard/")).cloned().collect();
    let missing: Vec<_> = node_named.difference(&gateway).take(10).collect();
    assert!(missing.is_empty(), "published by the node, not by the gateway: {missing:?}");
    let node_topics: BTreeSet<&str> = node_named.iter().map(|(t, _)| t.as_str()).collect();
    let devices: BTreeSet<&str> = node_topics.iter().map(|t| t.split('/').nth(1).unwrap()).collect();
    for d in ["port-arch", "stbd-arch", "pushpit", "bimini", "house-bank", "house-shunt", "combi"] {
        assert!(devices.contains(d), "{d} not published by the node: {devices:?}");
    }
    let gateway_topics: BTreeSet<&str> = gateway
        .iter()
        .map(|(t, _)| t.as_str())
        .filter(|t| {
            t.split('/').nth(1).is_some_and(|d| devices.contains(d))
                && !t.ends_with("/state")
                && !t.ends_with("/availability")
                && !t.contains("/lifetime_")
        })
        .collect();
    let not_on_node: Vec<_> = gateway_topics.difference(&node_topics).collect();
    // Everything the gateway says about these devices, the node says too (derived watts
    // included); what needs several devices (`halyard/solar/network/…`), history
    // (`halyard/stats/…`, the lifetime counters kept across restarts) or the alarms' judgement of
    // silence (`halyard/<device>/availability`) stays the gateway's.
    assert!(not_on_node.is_empty(), "{not_on_node:?}");
    assert!(node_topics.len() > 60, "{node_topics:?}");
}
