// The Admin view, for system users only: the ostor admin API (service level, signed like S3).
// Users with their keys (create, disable/enable, new key, revoke key, delete), a user's
// accounts (accounts.js), quota and limits of a user, an account or a bucket (limits.js), the
// bucket inventory with sizes, and the usage statistics over time (usage.js).
import { $, el, button, show, setStatus, reportError, formatSize, formatDate } from "./dom.js";
import { keyItems, accessKeysOf, newPairOf, showNewKey, hideNewKey } from "./keys.js";
import { renderAccounts, wireAccounts, clearAccounts, forgetAccounts } from "./accounts.js";
import { makeEditor, renderLimits, showAllowance, clearLimits } from "./limits.js";
import { renderUsage, usageListing, wireUsage, clearUsage, forgetUsage } from "./usage.js";

const USERS = ["ostor-users", ""];
let selected = "";  // the email of the user shown in detail
let selectedBucket = "";  // the bucket whose quota and limits are shown

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

// Empties the view before it is read again (a failed read leaves nothing of the last answer):
// the users, the user's detail, the inventory, the bucket's limits, the charts. The selected
// user and bucket stay, to be read again.
function clearAdmin() {
  $("user-table").tBodies[0].replaceChildren();
  $("inventory-table").tBodies[0].replaceChildren();
  $("no-inventory").hidden = true;
  clearUser();
  clearLimits("bucket");
  clearUsage();
}

export async function renderAdmin(s3) {
  show("admin-view");
  clearAdmin();
  const [users, buckets, usage] = await Promise.all([
    s3.admin("GET", [USERS]), s3.bucketInventory(), usageListing(s3)]);
  $("user-table").tBodies[0].replaceChildren(...(users.Users || []).map((u) => userRow(s3, u)));
  $("inventory-table").tBodies[0].replaceChildren(...buckets.map((b) => inventoryRow(s3, b)));
  $("no-inventory").hidden = buckets.length > 0;
  if (selectedBucket && !buckets.some((b) => b.name === selectedBucket)) forgetBucket();
  await Promise.all([
    renderUsage(s3, usage),
    selected ? renderUser(s3, selected) : null,
    selectedBucket ? renderLimits(s3, "bucket", [["bucket", selectedBucket]]) : null,
  ]);
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

function inventoryRow(s3, bucket) {
  const manage = button("Manage", `Manage bucket ${bucket.name}: its quota and limits`,
    () => selectBucket(s3, bucket.name), "bucket-manage");
  manage.dataset.bucket = bucket.name;
  const row = el("tr", { className: "inventory" },
    el("td", { className: "name" }, bucket.name),
    el("td", {}, formatSize(Number(bucket.size?.current ?? 0))),
    el("td", {}, String(bucket.objects ?? 0)),
    el("td", { className: "when name" }, bucket.owner_id),
    el("td", { className: "when" }, formatDate(bucket.creation_date)),
    el("td", { className: "actions" }, manage));
  row.dataset.bucket = bucket.name;
  return row;
}

async function selectUser(s3, email) {
  selected = email;
  hideNewKey();
  try {
    await renderUser(s3, email);
    $("user-detail-title").focus();
  } catch (error) {
    reportError(error);
  }
}

// Empties the user's detail before it is read again (the section stays: it names the user).
function clearUser() {
  $("user-detail-state").textContent = "";
  $("user-detail-id").textContent = "";
  $("user-disable").hidden = true;
  $("user-enable").hidden = true;
  $("key-list").replaceChildren();
  $("no-keys").hidden = true;
  clearLimits("user");
  clearAccounts();
}

async function renderUser(s3, email) {
  clearUser();
  const who = ["emailAddress", email];
  $("user-detail").hidden = false;
  $("user-detail").dataset.email = email;
  $("user-detail-title").textContent = email;
  const user = await s3.admin("GET", [USERS, who]);
  $("user-detail-state").textContent = user.State;
  $("user-detail-id").textContent = user.UserId;
  $("user-disable").hidden = user.State === "disabled";
  $("user-enable").hidden = user.State !== "disabled";
  const keys = accessKeysOf(user);
  $("key-list").replaceChildren(...keyItems(keys, (key) =>
    userAction(s3, email, ["revokeKey", key], `Key ${key} revoked.`)));
  $("no-keys").hidden = keys.length > 0;
  await Promise.all([
    renderAccounts(s3, who, user.Accounts || [], () => renderUser(s3, email)),
    renderLimits(s3, "user", [who]),
  ]);
}

// After the change, the focus goes where the next step is: the button pressed may be hidden
// now (disable -> enable) or gone (a revoked key's).
const FOCUS_AFTER = { disable: "user-enable", enable: "user-disable", revokeKey: "user-gen-key" };

async function userAction(s3, email, flag, done) {
  try {
    await s3.admin("POST", [USERS, ["emailAddress", email], flag]);
    hideNewKey();
    setStatus(done);
    await renderAdmin(s3);
    $(FOCUS_AFTER[flag[0]]).focus();
  } catch (error) {
    reportError(error);
  }
}

// A user with buckets (its own or its accounts') is refused with 409 OwnerHasBuckets, which
// names them: the status line shows it as the server said it.
async function deleteUser(s3) {
  const email = selected;
  if (!confirm(`Delete the user ${email} with its accounts and keys? It must own no buckets.`)) {
    return;
  }
  try {
    await s3.admin("DELETE", [USERS, ["emailAddress", email]]);
    forgetUser();
    setStatus(`User ${email} deleted.`);
    await renderAdmin(s3);
    $("new-user").focus();
  } catch (error) {
    reportError(error);
  }
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
    const before = Array.from($("key-list").children, (li) => li.dataset.key);
    const answer = await s3.admin("POST", [USERS, ["emailAddress", email], ["genKey", ""]]);
    await renderAdmin(s3);
    const pair = newPairOf(answer, before);
    if (pair) showNewKey(`New key pair of ${email}`, pair);
    setStatus(`A new key pair for ${email}.`);
  } catch (error) {
    reportError(error);
  }
}

async function selectBucket(s3, name) {
  selectedBucket = name;
  await showAllowance(s3, "bucket", [["bucket", name]], `Quota and limits of bucket ${name}`);
}

function forgetUser() {
  selected = "";
  $("user-detail").hidden = true;
  delete $("user-detail").dataset.email;
  $("user-detail-title").textContent = "";
  hideNewKey();
  forgetAccounts();
}

function forgetBucket() {
  selectedBucket = "";
  $("bucket-detail").hidden = true;
  $("bucket-detail-title").textContent = "";
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
  $("user-delete").addEventListener("click", () => deleteUser(getS3()));
  $("admin-refresh").addEventListener("click", () => renderAdmin(getS3()).catch(reportError));
  makeEditor(getS3, $("user-allowance"), "user", "user");
  makeEditor(getS3, $("bucket-allowance"), "bucket", "bucket");
  wireAccounts(getS3);
  wireUsage();
}

// Sign-out: nothing of the view is shown or kept for the next user.
export function forgetAdmin() {
  clearAdmin();
  forgetUser();
  forgetBucket();
  forgetUsage();
}
