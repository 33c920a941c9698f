//! The `halyard decode` contract (DESIGN.md §4.1), through the real binary.

use std::process::Command;

use serde_json::Value;

const MPPT_KEY: &str = "adeccb947395801a4dd45a2eaa44bf17";
const MPPT_ADV: &str = "100242a0016207adceb37b605d7e0ee21b24df5c";

fn halyard(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_halyard")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn fixture(name: &str) -> String {
    format!("{}/../halyard-proto/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn victron_ble_prints_the_contract() {
    let (code, out, _) = halyard(&["decode", "victron-ble", "--key", MPPT_KEY, MPPT_ADV]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["record_type"], "solar_charger");
    assert_eq!(v["model_id"], 0xA042);
    let values = &v["values"];
    assert_eq!(values["battery_voltage"], 13.88);
    assert_eq!(values["battery_charging_current"], 1.4);
    assert_eq!(values["yield_today"], 0.03);
    assert_eq!(values["solar_power"], 19);
    assert_eq!(values["charge_state"], 4);
    assert_eq!(values["charge_state_name"], "absorption");
    // The company id prefix is accepted too.
    let (code, out2, _) = halyard(&["decode", "victron-ble", "--key", MPPT_KEY, &format!("e102{MPPT_ADV}")]);
    assert_eq!((code, out2), (0, out));
}

#[test]
fn not_available_is_null() {
    // Smart Battery Sense: current 0x1FFFFF is "not available".
    let (code, out, _) = halyard(&[
        "decode",
        "victron-ble",
        "--key",
        "0da694539597f9cf6c613cde60d7bf05",
        "1000a4a3025f150d8dcbff517f30eb65e76b22a04ac4e1",
    ]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["values"]["current"], Value::Null);
    assert_eq!(v["values"]["temperature_c"], 22.5);
    assert_eq!(v["product_name"], "Smart Battery Sense");
}

#[test]
fn wrong_key_exits_3_and_never_prints_the_key() {
    let key = "ff00112233445566778899aabbccddee";
    let (code, out, err) =
        halyard(&["decode", "victron-ble", "--key", key, "100289a302bb01af129087600b9b97bc2c32867c8238da"]);
    assert_eq!(code, 3);
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("0xAF"), "names the key-check byte: {err}");
    assert!(!err.to_lowercase().contains("00112233"), "{err}");
}

#[test]
fn short_key_gets_a_helpful_message() {
    let (code, _, err) = halyard(&["decode", "victron-ble", "--key", &MPPT_KEY[1..], MPPT_ADV]);
    assert_ne!(code, 0);
    assert!(err.contains("31 hex digits"), "{err}");
    assert!(!err.contains(&MPPT_KEY[1..]), "{err}");
}

#[test]
fn malformed_advert_is_an_error_not_a_panic() {
    for adv in ["", "10", "0201ffff", "zz"] {
        let (code, _, err) = halyard(&["decode", "victron-ble", "--key", MPPT_KEY, adv]);
        assert!(code == 1 || code == 2, "{adv}: {code} {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn venetworking_decodes_the_shared_vectors_in_order() {
    let (code, out, _) = halyard(&[
        "decode",
        "venetworking",
        "--key",
        "000102030405060708090a0b0c0d0e0f",
        "--network-id",
        "010a",
        "e1020101ec259a992a00000003008038e61f",
        "e1020201ec259a992b0000005ab92d06c7f403f2f7c24507684adf73",
    ]);
    assert_eq!(code, 0);
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["serial"], "HQyywwMAEI4");
    assert_eq!(lines[0]["overflow"], 3);
    assert_eq!(lines[1]["values"]["network_panel_power"], 1234.56);
    assert_eq!(lines[1]["values"]["network_device_state_name"], "float");
    assert_eq!(lines[1]["registers"][0]["raw"], 123456);
}

#[test]
fn venetworking_wrong_key_exits_3() {
    let (code, out, _) = halyard(&[
        "decode",
        "venetworking",
        "--key",
        "00000000000000000000000000000000",
        "--network-id",
        "010a",
        "e1020101ec259a992a00000003008038e61f",
    ]);
    assert_eq!(code, 3);
    assert!(out.contains("failed authentication"), "{out}");
}

#[test]
fn vedirect_reports_checksum_status_per_block() {
    let (code, out, _) =
        halyard(&["decode", "vedirect", &fixture("vedirect/okm165_ve_direct_mppt_a053_with_async_hex.bin")]);
    assert_eq!(code, 0);
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let text: Vec<&str> =
        lines.iter().filter(|l| l["kind"] == "text").map(|l| l["checksum"].as_str().unwrap()).collect();
    assert_eq!(text, ["partial", "mismatch"]);
    let hex = lines.iter().filter(|l| l["kind"] == "hex" && l["checksum"] == "valid").count();
    assert_eq!(hex, 7);
    let temp = lines.iter().find(|l| l["register"] == "0xEDEC").unwrap();
    assert_eq!(temp["values"]["battery_temperature"], 20.75);
}

#[test]
fn vedirect_reads_standard_input() {
    use std::io::Write;
    let bytes = std::fs::read(fixture("vedirect/karioja_bvm702.dump")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_halyard"))
        .args(["decode", "vedirect", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let valid = text.lines().filter(|l| l.contains("\"checksum\":\"valid\"")).count();
    assert_eq!(valid, 906);
}

/// Golden files: `halyard decode masterbus` on every public capture, compared line by line with
/// tests/golden/masterbus/<capture>.jsonl (regenerate with `UPDATE_GOLDEN=1 cargo test`). The
/// summary line on standard error (frames, error frames, unclassified) is part of the golden file.
#[test]
fn masterbus_captures_match_their_golden_files() {
    let dir = format!("{}/../halyard-proto/tests/fixtures/masterbus", env!("CARGO_MANIFEST_DIR"));
    let golden = format!("{}/tests/golden/masterbus", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names.len(), 13);
    for name in names {
        let (code, out, err) = halyard(&["decode", "masterbus", &format!("{dir}/{name}")]);
        assert_eq!(code, 0, "{name}: {err}");
        let summary = err.lines().find(|l| l.contains("summary")).unwrap();
        let actual = format!("{out}{summary}\n");
        let path = format!("{golden}/{name}.jsonl");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(&path, &actual).unwrap();
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{path} missing"));
        assert!(actual == expected, "{name} differs from {path}");
    }
}

#[test]
fn masterbus_decode_contract_and_bad_input() {
    let pcap = fixture("masterbus/date_time.pcap");
    let (code, out, _) = halyard(&["decode", "masterbus", &pcap]);
    assert_eq!(code, 0);
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["device"], "0x31297");
    assert_eq!(first["item"], "0x0009");
    assert_eq!(first["value"], 67151.0);
    assert_eq!(first["text"], "18:39:11");
    assert!(first["ts"].as_f64().unwrap() > 1.6e9);
    // A capture cut in the middle of a block: everything before the cut decodes, the cut is counted.
    let bytes = std::fs::read(&pcap).unwrap();
    let cut = std::env::temp_dir().join(format!("halyard-cut-{}.pcap", std::process::id()));
    std::fs::write(&cut, &bytes[..bytes.len() / 2 + 7]).unwrap();
    let (code, out_cut, err) = halyard(&["decode", "masterbus", cut.to_str().unwrap()]);
    std::fs::remove_file(&cut).unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&out_cut) && !out_cut.is_empty());
    assert!(err.contains("\"bad_records\":1"), "{err}");
    assert!(err.contains("file ends inside the block"), "{err}");
    // Not a capture at all.
    let (code, _, err) = halyard(&["decode", "masterbus", &fixture("vedirect/karioja_bvm702.dump")]);
    assert_eq!(code, 1);
    assert!(err.contains("not a pcapng, pcap or candump log"), "{err}");
}

/// `halyard decode nmea`: one line out per line in, each RMC's position as the sentence's own
/// text says (read here by string splitting), the log's bad checksum reported with its kind.
#[test]
fn nmea_decode_contract() {
    let path = fixture("nmea/going.to.groix.head.nmea");
    let text = std::fs::read_to_string(&path).unwrap();
    let (code, out, err) = halyard(&["decode", "nmea", &path]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), text.lines().count());
    let mut rmc = 0;
    for (input, j) in text.lines().zip(&lines) {
        let f: Vec<&str> = input.trim_end().split(',').collect();
        if f[0].ends_with("RMC") && f[2] == "A" && j["error"].is_null() {
            let deg = |v: &str, d: usize, hemi: &str| {
                let x = v[..d].parse::<f64>().unwrap() + v[d..].parse::<f64>().unwrap() / 60.0;
                if hemi == "S" || hemi == "W" {
                    -x
                } else {
                    x
                }
            };
            assert!((j["values"]["lat"].as_f64().unwrap() - deg(f[3], 2, f[4])).abs() < 1e-9, "{input} {j}");
            assert!((j["values"]["lon"].as_f64().unwrap() - deg(f[5], 3, f[6])).abs() < 1e-9, "{input} {j}");
            assert_eq!(j["values"]["valid"], true);
            rmc += 1;
        }
    }
    assert!(rmc > 100, "{rmc}");
    // A corrupted line: the error, its kind, and the line number.
    let bad = std::env::temp_dir().join(format!("halyard-bad-{}.nmea", std::process::id()));
    let body = "GPGLL,4916.45,N,12311.12,W,225444,A";
    let sum = body.bytes().fold(0u8, |a, b| a ^ b);
    let wrong = sum.wrapping_add(1);
    std::fs::write(&bad, format!("${body}*{sum:02X}\r\n${body}*{wrong:02X}\r\ngarbage\r\n")).unwrap();
    let (code, out, _) = halyard(&["decode", "nmea", bad.to_str().unwrap()]);
    std::fs::remove_file(&bad).unwrap();
    assert_eq!(code, 0);
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["values"]["lat"].as_f64().map(|v| (v * 1e4).round()), Some(492_742.0));
    assert_eq!((lines[1]["line"].as_u64(), lines[1]["kind"].as_str()), (Some(2), Some("checksum")));
    assert_eq!(lines[2]["kind"], "not_a_sentence");
}

/// `halyard decode meshtastic`: the stream's frames (the official package's bytes), our node,
/// the node database, and every packet with its hops and what it says.
#[test]
fn meshtastic_decode_contract() {
    let path = format!("{}/tests/fixtures/meshtastic/stream_fromradio.bin", env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = halyard(&["decode", "meshtastic", "--logs", &path]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0], serde_json::json!({ "kind": "my_info", "node": "!a1b2c3d4" }));
    let names: Vec<&str> =
        lines.iter().filter(|l| l["kind"] == "node_info").filter_map(|l| l["long_name"].as_str()).collect();
    assert!(names.contains(&"Lille Oe dinghy") && names.contains(&"Hill node"), "{names:?}");
    assert!(lines.iter().any(|l| l["log"].as_str().is_some_and(|t| t.contains("[Router]"))));
    let packets: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "packet").collect();
    assert!(packets.len() > 20, "{}", packets.len());
    let hill = packets.iter().find(|p| p["from"] == "!4e11f00d" && p["says"]["position"].is_object()).unwrap();
    assert_eq!(hill["hops"], 2, "hop_start 3 − hop_limit 1");
    assert!(packets.iter().any(|p| p["says"]["range_test_seq"].is_u64()));
    // Without --logs, the debug text is left out.
    let (_, quiet, _) = halyard(&["decode", "meshtastic", &path]);
    assert_eq!(quiet.lines().count(), lines.iter().filter(|l| l["log"].is_null()).count());
}
