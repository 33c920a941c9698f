//! Signal K (marine.md §1): Halyard as a Signal K server, so chart plotters' bridges, KIP and
//! Freeboard dashboards, a signalk-server's anchor alarm and logbook plugins read the boat's
//! batteries, solar, navigation, Meshtastic nodes and alarms from it.
//!
//! - [`paths`]: where each value goes and its SI unit;
//! - [`hub`]: the model's changes and the alarms as Signal K's tree and deltas;
//! - [`subscribe`]: one client's subscriptions (wildcards, period, policy), sans I/O;
//! - [`server`]: `/signalk`, `/signalk/v1/api/…` and the `/signalk/v1/stream` WebSocket, served
//!   with the dashboard.
//!
//! Read-only: Halyard answers no PUT and accepts no deltas from clients.

pub mod hub;
pub mod paths;
pub mod server;
pub mod subscribe;

use std::path::Path;

use serde::Deserialize;

pub use hub::Hub;

/// The version of the Signal K specification the model follows.
pub const SPEC_VERSION: &str = "1.7.0";

/// `[signalk]`: the Signal K server beside the dashboard.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Serve Signal K on the dashboard's address (default true; nothing without a dashboard).
    pub enabled: bool,
    /// The vessel's MMSI (nine digits): its Signal K identity `urn:mrn:imo:mmsi:…`.
    pub mmsi: Option<String>,
    /// Else a UUID; default: one made on the first run and kept in the data folder.
    pub uuid: Option<String>,
    /// The vessel's name.
    pub name: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { enabled: true, mmsi: None, uuid: None, name: None }
    }
}

impl Settings {
    /// What is wrong with these settings, in words.
    pub fn check(&self) -> Result<(), String> {
        if let Some(m) = &self.mmsi {
            if m.len() != 9 || !m.bytes().all(|b| b.is_ascii_digit()) || !(b'2'..=b'7').contains(&m.as_bytes()[0]) {
                return Err(format!("[signalk] mmsi = \"{m}\": a ship's MMSI is nine digits starting 2–7"));
            }
        }
        if let Some(u) = &self.uuid {
            if !is_uuid_v4(u) {
                return Err(format!(
                    "[signalk] uuid = \"{u}\": a version-4 UUID (xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx)"
                ));
            }
        }
        Ok(())
    }

    /// This vessel's context: the MMSI's, the configured UUID's, else the UUID kept in
    /// `data_dir/signalk-uuid` (made on the first run, so clients see the same vessel after a
    /// restart).
    pub fn self_context(&self, data_dir: &Path) -> String {
        if let Some(m) = &self.mmsi {
            return format!("vessels.urn:mrn:imo:mmsi:{m}");
        }
        let uuid = self.uuid.clone().unwrap_or_else(|| kept_uuid(data_dir));
        format!("vessels.urn:mrn:signalk:uuid:{uuid}")
    }
}

fn is_uuid_v4(u: &str) -> bool {
    let b = u.as_bytes();
    b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() })
        && b[14] == b'4'
        && b"89abAB".contains(&b[19])
}

/// The UUID kept in the data folder, made now if there is none.
fn kept_uuid(data_dir: &Path) -> String {
    let file = data_dir.join("signalk-uuid");
    if let Ok(text) = std::fs::read_to_string(&file) {
        let text = text.trim();
        if is_uuid_v4(text) {
            return text.to_owned();
        }
    }
    let mut bytes = [0u8; 16];
    if let Err(e) = std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
    {
        tracing::warn!("signalk: no random bytes for the vessel's UUID ({e}); using the clock");
        bytes[..16].copy_from_slice(&(crate::ingest::now_ms() as u128 ^ u128::from(std::process::id())).to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let uuid = format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]);
    if let Err(e) = std::fs::create_dir_all(data_dir).and_then(|()| std::fs::write(&file, format!("{uuid}\n"))) {
        tracing::warn!("signalk: cannot keep the vessel's UUID in {}: {e}", file.display());
    }
    uuid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vessel_keeps_its_uuid() {
        let dir = std::env::temp_dir().join(format!("halyard-sk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Settings::default();
        let first = s.self_context(&dir);
        assert!(first.starts_with("vessels.urn:mrn:signalk:uuid:"));
        assert!(is_uuid_v4(first.rsplit(':').next().unwrap()), "{first}");
        assert_eq!(s.self_context(&dir), first, "the same after a restart");
        let mmsi = Settings { mmsi: Some("230099999".into()), ..Settings::default() };
        assert_eq!(mmsi.self_context(&dir), "vessels.urn:mrn:imo:mmsi:230099999");
        assert!(mmsi.check().is_ok());
        assert!(Settings { mmsi: Some("12345".into()), ..Settings::default() }.check().is_err());
        assert!(Settings { uuid: Some("not-a-uuid".into()), ..Settings::default() }.check().is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
