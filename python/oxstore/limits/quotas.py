"""Storage quotas: what each write is checked against, and the early refusal of a body that cannot
fit.

A quota limits the bytes of a bucket, or of all the buckets of an owner (a user or an account);
the defaults for buckets and for users apply where none of its own is set; 0 is unlimited. A
worker reads the quota table (one row per quota set) at most every 2 seconds (limits.snapshot),
so a new quota holds on every gateway within that time. The check that counts is made inside the
write's transaction (meta.model.usage.Guard), so two uploads racing for the last bytes cannot
both succeed; the check here only refuses a body before any byte of it is read."""

from __future__ import annotations

from oxstore.limits.snapshot import Snapshot
from oxstore.meta.model import Metadata, Quota
from oxstore.meta.model.keys import of_bucket, of_owner
from oxstore.meta.records import BucketRecord
from oxstore.s3.errors import S3Error

GB = 1024**3


DEFAULTS = {"bucket": "default/bucket", "user": "default/user"}


def exceeded(what: str) -> S3Error:
    return S3Error(
        "QuotaExceeded",
        f"The upload does not fit in the {'bucket' if what == 'bucket' else 'owner'}'s quota.",
    )


class QuotaBook:
    """The quotas as this worker last read them."""

    def __init__(self, meta: Metadata) -> None:
        self.meta = meta
        self.table = Snapshot(meta.quotas)

    async def quota_for(self, bucket: BucketRecord) -> Quota | None:
        """The limits a write into the bucket is checked against; None when there are none."""
        table = await self.table.get()
        if not table:
            return None
        own = table.get(of_bucket(bucket.name), table.get(DEFAULTS["bucket"], 0))
        owner = table.get(of_owner(bucket.owner), table.get(DEFAULTS["user"], 0))
        return Quota(own, bucket.owner, owner) if own or owner else None

    async def refuse_early(self, bucket: BucketRecord, quota: Quota, incoming: int) -> None:
        """QuotaExceeded when `incoming` more bytes cannot fit, before they are read."""
        if (
            quota.bucket
            and (await self.meta.bucket_usage(bucket.name)).bytes + incoming > quota.bucket
        ):
            raise exceeded("bucket")
        if quota.owner and await self.meta.owner_usage(quota.owner_id) + incoming > quota.owner:
            raise exceeded("owner")
