//! What an `[[alarm]]` says: a condition on devices' metrics, how long it must hold, what clears
//! it, how loud it is.
//!
//! ```toml
//! [[alarm]]
//! name = "house-bank-low"
//! when = "house-bank.state_of_charge < 30"
//! for = "5m"
//! clear = "> 40"          # or a whole condition; default: `when` no longer holds
//! severity = "alarm"      # warn | alarm | emergency
//! repeat = "1h"           # notify again while active and not acknowledged
//! ```
//!
//! A condition is comparisons `DEVICE.METRIC OP NUMBER` (`<`, `<=`, `>`, `>=`, `==`, `!=`) joined
//! by `and` and `or` (`and` binds tighter, as everywhere); parentheses are not needed for the
//! rules boats write and are not accepted, so that a rule reads the same to everyone.

use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::model::Millis;

/// How loud an alarm is; Home Assistant's and Signal K's words map onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing (a device went quiet).
    Warn,
    /// Act soon (the bank is low).
    #[default]
    Alarm,
    /// Act now (the anchor drags).
    Emergency,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warn => "warn",
            Severity::Alarm => "alarm",
            Severity::Emergency => "emergency",
        })
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Below,
    /// `<=`
    AtMost,
    /// `>`
    Above,
    /// `>=`
    AtLeast,
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
}

impl Op {
    /// Whether `value OP threshold`.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Below => value < threshold,
            Op::AtMost => value <= threshold,
            Op::Above => value > threshold,
            Op::AtLeast => value >= threshold,
            Op::Equal => value == threshold,
            Op::NotEqual => value != threshold,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Op::Below => "<",
            Op::AtMost => "<=",
            Op::Above => ">",
            Op::AtLeast => ">=",
            Op::Equal => "==",
            Op::NotEqual => "!=",
        }
    }

    /// Split a leading operator off `text`.
    fn split(text: &str) -> Option<(Op, &str)> {
        // Two-character operators first: `<=` is not `<` followed by `=5`.
        for (t, op) in [("<=", Op::AtMost), (">=", Op::AtLeast), ("==", Op::Equal), ("!=", Op::NotEqual)] {
            if let Some(rest) = text.strip_prefix(t) {
                return Some((op, rest));
            }
        }
        for (t, op) in [("<", Op::Below), (">", Op::Above)] {
            if let Some(rest) = text.strip_prefix(t) {
                return Some((op, rest));
            }
        }
        None
    }
}

/// `DEVICE.METRIC OP NUMBER`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// A configured device's name (or the name Halyard gave it).
    pub device: String,
    /// One of its metrics, as on `halyard/<device>/<metric>`.
    pub metric: String,
    /// The operator.
    pub op: Op,
    /// The number, in the metric's unit.
    pub threshold: f64,
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{} {} {}", self.device, self.metric, self.op.text(), self.threshold)
    }
}

/// Comparisons joined by `or` of `and`s.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Any of these groups, each holding when all its comparisons hold.
    pub any: Vec<Vec<Comparison>>,
}

/// A rule that cannot be understood, said so that the owner can fix the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    /// Nothing to compare.
    Empty,
    /// A comparison that is not `DEVICE.METRIC OP NUMBER`.
    Comparison(String),
    /// The number after the operator.
    Number(String),
    /// A duration that is not `30s`, `5m`, `1h30m`, `2d`.
    Duration(String),
    /// `clear = "> 40"` on a rule of several comparisons: which one would it be about?
    ClearNeedsCondition,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::Empty => write!(f, "an empty condition; write e.g. `house-bank.state_of_charge < 30`"),
            RuleError::Comparison(t) => {
                write!(f, "`{t}` is not DEVICE.METRIC OP NUMBER (OP one of < <= > >= == !=), e.g. `house-bank.voltage < 12.1`")
            }
            RuleError::Number(t) => write!(f, "`{t}` is not a number"),
            RuleError::Duration(t) => write!(f, "`{t}` is not a duration like 30s, 5m, 1h30m or 2d"),
            RuleError::ClearNeedsCondition => write!(
                f,
                "`clear` as `OP NUMBER` needs a `when` of one comparison; with `and`/`or` write the whole condition"
            ),
        }
    }
}

impl std::error::Error for RuleError {}

fn number(text: &str) -> Result<f64, RuleError> {
    let t = text.trim();
    t.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| RuleError::Number(t.to_owned()))
}

impl Comparison {
    /// Parse `DEVICE.METRIC OP NUMBER`.
    pub fn parse(text: &str) -> Result<Comparison, RuleError> {
        let t = text.trim();
        let bad = || RuleError::Comparison(t.to_owned());
        let at = t.find(['<', '>', '=', '!']).ok_or_else(bad)?;
        let (subject, rest) = t.split_at(at);
        let (op, value) = Op::split(rest).ok_or_else(bad)?;
        let (device, metric) = subject.trim().split_once('.').ok_or_else(bad)?;
        let word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_/".contains(c));
        if !word(device) || !word(metric) {
            return Err(bad());
        }
        Ok(Comparison { device: device.to_owned(), metric: metric.to_owned(), op, threshold: number(value)? })
    }
}

impl Condition {
    /// Parse comparisons joined by `and` / `or`.
    pub fn parse(text: &str) -> Result<Condition, RuleError> {
        if text.trim().is_empty() {
            return Err(RuleError::Empty);
        }
        let any = split_word(text, "or")
            .into_iter()
            .map(|group| split_word(group, "and").into_iter().map(Comparison::parse).collect())
            .collect::<Result<Vec<Vec<_>>, _>>()?;
        Ok(Condition { any })
    }

    /// Whether it holds, given each comparison's current value (`None`: not known, and then
    /// neither is the answer — an alarm neither raises nor clears on a value it has not got).
    pub fn holds(&self, value: impl Fn(&Comparison) -> Option<f64>) -> Option<bool> {
        let mut unknown = false;
        for group in &self.any {
            let mut all = Some(true);
            for c in group {
                match value(c).map(|v| c.op.holds(v, c.threshold)) {
                    Some(false) => {
                        all = Some(false);
                        break;
                    }
                    Some(true) => {}
                    None => all = None,
                }
            }
            match all {
                Some(true) => return Some(true),
                None => unknown = true,
                Some(false) => {}
            }
        }
        if unknown {
            None
        } else {
            Some(false)
        }
    }

    /// Every comparison, in order.
    pub fn comparisons(&self) -> impl Iterator<Item = &Comparison> {
        self.any.iter().flatten()
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, group) in self.any.iter().enumerate() {
            if i > 0 {
                f.write_str(" or ")?;
            }
            for (j, c) in group.iter().enumerate() {
                if j > 0 {
                    f.write_str(" and ")?;
                }
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// Split on a whole word (`or` in `port-or-stbd.x` is not a joint).
fn split_word<'a>(text: &'a str, word: &str) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(found) = text[i..].find(word) {
        let at = i + found;
        let end = at + word.len();
        let before = at == 0 || bytes[at - 1].is_ascii_whitespace();
        let after = end == text.len() || bytes[end].is_ascii_whitespace();
        if before && after {
            parts.push(&text[start..at]);
            start = end;
        }
        i = end;
    }
    parts.push(&text[start..]);
    parts
}

/// Parse `30s`, `5m`, `1h30m`, `2d`, `0` into milliseconds.
pub fn duration(text: &str) -> Result<Millis, RuleError> {
    let t = text.trim();
    let bad = || RuleError::Duration(t.to_owned());
    if t == "0" {
        return Ok(0);
    }
    let mut total: Millis = 0;
    let mut digits = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: Millis = match c {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            _ => return Err(bad()),
        };
        let n: Millis = digits.parse().map_err(|_| bad())?;
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() || t.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// `[alarms]`: the built-in rules' settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlarmSettings {
    /// A device not heard for this long raises `<device>-silent` (ms; `"0"` switches it off).
    #[serde(deserialize_with = "millis")]
    pub silent_after: Millis,
    /// A device's own fault code (an MPPT's error, a monitor's alarm reason) raises
    /// `<device>-<metric>`.
    pub device_faults: bool,
    /// Below this state of charge (%), a battery raises `<device>-low-soc` until it is back
    /// 10 points above; 0 switches it off.
    pub low_state_of_charge: f64,
    /// A battery's voltage outside its chemistry's limits for a minute raises
    /// `<device>-low-voltage` or `<device>-high-voltage` (`alarms::battery`).
    pub battery_voltage: bool,
    /// An MPPT the daily report finds underperforming or degrading raises
    /// `<device>-underperforming` / `<device>-degrading` (`alarms::performance`).
    pub mppt_performance: bool,
    /// The notifiers the built-in alarms tell (`[notify.<name>]` names); empty: MQTT, Home
    /// Assistant and the dashboard only.
    pub notify: Vec<String>,
}

impl Default for AlarmSettings {
    fn default() -> Self {
        AlarmSettings {
            silent_after: super::engine::SILENT_AFTER_MS,
            device_faults: true,
            low_state_of_charge: super::engine::LOW_STATE_OF_CHARGE,
            battery_voltage: true,
            mppt_performance: true,
            notify: Vec::new(),
        }
    }
}

/// `[[alarm]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmRule {
    /// Its name, in topics (`halyard/alarm/<name>`): lower case, digits, `-`, `_`.
    pub name: String,
    /// When it is raised.
    #[serde(deserialize_with = "condition")]
    pub when: Condition,
    /// How long `when` must hold first (ms).
    #[serde(rename = "for", default, deserialize_with = "millis")]
    pub hold_ms: Millis,
    /// What clears it: `OP NUMBER` about the one comparison, or a whole condition. Default: `when`
    /// no longer holds.
    #[serde(default)]
    pub clear: Option<String>,
    /// How loud.
    #[serde(default)]
    pub severity: Severity,
    /// Notify again this often while active and not acknowledged (ms; 0 = once).
    #[serde(default, deserialize_with = "millis")]
    pub repeat: Millis,
    /// The notifiers to tell (`[notify.*]` names); empty: MQTT, Home Assistant and the dashboard only.
    #[serde(default)]
    pub notify: Vec<String>,
}

impl AlarmRule {
    /// The clearing condition: the written one, or `OP NUMBER` applied to the single comparison
    /// of `when`, or `None` (cleared when `when` stops holding).
    pub fn clear_condition(&self) -> Result<Option<Condition>, RuleError> {
        let Some(text) = self.clear.as_deref() else { return Ok(None) };
        let t = text.trim();
        if let Some((op, value)) = Op::split(t) {
            let mut only = self.when.comparisons();
            let (Some(c), None) = (only.next(), only.next()) else { return Err(RuleError::ClearNeedsCondition) };
            let c = Comparison { op, threshold: number(value)?, ..c.clone() };
            return Ok(Some(Condition { any: vec![vec![c]] }));
        }
        Condition::parse(t).map(Some)
    }
}

fn condition<'de, D: Deserializer<'de>>(d: D) -> Result<Condition, D::Error> {
    let text = String::deserialize(d)?;
    Condition::parse(&text).map_err(serde::de::Error::custom)
}

fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
    let text = String::deserialize(d)?;
    duration(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_and_joints() {
        let c = Condition::parse("house-bank.state_of_charge < 30").unwrap();
        assert_eq!(c.any.len(), 1);
        assert_eq!(c.any[0][0].device, "house-bank");
        assert_eq!(c.any[0][0].op, Op::Below);
        let c = Condition::parse("a.voltage<=12.1 and a.current >= -5 or port-or-stbd.x != 0").unwrap();
        assert_eq!(c.any.len(), 2, "{c}");
        assert_eq!(c.any[0].len(), 2);
        assert_eq!(c.any[0][0].op, Op::AtMost);
        assert_eq!(c.any[0][1].threshold, -5.0);
        assert_eq!(c.any[1][0].device, "port-or-stbd", "`or` inside a name is no joint");
        assert_eq!(c.to_string(), "a.voltage <= 12.1 and a.current >= -5 or port-or-stbd.x != 0");
    }

    #[test]
    fn bad_conditions_say_what_is_wrong() {
        assert_eq!(Condition::parse("  "), Err(RuleError::Empty));
        assert!(matches!(Condition::parse("voltage < 12"), Err(RuleError::Comparison(_))));
        assert!(matches!(Condition::parse("a.voltage < twelve"), Err(RuleError::Number(_))));
        assert!(matches!(Condition::parse("a.voltage < NaN"), Err(RuleError::Number(_))));
        assert!(matches!(Condition::parse("a.voltage 12"), Err(RuleError::Comparison(_))));
        assert!(matches!(Condition::parse("a.voltage < 12 and"), Err(RuleError::Comparison(_))));
        assert!(matches!(Condition::parse("a.b c.d < 1"), Err(RuleError::Comparison(_))));
    }

    #[test]
    fn unknown_values_decide_nothing() {
        let c = Condition::parse("a.x < 1 or b.y > 5").unwrap();
        let with = |a: Option<f64>, b: Option<f64>| c.holds(|cmp| if cmp.device == "a" { a } else { b });
        assert_eq!(with(Some(0.0), None), Some(true), "one known true branch is enough");
        assert_eq!(with(Some(2.0), None), None, "false and unknown: unknown");
        assert_eq!(with(Some(2.0), Some(1.0)), Some(false));
        let and = Condition::parse("a.x < 1 and b.y > 5").unwrap();
        assert_eq!(and.holds(|c| if c.device == "a" { Some(2.0) } else { None }), Some(false), "one false: false");
    }

    #[test]
    fn durations() {
        assert_eq!(duration("30s"), Ok(30_000));
        assert_eq!(duration("5m"), Ok(300_000));
        assert_eq!(duration("1h30m"), Ok(5_400_000));
        assert_eq!(duration("2d"), Ok(172_800_000));
        assert_eq!(duration("0"), Ok(0));
        for bad in ["", "5", "m", "5x", "1.5h", "99999999999999999999d", "-5m"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    fn rule(toml_text: &str) -> Result<AlarmRule, String> {
        toml::from_str(toml_text).map_err(|e| e.to_string())
    }

    #[test]
    fn a_rule_from_toml_with_its_clear() {
        let r = rule(
            "name = \"low\"\nwhen = \"house-bank.state_of_charge < 30\"\nfor = \"5m\"\nclear = \"> 40\"\nseverity = \"emergency\"\nrepeat = \"1h\"\n",
        )
        .unwrap();
        assert_eq!(r.hold_ms, 300_000);
        assert_eq!(r.severity, Severity::Emergency);
        assert_eq!(r.repeat, 3_600_000);
        let clear = r.clear_condition().unwrap().unwrap();
        assert_eq!(clear.to_string(), "house-bank.state_of_charge > 40");

        let two = rule("name = \"x\"\nwhen = \"a.v < 1 and b.v < 2\"\nclear = \"> 3\"\n").unwrap();
        assert_eq!(two.clear_condition(), Err(RuleError::ClearNeedsCondition));
        let whole = rule("name = \"x\"\nwhen = \"a.v < 1 and b.v < 2\"\nclear = \"a.v > 3\"\n").unwrap();
        assert_eq!(whole.clear_condition().unwrap().unwrap().to_string(), "a.v > 3");
        assert_eq!(whole.severity, Severity::Alarm, "the default");
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        let e = rule("name = \"x\"\nwhen = \"voltage < 12\"\n").unwrap_err();
        assert!(e.contains("DEVICE.METRIC OP NUMBER"), "{e}");
        let e = rule("name = \"x\"\nwhen = \"a.v < 12\"\nfor = \"soon\"\n").unwrap_err();
        assert!(e.contains("not a duration"), "{e}");
        let e = rule("name = \"x\"\nwhen = \"a.v < 12\"\nseverity = \"panic\"\n").unwrap_err();
        assert!(e.contains("warn") && e.contains("emergency"), "{e}");
        let e = rule("name = \"x\"\nwhen = \"a.v < 12\"\nthen = 1\n").unwrap_err();
        assert!(e.contains("then"), "{e}");
    }
}
