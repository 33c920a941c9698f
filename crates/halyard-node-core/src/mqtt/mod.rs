//! MQTT for the node: the 3.1.1 packets ([`codec`]) and the client session ([`session`]).

pub mod codec;
pub mod session;

pub use session::{Event, Options, PublishError, Session};
