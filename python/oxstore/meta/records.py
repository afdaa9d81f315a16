"""Metadata records, stored as msgpack maps with a format version.

Records are encoded as maps (not arrays), so a later format can add fields without rewriting what
is stored: older records decode with the new defaults, and unknown fields written by a newer
format are ignored by an older reader. Defaults are not omitted: `format` must always be written.
"""

from __future__ import annotations

import msgspec

FORMAT = 1


class Plain(msgspec.Struct, frozen=True, tag="plain"):
    """The bytes are one file on one drive of the set (slot `drive`); with `sums`, the file
    ends in a BLAKE3 hash of every MiB of them (after the bytes: served raw, read verified)."""

    drive: int = 0
    sums: bool = False


class Sharded(msgspec.Struct, frozen=True, tag="sharded"):
    """The bytes are k data and m parity shards, shard i on drive drives[i], each a file of
    BLAKE3-verified blocks, one per stripe of `stripe` bytes (k == 1: m copies)."""

    k: int
    m: int
    stripe: int
    drives: tuple[int, ...]


Layout = Plain | Sharded
PLAIN = Plain()  # records from before drive sets: one file on the only drive, no sums


class Encryption(msgspec.Struct, frozen=True, kw_only=True):
    """How a version's bytes are encrypted (64 KiB AES-256-GCM packages, native
    encryption.rs): under a data key of its own, stored only wrapped, sealed under the
    key-encryption key of `mode` and bound to the data id. "AES256" (SSE-S3): a key derived
    from the server's master key; "aws:kms": version `kms_version` of the keyring's key
    `kms_key`; "SSE-C": the customer's key, which is never stored: `key_check` (keyed by
    the master key) tells it from another, `key_md5` is what answers name it by."""

    mode: str
    wrapped_key: bytes
    kms_key: str = ""
    kms_version: int = 0
    key_md5: str = ""
    key_check: bytes = b""


# the sealed stream's packages: PACKAGE plaintext bytes, each followed by its TAG
SEALED_PACKAGE, SEALED_TAG = 64 * 1024, 16


def stored_size(size: int, sealed: bool) -> int:
    """The bytes data of `size` bytes takes where it is stored: sealed, a tag per package
    (at least one package)."""
    if not sealed:
        return size
    return size + SEALED_TAG * max(1, -(-size // SEALED_PACKAGE))


class DefaultEncryption(msgspec.Struct, frozen=True, kw_only=True):
    """A bucket's default encryption (PutBucketEncryption): how writes that ask for none are
    encrypted."""

    algorithm: str  # "AES256" | "aws:kms"
    kms_key: str = ""  # aws:kms: the keyring key ("": the default key)
    bucket_key: bool = False  # BucketKeyEnabled: kept and answered, as it changes nothing here


class PublicAccessBlock(msgspec.Struct, frozen=True, kw_only=True):
    """A bucket's PutPublicAccessBlock settings."""

    block_public_acls: bool = False  # refuse writes of ACLs that grant to everyone
    ignore_public_acls: bool = False  # read such grants as absent
    block_public_policy: bool = False  # refuse bucket policies that allow everyone
    restrict_public_buckets: bool = False  # a public policy allows the bucket's owner only


class LockConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A bucket's object lock (enabled for good once set) and its default retention."""

    default_mode: str = ""  # "" (no default) | "GOVERNANCE" | "COMPLIANCE"
    default_days: int = 0
    default_years: int = 0


class BucketRecord(msgspec.Struct, kw_only=True):
    name: str
    owner: str  # id of the owning user or account (OwnerRecord.id)
    created: float  # epoch seconds
    region: str
    policy_id: str = ""
    # settings added by later features; None / empty means "never set"
    versioning: str = ""  # "" (never enabled) | "Enabled" | "Suspended"
    acl: str | None = None  # grants as JSON (auth.access); None: private
    cors: str | None = None  # the stored CORS configuration document
    tags: dict[str, str] = {}
    default_encryption: DefaultEncryption | None = None
    bucket_policy: str | None = None  # the policy document (JSON) as it was put
    public_access_block: PublicAccessBlock | None = None
    # "" (never set: the writer owns its objects) | "BucketOwnerEnforced" (ACLs disabled,
    # the bucket's owner owns every object) | "BucketOwnerPreferred" | "ObjectWriter"
    object_ownership: str = ""
    object_lock: LockConfig | None = None  # None: object lock is not enabled
    format: int = FORMAT


class ObjectRecord(msgspec.Struct, kw_only=True):
    bucket: str
    key: str
    size: int
    etag: str  # hex, without quotes; "hex-N" for multipart objects
    last_modified: float  # epoch seconds
    content_type: str
    headers: dict[str, str] = {}  # stored standard headers (content-encoding, ...)
    user_meta: dict[str, str] = {}  # x-amz-meta-* names without the prefix, lower-case
    checksums: dict[str, str] = {}  # algorithm ("crc32", ...) -> base64 value
    checksum_type: str = "FULL_OBJECT"  # or "COMPOSITE" (multipart: a checksum of checksums)
    storage_class: str = "STANDARD"
    owner: str = ""
    tags: dict[str, str] = {}  # object tagging (per version)
    acl: str | None = None  # grants as JSON (auth.access); None: private
    # the data file's id; "" when the bytes are inline; for a multipart object (parts_count > 0)
    # the id of its upload, whose parts (each a data file) make up the object in order
    data_id: str = ""
    layout: Layout = PLAIN  # how the data file's bytes are laid out (not for parts: theirs)
    inline: bytes | None = None  # the whole payload of a small object (sealed if encrypted)
    encryption: Encryption | None = None  # None: stored as sent
    # object lock: retention ("" or GOVERNANCE / COMPLIANCE until retain_until) and legal hold
    lock_mode: str = ""
    retain_until: float = 0.0
    legal_hold: bool = False
    parts_count: int = 0  # 0 for an object written in one piece
    version_id: str = "null"
    delete_marker: bool = False  # a version that says "deleted" (no data)
    seq: int = 0  # orders the versions of a key (larger: newer); set by the store
    format: int = FORMAT


class HealRecord(msgspec.Struct, kw_only=True):
    """Sharded data with shards to rebuild (missing when written, or found damaged)."""

    layout: Sharded
    size: int  # bytes of the data (what its shards hold)
    since: float  # epoch seconds: when it was first queued
    format: int = FORMAT


class UploadRecord(msgspec.Struct, kw_only=True):
    """A multipart upload in progress: what CreateMultipartUpload said about the object."""

    upload_id: str
    bucket: str
    key: str
    initiated: float  # epoch seconds
    owner: str  # who initiated it
    object_owner: str = ""  # who will own the object, when not its initiator (the bucket's)
    content_type: str
    headers: dict[str, str] = {}
    user_meta: dict[str, str] = {}
    storage_class: str = "STANDARD"
    tags: dict[str, str] = {}  # x-amz-tagging of CreateMultipartUpload, for the object
    acl: str | None = None  # x-amz-acl / x-amz-grant-* of CreateMultipartUpload
    checksum_algorithm: str = ""  # "" when the upload carries no additional checksum
    checksum_type: str = ""  # "COMPOSITE" | "FULL_OBJECT" when an algorithm is set
    # the object's encryption: its parts are sealed under keys derived from this data key
    # (bound to the upload id, the object's data id once complete)
    encryption: Encryption | None = None
    lock_mode: str = ""  # the object's lock, as CreateMultipartUpload asked (ObjectRecord)
    retain_until: float = 0.0
    legal_hold: bool = False
    format: int = FORMAT


class PartRecord(msgspec.Struct, kw_only=True):
    """One uploaded part: a data file of its own."""

    number: int
    data_id: str
    size: int
    layout: Layout = PLAIN
    etag: str  # hex md5 of the part, without quotes
    last_modified: float
    checksums: dict[str, str] = {}  # algorithm -> base64 value
    sealed: bool = False  # encrypted, as its upload asked (size: the plaintext's)
    format: int = FORMAT


class OwnerRecord(msgspec.Struct, kw_only=True):
    """A user, or an account under a user: who owns buckets and objects. Access keys are its
    credentials (at most two pairs), never its identity."""

    id: str  # 16 hex digits, for good
    email: str  # a user's (unique); "" for an account
    created: float
    parent: str = ""  # an account's user id; "" for a user
    name: str = ""  # an account's name (unique under its user); "" for a user
    state: str = "enabled"  # "enabled" | "disabled"
    flags: list[str] = []  # "system": may call the admin API
    keys: list[str] = []  # its access keys, oldest first
    format: int = FORMAT

    @property
    def is_account(self) -> bool:
        return bool(self.parent)


class KeyRecord(msgspec.Struct, kw_only=True):
    """An access key: whose it is, and its secret sealed under the master key."""

    access_key: str
    owner: str  # OwnerRecord.id
    sealed_secret: bytes
    created: float
    format: int = FORMAT


class KmsKeyVersion(msgspec.Struct, kw_only=True):
    """One version of a KMS key: its material (32 random bytes, a key-encryption key) sealed
    under the master key, bound to the key's id and the version's number (oxstore.kms)."""

    created: float
    sealed: bytes


class KmsKeyRecord(msgspec.Struct, kw_only=True):
    """A key of the built-in KMS keyring (SSE-KMS). Versions are numbered from 1 by their
    place in `versions`; the last is current (new writes), every one stays (older objects)."""

    id: str  # a UUID, as AWS's key ids
    description: str
    created: float
    versions: list[KmsKeyVersion] = []
    format: int = FORMAT


class VersionPage(msgspec.Struct):
    """One page of ListObjectVersions: versions (and delete markers) newest first per key."""

    versions: list[tuple[ObjectRecord, bool]]  # (version, is_latest)
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str
    next_version_id_marker: str


class UploadPage(msgspec.Struct):
    """One page of ListMultipartUploads."""

    uploads: list[UploadRecord]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str
    next_upload_id_marker: str


class ListPage(msgspec.Struct):
    """One page of an S3 listing. `contents` carry no inline payloads (`inline` is None)."""

    contents: list[ObjectRecord]
    common_prefixes: list[str]
    is_truncated: bool
    next_marker: str  # the last key or common prefix of this page; "" when the page is empty


_encoder = msgspec.msgpack.Encoder()
_bucket_decoder = msgspec.msgpack.Decoder(BucketRecord)
_object_decoder = msgspec.msgpack.Decoder(ObjectRecord)
_upload_decoder = msgspec.msgpack.Decoder(UploadRecord)
_part_decoder = msgspec.msgpack.Decoder(PartRecord)
_owner_decoder = msgspec.msgpack.Decoder(OwnerRecord)
_key_decoder = msgspec.msgpack.Decoder(KeyRecord)
_kms_key_decoder = msgspec.msgpack.Decoder(KmsKeyRecord)

Record = (
    BucketRecord | ObjectRecord | UploadRecord | PartRecord | OwnerRecord | KeyRecord | KmsKeyRecord
)


def encode_record(record: Record) -> bytes:
    return _encoder.encode(record)


def decode_bucket(raw: bytes) -> BucketRecord:
    return _bucket_decoder.decode(raw)


def decode_object(raw: bytes) -> ObjectRecord:
    return _object_decoder.decode(raw)


def decode_upload(raw: bytes) -> UploadRecord:
    return _upload_decoder.decode(raw)


def decode_part(raw: bytes) -> PartRecord:
    return _part_decoder.decode(raw)


def decode_owner(raw: bytes) -> OwnerRecord:
    return _owner_decoder.decode(raw)


def decode_key(raw: bytes) -> KeyRecord:
    return _key_decoder.decode(raw)


def decode_kms_key(raw: bytes) -> KmsKeyRecord:
    return _kms_key_decoder.decode(raw)
