//! The JSON endpoints. Store reads run on the blocking pool, one at a time on the web's own
//! connection (SQLite in WAL mode lets them run beside the recorder's writes).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json as JsonBody;
use serde_json::{json, Map, Value as Json};

use super::{query_param, Web};
use crate::model::{Identity, Millis};
use crate::store::Backend;

const DAY: i64 = 86_400_000;

/// An error answer: a status and a sentence.
pub struct ApiError(StatusCode, String);

impl ApiError {
    /// `status`, saying `why`.
    pub fn new(status: StatusCode, why: &str) -> Self {
        ApiError(status, why.to_owned())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, JsonBody(json!({ "error": self.1 }))).into_response()
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        tracing::warn!("web: {e:#}");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}"))
    }
}

pub(super) type Answer = Result<JsonBody<Json>, ApiError>;

/// Run `f` with the store on the blocking pool.
pub(super) async fn with_store<T: Send + 'static>(
    web: &Arc<Web>,
    f: impl FnOnce(&Web, &mut dyn Backend) -> anyhow::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    if web.store.is_none() {
        return Err(ApiError(StatusCode::SERVICE_UNAVAILABLE, "history is off ([store] enabled = false)".into()));
    }
    let web = web.clone();
    tokio::task::spawn_blocking(move || {
        let store = web.store.as_ref().expect("checked above");
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        f(&web, store.as_mut())
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(ApiError::from)
}

/// `?date=YYYY-MM-DD` as a time inside that local day; today without one.
fn day_of(web: &Web, uri: &Uri) -> Result<i64, ApiError> {
    match query_param(uri.query(), "date") {
        Some(d) => crate::report::noon(&d).map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("{e:#}"))),
        None => Ok(web.hub.now()),
    }
}

/// `/api/status`: the clock, the time zone, the recorded days.
pub async fn status(State(web): State<Arc<Web>>) -> Answer {
    let now = web.hub.now();
    let days = if web.store.is_some() {
        with_store(&web, |w, s| {
            let cal = w.calendar();
            Ok(s.days()?.into_iter().map(|d| cal.date(d)).collect::<Vec<_>>())
        })
        .await?
    } else {
        Vec::new()
    };
    Ok(JsonBody(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "timezone": web.timezone,
        "now_ms": now,
        "today": web.calendar().date(now),
        "days": days,
        "store": web.store.is_some(),
        "tiles": web.tiles.as_ref().map(|(url, attribution)| json!({ "url": url, "attribution": attribution })),
    })))
}

/// `/api/day/solar?date=`.
pub async fn solar_day(State(web): State<Arc<Web>>, uri: Uri) -> Answer {
    let day = day_of(&web, &uri)?;
    Ok(JsonBody(with_store(&web, move |w, s| super::day::solar(&w.devices, s, &w.calendar(), day)).await?))
}

/// `/api/day/battery?date=`.
pub async fn battery_day(State(web): State<Arc<Web>>, uri: Uri) -> Answer {
    let day = day_of(&web, &uri)?;
    Ok(JsonBody(with_store(&web, move |w, s| super::day::battery(&w.devices, s, &w.calendar(), day)).await?))
}

/// `/api/history?days=N|all`: the season summary of the last N days (90 by default), each day
/// with its start (Unix seconds) for the charts.
pub async fn history(State(web): State<Arc<Web>>, uri: Uri) -> Answer {
    let now = web.hub.now();
    let days = query_param(uri.query(), "days").unwrap_or_else(|| "90".into());
    let span = match days.as_str() {
        "all" => None,
        n => Some(
            n.parse::<i64>()
                .ok()
                .filter(|n| (1..=3660).contains(n))
                .ok_or_else(|| ApiError(StatusCode::BAD_REQUEST, format!("days `{n}`: a number of days or `all`")))?,
        ),
    };
    let summary = with_store(&web, move |w, s| {
        let from = match span {
            Some(n) => now - (n - 1) * DAY,
            None => match crate::report::first_day(s) {
                Ok(t) => t,
                Err(_) => now,
            },
        };
        let cal = w.calendar();
        let mut j = crate::report::season::summary(&w.devices, s, &cal, from, now)?;
        for d in j["days"].as_array_mut().into_iter().flatten() {
            let start = d["date"].as_str().and_then(|t| crate::report::noon(t).ok()).map(|t| cal.day_start(t));
            d["t"] = json!(start.map(|t| t / 1000));
        }
        Ok(j)
    })
    .await?;
    Ok(JsonBody(summary))
}

/// `/api/report?date=`: the day's answers, and whether they are the ones kept when it ended.
pub async fn report(State(web): State<Arc<Web>>, uri: Uri) -> Answer {
    let day = day_of(&web, &uri)?;
    let now = web.hub.now();
    let (report, kept) =
        with_store(&web, move |w, s| crate::report::for_day(&w.devices, s, &w.calendar(), w.raw_days, now, day))
            .await?;
    Ok(JsonBody(json!({ "report": report, "kept": kept })))
}

/// `/api/devices`: every device (last seen, updates, frames, decode errors, key status), every
/// source's counters, and Bluetooth addresses heard but not decoded.
pub async fn devices(State(web): State<Arc<Web>>) -> Answer {
    let mut heard = web.telemetry.heard();
    let mut list = Vec::new();
    for (info, last_seen, updates) in web.hub.devices() {
        let mut frames = 0;
        let mut errors: BTreeMap<&str, u64> = BTreeMap::new();
        let mut last_result = None;
        let mut receivers: BTreeMap<String, crate::telemetry::Reception> = BTreeMap::new();
        for id in &info.identities {
            if let Some(h) = heard.remove(id) {
                for (name, r) in h.receivers {
                    receivers.entry(name).or_default().merge(&r);
                }
                frames += h.frames;
                for (k, n) in &h.errors {
                    *errors.entry(k).or_default() += n;
                }
                last_result = last_result.or(h.last);
            }
        }
        let key = if info.via.contains(&"instant_readout") || matches!(last_result, Some(Err(_))) {
            match last_result {
                Some(Err("key_mismatch")) => "mismatch",
                Some(Err("no_key")) => "missing",
                _ => "ok",
            }
        } else if info.via.contains(&"venetworking") {
            "network"
        } else {
            "none"
        };
        list.push(json!({
            "name": info.name,
            "kind": info.kind,
            "product": info.product,
            "role": info.role,
            "group": info.group,
            "via": info.via,
            "identities": info.identities.iter().filter(|i| !matches!(i, Identity::Derived(_))).map(ToString::to_string).collect::<Vec<_>>(),
            "last_seen": last_seen,
            "updates": updates,
            "frames": frames,
            "errors": errors,
            "key": key,
            "receivers": receivers
                .iter()
                .map(|(name, r)| json!({ "receiver": name, "adverts": r.adverts, "best_rssi": r.best_rssi }))
                .collect::<Vec<_>>(),
        }));
    }
    // What is left and failed was heard but never decoded: other boats' Victrons without a key.
    let unknown: Vec<Json> = heard
        .iter()
        .filter(|(_, h)| !h.errors.is_empty())
        .map(|(id, h)| json!({ "identity": id.to_string(), "frames": h.frames, "errors": h.errors }))
        .collect();
    let mut sources: BTreeMap<String, Map<String, Json>> = BTreeMap::new();
    let t = &web.telemetry;
    for (labels, v) in t.family("halyard_frames_total") {
        source(&mut sources, &labels).insert("frames".into(), json!(v));
    }
    for (labels, v) in t.family("halyard_source_up") {
        source(&mut sources, &labels).insert("up".into(), json!(v > 0.0));
    }
    for (labels, v) in t.family("halyard_source_reconnects_total") {
        source(&mut sources, &labels).insert("reconnects".into(), json!(v));
    }
    for (labels, v) in t.family("halyard_source_last_heard_timestamp_seconds") {
        source(&mut sources, &labels).insert("last_heard".into(), json!((v * 1000.0) as Millis));
    }
    for (labels, v) in t.family("halyard_ble_duplicates_total") {
        source(&mut sources, &labels).insert("duplicates".into(), json!(v));
    }
    // What could not be decoded, and why connections failed (a wrong key, a refused password).
    for family in ["halyard_decode_errors_total", "halyard_source_errors_total"] {
        for (labels, v) in t.family(family) {
            let kind = labels.iter().find(|(k, _)| k == "kind").map_or("other", |(_, v)| v.as_str()).to_owned();
            if let Some(errors) = source(&mut sources, &labels).get_mut("errors").and_then(Json::as_object_mut) {
                errors.insert(kind, json!(v));
            }
        }
    }
    Ok(JsonBody(json!({ "devices": list, "sources": sources.into_values().collect::<Vec<_>>(), "unknown": unknown })))
}

/// The row of a source (by its `source` label) in the sources table.
fn source<'a>(
    sources: &'a mut BTreeMap<String, Map<String, Json>>,
    labels: &[(String, String)],
) -> &'a mut Map<String, Json> {
    let name = labels.iter().find(|(k, _)| k == "source").map(|(_, v)| v.clone()).unwrap_or_default();
    sources.entry(name.clone()).or_insert_with(|| {
        let mut m = Map::new();
        m.insert("source".into(), name.into());
        m.insert("frames".into(), 0.into());
        m.insert("up".into(), Json::Null);
        m.insert("reconnects".into(), 0.into());
        m.insert("last_heard".into(), Json::Null);
        m.insert("duplicates".into(), 0.into());
        m.insert("errors".into(), json!({}));
        m
    })
}

/// `/api/nav?date=`: the day's navigation answers, the last hour's gusts and the places of the
/// whole store (for the map page).
pub async fn nav(State(web): State<Arc<Web>>, uri: Uri) -> Answer {
    let day = day_of(&web, &uri)?;
    let now = web.hub.now();
    let answer = with_store(&web, move |w, s| {
        let cal = w.calendar();
        let (start, end) = (cal.day_start(day), cal.next_day(cal.day_start(day)));
        let hour_end = now.min(end);
        let places = {
            let track = crate::nav::track(s, 0, i64::MAX)?;
            let stays = crate::nav::stays::stays(&track, crate::nav::stays::RADIUS_M, crate::nav::stays::MIN_STAY_MS);
            crate::nav::stays::places(&stays, crate::nav::stays::RADIUS_M)
        };
        Ok(json!({
            "date": cal.date(start),
            "day": crate::nav::answers(s, start, end)?,
            "last_hour": crate::nav::answers(s, hour_end - 3_600_000, hour_end)?,
            "places": places.iter().take(10).map(crate::nav::stays::Place::to_json).collect::<Vec<_>>(),
        }))
    })
    .await?;
    Ok(JsonBody(answer))
}

/// `/api/mesh?node=dinghy`: the Meshtastic answers (`mesh::answers::summary`): where that node
/// and everyone are from us, the max range and the reliable range; `{}` when no node was heard.
pub async fn mesh(State(web): State<Arc<Web>>, uri: Uri) -> Answer {
    let node = query_param(uri.query(), "node").unwrap_or_else(|| "dinghy".into());
    let answer = with_store(&web, move |_, s| {
        Ok(crate::mesh::answers::summary(s, &node, None, 1000.0)?.unwrap_or_else(|| json!({})))
    })
    .await?;
    Ok(JsonBody(answer))
}

/// `/api/export/kml` or `/gpx`, `?from=&to=` (dates; without them, everything).
pub async fn export(
    State(web): State<Arc<Web>>,
    axum::extract::Path(format): axum::extract::Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let content_type = match format.as_str() {
        "kml" => "application/vnd.google-earth.kml+xml",
        "gpx" => "application/gpx+xml",
        "csv" => "text/csv; charset=utf-8",
        other => return Err(ApiError(StatusCode::NOT_FOUND, format!("no export `{other}`: kml, gpx or csv"))),
    };
    let date = |name: &str| -> Result<Option<i64>, ApiError> {
        query_param(uri.query(), name)
            .map(|d| crate::report::noon(&d).map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("{e:#}"))))
            .transpose()
    };
    let (from, to) = (date("from")?, date("to")?);
    let list = |name: &str| {
        query_param(uri.query(), name).map(|v| v.split(',').map(str::to_owned).collect()).unwrap_or_default()
    };
    let table = if format == "csv" {
        let resolution = query_param(uri.query(), "resolution").unwrap_or_else(|| "1h".into());
        let resolution = crate::export::Resolution::parse(&resolution)
            .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("{e:#}")))?;
        // A page waits for its download in memory: raw readings a week at a time at most
        // (`halyard export csv` streams any span).
        let days = match (from, to) {
            (Some(f), Some(t)) => (t - f) / 86_400_000 + 1,
            _ => i64::MAX,
        };
        if resolution == crate::export::Resolution::Raw && days > 7 {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                "raw readings: at most 7 days with from and to (or `halyard export csv` on the boat)".into(),
            ));
        }
        Some(crate::export::Selection { resolution, devices: list("device"), metrics: list("metric") })
    } else {
        None
    };
    let day = query_param(uri.query(), "from")
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit() || b == b'-'));
    let filename = format!("halyard-{}.{format}", day.as_deref().unwrap_or("all"));
    let text = with_store(&web, move |w, s| {
        let cal = w.calendar();
        let from = from.map_or(0, |d| cal.day_start(d));
        let to = to.map_or(i64::MAX, |d| cal.next_day(cal.day_start(d)));
        match &table {
            Some(t) => t.csv(s, &cal, from, to),
            None => crate::nav::export::render(&format, s, &cal, from, to),
        }
    })
    .await?;
    let disposition = format!("attachment; filename=\"{filename}\"");
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        text,
    )
        .into_response())
}
