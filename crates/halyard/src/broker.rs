//! Which broker (DESIGN.md §4.2): the configured URL; else a `_mqtt._tcp` broker found by mDNS;
//! else the embedded broker (rumqttd), which is then advertised by mDNS when it listens on an
//! address other devices can reach.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use mdns_sd::{ServiceDaemon, ServiceEvent, ServiceInfo};

use crate::config::Config;
use crate::sinks::mqtt::Endpoint;

/// The mDNS service type of MQTT brokers.
const SERVICE: &str = "_mqtt._tcp.local.";

/// What was chosen, and what must stay alive for it.
pub struct Choice {
    /// Where to connect.
    pub endpoint: Endpoint,
    /// Keeps the mDNS advertisement up.
    pub _mdns: Option<ServiceDaemon>,
    /// Describes the choice for the log and the demo.
    pub how: String,
}

/// Choose (and if needed start) the broker.
pub async fn choose(config: &Config) -> Result<Choice> {
    if let Some(url) = &config.mqtt.url {
        let endpoint = Endpoint::parse(url).context("mqtt.url")?;
        return Ok(Choice { how: format!("configured broker {endpoint}"), endpoint, _mdns: None });
    }
    if config.mqtt.mdns {
        match browse(Duration::from_secs(2)).await {
            Ok(Some(endpoint)) => {
                return Ok(Choice { how: format!("broker found by mDNS at {endpoint}"), endpoint, _mdns: None })
            }
            Ok(None) => tracing::info!("no MQTT broker advertised by mDNS"),
            Err(e) => tracing::info!("mDNS unavailable ({e:#}); not looking for a broker"),
        }
    }
    if !config.broker.enabled {
        bail!("no mqtt.url, no broker found by mDNS, and the embedded broker is disabled");
    }
    let addr = listen_addr(config)?;
    if std::net::TcpListener::bind(addr).is_err() {
        // Something (often a Mosquitto installed as a service) already listens there: use it.
        let endpoint = Endpoint::tcp(connect_host(addr), addr.port());
        return Ok(Choice {
            how: format!("{addr} is taken: using the broker already listening there"),
            endpoint,
            _mdns: None,
        });
    }
    start_embedded(addr)?;
    let endpoint = Endpoint::tcp(connect_host(addr), addr.port());
    let mdns = if addr.ip().is_loopback() {
        tracing::info!(
            "embedded broker on loopback {addr}: not advertised (set broker.listen = \"0.0.0.0:1883\" for ESP32 nodes)"
        );
        None
    } else {
        match advertise(addr.port()) {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::warn!("cannot advertise the embedded broker by mDNS: {e:#}");
                None
            }
        }
    };
    Ok(Choice { how: format!("embedded broker on {addr}"), endpoint, _mdns: mdns })
}

/// The broker a running daemon uses, for the commands that talk to it (`halyard anchor`): the
/// configured `mqtt.url`, else the embedded broker's address (or whatever listens there).
pub fn of_daemon(config: &Config) -> Result<Endpoint> {
    if let Some(url) = &config.mqtt.url {
        return Endpoint::parse(url).context("mqtt.url");
    }
    let addr = listen_addr(config)?;
    Ok(Endpoint::tcp(connect_host(addr), addr.port()))
}

/// `broker.listen` as an address.
fn listen_addr(config: &Config) -> Result<SocketAddr> {
    let listen = &config.broker.listen;
    listen.parse().with_context(|| format!("broker.listen `{listen}` is not an address:port"))
}

fn connect_host(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        "127.0.0.1".into()
    } else {
        addr.ip().to_string()
    }
}

/// Start rumqttd on `addr` in its own threads.
pub fn start_embedded(addr: SocketAddr) -> Result<()> {
    let connections = rumqttd::ConnectionSettings {
        connection_timeout_ms: 60_000,
        max_payload_size: 1 << 20,
        max_inflight_count: 500,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let server = rumqttd::ServerSettings {
        name: "halyard-v4".into(),
        listen: addr,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    let router = rumqttd::RouterConfig {
        max_connections: 256,
        max_outgoing_packet_count: 200,
        max_segment_size: 4 << 20,
        max_segment_count: 4,
        custom_segment: None,
        initialized_filters: None,
        shared_subscriptions_strategy: Default::default(),
    };
    let config = rumqttd::Config {
        id: 0,
        router,
        v4: Some(HashMap::from([("1".to_owned(), server)])),
        v5: None,
        ws: None,
        cluster: None,
        console: None,
        bridge: None,
        prometheus: None,
        metrics: None,
    };
    let mut broker = rumqttd::Broker::new(config);
    std::thread::Builder::new().name("broker".into()).spawn(move || {
        if let Err(e) = broker.start() {
            tracing::error!("embedded broker stopped: {e}");
        }
    })?;
    // rumqttd binds in its own thread: wait for it, so the first connection is not refused.
    let connect_to = SocketAddr::new(connect_host(addr).parse().expect("an IP address"), addr.port());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect_timeout(&connect_to, Duration::from_millis(200)).is_err() {
        if std::time::Instant::now() > deadline {
            bail!("the embedded broker did not start listening on {addr}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// Look for a broker for up to `wait`.
async fn browse(wait: Duration) -> Result<Option<Endpoint>> {
    let daemon = ServiceDaemon::new().context("starting mDNS")?;
    let rx = daemon.browse(SERVICE).context("mDNS browse")?;
    let found = tokio::time::timeout(wait, async {
        while let Ok(event) = rx.recv_async().await {
            if let ServiceEvent::ServiceResolved(info) = event {
                if let Some(ip) = info.get_addresses_v4().into_iter().next() {
                    return Some(Endpoint::tcp(ip.to_string(), info.get_port()));
                }
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    let _ = daemon.shutdown();
    Ok(found)
}

/// Advertise an MQTT broker on `port` of every interface.
fn advertise(port: u16) -> Result<ServiceDaemon> {
    let daemon = ServiceDaemon::new().context("starting mDNS")?;
    let host = match crate::hostname() {
        h if h.is_empty() => "halyard".to_owned(),
        h => h,
    };
    let host = host.as_str();
    let info = ServiceInfo::new(
        SERVICE,
        &format!("halyard on {host}"),
        &format!("{host}.local."),
        "",
        port,
        None::<HashMap<String, String>>,
    )
    .context("mDNS service")?
    .enable_addr_auto();
    daemon.register(info).context("mDNS register")?;
    tracing::info!("embedded broker advertised by mDNS as `halyard on {host}` ({SERVICE} port {port})");
    Ok(daemon)
}
