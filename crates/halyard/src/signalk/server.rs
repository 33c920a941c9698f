//! Signal K's HTTP and WebSocket endpoints, on the dashboard's port and behind its token
//! (SignalK/specification `mdbook/src/rest_api.md`, `streaming_api.md`):
//!
//! - `GET /signalk`: discovery, `endpoints.v1` with `signalk-http` and `signalk-ws`;
//! - `GET /signalk/v1/api/` and any path below it (`vessels/self/navigation/position`,
//!   `self`), a device's own name accepted where the model keys it (`house-bank` for
//!   `houseBank`);
//! - `GET /signalk/v1/stream[?subscribe=self|all|none]`: the hello, then deltas, and the
//!   client's subscribe and unsubscribe messages.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json as Reply, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value as Json};
use tokio::sync::broadcast::error::RecvError;

use super::hub::{timestamp, Hub};
use super::subscribe::{Initial, Subscriber};

/// The routes, with their own state.
pub fn router(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/signalk", get(discovery))
        .route("/signalk/", get(discovery))
        .route("/signalk/v1/api", get(full))
        .route("/signalk/v1/api/", get(full))
        .route("/signalk/v1/api/{*path}", get(part))
        .route("/signalk/v1/stream", get(stream))
        .with_state(hub)
}

/// `/signalk`: where the APIs are, as seen from the client (its `Host`).
async fn discovery(headers: HeaderMap) -> Reply<Json> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    Reply(json!({
        "endpoints": { "v1": {
            "version": super::SPEC_VERSION,
            "signalk-http": format!("http://{host}/signalk/v1/api/"),
            "signalk-ws": format!("ws://{host}/signalk/v1/stream"),
        }},
        "server": { "id": "halyard", "version": env!("CARGO_PKG_VERSION") },
    }))
}

async fn full(State(hub): State<Arc<Hub>>) -> Reply<Json> {
    Reply(hub.full())
}

/// A part of the model: `vessels/self/electrical/batteries/house-bank/voltage`.
async fn part(State(hub): State<Arc<Hub>>, Path(path): Path<String>) -> Response {
    let path = path.trim_end_matches('/');
    if path == "self" {
        return Reply(Json::from(&*hub.self_context)).into_response();
    }
    let model = hub.full();
    let self_urn = hub.self_context.strip_prefix("vessels.").unwrap_or(&hub.self_context).to_owned();
    let mut at = &model;
    let mut parent = "";
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let key = if parent == "vessels" && segment == "self" { self_urn.as_str() } else { segment };
        let next = at.get(key).or_else(|| {
            // A device's own name where the model keys it by its Signal K id.
            at.get(super::paths::id(key).as_str())
        });
        match next {
            Some(n) => at = n,
            None => return (StatusCode::NOT_FOUND, format!("no {path} in the model\n")).into_response(),
        }
        parent = segment;
    }
    Reply(at.clone()).into_response()
}

/// The WebSocket stream.
async fn stream(State(hub): State<Arc<Hub>>, ws: WebSocketUpgrade, request: Request) -> Response {
    let query = request.uri().query().map(ToOwned::to_owned);
    let initial = match Initial::parse(crate::web::query_param(query.as_deref(), "subscribe").as_deref()) {
        Ok(i) => i,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    // Subscriptions are small; anything larger is not one.
    ws.max_message_size(MAX_MESSAGE).on_upgrade(move |socket| follow(socket, hub, initial))
}

/// The largest message a client may send (bytes).
const MAX_MESSAGE: usize = 64 * 1024;

/// More messages than this in a second from one client and it is dropped: subscribing is not
/// a conversation, and a runaway client must not take the daemon's time.
const MAX_MESSAGES_PER_SECOND: u32 = 50;

/// The answer to a message refused (the shape of the specification's request/response
/// messages: `requestId` when the client gave one, `statusCode` 400, the reason).
fn refusal(text: &str, why: &str) -> Json {
    let id = serde_json::from_str::<Json>(text).ok().and_then(|m| m.get("requestId").cloned());
    let mut reply = json!({ "state": "COMPLETED", "statusCode": 400, "message": why });
    if let Some(id) = id {
        reply["requestId"] = id;
    }
    reply
}

async fn send(socket: &mut WebSocket, messages: Vec<Json>) -> bool {
    for m in messages {
        if socket.send(Message::Text(m.to_string().into())).await.is_err() {
            return false;
        }
    }
    true
}

/// One client, until it goes.
async fn follow(mut socket: WebSocket, hub: Arc<Hub>, initial: Initial) {
    let mut deltas = hub.subscribe();
    let started = Instant::now();
    let now = || started.elapsed().as_millis() as u64;
    let mut client = Subscriber::new(hub.self_context.clone(), initial);
    let hello = json!({
        "name": "halyard",
        "version": env!("CARGO_PKG_VERSION"),
        "self": &*hub.self_context,
        "roles": ["master", "main"],
        "timestamp": timestamp(crate::ingest::now_ms()),
    });
    if !send(&mut socket, vec![hello]).await {
        return;
    }
    let first = client.prime(&hub.current(), now());
    if !send(&mut socket, first).await {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (mut second, mut said) = (0u64, 0u32);
    loop {
        let out = tokio::select! {
            m = socket.recv() => match m {
                Some(Ok(Message::Text(text))) => {
                    let this_second = now() / 1000;
                    said = if this_second == second { said + 1 } else { 1 };
                    second = this_second;
                    if said > MAX_MESSAGES_PER_SECOND {
                        tracing::warn!("signalk: a client sent more than {MAX_MESSAGES_PER_SECOND} messages in a second; dropped");
                        let why = json!({ "state": "COMPLETED", "statusCode": 429, "message": "too many messages; closing" });
                        let _ = send(&mut socket, vec![why]).await;
                        break;
                    }
                    match client.message(&text) {
                        Ok(true) => client.prime(&hub.current(), now()),
                        Ok(false) => Vec::new(),
                        Err(e) => {
                            tracing::debug!("signalk: a client's message refused: {e}");
                            vec![refusal(&text, &e)]
                        }
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!("signalk: a client's connection failed: {e}");
                    break;
                }
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => Vec::new(),
            },
            d = deltas.recv() => match d {
                Ok(d) => client.delta(&d, now()),
                // Too slow to follow: carry on from the current values.
                Err(RecvError::Lagged(_)) => hub.current().iter().flat_map(|d| client.delta(d, now())).collect(),
                Err(RecvError::Closed) => break,
            },
            _ = tick.tick() => client.tick(now()),
        };
        if !send(&mut socket, out).await {
            break;
        }
    }
}
