// The object browser: one folder of a bucket (ListObjectsV2 with delimiter "/"), paged with
// continuation tokens, narrowed to the names that start with a filter, and uploads into it.
import { $, el, show, setStatus, reportError, formatSize, formatDate, folderHref, objectHref,
  renderCrumbs } from "./dom.js";
import { uploadFile } from "./upload.js";
import { renderSettings, clearSettings } from "./settings.js";

export const PAGE_SIZE = 200;  // entries (subfolders and objects) per ListObjectsV2 call

// where the browser is: the folder shown, the filter on its names, the tokens of the pages
// before this one and the position of each page's first row (for "Items 201–400")
const here = { bucket: "", prefix: "", filter: "", tokens: [""], starts: [0], page: 0, next: "" };
let serial = 0;  // of the latest listing asked for: an older answer arriving late is dropped
let turning = false;  // a page on its way: a second turn now would reuse its token

function startOver(changes) {
  Object.assign(here, { tokens: [""], starts: [0], page: 0, next: "" }, changes);
  showPager();
}

// Empties the folder's rows, position and settings: what a failed listing leaves is nothing.
function clearFolder() {
  $("object-table").tBodies[0].replaceChildren();
  $("no-objects").hidden = true;
  $("page-position").textContent = "";
  $("prev-page").disabled = true;
  $("next-page").disabled = true;
  clearSettings();
}

// Sign-out: no folder, filter or upload of this user is shown or kept for the next one.
export function forgetFolder() {
  startOver({ bucket: "", prefix: "", filter: "" });
  $("name-filter").value = "";
  $("uploads").replaceChildren();
  $("crumbs").replaceChildren();
  clearFolder();
}

export async function renderFolder(s3, bucket, prefix) {
  if (bucket !== here.bucket || prefix !== here.prefix) {
    startOver({ bucket, prefix, filter: "" });
    $("name-filter").value = "";
    // finished uploads belong to the folder they went to; running ones stay in sight
    for (const item of $("uploads").querySelectorAll("li.done")) item.remove();
  }
  show("objects-view");
  clearFolder();
  renderCrumbs($("crumbs"), bucket, prefix);
  await Promise.all([loadPage(s3), renderSettings(s3, bucket)]);
}

// Lists page `number` of the folder (its names that start with the filter) and shows it.
async function loadPage(s3, number = here.page) {
  const { bucket, prefix, filter } = here;
  const mine = ++serial;
  const page = await s3.listObjects(bucket,
    { prefix: prefix + filter, token: here.tokens[number], maxKeys: PAGE_SIZE });
  if (mine !== serial) return;
  const rows = [
    ...page.folders.map((folder) => folderRow(bucket, prefix, folder)),
    ...page.objects.filter((o) => o.key !== prefix).map((o) => objectRow(s3, bucket, prefix, o)),
  ];
  Object.assign(here, { page: number, next: page.next });
  here.starts[number + 1] = here.starts[number] + rows.length;
  $("object-table").tBodies[0].replaceChildren(...rows);
  const none = $("no-objects");
  none.hidden = rows.length > 0 || number > 0;
  none.textContent = filter ? `No names here start with “${filter}”.` : "This folder is empty.";
  showPager();
  showPosition(rows.length);
}

function showPager() {
  $("prev-page").disabled = here.page === 0;
  $("next-page").disabled = !here.next;
}

// "Items 201–400", and on the last page how many there are: "Items 401–523 of 523"
function showPosition(count) {
  const first = here.starts[here.page] + 1;
  const last = here.starts[here.page + 1];
  const of = here.next ? "" : ` of ${last.toLocaleString()}`;
  $("page-position").textContent =
    count ? `Items ${first.toLocaleString()}–${last.toLocaleString()}${of}` : "";
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
  // far down a large folder in one step: list only the names that start with the filter
  $("filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    applyFilter(getS3());
  });
  // emptied (its clear button, or deleting the text): the whole folder again at once ("input"
  // rather than Chromium's own "search" event, which Firefox does not send)
  $("name-filter").addEventListener("input", (event) => {
    if (!event.target.value) applyFilter(getS3());
  });
}

async function applyFilter(s3) {
  const filter = $("name-filter").value;
  if (filter === here.filter) return;
  startOver({ filter });
  await loadPage(s3).catch(reportError);
}

async function turnPage(s3, step) {
  if (turning) return;
  turning = true;
  const number = here.page + step;
  if (step > 0) here.tokens[number] = here.next;
  try {
    await loadPage(s3, number);
  } catch (error) {
    reportError(error);  // the page shown stays, and so does the pager's place
  } finally {
    turning = false;
  }
}
