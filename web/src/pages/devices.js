// Devices: everything Halyard has heard, when, how much and how well (frames, decode errors by
// kind), and whether its key works; never the key itself. Sources: every receiver (adapters,
// ESPHome proxies, gateways, a GX), when it was last heard, what it brought, what was already
// taken from another receiver, and why it failed. Data: /api/devices.

import { get, esc, num, age } from "../api.js";

const KEY = { ok: ["ok", "key works"], mismatch: ["bad", "wrong key"], missing: ["bad", "no key configured"], network: ["ok", "network key works"], none: ["muted", "no key needed"] };

/** Who heard a device: each receiver, its best signal, and how many adverts it passed on. */
function heardBy(receivers) {
  if (!receivers || !receivers.length) return "";
  const one = (r) => `${esc(r.receiver)}${r.best_rssi == null ? "" : ` ${r.best_rssi} dBm`} (${num(r.adverts)})`;
  return `<div class="muted receivers">heard by ${receivers.map(one).join(", ")}</div>`;
}

export async function render(root, route, ctx) {
  const d = await get("/api/devices");
  const now = ctx.serverNow;
  const errors = (e) => Object.entries(e || {}).map(([k, n]) => `${esc(k)} ${num(n)}`).join(", ") || "0";
  const devices = d.devices
    .map((x) => {
      const [cls, text] = KEY[x.key] || ["muted", x.key];
      return `<tr data-device="${esc(x.name)}"><td><b>${esc(x.name)}</b><div class="muted">${esc(x.product || x.kind)}</div></td>
        <td>${esc(x.role || "")}${x.group ? ` · ${esc(x.group)}` : ""}</td><td>${x.via.map(esc).join(", ")}<div class="muted">${x.identities.map(esc).join(", ")}</div>${heardBy(x.receivers)}</td>
        <td>${x.last_seen ? age(x.last_seen, now) : "never"}</td><td class="num">${num(x.updates)}</td><td class="num">${num(x.frames)}</td><td>${errors(x.errors)}</td>
        <td class="${cls}">${text}</td></tr>`;
    })
    .join("");
  const sources = d.sources
    .map((s) => `<tr data-source="${esc(s.source)}"><td>${esc(s.source)}</td><td class="${s.up === false ? "bad" : "ok"}">${s.up === null ? "" : s.up ? "up" : "down"}</td><td>${s.last_heard ? age(s.last_heard, now) : ""}</td><td class="num">${num(s.frames)}</td><td class="num">${s.duplicates ? num(s.duplicates) : ""}</td><td>${errors(s.errors)}</td><td class="num">${num(s.reconnects)}</td></tr>`)
    .join("");
  const unknown = d.unknown
    .map((u) => `<tr><td>${esc(u.identity)}</td><td class="num">${num(u.frames)}</td><td>${errors(u.errors)}</td></tr>`)
    .join("");
  root.innerHTML = `<h1>Devices <a class="aside" href="#/node">Add a node</a></h1>
    <div class="card scroll"><table id="devices"><thead><tr><th>device</th><th>role</th><th>heard via</th><th>last seen</th><th class="num">updates</th><th class="num">frames</th><th>decode errors</th><th>key</th></tr></thead><tbody>${devices}</tbody></table></div>
    <div class="grid" style="margin-top:1rem">
      <div class="card scroll"><h2>Sources</h2><table id="sources"><thead><tr><th>source</th><th></th><th>last heard</th><th class="num">frames</th><th class="num">heard twice</th><th>errors</th><th class="num">reopened</th></tr></thead><tbody>${sources}</tbody></table></div>
      ${unknown ? `<div class="card scroll"><h2>In range, not decoded</h2><table><thead><tr><th>address</th><th class="num">adverts</th><th>why</th></tr></thead><tbody>${unknown}</tbody></table></div>` : ""}
    </div>`;
  const timer = setInterval(() => window.dispatchEvent(new HashChangeEvent("hashchange")), 10000);
  return { dispose: () => clearInterval(timer) };
}
