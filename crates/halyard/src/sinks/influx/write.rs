//! Where and how a batch is written: InfluxDB 1.x `POST /write?db=…[&rp=…]` (basic
//! authentication when a user is set) or 2.x `POST /api/v2/write?org=…&bucket=…`
//! (`Authorization: Token …`), both with nanosecond times (the protocol's default precision).
//! InfluxDB 1.8 and later also take the 2.x form, with `bucket = "db/rp"` and
//! `token = "user:password"`.

use base64::Engine;

use super::Settings;
use crate::http_client::{self, Failure, Target};

/// What InfluxDB said to one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written (204).
    Written,
    /// Bad data (400: a field whose type changed, a line it cannot parse; with 1.x the rest of
    /// the batch is written, a "partial write"). Sending it again would fail again.
    BadData(String),
    /// The database (1.x) does not exist (404).
    NoDatabase(String),
    /// Anything else: the server, the network or the credentials; try again later.
    Retry(String),
}

/// The write endpoint of one `[influx]` section.
#[derive(Debug, Clone)]
pub struct Writer {
    write: Target,
    /// 1.x: where `CREATE DATABASE` goes, and the database's name.
    create: Option<(Target, String)>,
    headers: Vec<(&'static str, String)>,
}

/// Percent-encoding of a query value (RFC 3986 unreserved characters pass).
pub fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Writer {
    /// The endpoint for `settings` (checked by [`Settings::check`]).
    pub fn new(settings: &Settings) -> Result<Writer, String> {
        let base = Target::parse(&settings.url).map_err(|e| format!("[influx] url: {e}"))?;
        // A URL with a path (InfluxDB behind a proxy at /influx) keeps it.
        let prefix = base.path.split('?').next().unwrap_or("").trim_end_matches('/').to_owned();
        let at = |path: String| Target { path, ..base.clone() };
        let mut headers = vec![("content-type", "text/plain; charset=utf-8".to_owned())];
        if let Some(bucket) = &settings.bucket {
            let org = settings.org.as_deref().unwrap_or_default();
            let path =
                format!("{prefix}/api/v2/write?org={}&bucket={}&precision=ns", query_value(org), query_value(bucket));
            if let Some(token) = &settings.token {
                headers.push(("authorization", format!("Token {}", token.0)));
            }
            return Ok(Writer { write: at(path), create: None, headers });
        }
        let db = settings.database.clone().unwrap_or_else(|| "halyard".into());
        let mut path = format!("{prefix}/write?db={}&precision=ns", query_value(&db));
        if let Some(rp) = &settings.retention_policy {
            path.push_str(&format!("&rp={}", query_value(rp)));
        }
        if let Some(user) = &settings.username {
            let password = settings.password.as_ref().map(|p| p.0.as_str()).unwrap_or_default();
            let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            headers.push(("authorization", format!("Basic {encoded}")));
        }
        let create = settings.create_database.then(|| (at(format!("{prefix}/query")), db));
        Ok(Writer { write: at(path), create, headers })
    }

    /// `host:port`, for the logs (never the query: it names no secret, but keep them alike).
    pub fn server(&self) -> String {
        self.write.server()
    }

    /// The path a batch is posted to.
    pub fn path(&self) -> &str {
        &self.write.path
    }

    /// Post one batch of line protocol.
    pub async fn write(&self, batch: Vec<u8>) -> Outcome {
        match http_client::answer(&self.write, &self.headers, batch).await {
            Ok(Ok(())) => Outcome::Written,
            Ok(Err(r)) if r.status == 400 => Outcome::BadData(r.why),
            Ok(Err(r)) if r.status == 404 && self.create.is_some() => Outcome::NoDatabase(r.why),
            Ok(Err(r)) => Outcome::Retry(match r.status {
                401 | 403 => format!("{} (check [influx] username/password or token)", r.why),
                _ => r.why,
            }),
            Err(Failure::Retry(why) | Failure::Permanent(why)) => Outcome::Retry(why),
        }
    }

    /// 1.x: `CREATE DATABASE` (harmless when it exists), as Telegraf does by default; Ok when
    /// the server answered 2xx.
    pub async fn create_database(&self) -> Result<(), String> {
        let Some((target, db)) = &self.create else { return Err("not InfluxDB 1.x".into()) };
        let mut headers = self.headers.clone();
        headers[0] = ("content-type", "application/x-www-form-urlencoded".into());
        let q = format!("CREATE DATABASE \"{}\"", db.replace('\\', "\\\\").replace('"', "\\\""));
        let body = format!("q={}", query_value(&q)).into_bytes();
        http_client::post(target, &headers, body).await.map_err(|e| e.to_string())
    }

    /// The database `create_database` makes.
    pub fn database(&self) -> Option<&str> {
        self.create.as_ref().map(|(_, db)| db.as_str())
    }

    #[cfg(test)]
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn settings(text: &str) -> Settings {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn influxdb_1_write_url_and_basic_authentication() {
        let w = Writer::new(&settings(
            "url = \"http://pi.local:8086\"\ndatabase = \"boat data\"\nretention_policy = \"a year\"\nusername = \"halyard\"\npassword = \"s3cret\"",
        ))
        .unwrap();
        assert_eq!(w.path(), "/write?db=boat%20data&precision=ns&rp=a%20year");
        assert_eq!(w.server(), "pi.local:8086");
        // RFC 7617: base64 of "halyard:s3cret".
        assert_eq!(w.header("authorization"), Some("Basic aGFseWFyZDpzM2NyZXQ="));
        assert_eq!(w.database(), Some("boat data"));
        let w = Writer::new(&settings("")).unwrap();
        assert_eq!(w.path(), "/write?db=halyard&precision=ns");
        assert_eq!(w.header("authorization"), None);
    }

    #[test]
    fn influxdb_2_write_url_and_token() {
        let mut s = settings("url = \"https://cloud.example/influx/\"\norg = \"my boat\"\nbucket = \"halyard\"");
        s.token = Some(Secret("tok==".into()));
        let w = Writer::new(&s).unwrap();
        assert_eq!(w.path(), "/influx/api/v2/write?org=my%20boat&bucket=halyard&precision=ns");
        assert_eq!(w.header("authorization"), Some("Token tok=="));
        assert_eq!(w.database(), None, "2.x buckets are made by their owner");
    }
}
