"""What a handler receives: the request, who sent it, and the server's stores."""

from __future__ import annotations

from dataclasses import dataclass

from oxstore.access_log import AccessLog
from oxstore.auth.credentials import Keyring
from oxstore.auth.sigv4 import AuthContext
from oxstore.config import Config
from oxstore.data.store import DataStore
from oxstore.http.request import Request
from oxstore.kms import KmsKeys
from oxstore.limits.quotas import QuotaBook
from oxstore.limits.rates import Limiter, Pacer
from oxstore.limits.usage import UsageMeter
from oxstore.meta.model import Metadata, Quota
from oxstore.meta.records import BucketRecord, ObjectRecord
from oxstore.metrics import Meter
from oxstore.s3 import sse


@dataclass(slots=True)
class Services:
    config: Config
    meta: Metadata
    data: DataStore
    keys: Keyring | None = None  # access keys, for the signatures handlers check (POST)
    quotas: QuotaBook | None = None
    limiter: Limiter | None = None
    usage: UsageMeter | None = None  # when usage statistics are collected
    meter: Meter | None = None  # this worker's metrics
    access_log: AccessLog | None = None  # where answered requests are logged (None: nowhere)
    kms: KmsKeys | None = None  # the KMS keyring (SSE-KMS) and its admin calls


@dataclass(slots=True)
class Call:
    req: Request
    auth: AuthContext
    services: Services
    # set when the requester is not the bucket's owner but its or the object's ACL grants
    # what the operation needs (s3.permissions)
    granted: bool = False
    # DeleteObjects on a bucket with a policy, by a non-owner: each key is decided by
    # permissions.key_allowed(), acl_granted saying whether the bucket's ACL grants WRITE
    keys_by_policy: bool = False
    acl_granted: bool = False
    # the bucket's record as the access check read it (handlers reuse it)
    bucket_record: BucketRecord | None = None
    # a GET's or HEAD's current object, read in one snapshot with its bucket by the access
    # check (found is False until then; record None: there is none)
    object_found: bool = False
    object_record: ObjectRecord | None = None
    # the quotas a write into the bucket is checked against, in its transaction (None: none)
    quota: Quota | None = None
    # the bandwidth limits a GET body is paced by (None: none)
    pacer: Pacer | None = None

    def read_object(self, bucket: str, key: str) -> tuple[bool, ObjectRecord | None]:
        """(True, the current object or None) if the access check read this one's."""
        if self.object_found and bucket == self.req.bucket and key == self.req.key:
            return True, self.object_record
        return False, None

    @property
    def bucket(self) -> str:
        assert self.req.bucket is not None
        return self.req.bucket

    @property
    def key(self) -> str:
        assert self.req.key is not None
        return self.req.key

    @property
    def secure(self) -> bool:
        """Whether customer keys (SSE-C) may come over this request's connection."""
        allowed = self.services.config.sse_c_over_http
        return sse.is_secure(self.req.client, self.req.tls, allow_plain_http=allowed)

    @property
    def config(self) -> Config:
        return self.services.config

    @property
    def meta(self) -> Metadata:
        return self.services.meta

    @property
    def data(self) -> DataStore:
        return self.services.data
