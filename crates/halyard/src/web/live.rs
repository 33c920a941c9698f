//! Live values for the dashboard: the hub keeps every device's current values (from the model's
//! changes) and pushes what changed to every open page as server-sent events, gathered every
//! quarter of a second so a boat that talks a thousand times a second costs the browser four
//! messages. A page that falls behind gets a fresh snapshot instead of a backlog.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use serde_json::{json, Map, Value as Json};
use tokio::sync::{broadcast, mpsc};

use crate::model::{Change, Current, DeviceInfo, Millis};

/// How often changes are pushed.
const PUSH_EVERY: Duration = Duration::from_millis(250);

/// What a page knows about one device.
#[derive(Debug, Clone)]
struct View {
    info: Arc<DeviceInfo>,
    values: BTreeMap<String, Current>,
    last_seen: Millis,
    updates: u64,
}

/// One server-sent event for every open page: its type (`changes`, `alarms`, `anchor`) and data.
#[derive(Debug, Clone)]
pub(super) struct Push {
    pub(super) kind: &'static str,
    pub(super) data: Arc<str>,
}

/// The live table and its subscribers.
#[derive(Debug)]
pub struct Hub {
    devices: Mutex<BTreeMap<String, View>>,
    pending: Mutex<Vec<Json>>,
    pub(super) tx: broadcast::Sender<Push>,
    now: AtomicI64,
    /// The active alarms and the anchor watch (`web::alarms`).
    pub(super) board: Mutex<super::alarms::Board>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            devices: Mutex::new(BTreeMap::new()),
            pending: Mutex::new(Vec::new()),
            tx: broadcast::channel(64).0,
            now: AtomicI64::new(0),
            board: Mutex::new(super::alarms::Board::default()),
        }
    }
}

fn value_json(c: &Current) -> Json {
    json!({ "v": c.value.as_ref().map(|v| v.to_json()), "unit": c.unit, "at": c.at })
}

fn info_json(info: &DeviceInfo) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("name".into(), info.name.clone().into());
    m.insert("kind".into(), info.kind.clone().into());
    m.insert("product".into(), json!(info.product));
    m.insert("role".into(), json!(info.role));
    m.insert("group".into(), json!(info.group));
    m.insert("via".into(), json!(info.via));
    m
}

impl Hub {
    /// Take in one change of the model.
    pub fn apply(&self, change: &Change) {
        let mut devices = self.devices.lock().unwrap_or_else(|e| e.into_inner());
        let view = devices.entry(change.device.name.clone()).or_insert_with(|| View {
            info: change.device.clone(),
            values: BTreeMap::new(),
            last_seen: 0,
            updates: 0,
        });
        view.info = change.device.clone();
        view.last_seen = view.last_seen.max(change.at);
        view.updates += 1;
        let mut values = Map::new();
        for m in &change.changed {
            if let Some(c) = change.state.get(m.name.as_ref()) {
                view.values.insert(m.name.to_string(), c.clone());
                values.insert(m.name.to_string(), value_json(c));
            }
        }
        if values.is_empty() && !change.device_changed {
            return;
        }
        let mut event = Map::new();
        event.insert("device".into(), change.device.name.clone().into());
        event.insert("at".into(), change.at.into());
        event.insert("values".into(), Json::Object(values));
        if change.device_changed {
            event.insert("info".into(), Json::Object(info_json(&change.device)));
        }
        self.now.fetch_max(change.at, Ordering::Relaxed);
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).push(Json::Object(event));
    }

    /// Every device with its values, as the first event of a page.
    pub fn snapshot(&self) -> Json {
        let devices = self.devices.lock().unwrap_or_else(|e| e.into_inner());
        let list: Vec<Json> = devices
            .values()
            .map(|v| {
                let mut m = info_json(&v.info);
                m.insert("last_seen".into(), v.last_seen.into());
                m.insert("values".into(), v.values.iter().map(|(k, c)| (k.clone(), value_json(c))).collect());
                Json::Object(m)
            })
            .collect();
        let board = self.board.lock().unwrap_or_else(|e| e.into_inner());
        json!({ "devices": list, "alarms": board.active(), "anchor": board.anchor })
    }

    /// Every device's description, last time heard and number of updates (the devices page).
    pub fn devices(&self) -> Vec<(Arc<DeviceInfo>, Millis, u64)> {
        let devices = self.devices.lock().unwrap_or_else(|e| e.into_inner());
        devices.values().map(|v| (v.info.clone(), v.last_seen, v.updates)).collect()
    }

    /// The latest time the pipeline has seen (the simulated clock in the demo).
    pub fn now(&self) -> Millis {
        self.now.load(Ordering::Relaxed).max(crate::ingest::now_ms())
    }

    fn flush(&self) {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if !pending.is_empty() {
            let _ = self.tx.send(Push { kind: "changes", data: Json::Array(pending).to_string().into() });
        }
    }

    /// Follow the model's changes until the pipeline stops.
    pub async fn run(self: Arc<Self>, mut rx: mpsc::Receiver<Arc<Change>>) {
        let mut push = tokio::time::interval(PUSH_EVERY);
        push.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                c = rx.recv() => match c {
                    Some(c) => self.apply(&c),
                    None => break,
                },
                _ = push.tick() => self.flush(),
            }
        }
        self.flush();
    }
}

/// `/api/live`: a snapshot, then batches of changes, the alarms and the anchor watch when they
/// change, and a clock tick every second.
pub async fn events(
    State(web): State<Arc<super::Web>>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let hub = web.hub.clone();
    let rx = hub.tx.subscribe();
    let first = Event::default().event("snapshot").data(hub.snapshot().to_string());
    let tick = tokio::time::interval(Duration::from_secs(1));
    let stream = futures_util::stream::unfold(
        (hub, rx, tick, Some(first)),
        |(hub, mut rx, mut tick, first)| async move {
            if let Some(e) = first {
                return Some((Ok(e), (hub, rx, tick, None)));
            }
            let event = tokio::select! {
                m = rx.recv() => match m {
                    Ok(p) => Event::default().event(p.kind).data(&*p.data),
                    // Too slow to follow: start again from the current state.
                    Err(broadcast::error::RecvError::Lagged(_)) => Event::default().event("snapshot").data(hub.snapshot().to_string()),
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = tick.tick() => Event::default().event("tick").data(json!({ "now_ms": hub.now() }).to_string()),
            };
            Some((Ok(event), (hub, rx, tick, None)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Identity, Metric, Reading};

    fn change(at: Millis, watts: f64) -> Change {
        let info = DeviceInfo {
            name: "bimini".into(),
            role: Some("solar".into()),
            group: None,
            kind: "solar_charger".into(),
            product: None,
            identities: vec![Identity::Serial("HQ1".into())],
            via: vec!["vedirect"],
            configured: true,
        };
        let mut state = BTreeMap::new();
        state.insert("panel_power".to_owned(), Current::new("W", Some(Reading::Number(watts)), at));
        Change {
            at,
            device: Arc::new(info),
            device_changed: at == 0,
            changed: vec![Metric::number("panel_power", "W", watts)],
            new_metrics: Vec::new(),
            raw: Vec::new(),
            state: state.into(),
        }
    }

    #[test]
    fn changes_are_gathered_into_one_push_and_kept_in_the_snapshot() {
        let hub = Hub::default();
        let mut rx = hub.tx.subscribe();
        hub.apply(&change(0, 100.0));
        hub.apply(&change(1_000, 120.0));
        hub.flush();
        let pushed = rx.try_recv().unwrap();
        assert_eq!(pushed.kind, "changes");
        let pushed: Json = serde_json::from_str(&pushed.data).unwrap();
        assert_eq!(pushed.as_array().unwrap().len(), 2);
        assert_eq!(pushed[0]["info"]["role"], "solar", "the first change describes the device");
        assert!(pushed[1].get("info").is_none());
        assert_eq!(pushed[1]["values"]["panel_power"]["v"], 120.0);
        hub.flush();
        assert!(rx.try_recv().is_err(), "nothing new, nothing pushed");
        let snap = hub.snapshot();
        assert_eq!(snap["devices"][0]["values"]["panel_power"]["v"], 120.0);
        assert_eq!(snap["devices"][0]["last_seen"], 1_000);
        assert_eq!(hub.devices()[0].2, 2);
    }
}
