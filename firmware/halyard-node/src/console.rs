//! The USB console: `key = value`, `show`, `save`, `reset`, `help` (halyard_node_core::console).

use embedded_io_async::Read;
use halyard_node_core::config::Config;
use halyard_node_core::console::{Action, Console};

#[embassy_executor::task]
pub async fn task(usb: esp_hal::peripherals::USB_DEVICE<'static>, running: Config) -> ! {
    let (mut rx, _tx) = esp_hal::usb::usb_serial_jtag::UsbSerialJtag::new(usb).into_async().split();
    let mut console = Console::new(running.clone());
    let mut buf = [0u8; 64];
    loop {
        let Ok(n) = rx.read(&mut buf).await;
        let mut save = None;
        console.input(&buf[..n], &running, |a| match a {
            Action::Say(text) => esp_println::print!("{text}"),
            Action::Save(c) => save = Some(c),
        });
        if let Some(c) = save {
            crate::publisher::save_and_restart(&c);
        }
    }
}
