//! AWS Signature Version 4: signing key, canonical request, string to sign, signatures of
//! requests, of aws-chunked chunks and of trailers.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// sha256 of the empty string, part of every chunk's string to sign.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX (upper hex);
/// '/' is kept when `keep_slash`.
pub fn uri_encode(input: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(input.len() * 3 / 2);
    for &b in input {
        let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
        if unreserved || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The generic (non-S3) path rules: dot-segments removed, empty segments folded.
fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = format!("/{}", segments.join("/"));
    if path.ends_with('/') && out.len() > 1 {
        out.push('/');
    }
    out
}

fn canonical_uri(path: &str, s3: bool) -> String {
    let path = if path.is_empty() { "/" } else { path };
    if s3 {
        // S3 signs the path as the client sent it: no normalisation, no second encoding.
        path.to_string()
    } else {
        // Generic AWS rule: the normalised path as sent, encoded once more (an escape like %20
        // in the request becomes %2520; raw characters are encoded once).
        uri_encode(normalize_path(path).as_bytes(), true)
    }
}

fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| {
            (
                uri_encode(k.as_bytes(), false),
                uri_encode(v.as_bytes(), false),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn fold_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn canonical_headers(headers: &[(String, String)], signed: &[String]) -> String {
    let mut out = String::new();
    for name in signed {
        let values: Vec<String> = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| fold_spaces(v))
            .collect();
        out.push_str(&format!(
            "{}:{}\n",
            name.to_ascii_lowercase(),
            values.join(",")
        ));
    }
    out
}

pub struct CanonicalInput<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub headers: &'a [(String, String)],
    pub signed_headers: &'a [String],
    pub payload_hash: &'a str,
    pub s3: bool,
}

pub fn canonical_request(input: &CanonicalInput) -> String {
    let signed: Vec<String> = input
        .signed_headers
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        input.method,
        canonical_uri(input.path, input.s3),
        canonical_query(input.query),
        canonical_headers(input.headers, &signed),
        signed.join(";"),
        input.payload_hash
    )
}

pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

pub fn signature(signing_key: &[u8], string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(signing_key, string_to_sign.as_bytes()))
}

/// Whether `provided` is the signature of the request (one call for the whole check, in
/// constant time): canonical request, string to sign, HMAC, comparison.
pub fn verify(
    input: &CanonicalInput,
    signing_key: &[u8],
    amz_date: &str,
    scope: &str,
    provided: &str,
) -> bool {
    let expected = signature(
        signing_key,
        &string_to_sign(amz_date, scope, &canonical_request(input)),
    );
    constant_time_eq(expected.as_bytes(), provided.as_bytes())
}

/// Signature of one aws-chunked chunk whose data hashes to `chunk_sha256_hex`.
pub fn chunk_signature(
    signing_key: &[u8],
    amz_date: &str,
    scope: &str,
    previous: &str,
    chunk_sha256_hex: &str,
) -> String {
    let sts = format!(
        "AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{EMPTY_SHA256}\n{chunk_sha256_hex}"
    );
    signature(signing_key, &sts)
}

/// Signature of the trailer block ("name:value\n" lines).
pub fn trailer_signature(
    signing_key: &[u8],
    amz_date: &str,
    scope: &str,
    previous: &str,
    trailer: &[u8],
) -> String {
    let sts = format!(
        "AWS4-HMAC-SHA256-TRAILER\n{amz_date}\n{scope}\n{previous}\n{}",
        sha256_hex(trailer)
    );
    signature(signing_key, &sts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn signing_key_of_the_aws_docs_example() {
        // AWS General Reference, "Examples of how to derive a signing key for Signature V4".
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    fn s(v: &str) -> String {
        v.to_string()
    }

    #[test]
    fn s3_get_object_example() {
        // Amazon S3 API reference, "Example: GET Object" (Range header, 20130524).
        let headers = vec![
            (s("host"), s("examplebucket.s3.amazonaws.com")),
            (s("range"), s("bytes=0-9")),
            (s("x-amz-content-sha256"), s(EMPTY_SHA256)),
            (s("x-amz-date"), s("20130524T000000Z")),
        ];
        let signed: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
        let input = CanonicalInput {
            method: "GET",
            path: "/test.txt",
            query: &[],
            headers: &headers,
            signed_headers: &signed,
            payload_hash: EMPTY_SHA256,
            s3: true,
        };
        let creq = canonical_request(&input);
        let scope = "20130524/us-east-1/s3/aws4_request";
        let sts = string_to_sign("20130524T000000Z", scope, &creq);
        let key = signing_key(SECRET, "20130524", "us-east-1", "s3");
        let expected = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
        assert_eq!(signature(&key, &sts), expected);
        assert!(verify(&input, &key, "20130524T000000Z", scope, expected));
        let tampered = expected.replace('f', "e");
        assert!(!verify(&input, &key, "20130524T000000Z", scope, &tampered));
    }

    #[test]
    fn seed_and_first_chunk_signature_of_the_aws_chunked_example() {
        // Amazon S3 API reference, "Signature Calculation: Transferring Payload in Multiple
        // Chunks": 64 KiB of 'a' in the first chunk.
        let key = signing_key(SECRET, "20130524", "us-east-1", "s3");
        let scope = "20130524/us-east-1/s3/aws4_request";
        let seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
        let chunk = vec![b'a'; 65536];
        let sig = chunk_signature(&key, "20130524T000000Z", scope, seed, &sha256_hex(&chunk));
        assert_eq!(
            sig,
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
        );
        let sig2 = chunk_signature(
            &key,
            "20130524T000000Z",
            scope,
            &sig,
            &sha256_hex(&[b'a'; 1024]),
        );
        assert_eq!(
            sig2,
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
        );
        let last = chunk_signature(&key, "20130524T000000Z", scope, &sig2, EMPTY_SHA256);
        assert_eq!(
            last,
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
        );
    }

    #[test]
    fn query_is_encoded_and_sorted() {
        let q = vec![(s("b"), s("x y")), (s("a"), s("")), (s("a"), s("1/2"))];
        assert_eq!(canonical_query(&q), "a=&a=1%2F2&b=x%20y");
    }

    #[test]
    fn header_values_fold_and_join() {
        let h = vec![(s("My-Header1"), s("  a   b  ")), (s("my-header1"), s("c"))];
        assert_eq!(
            canonical_headers(&h, &[s("my-header1")]),
            "my-header1:a b,c\n"
        );
    }

    #[test]
    fn generic_path_normalises_and_double_encodes() {
        assert_eq!(canonical_uri("/foo/../bar/./baz//", false), "/bar/baz/");
        assert_eq!(canonical_uri("/a%20b", false), "/a%2520b");
        assert_eq!(canonical_uri("/a b", false), "/a%20b");
        assert_eq!(canonical_uri("/a%20b/c", true), "/a%20b/c");
        assert_eq!(canonical_uri("/a+b/%E2%82%AC", true), "/a+b/%E2%82%AC");
        assert_eq!(canonical_uri("", true), "/");
    }
}
