//! Improv Wi-Fi over serial (improv-wifi.com/serial): the open standard ESP Web Tools and Home
//! Assistant use to give a freshly flashed board its Wi-Fi from a browser, on the same USB serial
//! port as the text console.
//!
//! A packet is `IMPROV`, the version (1), a type, the data's length, the data and a checksum (the
//! low byte of the sum of every byte before it); the client sends each at the start of a line and
//! the device ends each with a newline, so packets and console text share the line without
//! confusing either side. Types: 0x01 current state and 0x02 error state (device to client),
//! 0x03 RPC command (client to device: command, data length, data), 0x04 RPC result (command,
//! data length, then length-prefixed UTF-8 strings).
//!
//! [`Splitter`] takes the bytes from the port apart (packets to [`Improv`], everything else to
//! the console); [`Improv`] answers: the current state (and, once provisioned, the node's MQTT
//! broker as its URL), device information, the Wi-Fi settings (checked like the console's, then
//! handed to the firmware to join), the network state, the networks in range (the firmware scans,
//! [`scanned`] answers); anything else is "unknown RPC command".

use alloc::string::String;
use alloc::vec::Vec;

use crate::config::Config;

/// The header of every packet.
pub const HEADER: &[u8; 6] = b"IMPROV";
/// The protocol version this speaks.
pub const VERSION: u8 = 1;

/// Packet types.
pub mod kind {
    /// Current state (device to client).
    pub const CURRENT_STATE: u8 = 0x01;
    /// Error state (device to client).
    pub const ERROR_STATE: u8 = 0x02;
    /// RPC command (client to device).
    pub const RPC: u8 = 0x03;
    /// RPC result (device to client).
    pub const RPC_RESULT: u8 = 0x04;
}

/// RPC commands.
pub mod command {
    /// Send Wi-Fi settings: SSID and password, each length-prefixed.
    pub const WIFI_SETTINGS: u8 = 0x01;
    /// Request the current state.
    pub const CURRENT_STATE: u8 = 0x02;
    /// Request device information.
    pub const DEVICE_INFO: u8 = 0x03;
    /// Request scanned Wi-Fi networks.
    pub const SCAN: u8 = 0x04;
    /// Get (or set) the host name.
    pub const HOSTNAME: u8 = 0x05;
    /// Get (or set) the device name.
    pub const DEVICE_NAME: u8 = 0x06;
    /// Get the network state.
    pub const NETWORK_STATE: u8 = 0x07;
}

/// The provisioning state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// Ready to accept credentials (the serial port needs no further authorisation).
    Ready = 0x02,
    /// Credentials received, joining.
    Provisioning = 0x03,
    /// Joined.
    Provisioned = 0x04,
}

/// Error states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Error {
    /// No error.
    None = 0x00,
    /// The RPC packet was malformed (checksum, lengths, type).
    InvalidRpc = 0x01,
    /// A command this device does not know.
    UnknownCommand = 0x02,
    /// The credentials were received, joining the network failed.
    UnableToConnect = 0x03,
    /// A host name the device cannot take.
    BadHostname = 0x05,
    /// Anything else.
    Unknown = 0xFF,
}

/// One packet, with its trailing newline.
pub fn packet(kind: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 12);
    out.extend_from_slice(HEADER);
    out.extend_from_slice(&[VERSION, kind, data.len() as u8]);
    out.extend_from_slice(data);
    out.push(checksum(&out));
    out.push(b'\n');
    out
}

fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |s, b| s.wrapping_add(*b))
}

/// An RPC result: the command answered and a list of strings (each at most 255 bytes; the
/// whole at most 253, the rest is cut).
pub fn result(command: u8, strings: &[&str]) -> Vec<u8> {
    let mut body = Vec::new();
    for s in strings {
        let s = &s.as_bytes()[..s.len().min(255)];
        if body.len() + 1 + s.len() > 253 {
            break;
        }
        body.push(s.len() as u8);
        body.extend_from_slice(s);
    }
    let mut data = Vec::with_capacity(body.len() + 2);
    data.extend_from_slice(&[command, body.len() as u8]);
    data.extend_from_slice(&body);
    packet(kind::RPC_RESULT, &data)
}

/// A request from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Join this network.
    WifiSettings {
        /// SSID.
        ssid: String,
        /// Password (empty: an open network).
        password: String,
    },
    /// Another command: its id and data.
    Other(u8, Vec<u8>),
}

/// What the splitter found in the byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A byte of console text.
    Text(u8),
    /// A well-formed RPC command.
    Rpc(Request),
    /// A packet that was not a well-formed RPC command (answered with [`Error::InvalidRpc`]).
    Invalid,
}

/// Takes Improv packets out of the serial stream. A packet is recognised at the start of a line,
/// as the clients send it; bytes that turn out not to be one go on to the console unchanged.
#[derive(Debug, Default)]
pub struct Splitter {
    held: Vec<u8>,
    line_start: bool,
    started: bool,
}

impl Splitter {
    /// Take one byte.
    pub fn push(&mut self, byte: u8, out: &mut impl FnMut(Piece)) {
        if !self.started {
            self.started = true;
            self.line_start = true;
        }
        if self.held.is_empty() && !self.line_start {
            self.line_start = byte == b'\n' || byte == b'\r';
            out(Piece::Text(byte));
            return;
        }
        self.held.push(byte);
        let n = self.held.len();
        if n <= HEADER.len() {
            if self.held[n - 1] != HEADER[n - 1] {
                self.release(out);
            }
            return;
        }
        if n < 9 {
            return;
        }
        let total = 9 + usize::from(self.held[8]) + 1;
        if n < total {
            return;
        }
        let packet = core::mem::take(&mut self.held);
        self.line_start = false;
        out(parse(&packet));
    }

    /// Everything held goes to the console as text.
    fn release(&mut self, out: &mut impl FnMut(Piece)) {
        let held = core::mem::take(&mut self.held);
        self.line_start = false;
        for b in held {
            self.line_start = b == b'\n' || b == b'\r';
            out(Piece::Text(b));
        }
    }
}

/// One whole packet (header to checksum) as a request.
fn parse(p: &[u8]) -> Piece {
    let (body, sum) = p.split_at(p.len() - 1);
    if checksum(body) != sum[0] || p[6] != VERSION || p[7] != kind::RPC {
        return Piece::Invalid;
    }
    let data = &body[9..];
    let [command, len, rest @ ..] = data else { return Piece::Invalid };
    let Some(args) = rest.get(..usize::from(*len)) else { return Piece::Invalid };
    if *command != command::WIFI_SETTINGS {
        return Piece::Rpc(Request::Other(*command, args.to_vec()));
    }
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
    let Some((&ssid_len, rest)) = args.split_first() else { return Piece::Invalid };
    let Some(ssid) = rest.get(..usize::from(ssid_len)).and_then(text) else { return Piece::Invalid };
    let Some((&pass_len, rest)) = rest[usize::from(ssid_len)..].split_first() else { return Piece::Invalid };
    let Some(password) = rest.get(..usize::from(pass_len)).and_then(text) else { return Piece::Invalid };
    Piece::Rpc(Request::WifiSettings { ssid, password })
}

/// What the firmware must do for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Nothing beyond the answer.
    None,
    /// Join this network (checked already); report with [`Improv::joined`] or
    /// [`Improv::failed`].
    Join(Config),
    /// List the networks in range; answer with [`scanned`].
    Scan,
}

/// A network a scan heard, for [`scanned`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network<'a> {
    /// Its name (empty for a hidden network).
    pub ssid: &'a str,
    /// Signal strength, dBm.
    pub rssi: i8,
    /// Whether joining needs a password.
    pub secured: bool,
}

/// At most this many networks in one answer: a marina lists dozens, a person picks among the
/// strongest, and each is a packet on a 115,200 baud line.
pub const MAX_NETWORKS: usize = 20;

/// The answer to "request scanned Wi-Fi networks": one RPC result per network (SSID, RSSI,
/// `YES` when it needs a password), then an empty result that ends the list. Each name once
/// (several access points of one network: the strongest), strongest first, hidden ones left out.
pub fn scanned(networks: &[Network]) -> Vec<u8> {
    let mut best: Vec<&Network> = Vec::new();
    for n in networks.iter().filter(|n| !n.ssid.is_empty()) {
        match best.iter_mut().find(|b| b.ssid == n.ssid) {
            Some(b) if b.rssi >= n.rssi => {}
            Some(b) => *b = n,
            None => best.push(n),
        }
    }
    best.sort_by(|a, b| b.rssi.cmp(&a.rssi).then_with(|| a.ssid.cmp(b.ssid)));
    let mut out = Vec::new();
    for n in best.iter().take(MAX_NETWORKS) {
        let rssi = alloc::format!("{}", n.rssi);
        out.extend(result(command::SCAN, &[n.ssid, &rssi, if n.secured { "YES" } else { "NO" }]));
    }
    out.extend(result(command::SCAN, &[]));
    out
}

/// Who the node is, for the device information.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Firmware version.
    pub version: String,
    /// Chip (`ESP32-C3`).
    pub chip: String,
    /// Device name (`halyard-node-a1b2c3d4e5f6`).
    pub name: String,
}

/// The provisioning service.
#[derive(Debug)]
pub struct Improv {
    state: State,
    identity: Identity,
    /// The node's broker once known, reported as the URL to go on to.
    url: Option<String>,
    /// The wanted configuration while joining.
    joining: Option<Config>,
}

impl Improv {
    /// Ready, or already provisioned when the node has joined a network before.
    pub fn new(identity: Identity, provisioned: bool) -> Self {
        Improv {
            state: if provisioned { State::Provisioned } else { State::Ready },
            identity,
            url: None,
            joining: None,
        }
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The broker found (`mqtt://192.168.1.2:1883`), the URL reported once provisioned.
    pub fn set_url(&mut self, url: Option<String>) {
        self.url = url;
    }

    fn urls(&self) -> Vec<&str> {
        self.url.as_deref().into_iter().collect()
    }

    /// Answer a piece from the splitter (text is the console's); the bytes to write back, and
    /// what the firmware must do.
    pub fn answer(&mut self, piece: Piece, running: &Config) -> (Vec<u8>, Effect) {
        let request = match piece {
            Piece::Text(_) => return (Vec::new(), Effect::None),
            Piece::Invalid => return (packet(kind::ERROR_STATE, &[Error::InvalidRpc as u8]), Effect::None),
            Piece::Rpc(r) => r,
        };
        // Every command clears the error state first (as the specification asks).
        let mut out = packet(kind::ERROR_STATE, &[Error::None as u8]);
        let mut effect = Effect::None;
        match request {
            Request::WifiSettings { ssid, password } => {
                let mut next = running.clone();
                let lines = alloc::format!("wifi_ssid = {ssid}\nwifi_password = {password}\n");
                let ok = !ssid.contains(['\n', '\r', '#', '"'])
                    && !password.contains(['\n', '\r', '#', '"'])
                    && next.apply(&lines).is_ok();
                if ok {
                    self.state = State::Provisioning;
                    self.joining = Some(next.clone());
                    out.extend(packet(kind::CURRENT_STATE, &[State::Provisioning as u8]));
                    effect = Effect::Join(next);
                } else {
                    out.extend(packet(kind::ERROR_STATE, &[Error::UnableToConnect as u8]));
                }
            }
            Request::Other(command::CURRENT_STATE, _) => {
                out.extend(packet(kind::CURRENT_STATE, &[self.state as u8]));
                if self.state == State::Provisioned {
                    out.extend(result(command::CURRENT_STATE, &self.urls()));
                }
            }
            Request::Other(command::DEVICE_INFO, _) => {
                let i = &self.identity;
                out.extend(result(command::DEVICE_INFO, &["Halyard node", &i.version, &i.chip, &i.name]));
            }
            Request::Other(command::SCAN, _) => effect = Effect::Scan,
            Request::Other(command::DEVICE_NAME, args) if args.is_empty() => {
                out.extend(result(command::DEVICE_NAME, &[&self.identity.name]));
            }
            Request::Other(command::NETWORK_STATE, _) => {
                // Wi-Fi is the node's only interface.
                let online = self.state == State::Provisioned && self.url.is_some();
                let flags = alloc::format!("{}", 0x02 | u8::from(online));
                let mut strings = alloc::vec![flags.as_str()];
                if online {
                    strings.extend(self.urls());
                }
                out.extend(result(command::NETWORK_STATE, &strings));
            }
            Request::Other(..) => out.extend(packet(kind::ERROR_STATE, &[Error::UnknownCommand as u8])),
        }
        (out, effect)
    }

    /// The network was joined: provisioned, and the URL reported.
    pub fn joined(&mut self) -> Vec<u8> {
        let was_joining = self.joining.take().is_some();
        self.state = State::Provisioned;
        let mut out = packet(kind::CURRENT_STATE, &[State::Provisioned as u8]);
        if was_joining {
            out.extend(result(command::WIFI_SETTINGS, &self.urls()));
        }
        out
    }

    /// Joining failed: ready again, and say why.
    pub fn failed(&mut self) -> Vec<u8> {
        self.joining = None;
        self.state = State::Ready;
        let mut out = packet(kind::ERROR_STATE, &[Error::UnableToConnect as u8]);
        out.extend(packet(kind::CURRENT_STATE, &[State::Ready as u8]));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(bytes: &[u8]) -> Vec<Piece> {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        for b in bytes {
            s.push(*b, &mut |p| out.push(p));
        }
        out
    }

    fn rpc(command: u8, data: &[u8]) -> Vec<u8> {
        let mut d = alloc::vec![command, data.len() as u8];
        d.extend_from_slice(data);
        packet(kind::RPC, &d)
    }

    #[test]
    fn the_specifications_wifi_example() {
        // improv-wifi.com/serial: SSID MyWirelessAP, password mysecurepassword →
        // `01 1E 0C {MyWirelessAP} 10 {mysecurepassword}`.
        let mut data = alloc::vec![0x01, 0x1E, 0x0C];
        data.extend_from_slice(b"MyWirelessAP");
        data.push(0x10);
        data.extend_from_slice(b"mysecurepassword");
        let p = packet(kind::RPC, &data);
        assert_eq!(&p[..9], b"IMPROV\x01\x03\x20");
        assert_eq!(p[p.len() - 2], p[..p.len() - 2].iter().fold(0u8, |s, b| s.wrapping_add(*b)));
        assert_eq!(
            split(&p),
            [
                Piece::Rpc(Request::WifiSettings { ssid: "MyWirelessAP".into(), password: "mysecurepassword".into() }),
                Piece::Text(b'\n')
            ]
        );
    }

    #[test]
    fn a_scan_lists_each_network_once_strongest_first_then_ends() {
        let identity = Identity { version: "0.1.0".into(), chip: "ESP32-C6".into(), name: "halyard-node-a1b2".into() };
        let (mut improv, running) = (Improv::new(identity, false), Config::default());
        let (out, effect) = improv.answer(Piece::Rpc(Request::Other(command::SCAN, Vec::new())), &running);
        assert_eq!(effect, Effect::Scan);
        assert_eq!(results(&out), [(kind::ERROR_STATE, alloc::vec![0])], "the list comes from the firmware");
        let heard = [
            Network { ssid: "Marina", rssi: -80, secured: false },
            Network { ssid: "Boat", rssi: -41, secured: true },
            Network { ssid: "", rssi: -30, secured: true },
            Network { ssid: "Marina", rssi: -62, secured: false },
        ];
        // Per the specification: RPC results for command 0x04, each `[ssid, rssi, YES|NO]` as
        // length-prefixed strings, and an empty one at the end.
        let expected: Vec<(u8, Vec<u8>)> =
            [b"\x04\x0d\x04Boat\x03-41\x03YES".as_slice(), b"\x04\x0e\x06Marina\x03-62\x02NO", b"\x04\x00"]
                .iter()
                .map(|d| (kind::RPC_RESULT, d.to_vec()))
                .collect();
        assert_eq!(results(&scanned(&heard)), expected);
        let many: Vec<String> = (0..40).map(|i| alloc::format!("net{i:02}")).collect();
        let many: Vec<Network> = many.iter().map(|n| Network { ssid: n, rssi: -50, secured: true }).collect();
        assert_eq!(results(&scanned(&many)).len(), MAX_NETWORKS + 1);
    }

    #[test]
    fn packets_and_console_text_share_the_line() {
        let mut bytes = b"show\n".to_vec();
        bytes.extend(rpc(command::CURRENT_STATE, &[]));
        bytes.extend_from_slice(b"IMPOSSIBLE = 1\nwifi_ssid = Boat\r\n");
        let pieces = split(&bytes);
        let text: Vec<u8> =
            pieces.iter().filter_map(|p| if let Piece::Text(b) = p { Some(*b) } else { None }).collect();
        assert_eq!(text, b"show\n\nIMPOSSIBLE = 1\nwifi_ssid = Boat\r\n");
        assert!(pieces.contains(&Piece::Rpc(Request::Other(command::CURRENT_STATE, Vec::new()))));
        // A packet in the middle of a line is text.
        assert!(split(&[b"x".as_slice(), &rpc(2, &[])].concat()).iter().all(|p| matches!(p, Piece::Text(_))));
        // A bad checksum, a wrong type, short lengths: invalid, answered as such.
        let mut bad = rpc(command::CURRENT_STATE, &[]);
        let at = bad.len() - 2;
        bad[at] ^= 1;
        assert_eq!(split(&bad)[0], Piece::Invalid);
        assert_eq!(split(&packet(kind::CURRENT_STATE, &[2]))[0], Piece::Invalid);
        assert_eq!(split(&packet(kind::RPC, &[1, 9, 3, b'a']))[0], Piece::Invalid);
    }

    fn results(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        // (type, data) of each packet written.
        let mut out = Vec::new();
        let mut at = 0;
        while at + 9 <= bytes.len() {
            assert_eq!(&bytes[at..at + 7], b"IMPROV\x01");
            let len = usize::from(bytes[at + 8]);
            let end = at + 9 + len;
            assert_eq!(bytes[end], checksum(&bytes[at..end]));
            assert_eq!(bytes[end + 1], b'\n');
            out.push((bytes[at + 7], bytes[at + 9..end].to_vec()));
            at = end + 2;
        }
        assert_eq!(at, bytes.len());
        out
    }

    #[test]
    fn a_board_is_provisioned() {
        let identity = Identity { version: "0.1.0".into(), chip: "ESP32-C3".into(), name: "halyard-node-a1b2".into() };
        let mut improv = Improv::new(identity, false);
        let running = Config::default();
        let (out, _) = improv.answer(Piece::Rpc(Request::Other(command::CURRENT_STATE, Vec::new())), &running);
        assert_eq!(results(&out), [(kind::ERROR_STATE, alloc::vec![0]), (kind::CURRENT_STATE, alloc::vec![0x02])]);
        let (out, _) = improv.answer(Piece::Rpc(Request::Other(command::DEVICE_INFO, Vec::new())), &running);
        let info = &results(&out)[1];
        assert_eq!(info.0, kind::RPC_RESULT);
        assert_eq!(&info.1[..2], &[command::DEVICE_INFO, info.1.len() as u8 - 2]);
        assert!(info.1.windows(8).any(|w| w == b"ESP32-C3"));
        // A password too short for WPA2 is refused in words the client knows.
        let wifi = |p: &str| Piece::Rpc(Request::WifiSettings { ssid: "Boat".into(), password: p.into() });
        let (out, effect) = improv.answer(wifi("short"), &running);
        assert_eq!((results(&out)[1].clone(), effect), ((kind::ERROR_STATE, alloc::vec![3]), Effect::None));
        let (out, effect) = improv.answer(wifi("a-long-passphrase"), &running);
        assert_eq!(results(&out)[1], (kind::CURRENT_STATE, alloc::vec![0x03]));
        let Effect::Join(next) = effect else { panic!("{effect:?}") };
        assert_eq!((next.get("wifi_ssid"), next.get("wifi_password")), (Some("Boat"), Some("a-long-passphrase")));
        improv.set_url(Some("mqtt://192.168.1.2:1883".into()));
        let done = results(&improv.joined());
        assert_eq!(done[0], (kind::CURRENT_STATE, alloc::vec![0x04]));
        let mut want = alloc::vec![command::WIFI_SETTINGS, 24, 23];
        want.extend_from_slice(b"mqtt://192.168.1.2:1883");
        assert_eq!(done[1], (kind::RPC_RESULT, want));
        // Unknown commands are said to be unknown.
        let (out, _) = improv.answer(Piece::Rpc(Request::Other(0x42, Vec::new())), &running);
        assert_eq!(results(&out)[1], (kind::ERROR_STATE, alloc::vec![2]));
    }
}
