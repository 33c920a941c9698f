//! halyard-node: the ESP32-C3/C6 shell around `halyard-node-core`. It owns the hardware — Wi-Fi,
//! the BLE controller, the TWAI CAN controller, a UART, the USB console, the flash, the RTC — and
//! moves bytes between it and the core's state machines, which decide everything else and are
//! tested on the host (`cargo test -p halyard-node-core`).
//!
//! Pins (ESP32-C3 and C6 boards): TWAI TX GPIO4 / RX GPIO5 to a 3.3 V CAN transceiver, VE.Direct
//! TX → GPIO6 (UART1 RX), status LED GPIO8. Wiring and flashing: README.md, "The ESP32 node".
#![no_std]
#![no_main]

extern crate alloc;

mod broker;
mod console;
mod crash;
mod inputs;
mod logging;
mod ota;
mod publisher;
mod wifi;

use alloc::string::String;

use embassy_executor::Spawner;
use embassy_net::StackResources;
use esp_hal::clock::CpuClock;
use esp_hal::timer::timg::TimerGroup;
use esp_radio::ble::controller::BleConnector;
use esp_radio::wifi::{Interface, WifiController};
use halyard_node_core::config::{self, Config};
use log::{info, warn};
use static_cell::StaticCell;

esp_bootloader_esp_idf::esp_app_desc!();

/// Where the configuration lives: the first 4 KiB sector of the `nvs` partition of the default
/// partition table (0x9000).
pub const CONFIG_OFFSET: u32 = 0x9000;

#[esp_rtos::main]
async fn main(spawner: Spawner) -> ! {
    let peripherals = esp_hal::init(esp_hal::Config::default().with_cpu_clock(CpuClock::max()));
    esp_alloc::heap_allocator!(#[esp_hal::ram(reclaimed)] size: 64 * 1024);
    esp_alloc::heap_allocator!(size: 48 * 1024);
    logging::init();
    let timg0 = TimerGroup::new(peripherals.TIMG0);
    esp_rtos::start(timg0.timer0, peripherals.FROM_CPU_INTR0);

    // The configuration: flash, else what was built in (HALYARD_NODE_CONFIG), else defaults.
    let mut flash = esp_storage::FlashStorage::new(peripherals.FLASH);
    let pending = ota::at_boot(&mut flash);
    ota::count_boot(&mut flash, pending);
    let boot = crash::boot_report();
    info!("halyard-node {}: {boot}", env!("CARGO_PKG_VERSION"));
    let mut record = [0u8; 4096];
    if let Err(e) = flash.read(CONFIG_OFFSET, &mut record) {
        warn!("reading the configuration: {e:?}");
    }
    let config = config::from_flash(&record).unwrap_or_else(|| {
        Config::parse(option_env!("HALYARD_NODE_CONFIG").unwrap_or("")).unwrap_or_else(|e| {
            warn!("built-in configuration: {e}");
            Config::default()
        })
    });
    info!("configuration:\n{}", config.redacted());

    // The status LED: off unless asked for (it draws a few mA all night).
    let led = esp_hal::gpio::Output::new(
        peripherals.GPIO8,
        esp_hal::gpio::Level::from(!config.on("led")),
        esp_hal::gpio::OutputConfig::default(),
    );

    // Wi-Fi and the network stack.
    let wifi = WifiController::new(peripherals.WIFI, Default::default()).expect("Wi-Fi");
    let device = Interface::station();
    let mac = device.mac_address();
    let node_id: String = mac.iter().map(|b| alloc::format!("{b:02x}")).collect();
    spawner.spawn(console::task(peripherals.USB_DEVICE, config.clone(), alloc::format!("halyard-node-{node_id}")).expect("console task"));
    let seed = u64::from_le_bytes([mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], 0x4E, 0x48]);
    static RESOURCES: StaticCell<StackResources<6>> = StaticCell::new();
    let mut net = embassy_net::Config::dhcpv4(Default::default());
    if let embassy_net::Config { ipv4: embassy_net::ConfigV4::Dhcp(dhcp), .. } = &mut net {
        dhcp.hostname = heapless::String::try_from("halyard-node").ok();
    }
    let (stack, runner) = embassy_net::new(device, net, RESOURCES.init(StackResources::new()), seed);
    spawner.spawn(wifi::net(runner).expect("net task"));
    spawner.spawn(wifi::station(wifi, config.clone()).expect("wifi task"));

    if config.on("ble") {
        let ble_config = esp_radio::ble::Config::default().with_default_tx_power(inputs::tx_power(config.number("ble_tx_power")));
        let ble = BleConnector::new(peripherals.BT, ble_config).expect("BLE");
        let (interval, window) = (config.number("scan_interval_ms") as u32, config.number("scan_window_ms") as u32);
        spawner.spawn(inputs::ble_scan(ble, interval, window).expect("ble task"));
    }
    if config.on("masterbus") {
        // Listen-only: the controller does not even acknowledge frames, so the node cannot
        // disturb the bus (the MasterBus is read-only for Halyard unless the user says so).
        let twai = esp_hal::twai::TwaiConfiguration::new(
            peripherals.TWAI0,
            peripherals.GPIO5,
            peripherals.GPIO4,
            esp_hal::twai::BaudRate::B250K,
            esp_hal::twai::TwaiMode::ListenOnly,
        )
        .into_async()
        .start();
        spawner.spawn(inputs::can(twai).expect("can task"));
    }
    if config.on("vedirect") {
        let uart = esp_hal::uart::UartRx::new(peripherals.UART1, esp_hal::uart::Config::default().with_baudrate(19_200))
            .expect("UART1")
            .with_rx(peripherals.GPIO6)
            .into_async();
        spawner.spawn(inputs::vedirect(uart).expect("vedirect task"));
    }

    let power = esp_hal::rtc_cntl::sleep::LowPower::new(peripherals.LPWR);
    publisher::run(publisher::Hardware { stack, flash, led, power }, config, node_id, boot).await
}
