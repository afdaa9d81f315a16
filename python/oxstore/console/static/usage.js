// Usage statistics over time: the newest statistics objects (?ostor-usage&obj=NAME), drawn as
// two charts, operations and bytes (uploaded above the axis, downloaded below) per period with
// a series per bucket (the busiest TOP, the rest summed), and the same numbers as a table, the
// charts' text alternative. An object counts per bucket and user; the charts per bucket.
import { $, el, formatSize } from "./dom.js";
import { stackedBars, swatch, niceCount, niceBytes } from "./chart.js";

const USAGE = ["ostor-usage", ""];
const NEWEST = 50;  // objects fetched for the charts: one request each
const MAX_PAGES = 100;  // of names listed: a million periods, a century of hours
const TOP = 6;
const OTHER = "other buckets";  // has a space: no bucket is named so
const NO_BUCKET = "(no bucket)";  // requests to none: ListBuckets, the admin API
const COLORS = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00"];
const GREY = "#8c959f";
const KINDS = ["put", "get", "list", "other"];

// name -> the object's JSON: a statistics object never changes once written, so each one is
// fetched once (until sign-out), however often the view is shown again
const cache = new Map();
let drawn = null;  // { rows, series } the charts show, to draw them again at another width
let drawnWidth = 0;

// s3-usage-<service id>-<ISO start>-<period>: the start, which sorts as time does
const NAME = /-(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)-\d+$/;

function startOf(name) {
  const match = name.match(NAME);
  return match ? match[1] : "";
}

const byTime = (a, b) => startOf(a).localeCompare(startOf(b)) || a.localeCompare(b);

// Every statistics object's name: the server lists them in order, a page at a time (10,000),
// and `after` (oxstore's addition) goes on from a page's last name, to the newest.
export async function usageListing(s3) {
  const items = [];
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const after = items.length ? [["after", items[items.length - 1]]] : [];
    const listing = await s3.admin("GET", [USAGE, ...after]);
    items.push(...(listing.items || []));
    if (!listing.truncated) return { nr_items: items.length, truncated: false, items };
  }
  return { nr_items: items.length, truncated: true, items };
}

export async function renderUsage(s3, listing) {
  const names = listing.items || [];
  $("usage-list").replaceChildren(...names.map((name) => el("li", { className: "name" }, name)));
  $("usage-count").textContent = `${listing.nr_items ?? names.length} statistics objects` +
    (listing.truncated ? " (the first ones)" : "");
  const listed = new Set(names);
  for (const name of cache.keys()) if (!listed.has(name)) cache.delete(name);  // deleted
  const newest = [...names].sort(byTime).slice(-NEWEST);
  await Promise.all(newest.filter((name) => !cache.has(name)).map(async (name) => {
    try {
      cache.set(name, await s3.admin("GET", [USAGE, ["obj", name]]));
    } catch (error) {
      if (error.code !== "NoSuchKey") throw error;  // deleted since the listing
    }
  }));
  const objects = newest.filter((name) => cache.has(name)).map((name) => cache.get(name));
  drawn = tally(objects);
  $("usage-charts").hidden = drawn.rows.length === 0;
  $("no-usage").hidden = drawn.rows.length > 0;
  // a truncated listing holds the oldest names only (the server lists them in order)
  $("usage-shown").textContent = (drawn.rows.length === names.length ? ""
    : `The charts show the newest ${drawn.rows.length}${listing.truncated ? " listed" : ""}.`);
  renderLegend(drawn);
  renderTable(drawn);
  drawnWidth = 0;
  drawCharts();
}

function zero() {
  return { put: 0, get: 0, list: 0, other: 0, uploaded: 0, downloaded: 0 };
}

function add(into, counts) {
  for (const name of Object.keys(into)) into[name] += Number(counts[name] ?? 0);
  return into;
}

const opsOf = (c) => KINDS.reduce((sum, kind) => sum + c[kind], 0);

function countsOf(item) {
  const { ops = {}, net_io: io = {} } = item.counters || {};
  return { ...ops, ...io };
}

// Periods in time order, each with its counts per series; series are the buckets with the
// most operations (then bytes) over all the periods shown.
function tally(objects) {
  const periods = objects.map((object) => {
    const byBucket = new Map();
    for (const item of object.items || []) {
      const bucket = item.key?.bucket ?? "";
      byBucket.set(bucket, add(byBucket.get(bucket) || zero(), countsOf(item)));
    }
    const start = Number(object.start_ts);
    return { start, end: start + Number(object.period), byBucket };
  }).sort((a, b) => a.start - b.start);
  const totals = new Map();
  for (const period of periods) {
    for (const [bucket, counts] of period.byBucket) {
      totals.set(bucket, add(totals.get(bucket) || zero(), counts));
    }
  }
  const bytes = (c) => c.uploaded + c.downloaded;
  const ranked = [...totals].sort(([, a], [, b]) => opsOf(b) - opsOf(a) || bytes(b) - bytes(a))
    .map(([bucket]) => bucket);
  const own = ranked.length > TOP + 1 ? ranked.slice(0, TOP) : ranked;  // "other" of one: no
  const series = own.map((bucket, k) =>
    ({ label: bucket === "" ? NO_BUCKET : bucket, bucket, color: COLORS[k] }));
  if (own.length < ranked.length) series.push({ label: OTHER, bucket: null, color: GREY });
  const index = new Map(own.map((bucket, k) => [bucket, k]));
  const rows = periods.map((period) => {
    const counts = series.map(zero);
    for (const [bucket, c] of period.byBucket) add(counts[index.get(bucket) ?? own.length], c);
    return { start: period.start, end: period.end, counts };
  });
  series.forEach((one, k) => {
    one.total = rows.reduce((sum, row) => add(sum, row.counts[k]), zero());
  });
  return { rows, series };
}

function renderLegend({ series }) {
  $("usage-legend").replaceChildren(...series.map((one) => {
    const item = el("li", {}, swatch(one.color), " ", el("span", { className: "name" }, one.label),
      `: ${opsOf(one.total)} operations, ${formatSize(one.total.uploaded)} in, ` +
      `${formatSize(one.total.downloaded)} out`);
    item.dataset.series = one.label;
    return item;
  }));
}

function timeOf(seconds) {
  return new Date(seconds * 1000);
}

function duration(seconds) {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function numberCell(value, text = String(value), title = "") {
  const cell = el("td", { className: "number", title }, text);
  cell.dataset.value = String(value);
  return cell;
}

// One row per period and series with any count: what the bars show, in numbers.
function renderTable({ rows, series }) {
  const lines = [];
  for (const row of rows) {
    row.counts.forEach((c, k) => {
      if (!opsOf(c) && !c.uploaded && !c.downloaded) return;
      const when = timeOf(row.start);
      const line = el("tr", { className: "usage-row" },
        el("td", {}, el("time", { dateTime: when.toISOString() }, when.toLocaleString()),
          ` (${duration(row.end - row.start)})`),
        el("td", { className: "name" }, series[k].label),
        numberCell(opsOf(c)), ...KINDS.map((kind) => numberCell(c[kind])),
        numberCell(c.uploaded, formatSize(c.uploaded), `${c.uploaded} bytes`),
        numberCell(c.downloaded, formatSize(c.downloaded), `${c.downloaded} bytes`));
      line.dataset.period = String(row.start);
      line.dataset.series = series[k].label;
      if (series[k].bucket !== null) line.dataset.bucket = series[k].bucket;
      lines.push(line);
    });
  }
  $("usage-table").tBodies[0].replaceChildren(...lines);
}

// Both charts at the width they are shown at (again when it changes: see wireUsage).
function drawCharts() {
  const area = $("usage-charts");
  const width = Math.floor(area.getBoundingClientRect().width) || 640;
  if (!drawn || !drawn.rows.length || width === drawnWidth) return;
  drawnWidth = width;
  const { rows, series } = drawn;
  const first = timeOf(rows[0].start).toLocaleString();
  const last = timeOf(rows[rows.length - 1].end).toLocaleString();
  const span = `${rows.length} periods from ${first} to ${last}, by bucket (${
    series.map((one) => one.label).join(", ")}); the table below has the numbers`;
  const when = (s) => timeOf(rows[s].start).toLocaleString();
  $("ops-chart").replaceChildren(stackedBars({
    label: `Operations per period: ${span}`, width, slots: rows, series,
    up: rows.map((row) => row.counts.map(opsOf)), format: String, nice: niceCount,
    describe: (s, k, value) => `${series[k].label}, ${when(s)}: ${value} operations`,
  }));
  $("bytes-chart").replaceChildren(stackedBars({
    label: `Bytes uploaded (above the axis) and downloaded (below) per period: ${span}`, width,
    slots: rows, series, format: formatSize, nice: niceBytes,
    up: rows.map((row) => row.counts.map((c) => c.uploaded)),
    down: rows.map((row) => row.counts.map((c) => c.downloaded)),
    describe: (s, k, value, isDown) =>
      `${series[k].label}, ${when(s)}: ${formatSize(value)} ${isDown ? "downloaded" : "uploaded"}`,
  }));
}

export function wireUsage() {
  new ResizeObserver(() => drawCharts()).observe($("usage-charts"));
}

// Empties the charts, their table and the names (the statistics fetched stay cached).
export function clearUsage() {
  drawn = null;
  drawnWidth = 0;
  for (const id of ["ops-chart", "bytes-chart", "usage-legend", "usage-list"]) {
    $(id).replaceChildren();
  }
  $("usage-table").tBodies[0].replaceChildren();
  for (const id of ["usage-count", "usage-shown"]) $(id).textContent = "";
  $("usage-charts").hidden = true;
  $("no-usage").hidden = true;
}

export function forgetUsage() {
  cache.clear();
  clearUsage();
}
