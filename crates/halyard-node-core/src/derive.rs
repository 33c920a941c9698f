//! Values a device's own readings imply, computed the same way on the gateway and on the node:
//! Watts rather than Amps wherever both are known (monitorPowerToMQTT's owner asks for it).

/// Which power a device gets from which voltage and current (the first name present wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerRule {
    /// The metric published: `battery_power` (positive charging), `output_power` (a
    /// charger's), `power` (a DC energy meter's, a dump load's).
    pub metric: &'static str,
    /// Voltage metrics, in order of preference.
    pub volts: &'static [&'static str],
    /// Current metrics, in order of preference.
    pub amps: &'static [&'static str],
}

/// The rule for a device of `kind` with the configured `role`, if any.
pub fn power_rule(kind: &str, role: Option<&str>) -> Option<PowerRule> {
    let battery =
        role == Some("battery") || (role.is_none() && matches!(kind, "battery_monitor" | "dc_shunt" | "battery"));
    if battery {
        Some(PowerRule {
            metric: "battery_power",
            volts: &["battery_voltage", "voltage"],
            amps: &["battery_current", "current"],
        })
    } else if role == Some("dump_load") || kind == "dc_energy_meter" {
        Some(PowerRule { metric: "power", volts: &["voltage"], amps: &["current"] })
    } else if kind == "solar_charger" {
        Some(PowerRule {
            metric: "output_power",
            volts: &["battery_voltage"],
            amps: &["battery_charging_current", "battery_current"],
        })
    } else {
        None
    }
}

/// `v` rounded to `decimals` (at most 6), half away from zero, as `f64::round` does — which
/// `core` does not have. Negative zero becomes zero.
pub fn round(v: f64, decimals: u32) -> f64 {
    const SCALE: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
    let s = SCALE[decimals.min(6) as usize];
    let x = v * s;
    // Beyond 2^52 every f64 is already an integer (and NaN, ±∞ stay what they are).
    if x.is_nan() || x.abs() >= 4_503_599_627_370_496.0 {
        return x / s + 0.0;
    }
    let t = x as i64 as f64; // truncated toward zero
    let r = if x - t >= 0.5 {
        t + 1.0
    } else if t - x >= 0.5 {
        t - 1.0
    } else {
        t
    };
    r / s + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The same as std's `f64::round`, which the gateway uses, for every value.
        #[test]
        fn round_is_std_round(v in proptest::num::f64::ANY, d in 0u32..4) {
            let s = [1.0f64, 10.0, 100.0, 1000.0][d as usize];
            let expected = (v * s).round() / s + 0.0;
            let got = round(v, d);
            prop_assert!(got == expected || (got.is_nan() && expected.is_nan()), "{v} {d}: {got} vs {expected}");
        }
    }

    #[test]
    fn halves_away_from_zero() {
        assert_eq!(round(2.5, 0), 3.0);
        assert_eq!(round(-2.5, 0), -3.0);
        assert_eq!(round(13.25 * 4.1, 1), 54.3);
        assert_eq!(round(-0.04, 1).to_bits(), 0.0f64.to_bits(), "no negative zero");
    }

    #[test]
    fn rules_by_kind_and_role() {
        assert_eq!(power_rule("solar_charger", None).unwrap().metric, "output_power");
        assert_eq!(power_rule("dc_shunt", None).unwrap().metric, "battery_power");
        assert_eq!(power_rule("solar_charger", Some("battery")).unwrap().metric, "battery_power");
        assert_eq!(power_rule("dc_energy_meter", Some("dump_load")).unwrap().metric, "power");
        assert_eq!(power_rule("inverter_charger", None), None);
    }
}
