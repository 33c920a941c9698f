// End-to-end test of the dashboard in headless Chromium (Debian's, driven by playwright-core),
// against a running `halyard demo`. Started by crates/halyard/tests/web.rs, which compares the
// chart data this writes with the store.
//
//   node web/tests/dashboard.mjs BASE_URL OUT_DIR HISTORY_DAY
//
// Checks: every page loads with no console error, no failed request and no error status; the
// charts hold their series; the day picker changes the data; a report answer links to its
// graph with a marker; live values change while the demo runs. Saves a screenshot and the HTML
// of every page, the chart data, the page weight and the time to first render in OUT_DIR.

import { launch, watch } from "./browser.mjs";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [base, out, historyDay] = process.argv.slice(2);
if (!base || !out || !historyDay) {
  console.error("usage: dashboard.mjs BASE_URL OUT_DIR HISTORY_DAY");
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const problems = [];
const check = (ok, what) => {
  if (!ok) problems.push(what);
  return ok;
};

const browser = await launch();
const results = { pages: {}, charts: {} };
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  watch(page, problems);

  const ready = async (name) => {
    await page.waitForFunction((p) => {
      const m = document.getElementById("page");
      return m && m.dataset.page === p && m.dataset.ready === "true";
    }, name, { timeout: 20000 });
  };
  const visit = async (hash, name) => {
    await page.evaluate((h) => (location.hash = h), hash);
    await ready(name);
    await page.waitForTimeout(300);
  };
  const save = async (name) => {
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
    writeFileSync(join(out, `${name}.html`), await page.content());
  };
  const chart = (name) => page.evaluate((n) => window.halyard.charts[n] ?? null, name);

  // First load: time to first render and page weight.
  const t0 = Date.now();
  await page.goto(`${base}/#/overview`, { waitUntil: "load" });
  await ready("overview");
  await page.waitForSelector("#solar-w", { timeout: 20000 });
  const firstRender = Date.now() - t0;
  const perf = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const res = performance.getEntriesByType("resource").filter((r) => !r.name.includes("/api/"));
    const fcp = performance.getEntriesByName("first-contentful-paint")[0];
    return {
      transferred_bytes: nav.transferSize + res.reduce((s, r) => s + r.transferSize, 0),
      decoded_bytes: nav.decodedBodySize + res.reduce((s, r) => s + r.decodedBodySize, 0),
      requests: 1 + res.length,
      first_contentful_paint_ms: fcp ? Math.round(fcp.startTime) : null,
      dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd),
    };
  });
  results.weight = { ...perf, first_render_with_live_values_ms: firstRender };

  // Overview: live values move while the demo runs.
  const before = await page.evaluate(() => ({ events: window.halyard.ctx.liveEvents, solar: document.getElementById("solar-w").textContent, battery: document.getElementById("battery-w").textContent }));
  await page.waitForFunction((b) => {
    const s = document.getElementById("solar-w")?.textContent, w = document.getElementById("battery-w")?.textContent;
    return window.halyard.ctx.liveEvents > b.events && (s !== b.solar || w !== b.battery);
  }, before, { timeout: 30000 }).catch(() => check(false, `overview: live values did not change (${JSON.stringify(before)})`));
  const after = await page.evaluate(() => ({ events: window.halyard.ctx.liveEvents, solar: document.getElementById("solar-w").textContent, battery: document.getElementById("battery-w").textContent, devices: window.halyard.ctx.devices.size }));
  results.pages.overview = { before, after };
  check(after.devices >= 7, `overview: ${after.devices} devices in the live table`);
  await save("overview");

  // Solar day on the recorded history day, then the picker to the next day.
  await visit(`#/solar/${historyDay}`, "solar");
  const power = await chart("solar-power");
  check(power && power.series.length >= 5, `solar: power chart series ${power?.series.map((s) => s.label)}`);
  check(power?.series[0].label === "network", "solar: the first power series is the network");
  const nonNull = power ? power.series[0].values.filter((v) => v !== null).length : 0;
  check(nonNull > 600, `solar: ${nonNull} minutes of network power`);
  const volts = await chart("solar-voltage");
  check(volts?.lines.some((l) => l.label.startsWith("absorption") && l.value > 13), `solar: absorption reference line ${JSON.stringify(volts?.lines)}`);
  check(volts?.lines.some((l) => l.label.startsWith("float") && l.value > 12), `solar: float reference line ${JSON.stringify(volts?.lines)}`);
  const yields = await chart("solar-yield");
  const lastYield = yields?.series[0].values.filter((v) => v !== null).pop();
  check(lastYield > 100, `solar: network yield at midnight ${lastYield}`);
  results.charts.solar = { date: historyDay, power, voltage: volts, yield: yields };
  await save("solar");
  await page.click(".picker button[aria-label='next day']");
  await page.waitForFunction((d) => !location.hash.includes(d), historyDay);
  await ready("solar");
  const nextDay = await page.evaluate(() => document.querySelector(".picker input").value);
  const power2 = await chart("solar-power");
  check(nextDay > historyDay, `picker: next day ${nextDay} after ${historyDay}`);
  const sum = (c) => c.series[0].values.reduce((s, v) => s + (v || 0), 0);
  check(power2 && sum(power2) !== sum(power), "picker: the next day's data differs");
  results.charts.solar_next = { date: nextDay, network_sum: power2 && sum(power2), first_sum: sum(power) };
  await save("solar-next-day");

  // Battery day.
  await visit(`#/battery/${historyDay}`, "battery");
  const bp = await chart("battery-power");
  check(bp?.series.length === 2 && bp.series[0].unit === "W" && bp.series[1].unit === "V", `battery: power and voltage ${JSON.stringify(bp?.series.map((s) => s.label))}`);
  const soc = await chart("battery-soc");
  check(soc && soc.series[0].values.some((v) => v !== null && v > 0 && v <= 100), "battery: state of charge");
  results.charts.battery = { date: historyDay, power: bp, soc };
  await save("battery");

  // History.
  await visit("#/history", "history");
  const he = await chart("history-energy");
  check(he && he.time.length >= 2, `history: ${he?.time.length} days`);
  const hs = await chart("history-share");
  check(hs && hs.series.length >= 4, `history: share series ${hs?.series.length}`);
  results.charts.history = { energy: he, share: hs };
  // The page's CSV download: a header and one row per day shown.
  const csv = await page.evaluate(async () => (await fetch(document.querySelector("#csv-daily").href)).text());
  const csvRows = csv.trim().split("\n").map((l) => l.split(","));
  check(csvRows.length - 1 === he.time.length, `history CSV: ${csvRows.length - 1} rows for ${he.time.length} days`);
  check(csvRows[0][0].startsWith("local time (") && csvRows[0].includes("house-bank.voltage (V)"), `history CSV header: ${csvRows[0].join(",")}`);
  results.csv = { header: csvRows[0], rows: csvRows.slice(1) };
  await save("history");

  // Report: every answer, and a time answer leads to its graph with a marker.
  await visit(`#/report/${historyDay}`, "report");
  const answers = await page.$$eval("dd[data-answer]", (ds) => ds.map((d) => [d.dataset.answer, d.textContent.trim(), d.querySelector("a")?.getAttribute("href")]));
  results.pages.report = answers;
  const start = answers.find((a) => a[0] === "solar_start");
  check(start && /^\d\d:\d\d$/.test(start[1]) && start[2].startsWith(`#/solar/${historyDay}?at=`), `report: solar start ${JSON.stringify(start)}`);
  check(answers.length >= 12, `report: ${answers.length} answers`);
  await save("report");
  await page.click("dd[data-answer='solar_start'] a");
  await ready("solar");
  const marked = await chart("solar-power");
  check(marked?.marker === Number(start?.[2].split("at=")[1]), `report → solar: marker ${marked?.marker}`);
  await save("solar-marker");

  // Devices.
  await visit("#/devices", "devices");
  const rows = await page.$$eval("#devices tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
  results.pages.devices = rows;
  check(rows.length >= 7, `devices: ${rows.length} rows`);
  check(rows.filter((r) => r[7] === "key works").length >= 4, `devices: keys that work ${rows.map((r) => r[7])}`);
  await save("devices");

  // A phone.
  await page.setViewportSize({ width: 390, height: 844 });
  await visit("#/overview", "overview");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `phone: the overview is ${overflow} px wider than the screen`);
  await save("overview-phone");
  await visit(`#/solar/${historyDay}`, "solar");
  await save("solar-phone");
} catch (e) {
  problems.push(`stopped: ${e.message}`);
} finally {
  await browser.close();
}
results.problems = problems;
writeFileSync(join(out, "results.json"), JSON.stringify(results, null, 1));
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(JSON.stringify(results.weight));
