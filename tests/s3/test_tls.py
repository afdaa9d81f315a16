"""HTTPS: a CA and certificate made at test time (trustme), the server started with
--tls-cert/--tls-key, driven by boto3, presigned URLs, the AWS CLI, rclone and s3cmd; the plain
listener's redirect or refusal; a renewed certificate taken up on SIGHUP while an upload in
flight completes."""

from __future__ import annotations

import hashlib
import http.client
import os
import signal
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme

from tests.conftest import (
    Server,
    Tool,
    free_port,
    rclone_remote,
    require_binary,
    s3cmd_config,
)
from tests.s3.signing import sign


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _certificate(ca: trustme.CA, directory: Path, name: str) -> tuple[Path, Path]:
    cert = ca.issue_cert("127.0.0.1", "localhost", common_name=name)
    chain, key = directory / f"{name}.pem", directory / f"{name}.key"
    cert.private_key_pem.write_to_path(str(key))
    with open(chain, "wb") as out:
        for blob in cert.cert_chain_pems:
            out.write(blob.bytes())
    return chain, key


def _start(ca: trustme.CA, tmp: Path, *extra: str) -> Server:
    chain, key = _certificate(ca, tmp, "first")
    ca_file = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    args = ["--tls-cert", str(chain), "--tls-key", str(key), *extra]
    return Server(tmp / "data", free_port(), args, tls_ca=ca_file).start()


@pytest.fixture(scope="module")
def tls_server(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("tls")
    plain = free_port()
    srv = _start(ca, tmp, "--plain-address", f"127.0.0.1:{plain}")
    srv.plain_port = plain  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def test_boto3_and_presigned_urls_over_tls(tls_server: Server) -> None:
    s3 = tls_server.client(s3={"addressing_style": "path"})
    s3.create_bucket(Bucket="secure")
    payload = os.urandom(6 * 1024 * 1024)
    s3.put_object(Bucket="secure", Key="big", Body=payload)
    assert s3.get_object(Bucket="secure", Key="big")["Body"].read() == payload
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "secure", "Key": "pre"})
    assert requests.put(put_url, data=b"presigned", verify=tls_server.tls_ca, timeout=10).ok
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": "secure", "Key": "pre"})
    assert requests.get(get_url, verify=tls_server.tls_ca, timeout=10).content == b"presigned"
    with pytest.raises(requests.exceptions.SSLError):  # the client checks the certificate
        requests.get(get_url, timeout=10)


def test_command_line_clients_over_tls(tls_server: Server, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": os.environ["PATH"],
        "AWS_ACCESS_KEY_ID": tls_server.access_key,
        "AWS_SECRET_ACCESS_KEY": tls_server.secret_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    tool = Tool(home, env)
    (home / "file.bin").write_bytes(os.urandom(300_000))
    aws = require_binary("aws")
    endpoint = ["--endpoint-url", tls_server.endpoint, "--ca-bundle", str(tls_server.tls_ca)]
    tool.run(aws, *endpoint, "s3", "mb", "s3://cli-tls")
    tool.run(aws, *endpoint, "s3", "cp", str(home / "file.bin"), "s3://cli-tls/aws.bin")
    rclone = require_binary("rclone")
    tool.env.update(rclone_remote(tls_server))
    rclone_args = ["--config", str(home / "rclone.conf"), "--ca-cert", str(tls_server.tls_ca)]
    tool.run(rclone, *rclone_args, "copyto", str(home / "file.bin"), "ox:cli-tls/rclone.bin")
    config = s3cmd_config(tool, tls_server, extra="signature_v2 = False\n")
    s3cmd = require_binary("s3cmd")
    tool.run(s3cmd, "-c", str(config), "put", str(home / "file.bin"), "s3://cli-tls/s3cmd.bin")
    listed = tool.run(aws, *endpoint, "s3", "ls", "s3://cli-tls/").stdout
    assert all(name in listed for name in ("aws.bin", "rclone.bin", "s3cmd.bin"))
    tool.run(s3cmd, "-c", str(config), "get", "s3://cli-tls/rclone.bin", str(home / "back.bin"))
    assert (home / "back.bin").read_bytes() == (home / "file.bin").read_bytes()


def test_plain_http_is_redirected_to_https(tls_server: Server) -> None:
    plain = f"http://127.0.0.1:{tls_server.plain_port}"  # type: ignore[attr-defined]
    read = requests.get(f"{plain}/secure/pre?x=1", allow_redirects=False, timeout=10)
    assert read.status_code == 301
    assert read.headers["Location"] == f"https://127.0.0.1:{tls_server.port}/secure/pre?x=1"
    write = requests.put(f"{plain}/secure/k", data=b"x", allow_redirects=False, timeout=10)
    assert write.status_code == 308  # method and body are kept on the way to https
    followed = requests.get(f"{plain}/-/health", verify=tls_server.tls_ca, timeout=10)
    assert followed.status_code == 200 and followed.url.startswith("https://")


def test_plain_http_can_be_refused(ca: trustme.CA, tmp_path: Path) -> None:
    plain = free_port()
    srv = _start(ca, tmp_path, "--plain-address", f"127.0.0.1:{plain}", "--plain-answer", "refuse")
    try:
        answer = requests.get(f"http://127.0.0.1:{plain}/any/key", timeout=10)
        assert answer.status_code == 403 and "<Code>AccessDenied</Code>" in answer.text
    finally:
        srv.stop()


def _served_certificate(server: Server) -> str:
    context = ssl.create_default_context(cafile=str(server.tls_ca))
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=context)
    connection.connect()
    subject = dict(item[0] for item in connection.sock.getpeercert()["subject"])  # type: ignore[union-attr]
    connection.close()
    return subject["commonName"]


def test_sighup_takes_up_a_renewed_certificate(ca: trustme.CA, tmp_path: Path) -> None:
    srv = _start(ca, tmp_path)
    try:
        client = srv.client(s3={"addressing_style": "path"})
        client.create_bucket(Bucket="renew")
        assert _served_certificate(srv) == "first"
        path = "/renew/in-flight"
        request = sign(srv, "PUT", path, {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
        context = ssl.create_default_context(cafile=str(srv.tls_ca))
        upload = http.client.HTTPSConnection("127.0.0.1", srv.port, context=context, timeout=60)
        upload.putrequest("PUT", path, skip_accept_encoding=True)
        for name, value in request.headers.items():
            upload.putheader(name, value)
        upload.putheader("Content-Length", str(2_000_000))
        upload.endheaders()
        upload.send(b"a" * 1_000_000)
        chain, key = _certificate(ca, tmp_path, "second")
        os.replace(chain, tmp_path / "first.pem")
        os.replace(key, tmp_path / "first.key")
        assert srv.process is not None
        os.kill(srv.process.pid, signal.SIGHUP)
        # the new workers start beside the old ones (the kernel shares connections among
        # them), and the old ones go once they finished: wait until only "second" answers
        deadline, in_a_row = time.monotonic() + 60, 0
        while in_a_row < 10 and time.monotonic() < deadline:
            in_a_row = in_a_row + 1 if _served_certificate(srv) == "second" else 0
            time.sleep(0.1)
        assert in_a_row == 10, "the renewed certificate was not taken up"
        upload.send(b"b" * 1_000_000)  # the connection from before the reload is still served
        answer = upload.getresponse()
        assert answer.status == 200, answer.read()
        got = client.get_object(Bucket="renew", Key="in-flight")["Body"].read()
        assert hashlib.sha256(got).digest() == hashlib.sha256(b"a" * 10**6 + b"b" * 10**6).digest()
    finally:
        srv.stop()
