//! Alarm states from readings and the passing of time: sans-I/O, so that live runs, replays
//! and imports evaluate the same rules on their own clocks (a season imported has its alarms at
//! the times they would have been raised).
//!
//! Each rule is `Normal`, `Pending` (its condition holds, not yet for `for`) or `Active`. A
//! condition that cannot be decided (a value never heard) changes nothing: an alarm is not
//! raised, nor cleared, on a value it has not got. `Active` ends when the clearing condition
//! holds (by default: the raising one no longer does), which gives hysteresis when the owner
//! writes `clear = "> 40"` under `when = "… < 30"`.
//!
//! Built in too: a device reporting a fault of its own (an MPPT's error code, a battery
//! monitor's alarm reason, a BMS's flags; [`FAULTS`]) raises `<device>-<metric>` until it reports
//! 0 again — `warn` for warnings, `alarm` otherwise.
//!
//! And a battery whose state of charge falls below `low_state_of_charge` (20 % by default)
//! raises `<device>-low-soc` at `alarm` until it is back [`SOC_HYSTERESIS`] points above — so a
//! bank hovering at the threshold while a fridge cycles does not ring every few minutes.
//!
//! Besides the configured rules, the boat's own equipment gets a built-in silence rule: not
//! heard for `silent_after` (10 min by default), `<device>-silent` is raised at `warn`, and
//! cleared when it speaks again. Own equipment is what speaks an electrical protocol
//! (VE.Direct, Victron Bluetooth, MasterBus) — not the crew's radios, the dinghy's tracker or
//! other boats, which come and go as they please (even when the configuration names them).

use std::collections::{BTreeMap, HashMap};

use super::battery::{BankWatch, Side, Verdict};
use super::rule::{AlarmRule, Comparison, Condition, RuleError, Severity};
use crate::model::Millis;

/// Metrics in which a device reports its own fault (VE.Direct `ERR`/`AR`/`WARN`, Instant
/// Readout's error and alarm fields, BMS and Lynx flags): anything but 0 is a fault, 0 clears
/// it. Counters of past alarms (`low_voltage_alarms`) are history, not faults, and not here.
const FAULTS: [&str; 9] = [
    "charger_error",
    "error",
    "error_code",
    "error_flags",
    "alarm",
    "alarm_reason",
    "alarm_flags",
    "warning_reason",
    "warning",
];

/// The protocols of a boat's own electrical equipment (the model's `via` names).
const ELECTRICAL: [&str; 4] = ["vedirect", "venetworking", "instant_readout", "masterbus"];

/// A battery's state of charge: Victron's name (VE.Direct `SOC`, Instant Readout) and
/// MasterBus's ("State of Charge").
const STATE_OF_CHARGE: [&str; 2] = ["soc", "state_of_charge"];

/// A battery's voltage, by Victron's and MasterBus's names (a SmartShunt's `voltage`, a BMV's
/// and a MasterShunt's `battery_voltage`).
const BANK_VOLTAGE: [&str; 2] = ["voltage", "battery_voltage"];

/// Points above `low_state_of_charge` a battery must be back to clear `<device>-low-soc`.
pub const SOC_HYSTERESIS: f64 = 10.0;
/// The default `low_state_of_charge`, %: below it a lead bank ages fast and a lithium bank's BMS
/// is near its cut-off.
pub const LOW_STATE_OF_CHARGE: f64 = 20.0;

/// A device not heard for this long is silent (issue: `silent_after`, default 10 min).
pub const SILENT_AFTER_MS: Millis = 10 * 60_000;

/// What happened to an alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// It became active.
    Raised,
    /// Still active, not acknowledged, `repeat` later.
    Repeated,
    /// Someone said they know.
    Acknowledged,
    /// Its clearing condition holds.
    Cleared,
}

/// One change of an alarm, for MQTT, the store and notifiers.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The alarm's name.
    pub alarm: String,
    /// What happened.
    pub kind: EventKind,
    /// When (the readings' clock).
    pub at: Millis,
    /// When the alarm became active (`at` for a raise or a clear).
    pub since: Millis,
    /// How loud.
    pub severity: Severity,
    /// The device and metric of the rule's first comparison (the silent device for silence).
    pub device: String,
    /// See `device`; empty for silence.
    pub metric: String,
    /// That metric's value then, when known.
    pub value: Option<f64>,
    /// In words: `house-bank.state_of_charge < 30 (28.5)`, `stbd-arch not heard for 12 min`.
    pub message: String,
}

impl Event {
    /// Whether the alarm is active after this event.
    pub fn active(&self) -> bool {
        matches!(self.kind, EventKind::Raised | EventKind::Repeated | EventKind::Acknowledged)
    }

    /// The alarm's state after this event, as MQTT retains it and the dashboard shows it:
    /// `{"state":"active","since":…,"severity":…,"device":…,"metric":…,"value":…,"message":…,
    /// "acknowledged":false}`.
    pub fn state_json(&self) -> serde_json::Value {
        serde_json::json!({
            "state": if self.active() { "active" } else { "normal" },
            "since": crate::sinks::mqtt::rfc3339(self.since),
            "severity": self.severity.to_string(),
            "device": self.device,
            "metric": self.metric,
            "value": self.value,
            "message": self.message,
            "acknowledged": self.kind == EventKind::Acknowledged,
        })
    }
}

/// Where a rule stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not holding.
    Normal,
    /// Holding since, not yet for long enough.
    Pending {
        /// Since when.
        since: Millis,
    },
    /// Raised.
    Active {
        /// Raised at.
        since: Millis,
        /// Last notified (raised or repeated) at.
        notified: Millis,
        /// Acknowledged at.
        acknowledged: Option<Millis>,
    },
}

#[derive(Debug)]
struct Armed {
    rule: AlarmRule,
    clear: Option<Condition>,
    state: State,
}

/// The alarms of one gateway.
#[derive(Debug)]
pub struct Alarms {
    armed: Vec<Armed>,
    values: HashMap<(String, String), f64>,
    /// Device → last heard.
    heard: BTreeMap<String, Millis>,
    /// Device → silence raised at (and acknowledged at).
    silent: BTreeMap<String, Builtin>,
    silent_after: Millis,
    /// Built-in fault alarms active, by alarm name.
    faults: BTreeMap<String, Builtin>,
    /// Whether devices' own faults raise alarms.
    device_faults: bool,
    /// Below this state of charge (%) a battery raises `<device>-low-soc`; 0: never.
    low_soc: f64,
    /// Batteries' voltage watches, by device (`None`: voltage alarms off).
    banks: Option<HashMap<String, BankWatch>>,
    /// Devices the rules name.
    named: std::collections::HashSet<String>,
    now: Millis,
}

impl Alarms {
    /// Arm `rules`; a device is silent after `silent_after` ms (0: never).
    pub fn new(rules: &[AlarmRule], silent_after: Millis) -> Result<Alarms, (String, RuleError)> {
        let armed = rules
            .iter()
            .map(|r| {
                let clear = r.clear_condition().map_err(|e| (r.name.clone(), e))?;
                Ok(Armed { rule: r.clone(), clear, state: State::Normal })
            })
            .collect::<Result<Vec<Armed>, _>>()?;
        let named = armed
            .iter()
            .flat_map(|a| a.rule.when.comparisons().chain(a.clear.iter().flat_map(|c| c.comparisons())))
            .map(|c| c.device.clone())
            .collect();
        Ok(Alarms {
            armed,
            values: HashMap::new(),
            heard: BTreeMap::new(),
            silent: BTreeMap::new(),
            silent_after,
            faults: BTreeMap::new(),
            device_faults: true,
            low_soc: LOW_STATE_OF_CHARGE,
            banks: Some(HashMap::new()),
            named,
            now: Millis::MIN,
        })
    }

    /// Whether devices' own fault codes raise alarms (on by default).
    pub fn with_device_faults(mut self, on: bool) -> Self {
        self.device_faults = on;
        self
    }

    /// Below `percent` state of charge a battery raises `<device>-low-soc` (0: never).
    pub fn with_low_state_of_charge(mut self, percent: f64) -> Self {
        self.low_soc = percent;
        self
    }

    /// Battery voltage alarms on (with each configured bank's chemistry and nominal voltage)
    /// or off.
    pub fn with_battery_voltage(mut self, on: bool, banks: impl IntoIterator<Item = (String, BankWatch)>) -> Self {
        self.banks = on.then(|| banks.into_iter().collect());
        self
    }

    /// A reading of `device`'s `metric` at `at`; the device is watched for silence.
    pub fn reading(&mut self, device: &str, metric: &str, value: f64, at: Millis, out: &mut Vec<Event>) {
        self.heard(device, at, out);
        self.value(device, metric, value, at, out);
        self.tick(at, out);
    }

    /// A value for the rules and the fault codes.
    fn value(&mut self, device: &str, metric: &str, value: f64, at: Millis, out: &mut Vec<Event>) {
        if self.device_faults && FAULTS.contains(&metric) {
            self.fault(device, metric, value, at, out);
        }
        if self.low_soc > 0.0 && STATE_OF_CHARGE.contains(&metric) {
            self.state_of_charge(device, value, at, out);
        }
        self.values.insert((device.to_owned(), metric.to_owned()), value);
        let concerned = |c: &Comparison| c.device == device && c.metric == metric;
        for i in 0..self.armed.len() {
            let a = &self.armed[i];
            if a.rule.when.comparisons().any(concerned)
                || a.clear.as_ref().is_some_and(|c| c.comparisons().any(concerned))
            {
                self.evaluate(i, at, out);
            }
        }
    }

    /// What a model change says: that its device was heard (watched for silence when it is the
    /// boat's own equipment), and its numbers.
    pub fn change(&mut self, change: &crate::model::Change, out: &mut Vec<Event>) {
        let device = &change.device.name;
        let own = change.device.via.iter().any(|p| ELECTRICAL.contains(p));
        if own {
            self.heard(device, change.at, out);
        }
        // Other boats and the crew's radios are neither watched nor, unless a rule names them,
        // remembered (over a season they would only grow); their time still moves the clock on.
        if own || self.named.contains(device.as_str()) {
            let bank = own && change.device.role.as_deref() == Some("battery");
            for m in &change.changed {
                if let Some(v) = m.value.as_ref().and_then(|v| v.as_f64()) {
                    if bank && BANK_VOLTAGE.contains(&m.name.as_ref()) {
                        self.bank_voltage(device, &m.name, v, change.at, out);
                    }
                    self.value(device, &m.name, v, change.at, out);
                }
            }
        }
        self.tick(change.at, out);
    }

    /// `device` was heard at `at` (any update, even one without numbers).
    pub fn heard(&mut self, device: &str, at: Millis, out: &mut Vec<Event>) {
        let last = self.heard.entry(device.to_owned()).or_insert(at);
        *last = (*last).max(at);
        if let Some(b) = self.silent.remove(device) {
            out.push(b.event(
                silent_name(device),
                EventKind::Cleared,
                at,
                at,
                None,
                format!("{device} is heard again"),
            ));
        }
    }

    fn fault(&mut self, device: &str, metric: &str, value: f64, at: Millis, out: &mut Vec<Event>) {
        let name = format!("{device}-{metric}");
        if value != 0.0 && !self.faults.contains_key(&name) {
            let severity = if metric.starts_with("warning") { Severity::Warn } else { Severity::Alarm };
            let b = Builtin::raised(at, severity, device, metric);
            let message = format!("{device} reports {metric} {value}");
            out.push(b.event(name.clone(), EventKind::Raised, at, at, Some(value), message));
            self.faults.insert(name, b);
        } else if value == 0.0 {
            if let Some(b) = self.faults.remove(&name) {
                out.push(b.event(
                    name,
                    EventKind::Cleared,
                    at,
                    at,
                    Some(value),
                    format!("{device}: {metric} back to 0"),
                ));
            }
        }
    }

    /// The built-in low battery alarm (kept with the faults: one acknowledgement path).
    fn state_of_charge(&mut self, device: &str, value: f64, at: Millis, out: &mut Vec<Event>) {
        let name = format!("{device}-low-soc");
        let clear_at = (self.low_soc + SOC_HYSTERESIS).min(100.0);
        if value < self.low_soc && !self.faults.contains_key(&name) {
            let b = Builtin::raised(at, Severity::Alarm, device, "state_of_charge");
            let message = format!("{device} at {value:.1} % (below {} %)", self.low_soc);
            out.push(b.event(name.clone(), EventKind::Raised, at, at, Some(value), message));
            self.faults.insert(name, b);
        } else if value >= clear_at {
            if let Some(b) = self.faults.remove(&name) {
                let message = format!("{device} back to {value:.0} %");
                out.push(b.event(name, EventKind::Cleared, at, at, Some(value), message));
            }
        }
    }

    /// A battery's voltage, against its chemistry's limits (`alarms::battery`).
    fn bank_voltage(&mut self, device: &str, metric: &str, volts: f64, at: Millis, out: &mut Vec<Event>) {
        let Some(banks) = self.banks.as_mut() else { return };
        let watch = banks.entry(device.to_owned()).or_default();
        let chemistry = watch.chemistry.map_or("chemistry not said".to_owned(), |c| format!("{c:?}").to_lowercase());
        match watch.reading(volts, at) {
            Some(Verdict::Raise(side, l)) => {
                let name = format!("{device}-{}", side.suffix());
                let (word, limit) = match side {
                    Side::Low => ("below", l.low),
                    Side::High => ("above", l.high),
                };
                let nominal = watch.nominal.unwrap_or_default();
                let message =
                    format!("{device} at {volts:.2} V ({word} {limit:.1} V for a {nominal:.0} V bank, {chemistry})");
                let b = Builtin::raised(at, Severity::Alarm, device, metric);
                out.push(b.event(name.clone(), EventKind::Raised, at, at, Some(volts), message));
                self.faults.insert(name, b);
            }
            Some(Verdict::Clear(side, _)) => {
                let name = format!("{device}-{}", side.suffix());
                if let Some(b) = self.faults.remove(&name) {
                    let message = format!("{device} back to {volts:.2} V");
                    out.push(b.event(name, EventKind::Cleared, at, at, Some(volts), message));
                }
            }
            None => {}
        }
    }

    /// Time has passed (a live second, or the next reading of a replay).
    pub fn tick(&mut self, at: Millis, out: &mut Vec<Event>) {
        if at <= self.now {
            return;
        }
        self.now = at;
        for i in 0..self.armed.len() {
            let a = &mut self.armed[i];
            match a.state {
                State::Pending { since } if at - since >= a.rule.hold_ms => self.evaluate(i, at, out),
                State::Active { notified, acknowledged: None, .. }
                    if a.rule.repeat > 0 && at - notified >= a.rule.repeat =>
                {
                    if let State::Active { notified, .. } = &mut a.state {
                        *notified = at;
                    }
                    let e = event(a, EventKind::Repeated, at, &self.values);
                    out.push(e);
                }
                _ => {}
            }
        }
        if self.silent_after > 0 {
            for (device, last) in &self.heard {
                if at - last >= self.silent_after && !self.silent.contains_key(device) {
                    let b = Builtin::raised(at, Severity::Warn, device, "");
                    let message = format!("{device} not heard for {}", minutes(at - last));
                    out.push(b.event(silent_name(device), EventKind::Raised, at, at, None, message));
                    self.silent.insert(device.clone(), b);
                }
            }
        }
    }

    /// The owner knows: no more repeats until it clears and is raised again.
    pub fn acknowledge(&mut self, name: &str, at: Millis) -> Option<Event> {
        if let Some(a) = self.armed.iter_mut().find(|a| a.rule.name == name) {
            if let State::Active { acknowledged: ack @ None, .. } = &mut a.state {
                *ack = Some(at);
                return Some(event(a, EventKind::Acknowledged, at, &self.values));
            }
            return None;
        }
        let silent = name.strip_suffix("-silent");
        let b = match self.faults.get_mut(name) {
            Some(b) => b,
            None => self.silent.get_mut(silent?)?,
        };
        if b.acknowledged.is_some() {
            return None;
        }
        b.acknowledged = Some(at);
        Some(b.event(name.to_owned(), EventKind::Acknowledged, at, b.since, None, "acknowledged".into()))
    }

    /// Each configured rule's name and state.
    pub fn states(&self) -> impl Iterator<Item = (&str, State)> {
        self.armed.iter().map(|a| (a.rule.name.as_str(), a.state))
    }

    /// Devices silent now, with since when.
    pub fn silent(&self) -> impl Iterator<Item = (&str, Millis)> {
        self.silent.iter().map(|(d, b)| (d.as_str(), b.since))
    }

    fn evaluate(&mut self, i: usize, at: Millis, out: &mut Vec<Event>) {
        let values = &self.values;
        let value = |c: &Comparison| values.get(&(c.device.clone(), c.metric.clone())).copied();
        let a = &mut self.armed[i];
        let when = a.rule.when.holds(value);
        match a.state {
            State::Normal | State::Pending { .. } => match when {
                Some(false) => a.state = State::Normal,
                None => {}
                Some(true) => {
                    let since = match a.state {
                        State::Pending { since } => since,
                        _ => at,
                    };
                    if at - since >= a.rule.hold_ms {
                        a.state = State::Active { since: at, notified: at, acknowledged: None };
                        out.push(event(a, EventKind::Raised, at, values));
                    } else {
                        a.state = State::Pending { since };
                    }
                }
            },
            State::Active { .. } => {
                let cleared = match &a.clear {
                    Some(c) => c.holds(value),
                    None => when.map(|w| !w),
                };
                if cleared == Some(true) {
                    a.state = State::Normal;
                    out.push(event(a, EventKind::Cleared, at, values));
                }
            }
        }
    }
}

/// A built-in alarm while active (a silent device, a device's fault code).
#[derive(Debug, Clone)]
struct Builtin {
    since: Millis,
    acknowledged: Option<Millis>,
    severity: Severity,
    device: String,
    /// Empty for silence.
    metric: String,
}

impl Builtin {
    fn raised(at: Millis, severity: Severity, device: &str, metric: &str) -> Self {
        Builtin { since: at, acknowledged: None, severity, device: device.to_owned(), metric: metric.to_owned() }
    }

    fn event(
        &self,
        alarm: String,
        kind: EventKind,
        at: Millis,
        since: Millis,
        value: Option<f64>,
        message: String,
    ) -> Event {
        Event {
            alarm,
            kind,
            at,
            since,
            severity: self.severity,
            device: self.device.clone(),
            metric: self.metric.clone(),
            value,
            message,
        }
    }
}

/// The built-in silence alarm's name for `device`.
pub fn silent_name(device: &str) -> String {
    format!("{device}-silent")
}

fn minutes(ms: Millis) -> String {
    let m = ms / 60_000;
    if m == 0 {
        format!("{} s", ms / 1000)
    } else if m < 120 {
        format!("{m} min")
    } else {
        format!("{} h {} min", m / 60, m % 60)
    }
}

fn event(a: &Armed, kind: EventKind, at: Millis, values: &HashMap<(String, String), f64>) -> Event {
    let first = a.rule.when.comparisons().next().expect("a parsed condition has a comparison");
    let value = values.get(&(first.device.clone(), first.metric.clone())).copied();
    let now = value.map(|v| format!(" (now {v})")).unwrap_or_default();
    let message = match kind {
        EventKind::Raised | EventKind::Repeated => format!("{}{now}", a.rule.when),
        EventKind::Acknowledged => format!("acknowledged: {}{now}", a.rule.when),
        EventKind::Cleared => match &a.clear {
            Some(c) => format!("cleared: {c}{now}"),
            None => format!("cleared: no longer {}{now}", a.rule.when),
        },
    };
    let since = match a.state {
        State::Active { since, .. } => since,
        _ => at,
    };
    Event {
        alarm: a.rule.name.clone(),
        kind,
        at,
        since,
        severity: a.rule.severity,
        device: first.device.clone(),
        metric: first.metric.clone(),
        value,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Millis = 60_000;

    fn alarms(toml_rules: &str, silent_after: Millis) -> Alarms {
        #[derive(serde::Deserialize)]
        struct File {
            alarm: Vec<AlarmRule>,
        }
        let f: File = toml::from_str(toml_rules).unwrap();
        Alarms::new(&f.alarm, silent_after).unwrap()
    }

    fn kinds(events: &[Event]) -> Vec<(String, EventKind, Millis)> {
        events.iter().map(|e| (e.alarm.clone(), e.kind, e.at)).collect()
    }

    const LOW: &str = "[[alarm]]\nname = \"low\"\nwhen = \"bank.soc < 30\"\nfor = \"5m\"\nclear = \"> 40\"\n";

    #[test]
    fn raised_after_holding_for_its_time_and_cleared_with_hysteresis() {
        let mut a = alarms(LOW, 0);
        let mut out = Vec::new();
        a.reading("bank", "soc", 50.0, 0, &mut out);
        a.reading("bank", "soc", 29.0, MIN, &mut out);
        a.reading("bank", "soc", 28.0, 3 * MIN, &mut out);
        assert!(out.is_empty(), "not yet 5 min: {out:?}");
        a.reading("bank", "soc", 31.0, 4 * MIN, &mut out); // recovers: the wait starts again
        a.reading("bank", "soc", 29.0, 5 * MIN, &mut out);
        a.tick(9 * MIN, &mut out);
        assert!(out.is_empty(), "{out:?}");
        a.tick(10 * MIN, &mut out); // 5 min since 5 min, by time alone
        assert_eq!(kinds(&out), [("low".into(), EventKind::Raised, 10 * MIN)]);
        assert_eq!(out[0].value, Some(29.0));
        assert!(out[0].message.contains("bank.soc < 30"), "{}", out[0].message);
        out.clear();
        a.reading("bank", "soc", 35.0, 11 * MIN, &mut out);
        assert!(out.is_empty(), "35 % is above 30 but not above the clearing 40: {out:?}");
        a.reading("bank", "soc", 41.0, 12 * MIN, &mut out);
        assert_eq!(kinds(&out), [("low".into(), EventKind::Cleared, 12 * MIN)]);
    }

    #[test]
    fn an_unknown_value_neither_raises_nor_clears() {
        let mut a = alarms("[[alarm]]\nname = \"x\"\nwhen = \"a.v < 1 and b.v < 1\"\n", 0);
        let mut out = Vec::new();
        a.reading("a", "v", 0.0, 0, &mut out);
        a.tick(MIN, &mut out);
        assert!(out.is_empty(), "b.v never heard: {out:?}");
        a.reading("b", "v", 0.0, 2 * MIN, &mut out);
        assert_eq!(kinds(&out), [("x".into(), EventKind::Raised, 2 * MIN)], "no `for`: at once");
    }

    #[test]
    fn repeats_until_acknowledged() {
        let mut a =
            alarms("[[alarm]]\nname = \"x\"\nwhen = \"a.v > 5\"\nrepeat = \"10m\"\nseverity = \"emergency\"\n", 0);
        let mut out = Vec::new();
        a.reading("a", "v", 6.0, 0, &mut out);
        a.tick(9 * MIN, &mut out);
        a.tick(10 * MIN, &mut out);
        a.tick(15 * MIN, &mut out);
        a.tick(20 * MIN, &mut out);
        assert_eq!(
            kinds(&out),
            [
                ("x".into(), EventKind::Raised, 0),
                ("x".into(), EventKind::Repeated, 10 * MIN),
                ("x".into(), EventKind::Repeated, 20 * MIN)
            ]
        );
        assert!(out.iter().all(|e| e.severity == Severity::Emergency));
        let ack = a.acknowledge("x", 21 * MIN).unwrap();
        assert_eq!(ack.kind, EventKind::Acknowledged);
        assert_eq!(a.acknowledge("x", 22 * MIN), None, "once");
        out.clear();
        a.tick(60 * MIN, &mut out);
        assert!(out.is_empty(), "acknowledged: no repeat {out:?}");
        a.reading("a", "v", 4.0, 61 * MIN, &mut out);
        a.reading("a", "v", 7.0, 62 * MIN, &mut out);
        assert_eq!(
            kinds(&out),
            [("x".into(), EventKind::Cleared, 61 * MIN), ("x".into(), EventKind::Raised, 62 * MIN)]
        );
        assert!(matches!(a.states().next(), Some(("x", State::Active { acknowledged: None, .. }))));
    }

    #[test]
    fn a_silent_device_is_raised_once_and_cleared_when_heard() {
        let mut a = alarms("[[alarm]]\nname = \"x\"\nwhen = \"a.v > 5\"\n", SILENT_AFTER_MS);
        let mut out = Vec::new();
        a.reading("stbd-arch", "panel_power", 100.0, 0, &mut out);
        a.reading("bank", "soc", 80.0, 9 * MIN, &mut out);
        assert!(out.is_empty());
        a.reading("bank", "soc", 80.0, 10 * MIN, &mut out);
        a.reading("bank", "soc", 80.0, 11 * MIN, &mut out);
        assert_eq!(kinds(&out), [("stbd-arch-silent".into(), EventKind::Raised, 10 * MIN)]);
        assert_eq!(out[0].message, "stbd-arch not heard for 10 min");
        assert_eq!(a.silent().collect::<Vec<_>>(), [("stbd-arch", 10 * MIN)]);
        assert_eq!(a.acknowledge("stbd-arch-silent", 12 * MIN).unwrap().kind, EventKind::Acknowledged);
        out.clear();
        a.reading("bank", "soc", 80.0, 25 * MIN, &mut out); // heard before its own 10 min passed
        a.reading("stbd-arch", "panel_power", 90.0, 30 * MIN, &mut out);
        assert_eq!(kinds(&out), [("stbd-arch-silent".into(), EventKind::Cleared, 30 * MIN)]);
        assert_eq!(a.silent().count(), 0);
    }

    #[test]
    fn a_clear_that_cannot_be_written_is_refused_with_the_rules_name() {
        #[derive(serde::Deserialize)]
        struct File {
            alarm: Vec<AlarmRule>,
        }
        let f: File =
            toml::from_str("[[alarm]]\nname = \"both\"\nwhen = \"a.v < 1 or b.v < 1\"\nclear = \"> 2\"\n").unwrap();
        let (name, e) = Alarms::new(&f.alarm, 0).unwrap_err();
        assert_eq!((name.as_str(), e), ("both", RuleError::ClearNeedsCondition));
    }

    #[test]
    fn a_low_battery_is_raised_below_the_threshold_and_cleared_ten_points_above() {
        let mut a = alarms("[[alarm]]\nname = \"x\"\nwhen = \"a.v > 5\"\n", 0);
        let mut out = Vec::new();
        for (i, soc) in [35.0, 21.0, 19.6, 18.0, 25.0, 29.9, 19.0, 30.0, 50.0].into_iter().enumerate() {
            let metric = if i % 2 == 0 { "soc" } else { "state_of_charge" };
            a.reading("house-bank", metric, soc, i as Millis * MIN, &mut out);
        }
        let name = || "house-bank-low-soc".to_owned();
        // 25 and 29.9 % are not 10 points above 20: still low; 19 % then is the same episode.
        assert_eq!(kinds(&out), [(name(), EventKind::Raised, 2 * MIN), (name(), EventKind::Cleared, 7 * MIN)]);
        assert_eq!((out[0].severity, out[0].value), (Severity::Alarm, Some(19.6)));
        assert_eq!(out[0].message, "house-bank at 19.6 % (below 20 %)");
        let mut off = alarms("[[alarm]]\nname = \"x\"\nwhen = \"a.v > 5\"\n", 0).with_low_state_of_charge(0.0);
        out.clear();
        off.reading("house-bank", "state_of_charge", 3.0, 0, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn a_devices_own_fault_code_raises_until_it_is_zero() {
        let mut a = alarms("[[alarm]]\nname = \"x\"\nwhen = \"a.v > 5\"\n", 0);
        let mut out = Vec::new();
        a.reading("port-arch", "charger_error", 0.0, 0, &mut out);
        a.reading("port-arch", "charger_error", 17.0, MIN, &mut out);
        a.reading("port-arch", "charger_error", 17.0, 2 * MIN, &mut out);
        a.reading("house-bank", "warning_reason", 2.0, 2 * MIN, &mut out);
        a.reading("house-bank", "low_voltage_alarms", 3.0, 2 * MIN, &mut out);
        assert_eq!(
            kinds(&out),
            [
                ("port-arch-charger_error".into(), EventKind::Raised, MIN),
                ("house-bank-warning_reason".into(), EventKind::Raised, 2 * MIN)
            ]
        );
        assert_eq!((out[0].severity, out[1].severity), (Severity::Alarm, Severity::Warn));
        assert_eq!(out[0].message, "port-arch reports charger_error 17");
        assert_eq!(a.acknowledge("port-arch-charger_error", 3 * MIN).unwrap().since, MIN);
        out.clear();
        a.reading("port-arch", "charger_error", 0.0, 4 * MIN, &mut out);
        assert_eq!(kinds(&out), [("port-arch-charger_error".into(), EventKind::Cleared, 4 * MIN)]);
        let mut quiet = alarms("[[alarm]]\nname = \"x\"\nwhen = \"a.v > 5\"\n", 0).with_device_faults(false);
        quiet.reading("port-arch", "charger_error", 17.0, 0, &mut out);
        assert_eq!(out.len(), 1, "switched off");
    }

    fn change(device: &str, via: &'static str, metric: &'static str, v: f64, at: Millis) -> crate::model::Change {
        let info = crate::model::DeviceInfo {
            name: device.into(),
            role: None,
            group: None,
            kind: "x".into(),
            product: None,
            identities: Vec::new(),
            via: vec![via],
            configured: true,
        };
        crate::model::Change {
            at,
            device: std::sync::Arc::new(info),
            device_changed: false,
            changed: vec![crate::model::Metric::number(metric, "", v)],
            new_metrics: Vec::new(),
            raw: Vec::new(),
            state: Default::default(),
        }
    }

    /// A battery's voltage against its chemistry, through model changes: only for a device whose
    /// role is `battery` (an MPPT's `battery_voltage` is the same bank seen through a cable's
    /// drop), only after a minute, and acknowledged like any built-in alarm.
    #[test]
    fn a_battery_out_of_its_chemistrys_limits_for_a_minute_is_raised() {
        let lfp = super::super::battery::BankWatch::new(Some(super::super::battery::Chemistry::Lifepo4), Some(12.0));
        let mut a = Alarms::new(&[], 0).unwrap().with_battery_voltage(true, [("house".to_owned(), lfp)]);
        let bank = |v: f64, at: Millis| {
            let mut c = change("house", "instant_readout", "voltage", v, at);
            std::sync::Arc::make_mut(&mut c.device).role = Some("battery".into());
            c
        };
        let mut out = Vec::new();
        a.change(&change("mppt", "vedirect", "battery_voltage", 11.0, 0), &mut out);
        a.change(&change("mppt", "vedirect", "battery_voltage", 11.0, 120_000), &mut out);
        assert!(out.is_empty(), "not a battery: {out:?}");
        for (v, at) in [(11.9, 0), (11.9, 30_000), (11.9, 60_000)] {
            a.change(&bank(v, at), &mut out);
        }
        assert_eq!(kinds(&out), [("house-low-voltage".into(), EventKind::Raised, 60_000)]);
        assert!(out[0].message.contains("below 12.0 V for a 12 V bank, lifepo4"), "{}", out[0].message);
        assert!(a.acknowledge("house-low-voltage", 61_000).is_some());
        a.change(&bank(13.0, 100_000), &mut out);
        a.change(&bank(13.0, 160_000), &mut out);
        assert_eq!(kinds(&out[1..]), [("house-low-voltage".into(), EventKind::Cleared, 160_000)]);
        // Off: nothing.
        let mut off = Alarms::new(&[], 0).unwrap().with_battery_voltage(false, []);
        let mut out = Vec::new();
        for at in [0, 60_000, 120_000] {
            off.change(&bank(10.0, at), &mut out);
        }
        assert!(out.is_empty());
    }

    /// Through model changes: the boat's electrical equipment is watched for silence, the
    /// crew's radios (even configured) are not, and are not even remembered — unless a rule
    /// names them.
    #[test]
    fn changes_watch_own_equipment_only() {
        let mut a = alarms("[[alarm]]\nname = \"dinghy-far\"\nwhen = \"dinghy.distance > 500\"\n", SILENT_AFTER_MS);
        let mut out = Vec::new();
        a.change(&change("port-arch", "vedirect", "panel_power", 100.0, 0), &mut out);
        a.change(&change("anna", "meshtastic", "battery_level", 80.0, 0), &mut out);
        a.change(&change("dinghy", "meshtastic", "distance", 100.0, 0), &mut out);
        a.change(&change("dinghy", "meshtastic", "distance", 600.0, 11 * MIN), &mut out);
        assert_eq!(
            kinds(&out),
            [
                ("dinghy-far".into(), EventKind::Raised, 11 * MIN),
                ("port-arch-silent".into(), EventKind::Raised, 11 * MIN)
            ]
        );
        assert!(!a.heard.contains_key("anna"), "a radio no rule names is not kept");
    }

    /// Whatever order readings arrive in, an alarm is never cleared without having been
    /// raised, and raised/cleared alternate for each alarm.
    #[test]
    fn raised_and_cleared_alternate_for_any_readings() {
        use proptest::prelude::*;
        proptest!(|(readings in proptest::collection::vec((0u8..2, 0.0f64..100.0, 0i64..120_000), 1..200))| {
            let mut a = alarms(LOW, 0);
            let mut out = Vec::new();
            let mut at = 0;
            for (which, v, dt) in readings {
                at += dt;
                let metric = if which == 0 { "soc" } else { "other" };
                a.reading("bank", metric, v, at, &mut out);
            }
            // Per alarm: the rule's, and the built-in low state of charge on the same readings.
            let mut active = std::collections::HashMap::new();
            for e in &out {
                let active = active.entry(e.alarm.clone()).or_insert(false);
                match e.kind {
                    EventKind::Raised => { prop_assert!(!*active); *active = true; }
                    EventKind::Cleared => { prop_assert!(*active); *active = false; }
                    _ => {}
                }
            }
        });
    }
}
