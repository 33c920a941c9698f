//! The node's Improv Wi-Fi service (`halyard_node_core::improv`) driven by the official serial
//! client (npm `improv-wifi-serial-sdk`, what ESP Web Tools runs in the browser) through a
//! pseudo-terminal: the test plays the board's side of the USB serial port, with console log
//! lines between the packets as the firmware prints them, and the client must find the node, read
//! its device information, provision it, learn its broker's URL, and list the networks the board
//! heard (as ESP Web Tools shows them to pick from).

mod support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use halyard_node_core::config::Config;
use halyard_node_core::improv::{scanned, Effect, Identity, Improv, Network, Splitter};
use serde_json::Value;
use support::*;

#[test]
fn the_official_client_provisions_a_node() {
    let dir = format!("{}/tests/improv", env!("CARGO_MANIFEST_DIR"));
    assert!(
        std::path::Path::new(&dir).join("node_modules/improv-wifi-serial-sdk").exists(),
        "the Improv client is missing: run `npm ci` in {dir} (scripts/test.sh does)"
    );
    let s = Scratch::new("improv");
    let link = s.path("ttyACM0");
    let tty = Tty::open(&link);
    let mut master = tty.master.try_clone().unwrap();
    let mut writer = tty.master.try_clone().unwrap();

    let client = Command::new("node")
        .current_dir(&dir)
        .args(["--import", "./resolve.mjs", "client.mjs"])
        .arg(&link)
        .args(["Boat Wi-Fi", "a-long-passphrase"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node is installed (scripts/test.sh)");

    // The board: bytes in, Improv answers out, console text left alone.
    let board = std::thread::spawn(move || {
        let identity =
            Identity { version: "0.1.0".into(), chip: "ESP32-C3".into(), name: "halyard-node-a1b2c3".into() };
        let (mut improv, mut splitter, running) =
            (Improv::new(identity, false), Splitter::default(), Config::default());
        let mut joined_with = None;
        let mut buf = [0u8; 256];
        let mut said = 0;
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut answers = Vec::new();
            for b in &buf[..n] {
                splitter.push(*b, &mut |piece| answers.push(improv.answer(piece, &running)));
            }
            for (bytes, effect) in answers {
                // A log line first, as the firmware prints them any time.
                said += 1;
                writer.write_all(format!("I ({said}) halyard_node: a log line, not a packet\r\n").as_bytes()).unwrap();
                writer.write_all(&bytes).unwrap();
                match effect {
                    Effect::Join(config) => {
                        std::thread::sleep(Duration::from_millis(300));
                        improv.set_url(Some("mqtt://192.168.1.2:1883".into()));
                        writer.write_all(&improv.joined()).unwrap();
                        joined_with = Some(config);
                    }
                    // A scan takes a couple of seconds on the radio; log lines meanwhile.
                    Effect::Scan => {
                        std::thread::sleep(Duration::from_millis(500));
                        writer.write_all(b"I (9) halyard_node: scanning\r\n").unwrap();
                        let heard = [
                            Network { ssid: "Marina Guest", rssi: -78, secured: false },
                            Network { ssid: "Boat Wi-Fi", rssi: -44, secured: true },
                            Network { ssid: "", rssi: -60, secured: true },
                            Network { ssid: "Marina Guest", rssi: -71, secured: false },
                        ];
                        writer.write_all(&scanned(&heard)).unwrap();
                    }
                    Effect::None => {}
                }
            }
        }
        joined_with
    });

    // The client gives up by itself after 20 s; a client that hangs anyway is killed at 40 s.
    let mut client = client;
    let started = std::time::Instant::now();
    while client.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(40) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = client.kill();
    let out = client.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let steps: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    drop(tty);
    let joined_with = board.join().unwrap();
    let step = |name: &str| {
        steps.iter().find(|s| s["step"] == name).unwrap_or_else(|| panic!("no {name}: {steps:?}\n{stderr}"))["value"]
            .clone()
    };
    let info = step("info");
    assert_eq!(info["firmware"], "Halyard node", "{info}");
    assert_eq!(info["version"], "0.1.0");
    assert_eq!(info["chipFamily"], "ESP32-C3");
    assert_eq!(info["name"], "halyard-node-a1b2c3");
    assert_eq!(step("state"), 2, "ready to be provisioned");
    let provisioned = step("provisioned");
    assert_eq!(provisioned["state"], 4, "{provisioned}");
    assert_eq!(provisioned["url"], "mqtt://192.168.1.2:1883");
    // The client's own reading of the list: each network once with its strongest access point,
    // the hidden one left out, secured or not.
    let scan = step("scan");
    let networks: Vec<(&str, i64, bool)> = scan
        .as_array()
        .unwrap_or_else(|| panic!("{scan}"))
        .iter()
        .map(|n| (n["name"].as_str().unwrap(), n["rssi"].as_i64().unwrap(), n["secured"].as_bool().unwrap()))
        .collect();
    assert_eq!(networks, [("Boat Wi-Fi", -44, true), ("Marina Guest", -71, false)], "{scan}");
    assert_eq!(step("state-again")["url"], "mqtt://192.168.1.2:1883");
    let config = joined_with.expect("the board was asked to join");
    assert_eq!(config.get("wifi_ssid"), Some("Boat Wi-Fi"));
    assert_eq!(config.get("wifi_password"), Some("a-long-passphrase"));
    assert!(!steps.iter().any(|s| s["step"] == "error" || s["step"] == "timeout"), "{steps:?}\n{stderr}");
}
