// AWS Signature Version 4 for S3, with Web Crypto: header signing and presigned URLs.
// The secret only ever feeds HMAC here; it is never put in a request.

const encoder = new TextEncoder();
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
export const EMPTY_SHA256 =
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(data) {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

async function hmac(key, text) {
  const raw = typeof key === "string" ? encoder.encode(key) : key;
  const cryptoKey = await crypto.subtle.importKey(
    "raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(text));
}

// S3's URI encoding: RFC 3986 unreserved characters stay, everything else is %XX
// (encodeURIComponent leaves !'()* alone, S3 does not); "/" stays in paths only.
export function uriEncode(text, keepSlash = false) {
  const encoded = encodeURIComponent(text).replace(
    /[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
  return keepSlash ? encoded.replace(/%2F/g, "/") : encoded;
}

// [[name, value], ...] -> "a=1&b=2", sorted by name then value, as signed and as sent.
export function canonicalQuery(pairs) {
  return pairs
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

export function amzDate(now = new Date()) {
  return now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

async function signingKey(secret, day, region) {
  const kDate = await hmac("AWS4" + secret, day);
  const kRegion = await hmac(kDate, region);
  const kService = await hmac(kRegion, "s3");
  return hmac(kService, "aws4_request");
}

async function signature(creds, stamp, canonicalRequest) {
  const day = stamp.slice(0, 8);
  const scope = `${day}/${creds.region}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", stamp, scope, await sha256Hex(canonicalRequest)].join("\n");
  const key = await signingKey(creds.secretKey, day, creds.region);
  return { scope, value: hex(await hmac(key, toSign)) };
}

// Headers to add to a request of `method` on `path` (already URI-encoded) with `query` pairs.
// `headers` are the x-amz-* headers to send and sign besides the ones made here; the browser
// sets Host itself, to location.host, which is what is signed.
export async function signHeaders(creds, { method, path, query = [], headers = {}, payloadHash }) {
  const stamp = amzDate();
  const all = { ...lowerCase(headers), host: location.host,
    "x-amz-content-sha256": payloadHash, "x-amz-date": stamp };
  const names = Object.keys(all).sort();
  const canonicalHeaders = names.map((n) => `${n}:${String(all[n]).trim()}\n`).join("");
  const signedHeaders = names.join(";");
  const request = [method, path, canonicalQuery(query), canonicalHeaders, signedHeaders,
    payloadHash].join("\n");
  const sig = await signature(creds, stamp, request);
  delete all.host;  // a forbidden header name for fetch and XHR: the browser sends it
  all.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKey}/${sig.scope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${sig.value}`;
  return all;
}

function lowerCase(headers) {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

// A presigned GET URL (query authentication), valid `expires` seconds from now.
export async function presignGet(creds, { path, query = [], expires }) {
  const stamp = amzDate();
  const scope = `${stamp.slice(0, 8)}/${creds.region}/s3/aws4_request`;
  const pairs = [...query,
    ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
    ["X-Amz-Credential", `${creds.accessKey}/${scope}`],
    ["X-Amz-Date", stamp],
    ["X-Amz-Expires", String(expires)],
    ["X-Amz-SignedHeaders", "host"]];
  const qs = canonicalQuery(pairs);
  const request = ["GET", path, qs, `host:${location.host}\n`, "host", UNSIGNED_PAYLOAD]
    .join("\n");
  const sig = await signature(creds, stamp, request);
  return `${location.origin}${path}?${qs}&X-Amz-Signature=${sig.value}`;
}
