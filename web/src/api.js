// Talking to the daemon, and formatting numbers and times the way a skipper reads them.

/** GET a JSON endpoint; throws with the server's message on an error status. */
export async function get(path) {
  const r = await fetch(path, { headers: { accept: "application/json" } });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${(await r.text()).trim()}`);
  return r.json();
}

/** POST JSON to the daemon (an acknowledgement, the anchor watch); throws with its message. */
export async function post(path, body = {}) {
  const r = await fetch(path, { method: "POST", headers: { "content-type": "application/json", accept: "application/json" }, body: JSON.stringify(body) });
  const answer = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(answer.error || `${path}: ${r.status}`);
  return answer;
}

/** Acknowledge an active alarm; the banner changes when the daemon says it did. */
export async function acknowledge(name, button) {
  if (button) button.disabled = true;
  try {
    await post(`/api/alarms/${encodeURIComponent(name)}/ack`);
  } catch (e) {
    if (button) button.disabled = false;
    alert(`Could not acknowledge ${name}: ${e.message}`);
  }
}

/**
 * Whether a device has gone silent (its built-in `<device>-silent` alarm is active): its last
 * values are then stale, not current, and every page says so.
 */
export function silent(ctx, device) {
  return ctx.alarms.some((a) => a.name === `${device}-silent`);
}

/** A value's text, struck through and labelled when its device has gone silent. */
export function staleMark(ctx, device, text) {
  return silent(ctx, device) ? `<span class="stale" title="not heard for a while: the last value, not a current one">${text}</span>` : text;
}

/** Date and time (e.g. "23 Jun 02:41") in the boat's time zone, from an RFC 3339 text or ms. */
export function when(t) {
  if (t === null || t === undefined) return "–";
  const d = new Date(t);
  return `${d.toLocaleDateString([], { day: "numeric", month: "short", timeZone: clock.timezone })} ${hhmm(d.getTime())}`;
}

/** The boat's time zone (from /api/status), for every time shown. */
export const clock = { timezone: "UTC" };

const formats = new Map();
const format = (digits) => {
  if (!formats.has(digits)) formats.set(digits, new Intl.NumberFormat(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits }));
  return formats.get(digits);
};

/** A number with a fixed number of decimals, or an en dash when unknown. */
export function num(v, digits = 0) {
  return v === null || v === undefined || Number.isNaN(v) ? "–" : format(digits).format(v);
}

/** Energy: Wh below 10 kWh, kWh above. */
export function energy(wh) {
  if (wh === null || wh === undefined) return "–";
  return Math.abs(wh) >= 10000 ? `${num(wh / 1000, 1)} kWh` : `${num(wh)} Wh`;
}

/** A duration in seconds as "2 h 05 min". */
export function duration(s) {
  if (s === null || s === undefined) return "–";
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/** Time of day (HH:MM) in the boat's time zone, from an RFC 3339 text or epoch milliseconds. */
export function hhmm(t) {
  if (t === null || t === undefined) return "–";
  const d = typeof t === "number" ? new Date(t) : new Date(t);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: clock.timezone });
}

/** "12 s ago", "3 min ago", or the date. */
export function age(ms, now) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString([], { timeZone: clock.timezone });
}

/** Escape text for HTML. */
export function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** The first of several metric names a device has (devices name the same thing differently). */
export function pick(values, names) {
  for (const n of names) {
    const c = values?.[n];
    if (c && c.v !== null && c.v !== undefined) return c.v;
  }
  return null;
}

/** A device's charge or operating state by name (`float`), from the first state metric it has. */
export function stateName(values) {
  for (const n of METRIC.state) {
    const named = values?.[`${n}_name`]?.v;
    if (named !== null && named !== undefined) return named;
    const raw = values?.[n]?.v;
    if (raw !== null && raw !== undefined) return raw;
  }
  return null;
}

/** Metric names by meaning, in order of preference. */
export const METRIC = {
  pv: ["solar_power", "panel_power"],
  volts: ["battery_voltage", "voltage"],
  amps: ["battery_current", "current"],
  soc: ["soc", "state_of_charge"],
  state: ["charge_state", "device_state", "network_device_state"],
  yieldToday: ["yield_today"],
};
