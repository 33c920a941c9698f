//! The inputs: BLE adverts through HCI, MasterBus frames from the TWAI controller, VE.Direct
//! bytes from UART1. Each hands what it read to the publisher; when the publisher is behind,
//! the newest readings are dropped (counted), never the connection.

use core::cell::Cell;

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_time::{Duration, Timer};
use esp_radio::ble::controller::BleConnector;
use esp_radio::ble::TxPower;
use halyard_node_core::hci::{self, FromController};
use log::warn;

/// What the inputs hand to the publisher: the node's own input type.
pub use halyard_node_core::reactor::Input;

pub static INPUTS: Channel<CriticalSectionRawMutex, Input, 32> = Channel::new();
/// A counter shared with tasks and interrupts (the ESP32-C3 has no atomic add).
pub struct Counter(critical_section::Mutex<Cell<u32>>);

impl Counter {
    pub const fn new() -> Self {
        Counter(critical_section::Mutex::new(Cell::new(0)))
    }

    pub fn add(&self, n: u32) {
        critical_section::with(|cs| {
            let c = self.0.borrow(cs);
            c.set(c.get().wrapping_add(n));
        });
    }

    pub fn get(&self) -> u32 {
        critical_section::with(|cs| self.0.borrow(cs).get())
    }
}

/// Inputs dropped because the publisher was behind.
pub static DROPPED: Counter = Counter::new();

fn hand_over(input: Input) {
    if INPUTS.try_send(input).is_err() {
        DROPPED.add(1);
    }
}

/// The controller's TX power step nearest `dbm` (the node only scans; a lower power draws less
/// and is all a passive scanner needs).
pub fn tx_power(dbm: i64) -> TxPower {
    match dbm {
        i64::MIN..=-13 => TxPower::N15,
        -12..=-10 => TxPower::N12,
        -9..=-7 => TxPower::N9,
        -6..=-4 => TxPower::N6,
        -3..=-1 => TxPower::N3,
        0..=1 => TxPower::N0,
        2..=4 => TxPower::P3,
        5..=7 => TxPower::P6,
        8..=10 => TxPower::P9,
        11..=13 => TxPower::P12,
        14..=16 => TxPower::P15,
        17..=18 => TxPower::P18,
        _ => TxPower::P20,
    }
}

/// Passive BLE scanning; Victron manufacturer data (company 0x02E1) goes on.
#[embassy_executor::task]
pub async fn ble_scan(mut ble: BleConnector<'static>, interval_ms: u32, window_ms: u32) -> ! {
    let commands = [hci::reset(), hci::set_event_mask(), hci::set_scan_parameters(interval_ms, window_ms), hci::set_scan_enable(true)];
    for command in commands {
        if let Err(e) = ble.write_async(&command).await {
            warn!("BLE: {e:?}");
        }
        Timer::after(Duration::from_millis(50)).await;
    }
    let mut buf = [0u8; 260];
    // A controller that keeps failing reads must not spin the core: back off from 10 ms to a
    // second, and say so once per burst.
    let mut failures = 0u32;
    loop {
        let n = match ble.read_async(&mut buf).await {
            Ok(n) => {
                failures = 0;
                n
            }
            Err(e) => {
                if failures == 0 {
                    warn!("BLE: read failed: {e:?}; backing off");
                }
                failures = failures.saturating_add(1);
                Timer::after(Duration::from_millis((10u64 << failures.min(7)).min(1_000))).await;
                continue;
            }
        };
        match hci::parse(&buf[..n]) {
            FromController::Adverts(adverts) => {
                for a in adverts.into_iter().filter(|a| a.company == 0x02E1) {
                    hand_over(Input::Advert(a.mac, a.data));
                }
            }
            FromController::CommandComplete { opcode, status } if status != 0 => warn!("BLE: command {opcode:#06x} failed ({status:#04x})"),
            _ => {}
        }
    }
}

#[embassy_executor::task]
pub async fn can(mut twai: esp_hal::twai::Twai<'static, esp_hal::Async>) -> ! {
    loop {
        match twai.receive_async().await {
            Ok(frame) => {
                // MasterBus uses 29-bit ids only (masterbus.md §2).
                if let esp_hal::twai::Id::Extended(id) = frame.identifier() {
                    hand_over(Input::Can(id.as_raw(), frame.data().to_vec()));
                }
            }
            Err(e) => warn!("CAN: {e:?}"),
        }
    }
}

#[embassy_executor::task]
pub async fn vedirect(mut uart: esp_hal::uart::UartRx<'static, esp_hal::Async>) -> ! {
    let mut buf = [0u8; 128];
    loop {
        match uart.read_async(&mut buf).await {
            Ok(n) => hand_over(Input::Serial(buf[..n].to_vec())),
            Err(e) => warn!("VE.Direct: {e:?}"),
        }
    }
}
