//! The USB serial port: the text console (`key = value`, `show`, `save`, `reset`, `help`;
//! halyard_node_core::console) and, on the same line, Improv Wi-Fi (halyard_node_core::improv),
//! so ESP Web Tools or Home Assistant can give a new board its Wi-Fi from a browser. Improv's
//! packets are written in one piece through esp-println's lock, so a log line never splits one.

use alloc::string::String;
use alloc::vec::Vec;

use embassy_futures::select::{select3, Either3};
use embassy_time::{Duration, Timer};
use embedded_io_async::Read;
use halyard_node_core::config::Config;
use halyard_node_core::console::{Action, Console};
use halyard_node_core::improv::{scanned, Effect, Identity, Improv, Network, Piece, Splitter};
use log::warn;

#[cfg(feature = "esp32c3")]
const CHIP: &str = "ESP32-C3";
#[cfg(not(feature = "esp32c3"))]
const CHIP: &str = "ESP32-C6";

#[embassy_executor::task]
pub async fn task(usb: esp_hal::peripherals::USB_DEVICE<'static>, mut running: Config, name: String) -> ! {
    let (mut rx, _tx) = esp_hal::usb::usb_serial_jtag::UsbSerialJtag::new(usb).into_async().split();
    let mut console = Console::new(running.clone());
    let identity = Identity { version: env!("CARGO_PKG_VERSION").into(), chip: CHIP.into(), name };
    let mut improv = Improv::new(identity, running.get("wifi_ssid").is_some());
    let mut splitter = Splitter::default();
    let mut joining: Option<Config> = None;
    let mut buf = [0u8; 64];
    loop {
        match select3(rx.read(&mut buf), crate::wifi::JOINED.wait(), crate::wifi::SCANNED.wait()).await {
            Either3::First(Ok(n)) => {
                let mut pieces = Vec::new();
                for &b in &buf[..n] {
                    splitter.push(b, &mut |p| pieces.push(p));
                }
                let mut save = None;
                for piece in pieces {
                    if let Piece::Text(b) = piece {
                        console.input(&[b], &running, |a| match a {
                            Action::Say(text) => esp_println::print!("{text}"),
                            Action::Save(c) => save = Some(c),
                        });
                        continue;
                    }
                    let (bytes, effect) = improv.answer(piece, &running);
                    esp_println::Printer::write_bytes(&bytes);
                    match effect {
                        Effect::Join(next) => {
                            let creds = (String::from(next.get("wifi_ssid").unwrap_or("")), String::from(next.get("wifi_password").unwrap_or("")));
                            crate::wifi::JOIN.signal(creds);
                            joining = Some(next);
                        }
                        Effect::Scan => crate::wifi::SCAN.signal(()),
                        Effect::None => {}
                    }
                }
                if let Some(c) = save {
                    crate::publisher::save_and_restart(&c);
                }
            }
            Either3::Second(true) => {
                if let Some(next) = joining.take() {
                    if !crate::publisher::save(&next) {
                        warn!("Improv: the new Wi-Fi works but could not be saved");
                    }
                    running = next;
                }
                // The broker's address is the page to go on to: give the node a few seconds to
                // get an address and find it.
                for _ in 0..20 {
                    if crate::broker::url().is_some() {
                        break;
                    }
                    Timer::after(Duration::from_millis(500)).await;
                }
                improv.set_url(crate::broker::url());
                esp_println::Printer::write_bytes(&improv.joined());
            }
            Either3::Second(false) => {
                joining = None;
                esp_println::Printer::write_bytes(&improv.failed());
            }
            Either3::Third(heard) => {
                let networks: Vec<Network> = heard.iter().map(|(ssid, rssi, secured)| Network { ssid, rssi: *rssi, secured: *secured }).collect();
                esp_println::Printer::write_bytes(&scanned(&networks));
            }
        }
    }
}
