//! The web dashboard (DESIGN.md §4): an axum server in the daemon that serves the embedded
//! front end (`web/`), live values by server-sent events, and the history, the daily report and
//! the devices as JSON read from the store; Signal K (`crate::signalk`) on the same port.
//!
//! Loopback by default. Bound anywhere else it needs `[web] token`: the browser presents it
//! once as `?token=…` (it becomes an HTTP-only cookie) or on every request as
//! `Authorization: Bearer …`. Keys never reach it: the devices page says whether a key works,
//! never what it is.

mod alarms;
mod api;
mod assets;
pub mod day;
pub mod firmware;
pub mod live;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::config::Config;
use crate::store::{Backend, Calendar};
use crate::telemetry::Telemetry;

pub use alarms::Requests;
pub use live::Hub;

/// What the handlers share.
pub struct Web {
    /// The configured devices (names, roles, groups; keys are never read here).
    pub devices: Vec<crate::config::Device>,
    /// The store (a second connection: the recorder keeps its own), `None` when history is off.
    pub store: Option<Mutex<Box<dyn Backend>>>,
    /// Local days (behind a lock: a calendar caches its last day and is not `Sync`).
    calendar: Mutex<Calendar>,
    /// The time zone's name, for the browser.
    pub timezone: String,
    /// Raw samples are kept this many days (older days' reports come from the kept ones).
    pub raw_days: u32,
    /// Live device state.
    pub hub: Arc<Hub>,
    /// Counters.
    pub telemetry: Arc<Telemetry>,
    token: Option<String>,
    /// The optional online tile layer: (URL template, attribution).
    pub tiles: Option<(String, String)>,
    /// Where acknowledgements and the anchor watch's requests go (none: the page cannot ask).
    pub requests: Option<Requests>,
    /// The Signal K server served beside the dashboard (`crate::signalk`), when enabled.
    pub signalk: Option<Arc<crate::signalk::Hub>>,
    /// Where the node's flash images are looked for ([`firmware::folders`]).
    pub firmware: Vec<std::path::PathBuf>,
}

impl Web {
    /// From the configuration; opens its own store connection.
    pub fn new(config: &Config, hub: Arc<Hub>, telemetry: Arc<Telemetry>) -> Result<Web> {
        let store = if config.store.enabled {
            Some(Mutex::new(tokio::task::block_in_place(|| crate::store::open(config))?))
        } else {
            None
        };
        let calendar = config.calendar()?;
        Ok(Web {
            devices: config.device.clone(),
            store,
            timezone: calendar.timezone_name(),
            calendar: Mutex::new(calendar),
            raw_days: config.store.raw_days,
            hub,
            telemetry,
            token: config.web.token.as_ref().map(|t| t.0.clone()),
            tiles: (!config.web.tiles.is_empty())
                .then(|| (config.web.tiles.clone(), config.web.tiles_attribution.clone())),
            requests: None,
            signalk: None,
            firmware: firmware::folders(&config.data_dir()),
        })
    }

    /// Let the pages acknowledge alarms and drop the anchor, through the pipeline's input.
    pub fn with_requests(mut self, requests: Requests) -> Self {
        self.requests = Some(requests);
        self
    }

    /// Serve Signal K (`/signalk…`) too, behind the same token.
    pub fn with_signalk(mut self, hub: Arc<crate::signalk::Hub>) -> Self {
        self.signalk = Some(hub);
        self
    }
}

impl Web {
    /// The calendar of local days.
    pub fn calendar(&self) -> Calendar {
        self.calendar.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Whether an address is loopback only (then no token is needed).
pub fn is_loopback(listen: &str) -> bool {
    match listen.parse::<SocketAddr>() {
        Ok(a) => a.ip().is_loopback(),
        Err(_) => listen.starts_with("localhost:"),
    }
}

/// Bind and serve in the background; returns the bound address.
pub async fn serve(listen: &str, web: Web) -> Result<SocketAddr> {
    anyhow::ensure!(
        is_loopback(listen) || web.token.is_some(),
        "web: {listen} is reachable from the network; set [web] token (or listen on 127.0.0.1)"
    );
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("web: cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let app = router(Arc::new(web));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("web server stopped: {e}");
        }
    });
    Ok(addr)
}

/// The routes (and Signal K's when it is served).
pub fn router(web: Arc<Web>) -> Router {
    let mut app = Router::new()
        .route("/", get(assets::index))
        .route("/assets/{*path}", get(assets::asset))
        .route("/api/status", get(api::status))
        .route("/api/live", get(live::events))
        .route("/api/day/solar", get(api::solar_day))
        .route("/api/day/battery", get(api::battery_day))
        .route("/api/history", get(api::history))
        .route("/api/report", get(api::report))
        .route("/api/devices", get(api::devices))
        .route("/api/nav", get(api::nav))
        .route("/api/mesh", get(api::mesh))
        .route("/api/export/{format}", get(api::export))
        .route("/api/alarms", get(alarms::list))
        .route("/api/alarms/{name}/ack", post(alarms::acknowledge))
        .route("/api/anchor", post(alarms::anchor))
        .route("/api/firmware", get(firmware::status))
        .route("/firmware/{name}", get(firmware::file))
        .with_state(web.clone());
    if let Some(hub) = &web.signalk {
        app = app.merge(crate::signalk::server::router(hub.clone()));
    }
    app.layer(axum::middleware::from_fn_with_state(web, authorise))
}

/// The token check (only when one is configured).
async fn authorise(State(web): State<Arc<Web>>, request: Request, next: Next) -> Response {
    let Some(token) = &web.token else { return next.run(request).await };
    let headers = request.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| same(t, token));
    if bearer || cookie(headers, "halyard_token").is_some_and(|t| same(&t, token)) {
        return next.run(request).await;
    }
    // `?token=…` once: answer with the cookie and send the browser back without the token in
    // its address bar (and history).
    if let Some(t) = query_param(request.uri().query(), "token") {
        if same(&t, token) {
            let cookie = format!("halyard_token={token}; Path=/; HttpOnly; SameSite=Strict");
            return (
                StatusCode::SEE_OTHER,
                [(header::SET_COOKIE, cookie), (header::LOCATION, request.uri().path().to_owned())],
            )
                .into_response();
        }
    }
    (StatusCode::UNAUTHORIZED, "Halyard: open this page with ?token=… (the [web] token of halyard.toml)\n")
        .into_response()
}

/// Compare without leaking where the first difference is.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

/// One parameter of a query string, percent-decoded.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = match b.get(i + 1..i + 3) {
            Some(&[h, l]) if b[i] == b'%' && h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                std::str::from_utf8(&[h, l]).ok().and_then(|t| u8::from_str_radix(t, 16).ok())
            }
            _ => None,
        };
        match (b[i], hex) {
            (_, Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (c, None) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_needs_no_token_and_other_addresses_do() {
        assert!(is_loopback("127.0.0.1:8080"));
        assert!(is_loopback("[::1]:8080"));
        assert!(is_loopback("localhost:8080"));
        assert!(!is_loopback("0.0.0.0:8080"));
        assert!(!is_loopback("192.168.1.20:80"));
    }

    #[test]
    fn query_parameters_are_decoded() {
        assert_eq!(query_param(Some("date=2026-06-21&x=1"), "date").as_deref(), Some("2026-06-21"));
        assert_eq!(query_param(Some("token=a%2Bb%3D&y"), "token").as_deref(), Some("a+b="));
        assert_eq!(query_param(Some("t=50%"), "t").as_deref(), Some("50%"));
        assert_eq!(query_param(Some("t=%zz"), "t").as_deref(), Some("%zz"));
        assert_eq!(query_param(None, "t"), None);
        assert!(same("secret", "secret") && !same("secret", "secreT") && !same("s", "secret"));
    }
}
