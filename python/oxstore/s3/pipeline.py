"""The one request pipeline: address -> route -> authenticate -> rate limits -> authorise ->
quota -> handle, then the request is counted in the usage statistics.

Every S3Error becomes XML here and nowhere else.
"""

from __future__ import annotations

import base64
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from oxstore import console, operator_paths
from oxstore._native import NativeS3Error
from oxstore.access_log import Entry, now_iso
from oxstore.auth.authenticate import authenticate
from oxstore.auth.payload import content_length
from oxstore.auth.sigv4 import ANONYMOUS
from oxstore.data.store import NoSpaceError
from oxstore.http.request import Request, Response
from oxstore.limits.quotas import exceeded
from oxstore.limits.rates import OP_KIND
from oxstore.limits.usage import UsageMeter
from oxstore.meta.model import QuotaExceededError
from oxstore.meta.model.objects import NULL_VERSION
from oxstore.meta.records import BucketRecord
from oxstore.metrics import Meter
from oxstore.s3 import addressing
from oxstore.s3.context import Call, Services
from oxstore.s3.endpoints import Endpoint
from oxstore.s3.errors import ERRORS, S3Error
from oxstore.s3.ops import HANDLERS
from oxstore.s3.ops.cors import actual_response_headers
from oxstore.s3.permissions import authorize
from oxstore.s3.router import route
from oxstore.s3.xml import document, el

log = logging.getLogger("oxstore")

LOSSY_BYTES = "%EF%BF%BD"  # U+FFFD in the re-encoded path: bytes that were not UTF-8
# Writes that may add bytes to a bucket: checked against its quotas (limits.quotas); those
# whose body is the new data are refused before it is read when it cannot fit.
QUOTA_CHECKED = frozenset(
    {Endpoint.PUT_OBJECT, Endpoint.COPY_OBJECT, Endpoint.UPLOAD_PART, Endpoint.UPLOAD_PART_COPY}
)
BODY_IS_DATA = frozenset({Endpoint.PUT_OBJECT, Endpoint.UPLOAD_PART})

# Answered whatever the rate limits say: a browser's preflight precedes a request that is
# limited itself; the admin API must stay open to system users, who lift limits.
UNLIMITED = frozenset({Endpoint.CORS_PREFLIGHT})

# Unsigned by nature: browsers never sign preflights, and a POST upload's form carries its
# own signature, which the handler checks.
SELF_AUTHORIZED = frozenset({Endpoint.CORS_PREFLIGHT, Endpoint.POST_OBJECT})

Handler = Callable[[Call], Awaitable[Response]]


def new_request_id() -> str:
    return os.urandom(8).hex().upper()


class Pipeline:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def __call__(self, req: Request) -> Response:
        req.request_id = new_request_id()
        began = time.perf_counter()
        if self.services.meter is not None:
            self.services.meter.started()
        try:
            response = await self._dispatch(req)
        except S3Error as err:
            response = error_response(req, err)
        except NativeS3Error as err:
            response = error_response(req, from_native(err, req.request_id))
        except QuotaExceededError as err:
            response = error_response(req, exceeded(err.what))
        except NoSpaceError:
            response = error_response(req, S3Error("InsufficientStorage"))
        except Exception:
            log.exception("request %s failed", req.request_id)
            response = error_response(req, S3Error("InternalError"))
        if "origin" in req.headers and req.method != "OPTIONS":
            try:
                response.headers += await actual_response_headers(self.services.meta, req)
            except Exception:  # CORS headers never turn an answer into a failure
                log.exception("CORS headers for request %s", req.request_id)
        response.headers.append(("x-amz-request-id", req.request_id))
        response.headers.append(("x-amz-id-2", base64.b64encode(req.request_id.encode()).decode()))
        if self.services.usage is not None and req.operation:
            count_usage(self.services.usage, req, response)
        observe(self.services, req, response, began)
        return response

    async def _dispatch(self, req: Request) -> Response:
        token = self.services.config.metrics_token
        if req.raw_path.startswith(operator_paths.PREFIX) or operator_paths.is_scrape(req, token):
            return await operator_paths.answer(req, self.services)
        if LOSSY_BYTES in req.raw_path:
            # granian decodes the path as UTF-8, replacing what is not with U+FFFD: refused,
            # as S3 refuses invalid UTF-8, so that no two byte strings alias one key
            raise S3Error("InvalidURI", URI=req.raw_path)
        config = self.services.config
        host = req.headers.get("host", "")
        bucket, req.key = addressing.resolve(host, req.raw_path, config.domains)
        req.virtual_host = addressing.host_bucket(host, config.domains) is not None
        req.tenant, req.bucket = addressing.split_tenant(bucket)
        endpoint = route(req)
        req.api = endpoint.value
        req.operation = OP_KIND.get(endpoint, "default")
        if req.unreadable:
            refuse_unreadable(req)
        if endpoint is Endpoint.CORS_PREFLIGHT:
            auth = ANONYMOUS  # browsers never sign a preflight; one that looks signed is not
        else:
            assert self.services.keys is not None
            auth = await authenticate(
                req, self.services.keys, config.offer.signing_regions, time.time()
            )
        anonymous = auth.access_key is None
        if endpoint is Endpoint.LIST_BUCKETS and anonymous and console.is_navigation(req):
            return console.entrance()  # an operator opening the printed endpoint in a browser
        req.requester = auth.owner or ""
        call = Call(req, auth, self.services)
        limiter = self.services.limiter
        admin = endpoint.is_admin and auth.system
        if limiter is not None and endpoint not in UNLIMITED and not admin:
            call.pacer = await limiter.admit(endpoint, auth.owner, req.bucket)
        if endpoint not in SELF_AUTHORIZED:
            await authorize(call, endpoint)
        if endpoint in QUOTA_CHECKED:
            await self._check_quota(call, endpoint)
        if endpoint in (Endpoint.NOT_IMPLEMENTED, Endpoint.ADMIN_NOT_IMPLEMENTED):
            if req.bucket and call.bucket_record is None:  # as every bucket operation answers
                raise S3Error("NoSuchBucket", BucketName=req.bucket)
            raise S3Error(
                "NotImplemented",
                "This operation is not implemented yet by oxstore.",
            )
        return await HANDLERS[endpoint](call)

    async def _check_quota(self, call: Call, endpoint: Endpoint) -> None:
        quotas, bucket = self.services.quotas, call.bucket_record
        if quotas is None or bucket is None:
            return  # NoSuchBucket is the handler's answer
        call.quota = await quotas.quota_for(bucket)
        if call.quota is not None and endpoint in BODY_IS_DATA:
            incoming = (content_length(call.req) or 0) - await _replaced_bytes(call, bucket)
            await quotas.refuse_early(bucket, call.quota, incoming)


async def _replaced_bytes(call: Call, bucket: BucketRecord) -> int:
    """The bytes a PUT or UploadPart frees as it commits: the object it overwrites (in a bucket
    that keeps no other version), the part of the same number it uploads again. An overwrite
    that ends within the quota is not refused for the bytes it replaces."""
    number = call.req.arg("partNumber")
    upload_id = call.req.arg("uploadId")
    if upload_id is not None:
        if number is None or not number.isdigit():
            return 0  # the handler's InvalidArgument
        first = await call.meta.list_parts(upload_id, after=int(number) - 1, limit=1)
        return first[0].size if first and first[0].number == int(number) else 0
    if bucket.versioning == "Enabled":
        return 0
    found, current = call.read_object(bucket.name, call.key)
    if not found:
        current = await call.meta.get_object(bucket.name, call.key)
    if current is None or (bucket.versioning and current.version_id != NULL_VERSION):
        return 0  # suspended: a real version stays, only the null one is replaced
    return current.size


def count_usage(meter: UsageMeter, req: Request, response: Response) -> None:
    """The request in the usage statistics: its operation and its bytes (a streamed body's as
    they go out)."""
    sent = req.headers.get("content-length", "")
    uploaded = int(sent) if sent.isdigit() else 0
    bucket = req.bucket or ""
    downloaded = len(response.body or b"")
    if response.file is not None:
        downloaded = response.file[2] - response.file[1]
    elif response.stream is not None:
        response.stream = meter.counted_stream(response.stream, bucket, req.requester)
    meter.count(req.operation, bucket, req.requester, uploaded, downloaded)


def observe(services: Services, req: Request, response: Response, began: float) -> None:
    """The answer in the metrics and the access log: its API, status, error, bytes and times
    (a streamed body's bytes and end as it goes out)."""
    meter, access = services.meter, services.access_log
    if meter is None and access is None:
        return
    length = req.headers.get("content-length", "")
    received = int(length) if length.isdigit() else 0
    size = len(response.body or b"")
    if response.file is not None:
        size = response.file[2] - response.file[1]
    api = req.api or "Operator"
    if meter is not None:
        meter.answered(api, response.status, req.error, received, size, began)

    def done(sent: int) -> None:
        if meter is not None:
            meter.finished(api, began)
        if access is not None:
            access.write(log_entry(req, response.status, received, sent, began))

    if response.stream is None:
        done(size)
    else:
        response.stream = _counted(response.stream, meter, done)


async def _counted(
    stream: AsyncIterator[bytes], meter: Meter | None, done: Callable[[int], None]
) -> AsyncIterator[bytes]:
    """A streamed body, its bytes counted as they go; done(bytes) at its end or abandonment."""
    sent = 0
    try:
        async for chunk in stream:
            sent += len(chunk)
            if meter is not None:
                meter.sent(len(chunk))
            yield chunk
    finally:
        done(sent)


def log_entry(req: Request, status: int, received: int, sent: int, began: float) -> Entry:
    return Entry(
        time=now_iso(),
        request_id=req.request_id,
        remote=req.client,
        requester=req.requester,
        bucket=req.bucket or "",
        key=req.key or "",
        api=req.api or "Operator",
        status=status,
        error=req.error,
        bytes_in=received,
        bytes_out=sent,
        seconds=round(time.perf_counter() - began, 6),
    )


def refuse_unreadable(req: Request) -> None:
    """A request whose x-amz-* or signed headers carry values the server cannot read (bytes
    beyond visible ASCII, which granian does not hand over) is refused, naming the header:
    answering it would drop metadata silently or fail its signature for no visible reason."""
    signed = req.headers.get("authorization", "") + (req.arg("X-Amz-SignedHeaders") or "")
    for name in req.unreadable:
        if name.startswith("x-amz-") or name in signed:
            raise S3Error(
                "InvalidArgument",
                f"The value of the {name} header is not US-ASCII text; oxstore reads header "
                "values of printable US-ASCII only (send other text as an RFC 2047 encoded "
                "word, =?UTF-8?B?...?=).",
                ArgumentName=name,
            )


def from_native(err: NativeS3Error, request_id: str) -> S3Error:
    """The S3 answer of a core error; an internal one is logged and answered with the
    table's message only (the core's names files and OS errors)."""
    code = err.code if err.code in ERRORS else "InternalError"
    if code == "InternalError":
        log.error("request %s failed in the core: %s", request_id, err.message)
        return S3Error(code)
    return S3Error(code, err.message)


MAX_ECHOED = 1024  # characters of a request's own input an error answer repeats


def bounded(value: str) -> str:
    """Input echoed in an error (an ETag, a key, a header): never more than MAX_ECHOED."""
    return value if len(value) <= MAX_ECHOED else value[:MAX_ECHOED] + "..."


def error_response(req: Request, err: S3Error) -> Response:
    req.error = err.code
    headers = [("content-type", "application/xml"), *err.headers]
    if "Region" in err.extra:  # the region to sign for: a HEAD's answer has no body to say it
        headers.append(("x-amz-bucket-region", err.extra["Region"]))
    if req.method == "HEAD":
        return Response(status=err.status, headers=headers)
    resource = req.raw_path
    body = document(
        "Error",
        [
            el("Code", err.code),
            el("Message", err.message),
            *(el(name, bounded(value)) for name, value in err.extra.items()),
            el("Resource", resource),
            el("RequestId", req.request_id),
        ],
        namespace=False,
    )
    return Response(status=err.status, headers=headers, body=body)
