//! NMEA 2000 from one bus (a CAN link, a gateway, a capture) → messages → the boat's model:
//!
//! - **Navigation** (position, course and speed, heading, wind, depth, speed through water,
//!   attitude, weather, AIS) joins the `nav` device through the same state as NMEA 0183
//!   ([`super::nav::Observation`]), so the gusts, the track, the stays, the fix losses, the map
//!   and Signal K work from NMEA 2000 alone.
//! - **Batteries** (127508 Battery Status, 127506 DC Detailed Status, 127513 Battery
//!   Configuration), **chargers** (127507), **tanks** (127505), **engines** (127488, 127489),
//!   **DC and AC meters** (127751, 127744–127749) and **temperature sensors** (130312, 130316)
//!   are devices named by kind and instance (`battery-1`, `tank-fuel-0`, `engine-0`), the
//!   instance being what the bus knows them by; `[[device]] n2k = "battery/1"` names them. A
//!   device's product is what its sender's Product Information (126996) says.
//! - **Several senders of one quantity** (two GPS, two wind sensors): the first one heard with a
//!   value keeps it while it sends values; when it has sent none for [`PRIORITY_HOLD_MS`], the
//!   next one heard with a value takes over ([`Priority`]). Two sources never interleave their
//!   positions into a zig-zag, and a display that repeats "no position" every 100 ms (three
//!   senders on Merrimac's bus do) neither takes the position from the GPS nor makes a fix loss.
//!
//! Every frame or message that cannot be used is counted by kind on
//! `halyard_decode_errors_total{source=…}`; PGNs Halyard does not decode are passed by.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use halyard_proto::n2k::pgn::Message;
use halyard_proto::n2k::{Assembler, Event, Header};
use halyard_proto::nmea::{ais, Position};

use super::nav::{Nav, Observation};
use crate::burst::BurstLog;
use crate::model::{Identity, Metric, Millis, Update};
use crate::sources::n2k::capture::Carried;
use crate::telemetry::Telemetry;

/// A quantity's sender keeps it while it has been heard within this long.
pub const PRIORITY_HOLD_MS: Millis = 5_000;
const DAY: Millis = 86_400_000;
/// The quantity of AIS reports, which no sender holds.
const AIS: &str = "ais";

/// Which sender each navigation quantity is taken from (see the module's notes): the holder
/// and when it last sent a value.
#[derive(Debug, Default)]
pub struct Priority {
    holders: HashMap<&'static str, ((Arc<str>, u8), Millis)>,
}

impl Priority {
    /// Whether `quantity` from `sender` (bus, address) is taken at `at`; `valid` when the
    /// message holds a value (a position with a fix). The holder's messages without one are
    /// taken (its fix losses are the boat's); nobody else's are.
    pub fn take(&mut self, quantity: &'static str, sender: (&Arc<str>, u8), at: Millis, valid: bool) -> bool {
        match self.holders.get_mut(quantity) {
            Some((holder, last)) if holder.0 == *sender.0 && holder.1 == sender.1 => {
                if valid {
                    *last = at.max(*last);
                }
                true
            }
            // The holder sent a value lately (a clock stepping back is not "lately").
            Some((_, last)) if at - *last < PRIORITY_HOLD_MS && at >= *last - PRIORITY_HOLD_MS => false,
            _ if valid => {
                self.holders.insert(quantity, ((sender.0.clone(), sender.1), at));
                true
            }
            _ => false,
        }
    }
}

/// A capture's clock anchored on the time the bus itself gave (System Time 126992, GNSS
/// Position Data 129029, Time & Date 129033): how a Yacht Devices log's times of day get their
/// date, and an NGT-1's milliseconds since power-on become times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    /// The record's stamp on its own clock, ms.
    pub stamp_ms: u64,
    /// The time the bus said it was then, ms since the epoch.
    pub utc_ms: Millis,
}

/// The date and time a message says, if it is a time message with both.
pub fn message_time(pgn: u32, data: &[u8]) -> Option<Millis> {
    let m = match pgn {
        126_992 | 129_029 | 129_033 => Message::new(pgn, data)?,
        _ => return None,
    };
    let days = m.number("date")?;
    let seconds = m.number("time")?;
    Some(days as Millis * DAY + (seconds * 1000.0).round() as Millis)
}

/// How far into a capture its first time message is looked for: a GPS tells the time within
/// seconds of starting, and an endless input must not be read to its end twice.
const TIME_SEARCH_BYTES: u64 = 64 << 20;

/// The anchor of a capture's clock: its first time message with a date and time, found by
/// reading the capture (a gateway may talk for a while before the GPS has the time).
pub fn first_time<R: std::io::BufRead>(
    mut capture: crate::sources::n2k::capture::Capture<R>,
) -> std::io::Result<Option<Anchor>> {
    use crate::sources::n2k::capture::Record;
    let mut assembler = Assembler::new();
    while let Some(record) = capture.next_record()? {
        if capture.position() > TIME_SEARCH_BYTES {
            break;
        }
        let Record::N2k(stamp, carried) = record else { continue };
        let mut found = None;
        carried.assemble(&mut assembler, stamp.ms(), |e| {
            if let Event::Message { header, data } = e {
                found = found.or_else(|| message_time(header.pgn, data));
            }
        });
        if let Some(utc_ms) = found {
            return Ok(Some(Anchor { stamp_ms: stamp.ms(), utc_ms }));
        }
    }
    Ok(None)
}

/// One bus's decoder: the messages in progress, and what the bus's whole messages are read with
/// (apart, so each message is read from the assembler's buffer as it completes).
pub struct N2kDecoder {
    assembler: Assembler,
    bus: Bus,
}

/// What one bus's messages are read with.
struct Bus {
    source: Arc<str>,
    /// Model names from Product Information, by sender address.
    products: HashMap<u8, String>,
    /// Whether the bytes arrive now (their time messages may set the clock).
    live: bool,
    errors: BurstLog,
    telemetry: Arc<Telemetry>,
}

impl N2kDecoder {
    /// For the bus named `source`; `live` when it is read as it happens.
    pub fn new(source: &str, live: bool, telemetry: Arc<Telemetry>) -> Self {
        let bus = Bus {
            source: source.into(),
            products: HashMap::new(),
            live,
            errors: BurstLog::new("n2k", Duration::from_secs(60)),
            telemetry,
        };
        N2kDecoder { assembler: Assembler::new(), bus }
    }

    /// Forget messages in progress (the link reconnected).
    pub fn reset(&mut self) {
        self.assembler = Assembler::new();
    }

    /// One record received at `at`.
    pub fn feed(
        &mut self,
        at: Millis,
        carried: &Carried,
        nav: &mut Nav,
        priority: &mut Priority,
        out: &mut Vec<Update>,
    ) {
        let bus = &mut self.bus;
        bus.telemetry.frame(&bus.source, at);
        carried.assemble(&mut self.assembler, at.max(0) as u64, |e| match e {
            Event::Message { header, data } => bus.message(at, &header, data, nav, priority, out),
            Event::Error(e) => {
                bus.telemetry.inc("halyard_decode_errors_total", &[("source", &bus.source), ("kind", e.kind())]);
                bus.errors.report(std::time::Instant::now(), || format!("{}: {e}", bus.source));
            }
        });
    }
}

impl Bus {
    /// One whole message.
    fn message(
        &mut self,
        at: Millis,
        header: &Header,
        data: &[u8],
        nav: &mut Nav,
        priority: &mut Priority,
        out: &mut Vec<Update>,
    ) {
        let Some(m) = Message::new(header.pgn, data) else { return };
        let sender = header.source;
        if header.pgn == 126_996 {
            if let Some(model) = m.value("model_id").text() {
                self.products.insert(sender, model.to_owned());
            }
            return;
        }
        // The time a satellite receiver gives (not a display's crystal clock) stamps live
        // readings while the system clock is not synchronised ([`crate::clock`]).
        let from_satellites = match header.pgn {
            126_992 => matches!(m.name("source"), Some("gps" | "glonass")),
            129_029 => matches!(m.value("method").as_f64(), Some(1.0..=5.0)),
            _ => false,
        };
        if self.live && from_satellites {
            if let Some(t) = message_time(header.pgn, data) {
                crate::clock::gps_time(t);
            }
        }
        if let Some((quantity, observations)) = observations(&m) {
            let valid = observations.iter().any(|o| !matches!(o, Observation::Position { fix: false, .. }));
            // Every AIS receiver's reports are taken: they are other vessels, not ours.
            if quantity == AIS || priority.take(quantity, (&self.source, sender), at, valid) {
                out.extend(nav.apply(at, "n2k", &observations));
            }
            return;
        }
        if let Some(mut u) = device(at, &m) {
            u.product = self.products.get(&sender).cloned();
            out.push(u);
        }
    }
}

/// A value read as text.
trait Text<'a> {
    fn text(&self) -> Option<&'a str>;
}

impl<'a> Text<'a> for halyard_proto::Value<'a> {
    fn text(&self) -> Option<&'a str> {
        match *self {
            halyard_proto::Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// What a navigation PGN says, with the quantity whose sender [`Priority`] picks.
fn observations(m: &Message<'_>) -> Option<(&'static str, Vec<Observation>)> {
    let mut o = Vec::new();
    let quantity = match m.def.pgn {
        129_025 => {
            let position = position(m.number("latitude"), m.number("longitude"));
            o.push(Observation::Position { fix: position.is_some(), position });
            "position"
        }
        129_029 => {
            // Dead reckoning, manual input and simulation are not fixes (RMC's status V).
            let fix = matches!(m.value("method").as_f64(), Some(1.0..=5.0));
            let position = position(m.number("latitude"), m.number("longitude"));
            o.push(Observation::Position { fix: fix && position.is_some(), position });
            if let Some(n) = m.number("number_of_svs") {
                o.push(Observation::Satellites(n as u8));
            }
            if let Some(h) = m.number("hdop") {
                o.push(Observation::Hdop(h));
            }
            "position"
        }
        129_026 => {
            let cog = m.number("cog").filter(|_| m.name("cog_reference") == Some("true"));
            o.push(Observation::Motion { sog_kn: m.number("sog"), cog_true: cog });
            "motion"
        }
        127_250 => {
            let heading = m.number("heading")?;
            let (deviation, variation) = (m.number("deviation"), m.number("variation"));
            match m.name("reference") {
                Some("true") => {
                    o.push(Observation::HeadingTrue(heading));
                    "heading_true"
                }
                Some("magnetic") => {
                    o.push(Observation::HeadingMagnetic { heading, deviation, variation });
                    "heading_magnetic"
                }
                _ => return None,
            }
        }
        127_258 => {
            o.push(Observation::Variation(m.number("variation")?));
            "variation"
        }
        130_306 => {
            let (speed, angle) = (m.number("wind_speed"), m.number("wind_angle"));
            // Each reference is its own quantity: the wind sensor sends the apparent wind, an
            // instrument computer the true winds.
            match m.name("reference")? {
                "apparent" => {
                    o.push(Observation::ApparentWind { angle: angle?, speed_kn: speed? });
                    "apparent_wind"
                }
                "true_boat_referenced" | "true_water_referenced" => {
                    o.push(Observation::TrueWind { angle, speed_kn: speed, direction: None });
                    "true_wind"
                }
                "true_ground_referenced_to_north" => {
                    o.push(Observation::TrueWind { angle: None, speed_kn: speed, direction: angle });
                    "ground_wind"
                }
                _ => return None,
            }
        }
        128_267 => {
            o.push(Observation::Depth(m.number("depth")?));
            "depth"
        }
        128_259 => {
            o.push(Observation::SpeedThroughWater(m.number("speed_water_referenced")?));
            "speed_through_water"
        }
        127_257 => {
            o.extend(m.number("roll").map(Observation::Heel));
            o.extend(m.number("pitch").map(Observation::Pitch));
            "attitude"
        }
        130_310 => {
            o.extend(m.number("water_temperature").map(Observation::WaterTemperature));
            o.extend(m.number("outside_ambient_air_temperature").map(Observation::AirTemperature));
            o.extend(m.number("atmospheric_pressure").map(Observation::Pressure));
            "environment"
        }
        130_311 => {
            match m.name("temperature_source") {
                Some("sea_temperature") => o.extend(m.number("temperature").map(Observation::WaterTemperature)),
                Some("outside_temperature") => o.extend(m.number("temperature").map(Observation::AirTemperature)),
                _ => {}
            }
            if m.name("humidity_source") == Some("outside") {
                o.extend(m.number("humidity").map(Observation::Humidity));
            }
            o.extend(m.number("atmospheric_pressure").map(Observation::Pressure));
            "environment"
        }
        130_312 | 130_316 => {
            let field = if m.def.pgn == 130_312 { "actual_temperature" } else { "temperature" };
            match m.name("source") {
                Some("sea_temperature") => o.push(Observation::WaterTemperature(m.number(field)?)),
                Some("outside_temperature") => o.push(Observation::AirTemperature(m.number(field)?)),
                // Other places' temperatures are devices of their own.
                _ => return None,
            }
            "temperature"
        }
        130_313 if m.name("source") == Some("outside") => {
            o.push(Observation::Humidity(m.number("actual_humidity")?));
            "humidity"
        }
        130_314 if m.name("source") == Some("atmospheric") => {
            o.push(Observation::Pressure(m.number("pressure")?));
            "pressure"
        }
        129_038 | 129_039 => {
            let report = ais::PositionReport {
                message_type: m.number("message_id")? as u8,
                mmsi: m.number("user_id")? as u32,
                lat: m.number("latitude"),
                lon: m.number("longitude"),
                sog_kn: m.number("sog"),
                cog: m.number("cog"),
                heading: m.number("heading").map(|h| h.round() as u16),
            };
            o.push(Observation::Ais(report));
            AIS
        }
        _ => return None,
    };
    (!o.is_empty()).then_some((quantity, o))
}

fn position(lat: Option<f64>, lon: Option<f64>) -> Option<Position> {
    let (lat, lon) = (lat?, lon?);
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some(Position { lat, lon })
}

/// A number metric, when the value is available.
fn number(out: &mut Vec<Metric>, m: &Message<'_>, field: &str, name: &'static str, unit: &'static str) {
    if let Some(v) = m.number(field) {
        out.push(Metric::number(name, unit, v));
    }
}

/// An enumeration as its code and `<name>_name`.
fn code(out: &mut Vec<Metric>, m: &Message<'_>, field: &str, name: &'static str) {
    let v = m.value(field);
    if let Some(code) = v.as_f64() {
        out.push(Metric::number(name, "", code));
        if let Some(text) = v.enum_name() {
            out.push(Metric::text(format!("{name}_name"), text));
        }
    }
}

/// The device a PGN of the boat's systems reports on, and its values.
fn device(at: Millis, m: &Message<'_>) -> Option<Update> {
    let instance = |field: &str| m.number(field).map(|i| i as u32);
    let mut metrics = Vec::new();
    let (kind, instance, product_kind): (String, u32, &'static str) = match m.def.pgn {
        127_508 => {
            number(&mut metrics, m, "voltage", "voltage", "V");
            number(&mut metrics, m, "current", "current", "A");
            number(&mut metrics, m, "temperature", "battery_temperature", "°C");
            if let (Some(v), Some(i)) = (m.number("voltage"), m.number("current")) {
                metrics.push(Metric::number("battery_power", "W", crate::json::round(v * i, 2)));
            }
            ("battery".into(), instance("instance")?, "battery_monitor")
        }
        127_506 => {
            number(&mut metrics, m, "state_of_charge", "soc", "%");
            number(&mut metrics, m, "state_of_health", "state_of_health", "%");
            if let Some(s) = m.number("time_remaining") {
                metrics.push(Metric::number("remaining_mins", "min", s / 60.0));
            }
            number(&mut metrics, m, "ripple_voltage", "ripple_voltage", "V");
            number(&mut metrics, m, "remaining_capacity", "remaining_ah", "Ah");
            // A battery's DC instance is shared with its Battery Status; other DC sources
            // (alternators, solar cells) are devices of their kind.
            let kind = match m.name("dc_type") {
                Some("battery") | None => "battery",
                Some("alternator") => "alternator",
                Some("convertor") => "converter",
                Some("solar_cell") => "solar",
                Some(_) => "dc_source",
            };
            let product = if kind == "battery" { "battery_monitor" } else { "dc_source" };
            (kind.into(), instance("instance")?, product)
        }
        127_513 => {
            number(&mut metrics, m, "capacity", "capacity", "Ah");
            code(&mut metrics, m, "battery_type", "battery_type");
            code(&mut metrics, m, "chemistry", "chemistry");
            code(&mut metrics, m, "nominal_voltage", "nominal_voltage");
            number(&mut metrics, m, "peukert_exponent", "peukert_exponent", "");
            number(&mut metrics, m, "charge_efficiency_factor", "charge_efficiency", "%");
            ("battery".into(), instance("instance")?, "battery_monitor")
        }
        127_507 => {
            code(&mut metrics, m, "operating_state", "charge_state");
            code(&mut metrics, m, "charge_mode", "charge_mode");
            code(&mut metrics, m, "enabled", "charger_enabled");
            number(&mut metrics, m, "battery_instance", "battery_instance", "");
            ("charger".into(), instance("instance")?, "charger")
        }
        127_505 => {
            let fluid = m.name("type").unwrap_or("fluid").replace('_', "-");
            number(&mut metrics, m, "level", "level", "%");
            number(&mut metrics, m, "capacity", "capacity", "L");
            if let (Some(level), Some(capacity)) = (m.number("level"), m.number("capacity")) {
                metrics.push(Metric::number("remaining", "L", crate::json::round(level / 100.0 * capacity, 1)));
            }
            code(&mut metrics, m, "type", "fluid_type");
            (format!("tank-{fluid}"), instance("instance")?, "tank")
        }
        127_488 => {
            number(&mut metrics, m, "speed", "rpm", "rpm");
            number(&mut metrics, m, "boost_pressure", "boost_pressure", "hPa");
            number(&mut metrics, m, "tilt_trim", "tilt_trim", "%");
            ("engine".into(), instance("instance")?, "engine")
        }
        127_489 => {
            number(&mut metrics, m, "oil_pressure", "oil_pressure", "hPa");
            number(&mut metrics, m, "oil_temperature", "oil_temperature", "°C");
            number(&mut metrics, m, "temperature", "coolant_temperature", "°C");
            number(&mut metrics, m, "alternator_potential", "alternator_voltage", "V");
            number(&mut metrics, m, "fuel_rate", "fuel_rate", "L/h");
            if let Some(s) = m.number("total_engine_hours") {
                metrics.push(Metric::number("engine_hours", "h", crate::json::round(s / 3600.0, 2)));
            }
            number(&mut metrics, m, "coolant_pressure", "coolant_pressure", "hPa");
            number(&mut metrics, m, "fuel_pressure", "fuel_pressure", "hPa");
            number(&mut metrics, m, "engine_load", "engine_load", "%");
            number(&mut metrics, m, "engine_torque", "engine_torque", "%");
            ("engine".into(), instance("instance")?, "engine")
        }
        127_751 => {
            number(&mut metrics, m, "dc_voltage", "voltage", "V");
            number(&mut metrics, m, "dc_current", "current", "A");
            if let (Some(v), Some(i)) = (m.number("dc_voltage"), m.number("dc_current")) {
                metrics.push(Metric::number("power", "W", crate::json::round(v * i, 2)));
            }
            ("dc".into(), instance("connection_number")?, "dc_meter")
        }
        p @ 127_744..=127_749 => {
            let phase = ["l1", "l2", "l3"][((p - 127_744) % 3) as usize];
            if p <= 127_746 {
                let current = format!("ac_{phase}_current");
                let power = format!("ac_{phase}_power");
                if let Some(v) = m.number("ac_rms_current") {
                    metrics.push(Metric::number(current, "A", v));
                }
                if let Some(v) = m.number("power") {
                    metrics.push(Metric::number(power, "W", v));
                }
            } else {
                if let Some(v) = m.number("ac_voltage_line_to_neutral") {
                    metrics.push(Metric::number(format!("ac_{phase}_voltage"), "V", v));
                }
                if let Some(v) = m.number("frequency") {
                    metrics.push(Metric::number(format!("ac_{phase}_frequency"), "Hz", v));
                }
            }
            ("ac".into(), instance("connection_number")?, "ac_meter")
        }
        p @ (130_312 | 130_316) => {
            let field = if p == 130_312 { "actual_temperature" } else { "temperature" };
            number(&mut metrics, m, field, "temperature", "°C");
            number(&mut metrics, m, "set_temperature", "set_temperature", "°C");
            code(&mut metrics, m, "source", "temperature_type");
            ("temperature".into(), instance("instance")?, "temperature")
        }
        _ => return None,
    };
    if metrics.is_empty() {
        return None;
    }
    let identity = Identity::N2k { kind, instance };
    let mut u = Update::new(at, identity, product_kind, "n2k");
    u.metrics = metrics;
    Some(u)
}

/// Places a capture's records in time: UTC stamps as they are; times of day and an NGT-1's
/// milliseconds by their offset from the anchor (the bus's own time at one record), else from
/// midnight of the date given; a time of day that falls back by more than half a day is past
/// midnight.
#[derive(Debug, Clone, Copy)]
pub struct CaptureClock {
    /// What to add to a stamp to make it a time.
    base: Option<Millis>,
    last_time_of_day: Option<u32>,
}

impl CaptureClock {
    /// With the capture's first time message (`anchor`), else `date` (days since the epoch).
    pub fn new(anchor: Option<Anchor>, date: Option<i64>) -> Self {
        let base = anchor.map(|a| a.utc_ms - a.stamp_ms as Millis).or(date.map(|d| d * DAY));
        CaptureClock { base, last_time_of_day: None }
    }

    /// The time of a record stamped `stamp`; `None` when it cannot be placed.
    pub fn place(&mut self, stamp: crate::sources::n2k::capture::Stamp) -> Option<Millis> {
        use crate::sources::n2k::capture::Stamp;
        match stamp {
            Stamp::Utc(ms) => Some(ms),
            Stamp::TimeOfDay(ms) => {
                let base = self.base.as_mut()?;
                if self.last_time_of_day.is_some_and(|last| ms + (DAY as u32) / 2 < last) {
                    *base += DAY;
                }
                self.last_time_of_day = Some(ms);
                Some(*base + Millis::from(ms))
            }
            Stamp::Gateway(ms) => Some(self.base? + Millis::from(ms)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_sender_keeps_a_quantity_while_it_talks() {
        let mut p = Priority::default();
        let bus: Arc<str> = "can0".into();
        assert!(!p.take("position", (&bus, 3), 0, false), "no position is nobody's to give");
        assert!(p.take("position", (&bus, 1), 0, true));
        assert!(!p.take("position", (&bus, 2), 1_000, true), "a second GPS waits");
        assert!(!p.take("position", (&bus, 3), 1_000, false));
        assert!(p.take("position", (&bus, 1), 2_000, true));
        assert!(p.take("wind", (&bus, 2), 2_000, true), "quantities are apart");
        assert!(p.take("position", (&bus, 1), 3_000, false), "the holder's fix loss is the boat's");
        assert!(!p.take("position", (&bus, 2), 6_999, true));
        assert!(p.take("position", (&bus, 2), 7_000, true), "no fix from the first for 5 s: the second takes over");
        assert!(!p.take("position", (&bus, 1), 8_000, true));
        assert!(!p.take("position", (&bus, 1), 14_000, false));
        assert!(p.take("position", (&bus, 1), 14_000, true), "the second fell silent");
    }
}
