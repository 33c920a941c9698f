// Mesh: where the Meshtastic nodes are from us — the dinghy first — with distance and bearing,
// true and magnetic (World Magnetic Model declination and its uncertainty), on a map and in a
// table; the max range ever attained (direct receptions only) and the reliable range by
// distance band. Answers from /api/mesh (the store); names, signal and positions kept live from
// the mesh/* devices of the live connection.

import { get, esc, num, age } from "../api.js";
import { loadLeaflet, loadLand, seaChart } from "./map.js";

const SECOND = 1000;

/** The live device of a node (`mesh/<node>`), if heard since the page's connection opened. */
const live = (ctx, node) => ctx.devices.get(`mesh/${node}`)?.values || {};
const value = (values, name) => {
  const v = values[name]?.v;
  return v === null || v === undefined ? null : v;
};

/** A node's row: the store's answer, brought up to date by what the live connection heard. */
function nodeRow(n, ctx) {
  const v = live(ctx, n.node);
  const name = value(v, "long_name") ?? "";
  const short = value(v, "short_name") ?? "";
  const at = (x) => (x === null ? null : Number(x));
  return {
    node: n.node,
    name,
    short,
    lat: at(value(v, "latitude")) ?? n.lat,
    lon: at(value(v, "longitude")) ?? n.lon,
    distance: at(value(v, "distance")) ?? n.distance_m ?? null,
    bearing: at(value(v, "bearing")) ?? n.bearing_true ?? null,
    magnetic: at(value(v, "bearing_magnetic")) ?? n.bearing_magnetic ?? null,
    hops: at(value(v, "hops_away")) ?? n.hops_away ?? null,
    snr: at(value(v, "snr")) ?? n.snr ?? null,
    rssi: at(value(v, "rssi")) ?? n.rssi ?? null,
    battery: at(value(v, "battery_level")) ?? n.battery_level ?? null,
    heard: Math.max(Date.parse(n.last_heard) || 0, ctx.devices.get(`mesh/${n.node}`)?.last_seen || 0),
  };
}

const deg = (v) => (v === null ? "–" : `${String(Math.round(v) % 360).padStart(3, "0")}°`);

export async function render(root, route, ctx) {
  const wanted = route.params.get("node") || "dinghy";
  const [L, polygons, m] = await Promise.all([loadLeaflet(), loadLand().catch(() => []), get(`/api/mesh?node=${encodeURIComponent(wanted)}`)]);
  if (!m.everyone) {
    root.innerHTML = `<h1>Mesh</h1><p class="empty">No Meshtastic node heard yet: configure a <code>[[meshtastic]]</code> radio (serial or TCP 4403) or subscribe to a gateway's <code>msh/</code> topics in <code>[mqtt_in]</code>.</p>`;
    return null;
  }
  const decl = m.everyone.find((n) => n.declination !== undefined);
  const found = m[wanted];
  const max = m.max_range;
  const reliable = (m.range_test || [])
    .map((r) => `<div class="row"><span>reliable range from ${esc(r.sender)}</span><span>${r.reliable_range_m === null ? "no band ≥ 80 %" : `${num(r.reliable_range_m / 1000, 1)} km`}</span></div>
      <div class="row"><span>farthest band ≥ 80 %</span><span>${r.farthest_reliable_band_m === null || r.farthest_reliable_band_m === undefined ? "–" : `${num(r.farthest_reliable_band_m / 1000, 1)} km`}</span></div>
      <table class="bands compact" data-sender="${esc(r.sender)}"><thead><tr><th>from</th><th class="num">heard</th><th>delivery</th></tr></thead><tbody>${r.bands
        .map((b) => {
          const pct = (100 * b.heard) / Math.max(1, b.expected);
          return `<tr><td>${num(b.from_m / 1000, 0)} km</td><td class="num">${b.heard} / ${b.expected}</td><td><span class="delivery ${pct >= 80 ? "ok" : "bad"}" style="width:${(pct * 0.03).toFixed(2)}rem"></span> ${num(pct)} %</td></tr>`;
        })
        .join("")}</tbody></table>`)
    .join("");
  root.innerHTML = `<h1>Mesh</h1>
    <div class="grid">
      <div class="card" style="grid-column: 1 / -1; padding: 0; overflow: hidden"><div id="map" style="height: min(60vh, 480px)"></div></div>
      <div class="card" id="wanted"><h2>Where is the ${esc(wanted)}</h2>${found ? `
        <div class="big" id="wanted-distance">${num(found.distance_m)} m</div>
        <div class="row"><span>bearing</span><span id="wanted-bearing">${deg(found.bearing_true ?? null)} T · ${deg(found.bearing_magnetic ?? null)} M</span></div>
        <div class="row"><span>position</span><span>${num(found.lat, 5)}, ${num(found.lon, 5)}</span></div>
        <div class="row"><span>position age</span><span>${num(found.position_age_s / 60)} min</span></div>` : `<p class="muted">no position heard from a node called ${esc(wanted)}</p>`}</div>
      <div class="card"><h2>Range</h2>
        <div class="row"><span>max range (direct)</span><span id="max-range">${max ? `${num(max.distance_m / 1000, 2)} km` : "–"}</span></div>
        ${max ? `<div class="row"><span>by</span><span>${esc(max.node)}, ${new Date(max.at).toLocaleString()}</span></div>` : ""}
        ${reliable || '<p class="muted">no range-test packets heard</p>'}
        <p class="muted">Max range counts direct receptions only (hop_start − hop_limit = 0). Reliable range: the far edge of the unbroken run of 1 km bands from the boat in which every band with at least two expected range-test packets had ≥ 80 % of them arrive; the farthest band ≥ 80 % may lie beyond a band that failed.</p></div>
      <div class="card"><h2>Us</h2>
        <div class="row"><span>position</span><span>${m.us ? `${num(m.us.lat, 5)}, ${num(m.us.lon, 5)}` : "unknown: no distances"}</span></div>
        ${m.us?.node ? `<div class="row"><span>our radio</span><span>${esc(m.us.node)}</span></div>` : ""}
        <div class="row"><span>declination</span><span id="declination">${decl ? `${num(decl.declination, 1)}° ± ${num(decl.declination_uncertainty, 1)}°` : "–"}</span></div>
        <p class="muted">${esc(decl?.magnetic_model || m.everyone.find((n) => n.bearing_magnetic_error)?.bearing_magnetic_error || "")}</p></div>
    </div>
    <div class="card scroll" style="margin-top:1rem"><table id="nodes"><thead><tr><th>node</th><th class="num">distance</th><th>bearing</th><th class="num">hops</th><th class="num">SNR</th><th class="num">RSSI</th><th class="num">battery</th><th>last heard</th></tr></thead><tbody></tbody></table></div>`;
  const { map, redraw } = seaChart(L, root.querySelector("#map"), polygons, ctx.status.tiles);
  const drawn = L.featureGroup().addTo(map);
  const markers = new Map();
  const lines = new Map();
  const us = m.us ? [m.us.lat, m.us.lon] : null;
  if (us) L.circleMarker(us, { radius: 8, color: "#000", weight: 2, fillColor: "#f4c542", fillOpacity: 1 }).bindTooltip("us").addTo(drawn);
  const tbody = root.querySelector("#nodes tbody");
  const draw = () => {
    const rows = m.everyone.map((n) => nodeRow(n, ctx)).sort((a, b) => (a.node === wanted ? -1 : b.node === wanted ? 1 : (a.distance ?? 1e12) - (b.distance ?? 1e12)));
    tbody.innerHTML = rows
      .map((r) => `<tr data-node="${esc(r.node)}"><td><b>${esc(r.node)}</b>${r.name ? `<div class="muted">${esc(r.name)}${r.short ? ` (${esc(r.short)})` : ""}</div>` : ""}</td>
        <td class="num">${r.distance === null ? "–" : r.distance >= 10000 ? `${num(r.distance / 1000, 1)} km` : `${num(r.distance)} m`}</td>
        <td>${deg(r.bearing)} T · ${deg(r.magnetic)} M</td><td class="num">${num(r.hops)}</td><td class="num">${num(r.snr, 1)}</td><td class="num">${num(r.rssi)}</td>
        <td class="num">${r.battery === null ? "–" : r.battery > 100 ? "powered" : `${num(r.battery)} %`}</td><td>${r.heard ? age(r.heard, ctx.serverNow) : "–"}</td></tr>`)
      .join("");
    for (const r of rows) {
      const at = [r.lat, r.lon];
      const colour = r.node === wanted ? "#ef7d6b" : "#7fd1f7";
      if (!markers.has(r.node)) {
        markers.set(r.node, L.circleMarker(at, { radius: 7, color: "#fff", weight: 2, fillColor: colour, fillOpacity: 0.95 }).addTo(drawn));
        if (us) lines.set(r.node, L.polyline([us, at], { color: colour, weight: 1.5, dashArray: "4 4", opacity: 0.8, interactive: false }).addTo(drawn));
      }
      markers.get(r.node).setLatLng(at).bindTooltip(`${esc(r.short || r.node)} · ${r.distance === null ? "" : `${num(r.distance)} m `}${deg(r.magnetic)} M`, { permanent: true, direction: "right", className: "mesh-label" });
      lines.get(r.node)?.setLatLngs([us, at]);
    }
    window.halyard.mesh = { rows: rows.map((r) => ({ ...r })), markers: markers.size, lines: lines.size };
  };
  draw();
  if (drawn.getLayers().length) map.fitBounds(drawn.getBounds(), { padding: [30, 30], maxZoom: 15 });
  else map.setView([0, 0], 2);
  redraw();
  // Live positions and signal as they arrive; the table's ages every few seconds.
  let pending = false;
  const listener = () => {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      draw();
    }, SECOND);
  };
  ctx.listeners.add(listener);
  return {
    dispose: () => {
      ctx.listeners.delete(listener);
      map.remove();
      delete window.halyard.mesh;
    },
  };
}
