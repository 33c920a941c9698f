// The alarms and the anchor watch in headless Chromium against `halyard run` fed a GPS on a
// pseudo-terminal. Started by crates/halyard/tests/web.rs, which moves the boat once the anchor
// is down (this script writes OUT_DIR/dropped) and checks MQTT afterwards.
//
//   node web/tests/alarms.mjs BASE_URL OUT_DIR
//
// Checks: the Map page drops the anchor (radius 40 m) and draws the swing circle at that
// radius; when the boat drags, the banner appears on every page with the alarm's words and the
// circle turns red; its Acknowledge button acknowledges it (the banner says so); the Alarms page
// lists it, active and acknowledged, and in the history; Anchor up clears it and it leaves the
// banner. An MPPT that fell silent is a warning in the banner, its last value marked stale.

import { launch, watch } from "./browser.mjs";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [base, out] = process.argv.slice(2);
/** The drag's row in the history: raised, still active, acknowledged, the distance, the words. */
const KEPT = /^anchor-drag \| emergency \| .+ \| active \| .+ \| \d+\.\d \| anchor drag: /;
mkdirSync(out, { recursive: true });
const problems = [];
const results = {};
const browser = await launch();
const check = (ok, what) => ok || problems.push(what);
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watch(page, problems);
  const ready = (hash) => page.waitForFunction((h) => location.hash === h && document.getElementById("page")?.dataset.ready === "true", hash, { timeout: 20000 });
  await page.goto(`${base}/#/map`, { waitUntil: "load" });
  await ready("#/map");
  await page.waitForFunction(() => window.halyard.map?.anchor?.state === "up" && document.querySelector("#anchor-state").textContent.startsWith("Anchor up"), null, { timeout: 10000 });
  // A fix first: the anchor drops where the boat is.
  await page.waitForFunction(() => window.halyard.ctx.devices.get("nav")?.values?.latitude, null, { timeout: 30000 });
  await page.fill("#anchor-radius", "40");
  await page.click("#anchor-drop");
  await page.waitForFunction(() => window.halyard.map?.anchor?.state === "down", null, { timeout: 10000 });
  results.dropped = await page.evaluate(() => ({ ...window.halyard.map.anchor, words: document.querySelector("#anchor-state").textContent }));
  check(results.dropped.radius === 40, `the circle's radius is ${results.dropped.radius}, not 40 m`);
  check(results.dropped.colour === "#5cc8a8", "a watch that holds is drawn green");
  results.bannerBefore = await page.evaluate(() => document.getElementById("alarm-banner").hidden);
  await page.screenshot({ path: join(out, "anchor-down.png") });
  writeFileSync(join(out, "dropped"), "");

  // The boat drags: the banner, on this page and every other.
  await page.waitForSelector('#alarm-banner [data-alarm="anchor-drag"]', { state: "visible", timeout: 60000 });
  await page.waitForFunction(() => window.halyard.map?.anchor?.state === "dragging", null, { timeout: 10000 });
  results.dragging = await page.evaluate(() => ({
    ...window.halyard.map.anchor,
    words: document.querySelector("#anchor-state").textContent,
    banner: document.querySelector('#alarm-banner [data-alarm="anchor-drag"]').textContent.replace(/\s+/g, " ").trim(),
    bannerClass: document.querySelector('#alarm-banner [data-alarm="anchor-drag"]').className,
    title: document.title,
  }));
  check(results.dragging.colour === "#ef5b5b", "a dragging anchor's circle is red");
  check(/anchor drag: \d+ m from the anchor \(radius 40 m\)/.test(results.dragging.banner), `banner: ${results.dragging.banner}`);
  check(results.dragging.bannerClass.includes("emergency"), "the drag is an emergency in the banner");
  check(results.dragging.swing >= 2, "the boat's track since the drop is drawn");
  await page.screenshot({ path: join(out, "anchor-drag.png") });
  await page.evaluate(() => (location.hash = "#/overview"));
  await ready("#/overview");
  results.bannerOnOverview = await page.isVisible('#alarm-banner [data-alarm="anchor-drag"]');
  check(results.bannerOnOverview, "the banner is on the overview too");
  // The MPPT that spoke once is silent by now: a warning in the banner, and its last value shown
  // as stale, not current.
  await page.waitForSelector('#alarm-banner [data-alarm="bimini-silent"]', { timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('[data-heard="bimini"]')?.textContent.startsWith("silent"), null, { timeout: 5000 });
  results.silent = await page.evaluate(() => ({
    banner: document.querySelector('#alarm-banner [data-alarm="bimini-silent"]').className,
    heard: document.querySelector('[data-heard="bimini"]').textContent,
    pv: document.querySelector('[data-metric="pv:bimini"]').innerHTML,
    order: [...document.querySelectorAll("#alarm-banner [data-alarm]")].map((a) => a.dataset.alarm),
  }));
  check(results.silent.banner.includes("warn"), "a silent device is a warning");
  check(results.silent.pv.includes('class="stale"') && results.silent.pv.includes("212 W"), `the silent MPPT's power: ${results.silent.pv}`);
  check(results.silent.order[0] === "anchor-drag", `the loudest first: ${results.silent.order}`);
  await page.screenshot({ path: join(out, "alarm-banner-overview.png") });

  // Acknowledged from the banner.
  await page.click('#alarm-banner [data-ack="anchor-drag"]');
  await page.waitForSelector('#alarm-banner [data-alarm="anchor-drag"].acknowledged', { timeout: 10000 });
  results.acknowledged = await page.evaluate(() => document.querySelector('#alarm-banner [data-alarm="anchor-drag"]').textContent.replace(/\s+/g, " ").trim());
  check(results.acknowledged.includes("anchor drag: ") && results.acknowledged.includes("acknowledged"), `acknowledged banner: ${results.acknowledged}`);

  // The Alarms page: active and acknowledged, and in the history (the recorder writes in batches).
  for (let i = 0; i < 20; i++) {
    await page.evaluate(() => (location.hash = "#/alarms"));
    await ready("#/alarms");
    results.history = await page.evaluate(() => [...document.querySelectorAll("#alarm-history tbody tr")].map((r) => [...r.cells].map((c) => c.textContent.trim()).join(" | ")));
    if (results.history.some((r) => KEPT.test(r))) break;
    await page.evaluate(() => (location.hash = "#/overview"));
    await ready("#/overview");
    await page.waitForTimeout(1000);
  }
  results.active = await page.evaluate(() => [...document.querySelectorAll("#active tbody tr")].map((r) => [...r.cells].map((c) => c.textContent.trim()).join(" | ")));
  check(results.active.some((r) => r.startsWith("anchor-drag | emergency |") && r.includes("anchor drag:") && r.endsWith("| acknowledged")), `active: ${results.active}`);
  // Raised, acknowledged, and the distance it was raised at.
  check(results.history.some((r) => KEPT.test(r)), `history: ${results.history}`);
  await page.screenshot({ path: join(out, "alarms-page.png"), fullPage: true });

  // Anchor up from the map: the watch ends, the alarm clears, the banner goes.
  await page.evaluate(() => (location.hash = "#/map"));
  await ready("#/map");
  await page.click("#anchor-up");
  await page.waitForFunction(() => window.halyard.map?.anchor?.state === "up", null, { timeout: 10000 });
  await page.waitForSelector('#alarm-banner [data-alarm="anchor-drag"]', { state: "detached", timeout: 10000 });
  results.after = await page.evaluate(() => ({ words: document.querySelector("#anchor-state").textContent, title: document.title }));
  writeFileSync(join(out, "alarms.html"), await page.content());
} catch (e) {
  problems.push(`stopped: ${e.message.split("\n")[0]}`);
  // Where it stood, to say why.
  const page = browser.contexts()[0]?.pages()[0];
  results.stoppedAt = await page?.evaluate(() => ({
    hash: location.hash,
    anchor: window.halyard?.map?.anchor,
    words: document.querySelector("#anchor-state")?.textContent,
    error: document.querySelector("#anchor-error")?.textContent,
    banner: document.getElementById("alarm-banner")?.textContent,
    nav: window.halyard?.ctx.devices.get("nav")?.values?.latitude,
    ready: document.getElementById("page")?.dataset.ready,
    text: document.getElementById("page")?.innerText.slice(0, 400),
  })).catch((x) => x.message);
} finally {
  await browser.close();
}
results.problems = problems;
writeFileSync(join(out, "alarms-results.json"), JSON.stringify(results, null, 1));
console.log(JSON.stringify(results));
process.exit(problems.length ? 1 : 0);
