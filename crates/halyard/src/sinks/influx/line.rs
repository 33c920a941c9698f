//! InfluxDB line protocol: `measurement,device=house-bank voltage=13.31,state="bulk" <ns>`.
//!
//! The escaping rules are the protocol's (InfluxDB 1.x and 2.x "line protocol" reference):
//! measurement names escape commas and spaces; tag keys, tag values and field keys escape commas,
//! equals signs and spaces; string field values are double-quoted with `"` and `\` escaped. A
//! line cannot hold a newline anywhere, so newlines become spaces. Numbers are written without
//! the `i` suffix, so every number is a float field: InfluxDB refuses a point whose field changes
//! type, and a value that happens to be whole (14 V) must not make `voltage` an integer.
//! NaN and infinities have no spelling in the protocol and are left out, as are times outside
//! the signed 64-bit nanoseconds InfluxDB keeps (1677 to 2262: a clock glitch, not a reading).
//!
//! One tag, `device`: the same series whether written live by the sink or back-filled by
//! `halyard export influx` from the store (which keeps only the device's name).

use std::fmt::Write;

/// A field's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field<'a> {
    /// A float field.
    Number(f64),
    /// A string field.
    Text(&'a str),
}

fn push_escaped(out: &mut String, text: &str, special: &[char]) {
    for c in text.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '\\' if special.contains(&c) => out.push_str("\\\\"),
            c if special.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

/// Append one point to `out` (with its newline); false, and nothing appended, when no field
/// has a value the protocol can carry (a point needs at least one field) or the time is out of
/// InfluxDB's range.
pub fn push_point<'a>(
    out: &mut String,
    measurement: &str,
    device: &str,
    fields: impl IntoIterator<Item = (&'a str, Field<'a>)>,
    at_ms: i64,
) -> bool {
    let Some(ns) = at_ms.checked_mul(1_000_000) else { return false };
    let start = out.len();
    push_escaped(out, measurement, &[',', ' ']);
    out.push_str(",device=");
    // A tag value ending in a backslash would escape the separator after it; none of ours do,
    // but a configured name could.
    push_escaped(out, device.trim_end_matches('\\'), &[',', '=', ' ']);
    let mut first = true;
    for (key, value) in fields {
        // `time` is the point's own column, and a field cannot share the tag's name.
        if key.is_empty() || key == "time" || key == "device" {
            continue;
        }
        if matches!(value, Field::Number(v) if !v.is_finite()) {
            continue;
        }
        out.push(if first { ' ' } else { ',' });
        first = false;
        push_escaped(out, key, &[',', '=', ' ']);
        out.push('=');
        match value {
            Field::Number(v) => {
                let _ = write!(out, "{v}");
            }
            Field::Text(t) => {
                out.push('"');
                push_escaped(out, t, &['"', '\\']);
                out.push('"');
            }
        }
    }
    if first {
        out.truncate(start);
        return false;
    }
    let _ = writeln!(out, " {ns}");
    true
}

/// The points of one batch (one per line).
pub fn count(batch: &[u8]) -> usize {
    batch.iter().filter(|b| **b == b'\n').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(device: &str, fields: &[(&str, Field)], at: i64) -> String {
        let mut out = String::new();
        push_point(&mut out, "halyard", device, fields.iter().copied(), at);
        out
    }

    #[test]
    fn the_protocol_reference_examples() {
        assert_eq!(
            point(
                "house-bank",
                &[("voltage", Field::Number(13.31)), ("state_of_charge", Field::Number(71.8))],
                1_700_000_000_123
            ),
            "halyard,device=house-bank voltage=13.31,state_of_charge=71.8 1700000000123000000\n"
        );
        // Whole numbers stay floats (no `i`), text is quoted.
        assert_eq!(
            point("mppt", &[("voltage", Field::Number(14.0)), ("charge_state", Field::Text("bulk"))], 0),
            "halyard,device=mppt voltage=14,charge_state=\"bulk\" 0\n"
        );
        // Escapes: commas, equals and spaces in tags and keys; quotes and backslashes in strings.
        assert_eq!(
            point("port arch,1=a", &[("a b", Field::Text(r#"say "hi" \ bye"#))], 1),
            "halyard,device=port\\ arch\\,1\\=a a\\ b=\"say \\\"hi\\\" \\\\ bye\" 1000000\n"
        );
        assert_eq!(
            point("x", &[("note", Field::Text("two\nlines"))], 2),
            "halyard,device=x note=\"two lines\" 2000000\n"
        );
    }

    #[test]
    fn a_point_without_a_field_the_protocol_can_carry_is_left_out() {
        assert_eq!(point("x", &[("v", Field::Number(f64::NAN)), ("time", Field::Number(1.0))], 1), "");
        assert_eq!(
            point("x", &[("v", Field::Number(f64::INFINITY)), ("w", Field::Number(2.5))], 1),
            "halyard,device=x w=2.5 1000000\n"
        );
        assert_eq!(count(b"a v=1 1\nb v=2 2\n"), 2);
    }

    #[test]
    fn times_out_of_influxdbs_range_are_left_out() {
        assert_eq!(point("x", &[("v", Field::Number(1.0))], -5), "halyard,device=x v=1 -5000000\n");
        assert_eq!(point("x", &[("v", Field::Number(1.0))], i64::MAX), "");
        assert_eq!(point("x", &[("v", Field::Number(1.0))], 9_223_372_036_855), "");
    }
}
