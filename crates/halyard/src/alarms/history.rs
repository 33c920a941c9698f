//! `halyard alarms`: the alarms the history kept, one row per time an alarm was active — raised
//! at, acknowledged at, cleared at (empty while still active).

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde_json::{json, Value};

use super::daemon::{Ask, Then, ANSWER};
use crate::config::Config;
use crate::store::AlarmRecord;

/// `halyard alarms`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration (store, time zone).
    #[arg(short, long, env = "HALYARD_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// Only alarms raised on or after this day, YYYY-MM-DD (default: all kept).
    #[arg(long)]
    since: Option<String>,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
    /// Acknowledge an active alarm of the running daemon instead (over its broker, as
    /// `halyard/alarm/NAME/ack` does): no more repeats or notifications until it clears.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["since", "json"])]
    ack: Option<String>,
}

/// One time an alarm was active.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// The alarm.
    pub name: String,
    /// How loud.
    pub severity: String,
    /// The device and metric.
    pub device: String,
    /// See `device`.
    pub metric: String,
    /// The value when raised.
    pub value: Option<f64>,
    /// What it said when raised.
    pub message: String,
    /// Raised at (ms).
    pub raised_at: i64,
    /// Acknowledged at.
    pub acknowledged_at: Option<i64>,
    /// Cleared at (none: still active, or the history ends first).
    pub cleared_at: Option<i64>,
}

impl Episode {
    /// As `halyard alarms --json` prints it and the dashboard's Alarms page reads it.
    pub fn to_json(&self) -> Value {
        let time = |ms: Option<i64>| ms.map(crate::sinks::mqtt::rfc3339);
        json!({
            "name": self.name, "severity": self.severity, "device": self.device, "metric": self.metric,
            "value": self.value, "message": self.message, "raised_at": time(Some(self.raised_at)),
            "acknowledged_at": time(self.acknowledged_at), "cleared_at": time(self.cleared_at),
        })
    }
}

/// Pair kept events (in time order) into episodes, in order of raising.
pub fn episodes(events: &[AlarmRecord]) -> Vec<Episode> {
    let mut done = Vec::new();
    let mut open: BTreeMap<&str, Episode> = BTreeMap::new();
    for e in events {
        match e.kind.as_str() {
            "raised" => {
                if let Some(previous) = open.remove(e.alarm.as_str()) {
                    done.push(previous); // raised twice without a clear kept between: keep both
                }
                open.insert(
                    &e.alarm,
                    Episode {
                        name: e.alarm.clone(),
                        severity: e.severity.clone(),
                        device: e.device.clone(),
                        metric: e.metric.clone(),
                        value: e.value,
                        message: e.message.clone(),
                        raised_at: e.at,
                        acknowledged_at: None,
                        cleared_at: None,
                    },
                );
            }
            "acknowledged" => {
                if let Some(ep) = open.get_mut(e.alarm.as_str()) {
                    ep.acknowledged_at.get_or_insert(e.at);
                }
            }
            "cleared" => {
                if let Some(mut ep) = open.remove(e.alarm.as_str()) {
                    ep.cleared_at = Some(e.at);
                    done.push(ep);
                }
            }
            _ => {}
        }
    }
    done.extend(open.into_values());
    done.sort_by(|a, b| (a.raised_at, &a.name).cmp(&(b.raised_at, &b.name)));
    done
}

/// Run `halyard alarms`.
pub fn command(args: Args) -> Result<()> {
    let config = Config::load_or_default(args.config.as_deref())?;
    if let Some(name) = &args.ack {
        return acknowledge(&config, name);
    }
    let cal = config.calendar()?;
    let mut store = crate::store::open_existing(&config)?;
    let from = match &args.since {
        Some(d) => cal.day_start(crate::report::noon(d)?),
        None => i64::MIN,
    };
    // Events from before `from` too: an alarm raised earlier and cleared after belongs.
    let all = episodes(&store.alarm_events(i64::MIN)?);
    let shown: Vec<&Episode> =
        all.iter().filter(|e| e.raised_at >= from || e.cleared_at.is_none_or(|c| c >= from)).collect();
    if args.json {
        for e in &shown {
            println!("{}", e.to_json());
        }
        return Ok(());
    }
    if shown.is_empty() {
        println!("no alarms kept{}", args.since.as_deref().map(|d| format!(" since {d}")).unwrap_or_default());
        return Ok(());
    }
    // Dates on every time: a history spans many days (a day of its own never comes first).
    let times = crate::text::Times::new(cal.timezone(), i64::MIN / 2);
    let local = |ms: i64| times.at_ms(ms);
    use crate::text::Align::Left;
    let mut page = crate::text::Page::new("Alarms");
    let rows: Vec<Vec<String>> = shown
        .iter()
        .map(|e| {
            vec![
                e.name.clone(),
                e.severity.clone(),
                local(e.raised_at),
                e.cleared_at.map(local).unwrap_or_else(|| "active".into()),
                e.acknowledged_at.map(local).unwrap_or_default(),
                e.message.clone(),
            ]
        })
        .collect();
    page.table(
        &[
            ("alarm", Left),
            ("severity", Left),
            ("raised", Left),
            ("cleared", Left),
            ("acknowledged", Left),
            ("what", Left),
        ],
        &rows,
    );
    print!("{}", page.finish());
    Ok(())
}

/// `halyard alarms --ack NAME`: the daemon's retained state says whether the alarm is active; the
/// acknowledgement goes where a phone's would, and the daemon's new state is the answer.
fn acknowledge(config: &Config, name: &str) -> Result<()> {
    if name.is_empty() || name.contains(['/', '+', '#']) {
        bail!("`{name}` is not an alarm's name (`halyard alarms` lists them)");
    }
    let ask = Ask {
        who: "ack",
        state: format!("alarm/{name}"),
        nothing: format!("no alarm `{name}` known to the running daemon (`halyard alarms` lists the names)"),
        late: format!("the daemon did not acknowledge `{name}` within {} s: see its log", ANSWER.as_secs()),
    };
    let first = |state: &Value| {
        if state["state"] != "active" {
            bail!("{name} is not active");
        }
        if state["acknowledged"] == true {
            return Ok(Then::Done);
        }
        Ok(Then::Publish(format!("alarm/{name}/ack"), "ack".into()))
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let state =
        runtime.block_on(ask.run(config, first, |_, now| now["acknowledged"] == true || now["state"] != "active"))?;
    match state["state"].as_str() {
        Some("active") => println!(
            "{name}: acknowledged (active since {}: {})",
            state["since"].as_str().unwrap_or("?"),
            state["message"].as_str().unwrap_or("")
        ),
        _ => println!("{name}: cleared meanwhile"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(alarm: &str, kind: &str, at: i64) -> AlarmRecord {
        AlarmRecord {
            alarm: alarm.into(),
            kind: kind.into(),
            at,
            since: at,
            severity: "alarm".into(),
            device: "bank".into(),
            metric: "soc".into(),
            value: Some(at as f64),
            message: format!("{alarm} {kind}"),
        }
    }

    #[test]
    fn events_pair_into_episodes() {
        let events = [
            ev("low", "raised", 10),
            ev("silent", "raised", 12),
            ev("low", "repeated", 15),
            ev("low", "acknowledged", 20),
            ev("low", "cleared", 30),
            ev("low", "raised", 40),
        ];
        let e = episodes(&events);
        assert_eq!(e.len(), 3);
        assert_eq!(
            (e[0].name.as_str(), e[0].raised_at, e[0].acknowledged_at, e[0].cleared_at),
            ("low", 10, Some(20), Some(30))
        );
        assert_eq!(e[0].value, Some(10.0), "the value when raised");
        assert_eq!((e[1].name.as_str(), e[1].cleared_at), ("silent", None));
        assert_eq!((e[2].raised_at, e[2].cleared_at), (40, None));
    }
}
