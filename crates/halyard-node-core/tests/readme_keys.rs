//! Every setting the README's ESP32 section names is one the node takes: each `key = value`
//! example parses (placeholders such as `…` replaced by a valid value of that key), and each key
//! named on its own is known. A README that promises a key the parser refuses (`ntp` once was)
//! fails here.

use halyard_node_core::config::{self, Config};

fn node_section() -> &'static str {
    let readme = include_str!("../../../README.md");
    let start = readme.find("## The ESP32 node").expect("the README has an ESP32 section");
    let rest = &readme[start + 3..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

fn quoted(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// A valid value for `key`, for an example whose value is a placeholder.
fn example(key: &str) -> &'static str {
    match key {
        k if k.starts_with("key.") => "00112233445566778899aabbccddeeff",
        k if k.starts_with("name.") => "port-arch",
        "wifi_password" => "a-long-passphrase",
        "mqtt" => "192.168.1.2:1883",
        k if k.ends_with("_ms") => "1000",
        _ => panic!("no example value for {key}"),
    }
}

#[test]
fn every_key_the_readme_names_is_accepted() {
    let (mut examples, mut named) = (0, 0);
    for q in quoted(node_section()) {
        if let Some((key, value)) = q.split_once(" = ") {
            let key = key.trim();
            let plain = key.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            let per_device = key.starts_with("key.") || key.starts_with("name.") || key.starts_with("role.");
            if key == "key" || !(plain || per_device) {
                continue; // `key = value` itself, TOML of the gateway
            }
            let placeholder = value.contains(['…', '<', '[']) || config::is_known(value);
            let value = if placeholder { example(key) } else { value };
            let key = key.replace('…', "5e0001");
            let key = if key.starts_with("key.") { "key.C0:3B:5E:00:00:01".to_owned() } else { key };
            Config::parse(&format!("{key} = {value}")).unwrap_or_else(|e| panic!("README's `{q}`: {e}"));
            examples += 1;
        } else if (q.contains('_') || q == "ntp")
            && q.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            && q != "no_std"
        {
            assert!(config::is_known(q), "the README names `{q}`, which the node does not know");
            named += 1;
        }
    }
    assert!(examples >= 10 && named >= 6, "{examples} examples, {named} keys named: is the section still there?");
    assert!(!config::is_known("nttp"), "an unknown key is unknown");
}
