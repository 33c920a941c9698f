//! The gateway's own decoders on arbitrary input: recording lines, MQTT-in raw topics and
//! payloads, a Victron GX's MQTT messages, ESPHome API frames and messages, a VE.Direct port's byte stream through the model, and configuration text.
#![no_main]
use std::sync::Arc;

use halyard::ingest::{mqtt_in::MqttInDecoder, recording, vedirect::VeDirectDecoder, venus::VenusDecoder};
use halyard::model::{Model, Registry};
use halyard::telemetry::Telemetry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        let _ = recording::parse_line(line);
    }
    let t = Arc::new(Telemetry::default());
    let (topic, payload) = data.split_at(data.len() / 2);
    let mut m = MqttInDecoder::new(t.clone());
    let _ = m.message(0, &String::from_utf8_lossy(topic), payload);
    let mut updates = Vec::new();
    let mut gx = VenusDecoder::new(t.clone());
    // As a GX's topic, and as its payload under a known path.
    gx.message(0, &String::from_utf8_lossy(topic), payload, &mut updates);
    gx.message(1, "N/p/battery/1/Dc/0/Voltage", data, &mut updates);
    gx.message(2, "N/p/full_publish_completed", b"", &mut updates);
    for encrypted in [false, true] {
        if let Ok(Some((halyard::esphome::frame::Frame::Plain { body, .. }, _))) =
            halyard::esphome::frame::split(data, encrypted)
        {
            use prost::Message;
            let _ = halyard::esphome::api::RawAdvertisements::decode(body);
            let _ = halyard::esphome::api::Advertisement::decode(body);
        }
    }
    let _ = halyard::esphome::frame::parse_inner(data);
    let _ = halyard_proto::ble::manufacturer_data(data).count();
    let mut d = VeDirectDecoder::new("fuzz", t);
    d.feed(0, data, &mut updates);
    let mut model = Model::new(Registry::default(), &Default::default());
    for u in updates {
        let _ = model.apply(u);
    }
    let _ = halyard::config::Config::parse(&text, "fuzz");
});
