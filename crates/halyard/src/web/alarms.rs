//! Alarms on the dashboard: the active ones (the banner on every page), the anchor watch (the
//! map's swing circle), the history (the Alarms page), and the two things a page may ask —
//! acknowledge an alarm, drop or raise the anchor. Those are handed to the pipeline as the very
//! MQTT messages a phone would publish (`<root>/alarm/<name>/ack`, `<root>/anchor/set`), so there
//! is one way in and one place that decides; the page sees the outcome on its live stream.
//!
//! Both requests are POSTs of JSON: a page of another site cannot send those to the dashboard
//! without the browser asking first (a CORS preflight the dashboard never grants), so a web page
//! elsewhere cannot raise the anchor watch of a boat whose dashboard listens on loopback.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json as JsonBody;
use serde_json::{json, Value as Json};
use tokio::sync::mpsc;

use super::api::{with_store, Answer, ApiError};
use super::live::{Hub, Push};
use super::Web;
use crate::alarms::{history, Event, EventKind};
use crate::ingest::Input;

/// Episodes the Alarms page lists at most (the latest).
const HISTORY: usize = 200;

/// The active alarms and the anchor watch, as the pages see them.
#[derive(Debug)]
pub struct Board {
    active: BTreeMap<String, Json>,
    /// The anchor watch's state (`alarms::anchor::AnchorWatch::state`).
    pub anchor: Json,
}

impl Default for Board {
    fn default() -> Self {
        Board { active: BTreeMap::new(), anchor: json!({"state": "up"}) }
    }
}

fn severity_rank(v: &Json) -> u8 {
    match v["severity"].as_str() {
        Some("emergency") => 0,
        Some("alarm") => 1,
        _ => 2,
    }
}

impl Board {
    /// The active alarms, loudest first, then oldest first: `[{"name":…, "state":"active", …}]`.
    pub fn active(&self) -> Json {
        let mut list: Vec<&Json> = self.active.values().collect();
        list.sort_by(|a, b| (severity_rank(a), a["since"].as_str()).cmp(&(severity_rank(b), b["since"].as_str())));
        Json::Array(list.into_iter().cloned().collect())
    }
}

impl Hub {
    /// An alarm's event: the banner follows.
    pub fn alarm(&self, e: &Event) {
        let active = {
            let mut board = self.board.lock().unwrap_or_else(|e| e.into_inner());
            if let (EventKind::Acknowledged, Some(shown)) = (e.kind, board.active.get_mut(&e.alarm)) {
                // The banner keeps saying what is wrong; it is now known.
                shown["acknowledged"] = true.into();
            } else if e.active() {
                let mut state = e.state_json();
                state["name"] = e.alarm.clone().into();
                board.active.insert(e.alarm.clone(), state);
            } else {
                board.active.remove(&e.alarm);
            }
            board.active()
        };
        let _ = self.tx.send(Push { kind: "alarms", data: active.to_string().into() });
    }

    /// The anchor watch's new state: the map follows.
    pub fn anchor(&self, state: Json) {
        let data = state.to_string().into();
        self.board.lock().unwrap_or_else(|e| e.into_inner()).anchor = state;
        let _ = self.tx.send(Push { kind: "anchor", data });
    }
}

/// Where the dashboard's requests go: the pipeline's input, as MQTT messages under `root`.
#[derive(Debug, Clone)]
pub struct Requests {
    /// The pipeline's input.
    pub tx: mpsc::Sender<Input>,
    /// The topics' root (`halyard`).
    pub root: String,
}

impl Web {
    fn say(&self, topic: &str, payload: String) -> Result<(), ApiError> {
        let Some(r) = &self.requests else {
            return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "this dashboard cannot send requests"));
        };
        let input = Input::Mqtt {
            at: crate::ingest::now_ms(),
            topic: format!("{}/{topic}", r.root),
            payload: payload.into_bytes(),
        };
        r.tx.try_send(input)
            .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the pipeline is busy or stopped"))
    }
}

/// `GET /api/alarms`: the active alarms, the anchor watch, and the history (latest first).
pub async fn list(State(web): State<Arc<Web>>) -> Answer {
    let (active, anchor) = {
        let board = web.hub.board.lock().unwrap_or_else(|e| e.into_inner());
        (board.active(), board.anchor.clone())
    };
    let history = if web.store.is_some() {
        with_store(&web, |_, s| {
            let episodes = history::episodes(&s.alarm_events(i64::MIN)?);
            Ok(episodes.iter().rev().take(HISTORY).map(history::Episode::to_json).collect::<Vec<_>>())
        })
        .await?
    } else {
        Vec::new()
    };
    Ok(JsonBody(json!({ "active": active, "anchor": anchor, "history": history })))
}

/// `POST /api/alarms/{name}/ack` (a JSON body, `{}`): acknowledge an active alarm.
pub async fn acknowledge(
    State(web): State<Arc<Web>>,
    Path(name): Path<String>,
    JsonBody(_): JsonBody<Json>,
) -> Result<(StatusCode, JsonBody<Json>), ApiError> {
    let active = web.hub.board.lock().unwrap_or_else(|e| e.into_inner()).active.contains_key(&name);
    if !active {
        return Err(ApiError::new(StatusCode::NOT_FOUND, &format!("no active alarm `{name}`")));
    }
    web.say(&format!("alarm/{name}/ack"), "dashboard".into())?;
    Ok((StatusCode::ACCEPTED, JsonBody(json!({ "acknowledging": name }))))
}

/// `POST /api/anchor` with `{"action":"drop","radius":40}`, `{"action":"drop","rode":35}` or
/// `{"action":"up"}`: the anchor watch, as `halyard anchor` does it.
pub async fn anchor(
    State(web): State<Arc<Web>>,
    JsonBody(body): JsonBody<Json>,
) -> Result<(StatusCode, JsonBody<Json>), ApiError> {
    let payload = body.to_string();
    crate::alarms::anchor::Command::parse(&payload).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, &e))?;
    web.say("anchor/set", payload)?;
    Ok((StatusCode::ACCEPTED, JsonBody(json!({ "asked": body }))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarms::Severity;

    fn event(name: &str, kind: EventKind, severity: Severity, since: i64) -> Event {
        Event {
            alarm: name.into(),
            kind,
            at: since,
            since,
            severity,
            device: "nav".into(),
            metric: String::new(),
            value: None,
            message: format!("{name} {kind:?}"),
        }
    }

    #[test]
    fn the_banner_lists_active_alarms_loudest_first_and_pushes_each_change() {
        let hub = Hub::default();
        let mut rx = hub.tx.subscribe();
        hub.alarm(&event("bimini-silent", EventKind::Raised, Severity::Warn, 1_000));
        hub.alarm(&event("anchor-drag", EventKind::Raised, Severity::Emergency, 2_000));
        hub.alarm(&event("house-bank-low-soc", EventKind::Raised, Severity::Alarm, 500));
        let pushed = std::iter::from_fn(|| rx.try_recv().ok()).last().unwrap();
        assert_eq!(pushed.kind, "alarms");
        let list: Json = serde_json::from_str(&pushed.data).unwrap();
        let names: Vec<&str> = list.as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["anchor-drag", "house-bank-low-soc", "bimini-silent"]);
        hub.alarm(&event("anchor-drag", EventKind::Acknowledged, Severity::Emergency, 2_000));
        let shown = &hub.snapshot()["alarms"][0];
        assert_eq!((&shown["acknowledged"], &shown["message"]), (&json!(true), &json!("anchor-drag Raised")));
        hub.alarm(&event("anchor-drag", EventKind::Cleared, Severity::Emergency, 3_000));
        let names: Vec<String> = hub.snapshot()["alarms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["house-bank-low-soc", "bimini-silent"]);
        hub.anchor(json!({"state": "down", "radius": 40.0}));
        assert_eq!(hub.snapshot()["anchor"]["radius"], 40.0);
    }
}
