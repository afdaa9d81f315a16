"""The plain-HTTP listener of a server that speaks HTTPS: every request is redirected to the
same URL over https, as the provider's gateway does (301 for reads; 308 for the others, which
keeps their method and body), or refused with S3's 403 AccessDenied ("refuse").

It reads no request body and answers one request per connection, with a deadline for the
request line and headers; it runs on a thread of the server's main process.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from oxstore.http import side_listener
from oxstore.s3.xml import document, el

REFUSAL = document(
    "Error",
    [el("Code", "AccessDenied"), el("Message", "Requests must use https.")],
    namespace=False,
)


def start(host: str, port: int, tls_port: int, answer: str, deadline: float) -> ThreadingHTTPServer:
    """Listens on host:port and answers from a daemon thread; returns the server."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "oxstore"
        timeout = deadline  # seconds the request line and headers may take

        def _answer(self) -> None:
            if answer == "refuse":
                self.send_response(403)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(REFUSAL)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(REFUSAL)
                return
            name = (self.headers.get("Host") or host).rsplit(":", 1)[0]
            self.send_response(301 if self.command in ("GET", "HEAD") else 308)
            self.send_header("Location", f"https://{name}:{tls_port}{self.path}")
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()

        do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_OPTIONS = _answer

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            pass

    return side_listener.serve(host, port, Handler, "plain-http")
