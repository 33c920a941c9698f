//! Whether a SocketCAN interface is listen-only, asked of iproute2.
//!
//! An SLCAN adapter is opened listen-only by Halyard itself (`L`), but a SocketCAN interface is
//! configured by the system (`ip link set can0 type can bitrate 250000 listen-only on`), and a
//! program that opens a raw CAN socket cannot change it. In normal mode the controller
//! acknowledges every frame it receives and sends error frames when it sees one it dislikes — it
//! is a node on the bus, not a listener — so Halyard says so when it opens one.
//!
//! The mode is the kernel's `IFLA_CAN_CTRLMODE` (`CAN_CTRLMODE_LISTENONLY`, 0x02), which
//! `ip --details --json link show DEV` prints as `linkinfo.info_data.ctrlmode`, an array of flag
//! names (`"LISTEN-ONLY"`, absent when no flag is set), beside `state` and `bittiming.bitrate`.

use std::fmt;

/// The bit rate of the MasterBus and of NMEA 2000.
pub const BUS_BITRATE: u32 = 250_000;

/// What iproute2 says about one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkMode {
    /// `LISTEN-ONLY` is among the control-mode flags.
    pub listen_only: bool,
    /// The configured bit rate (absent on a virtual `vcan`).
    pub bitrate: Option<u32>,
    /// The controller's state (`ERROR-ACTIVE`, `BUS-OFF`…), when it has one.
    pub state: Option<String>,
    /// `can` for a controller, `vcan`/`vxcan` for virtual ones.
    pub kind: String,
}

impl LinkMode {
    /// Read `ip --details --json link show DEV`'s output.
    pub fn parse(json: &str) -> Result<LinkMode, String> {
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("unreadable output of ip: {e}"))?;
        let link = v.get(0).ok_or("ip listed no interface")?;
        let info = &link["linkinfo"];
        let kind = info["info_kind"].as_str().unwrap_or("").to_owned();
        let data = &info["info_data"];
        let flags: Vec<&str> =
            data["ctrlmode"].as_array().map(|a| a.iter().filter_map(|f| f.as_str()).collect()).unwrap_or_default();
        Ok(LinkMode {
            listen_only: flags.contains(&"LISTEN-ONLY"),
            bitrate: data["bittiming"]["bitrate"].as_u64().and_then(|b| u32::try_from(b).ok()),
            state: data["state"].as_str().map(str::to_owned),
            kind,
        })
    }

    /// Whether this is a real controller (a virtual interface has no bus to disturb).
    pub fn is_controller(&self) -> bool {
        self.kind == "can"
    }

    /// What the owner should hear when Halyard opens the interface, if anything: `active` is the
    /// configuration's wish to send.
    pub fn advice(&self, name: &str, active: bool) -> Option<String> {
        if !self.is_controller() {
            return None;
        }
        let mut said = Vec::new();
        if !active && !self.listen_only {
            said.push(format!(
                "{name} is not listen-only: its controller acknowledges every frame and may send error frames, \
                 so it takes part in the bus although Halyard never sends; to only listen: {}",
                commands(name)
            ));
        }
        if active && self.listen_only {
            said.push(format!(
                "{name} is listen-only but `active` is set: nothing Halyard sends will reach the bus \
                 (sudo ip link set {name} down && sudo ip link set {name} type can bitrate {BUS_BITRATE} listen-only off && sudo ip link set {name} up)"
            ));
        }
        if let Some(b) = self.bitrate.filter(|b| *b != BUS_BITRATE) {
            said.push(format!("{name} runs at {b} bit/s; the MasterBus and NMEA 2000 run at {BUS_BITRATE}"));
        }
        if let Some(s) = self.state.as_deref().filter(|s| *s == "BUS-OFF" || *s == "STOPPED") {
            said.push(format!("{name} is {s}: {}", commands(name)));
        }
        (!said.is_empty()).then(|| said.join("; "))
    }
}

impl fmt::Display for LinkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.is_controller() {
            return write!(f, "{}", if self.kind.is_empty() { "not a CAN controller" } else { &self.kind });
        }
        write!(f, "{}", if self.listen_only { "listen-only" } else { "normal mode (acknowledges)" })?;
        if let Some(b) = self.bitrate {
            write!(f, ", {} kbit/s", b / 1000)?;
        }
        if let Some(s) = &self.state {
            write!(f, ", {}", s.to_lowercase())?;
        }
        Ok(())
    }
}

/// The commands that put an interface in listen-only mode at the bus's rate.
pub fn commands(name: &str) -> String {
    format!(
        "sudo ip link set {name} down && sudo ip link set {name} type can bitrate {BUS_BITRATE} listen-only on && sudo ip link set {name} up"
    )
}

/// What to tell the owner on opening `spec` (`active`: sending is enabled), if anything: only a
/// SocketCAN interface has a mode set outside Halyard.
pub async fn advice_on_open(spec: &super::Spec, active: bool) -> Option<String> {
    let super::Spec::SocketCan(name) = spec else { return None };
    let name = name.clone();
    let asked = tokio::task::spawn_blocking({
        let name = name.clone();
        move || query(&name)
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    match asked {
        Ok(mode) => mode.advice(&name, active),
        Err(e) => Some(format!("cannot tell whether {name} is listen-only ({e}); to be sure: {}", commands(&name))),
    }
}

/// Ask iproute2 about `name` (`ip` is in every Debian install; none → an error, not a guess).
pub fn query(name: &str) -> Result<LinkMode, String> {
    let out = std::process::Command::new("ip")
        .args(["--details", "--json", "link", "show", "dev", name])
        .output()
        .map_err(|e| format!("cannot run ip (Debian package iproute2): {e}"))?;
    if !out.status.success() {
        return Err(format!("ip: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    LinkMode::parse(&String::from_utf8_lossy(&out.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape iproute2 6.x prints for a USB adapter (gs_usb) configured with
    /// `ip link set can0 type can bitrate 250000 listen-only on`, trimmed to the keys read.
    fn link(ctrlmode: Option<&[&str]>, bitrate: u32, state: &str) -> String {
        let ctrl = ctrlmode.map(|c| format!("\"ctrlmode\":{},", serde_json::json!(c))).unwrap_or_default();
        format!(
            r#"[{{"ifindex":4,"ifname":"can0","flags":["NOARP","UP","LOWER_UP","ECHO"],"mtu":16,"link_type":"can",
            "linkinfo":{{"info_kind":"can","info_data":{{{ctrl}"ctrlmode_supported":["LOOPBACK","LISTEN-ONLY","ONE-SHOT","BERR-REPORTING"],
            "state":"{state}","berr_counter":{{"tx":0,"rx":0}},"restart_ms":0,
            "bittiming":{{"bitrate":{bitrate},"sample_point":"0.875","tq":250,"prop_seg":6,"phase_seg1":7,"phase_seg2":2,"sjw":1,"brp":12}},
            "bittiming_const":{{"name":"gs_usb","tseg1":{{"min":1,"max":16}},"tseg2":{{"min":1,"max":8}},"sjw":{{"min":1,"max":4}},"brp":{{"min":1,"max":1024}},"brp_inc":1}},
            "clock":48000000}}}},"parentbus":"usb","parentdev":"1-1:1.0"}}]"#
        )
    }

    #[test]
    fn listen_only_is_read_from_the_control_mode_flags() {
        let m = LinkMode::parse(&link(Some(&["LISTEN-ONLY"]), 250_000, "ERROR-ACTIVE")).unwrap();
        assert!(m.listen_only && m.is_controller());
        assert_eq!(m.bitrate, Some(250_000));
        assert_eq!(m.advice("can0", false), None);
        assert_eq!(m.to_string(), "listen-only, 250 kbit/s, error-active");
        // "ctrlmode_supported" lists LISTEN-ONLY too: only "ctrlmode" says it is on.
        let normal = LinkMode::parse(&link(None, 250_000, "ERROR-ACTIVE")).unwrap();
        assert!(!normal.listen_only);
        let berr = LinkMode::parse(&link(Some(&["BERR-REPORTING"]), 250_000, "ERROR-ACTIVE")).unwrap();
        assert!(!berr.listen_only);
    }

    #[test]
    fn a_normal_interface_is_told_how_to_listen_only() {
        let m = LinkMode::parse(&link(None, 250_000, "ERROR-ACTIVE")).unwrap();
        let advice = m.advice("can0", false).unwrap();
        assert!(advice.contains("not listen-only"), "{advice}");
        assert!(advice.contains("type can bitrate 250000 listen-only on"), "{advice}");
        // The owner who enabled sending wants normal mode.
        assert_eq!(m.advice("can0", true), None);
        let lo = LinkMode::parse(&link(Some(&["LISTEN-ONLY"]), 250_000, "ERROR-ACTIVE")).unwrap();
        assert!(lo.advice("can0", true).unwrap().contains("nothing Halyard sends"));
    }

    #[test]
    fn a_wrong_rate_and_a_bus_off_controller_are_named() {
        let m = LinkMode::parse(&link(Some(&["LISTEN-ONLY"]), 500_000, "BUS-OFF")).unwrap();
        let advice = m.advice("can1", false).unwrap();
        assert!(advice.contains("500000 bit/s") && advice.contains("BUS-OFF"), "{advice}");
    }

    #[test]
    fn a_virtual_interface_needs_no_advice() {
        let vcan = r#"[{"ifindex":5,"ifname":"vcan0","flags":["NOARP","UP","LOWER_UP"],"mtu":72,"link_type":"can","linkinfo":{"info_kind":"vcan"}}]"#;
        let m = LinkMode::parse(vcan).unwrap();
        assert!(!m.is_controller());
        assert_eq!(m.advice("vcan0", false), None);
        assert_eq!(m.to_string(), "vcan");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(LinkMode::parse("Device \"can9\" does not exist.").is_err());
        assert!(LinkMode::parse("[]").is_err());
    }

    /// The real `ip` on this machine: an interface that exists but is no CAN controller, and
    /// one that does not exist.
    #[test]
    fn the_real_ip_answers() {
        let lo = query("lo").expect("ip (Debian package iproute2) is installed by scripts/test.sh");
        assert!(!lo.is_controller());
        let e = query("can-none-such").unwrap_err();
        assert!(e.contains("can-none-such") || e.contains("not exist"), "{e}");
    }
}
