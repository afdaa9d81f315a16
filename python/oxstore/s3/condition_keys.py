"""The condition keys of a request, as bucket policies name them (aws:SourceIp,
s3:x-amz-acl, s3:ExistingObjectTag/<key>, ...): looked up only when a policy's condition
asks, so a policy without conditions costs no header parsing. A POST upload's keys that
describe the object (its ACL, encryption, storage class, lock, tags) are its form's fields,
not the HTTP request's headers."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import parse_qsl

from oxstore.meta.records import ObjectRecord
from oxstore.s3.context import Call
from oxstore.s3.xml import epoch_of_iso8601

HEADER_KEYS = {  # s3:<header> keys: the request header's value
    "s3:x-amz-acl": "x-amz-acl",
    "s3:x-amz-content-sha256": "x-amz-content-sha256",
    "s3:x-amz-copy-source": "x-amz-copy-source",
    "s3:x-amz-metadata-directive": "x-amz-metadata-directive",
    "s3:x-amz-server-side-encryption": "x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id": (
        "x-amz-server-side-encryption-aws-kms-key-id"
    ),
    "s3:x-amz-server-side-encryption-customer-algorithm": (
        "x-amz-server-side-encryption-customer-algorithm"
    ),
    "s3:x-amz-storage-class": "x-amz-storage-class",
    "s3:object-lock-mode": "x-amz-object-lock-mode",
    "s3:object-lock-retain-until-date": "x-amz-object-lock-retain-until-date",
    "s3:object-lock-legal-hold": "x-amz-object-lock-legal-hold",
    "aws:referer": "referer",
    "aws:useragent": "user-agent",
}
# of those headers, the ones a POST form's fields stand for: header -> the field's name
FORM_FIELDS = {
    "x-amz-acl": "acl",
    **{
        header: header
        for header in HEADER_KEYS.values()
        if header.startswith("x-amz-") and header not in ("x-amz-acl", "x-amz-content-sha256")
    },
}
ARG_KEYS = {"s3:prefix": "prefix", "s3:delimiter": "delimiter", "s3:max-keys": "max-keys"}
EXISTING_TAG = "s3:existingobjecttag/"
REQUEST_TAG = "s3:requestobjecttag/"


class Form(NamedTuple):
    """A POST upload's form as the policy sees it: its fields (names in lower case) and the
    tags its tagging field asks for."""

    fields: Mapping[str, str]
    tags: dict[str, str]


class RequestKeys:
    """A policy's view of one request: lookup(key) gives the key's values, None when the
    request has no such key. existing: the object the request acts on, when read (its tags
    are s3:ExistingObjectTag/*); form: a POST upload's."""

    def __init__(
        self, call: Call, existing: ObjectRecord | None = None, form: Form | None = None
    ) -> None:
        self.call = call
        self.existing = existing
        self.form = form

    def lookup(self, key: str) -> list[str] | None:
        req, auth = self.call.req, self.call.auth
        if key in HEADER_KEYS:
            return _one(self._header(HEADER_KEYS[key]))
        if key in ARG_KEYS:
            return _one(req.arg(ARG_KEYS[key]))
        if key == "aws:sourceip":
            return _one(req.client.rsplit(":", 1)[0].strip("[]") if req.client else None)
        if key == "aws:securetransport":
            return ["true" if req.tls else "false"]
        if key == "aws:currenttime":
            return [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())]
        if key == "aws:epochtime":
            return [str(int(time.time()))]
        if key == "s3:versionid":
            return _one(req.arg("versionId"))
        if key == "s3:object-lock-remaining-retention-days":
            return _remaining_days(self._header("x-amz-object-lock-retain-until-date"))
        if key.startswith(EXISTING_TAG):
            tags = self.existing.tags if self.existing is not None else {}
            return _one(tags.get(key[len(EXISTING_TAG) :]))
        if key.startswith(REQUEST_TAG):
            return _one(self._request_tags().get(key[len(REQUEST_TAG) :]))
        if key == "s3:requestobjecttagkeys":
            return list(self._request_tags()) or None
        if auth.owner is None:  # the keys below are of a signed request's requester
            return ["Anonymous"] if key == "aws:principaltype" else None
        return _of_requester(self.call, key)

    def _header(self, name: str) -> str | None:
        if self.form is not None and name in FORM_FIELDS:
            return self.form.fields.get(FORM_FIELDS[name])
        return self.call.req.headers.get(name)

    def _request_tags(self) -> dict[str, str]:
        """The tags a write asks for (x-amz-tagging, URL-encoded; a form's tagging field)."""
        if self.form is not None:
            return self.form.tags
        tagging = self.call.req.headers.get("x-amz-tagging", "")
        return dict(parse_qsl(tagging, keep_blank_values=True))


def _of_requester(call: Call, key: str) -> list[str] | None:
    auth = call.auth
    account = "user/" in auth.principal
    if key == "aws:principalarn":
        return [auth.principal]
    if key == "aws:principaltype":
        return ["User" if account else "Account"]
    if key == "aws:userid":
        return _one(auth.owner)
    if key == "aws:username":
        return [auth.principal.rsplit("/", 1)[1]] if account else None
    if key == "s3:authtype":
        return ["REST-QUERY-STRING" if auth.presigned else "REST-HEADER"]
    if key == "s3:signatureversion":
        return ["AWS4-HMAC-SHA256" if auth.scope else "AWS"]
    return None


def _remaining_days(until: str | None) -> list[str] | None:
    """Whole days from now to a write's x-amz-object-lock-retain-until-date."""
    epoch = epoch_of_iso8601(until) if until is not None else None
    return None if epoch is None else [str(int((epoch - time.time()) // 86400))]


def _one(value: str | None) -> list[str] | None:
    return None if value is None else [value]
