//! Log lines to the USB console and, from info level up, to MQTT (`<root>/node/<id>/log`)
//! through a small queue that drops the newest lines when the broker is away.

use alloc::string::String;

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;

pub static LINES: Channel<CriticalSectionRawMutex, String, 16> = Channel::new();
/// Lines dropped because the queue was full.
pub static DROPPED: crate::inputs::Counter = crate::inputs::Counter::new();

struct Logger;

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Info
    }

    fn log(&self, r: &log::Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        esp_println::println!("{} {}: {}", r.level(), r.target(), r.args());
        // Only this firmware's lines and everyone's warnings go to MQTT.
        if r.level() <= log::Level::Warn || r.target().starts_with("halyard") {
            if LINES.try_send(alloc::format!("{} {}", r.level(), r.args())).is_err() {
                DROPPED.add(1);
            }
        }
    }

    fn flush(&self) {}
}

static LOGGER: Logger = Logger;

/// Install the logger (after the heap: lines are formatted into Strings).
pub fn init() {
    // The racy setters: the ESP32-C3 has no atomic read-modify-write, and this runs once,
    // before any task or interrupt that logs.
    unsafe {
        let _ = log::set_logger_racy(&LOGGER);
        log::set_max_level_racy(log::LevelFilter::Info);
    }
}
