//! The VE.Direct HEX protocol: `:` + command nibble + data bytes as hex pairs + checksum + `\n`,
//! where `command + Σ data + checksum ≡ 0x55 (mod 256)`; multi-byte values little-endian
//! (victron.md §4.2; Victron's "VE.Direct HEX protocol" FAQ via koestler/go-victron).
//!
//! | command (host → device) | response (device → host) |
//! |---|---|
//! | 0 enter boot | — |
//! | 1 ping | 5 ping response (app version) |
//! | 3 app version | 1 done |
//! | 4 product id | 1 done |
//! | 6 restart | — |
//! | 7 get `reg u16, flags u8` | 7 get `reg, flags, value` |
//! | 8 set `reg, flags, value` | 8 set `reg, flags, value` |
//! | — | A async `reg, flags, value` (unsolicited) |
//! | — | 3 unknown command, 4 error |
//!
//! Flags: 0x00 ok, 0x01 unknown register, 0x02 not supported, 0x04 parameter error.

use crate::hex::{digit, nibble};

/// Largest data payload accepted (a history record is 37 bytes, a model name ~33).
pub const MAX_DATA: usize = 64;
/// Longest line this codec writes or reads: `:`, command, data and checksum as hex, `\n`.
pub const MAX_LINE: usize = 2 + 2 * (MAX_DATA + 1) + 1;

/// A checksummed HEX frame: the command nibble and its data bytes (checksum removed).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    command: u8,
    data: [u8; MAX_DATA],
    len: u8,
}

impl core::fmt::Debug for Frame {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Frame {{ command: {:X}, data: {:02X?} }}", self.command, self.data())
    }
}

/// Why a line is not a valid HEX frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The line does not start with `:` followed by a command nibble.
    NoCommand,
    /// A character that is not a hex digit at this position of the line.
    InvalidDigit {
        /// Index in the line.
        position: usize,
    },
    /// An odd number of hex digits after the command.
    OddLength,
    /// No checksum byte.
    Truncated,
    /// More data than [`MAX_DATA`].
    TooLong,
    /// The bytes do not sum to 0x55.
    Checksum {
        /// What the sum came to.
        sum: u8,
    },
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            FrameError::NoCommand => f.write_str("HEX line without ':' and command"),
            FrameError::InvalidDigit { position } => write!(f, "HEX line has a non-hex character at {position}"),
            FrameError::OddLength => f.write_str("HEX line has an odd number of digits"),
            FrameError::Truncated => f.write_str("HEX line has no checksum"),
            FrameError::TooLong => f.write_str("HEX line too long"),
            FrameError::Checksum { sum } => write!(f, "HEX checksum mismatch (sum 0x{sum:02X}, expected 0x55)"),
        }
    }
}

impl Frame {
    /// A frame from a command and data (for encoding).
    pub fn new(command: u8, data: &[u8]) -> Option<Frame> {
        if data.len() > MAX_DATA || command > 0xF {
            return None;
        }
        let mut d = [0u8; MAX_DATA];
        d[..data.len()].copy_from_slice(data);
        Some(Frame { command, data: d, len: data.len() as u8 })
    }

    /// The command or response nibble.
    pub fn command(&self) -> u8 {
        self.command
    }

    /// The data bytes, without the checksum.
    pub fn data(&self) -> &[u8] {
        &self.data[..usize::from(self.len)]
    }

    /// Parse one line (`:` … with or without the trailing `\r\n`/`\n`).
    pub fn parse(line: &[u8]) -> Result<Frame, FrameError> {
        let mut end = line.len();
        while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        let line = &line[..end];
        let (command, digits) = match line {
            [b':', c, rest @ ..] => (nibble(*c).ok_or(FrameError::NoCommand)?, rest),
            _ => return Err(FrameError::NoCommand),
        };
        if digits.len() % 2 != 0 {
            return Err(FrameError::OddLength);
        }
        let n = digits.len() / 2;
        if n == 0 {
            return Err(FrameError::Truncated);
        }
        if n - 1 > MAX_DATA {
            return Err(FrameError::TooLong);
        }
        let mut data = [0u8; MAX_DATA + 1];
        let mut sum = command;
        for i in 0..n {
            let hi = nibble(digits[2 * i]).ok_or(FrameError::InvalidDigit { position: 2 + 2 * i })?;
            let lo = nibble(digits[2 * i + 1]).ok_or(FrameError::InvalidDigit { position: 3 + 2 * i })?;
            data[i] = hi << 4 | lo;
            sum = sum.wrapping_add(data[i]);
        }
        if sum != 0x55 {
            return Err(FrameError::Checksum { sum });
        }
        let mut d = [0u8; MAX_DATA];
        d[..n - 1].copy_from_slice(&data[..n - 1]);
        Ok(Frame { command, data: d, len: (n - 1) as u8 })
    }

    /// Write the line, upper-case, with checksum and `\n`, into `out`; returns its length.
    /// `out` of [`MAX_LINE`] bytes always suffices.
    pub fn encode(&self, out: &mut [u8]) -> Option<usize> {
        let len = 2 + 2 * (self.data().len() + 1) + 1;
        if out.len() < len {
            return None;
        }
        out[0] = b':';
        out[1] = digit(self.command);
        let mut sum = self.command;
        let mut at = 2;
        for b in self.data() {
            out[at] = digit(b >> 4);
            out[at + 1] = digit(*b);
            sum = sum.wrapping_add(*b);
            at += 2;
        }
        let check = 0x55u8.wrapping_sub(sum);
        out[at] = digit(check >> 4);
        out[at + 1] = digit(check);
        out[at + 2] = b'\n';
        Some(len)
    }

    /// The encoded line as a string.
    #[cfg(feature = "alloc")]
    pub fn to_line(&self) -> alloc::string::String {
        let mut buf = [0u8; MAX_LINE];
        let n = self.encode(&mut buf).unwrap_or(0);
        alloc::string::String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

/// Command and response codes.
pub mod code {
    /// Enter boot loader (command).
    pub const ENTER_BOOT: u8 = 0x0;
    /// Ping (command) / done (response).
    pub const PING_OR_DONE: u8 = 0x1;
    /// App version (command) / unknown command (response).
    pub const APP_VERSION_OR_UNKNOWN: u8 = 0x3;
    /// Product id (command) / error (response).
    pub const PRODUCT_ID_OR_ERROR: u8 = 0x4;
    /// Ping response.
    pub const PING_RESPONSE: u8 = 0x5;
    /// Restart (command).
    pub const RESTART: u8 = 0x6;
    /// Get register.
    pub const GET: u8 = 0x7;
    /// Set register.
    pub const SET: u8 = 0x8;
    /// Asynchronous register update.
    pub const ASYNC: u8 = 0xA;
}

/// Register-access flags of get/set/async messages.
pub mod flags {
    /// Success.
    pub const OK: u8 = 0x00;
    /// The register does not exist.
    pub const UNKNOWN_ID: u8 = 0x01;
    /// The register is not supported by this device.
    pub const NOT_SUPPORTED: u8 = 0x02;
    /// The value was rejected.
    pub const PARAMETER_ERROR: u8 = 0x04;
}

/// What a frame means. Codes 1, 3 and 4 mean a command without data and a response with data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// Ping (host → device).
    Ping,
    /// App-version request.
    AppVersionRequest,
    /// Product-id request.
    ProductIdRequest,
    /// Restart request.
    Restart,
    /// Enter-boot request.
    EnterBoot,
    /// "Done" response to an app-version or product-id request: little-endian value.
    Done(&'a [u8]),
    /// Ping response: the application version.
    PingResponse(u16),
    /// "Unknown command" response.
    UnknownCommand(&'a [u8]),
    /// "Error" response.
    Error(&'a [u8]),
    /// Get request: a register and no value.
    GetRequest {
        /// Register id.
        register: u16,
    },
    /// Register value: a get response, a set request or response, or an async update.
    Register {
        /// Which of get (7), set (8) or async (0xA).
        command: u8,
        /// Register id.
        register: u16,
        /// Access flags; non-zero means the value is absent or rejected.
        flags: u8,
        /// Little-endian value bytes.
        value: &'a [u8],
    },
    /// A command code the protocol reserves.
    Reserved(u8),
}

/// A frame whose data does not fit its command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageError {
    /// The command nibble.
    pub command: u8,
    /// Data bytes received.
    pub len: usize,
}

impl core::fmt::Display for MessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "HEX command {:X} with {} data bytes is malformed", self.command, self.len)
    }
}

impl Frame {
    /// Interpret the frame.
    pub fn message(&self) -> Result<Message<'_>, MessageError> {
        let d = self.data();
        let bad = MessageError { command: self.command, len: d.len() };
        Ok(match (self.command, d) {
            (code::PING_OR_DONE, []) => Message::Ping,
            (code::PING_OR_DONE, v) => Message::Done(v),
            (code::APP_VERSION_OR_UNKNOWN, []) => Message::AppVersionRequest,
            (code::APP_VERSION_OR_UNKNOWN, v) => Message::UnknownCommand(v),
            (code::PRODUCT_ID_OR_ERROR, []) => Message::ProductIdRequest,
            (code::PRODUCT_ID_OR_ERROR, v) => Message::Error(v),
            (code::PING_RESPONSE, [lo, hi]) => Message::PingResponse(u16::from_le_bytes([*lo, *hi])),
            (code::PING_RESPONSE, _) => return Err(bad),
            (code::RESTART, _) => Message::Restart,
            (code::ENTER_BOOT, _) => Message::EnterBoot,
            (code::GET, [lo, hi, 0]) => Message::GetRequest { register: u16::from_le_bytes([*lo, *hi]) },
            (code::GET | code::SET | code::ASYNC, [lo, hi, flags, value @ ..]) => Message::Register {
                command: self.command,
                register: u16::from_le_bytes([*lo, *hi]),
                flags: *flags,
                value,
            },
            (code::GET | code::SET | code::ASYNC, _) => return Err(bad),
            (other, _) => Message::Reserved(other),
        })
    }
}

/// A get request for `register`.
pub fn get(register: u16) -> Frame {
    let [lo, hi] = register.to_le_bytes();
    Frame::new(code::GET, &[lo, hi, 0]).expect("3 bytes fit")
}

/// A set request. Writing is never done implicitly: callers must be configured to write.
pub fn set(register: u16, value: &[u8]) -> Option<Frame> {
    register_frame(code::SET, register, flags::OK, value)
}

/// A register frame (get response, set, async) as a device sends it; the simulator's encoder.
pub fn register_frame(command: u8, register: u16, flags: u8, value: &[u8]) -> Option<Frame> {
    let mut d = [0u8; MAX_DATA];
    let n = 3 + value.len();
    if n > MAX_DATA {
        return None;
    }
    d[..2].copy_from_slice(&register.to_le_bytes());
    d[2] = flags;
    d[3..n].copy_from_slice(value);
    Frame::new(command, &d[..n])
}

/// A ping.
pub fn ping() -> Frame {
    Frame::new(code::PING_OR_DONE, &[]).expect("empty fits")
}

#[cfg(feature = "std")]
impl std::error::Error for FrameError {}

#[cfg(feature = "std")]
impl std::error::Error for MessageError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(line: &str) -> Frame {
        Frame::parse(line.as_bytes()).unwrap()
    }

    /// The request/response pairs of koestler/go-victron's session (shared/data/vedirect).
    #[test]
    fn go_victron_session() {
        assert_eq!(msg(":154").message(), Ok(Message::Ping));
        assert_eq!(msg(":51641F9").message(), Ok(Message::PingResponse(0x4116)));
        assert_eq!(msg(":7F0ED0071").message(), Ok(Message::GetRequest { register: 0xEDF0 }));
        assert_eq!(
            msg(":7F0ED009600DB").message(),
            Ok(Message::Register { command: 7, register: 0xEDF0, flags: 0, value: &[0x96, 0x00] })
        );
        assert_eq!(msg(":451").message(), Ok(Message::ProductIdRequest));
        assert_eq!(msg(":156A05E").message(), Ok(Message::Done(&[0x56, 0xA0])));
        assert_eq!(
            msg(":77777015F").message(),
            Ok(Message::Register { command: 7, register: 0x7777, flags: 1, value: &[] })
        );
    }

    #[test]
    fn encodes_what_devices_send() {
        let mut buf = [0u8; MAX_LINE];
        let n = get(0xEDF0).encode(&mut buf).unwrap();
        assert_eq!(&buf[..n], b":7F0ED0071\n");
        let n = ping().encode(&mut buf).unwrap();
        assert_eq!(&buf[..n], b":154\n");
        let f = register_frame(code::ASYNC, 0xEDBC, 0, &2338u32.to_le_bytes()).unwrap();
        let n = f.encode(&mut buf).unwrap();
        assert_eq!(&buf[..n], b":ABCED002209000077\n");
    }

    #[test]
    fn bad_lines() {
        assert_eq!(Frame::parse(b"A154"), Err(FrameError::NoCommand));
        assert_eq!(Frame::parse(b":"), Err(FrameError::NoCommand));
        assert_eq!(Frame::parse(b":1"), Err(FrameError::Truncated));
        assert_eq!(Frame::parse(b":15"), Err(FrameError::OddLength));
        assert_eq!(Frame::parse(b":155"), Err(FrameError::Checksum { sum: 0x56 }));
        assert_eq!(Frame::parse(b":1G4"), Err(FrameError::InvalidDigit { position: 2 }));
        // Okm165's truncated fragment inside a BMV text block.
        assert!(Frame::parse(b":A243434\r\n").is_err());
        assert_eq!(Frame::new(0x10, &[]), None);
    }

    #[test]
    fn lower_case_is_accepted() {
        assert_eq!(msg(":abced002209000077").message().unwrap(), msg(":ABCED002209000077").message().unwrap());
    }
}
