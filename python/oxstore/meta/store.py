"""The MetaStore protocol every metadata adapter implements, and its errors.

Every method is synchronous and may block on disk (the server calls writes through a thread
offload). A write method returns only once its change is durable. Adapters must be safe to use
from several threads and from several processes sharing one database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

from oxstore.meta.records import (
    BucketRecord,
    ListPage,
    ObjectRecord,
    PartRecord,
    UploadPage,
    UploadRecord,
    VersionPage,
)

DeleteBucketResult = Literal["deleted", "not_empty", "missing"]


class BucketExistsError(Exception):
    """The bucket name is taken; `owner` is the existing bucket's owner (access key id)."""

    def __init__(self, owner: str) -> None:
        super().__init__(owner)
        self.owner = owner


class DataGoneError(Exception):
    """A record was to share a data file that the collector has already claimed."""


class NoSuchUploadError(Exception):
    """The multipart upload is not in progress (never was, completed or aborted)."""


class NoSuchBucketError(Exception):
    """The bucket an object write targets does not exist (or was deleted meanwhile)."""


class MetaStore(Protocol):
    # -- buckets
    def create_bucket(self, record: BucketRecord) -> None:
        """Raises BucketExistsError(existing owner) when the name is taken."""
        ...

    def get_bucket(self, name: str) -> BucketRecord | None: ...

    def change_bucket(
        self, name: str, change: Callable[[BucketRecord], None]
    ) -> BucketRecord | None:
        """Applies change to the bucket's settings atomically; None if the bucket is missing."""
        ...

    def list_buckets(self, owner: str | None) -> list[BucketRecord]:
        """The owner's buckets (every bucket when owner is None), sorted by name."""
        ...

    def count_buckets(self, owner: str) -> int: ...

    def delete_bucket(self, name: str) -> DeleteBucketResult:
        """Atomically deletes the bucket if it exists and holds no object."""
        ...

    # -- objects
    def put_object(
        self,
        record: ObjectRecord,
        shares_data: bool = False,
        condition: Callable[[ObjectRecord | None], None] | None = None,
    ) -> ObjectRecord | None:
        """Makes record the current object for (bucket, key); returns the one it replaced.

        Raises NoSuchBucketError when the bucket does not exist. Data the replaced record
        referenced (and no other record does) is added to the garbage in the same transaction.
        shares_data: record.data_id belongs to another object (a copy); if that data was queued
        as garbage meanwhile it is taken back, and if the collector already claimed it,
        DataGoneError is raised and nothing changes.
        condition: called inside the transaction with the current record (None if absent)
        before anything is written; whatever it raises aborts the write (conditional writes).
        """
        ...

    def get_object(self, bucket: str, key: str) -> ObjectRecord | None: ...

    def delete_object(
        self,
        bucket: str,
        key: str,
        condition: Callable[[ObjectRecord | None], None] | None = None,
    ) -> ObjectRecord | None:
        """Deletes the key: in an unversioned bucket the object is removed (returned; its data
        goes to the garbage); in a versioned one a delete marker is added (returned).
        condition: as for put_object, called with the current record first."""
        ...

    # -- versions
    def get_version(self, bucket: str, key: str, version_id: str) -> ObjectRecord | None: ...

    def latest_delete_marker(self, bucket: str, key: str) -> ObjectRecord | None:
        """The delete marker that is the key's newest version, if one is."""
        ...

    def delete_version(self, bucket: str, key: str, version_id: str) -> ObjectRecord | None:
        """Removes one version for good; returns it (None if there was none)."""
        ...

    def update_version(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        change: Callable[[ObjectRecord], None],
    ) -> ObjectRecord | None:
        """Changes one version's metadata in place (None: the current one)."""
        ...

    def list_versions(
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
        ...

    def list_objects(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ListPage:
        """One page of S3's listing, in UTF-8 binary key order.

        start_after is exclusive and may be a key or a common prefix (next_marker of the
        previous page). max_keys counts keys and common prefixes together.
        """
        ...

    # -- multipart uploads
    def create_upload(self, record: UploadRecord) -> None:
        """Raises NoSuchBucketError when the bucket does not exist."""
        ...

    def get_upload(self, upload_id: str) -> UploadRecord | None:
        """The upload while it is in progress (None once completed or aborted)."""
        ...

    def put_part(self, upload_id: str, part: PartRecord) -> None:
        """Records a part, replacing one of the same number (its data becomes garbage).
        NoSuchUploadError if the upload is not in progress."""
        ...

    def list_parts(self, upload_id: str, after: int = 0, limit: int = 10_000) -> list[PartRecord]:
        """Parts numbered above after, in order, of an upload in progress or of the multipart
        object whose data_id is upload_id."""
        ...

    def complete_upload(
        self,
        upload_id: str,
        assemble: Callable[[UploadRecord, list[PartRecord]], tuple[ObjectRecord, list[int]]],
        condition: Callable[[ObjectRecord | None], None] | None = None,
    ) -> tuple[ObjectRecord, ObjectRecord | None]:
        """Atomically makes the object assemble() builds from the upload and its parts current;
        parts it did not choose become garbage. Returns (new object, replaced object)."""
        ...

    def uploads_before(self, upload_id: str, limit: int) -> list[str]:
        """Up to limit ids of uploads in progress that sort below upload_id, lowest first."""
        ...

    def abort_upload(self, upload_id: str) -> bool:
        """Ends an upload in progress; its parts become garbage. False if none was."""
        ...

    def list_uploads(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        max_uploads: int = 1000,
    ) -> UploadPage: ...

    # -- garbage: data files no record references any more
    def claim_garbage(self, older_than: float, limit: int) -> list[str]:
        """Takes garbage queued before older_than off the queue, atomically, and returns it:
        the caller removes the files. Data claimed this way can no longer be shared."""
        ...

    def take_garbage(self, older_than: float, limit: int) -> list[str]:
        """Up to limit garbage ids recorded before older_than, oldest first (not removed)."""
        ...

    def is_data_referenced(self, data_id: str) -> bool:
        """True when a record references the data or it is already queued as garbage."""
        ...

    def close(self) -> None: ...
