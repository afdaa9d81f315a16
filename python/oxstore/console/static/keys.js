// Key pairs of a user or of an account: the list of its access keys with a revoke button each,
// and the panel that shows a new pair, its secret with it, once. (The admin API answers every
// secret with the owner; a listing is no place to show them.)
import { $, el, button } from "./dom.js";

// One list item per access key; `onRevoke(accessKey)` runs once the operator has confirmed.
export function keyItems(accessKeys, onRevoke) {
  return accessKeys.map((accessKey) => {
    const revoke = button("Revoke", `Revoke key ${accessKey}`, () => {
      if (confirm(`Revoke the key ${accessKey}? It stops working now.`)) onRevoke(accessKey);
    }, "danger");
    revoke.dataset.key = accessKey;
    const item = el("li", {}, el("code", { className: "name" }, accessKey), " ", revoke);
    item.dataset.key = accessKey;
    return item;
  });
}

export function accessKeysOf(owner) {
  return (owner.AWSAccessKeys || []).map((pair) => pair.AWSAccessKeyId);
}

// The pair of `answer` (a genKey answer lists all of the owner's pairs) not among `before`.
export function newPairOf(answer, before) {
  return (answer.AWSAccessKeys || []).find((pair) => !before.includes(pair.AWSAccessKeyId));
}

// A key pair just made: shown once, with its secret, until another action or user.
export function showNewKey(title, pair) {
  $("new-key-title").textContent = title;
  $("new-key-access").value = pair.AWSAccessKeyId;
  $("new-key-secret").value = pair.AWSSecretAccessKey;
  $("new-key").hidden = false;
  $("new-key-access").focus();
}

export function hideNewKey() {
  $("new-key").hidden = true;
  $("new-key-secret").value = "";  // nothing of the secret stays in the page
}
