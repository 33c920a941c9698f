//! What a notification says: one alarm event in words for a phone (ntfy), a person (e-mail), a
//! machine (a webhook's JSON) and a handheld radio (one short line).

use serde_json::json;

use crate::alarms::{Event, EventKind, Severity};

/// A Meshtastic text's payload is at most 233 bytes (`DATA_PAYLOAD_LEN` in the firmware);
/// room is left for the radio's own framing of longer names.
pub const RADIO_TEXT_MAX: usize = 200;

/// One notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The alarm's name (`house-low`).
    pub alarm: String,
    /// What happened to it.
    pub kind: EventKind,
    /// How loud it is.
    pub severity: Severity,
    /// A short title: `ALARM house-low`, `Cleared: house-low`.
    pub title: String,
    /// The event's words: `house-bank.state_of_charge < 30 (28.5)`.
    pub body: String,
    /// The whole event as JSON (webhooks).
    pub json: serde_json::Value,
    /// A test message (`halyard notify test`), not an alarm.
    pub test: bool,
}

impl Message {
    /// The notification of an alarm event.
    pub fn of(e: &Event) -> Message {
        let loud = match e.severity {
            Severity::Warn => "Warning",
            Severity::Alarm => "ALARM",
            Severity::Emergency => "EMERGENCY",
        };
        let title = match e.kind {
            EventKind::Raised => format!("{loud} {}", e.alarm),
            EventKind::Repeated => format!("{loud} {} (still active)", e.alarm),
            EventKind::Acknowledged => format!("Acknowledged: {}", e.alarm),
            EventKind::Cleared => format!("Cleared: {}", e.alarm),
        };
        let json = json!({
            "alarm": e.alarm,
            "event": kind_word(e.kind),
            "severity": e.severity.to_string(),
            "at": crate::sinks::mqtt::rfc3339(e.at),
            "since": crate::sinks::mqtt::rfc3339(e.since),
            "device": e.device,
            "metric": e.metric,
            "value": e.value,
            "message": e.message,
        });
        Message {
            alarm: e.alarm.clone(),
            kind: e.kind,
            severity: e.severity,
            title,
            body: e.message.clone(),
            json,
            test: false,
        }
    }

    /// The message `halyard notify test` sends.
    pub fn test(at: crate::model::Millis) -> Message {
        let body = "Halyard can reach you here: alarms will arrive like this.".to_owned();
        let json = json!({
            "alarm": "test",
            "event": "test",
            "severity": "warn",
            "at": crate::sinks::mqtt::rfc3339(at),
            "since": crate::sinks::mqtt::rfc3339(at),
            "device": "",
            "metric": "",
            "value": null,
            "message": body,
        });
        Message {
            alarm: "test".into(),
            kind: EventKind::Raised,
            severity: Severity::Warn,
            title: "Halyard test".into(),
            body,
            json,
            test: true,
        }
    }

    /// One line for a handheld: `ALARM house-low: house-bank.state_of_charge < 30 (28.5)`, cut
    /// at a character boundary to fit a Meshtastic text.
    pub fn radio_text(&self) -> String {
        let mut text = format!("{}: {}", self.title, self.body);
        if text.len() > RADIO_TEXT_MAX {
            let mut end = RADIO_TEXT_MAX - '…'.len_utf8();
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push('…');
        }
        text
    }

    /// ntfy's priority (1 min … 5 max): an emergency is urgent, a clear is low.
    pub fn ntfy_priority(&self) -> u8 {
        match (self.kind, self.severity) {
            (EventKind::Cleared | EventKind::Acknowledged, _) => 2,
            (_, Severity::Warn) => 3,
            (_, Severity::Alarm) => 4,
            (_, Severity::Emergency) => 5,
        }
    }

    /// ntfy's tags (emoji short codes it shows before the title).
    pub fn ntfy_tags(&self) -> &'static str {
        match (self.kind, self.severity) {
            _ if self.test => "white_check_mark",
            (EventKind::Cleared, _) => "white_check_mark",
            (EventKind::Acknowledged, _) => "eyes",
            (_, Severity::Warn) => "warning",
            (_, Severity::Alarm | Severity::Emergency) => "rotating_light",
        }
    }
}

/// The event's word in the JSON (and in the store's history).
pub fn kind_word(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Raised => "raised",
        EventKind::Repeated => "repeated",
        EventKind::Acknowledged => "acknowledged",
        EventKind::Cleared => "cleared",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, message: &str) -> Event {
        Event {
            alarm: "house-low".into(),
            kind,
            at: 1_780_000_000_000,
            since: 1_779_999_000_000,
            severity: Severity::Alarm,
            device: "house-bank".into(),
            metric: "state_of_charge".into(),
            value: Some(28.5),
            message: message.into(),
        }
    }

    #[test]
    fn titles_priorities_and_json() {
        let m = Message::of(&event(EventKind::Raised, "house-bank.state_of_charge < 30 (28.5)"));
        assert_eq!(m.title, "ALARM house-low");
        assert_eq!((m.ntfy_priority(), m.ntfy_tags()), (4, "rotating_light"));
        assert_eq!(m.json["event"], "raised");
        assert_eq!(m.json["value"], 28.5);
        assert_eq!(m.json["at"], "2026-05-28T20:26:40.000Z");
        let c = Message::of(&event(EventKind::Cleared, "x"));
        assert_eq!((c.title.as_str(), c.ntfy_priority()), ("Cleared: house-low", 2));
        assert_eq!(m.radio_text(), "ALARM house-low: house-bank.state_of_charge < 30 (28.5)");
    }

    #[test]
    fn a_radio_text_fits_a_meshtastic_packet_whatever_the_script() {
        for filler in ["a", "é", "山", "🛶"] {
            let m = Message::of(&event(EventKind::Raised, &filler.repeat(400)));
            let t = m.radio_text();
            assert!(t.len() <= RADIO_TEXT_MAX, "{} bytes", t.len());
            assert!(t.ends_with('…') && t.starts_with("ALARM house-low: "), "{t}");
        }
    }
}
