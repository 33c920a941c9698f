// The dashboard's shell: hash routes (#/solar/2026-06-21), the live connection (server-sent
// events from /api/live), and the state the pages and the end-to-end tests read.

import { get, acknowledge, clock, esc, hhmm } from "./api.js";
import { registry } from "./charts.js";
import * as overview from "./pages/overview.js";
import * as solar from "./pages/solar.js";
import * as battery from "./pages/battery.js";
import * as history from "./pages/history.js";
import * as report from "./pages/report.js";
import * as devices from "./pages/devices.js";
import * as map from "./pages/map.js";
import * as mesh from "./pages/mesh.js";
import * as alarms from "./pages/alarms.js";
import * as node from "./pages/node.js";

const PAGES = { overview, solar, battery, history, report, map, mesh, alarms, devices, node };

/** What every page may read: the server's status and the live device table. */
export const ctx = {
  status: null,
  devices: new Map(),
  /** Active alarms, loudest first: [{ name, severity, since, message, acknowledged, … }]. */
  alarms: [],
  /** The anchor watch: { state: "up" | "down" | "dragging", latitude, longitude, radius, … }. */
  anchor: { state: "up" },
  liveEvents: 0,
  /** The server's clock (simulated in the demo), from its ticks. */
  serverNow: Date.now(),
  listeners: new Set(),
};
window.halyard = { ctx, charts: registry, rendered: 0 };

let current = null;

/** `#/solar/2026-06-21?at=1782028800` → { page, date, params }. */
function route() {
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  const [page, date] = path.split("/");
  return { page: PAGES[page] ? page : "overview", date: date || null, params: new URLSearchParams(query || "") };
}

let shown = 0;

async function show() {
  const r = route();
  const token = ++shown;
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.page === r.page);
  if (current?.dispose) current.dispose();
  current = null;
  const main = document.getElementById("page");
  main.dataset.page = r.page;
  main.dataset.ready = "false";
  // Each page draws into a fresh element: a page still loading when the user moves on (or a
  // late timer of the page before) writes into a detached one and cannot overwrite this one.
  const root = document.createElement("div");
  main.replaceChildren(root);
  let page = null;
  try {
    page = (await PAGES[r.page].render(root, r, ctx)) || null;
  } catch (e) {
    console.warn(e);
    root.innerHTML = `<p class="empty">Could not load this page: ${String(e.message || e).replace(/</g, "&lt;")}</p>`;
  }
  if (token !== shown) {
    page?.dispose?.();
    return;
  }
  current = page;
  main.dataset.ready = "true";
  window.halyard.rendered += 1;
}

function applySnapshot(list) {
  ctx.devices.clear();
  for (const d of list) ctx.devices.set(d.name, d);
}

function applyChanges(changes) {
  for (const c of changes) {
    const d = ctx.devices.get(c.device) || { name: c.device, values: {}, via: [] };
    if (c.info) Object.assign(d, c.info, { values: d.values });
    Object.assign(d.values, c.values);
    d.last_seen = Math.max(d.last_seen || 0, c.at);
    ctx.devices.set(c.device, d);
  }
  ctx.liveEvents += changes.length;
  for (const f of ctx.listeners) f(changes);
}

/** The banner under the header: every active alarm, with its acknowledge button. */
function renderBanner() {
  const banner = document.getElementById("alarm-banner");
  banner.hidden = ctx.alarms.length === 0;
  banner.innerHTML = ctx.alarms
    .map((a) => `<div class="alarm ${esc(a.severity)}${a.acknowledged ? " acknowledged" : ""}" data-alarm="${esc(a.name)}">
      <span class="what"><b>${a.severity === "emergency" ? "⚠ " : ""}${esc(a.name)}</b>${esc(a.message)}</span>
      <span>since ${hhmm(a.since)}</span>
      ${a.acknowledged ? "<span>acknowledged</span>" : `<button class="act" data-ack="${esc(a.name)}">Acknowledge</button>`}
      <a href="#/alarms">all alarms</a></div>`)
    .join("");
  for (const b of banner.querySelectorAll("[data-ack]")) b.addEventListener("click", () => acknowledge(b.dataset.ack, b));
  document.title = ctx.alarms.some((a) => !a.acknowledged) ? `(${ctx.alarms.length}) Halyard` : "Halyard";
}

function setAlarms(list) {
  ctx.alarms = list || [];
  renderBanner();
  for (const f of ctx.listeners) f([], "alarms");
}

function setAnchor(state) {
  ctx.anchor = state || { state: "up" };
  for (const f of ctx.listeners) f([], "anchor");
}

function connect() {
  const badge = document.getElementById("live");
  const es = new EventSource("/api/live");
  es.addEventListener("snapshot", (e) => {
    const snapshot = JSON.parse(e.data);
    applySnapshot(snapshot.devices);
    setAlarms(snapshot.alarms);
    setAnchor(snapshot.anchor);
    for (const f of ctx.listeners) f([]);
  });
  es.addEventListener("alarms", (e) => setAlarms(JSON.parse(e.data)));
  es.addEventListener("anchor", (e) => setAnchor(JSON.parse(e.data)));
  es.addEventListener("changes", (e) => applyChanges(JSON.parse(e.data)));
  es.addEventListener("tick", (e) => (ctx.serverNow = JSON.parse(e.data).now_ms));
  es.onopen = () => {
    badge.classList.add("on");
    badge.textContent = "live";
  };
  // EventSource reconnects by itself; say so meanwhile.
  es.onerror = () => {
    badge.classList.remove("on");
    badge.textContent = "reconnecting…";
  };
}

async function start() {
  ctx.status = await get("/api/status");
  ctx.serverNow = ctx.status.now_ms;
  clock.timezone = ctx.status.timezone;
  connect();
  window.addEventListener("hashchange", show);
  await show();
}

start().catch((e) => {
  document.getElementById("page").innerHTML = `<p class="empty">Halyard is not answering: ${e.message}</p>`;
});
