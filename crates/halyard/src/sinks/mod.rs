//! Sinks: where model changes go besides the store — MQTT ([`mqtt`]) and InfluxDB ([`influx`]),
//! each through its own on-disk [`outbox`], so an outage of either loses nothing.

pub mod influx;
pub mod mqtt;
pub mod outbox;
pub mod stats;
