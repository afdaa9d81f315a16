"""Bucket policies: the JSON documents of PutBucketPolicy, checked as S3 checks them (400
MalformedPolicy with the reason), and their verdict on one request.

A statement applies to a request when its principal, action, resource and every condition
match; the policy's verdict is Deny when a Deny statement applies (an explicit deny beats any
allow), else Allow when an Allow statement does, else none (the ACLs decide). Documents are
parsed once per text (bucket records carry the text; parse() is cached), their patterns
compiled, so an evaluation is a few dictionary lookups and regex matches per statement.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal

import msgspec

from oxstore.s3.actions import KNOWN, OBJECT_ACTION_NAMES
from oxstore.s3.errors import S3Error
from oxstore.s3.xml import epoch_of_iso8601

MAX_POLICY = 20 * 1024  # S3's limit on a bucket policy, in bytes
NOT_JSON = "Policies must be valid JSON and the first byte must be '{'"
VERSIONS = ("2012-10-17", "2008-10-17")
ARN_PREFIX = "arn:aws:s3:::"
ANYONE = "*"
Verdict = Literal["Allow", "Deny"] | None
# a condition key's values in the request (None: the request has no such key)
Lookup = Callable[[str], list[str] | None]

# the condition operators: name -> (how a value compares, whether the match is negated)
OPERATORS: dict[str, tuple[str, bool]] = {
    "StringEquals": ("string", False),
    "StringNotEquals": ("string", True),
    "StringEqualsIgnoreCase": ("string-nocase", False),
    "StringNotEqualsIgnoreCase": ("string-nocase", True),
    "StringLike": ("like", False),
    "StringNotLike": ("like", True),
    "NumericEquals": ("numeric:=", False),
    "NumericNotEquals": ("numeric:=", True),
    "NumericLessThan": ("numeric:<", False),
    "NumericLessThanEquals": ("numeric:<=", False),
    "NumericGreaterThan": ("numeric:>", False),
    "NumericGreaterThanEquals": ("numeric:>=", False),
    "DateEquals": ("date:=", False),
    "DateNotEquals": ("date:=", True),
    "DateLessThan": ("date:<", False),
    "DateLessThanEquals": ("date:<=", False),
    "DateGreaterThan": ("date:>", False),
    "DateGreaterThanEquals": ("date:>=", False),
    "Bool": ("bool", False),
    "IpAddress": ("ip", False),
    "NotIpAddress": ("ip", True),
    "ArnEquals": ("like", False),
    "ArnLike": ("like", False),
    "ArnNotEquals": ("like", True),
    "ArnNotLike": ("like", True),
    "BinaryEquals": ("string", False),
    "Null": ("null", False),
}
QUALIFIERS = ("ForAnyValue", "ForAllValues")
# the condition keys requests carry (lower-case; those ending in "/" take a tag key after it)
KEYS = frozenset(
    {
        "aws:sourceip",
        "aws:securetransport",
        "aws:currenttime",
        "aws:epochtime",
        "aws:principalarn",
        "aws:principaltype",
        "aws:userid",
        "aws:username",
        "aws:referer",
        "aws:useragent",
        "s3:prefix",
        "s3:delimiter",
        "s3:max-keys",
        "s3:x-amz-acl",
        "s3:x-amz-content-sha256",
        "s3:x-amz-copy-source",
        "s3:x-amz-metadata-directive",
        "s3:x-amz-server-side-encryption",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "s3:x-amz-server-side-encryption-customer-algorithm",
        "s3:x-amz-storage-class",
        "s3:versionid",
        "s3:authtype",
        "s3:signatureversion",
        "s3:requestobjecttagkeys",
        "s3:object-lock-mode",
        "s3:object-lock-retain-until-date",
        "s3:object-lock-remaining-retention-days",
        "s3:object-lock-legal-hold",
    }
)
TAG_KEYS = ("s3:existingobjecttag/", "s3:requestobjecttag/")


class Condition(msgspec.Struct, frozen=True):
    """One key of one operator of a statement's Condition block."""

    compare: str  # how values compare (OPERATORS)
    negated: bool
    qualifier: str  # "" | "ForAnyValue" | "ForAllValues"
    if_exists: bool
    key: str  # normalised (key_name)
    values: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...] = ()  # for "like"

    def holds(self, lookup: Lookup) -> bool:
        present = lookup(self.key)
        if self.compare == "null":
            return (not present) == (self.values[0].lower() == "true")
        if not present:  # the request has no such key
            if self.if_exists or self.qualifier == "ForAllValues":
                return True
            return self.negated  # "not equal to any of these": holds for nothing at all
        results = (self._matches(value) != self.negated for value in present)
        return all(results) if self.qualifier == "ForAllValues" else any(results)

    def _matches(self, value: str) -> bool:
        compare = self.compare
        if compare == "like":
            return any(p.fullmatch(value) for p in self.patterns)
        if compare == "string":
            return value in self.values
        if compare == "string-nocase":
            return value.lower() in (v.lower() for v in self.values)
        if compare == "bool":
            return value.lower() in (v.lower() for v in self.values)
        if compare == "ip":
            return any(_in_network(value, v) for v in self.values)
        kind, relation = compare.split(":")
        parse = _number if kind == "numeric" else _date
        got = parse(value)
        if got is None:
            return False
        wanted = (parse(v) for v in self.values)
        return any(want is not None and _related(got, relation, want) for want in wanted)


class Statement(msgspec.Struct, frozen=True):
    sid: str
    effect: str  # "Allow" | "Deny"
    principals: frozenset[str] | None  # None: NotPrincipal is given instead
    not_principals: frozenset[str] | None
    actions: re.Pattern[str] | None  # None: NotAction is given instead
    not_actions: re.Pattern[str] | None
    resources: re.Pattern[str] | None
    not_resources: re.Pattern[str] | None
    conditions: tuple[Condition, ...]

    def applies(self, names: frozenset[str], action: str, resource: str, lookup: Lookup) -> bool:
        if self.principals is not None and not _named(self.principals, names):
            return False
        if self.not_principals is not None and _named(self.not_principals, names):
            return False
        if not _matched(self.actions, self.not_actions, action):
            return False
        if not _matched(self.resources, self.not_resources, resource):
            return False
        return all(c.holds(lookup) for c in self.conditions)


class Policy(msgspec.Struct, frozen=True):
    statements: tuple[Statement, ...]
    principals: frozenset[str]  # every principal named (but "*"), for the handler to check
    reads_existing_tags: bool  # a condition asks for s3:ExistingObjectTag/*: read the object
    public: bool  # a statement allows anyone (S3's "public": see publicly_allowing)

    def verdict(self, names: frozenset[str], action: str, resource: str, lookup: Lookup) -> Verdict:
        """Deny, Allow or none for the request: by `names` (what the requester is called;
        empty: anonymous), doing `action` ("s3:GetObject") on `resource` (an ARN)."""
        allowed = False
        for statement in self.statements:
            if statement.applies(names, action, resource, lookup):
                if statement.effect == "Deny":
                    return "Deny"
                allowed = True
        return "Allow" if allowed else None


# Condition keys that say who or where the requester is, by values it cannot choose (S3's
# "meaning of public", of the keys oxstore knows): a fixed one of these narrows an Allow of "*".
# (aws:username is an account's name, not unique across users: it names no one in particular.)
NARROWING_KEYS = frozenset({"aws:sourceip", "aws:userid", "aws:principalarn"})
# how values compare in the positive operators that can narrow (StringEquals, ArnEquals,
# IpAddress, ..., and StringLike / ArnLike without wildcards)
NARROWING_COMPARES = frozenset({"string", "string-nocase", "like", "ip"})


def publicly_allowing(statements: tuple[Statement, ...]) -> bool:
    """Whether a statement allows anyone (S3's "public"): an Allow of NotPrincipal, or of a
    "*" principal that no condition narrows to fixed requesters (narrowing)."""
    return any(
        s.effect == "Allow"
        and (
            s.principals is None  # NotPrincipal: everyone but some
            or (ANYONE in s.principals and not any(narrowing(c) for c in s.conditions))
        )
        for s in statements
    )


def narrowing(condition: Condition) -> bool:
    """Whether a condition holds only for requests from fixed requesters: a positive operator
    (not negated, not IfExists, not ForAllValues, which hold when the key is missing; not Null)
    with fixed values (no wildcards; a CIDR short of every address) on a key naming who or
    where the requester is."""
    if condition.key not in NARROWING_KEYS or condition.compare not in NARROWING_COMPARES:
        return False
    if condition.negated or condition.if_exists or condition.qualifier == "ForAllValues":
        return False
    values = condition.values
    if not values or any("*" in v or "?" in v for v in values):
        return False
    if condition.key == "aws:sourceip" and condition.compare == "ip":
        return not _every_address(values)
    return True


def _every_address(values: tuple[str, ...]) -> bool:
    """Whether the CIDRs (or addresses) cover every IPv4 or every IPv6 address."""
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    for value in values:
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            continue  # matches no address
        if isinstance(network, ipaddress.IPv4Network):
            v4.append(network)
        else:
            v6.append(network)
    return _all_of(list(ipaddress.collapse_addresses(v4))) or _all_of(
        list(ipaddress.collapse_addresses(v6))
    )


def _all_of(collapsed: list[ipaddress.IPv4Network] | list[ipaddress.IPv6Network]) -> bool:
    return len(collapsed) == 1 and collapsed[0].prefixlen == 0


def _named(principals: frozenset[str], names: frozenset[str]) -> bool:
    return ANYONE in principals or not principals.isdisjoint(names)


def _matched(pattern: re.Pattern[str] | None, excluded: re.Pattern[str] | None, text: str) -> bool:
    if pattern is not None:
        return pattern.fullmatch(text) is not None
    assert excluded is not None
    return excluded.fullmatch(text) is None


# ---- parsing ---------------------------------------------------------------------------------


def malformed(reason: str) -> S3Error:
    return S3Error("MalformedPolicy", reason)


@functools.lru_cache(maxsize=1024)
def parse(text: str, bucket: str) -> Policy:
    """The policy a document says for `bucket`; MalformedPolicy with S3's reason for any
    mistake. Cached: a bucket record carries the text, every request of it parses it."""
    if len(text.encode()) > MAX_POLICY:
        raise malformed("Policy exceeds the maximum allowed document size.")
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise malformed(NOT_JSON) from exc
    if not isinstance(document, dict):
        raise malformed(NOT_JSON)
    unknown = set(document) - {"Version", "Id", "Statement"}
    if unknown:
        raise malformed(f"Unknown field {sorted(unknown)[0]}")
    if document.get("Version", VERSIONS[0]) not in VERSIONS:
        raise malformed("The policy must contain a valid version string")
    raw = document.get("Statement")
    raw = [raw] if isinstance(raw, dict) else raw
    if not raw or not isinstance(raw, list):
        raise malformed("Missing required field Statement")
    statements = tuple(_statement(s, bucket) for s in raw)
    named = frozenset(p for s in statements for p in (s.principals or s.not_principals or ()))
    existing = any(c.key.startswith(TAG_KEYS[0]) for s in statements for c in s.conditions)
    return Policy(
        statements=statements,
        principals=named - {ANYONE},
        reads_existing_tags=existing,
        public=publicly_allowing(statements),
    )


STATEMENT_FIELDS = {
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
}


def _statement(raw: Any, bucket: str) -> Statement:
    if not isinstance(raw, dict):
        raise malformed("Statement is not an object")
    unknown = set(raw) - STATEMENT_FIELDS
    if unknown:
        raise malformed(f"Unknown field {sorted(unknown)[0]}")
    if raw.get("Effect") not in ("Allow", "Deny"):
        raise malformed("Invalid effect: " + str(raw.get("Effect")))
    principals, not_principals = _either(raw, "Principal", _principals)
    actions, not_actions = _either(raw, "Action", lambda v: _strings(v, "Action"))
    resources, not_resources = _either(raw, "Resource", lambda v: _strings(v, "Resource"))
    for action in actions or not_actions or ():
        if action != ANYONE and not any(_glob(action, True).fullmatch(k) for k in KNOWN):
            raise malformed("Policy has invalid action")
    for resource in resources or not_resources or ():
        if not _resource_of(resource, bucket):
            raise malformed("Policy has invalid resource")
    if actions is not None and resources is not None:
        _check_targets(actions, resources)
    return Statement(
        sid=str(raw.get("Sid", "")),
        effect=raw["Effect"],
        principals=principals,
        not_principals=not_principals,
        actions=_any_of(actions, True),
        not_actions=_any_of(not_actions, True),
        resources=_any_of(resources, False),
        not_resources=_any_of(not_resources, False),
        conditions=_conditions(raw.get("Condition", {})),
    )


def _either(
    raw: dict[str, Any], name: str, read: Callable[[Any], frozenset[str] | tuple[str, ...]]
) -> tuple[Any, Any]:
    """(value of `name`, value of `Not<name>`): exactly one of them is given."""
    given, negated = raw.get(name), raw.get("Not" + name)
    if (given is None) == (negated is None):
        if given is None:
            raise malformed(f"Missing required field {name}")
        raise malformed(f"Statement cannot have both {name} and Not{name}")
    return (read(given), None) if given is not None else (None, read(negated))


def _strings(value: Any, field: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise malformed(f"{field} must be a string or a list of strings")
    return tuple(values)


def _principals(value: Any) -> frozenset[str]:
    """ "*", {"AWS": ...} or {"CanonicalUser": ...}: the names they give."""
    if value == ANYONE:
        return frozenset({ANYONE})
    if not isinstance(value, dict) or not value or set(value) - {"AWS", "CanonicalUser"}:
        raise malformed("Invalid principal in policy")
    names: set[str] = set()
    for kind, given in value.items():
        for name in _strings(given, "Principal"):
            if name != ANYONE and kind == "AWS" and not _principal_form(name):
                raise malformed("Invalid principal in policy")
            names.add(name)
    return frozenset(names)


_OWNER_ID = re.compile(r"[0-9a-f]{16}")
_IAM = re.compile(r"arn:aws:iam::([0-9a-f]{16}):(root|user/[^/]+)")


def _principal_form(name: str) -> bool:
    return bool(_OWNER_ID.fullmatch(name) or _IAM.fullmatch(name))


def principal_owner(name: str) -> tuple[str, str]:
    """(owner id, account name or "") a principal names (its form checked by parse)."""
    match = _IAM.fullmatch(name)
    if match is None:
        return name, ""
    kind = match[2]
    return match[1], kind[len("user/") :] if kind.startswith("user/") else ""


def _resource_of(resource: str, bucket: str) -> bool:
    """Whether the resource pattern can name the bucket or objects in it."""
    if not resource.startswith(ARN_PREFIX):
        return False
    name = resource[len(ARN_PREFIX) :].split("/", 1)[0]
    return bool(name) and _glob(name, False).fullmatch(bucket) is not None


def _check_targets(actions: tuple[str, ...], resources: tuple[str, ...]) -> None:
    """S3 refuses a statement whose actions apply to none of its resources (object actions
    and bucket ARNs, bucket actions and object ARNs)."""
    paths = [r[len(ARN_PREFIX) :] for r in resources]
    objects = any("/" in p or p.endswith("*") for p in paths)
    buckets = any("/" not in p for p in paths)
    for action in actions:
        for name in KNOWN:
            if action == ANYONE or _glob(action, True).fullmatch(name):
                if objects if name in OBJECT_ACTION_NAMES else buckets:
                    return
    raise malformed("Action does not apply to any resource(s) in statement")


def _conditions(raw: Any) -> tuple[Condition, ...]:
    if not isinstance(raw, dict):
        raise malformed("Condition must be an object")
    found: list[Condition] = []
    for operator, block in raw.items():
        qualifier, _, name = operator.rpartition(":")
        if qualifier and qualifier not in QUALIFIERS:
            raise malformed(f"Invalid Condition type : {operator}")
        if_exists = name.endswith("IfExists") and name != "IfExists"
        base = name[: -len("IfExists")] if if_exists else name
        if base not in OPERATORS or not isinstance(block, dict):
            raise malformed(f"Invalid Condition type : {operator}")
        compare, negated = OPERATORS[base]
        for key, values in block.items():
            normal = key_name(key)
            if normal not in KEYS and not normal.startswith(TAG_KEYS):
                raise malformed("Policy has an invalid condition key")
            texts = tuple(_condition_values(values))
            patterns = tuple(_glob(v, False) for v in texts) if compare == "like" else ()
            found.append(Condition(compare, negated, qualifier, if_exists, normal, texts, patterns))
    return tuple(found)


def _condition_values(values: Any) -> Iterable[str]:
    values = values if isinstance(values, list) else [values]
    for value in values:
        if isinstance(value, bool):
            yield "true" if value else "false"
        elif isinstance(value, str | int | float):
            yield str(value)
        else:
            raise malformed("Condition values must be strings, numbers or booleans")


def key_name(key: str) -> str:
    """A condition key as requests name it: case-insensitive, but a tag's key after "/"."""
    head, slash, tail = key.partition("/")
    return head.lower() + slash + tail


# ---- matching helpers ------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """A policy pattern (* any run, ? any one character) as a regular expression."""
    text = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(text, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _any_of(patterns: Iterable[str] | None, ignore_case: bool) -> re.Pattern[str] | None:
    """One expression matching any of the patterns."""
    if patterns is None:
        return None
    joined = "|".join(f"(?:{_glob(p, ignore_case).pattern})" for p in patterns)
    return re.compile(joined, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _in_network(address: str, network: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> float | None:
    """Epoch seconds of an ISO 8601 date (or of epoch seconds given as a number)."""
    number = _number(text)
    return number if number is not None else epoch_of_iso8601(text)


def _related(got: float, relation: str, want: float) -> bool:
    if relation == "=":
        return got == want
    if relation == "<":
        return got < want
    if relation == "<=":
        return got <= want
    if relation == ">":
        return got > want
    return got >= want
