//! The device registry: how an identity on the wire (a Bluetooth address, a serial number, a
//! MasterBus device number) becomes a device with a friendly name, a role and a group.

use halyard_proto::victron::instant_readout::Key;

use super::Identity;
use crate::config;

/// Who a device is, as sinks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Topic name: the configured friendly name, else `<kind>-<identity>`.
    pub name: String,
    /// Configured role (`solar`, `battery`, `dump_load` …).
    pub role: Option<String>,
    /// Configured group (`port-arch`).
    pub group: Option<String>,
    /// What kind of device it said it is (`solar_charger`, `battery_monitor` …).
    pub kind: String,
    /// Product name, when a message carried it.
    pub product: Option<String>,
    /// Every identity it has been seen under.
    pub identities: Vec<Identity>,
    /// Protocols it has been heard on.
    pub via: Vec<&'static str>,
    /// Whether the configuration names it.
    pub configured: bool,
}

impl DeviceInfo {
    /// Whether it produces solar power: a configured `solar` role, else a solar charger.
    pub fn is_solar(&self) -> bool {
        match &self.role {
            Some(r) => r == "solar",
            None => self.kind == "solar_charger",
        }
    }
}

/// One configured device, ready to match.
#[derive(Debug)]
struct Entry {
    name: String,
    role: Option<String>,
    group: Option<String>,
    mac: Option<[u8; 6]>,
    serial: Option<String>,
    masterbus: Option<u32>,
    port: Option<String>,
    meshtastic: Option<u32>,
    gx: Option<(String, String)>,
    n2k: Option<(String, u32)>,
}

/// The configured devices.
#[derive(Debug, Default)]
pub struct Registry {
    entries: Vec<Entry>,
}

pub use halyard_proto::victron::smart_networking::serials_match;

impl Registry {
    /// From the configuration.
    pub fn new(devices: &[config::Device]) -> Self {
        let entries = devices
            .iter()
            .map(|d| Entry {
                name: d.name.clone(),
                role: d.role.clone(),
                group: d.group.clone(),
                mac: d.mac,
                serial: d.serial.clone(),
                masterbus: d.masterbus,
                port: d.port.as_ref().map(|p| port_name(p)),
                meshtastic: d.meshtastic,
                gx: d.gx.as_deref().and_then(|g| g.split_once('/')).map(|(s, i)| (s.to_owned(), i.to_owned())),
                n2k: d.n2k.clone(),
            })
            .collect();
        Registry { entries }
    }

    fn find(&self, identity: &Identity) -> Option<&Entry> {
        self.entries.iter().find(|e| match identity {
            Identity::Mac(m) => e.mac.as_ref() == Some(m),
            Identity::Serial(s) => e.serial.as_deref().is_some_and(|c| serials_match(c, s)),
            Identity::MasterBus(d) => e.masterbus == Some(*d),
            Identity::Port(p) => e.port.as_deref() == Some(p.as_str()),
            Identity::Mesh(n) => e.meshtastic == Some(*n),
            Identity::Gx { service, instance } => e.gx.as_ref().is_some_and(|(s, i)| s == service && i == instance),
            Identity::N2k { kind, instance } => e.n2k.as_ref().is_some_and(|(k, i)| k == kind && i == instance),
            Identity::Derived(_) => false,
        })
    }

    /// The device an identity belongs to; `kind` names unconfigured ones.
    pub fn resolve(&self, identity: &Identity, kind: &str) -> DeviceInfo {
        match self.find(identity) {
            Some(e) => DeviceInfo {
                // A mesh node's topics are under `halyard/mesh/` whatever its name.
                name: if matches!(identity, Identity::Mesh(_)) { format!("mesh/{}", e.name) } else { e.name.clone() },
                role: e.role.clone(),
                group: e.group.clone(),
                kind: kind.to_owned(),
                product: None,
                identities: vec![identity.clone()],
                via: Vec::new(),
                configured: true,
            },
            None => DeviceInfo {
                name: match identity {
                    Identity::Derived(n) => n.clone(),
                    // The mesh's nodes under `halyard/mesh/<node>/…` (DESIGN.md §4.2).
                    Identity::Mesh(n) => format!("mesh/{n:08x}"),
                    // `tank-20`, `temperature-24`, `gx`: the kind is in the name already.
                    Identity::Gx { .. } | Identity::N2k { .. } => identity.topic_text(),
                    other => format!("{kind}-{}", other.topic_text()),
                },
                role: None,
                group: None,
                kind: kind.to_owned(),
                product: None,
                identities: vec![identity.clone()],
                via: Vec::new(),
                configured: false,
            },
        }
    }
}

/// The short name of a serial port for identities and topics: `/dev/ttyUSB0` → `ttyUSB0`.
pub fn port_name(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

/// Instant Readout keys by Bluetooth address, expanded once (the AES key schedule is per device).
#[derive(Default)]
pub struct KeyRing {
    keys: Vec<([u8; 6], Key)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyRing({} keys)", self.keys.len())
    }
}

impl KeyRing {
    /// Every configured device with an address and a key.
    pub fn new(devices: &[config::Device]) -> Self {
        let keys = devices.iter().filter_map(|d| Some((d.mac?, Key::new(&d.key?.0)))).collect();
        KeyRing { keys }
    }

    /// The key for an address.
    pub fn get(&self, mac: &[u8; 6]) -> Option<&Key> {
        self.keys.iter().find(|(m, _)| m == mac).map(|(_, k)| k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venetworking_serials_match_their_vedirect_serial() {
        assert!(serials_match("HQ1840MAEI4", "HQyywwMAEI4"));
        assert!(serials_match("HQyywwMAEI4", "HQ1840MAEI4"));
        assert!(!serials_match("HQ1840MAEI4", "HQyyww7X83C"));
        assert!(!serials_match("HQ1840MAEI4", "HQ1841MAEI4"));
        assert!(!serials_match("HQ1840MAEI4", "HQyywwMAEI"));
    }

    #[test]
    fn unconfigured_devices_are_named_by_kind_and_identity() {
        let r = Registry::new(&[config::Device {
            name: "port-arch".into(),
            serial: Some("HQ1840MAEI4".into()),
            role: Some("solar".into()),
            ..Default::default()
        }]);
        let d = r.resolve(&Identity::Serial("HQyywwMAEI4".into()), "solar_charger");
        assert_eq!((d.name.as_str(), d.configured, d.is_solar()), ("port-arch", true, true));
        let d = r.resolve(&Identity::MasterBus(0x31297), "dc_shunt");
        assert_eq!((d.name.as_str(), d.configured, d.is_solar()), ("dc_shunt-0x31297", false, false));
    }
}
