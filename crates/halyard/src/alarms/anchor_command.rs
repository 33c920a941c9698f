//! `halyard anchor drop|up|status`: the anchor watch of a running daemon, over its broker — the
//! same `halyard/anchor/set` a phone or Home Assistant would publish to, so the daemon stays the
//! one place that watches, and the answer is the daemon's retained `halyard/anchor` state.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use rumqttc::{AsyncClient, Event, Incoming, QoS};
use serde_json::{json, Value};

use super::anchor::Command;
use crate::config::Config;

/// How long the daemon has to answer.
const ANSWER: Duration = Duration::from_secs(5);

/// `halyard anchor`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
    /// The configuration (the broker, the topic root).
    #[arg(short, long, env = "HALYARD_CONFIG", global = true)]
    config: Option<std::path::PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Drop the anchor: watch a circle around it (here, unless --at says where it is).
    Drop {
        /// The swing circle's radius, m (default 50, or from --rode).
        #[arg(long, conflicts_with = "rode")]
        radius: Option<f64>,
        /// The rode let out, m: the radius is its reach at the last depth, plus 15 m.
        #[arg(long)]
        rode: Option<f64>,
        /// Where the anchor is, `LAT,LON` in degrees (south and west negative).
        #[arg(long, value_name = "LAT,LON", allow_hyphen_values = true)]
        at: Option<String>,
    },
    /// Anchor up: the watch ends (and an anchor-drag alarm with it).
    Up,
    /// The watch's state: where the anchor is, the radius, how far the boat is from it.
    Status,
}

/// Run it.
pub fn command(args: Args) -> Result<()> {
    let config = Config::load_or_default(args.config.as_deref())?;
    let payload = match &args.what {
        What::Drop { radius, rode, at } => {
            let mut p = json!({"action": "drop"});
            if let Some(r) = radius {
                p["radius"] = json!(r);
            }
            if let Some(r) = rode {
                p["rode"] = json!(r);
            }
            if let Some(at) = at {
                let (la, lo) = at.split_once(',').context("--at LAT,LON")?;
                let num = |v: &str| v.trim().parse::<f64>().with_context(|| format!("`{v}` is not degrees"));
                p["latitude"] = json!(num(la)?);
                p["longitude"] = json!(num(lo)?);
            }
            Some(p.to_string())
        }
        What::Up => Some(r#"{"action":"up"}"#.to_owned()),
        What::Status => None,
    };
    // Refused here with the reason, rather than by the daemon into its log.
    if let Some(p) = &payload {
        Command::parse(p).map_err(anyhow::Error::msg)?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let state = runtime.block_on(ask(&config, payload.as_deref()))?;
    println!("{}", describe(&state));
    Ok(())
}

/// Read the retained state, publish `payload` if any, and return the state that answers it.
async fn ask(config: &Config, payload: Option<&str>) -> Result<Value> {
    let endpoint = crate::broker::of_daemon(config)?;
    let root = &config.mqtt.root;
    let client_id = format!("halyard-anchor-{}", std::process::id());
    let options = crate::sinks::mqtt::client_options(&config.mqtt, &endpoint, &client_id)?;
    let (client, mut events) = AsyncClient::new(options, 16);
    let state_topic = format!("{root}/anchor");
    client.subscribe(&state_topic, QoS::AtLeastOnce).await?;
    let mut before: Option<Value> = None;
    let deadline = tokio::time::Instant::now() + ANSWER;
    loop {
        let event = tokio::time::timeout_at(deadline, events.poll()).await;
        let event = match event {
            Err(_) => match before {
                None => bail!(
                    "no anchor watch on {endpoint} ({state_topic} is empty): is `halyard run` running with this broker?"
                ),
                Some(_) => bail!(
                    "the daemon did not take it within {} s (dropping needs a position fix, or --at): see its log",
                    ANSWER.as_secs()
                ),
            },
            Ok(e) => e.with_context(|| format!("the broker {endpoint}"))?,
        };
        let Event::Incoming(Incoming::Publish(p)) = event else { continue };
        if p.topic != state_topic {
            continue;
        }
        let state: Value = serde_json::from_slice(&p.payload).with_context(|| format!("{state_topic}: not JSON"))?;
        match (&before, payload) {
            (_, None) => return Ok(state),
            (None, Some(payload)) => {
                if state["state"] == "up" && payload.contains("\"up\"") {
                    bail!("the anchor is not down");
                }
                client.publish(format!("{root}/anchor/set"), QoS::AtLeastOnce, false, payload.to_owned()).await?;
                before = Some(state);
            }
            // Positions refresh the state too: the answer is one whose anchor changed.
            (Some(b), Some(_)) if answers(b, &state) => return Ok(state),
            _ => {}
        }
    }
}

/// Whether `now` is a new anchor (dropped again, or up) rather than a new fix on the old one.
fn answers(before: &Value, now: &Value) -> bool {
    now["state"] == "up" || now["dropped_at"] != before["dropped_at"]
}

/// The state in words.
fn describe(s: &Value) -> String {
    let num = |k: &str| s[k].as_f64();
    match s["state"].as_str() {
        Some("up") => "anchor up: no watch".to_owned(),
        Some(state) => {
            let (la, lo) = (num("latitude").unwrap_or(f64::NAN), num("longitude").unwrap_or(f64::NAN));
            let mut out = format!(
                "anchor down at {:.5}° {}, {:.5}° {} since {}, radius {:.0} m",
                la.abs(),
                if la < 0.0 { "S" } else { "N" },
                lo.abs(),
                if lo < 0.0 { "W" } else { "E" },
                s["dropped_at"].as_str().unwrap_or("?"),
                num("radius").unwrap_or(f64::NAN),
            );
            if let (Some(d), Some(b)) = (num("distance"), num("bearing")) {
                out += &format!("; the boat is {d:.0} m from it, {b:.0}°");
            }
            if state == "dragging" {
                out += "; DRAGGING";
            }
            out
        }
        None => format!("unexpected state: {s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_in_words() {
        let s = json!({"state":"dragging","latitude":-33.85,"longitude":151.2,"radius":40.0,
                       "dropped_at":"2026-12-06T12:00:00Z","distance":85.2,"bearing":212.0});
        assert_eq!(
            describe(&s),
            "anchor down at 33.85000° S, 151.20000° E since 2026-12-06T12:00:00Z, radius 40 m; \
             the boat is 85 m from it, 212°; DRAGGING"
        );
        assert_eq!(describe(&json!({"state":"up"})), "anchor up: no watch");
        let a = json!({"state":"down","dropped_at":"2026-12-06T12:00:00Z","distance":3.0});
        assert!(!answers(&a, &json!({"state":"down","dropped_at":"2026-12-06T12:00:00Z","distance":9.0})));
        assert!(answers(&a, &json!({"state":"down","dropped_at":"2026-12-06T12:05:00Z"})));
    }
}
