"""Stubs of the compiled module `oxstore._native` (crate native/py over native/core).

Payload bytes enter Rust through `ObjectWriter.feed` (a buffer-protocol borrow, no copy on the
Python side) and leave through `ObjectReader.read`, `ErasureReader.read` or a file served by
granian. Every function that touches more than a few KiB releases the GIL.

Checksum algorithm names are lower-case: "md5", "sha1", "sha256", "crc32", "crc32c",
"crc64nvme". Digests are raw bytes (CRCs big-endian, as S3 base64-encodes them).
"""

from collections.abc import Sequence
from typing import Any, TypedDict

Buffer = Any  # bytes, bytearray, memoryview: anything with the buffer protocol

ALGORITHMS: tuple[str, ...]
STRIPE_SIZE: int  # bytes of the object per stripe of a shards writer (1 MiB)
SEALED_BLOCK: int  # a STRIPE_SIZE block sealed (1 MiB + 256): a sealed object's stripe size

class NativeS3Error(Exception):
    """Raised by the native core with an S3 error code: args == (code, message).

    Codes used: BadDigest, XAmzContentSHA256Mismatch, SignatureDoesNotMatch, IncompleteBody,
    InvalidArgument (malformed aws-chunked framing or trailer), InvalidRequest, EntityTooLarge,
    InternalError (I/O).
    """

    code: str
    message: str

# ---- checksums -------------------------------------------------------------------------------

class MultiHasher:
    """One pass over the data computes every requested algorithm."""

    def __init__(self, algorithms: Sequence[str]) -> None: ...
    def update(self, data: Buffer) -> None: ...
    def digests(self) -> dict[str, bytes]: ...  # does not consume; may be called again

def digest(algorithm: str, data: Buffer) -> bytes: ...
def multipart_etag(part_md5s: Sequence[bytes]) -> str:
    """hex(md5(concat(part_md5s))) + "-" + N, without quotes."""

def crc_combine(algorithm: str, pieces: Sequence[tuple[bytes, int]]) -> bytes:
    """The CRC (crc32, crc32c or crc64nvme) of a concatenation, from each piece's big-endian
    digest and length in bytes, in order; the result is big-endian too."""

# ---- SigV2 -----------------------------------------------------------------------------------

def sigv2_signature(secret: str, string_to_sign: str) -> str:
    """base64(HMAC-SHA1(secret, string_to_sign))."""

# ---- SigV4 -----------------------------------------------------------------------------------

def sha256_hex(data: Buffer) -> str: ...
def hmac_sha256(key: bytes, data: Buffer) -> bytes: ...
def constant_time_eq(a: str | bytes, b: str | bytes) -> bool: ...
def sigv4_signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """date is YYYYMMDD."""

def sigv4_canonical_request(
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Sequence[tuple[str, str]],
    signed_headers: Sequence[str],
    payload_hash: str,
    s3: bool = True,
) -> str:
    """The canonical request.

    path: the request path, percent-encoded as the client sent it.
    query: decoded (name, value) pairs in arrival order; they are URI-encoded and sorted here.
    headers: every (name, value) received; only those named in signed_headers (lower-case) are
      used; repeated headers join with ',', values are trimmed and inner runs of spaces folded.
    s3=True: the path is used as given (S3 signs the path as sent: no normalisation, no second
      encoding); s3=False: the generic AWS rules of the SigV4 test suite (dot-segments removed,
      empty segments folded, path encoded twice).
    """

def sigv4_verify(
    signing_key: bytes,
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Sequence[tuple[str, str]],
    signed_headers: Sequence[str],
    payload_hash: str,
    amz_date: str,
    scope: str,
    signature: str,
) -> bool:
    """Whether signature signs the request (canonical request, string to sign, HMAC and a
    constant-time comparison in one call)."""

def sigv4_string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str: ...
def sigv4_signature(signing_key: bytes, string_to_sign: str) -> str:
    """Lower-case hex HMAC-SHA256."""

def sigv4_chunk_signature(
    signing_key: bytes, amz_date: str, scope: str, previous_signature: str, chunk: Buffer
) -> str:
    """Signature of one aws-chunked chunk (AWS4-HMAC-SHA256-PAYLOAD)."""

def sigv4_trailer_signature(
    signing_key: bytes, amz_date: str, scope: str, previous_signature: str, trailer: bytes
) -> str:
    """Signature of the trailer block (AWS4-HMAC-SHA256-TRAILER); trailer is the raw
    "name:value\\n" lines."""

# ---- object I/O ------------------------------------------------------------------------------

class ChunkedSpec(TypedDict, total=False):
    mode: str  # "signed" | "unsigned-trailer" | "signed-trailer"
    signing_key: bytes  # signed modes
    amz_date: str  # signed modes
    scope: str  # signed modes
    seed_signature: str  # signed modes: the Authorization header's signature
    trailer: str  # e.g. "x-amz-checksum-crc32"; the trailer header that must arrive
    decoded_length: int  # x-amz-decoded-content-length

class ShardSpec(TypedDict):
    k: int  # data shards (1: replication, every parity shard a copy)
    m: int  # parity shards (0: no redundancy)
    quorum: int  # shards that must be written (k <= quorum <= k + m)
    key: str  # the data id: the shard blocks' hashes are keyed to it
    temp_paths: list[str | None]  # k + m temp shard files, one per drive; None: drive offline

class WriteResult(TypedDict):
    size: int  # the payload's (the plaintext's, when sealed)
    stored_size: int  # bytes stored (file, shards or inline; sums aside): sealed_size(size) or size
    digests: dict[str, bytes]  # every algorithm asked for, over the decoded payload
    trailers: dict[str, str]  # trailer headers received (lower-case names), values as sent
    inline: bytes | None  # the payload (sealed, with seal) if under inline_limit: no file written
    shards: list[bool] | None  # shards writer: which shard files are written; else None

class ObjectWriter:
    """Streams a payload into a temp file, or with `shards` into k + m temp shard files.

    Decodes aws-chunked framing when `chunked` is given (verifying every chunk signature, the
    trailer signature and the trailing checksum), hashes with the requested algorithms and
    writes on a background thread; `feed` only borrows the buffer and returns once it has been
    taken (blocking, GIL released, when the pipeline is full). `max_size` bounds the decoded
    payload (EntityTooLarge). A payload of at most `inline_limit` bytes (0: never) stays in
    memory and finish() returns it as `inline`, with no file written.

    With `sums` (a plain file only: ValueError with `shards`), the data id, the payload is
    followed by its block sums: one 32-byte BLAKE3 hash keyed to the data id per STRIPE_SIZE
    block, then the block count and payload size (u64 LE) and b"OXSUMS01" (the file is
    size + 32 * blocks + 24 bytes; bytes [0, size) stay the raw payload). Read it back with
    ObjectReader(path, size, key).

    With `shards` (temp_path is then ignored) every STRIPE_SIZE of payload is one stripe,
    erasure coded (or copied, k = 1) into one block per shard file, written to all of them at
    once. A shard that cannot be created or written is dropped (its file removed) while at
    least `quorum` remain; below that NativeS3Error: InsufficientStorage when a disk was full,
    else InternalError ("write quorum lost: ..."). A bad layout raises at construction.

    With `seal` (a 32-byte data key: server-side encryption) the payload is stored sealed:
    64 KiB AES-256-GCM packages, the format of seal_stream (the stored bytes are exactly
    seal_stream(seal, payload)). Digests, the checksums and `size` are of the plaintext;
    `stored_size` is sealed_size(size). A plain file then has no block sums (NativeS3Error
    InternalError with `sums`: the tags verify every package) and is read back with
    ObjectReader(path, size, seal=seal); shards are striped in
    stripes of SEALED_BLOCK (each sealed block one stripe; record it as the layout's stripe),
    read back with ErasureReader(..., SEALED_BLOCK, size, key, seal=seal); an inline payload
    is returned sealed (never the plaintext), read with open_sealed_range. An empty payload is
    one empty package (16 bytes). NativeS3Error InvalidArgument for a key not 32 bytes.
    """

    def __init__(
        self,
        temp_path: str,
        algorithms: Sequence[str],
        chunked: ChunkedSpec | None = None,
        max_size: int | None = None,
        inline_limit: int = 0,
        shards: ShardSpec | None = None,
        sums: str | None = None,
        seal: bytes | None = None,
    ) -> None: ...
    def feed(self, data: Buffer) -> None: ...
    def stays_inline(self) -> bool:
        """Whether finish() will touch no file (the payload so far fits the inline limit):
        an event loop then finishes in place, without a thread hop."""
    def would_block(self, length: int) -> bool:
        """Whether feeding `length` more bytes would wait for the disk (every block in flight):
        an event loop then feeds from a worker thread instead of stalling."""

    def finish(
        self,
        final_path: str,
        expected: dict[str, bytes],
        expected_size: int | None = None,
        final_paths: Sequence[str | None] | None = None,
    ) -> WriteResult:
        """Flushes, checks size (IncompleteBody if short), the chunked stream's end and trailer,
        and each expected digest (md5 -> BadDigest, sha256 -> XAmzContentSHA256Mismatch,
        others -> BadDigest), fsyncs the file, renames it to final_path, fsyncs its directory.
        On any error the temp file is removed and NativeS3Error raised. GIL released.

        A shards writer needs `final_paths` (one per shard, None where the temp path was;
        final_path is ignored; ValueError without them): every shard is fsynced and renamed,
        each directory fsynced, a shard failing any of it dropped; below the quorum nothing
        stays, neither temp nor final files. `shards` in the result says which are written."""

    def abort(self) -> None:
        """Stops the background thread and removes the temp file(s); idempotent."""

class ErasureCodec:
    """Reed-Solomon k+m coding of one stripe (tests and benchmarks; the data path codes in the
    core). NativeS3Error for a layout it cannot make or a stripe it cannot rebuild."""

    def __init__(self, k: int, m: int) -> None: ...
    def shard_len(self, stripe_len: int) -> int: ...
    def encode(self, stripe: Buffer) -> list[bytes]: ...
    def reconstruct(self, shards: list[bytes | None], stripe_len: int) -> bytes: ...

class ErasureReader:
    """Reads an object written by a shards ObjectWriter: shard files `paths` (None: drive
    offline), layout k+m, `stripe_size` (STRIPE_SIZE for those), the object's `size` and its
    data id `key`.

    Every block read is verified; a shard missing, short, corrupt or of another object is
    rebuilt from the others (parity read only then) and reported by damaged(). NativeS3Error
    InternalError ("... the stripe is lost ...") when a stripe has fewer than k good shards.

    With `seal` (the data key of a sealed writer; `stripe_size` SEALED_BLOCK for those) the
    shards hold sealed_size(size) bytes of sealed stream and `size` is the plaintext's: read()
    returns plaintext, reading and opening only the packages the range touches (NativeS3Error
    InternalError "package N of the encrypted data is corrupt" for one that does not open:
    another key, or damage beyond what the block hashes catch). damaged(), verify() and heal()
    are of the sealed shards' blocks, as for any object, and need no key.
    """

    def __init__(
        self,
        paths: Sequence[str | None],
        k: int,
        m: int,
        stripe_size: int,
        size: int,
        key: str,
        seal: bytes | None = None,
    ) -> None: ...
    def read(self, offset: int, length: int) -> bytes:
        """Exactly the object's bytes [offset, min(offset + length, size)) (plaintext, when
        sealed). GIL released."""

    def damaged(self) -> list[int]:
        """Every shard found damaged so far, in order (offline drives are not damage)."""

    def verify(self) -> list[int]:
        """Reads and checks every block of every shard, parity too (a scrub); returns every
        shard not whole and good, offline ones (None paths) included, raising only when the
        damage is beyond parity. GIL released."""

    def heal(self, temp_paths: Sequence[str | None]) -> tuple[list[int], list[int]]:
        """Rebuilds every shard that verify() finds damaged and that has a temp path (its
        drive is online): written whole there, synced, renamed over its file. Returns the
        shards rebuilt and those left (no temp path); raises, changing nothing, when the
        damage is beyond parity. GIL released."""

    def close(self) -> None: ...

class ObjectReader:
    """A plain data file. ObjectReader(path): raw, every byte of the file is payload (files
    written without sums). ObjectReader(path, size, key): a file written with sums=key, of a
    size-byte payload; its trailer is checked here (NativeS3Error InternalError "the data
    file's block sums are missing or damaged"), every block when read. ValueError when only
    one of size and key is given. Reads ask the kernel for the next 8 MiB ahead.

    ObjectReader(path, size, seal=data_key): a file written sealed, `size` the plaintext's
    (ValueError without size or with key: a sealed file has no sums); NativeS3Error
    InternalError here when the file is not sealed_size(size) bytes."""

    def __init__(
        self, path: str, size: int | None = None, key: str | None = None, seal: bytes | None = None
    ) -> None: ...
    def size(self) -> int:
        """The payload's size (the plaintext's, when sealed)."""

    def read(self, offset: int, length: int) -> bytes:
        """Exactly the payload's bytes [offset, min(offset + length, size)). Verified: every
        block the range touches is read whole and checked; a corrupt one raises NativeS3Error
        InternalError ("block N of the data file is corrupt"). Sealed: the plaintext, only the
        packages the range touches read and opened (a 1-byte read opens one); one that does
        not open (altered, cut short, another key) raises NativeS3Error InternalError
        ("package N of the encrypted data is corrupt") and no byte of it is returned. GIL
        released."""

    def verify(self) -> list[int]:
        """Reads and checks every block (a scrub); returns the corrupt or short ones.
        NativeS3Error for a reader opened without size and key. Sealed: opens every package
        and returns the STRIPE_SIZE blocks of plaintext (block n: packages 16n to 16n + 15)
        holding one that does not open. GIL released."""

    def close(self) -> None: ...

def is_cached(path: str, start: int, end: int) -> bool:
    """Whether every page of bytes [start, end) of the file is in the page cache (an empty
    range is; any error, a range past the end of the file included, gives False). GIL
    released."""

# ---- sealing secrets at rest -----------------------------------------------------------------

def seal(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """AES-256-GCM with a fresh random 96-bit nonce: nonce || ciphertext || tag. key: 32 bytes."""

def unseal(key: bytes, sealed: bytes, aad: bytes = b"") -> bytes:
    """Inverse of seal; ValueError when the key is wrong or the blob was altered."""

# ---- server-side encryption ------------------------------------------------------------------

def random_data_key() -> bytes:
    """A fresh random 256-bit data key (32 bytes) from the OS."""

def seal_stream(key: bytes, data: Buffer) -> bytes:
    """The whole of data sealed under a 32-byte data key: 64 KiB packages of AES-256-GCM, each
    ciphertext || 16-byte tag (len(data) + 16 per package; empty data is one empty package).
    NativeS3Error InvalidArgument for a key not 32 bytes. GIL released."""

def open_stream(key: bytes, sealed: Buffer) -> bytes:
    """Inverse of seal_stream. NativeS3Error InternalError, never plaintext, when a byte was
    altered, packages moved, the stream cut or extended, or the key is another one;
    InvalidArgument for a key not 32 bytes. GIL released."""

def open_sealed_range(
    seal: bytes, sealed: Buffer, plain_size: int, offset: int, length: int
) -> bytes:
    """Plaintext bytes [offset, min(offset + length, plain_size)) of a sealed stream held in
    memory (a sealed writer's `inline`), opening only the packages the range touches.
    NativeS3Error InternalError when sealed is not sealed_size(plain_size) bytes or a package
    does not open. GIL released from 16 KiB."""

def sealed_size(plain_size: int) -> int:
    """The sealed stream's length: plain_size + 16 per 64 KiB package (at least one)."""

def part_data_key(upload_key: bytes, part_number: int, part_id: str) -> bytes:
    """The data key (32 bytes) of part `part_number` of the multipart upload whose data key
    is `upload_key`, for the upload of that part whose data id is `part_id`: a part uploaded
    again gets another key, and only the upload's key needs wrapping."""

def wrap_data_key(kek: bytes, data_key: bytes, bound_to: str) -> bytes:
    """The data key sealed under the 32-byte key-encryption key `kek` for the metadata record,
    bound to `bound_to` (the version's data id): moved to another version, it does not open.
    NativeS3Error InvalidArgument for a key not 32 bytes."""

def unwrap_data_key(kek: bytes, wrapped: bytes, bound_to: str) -> bytes:
    """Inverse of wrap_data_key: NativeS3Error for another KEK, another `bound_to` or an
    altered record."""

def sse_s3_kek(master: bytes) -> bytes:
    """SSE-S3's key-encryption key (32 bytes), derived from the server's master key."""

def customer_key_check(master: bytes, customer_key: bytes, bound_to: str) -> bytes:
    """What to store to recognise an SSE-C customer key (32 bytes) for the version `bound_to`
    without storing the key: a 32-byte hash keyed by the master key. NativeS3Error
    InvalidArgument for a customer key not 32 bytes."""

def customer_key_matches(master: bytes, customer_key: bytes, bound_to: str, stored: bytes) -> bool:
    """Whether `customer_key` is the one `stored` (customer_key_check) was made from, in
    constant time. NativeS3Error InvalidArgument for a customer key not 32 bytes."""
