//! The configuration setup writes: a commented `halyard.toml` with the sources and devices found,
//! the settings of a previous file carried over, and the keys in their own file (mode 0600).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

/// A device to name in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its name in topics (`house-bank`).
    pub name: String,
    /// `solar`, `battery`, `inverter`, `charger` …
    pub role: &'static str,
    /// What it is and where it was heard, for the comment above it.
    pub comment: String,
    /// How the gateway recognises it: `mac = "…"`, `serial = "…"`, `masterbus = "…"`.
    pub identity: (&'static str, String),
}

/// Everything setup decided.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// `data_dir` (the package's state directory), if it is to be written.
    pub data_dir: Option<String>,
    /// The keys file, if any key was given.
    pub keys_file: Option<String>,
    /// Scan Bluetooth on this adapter (`Some(None)`: the default adapter).
    pub bluetooth: Option<Option<String>>,
    /// VE.Direct ports.
    pub vedirect: Vec<String>,
    /// MasterBus sources (`slcan:/dev/…`, `ecan:…`, `socketcan:can0`).
    pub masterbus: Vec<String>,
    /// NMEA sources (`serial:/dev/…@4800`, `gpsd`).
    pub nmea: Vec<String>,
    /// Meshtastic radios (`serial:/dev/…`).
    pub meshtastic: Vec<String>,
    /// The devices.
    pub devices: Vec<Device>,
}

/// Tables setup owns; anything else in a previous file is carried over as it was.
const OWNED: &[&str] = &["keys_file", "bluetooth", "vedirect", "masterbus", "nmea", "meshtastic", "device"];

/// The role and the name stem for a kind of device.
pub fn role_for(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "solar" => ("solar", "solar"),
        "battery" => ("battery", "house-bank"),
        "inverter" => ("inverter", "inverter"),
        "charger" => ("charger", "charger"),
        "dcdc" => ("charger", "dcdc"),
        "energy_meter" => ("load", "energy-meter"),
        _ => ("other", "device"),
    }
}

/// A name not taken yet: `stem`, then `stem-2`, `stem-3` …
pub fn unique_name(stem: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == stem) {
        return stem.to_owned();
    }
    (2..).map(|n| format!("{stem}-{n}")).find(|n| !taken.contains(n)).expect("unbounded")
}

fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// The configuration file's text. `previous` is the file it replaces, if any.
pub fn config_text(plan: &Plan, previous: Option<&toml::Table>) -> Result<String> {
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "# Halyard configuration, written by `halyard setup` (run it again to redo this file;")?;
    writeln!(w, "# the file it replaces is kept beside it as halyard.toml.setup-backup). Every setting")?;
    writeln!(w, "# has a default; the commented sample in /usr/share/doc/halyard (or packaging/halyard.toml")?;
    writeln!(w, "# in the source) lists them all. Check with:  halyard run --check -c <this file>")?;
    writeln!(w)?;
    if let Some(dir) = &plan.data_dir {
        writeln!(w, "# The history store and the MQTT outbox (the service's StateDirectory).")?;
        writeln!(w, "data_dir = {}", quoted(dir))?;
    }
    if let Some(keys) = &plan.keys_file {
        writeln!(w, "# Instant Readout keys, readable by the gateway only (mode 0600).")?;
        writeln!(w, "keys_file = {}", quoted(keys))?;
    }
    let keep = |k: &str| !(OWNED.contains(&k) || k == "data_dir" && plan.data_dir.is_some());
    let carried: toml::Table = previous
        .map(|t| t.iter().filter(|(k, _)| keep(k)).map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if !carried.is_empty() {
        writeln!(w)?;
        writeln!(w, "# Carried over from the previous file.")?;
        w.push_str(&toml::to_string(&carried).context("writing the carried-over settings")?);
    }
    writeln!(w)?;
    match &plan.bluetooth {
        Some(adapter) => {
            writeln!(w, "# Victron Instant Readout adverts through BlueZ.")?;
            writeln!(w, "[bluetooth]")?;
            writeln!(w, "enabled = true")?;
            if let Some(a) = adapter {
                writeln!(w, "adapter = {}", quoted(a))?;
            }
        }
        None => {
            writeln!(w, "[bluetooth]")?;
            writeln!(w, "enabled = false")?;
        }
    }
    for port in &plan.vedirect {
        writeln!(w, "\n# VE.Direct, 19,200 baud, read-only.\n[[vedirect]]\nport = {}", quoted(port))?;
    }
    for source in &plan.masterbus {
        writeln!(
            w,
            "\n# MasterBus, listen-only (the adapter never drives the bus).\n[[masterbus]]\nsource = {}",
            quoted(source)
        )?;
    }
    for source in &plan.nmea {
        writeln!(
            w,
            "\n# NMEA 0183 (GPS, wind, depth, AIS) as the `nav` device.\n[[nmea]]\nsource = {}",
            quoted(source)
        )?;
    }
    for source in &plan.meshtastic {
        writeln!(w, "\n# A Meshtastic radio (stream API).\n[[meshtastic]]\nsource = {}", quoted(source))?;
    }
    for d in &plan.devices {
        writeln!(w, "\n# {}\n[[device]]\nname = {}\nrole = {}", d.comment, quoted(&d.name), quoted(d.role))?;
        writeln!(w, "{} = {}", d.identity.0, quoted(&d.identity.1))?;
    }
    Ok(out)
}

/// The keys file's text: `previous` (its other keys, the network key, the MQTT password) with
/// `keys` added or replaced.
pub fn keys_text(previous: Option<&toml::Table>, keys: &[(String, [u8; 16])]) -> Result<String> {
    let mut table = previous.cloned().unwrap_or_default();
    let entry = table.entry("keys").or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let toml::Value::Table(by_device) = entry else { anyhow::bail!("`keys` in the keys file is not a table") };
    for (mac, key) in keys {
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        by_device.insert(mac.clone(), toml::Value::String(hex));
    }
    let mut out =
        String::from("# Halyard's secrets (mode 0600, readable by the gateway only). Written by `halyard setup`.\n");
    out.push_str(&toml::to_string(&table).context("writing the keys file")?);
    Ok(out)
}

/// Write `text` to `path` with `mode`, through a temporary file renamed over it, owned by the
/// `halyard` user when root writes a file for the packaged service.
pub fn write_file(path: &Path, text: &str, mode: u32, for_service: bool) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(".{}.setup-tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("halyard")));
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("writing {} (run setup with sudo for /etc/halyard)", tmp.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    if for_service {
        if let Some((uid, gid)) = service_user() {
            std::os::unix::fs::chown(&tmp, Some(uid), Some(gid)).with_context(|| format!("chown {}", tmp.display()))?;
        }
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// The packaged service's user, when this runs as root and the user exists.
fn service_user() -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    if std::fs::metadata("/proc/self").ok()?.uid() != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() > 3 && f[0] == "halyard").then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_the_file_parses() {
        let taken = vec!["solar".to_string(), "solar-2".to_string()];
        assert_eq!(unique_name("solar", &taken), "solar-3");
        assert_eq!(unique_name("house-bank", &taken), "house-bank");
        let plan = Plan {
            data_dir: Some("/var/lib/halyard".into()),
            keys_file: Some("/etc/halyard/keys.toml".into()),
            bluetooth: Some(None),
            vedirect: vec!["/dev/serial/by-id/usb-VictronEnergy_BV_VE_Direct_cable_VE1-if00-port0".into()],
            masterbus: vec!["slcan:/dev/ttyACM0".into()],
            nmea: vec!["serial:/dev/ttyUSB1@4800".into()],
            meshtastic: vec!["serial:/dev/ttyACM1".into()],
            devices: vec![Device {
                name: "solar".into(),
                role: "solar",
                comment: "SmartSolar MPPT 100|30 \"quoted\"".into(),
                identity: ("mac", "C0:3B:12:34:56:78".into()),
            }],
        };
        let previous: toml::Table =
            toml::from_str("[mqtt]\nurl = \"mqtt://broker:1883\"\n[[device]]\nname = \"old\"\n").unwrap();
        let text = config_text(&plan, Some(&previous)).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(table["mqtt"]["url"].as_str(), Some("mqtt://broker:1883"), "{text}");
        assert_eq!(table["device"].as_array().unwrap().len(), 1, "the old devices are replaced: {text}");
        assert_eq!(table["nmea"][0]["source"].as_str(), Some("serial:/dev/ttyUSB1@4800"));

        let keys = keys_text(
            Some(&toml::from_str("network_key = \"x\"\n[keys]\n\"AA:BB:CC:DD:EE:FF\" = \"00\"\n").unwrap()),
            &[("C0:3B:12:34:56:78".into(), [0xAB; 16])],
        )
        .unwrap();
        let keys: toml::Table = toml::from_str(&keys).unwrap();
        assert_eq!(keys["network_key"].as_str(), Some("x"));
        assert_eq!(keys["keys"]["C0:3B:12:34:56:78"].as_str(), Some("ab".repeat(16).as_str()));
        assert!(keys["keys"].get("AA:BB:CC:DD:EE:FF").is_some());
    }
}
