"""A small listener beside granian's, on threads of the server's main process (the standard
library's HTTP server): the plain-HTTP redirect of a TLS server, the metrics' own address.
Neither carries payloads: a few requests a minute need no more."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Listener(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), handler)


def serve(
    host: str, port: int, handler: type[BaseHTTPRequestHandler], name: str
) -> ThreadingHTTPServer:
    """Listens on host:port (IPv4 or IPv6) and answers from a daemon thread named `name`."""
    listener = _Listener(host, port, handler)
    threading.Thread(target=listener.serve_forever, name=name, daemon=True).start()
    return listener
