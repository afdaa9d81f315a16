"""Multipart throughput: starts oxstore (one worker) and measures, in one run,

- a 1 GiB object uploaded as 64 MiB parts, 8 at a time, and downloaded with 8 concurrent ranged
  GETs (first from disk, then from the page cache), and in one GET streamed across its parts;
- the same object as one single-stream PUT and GET, for comparison;
- CompleteMultipartUpload of 1,000 parts: its latency;
- beside them, this machine's single-core MD5 and loopback TCP speeds from the same run.

    python bench/e2e/multipart.py [--size-mib 1024] [--part-mib 64] [--streams 8]
"""

from __future__ import annotations

import argparse
import http.client
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import (  # noqa: E402
    BLOCK,
    MiB,
    Server,
    big_get,
    big_put,
    loopback_speed,
    md5_speed,
    request,
    signed_headers,
)


def call(
    port: int, method: str, path: str, body: bytes | memoryview = b"", headers=None
) -> tuple[int, dict[str, str], bytes]:  # type: ignore[no-untyped-def]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    extra = {"content-length": str(len(body))} if method in ("PUT", "POST") else {}
    signed = signed_headers(port, method, path, {**extra, **(headers or {})})
    conn.request(method, path, body=body if body else None, headers=signed)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
    return response.status, dict(response.getheaders()), data


def create(port: int, key: str) -> str:
    _, _, body = call(port, "POST", f"/bench/{key}?uploads")
    match = re.search(rb"<UploadId>([^<]+)</UploadId>", body)
    assert match, body
    return match[1].decode()


def complete(port: int, key: str, upload_id: str, etags: list[str]) -> float:
    """Completes the upload; returns the seconds Complete took."""
    parts = "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>"
        for n, e in enumerate(etags, start=1)
    )
    body = f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()
    started = time.perf_counter()
    call(port, "POST", f"/bench/{key}?uploadId={upload_id}", body)
    return time.perf_counter() - started


def part_body(size: int) -> memoryview:
    """Part bodies are slices of BLOCK (64 MiB of random bytes)."""
    if size > len(BLOCK):
        raise SystemExit(f"parts of at most {len(BLOCK) // MiB} MiB")
    return memoryview(BLOCK)[:size]


def multipart_upload(port: int, key: str, size: int, part_size: int, streams: int) -> float:
    upload_id = create(port, key)
    count = size // part_size

    def upload(number: int) -> str:
        path = f"/bench/{key}?partNumber={number}&uploadId={upload_id}"
        _, headers, _ = call(port, "PUT", path, part_body(part_size))
        return headers["etag"]

    started = time.perf_counter()
    with ThreadPoolExecutor(streams) as pool:
        etags = list(pool.map(upload, range(1, count + 1)))
    complete(port, key, upload_id, etags)
    return size / MiB / (time.perf_counter() - started)


def ranged_download(port: int, key: str, size: int, part_size: int, streams: int) -> float:
    def fetch(index: int) -> int:
        first = index * part_size
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        headers = signed_headers(
            port, "GET", f"/bench/{key}", {"range": f"bytes={first}-{first + part_size - 1}"}
        )
        conn.request("GET", f"/bench/{key}", headers=headers)
        response = conn.getresponse()
        buf = bytearray(4 * MiB)
        got = 0
        while (n := response.readinto(buf)) > 0:
            got += n
        conn.close()
        assert response.status == 206 and got == part_size, (response.status, got)
        return got

    started = time.perf_counter()
    with ThreadPoolExecutor(streams) as pool:
        total = sum(pool.map(fetch, range(size // part_size)))
    return total / MiB / (time.perf_counter() - started)


def complete_latency(port: int, parts: int) -> float:
    upload_id = create(port, "many")

    def upload(number: int) -> str:
        path = f"/bench/many?partNumber={number}&uploadId={upload_id}"
        return call(port, "PUT", path, b"x" * 16)[1]["etag"]

    with ThreadPoolExecutor(8) as pool:
        etags = list(pool.map(upload, range(1, parts + 1)))
    return complete(port, "many", upload_id, etags)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--part-mib", type=int, default=64)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--complete-parts", type=int, default=1000)
    parser.add_argument("--dir", default=None, help="data directory parent (default: a temp dir)")
    args = parser.parse_args()
    size, part_size = args.size_mib * MiB, args.part_mib * MiB
    md5 = md5_speed()
    loopback = loopback_speed()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        # small parts are allowed so that Complete of many parts can be timed
        server = Server(Path(tmp) / "data", ("--min-part-size", "1"))
        try:
            request(
                http.client.HTTPConnection("127.0.0.1", server.port), server.port, "PUT", "/bench"
            )
            single_put, _ = big_put(server, size)
            big_get(server, size)  # from disk
            single_get = big_get(server, size)
            mp_put = multipart_upload(server.port, "mp", size, part_size, args.streams)
            cold = ranged_download(server.port, "mp", size, part_size, args.streams)
            warm = ranged_download(server.port, "mp", size, part_size, args.streams)
            whole = big_get(server, size, "/bench/mp")  # streamed across the part files
            latency = complete_latency(server.port, args.complete_parts)
        finally:
            server.stop()
    mib, streams = args.size_mib, args.streams
    print(f"machine: single-core MD5 {md5:8.0f} MB/s   loopback TCP {loopback:8.0f} MB/s")
    print(
        f"PUT {mib} MiB as {args.part_mib} MiB parts, {streams} at a time: {mp_put:6.0f} MB/s"
        f" = {mp_put / md5:5.0%} of MD5 (single stream: {single_put:.0f} MB/s)"
    )
    print(
        f"GET {mib} MiB as {streams} concurrent ranges: {warm:6.0f} MB/s = {warm / loopback:5.0%}"
        f" of loopback (page cache; from disk {cold:.0f} MB/s; single stream {single_get:.0f})"
    )
    print(f"GET {mib} MiB multipart object, single stream across parts: {whole:6.0f} MB/s")
    print(f"CompleteMultipartUpload of {args.complete_parts} parts: {latency * 1000:.0f} ms")


if __name__ == "__main__":
    main()
