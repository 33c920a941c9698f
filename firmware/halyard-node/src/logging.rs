//! Log lines to the USB console and, from info level up, to MQTT (`<root>/node/<id>/log`)
//! through a small queue that drops the newest lines when the broker is away.

use alloc::string::String;
use core::cell::Cell;

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;

pub static LINES: Channel<CriticalSectionRawMutex, String, 16> = Channel::new();
/// The wall clock, once the gateway or SNTP told it.
pub static CLOCK: critical_section::Mutex<Cell<halyard_node_core::clock::Clock>> =
    critical_section::Mutex::new(Cell::new(halyard_node_core::clock::Clock::new()));

/// Set the wall clock (Unix ms now).
pub fn set_time(unix_ms: u64) {
    let now = embassy_time::Instant::now().as_millis();
    critical_section::with(|cs| {
        let mut c = CLOCK.borrow(cs).get();
        c.set(unix_ms, now);
        CLOCK.borrow(cs).set(c);
    });
}

/// The time as text, once known. The timer is read only then: lines logged before the
/// scheduler started must not touch it.
pub fn time_text() -> Option<String> {
    let clock = critical_section::with(|cs| CLOCK.borrow(cs).get());
    clock.unix_ms(0)?;
    clock.rfc3339(embassy_time::Instant::now().as_millis())
}
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
            let line = match time_text() {
                Some(t) => alloc::format!("{t} {} {}", r.level(), r.args()),
                None => alloc::format!("{} {}", r.level(), r.args()),
            };
            if LINES.try_send(line).is_err() {
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
