// The versions of one object (on a bucket that has had versioning on): download any one of
// them (a presigned GET with versionId) or delete it.
import { $, el, setStatus, reportError, formatSize, formatDate, folderHref } from "./dom.js";

const DOWNLOAD_EXPIRES = 3600;
const current = { bucket: "", key: "" };

// `versioning` is the bucket's status; a bucket never versioned has no versions to show.
export async function renderVersions(s3, bucket, key, versioning) {
  clearVersions();
  Object.assign(current, { bucket, key });
  $("versions-section").hidden = !versioning;
  if (!versioning) return;
  const versions = await s3.listVersions(bucket, key);
  const rows = await Promise.all(versions.map((v) => versionRow(s3, v)));
  $("version-table").tBodies[0].replaceChildren(...rows);
  $("versions-count").textContent =
    versions.length === 1 ? "1 version" : `${versions.length} versions`;
}

export function clearVersions() {
  $("versions-section").hidden = true;
  $("version-table").tBodies[0].replaceChildren();
  $("versions-count").textContent = "";
}

async function versionRow(s3, version) {
  const { bucket, key } = current;
  const label = version.versionId === "null" ? "null (from before versioning)" : version.versionId;
  const remove = el("button", { type: "button", className: "danger" }, "Delete");
  remove.setAttribute("aria-label", `Delete version ${version.versionId}`);
  remove.dataset.version = version.versionId;
  remove.addEventListener("click", () => deleteVersion(s3, version));
  const actions = el("td", {});
  if (!version.deleteMarker) {
    const name = key.slice(key.lastIndexOf("/") + 1);
    const disposition = `attachment; filename*=UTF-8''${encodeURIComponent(name)}`;
    const href = await s3.presign(bucket, key, DOWNLOAD_EXPIRES,
      [["versionId", version.versionId], ["response-content-disposition", disposition]]);
    const link = el("a", { className: "button", href }, "Download");
    link.setAttribute("aria-label", `Download version ${version.versionId}`);
    link.dataset.version = version.versionId;
    actions.append(link, " ");
  }
  actions.append(remove);
  const row = el("tr", { className: "version" },
    el("td", { className: "name" }, label, version.latest ? " (current)" : ""),
    el("td", {}, version.deleteMarker ? "delete marker" : formatSize(version.size)),
    el("td", { className: "when" }, formatDate(version.modified)),
    actions);
  row.dataset.version = version.versionId;
  return row;
}

async function deleteVersion(s3, { versionId, latest }) {
  const { bucket, key } = current;
  if (!confirm(`Delete version ${versionId} of ${key}? This cannot be undone.`)) return;
  try {
    await s3.deleteVersion(bucket, key, versionId);
    setStatus(`Version ${versionId} deleted.`);
    if (!latest) {
      await renderVersions(s3, bucket, key, "Enabled");
      return;
    }
    // the object's current version changed: its facts are shown again, or, with no version
    // left to show, its folder
    const left = await s3.listVersions(bucket, key);
    const now = left.find((v) => v.latest);
    if (now && !now.deleteMarker) {
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    } else {
      location.hash = folderHref(bucket, key.slice(0, key.lastIndexOf("/") + 1));
    }
  } catch (error) {
    reportError(error);
  }
}
