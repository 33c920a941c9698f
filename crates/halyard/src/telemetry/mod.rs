//! Operations: Prometheus metrics, logs (terminal, journald, JSON) and remote log lines.

pub mod http;
pub mod logging;
mod metrics;
pub mod values;

pub use metrics::{Reception, Telemetry};
