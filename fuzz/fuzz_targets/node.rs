//! What reaches the ESP32 node from outside, any bytes: broker packets through the MQTT codec
//! and session, controller packets through the HCI parser, DNS-SD answers, SNTP replies, a
//! crash record read after a power-up (RTC memory is noise then), configuration text (flash,
//! console, MQTT) and OTA chunks.
#![no_main]
use halyard_node_core::{config, console, crash, dnssd, hci, mqtt, ota, sntp};
use libfuzzer_sys::fuzz_target;

struct Sink(u32);
impl ota::Slot for Sink {
    fn capacity(&mut self) -> u32 {
        self.0
    }
    fn erase(&mut self) -> Result<(), ota::SlotError> {
        Ok(())
    }
    fn write(&mut self, _: u32, _: &[u8]) -> Result<(), ota::SlotError> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = mqtt::codec::decode(data);
    let mut s = mqtt::Session::new(mqtt::Options {
        client_id: "f".into(),
        root: "h".into(),
        keep_alive_s: 1,
        credentials: None,
        subscriptions: vec!["h/#".into()],
    });
    s.connect(0);
    let mut events = Vec::new();
    s.receive(&[0x20, 2, 0, 0], 1, &mut events);
    s.receive(data, 2, &mut events);
    s.poll(5_000, &mut events);
    let _ = hci::parse(data);
    let _ = dnssd::parse(data);
    let _ = sntp::unix_ms(data);
    if data.len() >= crash::RECORD {
        let _ = crash::load(data[..crash::RECORD].try_into().unwrap());
    }
    let _ = config::from_flash(data);
    let text = String::from_utf8_lossy(data);
    let running = config::Config::default();
    console::Console::new(running.clone()).input(data, &running, |_| {});
    let _ = config::Config::parse(&text);
    let mut update = ota::Update::default();
    let mut slot = Sink(1 << 20);
    let _ = update.begin(&text, &mut slot);
    for (i, chunk) in data.chunks(7).enumerate() {
        let _ = update.chunk((i * 7) as u32, chunk, &mut slot);
    }
});
