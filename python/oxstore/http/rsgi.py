"""The RSGI adapter: the only code that knows granian's protocol objects."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

from granian._granian import RSGIProtocolClosed as ProtocolClosed
from granian._granian import RSGIProtocolError as ProtocolError

from oxstore.http.request import Request, Response, parse_query
from oxstore.s3.errors import S3Error

Handler = Callable[[Request], Awaitable[Response]]
log = logging.getLogger("oxstore")


async def _no_body() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


async def _whole(protocol: Any) -> AsyncIterator[bytes]:
    yield await protocol()


# Bodies up to this many bytes (by Content-Length) are read in one await: each await of
# granian's body is a wake-up of the event loop from granian's thread, which a 4 KiB PUT
# would otherwise pay twice (the chunk, then the end).
WHOLE_BODY_MAX = 64 * 1024


class _Body:
    """The request body; a connection that breaks mid-body ends it as IncompleteBody, one
    whose body sends nothing for `idle_timeout` seconds as RequestTimeout.

    `read` tells whether the handler asked for it: the server sends "100 Continue" to a client
    that sent `Expect: 100-continue` only then.

    The idle check costs a clock read per chunk: one timer per body looks at how long the body
    has been waiting for the client and cancels that wait only (8 us of asyncio.wait_for per
    chunk would cost a large upload several percent).
    """

    def __init__(self, protocol: Any, idle_timeout: float, whole: bool) -> None:
        self.protocol = protocol
        self.whole = whole
        self.read = False
        self.timed_out = False
        self._idle_timeout = idle_timeout
        self._waiting = False
        self._waiting_since = 0.0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.read = True
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        timer = loop.call_later(self._idle_timeout, self._check, loop, task)
        chunks = _whole(self.protocol) if self.whole else self.protocol.__aiter__()
        try:
            while True:
                self._waiting, self._waiting_since = True, loop.time()
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    if not self.timed_out:
                        raise
                    task.uncancel()
                    raise S3Error("RequestTimeout") from None
                except (ProtocolError, ProtocolClosed) as exc:
                    raise S3Error("IncompleteBody") from exc
                finally:
                    self._waiting = False
                yield chunk
        finally:
            timer.cancel()

    def _check(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
        idle = loop.time() - self._waiting_since if self._waiting else 0.0
        if idle >= self._idle_timeout:
            self.timed_out = True
            task.cancel()
        else:  # look again when this wait (or the next one) could have lasted long enough
            loop.call_later(self._idle_timeout - idle, self._check, loop, task)


class RSGIApp:
    def __init__(self, handler: Handler, body_timeout: float) -> None:
        self.handler = handler
        self.body_timeout = body_timeout  # seconds a request body may send nothing

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return
        header_list = [(k.lower(), v) for k, v in scope.headers.items()]
        from_authority = bool(scope.authority) and "host" not in scope.headers
        if from_authority:  # HTTP/2 names the host in :authority; a signature covers it as host
            header_list.append(("host", scope.authority))
        headers: dict[str, str] = {}
        for name, value in header_list:
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        unreadable: tuple[str, ...] = ()
        if len(headers) - from_authority < len(scope.headers):
            # granian hands over only values of visible ASCII: a header whose bytes are not
            # (UTF-8 or Latin-1 text) is there by name, its value out of reach
            unreadable = tuple(k.lower() for k in scope.headers.keys() if k.lower() not in headers)
        length = headers.get("content-length", "0")
        chunked = "transfer-encoding" in headers
        body = None
        if length != "0" or chunked:
            whole = not chunked and length.isdigit() and int(length) <= WHOLE_BODY_MAX
            body = _Body(protocol, self.body_timeout, whole)
        request = Request(
            method=scope.method.upper(),
            # granian hands over the path percent-decoded; S3 signs the path encoded once with
            # its own rules, so re-encoding gives back what every standard client signed.
            raw_path=quote(scope.path, safe="/"),
            query_string=scope.query_string,
            query=parse_query(scope.query_string),
            headers=headers,
            header_list=header_list,
            body=body.__aiter__() if body is not None else _no_body(),
            client=scope.client,
            tls=scope.scheme == "https",
            unreadable=unreadable,
        )
        response = await self.handler(request)
        if body is not None and body.timed_out:
            response.headers.append(("connection", "close"))  # the rest of the body is unread
        elif "expect" in headers and (body is None or not body.read):
            # answered without "100 Continue": botocore then parses the next response on this
            # connection with this one's status line (its AWSConnection keeps the early
            # response's status), so the connection must not be reused
            response.headers.append(("connection", "close"))
        await send(protocol, response)


async def _stream(protocol: Any, response: Response) -> None:
    """A streamed body. One that fails past its first bytes (data found lost mid-read) ends
    short of its declared length: granian cuts the connection as soon as the transport is
    dropped, so it is dropped here whatever happens (raised on, the error's traceback would
    hold this frame, and the transport in it, until the garbage collector freed the cycle:
    the client waited a minute or more for bytes that never came)."""
    assert response.stream is not None
    transport = protocol.response_stream(response.status, response.headers)
    try:
        async for chunk in response.stream:
            await transport.send_bytes(chunk)
    except Exception:
        log.exception("a response body failed after its status was sent")
    finally:
        del transport


async def send(protocol: Any, response: Response) -> None:
    if response.file is not None:
        path, start, end = response.file
        protocol.response_file_range(response.status, response.headers, path, start, end)
    elif response.stream is not None:
        await _stream(protocol, response)
    elif response.body:
        protocol.response_bytes(response.status, response.headers, response.body)
    else:
        protocol.response_empty(response.status, response.headers)
