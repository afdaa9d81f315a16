"""Access control lists: grants, canned ACLs, x-amz-grant-* headers, AccessControlPolicy XML,
and the decision whether a requester holds a permission.

An ACL is stored as JSON: a list of grants, exactly as set (an AccessControlPolicy may leave
even the owner out). A resource without a stored ACL is private: its owner has full control.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

from oxstore.s3.errors import S3Error
from oxstore.s3.xml import document, el, group, parse

XSI = "http://www.w3.org/2001/XMLSchema-instance"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = (ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY)
ANONYMOUS_OWNER = "65a011a29cdf8ec533ec3d1ccaae921c"  # S3's canonical id of anonymous writers

READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL = (
    "READ",
    "WRITE",
    "READ_ACP",
    "WRITE_ACP",
    "FULL_CONTROL",
)
PERMISSIONS = (READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL)
GRANT_HEADERS = {
    "x-amz-grant-read": READ,
    "x-amz-grant-write": WRITE,
    "x-amz-grant-read-acp": READ_ACP,
    "x-amz-grant-write-acp": WRITE_ACP,
    "x-amz-grant-full-control": FULL_CONTROL,
}


class Grant(msgspec.Struct, frozen=True, array_like=True):
    kind: str  # "user" (canonical id) | "group" (URI) | "email" (until resolved to a user)
    grantee: str
    permission: str


_grants_decoder = msgspec.json.Decoder(list[Grant])


def decode(stored: str | None, owner: str) -> list[Grant]:
    """The grants of a resource: as set, or the owner's full control when none were."""
    if stored is None:
        return [Grant("user", owner, FULL_CONTROL)]
    return _grants_decoder.decode(stored)


def encode(grants: list[Grant]) -> str:
    return msgspec.json.encode(grants).decode()


def canned(name: str, owner: str, bucket_owner: str | None = None) -> list[Grant]:
    """The grants of a canned ACL (x-amz-acl)."""
    own = [Grant("user", owner, FULL_CONTROL)]
    table = {
        "private": own,
        "public-read": [*own, Grant("group", ALL_USERS, READ)],
        "public-read-write": [
            *own,
            Grant("group", ALL_USERS, READ),
            Grant("group", ALL_USERS, WRITE),
        ],
        "authenticated-read": [*own, Grant("group", AUTHENTICATED_USERS, READ)],
        "log-delivery-write": [
            *own,
            Grant("group", LOG_DELIVERY, WRITE),
            Grant("group", LOG_DELIVERY, READ_ACP),
        ],
    }
    if bucket_owner is not None and bucket_owner != owner:
        table["bucket-owner-read"] = [*own, Grant("user", bucket_owner, READ)]
        table["bucket-owner-full-control"] = [*own, Grant("user", bucket_owner, FULL_CONTROL)]
    else:
        table["bucket-owner-read"] = table["bucket-owner-full-control"] = own
    if name not in table:
        raise S3Error("InvalidArgument", f"Invalid canned ACL {name}", ArgumentName="x-amz-acl")
    return table[name]


_GRANTEE = re.compile(r'^\s*(id|uri|emailAddress)\s*=\s*"?([^"]*)"?\s*$')


CANNED_ACLS = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "log-delivery-write",
    "bucket-owner-read",
    "bucket-owner-full-control",
)


class AskedAcl(msgspec.Struct, frozen=True):
    """The ACL a write's headers ask for, before it has an owner: a canned ACL's name, or
    the x-amz-grant-* grants (e-mail addresses not yet resolved)."""

    canned: str | None = None
    grants: tuple[Grant, ...] = ()


def canned_name(name: str) -> str:
    """A canned ACL's name as sent, checked (InvalidArgument for one S3 does not have)."""
    if name.strip() not in CANNED_ACLS:
        raise S3Error("InvalidArgument", f"Invalid canned ACL {name}", ArgumentName="x-amz-acl")
    return name.strip()


def asked_acl(headers: Mapping[str, str]) -> AskedAcl | None:
    """What x-amz-acl or x-amz-grant-* headers ask for; None when there are none."""
    acl = headers.get("x-amz-acl")
    present = [h for h in GRANT_HEADERS if h in headers]
    if acl is not None and present:
        raise S3Error(
            "InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed"
        )
    if acl is not None:
        return AskedAcl(canned=canned_name(acl))
    if not present:
        return None
    grants = []
    for header in present:
        for item in headers[header].split(","):
            match = _GRANTEE.match(item)
            if not match:
                raise S3Error("InvalidArgument", "Invalid grantee", ArgumentName=header)
            grants.append(_grantee(match[1], match[2], GRANT_HEADERS[header]))
    return AskedAcl(grants=tuple(grants))


def grants_of(asked: AskedAcl, owner: str, bucket_owner: str | None = None) -> list[Grant]:
    """The grants an asked ACL gives a resource of `owner`. bucket_owner: the bucket's owner,
    whom bucket-owner-read/-full-control grant to."""
    if asked.canned is not None:
        return canned(asked.canned, owner, bucket_owner)
    return [Grant("user", owner, FULL_CONTROL), *asked.grants]


def _grantee(kind: str, value: str, permission: str) -> Grant:
    if kind == "emailAddress":  # resolved to the user's id before it is stored
        return Grant("email", value, permission)
    if kind == "uri":
        if value not in GROUPS:
            raise S3Error("InvalidArgument", "Invalid group uri", ArgumentName="uri")
        return Grant("group", value, permission)
    return Grant("user", value, permission)


def parse_policy(body: bytes, owner: str) -> list[Grant]:
    """An AccessControlPolicy document; its owner must be the resource's owner."""
    root = parse(body)
    if root.tag != "AccessControlPolicy":
        raise S3Error("MalformedACLError")
    stated_owner = (root.findtext("Owner/ID") or "").strip()
    if stated_owner and stated_owner != owner:
        raise S3Error("AccessDenied")
    grants = []
    for node in root.findall("AccessControlList/Grant"):
        grantee = node.find("Grantee")
        permission = (node.findtext("Permission") or "").strip()
        if grantee is None or permission not in PERMISSIONS:
            raise S3Error("MalformedACLError")
        if grantee.findtext("URI") is not None:
            grants.append(_grantee("uri", (grantee.findtext("URI") or "").strip(), permission))
        elif grantee.findtext("ID") is not None:
            grants.append(_grantee("id", (grantee.findtext("ID") or "").strip(), permission))
        elif grantee.findtext("EmailAddress") is not None:
            email = (grantee.findtext("EmailAddress") or "").strip()
            grants.append(_grantee("emailAddress", email, permission))
        else:
            raise S3Error("MalformedACLError")
    return grants


def render_policy(grants: list[Grant], owner: str) -> bytes:
    def grantee(grant: Grant) -> str:
        if grant.kind == "group":
            return (
                f'<Grantee xmlns:xsi="{XSI}" xsi:type="Group">{el("URI", grant.grantee)}</Grantee>'
            )
        return (
            f'<Grantee xmlns:xsi="{XSI}" xsi:type="CanonicalUser">'
            f"{el('ID', grant.grantee)}{el('DisplayName', grant.grantee)}</Grantee>"
        )

    return document(
        "AccessControlPolicy",
        [
            group("Owner", [el("ID", owner), el("DisplayName", owner)]),
            group(
                "AccessControlList",
                (group("Grant", [grantee(g), el("Permission", g.permission)]) for g in grants),
            ),
        ],
    )


def allows(grants: list[Grant], requester: str | None, permission: str) -> bool:
    """Whether the grants give the requester (None: anonymous) the permission."""
    for grant in grants:
        if grant.permission not in (permission, FULL_CONTROL):
            continue
        if grant.kind == "group" and (
            grant.grantee == ALL_USERS
            or (grant.grantee == AUTHENTICATED_USERS and requester is not None)
        ):
            return True
        if grant.kind == "user" and requester is not None and grant.grantee == requester:
            return True
    return False
