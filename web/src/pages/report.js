// Report: the day's answers (`halyard report`), each linked to the graph that shows it, with a
// marker at its time. Data: /api/report (computed from the store, or the report kept when the
// day ended once its raw samples are past retention).

import { get, esc, energy, duration, hhmm, num } from "../api.js";
import { chosenDay, pickerHtml, wirePicker } from "../picker.js";

// key → [label, kind, page]: kind says how to show the value; the page has the graph.
const ANSWERS = [
  ["solar_start", "Solar started", "time", "solar"],
  ["charging_started", "Batteries started charging", "time", "battery"],
  ["covered_consumption_at", "Production first covered consumption", "time", "solar"],
  ["full_at", "Batteries full", "time", "battery"],
  ["solar_stop", "Solar stopped", "time", "solar"],
  ["max_charge_w", "Max charging power", "W", "battery"],
  ["network_yield_wh", "Network yield", "Wh", "solar"],
  ["battery_consumption_wh", "Drawn from the batteries", "Wh", "battery"],
  ["overnight_wh", "Drawn overnight", "Wh", "battery"],
  ["dump_load_wh", "Dump-load energy", "Wh", "solar"],
  ["lowest_battery_v", "Lowest battery voltage", "V", "battery"],
  ["negative_battery_with_sun_s", "Discharging while the sun was up", "s", "battery"],
  ["group_deviation_percent", "Yield deviation between groups", "%", "solar"],
  ["group_power_deviation_percent", "Power deviation between groups", "%", "solar"],
  ["data_gap_s", "Time without data", "s", "battery"],
];

function value(v, kind) {
  if (v === null || v === undefined) return "–";
  switch (kind) {
    case "time": return hhmm(v);
    case "Wh": return energy(v);
    case "W": return `${num(v)} W`;
    case "V": return `${num(v, 2)} V`;
    case "%": return `${num(v, 1)} %`;
    case "s": return duration(v);
    default: return esc(JSON.stringify(v));
  }
}

function link(page, date, at) {
  return `#/${page}/${date}${at ? `?at=${Math.round(Date.parse(at) / 1000)}` : ""}`;
}

export async function render(root, route, ctx) {
  const date = chosenDay(route, ctx.status);
  const { report: r, kept } = await get(`/api/report?date=${encodeURIComponent(date)}`);
  const answers = ANSWERS.filter(([k]) => k in r)
    .map(([k, label, kind, page]) => {
      const at = kind === "time" ? r[k] : null;
      return `<dt>${esc(label)}</dt><dd data-answer="${k}"><a href="${link(page, date, at)}">${value(r[k], kind)}</a></dd>`;
    })
    .join("");
  const yields = Object.entries(r.yield_wh || {})
    .map(([m, wh]) => {
      const p = r.mppt?.[m] || {};
      const flags = [p.underperforming && "underperforming", p.degrading && "degrading"].filter(Boolean);
      return `<tr><td><a href="#/solar/${date}">${esc(m)}</a></td><td class="num">${energy(wh)}</td><td class="num">${num(r.share_percent?.[m], 1)} %</td>
        <td class="num">${num(p.expected_share_percent, 1)} %</td><td class="num">${num(p.relative_to_history_percent, 0)} %</td>
        <td class="num">${num(p.trend_percent_per_30_days, 1)} %</td><td>${flags.map((f) => `<span class="flag">${f}</span>`).join(" ")}</td></tr>`;
    })
    .join("");
  const nav = r.nav
    ? `<dt>Max gust (3 s)</dt><dd data-answer="max_gust_kn"><a href="#/map/${date}">${num(r.nav.max_gust_kn, 1)} kn</a> at ${hhmm(r.nav.max_gust_at)}</dd>
       <dt>Max apparent wind</dt><dd><a href="#/map/${date}">${num(r.nav.max_apparent_wind_kn, 1)} kn</a></dd>
       <dt>Distance sailed</dt><dd><a href="#/map/${date}">${num(r.nav.distance_nm, 1)} nm</a></dd>
       <dt>GPS fix lost</dt><dd data-answer="fix_losses"><a href="#/map/${date}">${r.nav.fix_losses.length ? r.nav.fix_losses.map((l) => `${hhmm(l.from)}–${hhmm(l.to)}`).join(", ") : "never"}</a></dd>`
    : "";
  const gaps = (r.data_gaps || []).map((g) => `<li><a href="${link("battery", date, g.from)}">${hhmm(g.from)}–${hhmm(g.to)}</a></li>`).join("");
  const ny = r.network_yield_days;
  root.innerHTML = `<h1>Report · ${esc(date)} ${pickerHtml(date, ctx.status.days)}</h1>
    ${kept ? '<p class="muted">The report kept when this day ended (its raw samples are past retention).</p>' : ""}
    <div class="grid">
      <div class="card"><h2>The day's answers</h2><dl class="answers">${answers}${nav}</dl></div>
      <div class="card"><h2>Season</h2><dl class="answers">
        ${ny ? `<dt>Network yield, ${ny.days} day${ny.days === 1 ? "" : "s"}</dt><dd><a href="#/history">median ${energy(ny.median_wh)} (${energy(ny.min_wh)}–${energy(ny.max_wh)})</a></dd>` : ""}
        ${"lifetime_yield_kwh" in r ? `<dt>Lifetime yield</dt><dd><a href="#/history?days=all">${num(r.lifetime_yield_kwh, 1)} kWh</a></dd>` : ""}
      </dl>${gaps ? `<h2 style="margin-top:1rem">Data gaps</h2><ul>${gaps}</ul>` : ""}</div>
    </div>
    <div class="card scroll" style="margin-top:1rem"><h2>Each MPPT</h2><table><thead><tr><th>MPPT</th><th class="num">yield</th><th class="num">share</th><th class="num">expected</th><th class="num">vs own history</th><th class="num">trend / 30 d</th><th></th></tr></thead><tbody>${yields}</tbody></table>
    <p class="muted">Definitions: <code>halyard report --help</code>.</p></div>`;
  wirePicker(root, "report");
}
