//! Which broker: `mqtt = host[:port]` (an address, or a name for the network's DNS), or `mdns`:
//! ask the local network for `_mqtt._tcp` (DNS-SD) — Halyard's gateway advertises its embedded
//! broker so — and take the first answer. SNTP for the clock goes to `ntp` (default the
//! broker's host); without an answer the gateway's `<root>/clock` sets it within a minute.

use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{IpAddress, IpEndpoint, Ipv4Address, Stack};
use embassy_time::{with_timeout, Duration};
use halyard_node_core::config::Config;
use halyard_node_core::{dnssd, sntp};
use log::{info, warn};

const MDNS: (Ipv4Address, u16) = (Ipv4Address::new(224, 0, 0, 251), 5353);

/// The broker last found, as Improv reports it (`mqtt://192.168.1.2:1883`).
static FOUND: critical_section::Mutex<core::cell::RefCell<Option<alloc::string::String>>> =
    critical_section::Mutex::new(core::cell::RefCell::new(None));

/// Keep the broker found (or forget it).
pub fn remember(found: Option<IpEndpoint>) {
    let url = found.map(|b| alloc::format!("mqtt://{b}"));
    critical_section::with(|cs| *FOUND.borrow_ref_mut(cs) = url);
}

/// The broker last found.
pub fn url() -> Option<alloc::string::String> {
    critical_section::with(|cs| FOUND.borrow_ref(cs).clone())
}

/// The broker's address and port.
pub async fn find(stack: Stack<'static>, config: &Config) -> Option<IpEndpoint> {
    let spec = config.get("mqtt").unwrap_or("mdns");
    if spec == "mdns" {
        return discover(stack).await;
    }
    let (host, port) = match spec.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().unwrap_or(1883)),
        None => (spec, 1883),
    };
    resolve(stack, host).await.map(|ip| IpEndpoint::new(ip, port))
}

async fn resolve(stack: Stack<'static>, host: &str) -> Option<IpAddress> {
    if let Ok(ip) = host.parse::<Ipv4Address>() {
        return Some(ip.into());
    }
    match stack.dns_query(host, embassy_net::dns::DnsQueryType::A).await {
        Ok(addresses) => addresses.first().copied(),
        Err(e) => {
            warn!("DNS {host}: {e:?}");
            None
        }
    }
}

/// One DNS-SD question, answers for three seconds.
async fn discover(stack: Stack<'static>) -> Option<IpEndpoint> {
    let (mut rx_meta, mut tx_meta) = ([PacketMetadata::EMPTY; 4], [PacketMetadata::EMPTY; 2]);
    let (mut rx, mut tx) = ([0u8; 1500], [0u8; 128]);
    let mut socket = UdpSocket::new(stack, &mut rx_meta, &mut rx, &mut tx_meta, &mut tx);
    socket.bind(0).ok()?;
    let query = dnssd::query(0);
    if let Err(e) = socket.send_to(&query, MDNS).await {
        warn!("DNS-SD: {e:?}");
        return None;
    }
    let mut buf = [0u8; 1500];
    let found = with_timeout(Duration::from_secs(3), async {
        loop {
            if let Ok((n, _)) = socket.recv_from(&mut buf).await {
                if let Some(f) = dnssd::parse(&buf[..n]).into_iter().next() {
                    return f;
                }
            }
        }
    })
    .await
    .ok();
    match found {
        Some(f) => {
            info!("DNS-SD: broker \"{}\" at {}.{}.{}.{}:{}", f.instance, f.address[0], f.address[1], f.address[2], f.address[3], f.port);
            let [a, b, c, d] = f.address;
            Some(IpEndpoint::new(Ipv4Address::new(a, b, c, d).into(), f.port))
        }
        None => {
            warn!("DNS-SD: no _mqtt._tcp broker answered; set `mqtt = host` on the console");
            None
        }
    }
}

/// The time (Unix ms) from an SNTP server: `ntp` in the configuration, else the broker's host.
pub async fn time(stack: Stack<'static>, config: &Config, broker: IpAddress) -> Option<u64> {
    let server = match config.get("ntp") {
        Some(host) => resolve(stack, host).await?,
        None => broker,
    };
    let (mut rx_meta, mut tx_meta) = ([PacketMetadata::EMPTY; 2], [PacketMetadata::EMPTY; 2]);
    let (mut rx, mut tx) = ([0u8; 128], [0u8; 64]);
    let mut socket = UdpSocket::new(stack, &mut rx_meta, &mut rx, &mut tx_meta, &mut tx);
    socket.bind(0).ok()?;
    socket.send_to(&sntp::request(), (server, 123)).await.ok()?;
    let mut buf = [0u8; 68];
    let (n, _) = with_timeout(Duration::from_secs(2), socket.recv_from(&mut buf)).await.ok()?.ok()?;
    sntp::unix_ms(&buf[..n])
}
