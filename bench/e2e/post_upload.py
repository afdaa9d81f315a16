"""Browser-form upload throughput: one POST Object of a large file (default 1 GiB) streamed as
multipart/form-data with a V4 policy, beside a single PUT of the same size and this machine's
MD5 speed, all from one run.

    python bench/e2e/post_upload.py [--size-mib 1024] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import http.client
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).parent))
from harness import (  # noqa: E402
    ACCESS,
    SECRET,
    MiB,
    Server,
    big_put,
    md5_speed,
    request,
    send_generated,
)

BOUNDARY = "----oxstorebenchboundary7MA4YWxkTrZu0gW"


def post_upload(server: Server, size: int) -> float:
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{server.port}",
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    form = s3.generate_presigned_post("bench", "posted.bin", ExpiresIn=3600)
    head = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in form["fields"].items()
    )
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    url = urlsplit(form["url"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=3600)
    started = time.perf_counter()
    conn.putrequest("POST", url.path)
    conn.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.endheaders()
    conn.send(head.encode())
    send_generated(conn, size)
    conn.send(tail)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 204:
        raise RuntimeError(f"POST failed: {response.status} {body[:300]!r}")
    return size / MiB / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--dir", default=None, help="data directory parent (default: a temp dir)")
    args = parser.parse_args()
    size = args.size_mib * MiB
    md5 = md5_speed()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        server = Server(Path(tmp) / "data")
        try:
            request(
                http.client.HTTPConnection("127.0.0.1", server.port), server.port, "PUT", "/bench"
            )
            put_rate, _ = big_put(server, size)
            post_rate = post_upload(server, size)
        finally:
            server.stop()
    print(f"machine: single-core MD5 {md5:8.0f} MB/s")
    print(f"PUT  {args.size_mib} MiB: {put_rate:6.0f} MB/s = {put_rate / md5:5.0%} of MD5")
    share = post_rate / md5
    print(f"POST {args.size_mib} MiB form upload: {post_rate:6.0f} MB/s = {share:5.0%} of MD5")


if __name__ == "__main__":
    main()
