// Solar day, midnight to midnight: the network's power and each MPPT's (watts, not amps), the
// battery voltage against the chargers' absorption and float targets, and the yields summed
// through the day. Data: /api/day/solar (1-minute means from the store).

import { get, esc, energy, num } from "../api.js";
import { timeChart, colour } from "../charts.js";
import { chosenDay, pickerHtml, wirePicker } from "../picker.js";

export async function render(root, route, ctx) {
  const date = chosenDay(route, ctx.status);
  const marker = route.params.get("at") ? Number(route.params.get("at")) : null;
  root.innerHTML = `<h1>Solar · ${esc(date)} ${pickerHtml(date, ctx.status.days)}</h1><p class="muted">loading…</p>`;
  const day = await get(`/api/day/solar?date=${encodeURIComponent(date)}`);
  const totals = day.yield.map((s) => ({ name: s.name, wh: s.values.filter((v) => v !== null).pop() ?? null }));
  root.innerHTML = `<h1>Solar · ${esc(date)} ${pickerHtml(date, ctx.status.days)}</h1>
    ${day.time.length ? "" : '<p class="empty">Nothing recorded that day.</p>'}
    <div class="card chart-card"><h2>Power</h2><div class="chart" id="solar-power"></div></div>
    <div class="card chart-card"><h2>Battery voltage and charge targets</h2><div class="chart" id="solar-voltage"></div></div>
    <div class="card chart-card"><h2>Yield through the day</h2><div class="chart" id="solar-yield"></div></div>
    <div class="card"><h2>Yield</h2>${totals
      .map((t) => `<div class="row"><span>${esc(t.name)}</span><span data-yield="${esc(t.name)}">${energy(t.wh)}</span></div>`)
      .join("")}</div>`;
  wirePicker(root, "solar");
  const charts = [];
  if (day.time.length) {
    charts.push(timeChart(root.querySelector("#solar-power"), "solar-power", day.time,
      day.power.map((s, i) => ({ label: s.name, unit: "W", values: s.values, colour: colour(i), width: i === 0 ? 2.4 : 1.4 })),
      { marker, axes: { y: { label: "W" } } }));
    const ref = day.references;
    charts.push(timeChart(root.querySelector("#solar-voltage"), "solar-voltage", day.time,
      [
        { label: "battery", unit: "V", values: day.battery_voltage ?? day.time.map(() => null), colour: "#7fd1f7", digits: 2 },
        ...(day.target_voltage ? [{ label: "charge target", unit: "V", values: day.target_voltage, colour: "#f4c542", dash: [4, 3], digits: 2 }] : []),
      ],
      {
        marker,
        lines: [
          { value: ref.absorption_v, label: `absorption ${num(ref.absorption_v, 2)} V`, colour: "#ef7d6b" },
          { value: ref.float_v, label: `float ${num(ref.float_v, 2)} V`, colour: "#5cc8a8" },
        ],
        axes: { y: { label: "V" } },
      }));
    charts.push(timeChart(root.querySelector("#solar-yield"), "solar-yield", day.time,
      day.yield.map((s, i) => ({ label: s.name, unit: "Wh", values: s.values, colour: colour(i), width: i === 0 ? 2.4 : 1.4 })),
      { marker, axes: { y: { label: "Wh" } } }));
  }
  // Today's graphs grow: fetch again every minute.
  const timer = date === ctx.status.today ? setInterval(() => window.dispatchEvent(new HashChangeEvent("hashchange")), 60000) : null;
  return { dispose: () => { charts.forEach((c) => c.destroy()); if (timer) clearInterval(timer); } };
}
