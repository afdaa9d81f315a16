// The Admin view, for system users only: the ostor admin API (service level, signed like S3).
// Users with their keys (create, disable/enable, new key, revoke key), a user's quota and
// limits, the bucket inventory with sizes, and the usage statistics objects.
import { $, el, show, setStatus, reportError, formatSize, formatDate } from "./dom.js";

const USERS = ["ostor-users", ""];
let selected = "";  // the email of the user shown in detail

// Whether the signed-in user may use the admin API: one GET ?ostor-users (403 for others).
export async function isSystemUser(s3) {
  try {
    await s3.admin("GET", [USERS]);
    return true;
  } catch (error) {
    if (error.status === 403) return false;
    throw error;
  }
}

// The inventory: bucket name -> { size, objects } (for the bucket list too).
export async function bucketInventory(s3) {
  const answer = await s3.admin("GET", [["ostor-buckets", ""]]);
  return answer.Buckets || [];
}

export async function renderAdmin(s3) {
  show("admin-view");
  const [users, buckets, usage] = await Promise.all([
    s3.admin("GET", [USERS]), bucketInventory(s3), s3.admin("GET", [["ostor-usage", ""]])]);
  $("user-table").tBodies[0].replaceChildren(...(users.Users || []).map((u) => userRow(s3, u)));
  $("inventory-table").tBodies[0].replaceChildren(...buckets.map(inventoryRow));
  $("no-inventory").hidden = buckets.length > 0;
  const items = usage.items || [];
  $("usage-list").replaceChildren(...items.map((name) => el("li", { className: "name" }, name)));
  $("usage-count").textContent = `${usage.nr_items ?? items.length} statistics objects` +
    (usage.truncated ? " (the first ones)" : "");
  if (selected) await renderUser(s3, selected);
}

function button(text, label, onClick, className = "") {
  const node = el("button", { type: "button", className }, text);
  node.setAttribute("aria-label", label);
  node.addEventListener("click", onClick);
  return node;
}

function userRow(s3, user) {
  const manage = button("Manage", `Manage ${user.UserEmail}`, () => selectUser(s3, user.UserEmail));
  manage.dataset.email = user.UserEmail;
  const row = el("tr", { className: "user" },
    el("td", { className: "name" }, user.UserEmail),
    el("td", { className: "user-state" }, user.State),
    el("td", { className: "when" }, (user.Flags || []).join(", ")),
    el("td", {}, manage));
  row.dataset.email = user.UserEmail;
  return row;
}

function inventoryRow(bucket) {
  const row = el("tr", { className: "inventory" },
    el("td", { className: "name" }, bucket.name),
    el("td", {}, formatSize(Number(bucket.size?.current ?? 0))),
    el("td", {}, String(bucket.objects ?? 0)),
    el("td", { className: "when name" }, bucket.owner_id),
    el("td", { className: "when" }, formatDate(bucket.creation_date)));
  row.dataset.bucket = bucket.name;
  return row;
}

async function selectUser(s3, email) {
  selected = email;
  $("new-key").hidden = true;
  try {
    await renderUser(s3, email);
    $("user-detail-title").focus();
  } catch (error) {
    reportError(error);
  }
}

async function renderUser(s3, email) {
  const who = ["emailAddress", email];
  const [user, quota, limits] = await Promise.all([
    s3.admin("GET", [USERS, who]),
    s3.admin("GET", [["ostor-quotas", ""], who]),
    s3.admin("GET", [["ostor-limits", ""], who]).catch((error) => {
      if (error.code === "NoSuchLimits") return null;
      throw error;
    }),
  ]);
  $("user-detail").hidden = false;
  $("user-detail").dataset.email = email;
  $("user-detail-title").textContent = email;
  $("user-detail-state").textContent = user.State;
  $("user-detail-id").textContent = user.UserId;
  $("user-disable").hidden = user.State === "disabled";
  $("user-enable").hidden = user.State !== "disabled";
  const keys = user.AWSAccessKeys || [];
  $("key-list").replaceChildren(...keys.map((pair) => keyItem(s3, email, pair.AWSAccessKeyId)));
  $("no-keys").hidden = keys.length > 0;
  const size = Number(quota.size);
  $("user-quota").textContent = size ? formatSize(size) : "unlimited";
  $("user-limits").textContent = limits
    ? Object.entries(limits).map(([name, value]) => `${name} ${value === "0" ? "unlimited" : value}`)
      .join(", ")
    : "none (unlimited)";
}

function keyItem(s3, email, accessKey) {
  const revoke = button("Revoke", `Revoke key ${accessKey}`,
    () => userAction(s3, email, ["revokeKey", accessKey], `Key ${accessKey} revoked.`),
    "danger");
  revoke.dataset.key = accessKey;
  const item = el("li", {}, el("code", { className: "name" }, accessKey), " ", revoke);
  item.dataset.key = accessKey;
  return item;
}

async function userAction(s3, email, flag, done) {
  if (flag[0] === "revokeKey" && !confirm(`Revoke the key ${flag[1]}? It stops working now.`)) {
    return;
  }
  try {
    await s3.admin("POST", [USERS, ["emailAddress", email], flag]);
    $("new-key").hidden = true;
    setStatus(done);
    await renderAdmin(s3);
  } catch (error) {
    reportError(error);
  }
}

// A key pair just made: shown once, with its secret, until another user is chosen.
function showNewKey(title, pair) {
  $("new-key-title").textContent = title;
  $("new-key-access").value = pair.AWSAccessKeyId;
  $("new-key-secret").value = pair.AWSSecretAccessKey;
  $("new-key").hidden = false;
  $("new-key-access").focus();
}

async function createUser(s3) {
  const email = $("new-user").value.trim();
  try {
    const answer = await s3.admin("PUT", [USERS, ["emailAddress", email]]);
    $("new-user").value = "";
    selected = email;
    await renderAdmin(s3);
    showNewKey(`Key pair of the new user ${email}`, answer.AWSAccessKeys[0]);
    setStatus(`User ${email} created.`);
  } catch (error) {
    reportError(error);
  }
}

async function generateKey(s3) {
  const email = selected;
  try {
    const before = new Set(Array.from($("key-list").children, (li) => li.dataset.key));
    const answer = await s3.admin("POST", [USERS, ["emailAddress", email], ["genKey", ""]]);
    await renderAdmin(s3);
    const pair = answer.AWSAccessKeys.find((p) => !before.has(p.AWSAccessKeyId));
    if (pair) showNewKey(`New key pair of ${email}`, pair);
    setStatus(`A new key pair for ${email}.`);
  } catch (error) {
    reportError(error);
  }
}

export function wireAdmin(getS3) {
  $("create-user-form").addEventListener("submit", (event) => {
    event.preventDefault();
    createUser(getS3());
  });
  $("user-disable").addEventListener("click",
    () => userAction(getS3(), selected, ["disable", ""], `User ${selected} disabled.`));
  $("user-enable").addEventListener("click",
    () => userAction(getS3(), selected, ["enable", ""], `User ${selected} enabled.`));
  $("user-gen-key").addEventListener("click", () => generateKey(getS3()));
  $("admin-refresh").addEventListener("click", () => renderAdmin(getS3()).catch(reportError));
}

export function forgetAdmin() {
  selected = "";
  $("user-detail").hidden = true;
  $("new-key").hidden = true;
}
