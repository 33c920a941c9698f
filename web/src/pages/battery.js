// Battery day: charge (+) and discharge (−) power with the voltage on a second axis, and the
// state of charge. Data: /api/day/battery (1-minute means from the store).

import { get, esc, energy, num } from "../api.js";
import { timeChart } from "../charts.js";
import { chosenDay, pickerHtml, wirePicker } from "../picker.js";

export async function render(root, route, ctx) {
  const date = chosenDay(route, ctx.status);
  const marker = route.params.get("at") ? Number(route.params.get("at")) : null;
  root.innerHTML = `<h1>Battery · ${esc(date)} ${pickerHtml(date, ctx.status.days)}</h1><p class="muted">loading…</p>`;
  const day = await get(`/api/day/battery?date=${encodeURIComponent(date)}`);
  root.innerHTML = `<h1>Battery · ${esc(date)}${day.device ? ` · ${esc(day.device)}` : ""} ${pickerHtml(date, ctx.status.days)}</h1>
    ${day.time.length ? "" : '<p class="empty">No battery recorded that day (a device with role = "battery").</p>'}
    <div class="card chart-card"><h2>Power and voltage</h2><div class="chart" id="battery-power"></div></div>
    <div class="card chart-card"><h2>State of charge</h2><div class="chart" id="battery-soc"></div></div>
    <div class="grid">
      <div class="card"><div class="row"><span>charged</span><span id="charged">${energy(day.charged_wh)}</span></div>
      <div class="row"><span>discharged</span><span id="discharged">${energy(day.discharged_wh)}</span></div>
      <div class="row"><span>lowest voltage</span><span>${num(day.lowest_v, 2)} V</span></div></div>
    </div>`;
  wirePicker(root, "battery");
  const charts = [];
  if (day.time.length) {
    charts.push(timeChart(root.querySelector("#battery-power"), "battery-power", day.time,
      [
        { label: "battery power", unit: "W", values: day.power, colour: "#5cc8a8", fill: "#5cc8a833" },
        { label: "voltage", unit: "V", values: day.voltage, colour: "#7fd1f7", scale: "v", digits: 2 },
      ],
      { marker, axes: { y: { label: "W" }, v: { label: "V" } } }));
    charts.push(timeChart(root.querySelector("#battery-soc"), "battery-soc", day.time,
      [{ label: "state of charge", unit: "%", values: day.soc, colour: "#f4c542", digits: 1 }],
      { marker, axes: { y: { label: "%", range: [0, 100] } } }));
  }
  const timer = date === ctx.status.today ? setInterval(() => window.dispatchEvent(new HashChangeEvent("hashchange")), 60000) : null;
  return { dispose: () => { charts.forEach((c) => c.destroy()); if (timer) clearInterval(timer); } };
}
