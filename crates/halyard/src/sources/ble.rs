//! Victron BLE through BlueZ (feature `bluetooth`): an active LE scan with duplicate filtering
//! off, so every advertisement is reported, not only changes. The source delivers "advert bytes
//! + address + time" and nothing more; decoding is in `ingest::ble`, covered by replay tests.
//!
//! When the adapter disappears (unplugged dongle, `bluetoothd` restarted) the scan ends and is
//! restarted with backoff; the rest of the gateway keeps running.

use std::sync::Arc;
use std::time::Duration;

use bluer::{AdapterEvent, AdapterProperty, DiscoveryFilter, DiscoveryTransport};
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};

use super::reopen::{Ended, Reopen};
use crate::ingest::{now_ms, Input, Receiver};
use crate::telemetry::Telemetry;

/// Victron Energy's Bluetooth SIG company id.
const VICTRON: u16 = 0x02E1;

/// Scan until `stop` turns true.
pub async fn run(
    adapter: Option<String>,
    tx: mpsc::Sender<Input>,
    telemetry: Arc<Telemetry>,
    stop: watch::Receiver<bool>,
) {
    // The receiver in the counters and for the duplicate check: `bluetooth`, or the adapter
    // (`bluetooth:hci1`) when one is named. (`ble` counts what the decoder took, from everyone.)
    let source = adapter.as_deref().map_or_else(|| "bluetooth".to_owned(), |a| format!("bluetooth:{a}"));
    let via: Arc<str> = source.as_str().into();
    let mut reopen = Reopen::new(&source, source.clone(), telemetry.clone(), stop)
        .backoff(Duration::from_secs(1), Duration::from_secs(30));
    while reopen.running() {
        let mut stop = reopen.stop.clone();
        let ended = tokio::select! {
            _ = stop.changed() => Ok(()),
            r = scan(adapter.as_deref(), &via, &tx, &telemetry, &mut reopen) => match r {
                Ok(Scan::Ended) => Ok(()),
                Ok(Scan::AdapterGone) => Err(Ended { kind: "adapter_gone", why: "the adapter went away".into() }),
                Err(e) => Err(Ended { kind: "bluez", why: explain(&e) }),
            },
        };
        reopen.ended(ended).await;
    }
}

/// How a scan ended without a BlueZ error.
enum Scan {
    /// The pipeline is gone.
    Ended,
    /// The adapter was powered off or removed: wait for it.
    AdapterGone,
}

/// A BlueZ error in one line with what to do about it: the D-Bus error names a boat owner sees
/// when bluetoothd is missing, the adapter is unplugged or blocked, or the user lacks the group.
pub fn explain(e: &bluer::Error) -> String {
    let text = e.to_string();
    let hint = match &e.kind {
        bluer::ErrorKind::NotFound | bluer::ErrorKind::DoesNotExist => {
            "no Bluetooth adapter (plugged in? `bluetoothctl list` shows them)"
        }
        bluer::ErrorKind::NotReady => "the adapter is off or blocked (`rfkill unblock bluetooth`)",
        bluer::ErrorKind::NotAuthorized | bluer::ErrorKind::NotPermitted => {
            "BlueZ refused: the user needs the bluetooth group (`sudo adduser $USER bluetooth`)"
        }
        _ if text.contains("ServiceUnknown") || text.contains("org.bluez") => {
            "bluetoothd is not running (install bluez; `sudo systemctl start bluetooth`)"
        }
        _ if text.contains("AccessDenied") => {
            "D-Bus refused: the user needs the bluetooth group (`sudo adduser $USER bluetooth`)"
        }
        _ if text.contains("system_bus_socket") || text.contains("D-Bus") => "no D-Bus system bus (is dbus running?)",
        _ => return text,
    };
    format!("{hint} [{text}]")
}

async fn scan(
    name: Option<&str>,
    via: &Arc<str>,
    tx: &mpsc::Sender<Input>,
    telemetry: &Telemetry,
    reopen: &mut Reopen,
) -> bluer::Result<Scan> {
    let session = bluer::Session::new().await?;
    let adapter = match name {
        Some(n) => session.adapter(n)?,
        None => session.default_adapter().await?,
    };
    adapter.set_powered(true).await?;
    adapter
        .set_discovery_filter(DiscoveryFilter {
            transport: DiscoveryTransport::Le,
            duplicate_data: true,
            ..Default::default()
        })
        .await?;
    let events = adapter.discover_devices_with_changes().await?;
    let mut events = std::pin::pin!(events);
    let mut adapter_events = std::pin::pin!(adapter.events().await?);
    tracing::info!("bluetooth: scanning on {}", adapter.name());
    reopen.opened();
    reopen.delivering();
    loop {
        tokio::select! {
            e = adapter_events.next() => match e {
                Some(AdapterEvent::PropertyChanged(AdapterProperty::Powered(false))) | None => return Ok(Scan::AdapterGone),
                _ => {}
            },
            e = events.next() => match e {
                // With changes reported, every advertisement re-announces its device.
                Some(AdapterEvent::DeviceAdded(addr)) => {
                    let Ok(device) = adapter.device(addr) else { continue };
                    let Ok(Some(data)) = device.manufacturer_data().await else { continue };
                    if let Some(bytes) = data.get(&VICTRON) {
                        let at = now_ms();
                        telemetry.frame(via, at);
                        let rssi = device.rssi().await.ok().flatten().and_then(|r| i8::try_from(r).ok());
                        let via = Receiver { name: via.clone(), rssi };
                        let input = Input::Ble { at, mac: addr.0, data: bytes.clone(), via: Some(via) };
                        if tx.send(input).await.is_err() {
                            return Ok(Scan::Ended);
                        }
                    }
                }
                Some(_) => {}
                None => return Ok(Scan::AdapterGone),
            }
        }
    }
}
