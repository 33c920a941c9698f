//! `halyard setup`: the first run on a boat. It finds what is plugged in and what is heard —
//! serial ports by USB id and by what speaks on them, CAN links, Bluetooth adapters, gpsd, the
//! Victron devices advertising nearby — asks for each Victron device's key and checks it against
//! the device's own adverts, proposes names and roles, writes a commented configuration (keys in
//! their own 0600 file), and ends with `halyard run --check`'s view of it.
//!
//! `find` reads sysfs, `probe` recognises protocols on a port, `heard` collects Victron adverts
//! and checks keys, `write` writes the files; this module asks the questions.

pub mod find;
pub mod heard;
pub mod probe;
pub mod write;

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::time::Instant;

use find::{Hint, SerialPort};
use heard::{Devices, Heard};
use probe::{Found, MasterBusDevice, Outcome};

/// `halyard setup`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file to write (the one the service reads).
    #[arg(short, long, env = "HALYARD_CONFIG", default_value = "/etc/halyard/halyard.toml")]
    config: PathBuf,
    /// How long to listen for Bluetooth adverts and bus traffic.
    #[arg(long, default_value_t = 20, value_name = "N")]
    listen_seconds: u64,
    /// Take every default without asking (for scripts): keys only from --key.
    #[arg(long)]
    yes: bool,
    /// A serial port to probe besides the USB ones found (a Raspberry Pi's UART: /dev/serial0).
    #[arg(long = "port", value_name = "PATH")]
    ports: Vec<String>,
    /// Only the ports given with --port: no search for USB serial ports.
    #[arg(long)]
    only_given_ports: bool,
    /// A CAN-Ethernet gateway to listen to (ECAN-E01, `host[:port]`).
    #[arg(long = "ecan", value_name = "HOST")]
    ecan: Vec<String>,
    /// An Instant Readout key: `MAC=KEY` (32 hex digits), checked like a typed one.
    #[arg(long = "key", value_name = "MAC=KEY")]
    keys: Vec<String>,
    /// The Bluetooth adapter (default: the system's default).
    #[arg(long)]
    adapter: Option<String>,
    /// Take the Victron adverts from a Halyard recording instead of Bluetooth (a capture made
    /// elsewhere; the tests).
    #[arg(long, value_name = "FILE")]
    adverts: Option<PathBuf>,
}

/// What the survey found.
struct Survey {
    ports: Vec<(SerialPort, Outcome)>,
    can: Vec<(String, Outcome)>,
    adapters: Vec<String>,
    gpsd: bool,
    ble: Devices,
    ble_problem: Option<String>,
    adverts_from: Option<PathBuf>,
}

/// Run setup.
pub fn command(args: Args) -> Result<()> {
    let interactive = !args.yes;
    if interactive && !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        bail!("setup asks questions and needs a terminal; with --yes (and --key MAC=KEY) it takes the defaults");
    }
    let given_keys = parse_given_keys(&args.keys)?;
    let previous = read_table(&args.config)?;
    println!("Looking for devices (listening {} s) …", args.listen_seconds);
    let survey = crate::gateway::runtime()?.block_on(survey(&args));
    report(&survey);

    let mut plan = write::Plan::default();
    let mut keys: Vec<(String, [u8; 16])> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    // Victron BLE devices: a key each, checked.
    for device in survey.ble.by_mac.values() {
        let mac = heard::mac_text(&device.mac);
        let key = match given_keys.iter().find(|(m, _)| *m == device.mac) {
            Some((_, text)) => match heard::check_key(device, text) {
                Ok(key) => Some(key),
                Err(problem) => bail!("{}", heard::refusal(device, &problem)),
            },
            None if interactive => ask_key(device)?,
            None => None,
        };
        let (role, stem) = write::role_for(ble_kind(device));
        let name = ask_name(interactive, &format!("{} {mac}", device.product()), &unique_name(stem, &names))?;
        names.push(name.clone());
        let state = if key.is_some() { "key checked" } else { "no key yet: add it to the keys file" };
        plan.devices.push(write::Device {
            name,
            role,
            comment: format!("{} ({}), heard over Bluetooth; {state}", device.product(), device.record_type.name()),
            identity: ("mac", mac.clone()),
        });
        if let Some(key) = key {
            keys.push((mac, key));
        }
    }
    if !survey.ble.by_mac.is_empty() {
        plan.bluetooth = Some(args.adapter.clone());
    }
    for (port, outcome) in &survey.ports {
        let Outcome::Found(found) = outcome else { continue };
        match found {
            Found::VeDirect { product, serial, .. } => {
                plan.vedirect.push(port.path.clone());
                let (role, stem) = write::role_for(product_kind(product));
                let name = ask_name(interactive, &format!("{product} on {}", port.path), &unique_name(stem, &names))?;
                names.push(name.clone());
                let identity = match serial {
                    Some(s) => ("serial", s.clone()),
                    None => ("port", port.path.clone()),
                };
                plan.devices.push(write::Device { name, role, comment: format!("{product}, VE.Direct"), identity });
            }
            Found::Nmea { baud, .. } => plan.nmea.push(format!("serial:{}@{baud}", port.path)),
            Found::Meshtastic { .. } => plan.meshtastic.push(format!("serial:{}", port.path)),
            Found::Slcan { devices } => {
                plan.masterbus.push(format!("slcan:{}", port.path));
                name_masterbus(interactive, devices, &mut names, &mut plan)?;
            }
        }
    }
    for (spec, outcome) in &survey.can {
        if let Outcome::Found(Found::Slcan { devices }) = outcome {
            plan.masterbus.push(spec.clone());
            name_masterbus(interactive, devices, &mut names, &mut plan)?;
        }
    }
    if survey.gpsd && plan.nmea.is_empty() {
        plan.nmea.push("gpsd".into());
    }

    // Where the files go: the package's layout when the file is under /etc.
    let dir = args.config.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let packaged = args.config.starts_with("/etc");
    if packaged {
        plan.data_dir = Some("/var/lib/halyard".into());
    }
    let keys_path = previous
        .as_ref()
        .and_then(|t| t.get("keys_file"))
        .and_then(|v| v.as_str())
        .map(|p| if Path::new(p).is_relative() { dir.join(p) } else { PathBuf::from(p) })
        .unwrap_or_else(|| dir.join("keys.toml"));
    let previous_keys = if keys_path.exists() { read_table(&keys_path)? } else { None };
    if !keys.is_empty() || previous_keys.is_some() {
        plan.keys_file = Some(keys_path.display().to_string());
    }

    let text = write::config_text(&plan, previous.as_ref())?;
    if interactive {
        println!("\n{text}");
        let ok = dialoguer::Confirm::new()
            .with_prompt(format!("Write this to {}?", args.config.display()))
            .default(true)
            .interact()?;
        if !ok {
            println!("Nothing written.");
            return Ok(());
        }
    }
    if !keys.is_empty() {
        write::write_file(&keys_path, &write::keys_text(previous_keys.as_ref(), &keys)?, 0o600, packaged)?;
        println!("wrote {} key(s) to {} (mode 0600)", keys.len(), keys_path.display());
    }
    if args.config.exists() {
        let backup = dir.join("halyard.toml.setup-backup");
        std::fs::copy(&args.config, &backup)
            .with_context(|| format!("keeping the old file as {}", backup.display()))?;
        println!("kept the previous file as {}", backup.display());
    }
    write::write_file(&args.config, &text, 0o644, false)?;
    println!("wrote {}", args.config.display());

    let config = crate::config::Config::load(&args.config)
        .context("the written file does not load (a bug: please report it)")?;
    println!("\n$ halyard run --check -c {}\n{}", args.config.display(), crate::gateway::describe(&config));
    if packaged {
        println!("\nStart it now and at every boot:  sudo systemctl enable --now halyard");
    } else {
        println!("\nRun it:  halyard run -c {}", args.config.display());
    }
    Ok(())
}

fn unique_name(stem: &str, taken: &[String]) -> String {
    write::unique_name(stem, taken)
}

fn name_masterbus(
    interactive: bool,
    devices: &[MasterBusDevice],
    names: &mut Vec<String>,
    plan: &mut write::Plan,
) -> Result<()> {
    for d in devices {
        let kind = match d.kind {
            "dc_shunt" | "battery" => "battery",
            "inverter_charger" => "inverter",
            "charger" => "charger",
            _ => continue,
        };
        let (role, stem) = write::role_for(kind);
        let name =
            ask_name(interactive, &format!("{} ({}) on MasterBus", d.name, d.device), &unique_name(stem, names))?;
        names.push(name.clone());
        plan.devices.push(write::Device {
            name,
            role,
            comment: format!("{}, MasterBus {}", d.name, d.device),
            identity: ("masterbus", d.device.clone()),
        });
    }
    Ok(())
}

/// The kind of a Victron BLE device, from its record type.
fn ble_kind(device: &Heard) -> &'static str {
    use halyard_proto::victron::instant_readout::RecordType::*;
    match device.record_type {
        SolarCharger => "solar",
        BatteryMonitor | SmartLithium | LynxSmartBms | SmartBms => "battery",
        Inverter | InverterRs | VeBus | MultiRs => "inverter",
        AcCharger => "charger",
        DcDcConverter | OrionXs => "dcdc",
        DcEnergyMeter => "energy_meter",
        _ => "other",
    }
}

/// The kind of a VE.Direct product, from its name.
fn product_kind(product: &str) -> &'static str {
    let p = product.to_ascii_lowercase();
    if p.contains("mppt") || p.contains("solar") {
        "solar"
    } else if p.contains("bmv") || p.contains("shunt") {
        "battery"
    } else if p.contains("inverter") || p.contains("multi") {
        "inverter"
    } else if p.contains("charger") {
        "charger"
    } else if p.contains("orion") {
        "dcdc"
    } else {
        "other"
    }
}

fn ask_key(device: &Heard) -> Result<Option<[u8; 16]>> {
    let mac = heard::mac_text(&device.mac);
    println!(
        "\n{} {mac}: its Instant Readout key (VictronConnect: Product info → Instant readout details → Show); empty to skip",
        device.product()
    );
    let checked = device.clone();
    let text: String = dialoguer::Input::new()
        .with_prompt("key")
        .allow_empty(true)
        .validate_with(move |text: &String| -> Result<(), String> {
            if text.trim().is_empty() {
                return Ok(());
            }
            heard::check_key(&checked, text).map(|_| ()).map_err(|p| heard::refusal(&checked, &p))
        })
        .interact_text()?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(heard::check_key(device, &text).map_err(|p| anyhow::anyhow!(heard::refusal(device, &p)))?))
}

fn ask_name(interactive: bool, what: &str, proposed: &str) -> Result<String> {
    if !interactive {
        return Ok(proposed.to_owned());
    }
    let name: String = dialoguer::Input::new()
        .with_prompt(format!("name for {what}"))
        .default(proposed.to_owned())
        .validate_with(|text: &String| -> Result<(), String> {
            let ok = !text.is_empty()
                && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if ok {
                Ok(())
            } else {
                Err("lower case letters, digits, - and _ (it goes in MQTT topics)".into())
            }
        })
        .interact_text()?;
    Ok(name)
}

fn parse_given_keys(given: &[String]) -> Result<Vec<([u8; 6], String)>> {
    given
        .iter()
        .map(|g| {
            let (mac, key) = g.split_once('=').context("--key takes MAC=KEY")?;
            let mac = crate::model::Identity::parse_mac(mac)
                .with_context(|| format!("--key {mac}: not a Bluetooth address like C0:3B:12:34:56:78"))?;
            Ok((mac, key.to_owned()))
        })
        .collect()
}

fn read_table(path: &Path) -> Result<Option<toml::Table>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {} (run setup with sudo?)", path.display())),
    }
}

async fn survey(args: &Args) -> Survey {
    let started = Instant::now();
    let until = started + Duration::from_secs(args.listen_seconds);
    // Long enough for a VE.Direct device's second block (the first is usually cut).
    let step = Duration::from_millis((args.listen_seconds * 250).clamp(2_200, 3_000));
    let mut ports: Vec<SerialPort> = if args.only_given_ports { Vec::new() } else { find::serial_ports() };
    for given in &args.ports {
        let device = std::fs::canonicalize(given).map_or_else(|_| given.clone(), |p| p.display().to_string());
        if !ports.iter().any(|p| p.device == device) {
            ports.push(SerialPort {
                path: given.clone(),
                device,
                usb_id: None,
                description: String::new(),
                hint: Hint::Unknown,
            });
        }
    }
    let mut can_specs: Vec<String> = find::can_interfaces().into_iter().map(|i| format!("socketcan:{i}")).collect();
    can_specs.extend(args.ecan.iter().map(|h| format!("ecan:{h}")));
    let adapters = find::bluetooth_adapters();
    let gpsd = find::gpsd();

    let bar = indicatif::ProgressBar::new(args.listen_seconds.max(1));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} listening {pos}/{len} s {wide_bar} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let port_tasks: Vec<_> = ports
        .iter()
        .map(|p| {
            let (path, hint) = (p.device.clone(), p.hint);
            tokio::spawn(async move { probe::serial(&path, hint, step, until).await })
        })
        .collect();
    let can_tasks: Vec<_> = can_specs
        .iter()
        .map(|spec| {
            let parsed: Result<crate::sources::can::Spec, String> = spec.parse();
            tokio::spawn(async move {
                match parsed {
                    Ok(spec) => probe::can(&spec, until).await,
                    Err(e) => Outcome::Failed(e),
                }
            })
        })
        .collect();

    let mut ble = Devices::default();
    let mut ble_problem = None;
    let ble_listen = async {
        if let Some(path) = &args.adverts {
            if let Err(e) = ble.from_recording(path) {
                ble_problem = Some(format!("{e:#}"));
            }
        } else if adapters.is_empty() && args.adapter.is_none() {
            ble_problem = Some(
                "no Bluetooth adapter, so no Victron adverts (plug in a USB dongle, or check `bluetoothctl list`)"
                    .into(),
            );
        } else {
            listen_bluetooth(args.adapter.as_deref(), &mut ble, &mut ble_problem, until).await;
        }
    };
    let ticker = async {
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(250)).await;
            bar.set_position(started.elapsed().as_secs().min(args.listen_seconds));
        }
    };
    tokio::join!(ble_listen, ticker);
    let mut probed = Vec::new();
    for (port, task) in ports.into_iter().zip(port_tasks) {
        let outcome = task.await.unwrap_or_else(|e| Outcome::Failed(format!("probe failed: {e}")));
        probed.push((port, outcome));
    }
    let mut can = Vec::new();
    for (spec, task) in can_specs.into_iter().zip(can_tasks) {
        can.push((spec, task.await.unwrap_or_else(|e| Outcome::Failed(format!("probe failed: {e}")))));
    }
    bar.finish_and_clear();
    Survey { ports: probed, can, adapters, gpsd, ble, ble_problem, adverts_from: args.adverts.clone() }
}

#[cfg(feature = "bluetooth")]
async fn listen_bluetooth(adapter: Option<&str>, ble: &mut Devices, problem: &mut Option<String>, until: Instant) {
    if let Err(e) = heard::listen_bluez(adapter, ble, until).await {
        *problem = Some(format!("{e:#}"));
    }
}

#[cfg(not(feature = "bluetooth"))]
async fn listen_bluetooth(_: Option<&str>, _: &mut Devices, problem: &mut Option<String>, _: Instant) {
    *problem = Some("this halyard was built without Bluetooth (feature `bluetooth`; the Debian package has it)".into());
}

fn report(s: &Survey) {
    println!();
    for (port, outcome) in &s.ports {
        let usb = port.usb_id.map(|(v, p)| format!(" [{v:04x}:{p:04x} {}]", port.description)).unwrap_or_default();
        let what = match outcome {
            Outcome::Found(Found::VeDirect { product, serial, pid }) => format!(
                "VE.Direct: {product}{}{}",
                pid.map(|p| format!(" (PID 0x{p:04X})")).unwrap_or_default(),
                serial.as_ref().map(|s| format!(", serial {s}")).unwrap_or_default()
            ),
            Outcome::Found(Found::Nmea { baud, sentences }) => {
                format!("NMEA 0183 at {baud} baud: {}", sentences.iter().cloned().collect::<Vec<_>>().join(" "))
            }
            Outcome::Found(Found::Meshtastic { node }) => match node {
                Some((id, name)) => format!("Meshtastic radio {id} \"{name}\""),
                None => "Meshtastic radio".into(),
            },
            Outcome::Found(Found::Slcan { devices }) => {
                format!("SLCAN CAN adapter, MasterBus: {}", masterbus_list(devices))
            }
            Outcome::Silent => "nothing recognisable (a device that only answers when asked?)".into(),
            Outcome::Failed(why) => format!("not usable: {why}"),
        };
        println!("port {}{usb}: {what}", port.path);
    }
    for (spec, outcome) in &s.can {
        let what = match outcome {
            Outcome::Found(Found::Slcan { devices }) => format!("MasterBus: {}", masterbus_list(devices)),
            Outcome::Found(_) => "?".into(),
            Outcome::Silent => "no traffic".into(),
            Outcome::Failed(why) => format!("not usable: {why}"),
        };
        println!("CAN {spec}: {what}");
        if let Some(name) = spec.strip_prefix("socketcan:") {
            match crate::sources::can::mode::query(name) {
                Ok(mode) => match mode.advice(name, false) {
                    Some(advice) => println!("  {advice}"),
                    None => println!("  {mode}"),
                },
                Err(e) => println!("  cannot tell whether it is listen-only: {e}"),
            }
        }
    }
    if s.ports.is_empty() && s.can.is_empty() {
        println!("no USB serial port or CAN interface (add one with --port /dev/serial0 or --ecan HOST)");
    }
    match &s.adverts_from {
        Some(file) => println!("bluetooth: adverts from the recording {}", file.display()),
        None if s.adapters.is_empty() => println!("bluetooth: no adapter"),
        None => println!("bluetooth: {}", s.adapters.join(", ")),
    }
    if s.gpsd {
        println!("gpsd: answering on localhost:2947");
    }
    if let Some(problem) = &s.ble_problem {
        println!("bluetooth: {problem}");
    }
    if s.ble.by_mac.is_empty() && s.ble_problem.is_none() {
        println!("no Victron device advertised (is Instant Readout on in VictronConnect: Product info → Instant readout via Bluetooth?)");
    }
    let kinds: BTreeSet<&str> = s.ble.by_mac.values().map(|h| h.record_type.name()).collect();
    if !kinds.is_empty() {
        println!("Victron devices heard ({}):", s.ble.by_mac.len());
    }
    for h in s.ble.by_mac.values() {
        println!(
            "  {}  {:<34} {:<22} {:>8}  {} adverts, needs its key",
            heard::mac_text(&h.mac),
            h.product(),
            h.record_type.name(),
            h.rssi.map(|r| format!("{r} dBm")).unwrap_or_else(|| "-".into()),
            h.adverts
        );
    }
}

fn masterbus_list(devices: &[MasterBusDevice]) -> String {
    if devices.is_empty() {
        return "no device heard yet".into();
    }
    devices.iter().map(|d| format!("{} ({})", d.name, d.device)).collect::<Vec<_>>().join(", ")
}
