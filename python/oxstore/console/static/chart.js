// Stacked bar charts on a time axis, as inline SVG made here (no library): one bar per period,
// spanning its time, a segment per series; given `down` values too, a second stack hangs below
// the axis (bytes out under bytes in). Drawn at the pixel width it is shown at, so that its
// text stays readable on a phone. Its numbers belong in a table beside it: the caller's.
const SVG = "http://www.w3.org/2000/svg";
const MARGIN = { top: 10, right: 12, bottom: 26, left: 70 };
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
  43200, 86400, 172800, 604800, 2592000];  // seconds: round times for the axis' ticks
const DAY = 86400;

// svg("rect", { x: 1 }, child...): presentation attributes, never style (the page's CSP)
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

// A small square of a series' colour, for legends.
export function swatch(color) {
  const node = svg("svg", { width: 12, height: 12, viewBox: "0 0 12 12", class: "swatch" },
    svg("rect", { width: 12, height: 12, rx: 2, fill: color }));
  node.setAttribute("aria-hidden", "true");
  return node;
}

// 1, 2 or 5 times a power of ten, at least `raw` (and at least 1: counts are whole)
export function niceCount(raw) {
  const power = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw);
}

// the same within powers of 1024, so that byte ticks read round ("200.0 KiB")
export function niceBytes(raw) {
  const power = 1024 ** Math.max(0, Math.floor(Math.log(Math.max(raw, 1)) / Math.log(1024)));
  return niceCount(raw / power) * power;
}

function sums(stacks) {
  return Math.max(1, ...stacks.map((values) => values.reduce((a, b) => a + b, 0)));
}

function timeLabel(seconds, step, span) {
  const date = new Date(seconds * 1000);
  const day = date.toLocaleDateString([], { month: "short", day: "numeric" });
  if (step >= DAY) return day;
  const time = date.toLocaleTimeString([], {
    hour: "2-digit", minute: "2-digit", ...(step < 60 ? { second: "2-digit" } : {}) });
  return span > DAY ? `${day} ${time}` : time;
}

// `slots`: [{ start, end }] in seconds; `up[slot][series]` (and `down`, or null) values >= 0;
// `series`: [{ label, color }]; `format(value)` for the value axis; `nice(raw)` its step;
// `describe(slot, series, value, isDown)`: each segment's tooltip; `label`: the text
// alternative's short form (aria-label).
export function stackedBars({ label, width, slots, series, up, down = null, format, nice,
  describe }) {
  const height = down ? 260 : 190;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const rows = Math.max(2, Math.floor(plotH / 36));  // value ticks, one every ~36 px
  const step = nice((sums(up) + (down ? sums(down) : 0)) / rows);
  const top = Math.ceil(sums(up) / step) * step;
  const bottom = down ? Math.ceil(sums(down) / step) * step : 0;
  const y = (value) => MARGIN.top + ((top - value) / (top + bottom)) * plotH;
  const t0 = Math.min(...slots.map((s) => s.start));
  const t1 = Math.max(t0 + 1, ...slots.map((s) => s.end));
  const x = (t) => MARGIN.left + ((t - t0) / (t1 - t0)) * plotW;

  const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "chart",
    role: "img", "aria-label": label });
  chart.append(valueAxis(y, step, top, bottom, format, width), timeAxis(x, t0, t1, height));
  slots.forEach((slot, s) => {
    const x0 = x(slot.start);
    const full = x(slot.end) - x0;
    const pad = Math.min(2, full * 0.1);  // a gap between neighbouring periods
    const box = { x: x0 + pad, width: Math.max(2, full - 2 * pad) };
    chart.append(...stack(box, up[s], series, y, 1, (k, v) => describe(s, k, v, false)));
    if (!down) return;
    chart.append(...stack(box, down[s], series, y, -1, (k, v) => describe(s, k, v, true)));
  });
  return chart;
}

// One period's segments, from the axis upwards (sign 1) or downwards (sign -1).
function stack(box, values, series, y, sign, describe) {
  let base = 0;
  const segments = [];
  values.forEach((value, k) => {
    if (!value) return;
    const [from, to] = [y(sign * base), y(sign * (base + value))];
    segments.push(svg("rect", { x: box.x, width: box.width, y: Math.min(from, to),
      height: Math.max(Math.abs(to - from), 0.5), fill: series[k].color, class: "bar" },
    svg("title", {}, describe(k, value))));
    base += value;
  });
  return segments;
}

function valueAxis(y, step, top, bottom, format, width) {
  const axis = svg("g", { class: "axis" });
  for (let value = -bottom; value <= top; value += step) {
    const at = y(value);
    axis.append(
      svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: at, y2: at,
        class: value === 0 ? "zero" : "grid" }),
      svg("text", { x: MARGIN.left - 6, y: at + 4, "text-anchor": "end" },
        format(Math.abs(value))));
  }
  return axis;
}

function timeAxis(x, t0, t1, height) {
  const axis = svg("g", { class: "axis" });
  const span = t1 - t0;
  const count = Math.max(1, Math.floor((x(t1) - x(t0)) / 110));  // a label every ~110 px
  const step = TIME_STEPS.find((s) => span / s <= count) ?? Math.ceil(span / count / DAY) * DAY;
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
    axis.append(
      svg("line", { x1: x(t), x2: x(t), y1: height - MARGIN.bottom, y2: height - MARGIN.bottom + 4,
        class: "tick" }),
      // a label at the right edge ends there, not beyond the picture
      svg("text", { x: x(t), y: height - 8, "text-anchor": x(t1) - x(t) < 40 ? "end" : "middle" },
        timeLabel(t, step, span)));
  }
  return axis;
}
