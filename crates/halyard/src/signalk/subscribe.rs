//! One WebSocket client's subscriptions, sans I/O: deltas and a clock in, messages out.
//!
//! The subscription protocol (SignalK/specification `mdbook/src/subscription_protocol.md`):
//! `{"context": "vessels.self", "subscribe": [{"path": "navigation.*", "period": 1000,
//! "policy": "ideal", "minPeriod": 200}]}` and `{"context": "*", "unsubscribe": [{"path": "*"}]}`.
//! Paths and contexts take `*` wildcards. Policies: `instant` sends each change as it comes,
//! no faster than `minPeriod`; `ideal` does the same and repeats the last value when nothing
//! changed for `period`; `fixed` sends the last value every `period`. A path's meta goes with
//! its first value on the connection; a new subscription first gets the values already known.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use super::hub::{timestamp, Delta};
use crate::model::Millis;

/// How often a subscription sends (the specification's `policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Each change as it comes.
    Instant,
    /// Each change, and the last value again after `period` without one.
    Ideal,
    /// The last value every `period`.
    Fixed,
}

/// One subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// Context pattern, `vessels.self` already resolved.
    pub context: String,
    /// Path pattern.
    pub path: String,
    /// Milliseconds (`period`, default 1000).
    pub period: u64,
    /// Milliseconds (`minPeriod`, default 0).
    pub min_period: u64,
    /// Policy (default instant).
    pub policy: Policy,
}

/// What a new connection subscribes to (`?subscribe=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initial {
    /// The vessel's own data (the default).
    SelfOnly,
    /// Every context.
    All,
    /// Nothing until asked.
    None,
}

impl Initial {
    /// From the `subscribe` query parameter.
    pub fn parse(text: Option<&str>) -> Result<Initial, String> {
        match text {
            None | Some("self") => Ok(Initial::SelfOnly),
            Some("all") => Ok(Initial::All),
            Some("none") => Ok(Initial::None),
            Some(other) => Err(format!("subscribe={other}: self, all or none")),
        }
    }
}

/// `*` matches any run of characters (dots too), as signalk-server reads patterns.
pub fn matches(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && p[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if i < p.len() && p[i] == t[j] {
            i += 1;
            j += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == b'*')
}

/// The last known value of one path in one context.
#[derive(Debug, Clone)]
struct Known {
    value: Json,
    source: String,
    at: Millis,
    /// When it was last sent (the connection's clock, ms), if ever.
    sent_at: Option<u64>,
    /// Changed since it was last sent.
    pending: bool,
}

/// One connection's state.
#[derive(Debug)]
pub struct Subscriber {
    self_context: Arc<str>,
    subs: Vec<Subscription>,
    known: BTreeMap<(Arc<str>, String), Known>,
    meta_sent: HashSet<(Arc<str>, String)>,
    meta: BTreeMap<(Arc<str>, String), Json>,
}

impl Subscriber {
    /// A connection of the vessel `self_context` with its initial subscription.
    pub fn new(self_context: Arc<str>, initial: Initial) -> Self {
        let context = match initial {
            Initial::SelfOnly => Some(self_context.to_string()),
            Initial::All => Some("*".into()),
            Initial::None => None,
        };
        let subs = context
            .map(|context| Subscription {
                context,
                path: "*".into(),
                period: 1000,
                min_period: 0,
                policy: Policy::Instant,
            })
            .into_iter()
            .collect();
        Subscriber { self_context, subs, known: BTreeMap::new(), meta_sent: HashSet::new(), meta: BTreeMap::new() }
    }

    fn resolve(&self, context: &str) -> String {
        match context {
            "vessels.self" | "self" => self.self_context.to_string(),
            c => c.to_owned(),
        }
    }

    /// A client's message: subscribe or unsubscribe. Returns whether subscriptions were added
    /// (the caller then sends the values already known).
    pub fn message(&mut self, text: &str) -> Result<bool, String> {
        let msg: Json = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let context = self.resolve(msg["context"].as_str().unwrap_or("vessels.self"));
        if let Some(list) = msg.get("unsubscribe").and_then(Json::as_array) {
            for u in list {
                let path = u["path"].as_str().ok_or("unsubscribe: each entry needs a path")?;
                if context == "*" && path == "*" {
                    self.subs.clear();
                } else {
                    self.subs.retain(|s| !(s.context == context && s.path == path));
                }
            }
            return Ok(false);
        }
        let Some(list) = msg.get("subscribe").and_then(Json::as_array) else {
            return Err("neither subscribe nor unsubscribe".into());
        };
        for s in list {
            let path = s["path"].as_str().ok_or("subscribe: each entry needs a path")?.to_owned();
            let policy = match s["policy"].as_str() {
                None | Some("instant") => Policy::Instant,
                Some("ideal") => Policy::Ideal,
                Some("fixed") => Policy::Fixed,
                Some(p) => return Err(format!("policy `{p}`: instant, ideal or fixed")),
            };
            if s.get("format").and_then(Json::as_str).is_some_and(|f| f != "delta") {
                return Err("format: only delta".into());
            }
            let ms = |k: &str, default: u64| s.get(k).and_then(Json::as_u64).unwrap_or(default);
            let sub = Subscription {
                context: context.clone(),
                path,
                period: ms("period", 1000).max(1),
                min_period: ms("minPeriod", 0),
                policy,
            };
            self.subs.retain(|s| !(s.context == sub.context && s.path == sub.path));
            self.subs.push(sub);
        }
        Ok(true)
    }

    fn subscription(&self, context: &str, path: &str) -> Option<&Subscription> {
        self.subs.iter().find(|s| matches(&s.context, context) && matches(&s.path, path))
    }

    /// The values already known (from the hub) that a new subscription covers, sent now.
    pub fn prime(&mut self, current: &[Delta], now: u64) -> Vec<Json> {
        for d in current {
            for (p, m) in &d.meta {
                self.meta.entry((d.context.clone(), p.clone())).or_insert_with(|| m.clone());
            }
            for (path, value) in &d.values {
                if self.subscription(&d.context, path).is_some() {
                    let k = self.known.entry((d.context.clone(), path.clone())).or_insert_with(|| Known {
                        value: value.clone(),
                        source: d.source.clone(),
                        at: d.at,
                        sent_at: None,
                        pending: true,
                    });
                    k.pending |= k.sent_at.is_none();
                }
            }
        }
        self.due(now, true)
    }

    /// A delta from the hub: what to send now.
    pub fn delta(&mut self, d: &Delta, now: u64) -> Vec<Json> {
        for (p, m) in &d.meta {
            self.meta.entry((d.context.clone(), p.clone())).or_insert_with(|| m.clone());
        }
        let mut send = Vec::new();
        for (path, value) in &d.values {
            let Some(sub) = self.subscription(&d.context, path) else { continue };
            let (policy, min_period) = (sub.policy, sub.min_period);
            let key = (d.context.clone(), path.clone());
            let k = self.known.entry(key.clone()).or_insert_with(|| Known {
                value: Json::Null,
                source: String::new(),
                at: 0,
                sent_at: None,
                pending: false,
            });
            k.value = value.clone();
            k.source.clone_from(&d.source);
            k.at = d.at;
            let soon_enough = k.sent_at.is_none_or(|t| now.saturating_sub(t) >= min_period);
            if policy != Policy::Fixed && soon_enough {
                k.sent_at = Some(now);
                k.pending = false;
                send.push(key);
            } else {
                k.pending = true;
            }
        }
        self.messages(send)
    }

    /// The clock moved: what the policies send now (call every 100 ms or so).
    pub fn tick(&mut self, now: u64) -> Vec<Json> {
        self.due(now, false)
    }

    fn due(&mut self, now: u64, priming: bool) -> Vec<Json> {
        let mut send = Vec::new();
        for (key, k) in &self.known {
            let Some(sub) = self.subscription(&key.0, &key.1) else { continue };
            let since = k.sent_at.map(|t| now.saturating_sub(t));
            let due = match (priming, sub.policy) {
                (true, _) => k.sent_at.is_none(),
                (false, Policy::Instant) => k.pending && since.is_none_or(|s| s >= sub.min_period),
                (false, Policy::Ideal) => {
                    (k.pending && since.is_none_or(|s| s >= sub.min_period)) || since.is_none_or(|s| s >= sub.period)
                }
                (false, Policy::Fixed) => since.is_none_or(|s| s >= sub.period),
            };
            if due {
                send.push(key.clone());
            }
        }
        for key in &send {
            if let Some(k) = self.known.get_mut(key) {
                k.sent_at = Some(now);
                k.pending = false;
            }
        }
        self.messages(send)
    }

    /// Deltas for these keys: one per context, source and time.
    fn messages(&mut self, keys: Vec<(Arc<str>, String)>) -> Vec<Json> {
        // (context, source, time) → (values, meta).
        type Group = (Vec<Json>, Vec<Json>);
        let mut groups: BTreeMap<(Arc<str>, String, Millis), Group> = BTreeMap::new();
        for key in keys {
            let Some(k) = self.known.get(&key) else { continue };
            let g = groups.entry((key.0.clone(), k.source.clone(), k.at)).or_default();
            g.0.push(json!({ "path": key.1, "value": k.value }));
            if let Some(m) = self.meta.get(&key) {
                if self.meta_sent.insert(key.clone()) {
                    g.1.push(json!({ "path": key.1, "value": m }));
                }
            }
        }
        groups
            .into_iter()
            .map(|((context, source, at), (values, meta))| {
                let mut update = Map::new();
                update.insert("$source".into(), source.into());
                update.insert("timestamp".into(), timestamp(at).into());
                update.insert("values".into(), values.into());
                if !meta.is_empty() {
                    update.insert("meta".into(), meta.into());
                }
                json!({ "context": &*context, "updates": [Json::Object(update)] })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SELF: &str = "vessels.urn:mrn:imo:mmsi:230099999";

    fn delta(context: &str, path: &str, v: f64, at: Millis) -> Delta {
        Delta {
            context: context.into(),
            source: "halyard.test".into(),
            at,
            values: vec![(path.into(), v.into())],
            meta: vec![(path.into(), json!({ "description": "x", "units": "V" }))],
        }
    }

    fn values(out: &[Json]) -> Vec<f64> {
        of(out, "")
    }

    /// The values sent of paths starting with `prefix`.
    fn of(out: &[Json], prefix: &str) -> Vec<f64> {
        out.iter()
            .flat_map(|m| m["updates"][0]["values"].as_array().unwrap().iter())
            .filter(|v| v["path"].as_str().unwrap().starts_with(prefix))
            .map(|v| v["value"].as_f64().unwrap())
            .collect()
    }

    #[test]
    fn wildcards() {
        assert!(matches("*", "electrical.batteries.houseBank.voltage"));
        assert!(matches("electrical.batteries.*.voltage", "electrical.batteries.houseBank.voltage"));
        assert!(!matches("electrical.batteries.*.voltage", "electrical.batteries.houseBank.current"));
        assert!(matches("navigation.*", "navigation.position"));
        assert!(!matches("navigation.*", "environment.wind.speedApparent"));
        assert!(matches("navigation.position", "navigation.position"));
        assert!(!matches("navigation.position", "navigation.positionX"));
        assert!(matches("vessels.*", SELF));
    }

    #[test]
    fn the_default_is_self_instantly_with_meta_once() {
        let mut s = Subscriber::new(SELF.into(), Initial::SelfOnly);
        let out = s.delta(&delta(SELF, "electrical.batteries.houseBank.voltage", 13.3, 0), 0);
        assert_eq!(values(&out), [13.3]);
        assert_eq!(out[0]["updates"][0]["meta"][0]["value"]["units"], "V");
        let out = s.delta(&delta(SELF, "electrical.batteries.houseBank.voltage", 13.2, 0), 5);
        assert_eq!(values(&out), [13.2]);
        assert!(out[0]["updates"][0].get("meta").is_none());
        assert!(
            s.delta(&delta("vessels.urn:mrn:imo:mmsi:230000001", "navigation.position", 1.0, 0), 6).is_empty(),
            "others need subscribe=all"
        );
        assert!(s.tick(10_000).is_empty(), "instant never repeats");
    }

    #[test]
    fn policies_and_periods() {
        let mut s = Subscriber::new(SELF.into(), Initial::None);
        let sub = r#"{"context":"vessels.self","subscribe":[
            {"path":"navigation.*","policy":"fixed","period":1000},
            {"path":"environment.wind.*","policy":"ideal","period":2000,"minPeriod":500},
            {"path":"electrical.*","minPeriod":200}]}"#;
        assert_eq!(s.message(sub), Ok(true));
        // Fixed: nothing on change, the last value each period.
        assert!(s.delta(&delta(SELF, "navigation.speedOverGround", 1.0, 0), 0).is_empty());
        assert!(s.delta(&delta(SELF, "navigation.speedOverGround", 2.0, 0), 300).is_empty());
        assert_eq!(values(&s.tick(400)), [2.0], "never sent: due at once");
        assert!(s.tick(1_000).is_empty());
        assert_eq!(values(&s.tick(1_400)), [2.0], "again a period later, unchanged");
        // Ideal: each change (no faster than minPeriod), and a repeat after period.
        assert_eq!(values(&s.delta(&delta(SELF, "environment.wind.speedApparent", 5.0, 0), 2_000)), [5.0]);
        assert!(s.delta(&delta(SELF, "environment.wind.speedApparent", 6.0, 0), 2_100).is_empty(), "minPeriod");
        let out = s.tick(2_500);
        assert_eq!((of(&out, "environment"), of(&out, "navigation")), (vec![6.0], vec![2.0]), "fixed: 1.1 s since");
        assert!(of(&s.tick(4_400), "environment").is_empty());
        assert_eq!(of(&s.tick(4_500), "environment"), [6.0], "repeated after 2 s of quiet");
        // Instant with minPeriod: the last of a burst goes once the minimum has passed.
        assert_eq!(values(&s.delta(&delta(SELF, "electrical.batteries.b.voltage", 12.0, 0), 5_000)), [12.0]);
        assert!(s.delta(&delta(SELF, "electrical.batteries.b.voltage", 12.1, 0), 5_050).is_empty());
        assert!(s.delta(&delta(SELF, "electrical.batteries.b.voltage", 12.2, 0), 5_100).is_empty());
        assert_eq!(of(&s.tick(5_200), "electrical"), [12.2]);
        assert!(of(&s.tick(9_000), "electrical").is_empty(), "instant never repeats");
        // Unsubscribe everything.
        assert_eq!(s.message(r#"{"context":"*","unsubscribe":[{"path":"*"}]}"#), Ok(false));
        assert!(s.delta(&delta(SELF, "electrical.batteries.b.voltage", 13.0, 0), 10_000).is_empty());
        assert!(s.tick(20_000).is_empty());
        assert!(s.message(r#"{"subscribe":[{"path":"x","policy":"sometimes"}]}"#).is_err());
        assert!(s.message("hello").is_err());
    }

    #[test]
    fn a_new_subscription_gets_what_is_known() {
        let mut s = Subscriber::new(SELF.into(), Initial::None);
        s.message(r#"{"context":"vessels.self","subscribe":[{"path":"electrical.batteries.*"}]}"#).unwrap();
        let current =
            [delta(SELF, "electrical.batteries.b.voltage", 12.5, 7), delta(SELF, "navigation.position", 0.0, 7)];
        let out = s.prime(&current, 0);
        assert_eq!(values(&out), [12.5]);
        assert_eq!(out[0]["updates"][0]["meta"][0]["path"], "electrical.batteries.b.voltage");
        assert!(s.prime(&current, 1).is_empty(), "sent once");
    }
}
