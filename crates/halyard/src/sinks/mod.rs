//! Sinks: where model changes go. MQTT today; the recorder and the web page join later.

pub mod mqtt;
pub mod stats;
