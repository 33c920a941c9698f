//! One HTTP POST (ntfy, webhooks, InfluxDB writes) on hyper's HTTP/1.1 client: a fresh
//! connection per request — alarms are rare and writes are batched a second or more apart, and a
//! fresh connection never trips over one a proxy or a sleeping router closed meanwhile.
//! `https://` needs the `tls` feature (rustls, the system's roots).

use std::fmt;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::Uri;
use hyper_util::rt::TokioIo;

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Might pass later (no route, a timeout, a server error, rate-limited by the server).
    Retry(String),
    /// Will not pass by asking again (a wrong token, a refused address).
    Permanent(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Retry(why) | Failure::Permanent(why) => f.write_str(why),
        }
    }
}

/// A server's answer that was not 2xx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The HTTP status.
    pub status: u16,
    /// `host:port: HTTP <status> <first words of the body>`.
    pub why: String,
}

impl Refused {
    /// Too many requests and server errors pass; anything else (a wrong token, a missing page)
    /// will not get better by asking again.
    pub fn failure(self) -> Failure {
        if self.status == 429 || self.status >= 500 {
            Failure::Retry(self.why)
        } else {
            Failure::Permanent(self.why)
        }
    }
}

/// How long one attempt may take, connection to response.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// An `http(s)://host[:port]/path` a notifier posts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `https`.
    pub tls: bool,
    /// Host name or address (brackets removed).
    pub host: String,
    /// Port (80 or 443 unless given).
    pub port: u16,
    /// Path and query (`/` at least).
    pub path: String,
}

impl Target {
    /// Parse a URL; the error says what is wrong without repeating it (it may hold a secret
    /// topic or token).
    pub fn parse(url: &str) -> Result<Target, String> {
        let uri: Uri = url.parse().map_err(|_| "not a URL".to_owned())?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err("the URL must start with http:// or https://".into()),
        };
        let host = uri.host().filter(|h| !h.is_empty()).ok_or("the URL has no host")?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let path = uri.path_and_query().map(|p| p.as_str().to_owned()).filter(|p| !p.is_empty()).unwrap_or("/".into());
        Ok(Target { tls, host, port, path })
    }

    /// `host:port` for logs (never the path: an ntfy topic is its password).
    pub fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// POST `body` with `headers`; Ok when the server answers 2xx.
pub async fn post(target: &Target, headers: &[(&str, String)], body: Vec<u8>) -> Result<(), Failure> {
    match answer(target, headers, body).await? {
        Ok(()) => Ok(()),
        Err(refused) => Err(refused.failure()),
    }
}

/// POST `body` with `headers`: `Err` when no answer came (a [`Failure::Retry`], or a
/// [`Failure::Permanent`] for a request that cannot be made), else the server's answer, for a
/// caller whose statuses mean more (InfluxDB's 400 is bad data, its 404 a missing database).
pub async fn answer(
    target: &Target,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<Result<(), Refused>, Failure> {
    match tokio::time::timeout(TIMEOUT, attempt(target, headers, body)).await {
        Ok(r) => r,
        Err(_) => Err(Failure::Retry(format!("{}: no answer within {} s", target.server(), TIMEOUT.as_secs()))),
    }
}

type Answer = Result<Result<(), Refused>, Failure>;

async fn attempt(target: &Target, headers: &[(&str, String)], body: Vec<u8>) -> Answer {
    let server = target.server();
    let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| Failure::Retry(format!("{server}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    if target.tls {
        #[cfg(feature = "tls")]
        {
            use std::sync::Arc;
            let config = crate::tls::client_config(None).map_err(|e| Failure::Permanent(format!("TLS: {e:#}")))?;
            let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                .map_err(|_| Failure::Permanent(format!("{}: not a host name for TLS", target.host)))?;
            let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .map_err(|e| Failure::Retry(format!("{server}: TLS: {e}")))?;
            return exchange(TokioIo::new(tls), target, headers, body).await;
        }
        #[cfg(not(feature = "tls"))]
        return Err(Failure::Permanent("https:// needs Halyard built with `--features tls`".into()));
    }
    exchange(TokioIo::new(tcp), target, headers, body).await
}

async fn exchange<T>(io: TokioIo<T>, target: &Target, headers: &[(&str, String)], body: Vec<u8>) -> Answer
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let server = target.server();
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(io)
        .await
        .map_err(|e| Failure::Retry(format!("{server}: {e}")))?;
    let driver = tokio::spawn(conn);
    let host = if target.port == if target.tls { 443 } else { 80 } { target.host.clone() } else { server.clone() };
    let mut request = hyper::Request::post(target.path.as_str())
        .header(hyper::header::HOST, host)
        .header(hyper::header::USER_AGENT, concat!("halyard/", env!("CARGO_PKG_VERSION")));
    for (k, v) in headers {
        request = request.header(*k, v.as_str());
    }
    let request = request.body(Full::new(Bytes::from(body))).map_err(|e| Failure::Permanent(e.to_string()))?;
    let response = sender.send_request(request).await.map_err(|e| Failure::Retry(format!("{server}: {e}")));
    let result = match response {
        Ok(r) if r.status().is_success() => Ok(Ok(())),
        Ok(r) => {
            let status = r.status();
            // A few words of the server's reason help the owner (ntfy says which limit was hit,
            // InfluxDB which field conflicts).
            let said = Limited::new(r.into_body(), 512).collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let said = String::from_utf8_lossy(&said).split_whitespace().collect::<Vec<_>>().join(" ");
            let why = format!("{server}: HTTP {status} {said}").trim_end().to_owned();
            Ok(Err(Refused { status: status.as_u16(), why }))
        }
        Err(e) => Err(e),
    };
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = Target::parse("https://ntfy.sh/boat-secret-topic").unwrap();
        assert_eq!((t.tls, t.host.as_str(), t.port, t.path.as_str()), (true, "ntfy.sh", 443, "/boat-secret-topic"));
        assert_eq!(t.server(), "ntfy.sh:443");
        let t = Target::parse("http://[::1]:8080/hook?x=1").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.path.as_str()), ("::1", 8080, "/hook?x=1"));
        assert_eq!(t.server(), "[::1]:8080");
        assert_eq!(Target::parse("http://pi.local").unwrap().path, "/");
        for bad in ["ftp://x/y", "ntfy.sh/topic", "", "http://"] {
            let e = Target::parse(bad).unwrap_err();
            assert!(!e.contains("topic"), "{bad}: {e}");
        }
    }
}
