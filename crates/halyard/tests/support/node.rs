//! An ESP32 node's view of the simulated boat: `halyard sim`'s configuration (names, roles,
//! Instant Readout keys, the VE.Smart network) given to `halyard_node_core`, as a user would
//! give it on the node's console.

use std::collections::BTreeMap;

use halyard_node_core::topics::Schema;
use halyard_proto::victron::instant_readout::Key;
use halyard_proto::victron::smart_networking::Network;

/// 32 hex digits.
pub fn hex16(text: &str) -> [u8; 16] {
    let mut k = [0u8; 16];
    assert_eq!(halyard_proto::hex::decode_into(text.as_bytes(), &mut k), Ok(16));
    k
}

/// The node configured from a simulated boat's `halyard.toml`: the schema with every device's
/// name and role under each of its identities (MAC, serial, MasterBus id), the keys by MAC and
/// the VE.Smart network.
pub fn configured(sim_config: &str) -> (Schema, BTreeMap<[u8; 6], Key>, Network) {
    let sim: toml::Table = sim_config.parse().unwrap();
    let mut schema = Schema::new("halyard");
    let mut keys = BTreeMap::new();
    for d in sim["device"].as_array().unwrap() {
        let name = d["name"].as_str().unwrap().to_owned();
        let mut identities = Vec::new();
        if let Some(mac) = d.get("mac").and_then(|m| m.as_str()) {
            let mac = halyard::model::Identity::parse_mac(mac).unwrap();
            identities.push(mac.iter().map(|b| format!("{b:02x}")).collect::<String>());
            if let Some(k) = d.get("key").and_then(|k| k.as_str()) {
                keys.insert(mac, Key::new(&hex16(k)));
            }
        }
        identities.extend(["serial", "masterbus"].iter().filter_map(|id| d.get(*id)?.as_str().map(str::to_owned)));
        for identity in identities {
            schema.names.insert(identity.clone(), name.clone());
            if let Some(role) = d.get("role").and_then(|r| r.as_str()) {
                schema.roles.insert(identity, role.to_owned());
            }
        }
    }
    let v = &sim["venetworking"];
    let mut id = [0u8; 2];
    halyard_proto::hex::decode_into(v["network_id"].as_str().unwrap().as_bytes(), &mut id).unwrap();
    let network = Network::new(hex16(v["key"].as_str().unwrap()), id);
    (schema, keys, network)
}

/// A Victron advert: the address and the manufacturer data.
pub type Advert = ([u8; 6], Vec<u8>);

/// A simulated day's Victron adverts from `halyard sim`'s recording (address, manufacturer data
/// after the company id), and what a node with the keys publishes for them under `halyard/…`
/// (each topic's last payload): the reference for a gateway that reads the same adverts through
/// a proxy with the same keys.
pub fn reference(sim_config: &str, recording: &str) -> (Vec<Advert>, BTreeMap<String, String>) {
    let (adverts, steps) = reference_steps(sim_config, recording);
    (adverts, steps.into_iter().flatten().collect())
}

/// As [`reference`], with what the node publishes for each advert in turn.
pub fn reference_steps(sim_config: &str, recording: &str) -> (Vec<Advert>, Vec<Vec<(String, String)>>) {
    use halyard::ingest::recording::{parse_line, Record};
    let (mut keyed, keys, mut network) = configured(sim_config);
    let mut adverts = Vec::new();
    let mut steps = Vec::new();
    for line in recording.lines() {
        let Ok(Some(Record::Ble { mac, data, .. })) = parse_line(line) else { continue };
        let out = keyed.victron_advert(mac, &data, keys.get(&mac), Some(&mut network)).unwrap_or_default();
        steps.push(out.into_iter().filter(|o| o.topic.starts_with("halyard/")).map(|o| (o.topic, o.payload)).collect());
        adverts.push((mac, data));
    }
    (adverts, steps)
}

/// `halyard sim` of one day in `dir` (`halyard.toml`, `boat.hrec`): its configuration as a
/// gateway's (support::sim_config) and its recording.
pub fn simulated_day(dir: &std::path::Path) -> (String, String) {
    let out = super::halyard()
        .args(["sim", "--days", "1", "--period", "600", "--seed", "9", "--out", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config = super::sim_config(std::fs::read_to_string(dir.join("halyard.toml")).unwrap());
    (config, std::fs::read_to_string(dir.join("boat.hrec")).unwrap())
}

/// A gateway's configuration in `dir/gateway.toml`: the simulated boat's devices and keys (no
/// history), the broker on `broker`, and `extra` (its sources, its ports).
pub fn gateway_config(dir: &std::path::Path, sim_config: &str, broker: u16, extra: &str) -> std::path::PathBuf {
    let path = dir.join("gateway.toml");
    let config = format!(
        "data_dir = \"{}\"\n{sim_config}\n[store]\nenabled = false\n[mqtt]\nurl = \"mqtt://127.0.0.1:{broker}\"\nmdns = false\n{extra}",
        dir.join("data").display()
    );
    std::fs::write(&path, config).unwrap();
    path
}
