//! halyard-node: the ESP32-C3/C6 shell around `halyard-node-core`. It owns the hardware — Wi-Fi,
//! the BLE controller, the TWAI CAN controller, a UART, the flash — and moves bytes between it
//! and the core's state machines, which decide everything else (and are tested on the host).
//!
//! Pins (ESP32-C3 and C6 dev boards): TWAI TX GPIO4 / RX GPIO5 to a 3.3 V CAN transceiver
//! (SN65HVD230), VE.Direct TX → GPIO6 (UART1 RX, through a divider for 5 V devices), status LED
//! GPIO8. See README.md, "The ESP32 node".
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use embassy_executor::Spawner;
use embassy_net::tcp::TcpSocket;
use embassy_net::{Runner, Stack, StackResources};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_time::{Duration, Instant, Timer};
use embedded_io_async::Write as _;
use embedded_storage::{ReadStorage, Storage};
use esp_backtrace as _;
use esp_hal::clock::CpuClock;
use esp_hal::timer::timg::TimerGroup;
use esp_radio::ble::controller::BleConnector;
use esp_radio::wifi::{Interface, WifiController};
use halyard_node_core::config::{self, Config};
use halyard_node_core::hci::{self, FromController};
use halyard_node_core::mqtt::{Event, Options, Session};
use halyard_node_core::topics::{Out, Schema, VeDirectPort};
use log::{info, warn};
use static_cell::StaticCell;

esp_bootloader_esp_idf::esp_app_desc!();

/// Where the configuration lives: the first 4 KiB sector of the `nvs` partition of the default
/// partition table (0x9000).
const CONFIG_OFFSET: u32 = 0x9000;

/// What the inputs hand to the publisher.
enum Input {
    /// A Victron advert: address and manufacturer data after the company id.
    Advert([u8; 6], Vec<u8>),
    /// A MasterBus frame: 29-bit id and data.
    Can(u32, Vec<u8>),
    /// VE.Direct bytes.
    Serial(Vec<u8>),
}

static INPUTS: Channel<CriticalSectionRawMutex, Input, 32> = Channel::new();

#[esp_rtos::main]
async fn main(spawner: Spawner) -> ! {
    esp_println::logger::init_logger_from_env();
    let peripherals = esp_hal::init(esp_hal::Config::default().with_cpu_clock(CpuClock::max()));
    esp_alloc::heap_allocator!(#[esp_hal::ram(reclaimed)] size: 64 * 1024);
    esp_alloc::heap_allocator!(size: 48 * 1024);
    let timg0 = TimerGroup::new(peripherals.TIMG0);
    esp_rtos::start(timg0.timer0, peripherals.FROM_CPU_INTR0);

    // The configuration: flash, else what was built in (HALYARD_NODE_CONFIG), else defaults.
    let mut flash = esp_storage::FlashStorage::new(peripherals.FLASH);
    let mut record = [0u8; 4096];
    let _ = flash.read(CONFIG_OFFSET, &mut record);
    let config = config::from_flash(&record).unwrap_or_else(|| {
        Config::parse(option_env!("HALYARD_NODE_CONFIG").unwrap_or("")).unwrap_or_else(|e| {
            warn!("built-in configuration: {e}");
            Config::default()
        })
    });
    info!("halyard-node {}: configuration\n{}", env!("CARGO_PKG_VERSION"), config.redacted());

    // Wi-Fi and the network stack.
    let wifi = WifiController::new(peripherals.WIFI, Default::default()).expect("Wi-Fi");
    let device = Interface::station();
    let mac = device.mac_address();
    let seed = u64::from_le_bytes([mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], 0x4E, 0x48]);
    static RESOURCES: StaticCell<StackResources<4>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(device, embassy_net::Config::dhcpv4(Default::default()), RESOURCES.init(StackResources::new()), seed);
    spawner.spawn(net(runner).expect("net task"));
    spawner.spawn(wifi_station(wifi, config.clone()).expect("wifi task"));

    if config.on("ble") {
        let ble = BleConnector::new(peripherals.BT, Default::default()).expect("BLE");
        spawner.spawn(ble_scan(ble, config.number("scan_interval_ms") as u32, config.number("scan_window_ms") as u32).expect("ble task"));
    }
    if config.on("masterbus") {
        // Listen-only: the controller does not even acknowledge frames, so the node cannot
        // disturb the bus.
        let twai = esp_hal::twai::TwaiConfiguration::new(
            peripherals.TWAI0,
            peripherals.GPIO5,
            peripherals.GPIO4,
            esp_hal::twai::BaudRate::B250K,
            esp_hal::twai::TwaiMode::ListenOnly,
        )
        .into_async()
        .start();
        spawner.spawn(can(twai).expect("can task"));
    }
    if config.on("vedirect") {
        let uart = esp_hal::uart::UartRx::new(peripherals.UART1, esp_hal::uart::Config::default().with_baudrate(19_200))
            .expect("UART1")
            .with_rx(peripherals.GPIO6)
            .into_async();
        spawner.spawn(vedirect(uart).expect("vedirect task"));
    }

    let node_id: String = mac.iter().map(|b| alloc::format!("{b:02x}")).collect();
    publisher(stack, config, node_id).await
}

#[embassy_executor::task]
async fn net(mut runner: Runner<'static, Interface>) -> ! {
    runner.run().await
}

/// Join the network and stay joined: reconnect after every drop, backing off to a minute.
#[embassy_executor::task]
async fn wifi_station(mut wifi: WifiController<'static>, config: Config) -> ! {
    let ssid = config.get("wifi_ssid").unwrap_or("");
    let password = config.get("wifi_password").unwrap_or("");
    let auth = if password.is_empty() {
        esp_radio::wifi::AuthenticationMethodConfig::Open
    } else {
        esp_radio::wifi::AuthenticationMethodConfig::Wpa2Personal(password.try_into().expect("checked length"))
    };
    let station = esp_radio::wifi::sta::StationConfig::default()
        .with_ssid(ssid.try_into().expect("checked length"))
        .with_authentication(auth);
    if let Err(e) = wifi.set_config(&esp_radio::wifi::Config::Station(station)) {
        warn!("Wi-Fi configuration: {e:?}");
    }
    let mut backoff = 1;
    loop {
        match wifi.connect_async().await {
            Ok(_) => {
                info!("Wi-Fi: joined {ssid}");
                backoff = 1;
                let _ = wifi.wait_for_disconnect_async().await;
                warn!("Wi-Fi: disconnected");
            }
            Err(e) => warn!("Wi-Fi: {e:?}; again in {backoff} s"),
        }
        Timer::after(Duration::from_secs(backoff)).await;
        backoff = (backoff * 2).min(60);
    }
}

/// Passive BLE scanning through HCI; Victron manufacturer data (company 0x02E1) goes on.
#[embassy_executor::task]
async fn ble_scan(mut ble: BleConnector<'static>, interval_ms: u32, window_ms: u32) -> ! {
    for command in [hci::reset(), hci::set_event_mask(), hci::set_scan_parameters(interval_ms, window_ms), hci::set_scan_enable(true)] {
        if let Err(e) = ble.write_async(&command).await {
            warn!("BLE: {e:?}");
        }
        Timer::after(Duration::from_millis(50)).await;
    }
    let mut buf = [0u8; 260];
    loop {
        let Ok(n) = ble.read_async(&mut buf).await else { continue };
        if let FromController::Adverts(adverts) = hci::parse(&buf[..n]) {
            for a in adverts.into_iter().filter(|a| a.company == 0x02E1) {
                let _ = INPUTS.try_send(Input::Advert(a.mac, a.data));
            }
        }
    }
}

#[embassy_executor::task]
async fn can(mut twai: esp_hal::twai::Twai<'static, esp_hal::Async>) -> ! {
    loop {
        if let Ok(frame) = twai.receive_async().await {
            if let esp_hal::twai::Id::Extended(id) = frame.identifier() {
                let _ = INPUTS.try_send(Input::Can(id.as_raw(), frame.data().to_vec()));
            }
        }
    }
}

#[embassy_executor::task]
async fn vedirect(mut uart: esp_hal::uart::UartRx<'static, esp_hal::Async>) -> ! {
    let mut buf = [0u8; 128];
    loop {
        if let Ok(n) = uart.read_async(&mut buf).await {
            let _ = INPUTS.try_send(Input::Serial(buf[..n].to_vec()));
        }
    }
}

/// The MQTT side: find the broker, keep a session, publish what the inputs give.
async fn publisher(stack: Stack<'static>, config: Config, node_id: String) -> ! {
    let mut schema = Schema::new(config.get("root").unwrap_or("halyard"));
    schema.raw = config.on("raw_topics");
    schema.names = config.names();
    let keys = config.keys();
    let mut network = match (config.get("venetworking_key"), config.get("venetworking_id")) {
        (Some(k), Some(id)) => {
            let (mut key, mut nid) = ([0u8; 16], [0u8; 2]);
            let _ = halyard_proto::hex::decode_into(k.as_bytes(), &mut key);
            let _ = halyard_proto::hex::decode_into(id.as_bytes(), &mut nid);
            Some(halyard_proto::victron::smart_networking::Network::new(key, nid))
        }
        _ => None,
    };
    let mut bus = halyard_proto::masterbus::bus::Bus::new();
    let mut port = VeDirectPort::default();
    let credentials = match (config.get("mqtt_user"), config.get("mqtt_password")) {
        (Some(u), Some(p)) => Some((String::from(u), String::from(p))),
        _ => None,
    };
    let root = String::from(config.get("root").unwrap_or("halyard"));
    let mut session = Session::new(Options {
        client_id: alloc::format!("halyard-node-{node_id}"),
        root: root.clone(),
        keep_alive_s: 30,
        credentials,
        subscriptions: alloc::vec![alloc::format!("{root}/node/{node_id}/config/set")],
    });
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 2048]);
    loop {
        stack.wait_config_up().await;
        let Some(broker) = find_broker(stack, &config).await else {
            Timer::after(Duration::from_secs(10)).await;
            continue;
        };
        let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
        socket.set_timeout(Some(Duration::from_secs(60)));
        if let Err(e) = socket.connect(broker).await {
            warn!("MQTT: {broker}: {e:?}");
            Timer::after(Duration::from_secs(5)).await;
            continue;
        }
        let now = || Instant::now().as_millis();
        session.connect(now());
        schema.refresh();
        let mut events = Vec::new();
        let mut buf = [0u8; 512];
        'connected: loop {
            let output = session.take_output();
            if !output.is_empty() && socket.write_all(&output).await.is_err() {
                break 'connected;
            }
            use embassy_futures::select::{select3, Either3};
            match select3(socket.read(&mut buf), INPUTS.receive(), Timer::after(Duration::from_secs(1))).await {
                Either3::First(Ok(0) | Err(_)) => break 'connected,
                Either3::First(Ok(n)) => session.receive(&buf[..n], now(), &mut events),
                Either3::Second(input) => {
                    let out: Vec<Out> = match input {
                        Input::Advert(mac, data) => {
                            let key = keys.iter().find(|(m, _)| *m == mac).map(|(_, k)| halyard_proto::victron::instant_readout::Key::new(k));
                            schema.victron_advert(mac, &data, key.as_ref(), network.as_mut()).unwrap_or_default()
                        }
                        Input::Can(id, data) => {
                            schema.masterbus(&mut bus, now() * 1_000_000, id, &data).unwrap_or_default()
                        }
                        Input::Serial(bytes) => schema.vedirect(&mut port, &bytes),
                    };
                    for m in out {
                        let _ = session.publish(&m.topic, m.payload.as_bytes(), 0, m.retain, now());
                    }
                }
                Either3::Third(()) => session.poll(now(), &mut events),
            }
            for e in events.drain(..) {
                match e {
                    Event::Connected { .. } => info!("MQTT: connected to {broker}"),
                    Event::Refused(code) => warn!("MQTT: refused ({code})"),
                    Event::TimedOut | Event::ProtocolError(_) => break 'connected,
                    Event::Message(m) => {
                        let text = core::str::from_utf8(&m.payload).unwrap_or("");
                        let mut next = config.clone();
                        match next.apply(text) {
                            Ok(()) => {
                                let mut flash = unsafe { esp_storage::FlashStorage::new(esp_hal::peripherals::FLASH::steal()) };
                                let _ = flash.write(CONFIG_OFFSET, &config::to_flash(&next));
                                info!("configuration saved; restarting");
                                esp_hal::system::software_reset();
                            }
                            Err(e) => warn!("configuration not applied: {e}"),
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

/// The broker: `mqtt = host[:port]` (an IPv4 address or a name for DNS), or the gateway found by
/// DNS-SD (`_mqtt._tcp.local`).
async fn find_broker(stack: Stack<'static>, config: &Config) -> Option<embassy_net::IpEndpoint> {
    let spec = config.get("mqtt").unwrap_or("mdns");
    let (host, port) = match spec.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().unwrap_or(1883)),
        None => (spec, 1883),
    };
    if let Ok(ip) = host.parse::<embassy_net::Ipv4Address>() {
        return Some((ip, port).into());
    }
    let addresses = stack.dns_query(host, embassy_net::dns::DnsQueryType::A).await.ok()?;
    addresses.first().map(|a| (*a, port).into())
}
