//! CAN sources: capture files, SLCAN serial adapters, CAN-Ethernet gateways and (with the
//! `socketcan` feature) Linux SocketCAN interfaces.
//!
//! A source is named by a short spec on the command line and in the configuration:
//!
//! | spec | transport |
//! |---|---|
//! | `slcan:/dev/ttyACM0` | a CANable/USBtin-style USB adapter (opened listen-only unless active) |
//! | `ecan:192.168.4.101:8881` | an Ebyte ECAN-E01 / E810-DTU gateway in TCP-server mode |
//! | `socketcan:can0` | a Linux CAN interface (feature `socketcan`) |
//! | `file:capture.pcapng` | a capture replayed as fast as it reads |

pub mod file;
pub mod link;
pub mod mode;

use std::fmt;

/// Where CAN frames come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// An SLCAN serial adapter at this device path.
    Slcan(String),
    /// A CAN-Ethernet gateway at `host:port`.
    Ecan(String),
    /// A SocketCAN interface.
    SocketCan(String),
    /// A capture file.
    File(String),
}

impl Spec {
    /// What a reconnect looks at to come back promptly: the gateway's port, the adapter's
    /// device node, or the interface (a USB CAN adapter's `can0` vanishes when unplugged).
    pub fn peer(&self) -> Option<super::backoff::Peer> {
        use super::backoff::Peer;
        match self {
            Spec::Slcan(path) => Some(Peer::Device(path.clone())),
            Spec::Ecan(addr) => Some(Peer::Tcp(addr.clone())),
            Spec::SocketCan(name) => Some(Peer::Device(format!("/sys/class/net/{name}"))),
            Spec::File(_) => None,
        }
    }
}

impl std::str::FromStr for Spec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, rest) =
            s.split_once(':').ok_or_else(|| format!("`{s}`: expected KIND:WHERE, e.g. slcan:/dev/ttyACM0"))?;
        if rest.is_empty() {
            return Err(format!("`{s}`: nothing after `{kind}:`"));
        }
        let rest = rest.to_string();
        match kind {
            "slcan" => Ok(Spec::Slcan(rest)),
            "ecan" => {
                let with_port = if rest.contains(':') { rest } else { format!("{rest}:8881") };
                Ok(Spec::Ecan(with_port))
            }
            "socketcan" => Ok(Spec::SocketCan(rest)),
            "file" => Ok(Spec::File(rest)),
            other => Err(format!("unknown CAN source kind `{other}` (slcan, ecan, socketcan or file)")),
        }
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spec::Slcan(p) => write!(f, "slcan:{p}"),
            Spec::Ecan(a) => write!(f, "ecan:{a}"),
            Spec::SocketCan(i) => write!(f, "socketcan:{i}"),
            Spec::File(p) => write!(f, "file:{p}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print() {
        assert_eq!("slcan:/dev/ttyACM0".parse(), Ok(Spec::Slcan("/dev/ttyACM0".into())));
        assert_eq!("ecan:10.0.0.7".parse::<Spec>().unwrap().to_string(), "ecan:10.0.0.7:8881");
        assert_eq!("socketcan:can0".parse(), Ok(Spec::SocketCan("can0".into())));
        assert!("can0".parse::<Spec>().is_err());
        assert!("usb:x".parse::<Spec>().is_err());
        assert!("slcan:".parse::<Spec>().is_err());
    }
}
