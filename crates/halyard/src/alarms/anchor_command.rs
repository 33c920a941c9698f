//! `halyard anchor drop|up|status`: the anchor watch of a running daemon, over its broker — the
//! same `halyard/anchor/set` a phone or Home Assistant would publish to, so the daemon stays the
//! one place that watches, and the answer is the daemon's retained `halyard/anchor` state.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::anchor::Command;
use super::daemon::{Ask, Then, ANSWER};
use crate::config::Config;

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
    let ask = Ask {
        who: "anchor",
        state: "anchor".into(),
        nothing: "no anchor watch: is `halyard run` running with this broker?".into(),
        late: format!(
            "the daemon did not take it within {} s (dropping needs a position fix, or --at): see its log",
            ANSWER.as_secs()
        ),
    };
    let first = |state: &Value| match payload {
        None => Ok(Then::Done),
        Some(_) if state["state"] == "up" && payload.is_some_and(|p| p.contains("\"up\"")) => {
            bail!("the anchor is not down")
        }
        Some(p) => Ok(Then::Publish("anchor/set".into(), p.to_owned())),
    };
    // Positions refresh the state too: the answer is one whose anchor changed.
    ask.run(config, first, answers).await
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
