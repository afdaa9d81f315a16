// The accounts of the user shown in detail: isolated owners under it (their own buckets and
// keys). Create one (its first key pair shown once), a new key pair, revoke a key,
// disable/enable (oxstore's addition, as for users), its own quota and limits (limits.js), and
// delete (only once it owns no bucket).
import { $, el, button, setStatus, reportError } from "./dom.js";
import { keyItems, accessKeysOf, newPairOf, showNewKey, hideNewKey } from "./keys.js";
import { makeEditor, renderLimits, showAllowance, clearLimits } from "./limits.js";

const USERS = ["ostor-users", ""];
const ACCOUNTS = ["ostor-accounts", ""];

// `who` is the query pair naming the user; `reload()` reads the user again and calls back here;
// `account` is the name of the account whose quota and limits are shown ("" for none).
const shown = { who: null, reload: async () => {}, account: "" };

export async function renderAccounts(s3, who, accounts, reload) {
  if (shown.who && shown.who[1] !== who[1]) forgetAccount();
  Object.assign(shown, { who, reload });
  $("account-list").replaceChildren(...accounts.map((a) => accountItem(s3, a)));
  $("no-accounts").hidden = accounts.length > 0;
  if (!accounts.some((a) => a.Name === shown.account)) forgetAccount();
  else await renderLimits(s3, "account", accountQuery(shown.account));
}

function forgetAccount() {
  shown.account = "";
  $("account-detail").hidden = true;
}

// Empties the list and the account's quota and limits (the selection stays: read again).
export function clearAccounts() {
  $("account-list").replaceChildren();
  $("no-accounts").hidden = true;
  clearLimits("account");
}

// The user gone from the page (deleted, signed out): nothing of its accounts is kept.
export function forgetAccounts() {
  Object.assign(shown, { who: null, reload: async () => {} });
  forgetAccount();
}

async function selectAccount(s3, name) {
  shown.account = name;
  await showAllowance(s3, "account", accountQuery(name), `Quota and limits of account ${name}`);
}

// One account: its name and state, its keys, and what may be done with it (a list item, not a
// table row: its keys and buttons fit a phone's width this way).
function accountItem(s3, account) {
  const name = account.Name;
  const disabled = account.State === "disabled";
  const keys = el("ul", { className: "plain account-keys" },
    ...keyItems(accessKeysOf(account), (key) => revokeKey(s3, name, key)));
  keys.setAttribute("aria-label", `Access keys of account ${name}`);
  const actions = [
    button("New key pair", `New key pair for account ${name}`, () => generateKey(s3, account),
      "account-gen-key"),
    button("Quota and limits", `Quota and limits of account ${name}`,
      () => selectAccount(s3, name), "account-manage"),
    disabled
      ? button("Enable", `Enable account ${name}`, () => setState(s3, name, "enable"),
        "account-enable")
      : button("Disable", `Disable account ${name}`, () => setState(s3, name, "disable"),
        "account-disable danger"),
    button("Delete", `Delete account ${name}`, () => deleteAccount(s3, name),
      "account-delete danger"),
  ];
  for (const action of actions) action.dataset.account = name;
  const item = el("li", { className: "account" },
    el("h5", {}, el("span", { className: "name" }, name), " ",
      el("span", { className: `account-state ${disabled ? "off" : ""}` },
        account.State || "enabled")),
    keys.children.length ? keys : el("p", { className: "hint" }, "no keys"),
    el("div", { className: "row" }, ...actions));
  item.dataset.account = name;
  return item;
}

function accountQuery(name) {
  return [shown.who, ["accountName", name]];
}

// Runs one call, says `done` and shows the accounts as the server now has them; afterwards the
// focus goes to `focusOn()` (the list was made again: the button pressed is gone).
async function act(call, done, focusOn = null) {
  try {
    const answer = await call();
    setStatus(done);
    await shown.reload();
    return answer;
  } catch (error) {
    reportError(error);
    return null;
  } finally {
    if (focusOn) focusOn()?.focus();
  }
}

function itemButton(name, className) {
  const item = $("account-list").querySelector(`li.account[data-account="${CSS.escape(name)}"]`);
  return item ? item.querySelector(`button.${className}`) : null;
}

async function createAccount(s3) {
  const name = $("new-account").value.trim();
  const answer = await act(() => s3.admin("POST", [ACCOUNTS, ...accountQuery(name)]),
    `Account ${name} created.`);
  if (!answer) return;
  $("new-account").value = "";
  showNewKey(`Key pair of the new account ${name}`, answer.AWSAccessKeys[0]);
}

async function generateKey(s3, account) {
  const before = accessKeysOf(account);
  const answer = await act(
    () => s3.admin("POST", [USERS, ...accountQuery(account.Name), ["genKey", ""]]),
    `A new key pair for the account ${account.Name}.`);
  const pair = answer && newPairOf(answer, before);
  if (pair) showNewKey(`New key pair of account ${account.Name}`, pair);
}

async function revokeKey(s3, name, accessKey) {
  hideNewKey();
  await act(() => s3.admin("POST", [USERS, ...accountQuery(name), ["revokeKey", accessKey]]),
    `Key ${accessKey} revoked.`, () => itemButton(name, "account-gen-key"));
}

async function setState(s3, name, flag) {
  hideNewKey();
  const undo = flag === "disable" ? "account-enable" : "account-disable";  // focused next
  await act(() => s3.admin("POST", [USERS, ...accountQuery(name), [flag, ""]]),
    `Account ${name} ${flag}d.`,
    () => itemButton(name, undo) || itemButton(name, "account-delete"));
}

async function deleteAccount(s3, name) {
  if (!confirm(`Delete the account ${name}? Its keys stop working. It must own no buckets.`)) {
    return;
  }
  hideNewKey();
  await act(() => s3.admin("DELETE", [ACCOUNTS, ...accountQuery(name)]),
    `Account ${name} deleted.`, () => itemButton(name, "account-delete") || $("new-account"));
}

export function wireAccounts(getS3) {
  makeEditor(getS3, $("account-allowance"), "account", "account");
  $("create-account-form").addEventListener("submit", (event) => {
    event.preventDefault();
    createAccount(getS3());
  });
}
