//! The shell around `halyard_node_core::reactor::Node`, which decides everything: this loop
//! only waits for the next thing to happen (socket bytes, an input, a log line, or the node's
//! own deadline, an absolute instant no input can postpone), hands it over, and carries out the
//! node's actions on the hardware — find the broker, open and write the socket, set the clock,
//! confirm or give up the running image, save a configuration, sleep.
//!
//! Topics under `<root>/node/<id>/`: `boot` (retained JSON), `config` (retained, secrets
//! hidden), `config/set` (in), `ota/begin`, `ota/chunk/<offset>`, `ota/abort` (in),
//! `ota/status`, `log`, `stats` (inputs dropped, log lines dropped).

use alloc::string::String;

use embassy_futures::select::{select4, Either4};
use embassy_net::tcp::TcpSocket;
use embassy_net::{IpEndpoint, Stack};
use embassy_time::{Duration, Instant, Timer};
use embedded_io_async::Write as _;
use esp_bootloader_esp_idf::partitions::FlashStorage;
use halyard_node_core::config::{self, Config};
use halyard_node_core::reactor::{Action, Link, Node};
use log::{info, warn};

use crate::inputs::{DROPPED, INPUTS};

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

/// Save a configuration (the console's `save`, Improv's new Wi-Fi); whether it was written.
pub fn save(c: &Config) -> bool {
    // SAFETY: only the console task writes this sector, one save at a time; the publisher's
    // flash handle touches the OTA partitions, never the configuration's.
    let mut flash = FlashStorage::new(unsafe { esp_hal::peripherals::FLASH::steal() });
    match flash.write(crate::CONFIG_OFFSET, &config::to_flash(c)) {
        Ok(()) => true,
        Err(e) => {
            warn!("saving the configuration: {e:?}");
            false
        }
    }
}

/// Save a configuration and restart into it.
pub fn save_and_restart(c: &Config) -> ! {
    if save(c) {
        info!("configuration saved; restarting");
    }
    esp_hal::system::software_reset()
}

fn now() -> u64 {
    Instant::now().as_millis()
}

fn stats() -> String {
    alloc::format!(
        "{{\"inputs_dropped\":{},\"log_lines_dropped\":{},\"time\":\"{}\"}}",
        DROPPED.get(),
        crate::logging::DROPPED.get(),
        crate::logging::time_text().unwrap_or_default()
    )
}

pub async fn run(mut hw: Hardware, config: Config, node_id: String, boot: String) -> ! {
    let pending = crate::ota::at_boot(&mut hw.flash);
    // SAFETY: read once at start-up.
    let woke_dark = unsafe { core::ptr::read_volatile(&raw const SLEPT_DARK) } == DARK;
    unsafe { core::ptr::write_volatile(&raw mut SLEPT_DARK, 0) };
    let led = config.on("led");
    let mut node = Node::new(config.clone(), &node_id, boot, now(), pending, woke_dark);
    let mut broker: Option<IpEndpoint> = None;
    let (mut rx, mut tx) = (alloc::vec![0u8; 6144], alloc::vec![0u8; 4096]);
    let mut buf = [0u8; 1024];
    loop {
        // One socket per connection: a closed one is dropped and a fresh one made.
        let mut socket = TcpSocket::new(hw.stack, &mut rx, &mut tx);
        socket.set_timeout(Some(Duration::from_secs(90)));
        'socket: loop {
            node.network(hw.stack.is_config_up(), now());
            while let Some(action) = node.next_action() {
                match action {
                    Action::FindBroker => {
                        broker = crate::broker::find(hw.stack, &config).await;
                        crate::broker::remember(broker);
                        let time = match broker {
                            Some(b) => crate::broker::time(hw.stack, &config, b.addr).await,
                            None => None,
                        };
                        node.broker_found(broker.is_some(), time, now());
                    }
                    Action::Connect => match broker {
                        Some(b) => match socket.connect(b).await {
                            Ok(()) => {
                                info!("MQTT: connecting to {b}");
                                node.socket_open(now());
                            }
                            Err(e) => {
                                warn!("MQTT: {b}: {e:?}");
                                node.socket_failed(now());
                            }
                        },
                        None => node.socket_failed(now()),
                    },
                    Action::Send(bytes) => {
                        if socket.write_all(&bytes).await.is_err() {
                            node.socket_closed(now());
                        }
                    }
                    Action::Close => {
                        warn!("MQTT: connection closed");
                        socket.abort();
                        let _ = socket.flush().await;
                        break 'socket;
                    }
                    Action::Connected => {
                        info!("MQTT: connected");
                        node.publish_stats(&stats(), now());
                    }
                    Action::SetTime(t) => {
                        crate::logging::set_time(t);
                        info!("time: {}", crate::logging::time_text().unwrap_or_default());
                    }
                    Action::ConfirmImage => {
                        crate::ota::confirm(&mut hw.flash);
                        info!("the new image works: confirmed");
                    }
                    Action::RollBack => {
                        warn!("the new image did not reach the broker within 5 minutes of booting: rolling back");
                        crate::ota::roll_back(&mut hw.flash);
                    }
                    Action::ActivateImage => {
                        let _ = socket.flush().await;
                        Timer::after(Duration::from_millis(500)).await;
                        crate::ota::activate(&mut hw.flash);
                    }
                    Action::SaveConfig(c) => save_and_restart(&c),
                    Action::Sleep { for_ms } => {
                        info!("the panels are dark: sleeping {} min", for_ms / 60_000);
                        let _ = socket.flush().await;
                        socket.close();
                        Timer::after(Duration::from_millis(200)).await;
                        unsafe { core::ptr::write_volatile(&raw mut SLEPT_DARK, DARK) };
                        hw.power.set_wakeup_deadline(esp_hal::time::Instant::now() + esp_hal::time::Duration::from_millis(for_ms));
                        hw.power.sleep_deep(esp_hal::rtc_cntl::sleep::RtcSleepConfig::deep());
                    }
                    Action::Blink => hw.led.toggle(),
                }
            }
            if !led {
                hw.led.set_high();
            }
            // Wait for the next thing; the node's deadline is an absolute instant, so inputs
            // arriving meanwhile cannot postpone its housekeeping.
            let up = node.link() == Link::Up;
            let read = async {
                if up {
                    socket.read(&mut buf).await
                } else {
                    core::future::pending().await
                }
            };
            let deadline = Timer::at(Instant::from_millis(node.deadline()));
            match select4(read, INPUTS.receive(), crate::logging::LINES.receive(), deadline).await {
                Either4::First(Ok(0) | Err(_)) => node.socket_closed(now()),
                Either4::First(Ok(n)) => {
                    let bytes = buf[..n].to_vec();
                    node.received(&bytes, now(), &mut crate::ota::NextSlot(&mut hw.flash));
                }
                Either4::Second(input) => node.input(input, now()),
                Either4::Third(line) => node.log_line(line, now()),
                Either4::Fourth(()) => node.poll(now()),
            }
        }
    }
}
