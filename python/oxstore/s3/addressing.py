"""Which bucket and key a request names: virtual-host style first, then path style; and the
owner a tenant-qualified path (/<owner id>:<bucket>/<key>, as the provider's links are) names."""

from __future__ import annotations

import re
from urllib.parse import unquote

_TENANT = re.compile(r"^([0-9a-f]{16}):(.+)$")


def split_host(host: str) -> str:
    """The host name without port, lower-case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if ":" in host else host


def host_bucket(host: str, domains: tuple[str, ...]) -> str | None:
    """The bucket a virtual-host style request's Host names (`bucket.<domain>`), if it does."""
    name = split_host(host)
    for domain in domains:
        if name.endswith("." + domain):
            return name[: -len(domain) - 1]
    return None


def resolve(host: str, raw_path: str, domains: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(bucket, key) from the Host header and the raw path; None where absent."""
    bucket = host_bucket(host, domains)
    if bucket is not None:
        return bucket, unquote(raw_path[1:]) if len(raw_path) > 1 else None
    path = raw_path[1:] if raw_path.startswith("/") else raw_path
    bucket, slash, rest = path.partition("/")
    if not bucket:
        return None, None
    key = unquote(rest) if slash and rest else None
    return unquote(bucket), key


def split_tenant(bucket: str | None) -> tuple[str | None, str | None]:
    """(owner id, bucket name) of "<owner id>:<bucket>"; (None, bucket) for a plain name.
    Bucket names are unique across owners and hold no ":", so either spelling names one."""
    match = _TENANT.match(bucket) if bucket else None
    return (match[1], match[2]) if match else (None, bucket)
