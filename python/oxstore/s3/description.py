"""What a write says about the object it makes, read once at the door: PutObject,
CopyObject, CreateMultipartUpload (their headers) and POST Object (its form's fields, named
like the headers) each parse it into one ObjectDescription, and every later step takes that,
not the request. The payload's own checks (Content-MD5, x-amz-checksum-*) stay with the body:
s3.ops.receive reads them for PUT and UploadPart.

Bad values answer the S3 error a provider gives, before any body byte is read."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from oxstore.auth import access
from oxstore.config import Config
from oxstore.s3 import object_lock, sse
from oxstore.s3.conditions import WriteCondition, etag_condition
from oxstore.s3.errors import S3Error
from oxstore.s3.ops.tagging import MAX_OBJECT_TAGS, checked_tags, parse_tagging

META_PREFIX = "x-amz-meta-"
DEFAULT_CONTENT_TYPE = "binary/octet-stream"
# Standard headers stored with the object and returned on GET/HEAD.
STORED_HEADERS = (
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
)
# Headers that ask for features that are not built yet: refusing beats silently ignoring.
UNSUPPORTED_HEADERS = {
    "x-amz-website-redirect-location": "Website redirects",
}
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class ObjectDescription(msgspec.Struct, frozen=True, kw_only=True):
    """Everything but the bytes: how the object answers GET (content type, stored headers,
    user metadata), where it is kept (storage class), its tags, the ACL asked for (its
    grantees resolved at the commit), and the condition on the key's current object."""

    content_type: str = DEFAULT_CONTENT_TYPE
    headers: dict[str, str] = {}
    user_meta: dict[str, str] = {}
    storage_class: str = "STANDARD"
    storage_class_sent: bool = False
    tags: dict[str, str] = {}
    acl: access.AskedAcl | None = None
    if_match: str | None = None
    if_none_match: str | None = None
    encryption: sse.EncryptionAsked | None = None
    lock: object_lock.Lock | None = None  # the x-amz-object-lock-* headers (or fields)

    def stored(self) -> dict[str, Any]:
        """The fields of an object (or upload) record this description sets."""
        return {
            "content_type": self.content_type,
            "headers": self.headers,
            "user_meta": self.user_meta,
            "storage_class": self.storage_class,
            "tags": self.tags,
        }

    def shown(self) -> dict[str, Any]:
        """The fields a copy with the REPLACE metadata directive takes (not the tags, which
        have their own directive, nor the storage class, always the copy's own)."""
        return {
            "content_type": self.content_type,
            "headers": self.headers,
            "user_meta": self.user_meta,
        }

    def condition(self, key: str) -> WriteCondition | None:
        """What If-Match / If-None-Match ask of the key's object at the commit."""
        return etag_condition(key, self.if_match, self.if_none_match)


def of_headers(
    headers: Mapping[str, str],
    config: Config,
    *,
    secure: bool,
    metadata: bool = True,
    tags: bool = True,
) -> ObjectDescription:
    """A PUT's, copy's or CreateMultipartUpload's description. metadata / tags False: the
    copy keeps the source's (its directive says COPY), and their headers are not read.
    secure: over TLS or from this host (see sse.is_secure)."""
    refuse_unsupported(headers)
    encryption = sse.asked_on_write(headers, secure)
    shown = _shown(headers, config) if metadata else {}
    return ObjectDescription(
        **shown,
        **_kept_as(headers, config),
        tags=header_tags(headers) if tags else {},
        acl=access.asked_acl(headers),
        if_match=headers.get("if-match"),
        if_none_match=headers.get("if-none-match"),
        encryption=encryption,
        lock=object_lock.asked_on_write(headers),
    )


def of_form(
    fields: Mapping[str, str], file_content_type: str, config: Config, *, secure: bool
) -> ObjectDescription:
    """A POST upload's description, from the form fields before the file: its metadata and
    content fields, storage class, canned acl, tagging document and encryption."""
    refuse_unsupported(fields)
    encryption = sse.asked_on_write(fields, secure)
    shown = _shown(fields, config)
    if "content-type" not in fields and file_content_type:
        shown["content_type"] = file_content_type  # the file part's own Content-Type
    acl = access.AskedAcl(canned=access.canned_name(fields["acl"])) if "acl" in fields else None
    return ObjectDescription(
        **shown,
        **_kept_as(fields, config),
        tags=parse_tagging(fields["tagging"].encode()) if "tagging" in fields else {},
        acl=acl,
        encryption=encryption,
        lock=object_lock.asked_on_write(fields),
    )


def refuse_unsupported(headers: Mapping[str, str]) -> None:
    for header, feature in UNSUPPORTED_HEADERS.items():
        if header in headers:
            raise S3Error("NotImplemented", f"{feature} is not implemented yet.", Header=header)


def _shown(source: Mapping[str, str], config: Config) -> dict[str, Any]:
    return {
        "content_type": source.get("content-type") or DEFAULT_CONTENT_TYPE,
        "headers": stored_headers(source),
        "user_meta": user_metadata(source, config.max_metadata_size),
    }


def _kept_as(source: Mapping[str, str], config: Config) -> dict[str, Any]:
    """The x-amz-storage-class asked for: one the server offers (InvalidStorageClass)."""
    requested = source.get("x-amz-storage-class", "STANDARD").strip()
    if requested not in config.offer.storage_classes:
        raise S3Error("InvalidStorageClass", StorageClassRequested=requested)
    return {"storage_class": requested, "storage_class_sent": "x-amz-storage-class" in source}


def user_metadata(headers: Mapping[str, str], limit: int) -> dict[str, str]:
    meta = {
        name[len(META_PREFIX) :]: value
        for name, value in headers.items()
        if name.startswith(META_PREFIX)
    }
    try:
        size = sum(len(k.encode()) + len(v.encode()) for k, v in meta.items())
    except UnicodeEncodeError as exc:
        raise S3Error("InvalidArgument", "User metadata must be valid UTF-8.") from exc
    if size > limit:
        raise S3Error("MetadataTooLarge", Size=str(size), MaxSizeAllowed=str(limit))
    return meta


def content_encoding(value: str) -> str:
    """The object's Content-Encoding: the header without aws-chunked, which frames the
    transfer and is no part of the object."""
    codings = [c.strip() for c in value.split(",")]
    return ", ".join(c for c in codings if c and c.lower() != "aws-chunked")


def stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The standard headers kept with the object (STORED_HEADERS), as it will answer them."""
    stored = {h: headers[h] for h in STORED_HEADERS if h in headers}
    if "content-encoding" in stored:
        stored["content-encoding"] = content_encoding(stored["content-encoding"])
        if not stored["content-encoding"]:
            del stored["content-encoding"]
    return stored


def header_tags(headers: Mapping[str, str]) -> dict[str, str]:
    """The x-amz-tagging header of a write: URL-query encoded (k1=v1&k2=v2); a broken escape
    or a key named twice is InvalidArgument, as S3 answers."""
    raw = headers.get("x-amz-tagging")
    if raw is None:
        return {}
    pairs = parse_qsl(raw, keep_blank_values=True)
    if _BAD_ESCAPE.search(raw) or len({k for k, _ in pairs}) < len(pairs):
        raise S3Error(
            "InvalidArgument",
            "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query "
            "parameters without tag name duplicates.",
            ArgumentName="x-amz-tagging",
            ArgumentValue=raw,
        )
    return checked_tags(pairs, MAX_OBJECT_TAGS)
