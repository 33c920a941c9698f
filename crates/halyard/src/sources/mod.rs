//! Sources: they move bytes or frames from a device (or a file) into the pipeline, timestamp them
//! and reconnect when the device goes away (all alike, through [`reopen`]). No protocol logic lives here (DESIGN.md §2).

pub mod backoff;
#[cfg(feature = "bluetooth")]
pub mod ble;
pub mod can;
pub mod esphome;
pub mod masterbus;
pub mod mesh;
pub mod n2k;
pub mod nmea;
pub mod reopen;
pub mod replay;
pub mod vedirect;
pub mod venus;

/// What to do about a port that cannot be opened, for the one-line error (empty when the error
/// says it all): the usual three on a boat's Pi are permissions, another program, and a cable
/// that is not plugged in.
pub fn open_hint(error: &dyn std::fmt::Display) -> &'static str {
    let text = error.to_string().to_ascii_lowercase();
    if text.contains("permission denied") {
        " (no permission: the user needs the dialout group, `sudo adduser $USER dialout`; the packaged service has it)"
    } else if text.contains("busy") {
        " (another program has the port open)"
    } else if text.contains("no such file") {
        " (not plugged in? `ls /dev/serial/by-id/` lists what is)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn open_errors_say_what_to_do() {
        let denied = std::io::Error::from_raw_os_error(13); // EACCES, as opening a tty says it
        assert!(super::open_hint(&denied).contains("dialout"), "{denied}");
        let missing = std::io::Error::from_raw_os_error(2); // ENOENT
        assert!(super::open_hint(&missing).contains("by-id"), "{missing}");
        assert_eq!(super::open_hint(&"timed out"), "");
    }
}
