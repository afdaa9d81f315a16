"""CORS: configuration with boto3, the AWS CLI and s3cmd; preflight and actual requests sent
with real HTTP requests carrying an Origin header, as a browser sends them."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from tests.conftest import Tool, require_binary, s3cmd_config
from tests.s3.helpers import expect_error
from tests.s3.signing import error_code, presigned_url, send, sign

RULES = {
    "CORSRules": [
        {
            "ID": "app",
            "AllowedOrigins": ["https://app.example.com", "https://*.example.org"],
            "AllowedMethods": ["GET", "PUT", "HEAD"],
            "AllowedHeaders": ["content-type", "x-amz-*"],
            "ExposeHeaders": ["ETag", "x-amz-request-id"],
            "MaxAgeSeconds": 600,
        },
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]},
    ]
}


def _preflight(server, path: str, origin: str, method: str, headers: str = "") -> requests.Response:  # type: ignore[no-untyped-def]
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        sent["Access-Control-Request-Headers"] = headers
    return requests.options(server.endpoint + path, headers=sent, timeout=10)


def test_configuration_round_trip(s3, bucket: str) -> None:
    expect_error("NoSuchCORSConfiguration", 404, s3.get_bucket_cors, Bucket=bucket)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert rules[0]["AllowedOrigins"] == RULES["CORSRules"][0]["AllowedOrigins"]
    assert rules[0]["MaxAgeSeconds"] == 600 and rules[1]["AllowedMethods"] == ["GET"]
    s3.delete_bucket_cors(Bucket=bucket)
    expect_error("NoSuchCORSConfiguration", 404, s3.get_bucket_cors, Bucket=bucket)
    bad = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]}
    expect_error("InvalidRequest", 400, s3.put_bucket_cors, Bucket=bucket, CORSConfiguration=bad)
    get = {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}
    two_wildcards = {"CORSRules": [{**get, "AllowedHeaders": ["x-*-*"]}]}
    expect_error(
        "InvalidRequest", 400, s3.put_bucket_cors, Bucket=bucket, CORSConfiguration=two_wildcards
    )
    long_id = {"CORSRules": [{**get, "ID": "x" * 256}]}
    expect_error(
        "InvalidArgument", 400, s3.put_bucket_cors, Bucket=bucket, CORSConfiguration=long_id
    )
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{**get, "ID": "x" * 255}]})


def test_content_md5_is_required(server, bucket: str) -> None:
    body = (
        b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
        b"<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"
    )
    response = send(sign(server, "PUT", f"/{bucket}?cors", {}, body))
    assert response.status_code == 400 and error_code(response) == "InvalidRequest"


def test_preflight(server, s3, bucket: str) -> None:
    no_config = _preflight(server, f"/{bucket}/k", "https://app.example.com", "GET")
    assert no_config.status_code == 403 and error_code(no_config) == "AccessForbidden"
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    ok = _preflight(
        server, f"/{bucket}/k", "https://app.example.com", "PUT", "Content-Type, X-Amz-Date"
    )
    assert ok.status_code == 200, ok.text
    assert ok.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert ok.headers["Access-Control-Allow-Methods"] == "GET, PUT, HEAD"
    assert ok.headers["Access-Control-Allow-Headers"] == "content-type, x-amz-date"  # as S3
    assert ok.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-request-id"
    assert ok.headers["Access-Control-Max-Age"] == "600"
    wildcard = _preflight(server, f"/{bucket}", "https://eu.example.org", "HEAD")
    assert wildcard.status_code == 200
    assert wildcard.headers["Access-Control-Allow-Origin"] == "https://eu.example.org"
    anyone = _preflight(server, f"/{bucket}/k", "https://other.net", "GET")
    assert anyone.headers["Access-Control-Allow-Origin"] == "*"
    for origin, method, headers in (
        ("https://other.net", "PUT", ""),  # only GET for other origins
        ("https://app.example.com", "DELETE", ""),  # method not allowed
        ("https://app.example.com", "PUT", "authorization"),  # header not allowed
    ):
        refused = _preflight(server, f"/{bucket}/k", origin, method, headers)
        assert refused.status_code == 403 and error_code(refused) == "AccessForbidden"
    missing = requests.options(f"{server.endpoint}/{bucket}/k", timeout=10)
    assert missing.status_code == 400


def test_actual_requests_carry_cors_headers(server, s3, bucket: str) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    s3.put_object(Bucket=bucket, Key="page.html", Body=b"<p>hi</p>")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "page.html"})
    matched = requests.get(url, headers={"Origin": "https://app.example.com"}, timeout=10)
    assert matched.status_code == 200 and matched.content == b"<p>hi</p>"
    assert matched.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert matched.headers["Access-Control-Allow-Credentials"] == "true"
    assert matched.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-request-id"
    plain = requests.get(url, timeout=10)
    assert "Access-Control-Allow-Origin" not in plain.headers
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up.txt"})
    other = requests.put(put_url, data=b"x", headers={"Origin": "https://other.net"}, timeout=10)
    assert other.status_code == 200  # stored; the browser alone enforces CORS
    assert "Access-Control-Allow-Origin" not in other.headers  # no rule allows PUT from there


def test_preflights_lacking_origin_or_method_are_400(server, s3, bucket: str) -> None:
    """S3's "Insufficient information" answer, before anything else, presigned URLs too (a
    preflight is never signed: its query is not checked)."""
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    presigned = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    expired = presigned_url(server, "GET", f"/{bucket}/k", 0)
    for url in (f"{server.endpoint}/{bucket}/k", presigned, expired):
        for headers, message in (
            ({}, "Insufficient information. Origin request header needed."),
            ({"Access-Control-Request-Method": "GET"}, "Insufficient information."),
            ({"Origin": "https://app.example.com"}, "Invalid Access-Control-Request-Method: null"),
        ):
            answer = requests.options(url, headers=headers, timeout=10)
            assert (answer.status_code, error_code(answer)) == (400, "BadRequest"), answer.text
            assert message in answer.text
        allowed = requests.options(
            url,
            headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"},
            timeout=10,
        )
        assert allowed.status_code == 200
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"


def test_preflights_refused_in_s3s_order(server, s3, bucket: str) -> None:
    """No bucket, then no rules, come before a missing method; 403s name method and resource."""
    asked = {"Origin": "https://app.example.com"}
    gone = requests.options(f"{server.endpoint}/{bucket}-gone/k", headers=asked, timeout=10)
    assert (gone.status_code, error_code(gone)) == (403, "AccessForbidden")
    assert "CORSResponse: Bucket not found" in gone.text
    bare = requests.options(f"{server.endpoint}/{bucket}/k", headers=asked, timeout=10)
    assert (bare.status_code, error_code(bare)) == (403, "AccessForbidden")
    assert "CORS is not enabled for this bucket" in bare.text
    assert "<Method>OPTIONS</Method><ResourceType>OBJECT</ResourceType>" in bare.text
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    refused = _preflight(server, f"/{bucket}", "https://app.example.com", "DELETE")
    assert (refused.status_code, error_code(refused)) == (403, "AccessForbidden")
    assert "<ResourceType>BUCKET</ResourceType>" in refused.text


def test_anonymous_reads_of_public_objects_carry_cors_headers(server, s3, bucket: str) -> None:
    """s3-tests' origin cases: wildcard rules, a listable bucket and a public object."""
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    s3.put_object(Bucket=bucket, Key="pub", Body=b"public", ACL="public-read")
    rules = [
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["*suffix"]},
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["start*end"]},
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["prefix*"]},
        {"AllowedMethods": ["PUT"], "AllowedOrigins": ["*.put"]},
    ]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    for url in (f"{server.endpoint}/{bucket}", f"{server.endpoint}/{bucket}/pub"):
        for origin, allowed in (
            ("foo.suffix", "GET"),
            ("start1end", "GET"),
            ("prefix", "GET"),
            ("prefix.suffix", "GET"),
            ("foo.bar", None),
            ("foo.put", None),  # PUT only
        ):
            answer = requests.get(url, headers={"Origin": origin}, timeout=10)
            assert answer.status_code == 200, answer.text
            assert answer.headers.get("Access-Control-Allow-Origin") == (
                origin if allowed else None
            )
            assert answer.headers.get("Access-Control-Allow-Methods") == allowed
        head = requests.head(url, headers={"Origin": "foo.suffix"}, timeout=10)
        assert head.status_code == 200


def test_aws_cli_and_s3cmd(server, tool: Tool, s3, bucket: str) -> None:
    aws = require_binary("aws")
    Path(tool.env["AWS_CONFIG_FILE"]).write_text("[default]\nregion = us-east-1\n")
    config = tool.home / "cors.json"
    config.write_text(json.dumps(RULES))
    tool.run(
        aws,
        "--endpoint-url",
        server.endpoint,
        "s3api",
        "put-bucket-cors",
        "--bucket",
        bucket,
        "--cors-configuration",
        f"file://{config}",
    )
    assert len(s3.get_bucket_cors(Bucket=bucket)["CORSRules"]) == 2
    s3cfg = s3cmd_config(tool, server)
    xml = tool.home / "cors.xml"
    xml.write_text(
        "<CORSConfiguration><CORSRule><AllowedOrigin>https://s3cmd.example</AllowedOrigin>"
        "<AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>30</MaxAgeSeconds></CORSRule>"
        "</CORSConfiguration>"
    )
    s3cmd = require_binary("s3cmd")
    tool.run(s3cmd, "-c", str(s3cfg), "setcors", str(xml), f"s3://{bucket}")
    info = tool.run(s3cmd, "-c", str(s3cfg), "info", f"s3://{bucket}").stdout
    cors_section = info[info.index("CORS:") : info.index("ACL:")]
    assert "<AllowedOrigin>https://s3cmd.example</AllowedOrigin>" in cors_section
    rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert rules == [
        {
            "AllowedMethods": ["GET"],
            "AllowedOrigins": ["https://s3cmd.example"],
            "MaxAgeSeconds": 30,
        }
    ]
