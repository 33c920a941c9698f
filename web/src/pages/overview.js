// Overview: where the power goes right now. Solar (each MPPT) → battery ← loads, the state of
// charge and each charger's state, from the live device table.

import { esc, num, pick, METRIC, age, stateName, silent, staleMark } from "../api.js";

const byRole = (ctx, role) => [...ctx.devices.values()].filter((d) => d.role === role);
const isSolar = (d) => d.role === "solar" || (!d.role && d.kind === "solar_charger");

/** The numbers of the power flow from the live table (exported for the tests' arithmetic). */
export function flow(ctx) {
  const chargers = [...ctx.devices.values()].filter(isSolar).sort((a, b) => a.name.localeCompare(b.name));
  const solar = chargers.map((d) => ({
    name: d.name,
    watts: pick(d.values, METRIC.pv),
    state: stateName(d.values),
    // What the charger delivers on the battery side: V × I when it says, else its PV power.
    out: (() => {
      const v = pick(d.values, METRIC.volts), a = pick(d.values, METRIC.amps);
      return v !== null && a !== null ? v * a : pick(d.values, METRIC.pv);
    })(),
  }));
  const network = ctx.devices.get("solar/network");
  const solarW = pick(network?.values, ["panel_power"]) ?? solar.reduce((s, c) => s + (c.watts || 0), 0);
  const bank = byRole(ctx, "battery").find((d) => d.values?.battery_power) || byRole(ctx, "battery")[0];
  const batteryW = pick(bank?.values, ["battery_power"]);
  const dump = byRole(ctx, "dump_load").reduce((s, d) => s + (pick(d.values, ["power"]) || 0), 0);
  const delivered = solar.reduce((s, c) => s + (c.out || 0), 0);
  const loadsW = batteryW === null ? null : Math.max(0, delivered - batteryW);
  return {
    solar, solarW, dump,
    bank: bank && {
      name: bank.name,
      watts: batteryW,
      volts: pick(bank.values, METRIC.volts),
      soc: pick(bank.values, METRIC.soc) ?? byRole(ctx, "battery").map((d) => pick(d.values, METRIC.soc)).find((v) => v !== null) ?? null,
    },
    loadsW,
  };
}

function html(ctx) {
  const f = flow(ctx);
  if (!ctx.devices.size) return `<p class="empty">No device heard yet. Halyard shows them here as soon as they talk.</p>`;
  const now = ctx.serverNow;
  const mppts = f.solar
    .map((c) => `<div class="row"><span>${esc(c.name)} ${c.state ? `<span class="state">${esc(c.state)}</span>` : ""}</span><span data-metric="pv:${esc(c.name)}">${staleMark(ctx, c.name, `${num(c.watts)} W`)}</span></div>`)
    .join("");
  // The network's total is no more current than the chargers it adds up.
  const allSilent = f.solar.length > 0 && f.solar.every((c) => silent(ctx, c.name));
  const b = f.bank;
  const charging = b?.watts > 5, discharging = b?.watts < -5;
  const chargerStates = [...ctx.devices.values()]
    .filter((d) => stateName(d.values) !== null)
    .map((d) => `<div class="row"><span>${esc(d.name)}</span><span class="state">${esc(stateName(d.values))}</span></div>`)
    .join("");
  return `<h1>Now aboard</h1>
  <div class="card flow" style="margin-bottom:1rem">
    <div class="solar"><h2>Solar</h2><div class="big" id="solar-w">${allSilent ? `<span class="stale">${num(f.solarW)}</span>` : num(f.solarW)}<span class="unit">W</span></div>${mppts}</div>
    <div class="arrow ${f.solarW > 5 ? "moving" : ""}">➜</div>
    <div class="battery"><h2>Battery${b ? ` · ${esc(b.name)}` : ""}</h2>
      <div class="big" id="battery-w">${b ? staleMark(ctx, b.name, num(b.watts)) : "–"}<span class="unit">W</span></div>
      <div class="muted">${charging ? "charging" : discharging ? "discharging" : "idle"} · <span id="battery-v">${num(b?.volts, 2)}</span> V</div>
      <div class="bar" title="state of charge"><span style="width:${Math.max(0, Math.min(100, b?.soc ?? 0))}%"></span></div>
      <div class="row"><span>State of charge</span><span id="soc">${num(b?.soc, 1)} %</span></div>
    </div>
    <div class="arrow ${f.loadsW > 5 ? "moving" : ""}">➜</div>
    <div class="loads"><h2>Loads</h2><div class="big" id="loads-w">${num(f.loadsW)}<span class="unit">W</span></div>
      <div class="muted">solar delivered − into the battery</div>
      ${f.dump ? `<div class="row"><span>dump load</span><span>${num(f.dump)} W</span></div>` : ""}
    </div>
  </div>
  <div class="grid">
    <div class="card"><h2>Charger states</h2>${chargerStates || '<p class="muted">none reported</p>'}</div>
    <div class="card"><h2>Devices</h2>${[...ctx.devices.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((d) => `<div class="row"><span>${esc(d.name)}</span><span class="${silent(ctx, d.name) ? "flag" : "muted"}" data-heard="${esc(d.name)}">${silent(ctx, d.name) ? "silent · " : ""}${age(d.last_seen, now)}</span></div>`)
      .join("")}<p><a href="#/devices">details</a></p></div>
  </div>`;
}

export async function render(root, route, ctx) {
  let timer = null;
  const draw = () => {
    timer = null;
    root.innerHTML = html(ctx);
  };
  draw();
  // Redraw at most four times a second however fast the boat talks.
  const listener = () => {
    timer ??= setTimeout(draw, 250);
  };
  ctx.listeners.add(listener);
  return {
    dispose: () => {
      ctx.listeners.delete(listener);
      clearTimeout(timer);
    },
  };
}
