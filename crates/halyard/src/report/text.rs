//! `halyard report` for people: the day's answers in sections — the sun and the batteries,
//! each MPPT in a table, the groups, navigation, data gaps — with local times of day, units and
//! the definitions one `--help` away.

use serde_json::Value as Json;

use crate::text::{self, Align, Page, Times};

fn yes(v: &Json) -> bool {
    v.as_bool() == Some(true)
}

/// The page; `kept` when it is the report kept when the day ended.
pub fn page(r: &Json, t: &Times, kept: bool) -> String {
    let mut p = Page::new(&format!("Report · {} ({})", t.long_date(), t.zone()));
    if kept {
        p.line("(the report kept when this day ended: its raw samples are past retention)");
    }
    p.section("Sun and batteries");
    p.row("solar started", t.at(&r["solar_start"]));
    p.row("batteries started charging", t.at(&r["charging_started"]));
    p.row("production covered consumption", t.at(&r["covered_consumption_at"]));
    p.row("batteries full", t.at(&r["full_at"]));
    p.row("solar stopped", t.at(&r["solar_stop"]));
    p.row("max charging power", text::with_unit(&r["max_charge_w"], 0, "W"));
    p.row("lowest battery voltage", text::with_unit(&r["lowest_battery_v"], 2, "V"));
    p.row("drawn from the batteries", text::energy(&r["battery_consumption_wh"]));
    let overnight = match r["overnight_since"].as_str() {
        Some(_) => format!("{} since {}", text::energy(&r["overnight_wh"]), t.at(&r["overnight_since"])),
        None => text::energy(&r["overnight_wh"]),
    };
    p.row("drawn overnight", overnight);
    p.row("discharging with the sun up", r["negative_battery_with_sun_s"].as_f64().map_or("–".into(), text::duration));
    if r.get("dump_load_wh").is_some() {
        p.row("dump-load energy", text::energy(&r["dump_load_wh"]));
    }

    p.section("Solar");
    p.row("network yield", text::energy(&r["network_yield_wh"]));
    let n = &r["network_yield_days"];
    if n["days"].as_u64().unwrap_or(0) > 0 {
        p.row(
            &format!("over {} days", n["days"]),
            format!(
                "median {}  (min {}, max {})",
                text::energy(&n["median_wh"]),
                text::energy(&n["min_wh"]),
                text::energy(&n["max_wh"])
            ),
        );
    }
    p.row("lifetime yield", text::with_unit(&r["lifetime_yield_kwh"], 1, "kWh"));
    let yields = r["yield_wh"].as_object().cloned().unwrap_or_default();
    if !yields.is_empty() {
        let pct = |v: &Json| text::with_unit(v, 1, "%");
        let rows: Vec<Vec<String>> = yields
            .iter()
            .map(|(name, wh)| {
                let a = &r["mppt"][name];
                let flags: Vec<&str> =
                    [(yes(&a["underperforming"]), "UNDERPERFORMING"), (yes(&a["degrading"]), "DEGRADING")]
                        .iter()
                        .filter(|(f, _)| *f)
                        .map(|(_, s)| *s)
                        .collect();
                vec![
                    name.clone(),
                    text::energy(wh),
                    pct(&r["share_percent"][name]),
                    pct(&a["expected_share_percent"]),
                    text::with_unit(&a["relative_to_history_percent"], 0, "%"),
                    pct(&a["trend_percent_per_30_days"]),
                    flags.join(" "),
                ]
            })
            .collect();
        p.line("");
        p.table(
            &[
                ("MPPT", Align::Left),
                ("yield", Align::Right),
                ("share", Align::Right),
                ("usual share", Align::Right),
                ("vs history", Align::Right),
                ("trend/30 d", Align::Right),
                ("", Align::Left),
            ],
            &rows,
        );
    }
    if let Some(groups) = r["group_yield_wh"].as_object() {
        let list: Vec<String> = groups.iter().map(|(g, wh)| format!("{g} {}", text::energy(wh))).collect();
        p.line("");
        p.row("groups", list.join(", "));
        p.row("yield deviation between groups", text::with_unit(&r["group_deviation_percent"], 1, "%"));
        p.row("power deviation (median)", text::with_unit(&r["group_power_deviation_percent"], 1, "%"));
    }
    if r["nav"].is_object() {
        p.section("Navigation");
        crate::nav::text::day_rows(&mut p, &r["nav"], t);
    }
    p.section("Data gaps");
    let gaps = r["data_gaps"].as_array().cloned().unwrap_or_default();
    if gaps.is_empty() {
        p.line("none");
    }
    for g in &gaps {
        p.line(t.span(&g["from"], &g["to"]));
    }
    p.line("");
    p.line("Definitions: halyard report --help; for scripts: --json.");
    p.finish()
}
