//! Panics: the message, the location and the backtrace's return addresses are kept in RTC fast
//! memory (which a software reset does not clear), the chip restarts, and the next boot
//! publishes them (`halyard_node_core::crash`). A node on a mast is never left halted.

use alloc::string::String;
use core::fmt::Write;

use halyard_node_core::crash::{self, RECORD};

#[esp_hal::ram(unstable(rtc_fast, persistent))]
static mut KEPT: [u8; RECORD] = [0; RECORD];

/// A `fmt::Write` into a fixed buffer (the heap may be what failed).
struct Fixed<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for Fixed<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let mut text = [0u8; 300];
    let mut w = Fixed { buf: &mut text, len: 0 };
    let _ = write!(w, "{info}");
    let len = w.len;
    let message = core::str::from_utf8(&text[..len]).unwrap_or("panic (message not UTF-8)");
    esp_println::println!("\n!! {message}");
    let mut pcs = [0u32; 16];
    let backtrace = esp_backtrace::Backtrace::capture();
    let frames = backtrace.frames();
    for (pc, frame) in pcs.iter_mut().zip(frames) {
        *pc = frame.program_counter() as u32;
    }
    // SAFETY: single core, interrupts are irrelevant here: nothing else touches KEPT after boot.
    #[allow(static_mut_refs)]
    unsafe {
        crash::store(&mut KEPT, message, &pcs[..frames.len().min(16)]);
    }
    esp_hal::system::software_reset()
}

/// The boot report (JSON): version, reset reason, the crash before this boot if any. The record
/// is cleared so the crash is reported once.
pub fn boot_report() -> String {
    let reason = match esp_hal::system::reset_reason() {
        Some(r) => alloc::format!("{r:?}"),
        None => String::from("unknown"),
    };
    // SAFETY: read and cleared once at start-up, before any task runs.
    #[allow(static_mut_refs)]
    let kept = unsafe {
        let kept = crash::load(&KEPT);
        KEPT.fill(0);
        kept
    };
    crash::boot_report(env!("CARGO_PKG_VERSION"), &reason, crate::ota::running_image(), kept.as_ref())
}
