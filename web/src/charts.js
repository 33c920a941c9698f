// uPlot wrappers: charts that fill their card, follow the boat's time zone, draw reference lines
// and a marker for the time a report answer points at, and stay reachable for the tests
// (window.halyard.charts).

import { clock } from "./api.js";

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const PALETTE = ["#f4c542", "#ef7d6b", "#7fd1f7", "#b48ef0", "#5cc8a8", "#f49ac1", "#c9d46b", "#9bb0c4"];

/** A colour per series index, the first ones from the theme. */
export function colour(i) {
  return PALETTE[i % PALETTE.length];
}

/** Every chart on the current page by name, for the end-to-end tests. */
export const registry = {};

/**
 * A time chart in `el`.
 * - `series`: [{ label, unit, values, colour, scale ("y" or "v"), width, dash }]
 * - `lines`: horizontal reference lines [{ value, scale, label, colour }]
 * - `marker`: epoch seconds of a vertical marker (a report answer's time)
 * - `days`: one point per day (ticks on days, half a day of margin each side for the bars)
 * - a series with `bars: true` is drawn as bars (daily values), with `points: true` as dots
 */
export function timeChart(el, name, time, series, { lines = [], marker = null, axes = {}, days = false } = {}) {
  const grid = { stroke: css("--line") || "#24384b", width: 1 };
  const text = css("--muted") || "#8ea4b8";
  const scales = { x: { time: true, range: days ? (u, lo, hi) => [lo - 43200, hi + 43200] : undefined } };
  const used = new Set(series.map((s) => s.scale || "y"));
  for (const k of used) scales[k] = { auto: true, range: axes[k]?.range };
  const dayTicks = { incrs: [86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400], space: 50,
    values: (u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleDateString([], { month: "short", day: "numeric", timeZone: clock.timezone })) };
  const axisList = [{ stroke: text, grid, ticks: grid, ...(days ? dayTicks : {}) }];
  for (const k of used) {
    axisList.push({
      scale: k,
      side: k === "y" ? 3 : 1,
      stroke: text,
      grid: { ...grid, show: k === "y" },
      ticks: grid,
      label: axes[k]?.label,
      size: 60,
      values: (u, vals) => vals.map((v) => (v === null ? "" : v.toLocaleString())),
    });
  }
  const bar = uPlot.paths.bars({ size: [0.6, 40] });
  const opts = {
    width: el.clientWidth || 600,
    height: Math.max(240, Math.min(380, Math.round((el.clientWidth || 600) * 0.45))),
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), clock.timezone),
    scales,
    axes: axisList,
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    series: [
      { label: "time" },
      ...series.map((s, i) => ({
        label: s.label,
        scale: s.scale || "y",
        stroke: s.colour || colour(i),
        fill: s.bars ? (s.colour || colour(i)) + "cc" : s.fill,
        width: s.width ?? 1.6,
        dash: s.dash,
        paths: s.bars ? bar : undefined,
        spanGaps: false,
        points: { show: !!s.points, size: 7 },
        value: (u, v) => (v === null || v === undefined ? "–" : `${v.toLocaleString(undefined, { maximumFractionDigits: s.digits ?? 0 })} ${s.unit}`),
      })),
    ],
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          ctx.save();
          for (const l of lines) {
            if (l.value === null || l.value === undefined) continue;
            const y = u.valToPos(l.value, l.scale || "y", true);
            ctx.strokeStyle = l.colour || text;
            ctx.setLineDash([6, 4]);
            ctx.lineWidth = 1.2 * devicePixelRatio;
            ctx.beginPath();
            ctx.moveTo(u.bbox.left, y);
            ctx.lineTo(u.bbox.left + u.bbox.width, y);
            ctx.stroke();
            ctx.fillStyle = l.colour || text;
            ctx.font = `${11 * devicePixelRatio}px system-ui`;
            ctx.textAlign = "left";
            ctx.textBaseline = "bottom";
            ctx.fillText(l.label, u.bbox.left + 6 * devicePixelRatio, y - 4 * devicePixelRatio);
          }
          if (marker !== null) {
            const x = u.valToPos(marker, "x", true);
            ctx.strokeStyle = css("--accent") || "#f4c542";
            ctx.setLineDash([3, 3]);
            ctx.lineWidth = 2 * devicePixelRatio;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
  el.textContent = "";
  const u = new uPlot(opts, [time, ...series.map((s) => s.values)], el);
  const resize = new ResizeObserver(() => {
    const w = el.clientWidth;
    if (w && Math.abs(w - u.width) > 4) u.setSize({ width: w, height: Math.max(240, Math.min(380, Math.round(w * 0.45))) });
  });
  resize.observe(el);
  registry[name] = {
    series: series.map((s) => ({ label: s.label, unit: s.unit, values: s.values })),
    time,
    lines: lines.map((l) => ({ label: l.label, value: l.value })),
    marker,
  };
  return {
    plot: u,
    destroy() {
      resize.disconnect();
      u.destroy();
      delete registry[name];
    },
  };
}
