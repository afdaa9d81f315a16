// A small S3 client over fetch and XMLHttpRequest, path-style on this page's own origin.
import { signHeaders, presignGet, sha256Hex, uriEncode, canonicalQuery, EMPTY_SHA256,
  UNSIGNED_PAYLOAD } from "./sigv4.js";

export class S3Error extends Error {
  constructor(status, code, message) {
    super(message ? `${code}: ${message}` : code);
    this.status = status;
    this.code = code;
  }
}

export function objectPath(bucket, key = "") {
  return "/" + uriEncode(bucket) + (key ? "/" + uriEncode(key, true) : "");
}

function urlOf(path, query) {
  const qs = canonicalQuery(query);
  return qs ? `${path}?${qs}` : path;
}

function parseXml(text) {
  return new DOMParser().parseFromString(text, "application/xml");
}

// Child elements by local name (S3 documents carry a default namespace).
function all(node, name) {
  return Array.from(node.getElementsByTagNameNS("*", name));
}

function text(node, name) {
  const found = all(node, name)[0];
  return found ? found.textContent : "";
}

async function errorOf(response) {
  const body = await response.text();
  const doc = body ? parseXml(body) : null;
  const code = (doc && text(doc, "Code")) || `HTTP ${response.status}`;
  return new S3Error(response.status, code, doc ? text(doc, "Message") : "");
}

export class S3Client {
  constructor(creds) {
    this.creds = creds;
  }

  // One signed request; `body` is a string (hashed and signed) or nothing.
  async send(method, { bucket = "", key = "", query = [], headers = {}, body } = {}) {
    const path = bucket ? objectPath(bucket, key) : "/";
    const payloadHash = body ? await sha256Hex(body) : EMPTY_SHA256;
    const signed = await signHeaders(this.creds, { method, path, query, headers, payloadHash });
    const response = await fetch(urlOf(path, query), {
      method, headers: signed, body, cache: "no-store", credentials: "omit",
    });
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  async xml(method, options) {
    const response = await this.send(method, options);
    return parseXml(await response.text());
  }

  async listBuckets() {
    const doc = await this.xml("GET");
    return all(doc, "Bucket").map((b) => ({
      name: text(b, "Name"), created: text(b, "CreationDate"),
    }));
  }

  // An empty body lands the bucket in the server's default region.
  // A storage policy (the provider's x-gmt-policyid) picks how the bucket stores data; none:
  // its region's default.
  async createBucket(bucket, region = "", policy = "") {
    const body = region
      ? "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
        `<LocationConstraint>${region}</LocationConstraint></CreateBucketConfiguration>`
      : undefined;
    const headers = policy ? { "x-gmt-policyid": policy } : {};
    await this.send("PUT", { bucket, body, headers });
  }

  async deleteBucket(bucket) {
    await this.send("DELETE", { bucket });
  }

  // One page of a folder: its subfolders (common prefixes) and objects.
  async listObjects(bucket, { prefix = "", token = "", maxKeys = 200 } = {}) {
    const query = [["list-type", "2"], ["delimiter", "/"], ["prefix", prefix],
      ["max-keys", String(maxKeys)], ["encoding-type", "url"]];
    if (token) query.push(["continuation-token", token]);
    const doc = await this.xml("GET", { bucket, query });
    const decode = (s) => decodeURIComponent(s.replace(/\+/g, " "));
    return {
      folders: all(doc, "CommonPrefixes").map((p) => decode(text(p, "Prefix"))),
      objects: all(doc, "Contents").map((c) => ({
        key: decode(text(c, "Key")), size: Number(text(c, "Size")),
        modified: text(c, "LastModified"), etag: text(c, "ETag"),
      })),
      next: text(doc, "IsTruncated") === "true" ? text(doc, "NextContinuationToken") : "",
    };
  }

  async putEmpty(bucket, key) {
    await this.send("PUT", { bucket, key, body: "" });
  }

  async deleteObject(bucket, key) {
    await this.send("DELETE", { bucket, key });
  }

  async head(bucket, key) {
    const response = await this.send("HEAD", { bucket, key });
    return {
      size: Number(response.headers.get("content-length")),
      type: response.headers.get("content-type") || "",
      modified: response.headers.get("last-modified") || "",
      etag: response.headers.get("etag") || "",
      meta: Array.from(response.headers).filter(([name]) => name.startsWith("x-amz-meta-"))
        .map(([name, value]) => [name.slice("x-amz-meta-".length), value]),
    };
  }

  // Whether everyone may read the object (a READ grant to the AllUsers group).
  // (of the bucket itself when `key` is "")
  async isPublic(bucket, key = "") {
    const doc = await this.xml("GET", { bucket, key, query: [["acl", ""]] });
    return all(doc, "Grant").some((g) =>
      text(g, "URI").endsWith("/global/AllUsers") &&
      ["READ", "FULL_CONTROL"].includes(text(g, "Permission")));
  }

  async setCannedAcl(bucket, key, acl) {
    await this.send("PUT", { bucket, key, query: [["acl", ""]], headers: { "x-amz-acl": acl } });
  }

  // Versioning: "Enabled", "Suspended" or "" (never turned on).
  async getVersioning(bucket) {
    const doc = await this.xml("GET", { bucket, query: [["versioning", ""]] });
    return text(doc, "Status");
  }

  async setVersioning(bucket, enabled) {
    const body = "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
      `<Status>${enabled ? "Enabled" : "Suspended"}</Status></VersioningConfiguration>`;
    await this.send("PUT", { bucket, query: [["versioning", ""]], body });
  }

  // The bucket's CORS rules, or null when it has none (NoSuchCORSConfiguration).
  async getCors(bucket) {
    let doc;
    try {
      doc = await this.xml("GET", { bucket, query: [["cors", ""]] });
    } catch (error) {
      if (error.code === "NoSuchCORSConfiguration") return null;
      throw error;
    }
    const values = (rule, name) => all(rule, name).map((n) => n.textContent);
    return all(doc, "CORSRule").map((rule) => ({
      origins: values(rule, "AllowedOrigin"), methods: values(rule, "AllowedMethod"),
      headers: values(rule, "AllowedHeader"), expose: values(rule, "ExposeHeader"),
      maxAge: text(rule, "MaxAgeSeconds"),
    }));
  }

  // The object's tags as [[key, value], ...].
  async getTags(bucket, key) {
    const doc = await this.xml("GET", { bucket, key, query: [["tagging", ""]] });
    return all(doc, "Tag").map((t) => [text(t, "Key"), text(t, "Value")]);
  }

  // Every version and delete marker of exactly `key` (ListObjectVersions with prefix=key),
  // newest first, paged through.
  async listVersions(bucket, key) {
    const found = [];
    let marker = null;
    do {
      const query = [["versions", ""], ["prefix", key], ["max-keys", "1000"]];
      if (marker) query.push(["key-marker", marker.key], ["version-id-marker", marker.version]);
      const doc = await this.xml("GET", { bucket, query });
      for (const node of doc.documentElement.children) {
        if (node.localName !== "Version" && node.localName !== "DeleteMarker") continue;
        if (text(node, "Key") !== key) continue;
        found.push({
          versionId: text(node, "VersionId"), latest: text(node, "IsLatest") === "true",
          deleteMarker: node.localName === "DeleteMarker", size: Number(text(node, "Size")),
          modified: text(node, "LastModified"), etag: text(node, "ETag"),
        });
      }
      marker = text(doc, "IsTruncated") === "true"
        ? { key: text(doc, "NextKeyMarker"), version: text(doc, "NextVersionIdMarker") } : null;
    } while (marker && marker.key === key);
    return found;
  }

  async deleteVersion(bucket, key, versionId) {
    await this.send("DELETE", { bucket, key, query: [["versionId", versionId]] });
  }

  // A call of the ostor admin API (service level, signed like S3): its JSON answer, or null
  // for an empty one. `query` pairs; a value of "" is a bare flag.
  async admin(method, query) {
    const response = await this.send(method, { query });
    const body = await response.text();
    return body ? JSON.parse(body) : null;
  }

  // The inventory `GET /?ostor-buckets` answers (every user, for their own buckets): one
  // { name, size, objects, ... } per bucket.
  async bucketInventory() {
    const answer = await this.admin("GET", [["ostor-buckets", ""]]);
    return answer.Buckets || [];
  }

  presign(bucket, key, expires, query = []) {
    return presignGet(this.creds, { path: objectPath(bucket, key), query, expires });
  }

  publicUrl(bucket, key) {
    return location.origin + objectPath(bucket, key);
  }

  // A PUT of `blob` through XMLHttpRequest (fetch reports no upload progress); resolves with
  // the ETag. `onProgress(bytesSent)`.
  async putBlob(bucket, key, blob, { query = [], onProgress = () => {} } = {}) {
    const path = objectPath(bucket, key);
    const signed = await signHeaders(this.creds, {
      method: "PUT", path, query, payloadHash: UNSIGNED_PAYLOAD });
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", urlOf(path, query));
      for (const [name, value] of Object.entries(signed)) xhr.setRequestHeader(name, value);
      xhr.upload.onprogress = (event) => onProgress(event.loaded);
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(blob.size);
          resolve(xhr.getResponseHeader("etag"));
        } else {
          const doc = parseXml(xhr.responseText || "<x/>");
          reject(new S3Error(xhr.status, text(doc, "Code") || `HTTP ${xhr.status}`,
            text(doc, "Message")));
        }
      };
      xhr.onerror = () => reject(new S3Error(0, "NetworkError", "the upload was interrupted"));
      xhr.send(blob);
    });
  }

  async createMultipart(bucket, key, contentType) {
    const headers = contentType ? { "content-type": contentType } : {};
    const doc = await this.xml("POST", { bucket, key, query: [["uploads", ""]], headers });
    return text(doc, "UploadId");
  }

  async completeMultipart(bucket, key, uploadId, etags) {
    const parts = etags.map((etag, i) =>
      `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(etag)}</ETag></Part>`).join("");
    const body = `<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`;
    await this.send("POST", { bucket, key, query: [["uploadId", uploadId]], body });
  }

  async abortMultipart(bucket, key, uploadId) {
    await this.send("DELETE", { bucket, key, query: [["uploadId", uploadId]] });
  }
}

function escapeXml(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}
