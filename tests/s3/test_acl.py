"""ACLs and public access: canned ACLs, grant headers and AccessControlPolicy documents with
boto3 and s3cmd; anonymous requests (plain, unsigned URLs) allowed exactly as far as grants go."""

from __future__ import annotations

import requests

from tests.conftest import Tool, require_binary, s3cmd_config
from tests.s3.helpers import expect_error
from tests.s3.signing import error_code

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def _grants(acl: dict) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    found = set()
    for grant in acl["Grants"]:
        grantee = grant["Grantee"]
        found.add((grantee.get("URI") or grantee.get("ID", ""), grant["Permission"]))
    return found


def test_public_read_object_and_private_object(server, s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="public.txt", Body=b"for everyone", ACL="public-read")
    s3.put_object(Bucket=bucket, Key="private.txt", Body=b"secret")
    public = requests.get(f"{server.endpoint}/{bucket}/public.txt", timeout=10)
    assert public.status_code == 200 and public.content == b"for everyone"
    assert requests.head(f"{server.endpoint}/{bucket}/public.txt", timeout=10).status_code == 200
    private = requests.get(f"{server.endpoint}/{bucket}/private.txt", timeout=10)
    assert private.status_code == 403 and error_code(private) == "AccessDenied"
    missing = requests.get(f"{server.endpoint}/{bucket}/missing.txt", timeout=10)
    assert missing.status_code == 403  # no right to list: no hint that the key is missing
    acl = s3.get_object_acl(Bucket=bucket, Key="public.txt")
    assert (ALL_USERS, "READ") in _grants(acl)
    assert acl["Owner"]["ID"] == server.owner_id
    assert (server.owner_id, "FULL_CONTROL") in _grants(acl)
    # the ACL belongs to the object, not to anonymous readers
    for method in ("put", "delete"):
        refused = requests.request(method, f"{server.endpoint}/{bucket}/public.txt", timeout=10)
        assert refused.status_code == 403
    acl_read = requests.get(f"{server.endpoint}/{bucket}/public.txt?acl", timeout=10)
    assert acl_read.status_code == 403
    s3.put_object_acl(Bucket=bucket, Key="public.txt", ACL="private")
    assert requests.get(f"{server.endpoint}/{bucket}/public.txt", timeout=10).status_code == 403


def test_policy_documents_and_grant_headers(server, s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="doc", Body=b"d")
    owner = {"ID": server.owner_id, "DisplayName": server.owner_id}
    s3.put_object_acl(
        Bucket=bucket,
        Key="doc",
        AccessControlPolicy={
            "Owner": owner,
            "Grants": [
                {
                    "Grantee": {"Type": "CanonicalUser", "ID": server.owner_id},
                    "Permission": "FULL_CONTROL",
                },
                {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"},
                {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ_ACP"},
            ],
        },
    )
    assert _grants(s3.get_object_acl(Bucket=bucket, Key="doc")) == {
        (server.owner_id, "FULL_CONTROL"),
        (ALL_USERS, "READ"),
        (ALL_USERS, "READ_ACP"),
    }
    assert requests.get(f"{server.endpoint}/{bucket}/doc?acl", timeout=10).status_code == 200
    s3.put_object(Bucket=bucket, Key="granted", Body=b"g", GrantRead=f'uri="{ALL_USERS}"')
    assert requests.get(f"{server.endpoint}/{bucket}/granted", timeout=10).content == b"g"
    expect_error(
        "InvalidRequest",
        400,
        s3.put_object,
        Bucket=bucket,
        Key="both",
        Body=b"x",
        ACL="public-read",
        GrantRead=f'uri="{ALL_USERS}"',
    )
    expect_error(
        "InvalidArgument", 400, s3.put_object, Bucket=bucket, Key="k", Body=b"x", ACL="nope"
    )
    s3.put_object(Bucket=bucket, Key="bofc", Body=b"x", ACL="bucket-owner-full-control")
    s3.put_object(Bucket=bucket, Key="auth", Body=b"x", ACL="authenticated-read")
    assert requests.get(f"{server.endpoint}/{bucket}/auth", timeout=10).status_code == 403


def test_bucket_acls_and_anonymous_listing(server, s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="listed", Body=b"x")
    private = requests.get(f"{server.endpoint}/{bucket}?list-type=2", timeout=10)
    assert private.status_code == 403
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert (ALL_USERS, "READ") in _grants(s3.get_bucket_acl(Bucket=bucket))
    listing = requests.get(f"{server.endpoint}/{bucket}?list-type=2", timeout=10)
    assert listing.status_code == 200 and "<Key>listed</Key>" in listing.text
    missing = requests.get(f"{server.endpoint}/{bucket}/missing", timeout=10)
    assert missing.status_code == 404 and error_code(missing) == "NoSuchKey"
    assert requests.get(f"{server.endpoint}/{bucket}/listed", timeout=10).status_code == 403
    anonymous_put = requests.put(f"{server.endpoint}/{bucket}/drop", data=b"x", timeout=10)
    assert anonymous_put.status_code == 403
    assert requests.get(f"{server.endpoint}/", timeout=10).status_code == 403  # ListBuckets
    assert requests.put(f"{server.endpoint}/anonymous-bucket", timeout=10).status_code == 403
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    dropped = requests.put(f"{server.endpoint}/{bucket}/drop", data=b"dropped", timeout=10)
    assert dropped.status_code == 200, dropped.text
    assert s3.get_object(Bucket=bucket, Key="drop")["Body"].read() == b"dropped"
    assert requests.delete(f"{server.endpoint}/{bucket}/drop", timeout=10).status_code == 204
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    assert requests.get(f"{server.endpoint}/{bucket}", timeout=10).status_code == 403


def test_create_bucket_with_a_canned_acl(server, s3) -> None:
    s3.create_bucket(Bucket="acl-public-bucket", ACL="public-read")
    try:
        listing = requests.get(f"{server.endpoint}/acl-public-bucket", timeout=10)
        assert listing.status_code == 200
    finally:
        s3.delete_bucket(Bucket="acl-public-bucket")


def test_s3cmd_public_upload(server, tool: Tool, bucket: str) -> None:
    s3cfg = s3cmd_config(tool, server)
    page = tool.home / "index.html"
    page.write_text("<h1>public</h1>")
    s3cmd = require_binary("s3cmd")
    tool.run(s3cmd, "-c", str(s3cfg), "put", "--acl-public", str(page), f"s3://{bucket}/index.html")
    got = requests.get(f"{server.endpoint}/{bucket}/index.html", timeout=10)
    assert got.status_code == 200 and got.text == "<h1>public</h1>"
    tool.run(s3cmd, "-c", str(s3cfg), "setacl", "--acl-private", f"s3://{bucket}/index.html")
    assert requests.get(f"{server.endpoint}/{bucket}/index.html", timeout=10).status_code == 403
    info = tool.run(s3cmd, "-c", str(s3cfg), "info", f"s3://{bucket}/index.html").stdout
    assert f"{server.owner_id}: FULL_CONTROL" in info


def test_what_no_grant_gives_anonymous_requesters(server, s3, bucket: str) -> None:
    """S3 refuses anonymous multipart uploads, copies and response-* overrides whatever the
    ACLs grant (a public-read-write bucket and a public-read object here)."""
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", ACL="public-read")
    base = f"{server.endpoint}/{bucket}"
    started = requests.post(f"{base}/k?uploads", timeout=10)
    assert (started.status_code, error_code(started)) == (403, "AccessDenied")
    assert "Anonymous users cannot initiate multipart uploads" in started.text
    copied = requests.put(
        f"{base}/dst", headers={"x-amz-copy-source": f"/{bucket}/src"}, timeout=10
    )
    assert (copied.status_code, error_code(copied)) == (403, "AccessDenied")
    assert "Anonymous users cannot copy objects" in copied.text
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["src"]
    overridden = requests.get(f"{base}/src?response-content-type=text/html", timeout=10)
    assert (overridden.status_code, error_code(overridden)) == (400, "InvalidRequest")
    assert "cannot be used for anonymous GET requests" in overridden.text
    assert (
        requests.head(f"{base}/src?response-content-type=text/html", timeout=10).status_code == 400
    )
    plain = requests.get(f"{base}/src", timeout=10)
    assert plain.status_code == 200 and plain.content == b"x"
    signed = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "src", "ResponseContentType": "text/html"}
    )
    assert requests.get(signed, timeout=10).headers["content-type"] == "text/html"
