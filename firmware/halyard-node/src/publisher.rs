//! The MQTT side: find the broker, keep the session, publish what the inputs give (the schema
//! of `halyard_node_core::topics`), take configuration and OTA messages, forward log lines,
//! publish the boot report, confirm a new image, and sleep when the panels are dark.
//!
//! Topics under `<root>/node/<id>/`: `boot` (retained JSON), `config` (retained, secrets
//! hidden), `config/set` (in), `ota/begin`, `ota/chunk/<offset>`, `ota/abort` (in),
//! `ota/status`, `log`, `stats` (inputs dropped, log lines dropped).

use alloc::string::String;
use alloc::vec::Vec;

use embassy_futures::select::{select4, Either4};
use embassy_net::tcp::TcpSocket;
use embassy_net::Stack;
use embassy_time::{Duration, Instant, Timer};
use embedded_io_async::Write as _;
use esp_bootloader_esp_idf::partitions::FlashStorage;
use halyard_node_core::config::{self, Config};
use halyard_node_core::mqtt::{Event, Options, Session};
use halyard_node_core::ota::{BootAction, Confirmation, Progress, Update};
use halyard_node_core::sleep::{Decision, Policy, SolarWatch};
use halyard_node_core::topics::{Out, Schema, VeDirectPort};
use halyard_proto::victron::instant_readout::Key;
use halyard_proto::victron::smart_networking::Network;
use log::{info, warn};

use crate::inputs::{Input, DROPPED, INPUTS};

/// What the publisher owns.
pub struct Hardware {
    pub stack: Stack<'static>,
    pub flash: FlashStorage<'static>,
    pub led: esp_hal::gpio::Output<'static>,
    pub power: esp_hal::rtc_cntl::sleep::LowPower<'static>,
}

/// Persisted across deep sleep: the node went to sleep because it was dark.
#[esp_hal::ram(unstable(rtc_fast, persistent))]
static mut SLEPT_DARK: u32 = 0;
const DARK: u32 = 0x4441_524B;

/// Save a configuration and restart into it.
pub fn save_and_restart(c: &Config) -> ! {
    // SAFETY: the node restarts right after; nothing else writes this sector.
    let mut flash = FlashStorage::new(unsafe { esp_hal::peripherals::FLASH::steal() });
    if let Err(e) = flash.write(crate::CONFIG_OFFSET, &config::to_flash(c)) {
        warn!("saving the configuration: {e:?}");
    }
    info!("configuration saved; restarting");
    esp_hal::system::software_reset()
}

fn now() -> u64 {
    Instant::now().as_millis()
}

pub async fn run(mut hw: Hardware, config: Config, node_id: String, boot: String) -> ! {
    let root = String::from(config.get("root").unwrap_or("halyard"));
    let node = alloc::format!("{root}/node/{node_id}");
    let clock_topic = alloc::format!("{root}/clock");
    let mut schema = Schema::new(&root);
    schema.raw = config.on("raw_topics");
    schema.names = config.names();
    schema.roles = config.roles();
    let proxy = config.on("ble_proxy");
    let keys: Vec<([u8; 6], Key)> = config.keys().into_iter().map(|(m, k)| (m, Key::new(&k))).collect();
    let mut network = match (config.get("venetworking_key"), config.get("venetworking_id")) {
        (Some(k), Some(id)) => {
            let (mut key, mut nid) = ([0u8; 16], [0u8; 2]);
            let _ = halyard_proto::hex::decode_into(k.as_bytes(), &mut key);
            let _ = halyard_proto::hex::decode_into(id.as_bytes(), &mut nid);
            Some(Network::new(key, nid))
        }
        _ => None,
    };
    let mut bus = halyard_proto::masterbus::bus::Bus::new();
    let mut port = VeDirectPort::default();
    let mut ota = Update::default();
    let pending = crate::ota::at_boot(&mut hw.flash);
    let mut confirmation = Confirmation::at_boot(pending, now());
    // SAFETY: read once at start-up.
    let woke_dark = unsafe { core::ptr::read_volatile(&raw const SLEPT_DARK) } == DARK;
    unsafe { core::ptr::write_volatile(&raw mut SLEPT_DARK, 0) };
    let mut policy = Policy::new(
        config.number("sleep_below_w") as f64,
        config.number("sleep_after_min") as u32,
        config.number("wake_every_min") as u32,
        now(),
        woke_dark,
    );
    let mut solar = SolarWatch::default();
    let credentials = match (config.get("mqtt_user"), config.get("mqtt_password")) {
        (Some(u), Some(p)) => Some((String::from(u), String::from(p))),
        _ => None,
    };
    let mut session = Session::new(Options {
        client_id: alloc::format!("halyard-node-{node_id}"),
        root: root.clone(),
        keep_alive_s: 30,
        credentials,
        subscriptions: alloc::vec![
            alloc::format!("{node}/config/set"),
            alloc::format!("{node}/ota/#"),
            alloc::format!("{root}/clock"),
        ],
    });
    let (mut rx, mut tx) = (alloc::vec![0u8; 6144], alloc::vec![0u8; 4096]);
    let mut boot_sent = false;
    loop {
        hw.stack.wait_config_up().await;
        let Some(broker) = crate::broker::find(hw.stack, &config).await else {
            Timer::after(Duration::from_secs(10)).await;
            continue;
        };
        if let Some(t) = crate::broker::time(hw.stack, &config, broker.addr).await {
            crate::logging::set_time(t);
            info!("time from SNTP: {}", crate::logging::time_text().unwrap_or_default());
        }
        let mut socket = TcpSocket::new(hw.stack, &mut rx, &mut tx);
        socket.set_timeout(Some(Duration::from_secs(90)));
        if let Err(e) = socket.connect(broker).await {
            warn!("MQTT: {broker}: {e:?}");
            Timer::after(Duration::from_secs(5)).await;
            continue;
        }
        session.connect(now());
        schema.refresh();
        let mut events = Vec::new();
        let mut buf = [0u8; 1024];
        'connected: loop {
            let output = session.take_output();
            if !output.is_empty() && socket.write_all(&output).await.is_err() {
                break 'connected;
            }
            let tick = Timer::after(Duration::from_secs(1));
            match select4(socket.read(&mut buf), INPUTS.receive(), crate::logging::LINES.receive(), tick).await {
                Either4::First(Ok(0) | Err(_)) => break 'connected,
                Either4::First(Ok(n)) => session.receive(&buf[..n], now(), &mut events),
                Either4::Second(input) => {
                    let out: Vec<Out> = match input {
                        Input::Advert(mac, data) => {
                            if proxy {
                                let p = schema.advert_proxy(mac, &data);
                                let _ = session.publish(&p.topic, p.payload.as_bytes(), 0, false, now());
                            }
                            let key = keys.iter().find(|(m, _)| *m == mac).map(|(_, k)| k);
                            schema.victron_advert(mac, &data, key, network.as_mut()).unwrap_or_default()
                        }
                        Input::Can(id, data) => schema.masterbus(&mut bus, now() * 1_000_000, id, &data).unwrap_or_default(),
                        Input::Serial(bytes) => schema.vedirect(&mut port, &bytes),
                    };
                    for m in out {
                        if let Some(total) = solar.observe(&m.topic, &m.payload, now()) {
                            policy.solar(total, now());
                        }
                        // QoS 1 while the window has room; a burst beyond it goes at QoS 0
                        // rather than waiting (the next reading follows within seconds).
                        if session.publish(&m.topic, m.payload.as_bytes(), 1, m.retain, now()).is_err() {
                            let _ = session.publish(&m.topic, m.payload.as_bytes(), 0, m.retain, now());
                        }
                        hw.led.toggle();
                    }
                    if !config.on("led") {
                        hw.led.set_high();
                    }
                }
                Either4::Third(line) => {
                    let _ = session.publish(&alloc::format!("{node}/log"), line.as_bytes(), 0, false, now());
                }
                Either4::Fourth(()) => {
                    session.poll(now(), &mut events);
                    if confirmation.poll(now()) == BootAction::RollBack {
                        warn!("the new image did not reach the broker in time: rolling back");
                        crate::ota::roll_back(&mut hw.flash);
                    }
                    if let Decision::Sleep { for_ms } = policy.decide(now(), ota.busy()) {
                        info!("the panels are dark: sleeping {} min", for_ms / 60_000);
                        session.disconnect();
                        let _ = socket.write_all(&session.take_output()).await;
                        socket.close();
                        Timer::after(Duration::from_millis(200)).await;
                        unsafe { core::ptr::write_volatile(&raw mut SLEPT_DARK, DARK) };
                        hw.power.set_wakeup_deadline(esp_hal::time::Instant::now() + esp_hal::time::Duration::from_millis(for_ms));
                        hw.power.sleep_deep(esp_hal::rtc_cntl::sleep::RtcSleepConfig::deep());
                    }
                }
            }
            for e in events.drain(..) {
                match e {
                    Event::Connected { .. } => {
                        info!("MQTT: connected to {broker}");
                        if confirmation.connected() == BootAction::Confirm {
                            crate::ota::confirm(&mut hw.flash);
                            info!("the new image works: confirmed");
                        }
                        if !boot_sent {
                            let _ = session.publish(&alloc::format!("{node}/boot"), boot.as_bytes(), 1, true, now());
                            boot_sent = true;
                        }
                        let _ = session.publish(&alloc::format!("{node}/config"), config.redacted().as_bytes(), 1, true, now());
                        let stats = alloc::format!(
                            "{{\"inputs_dropped\":{},\"log_lines_dropped\":{},\"time\":\"{}\"}}",
                            DROPPED.get(),
                            crate::logging::DROPPED.get(),
                            crate::logging::time_text().unwrap_or_default()
                        );
                        let _ = session.publish(&alloc::format!("{node}/stats"), stats.as_bytes(), 0, true, now());
                    }
                    Event::Refused(code) => {
                        // 4 bad user name or password, 5 not authorised: retrying at once would
                        // only hammer the broker.
                        warn!("MQTT: refused ({code}); trying again in 30 s");
                        Timer::after(Duration::from_secs(30)).await;
                        break 'connected;
                    }
                    Event::TimedOut | Event::ProtocolError(_) => break 'connected,
                    Event::Message(m) if m.topic == clock_topic => {
                        let mut c = halyard_node_core::clock::Clock::new();
                        if c.set_from_text(&m.payload, now()) {
                            crate::logging::set_time(c.unix_ms(now()).unwrap_or(0));
                        }
                    }
                    Event::Message(m) => {
                        let Some(what) = m.topic.strip_prefix(node.as_str()) else { continue };
                        if what == "/config/set" {
                            let mut next = config.clone();
                            match next.apply(core::str::from_utf8(&m.payload).unwrap_or("")) {
                                Ok(()) => save_and_restart(&next),
                                Err(e) => warn!("configuration not applied: {e}"),
                            }
                            continue;
                        }
                        let mut slot = crate::ota::NextSlot(&mut hw.flash);
                        let result = match what {
                            "/ota/begin" => ota.begin(core::str::from_utf8(&m.payload).unwrap_or(""), &mut slot),
                            "/ota/abort" => {
                                ota.abort();
                                continue;
                            }
                            chunk => match chunk.strip_prefix("/ota/chunk/").and_then(|o| o.parse().ok()) {
                                Some(offset) => ota.chunk(offset, &m.payload, &mut slot),
                                None => continue,
                            },
                        };
                        let status = Update::status(&result);
                        let _ = session.publish(&alloc::format!("{node}/ota/status"), status.as_bytes(), 1, false, now());
                        if result == Ok(Progress::Verified) {
                            let _ = socket.write_all(&session.take_output()).await;
                            Timer::after(Duration::from_millis(500)).await;
                            crate::ota::activate(&mut hw.flash);
                        }
                    }
                    _ => {}
                }
            }
        }
        session.dropped();
        warn!("MQTT: connection lost");
        Timer::after(Duration::from_secs(2)).await;
    }
}
