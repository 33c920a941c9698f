//! `halyard decode victron-ble --key KEY ADV`.

use anyhow::Result;
use halyard_proto::victron::instant_readout::{self, Error};
use serde_json::{json, Map};

use crate::{json as j, keys, Exit};

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The device's 32-hex-digit Instant Readout key (VictronConnect → Product info → Instant readout).
    #[arg(long, env = "HALYARD_VICTRON_KEY", hide_env_values = true)]
    key: String,
    /// The advertisement's manufacturer data in hex.
    advert: String,
}

/// Decode and print one JSON object.
pub fn run(args: Args) -> Result<()> {
    let key = keys::parse_key("--key", &args.key)?;
    let bytes = super::parse_hex("the advertisement", &args.advert)?;
    let record = instant_readout::decode(&bytes, &key).map_err(|e| match e {
        Error::KeyMismatch { .. } => anyhow::Error::new(Exit { code: 3, message: e.to_string() }),
        other => anyhow::Error::new(Exit { code: 2, message: other.to_string() }),
    })?;
    let mut values = Map::new();
    for field in record.fields() {
        j::insert(&mut values, &field);
    }
    let out = json!({
        "record_type": record.record_type().name(),
        "record_type_code": record.record_type().code(),
        "model_id": record.model_id(),
        "product_name": record.product_name(),
        "payload": j::hex(record.payload()),
        "values": values,
    });
    println!("{out}");
    Ok(())
}
