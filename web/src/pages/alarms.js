// Alarms: the ones active now (with their acknowledge buttons) and every time an alarm was
// active, from the history — the same rows as `halyard alarms`. Data: /api/alarms, then the
// live stream's alarm events.

import { get, esc, num, when, acknowledge } from "../api.js";

function activeRows(list) {
  if (!list.length) return '<p class="muted" id="no-active">No alarm is active.</p>';
  const rows = list
    .map((a) => `<tr data-alarm="${esc(a.name)}"><td class="sev-${esc(a.severity)}">${esc(a.name)}</td><td>${esc(a.severity)}</td><td>${when(a.since)}</td>
      <td>${esc(a.message)}</td><td>${a.acknowledged ? "acknowledged" : `<button class="act" data-ack="${esc(a.name)}">Acknowledge</button>`}</td></tr>`)
    .join("");
  return `<table id="active"><thead><tr><th>alarm</th><th>severity</th><th>since</th><th>what</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
}

function historyRows(list) {
  if (!list.length) return '<p class="muted">No alarm in the history.</p>';
  const rows = list
    .map((e) => `<tr><td class="sev-${esc(e.severity)}">${esc(e.name)}</td><td>${esc(e.severity)}</td><td>${when(e.raised_at)}</td>
      <td>${e.cleared_at ? when(e.cleared_at) : '<span class="flag">active</span>'}</td><td>${e.acknowledged_at ? when(e.acknowledged_at) : ""}</td>
      <td>${e.value === null || e.value === undefined ? "" : num(e.value, 1)}</td><td>${esc(e.message)}</td></tr>`)
    .join("");
  return `<table id="alarm-history"><thead><tr><th>alarm</th><th>severity</th><th>raised</th><th>cleared</th><th>acknowledged</th><th>value</th><th>what</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export async function render(root, route, ctx) {
  const data = await get("/api/alarms");
  root.innerHTML = `<h1>Alarms</h1>
    <div class="card scroll" style="margin-bottom:1rem"><h2>Active</h2><div id="active-list"></div></div>
    <div class="card scroll"><h2>History (latest first)</h2>${historyRows(data.history)}</div>`;
  const draw = () => {
    const box = root.querySelector("#active-list");
    box.innerHTML = activeRows(ctx.alarms);
    for (const b of box.querySelectorAll("[data-ack]")) b.addEventListener("click", () => acknowledge(b.dataset.ack, b));
  };
  draw();
  const listener = (_, what) => what === "alarms" && draw();
  ctx.listeners.add(listener);
  return { dispose: () => ctx.listeners.delete(listener) };
}
