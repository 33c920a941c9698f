// Add a node: flash an ESP32-C3/C6 board plugged into this computer and give it the boat's Wi-Fi,
// from the browser. ESP Web Tools (vendored from npm) writes the images the gateway serves
// (/firmware/manifest.json, from scripts/firmware.sh) over Web Serial, then asks for the Wi-Fi
// with Improv, which the node answers on the same USB port. Data: /api/firmware.

import { get, esc, num } from "../api.js";

const BUTTON = "/assets/vendor/esp-web-tools/install-button.js";

export async function render(root) {
  const f = await get("/api/firmware");
  const state = { available: f.available, version: f.version || null, chips: (f.builds || []).map((b) => b.chip), button: null };
  window.halyard.node = state;
  const builds = (f.builds || []).map((b) => `<li>${esc(b.chip)} <span class="muted">${num(Math.round(b.bytes / 1024))} KiB</span></li>`).join("");
  const where = (f.searched || []).map((d) => `<code>${esc(d)}</code>`).join(" or ");
  const images = f.available
    ? `<p>Firmware <b id="node-version">${esc(f.name || "Halyard node")} ${esc(f.version || "")}</b> for</p><ul id="node-chips">${builds}</ul>`
    : `<p class="bad" id="node-missing">No firmware images here${f.error ? ` (${esc(f.error)})` : f.missing?.length ? ` (missing: ${f.missing.map(esc).join(", ")})` : ""}.</p>
       <p>Build them on a computer with the Halyard sources and copy them to the gateway's data directory:
       <code>scripts/firmware.sh --install DATA_DIR</code>; this gateway looks in ${where}. The Debian package brings them.</p>`;
  root.innerHTML = `<h1>Add a node</h1>
    <div class="grid">
      <div class="card">
        <h2>What it is</h2>
        <p>A Halyard node is a small ESP32-C3 or ESP32-C6 board that listens to the Victron devices
        out of the gateway's Bluetooth range, a VE.Direct port or the MasterBus, and sends what it hears
        to this gateway over Wi-Fi. It only listens: it never writes to a device or the bus.</p>
        ${images}
      </div>
      <div class="card">
        <h2>Install</h2>
        <ol>
          <li>Plug the board into a USB port of <b>this</b> computer.</li>
          <li>Press <b>Install</b> and pick the board's port (<i>USB JTAG/serial debug unit</i>). The browser
          asks whether to erase the board first: say yes for a new node; an update keeps its settings.</li>
          <li>After flashing, give it the boat's Wi-Fi. The node joins, finds this gateway's MQTT broker by
          itself, and appears on the <a href="#/devices">Devices</a> page.</li>
        </ol>
        <p id="node-install">${f.available
          ? `<esp-web-install-button manifest="/firmware/manifest.json">
               <button slot="activate" class="install">Install</button>
               <span slot="unsupported" class="bad">This browser cannot reach USB serial ports: use Chrome, Edge or Chromium on a computer (not a phone).</span>
               <span slot="not-allowed" class="bad">The browser allows USB serial only on secure pages: open this dashboard as <code>http://127.0.0.1:…</code> on the gateway itself, or over https.</span>
             </esp-web-install-button>`
          : `<span class="muted">Install needs the firmware images (left).</span>`}</p>
        <p class="muted">Without a browser: <code>espflash flash --partition-table partitions.csv …</code> and the
        console's <code>wifi_ssid = …</code> (README, "The ESP32 node").</p>
      </div>
    </div>`;
  if (f.available) {
    await import(BUTTON);
    await customElements.whenDefined("esp-web-install-button");
    const el = root.querySelector("esp-web-install-button");
    state.button = el.hasAttribute("install-supported") ? "install" : window.isSecureContext ? "unsupported" : "not-allowed";
  }
}
