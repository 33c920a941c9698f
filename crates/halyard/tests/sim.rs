//! The simulator: what it emits decodes back through the real decoders to its true values, and
//! its physics holds (energy balance, no charging at night, float only near full, clear days
//! yield more than cloudy ones).

use std::sync::Arc;

use halyard::config::Config;
use halyard::ingest::ble::BleDecoder;
use halyard::ingest::{recording, Ingest, Input};
use halyard::model::{Identity, KeyRing, Reading, Update};
use halyard::sim::boat::Sample;
use halyard::sim::sky::DayType;
use halyard::sim::{self, Scenario};
use halyard::telemetry::Telemetry;
use halyard_proto::victron::smart_networking::Network;

fn ingest(telemetry: &Arc<Telemetry>) -> Ingest {
    let config = Config::parse(&sim::config_text(), "demo").unwrap();
    let n = config.venetworking.as_ref().unwrap();
    let network = Network::new(n.key.unwrap().0, n.network_id);
    Ingest::new(BleDecoder::new(KeyRing::new(&config.device), Some(network), telemetry.clone()), telemetry.clone())
}

fn value(u: &Update, name: &str) -> Option<f64> {
    u.metrics.iter().find(|m| m.name == name).and_then(|m| m.value.as_ref()).and_then(Reading::as_f64)
}

fn close(what: &str, got: Option<f64>, want: f64, tolerance: f64) {
    let got = got.unwrap_or_else(|| panic!("{what}: missing"));
    assert!((got - want).abs() <= tolerance, "{what}: decoded {got}, true {want} (±{tolerance})");
}

/// Each record goes through a recording line and back, then through the decoders; every value
/// matches the simulator's truth within the resolution of its encoding.
#[test]
fn everything_emitted_decodes_back_to_the_true_values() {
    let telemetry = Arc::new(Telemetry::default());
    let mut ingest = ingest(&telemetry);
    let chargers = sim::chargers();
    let mut decoders: std::collections::HashMap<String, halyard::ingest::masterbus::MasterBusDecoder> =
        Default::default();
    let scenario = Scenario { period_s: 120, ..Default::default() };
    let mut checked = std::collections::BTreeMap::<&str, usize>::new();
    sim::run(&scenario, |s: &Sample, records| {
        let mut updates = Vec::new();
        for r in records {
            let line = recording::format(r);
            let back = recording::parse_line(&line).unwrap().unwrap();
            assert_eq!(&back, r, "{line}");
            match back {
                recording::Record::Ble { at, mac, data } => {
                    ingest.handle(Input::Ble { at, mac, data, via: None }, &mut updates)
                }
                recording::Record::VeDirect { at, port, bytes } => {
                    ingest.handle(Input::VeDirect { at, port: port.into(), bytes }, &mut updates)
                }
                recording::Record::Can { ts_ns, source, received } => {
                    let d = decoders.entry(source.clone()).or_insert_with(|| {
                        halyard::ingest::masterbus::MasterBusDecoder::new(&source, telemetry.clone())
                    });
                    updates.extend(d.frame(ts_ns, &received).1);
                }
                recording::Record::Mqtt { .. }
                | recording::Record::Nmea { .. }
                | recording::Record::Mesh { .. }
                | recording::Record::N2k { .. } => {
                    unreachable!("the scenario has no navigation")
                }
            }
        }
        for u in &updates {
            match &u.identity {
                Identity::Mac(mac) => {
                    if let Some(i) = chargers.iter().position(|c| c.mac == *mac) {
                        if u.protocol == "instant_readout" {
                            close("IR battery_voltage", value(u, "battery_voltage"), s.battery_volts, 0.005 + 1e-9);
                            close(
                                "IR charging current",
                                value(u, "battery_charging_current"),
                                s.out_amps[i],
                                0.05 + 1e-9,
                            );
                            close("IR solar_power", value(u, "solar_power"), s.pv_watts[i], 0.5 + 1e-9);
                            close(
                                "IR yield_today",
                                value(u, "yield_today"),
                                s.yield_today_wh[i] / 1000.0,
                                0.005 + 1e-9,
                            );
                            close("IR charge_state", value(u, "charge_state"), f64::from(s.stage.code()), 0.0);
                            *checked.entry("instant_readout solar").or_default() += 1;
                        }
                    } else if *mac == sim::dump_meter().mac {
                        // The water heater's SmartShunt in energy-meter mode.
                        close("dump meter voltage", value(u, "voltage"), s.battery_volts, 0.005 + 1e-9);
                        close("dump meter current", value(u, "current"), s.dump_watts / s.battery_volts, 0.0005 + 1e-9);
                        *checked.entry("instant_readout dump meter").or_default() += 1;
                    } else {
                        close("shunt voltage", value(u, "voltage"), s.battery_volts, 0.005 + 1e-9);
                        // −1 mA is 0x3FFFFF in 22 bits, the record's "not available" (victron.md
                        // §1.7-1): a protocol collision, not a decoding error.
                        match value(u, "current") {
                            None => assert_eq!((s.battery_amps * 1000.0).round(), -1.0),
                            got => close("shunt current", got, s.battery_amps, 0.0005 + 1e-9),
                        }
                        close("shunt soc", value(u, "soc"), s.soc * 100.0, 0.05 + 1e-9);
                        close("shunt consumed", value(u, "consumed_ah"), -s.consumed_ah, 0.05 + 1e-9);
                        *checked.entry("instant_readout shunt").or_default() += 1;
                    }
                }
                Identity::Serial(serial) if u.protocol == "venetworking" => {
                    let i = chargers.iter().position(|c| c.serial[6..] == serial[6..]).expect("a known serial");
                    if let Some(p) = value(u, "panel_power") {
                        close("VE.Smart panel_power", Some(p), s.pv_watts[i], 0.005 + 1e-9);
                        close("VE.Smart charger_voltage", value(u, "charger_voltage"), s.battery_volts, 0.005 + 1e-9);
                        *checked.entry("venetworking").or_default() += 1;
                    } else if let Some(v) = value(u, "network_target_voltage") {
                        // The master's charge target: absorption while charging, float after.
                        let want = match s.stage.code() {
                            5 => sim::boat::FLOAT_V,
                            3 | 4 => sim::boat::ABSORPTION_V,
                            other => panic!("a target while in state {other}"),
                        };
                        close("VE.Smart network target voltage", Some(v), want, 0.005 + 1e-9);
                        *checked.entry("venetworking target").or_default() += 1;
                    } else {
                        let total: f64 = s.pv_watts[..2].iter().sum();
                        close("VE.Smart network power", value(u, "network_panel_power"), total, 0.005 + 1e-9);
                        *checked.entry("venetworking network").or_default() += 1;
                    }
                }
                Identity::Serial(serial) => {
                    let i = chargers.iter().position(|c| c.serial == serial).expect("a known serial");
                    close("VE.Direct battery_voltage", value(u, "battery_voltage"), s.battery_volts, 0.0005 + 1e-9);
                    close("VE.Direct battery_current", value(u, "battery_current"), s.out_amps[i], 0.0005 + 1e-9);
                    close("VE.Direct panel_power", value(u, "panel_power"), s.pv_watts[i], 0.5 + 1e-9);
                    close("VE.Direct yield_today", value(u, "yield_today"), s.yield_today_wh[i] / 1000.0, 0.005 + 1e-9);
                    close("VE.Direct max power", value(u, "max_power_today"), s.max_power_today[i], 0.5 + 1e-9);
                    *checked.entry("vedirect").or_default() += 1;
                }
                Identity::MasterBus(device) => {
                    let item = u.raw[0].topic.rsplit("0x").next().map(|h| u16::from_str_radix(h, 16).unwrap()).unwrap();
                    let want = match *device {
                        0x31297 => sim::emit::shunt_value(s, item),
                        0x2F412 => sim::emit::combi_value(s, item),
                        other => panic!("unexpected MasterBus device 0x{other:05X}"),
                    };
                    let m = &u.metrics[0];
                    // An f32 on the wire: 24 significant bits.
                    close(
                        &format!("MasterBus 0x{device:05X} {}", m.name),
                        m.value.as_ref().and_then(Reading::as_f64),
                        want,
                        want.abs() * 1e-6 + 1e-6,
                    );
                    *checked
                        .entry(if *device == 0x31297 { "masterbus shunt" } else { "masterbus combi" })
                        .or_default() += 1;
                }
                other => panic!("unexpected identity {other:?}"),
            }
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(telemetry.total("halyard_decode_errors_total"), 0.0, "{}", telemetry.render());
    for kind in [
        "instant_readout solar",
        "instant_readout shunt",
        "instant_readout dump meter",
        "venetworking",
        "venetworking network",
        "venetworking target",
        "vedirect",
        "masterbus shunt",
        "masterbus combi",
    ] {
        assert!(checked.get(kind).copied().unwrap_or(0) > 100, "{kind}: {checked:?}");
    }
}

fn days(forced: DayType, count: u32) -> Vec<halyard::sim::truth::Day> {
    let scenario =
        Scenario { days: count, period_s: 30, forced: (0..count).map(|d| (d, forced)).collect(), ..Default::default() };
    sim::run(&scenario, |_, _| Ok(())).unwrap()
}

#[test]
fn the_physics_holds() {
    for weather in [DayType::Clear, DayType::Broken, DayType::Overcast] {
        for d in days(weather, 3) {
            assert_eq!(d.weather, weather.name());
            // Solar in − loads − losses = change of stored energy, within 1 % per day.
            assert!(d.balance_error().abs() < 0.01, "{}: balance error {}", d.weather, d.balance_error());
            assert_eq!(d.charging_at_night_s, 0.0, "charging at night");
            if let Some(min) = d.min_soc_in_float {
                assert!(min > 0.95, "float at {min} state of charge");
            }
            let sunrise_to_sunset = d.solar_start.unwrap() < d.solar_stop.unwrap();
            assert!(sunrise_to_sunset);
        }
    }
    let yield_of = |t| days(t, 1)[0].yield_wh.iter().sum::<f64>();
    let (clear, broken, overcast) = (yield_of(DayType::Clear), yield_of(DayType::Broken), yield_of(DayType::Overcast));
    assert!(clear > broken && broken > overcast, "clear {clear} Wh, broken {broken} Wh, overcast {overcast} Wh");
}

#[test]
fn a_failing_mppt_yields_less_than_its_twin() {
    let scenario = Scenario {
        period_s: 60,
        forced: vec![(0, DayType::Clear)],
        health: vec![halyard::sim::Health::constant(1, 0.7)],
        ..Default::default()
    };
    let d = &sim::run(&scenario, |_, _| Ok(())).unwrap()[0];
    // Port and starboard arches are mirror images: over a day they see the same sun, so the
    // starboard MPPT at 70 % health yields clearly less.
    assert!(d.yield_wh[1] < 0.85 * d.yield_wh[0], "{:?}", d.yield_wh);
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let collect = |seed| {
        let mut lines = Vec::new();
        let scenario = Scenario { period_s: 600, seed, ..Default::default() };
        sim::run(&scenario, |_, r| {
            lines.extend(r.iter().map(recording::format));
            Ok(())
        })
        .unwrap();
        lines
    };
    assert_eq!(collect(7), collect(7));
    assert_ne!(collect(7), collect(8));
}
