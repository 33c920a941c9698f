// The map page in headless Chromium against `halyard run` on a store that holds a replayed NMEA
// log. Started by crates/halyard/tests/nav.rs, which checks the numbers against the KML export.
//
//   node web/tests/map.mjs BASE_URL OUT_DIR DAY
//
// Checks: no console error or failed request; the season's KML is parsed in the page and drawn
// (lines and points counted from the drawing); the day view lists the fix losses and the gusts.

import { launch, watch } from "./browser.mjs";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [base, out, day] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const problems = [];
const browser = await launch();
const results = {};
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watch(page, problems);
  const ready = () => page.waitForFunction(() => document.getElementById("page")?.dataset.ready === "true" && window.halyard.map, null, { timeout: 20000 });
  await page.goto(`${base}/#/map`, { waitUntil: "load" });
  await ready();
  await page.waitForTimeout(500);
  results.season = await page.evaluate(() => window.halyard.map);
  // Drawn on the map: SVG or canvas paths inside Leaflet's overlay pane.
  results.season.overlay = await page.evaluate(() => document.querySelectorAll(".leaflet-overlay-pane canvas, .leaflet-overlay-pane path").length);
  await page.screenshot({ path: join(out, "map-season.png") });
  await page.evaluate((d) => (location.hash = `#/map/${d}`), day);
  await page.waitForFunction((d) => location.hash.includes(d) && document.getElementById("page")?.dataset.ready === "true" && window.halyard.map, day);
  await page.waitForTimeout(500);
  results.day = await page.evaluate(() => ({
    map: window.halyard.map,
    losses: [...document.querySelectorAll("#fix-losses li")].map((l) => l.textContent),
    gust: document.getElementById("gust-day")?.textContent,
  }));
  await page.screenshot({ path: join(out, "map-day.png"), fullPage: true });
  writeFileSync(join(out, "map.html"), await page.content());
} catch (e) {
  problems.push(`stopped: ${e.message}`);
} finally {
  await browser.close();
}
results.problems = problems;
writeFileSync(join(out, "map-results.json"), JSON.stringify(results, null, 1));
console.log(JSON.stringify(results));
process.exit(problems.length ? 1 : 0);
