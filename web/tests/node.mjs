// The "Add a node" page in headless Chromium against `halyard run` (started by
// crates/halyard/tests/node_install.rs, which checks the results against the images it served).
//
//   node web/tests/node.mjs BASE_URL OUT_DIR [install|missing]
//
// install: the page shows the firmware's version and chips, ESP Web Tools' install button is
// offered (Web Serial present, secure origin); pressing it with a stand-in serial port (the real
// port chooser cannot be driven headless) opens ESP Web Tools' dialog, which downloads the
// manifest, finds no Improv answer on the silent port and offers to install the manifest's
// firmware. missing: the page says where the images go. Prints what it saw as JSON.

import { launch, watch } from "./browser.mjs";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [base, out, mode = "install"] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const problems = [];
const browser = await launch();
const results = { requests: [] };
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
try {
  watch(page, problems);
  page.on("request", (r) => r.url().includes("/firmware/") && results.requests.push(new URL(r.url()).pathname));
  // A serial port that opens and stays silent, in place of the one the user would pick.
  await page.addInitScript(() => {
    if (!navigator.serial) return;
    const port = {
      readable: new ReadableStream({ start() {} }),
      writable: new WritableStream({ write() {} }),
      open: async () => {},
      close: async () => {},
      setSignals: async () => {},
      getInfo: () => ({ usbVendorId: 0x303a, usbProductId: 0x1001 }),
      addEventListener() {},
      removeEventListener() {},
    };
    navigator.serial.requestPort = async () => port;
  });
  await page.goto(`${base}/#/node`, { waitUntil: "load" });
  await page.waitForFunction(() => document.getElementById("page")?.dataset.ready === "true", null, { timeout: 20000 });
  results.node = await page.evaluate(() => window.halyard.node);
  results.serial = await page.evaluate(() => "serial" in navigator);
  results.text = await page.evaluate(() => document.getElementById("page").innerText);
  results.missing = await page.evaluate(() => document.getElementById("node-missing")?.textContent ?? null);
  results.chips = await page.evaluate(() => [...document.querySelectorAll("#node-chips li")].map((li) => li.textContent.trim()));
  await page.screenshot({ path: join(out, `node-${mode}.png`), fullPage: true });
  if (mode === "install") {
    results.supported = await page.evaluate(() => document.querySelector("esp-web-install-button")?.hasAttribute("install-supported"));
    await page.click("esp-web-install-button button[slot=activate]");
    // ESP Web Tools' dialog (a shadow DOM; Playwright's text engine looks inside it).
    const offer = page.getByText("Install Halyard node").first();
    await offer.waitFor({ timeout: 20000 });
    results.dialog = await page.evaluate(() => !!document.querySelector("ewt-install-dialog"));
    results.offer = await offer.textContent();
    await page.screenshot({ path: join(out, "node-dialog.png") });
  }
} catch (e) {
  problems.push(`stopped: ${e.message}`);
}
// The stand-in port never answers Improv: ESP Web Tools logs that, as it should.
results.problems = problems.filter((p) => !p.includes("Improv initialization failed"));
writeFileSync(join(out, `node-${mode}.json`), JSON.stringify(results, null, 2));
console.log(JSON.stringify(results));
await browser.close();
process.exit(results.problems.length ? 1 : 0);
