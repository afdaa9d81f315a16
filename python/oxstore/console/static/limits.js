// What an owner or a bucket may use: its storage quota (?ostor-quotas) and its operation and
// bandwidth limits (?ostor-limits). One editor per target kind (a user, a bucket), made once;
// what it shows is always what the server answered last, read again after every change.
import { $, el, setStatus, reportError, formatSize } from "./dom.js";

const QUOTAS = ["ostor-quotas", ""];
const LIMITS = ["ostor-limits", ""];
const OPS = ["default", "get", "put", "list", "delete"];  // the API's names, per minute
const UNITS = [["MiB", 2 ** 20], ["GiB", 2 ** 30], ["TiB", 2 ** 40]];

// prefix -> { target: query pairs naming the user or bucket, noun: "user" or "bucket" }
const editors = new Map();

// The quota-size the API takes: gigabytes of 2^30 bytes, as an exact decimal (any byte count
// over 2^30 has at most 30 decimals), so that the server stores exactly `bytes`.
export function gigabytes(bytes) {
  const scaled = (BigInt(bytes) * 5n ** 30n).toString().padStart(31, "0");
  const whole = scaled.slice(0, -30);
  const fraction = scaled.slice(-30).replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : whole;
}

function field(id, label, props = {}) {
  return [el("label", { htmlFor: id }, label),
    el("input", { id, type: "number", min: "0", step: "any", inputMode: "decimal", ...props })];
}

function action(id, text, className = "") {
  return el("button", { id, type: "button", className }, text);
}

// The editor's elements, ids prefixed with `p` ("user", "bucket"), into `container`, wired.
export function makeEditor(getS3, container, p, noun) {
  const unit = el("select", { id: `${p}-quota-unit` },
    ...UNITS.map(([name, bytes]) => el("option", { value: String(bytes) }, name)));
  unit.setAttribute("aria-label", `Unit of the ${noun}'s quota`);
  const ops = el("fieldset", { className: "limits-ops" },
    el("legend", {}, "Operations per minute (0: unlimited; a kind left empty takes default)"),
    ...OPS.map((kind) => el("span", { className: "field" }, ...field(`${p}-ops-${kind}`, kind))));
  container.replaceChildren(
    el("dl", { className: "facts" },
      el("dt", {}, "Quota"), el("dd", { id: `${p}-quota` }),
      el("dt", {}, "Limits"),
      el("dd", {}, el("ul", { id: `${p}-limits`, className: "plain" }))),
    el("form", { id: `${p}-quota-form`, className: "row" },
      ...field(`${p}-quota-size`, "New quota", { required: true }), unit,
      el("button", { id: `${p}-quota-set`, type: "submit" }, "Set quota"),
      action(`${p}-quota-remove`, "Remove quota", "danger")),
    el("form", { id: `${p}-ops-form`, className: "stack wide" }, ops,
      el("div", { className: "row" },
        el("button", { id: `${p}-ops-set`, type: "submit" }, "Set operation limits"),
        action(`${p}-ops-remove`, "Remove operation limits", "danger"))),
    el("form", { id: `${p}-bandwidth-form`, className: "row" },
      ...field(`${p}-bandwidth-out`, "Outgoing bandwidth, kB/s (0: unlimited)", { required: true }),
      el("button", { id: `${p}-bandwidth-set`, type: "submit" }, "Set bandwidth limit"),
      action(`${p}-bandwidth-remove`, "Remove bandwidth limit", "danger")));
  editors.set(p, { target: [], noun });
  wire(getS3, p);
}

// Opens the detail section `${p}-detail` on `target`'s quota and limits, titled `title`.
export async function showAllowance(s3, p, target, title) {
  try {
    await renderLimits(s3, p, target);
    $(`${p}-detail`).hidden = false;
    $(`${p}-detail-title`).textContent = title;
    $(`${p}-detail-title`).focus();
  } catch (error) {
    reportError(error);
  }
}

// Empties the quota and limits shown by the editor `p` (before each read of them).
export function clearLimits(p) {
  $(`${p}-quota`).textContent = "";
  delete $(`${p}-quota`).dataset.bytes;
  $(`${p}-limits`).replaceChildren();
}

export async function renderLimits(s3, p, target) {
  clearLimits(p);
  editors.get(p).target = target;
  const [quota, limits] = await Promise.all([
    s3.admin("GET", [QUOTAS, ...target]),
    s3.admin("GET", [LIMITS, ...target]).catch((error) => {
      if (error.code === "NoSuchLimits") return null;  // none set: unlimited
      throw error;
    }),
  ]);
  const size = Number(quota.size);
  $(`${p}-quota`).textContent = size ? `${formatSize(size)} (${size} bytes)` : "unlimited";
  $(`${p}-quota`).dataset.bytes = String(size);
  $(`${p}-limits`).replaceChildren(...(limits
    ? Object.entries(limits).map(([name, value]) => limitItem(name, value))
    : [el("li", { className: "hint" }, "none (unlimited)")]));
}

// The API shows operations per second and bandwidth in kB/s, whatever unit it was set in.
function limitItem(name, value) {
  const unit = name.startsWith("ops:") ? "per second" : "kB/s";
  const item = el("li", {}, el("span", { className: "pair-name" }, name),
    Number(value) ? ` ${value} ${unit}` : " unlimited");
  item.dataset.limit = name;
  item.dataset.value = value;
  return item;
}

// One change: the call, then everything shown read again from the server.
async function change(s3, p, method, query, done) {
  const { target } = editors.get(p);
  try {
    await s3.admin(method, [...query, ...target]);
    await renderLimits(s3, p, target);
    setStatus(done);
  } catch (error) {
    reportError(error);
  }
}

function setQuota(s3, p) {
  const value = Number($(`${p}-quota-size`).value);
  const bytes = Math.round(value * Number($(`${p}-quota-unit`).value));
  if (!(value >= 0 && Number.isSafeInteger(bytes)) || (value > 0 && bytes < 1)) {
    setStatus("A quota is 0 (unlimited) or a size from 1 byte to 8 PiB.", true);
    return;
  }
  const { noun } = editors.get(p);
  change(s3, p, "PUT", [QUOTAS, ["quota-size", gigabytes(bytes)]],
    bytes ? `The ${noun}'s quota is ${formatSize(bytes)}.` : `The ${noun} has no quota.`);
}

function setOps(s3, p) {
  const given = OPS.map((kind) => [kind, $(`${p}-ops-${kind}`).value.trim()])
    .filter(([, value]) => value !== "");
  change(s3, p, "PUT", [LIMITS, ["ops", ""], ...given],
    `The ${editors.get(p).noun}'s operation limits are set.`);
}

function wire(getS3, p) {
  const submit = (form, run) => $(form).addEventListener("submit", (event) => {
    event.preventDefault();
    run(getS3(), p);
  });
  const click = (id, run) => $(id).addEventListener("click", () => run(getS3(), p));
  const noun = () => editors.get(p).noun;
  submit(`${p}-quota-form`, setQuota);
  click(`${p}-quota-remove`, (s3) => change(s3, p, "DELETE", [QUOTAS],
    `The ${noun()}'s quota is removed.`));
  submit(`${p}-ops-form`, setOps);
  click(`${p}-ops-remove`, (s3) => change(s3, p, "DELETE", [LIMITS, ["ops", ""]],
    `The ${noun()}'s operation limits are removed.`));
  submit(`${p}-bandwidth-form`, (s3) => change(s3, p, "PUT",
    [LIMITS, ["bandwidth", ""], ["out", $(`${p}-bandwidth-out`).value.trim()]],
    `The ${noun()}'s bandwidth limit is set.`));
  click(`${p}-bandwidth-remove`, (s3) => change(s3, p, "DELETE", [LIMITS, ["bandwidth", ""]],
    `The ${noun()}'s bandwidth limit is removed.`));
}
