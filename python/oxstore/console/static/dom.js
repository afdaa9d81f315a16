// Small DOM helpers shared by the views.
export const $ = (id) => document.getElementById(id);

// el("a", { href: "#" }, "text", child, ...): attributes set as properties, text as text nodes.
export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
}

const VIEWS = ["sign-in-view", "buckets-view", "objects-view", "object-view", "admin-view"];

export function show(view) {
  for (const id of VIEWS) $(id).hidden = id !== view;
}

// A button with a visible text and a name for assistive technology that says what it acts
// on ("Revoke" is not enough among many keys).
export function button(text, label, onClick, className = "") {
  const node = el("button", { type: "button", className }, text);
  node.setAttribute("aria-label", label);
  node.addEventListener("click", onClick);
  return node;
}

export function setStatus(message, isError = false) {
  const status = $("status");
  status.textContent = message;
  status.classList.toggle("error", isError);
  if (isError) status.setAttribute("role", "alert");
  else status.setAttribute("role", "status");
  // An error sticks to the window's top (console.css): what is scrolled or focused into view
  // meanwhile stops below it, not under it.
  const sticks = isError && message;
  document.documentElement.style.scrollPaddingTop = sticks ? `${status.offsetHeight}px` : "";
}

export function reportError(error) {
  setStatus(error && error.message ? error.message : String(error), true);
}

export function formatSize(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit ? `${value.toFixed(1)} ${units[unit]}` : `${bytes} B`;
}

export function formatDate(text) {
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : date.toLocaleString();
}

// Hash routes: #/ (buckets), #/b/BUCKET/PREFIX (a folder), #/o/BUCKET/KEY (an object).
export function folderHref(bucket, prefix = "") {
  return `#/b/${encodeURIComponent(bucket)}/${encodeURIComponent(prefix)}`;
}

export function objectHref(bucket, key) {
  return `#/o/${encodeURIComponent(bucket)}/${encodeURIComponent(key)}`;
}

// Breadcrumb links: Buckets / bucket / folder / ...
export function renderCrumbs(nav, bucket, prefix) {
  nav.replaceChildren(el("a", { href: "#/" }, "Buckets"),
    el("a", { href: folderHref(bucket) }, bucket));
  let path = "";
  for (const part of prefix.split("/").filter(Boolean)) {
    path += part + "/";
    nav.append(el("a", { href: folderHref(bucket, path) }, part));
  }
}
