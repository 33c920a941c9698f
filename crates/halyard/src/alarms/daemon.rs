//! Asking the running daemon over its broker (`halyard anchor …`, `halyard alarms --ack`): the
//! daemon keeps its state retained on a topic, takes requests on another, and answers by
//! publishing the new state — the same topics a phone or Home Assistant uses, so the daemon
//! stays the one place that decides.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use rumqttc::{AsyncClient, Event, Incoming, QoS};
use serde_json::Value;

use crate::config::Config;

/// How long the daemon has to answer.
pub const ANSWER: Duration = Duration::from_secs(5);

/// One exchange with the daemon.
pub struct Ask<'a> {
    /// Names the client (`halyard-<who>-<pid>`).
    pub who: &'a str,
    /// The retained state, under the topic root (`anchor`, `alarm/anchor-drag`).
    pub state: String,
    /// What to say when nothing is retained there.
    pub nothing: String,
    /// What to say when the daemon takes too long to answer.
    pub late: String,
}

/// What to do once the current state is known.
pub enum Then {
    /// It is the answer.
    Done,
    /// Publish this payload to this topic (under the root) and wait for an answering state.
    Publish(String, String),
}

impl Ask<'_> {
    /// Read the retained state; `first` decides from it (or refuses); then wait for a state that
    /// `answers` (given the state before, and the new one) accepts.
    pub async fn run(
        &self,
        config: &Config,
        first: impl FnOnce(&Value) -> Result<Then>,
        answers: impl Fn(&Value, &Value) -> bool,
    ) -> Result<Value> {
        let endpoint = crate::broker::of_daemon(config)?;
        let root = &config.mqtt.root;
        let client_id = format!("halyard-{}-{}", self.who, std::process::id());
        let options = crate::sinks::mqtt::client_options(&config.mqtt, &endpoint, &client_id)?;
        let (client, mut events) = AsyncClient::new(options, 16);
        let state_topic = format!("{root}/{}", self.state);
        client.subscribe(&state_topic, QoS::AtLeastOnce).await?;
        let mut first = Some(first);
        let mut before: Option<Value> = None;
        let deadline = tokio::time::Instant::now() + ANSWER;
        loop {
            let event = match tokio::time::timeout_at(deadline, events.poll()).await {
                Err(_) if before.is_none() => bail!("{} ({state_topic} on {endpoint} is empty)", self.nothing),
                Err(_) => bail!("{}", self.late),
                Ok(e) => e.with_context(|| format!("the broker {endpoint}"))?,
            };
            let Event::Incoming(Incoming::Publish(p)) = event else { continue };
            if p.topic != state_topic {
                continue;
            }
            let state: Value =
                serde_json::from_slice(&p.payload).with_context(|| format!("{state_topic}: not JSON"))?;
            match (&before, first.take()) {
                (None, Some(decide)) => match decide(&state)? {
                    Then::Done => return Ok(state),
                    Then::Publish(topic, payload) => {
                        client.publish(format!("{root}/{topic}"), QoS::AtLeastOnce, false, payload).await?;
                        before = Some(state);
                    }
                },
                (Some(b), _) if answers(b, &state) => return Ok(state),
                _ => {}
            }
        }
    }
}
