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
  async createBucket(bucket, region = "") {
    const body = region
      ? "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
        `<LocationConstraint>${region}</LocationConstraint></CreateBucketConfiguration>`
      : undefined;
    await this.send("PUT", { bucket, body });
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
    };
  }

  // Whether everyone may read the object (a READ grant to the AllUsers group).
  async isPublic(bucket, key) {
    const doc = await this.xml("GET", { bucket, key, query: [["acl", ""]] });
    return all(doc, "Grant").some((g) =>
      text(g, "URI").endsWith("/global/AllUsers") &&
      ["READ", "FULL_CONTROL"].includes(text(g, "Permission")));
  }

  async setCannedAcl(bucket, key, acl) {
    await this.send("PUT", { bucket, key, query: [["acl", ""]], headers: { "x-amz-acl": acl } });
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
