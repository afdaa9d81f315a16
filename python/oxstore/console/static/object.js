// One object: its facts, download, public / private, share link, delete.
import { $, el, show, setStatus, reportError, formatSize, formatDate, folderHref,
  renderCrumbs } from "./dom.js";
import { renderVersions, clearVersions } from "./versions.js";

const DOWNLOAD_EXPIRES = 3600;  // the download link is made when the view opens
const MAX_EXPIRES = 604800;  // SigV4 presigned URLs live at most seven days

const current = { bucket: "", key: "" };
const TEXTS = ["object-title", "object-size", "object-type", "object-modified", "object-etag",
  "object-access", "public-url", "share-expires"];

function folderOf(key) {
  return key.slice(0, key.lastIndexOf("/") + 1);
}

function baseName(key) {
  return key.slice(key.lastIndexOf("/") + 1);
}

// Empties every fact, list and link of the view (the presigned download URL too): what a
// failed read leaves is nothing of the object shown before, nor of another user's.
export function clearObject() {
  Object.assign(current, { bucket: "", key: "" });
  $("object-crumbs").replaceChildren();
  for (const id of TEXTS) $(id).textContent = "";
  $("object-meta").replaceChildren();
  $("object-tags").replaceChildren();
  $("download-link").removeAttribute("href");
  delete $("download-link").dataset.expires;
  $("public-url").removeAttribute("href");
  for (const id of ["make-public", "make-private", "public-url-row", "share-result"]) {
    $(id).hidden = true;
  }
  $("share-url").value = "";
  clearVersions();
}

export async function renderObject(s3, bucket, key) {
  show("object-view");
  clearObject();
  Object.assign(current, { bucket, key });
  renderCrumbs($("object-crumbs"), bucket, folderOf(key));
  $("object-title").textContent = baseName(key);
  const info = await s3.head(bucket, key);
  $("object-size").textContent = info.size < 1024 ? formatSize(info.size)  // "2 B" says it all
    : `${formatSize(info.size)} (${info.size} bytes)`;
  $("object-type").textContent = info.type;
  $("object-modified").textContent = formatDate(info.modified);
  $("object-etag").textContent = info.etag;
  pairs($("object-meta"), info.meta, "no user metadata");
  const [tags, versioning] = await Promise.all([
    s3.getTags(bucket, key), s3.getVersioning(bucket), refreshDownload(s3), refreshAccess(s3)]);
  pairs($("object-tags"), tags, "no tags");
  await renderVersions(s3, bucket, key, versioning);
}

// name = value pairs (metadata, tags) as a list, or one line saying there are none
function pairs(list, entries, none) {
  list.replaceChildren(...(entries.length
    ? entries.map(([name, value]) => el("li", { className: "name" },
      el("span", { className: "pair-name" }, name), ` = ${value}`))
    : [el("li", { className: "hint" }, none)]));
}

async function refreshDownload(s3) {
  const { bucket, key } = current;
  const disposition = `attachment; filename*=UTF-8''${encodeURIComponent(baseName(key))}`;
  const link = $("download-link");
  link.href = await s3.presign(bucket, key, DOWNLOAD_EXPIRES,
    [["response-content-disposition", disposition]]);
  link.dataset.expires = String(Date.now() + DOWNLOAD_EXPIRES * 1000);
}

async function refreshAccess(s3) {
  const { bucket, key } = current;
  const isPublic = await s3.isPublic(bucket, key);
  $("object-access").textContent = isPublic ? "public (anyone may read it)" : "private";
  $("make-public").hidden = isPublic;
  $("make-private").hidden = !isPublic;
  $("public-url-row").hidden = !isPublic;
  const url = s3.publicUrl(bucket, key);
  $("public-url").href = url;
  $("public-url").textContent = url;
}

async function setAcl(s3, acl) {
  try {
    await s3.setCannedAcl(current.bucket, current.key, acl);
    await refreshAccess(s3);
    setStatus(acl === "public-read" ? "The object is public." : "The object is private.");
    $(acl === "public-read" ? "make-private" : "make-public").focus();
  } catch (error) {
    reportError(error);
  }
}

async function share(s3) {
  const seconds = Number($("share-expiry").value) * Number($("share-unit").value);
  if (!(seconds >= 1 && seconds <= MAX_EXPIRES)) {
    setStatus("A share link is valid for 1 second to 7 days.", true);
    return;
  }
  const url = await s3.presign(current.bucket, current.key, seconds);
  $("share-url").value = url;
  $("share-expires").textContent =
    `Anyone with this link can download the object until ${new Date(Date.now() + seconds * 1000).toLocaleString()}.`;
  $("share-result").hidden = false;
  $("share-url").focus();
  $("share-url").select();
}

// The Clipboard API needs a secure context (https or localhost); elsewhere the selected
// text is copied the old way.
async function copyShare() {
  const input = $("share-url");
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select();
    document.execCommand("copy");
  }
  setStatus("Share link copied.");
}

async function deleteCurrent(s3) {
  const { bucket, key } = current;
  if (!confirm(`Delete ${key}?`)) return;
  try {
    await s3.deleteObject(bucket, key);
    setStatus(`${key} deleted.`);
    location.hash = folderHref(bucket, folderOf(key));
  } catch (error) {
    reportError(error);
  }
}

export function wireObject(getS3) {
  $("make-public").addEventListener("click", () => setAcl(getS3(), "public-read"));
  $("make-private").addEventListener("click", () => setAcl(getS3(), "private"));
  $("delete-object").addEventListener("click", () => deleteCurrent(getS3()));
  $("copy-share").addEventListener("click", copyShare);
  $("share-form").addEventListener("submit", (event) => {
    event.preventDefault();
    share(getS3()).catch(reportError);
  });
  // a download link older than its expiry is made again before the browser follows it
  $("download-link").addEventListener("click", async (event) => {
    const link = event.currentTarget;
    if (!link.hasAttribute("href")) return;  // no object shown: nothing to download
    if (Date.now() < Number(link.dataset.expires) - 60000) return;
    event.preventDefault();
    await refreshDownload(getS3());
    location.assign(link.href);
  });
}
