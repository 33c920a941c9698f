// History: each day's yield and consumption over weeks and months, and each MPPT's share of the
// network through the season, the view where a degrading or shaded array shows as a falling
// line. Data: /api/history (the day rollups; the same numbers as `halyard report --season`).

import { get, esc, energy, num } from "../api.js";
import { timeChart, colour } from "../charts.js";

const RANGES = [["30", "30 days"], ["90", "90 days"], ["365", "a year"], ["all", "everything"]];

export async function render(root, route, ctx) {
  const range = route.params.get("days") || "90";
  const h = await get(`/api/history?days=${encodeURIComponent(range)}`);
  const time = h.days.map((d) => d.t);
  const mppts = Object.keys(h.mppt);
  const links = RANGES.map(([v, label]) => (v === range ? `<b>${label}</b>` : `<a href="#/history?days=${v}">${label}</a>`)).join(" · ");
  const rows = mppts
    .map((m) => {
      const a = h.mppt[m];
      return `<tr><td>${esc(m)}</td><td class="num">${num(a.share_percent, 1)} %</td><td class="num">${num(a.expected_share_percent, 1)} %</td>
        <td class="num">${num(a.trend_percent_per_30_days, 1)} %</td>
        <td>${a.underperforming ? '<span class="flag">underperforming</span>' : ""} ${a.degrading ? '<span class="flag">degrading</span>' : ""}${!a.underperforming && !a.degrading ? '<span class="ok">ok</span>' : ""}</td></tr>`;
    })
    .join("");
  // The same range as a spreadsheet (`halyard export csv`): daily or hourly means per device.metric.
  const span = h.days.length ? `&from=${encodeURIComponent(h.days[0].date)}&to=${encodeURIComponent(h.days[h.days.length - 1].date)}` : "";
  const csv = h.days.length
    ? `<p class="downloads">Download as CSV: <a id="csv-daily" href="/api/export/csv?resolution=day${span}" download>daily means</a> · <a id="csv-hourly" href="/api/export/csv?resolution=1h${span}" download>hourly means</a></p>`
    : "";
  root.innerHTML = `<h1>History <span class="picker">${links}</span></h1>
    ${time.length ? "" : '<p class="empty">No day recorded yet.</p>'}${csv}
    <div class="card chart-card"><h2>Energy per day</h2><div class="chart" id="history-energy"></div></div>
    <div class="card chart-card"><h2>Each MPPT's share of the network</h2><div class="chart" id="history-share"></div></div>
    <div class="grid">
      <div class="card"><h2>Network yield over ${h.network_yield.days} days</h2>
        <div class="row"><span>median</span><span id="median-yield">${energy(h.network_yield.median_wh)}</span></div>
        <div class="row"><span>lowest</span><span>${energy(h.network_yield.min_wh)}</span></div>
        <div class="row"><span>highest</span><span>${energy(h.network_yield.max_wh)}</span></div>
        <div class="row"><span>total</span><span>${num(h.network_yield.total_kwh, 1)} kWh</span></div></div>
      <div class="card scroll"><h2>MPPTs over the range</h2><table><thead><tr><th>MPPT</th><th class="num">share</th><th class="num">expected</th><th class="num">trend / 30 d</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>
    </div>`;
  const charts = [];
  if (time.length) {
    charts.push(timeChart(root.querySelector("#history-energy"), "history-energy", time,
      [
        { label: "solar yield", unit: "Wh", values: h.days.map((d) => d.network_yield_wh ?? null), colour: "#f4c542", bars: true },
        { label: "consumption", unit: "Wh", values: h.days.map((d) => d.consumption_wh ?? null), colour: "#ef7d6b", points: true, width: 2 },
      ],
      { days: true, axes: { y: { label: "Wh" } } }));
    charts.push(timeChart(root.querySelector("#history-share"), "history-share", time,
      mppts.map((m, i) => ({ label: m, unit: "%", values: h.days.map((d) => d.share_percent?.[m] ?? null), colour: colour(i + 1), digits: 1 })),
      { days: true, axes: { y: { label: "%" } } }));
  }
  return { dispose: () => charts.forEach((c) => c.destroy()) };
}
