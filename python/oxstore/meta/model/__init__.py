"""The metadata model: S3's rules (buckets, versions and delete markers, uploads and parts,
data references and garbage, listings) written once, over any `Store`.

`Metadata` is what the S3 layer uses. Its methods are coroutines over the store's: a read
runs where the store decides (SQLite: on the event loop unless it is a listing), a write is
awaited until its commit is durable. The rules themselves are plain functions of a
transaction in the modules beside this one.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import TypeVar

from oxstore.meta.model import (
    buckets,
    heal,
    identity,
    keys,
    kms,
    leases,
    objects,
    owner_ids,
    rates,
    refs,
    statistics,
    uploads,
    usage,
)
from oxstore.meta.model.buckets import DeleteBucketResult
from oxstore.meta.model.identity import Credential, IdentityError
from oxstore.meta.model.keys import key_bytes
from oxstore.meta.model.listing import ObjectListing, UploadListing, VersionListing
from oxstore.meta.model.objects import Condition
from oxstore.meta.model.uploads import Assemble
from oxstore.meta.model.usage import Quota, QuotaExceededError, Usage
from oxstore.meta.records import (
    BucketRecord,
    HealRecord,
    KeyRecord,
    KmsKeyRecord,
    KmsKeyVersion,
    ListPage,
    ObjectRecord,
    OwnerRecord,
    PartRecord,
    Sharded,
    UploadPage,
    UploadRecord,
    VersionPage,
    decode_bucket,
    decode_object,
)
from oxstore.meta.store import Counts, Store, Tx

T = TypeVar("T")
ROLL_UP_BATCH = 500  # buckets whose statistics one transaction samples

__all__ = [
    "Assemble",
    "Condition",
    "Credential",
    "DeleteBucketResult",
    "IdentityError",
    "Metadata",
    "Quota",
    "QuotaExceededError",
    "Usage",
]


class Metadata:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def _read(self, work: Callable[[Tx], T], large: bool = False) -> T:
        """A read; large: it may read many rows (listings, a part list of up to 10,000)."""
        return await self.store.read(work, large)

    async def _write(self, work: Callable[[Tx], T]) -> T:
        return await self.store.write(work)

    async def _write_within(self, bucket: str, quota: Quota | None, work: Callable[[Tx], T]) -> T:
        """A write that may add bytes to the bucket: QuotaExceededError (and nothing written)
        when it takes the bucket or its owner past the quota."""
        if quota is None:
            return await self._write(work)

        def guarded(tx: Tx) -> T:
            guard = usage.Guard(quota, bucket)
            guard.begin(tx)
            result = work(tx)
            guard.check(tx)
            return result

        return await self._write(guarded)

    def close(self) -> None:
        self.store.close()

    # -- buckets -----------------------------------------------------------------------------

    async def create_bucket(self, record: BucketRecord) -> None:
        """BucketExistsError (with the existing owner) when the name is taken."""
        await self._write(lambda tx: buckets.create(tx, record))

    async def get_bucket(self, name: str) -> BucketRecord | None:
        (found,) = await self.store.first_rows([buckets.where(name)])
        return decode_bucket(found[1]) if found is not None else None

    async def change_bucket(
        self, name: str, change: Callable[[BucketRecord], None]
    ) -> BucketRecord | None:
        """Applies change to the bucket's settings atomically; None if it is missing."""
        return await self._write(lambda tx: buckets.change(tx, name, change))

    async def list_buckets(self, owner: str | None) -> list[BucketRecord]:
        """The owner's buckets (every bucket when owner is None), sorted by name."""
        return await self._read(lambda tx: buckets.listed(tx, owner))

    async def count_buckets(self, owner: str) -> int:
        return len(await self.owned_buckets(owner))  # the index alone, not every record

    async def delete_bucket(self, name: str) -> DeleteBucketResult:
        """Atomically deletes the bucket if it exists and holds no object."""
        return await self._write(lambda tx: buckets.delete(tx, name))

    # -- objects and versions ----------------------------------------------------------------

    async def put_object(
        self,
        record: ObjectRecord,
        shares_data: bool = False,
        condition: Condition | None = None,
        quota: Quota | None = None,
    ) -> ObjectRecord | None:
        """Makes record the current object for (bucket, key) — setting its seq and version id —
        and returns the one it replaced.

        NoSuchBucketError when the bucket does not exist. Data the replaced record referenced
        (and no other record does) becomes garbage in the same transaction. shares_data:
        record.data_id belongs to another object (a copy); if that data was queued as garbage
        meanwhile it is taken back, and if the collector already claimed it, DataGoneError is
        raised and nothing changes. condition: called inside the transaction with the current
        record (None if absent) before anything is written; whatever it raises aborts the write.
        """
        return await self._write_within(
            record.bucket, quota, lambda tx: objects.put(tx, record, shares_data, condition)
        )

    async def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        """The current version, with its inline payload."""

        return await self._read(lambda tx: objects.current_with_payload(tx, bucket, key_bytes(key)))

    async def get_bucket_and_object(
        self, bucket: str, key: str
    ) -> tuple[BucketRecord | None, ObjectRecord | None]:
        """The bucket and its key's current version (with its inline payload), in one
        snapshot: all a GET or HEAD of a small object reads, read at once."""
        raw = key_bytes(key)
        found, current, newest_payload = await self.store.first_rows(
            objects.bucket_object_and_payload(bucket, raw)
        )
        if found is None:
            return None, None
        record = objects.from_rows(bucket, raw, current, newest_payload)
        if record is not False:
            return decode_bucket(found[1]), record
        # the newest payload is not the current version's: read that by its key
        return await self._read(
            lambda tx: (buckets.get(tx, bucket), objects.current_with_payload(tx, bucket, raw))
        )

    async def delete_object(
        self, bucket: str, key: str, condition: Condition | None = None, owner: str = ""
    ) -> ObjectRecord | None:
        """Deletes the key: in an unversioned bucket the object is removed (returned; its data
        goes to the garbage); in a versioned one a delete marker of `owner` (the requester)
        is added (returned). condition: as for put_object, called with the current record
        first."""
        return await self._write(lambda tx: objects.delete(tx, bucket, key, condition, owner))

    async def get_version(self, bucket: str, key: str, version_id: str) -> ObjectRecord | None:
        return await self._read(lambda tx: objects.get_version(tx, bucket, key, version_id))

    async def latest_delete_marker(self, bucket: str, key: str) -> ObjectRecord | None:
        """The delete marker that is the key's newest version, if one is."""
        return await self._read(lambda tx: objects.latest_delete_marker(tx, bucket, key))

    async def delete_version(
        self,
        bucket: str,
        key: str,
        version_id: str,
        guard: Callable[[ObjectRecord], None] | None = None,
    ) -> ObjectRecord | None:
        """Removes one version for good; returns it (None if there was none). guard(version)
        runs in the transaction and may raise to keep it."""
        return await self._write(
            lambda tx: objects.delete_version(tx, bucket, key, version_id, guard)
        )

    async def update_version(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        change: Callable[[ObjectRecord], None],
    ) -> ObjectRecord | None:
        """Changes one version's metadata in place (None: the current one)."""
        return await self._write(lambda tx: objects.update(tx, bucket, key, version_id, change))

    # -- listings ----------------------------------------------------------------------------

    async def list_objects(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ListPage:
        """One page of S3's listing, in UTF-8 binary key order.

        start_after is exclusive and may be a key or a common prefix (next_marker of the
        previous page). max_keys counts keys and common prefixes together. Contents carry no
        inline payloads.
        """

        def work(tx: Tx) -> ListPage:
            return ObjectListing(tx, bucket, prefix, delimiter, start_after).page(max_keys)

        return await self._read(work, large=True)

    async def list_versions(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        version_id_marker: str = "",
        max_keys: int = 1000,
    ) -> VersionPage:
        """One page of ListObjectVersions, after (key_marker, version_id_marker); a marker
        naming a version deleted since pages on from where that version stood."""

        def work(tx: Tx) -> VersionPage:
            listing = VersionListing(tx, bucket, prefix, delimiter)
            return listing.page(key_marker, version_id_marker, max_keys)

        return await self._read(work, large=True)

    async def list_uploads(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        max_uploads: int = 1000,
    ) -> UploadPage:
        """One page of ListMultipartUploads: by key, then by upload id (= initiation order)."""

        def work(tx: Tx) -> UploadPage:
            listing = UploadListing(tx, bucket, prefix, delimiter)
            return listing.page(key_marker, upload_id_marker, max_uploads)

        return await self._read(work, large=True)

    # -- multipart uploads -------------------------------------------------------------------

    async def create_upload(self, record: UploadRecord) -> None:
        """NoSuchBucketError when the bucket does not exist."""
        await self._write(lambda tx: uploads.create(tx, record))

    async def get_upload(self, upload_id: str) -> UploadRecord | None:
        """The upload while it is in progress (None once completed or aborted)."""
        return await self._read(lambda tx: uploads.get(tx, upload_id))

    async def put_part(
        self, upload_id: str, part: PartRecord, bucket: str = "", quota: Quota | None = None
    ) -> None:
        """Records a part, replacing one of the same number (its data becomes garbage).
        NoSuchUploadError if the upload is not in progress."""
        await self._write_within(bucket, quota, lambda tx: uploads.put_part(tx, upload_id, part))

    async def list_parts(
        self, upload_id: str, after: int = 0, limit: int = 10_000
    ) -> list[PartRecord]:
        """Parts numbered above after, in order, of an upload in progress or of the multipart
        object whose data_id is upload_id."""

        def work(tx: Tx) -> list[PartRecord]:
            return uploads.list_parts(tx, upload_id, after, limit)

        return await self._read(work, large=limit > 100)

    async def complete_upload(
        self, upload_id: str, assemble: Assemble, condition: Condition | None = None
    ) -> tuple[ObjectRecord, ObjectRecord | None]:
        """Atomically makes the object assemble() builds from the upload and its parts current;
        parts it did not choose become garbage. Returns (new object, replaced object)."""
        return await self._write(lambda tx: uploads.complete(tx, upload_id, assemble, condition))

    async def abort_upload(self, upload_id: str) -> bool:
        """Ends an upload in progress; its parts become garbage. False if none was."""
        return await self._write(lambda tx: uploads.abort(tx, upload_id))

    async def uploads_before(self, upload_id: str, limit: int) -> list[str]:
        """Up to limit ids of uploads in progress that sort below upload_id, lowest first."""
        return await self._read(lambda tx: uploads.before(tx, upload_id, limit))

    # -- garbage: data files no record references any more -----------------------------------

    async def claim_garbage(self, older_than: float, limit: int) -> list[str]:
        """Takes garbage queued before older_than off the queue, atomically, and returns it:
        the caller removes the files. Data claimed this way can no longer be shared."""
        return await self._write(lambda tx: refs.claim(tx, older_than, limit))

    async def take_garbage(self, older_than: float, limit: int) -> list[str]:
        """Up to limit garbage ids recorded before older_than, oldest first (not removed)."""
        return await self._read(lambda tx: refs.queued(tx, older_than, limit))

    async def garbage_backlog(self, limit: int) -> tuple[int, float | None]:
        """The garbage queued (counted up to limit) and when its oldest entry was queued."""
        return await self._read(lambda tx: refs.backlog(tx, limit))

    async def is_data_referenced(self, data_id: str) -> bool:
        """True when a record references the data or it is already queued as garbage."""
        return await self._read(lambda tx: refs.is_referenced(tx, data_id))

    # -- leases: work that runs once in a cluster --------------------------------------------

    async def take_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Takes or renews the lease `name` for `seconds`; False while another holder has it."""
        return await self._write(lambda tx: leases.take(tx, name, holder, seconds, time.time()))

    async def release_lease(self, name: str, holder: str) -> None:
        await self._write(lambda tx: leases.release(tx, name, holder))

    # -- owners (users and accounts) and their access keys -------------------------------

    async def credential(self, access_key: str) -> Credential | None:
        return await self._read(lambda tx: identity.credential(tx, access_key))

    async def get_owner(self, owner_id: str) -> OwnerRecord | None:
        return await self._read(lambda tx: identity.get_owner(tx, owner_id))

    async def user_by_email(self, email: str) -> OwnerRecord | None:
        return await self._read(lambda tx: identity.user_by_email(tx, email))

    async def account_of(self, user_id: str, name: str) -> OwnerRecord | None:
        return await self._read(lambda tx: identity.account_of(tx, user_id, name))

    async def accounts_of(self, user_id: str) -> list[OwnerRecord]:
        return await self._read(lambda tx: identity.accounts_of(tx, user_id))

    async def users(self) -> list[OwnerRecord]:
        return await self._read(identity.users, large=True)

    async def keys_of(self, owner: OwnerRecord) -> list[KeyRecord]:
        def work(tx: Tx) -> list[KeyRecord]:
            found = (identity.get_key(tx, access_key) for access_key in owner.keys)
            return [key for key in found if key is not None]

        return await self._read(work)

    async def root_id(self) -> str | None:
        return await self._read(identity.root_id)

    async def owned_buckets(self, owner_id: str) -> list[str]:
        return await self._read(lambda tx: identity.owned_buckets(tx, owner_id))

    async def create_user(
        self, user: OwnerRecord, key: KeyRecord | None = None, root: bool = False
    ) -> None:
        """A user, with its first access key; IdentityError if its e-mail is taken."""

        def work(tx: Tx) -> None:
            identity.create_user(tx, user, root)
            if key is not None:
                identity.add_key(tx, user.id, key)

        await self._write(work)

    async def create_account(self, account: OwnerRecord, key: KeyRecord) -> None:
        def work(tx: Tx) -> None:
            identity.create_account(tx, account)
            identity.add_key(tx, account.id, key)

        await self._write(work)

    async def add_key(
        self, owner_id: str, key: KeyRecord, replace_oldest: bool = False
    ) -> str | None:
        """Adds an access key; with replace_oldest, an owner with two already loses its oldest
        (returned)."""
        return await self._write(lambda tx: identity.add_key(tx, owner_id, key, replace_oldest))

    async def replace_secret(self, access_key: str, sealed_secret: bytes) -> None:
        await self._write(lambda tx: identity.replace_secret(tx, access_key, sealed_secret))

    async def revoke_key(self, owner_id: str, access_key: str) -> None:
        await self._write(lambda tx: identity.revoke_key(tx, owner_id, access_key))

    async def change_owner(
        self, owner_id: str, apply: Callable[[OwnerRecord], None]
    ) -> OwnerRecord:
        return await self._write(lambda tx: identity.change_owner(tx, owner_id, apply))

    async def delete_owner(self, owner_id: str) -> None:
        """A user with its accounts, or one account; IdentityError while one owns a bucket."""
        await self._write(lambda tx: identity.delete_owner(tx, owner_id))

    async def rename_owners(self, names: dict[str, str]) -> None:
        """Renames owners (old name -> id) in every record that names one, a batch per
        transaction, then indexes the buckets by owner."""
        for table in owner_ids.DECODERS:
            after: bytes | None = None
            while True:
                after = await self._write(
                    functools.partial(owner_ids.rename_batch, table=table, after=after, names=names)
                )
                if after is None:
                    break
        await self._write(identity.index_bucket_owners)

    # -- usage and quotas ----------------------------------------------------------------

    async def bucket_usage(self, bucket: str) -> Usage:
        return await self._read(lambda tx: usage.of_bucket(tx, bucket))

    async def owner_usage(self, owner_id: str) -> int:
        """The bytes of all the owner's buckets."""
        return await self._read(lambda tx: usage.of_owner(tx, owner_id))

    async def roll_up_usage(self, now: float) -> None:
        """Samples every bucket's usage into its hourly statistics (the collector, about once
        a minute)."""
        names = [bucket.name for bucket in await self.list_buckets(None)]
        for start in range(0, len(names), ROLL_UP_BATCH):
            batch = names[start : start + ROLL_UP_BATCH]

            def work(tx: Tx, batch: list[str] = batch) -> None:
                for name in batch:
                    usage.roll_up(tx, name, now)

            await self._write(work)

    async def quotas(self) -> dict[str, int]:
        """Every quota set: "bucket/NAME", "owner/ID", "default/bucket", "default/user" ->
        bytes (0: unlimited)."""

        def work(tx: Tx) -> dict[str, int]:
            return {k.decode(): int(v.decode()) for k, v in tx.scan("quotas", b"")}

        return await self._read(work)

    async def set_quota(self, name: str, size: int) -> None:
        await self._write(lambda tx: tx.put("quotas", name.encode(), str(size).encode()))

    async def count_usage(self) -> int:
        """Counts what every bucket holds, once for a store whose writes did not count it yet
        (before schema 8); returns how many buckets were counted."""
        if await self._read(lambda tx: tx.get("settings", usage.COUNTED)) is not None:
            return 0
        names = [b.name for b in await self.list_buckets(None)]
        for name in names:
            await self._write(functools.partial(_recount, bucket=name))
        await self._write(lambda tx: tx.put("settings", usage.COUNTED, b"1"))
        return len(names)

    async def prove_writable(self) -> None:
        """A write that leaves nothing behind, failing as any write would now (a read-only
        database or file system, a hot standby, a lost connection)."""
        name = b"write-probe/%d" % os.getpid()

        def work(tx: Tx) -> None:
            tx.put("settings", name, b"")
            tx.delete("settings", name)

        await self._write(work)

    async def setting(self, name: bytes) -> bytes | None:
        return await self._read(lambda tx: tx.get("settings", name))

    async def settle(self, name: bytes, value: bytes) -> tuple[bytes, bool]:
        """The setting's value: the one stored, or `value`, stored now when there was none
        (whoever comes first, of several gateways starting together, sets it); and whether
        it was stored now."""

        def work(tx: Tx) -> tuple[bytes, bool]:
            found = tx.get("settings", name)
            if found is None:
                tx.put("settings", name, value)
                return value, True
            return found, False

        return await self._write(work)

    # -- KMS keys (oxstore.kms): settings rows, material sealed ------------------------------

    async def kms_key(self, key_id: str) -> KmsKeyRecord | None:
        return await self._read(lambda tx: kms.get(tx, key_id))

    async def kms_keys(self) -> list[KmsKeyRecord]:
        return await self._read(kms.every)

    async def kms_default(self) -> KmsKeyRecord | None:
        return await self._read(kms.default)

    async def create_kms_key(self, record: KmsKeyRecord) -> None:
        await self._write(lambda tx: kms.put(tx, record))

    async def settle_kms_default(self, candidate: KmsKeyRecord) -> KmsKeyRecord:
        """The default key: the one set, or `candidate`, made the default now."""
        return await self._write(lambda tx: kms.settle_default(tx, candidate))

    async def rotate_kms_key(
        self, key_id: str, new_version: Callable[[int], KmsKeyVersion]
    ) -> KmsKeyRecord | None:
        """Appends new_version(its number) to the key; None if there is no such key."""
        return await self._write(lambda tx: kms.rotate(tx, key_id, new_version))

    # -- healing -----------------------------------------------------------------------------

    async def queue_heal(self, data_id: str, layout: Sharded, size: int) -> None:
        await self._write(lambda tx: heal.queue(tx, data_id, layout, size))

    async def heal_pending(self, after: str, limit: int) -> list[tuple[str, HealRecord]]:
        return await self._read(lambda tx: heal.pending(tx, after, limit))

    async def healed(self, data_id: str) -> None:
        await self._write(lambda tx: heal.done(tx, data_id))

    async def verifiable_data(
        self, table: str, after: bytes, limit: int
    ) -> tuple[list[heal.Found], bytes | None]:
        """A page of the verifiable data the records of a data table name (for a scrub)."""
        return await self._read(lambda tx: heal.verifiable_data(tx, table, after, limit), True)

    # -- limits ------------------------------------------------------------------------------

    async def limits(self) -> dict[str, bytes]:
        """Every limit set: "bucket/NAME" or "owner/ID" -> its record (limits.rates)."""
        return await self._read(lambda tx: {k.decode(): v for k, v in tx.scan("limits", b"")})

    async def set_limits(self, name: str, record: bytes | None) -> None:
        """Sets (None: removes) the limits of a bucket or an owner."""

        def work(tx: Tx) -> None:
            if record is None:
                tx.delete("limits", name.encode())
            else:
                tx.put("limits", name.encode(), record)

        await self._write(work)

    async def lease_tokens(self, name: str, window: int, budget: int, needed: int) -> int:
        """Tokens of a rate budget's window for this worker (0: none are left)."""
        return await self._write(lambda tx: rates.lease(tx, name, window, budget, needed))

    # -- usage statistics --------------------------------------------------------------------

    async def add_usage(
        self, start: int, length: int, counts: dict[statistics.Subject, Counts]
    ) -> None:
        """Adds a worker's counts of one period to the store's."""
        await self._write(lambda tx: statistics.add(tx, start, length, counts))

    async def write_usage_objects(
        self,
        finished_by: int,
        render: Callable[[int, int, list[tuple[statistics.Subject, Counts]]], tuple[str, bytes]],
    ) -> list[str]:
        """Turns the counters of every period over by `finished_by` into statistics objects
        (render: name and body of one), in one transaction; returns their names."""

        def work(tx: Tx) -> list[str]:
            names = []
            for (start, length), items in statistics.take_finished(tx, finished_by).items():
                name, body = render(start, length, items)
                statistics.save_object(tx, name, body)
                names.append(name)
            return names

        return await self._write(work)

    async def usage_object_names(self, limit: int, after: str = "") -> list[str]:
        """The statistics objects' names in order (by time), from the first after `after`."""
        return await self._read(lambda tx: statistics.object_names(tx, limit, after), large=True)

    async def usage_object(self, name: str) -> bytes | None:
        return await self._read(lambda tx: statistics.get_object(tx, name))

    async def delete_usage_object(self, name: str) -> bool:
        return await self._write(lambda tx: statistics.delete_object(tx, name))


def _recount(tx: Tx, bucket: str) -> None:
    """Counts a bucket's usage from its records: versions and the parts of its uploads."""
    size = objects_held = 0
    for table in ("objects", "versions"):
        for _, stored in tx.scan(table, keys.in_bucket(bucket), keys.bucket_end(bucket)):
            record = decode_object(stored)
            size += record.size
            objects_held += 0 if record.delete_marker else 1
    for _, upload_id in list(
        tx.scan("upload_keys", keys.in_bucket(bucket), keys.bucket_end(bucket))
    ):
        size += sum(p.size for p in uploads.list_parts(tx, upload_id.decode()))
    usage.set_counted(tx, bucket, size, objects_held)
