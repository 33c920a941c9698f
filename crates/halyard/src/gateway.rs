//! `halyard run` and `halyard replay`: the pipeline of DESIGN.md §2 (sources → decoders → model →
//! sinks) on tokio. Live sources and replays feed the same channel, so both run identical code
//! from the decoders on.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::{mpsc, watch};

use crate::config::Config;
use crate::ingest::ble::BleDecoder;
use crate::ingest::{Ingest, Input};
use crate::model::{Change, KeyRing, Model, Registry};
use crate::sinks::mqtt::{outbox::Outbox, Sink};
use crate::telemetry::{logging, Telemetry};

/// `halyard run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The configuration file (DESIGN.md §4.4). Without one, the embedded defaults.
    #[arg(short, long, env = "HALYARD_CONFIG")]
    config: Option<PathBuf>,
    /// Check the configuration, print what would run, and exit.
    #[arg(long)]
    check: bool,
}

/// `halyard replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The configuration file (MQTT, devices, keys).
    #[arg(short, long, env = "HALYARD_CONFIG")]
    config: Option<PathBuf>,
    /// As fast as possible instead of at the recorded pace.
    #[arg(long)]
    max_speed: bool,
    /// Also print every MQTT message (`topic payload`) on standard output; the summary then goes
    /// to standard error.
    #[arg(long)]
    print: bool,
    /// Captures: Halyard recordings, pcapng/pcap/candump (MasterBus), VE.Direct dumps.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

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
}

/// The demo's last day, played in real time through real transports.
pub struct LiveDay {
    /// The records by transport.
    split: crate::sim::devices::Split,
    /// The pseudo-terminal's master side (the VE.Direct MPPT writes there).
    master: tokio_serial::SerialStream,
    /// Keeps the pseudo-terminal's slave side open.
    tty: tokio_serial::SerialStream,
    /// The fake ECAN gateway's socket.
    can: tokio::net::TcpListener,
    /// Record time at the start of the day.
    t0: crate::model::Millis,
    /// Times real time.
    speed: f64,
}

/// Simulate days aboard and run the whole gateway on them with the embedded broker, the store
/// and the dashboard. The days before the last are recorded at once, with their own times, as
/// a replay would; the last plays at `--speed` through the real serial and CAN sources (a
/// pseudo-terminal and a fake ECAN gateway on loopback) and BLE adverts as the BlueZ source
/// delivers them, stamped by a clock that runs on the simulated day. `--once` records them
/// all at once.
pub fn demo(args: DemoArgs) -> Result<()> {
    let mut config = Config::parse(&crate::sim::config_text(), "the demo boat")?;
    // The demo keeps to itself: the embedded broker (or one already on its address), not
    // one found on the LAN; and its own state directory.
    config.mqtt.mdns = false;
    config.broker.listen = args.broker.clone();
    config.web.listen = args.web.clone();
    config.data_dir = Some(config.data_dir().join("demo"));
    let logs = logging::init(&config.log);
    let last_day = crate::sim::Scenario::default().first_day;
    let scenario = crate::sim::Scenario {
        seed: args.seed,
        days: args.days,
        first_day: last_day - i64::from(args.days) + 1,
        period_s: 5,
        history_period_s: 60,
        ..Default::default()
    };
    let mut records = Vec::new();
    let days = crate::sim::run(&scenario, |_, r| {
        records.extend_from_slice(r);
        Ok(())
    })?;
    let names: Vec<&str> = crate::sim::chargers().iter().map(|c| c.name).collect();
    let speed = (!args.once).then_some(args.speed);
    let cal = crate::store::Calendar::new(scenario.timezone)?;
    // Midnight starting the last day (noon UTC of a date is inside its local day).
    let last_start = cal.day_start(last_day * 86_400_000 + 43_200_000);
    let web = if config.web.listen.is_empty() {
        String::new()
    } else {
        format!("\n  dashboard: http://{}/", config.web.listen)
    };
    eprintln!(
        "halyard demo: {} simulated day{} aboard ending {} ({} device messages{})\n  MQTT: mqtt://{}  (mosquitto_sub -h {} -t 'halyard/#' -v){web}\n  metrics: http://{}/metrics",
        days.len(),
        if days.len() == 1 { "" } else { "s" },
        cal.date(last_start),
        records.len(),
        speed.map_or_else(|| ", as fast as possible".to_owned(), |s| format!("; the last day at {s}× real time")),
        config.broker.listen,
        config.broker.listen.split(':').next().unwrap_or("127.0.0.1"),
        config.metrics.listen,
    );
    runtime()?.block_on(async move {
        let live = match speed {
            None => None,
            Some(speed) => {
                use tokio_serial::SerialPort;
                let cut = records.partition_point(|r| r.at() <= last_start);
                let split = crate::sim::devices::split(records.split_off(cut));
                let (master, slave) =
                    tokio_serial::SerialStream::pair().context("creating the VE.Direct pseudo-terminal")?;
                let tty = slave.name().context("the pseudo-terminal has no name")?;
                let can = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
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
                Some(Box::new(LiveDay { split, master, tty: slave, can, t0: last_start, speed }))
            }
        };
        pipeline(config, Mode::Demo { history: records, live }, Some(logs)).await
    })?;
    for d in &days {
        println!("{}", d.to_json(&names));
    }
    Ok(())
}

fn load(path: Option<&PathBuf>) -> Result<Config> {
    match path {
        Some(p) => Config::load(p),
        None => Ok(Config::default()),
    }
}

/// Run the gateway until SIGINT or SIGTERM.
pub fn run(args: RunArgs) -> Result<()> {
    let config = load(args.config.as_ref())?;
    if args.check {
        println!("{}", describe(&config));
        return Ok(());
    }
    let logs = logging::init(&config.log);
    if args.config.is_none() {
        tracing::info!("no configuration file: running on the embedded defaults");
    }
    runtime()?.block_on(pipeline(config, Mode::Live, Some(logs)))
}

/// Replay captures through the pipeline, wait until MQTT has them all, print a summary.
pub fn replay(args: ReplayArgs) -> Result<()> {
    let config = load(args.config.as_ref())?;
    let logs = logging::init(&config.log);
    let mode = Mode::Replay { files: args.files, max_speed: args.max_speed, print: args.print };
    runtime()?.block_on(pipeline(config, mode, Some(logs)))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

/// What the pipeline reads.
pub enum Mode {
    /// The configured sources, until a signal.
    Live,
    /// The simulated boat: its history recorded at once, then (unless `--once`) its last day
    /// through its serial and CAN devices behind the configured sources and its BLE adverts
    /// handed in directly; owns `<root>/status` like a live run.
    Demo {
        /// Records played at once with their own times.
        history: Vec<crate::ingest::recording::Record>,
        /// The day played in real time.
        live: Option<Box<LiveDay>>,
    },
    /// Files, then stop.
    Replay {
        /// The files.
        files: Vec<PathBuf>,
        /// No pacing.
        max_speed: bool,
        /// Print the MQTT messages.
        print: bool,
    },
}

/// A one-screen description of a configuration, secrets left out.
fn describe(c: &Config) -> String {
    let mut out = vec![
        format!("mqtt: {}", c.mqtt.url.as_deref().unwrap_or("mDNS, else the embedded broker")),
        format!("embedded broker: {} ({})", c.broker.listen, if c.broker.enabled { "enabled" } else { "disabled" }),
        format!("data directory: {}", c.data_dir().display()),
        format!("bluetooth: {}", if c.bluetooth_wanted() { "scanning" } else { "off" }),
    ];
    for p in &c.vedirect {
        out.push(format!(
            "vedirect: {} (poll {} registers, writes {})",
            p.port,
            p.poll.len(),
            if p.allow_writes { "ALLOWED" } else { "off" }
        ));
    }
    for m in &c.masterbus {
        out.push(format!("masterbus: {} ({})", m.source, if m.active { "active" } else { "listen-only" }));
    }
    for n in &c.nmea {
        out.push(format!("nmea: {}", n.source));
    }
    for m in &c.meshtastic {
        out.push(format!("meshtastic: {}", m.source.name()));
    }
    for d in &c.device {
        let key = if d.key.is_some() { ", key set" } else { "" };
        out.push(format!(
            "device: {} role={} group={}{key}",
            d.name,
            d.role.as_deref().unwrap_or("-"),
            d.group.as_deref().unwrap_or("-")
        ));
    }
    if !c.mqtt_in.topics.is_empty() {
        out.push(format!("mqtt-in: {}", c.mqtt_in.topics.join(", ")));
    }
    out.join("\n")
}

/// The pipeline.
pub async fn pipeline(mut config: Config, mode: Mode, logs: Option<mpsc::Receiver<logging::LogLine>>) -> Result<()> {
    let telemetry = Arc::new(Telemetry::default());
    let live = matches!(mode, Mode::Live);
    let demo = matches!(mode, Mode::Demo { .. });
    let print = matches!(mode, Mode::Replay { print: true, .. });
    if (live || demo) && !config.metrics.listen.is_empty() {
        match crate::telemetry::http::serve(&config.metrics.listen, telemetry.clone()).await {
            Ok(addr) => tracing::info!("metrics on http://{addr}/metrics"),
            Err(e) => tracing::error!("{e:#}"),
        }
    }
    let broker = crate::broker::choose(&config).await?;
    tracing::info!("mqtt: {}", broker.how);

    let (input_tx, mut input_rx) = mpsc::channel::<Input>(4096);
    let (change_tx, change_rx) = mpsc::channel::<Arc<Change>>(4096);
    let data_dir = config.data_dir();
    let outbox_dir = if live || demo { data_dir.join("outbox") } else { data_dir.join("replay-outbox") };
    let outbox = Outbox::open(&outbox_dir, config.mqtt.outbox_max_mib << 20)
        .with_context(|| format!("opening the MQTT outbox in {}", outbox_dir.display()))?;
    let in_topics = if live { config.mqtt_in.topics.clone() } else { Vec::new() };
    let hostname = crate::hostname();
    let client_id = match (&config.mqtt.client_id, live, demo) {
        (Some(id), true, _) => id.clone(),
        (Some(id), false, _) => format!("{id}-replay-{}", std::process::id()),
        (None, true, _) => format!("halyard-{hostname}"),
        (None, false, true) => format!("halyard-demo-{}", std::process::id()),
        (None, false, false) => format!("halyard-replay-{}", std::process::id()),
    };
    // The reports and statistics are published under the same root and QoS as the rest.
    let (root, qos, stats_minutes) = (config.mqtt.root.clone(), config.mqtt.qos, config.mqtt.stats_minutes);
    let sink = Sink {
        client_id,
        status: live || demo,
        print,
        backpressure: (!live).then_some(50_000),
        settings: std::mem::take(&mut config.mqtt),
        endpoint: broker.endpoint.clone(),
        outbox,
        telemetry: telemetry.clone(),
        to_model: (!in_topics.is_empty()).then(|| input_tx.clone()),
        in_topics,
        drain_timeout: if live { Duration::from_secs(5) } else { Duration::from_secs(30) },
    };
    let (report_tx, report_rx) = mpsc::channel(64);
    let sink = tokio::spawn(sink.run(change_rx, logs, Some(report_rx)));
    let mut change_txs = vec![change_tx];
    let mut recorder_tx = None;
    let recorder = if config.store.enabled {
        let store = tokio::task::block_in_place(|| crate::store::open(&config))?;
        let roller = crate::store::Roller::new(config.calendar()?, crate::store::rollup::MAX_HOLD_MS);
        let (tx, rx) = mpsc::channel::<crate::store::recorder::Input>(4096);
        recorder_tx = Some(tx.clone());
        // A weak sender: the ticks stop when the model loop lets go of the recorder.
        let ticker = tx.downgrade();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let Some(tx) = ticker.upgrade() else { break };
                if tx.send(crate::store::recorder::Input::Tick).await.is_err() {
                    break;
                }
            }
        });
        drop(tx);
        let recorder = crate::store::Recorder::new(
            store,
            roller,
            (config.store.raw_days, config.store.minute_days),
            telemetry.clone(),
        )
        .with_reports(crate::store::recorder::Reports {
            devices: config.device.clone(),
            root: root.clone(),
            qos,
            tx: report_tx.clone(),
        });
        Some(tokio::task::spawn_blocking(move || recorder.run_blocking(rx)))
    } else {
        None
    };
    if stats_minutes > 0 {
        let (tx, rx) = mpsc::channel::<Arc<Change>>(4096);
        change_txs.push(tx);
        tokio::spawn(crate::sinks::stats::run(stats_minutes, root.clone(), qos, rx, report_tx.clone()));
    }
    drop(report_tx);
    if (live || demo) && !config.web.listen.is_empty() {
        let hub = Arc::new(crate::web::Hub::default());
        let (tx, rx) = mpsc::channel::<Arc<Change>>(4096);
        change_txs.push(tx);
        tokio::spawn(hub.clone().run(rx));
        // The rest keeps running without a dashboard.
        match crate::web::Web::new(&config, hub, telemetry.clone()) {
            Ok(web) => match crate::web::serve(&config.web.listen, web).await {
                Ok(addr) => tracing::info!("dashboard on http://{addr}/"),
                Err(e) => tracing::error!("{e:#}"),
            },
            Err(e) => tracing::error!("web: {e:#}"),
        }
    }

    let network = match &config.venetworking {
        Some(n) => n.key.map(|k| halyard_proto::victron::smart_networking::Network::new(k.0, n.network_id)),
        None => None,
    };
    let mut ingest =
        Ingest::new(BleDecoder::new(KeyRing::new(&config.device), network, telemetry.clone()), telemetry.clone());
    let mut model = Model::new(Registry::new(&config.device), &config.model);

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let started = Instant::now();
    let replay_stats = match mode {
        Mode::Live | Mode::Demo { .. } => {
            for port in std::mem::take(&mut config.vedirect) {
                tasks.push(tokio::spawn(crate::sources::vedirect::run(
                    port,
                    input_tx.clone(),
                    telemetry.clone(),
                    stop_rx.clone(),
                )));
            }
            for source in std::mem::take(&mut config.meshtastic) {
                tasks.push(tokio::spawn(crate::sources::mesh::run(
                    source.source,
                    input_tx.clone(),
                    telemetry.clone(),
                    stop_rx.clone(),
                )));
            }
            for source in std::mem::take(&mut config.nmea) {
                tasks.push(tokio::spawn(crate::sources::nmea::run(
                    source.source,
                    input_tx.clone(),
                    telemetry.clone(),
                    stop_rx.clone(),
                )));
            }
            for source in std::mem::take(&mut config.masterbus) {
                tasks.push(tokio::spawn(crate::sources::masterbus::run(
                    source,
                    input_tx.clone(),
                    telemetry.clone(),
                    stop_rx.clone(),
                )));
            }
            let stopper = stop_tx.clone();
            // A gateway with no source configured yet still runs (its broker, its dashboard)
            // until told to stop: this sender keeps the model's input open until then.
            let keep_open = input_tx.clone();
            tokio::spawn(async move {
                let _keep_open = keep_open;
                wait_for_signal().await;
                tracing::info!("stopping");
                let _ = stopper.send(true);
            });
            match mode {
                Mode::Demo { history, live } => {
                    let tx = input_tx.clone();
                    let stop_tx = stop_tx.clone();
                    let stopped = stop_rx.clone();
                    let t = telemetry.clone();
                    Some(tokio::spawn(async move {
                        let n = history.len() as u64;
                        let played = crate::sources::replay::play(history, None, &tx, &t).await?;
                        tracing::info!("demo: {} records of history stored", played.records);
                        let live_records = match live {
                            Some(day) => play_live_day(day, tx, stopped).await,
                            None => 0,
                        };
                        let _ = stop_tx.send(true);
                        Ok(crate::sources::replay::Stats { records: n + live_records, bad: 0 })
                    }))
                }
                _ => {
                    if config.bluetooth_wanted() {
                        start_bluetooth(&config, &input_tx, &telemetry, &stop_rx, &mut tasks);
                    }
                    None
                }
            }
        }
        Mode::Replay { files, max_speed, .. } => {
            let tx = input_tx.clone();
            let t = telemetry.clone();
            let stop_tx = stop_tx.clone();
            Some(tokio::spawn(async move {
                let r = crate::sources::replay::run(&files, max_speed, &tx, &t).await;
                let _ = stop_tx.send(true);
                r
            }))
        }
    };
    drop(input_tx);

    // The model loop: one task, so the model needs no lock and replays are deterministic.
    let mut stop = stop_rx.clone();
    let mut updates = Vec::new();
    let (mut n_updates, mut n_changes) = (0u64, 0u64);
    loop {
        let input = tokio::select! {
            biased;
            i = input_rx.recv() => i,
            _ = stop.changed() => {
                // Take what the sources already sent, then stop.
                while let Ok(i) = input_rx.try_recv() {
                    ingest.handle(i, &mut updates);
                }
                None
            }
        };
        let done = input.is_none();
        if let Some(i) = input {
            ingest.handle(i, &mut updates);
        }
        for u in updates.drain(..) {
            n_updates += 1;
            telemetry.inc("halyard_updates_total", &[("protocol", u.protocol)]);
            for change in model.apply(u) {
                n_changes += 1;
                let change = Arc::new(change);
                for tx in &change_txs {
                    let _ = tx.send(change.clone()).await;
                }
                if let Some(tx) = &recorder_tx {
                    let _ = tx.send(crate::store::recorder::Input::Change(change)).await;
                }
            }
        }
        if done {
            break;
        }
    }
    drop(change_txs);
    drop(recorder_tx);
    for t in tasks {
        let _ = t.await;
    }
    let stats = match replay_stats {
        Some(r) => Some(r.await??),
        None => None,
    };
    let decoded = started.elapsed();
    sink.await??;
    if let Some(r) = recorder {
        r.await??;
    }
    if let Some(stats) = stats {
        let published = telemetry.get("halyard_mqtt_publishes_total", &[]);
        let elapsed = started.elapsed().as_secs_f64();
        let summary = serde_json::json!({
            "records": stats.records,
            "bad_records": stats.bad,
            "updates": n_updates,
            "changes": n_changes,
            "devices": model.devices().count(),
            "mqtt_messages": published,
            "mqtt_dropped": telemetry.get("halyard_mqtt_dropped_total", &[]),
            "seconds": (elapsed * 1000.0).round() / 1000.0,
            "decode_seconds": (decoded.as_secs_f64() * 1000.0).round() / 1000.0,
            "updates_per_second": (n_updates as f64 / elapsed).round(),
            "mqtt_messages_per_second": (published / elapsed).round(),
            "decode_errors": telemetry.total("halyard_decode_errors_total"),
            "stored_readings": telemetry.get("halyard_store_samples_total", &[]),
            "stored_readings_per_second": (telemetry.get("halyard_store_samples_total", &[]) / elapsed).round(),
        });
        if print || demo {
            eprintln!("{summary}");
        } else {
            println!("{summary}");
        }
    }
    Ok(())
}

/// Play the demo's last day through its transports on a clock that runs on the simulated day;
/// returns the number of records sent. Interrupted (Ctrl-C), the feeders stop where they are.
async fn play_live_day(day: Box<LiveDay>, tx: mpsc::Sender<Input>, mut stopped: watch::Receiver<bool>) -> u64 {
    use crate::sim::devices;
    let LiveDay { split, master, tty, can, t0, speed } = *day;
    // A second for the sources to open before the first message.
    let clock = devices::Clock { origin: tokio::time::Instant::now() + Duration::from_secs(1), t0, speed: Some(speed) };
    crate::ingest::simulate(clock);
    let n = (split.serial.len() + split.can.len()) as u64;
    let feeders = vec![
        tokio::spawn(devices::serial_feeder(master, split.serial, clock)),
        tokio::spawn(devices::ecan_feeder(can, split.can, clock)),
    ];
    let aborts: Vec<_> = feeders.iter().map(|f| f.abort_handle()).collect();
    let feed = async {
        let direct = devices::direct_feeder(split.direct, clock, tx).await;
        let mut transports = Vec::new();
        for f in feeders {
            transports.extend(f.await.ok());
        }
        (n + direct, transports)
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
    n
}

#[cfg(feature = "bluetooth")]
fn start_bluetooth(
    config: &Config,
    tx: &mpsc::Sender<Input>,
    telemetry: &Arc<Telemetry>,
    stop: &watch::Receiver<bool>,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) {
    tasks.push(tokio::spawn(crate::sources::ble::run(
        config.bluetooth.adapter.clone(),
        tx.clone(),
        telemetry.clone(),
        stop.clone(),
    )));
}

#[cfg(not(feature = "bluetooth"))]
fn start_bluetooth(
    config: &Config,
    _: &mpsc::Sender<Input>,
    _: &Arc<Telemetry>,
    _: &watch::Receiver<bool>,
    _: &mut Vec<tokio::task::JoinHandle<()>>,
) {
    // ESP32 nodes may be this gateway's radio: their `victron/<mac>/advert` topics.
    if config.mqtt_in.topics.iter().any(|t| t.starts_with("victron/") || t == "#") {
        tracing::info!("Victron adverts come from ESP32 nodes through [mqtt_in] (this Halyard has no Bluetooth)");
        return;
    }
    tracing::error!(
        "Victron devices with keys are configured, but this Halyard was built without Bluetooth: \
         rebuild with `cargo build --release --features bluetooth` (needs libdbus-1-dev); the other sources keep running"
    );
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
