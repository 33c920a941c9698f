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
use crate::sinks::mqtt::Sink;
use crate::sinks::outbox::Outbox;
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
    /// The date (YYYY-MM-DD, UTC) of logs that carry times of day but no date (NMEA logs whose
    /// RMC/ZDA have no date); default: the file's modification date. Logs with dates keep them.
    #[arg(long, value_parser = parse_utc_date)]
    date: Option<halyard_proto::date::Date>,
    /// Captures: Halyard recordings, pcapng/pcap/candump (MasterBus), VE.Direct dumps.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// `halyard import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The configuration file (store, devices, keys, time zone).
    #[arg(short, long, env = "HALYARD_CONFIG")]
    config: Option<PathBuf>,
    /// The date (YYYY-MM-DD, UTC) of logs with times of day but no date (see `replay --date`).
    #[arg(long, value_parser = parse_utc_date)]
    date: Option<halyard_proto::date::Date>,
    /// Captures: Halyard recordings, NMEA logs, Meshtastic streams, pcapng/pcap/candump, VE.Direct dumps.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// `YYYY-MM-DD` as a calendar date.
fn parse_utc_date(text: &str) -> Result<halyard_proto::date::Date, String> {
    let days = crate::sim::parse_date(text).map_err(|e| format!("{e:#}"))?;
    halyard_proto::date::Date::from_days(days).ok_or_else(|| format!("`{text}`: out of range"))
}

/// Run the gateway until SIGINT or SIGTERM.
pub fn run(args: RunArgs) -> Result<()> {
    let config = Config::load_or_default(args.config.as_deref())?;
    if args.check {
        println!("{}", describe(&config));
        return Ok(());
    }
    let logs = logging::init(&config.log);
    if args.config.is_none() {
        tracing::info!("no configuration file: running on the embedded defaults");
    }
    runtime()?.block_on(pipeline(config, Mode::Live, Some(logs)))?;
    Ok(())
}

/// Replay captures through the pipeline, wait until MQTT has them all, print a summary.
pub fn replay(args: ReplayArgs) -> Result<()> {
    let config = Config::load_or_default(args.config.as_deref())?;
    let logs = logging::init(&config.log);
    let options = crate::sources::replay::Options { max_speed: args.max_speed, date: args.date };
    let mode = Mode::Replay { files: args.files, options, print: args.print };
    if let Some(summary) = runtime()?.block_on(pipeline(config, mode, Some(logs)))? {
        if args.print {
            eprintln!("{summary}");
        } else {
            println!("{summary}");
        }
    }
    Ok(())
}

/// Import captures into the store only (no MQTT): the history, the daily reports, at the
/// store's speed; print a summary.
pub fn import(args: ImportArgs) -> Result<()> {
    let config = Config::load_or_default(args.config.as_deref())?;
    anyhow::ensure!(config.store.enabled, "[store] is disabled in this configuration: nothing to import into");
    logging::init(&config.log);
    let options = crate::sources::replay::Options { max_speed: true, date: args.date };
    let mode = Mode::Import { records: Records::Files(args.files, options) };
    if let Some(summary) = runtime()?.block_on(pipeline(config, mode, None))? {
        println!("{summary}");
    }
    Ok(())
}

/// The tokio runtime every command of the gateway runs on.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

/// What the pipeline reads.
pub enum Mode {
    /// The configured sources, until a signal.
    Live,
    /// The simulated boat's last day (`halyard demo`): its devices behind the configured
    /// sources, its BLE adverts handed in directly; owns `<root>/status` like a live run.
    Demo(crate::demo::Day),
    /// Files, then stop.
    Replay {
        /// The files.
        files: Vec<PathBuf>,
        /// Pacing and dates.
        options: crate::sources::replay::Options,
        /// Print the MQTT messages.
        print: bool,
    },
    /// Records into the store only: no MQTT, no dashboard.
    Import {
        /// From where.
        records: Records,
    },
}

/// Records to import.
pub enum Records {
    /// Capture files.
    Files(Vec<PathBuf>, crate::sources::replay::Options),
    /// Records as they come (the simulator's).
    Stream(mpsc::Receiver<crate::ingest::recording::Record>),
}

/// A one-screen description of a configuration, secrets left out.
pub fn describe(c: &Config) -> String {
    let mut out = vec![
        format!("mqtt: {}", c.mqtt.url.as_deref().unwrap_or("mDNS, else the embedded broker")),
        format!("embedded broker: {} ({})", c.broker.listen, if c.broker.enabled { "enabled" } else { "disabled" }),
        format!("data directory: {}", c.data_dir().display()),
        format!("bluetooth: {}", if c.bluetooth_wanted() { "scanning" } else { "off" }),
        match (c.web.listen.as_str(), c.signalk.enabled) {
            ("", _) => "dashboard: off".to_owned(),
            (listen, true) => format!("dashboard and Signal K: http://{listen}/ (ws://{listen}/signalk/v1/stream)"),
            (listen, false) => format!("dashboard: http://{listen}/ (Signal K off)"),
        },
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
    for n in &c.n2k {
        out.push(format!("n2k: {}", n.source));
    }
    if c.n2k_out.enabled {
        let devices: Vec<String> = c.n2k_out.devices.iter().map(|(d, i)| format!("{d} as instance {i}")).collect();
        out.push(format!(
            "n2k_out: TRANSMITTING through {} from address {} ({})",
            c.n2k_out.source.as_deref().unwrap_or("the first [[n2k]] source"),
            c.n2k_out.address,
            if devices.is_empty() { "no device".to_owned() } else { devices.join(", ") }
        ));
    }
    for m in &c.meshtastic {
        out.push(format!("meshtastic: {}", m.source.name()));
    }
    for m in &c.ble_json {
        out.push(format!("ble-json: json:{} on {}", m.name, m.topics.join(", ")));
    }
    for p in &c.esphome {
        let encrypted = if p.encryption_key.is_some() { "encrypted" } else { "plaintext" };
        out.push(format!("esphome: {} ({}, {encrypted})", p.source(), p.address()));
    }
    for gx in &c.venus {
        let portal = gx.portal_id.as_deref().unwrap_or("found on the broker");
        out.push(format!("venus: {} (portal {portal}, read-only)", gx.address()));
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
    for a in &c.alarm {
        let hold = if a.hold_ms > 0 { format!(" for {} s", a.hold_ms / 1000) } else { String::new() };
        let clear = a.clear.as_deref().map(|c| format!(", clear {c}")).unwrap_or_default();
        out.push(format!("alarm: {} ({}) when {}{hold}{clear}", a.name, a.severity, a.when));
    }
    let silent = match c.alarms.silent_after {
        0 => "off".to_owned(),
        ms => format!("after {} min", ms / 60_000),
    };
    out.push(format!(
        "built-in alarms: silent devices {silent}; device faults {}",
        if c.alarms.device_faults { "on" } else { "off" }
    ));
    out.join("\n")
}

/// The pipeline; returns the summary of a replay, an import or a demo.
pub async fn pipeline(
    mut config: Config,
    mode: Mode,
    logs: Option<mpsc::Receiver<logging::LogLine>>,
) -> Result<Option<serde_json::Value>> {
    let telemetry = Arc::new(Telemetry::default());
    let live = matches!(mode, Mode::Live);
    let demo = matches!(mode, Mode::Demo(_));
    let import = matches!(mode, Mode::Import { .. });
    let print = matches!(mode, Mode::Replay { print: true, .. });
    if live {
        crate::clock::configure(config.clock.set_system_time);
    }
    if (live || demo) && !config.metrics.listen.is_empty() {
        match crate::telemetry::http::serve(&config.metrics.listen, telemetry.clone()).await {
            Ok(addr) => tracing::info!("metrics on http://{addr}/metrics"),
            Err(e) => tracing::error!("{e:#}"),
        }
    }

    let (input_tx, mut input_rx) = mpsc::channel::<Input>(4096);
    let mut change_txs = Vec::new();
    if (live || demo) && !config.metrics.listen.is_empty() {
        // The boat's values on /metrics beside the gateway's counters.
        let (tx, mut rx) = mpsc::channel::<Arc<Change>>(4096);
        change_txs.push(tx);
        let t = telemetry.clone();
        tokio::spawn(async move {
            while let Some(c) = rx.recv().await {
                t.boat.apply(&c);
            }
        });
    }
    // The reports and statistics are published under the same root and QoS as the rest.
    let (root, qos, stats_minutes) = (config.mqtt.root.clone(), config.mqtt.qos, config.mqtt.stats_minutes);
    let alarm_topics = crate::sinks::mqtt::alarms::AlarmTopics {
        root: root.clone(),
        qos,
        discovery: (config.mqtt.home_assistant && config.mqtt.named_topics)
            .then(|| config.mqtt.discovery_prefix.clone()),
    };
    let mut alarms = crate::alarms::Alarms::new(&config.alarm, config.alarms.silent_after)
        .map_err(|(name, e)| anyhow::anyhow!("[[alarm]] `{name}`: {e}"))?
        .with_device_faults(config.alarms.device_faults)
        .with_low_state_of_charge(config.alarms.low_state_of_charge)
        .with_battery_voltage(
            config.alarms.battery_voltage,
            config
                .device
                .iter()
                .filter(|d| d.chemistry.is_some() || d.nominal_voltage.is_some())
                .map(|d| (d.name.clone(), crate::alarms::battery::BankWatch::new(d.chemistry, d.nominal_voltage))),
        );
    // Notifiers are for news: a live gateway's alarms, never a replay's or an import's.
    let mut radio_links = Vec::new();
    let notifiers = if live && !config.notify.is_empty() {
        let mut radios = Vec::new();
        for m in &config.meshtastic {
            let (tx, rx) = mpsc::channel(8);
            radios.push((m.source.clone(), Some(tx)));
            radio_links.push(rx);
        }
        crate::notify::Notifiers::start(&config.notify, &radios, telemetry.clone())?
    } else {
        crate::notify::Notifiers::none(telemetry.clone())
    };
    let notify_route = crate::notify::routes(&config.alarm, &config.alarms.notify);
    // Both sinks' outboxes: a live gateway's (and the demo's), or a replay's own, so a replay
    // never sends what a live run left undelivered.
    let outbox_dir = config.data_dir().join(if live || demo { "outbox" } else { "replay-outbox" });
    let drain_timeout = if live { Duration::from_secs(5) } else { Duration::from_secs(30) };
    let (sink, report_tx) = if import {
        (None, None)
    } else {
        let broker = crate::broker::choose(&config).await?;
        tracing::info!("mqtt: {}", broker.how);
        let (change_tx, change_rx) = mpsc::channel::<Arc<Change>>(4096);
        change_txs.push(change_tx);
        let outbox = Outbox::open(&outbox_dir, "mqtt", config.mqtt.outbox_max_mib << 20)
            .with_context(|| format!("opening the MQTT outbox in {}", outbox_dir.display()))?;
        let mut in_topics = if live { config.mqtt_in.topics.clone() } else { Vec::new() };
        if live {
            // Other gateways' JSON adverts (`[[ble_json]]`).
            in_topics.extend(config.ble_json.iter().flat_map(|m| m.topics.iter().cloned()));
            // Acknowledgements: `<root>/alarm/<name>/ack` (any payload).
            in_topics.push(format!("{root}/alarm/+/ack"));
            // The anchor watch: `drop [RADIUS]`, `up`, or JSON (alarms::anchor::Command).
            in_topics.push(format!("{root}/anchor/set"));
        }
        let hostname = crate::hostname();
        let client_id = match (&config.mqtt.client_id, live, demo) {
            (Some(id), true, _) => id.clone(),
            (Some(id), false, _) => format!("{id}-replay-{}", std::process::id()),
            (None, true, _) => format!("halyard-{hostname}"),
            (None, false, true) => format!("halyard-demo-{}", std::process::id()),
            (None, false, false) => format!("halyard-replay-{}", std::process::id()),
        };
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
            drain_timeout,
        };
        let (report_tx, report_rx) = mpsc::channel(64);
        (Some(tokio::spawn(sink.run(change_rx, logs, Some(report_rx)))), Some(report_tx))
    };
    let influx = match (&config.influx, import) {
        (Some(settings), false) => {
            let (tx, rx) = mpsc::channel::<Arc<Change>>(4096);
            change_txs.push(tx);
            let outbox = crate::sinks::influx::outbox(&outbox_dir, settings)
                .with_context(|| format!("opening the InfluxDB outbox in {}", outbox_dir.display()))?;
            let sink = crate::sinks::influx::Sink {
                settings: settings.clone(),
                outbox,
                telemetry: telemetry.clone(),
                drain_timeout,
                backpressure: (!live).then_some(8),
            };
            Some(tokio::spawn(sink.run(rx)))
        }
        _ => None,
    };
    let mut recorder_tx = None;
    // The recorder's own alarms (the MPPTs' performance, judged with each daily report), to be
    // published and notified like the others.
    let (performance_tx, mut performance_rx) = mpsc::channel::<crate::alarms::Event>(64);
    let mut performance_open = live || demo;
    let recorder = if config.store.enabled {
        let store = tokio::task::block_in_place(|| crate::store::open(&config))?;
        let roller = crate::store::Roller::new(config.calendar()?, crate::store::rollup::MAX_HOLD_MS);
        // An import's model runs ahead of the recorder by up to 65,536 changes (~30 MB), so it
        // keeps working while a 50,000-sample batch is committed: with 4,096 the two took turns
        // (10 simulated days: 25.0 s → 18.4 s).
        let (tx, rx) = mpsc::channel::<crate::store::recorder::Input>(if import { 1 << 16 } else { 4096 });
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
        .live(live)
        .with_reports(crate::store::recorder::Reports {
            devices: config.device.clone(),
            root: root.clone(),
            qos,
            tx: report_tx.clone(),
            mppt_alarms: config.alarms.mppt_performance,
            alarm_tx: (live || demo).then(|| performance_tx.clone()),
        });
        Some(tokio::task::spawn_blocking(move || recorder.run_blocking(rx)))
    } else {
        None
    };
    if let (true, Some(report_tx)) = (stats_minutes > 0, &report_tx) {
        let (tx, rx) = mpsc::channel::<Arc<Change>>(4096);
        change_txs.push(tx);
        tokio::spawn(crate::sinks::stats::run(stats_minutes, root.clone(), qos, rx, report_tx.clone()));
    }
    let alarm_tx = report_tx.clone();
    drop(report_tx);
    let mut announced = std::collections::HashSet::new();
    if let (true, Some(tx)) = (live || demo, &alarm_tx) {
        // Each configured alarm is known, and off, from the start.
        let at = crate::ingest::now_ms();
        for rule in &config.alarm {
            announced.insert(rule.name.clone());
            for m in alarm_topics.discovery(&rule.name, rule.severity).into_iter().chain([alarm_topics.normal(
                &rule.name,
                rule.severity,
                at,
            )]) {
                let _ = tx.send(m).await;
            }
        }
    }
    let mut alarm_events = Vec::new();
    let mut performance_events = Vec::new();
    // The anchor watch: on replays and imports too, set by the recording's own `anchor/set`
    // messages; a live one is kept across restarts (a Pi rebooting at anchor resumes it).
    let anchor_file = live.then(|| config.data_dir().join("anchor.json"));
    let mut anchor =
        crate::alarms::anchor::AnchorWatch::resume(anchor_file.as_deref().and_then(crate::alarms::anchor::load));
    let mut anchor_changed = live;
    let mut alarm_tick = tokio::time::interval(Duration::from_secs(1));
    // The dashboard's live table, which also shows the alarms and the anchor watch.
    let mut hub = None;
    let mut signalk: Option<Arc<crate::signalk::Hub>> = None;
    if (live || demo) && !config.web.listen.is_empty() {
        let live_hub = Arc::new(crate::web::Hub::default());
        live_hub.anchor(anchor.state());
        hub = Some(live_hub.clone());
        let (tx, rx) = mpsc::channel::<Arc<Change>>(4096);
        change_txs.push(tx);
        tokio::spawn(live_hub.clone().run(rx));
        if config.signalk.enabled {
            let sk = Arc::new(
                crate::signalk::Hub::new(config.signalk.self_context(&config.data_dir()))
                    .with_name(config.signalk.name.clone()),
            );
            let (tx, rx) = mpsc::channel::<Arc<Change>>(4096);
            change_txs.push(tx);
            tokio::spawn(sk.clone().run(rx));
            signalk = Some(sk);
        }
        // A page's acknowledgements and anchor requests come in as the MQTT messages would.
        let requests = crate::web::Requests { tx: input_tx.clone(), root: root.clone() };
        // The rest keeps running without a dashboard.
        match crate::web::Web::new(&config, live_hub, telemetry.clone()) {
            Ok(mut web) => {
                if let Some(sk) = &signalk {
                    web = web.with_signalk(sk.clone());
                }
                match crate::web::serve(&config.web.listen, web.with_requests(requests)).await {
                    Ok(addr) => {
                        tracing::info!("dashboard on http://{addr}/");
                        if signalk.is_some() {
                            tracing::info!("signal k on http://{addr}/signalk (stream ws://{addr}/signalk/v1/stream)");
                        }
                    }
                    Err(e) => tracing::error!("{e:#}"),
                }
            }
            Err(e) => tracing::error!("web: {e:#}"),
        }
    }

    let network = match &config.venetworking {
        Some(n) => n.key.map(|k| halyard_proto::victron::smart_networking::Network::new(k.0, n.network_id)),
        None => None,
    };
    let mut ingest =
        Ingest::new(BleDecoder::new(KeyRing::new(&config.device), network, telemetry.clone()), telemetry.clone())
            .with_json_gateways(config.ble_json.clone())
            .with_preferred_receivers(config.device.iter().filter_map(|d| Some((d.mac?, d.receiver.clone()?))));
    let mut model = Model::new(Registry::new(&config.device), &config.model);
    // The lifetime energy counters continue across restarts of a gateway (a replay or an import
    // counts from zero and keeps nothing).
    let lifetime_file = (live || demo).then(|| config.data_dir().join("lifetime.json"));
    if let Some(path) = &lifetime_file {
        model = model.with_lifetime(crate::model::lifetime::load(path));
    }
    let mut lifetime_tick = tokio::time::interval(Duration::from_secs(60));
    if import {
        model = model.store_only();
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let started = Instant::now();
    let replay_stats = match mode {
        Mode::Live | Mode::Demo(_) => {
            // `[n2k_out]`: the devices to send follow the model's changes (never waiting on the bus).
            let n2k_out = config.n2k_out.enabled.then(|| {
                let (tx, rx) = mpsc::channel::<Arc<Change>>(4096);
                change_txs.push(tx);
                (config.n2k_out.clone(), crate::sources::n2k::transmit::Table::follow(&config.n2k_out, rx))
            });
            start_sources(&mut config, radio_links, n2k_out, &input_tx, &telemetry, &stop_rx, &mut tasks);
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
                Mode::Demo(day) => {
                    let (tx, stop_tx, stopped, t) =
                        (input_tx.clone(), stop_tx.clone(), stop_rx.clone(), telemetry.clone());
                    Some(tokio::spawn(async move {
                        let stats = day.play(tx, stopped, &t).await;
                        let _ = stop_tx.send(true);
                        stats
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
        Mode::Replay { files, options, .. } | Mode::Import { records: Records::Files(files, options) } => {
            let (tx, t, stop_tx) = (input_tx.clone(), telemetry.clone(), stop_tx.clone());
            Some(tokio::spawn(async move {
                let r = crate::sources::replay::run(&files, options, &tx, &t).await;
                let _ = stop_tx.send(true);
                r
            }))
        }
        Mode::Import { records: Records::Stream(records) } => {
            let (tx, t, stop_tx) = (input_tx.clone(), telemetry.clone(), stop_tx.clone());
            Some(tokio::spawn(async move {
                let r = crate::sources::replay::play(records, &tx, &t).await;
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
    // Inputs are taken a few hundred at a time when they queue up (a replay, an import): one
    // wake-up of the sources per batch rather than per record.
    let mut inputs = Vec::with_capacity(INPUT_BATCH);
    loop {
        let done = tokio::select! {
            biased;
            n = input_rx.recv_many(&mut inputs, INPUT_BATCH) => n == 0,
            e = performance_rx.recv(), if performance_open => {
                match e {
                    Some(e) => performance_events.push(e),
                    None => performance_open = false,
                }
                false
            }
            _ = lifetime_tick.tick(), if lifetime_file.is_some() => {
                if let Some(path) = &lifetime_file {
                    crate::model::lifetime::keep(path, model.lifetime());
                }
                false
            }
            _ = alarm_tick.tick(), if live => {
                let now = crate::ingest::now_ms();
                alarms.tick(now, &mut alarm_events);
                anchor.tick(now, &mut alarm_events);
                false
            }
            _ = stop.changed() => {
                // Take what the sources already sent, then stop.
                while let Ok(i) = input_rx.try_recv() {
                    inputs.push(i);
                }
                true
            }
        };
        for i in inputs.drain(..) {
            if let Input::Mqtt { at, topic, payload } = &i {
                if topic.strip_prefix(root.as_str()) == Some("/anchor/set") {
                    let said = String::from_utf8_lossy(payload);
                    match crate::alarms::anchor::Command::parse(&said)
                        .and_then(|c| anchor.command(c, *at, &mut alarm_events))
                    {
                        Ok(()) => {
                            tracing::info!("anchor: `{}`: {}", said.trim(), anchor.state());
                            if let Some(path) = &anchor_file {
                                crate::alarms::anchor::keep(path, anchor.anchor());
                            }
                            anchor_changed = true;
                        }
                        Err(e) => tracing::warn!("anchor: `{}` refused: {e}", said.trim()),
                    }
                    continue;
                }
                if let Some(name) = acknowledged(topic, &root) {
                    if crate::alarms::performance::PerformanceWatch::owns(name) {
                        // Judged where the reports are made: the recorder answers.
                        if let Some(tx) = &recorder_tx {
                            let ack = crate::store::recorder::Input::Acknowledge { alarm: name.to_owned(), at: *at };
                            let _ = tx.send(ack).await;
                        }
                        continue;
                    }
                    let event = if crate::alarms::anchor::AnchorWatch::owns(name) {
                        anchor.acknowledge(name, *at)
                    } else {
                        alarms.acknowledge(name, *at)
                    };
                    match event {
                        Some(e) => alarm_events.push(e),
                        None => tracing::info!("alarm {name}: acknowledged, but it is not active"),
                    }
                    continue;
                }
            }
            ingest.handle(i, &mut updates);
        }
        let ais = ingest.take_ais();
        if let Some(sk) = &signalk {
            for (at, report) in &ais {
                sk.ais(*at, report);
            }
        }
        for u in updates.drain(..) {
            n_updates += 1;
            telemetry.inc("halyard_updates_total", &[("protocol", u.protocol)]);
            for change in model.apply(u) {
                n_changes += 1;
                alarms.change(&change, &mut alarm_events);
                if change.device.name == "nav" {
                    anchor_changed |= watch_anchor(&mut anchor, &change, &mut alarm_events);
                }
                anchor.tick(change.at, &mut alarm_events);
                let change = Arc::new(change);
                for tx in &change_txs {
                    let _ = tx.send(change.clone()).await;
                }
                if let Some(tx) = &recorder_tx {
                    let _ = tx.send(crate::store::recorder::Input::Change(change)).await;
                }
            }
        }
        if std::mem::take(&mut anchor_changed) {
            let state = anchor.state();
            if let Some(tx) = &alarm_tx {
                let _ = tx.send(alarm_topics.anchor(&state)).await;
            }
            if let Some(hub) = &hub {
                hub.anchor(state);
            }
        }
        // The recorder's own events (the MPPTs' performance) are in the history already.
        let events = performance_events.drain(..).map(|e| (e, false)).chain(alarm_events.drain(..).map(|e| (e, true)));
        for (e, keep) in events {
            if let Some(hub) = &hub {
                hub.alarm(&e);
            }
            if let Some(sk) = &signalk {
                sk.alarm(&e);
            }
            announce(&e, live, &alarm_topics, alarm_tx.as_ref(), &mut announced).await;
            if live {
                notifiers.notify(&e, &notify_route(&e.alarm));
            }
            if let (true, Some(tx)) = (keep, &recorder_tx) {
                let _ = tx.send(crate::store::recorder::Input::Alarm((&e).into())).await;
            }
        }
        if done {
            break;
        }
    }
    if let Some(path) = &lifetime_file {
        crate::model::lifetime::keep(path, model.lifetime());
    }
    drop(alarm_tx);
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
    if let Some(sink) = sink {
        sink.await??;
    }
    let influx_points = match influx {
        Some(task) => {
            task.await??;
            Some(telemetry.get("halyard_influx_points_total", &[]))
        }
        None => None,
    };
    if let Some(r) = recorder {
        r.await??;
    }
    Ok(stats.map(|stats| {
        let published = telemetry.get("halyard_mqtt_publishes_total", &[]);
        let stored = telemetry.get("halyard_store_samples_total", &[]);
        let elapsed = started.elapsed().as_secs_f64();
        // Decode errors by source and kind ("ble/waiting_for_overflow": 3), so a summary says
        // which errors are a warm-up and which a fault.
        let mut kinds = serde_json::Map::new();
        for (labels, v) in telemetry.family("halyard_decode_errors_total") {
            let get = |k: &str| labels.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("");
            kinds.insert(format!("{}/{}", get("source"), get("kind")), v.into());
        }
        // Updates by the protocol that carried them ("nmea": 4803, "n2k": 10078).
        let by_protocol: serde_json::Map<String, serde_json::Value> = telemetry
            .family("halyard_updates_total")
            .into_iter()
            .map(|(labels, v)| {
                let protocol = labels.iter().find(|(n, _)| n == "protocol").map(|(_, v)| v.clone()).unwrap_or_default();
                (protocol, v.into())
            })
            .collect();
        let mut summary = serde_json::json!({
            "records": stats.records,
            "bad_records": stats.bad,
            "updates": n_updates,
            "updates_by_protocol": by_protocol,
            "changes": n_changes,
            "devices": model.devices().count(),
            "mqtt_messages": published,
            "mqtt_dropped": telemetry.get("halyard_mqtt_dropped_total", &[]),
            "seconds": (elapsed * 1000.0).round() / 1000.0,
            "decode_seconds": (decoded.as_secs_f64() * 1000.0).round() / 1000.0,
            "updates_per_second": (n_updates as f64 / elapsed).round(),
            "mqtt_messages_per_second": (published / elapsed).round(),
            "decode_errors": telemetry.total("halyard_decode_errors_total"),
            "decode_errors_by_kind": kinds,
            "stored_readings": stored,
            "stored_readings_per_second": (stored / elapsed).round(),
        });
        if let Some(points) = influx_points {
            summary["influx_points"] = points.into();
        }
        summary
    }))
}

/// Feed the anchor watch a navigation change; whether its state moved.
fn watch_anchor(
    anchor: &mut crate::alarms::anchor::AnchorWatch,
    change: &Change,
    out: &mut Vec<crate::alarms::Event>,
) -> bool {
    let get = |name: &str| change.changed.iter().find(|m| m.name == name).and_then(|m| m.value.as_ref()?.as_f64());
    if let Some(d) = get("depth") {
        anchor.depth(d);
    }
    match (get("latitude"), get("longitude")) {
        (Some(lat), Some(lon)) => {
            let before = out.len();
            anchor.position(lat, lon, change.at, out);
            anchor.anchor().is_some() || out.len() > before
        }
        _ => false,
    }
}

/// The alarm an acknowledgement topic (`<root>/alarm/<name>/ack`) names.
fn acknowledged<'a>(topic: &'a str, root: &str) -> Option<&'a str> {
    let name = topic.strip_prefix(root)?.strip_prefix("/alarm/")?.strip_suffix("/ack")?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

/// An alarm's event: logged, and its state on MQTT (with Home Assistant's discovery the first
/// time an alarm is heard of).
async fn announce(
    e: &crate::alarms::Event,
    live: bool,
    topics: &crate::sinks::mqtt::alarms::AlarmTopics,
    tx: Option<&mpsc::Sender<crate::sinks::outbox::Message>>,
    announced: &mut std::collections::HashSet<String>,
) {
    use crate::alarms::EventKind;
    // A replay's or an import's alarms are history, not news: they are kept, not shouted.
    match e.kind {
        EventKind::Raised | EventKind::Repeated if live => {
            tracing::warn!("alarm {} ({}): {}", e.alarm, e.severity, e.message)
        }
        _ => tracing::info!("alarm {} {:?} at {}: {}", e.alarm, e.kind, crate::sinks::mqtt::rfc3339(e.at), e.message),
    }
    let Some(tx) = tx else { return };
    if announced.insert(e.alarm.clone()) {
        if let Some(m) = topics.discovery(&e.alarm, e.severity) {
            let _ = tx.send(m).await;
        }
    }
    let _ = tx.send(topics.state(e)).await;
    if e.alarm == crate::alarms::engine::silent_name(&e.device) {
        let _ = tx.send(topics.availability(&e.device, !e.active())).await;
    }
}

/// Inputs the model loop takes at once, at most.
const INPUT_BATCH: usize = 256;

/// Start the configured serial, CAN, NMEA and Meshtastic sources.
fn start_sources(
    config: &mut Config,
    radio_links: Vec<mpsc::Receiver<crate::notify::radio::Outgoing>>,
    n2k_out: Option<crate::sources::n2k::Transmit>,
    tx: &mpsc::Sender<Input>,
    telemetry: &Arc<Telemetry>,
    stop: &watch::Receiver<bool>,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) {
    for port in std::mem::take(&mut config.vedirect) {
        tasks.push(tokio::spawn(crate::sources::vedirect::run(port, tx.clone(), telemetry.clone(), stop.clone())));
    }
    // A radio's notifier link, when a Meshtastic notifier is configured (in the order of
    // `[[meshtastic]]`, as `Notifiers::start` was given them).
    let mut links = radio_links.into_iter();
    for source in std::mem::take(&mut config.meshtastic) {
        let link = links.next();
        tasks.push(tokio::spawn(crate::sources::mesh::run(
            source.source,
            link,
            tx.clone(),
            telemetry.clone(),
            stop.clone(),
        )));
    }
    for source in std::mem::take(&mut config.nmea) {
        tasks.push(tokio::spawn(crate::sources::nmea::run(source.source, tx.clone(), telemetry.clone(), stop.clone())));
    }
    // `[n2k_out]` transmits through the source it names, else the first.
    let sources = std::mem::take(&mut config.n2k);
    let through = n2k_out.as_ref().and_then(|(settings, _)| match &settings.source {
        Some(want) => {
            let found = sources.iter().position(|n| n.source.to_string() == *want || n.source.name() == *want);
            if found.is_none() {
                tracing::error!("n2k_out: no [[n2k]] source `{want}`: nothing is transmitted");
            }
            found
        }
        None if sources.is_empty() => {
            tracing::error!("n2k_out: no [[n2k]] source to transmit through: nothing is transmitted");
            None
        }
        None => Some(0),
    });
    for (i, source) in sources.into_iter().enumerate() {
        let transmit = n2k_out.clone().filter(|_| through == Some(i));
        if transmit.is_some() && !crate::sources::n2k::can_transmit(&source.source) {
            tracing::error!(
                "n2k_out: {} cannot transmit (socketcan, slcan, ecan or ydwg can): nothing is transmitted",
                source.source
            );
        }
        tasks.push(tokio::spawn(crate::sources::n2k::run(
            source.source,
            transmit,
            tx.clone(),
            telemetry.clone(),
            stop.clone(),
        )));
    }
    for source in std::mem::take(&mut config.masterbus) {
        tasks.push(tokio::spawn(crate::sources::masterbus::run(source, tx.clone(), telemetry.clone(), stop.clone())));
    }
    // (Kept in the configuration: whether proxies deliver adverts is asked again below.)
    for proxy in config.esphome.clone() {
        tasks.push(tokio::spawn(crate::sources::esphome::run(proxy, tx.clone(), telemetry.clone(), stop.clone())));
    }
    for gx in std::mem::take(&mut config.venus) {
        tasks.push(tokio::spawn(crate::sources::venus::run(gx, tx.clone(), telemetry.clone(), stop.clone())));
    }
}

#[cfg(feature = "bluetooth")]
fn start_bluetooth(
    config: &Config,
    tx: &mpsc::Sender<Input>,
    telemetry: &Arc<Telemetry>,
    stop: &watch::Receiver<bool>,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) {
    for adapter in config.bluetooth.scanned() {
        tasks.push(tokio::spawn(crate::sources::ble::run(adapter, tx.clone(), telemetry.clone(), stop.clone())));
    }
}

#[cfg(not(feature = "bluetooth"))]
fn start_bluetooth(
    config: &Config,
    _: &mpsc::Sender<Input>,
    _: &Arc<Telemetry>,
    _: &watch::Receiver<bool>,
    _: &mut Vec<tokio::task::JoinHandle<()>>,
) {
    // ESP32 nodes or Bluetooth-to-MQTT gateways may be this gateway's radio: their
    // `victron/<mac>/advert` or `…/BTtoMQTT/<MAC>` topics.
    let proxied = |t: &String| t.starts_with("victron/") || t.contains("BTtoMQTT") || t == "#";
    if config.mqtt_in.topics.iter().any(proxied) || !config.ble_json.is_empty() || !config.esphome.is_empty() {
        tracing::info!(
            "Victron adverts come from ESP32 nodes or Bluetooth gateways through [mqtt_in] (this Halyard has no Bluetooth)"
        );
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
