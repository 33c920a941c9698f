//! Where the broker is: `mqtt://[user@]host[:port]`, `mqtts://…` (feature `tls`), or what mDNS
//! or the embedded broker gave.

use std::fmt;

use anyhow::{bail, Context, Result};

/// A broker address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS.
    pub tls: bool,
    /// A user name given in the URL.
    pub username: Option<String>,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the password: URLs with one are refused at parse time.
        write!(f, "{}://{}:{}", if self.tls { "mqtts" } else { "mqtt" }, self.host, self.port)
    }
}

impl Endpoint {
    /// Plain TCP to `host:port`.
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        Endpoint { host: host.into(), port, tls: false, username: None }
    }

    /// The broker's port, for watching its return while disconnected.
    pub fn peer(&self) -> crate::sources::backoff::Peer {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        crate::sources::backoff::Peer::Tcp(format!("{host}:{}", self.port))
    }

    /// Parse a broker URL.
    pub fn parse(url: &str) -> Result<Endpoint> {
        let (scheme, rest) = url.split_once("://").with_context(|| format!("`{url}`: expected mqtt://host[:port]"))?;
        let tls = match scheme {
            "mqtt" | "tcp" => false,
            "mqtts" | "ssl" => true,
            other => bail!("`{other}://`: the broker URL scheme is mqtt:// or mqtts://"),
        };
        let rest = rest.trim_end_matches('/');
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        if userinfo.is_some_and(|u| u.contains(':')) {
            bail!("put the broker password in mqtt.password or mqtt.password_file, not in the URL (it would show in logs)");
        }
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h, p.parse::<u16>().with_context(|| format!("`{p}` is not a port number"))?)
            }
            _ => (hostport, if tls { 8883 } else { 1883 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            bail!("`{url}`: no host");
        }
        Ok(Endpoint { host: host.to_owned(), port, tls, username: userinfo.map(str::to_owned) })
    }
}

/// Configure TLS on the options (feature `tls`).
#[cfg(feature = "tls")]
pub fn set_tls(o: &mut rumqttc::MqttOptions, ca_file: Option<&std::path::Path>) -> Result<()> {
    let config = crate::tls::client_config(ca_file).context("mqtt.ca_file")?;
    o.set_transport(rumqttc::Transport::tls_with_config(rumqttc::TlsConfiguration::Rustls(std::sync::Arc::new(
        config,
    ))));
    Ok(())
}

/// Without the `tls` feature, `mqtts://` is refused with the way to get it.
#[cfg(not(feature = "tls"))]
pub fn set_tls(_: &mut rumqttc::MqttOptions, _: Option<&std::path::Path>) -> Result<()> {
    bail!("mqtts:// needs Halyard built with `--features tls`")
}

/// A UDP socket and address for `udp://host:port` syslog.
pub async fn syslog_socket(url: &str) -> Result<(tokio::net::UdpSocket, std::net::SocketAddr)> {
    let rest = url.strip_prefix("udp://").with_context(|| format!("mqtt.syslog `{url}`: expected udp://host:port"))?;
    let with_port = if rest.contains(':') { rest.to_owned() } else { format!("{rest}:514") };
    let addr = tokio::net::lookup_host(&with_port)
        .await
        .with_context(|| format!("mqtt.syslog: cannot resolve {with_port}"))?
        .next()
        .with_context(|| format!("mqtt.syslog: no address for {with_port}"))?;
    let bind = if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    Ok((tokio::net::UdpSocket::bind(bind).await?, addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(Endpoint::parse("mqtt://10.0.0.2").unwrap(), Endpoint::tcp("10.0.0.2", 1883));
        let e = Endpoint::parse("mqtts://boat@broker.local:8884").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.tls, e.username.as_deref()), ("broker.local", 8884, true, Some("boat")));
        assert_eq!(Endpoint::parse("mqtt://[::1]:1884").unwrap(), Endpoint::tcp("::1", 1884));
        let e = Endpoint::parse("mqtt://u:secret@h").unwrap_err().to_string();
        assert!(!e.contains("secret"), "{e}");
        assert!(Endpoint::parse("http://h").is_err());
        assert!(Endpoint::parse("mqtt://h:99999").is_err());
    }
}
