// What the dashboard's browser tests share: Debian's Chromium started headless with no network
// chatter (the machines have no network), and the watchers that turn a page's console errors,
// failed requests and error statuses into problems.

import { chromium } from "playwright-core";

/** Headless Chromium (`CHROMIUM`, else Debian's). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** Record every console error, page error, failed request (but the live stream, which the
 * browser closes on navigation) and HTTP error status of `page` in `problems`. */
export function watch(page, problems) {
  page.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => !r.url().includes("/api/live") && problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
}
