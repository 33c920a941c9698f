// The map page in headless Chromium against `halyard run` on a store that holds a replayed NMEA
// log. Started by crates/halyard/tests/nav.rs, which checks the numbers against the KML export.
//
//   node web/tests/map.mjs BASE_URL OUT_DIR DAY
//
// Checks: no console error or failed request; the season's KML is parsed in the page and drawn
// (lines and points counted from the drawing); the day view lists the fix losses and the gusts;
// the built-in land is painted (pixels of the land colour in its canvas) in a pane beneath the
// track, with no request leaving the server's origin (a boat offshore has no network).

import { launch, watch } from "./browser.mjs";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** In the page: how many pixels of the land pane's canvas carry the land's fill colour. */
function landPixels() {
  const canvas = document.querySelector(".leaflet-land-pane canvas");
  if (!canvas) return 0;
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i] - 0x3d) < 4 && Math.abs(data[i + 1] - 0x4a) < 4 && Math.abs(data[i + 2] - 0x3a) < 4 && data[i + 3] > 200) n++;
  }
  return n;
}

const [base, out, day] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const problems = [];
const browser = await launch();
const results = {};
const away = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watch(page, problems);
  const origin = new URL(base).origin;
  page.on("request", (r) => !r.url().startsWith(origin) && !r.url().startsWith("data:") && away.push(r.url()));
  const ready = () => page.waitForFunction(() => document.getElementById("page")?.dataset.ready === "true" && window.halyard.map, null, { timeout: 20000 });
  await page.goto(`${base}/#/map`, { waitUntil: "load" });
  await ready();
  await page.waitForTimeout(500);
  results.season = await page.evaluate(() => window.halyard.map);
  // Drawn on the map: SVG or canvas paths inside Leaflet's overlay pane.
  results.season.overlay = await page.evaluate(() => document.querySelectorAll(".leaflet-overlay-pane canvas, .leaflet-overlay-pane path").length);
  // At a coastal zoom (the track alone may fit in a harbour's width of open water).
  await page.evaluate(() => window.halyard.map.zoom(8));
  await page.waitForTimeout(500);
  results.season.landPixels = await page.evaluate(landPixels);
  results.season.landBelowTrack = await page.evaluate(() => {
    const z = (sel) => Number(getComputedStyle(document.querySelector(sel)).zIndex);
    return z(".leaflet-land-pane") < z(".leaflet-overlay-pane");
  });
  await page.screenshot({ path: join(out, "map-season.png") });
  await page.evaluate((d) => (location.hash = `#/map/${d}`), day);
  await page.waitForFunction((d) => location.hash.includes(d) && document.getElementById("page")?.dataset.ready === "true" && window.halyard.map, day);
  await page.waitForTimeout(500);
  results.day = await page.evaluate(() => ({
    map: window.halyard.map,
    losses: [...document.querySelectorAll("#fix-losses li")].map((l) => l.textContent),
    gust: document.getElementById("gust-day")?.textContent,
  }));
  results.day.landPixels = await page.evaluate(landPixels);
  await page.screenshot({ path: join(out, "map-day.png"), fullPage: true });
  writeFileSync(join(out, "map.html"), await page.content());
} catch (e) {
  problems.push(`stopped: ${e.message}`);
} finally {
  await browser.close();
}
results.away = away;
results.problems = problems;
writeFileSync(join(out, "map-results.json"), JSON.stringify(results, null, 1));
console.log(JSON.stringify(results));
process.exit(problems.length ? 1 : 0);
