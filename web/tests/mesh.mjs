// The mesh page in headless Chromium against `halyard run` connected to a Meshtastic radio.
// Started by crates/halyard/tests/mesh.rs, which checks what the page shows against
// `halyard mesh --json` and the MQTT topics.
//
//   node web/tests/mesh.mjs BASE_URL OUT_DIR
//
// Prints what the page drew: the table's rows (in order), the markers and lines on the map,
// the dinghy card, the range card; fails on any console error or failed request.

import { launch, watch } from "./browser.mjs";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [base, out] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const problems = [];
const browser = await launch();
const results = {};
const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
try {
  watch(page, problems);
  await page.goto(`${base}/#/mesh`, { waitUntil: "load" });
  // Ready, and the live snapshot has arrived (the names come from it).
  await page.waitForFunction(() => document.getElementById("page")?.dataset.ready === "true" && window.halyard.mesh?.rows.some((r) => r.name), null, { timeout: 20000 });
  results.mesh = await page.evaluate(() => window.halyard.mesh);
  results.table = await page.evaluate(() => [...document.querySelectorAll("#nodes tbody tr")].map((tr) => ({ node: tr.dataset.node, cells: [...tr.cells].map((c) => c.textContent.trim()) })));
  results.wanted = await page.evaluate(() => ({ distance: document.getElementById("wanted-distance")?.textContent, bearing: document.getElementById("wanted-bearing")?.textContent }));
  results.max_range = await page.evaluate(() => document.getElementById("max-range")?.textContent);
  results.bands = await page.evaluate(() => [...document.querySelectorAll("table.bands tbody tr")].length);
  results.overlay = await page.evaluate(() => document.querySelectorAll(".leaflet-overlay-pane canvas, .leaflet-overlay-pane path").length);
  await page.screenshot({ path: join(out, "mesh.png"), fullPage: true });
  writeFileSync(join(out, "mesh.html"), await page.content());
  // A phone: the table scrolls inside its card, the page does not overflow sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  results.phone_overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  await page.screenshot({ path: join(out, "mesh-phone.png"), fullPage: true });
} catch (e) {
  problems.push(`stopped: ${e.message}`);
  results.text = await page.evaluate(() => document.getElementById("page")?.innerText).catch(() => null);
  results.devices = await page.evaluate(() => [...window.halyard.ctx.devices.keys()]).catch(() => null);
  results.mesh = await page.evaluate(() => window.halyard.mesh).catch(() => null);
} finally {
  await browser.close();
}
results.problems = problems;
writeFileSync(join(out, "mesh-results.json"), JSON.stringify(results, null, 1));
console.log(JSON.stringify(results));
process.exit(problems.length ? 1 : 0);
