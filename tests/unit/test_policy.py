"""Bucket policy documents and their verdicts, in tables: what PutBucketPolicy refuses and
why; principals, actions (and NotAction), resources, every condition operator with IfExists,
ForAnyValue / ForAllValues and Null; an explicit Deny beating an Allow; and the action table
naming every endpoint."""

from __future__ import annotations

import json
from typing import Any

import pytest

from oxstore.auth import policy
from oxstore.s3.actions import ACTIONS
from oxstore.s3.endpoints import Endpoint
from oxstore.s3.errors import S3Error

BUCKET = "photos"
USER = "0123456789abcdef"
OTHER = "fedcba9876543210"
NAMES = frozenset({USER, f"arn:aws:iam::{USER}:root"})


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(**fields: Any) -> dict[str, Any]:
    """An Allow statement of GetObject by anyone of any object; fields given None: left out."""
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
        **fields,
    }
    return {k: v for k, v in statement.items() if v is not None}


def verdict(
    text: str,
    keys: dict[str, list[str]] | None = None,
    names: frozenset[str] = NAMES,
    action: str = "s3:GetObject",
    resource: str = f"arn:aws:s3:::{BUCKET}/a/b.jpg",
) -> policy.Verdict:
    given = {policy.key_name(k): v for k, v in (keys or {}).items()}
    return policy.parse(text, BUCKET).verdict(names, action, resource, given.get)


def test_every_endpoint_that_is_an_s3_action_has_one() -> None:
    not_actions = {Endpoint.CORS_PREFLIGHT, Endpoint.NOT_IMPLEMENTED}
    missing = [e for e in Endpoint if e not in ACTIONS and not e.is_admin and e not in not_actions]
    assert missing == []
    assert ACTIONS[Endpoint.GET_OBJECT].versioned == "s3:GetObjectVersion"
    assert ACTIONS[Endpoint.LIST_OBJECTS_V2].name == "s3:ListBucket"
    assert not ACTIONS[Endpoint.LIST_OBJECTS_V2].on_object


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "Policies must be valid JSON"),
        ("[1]", "Policies must be valid JSON"),
        (json.dumps({"Version": "2012-10-17"}), "Missing required field Statement"),
        (json.dumps({"Version": "2000-01-01", "Statement": [allow()]}), "valid version"),
        (document(allow(Effect="Maybe")), "Invalid effect"),
        (document(allow(Principal=None)), "Principal"),
        (document(allow(NotPrincipal={"AWS": USER})), "both Principal and NotPrincipal"),
        (document(allow(Action=None)), "Action"),
        (document(allow(Action="s3:Teleport")), "invalid action"),
        (document(allow(Action="ec2:RunInstances")), "invalid action"),
        (document(allow(Resource="arn:aws:s3:::other-bucket/*")), "invalid resource"),
        (document(allow(Resource="*")), "invalid resource"),
        (document(allow(Resource=f"arn:aws:s3:::{BUCKET}")), "does not apply to any resource"),
        (document(allow(Action="s3:ListBucket")), "does not apply to any resource"),
        (document(allow(Principal={"AWS": "someone"})), "Invalid principal"),
        (document(allow(Principal={"Service": "x"})), "Invalid principal"),
        (document(allow(Condition={"StringSortOf": {"aws:UserAgent": "x"}})), "Condition type"),
        (document(allow(Condition={"StringEquals": {"aws:Nothing": "x"}})), "condition key"),
        (document(allow(Condition={"Sometimes:StringLike": {"s3:prefix": "x"}})), "Condition"),
        (document(allow(Surprise=1)), "Unknown field"),
        (document(allow()) + " " * policy.MAX_POLICY, "maximum allowed document size"),
    ],
)
def test_documents_s3_refuses(text: str, reason: str) -> None:
    with pytest.raises(S3Error) as info:
        policy.parse(text, BUCKET)
    assert info.value.code == "MalformedPolicy"
    assert reason in info.value.message


def test_what_documents_may_say() -> None:
    parsed = policy.parse(
        document(
            allow(Sid="one statement", Action=["s3:Get*", "s3:ListBucket"]),
            allow(
                Effect="Deny",
                Principal={"AWS": [USER, f"arn:aws:iam::{OTHER}:user/backup"]},
                Action=None,
                NotAction="s3:GetObject",
                Resource=[f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            ),
            allow(Principal={"CanonicalUser": USER}, Action="*", Resource="arn:aws:s3:::pho*"),
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "NotResource": "arn:aws:s3:::photos/private/*",
            },
        ),
        BUCKET,
    )
    assert parsed.principals == {USER, f"arn:aws:iam::{OTHER}:user/backup"}
    assert policy.principal_owner(f"arn:aws:iam::{OTHER}:user/backup") == (OTHER, "backup")
    assert policy.principal_owner(f"arn:aws:iam::{OTHER}:root") == (OTHER, "")
    single = json.dumps({"Statement": allow()})  # one statement, not in a list; no Version
    assert (
        policy.parse(single, BUCKET).verdict(
            frozenset(), "s3:GetObject", "arn:aws:s3:::photos/x", {}.get
        )
        == "Allow"
    )


@pytest.mark.parametrize(
    ("statement", "names", "action", "resource", "expected"),
    [
        (allow(), NAMES, "s3:GetObject", "photos/a", "Allow"),
        (allow(), frozenset(), "s3:GetObject", "photos/a", "Allow"),  # anonymous: "*"
        (allow(), NAMES, "s3:PutObject", "photos/a", None),
        (allow(), NAMES, "s3:GetObject", "photos", None),
        (allow(Principal={"AWS": OTHER}), NAMES, "s3:GetObject", "photos/a", None),
        (allow(Principal={"AWS": USER}), NAMES, "s3:GetObject", "photos/a", "Allow"),
        (
            allow(Principal={"AWS": f"arn:aws:iam::{USER}:root"}),
            NAMES,
            "s3:GetObject",
            "photos/a",
            "Allow",
        ),
        (allow(Principal={"AWS": USER}), frozenset(), "s3:GetObject", "photos/a", None),
        (allow(Action="s3:get*"), NAMES, "s3:GetObjectVersion", "photos/a", "Allow"),  # no case
        (allow(Action="s3:Get?bject"), NAMES, "s3:GetObject", "photos/a", "Allow"),
        (allow(Resource="arn:aws:s3:::photos/a/*"), NAMES, "s3:GetObject", "photos/b/c", None),
        (allow(Resource="arn:aws:s3:::photos/A/*"), NAMES, "s3:GetObject", "photos/a/c", None),
        (allow(NotAction="s3:PutObject", Action=None), NAMES, "s3:GetObject", "photos/a", "Allow"),
        (allow(NotAction="s3:GetObject", Action=None), NAMES, "s3:GetObject", "photos/a", None),
        (
            allow(NotPrincipal={"AWS": USER}, Principal=None),
            NAMES,
            "s3:GetObject",
            "photos/a",
            None,
        ),
        (
            allow(NotPrincipal={"AWS": OTHER}, Principal=None),
            NAMES,
            "s3:GetObject",
            "photos/a",
            "Allow",
        ),
        (
            allow(NotResource="arn:aws:s3:::photos/a*", Resource=None),
            NAMES,
            "s3:GetObject",
            "photos/b",
            "Allow",
        ),
        (allow(Effect="Deny"), NAMES, "s3:GetObject", "photos/a", "Deny"),
    ],
)
def test_statements_apply_by_principal_action_and_resource(
    statement: dict[str, Any],
    names: frozenset[str],
    action: str,
    resource: str,
    expected: str | None,
) -> None:
    text = document(statement)
    assert (
        verdict(text, names=names, action=action, resource="arn:aws:s3:::" + resource) == expected
    )


def test_an_explicit_deny_beats_any_allow() -> None:
    text = document(allow(), allow(Effect="Deny", Resource="arn:aws:s3:::photos/secret/*"))
    assert verdict(text, resource="arn:aws:s3:::photos/public") == "Allow"
    assert verdict(text, resource="arn:aws:s3:::photos/secret/x") == "Deny"


def conditioned(condition: dict[str, Any], keys: dict[str, list[str]]) -> policy.Verdict:
    return verdict(document(allow(Condition=condition)), keys)


@pytest.mark.parametrize(
    ("condition", "keys", "holds"),
    [
        ({"StringEquals": {"s3:x-amz-acl": "private"}}, {"s3:x-amz-acl": ["private"]}, True),
        ({"StringEquals": {"s3:x-amz-acl": "private"}}, {"s3:x-amz-acl": ["public-read"]}, False),
        ({"StringEquals": {"s3:x-amz-acl": ["a", "private"]}}, {"s3:x-amz-acl": ["private"]}, True),
        ({"StringEquals": {"s3:x-amz-acl": "private"}}, {}, False),
        ({"StringEqualsIfExists": {"s3:x-amz-acl": "private"}}, {}, True),
        ({"StringNotEquals": {"s3:x-amz-acl": "public-read"}}, {"s3:x-amz-acl": ["private"]}, True),
        ({"StringNotEquals": {"s3:x-amz-acl": "public-read"}}, {}, True),
        ({"StringNotEquals": {"s3:x-amz-acl": ["a", "b"]}}, {"s3:x-amz-acl": ["b"]}, False),
        ({"StringEqualsIgnoreCase": {"aws:UserAgent": "BOTO"}}, {"aws:useragent": ["boto"]}, True),
        (
            {"StringNotEqualsIgnoreCase": {"aws:UserAgent": "BOTO"}},
            {"aws:useragent": ["boto"]},
            False,
        ),
        (
            {"StringLike": {"aws:Referer": "https://*.example.com/*"}},
            {"aws:referer": ["https://www.example.com/x"]},
            True,
        ),
        (
            {"StringLike": {"aws:Referer": "https://*.example.com/*"}},
            {"aws:referer": ["https://evil.com/x"]},
            False,
        ),
        ({"StringNotLike": {"s3:prefix": "home/*"}}, {"s3:prefix": ["tmp/"]}, True),
        ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": ["10"]}, True),
        ({"NumericLessThan": {"s3:max-keys": 10}}, {"s3:max-keys": ["10"]}, False),
        ({"NumericGreaterThan": {"s3:max-keys": "5"}}, {"s3:max-keys": ["6"]}, True),
        ({"NumericGreaterThanEquals": {"s3:max-keys": "5"}}, {"s3:max-keys": ["x"]}, False),
        ({"NumericEquals": {"s3:max-keys": "5"}}, {"s3:max-keys": ["5.0"]}, True),
        ({"NumericNotEquals": {"s3:max-keys": "5"}}, {"s3:max-keys": ["6"]}, True),
        (
            {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
            {"aws:currenttime": ["2026-12-02T00:00:00Z"]},
            True,
        ),
        (
            {"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
            {"aws:currenttime": ["2026-12-02T00:00:00Z"]},
            False,
        ),
        (
            {"DateGreaterThanEquals": {"aws:EpochTime": "1700000000"}},
            {"aws:epochtime": ["1800000000"]},
            True,
        ),
        (
            {"DateEquals": {"aws:CurrentTime": "2026-12-02"}},
            {"aws:currenttime": ["2026-12-02T00:00:00Z"]},
            True,
        ),
        (
            {"DateNotEquals": {"aws:CurrentTime": "2026-12-02"}},
            {"aws:currenttime": ["2026-12-02T00:00:00Z"]},
            False,
        ),
        (
            {"DateLessThanEquals": {"aws:CurrentTime": "2026-12-02T00:00:00Z"}},
            {"aws:currenttime": ["2026-12-02T00:00:00Z"]},
            True,
        ),
        ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:securetransport": ["false"]}, False),
        ({"Bool": {"aws:SecureTransport": True}}, {"aws:securetransport": ["true"]}, True),
        ({"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}, {"aws:sourceip": ["127.0.0.1"]}, True),
        (
            {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.1.7"]}},
            {"aws:sourceip": ["192.168.1.7"]},
            True,
        ),
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:sourceip": ["127.0.0.1"]}, False),
        ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:sourceip": ["127.0.0.1"]}, True),
        ({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, {"aws:sourceip": ["2001:db8::1"]}, True),
        ({"Null": {"s3:x-amz-server-side-encryption": "true"}}, {}, True),
        (
            {"Null": {"s3:x-amz-server-side-encryption": "true"}},
            {"s3:x-amz-server-side-encryption": ["AES256"]},
            False,
        ),
        (
            {"Null": {"s3:x-amz-server-side-encryption": "false"}},
            {"s3:x-amz-server-side-encryption": ["AES256"]},
            True,
        ),
        (
            {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{USER}:*"}},
            {"aws:principalarn": [f"arn:aws:iam::{USER}:root"]},
            True,
        ),
        (
            {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{USER}:root"}},
            {"aws:principalarn": [f"arn:aws:iam::{OTHER}:root"]},
            False,
        ),
        (
            {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{OTHER}:*"}},
            {"aws:principalarn": [f"arn:aws:iam::{USER}:root"]},
            True,
        ),
        (
            {"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}},
            {"s3:requestobjecttagkeys": ["b", "z"]},
            True,
        ),
        ({"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}}, {}, False),
        (
            {"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}},
            {"s3:requestobjecttagkeys": ["b", "z"]},
            False,
        ),
        (
            {"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}},
            {"s3:requestobjecttagkeys": ["a", "b"]},
            True,
        ),
        ({"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a"]}}, {}, True),
        (
            {"StringEquals": {"s3:ExistingObjectTag/Team": "blue"}},
            {"s3:existingobjecttag/Team": ["blue"]},
            True,
        ),
        (
            {"StringEquals": {"s3:ExistingObjectTag/Team": "blue"}},
            {"s3:existingobjecttag/team": ["blue"]},
            False,
        ),
        (
            {"StringEquals": {"s3:RequestObjectTag/Team": "blue"}},
            {"s3:requestobjecttag/Team": ["red"]},
            False,
        ),
        # every key and every operator must hold
        ({"StringEquals": {"s3:prefix": "a", "s3:delimiter": "/"}}, {"s3:prefix": ["a"]}, False),
        (
            {"StringEquals": {"s3:prefix": "a"}, "Bool": {"aws:SecureTransport": "true"}},
            {"s3:prefix": ["a"], "aws:securetransport": ["true"]},
            True,
        ),
    ],
)
def test_conditions(condition: dict[str, Any], keys: dict[str, list[str]], holds: bool) -> None:
    assert conditioned(condition, keys) == ("Allow" if holds else None)


def test_public_policies() -> None:
    assert policy.parse(document(allow()), BUCKET).public
    narrowed = allow(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    assert not policy.parse(document(narrowed), BUCKET).public
    assert not policy.parse(document(allow(Principal={"AWS": USER})), BUCKET).public
    assert not policy.parse(document(allow(Effect="Deny")), BUCKET).public
