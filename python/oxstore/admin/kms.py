"""`?ostor-kms-keys`: the KMS keyring of SSE-KMS (oxstore's addition beside the ostor calls).
GET lists the keys, PUT creates one (`&description=TEXT`), POST `&keyId=ID&rotate` gives a key
a new current version. Answers describe keys, never their material."""

from __future__ import annotations

from typing import Any

from oxstore.admin.common import json_response
from oxstore.http.request import Response
from oxstore.kms import KmsKeys
from oxstore.meta.records import KmsKeyRecord
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.xml import iso8601

MAX_DESCRIPTION = 8192  # characters, as AWS KMS allows


def _keyring(call: Call) -> KmsKeys:
    assert call.services.kms is not None
    return call.services.kms


def _entry(record: KmsKeyRecord, default_id: str | None) -> dict[str, Any]:
    return {
        "KeyId": record.id,
        "Description": record.description,
        "Created": iso8601(record.created),
        "Versions": len(record.versions),
        "Default": record.id == default_id,
    }


async def _answer(call: Call, record: KmsKeyRecord) -> Response:
    return json_response(_entry(record, await _keyring(call).default_id()))


async def get_kms_keys(call: Call) -> Response:
    keyring = _keyring(call)
    default_id = await keyring.default_id()
    return json_response({"Keys": [_entry(r, default_id) for r in await keyring.list()]})


async def put_kms_keys(call: Call) -> Response:
    description = call.req.arg("description") or ""
    if len(description) > MAX_DESCRIPTION:
        raise S3Error("InvalidArgument", f"description: at most {MAX_DESCRIPTION} characters.")
    return await _answer(call, await _keyring(call).create(description))


async def post_kms_keys(call: Call) -> Response:
    key_id = call.req.arg("keyId")
    if not key_id:
        raise S3Error("InvalidArgument", "Name the key with keyId.")
    if not call.req.has_arg("rotate"):
        raise S3Error("InvalidArgument", "Give rotate (the only change a key takes).")
    return await _answer(call, await _keyring(call).rotate(key_id))
