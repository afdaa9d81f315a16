// The object browser: one folder of a bucket (ListObjectsV2 with delimiter "/"), paged with
// continuation tokens, and uploads into it.
import { $, el, show, setStatus, reportError, formatSize, formatDate, folderHref, objectHref,
  renderCrumbs } from "./dom.js";
import { uploadFile } from "./upload.js";
import { renderSettings } from "./settings.js";

// where the browser is: the folder shown and the tokens of the pages before this one
const here = { bucket: "", prefix: "", tokens: [""], page: 0, next: "" };

export async function renderFolder(s3, bucket, prefix) {
  if (bucket !== here.bucket || prefix !== here.prefix) {
    Object.assign(here, { bucket, prefix, tokens: [""], page: 0, next: "" });
    // finished uploads belong to the folder they went to; running ones stay in sight
    for (const item of $("uploads").querySelectorAll("li.done")) item.remove();
  }
  show("objects-view");
  renderCrumbs($("crumbs"), bucket, prefix);
  await Promise.all([loadPage(s3), renderSettings(s3, bucket)]);
}

async function loadPage(s3) {
  const { bucket, prefix } = here;
  const page = await s3.listObjects(bucket, { prefix, token: here.tokens[here.page] });
  here.next = page.next;
  const rows = [
    ...page.folders.map((folder) => folderRow(bucket, prefix, folder)),
    ...page.objects.filter((o) => o.key !== prefix).map((o) => objectRow(s3, bucket, prefix, o)),
  ];
  $("object-table").tBodies[0].replaceChildren(...rows);
  $("no-objects").hidden = rows.length > 0 || here.page > 0;
  $("prev-page").disabled = here.page === 0;
  $("next-page").disabled = !here.next;
}

function folderRow(bucket, prefix, folder) {
  const name = folder.slice(prefix.length);
  return el("tr", { className: "folder" },
    el("td", { className: "name" }, el("a", { href: folderHref(bucket, folder) }, name)),
    el("td", {}, "folder"), el("td", { className: "when" }), el("td"));
}

function objectRow(s3, bucket, prefix, object) {
  const name = object.key.slice(prefix.length);
  const remove = el("button", { type: "button", className: "danger" }, "Delete");
  remove.setAttribute("aria-label", `Delete ${name}`);
  remove.addEventListener("click", () => deleteObject(s3, bucket, object.key));
  const row = el("tr", { className: "object" },
    el("td", { className: "name" }, el("a", { href: objectHref(bucket, object.key) }, name)),
    el("td", {}, formatSize(object.size)),
    el("td", { className: "when" }, formatDate(object.modified)),
    el("td", {}, remove));
  row.dataset.key = object.key;
  return row;
}

async function deleteObject(s3, bucket, key) {
  if (!confirm(`Delete ${key}?`)) return;
  try {
    await s3.deleteObject(bucket, key);
    setStatus(`${key} deleted.`);
    await loadPage(s3);
  } catch (error) {
    reportError(error);
  }
}

// One list item per file: its name, a progress bar and the percentage as text.
function progressItem(file) {
  const bar = el("progress", { max: 100, value: 0 });
  bar.setAttribute("aria-label", `Upload of ${file.name}`);
  const percent = el("span", { className: "upload-percent" }, "0%");
  const item = el("li", {}, el("span", { className: "upload-name" }, file.name), bar, percent);
  item.dataset.name = file.name;
  const update = (fraction) => {
    const value = Math.floor(fraction * 100);
    bar.value = value;
    percent.textContent = `${value}%`;
  };
  return { item, update, done: (text) => { percent.textContent = text; } };
}

async function uploadAll(s3, files) {
  const { bucket, prefix } = here;
  const list = $("uploads");
  for (const file of files) {
    const progress = progressItem(file);
    list.append(progress.item);
    try {
      await uploadFile(s3, bucket, prefix + file.name, file, progress.update);
      progress.update(1);
      progress.item.classList.add("done");
      setStatus(`Uploaded ${file.name}.`);
    } catch (error) {
      progress.done("failed");
      reportError(error);
    }
  }
  await loadPage(s3);
}

export function wireBrowser(getS3) {
  $("file-input").addEventListener("change", async (event) => {
    const files = Array.from(event.target.files);
    event.target.value = "";  // choosing the same file again is another upload
    await uploadAll(getS3(), files);
  });
  $("folder-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("new-folder").value.trim();
    try {
      // a folder is a zero-byte object whose key ends in "/": S3 tools show it as one
      await getS3().putEmpty(here.bucket, here.prefix + name + "/");
      $("new-folder").value = "";
      location.hash = folderHref(here.bucket, here.prefix + name + "/");
    } catch (error) {
      reportError(error);
    }
  });
  $("refresh").addEventListener("click", () => loadPage(getS3()).catch(reportError));
  $("next-page").addEventListener("click", () => turnPage(getS3(), +1));
  $("prev-page").addEventListener("click", () => turnPage(getS3(), -1));
}

async function turnPage(s3, step) {
  if (step > 0) here.tokens[here.page + 1] = here.next;
  here.page += step;
  await loadPage(s3).catch(reportError);
}
