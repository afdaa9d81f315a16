// The bucket list: ListBuckets, CreateBucket, DeleteBucket (empty buckets only), with each
// bucket's size and object count (the admin API's bucket inventory, which answers any user
// for their own buckets).
import { $, el, show, setStatus, reportError, formatDate, formatSize, folderHref } from "./dom.js";

export function clearBuckets() {
  $("bucket-table").tBodies[0].replaceChildren();
  $("no-buckets").hidden = true;
}

export async function renderBuckets(s3) {
  show("buckets-view");
  clearBuckets();
  const [buckets, inventory] = await Promise.all([s3.listBuckets(), s3.bucketInventory()]);
  const usage = new Map(inventory.map((b) => [b.name, b]));
  const rows = buckets.map((b) => bucketRow(s3, b, usage.get(b.name) || {}));
  $("bucket-table").tBodies[0].replaceChildren(...rows);
  $("no-buckets").hidden = buckets.length > 0;
}

function bucketRow(s3, bucket, usage) {
  const remove = el("button", { type: "button", className: "danger" }, "Delete");
  remove.setAttribute("aria-label", `Delete bucket ${bucket.name}`);
  remove.dataset.bucket = bucket.name;
  remove.addEventListener("click", () => deleteBucket(s3, bucket.name));
  const row = el("tr", {},
    el("td", { className: "name" }, el("a", { href: folderHref(bucket.name) }, bucket.name)),
    el("td", { className: "usage bucket-size" }, formatSize(Number(usage.size?.current ?? 0))),
    el("td", { className: "usage bucket-objects" }, String(usage.objects ?? 0)),
    el("td", { className: "when" }, formatDate(bucket.created)),
    el("td", {}, remove));
  row.dataset.bucket = bucket.name;
  return row;
}

async function deleteBucket(s3, name) {
  if (!confirm(`Delete the bucket ${name}? It must be empty.`)) return;
  try {
    await s3.deleteBucket(name);
    setStatus(`Bucket ${name} deleted.`);
    await renderBuckets(s3);
  } catch (error) {
    reportError(error);
  }
}

// The region <select> of the create form: "" is the server's default region (no
// LocationConstraint, which the default region refuses); the policy <select> offers the chosen
// region's storage policies, "" being its default (no x-gmt-policyid).
export function fillRegions(config) {
  const select = $("new-bucket-region");
  select.replaceChildren(...config.regions.map((r) =>
    el("option", { value: r === config.region ? "" : r, selected: r === config.region }, r)));
  select.hidden = config.regions.length < 2;
  select.onchange = () => fillPolicies(config);
  fillPolicies(config);
}

function fillPolicies(config) {
  const region = $("new-bucket-region").value || config.region;
  const offered = (config.policies || []).filter((p) => p.region === region);
  offered.sort((a, b) => Number(b.default) - Number(a.default)); // the default first
  const select = $("new-bucket-policy");
  select.replaceChildren(...offered.map((p) =>
    el("option", { value: p.default ? "" : p.id }, p.default ? `${p.label}, default` : p.label)));
  select.hidden = offered.length < 2;
}

export function wireBucketForm(getS3) {
  $("create-bucket-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("new-bucket").value.trim();
    try {
      await getS3().createBucket(name, $("new-bucket-region").value, $("new-bucket-policy").value);
      $("new-bucket").value = "";
      setStatus(`Bucket ${name} created.`);
      await renderBuckets(getS3());
    } catch (error) {
      reportError(error);
    }
  });
}
