//! What is plugged in, read from sysfs and `/dev/serial/by-id` without opening anything: USB
//! serial ports with their USB ids, SocketCAN interfaces, Bluetooth adapters, and whether gpsd
//! answers on this machine.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a port's USB id says it probably is (the probe decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// Victron's VE.Direct to USB cable (FTDI, "VE Direct cable").
    VeDirectCable,
    /// A CAN adapter speaking SLCAN (CANable, USBtin).
    CanAdapter,
    /// A GPS receiver (u-blox).
    Gps,
    /// A board that usually runs Meshtastic (nRF52, ESP32-S3 native USB).
    Radio,
    /// A generic USB-serial chip: anything.
    Unknown,
}

/// A serial port worth probing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialPort {
    /// The stable path to put in the configuration (`/dev/serial/by-id/…` when there is one).
    pub path: String,
    /// The kernel's node (`/dev/ttyUSB0`).
    pub device: String,
    /// USB vendor and product id.
    pub usb_id: Option<(u16, u16)>,
    /// The USB manufacturer and product strings.
    pub description: String,
    /// What the USB id suggests.
    pub hint: Hint,
}

/// The hint for a USB id and its product string.
pub fn hint(vendor: u16, product: u16, description: &str) -> Hint {
    let text = description.to_ascii_lowercase();
    match (vendor, product) {
        _ if text.contains("ve direct") || text.contains("victronenergy") => Hint::VeDirectCable,
        // CANable (slcan firmware), USBtin, and STM32 virtual COM ports that say CAN.
        (0x16D0, 0x117E) | (0x04D8, 0x000A) => Hint::CanAdapter,
        (0x0483, 0x5740) if text.contains("can") => Hint::CanAdapter,
        (0x1546, _) => Hint::Gps,
        (0x239A, _) | (0x303A, _) => Hint::Radio,
        _ if text.contains("gps") || text.contains("gnss") => Hint::Gps,
        _ => Hint::Unknown,
    }
}

/// USB serial ports (`ttyUSB*`, `ttyACM*`), named by `/dev/serial/by-id` when possible.
pub fn serial_ports() -> Vec<SerialPort> {
    serial_ports_in(Path::new("/sys/class/tty"), Path::new("/dev/serial/by-id"))
}

fn serial_ports_in(class: &Path, by_id: &Path) -> Vec<SerialPort> {
    let links: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(by_id)
        .map(|dir| dir.flatten().filter_map(|e| Some((e.path(), std::fs::canonicalize(e.path()).ok()?))).collect())
        .unwrap_or_default();
    let Ok(entries) = std::fs::read_dir(class) else { return Vec::new() };
    let mut ports: Vec<SerialPort> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.starts_with("ttyUSB") || name.starts_with("ttyACM")) {
                return None;
            }
            let device = format!("/dev/{name}");
            let usb = usb_interface_parent(&entry.path().join("device"));
            let read = |file: &str| -> String {
                usb.as_ref()
                    .and_then(|d| std::fs::read_to_string(d.join(file)).ok())
                    .map(|s| s.trim().to_owned())
                    .unwrap_or_default()
            };
            let id = |file: &str| u16::from_str_radix(&read(file), 16).ok();
            let usb_id = id("idVendor").zip(id("idProduct"));
            let description = [read("manufacturer"), read("product")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let path = links
                .iter()
                .find(|(_, target)| target == Path::new(&device))
                .map(|(link, _)| link.display().to_string())
                .unwrap_or_else(|| device.clone());
            let hint = usb_id.map_or(Hint::Unknown, |(v, p)| hint(v, p, &format!("{description} {path}")));
            Some(SerialPort { path, device, usb_id, description, hint })
        })
        .collect();
    ports.sort_by(|a, b| a.device.cmp(&b.device));
    ports
}

/// The USB device directory above a tty's `device` link (the one holding `idVendor`).
fn usb_interface_parent(device: &Path) -> Option<PathBuf> {
    let mut dir = std::fs::canonicalize(device).ok()?;
    for _ in 0..4 {
        if dir.join("idVendor").exists() {
            return Some(dir);
        }
        dir = dir.parent()?.to_path_buf();
    }
    None
}

/// SocketCAN interfaces (`can0`, `vcan0`): network devices of ARP type 280.
pub fn can_interfaces() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/class/net") else { return Vec::new() };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| std::fs::read_to_string(e.path().join("type")).is_ok_and(|t| t.trim() == "280"))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Bluetooth adapters (`hci0`).
pub fn bluetooth_adapters() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/class/bluetooth") else { return Vec::new() };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("hci") && !n.contains(':'))
        .collect();
    names.sort();
    names
}

/// Whether gpsd listens on this machine (port 2947).
pub fn gpsd() -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 2947));
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usb_ids_give_hints() {
        assert_eq!(hint(0x0403, 0x6015, "VictronEnergy BV VE Direct cable"), Hint::VeDirectCable);
        assert_eq!(hint(0x16D0, 0x117E, "Protofusion Labs CANable"), Hint::CanAdapter);
        assert_eq!(hint(0x0483, 0x5740, "STMicroelectronics CANable 2.0"), Hint::CanAdapter);
        assert_eq!(hint(0x0483, 0x5740, "STMicroelectronics Virtual COM Port"), Hint::Unknown);
        assert_eq!(hint(0x1546, 0x01A7, "u-blox AG u-blox 7"), Hint::Gps);
        assert_eq!(hint(0x239A, 0x8029, "RAKwireless WisCore RAK4631"), Hint::Radio);
        assert_eq!(hint(0x10C4, 0xEA60, "Silicon Labs CP2102"), Hint::Unknown);
    }

    #[test]
    fn ports_from_a_sysfs_tree() {
        let root = std::env::temp_dir().join(format!("halyard-find-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let usb = root.join("devices/usb1/1-1");
        let interface = usb.join("1-1:1.0/ttyUSB0");
        std::fs::create_dir_all(&interface).unwrap();
        for (file, text) in [
            ("idVendor", "0403\n"),
            ("idProduct", "6015\n"),
            ("manufacturer", "VictronEnergy BV\n"),
            ("product", "VE Direct cable\n"),
        ] {
            std::fs::write(usb.join(file), text).unwrap();
        }
        let class = root.join("class/tty");
        std::fs::create_dir_all(class.join("ttyUSB0")).unwrap();
        std::fs::create_dir_all(class.join("ttyS0")).unwrap();
        std::os::unix::fs::symlink(&interface, class.join("ttyUSB0/device")).unwrap();
        let ports = serial_ports_in(&class, &root.join("no-by-id"));
        assert_eq!(ports.len(), 1, "{ports:?}");
        assert_eq!(ports[0].device, "/dev/ttyUSB0");
        assert_eq!(ports[0].usb_id, Some((0x0403, 0x6015)));
        assert_eq!(ports[0].hint, Hint::VeDirectCable);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
