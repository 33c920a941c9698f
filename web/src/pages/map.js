// Map: the season's track (or one day's) drawn from Halyard's own KML export, parsed here in the
// browser, the places where the boat stayed, where it is now, and the wind and GPS answers.
// Leaflet from npm, loaded only on this page. The base layer works offshore with no network:
// Natural Earth's land at 1:10 m (world-atlas, built into the binary) under a lat/lon graticule
// and a scale. An online tile layer (`[web] tiles`) is drawn over it when configured and
// reachable; if the browser cannot fetch tiles, the built-in coast stays visible beneath.

import { get, post, esc, num, hhmm, duration } from "../api.js";
import { chosenDay, pickerHtml, wirePicker } from "../picker.js";

let leaflet = null;
let land = null;

/** Load Leaflet's script and stylesheet once. */
export function loadLeaflet() {
  if (!leaflet) {
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = "/assets/vendor/leaflet.css";
    document.head.append(css);
    leaflet = script("/assets/vendor/leaflet.js").then(() => window.L);
  }
  return leaflet;
}

/** Load a script once by URL. */
function script(src) {
  return new Promise((resolve, reject) => {
    const js = document.createElement("script");
    js.src = src;
    js.onload = resolve;
    js.onerror = () => reject(new Error(`${src} did not load`));
    document.head.append(js);
  });
}

/**
 * Natural Earth's land as polygons with their bounding boxes: [{ rings: [[[lat, lon]…]…], box }].
 * The TopoJSON holds one multipolygon for the world; splitting it lets a view draw only the
 * polygons it can see (a harbour view draws a few coasts, not every island on Earth).
 */
export function loadLand() {
  land ??= Promise.all([script("/assets/vendor/topojson-client.min.js"), fetch("/assets/vendor/land-10m.json").then((r) => r.json())]).then(([, topo]) => {
    const geometry = window.topojson.feature(topo, topo.objects.land);
    const features = geometry.type === "FeatureCollection" ? geometry.features : [geometry];
    const polygons = [];
    for (const f of features) {
      const g = f.geometry;
      const list = g.type === "MultiPolygon" ? g.coordinates : g.type === "Polygon" ? [g.coordinates] : [];
      for (const rings of list) {
        const box = [90, 180, -90, -180];
        const latlon = rings.map((ring) => ring.map(([lon, lat]) => {
          box[0] = Math.min(box[0], lat); box[1] = Math.min(box[1], lon);
          box[2] = Math.max(box[2], lat); box[3] = Math.max(box[3], lon);
          return [lat, lon];
        }));
        polygons.push({ rings: latlon, box });
      }
    }
    return polygons;
  });
  return land;
}

/** Draw the land polygons that meet the visible bounds (with a margin) into `layer`. */
function drawLand(L, map, layer, polygons, renderer) {
  layer.clearLayers();
  const b = map.getBounds().pad(0.5);
  const style = { renderer, pane: "land", stroke: true, color: "#c9b68a", weight: 0.8, fillColor: "#3d4a3a", fillOpacity: 1, interactive: false };
  let drawn = 0;
  for (const p of polygons) {
    if (p.box[2] < b.getSouth() || p.box[0] > b.getNorth() || p.box[3] < b.getWest() || p.box[1] > b.getEast()) continue;
    L.polygon(p.rings, style).addTo(layer);
    drawn++;
  }
  return drawn;
}

/**
 * A Leaflet map on `element` with the base every map page shares, bottom to top: the sea, the
 * built-in land, the online tiles when `[web] tiles` is set (the land stays beneath when the
 * browser cannot reach them), the graticule, then the page's own layers. `onDraw(land)` hears
 * how many land polygons each redraw drew.
 */
export function seaChart(L, element, polygons, tiles, onDraw = () => {}) {
  // A zoom limit of its own: without tiles Leaflet has none, and a track of a single fix (a
  // new install, a boat that has not moved) would be fitted at an infinite zoom.
  const map = L.map(element, { zoomControl: true, attributionControl: true, preferCanvas: true, maxZoom: 19 });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Land: Natural Earth");
  map.getContainer().style.background = "#0b2233";
  L.control.scale({ imperial: false, metric: true }).addTo(map);
  map.createPane("land").style.zIndex = 150;
  const renderer = L.canvas({ pane: "land", padding: 0.5 });
  const land = L.layerGroup().addTo(map);
  if (tiles?.url) L.tileLayer(tiles.url, { attribution: esc(tiles.attribution || ""), maxZoom: 18 }).addTo(map);
  const grid = L.layerGroup().addTo(map);
  const redraw = () => {
    onDraw(drawLand(L, map, land, polygons, renderer));
    graticule(L, map, grid);
  };
  map.on("moveend", redraw);
  return { map, redraw };
}

/** Lines and points of a KML document: [{ name, points: [[lat, lon]…] }], [{ name, text, at }]. */
export function parseKml(text) {
  const doc = new DOMParser().parseFromString(text, "application/xml");
  if (doc.querySelector("parsererror")) throw new Error("the KML export does not parse");
  const lines = [], points = [];
  for (const p of doc.getElementsByTagName("Placemark")) {
    const name = p.getElementsByTagName("name")[0]?.textContent ?? "";
    const coords = (el) => el.getElementsByTagName("coordinates")[0].textContent.trim().split(/\s+/).map((c) => {
      const [lon, lat] = c.split(",").map(Number);
      return [lat, lon];
    });
    const line = p.getElementsByTagName("LineString")[0];
    const point = p.getElementsByTagName("Point")[0];
    if (line) lines.push({ name, points: coords(line) });
    if (point) points.push({ name, text: p.getElementsByTagName("description")[0]?.textContent ?? "", at: coords(point)[0] });
  }
  return { lines, points };
}

/** Graticule lines for the visible bounds, about six a side. */
export function graticule(L, map, layer) {
  layer.clearLayers();
  const b = map.getBounds();
  const span = Math.max(b.getNorth() - b.getSouth(), b.getEast() - b.getWest());
  const step = [1 / 60, 2 / 60, 5 / 60, 10 / 60, 0.5, 1, 2, 5, 10, 30].find((s) => span / s <= 8) ?? 30;
  const style = { color: "#7fd1f7", weight: 0.6, opacity: 0.35, interactive: false };
  for (let lat = Math.floor(b.getSouth() / step) * step; lat <= b.getNorth(); lat += step) {
    L.polyline([[lat, b.getWest() - span], [lat, b.getEast() + span]], style).addTo(layer);
  }
  for (let lon = Math.floor(b.getWest() / step) * step; lon <= b.getEast(); lon += step) {
    L.polyline([[b.getSouth() - span, lon], [b.getNorth() + span, lon]], style).addTo(layer);
  }
}

const COLOURS = ["#f4c542", "#ef7d6b", "#7fd1f7", "#b48ef0", "#5cc8a8", "#f49ac1"];

export async function render(root, route, ctx) {
  const season = !route.date;
  const date = chosenDay(route, ctx.status);
  const [L, polygons, kmlText, nav] = await Promise.all([
    loadLeaflet(),
    loadLand().catch(() => []),
    fetch(season ? "/api/export/kml" : `/api/export/kml?from=${date}&to=${date}`).then((r) => r.text()),
    get(`/api/nav?date=${encodeURIComponent(date)}`),
  ]);
  const kml = parseKml(kmlText);
  const day = nav.day || {};
  const losses = (day.fix_losses || []).map((l) => `<li>${hhmm(l.from)}–${hhmm(l.to)} (${duration(l.seconds)})</li>`).join("");
  const places = nav.places.map((p, i) => `<li><a href="#" data-place="${i}">${num(p.hours, 1)} h</a> at ${num(p.lat, 4)}, ${num(p.lon, 4)} (${p.stays.length} stay${p.stays.length === 1 ? "" : "s"})</li>`).join("");
  root.innerHTML = `<h1>Map · ${season ? "the season" : esc(date)} ${season ? `<a class="picker" href="#/map/${esc(date)}">one day</a>` : `${pickerHtml(date, ctx.status.days)} <a class="picker" href="#/map">the season</a>`}</h1>
    <div class="grid">
      <div class="card" style="grid-column: 1 / -1; padding: 0; overflow: hidden"><div id="map" style="height: min(70vh, 560px)"></div></div>
      <div class="card"><h2>Wind · ${esc(nav.date)}</h2>
        <div class="row"><span>max gust (3 s)</span><span id="gust-day">${num(day.max_gust_kn, 1)} kn</span></div>
        <div class="row"><span>max gust, last hour</span><span id="gust-hour">${num(nav.last_hour?.max_gust_kn, 1)} kn</span></div>
        <div class="row"><span>max apparent wind</span><span>${num(day.max_apparent_wind_kn, 1)} kn</span></div>
        <div class="row"><span>distance</span><span>${num(day.distance_nm, 1)} nm</span></div></div>
      <div class="card"><h2>GPS fix lost</h2>${losses ? `<ul id="fix-losses">${losses}</ul>` : '<p class="muted">never</p>'}</div>
      <div class="card"><h2>Where we spent our time</h2>${places ? `<ol>${places}</ol>` : '<p class="muted">no stay of 20 minutes yet</p>'}</div>
      <div class="card" id="anchor-card"><h2>Anchor watch</h2><p id="anchor-state"></p>
        <div class="anchor-controls">
          <label>radius <input id="anchor-radius" type="number" min="5" max="5000" step="5" placeholder="50"> m</label>
          <label>or rode <input id="anchor-rode" type="number" min="1" max="5000" step="1"> m</label>
          <button class="act" id="anchor-drop">Drop anchor here</button>
          <button class="act" id="anchor-up">Anchor up</button>
        </div>
        <p class="bad" id="anchor-error"></p></div>
    </div>`;
  if (!season) wirePicker(root, "map");
  let landDrawn = 0;
  const { map, redraw } = seaChart(L, root.querySelector("#map"), polygons, ctx.status.tiles, (n) => {
    landDrawn = n;
    if (window.halyard.map) window.halyard.map.land = n;
  });
  const track = L.featureGroup().addTo(map);
  kml.lines.forEach((l, i) => L.polyline(l.points, { color: COLOURS[i % COLOURS.length], weight: 3 }).bindTooltip(l.name).addTo(track));
  const stays = kml.points.map((p) => L.circleMarker(p.at, { radius: 8, color: "#fff", weight: 2, fillColor: "#ef7d6b", fillOpacity: 0.9 }).bindPopup(`<b>${esc(p.name)}</b><br>${esc(p.text)}`).addTo(track));
  const boat = L.circleMarker([0, 0], { radius: 7, color: "#000", weight: 2, fillColor: "#f4c542", fillOpacity: 1 });
  const place = (v) => (v === null || v === undefined ? null : Number(v));
  const moveBoat = () => {
    const n = ctx.devices.get("nav")?.values;
    const lat = place(n?.latitude?.v), lon = place(n?.longitude?.v);
    if (lat !== null && lon !== null) boat.setLatLng([lat, lon]).addTo(map);
  };
  const watch = anchorWatch(L, map, root, ctx);
  if (track.getLayers().length) map.fitBounds(track.getBounds(), { padding: [20, 20], maxZoom: 16 });
  else map.setView([0, 0], 2);
  moveBoat();
  redraw();
  for (const a of root.querySelectorAll("[data-place]")) {
    a.addEventListener("click", (e) => {
      e.preventDefault();
      const p = nav.places[Number(a.dataset.place)];
      map.setView([p.lat, p.lon], 15);
    });
  }
  window.halyard.map = { lines: kml.lines.map((l) => ({ name: l.name, points: l.points.length })), stays: stays.length, drawn: track.getLayers().length, land: landDrawn, tiles: Boolean(ctx.status.tiles?.url), zoom: (z) => map.setZoom(z, { animate: false }), anchor: null };
  watch.draw();
  const listener = (changes, what) => {
    moveBoat();
    if (what === "anchor") watch.draw(true);
    else watch.follow(changes);
  };
  ctx.listeners.add(listener);
  return {
    dispose: () => {
      ctx.listeners.delete(listener);
      map.remove();
      delete window.halyard.map;
    },
  };
}

/** Words for the anchor watch's state. */
function anchorWords(a) {
  if (!a || a.state === "up") return "Anchor up: no watch.";
  const where = `${num(Math.abs(a.latitude), 5)}° ${a.latitude < 0 ? "S" : "N"}, ${num(Math.abs(a.longitude), 5)}° ${a.longitude < 0 ? "W" : "E"}`;
  let s = `Down at ${where} since ${hhmm(a.dropped_at)}, radius ${num(a.radius)} m`;
  if (a.distance !== null && a.distance !== undefined) s += `; the boat is ${num(a.distance)} m from it, ${num(a.bearing)}°`;
  return a.state === "dragging" ? `DRAGGING: ${s}` : `${s}.`;
}

/**
 * The anchor watch on the map: the swing circle around the anchor (red while dragging), the
 * boat's track since the page saw the anchor go down, and the buttons that drop and raise it
 * (`POST /api/anchor`, the same request as `halyard anchor drop` or MQTT `halyard/anchor/set`).
 */
function anchorWatch(L, map, root, ctx) {
  const layer = L.layerGroup().addTo(map);
  let swing = [];
  let dropped = null;
  const error = root.querySelector("#anchor-error");
  const ask = async (body) => {
    error.textContent = "";
    try {
      await post("/api/anchor", body);
    } catch (e) {
      error.textContent = e.message;
    }
  };
  root.querySelector("#anchor-drop").addEventListener("click", () => {
    const radius = Number(root.querySelector("#anchor-radius").value);
    const rode = Number(root.querySelector("#anchor-rode").value);
    const body = { action: "drop" };
    if (radius > 0) body.radius = radius;
    else if (rode > 0) body.rode = rode;
    ask(body);
  });
  root.querySelector("#anchor-up").addEventListener("click", () => ask({ action: "up" }));
  const draw = (fresh = false) => {
    const a = ctx.anchor;
    root.querySelector("#anchor-state").textContent = anchorWords(a);
    root.querySelector("#anchor-state").className = a?.state === "dragging" ? "flag" : "";
    root.querySelector("#anchor-up").disabled = !a || a.state === "up";
    layer.clearLayers();
    if (!a || a.state === "up") {
      dropped = null;
      swing = [];
      window.halyard.map && (window.halyard.map.anchor = { state: "up" });
      return;
    }
    if (dropped !== a.dropped_at) {
      dropped = a.dropped_at;
      swing = [];
    }
    const centre = [a.latitude, a.longitude];
    const colour = a.state === "dragging" ? "#ef5b5b" : "#5cc8a8";
    const circle = L.circle(centre, { radius: a.radius, color: colour, weight: 2, fillColor: colour, fillOpacity: 0.1 }).addTo(layer);
    L.circleMarker(centre, { radius: 5, color: "#fff", weight: 2, fillColor: colour, fillOpacity: 1 }).bindTooltip("anchor").addTo(layer);
    if (swing.length > 1) L.polyline(swing, { color: "#f4c542", weight: 2, opacity: 0.9 }).addTo(layer);
    // A fresh drop (or a drag) is worth looking at: the view moves to the circle.
    if (fresh) map.fitBounds(circle.getBounds().pad(0.6), { animate: false });
    window.halyard.map && (window.halyard.map.anchor = { state: a.state, centre, radius: circle.getRadius(), colour, swing: swing.length });
  };
  const follow = (changes) => {
    if (!dropped) return;
    let moved = false;
    for (const c of changes || []) {
      if (c.device !== "nav") continue;
      const lat = c.values?.latitude?.v, lon = c.values?.longitude?.v;
      if (lat !== undefined && lon !== undefined && lat !== null && lon !== null) {
        swing.push([Number(lat), Number(lon)]);
        moved = true;
      }
    }
    if (swing.length > 5000) swing = swing.slice(-5000);
    if (moved) draw();
  };
  return { draw, follow };
}
