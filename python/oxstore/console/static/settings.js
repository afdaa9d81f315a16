// A bucket's settings, shown above its objects: versioning on/off, public/private (a canned
// bucket ACL) and its CORS configuration (read-only).
import { $, el, setStatus, reportError } from "./dom.js";

let bucket = "";

// Empties what the settings show (the folder view clears them before each load, and sign-out).
export function clearSettings() {
  $("bucket-versioning").textContent = "";
  $("bucket-access").textContent = "";
  for (const id of ["versioning-on", "versioning-off", "bucket-public", "bucket-private"]) {
    $(id).hidden = true;
  }
  $("bucket-cors").replaceChildren();
}

export async function renderSettings(s3, name) {
  bucket = name;
  const [versioning, isPublic, cors] = await Promise.all([
    s3.getVersioning(name), s3.isPublic(name), s3.getCors(name)]);
  showVersioning(versioning);
  showAccess(isPublic);
  showCors(cors);
}

function showVersioning(status) {
  $("bucket-versioning").textContent =
    status === "Enabled" ? "on" : status === "Suspended" ? "off (suspended)" : "off";
  $("versioning-on").hidden = status === "Enabled";
  $("versioning-off").hidden = status !== "Enabled";
}

function showAccess(isPublic) {
  $("bucket-access").textContent =
    isPublic ? "public (anyone may list its objects)" : "private";
  $("bucket-public").hidden = isPublic;
  $("bucket-private").hidden = !isPublic;
}

function showCors(rules) {
  const list = $("bucket-cors");
  if (!rules || rules.length === 0) {
    list.replaceChildren(el("li", {}, "none"));
    return;
  }
  list.replaceChildren(...rules.map((rule) => el("li", { className: "name" },
    `${rule.methods.join(", ")} from ${rule.origins.join(", ")}` +
    (rule.headers.length ? `; headers ${rule.headers.join(", ")}` : "") +
    (rule.expose.length ? `; exposes ${rule.expose.join(", ")}` : "") +
    (rule.maxAge ? `; cached ${rule.maxAge} s` : ""))));
}

async function setVersioning(s3, enabled) {
  try {
    await s3.setVersioning(bucket, enabled);
    showVersioning(await s3.getVersioning(bucket));
    setStatus(enabled ? "Versioning is on." : "Versioning is off (suspended).");
    $(enabled ? "versioning-off" : "versioning-on").focus();
  } catch (error) {
    reportError(error);
  }
}

async function setAccess(s3, acl) {
  try {
    await s3.setCannedAcl(bucket, "", acl);
    showAccess(await s3.isPublic(bucket));
    setStatus(acl === "public-read" ? "The bucket is public." : "The bucket is private.");
    $(acl === "public-read" ? "bucket-private" : "bucket-public").focus();
  } catch (error) {
    reportError(error);
  }
}

export function wireSettings(getS3) {
  $("versioning-on").addEventListener("click", () => setVersioning(getS3(), true));
  $("versioning-off").addEventListener("click", () => setVersioning(getS3(), false));
  $("bucket-public").addEventListener("click", () => setAccess(getS3(), "public-read"));
  $("bucket-private").addEventListener("click", () => setAccess(getS3(), "private"));
}
