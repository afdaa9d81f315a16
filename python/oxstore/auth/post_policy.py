"""POST policies of browser uploads: who signed the form (V4 or V2 signature over the base64
policy), whether the policy is current, and whether every form field meets its conditions."""

from __future__ import annotations

import base64
import binascii
import calendar
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from oxstore import _native
from oxstore.auth.credentials import Keyring
from oxstore.auth.sigv4 import ALGORITHM, split_credential
from oxstore.s3.errors import S3Error

# Fields a policy never has to mention.
EXEMPT = frozenset({"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file"})


def _denied(detail: str) -> S3Error:
    return S3Error("AccessDenied", f"Invalid according to Policy: {detail}")


@dataclass(slots=True)
class Policy:
    expiration: float
    conditions: list[object]
    length_range: tuple[int, int] | None = None  # content-length-range


def authenticate(
    fields: dict[str, str], creds: Keyring, regions: Sequence[str], now: float
) -> str | None:
    """The access key whose signature the form carries; None for an unsigned form."""
    policy = fields.get("policy")
    if "x-amz-signature" in fields or "x-amz-algorithm" in fields:
        if fields.get("x-amz-algorithm") != ALGORITHM or policy is None:
            raise S3Error("InvalidRequest", "POST requires x-amz-algorithm AWS4-HMAC-SHA256.")
        access_key, date, region, service = split_credential(
            fields.get("x-amz-credential", ""), _denied
        )
        if region not in regions or service != "s3":
            raise S3Error("AuthorizationQueryParametersError", f"Invalid region {region}.")
        secret = creds.secret_for(access_key)
        if secret is None:
            raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access_key)
        key = _native.sigv4_signing_key(secret, date, region, service)
        expected = _native.hmac_sha256(key, policy.encode()).hex()
        provided = _required(fields, "x-amz-signature")
    elif "signature" in fields or "awsaccesskeyid" in fields:
        access_key = fields.get("awsaccesskeyid", "")
        secret = creds.secret_for(access_key)
        if secret is None:
            raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access_key)
        if policy is None:
            raise S3Error("InvalidArgument", "Missing policy", ArgumentName="policy")
        expected = _native.sigv2_signature(secret, policy)
        provided = _required(fields, "signature")
    else:
        return None
    if not _native.constant_time_eq(expected, provided):
        raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=access_key)
    return access_key


def _required(fields: dict[str, str], name: str) -> str:
    """A field a signed form must carry: a form that names a signer but carries no signature
    is malformed (400), not a wrong signature (403)."""
    if name not in fields:
        raise S3Error(
            "InvalidArgument",
            f"Bucket POST must contain a field named '{name}'.",
            ArgumentName=name,
        )
    return fields[name]


def parse(encoded: str, now: float) -> Policy:
    try:
        document = json.loads(base64.b64decode(encoded, validate=True))
        expiration = calendar.timegm(
            time.strptime(document["expiration"].split(".")[0].rstrip("Z"), "%Y-%m-%dT%H:%M:%S")
        )
        conditions = document.get("conditions")
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from exc
    if not isinstance(conditions, list) or not conditions:
        raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid 'conditions' value.")
    if now > expiration:
        raise _denied("Policy expired.")
    return Policy(expiration=expiration, conditions=conditions)


def check(policy: Policy, fields: dict[str, str], bucket: str) -> None:
    """Every condition holds and every field (but the exempt ones) is covered by one."""
    values = {**fields, "bucket": bucket}
    covered: set[str] = {"bucket"}
    for condition in policy.conditions:
        if isinstance(condition, dict):
            if len(condition) != 1:
                raise S3Error(
                    "InvalidPolicyDocument",
                    "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly "
                    "one property specified.",
                )
            for name, expected in condition.items():
                _exact(values, name.lower(), str(expected))
                covered.add(name.lower())
        elif isinstance(condition, list) and len(condition) == 3:
            op = str(condition[0]).lower()
            if op == "content-length-range":
                try:
                    policy.length_range = (int(condition[1]), int(condition[2]))
                except (TypeError, ValueError) as exc:
                    raise S3Error("InvalidPolicyDocument") from exc
                continue
            name = str(condition[1]).lower().lstrip("$")
            covered.add(name)
            if op == "eq":
                _exact(values, name, str(condition[2]))
            elif op == "starts-with":
                if not values.get(name, "").startswith(str(condition[2])):
                    raise _denied(f'Policy Condition failed: ["starts-with", "${name}", ...]')
            else:
                raise S3Error("InvalidPolicyDocument", f"Invalid condition operator {op}.")
        else:
            raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid condition.")
    extra = [
        name
        for name in fields
        if name not in covered and name not in EXEMPT and not name.startswith("x-ignore-")
    ]
    if extra:
        raise _denied(f"Extra input fields: {', '.join(sorted(extra))}")


def _exact(values: dict[str, str], name: str, expected: str) -> None:
    if values.get(name) != expected:
        raise _denied(f'Policy Condition failed: ["eq", "${name}", "{expected}"]')
