//! A boat in real wire formats (issue 5): the sun over a configured place, PV arrays on
//! different arches, MPPTs sharing a charge stage, a LiFePO4 bank and the loads aboard; the
//! devices' messages as a Halyard recording; and the ground truth to check answers against.
//!
//! Deterministic: the same scenario and seed give the same bytes.

pub mod battery;
pub mod boat;
pub mod devices;
pub mod emit;
pub mod instruments;
pub mod n2k;
pub mod nav_truth;
pub mod navigation;
pub mod radios;
pub mod rng;
pub mod scenarios;
pub mod sky;
pub mod truth;
pub mod voyage;
pub mod weather;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::ingest::recording::{self, Record};
use boat::{Boat, Charger, Link, Sample};
use emit::{Emitter, Shunt};
use sky::DayType;

/// The demo's VE.Smart network id and key (published here: demo data only).
pub const NETWORK_ID: [u8; 2] = [0x01, 0x0A];
/// The demo's VE.Smart network key.
pub const NETWORK_KEY: [u8; 16] = *b"halyard-demo-net";

/// Where, when, how long.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
    /// The local time zone: days are local midnight to midnight.
    pub timezone: &'static str,
    /// First local day, as days since 1970-01-01.
    pub first_day: i64,
    /// Number of days.
    pub days: u32,
    /// Seed.
    pub seed: u64,
    /// Seconds between the devices' reports (and physics steps).
    pub period_s: u32,
    /// Seconds between reports on every day but the last (0: `period_s`): the demo records a
    /// week of history coarsely and plays its last day finely.
    pub history_period_s: u32,
    /// Weather forced on some days (day index from 0).
    pub forced: Vec<(u32, DayType)>,
    /// Chargers that fail or degrade.
    pub health: Vec<Health>,
    /// Extra DC loads on some days (day index from 0, W): a heater left on.
    pub extra_loads: Vec<(u32, f64)>,
    /// The navigation instruments, AIS and the Meshtastic mesh (`None`: the electrical side
    /// only), at these rates on the last day.
    pub nav: Option<navigation::NavRates>,
    /// Their rates on the days before the last when `history_period_s` is set.
    pub nav_history: navigation::NavRates,
    /// Chargers that fall silent for a while (`--scenario silent-device`).
    pub silences: Vec<scenarios::Silence>,
    /// Chargers in fault for a while (`--scenario charger-fault`).
    pub faults: Vec<scenarios::Fault>,
    /// The anchor letting go (`--scenario anchor-drag`).
    pub drag: Option<voyage::Drag>,
    /// What the crew tells Halyard over MQTT, and when.
    pub said: Vec<scenarios::Said>,
    /// The GPS loses its fix in these `[from, to)` ms too.
    pub blackouts: Vec<(i64, i64)>,
}

/// A charger's output health over the days (1.0 = healthy): `factor` from day index `from_day`,
/// then `per_day` less each following day (a failing MPPT: a step; a degrading one: a slope).
#[derive(Debug, Clone, Copy)]
pub struct Health {
    /// Charger index in [`chargers`].
    pub charger: usize,
    /// First day index affected.
    pub from_day: u32,
    /// Health on that day.
    pub factor: f64,
    /// Loss per following day.
    pub per_day: f64,
}

impl Health {
    /// A charger at `factor` for the whole run.
    pub fn constant(charger: usize, factor: f64) -> Self {
        Health { charger, from_day: 0, factor, per_day: 0.0 }
    }

    fn on(&self, day_index: i64) -> Option<f64> {
        let d = day_index - i64::from(self.from_day);
        (d >= 0).then(|| (self.factor - self.per_day * d as f64).clamp(0.0, 1.0))
    }
}

impl Default for Scenario {
    /// A summer day in Marseille's Vieux-Port (Europe/Paris), 2026-06-21.
    fn default() -> Self {
        Scenario {
            lat: 43.295,
            lon: 5.374,
            timezone: "Europe/Paris",
            first_day: 20_625, // 2026-06-21
            days: 1,
            seed: 1,
            period_s: 10,
            history_period_s: 0,
            forced: Vec::new(),
            health: Vec::new(),
            extra_loads: Vec::new(),
            nav: None,
            nav_history: navigation::NavRates::LIGHT,
            silences: Vec::new(),
            faults: Vec::new(),
            drag: None,
            said: Vec::new(),
            blackouts: Vec::new(),
        }
    }
}

fn key(tag: u8) -> [u8; 16] {
    let mut k = *b"halyard-demo-k00";
    k[15] = b'0' + tag;
    k
}

/// The boat's chargers: port and starboard arch (networked, Bluetooth), the bimini (VE.Direct)
/// and a small pushpit panel (Bluetooth only).
pub fn chargers() -> Vec<Charger> {
    vec![
        Charger {
            name: "port-arch",
            group: "port",
            serial: "HQ2232PORT1",
            mac: [0xC0, 0x3B, 0x5E, 0x00, 0x00, 0x01],
            key: key(1),
            product_id: 0xA056,
            link: Link::Bluetooth { networked: true },
            peak_watts: 400.0,
            tilt: 12.0,
            azimuth: 270.0,
            max_current: 30.0,
            health: 1.0,
            error: 0,
        },
        Charger {
            name: "stbd-arch",
            group: "starboard",
            serial: "HQ2232STBD2",
            mac: [0xC0, 0x3B, 0x5E, 0x00, 0x00, 0x02],
            key: key(2),
            product_id: 0xA056,
            link: Link::Bluetooth { networked: true },
            peak_watts: 400.0,
            tilt: 12.0,
            azimuth: 90.0,
            max_current: 30.0,
            health: 1.0,
            error: 0,
        },
        Charger {
            name: "bimini",
            group: "center",
            serial: "HQ2232BIMI3",
            mac: [0xC0, 0x3B, 0x5E, 0x00, 0x00, 0x03],
            key: key(3),
            product_id: 0xA056,
            link: Link::VeDirect,
            peak_watts: 600.0,
            tilt: 0.0,
            azimuth: 180.0,
            max_current: 30.0,
            health: 1.0,
            error: 0,
        },
        Charger {
            name: "pushpit",
            group: "center",
            serial: "HQ2232PUSH4",
            mac: [0xC0, 0x3B, 0x5E, 0x00, 0x00, 0x04],
            key: key(4),
            product_id: 0xA053,
            link: Link::Bluetooth { networked: false },
            peak_watts: 100.0,
            tilt: 60.0,
            azimuth: 180.0,
            max_current: 15.0,
            health: 1.0,
            error: 0,
        },
    ]
}

/// The SmartShunt on the house bank.
pub fn shunt() -> Shunt {
    Shunt { mac: [0xC0, 0x3B, 0x5E, 0x00, 0x00, 0x05], key: key(5) }
}

/// The SmartShunt metering the dump load (energy-meter mode, water heater).
pub fn dump_meter() -> Shunt {
    Shunt { mac: [0xC0, 0x3B, 0x5E, 0x00, 0x00, 0x06], key: key(6) }
}

fn hex(bytes: &[u8]) -> String {
    crate::json::hex(bytes)
}

/// A `halyard.toml` for the simulated boat: its devices, keys and network.
pub fn config_text() -> String {
    let mut s = String::from("# The simulated boat of `halyard sim` / `halyard demo` (demo keys, not secrets).\n");
    // The scenario's place: a day is a local day in Marseille.
    s.push_str("timezone = \"Europe/Paris\"\n\n");
    s.push_str(&format!("[venetworking]\nnetwork_id = \"{}\"\nkey = \"{}\"\n\n", hex(&NETWORK_ID), hex(&NETWORK_KEY)));
    for c in chargers() {
        s.push_str(&format!(
            "[[device]]\nname = \"{}\"\nrole = \"solar\"\ngroup = \"{}\"\nserial = \"{}\"\n",
            c.name, c.group, c.serial
        ));
        if c.link != Link::VeDirect {
            s.push_str(&format!("mac = \"{}\"\nkey = \"{}\"\n", crate::model::Identity::Mac(c.mac), hex(&c.key)));
        }
        s.push('\n');
    }
    let sh = shunt();
    s.push_str(&format!(
        "[[device]]\nname = \"house-bank\"\nrole = \"battery\"\nchemistry = \"lifepo4\"\nnominal_voltage = 12\nmac = \"{}\"\nkey = \"{}\"\n\n",
        crate::model::Identity::Mac(sh.mac),
        hex(&sh.key)
    ));
    let dm = dump_meter();
    s.push_str(&format!(
        "[[device]]\nname = \"water-heater\"\nrole = \"dump_load\"\nmac = \"{}\"\nkey = \"{}\"\n\n",
        crate::model::Identity::Mac(dm.mac),
        hex(&dm.key)
    ));
    s.push_str(
        "[[device]]\nname = \"house-shunt\"\nrole = \"battery\"\nchemistry = \"lifepo4\"\nmasterbus = \"0x31297\"\n\n",
    );
    s.push_str("[[device]]\nname = \"combi\"\nrole = \"inverter\"\nmasterbus = \"0x2F412\"\n");
    // The mesh's nodes Halyard names; the others keep the names they announce.
    for (node, name) in radios::CONFIGURED {
        s.push_str(&format!("\n[[device]]\nname = \"{name}\"\nmeshtastic = \"{}\"\n", crate::mesh::node_id(node.num)));
    }
    s
}

/// Run the scenario: `on_step` sees every true sample and the records it produced.
pub fn run(scn: &Scenario, on_step: impl FnMut(&Sample, &[Record]) -> Result<()>) -> Result<Vec<truth::Day>> {
    Ok(simulate(scn, on_step)?.days)
}

/// What a run leaves: each day's truth, and the alarms the scenario must raise.
#[derive(Debug)]
pub struct Outcome {
    /// Each local day's truth.
    pub days: Vec<truth::Day>,
    /// The alarms, from the simulated world.
    pub alarms: Vec<scenarios::Expected>,
}

/// [`run`], with the alarms' truth.
pub fn simulate(scn: &Scenario, mut on_step: impl FnMut(&Sample, &[Record]) -> Result<()>) -> Result<Outcome> {
    let chargers = chargers();
    let groups: Vec<&'static str> = chargers.iter().map(|c| c.group).collect();
    let tz = jiff::tz::TimeZone::get(scn.timezone).with_context(|| format!("time zone `{}`", scn.timezone))?;
    let midnight = |day: i64| -> Result<i64> {
        let date = jiff::civil::date(1970, 1, 1).checked_add(jiff::Span::new().days(day))?;
        Ok(date.to_zoned_datetime(tz.clone())?.start_of_day()?.timestamp().as_millisecond())
    };
    let (start, end) = (midnight(scn.first_day)?, midnight(scn.first_day + i64::from(scn.days))?);
    let mut boat = Boat::new(scn.lat, scn.lon, tz.clone(), chargers, scn.seed);
    boat.forced_days = scn.forced.iter().map(|(d, t)| (scn.first_day + i64::from(*d), *t)).collect();
    boat.extra_loads = scn.extra_loads.iter().map(|(d, w)| (scn.first_day + i64::from(*d), *w)).collect();
    let mut emitter = Emitter::new(Some((NETWORK_KEY, NETWORK_ID)), shunt());
    emitter.dump_meter = Some(dump_meter());
    let last_day = midnight(scn.first_day + i64::from(scn.days.max(1)) - 1)?;
    // The period of the step that starts at `t` (the history's divides a day, so its steps end
    // exactly at the last day's midnight).
    let period = |t: i64| -> u32 {
        if scn.history_period_s > 0 && t < last_day && 86_400 % scn.history_period_s == 0 {
            scn.history_period_s
        } else {
            scn.period_s.max(1)
        }
    };
    let mut days = Vec::new();
    let mut current: Option<truth::Day> = None;
    let mut records = Vec::new();
    let mut nav = scn.nav.map(|_| {
        navigation::Navigation::new(scn.seed, tz.clone(), start)
            .with_drag(scn.drag)
            .with_blackouts(scn.blackouts.clone())
    });
    let mut referee = scenarios::Referee::new(scn);
    let mut said = scn.said.iter().peekable();
    let nav_rates = |t: i64| -> navigation::NavRates {
        match scn.nav {
            Some(_) if scn.history_period_s > 0 && t < last_day => scn.nav_history,
            Some(r) => r,
            None => scn.nav_history,
        }
    };
    let mut dt = period(start);
    let mut at = start + i64::from(dt) * 1000;
    let mut overnight = truth::Overnight::default();
    // Each report closes its step; the last ends a step before midnight (a report stamped at
    // midnight would open a day of one instant after the run).
    while at < end {
        let day = boat.local_day(at - 1);
        for h in &scn.health {
            if let (Some(c), Some(f)) = (boat.chargers.get_mut(h.charger), h.on(day - scn.first_day)) {
                c.health = f;
            }
        }
        for i in 0..boat.chargers.len() {
            boat.chargers[i].error = referee.fault(scn, i, at);
        }
        let s = boat.step(at, f64::from(dt));
        referee.state_of_charge(at, s.soc);
        if current.as_ref().is_none_or(|d| d.day != day) {
            if let Some(d) = current.take() {
                days.push(d);
                emitter.new_day();
            }
            current = Some(truth::Day::new(day, boat.weather().name(), groups.clone()));
        }
        if let Some(d) = current.as_mut() {
            d.add(&s, f64::from(dt));
            overnight.add(&s, f64::from(dt), d);
        }
        records.clear();
        if let Some(n) = nav.as_mut() {
            n.advance(at, nav_rates(at - 1), &mut records);
        }
        emitter.emit(&boat, &s, &mut records);
        for (i, c) in boat.chargers.iter().enumerate() {
            if referee.silence(scn, i, at) {
                records.retain(|r| !c.sent(r));
            }
        }
        while let Some(m) = said.next_if(|m| m.at <= at) {
            records.push(Record::Mqtt { at: m.at, topic: m.topic.clone(), payload: m.payload.clone() });
        }
        on_step(&s, &records)?;
        dt = period(at);
        at += i64::from(dt) * 1000;
    }
    days.extend(current);
    referee.anchor(scn, nav.as_ref().and_then(|n| n.dragged_out()));
    referee.failing(scn)?;
    if let Some(n) = &nav {
        for d in &mut days {
            let Some(today) = n.day(d.day) else { continue };
            let (from, to) = (midnight(d.day)?, midnight(d.day + 1)?);
            d.nav = Some(today.to_json(n.day(d.day - 1), from, to, radios::name));
        }
    }
    Ok(Outcome { days, alarms: referee.finish() })
}

/// `halyard sim`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of days (default: 1, or what the scenario needs).
    #[arg(long)]
    days: Option<u32>,
    /// Output directory: boat.hrec, truth.json, alarms.json (the alarms Halyard must raise),
    /// halyard.toml (and rangetest.csv, the Meshtastic range-test sender's log).
    #[arg(long)]
    out: PathBuf,
    /// Seed of the weather and the loads.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// First day, YYYY-MM-DD (local; default 2026-06-21, or the scenario's own: 2026-06-22,
    /// the week's first night at anchor; 2026-11-16 for a flat battery).
    #[arg(long)]
    start: Option<String>,
    /// What goes wrong: flat-battery (a fridge left on through an overcast week), anchor-drag
    /// (the anchor lets go at night), silent-device (a VE.Direct cable works loose),
    /// charger-fault (an MPPT overheats); normal: nothing, and no alarm.
    #[arg(long, value_enum, default_value_t)]
    scenario: scenarios::Trouble,
    /// Seconds between reports.
    #[arg(long, default_value_t = 10)]
    period: u32,
    /// Seconds between the navigation instruments' reports at anchor (once a second under
    /// way); 0: no navigation instruments, AIS or Meshtastic radios (the electrical side only).
    #[arg(long, default_value_t = 5)]
    nav_period: u32,
}

/// Days since 1970-01-01 of `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<i64> {
    let date: jiff::civil::Date = text.parse().with_context(|| format!("`{text}`: date is YYYY-MM-DD"))?;
    Ok(i64::from(jiff::civil::date(1970, 1, 1).until(date)?.get_days()))
}

/// Write a scenario into `out`: the recording `boat.hrec`, the ground truth `truth.json` and
/// the boat's `halyard.toml`. Returns the truth and the number of records.
pub fn write(scn: &Scenario, out: &std::path::Path) -> Result<(Vec<truth::Day>, u64)> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join("boat.hrec");
    let mut w =
        std::io::BufWriter::new(std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?);
    writeln!(w, "{}", recording::HEADER)?;
    let mut lines = 0u64;
    let Outcome { days, alarms } = simulate(scn, |_, records| {
        for r in records {
            writeln!(w, "{}", recording::format(r))?;
            lines += 1;
        }
        Ok(())
    })?;
    w.flush()?;
    let names: Vec<&str> = chargers().iter().map(|c| c.name).collect();
    let truth: Vec<serde_json::Value> = days.iter().map(|d| d.to_json(&names)).collect();
    std::fs::write(out.join("truth.json"), serde_json::to_string_pretty(&truth)?)?;
    let alarms: Vec<serde_json::Value> = alarms.iter().map(scenarios::Expected::to_json).collect();
    std::fs::write(out.join("alarms.json"), serde_json::to_string_pretty(&alarms)?)?;
    // Its own data folder: each simulated boat keeps its history beside its recording.
    let data_dir = std::fs::canonicalize(out)?;
    let data_dir = toml::Value::String(data_dir.display().to_string());
    std::fs::write(
        out.join("halyard.toml"),
        format!(
            "data_dir = {data_dir}
{}",
            config_text()
        ),
    )?;
    if scn.nav.is_some() {
        std::fs::write(out.join("rangetest.csv"), range_test_log(&days))?;
    }
    Ok((days, lines))
}

/// The range-test sender's own log (`seq,tx_time,lat,lon`), as the plugin keeps it on the
/// handheld: every packet sent, heard or not.
pub fn range_test_log(days: &[truth::Day]) -> String {
    let mut log = String::from("seq,tx_time,lat,lon\n");
    for r in days
        .iter()
        .filter_map(|d| d.nav.as_ref())
        .flat_map(|n| n["mesh"]["range_test"].as_array().cloned().unwrap_or_default())
    {
        log.push_str(&format!("{},{},{},{}\n", r["seq"], r["at"].as_str().unwrap_or(""), r["lat"], r["lon"]));
    }
    log
}

/// Write a season.
pub fn command(args: Args) -> Result<()> {
    let trouble = args.scenario;
    let start = args.start.as_deref().unwrap_or(trouble.first_day());
    let mut scn = Scenario {
        days: args.days.unwrap_or(trouble.days()),
        seed: args.seed,
        period_s: args.period,
        first_day: parse_date(start)?,
        nav: (args.nav_period > 0)
            .then_some(navigation::NavRates { under_way_s: 1, at_anchor_s: args.nav_period.max(1) }),
        ..Default::default()
    };
    trouble.apply(&mut scn)?;
    let started = std::time::Instant::now();
    let (_, lines) = write(&scn, &args.out)?;
    let size = std::fs::metadata(args.out.join("boat.hrec"))?.len();
    eprintln!(
        "halyard sim: {} days, {lines} records, {:.1} MB in {:.1} s → {}",
        scn.days,
        size as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01").unwrap(), 0);
        assert_eq!(parse_date("2026-06-21").unwrap(), 20_625);
        assert!(parse_date("2026-13-01").is_err());
    }

    #[test]
    fn the_demo_config_parses() {
        let c = crate::config::Config::parse(&config_text(), "demo").unwrap();
        c.validate().unwrap();
        assert_eq!(c.device.len(), 10);
    }
}
