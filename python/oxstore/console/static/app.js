// The console's entry point: sign-in and sign-out, and the hash router between the views.
import { S3Client } from "./s3.js";
import { $, show, setStatus, reportError } from "./dom.js";
import { loadSession, saveSession, clearSession } from "./session.js";
import { renderBuckets, clearBuckets, fillRegions, wireBucketForm } from "./buckets.js";
import { renderFolder, forgetFolder, wireBrowser } from "./browser.js";
import { renderObject, clearObject, wireObject } from "./object.js";
import { wireSettings } from "./settings.js";
import { isSystemUser, renderAdmin, wireAdmin, forgetAdmin } from "./admin.js";

let s3 = null;
let isSystem = false;  // may use the admin API: the Admin view and bucket sizes
const getS3 = () => s3;

async function serverConfig() {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (response.ok) return await response.json();
  } catch {
    // an older server: the defaults below
  }
  return { region: "us-east-1", regions: ["us-east-1"] };
}

async function signedIn(session) {
  s3 = new S3Client(session);
  $("whoami").textContent = session.accessKey;
  $("sign-out").hidden = false;
  try {
    isSystem = await isSystemUser(s3);
  } catch {
    isSystem = false;
  }
  $("admin-link").hidden = !isSystem;
}

async function signIn(event) {
  event.preventDefault();
  const creds = {
    accessKey: $("access-key").value.trim(),
    secretKey: $("secret-key").value,
    region: $("region").value.trim(),
  };
  try {
    await new S3Client(creds).listBuckets();  // proves the keys before keeping them
  } catch (error) {
    reportError(error);
    return;
  }
  $("secret-key").value = "";
  await signedIn(saveSession(creds));
  setStatus("Signed in.");
  if (location.hash === "#/" || !location.hash) await route();
  else location.hash = "#/";
}

function signOut() {
  clearSession();
  s3 = null;
  isSystem = false;
  $("admin-link").hidden = true;
  // nothing of this user is shown or kept for the next one
  clearBuckets();
  forgetFolder();
  clearObject();
  forgetAdmin();
  $("whoami").textContent = "";
  $("sign-out").hidden = true;
  setStatus("Signed out.");
  location.hash = "#/";
  route();
}

// #/ -> buckets, #/b/BUCKET/PREFIX -> folder, #/o/BUCKET/KEY -> object, #/admin -> admin
async function route() {
  if (!s3) {
    show("sign-in-view");
    $("access-key").focus();
    return;
  }
  const [, kind, bucket, rest] = location.hash.match(/^#\/(?:(b|o)\/([^/]+)\/(.*))?$/) || [];
  try {
    if (location.hash === "#/admin" && isSystem) await renderAdmin(s3);
    else if (kind === "b") await renderFolder(s3, decodeURIComponent(bucket), decodeURIComponent(rest));
    else if (kind === "o") await renderObject(s3, decodeURIComponent(bucket), decodeURIComponent(rest));
    else await renderBuckets(s3);
  } catch (error) {
    reportError(error);
  }
}

async function start() {
  const config = await serverConfig();
  $("region").value = config.region;
  $("region-list").replaceChildren(...config.regions.map((r) => new Option(r, r)));
  fillRegions(config);
  wireBucketForm(getS3);
  wireBrowser(getS3);
  wireObject(getS3);
  wireSettings(getS3);
  wireAdmin(getS3);
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", () => {
    // an error belongs to the view it happened in; news of an action ("deleted") stays
    if ($("status").classList.contains("error")) setStatus("");
    route();
  });
  const session = loadSession();
  if (session) await signedIn(session);
  await route();
  document.body.dataset.ready = "true";  // for tests and scripts: the page is wired
}

start();
