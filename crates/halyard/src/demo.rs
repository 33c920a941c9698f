//! `halyard demo`: the whole system on the simulated boat, with no hardware — the embedded
//! broker, the store, the dashboard. The boat sails a week on the coast east of Marseille
//! (`sim::voyage`) with its solar chargers, batteries, navigation instruments, AIS and a
//! Meshtastic mesh; the days before the last are imported into the store at once (no MQTT: a
//! week of history is millions of readings), and the last day plays at `--speed` through real
//! transports, as the gateway meets them aboard: the VE.Direct MPPT on a pseudo-terminal, the
//! MasterBus through a fake ECAN gateway, the instruments through a TCP NMEA multiplexer, the
//! radio on the Meshtastic TCP stream API, Bluetooth adverts as the BlueZ source delivers them.
//! `--once` plays the last day as fast as possible instead and exits.
//!
//! The demo leaves its configuration beside its store (`<state>/demo/halyard.toml`), so that
//! `halyard report|nav|mesh|export -c` that file answer about the demo's week.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::{mpsc, watch};

use crate::config::Config;
use crate::gateway::{pipeline, runtime, Mode, Records};
use crate::ingest::recording::Record;
use crate::ingest::Input;
use crate::model::Millis;
use crate::sim::devices::{self, Clock, Feeds, Router};
use crate::sim::navigation::NavRates;
use crate::sources::replay::Stats;
use crate::telemetry::{logging, Telemetry};

/// `halyard demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Play the simulated day this many times faster than real time.
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
    /// Play everything as fast as possible and exit.
    #[arg(long)]
    once: bool,
    /// Days simulated: the days before the last are recorded at once (a week of history for
    /// the dashboard), the last plays at --speed.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=366))]
    days: u32,
    /// Seed of the days' weather and loads.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The dashboard's address ("" switches it off).
    #[arg(long, default_value = "127.0.0.1:8080")]
    web: String,
    /// The embedded broker's address (or that of a broker already listening there).
    #[arg(long, default_value = "127.0.0.1:1883")]
    broker: String,
    /// How the instruments (GPS, compass, wind, depth, AIS) talk: NMEA 0183 sentences over TCP,
    /// or NMEA 2000 through a simulated Yacht Devices gateway.
    #[arg(long, value_enum, default_value_t = NavWire::Nmea0183)]
    nav: NavWire,
}

/// The instruments' network in the demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NavWire {
    /// NMEA 0183 sentences.
    #[value(name = "nmea0183")]
    Nmea0183,
    /// NMEA 2000 messages.
    N2k,
}

/// The demo's last day, as the gateway receives it.
pub enum Day {
    /// Through the transports, on a clock that runs on the simulated day.
    Live(Box<Live>),
    /// Records as fast as possible (`--once`).
    Once(mpsc::Receiver<Record>),
}

/// The last day's transports and their feeds.
pub struct Live {
    feeds: Feeds,
    /// The pseudo-terminal's master side (the VE.Direct MPPT writes there).
    master: tokio_serial::SerialStream,
    /// Keeps the pseudo-terminal's slave side open.
    tty: tokio_serial::SerialStream,
    can: tokio::net::TcpListener,
    nmea: tokio::net::TcpListener,
    /// The simulated Yacht Devices gateway (`--nav n2k`).
    ydwg: Option<tokio::net::TcpListener>,
    radio: tokio::net::TcpListener,
    /// Record time at the start of the day.
    t0: Millis,
    speed: f64,
}

impl Day {
    /// Open the live day's transports and configure the gateway's sources on them.
    async fn live(feeds: Feeds, config: &mut Config, t0: Millis, speed: f64, nav: NavWire) -> Result<Day> {
        use tokio_serial::SerialPort;
        let (master, slave) = tokio_serial::SerialStream::pair().context("creating the VE.Direct pseudo-terminal")?;
        let tty = slave.name().context("the pseudo-terminal has no name")?;
        let listen = || tokio::net::TcpListener::bind("127.0.0.1:0");
        let (can, nmea, radio) = (listen().await?, listen().await?, listen().await?);
        config.vedirect.push(crate::config::VeDirectPort {
            port: tty,
            poll: Vec::new(),
            poll_seconds: 10,
            allow_writes: false,
            set: Default::default(),
        });
        config.masterbus.push(crate::config::MasterBusSource {
            source: crate::sources::can::Spec::Ecan(can.local_addr()?.to_string()),
            active: false,
            poll: Vec::new(),
        });
        config.nmea.push(crate::config::NmeaSource {
            source: crate::sources::nmea::Spec::Tcp(nmea.local_addr()?.to_string()),
        });
        config.meshtastic.push(crate::config::MeshtasticSource {
            source: crate::sources::mesh::Spec::Tcp(radio.local_addr()?.to_string()),
        });
        let ydwg = match nav {
            NavWire::Nmea0183 => None,
            NavWire::N2k => {
                let ydwg = listen().await?;
                config.n2k.push(crate::config::N2kSource {
                    source: crate::sources::n2k::Spec::Ydwg(ydwg.local_addr()?.to_string()),
                });
                Some(ydwg)
            }
        };
        Ok(Day::Live(Box::new(Live { feeds, master, tty: slave, can, nmea, ydwg, radio, t0, speed })))
    }

    /// Play it into the pipeline; interrupted (Ctrl-C), the feeders stop where they are.
    pub async fn play(
        self,
        tx: mpsc::Sender<Input>,
        mut stopped: watch::Receiver<bool>,
        t: &std::sync::Arc<Telemetry>,
    ) -> Result<Stats> {
        let live = match self {
            Day::Once(records) => return crate::sources::replay::play(records, &tx, t).await,
            Day::Live(live) => *live,
        };
        let Live { feeds, master, tty, can, nmea, ydwg, radio, t0, speed } = live;
        // A second for the sources to open before the first message.
        let clock = Clock { origin: tokio::time::Instant::now() + Duration::from_secs(1), t0, speed: Some(speed) };
        crate::ingest::simulate(clock);
        let mut feeders = vec![
            tokio::spawn(devices::serial_feeder(master, feeds.serial, clock)),
            tokio::spawn(devices::ecan_feeder(can, feeds.can, clock)),
            tokio::spawn(devices::nmea_feeder(nmea, feeds.nmea, clock)),
            tokio::spawn(devices::radio_feeder(radio, feeds.mesh, clock)),
        ];
        if let Some(ydwg) = ydwg {
            feeders.push(tokio::spawn(devices::ydwg_feeder(ydwg, feeds.n2k, clock)));
        }
        let aborts: Vec<_> = feeders.iter().map(|f| f.abort_handle()).collect();
        let feed = async {
            let mut n = devices::direct_feeder(feeds.direct, clock, tx).await;
            let mut transports = Vec::new();
            for f in feeders {
                if let Ok((transport, sent)) = f.await {
                    n += sent;
                    transports.push(transport);
                }
            }
            (n, transports)
        };
        let (n, transports) = tokio::select! {
            r = feed => r,
            _ = stopped.changed() => {
                aborts.iter().for_each(|a| a.abort());
                (0, Vec::new())
            }
        };
        // Closed once the sources have stopped reading (an early close looks like an unplugged cable).
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(transports);
        drop(tty);
        Ok(Stats { records: n, bad: 0 })
    }
}

/// The demo's configuration: the simulated boat's, with its own state directory.
fn config_text(dir: &Path) -> String {
    let sim = crate::sim::config_text();
    let (first, rest) = sim.split_once('\n').unwrap_or(("", &sim));
    format!(
        "{first}\n# Written by `halyard demo`: `halyard report|nav|mesh|export -c` this file answer about the demo.\ndata_dir = {:?}\n{rest}",
        dir.display().to_string()
    )
}

/// Run the demo.
pub fn demo(args: DemoArgs) -> Result<()> {
    let dir = Config::default().data_dir().join("demo");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("halyard.toml");
    let sender_log = dir.join("rangetest.csv");
    let text = config_text(&dir);
    std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    let configure = || -> Result<Config> {
        let mut config = Config::parse(&text, &path.display().to_string())?;
        // The demo keeps to itself: the embedded broker (or one already on its address), not
        // one found on the LAN.
        config.mqtt.mdns = false;
        config.broker.listen = args.broker.clone();
        config.web.listen = args.web.clone();
        Ok(config)
    };
    let mut config = configure()?;
    let logs = logging::init(&config.log);
    let last_day = crate::sim::Scenario::default().first_day;
    let scenario = crate::sim::Scenario {
        seed: args.seed,
        days: args.days,
        first_day: last_day - i64::from(args.days) + 1,
        period_s: 5,
        history_period_s: 60,
        nav: Some(if args.once { NavRates::LIGHT } else { NavRates::LIVE }),
        nav_history: NavRates::LIGHT,
        ..Default::default()
    };
    let cal = crate::store::Calendar::new(scenario.timezone)?;
    // Midnight starting the last day (noon UTC of a date is inside its local day).
    let last_start = cal.day_start(last_day * 86_400_000 + 43_200_000);
    let web = if config.web.listen.is_empty() {
        String::new()
    } else {
        format!("\n  dashboard: http://{}/", config.web.listen)
    };
    eprintln!(
        "halyard demo: {} simulated day{} aboard ending {}{}\n  MQTT: mqtt://{}  (mosquitto_sub -h {} -t 'halyard/#' -v){web}\n  metrics: http://{}/metrics\n  configuration: {}",
        args.days,
        if args.days == 1 { "" } else { "s" },
        cal.date(last_start),
        if args.once { ", as fast as possible".to_owned() } else { format!("; the last day at {}× real time", args.speed) },
        config.broker.listen,
        config.broker.listen.split(':').next().unwrap_or("127.0.0.1"),
        config.metrics.listen,
        path.display(),
    );
    let (mut router, history, once, feeds) = Router::new(last_start, args.once);
    let nav = args.nav;
    let sim = std::thread::spawn(move || {
        let mut instruments = crate::sim::n2k::Instruments::default();
        crate::sim::run(&scenario, |_, records| {
            for r in records {
                let closed = |_| anyhow::anyhow!("the gateway stopped reading");
                match (nav, r) {
                    // The same instruments on NMEA 2000: their messages instead of their sentences.
                    (NavWire::N2k, crate::ingest::recording::Record::Nmea { at, line, .. }) => {
                        for (header, data) in instruments.messages(line) {
                            let message =
                                crate::ingest::recording::Record::N2k { at: *at, source: "n2k".into(), header, data };
                            router.route(message).map_err(closed)?;
                        }
                    }
                    (_, r) => router.route(r.clone()).map_err(closed)?,
                }
            }
            Ok(())
        })
    });
    let history_config = configure()?;
    runtime()?.block_on(async move {
        // Always read the history, even of one instant: the simulator waits for its reader.
        let summary = pipeline(history_config, Mode::Import { records: Records::Stream(history) }, None).await?;
        if let (Some(s), true) = (summary, args.days > 1) {
            {
                eprintln!(
                    "halyard demo: {} day{} of history stored ({} readings in {:.1} s)",
                    args.days - 1,
                    if args.days == 2 { "" } else { "s" },
                    s["stored_readings"].as_f64().unwrap_or(0.0),
                    s["seconds"].as_f64().unwrap_or(0.0)
                );
            }
        }
        let day = match once {
            Some(records) => Day::Once(records),
            None => Day::live(feeds, &mut config, last_start, args.speed, nav).await?,
        };
        if let Some(summary) = pipeline(config, Mode::Demo(day), Some(logs)).await? {
            eprintln!("{summary}");
        }
        anyhow::Ok(())
    })?;
    match sim.join() {
        Ok(Ok(days)) => {
            let names: Vec<&str> = crate::sim::chargers().iter().map(|c| c.name).collect();
            for d in &days {
                println!("{}", d.to_json(&names));
            }
            std::fs::write(&sender_log, crate::sim::range_test_log(&days))
                .with_context(|| format!("cannot write {}", sender_log.display()))?;
        }
        Ok(Err(_)) => eprintln!("halyard demo: stopped before the end of the simulated day"),
        Err(_) => anyhow::bail!("the simulator failed"),
    }
    eprintln!(
        "halyard demo: the demo's answers stay in its store; ask them with\n  halyard report -c {p}\n  halyard nav -c {p}\n  halyard mesh -c {p} --sender-log {log}\n  halyard export kml -c {p}",
        p = shell_path(&path),
        log = shell_path(&sender_log),
    );
    Ok(())
}

/// A path as typed on a command line.
fn shell_path(p: &Path) -> String {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match home.and_then(|h| p.strip_prefix(h).ok().map(|r| r.to_path_buf())) {
        Some(rest) => format!("~/{}", rest.display()),
        None => p.display().to_string(),
    }
}
