//! Server-side encryption's data format: an object's bytes sealed in 64 KiB packages of
//! AES-256-GCM, so that a ranged read decrypts only the packages it touches and any change to
//! the stored bytes fails to open instead of giving other plaintext.
//!
//! # Keys
//!
//! Every object version is sealed under its own random 256-bit data key ([`DataKey::random`]);
//! each part of a multipart upload under a key derived from the upload's, its part number and
//! the part's data id ([`DataKey::for_part`]), so parts are sealed, and can be read, one by one.
//! A data key seals exactly one stream. It is stored only wrapped ([`wrap_key`]): sealed under a
//! key-encryption key (KEK) with the version's data id as associated data, so a wrapped key
//! moved to another version's record does not open. SSE-S3's KEK derives from the server's
//! master key ([`sse_s3_kek`]); SSE-C's comes from the customer's key, which is never stored:
//! [`customer_key_check`] lets the server tell a wrong customer key from a right one.
//!
//! # Packages
//!
//! The plaintext is cut into packages of [`PACKAGE`] (64 KiB) bytes, the last one shorter. An
//! empty plaintext is one empty package, so that a sealed stream cut to nothing is detected.
//! Each package is stored as its AES-256-GCM ciphertext (as long as its plaintext) followed by
//! its [`TAG`] (16) bytes of tag: a sealed package is at most [`SEALED_PACKAGE`] bytes, and
//! package `n` starts at `n * SEALED_PACKAGE` of the sealed stream, which is
//! [`sealed_len`]`(plain_len)` bytes long.
//!
//! The nonce of package `n` (12 bytes):
//!
//! | bytes   | value                                      |
//! |---------|--------------------------------------------|
//! | 0       | [`FORMAT`] (1)                             |
//! | 1       | 1 for the stream's last package, else 0    |
//! | 2..4    | 0                                          |
//! | 4..12   | `n`, u64 big-endian                        |
//!
//! As a key seals one stream, a nonce never repeats under a key. The sequence number makes a
//! package moved to another place fail its tag; the last flag makes a stream cut at a package
//! boundary (its new last package is not flagged) or extended (a package after the flagged
//! one) fail. No associated data is needed: the key itself binds the version.
//!
//! Packages are sealed and opened through OpenSSL's AES-256-GCM: libcrypto's AES-NI and
//! carry-less multiply assembly runs about four times as fast as the aes-gcm crate here, and
//! encryption must not cost an upload much. The format is plain AES-256-GCM, which any
//! implementation opens: a test checks it against the aes-gcm crate.

use std::fmt;
use std::ops::Range;
use std::sync::{Mutex, MutexGuard, PoisonError};

use openssl::cipher::Cipher;
use openssl::cipher_ctx::CipherCtx;
use openssl::error::ErrorStack;

use crate::error::{Result, S3Error};
use crate::seal;

/// The version of this format: the first byte of every nonce, so a later format never reuses
/// a nonce of this one.
pub const FORMAT: u8 = 1;
/// Plaintext bytes per package: a ranged read decrypts less than 128 KiB it does not need, and
/// the tags add 0.02%.
pub const PACKAGE: usize = 64 << 10;
/// Bytes of a package's GCM tag.
pub const TAG: usize = 16;
/// The largest sealed package: the stride of packages in a sealed stream.
pub const SEALED_PACKAGE: usize = PACKAGE + TAG;
/// Packages per block of the data path (writer::BUFFER_SIZE, 1 MiB, of plaintext).
pub const BLOCK_PACKAGES: usize = 16;
/// A full block of the data path sealed: what the writer writes per 1 MiB of plaintext, and
/// the stripe of an encrypted erasure-coded object (each full sealed block one stripe).
pub const SEALED_BLOCK: usize = BLOCK_PACKAGES * SEALED_PACKAGE;

const PACKAGE_U64: u64 = PACKAGE as u64;
const TAG_U64: u64 = TAG as u64;
const SEALED_U64: u64 = SEALED_PACKAGE as u64;

const PART_CONTEXT: &str = "oxstore 2026-12 sse part key";
const SSE_S3_CONTEXT: &str = "oxstore 2026-12 sse-s3 kek";
const SSE_C_CHECK_CONTEXT: &str = "oxstore 2026-12 sse-c key check";

fn internal(message: impl Into<String>) -> S3Error {
    S3Error::new("InternalError", message)
}

/// Stored data that does not open: altered, moved, cut, extended or of another key (which of
/// them GCM cannot tell, and a client need not know).
pub(crate) fn corrupt(seq: u64) -> S3Error {
    internal(format!("package {seq} of the encrypted data is corrupt"))
}

// ---- keys ------------------------------------------------------------------------------------

/// The AES-256 key of one object version's (or one part's) packages. Not comparable outside
/// tests: nothing should compare keys (and == would not be constant-time).
#[derive(Clone)]
#[cfg_attr(test, derive(PartialEq, Eq))]
pub struct DataKey([u8; 32]);

impl DataKey {
    /// A fresh key from the OS's random source (which fails only when the OS has none to give).
    pub fn random() -> Result<Self> {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).map_err(|e| internal(e.to_string()))?;
        Ok(DataKey(key))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        DataKey(bytes)
    }

    /// A key received as bytes (from Python, from an unwrapped record): exactly 32 of them.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        <[u8; 32]>::try_from(bytes)
            .map(DataKey)
            .map_err(|_| S3Error::new("InvalidArgument", "a data key is 32 bytes"))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key of part `part_number` of the multipart upload whose key this is, for the upload
    /// of that part whose data id is `part_id`. The data id is in it because a part number may
    /// be uploaded again: the same key would then seal another stream with the same nonces,
    /// which GCM does not survive. The part number is in it so that a part record moved to
    /// another number does not open. Only the upload's key needs wrapping.
    pub fn for_part(&self, part_number: u32, part_id: &[u8]) -> DataKey {
        let mut hasher = blake3::Hasher::new_derive_key(PART_CONTEXT);
        hasher.update(&self.0);
        hasher.update(&part_number.to_le_bytes());
        hasher.update(part_id); // last, so the fixed-size fields before it are unambiguous
        DataKey(*hasher.finalize().as_bytes())
    }
}

/// Never the key itself, so a key cannot end up in a log.
impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// The data key sealed for the version's metadata record under `kek`, bound to `bound_to` (the
/// version's data id) as associated data: moved to another version's record, it does not open.
pub fn wrap_key(kek: &[u8; 32], data_key: &DataKey, bound_to: &[u8]) -> Result<Vec<u8>> {
    seal::seal(kek, &data_key.0, bound_to)
}

/// The data key of a wrapped record; an error for another KEK, another `bound_to` or an
/// altered record.
pub fn unwrap_key(kek: &[u8; 32], wrapped: &[u8], bound_to: &[u8]) -> Result<DataKey> {
    let key = seal::unseal(kek, wrapped, bound_to)?;
    DataKey::from_slice(&key).map_err(|_| internal("a wrapped data key is not 32 bytes"))
}

/// SSE-S3's key-encryption key, from the server's master key (derived, so that the master key
/// itself never encrypts anything and other uses of it stay independent).
pub fn sse_s3_kek(master: &[u8]) -> [u8; 32] {
    blake3::derive_key(SSE_S3_CONTEXT, master)
}

/// What the server stores to recognise an SSE-C customer key for the version `bound_to` (its
/// data id) without storing the key: a hash keyed by the master key, so that the metadata alone
/// does not let anyone test guesses of a weak customer key, and bound to the version, so that
/// two objects under one customer key do not show it.
pub fn customer_key_check(master: &[u8], customer_key: &[u8; 32], bound_to: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_keyed(&blake3::derive_key(SSE_C_CHECK_CONTEXT, master));
    hasher.update(customer_key);
    hasher.update(bound_to);
    *hasher.finalize().as_bytes()
}

/// Whether `customer_key` is the one `stored` (a customer_key_check()) was made from, compared
/// in constant time.
pub fn customer_key_matches(
    master: &[u8],
    customer_key: &[u8; 32],
    bound_to: &[u8],
    stored: &[u8],
) -> bool {
    let check = blake3::Hash::from(customer_key_check(master, customer_key, bound_to));
    <[u8; 32]>::try_from(stored).is_ok_and(|stored| check == stored)
}

// ---- lengths ---------------------------------------------------------------------------------

/// The number of packages of a plaintext: at least one, an empty plaintext being one empty
/// package.
pub fn packages(plain_len: u64) -> u64 {
    plain_len.div_ceil(PACKAGE_U64).max(1)
}

pub fn sealed_len(plain_len: u64) -> u64 {
    plain_len + packages(plain_len) * TAG_U64
}

/// The plaintext length of a sealed stream of `sealed_len` bytes; an error for a length no
/// plaintext seals to (a last package shorter than its tag, or empty after others).
pub fn plain_len(sealed_len: u64) -> Result<u64> {
    let (full, rest) = (sealed_len / SEALED_U64, sealed_len % SEALED_U64);
    match rest {
        0 if full > 0 => Ok(full * PACKAGE_U64),
        TAG_U64 if full == 0 => Ok(0),
        rest if rest > TAG_U64 => Ok(full * PACKAGE_U64 + rest - TAG_U64),
        _ => Err(internal(format!(
            "{sealed_len} bytes cannot be an encrypted stream"
        ))),
    }
}

/// What a ranged read of plaintext bytes `range` of a `plain_len`-byte stream reads: the
/// packages (numbers) it touches and their bytes in the sealed stream. The range is clipped to
/// the plaintext; an empty one touches nothing. Once opened, the packages' plaintext starts at
/// byte `packages.start * PACKAGE` of the stream.
pub fn sealed_range(plain_len: u64, range: Range<u64>) -> (Range<u64>, Range<u64>) {
    let end = range.end.min(plain_len);
    let start = range.start.min(end);
    let first = start / PACKAGE_U64;
    let packages = match start == end {
        true => first..first,
        false => first..(end - 1) / PACKAGE_U64 + 1,
    };
    let sealed = sealed_span(plain_len, &packages);
    (packages, sealed)
}

/// The sealed bytes of packages `packages` (all of the stream's).
pub(crate) fn sealed_span(plain_len: u64, packages: &Range<u64>) -> Range<u64> {
    let total = sealed_len(plain_len);
    (packages.start * SEALED_U64).min(total)..(packages.end * SEALED_U64).min(total)
}

/// The plaintext bytes of packages `packages` (all of the stream's).
pub(crate) fn plain_span(plain_len: u64, packages: &Range<u64>) -> Range<u64> {
    (packages.start * PACKAGE_U64).min(plain_len)..(packages.end * PACKAGE_U64).min(plain_len)
}

/// Checks that `sealed_len` bytes are exactly packages `packages` of a stream of `plain_len`
/// bytes (a short read, an extended file or a caller's mistake fail here, before any
/// decryption) and returns the length of their plaintext.
fn check_span(plain_len: u64, packages: &Range<u64>, sealed_len: usize) -> Result<usize> {
    let total = self::packages(plain_len);
    if packages.start > packages.end || packages.end > total {
        return Err(internal(format!(
            "packages {packages:?} of an encrypted stream of {total}"
        )));
    }
    let want = sealed_span(plain_len, packages);
    if sealed_len as u64 != want.end - want.start {
        return Err(internal(format!(
            "{sealed_len} bytes of encrypted data where {} are expected",
            want.end - want.start
        )));
    }
    let plain = plain_span(plain_len, packages);
    Ok((plain.end - plain.start) as usize)
}

/// Whether a package of `len` plaintext bytes fits the format as package `seq`: full, or
/// shorter as the last, empty only as the whole of an empty stream.
fn check_package(seq: u64, last: bool, len: usize) -> Result<()> {
    let fits = len == PACKAGE || (last && len < PACKAGE && (len > 0 || seq == 0));
    match fits {
        true => Ok(()),
        false => Err(internal(format!(
            "a package {seq} of {len} bytes (last: {last}) does not fit the format"
        ))),
    }
}

fn nonce(seq: u64, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[0] = FORMAT;
    nonce[1] = last as u8;
    nonce[4..].copy_from_slice(&seq.to_be_bytes());
    nonce
}

// ---- sealing and opening ---------------------------------------------------------------------

/// A data key's AES-256-GCM, set up once (key schedule, GHASH key) for every package of a
/// stream: what the writer and the reader drive, a block at a time.
pub struct PackageCipher {
    /// One OpenSSL context, keyed once: each package only sets its nonce, so a package costs
    /// no allocation and no key schedule. Locked so that the cipher is driven through `&self`
    /// and can be shared; uncontended, the lock is nothing next to a package's encryption.
    ctx: Mutex<CipherCtx>,
}

impl PackageCipher {
    pub fn new(key: &DataKey) -> Self {
        let mut ctx = CipherCtx::new().expect("OpenSSL allocates a cipher context");
        ctx.encrypt_init(Some(Cipher::aes_256_gcm()), Some(&key.0), None)
            .expect("OpenSSL provides AES-256-GCM");
        PackageCipher {
            ctx: Mutex::new(ctx),
        }
    }

    /// The context. A panic that poisoned the lock can only have left a package half done,
    /// which the next package's init (nonce) discards.
    fn ctx(&self) -> MutexGuard<'_, CipherCtx> {
        self.ctx.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Encrypts `body`, package `seq`'s plaintext, in place and returns its tag.
    fn seal_body(&self, seq: u64, last: bool, body: &mut [u8]) -> [u8; TAG] {
        let mut ctx = self.ctx();
        let mut tag = [0u8; TAG];
        ctx.encrypt_init(None, None, Some(&nonce(seq, last)))
            .and_then(|()| update_in_place(&mut ctx, body))
            .and_then(|()| ctx.cipher_final(&mut []))
            .and_then(|_| ctx.tag(&mut tag))
            .expect("AES-256-GCM seals a package far below its limit of 64 GiB");
        tag
    }

    /// Encrypts `plain`, package `seq`'s plaintext, into `out` (as long) and returns its tag:
    /// one pass, no copy.
    fn seal_body_into(&self, seq: u64, last: bool, plain: &[u8], out: &mut [u8]) -> [u8; TAG] {
        debug_assert_eq!(plain.len(), out.len());
        let mut ctx = self.ctx();
        let mut tag = [0u8; TAG];
        ctx.encrypt_init(None, None, Some(&nonce(seq, last)))
            .and_then(|()| ctx.cipher_update(plain, Some(out)).map(drop))
            .and_then(|()| ctx.cipher_final(&mut []))
            .and_then(|_| ctx.tag(&mut tag))
            .expect("AES-256-GCM seals a package far below its limit of 64 GiB");
        tag
    }

    /// Decrypts `body`, package `seq`'s ciphertext, into `out` (as long) when `tag` is its
    /// tag; otherwise zeroes `out` (see open_body()).
    fn open_body_into(
        &self,
        seq: u64,
        last: bool,
        body: &[u8],
        tag: &[u8],
        out: &mut [u8],
    ) -> Result<()> {
        debug_assert_eq!(body.len(), out.len());
        let mut ctx = self.ctx();
        ctx.decrypt_init(None, None, Some(&nonce(seq, last)))
            .and_then(|()| ctx.set_tag(tag))
            .and_then(|()| ctx.cipher_update(body, Some(&mut *out)).map(drop))
            .expect("AES-256-GCM decrypts a package far below its limit of 64 GiB");
        ctx.cipher_final(&mut []).map(drop).map_err(|_| {
            out.fill(0);
            corrupt(seq)
        })
    }

    /// Decrypts `body`, package `seq`'s ciphertext, in place when `tag` is its tag; otherwise
    /// zeroes it. OpenSSL checks the tag in its finalize, after decrypting: plaintext that
    /// fails it must not stay where a caller could take it.
    fn open_body(&self, seq: u64, last: bool, body: &mut [u8], tag: &[u8]) -> Result<()> {
        let mut ctx = self.ctx();
        ctx.decrypt_init(None, None, Some(&nonce(seq, last)))
            .and_then(|()| ctx.set_tag(tag))
            .and_then(|()| update_in_place(&mut ctx, body))
            .expect("AES-256-GCM decrypts a package far below its limit of 64 GiB");
        ctx.cipher_final(&mut []).map(drop).map_err(|_| {
            body.fill(0);
            corrupt(seq)
        })
    }

    /// Seals `buf[start..]`, the plaintext of package `seq`, in place and appends its tag: the
    /// writer appends each package's plaintext to its block and seals it there, with no copy
    /// and, once the block's sealed size is reserved, no allocation. An error (nothing changed)
    /// for a package that does not fit the format (see the module's doc).
    pub fn seal_package_in_place(
        &self,
        seq: u64,
        last: bool,
        buf: &mut Vec<u8>,
        start: usize,
    ) -> Result<()> {
        let len = buf.len().checked_sub(start).ok_or_else(|| {
            internal(format!(
                "a package at {start} of a {}-byte buffer",
                buf.len()
            ))
        })?;
        check_package(seq, last, len)?;
        let tag = self.seal_body(seq, last, &mut buf[start..]);
        buf.extend_from_slice(&tag);
        Ok(())
    }

    /// Seals in place a block of plaintext that is packages `first_seq`, `first_seq + 1`, ...,
    /// every one full unless `last` (the block ends the stream). The block grows by a tag per
    /// package (reserve them to avoid a reallocation); each package moves up to its place just
    /// before it is sealed, so it is encrypted while in cache. An error (nothing changed) for a
    /// block that does not fit the format.
    pub fn seal_block_in_place(&self, first_seq: u64, last: bool, buf: &mut Vec<u8>) -> Result<()> {
        let plain = buf.len();
        let count = packages(plain as u64) as usize;
        let final_len = plain - (count - 1) * PACKAGE;
        check_package(first_seq + count as u64 - 1, last, final_len)?;
        buf.resize(plain + count * TAG, 0);
        for i in (0..count).rev() {
            let (from, at) = (i * PACKAGE, i * SEALED_PACKAGE);
            let len = PACKAGE.min(plain - from);
            buf.copy_within(from..from + len, at);
            let (body, tag) = buf[at..at + len + TAG].split_at_mut(len);
            let seq = first_seq + i as u64;
            tag.copy_from_slice(&self.seal_body(seq, last && i == count - 1, body));
        }
        Ok(())
    }

    /// seal_block_in_place() from `plain` into `out`, which must have room for the sealed
    /// block (SEALED_BLOCK for a full one): each package is encrypted straight from the
    /// plaintext into its place, one pass and no copy, so the writer seals its pooled blocks
    /// into one reused buffer. Returns the sealed length (`out` beyond it is left as it was);
    /// an error (nothing written) for a block that does not fit the format or the room.
    pub fn seal_block_into(
        &self,
        first_seq: u64,
        last: bool,
        plain: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        let count = packages(plain.len() as u64) as usize;
        let final_len = plain.len() - (count - 1) * PACKAGE;
        check_package(first_seq + count as u64 - 1, last, final_len)?;
        let sealed = plain.len() + count * TAG;
        if out.len() < sealed {
            return Err(internal(format!(
                "{} bytes of room for a sealed block of {sealed}",
                out.len()
            )));
        }
        for i in 0..count {
            let (from, at) = (i * PACKAGE, i * SEALED_PACKAGE);
            let len = PACKAGE.min(plain.len() - from);
            let (body, tag) = out[at..at + len + TAG].split_at_mut(len);
            let seq = first_seq + i as u64;
            let plain = &plain[from..from + len];
            tag.copy_from_slice(&self.seal_body_into(seq, last && i == count - 1, plain, body));
        }
        Ok(sealed)
    }

    /// The plaintext bytes `range` of a stream of `plain_len` bytes into `out` (exactly as
    /// long), from `sealed`, exactly the sealed bytes of packages `packages` (those of the
    /// range, as sealed_range() gives them; a package not touching the range is not opened).
    /// A package wholly in the range is decrypted straight into `out`, one pass; a package
    /// only partly in it (at most the first and the last) is decrypted into `edge` (grown to
    /// a package once, then reused) and its part copied. Returns the package `edge` holds the
    /// plaintext of when one was decrypted there (the last), so that a next read that starts
    /// inside it need not open it again. On any failure `out` and `edge` are zeroed: no byte
    /// of a package that does not open is ever left in them.
    pub fn open_range_into(
        &self,
        plain_len: u64,
        packages: Range<u64>,
        sealed: &[u8],
        range: Range<u64>,
        out: &mut [u8],
        edge: &mut Vec<u8>,
    ) -> Result<Option<u64>> {
        check_span(plain_len, &packages, sealed.len())?;
        let plain = plain_span(plain_len, &packages);
        let fits = plain.start <= range.start && range.start <= range.end && range.end <= plain.end;
        if !fits || out.len() as u64 != range.end - range.start {
            return Err(internal(format!(
                "plaintext {range:?} into {} bytes from the packages of {plain:?}",
                out.len()
            )));
        }
        let mut held = None;
        for (seq, last, body, tag) in sealed_packages(plain_len, packages, sealed) {
            let start = seq * PACKAGE_U64;
            let (lo, hi) = (
                start.max(range.start),
                (start + body.len() as u64).min(range.end),
            );
            if lo >= hi {
                continue;
            }
            let into = (lo - range.start) as usize..(hi - range.start) as usize;
            let opened = if (lo, hi) == (start, start + body.len() as u64) {
                self.open_body_into(seq, last, body, tag, &mut out[into])
            } else {
                if edge.len() < PACKAGE {
                    edge.resize(PACKAGE, 0);
                }
                let opened = self.open_body_into(seq, last, body, tag, &mut edge[..body.len()]);
                if opened.is_ok() {
                    let part = (lo - start) as usize..(hi - start) as usize;
                    out[into].copy_from_slice(&edge[part]);
                    held = Some(seq);
                }
                opened
            };
            if let Err(err) = opened {
                out.fill(0);
                edge.fill(0);
                return Err(err);
            }
        }
        Ok(held)
    }

    /// Checks packages `packages` of a stream of `plain_len` bytes by opening them in place in
    /// `sealed`, their sealed bytes as read (shorter when the data ended early: a package not
    /// all there is bad), which is left holding no plaintext of a bad package (and garbage
    /// otherwise). Returns the packages that do not open, in order.
    pub fn bad_packages(
        &self,
        plain_len: u64,
        packages: Range<u64>,
        sealed: &mut [u8],
    ) -> Vec<u64> {
        let total = self::packages(plain_len);
        let mut bad = Vec::new();
        for seq in packages.clone() {
            let plain = plain_span(plain_len, &(seq..seq + 1));
            let len = (plain.end - plain.start) as usize;
            let at = ((seq - packages.start) * SEALED_U64) as usize;
            let opens = seq < total && at + len + TAG <= sealed.len() && {
                let (body, tag) = sealed[at..at + len + TAG].split_at_mut(len);
                self.open_body(seq, seq + 1 == total, body, tag).is_ok()
            };
            if !opens {
                bad.push(seq);
            }
        }
        bad
    }

    /// Opens packages `packages` of a stream of `plain_len` bytes: `sealed` is exactly their
    /// sealed bytes (sealed_range() gives which), `out` exactly as long as their plaintext.
    /// Any failure (see open_packages()) is an error with `out` zeroed.
    pub fn open_packages_into(
        &self,
        plain_len: u64,
        packages: Range<u64>,
        sealed: &[u8],
        out: &mut [u8],
    ) -> Result<()> {
        let want = check_span(plain_len, &packages, sealed.len())?;
        if out.len() != want {
            return Err(internal(format!(
                "{} bytes of room for {want} bytes of plaintext",
                out.len()
            )));
        }
        let mut at = 0;
        for (seq, last, body, tag) in sealed_packages(plain_len, packages, sealed) {
            let into = &mut out[at..at + body.len()];
            into.copy_from_slice(body);
            if let Err(err) = self.open_body(seq, last, into, tag) {
                out.fill(0);
                return Err(err);
            }
            at += body.len();
        }
        Ok(())
    }

    /// open_packages_into() in place: `buf` holds the packages' sealed bytes and, when they
    /// open, their plaintext (each package moves down over the tags before it once opened,
    /// while in cache). On any failure `buf` is emptied.
    pub fn open_in_place(
        &self,
        plain_len: u64,
        packages: Range<u64>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let result = self.open_in_place_or_fail(plain_len, packages, buf);
        if result.is_err() {
            buf.clear();
        }
        result
    }

    fn open_in_place_or_fail(
        &self,
        plain_len: u64,
        packages: Range<u64>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let want = check_span(plain_len, &packages, buf.len())?;
        let total = self::packages(plain_len);
        for (i, seq) in packages.enumerate() {
            let at = i * SEALED_PACKAGE;
            let len = PACKAGE.min(want - i * PACKAGE);
            let (body, tag) = buf[at..at + len + TAG].split_at_mut(len);
            self.open_body(seq, seq + 1 == total, body, tag)?;
            buf.copy_within(at..at + len, i * PACKAGE);
        }
        buf.truncate(want);
        Ok(())
    }
}

/// Encrypts or decrypts `data` in place. GCM is a stream mode to OpenSSL (block size 1): update
/// writes exactly the bytes it reads and holds none back, so it needs no block of room beyond
/// the data (as a block mode would) and finalize writes nothing.
fn update_in_place(ctx: &mut CipherCtx, data: &mut [u8]) -> std::result::Result<(), ErrorStack> {
    let len = data.len();
    let written = ctx.cipher_update_inplace(data, len)?;
    debug_assert_eq!(written, len);
    Ok(())
}

/// Each package of `sealed` (checked by check_span()): its number, whether it is the last, its
/// ciphertext and its tag.
fn sealed_packages(
    plain_len: u64,
    packages: Range<u64>,
    sealed: &[u8],
) -> impl Iterator<Item = (u64, bool, &[u8], &[u8])> {
    let total = self::packages(plain_len);
    packages
        .zip(sealed.chunks(SEALED_PACKAGE))
        .map(move |(seq, package)| {
            let (body, tag) = package.split_at(package.len() - TAG);
            (seq, seq + 1 == total, body, tag)
        })
}

/// Appends package `seq`, sealed, to `out`: one copy of the plaintext, into place.
fn append_sealed(cipher: &PackageCipher, seq: u64, last: bool, plain: &[u8], out: &mut Vec<u8>) {
    out.reserve(plain.len() + TAG);
    let at = out.len();
    out.extend_from_slice(plain);
    let tag = cipher.seal_body(seq, last, &mut out[at..]);
    out.extend_from_slice(&tag);
}

/// Seals a stream fed in pieces of any size, appending each package to the caller's buffer
/// once it is complete and known not to be the last.
pub struct Encryptor {
    cipher: PackageCipher,
    /// The number of the next package.
    seq: u64,
    /// The plaintext not sealed yet, at most one package: a full package waits here for the
    /// next byte, as only then is it known not to be the last.
    pending: Vec<u8>,
}

impl Encryptor {
    pub fn new(key: &DataKey) -> Self {
        Encryptor {
            cipher: PackageCipher::new(key),
            seq: 0,
            pending: Vec::with_capacity(PACKAGE),
        }
    }

    /// Appends to `out` every package that `plain` completes (but the last, which finish()
    /// appends); whole packages of `plain` are copied once, straight into `out`.
    pub fn update(&mut self, mut plain: &[u8], out: &mut Vec<u8>) {
        let coming = self.pending.len() + plain.len();
        out.reserve(coming / PACKAGE * SEALED_PACKAGE);
        while !plain.is_empty() {
            if self.pending.len() == PACKAGE {
                append_sealed(&self.cipher, self.seq, false, &self.pending, out);
                self.seq += 1;
                self.pending.clear();
            } else if self.pending.is_empty() && plain.len() > PACKAGE {
                let (package, rest) = plain.split_at(PACKAGE);
                append_sealed(&self.cipher, self.seq, false, package, out);
                self.seq += 1;
                plain = rest;
            } else {
                let take = (PACKAGE - self.pending.len()).min(plain.len());
                self.pending.extend_from_slice(&plain[..take]);
                plain = &plain[take..];
            }
        }
    }

    /// Appends the last package, flagged last (an empty one when nothing was fed).
    pub fn finish(self, out: &mut Vec<u8>) {
        append_sealed(&self.cipher, self.seq, true, &self.pending, out);
    }
}

/// Opens packages `packages` of a stream of `plain_len` bytes, appending their plaintext to
/// `out`. `sealed` must be exactly their sealed bytes, as sealed_range() gives them: a byte
/// more or less, a package altered, moved, of another stream or key, or with the last flag
/// where it is not the stream's last package (or without it where it is) is an error, and
/// `out` is left as it was.
pub fn open_packages(
    key: &DataKey,
    plain_len: u64,
    packages: Range<u64>,
    sealed: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let want = check_span(plain_len, &packages, sealed.len())?;
    let cipher = PackageCipher::new(key);
    let kept = out.len();
    out.reserve(want);
    for (seq, last, body, tag) in sealed_packages(plain_len, packages, sealed) {
        let at = out.len();
        out.extend_from_slice(body);
        if let Err(err) = cipher.open_body(seq, last, &mut out[at..], tag) {
            out.truncate(kept);
            return Err(err);
        }
    }
    Ok(())
}

/// Seals a whole stream into `out`, exactly sealed_len(plain.len()) bytes (so a caller can
/// seal straight into the memory it returns).
pub fn seal_stream_into(key: &DataKey, plain: &[u8], out: &mut [u8]) -> Result<()> {
    let want = sealed_len(plain.len() as u64);
    if out.len() as u64 != want {
        return Err(internal(format!(
            "{} bytes of room for {want} sealed bytes",
            out.len()
        )));
    }
    let cipher = PackageCipher::new(key);
    let count = packages(plain.len() as u64) as usize;
    for i in 0..count {
        let (from, at) = (i * PACKAGE, i * SEALED_PACKAGE);
        let len = PACKAGE.min(plain.len() - from);
        let (body, tag) = out[at..at + len + TAG].split_at_mut(len);
        body.copy_from_slice(&plain[from..from + len]);
        tag.copy_from_slice(&cipher.seal_body(i as u64, i == count - 1, body));
    }
    Ok(())
}

/// Opens a whole sealed stream into `out`, exactly plain_len(sealed.len()) bytes. The stream's
/// length gives its plaintext's: one cut or extended by whole packages fails on the last flag.
pub fn open_stream_into(key: &DataKey, sealed: &[u8], out: &mut [u8]) -> Result<()> {
    let plain = plain_len(sealed.len() as u64)?;
    PackageCipher::new(key).open_packages_into(plain, 0..packages(plain), sealed, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::aead::KeyInit;
    use aes_gcm::{Aes256Gcm, Key, Nonce};

    const MIB: usize = 1 << 20;
    const SIZES: [usize; 8] = [0, 1, 13, PACKAGE - 1, PACKAGE, PACKAGE + 1, MIB, MIB + 17];

    /// `n` bytes that differ from any other offset's (a misplaced byte shows).
    fn data(n: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; n];
        blake3::Hasher::new().finalize_xof().fill(&mut bytes);
        bytes
    }

    fn key(byte: u8) -> DataKey {
        DataKey::from_bytes([byte; 32])
    }

    /// `plain` sealed through an Encryptor fed in odd-sized pieces.
    fn seal_in_pieces(key: &DataKey, plain: &[u8]) -> Vec<u8> {
        let pieces = [1, 7, 4093, PACKAGE + 3, 100_000, 3, PACKAGE - 1];
        let mut encryptor = Encryptor::new(key);
        let (mut sealed, mut rest) = (Vec::new(), plain);
        for size in pieces.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, more) = rest.split_at((*size).min(rest.len()));
            encryptor.update(piece, &mut sealed);
            rest = more;
        }
        encryptor.finish(&mut sealed);
        sealed
    }

    fn open_all(key: &DataKey, sealed: &[u8]) -> Result<Vec<u8>> {
        let mut out = vec![0u8; plain_len(sealed.len() as u64)? as usize];
        open_stream_into(key, sealed, &mut out)?;
        Ok(out)
    }

    fn sealed(plain: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; sealed_len(plain.len() as u64) as usize];
        seal_stream_into(&key(1), plain, &mut out).unwrap();
        out
    }

    #[test]
    fn every_size_round_trips_fed_in_odd_pieces() {
        let key = key(1);
        for n in SIZES {
            let plain = data(n);
            let sealed = seal_in_pieces(&key, &plain);
            assert_eq!(sealed.len() as u64, sealed_len(n as u64), "size {n}");
            assert_eq!(plain_len(sealed.len() as u64).unwrap(), n as u64);
            let mut out = b"kept".to_vec();
            let all = 0..packages(n as u64);
            open_packages(&key, n as u64, all.clone(), &sealed, &mut out).unwrap();
            assert_eq!(&out[..4], b"kept");
            assert_eq!(out[4..], plain, "size {n}");
            assert_eq!(open_all(&key, &sealed).unwrap(), plain, "size {n}");
            let mut in_place = sealed.clone();
            PackageCipher::new(&key)
                .open_in_place(n as u64, all, &mut in_place)
                .unwrap();
            assert_eq!(in_place, plain, "size {n}");
        }
    }

    #[test]
    fn every_way_of_sealing_gives_the_same_stream() {
        let key = key(1);
        let cipher = PackageCipher::new(&key);
        for n in SIZES {
            let plain = data(n);
            let streamed = seal_in_pieces(&key, &plain);
            assert_eq!(sealed(&plain), streamed, "seal_stream_into, size {n}");

            let mut block = plain.clone();
            cipher.seal_block_in_place(0, true, &mut block).unwrap();
            assert_eq!(block, streamed, "one block, size {n}");

            let mut blocks = Vec::new();
            let per_block = 3 * PACKAGE;
            let count = plain.len().div_ceil(per_block).max(1);
            for (b, chunk) in (0..count).map(|b| (b, &plain[(b * per_block).min(n)..])) {
                let mut block = chunk[..chunk.len().min(per_block)].to_vec();
                cipher
                    .seal_block_in_place((b * 3) as u64, b == count - 1, &mut block)
                    .unwrap();
                blocks.extend_from_slice(&block);
            }
            assert_eq!(blocks, streamed, "blocks of 3 packages, size {n}");

            let mut by_package = Vec::new();
            let total = packages(n as u64);
            for seq in 0..total {
                let start = by_package.len();
                let from = (seq as usize * PACKAGE).min(n);
                by_package.extend_from_slice(&plain[from..(from + PACKAGE).min(n)]);
                cipher
                    .seal_package_in_place(seq, seq + 1 == total, &mut by_package, start)
                    .unwrap();
            }
            assert_eq!(by_package, streamed, "package by package, size {n}");
        }
    }

    #[test]
    fn nonces_are_as_documented() {
        use aes_gcm::aead::Aead;
        let plain = data(PACKAGE + 3);
        let aead = Aes256Gcm::new(&Key::<Aes256Gcm>::from([1u8; 32]));
        let mut want = Vec::new();
        for (seq, last, body) in [(0u8, 0u8, &plain[..PACKAGE]), (1, 1, &plain[PACKAGE..])] {
            let nonce = [FORMAT, last, 0, 0, 0, 0, 0, 0, 0, 0, 0, seq];
            want.extend(aead.encrypt(Nonce::from_slice(&nonce), body).unwrap());
        }
        assert_eq!(sealed(&plain), want);
    }

    #[test]
    fn the_encryptor_holds_back_at_most_one_package() {
        let mut encryptor = Encryptor::new(&key(1));
        let mut out = Vec::new();
        encryptor.update(&data(PACKAGE), &mut out);
        assert!(out.is_empty(), "a full package may be the last");
        encryptor.update(b"x", &mut out);
        assert_eq!(out.len(), SEALED_PACKAGE);
        encryptor.update(&data(3 * PACKAGE), &mut out);
        assert_eq!(out.len(), 4 * SEALED_PACKAGE, "one byte held back");
        encryptor.finish(&mut out);
        assert_eq!(out.len() as u64, sealed_len(4 * PACKAGE as u64 + 1));
    }

    #[test]
    fn ranged_reads_open_only_the_packages_they_touch() {
        let n = 3 * PACKAGE + 100;
        let (plain, sealed) = (data(n), sealed(&data(n)));
        let last = n as u64 - 1;
        let p = PACKAGE as u64;
        let ranges = [
            (0..1, 0..1),
            (0..100, 0..1),
            (p - 1..p + 1, 0..2),
            (p - 10..2 * p + 10, 0..3),
            (p..2 * p, 1..2),
            (2 * p + 5..n as u64, 2..4),
            (last..last + 1, 3..4),
            (last..u64::MAX, 3..4),
            (0..n as u64, 0..4),
        ];
        for (range, want) in ranges {
            let (packages, span) = sealed_range(n as u64, range.clone());
            assert_eq!(packages, want, "range {range:?}");
            let mut out = Vec::new();
            let bytes = &sealed[span.start as usize..span.end as usize];
            open_packages(&key(1), n as u64, packages.clone(), bytes, &mut out).unwrap();
            let skip = (range.start - packages.start * p) as usize;
            let len = (range.end.min(n as u64) - range.start) as usize;
            let from = range.start as usize;
            assert_eq!(out[skip..skip + len], plain[from..from + len], "{range:?}");
        }
        assert_eq!(sealed_range(n as u64, 5..5), (0..0, 0..0));
        assert_eq!(sealed_range(0, 0..10), (0..0, 0..0));
        let end = sealed_len(n as u64);
        assert_eq!(sealed_range(n as u64, last..last + 1).1.end, end);
    }

    #[test]
    fn a_one_byte_range_reads_one_package() {
        let n = 5 * PACKAGE as u64 + 7;
        for at in [
            0,
            1,
            PACKAGE as u64 - 1,
            PACKAGE as u64,
            3 * PACKAGE as u64 + 9,
            n - 1,
        ] {
            let (packages, span) = sealed_range(n, at..at + 1);
            assert_eq!(packages.end - packages.start, 1, "byte {at}");
            assert!(span.end - span.start <= SEALED_U64, "byte {at}");
            assert_eq!(span.start, packages.start * SEALED_U64);
        }
    }

    #[test]
    fn lengths_are_inverse_and_impossible_ones_rejected() {
        let p = PACKAGE as u64;
        let mut sizes: Vec<u64> = SIZES.iter().map(|&n| n as u64).collect();
        sizes.extend([2 * p - 1, 2 * p, 2 * p + 1, 5 << 40]);
        for n in sizes {
            assert_eq!(plain_len(sealed_len(n)).unwrap(), n, "size {n}");
        }
        assert_eq!((packages(0), packages(1), packages(p)), (1, 1, 1));
        assert_eq!((packages(p + 1), packages(2 * p)), (2, 2));
        assert_eq!((sealed_len(0), sealed_len(p + 1)), (16, p + 1 + 32));
        let s = SEALED_U64;
        // too short for a tag; an empty package after a full one; a last package shorter than
        // its tag
        for bad in [0, 1, 15, s + 1, s + 15, s + 16, 3 * s + 16, 3 * s + 5] {
            assert!(plain_len(bad).is_err(), "sealed length {bad}");
        }
    }

    /// Whether opening `stream` as a whole, and as packages of a `plain_len` stream, fails.
    fn fails(stream: &[u8], plain_len: u64) -> bool {
        let mut out = Vec::new();
        let all = 0..packages(plain_len);
        let err = open_packages(&key(1), plain_len, all, stream, &mut out).is_err();
        assert!(!err || out.is_empty(), "plaintext out of a failed open");
        err && open_all(&key(1), stream).is_err()
    }

    #[test]
    fn altered_moved_cut_or_extended_data_does_not_open() {
        let n = 3 * PACKAGE as u64 + 100;
        let good = sealed(&data(n as usize));
        assert!(!fails(&good, n));
        let s = SEALED_PACKAGE;

        let mut ciphertext = good.clone();
        ciphertext[s + 5] ^= 1;
        assert!(fails(&ciphertext, n), "a ciphertext byte flipped");

        let mut tag = good.clone();
        tag[2 * s - 1] ^= 0x80;
        assert!(fails(&tag, n), "a tag byte flipped");

        let mut swapped = good.clone();
        swapped[..s].copy_from_slice(&good[s..2 * s]);
        swapped[s..2 * s].copy_from_slice(&good[..s]);
        assert!(fails(&swapped, n), "two packages swapped");

        let cut = &good[..3 * s];
        assert!(fails(cut, n), "the last package dropped");
        assert!(
            open_all(&key(1), cut).is_err(),
            "cut: the new last is not flagged"
        );

        let extended = [&good[..], &good[s..2 * s]].concat();
        assert!(fails(&extended, n), "a package appended");
        assert!(open_all(&key(1), &extended).is_err());

        let empty = sealed(b"");
        assert!(open_all(&key(1), &empty).unwrap().is_empty());
        assert!(
            open_all(&key(1), &[]).is_err(),
            "an empty stream cut to nothing"
        );
    }

    #[test]
    fn another_key_does_not_open() {
        let plain = data(2 * PACKAGE);
        let sealed = seal_in_pieces(&key(2), &plain);
        assert!(fails(&sealed, plain.len() as u64));
        let mixed = [
            &sealed[..SEALED_PACKAGE],
            &self::sealed(&plain)[SEALED_PACKAGE..],
        ]
        .concat();
        assert!(
            fails(&mixed, plain.len() as u64),
            "a package of another key"
        );
    }

    #[test]
    fn a_forged_last_flag_does_not_open() {
        let cipher = PackageCipher::new(&key(1));
        let plain = data(2 * PACKAGE + 3);
        let seal = |flags: [bool; 3]| {
            let mut out = Vec::new();
            for (seq, last) in flags.into_iter().enumerate() {
                let from = seq * PACKAGE;
                let mut body = plain[from..(from + PACKAGE).min(plain.len())].to_vec();
                let tag = cipher.seal_body(seq as u64, last, &mut body);
                out.extend_from_slice(&body);
                out.extend_from_slice(&tag);
            }
            out
        };
        let n = plain.len() as u64;
        assert!(!fails(&seal([false, false, true]), n));
        assert!(
            fails(&seal([false, false, false]), n),
            "the last not flagged"
        );
        assert!(fails(&seal([false, true, true]), n), "a middle one flagged");
        assert!(fails(&seal([true, false, true]), n), "the first flagged");
    }

    #[test]
    fn packages_that_do_not_fit_the_format_are_refused() {
        let cipher = PackageCipher::new(&key(1));
        let mut short = vec![0u8; 100];
        assert!(cipher
            .seal_package_in_place(0, false, &mut short, 0)
            .is_err());
        let mut long = vec![0u8; PACKAGE + 1];
        assert!(cipher.seal_package_in_place(0, true, &mut long, 0).is_err());
        let mut empty = Vec::new();
        assert!(cipher
            .seal_package_in_place(1, true, &mut empty, 0)
            .is_err());
        assert!(cipher
            .seal_package_in_place(0, true, &mut empty, 1)
            .is_err());
        let mut block = vec![0u8; PACKAGE + 1];
        assert!(cipher.seal_block_in_place(0, false, &mut block).is_err());
        assert_eq!(
            block.len(),
            PACKAGE + 1,
            "a refused block is left as it was"
        );
        assert!(cipher
            .seal_block_in_place(4, false, &mut Vec::new())
            .is_err());
    }

    #[test]
    fn a_ranged_open_wants_exactly_the_packages_bytes() {
        let n = 2 * PACKAGE as u64 + 1;
        let sealed = sealed(&data(n as usize));
        let cipher = PackageCipher::new(&key(1));
        let mut out = vec![0u8; PACKAGE];
        let one = &sealed[SEALED_PACKAGE..2 * SEALED_PACKAGE];
        cipher.open_packages_into(n, 1..2, one, &mut out).unwrap();
        assert!(cipher
            .open_packages_into(n, 1..2, &one[1..], &mut out)
            .is_err());
        assert!(cipher.open_packages_into(n, 0..1, one, &mut out).is_err());
        assert_eq!(out, vec![0u8; PACKAGE], "a failed open leaves zeros");
        assert!(cipher.open_packages_into(n, 1..4, one, &mut out).is_err());
        let mut in_place = one.to_vec();
        in_place[3] ^= 1;
        assert!(cipher.open_in_place(n, 1..2, &mut in_place).is_err());
        assert!(in_place.is_empty());
    }

    #[test]
    fn one_cipher_seals_and_opens_in_turn_even_after_a_failure() {
        let n = 4 * PACKAGE;
        let (plain, want) = (data(n), sealed(&data(n)));
        let cipher = PackageCipher::new(&key(1));
        let (half, sealed_half) = (2 * PACKAGE, 2 * SEALED_PACKAGE);
        let mut first = plain[..half].to_vec();
        cipher.seal_block_in_place(0, false, &mut first).unwrap();
        assert_eq!(first, want[..sealed_half]);
        let mut bad = first.clone();
        bad[sealed_half - 1] ^= 1;
        assert!(cipher.open_in_place(n as u64, 0..2, &mut bad).is_err());
        cipher.open_in_place(n as u64, 0..2, &mut first).unwrap();
        assert_eq!(first, plain[..half]);
        let mut second = plain[half..].to_vec();
        cipher.seal_block_in_place(2, true, &mut second).unwrap();
        assert_eq!(second, want[sealed_half..], "sealing after a failed open");
    }

    #[test]
    fn a_wrapped_key_opens_only_with_its_kek_and_version() {
        let kek = sse_s3_kek(b"master");
        let data_key = DataKey::random().unwrap();
        let wrapped = wrap_key(&kek, &data_key, b"data-id-1").unwrap();
        assert_eq!(unwrap_key(&kek, &wrapped, b"data-id-1").unwrap(), data_key);
        assert!(unwrap_key(&kek, &wrapped, b"data-id-2").is_err());
        assert!(unwrap_key(&sse_s3_kek(b"other"), &wrapped, b"data-id-1").is_err());
        let mut altered = wrapped.clone();
        altered[20] ^= 1;
        assert!(unwrap_key(&kek, &altered, b"data-id-1").is_err());
        assert_ne!(DataKey::random().unwrap(), data_key);
    }

    #[test]
    fn every_part_has_its_own_key() {
        let upload = key(9);
        let first = upload.for_part(1, b"part-a");
        assert_eq!(first, upload.for_part(1, b"part-a"));
        assert_ne!(first, upload.for_part(2, b"part-a"));
        assert_ne!(
            first,
            upload.for_part(1, b"part-b"),
            "the part uploaded again"
        );
        assert_ne!(first, key(8).for_part(1, b"part-a"));
        assert_ne!(first, upload);
        let plain = data(PACKAGE + 1);
        let sealed = seal_in_pieces(&first, &plain);
        assert!(open_all(&upload.for_part(2, b"part-a"), &sealed).is_err());
        assert_eq!(open_all(&first, &sealed).unwrap(), plain);
    }

    #[test]
    fn key_derivations_are_separate() {
        assert_eq!(sse_s3_kek(b"m"), sse_s3_kek(b"m"));
        assert_ne!(sse_s3_kek(b"m"), sse_s3_kek(b"n"));
        let check = customer_key_check(b"m", &[5; 32], b"id");
        assert!(customer_key_matches(b"m", &[5; 32], b"id", &check));
        assert!(!customer_key_matches(b"m", &[6; 32], b"id", &check));
        assert!(!customer_key_matches(b"m", &[5; 32], b"id2", &check));
        assert!(!customer_key_matches(b"n", &[5; 32], b"id", &check));
        assert!(!customer_key_matches(b"m", &[5; 32], b"id", &check[..31]));
        assert_ne!(check, sse_s3_kek(b"m"));
        assert_eq!(format!("{:?}", key(1)), "DataKey(..)");
    }
}
