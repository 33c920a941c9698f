//! Flashing a node from the dashboard: the images `scripts/firmware.sh` makes (target/firmware/web)
//! are checked by Espressif's own esptool (`image-info`: checksum, SHA-256, chip, flash settings,
//! and the ELF each app came from) and against the checked-in partition table, read here from its
//! documented binary layout; then `halyard run` serves them, and headless Chromium opens the
//! "Add a node" page (web/tests/node.mjs): ESP Web Tools offers the install, and its dialog
//! downloads the manifest and offers the firmware. Web Serial itself (the port chooser, the
//! flashing) cannot be driven without a board; tests/node_improv.rs covers the provisioning that
//! follows a flash.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value as Json;
use support::{browser, free_port, Halyard, Scratch};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The images, or a failure that says how to make them.
fn images() -> PathBuf {
    let dir = root().join("target/firmware/web");
    assert!(
        dir.join("manifest.json").is_file(),
        "{} has no flash images: run scripts/firmware.sh (scripts/test.sh does, before the tests)",
        dir.display()
    );
    dir
}

fn esptool() -> PathBuf {
    let tool = root().join("target/esptool-venv/bin/esptool");
    assert!(tool.exists(), "{}: esptool from PyPI is needed (scripts/firmware.sh installs it)", tool.display());
    tool
}

/// `esptool image-info` of one image, as text.
fn image_info(file: &Path) -> String {
    let out = Command::new(esptool()).arg("image-info").arg(file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "esptool image-info {}:\n{text}", file.display());
    text
}

fn line<'a>(info: &'a str, key: &str) -> &'a str {
    info.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_else(|| panic!("no {key:?} in\n{info}")).trim()
}

fn number(text: &str) -> u32 {
    let t = text.trim();
    t.strip_prefix("0x").map_or_else(|| t.parse().unwrap(), |h| u32::from_str_radix(h, 16).unwrap())
}

fn sha256(file: &Path) -> String {
    let out = Command::new("sha256sum").arg(file).output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_owned()
}

fn md5(bytes: &[u8]) -> String {
    let mut child = Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_owned()
}

/// partitions.csv's rows: (name, type, subtype, offset, size).
fn csv_rows() -> Vec<(String, String, String, u32, u32)> {
    std::fs::read_to_string(root().join("firmware/halyard-node/partitions.csv"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let c: Vec<&str> = l.split(',').map(str::trim).collect();
            (c[0].into(), c[1].into(), c[2].into(), number(c[3]), number(c[4]))
        })
        .collect()
}

#[test]
fn the_flash_images_are_what_the_bootloader_and_esp_web_tools_expect() {
    let dir = images();
    let manifest: Json = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let rows = csv_rows();
    let row = |name: &str| rows.iter().find(|r| r.0 == name).unwrap().clone();
    let (otadata, ota_0) = (row("otadata"), row("ota_0"));

    // The partition table, decoded from ESP-IDF's documented layout (32-byte entries, an MD5
    // entry, 0xFF to 0xC00), says what partitions.csv says.
    let table = std::fs::read(dir.join("partitions.bin")).unwrap();
    assert_eq!(table.len(), 0xC00);
    let mut entries = 0;
    while table[entries * 32..entries * 32 + 2] == [0xAA, 0x50] {
        let e = &table[entries * 32..entries * 32 + 32];
        let r = &rows[entries];
        let (kind, sub) = (e[2], e[3]);
        let offset = u32::from_le_bytes(e[4..8].try_into().unwrap());
        let size = u32::from_le_bytes(e[8..12].try_into().unwrap());
        let name = String::from_utf8_lossy(&e[12..28]).trim_end_matches('\0').to_owned();
        assert_eq!((name.as_str(), offset, size), (r.0.as_str(), r.3, r.4));
        let expected = match (r.1.as_str(), r.2.as_str()) {
            ("data", "nvs") => (1, 2),
            ("data", "ota") => (1, 0),
            ("data", "phy") => (1, 1),
            ("app", "factory") => (0, 0),
            ("app", s) => (0, 0x10 + s.strip_prefix("ota_").unwrap().parse::<u8>().unwrap()),
            other => panic!("unexpected partition kind {other:?}"),
        };
        assert_eq!((kind, sub), expected, "{name}");
        entries += 1;
    }
    assert_eq!(entries, rows.len(), "every row of partitions.csv is in the table");
    let md5_entry = &table[entries * 32..entries * 32 + 32];
    assert_eq!(md5_entry[..16], [[0xEB, 0xEB].as_slice(), &[0xFF; 14]].concat()[..]);
    let digest: String = md5_entry[16..].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(digest, md5(&table[..entries * 32]), "the table's MD5 entry");
    assert!(table[(entries + 1) * 32..].iter().all(|&b| b == 0xFF));

    // A blank otadata: the bootloader then starts ota_0, where the app goes.
    let blank = std::fs::read(dir.join("otadata.bin")).unwrap();
    assert!(blank.len() as u32 == otadata.4 && blank.iter().all(|&b| b == 0xFF));

    let builds = manifest["builds"].as_array().unwrap();
    let chips: Vec<&str> = builds.iter().map(|b| b["chipFamily"].as_str().unwrap()).collect();
    assert_eq!(chips, ["ESP32-C3", "ESP32-C6"]);
    for (build, (chip, id, target)) in builds
        .iter()
        .zip([("ESP32-C3", 5, "riscv32imc-unknown-none-elf"), ("ESP32-C6", 13, "riscv32imac-unknown-none-elf")])
    {
        let parts: Vec<(String, u32)> = build["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["path"].as_str().unwrap().to_owned(), p["offset"].as_u64().unwrap() as u32))
            .collect();
        let offsets: Vec<u32> = parts.iter().map(|p| p.1).collect();
        assert_eq!(offsets, [0, 0x8000, otadata.3, ota_0.3], "{chip}: bootloader, table, otadata, app");
        // Nothing overlaps, and nvs (the node's settings) is never written: an update keeps them.
        let nvs = row("nvs");
        for (i, (path, offset)) in parts.iter().enumerate() {
            let end = offset + std::fs::metadata(dir.join(path)).unwrap().len() as u32;
            if let Some(next) = parts.get(i + 1) {
                assert!(end <= next.1, "{chip}: {path} runs into {}", next.0);
            }
            assert!(end <= nvs.3 || *offset >= nvs.3 + nvs.4, "{chip}: {path} writes over nvs");
        }
        assert!(
            std::fs::metadata(dir.join(&parts[3].0)).unwrap().len() as u32 <= ota_0.4,
            "{chip}: the app fits its slot"
        );

        for (i, part) in [(0, "bootloader"), (3, "app")] {
            let info = image_info(&dir.join(&parts[i].0));
            assert!(line(&info, "Checksum:").ends_with("(valid)"), "{chip} {part}:\n{info}");
            assert!(line(&info, "Validation hash:").ends_with("(valid)"), "{chip} {part}:\n{info}");
            assert!(line(&info, "Chip ID:").starts_with(&format!("{id} ")), "{chip} {part}:\n{info}");
            assert_eq!(line(&info, "Flash size:"), "4MB", "{chip} {part}");
            assert_eq!(line(&info, "Flash mode:"), "DIO", "{chip} {part}");
            if part == "app" {
                assert_eq!(line(&info, "Project name:"), "halyard-node");
                assert_eq!(line(&info, "App version:"), manifest["version"].as_str().unwrap());
                let elf = root().join("target/firmware").join(target).join("release/halyard-node");
                assert_eq!(
                    line(&info, "ELF file SHA256:"),
                    sha256(&elf),
                    "{chip}: the app comes from this build's ELF"
                );
                assert_eq!(line(&info, "MMU page size:"), "64 KB", "{chip}");
            }
        }
    }
}

fn page(base: &str, out: &Path, mode: &str) -> Json {
    let run = Command::new("node")
        .arg(support::web_dir().join("tests/node.mjs"))
        .args([base, out.to_str().unwrap(), mode])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "web/tests/node.mjs {mode} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

#[test]
fn the_add_a_node_page_offers_the_install_in_headless_chromium() {
    let images = images();
    browser();
    let _serial = support::one_at_a_time();
    let scratch = Scratch::new("node-install");
    let firmware = scratch.path("firmware");
    std::fs::create_dir_all(&firmware).unwrap();
    for entry in std::fs::read_dir(&images).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), firmware.join(entry.file_name())).unwrap();
    }
    let (web, broker) = (free_port(), free_port());
    let config = scratch.path("halyard.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\n[mqtt]\nmdns = false\n[broker]\nlisten = \"127.0.0.1:{broker}\"\n\
             [metrics]\nlisten = \"\"\n[web]\nlisten = \"127.0.0.1:{web}\"\n",
            scratch.0.display()
        ),
    )
    .unwrap();
    let run = Halyard::start(&["run", "-c", config.to_str().unwrap()]);
    assert!(run.wait_log(Duration::from_secs(20), "dashboard on"), "{}", run.log());

    // What the page is given, and the files themselves, byte for byte.
    let (status, _, body) = support::get(web, "/api/firmware", "");
    let api: Json = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200);
    assert_eq!(api["available"], true, "{api}");
    assert_eq!(api["folder"], firmware.display().to_string());
    let manifest: Json = serde_json::from_slice(&std::fs::read(images.join("manifest.json")).unwrap()).unwrap();
    for build in manifest["builds"].as_array().unwrap() {
        for part in build["parts"].as_array().unwrap() {
            let name = part["path"].as_str().unwrap();
            let (status, _, bytes) = support::get(web, &format!("/firmware/{name}"), "");
            assert_eq!(status, 200, "{name}");
            assert!(bytes == std::fs::read(images.join(name)).unwrap(), "{name} is served as built");
        }
    }
    std::fs::write(scratch.path("secret.txt"), "not for the page").unwrap();
    for escape in ["/firmware/..%2Fsecret.txt", "/firmware/%2E%2E%2Fhalyard.toml", "/firmware/.hidden"] {
        assert_eq!(support::get(web, escape, "").0, 404, "{escape}");
    }

    let base = format!("http://127.0.0.1:{web}");
    let shots = root().join("target/web-screenshots/node");
    let seen = page(&base, &shots, "install");
    assert_eq!(seen["serial"], true, "Chromium offers Web Serial: {seen}");
    assert_eq!(seen["node"]["button"], "install", "{seen}");
    assert_eq!(seen["supported"], true, "{seen}");
    assert_eq!(seen["node"]["version"], manifest["version"], "{seen}");
    assert_eq!(seen["node"]["chips"], serde_json::json!(["ESP32-C3", "ESP32-C6"]), "{seen}");
    assert_eq!(seen["chips"].as_array().unwrap().len(), 2, "{seen}");
    assert_eq!(seen["dialog"], true, "{seen}");
    assert!(seen["offer"].as_str().unwrap().contains("Install Halyard node"), "{seen}");
    // The dialog fetched the manifest (the button itself fetches nothing until pressed).
    assert!(seen["requests"].as_array().unwrap().iter().any(|r| r == "/firmware/manifest.json"), "{seen}");

    // Without images the page says where they go.
    std::fs::remove_dir_all(&firmware).unwrap();
    let (_, _, body) = support::get(web, "/api/firmware", "");
    let api: Json = serde_json::from_slice(&body).unwrap();
    assert_eq!(api["available"], false, "{api}");
    assert!(api["searched"].as_array().unwrap().iter().any(|d| d == &firmware.display().to_string()), "{api}");
    let seen = page(&base, &shots, "missing");
    assert!(seen["missing"].as_str().unwrap().contains("No firmware images"), "{seen}");
    assert!(seen["text"].as_str().unwrap().contains(&firmware.display().to_string()), "{seen}");
    assert!(seen["text"].as_str().unwrap().contains("scripts/firmware.sh --install"), "{seen}");
    run.stop();
}
