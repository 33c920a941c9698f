//! Notifications (issue 20): alarms pushed to where the owner is — ntfy (a phone app; the
//! server can be self-hosted), a webhook (JSON POST: Home Assistant, Node-RED), e-mail, and a
//! Meshtastic text to the crew's handhelds. Each is opt-in (`[notify.<name>]`, named by the
//! alarms' `notify`), rate-limited, and runs in a task of its own behind a small queue: a
//! notifier that is down retries with backoff, is logged and counted, and never delays another
//! notifier or the pipeline.
//!
//! ```toml
//! [notify.phone]
//! kind = "ntfy"
//! url = "https://ntfy.sh/a-long-unguessable-topic"
//!
//! [notify.crew]
//! kind = "meshtastic"   # the configured [[meshtastic]] radio sends the text
//! channel = 1           # a private channel (or node = "!a1b2c3d4" for one handheld)
//! ```

pub mod cli;
pub mod email;
pub mod message;
pub mod radio;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::mpsc;

pub use message::Message;

use crate::alarms::{Event, EventKind, Severity};
use crate::burst::BurstLog;
use crate::config::Secret;
use crate::telemetry::Telemetry;

use crate::http_client as http;
pub use crate::http_client::Failure;

/// What kind of notifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// ntfy: a POST of the text to `url` (server and topic).
    Ntfy,
    /// A JSON POST of the event to `url`.
    Webhook,
    /// E-mail over SMTP.
    Email,
    /// A text on the mesh through the configured radio.
    Meshtastic,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Ntfy => "ntfy",
            Kind::Webhook => "webhook",
            Kind::Email => "email",
            Kind::Meshtastic => "meshtastic",
        })
    }
}

/// `[notify.<name>]` as written. Which keys a kind takes is checked by [`Delivery::new`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifierSettings {
    /// `ntfy`, `webhook`, `email` or `meshtastic`.
    pub kind: Kind,
    /// ntfy: `https://ntfy.sh/<topic>` (or your server's); webhook: where to POST. A secret:
    /// an ntfy topic is readable by whoever knows it.
    pub url: Option<Secret>,
    /// ntfy's access token or a webhook's bearer token (`Authorization: Bearer …`).
    pub token: Option<Secret>,
    /// E-mail: the server, `host[:port]` (port 587, 465 or 25 by `security`).
    pub smtp: Option<String>,
    /// E-mail: `starttls` (default), `tls` or `none`.
    pub security: Option<email::Security>,
    /// E-mail: the login.
    pub username: Option<String>,
    /// E-mail: the password.
    pub password: Option<Secret>,
    /// E-mail: the sender, `Halyard <boat@example.org>`.
    pub from: Option<String>,
    /// E-mail: the recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// Meshtastic: which `[[meshtastic]] source` sends (needed only when there are several).
    pub radio: Option<String>,
    /// Meshtastic: the channel index (0–7) to send on.
    pub channel: Option<u32>,
    /// Meshtastic: one node (`!a1b2c3d4`) instead of the whole channel.
    pub node: Option<String>,
    /// Events below this severity are not sent (default `warn`: everything).
    pub min_severity: Option<Severity>,
    /// At most this many messages an hour (default 20); beyond, they are dropped and counted.
    pub max_per_hour: Option<u32>,
    /// Also say when an alarm clears (default true).
    pub cleared: Option<bool>,
}

/// How long a message is retried, in all: then it is dropped and counted.
const RETRY_FOR: Duration = Duration::from_secs(10 * 60);
/// Messages waiting per notifier; beyond, new ones are dropped (and counted).
const QUEUE: usize = 32;
const MAX_PER_HOUR: u32 = 20;

/// How a notifier delivers.
pub enum Delivery {
    /// ntfy.
    Ntfy {
        /// Server and topic.
        target: http::Target,
        /// Access token.
        token: Option<Secret>,
    },
    /// A webhook.
    Webhook {
        /// Where.
        target: http::Target,
        /// Bearer token.
        token: Option<Secret>,
    },
    /// E-mail.
    Email(Box<email::Mailer>),
    /// Meshtastic.
    Radio {
        /// Node or channel.
        dest: radio::Destination,
        /// The daemon's connection, or the radio's address for a connection of our own.
        via: RadioLink,
    },
}

/// How a Meshtastic notifier reaches its radio.
pub enum RadioLink {
    /// Through the daemon's connection.
    Daemon(mpsc::Sender<radio::Outgoing>),
    /// Its own connection (`halyard notify test`, and `run --check`).
    Direct(crate::sources::mesh::Spec),
}

impl Delivery {
    /// Check a notifier's settings and make its delivery. `radios` are the configured
    /// `[[meshtastic]]` sources with, in the daemon, their connections.
    pub fn new(
        s: &NotifierSettings,
        radios: &[(crate::sources::mesh::Spec, Option<mpsc::Sender<radio::Outgoing>>)],
    ) -> Result<Delivery, String> {
        let takes: &[&str] = match s.kind {
            Kind::Ntfy | Kind::Webhook => &["url", "token"],
            Kind::Email => &["smtp", "security", "username", "password", "from", "to"],
            Kind::Meshtastic => &["radio", "channel", "node"],
        };
        let given = [
            ("url", s.url.is_some()),
            ("token", s.token.is_some()),
            ("smtp", s.smtp.is_some()),
            ("security", s.security.is_some()),
            ("username", s.username.is_some()),
            ("password", s.password.is_some()),
            ("from", s.from.is_some()),
            ("to", !s.to.is_empty()),
            ("radio", s.radio.is_some()),
            ("channel", s.channel.is_some()),
            ("node", s.node.is_some()),
        ];
        if let Some((key, _)) = given.iter().find(|(k, set)| *set && !takes.contains(k)) {
            return Err(format!("`{key}` is not a {} setting (it takes {})", s.kind, takes.join(", ")));
        }
        if s.max_per_hour == Some(0) {
            return Err("max_per_hour = 0 would send nothing; remove the notifier instead".into());
        }
        Ok(match s.kind {
            Kind::Ntfy | Kind::Webhook => {
                let url = s.url.as_ref().ok_or("needs `url`")?;
                let target = http::Target::parse(&url.0).map_err(|e| format!("url: {e}"))?;
                #[cfg(not(feature = "tls"))]
                if target.tls {
                    return Err(
                        "an https:// url needs Halyard built with `--features tls` (the Debian package is)".into()
                    );
                }
                if s.kind == Kind::Ntfy && target.path.trim_matches('/').is_empty() {
                    return Err("url: ntfy needs the topic in the URL (`https://ntfy.sh/<topic>`)".into());
                }
                let token = s.token.clone();
                match s.kind {
                    Kind::Ntfy => Delivery::Ntfy { target, token },
                    _ => Delivery::Webhook { target, token },
                }
            }
            Kind::Email => {
                let smtp = s.smtp.as_deref().ok_or("needs `smtp` (host[:port])")?;
                let from = s.from.as_deref().ok_or("needs `from`")?;
                let login = match (&s.username, &s.password) {
                    (Some(u), Some(p)) => Some((u.as_str(), p.0.as_str())),
                    (None, None) => None,
                    _ => return Err("`username` and `password` go together".into()),
                };
                Delivery::Email(Box::new(email::Mailer::new(smtp, s.security.unwrap_or_default(), login, from, &s.to)?))
            }
            Kind::Meshtastic => {
                // No default destination: the primary channel of a radio fresh from the box is
                // the public LongFast one, and an alarm there tells every stranger the boat is
                // unattended.
                let to = match &s.node {
                    Some(n) => crate::mesh::parse_node_id(n)
                        .or_else(|| n.parse().ok())
                        .ok_or_else(|| format!("node `{n}`: a node id such as !a1b2c3d4"))?,
                    None => radio::BROADCAST,
                };
                if s.node.is_none() && s.channel.is_none() {
                    return Err("say where: `channel = N` (a private channel's index) or `node = \"!a1b2c3d4\"`".into());
                }
                let channel = s.channel.unwrap_or(0);
                if channel > 7 {
                    return Err(format!("channel {channel}: a radio has channels 0 to 7"));
                }
                let (spec, link) = match &s.radio {
                    Some(r) => radios
                        .iter()
                        .find(|(spec, _)| crate::sources::mesh::Spec::parse(r).is_ok_and(|p| &p == spec))
                        .ok_or_else(|| format!("radio `{r}` is not a [[meshtastic]] source"))?,
                    None => match radios {
                        [one] => one,
                        [] => {
                            return Err(
                                "a Meshtastic notifier sends through a [[meshtastic]] radio; none is configured".into(),
                            )
                        }
                        _ => {
                            return Err(
                                "several [[meshtastic]] radios: say which with `radio = \"<its source>\"`".into()
                            )
                        }
                    },
                };
                let via = match link {
                    Some(tx) => RadioLink::Daemon(tx.clone()),
                    None => RadioLink::Direct(spec.clone()),
                };
                Delivery::Radio { dest: radio::Destination { to, channel }, via }
            }
        })
    }

    /// Where it goes, for logs: never a topic, token or password.
    pub fn describe(&self) -> String {
        match self {
            Delivery::Ntfy { target, .. } => format!("ntfy on {}", target.server()),
            Delivery::Webhook { target, .. } => format!("webhook on {}", target.server()),
            Delivery::Email(m) => format!("e-mail through {}", m.server()),
            Delivery::Radio { dest, .. } if dest.to == radio::BROADCAST => {
                format!("Meshtastic channel {}", dest.channel)
            }
            Delivery::Radio { dest, .. } => format!("Meshtastic node {}", crate::mesh::node_id(dest.to)),
        }
    }

    /// One attempt, given at most [`http::TIMEOUT`]: a server that stops answering half-way
    /// (an SMTP dialogue stuck after a refused login) must not hold the notifier.
    pub async fn send(&self, m: &Message) -> Result<(), Failure> {
        match tokio::time::timeout(http::TIMEOUT, self.attempt(m)).await {
            Ok(r) => r,
            Err(_) => Err(Failure::Retry(format!("no answer within {} s", http::TIMEOUT.as_secs()))),
        }
    }

    async fn attempt(&self, m: &Message) -> Result<(), Failure> {
        let bearer = |t: &Option<Secret>| t.as_ref().map(|t| ("authorization", format!("Bearer {}", t.0)));
        match self {
            Delivery::Ntfy { target, token } => {
                let mut headers = vec![
                    ("title", m.title.clone()),
                    ("priority", m.ntfy_priority().to_string()),
                    ("tags", m.ntfy_tags().into()),
                ];
                headers.extend(bearer(token));
                headers.push(("content-type", "text/plain; charset=utf-8".into()));
                http::post(target, &headers, m.body.clone().into_bytes()).await
            }
            Delivery::Webhook { target, token } => {
                let mut headers = vec![("content-type", "application/json".to_owned())];
                headers.extend(bearer(token));
                http::post(target, &headers, serde_json::to_vec(&m.json).unwrap_or_default()).await
            }
            Delivery::Email(mailer) => mailer.send(m).await,
            Delivery::Radio { dest, via } => {
                let packet = radio::text_packet(&m.radio_text(), *dest, radio::packet_id());
                match via {
                    RadioLink::Daemon(tx) => radio::through(tx, &packet).await,
                    RadioLink::Direct(spec) => radio::direct(spec, &packet).await,
                }
            }
        }
    }
}

/// The running notifiers of a daemon.
pub struct Notifiers {
    queues: BTreeMap<String, Queue>,
    telemetry: Arc<Telemetry>,
}

struct Queue {
    tx: mpsc::Sender<Message>,
    min_severity: Severity,
    cleared: bool,
}

impl Notifiers {
    /// None configured.
    pub fn none(telemetry: Arc<Telemetry>) -> Notifiers {
        Notifiers { queues: BTreeMap::new(), telemetry }
    }

    /// Start one task per notifier (inside a Tokio runtime).
    pub fn start(
        settings: &BTreeMap<String, NotifierSettings>,
        radios: &[(crate::sources::mesh::Spec, Option<mpsc::Sender<radio::Outgoing>>)],
        telemetry: Arc<Telemetry>,
    ) -> anyhow::Result<Notifiers> {
        let mut queues = BTreeMap::new();
        for (name, s) in settings {
            let delivery = Delivery::new(s, radios).map_err(|e| anyhow::anyhow!("[notify.{name}]: {e}"))?;
            tracing::info!("notify {name}: {}", delivery.describe());
            let (tx, rx) = mpsc::channel(QUEUE);
            let per_hour = s.max_per_hour.unwrap_or(MAX_PER_HOUR);
            tokio::spawn(worker(name.clone(), delivery, rx, per_hour, telemetry.clone()));
            let queue = Queue {
                tx,
                min_severity: s.min_severity.unwrap_or(Severity::Warn),
                cleared: s.cleared.unwrap_or(true),
            };
            queues.insert(name.clone(), queue);
        }
        Ok(Notifiers { queues, telemetry })
    }

    /// Queue an alarm event for the named notifiers; never waits.
    pub fn notify(&self, e: &Event, names: &[String]) {
        let mut message = None;
        for name in names {
            let Some(q) = self.queues.get(name) else { continue };
            let wanted = match e.kind {
                EventKind::Raised | EventKind::Repeated => e.severity >= q.min_severity,
                EventKind::Cleared => q.cleared && e.severity >= q.min_severity,
                // Whoever acknowledged knows already.
                EventKind::Acknowledged => false,
            };
            if !wanted {
                continue;
            }
            let m = message.get_or_insert_with(|| Message::of(e)).clone();
            if q.tx.try_send(m).is_err() {
                self.telemetry.inc("halyard_notifications_total", &[("notifier", name), ("result", "dropped")]);
                tracing::warn!("notify {name}: {} messages already waiting; `{}` dropped", QUEUE, e.alarm);
            }
        }
    }
}

/// One notifier: messages in order, each retried until it passes or `RETRY_FOR` is over.
async fn worker(
    name: String,
    delivery: Delivery,
    mut rx: mpsc::Receiver<Message>,
    per_hour: u32,
    telemetry: Arc<Telemetry>,
) {
    let mut sent: VecDeque<Instant> = VecDeque::new();
    let mut limited = BurstLog::new("notify", Duration::from_secs(600));
    let result = |r: &'static str| [("notifier", name.as_str()), ("result", r)];
    while let Some(m) = rx.recv().await {
        let now = Instant::now();
        while sent.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(3600)) {
            sent.pop_front();
        }
        if sent.len() >= per_hour as usize {
            telemetry.inc("halyard_notifications_total", &result("dropped"));
            limited.report(now, || {
                format!("notify {name}: {per_hour} messages this hour already; `{}` not sent", m.title)
            });
            continue;
        }
        sent.push_back(now);
        let started = Instant::now();
        let mut delay = Duration::from_secs(2);
        loop {
            match delivery.send(&m).await {
                Ok(()) => {
                    telemetry.inc("halyard_notifications_total", &result("sent"));
                    tracing::info!("notify {name}: sent `{}` in {} ms", m.title, started.elapsed().as_millis());
                    break;
                }
                Err(Failure::Retry(why)) if started.elapsed() + delay < RETRY_FOR => {
                    telemetry.inc("halyard_notifications_total", &result("retried"));
                    tracing::warn!("notify {name}: `{}` not sent ({why}); again in {} s", m.title, delay.as_secs());
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(120));
                }
                Err(e) => {
                    telemetry.inc("halyard_notifications_total", &result("failed"));
                    tracing::error!("notify {name}: `{}` not sent: {e}", m.title);
                    break;
                }
            }
        }
    }
}

/// `halyard notify test`: one attempt per notifier (or the one named), each reported.
pub async fn test(
    settings: &BTreeMap<String, NotifierSettings>,
    radios: &[crate::sources::mesh::Spec],
    only: Option<&str>,
) -> Vec<(String, String, Result<Duration, String>)> {
    let radios: Vec<_> = radios.iter().map(|s| (s.clone(), None)).collect();
    let mut out = Vec::new();
    let message = Message::test(crate::ingest::now_ms());
    let chosen: Vec<_> = settings.iter().filter(|(n, _)| only.is_none_or(|o| o == n.as_str())).collect();
    let attempts = chosen.iter().map(|(name, s)| {
        let radios = &radios;
        let message = &message;
        async move {
            match Delivery::new(s, radios) {
                Err(e) => ((*name).clone(), s.kind.to_string(), Err(e)),
                Ok(d) => {
                    let t = Instant::now();
                    let r = d.send(message).await.map(|_| t.elapsed()).map_err(|e| e.to_string());
                    ((*name).clone(), d.describe(), r)
                }
            }
        }
    });
    out.extend(futures_util::future::join_all(attempts).await);
    out
}

/// Which notifiers an alarm tells: its rule's `notify`, else the built-in alarms' `[alarms] notify`.
pub fn routes(rules: &[crate::alarms::AlarmRule], builtin: &[String]) -> impl Fn(&str) -> Vec<String> {
    let by_rule: HashMap<String, Vec<String>> = rules.iter().map(|r| (r.name.clone(), r.notify.clone())).collect();
    let builtin = builtin.to_vec();
    move |alarm: &str| by_rule.get(alarm).cloned().unwrap_or_else(|| builtin.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml_text: &str) -> NotifierSettings {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn each_kind_takes_its_own_keys() {
        let radios = [(crate::sources::mesh::Spec::parse("tcp:127.0.0.1").unwrap(), None)];
        let ok = |t: &str| Delivery::new(&settings(t), &radios).map(|d| d.describe());
        assert_eq!(ok("kind = \"ntfy\"\nurl = \"https://ntfy.sh/secret-topic\"").unwrap(), "ntfy on ntfy.sh:443");
        assert!(ok("kind = \"ntfy\"\nurl = \"https://ntfy.sh/\"").unwrap_err().contains("topic"));
        assert!(ok("kind = \"webhook\"").unwrap_err().contains("url"));
        assert!(ok("kind = \"webhook\"\nurl = \"http://x/\"\nchannel = 1")
            .unwrap_err()
            .contains("`channel` is not a webhook"));
        assert_eq!(ok("kind = \"meshtastic\"\nchannel = 1").unwrap(), "Meshtastic channel 1");
        assert_eq!(ok("kind = \"meshtastic\"\nnode = \"!a1b2c3d4\"").unwrap(), "Meshtastic node !a1b2c3d4");
        assert!(ok("kind = \"meshtastic\"").unwrap_err().contains("say where"));
        assert!(ok("kind = \"meshtastic\"\nchannel = 9").unwrap_err().contains("0 to 7"));
        assert!(ok("kind = \"meshtastic\"\nchannel = 1\nradio = \"tcp:10.0.0.9\"")
            .unwrap_err()
            .contains("not a [[meshtastic]]"));
        let none = Delivery::new(&settings("kind = \"meshtastic\"\nchannel = 1"), &[]).map(|_| ()).unwrap_err();
        assert!(none.contains("none is configured"), "{none}");
        let mail =
            "kind = \"email\"\nsmtp = \"127.0.0.1:2525\"\nsecurity = \"none\"\nfrom = \"Boat <boat@example.org>\"\n";
        assert_eq!(ok(&format!("{mail}to = [\"me@example.org\"]")).unwrap(), "e-mail through 127.0.0.1:2525");
        assert!(ok(mail).unwrap_err().contains("to"));
        assert!(ok(&format!("{mail}to = [\"not an address\"]")).unwrap_err().contains("not an address"));
        assert!(ok(&format!("{mail}to = [\"a@b.c\"]\nusername = \"u\"")).unwrap_err().contains("together"));
    }

    #[test]
    fn secrets_stay_out_of_descriptions_and_debug() {
        let s = settings("kind = \"ntfy\"\nurl = \"https://ntfy.sh/hunter2-topic\"\ntoken = \"tk_hunter2\"");
        let d = Delivery::new(&s, &[]).unwrap();
        assert!(!d.describe().contains("hunter2"));
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
