//! Alarms (issue 20): rules on devices' metrics and the silence of devices, evaluated on the
//! readings' own clock. `rule.rs` is what the owner writes (`[[alarm]]`), `engine.rs` the states
//! and events. Publishing (MQTT, Home Assistant), the store's history, acknowledgements and the
//! notifiers build on these events.

pub mod anchor;
pub mod anchor_command;
pub mod battery;
pub mod daemon;
pub mod engine;
pub mod history;
pub mod performance;
pub mod rule;

pub use engine::{Alarms, Event, EventKind, State, SILENT_AFTER_MS};
pub use rule::{AlarmRule, AlarmSettings, Condition, RuleError, Severity};
