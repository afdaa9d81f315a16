"""What a handler receives: the request, who sent it, and the server's stores."""

from __future__ import annotations

from dataclasses import dataclass

from oxstore.auth.credentials import CredentialStore
from oxstore.auth.sigv4 import AuthContext
from oxstore.config import Config
from oxstore.data.store import DataStore
from oxstore.http.request import Request
from oxstore.meta.model import Metadata
from oxstore.meta.records import BucketRecord


@dataclass(slots=True)
class Services:
    config: Config
    meta: Metadata
    data: DataStore
    credentials: CredentialStore | None = None  # for signatures checked by handlers (POST)


@dataclass(slots=True)
class Call:
    req: Request
    auth: AuthContext
    services: Services
    # set when the requester is not the bucket's owner but its or the object's ACL grants
    # what the operation needs (s3.permissions)
    granted: bool = False
    # the bucket's record as the access check read it (handlers reuse it)
    bucket_record: BucketRecord | None = None

    @property
    def bucket(self) -> str:
        assert self.req.bucket is not None
        return self.req.bucket

    @property
    def key(self) -> str:
        assert self.req.key is not None
        return self.req.key

    @property
    def config(self) -> Config:
        return self.services.config

    @property
    def meta(self) -> Metadata:
        return self.services.meta

    @property
    def data(self) -> DataStore:
        return self.services.data
