"""`?ostor-users` and `?ostor-accounts`: users, accounts and their keys, as the ostor
orchestration API document shows them, driven with signed requests and real boto3 clients."""

from __future__ import annotations

import re

import pytest
import requests

from tests.admin.helpers import User, admin, create_user, delete_user, eventually, refused_code
from tests.conftest import Server
from tests.s3.helpers import expect_error
from tests.s3.signing import send, sign

OWNER_ID = re.compile(r"^[0-9a-f]{16}$")


@pytest.fixture
def alice(server: Server):  # type: ignore[no-untyped-def]
    user = create_user(server, "alice@example.com")
    yield user
    delete_user(server, user.email)


def test_users_are_created_listed_and_shown(server: Server, alice: User) -> None:
    assert OWNER_ID.match(alice.id)
    assert alice.access_key.startswith(alice.id.upper()) and len(alice.secret_key) == 40
    listed = admin(server, "GET", "ostor-users").json()["Users"]
    mine = [u for u in listed if u["UserEmail"] == "alice@example.com"]
    assert mine == [
        {
            "UserEmail": "alice@example.com",
            "UserId": alice.id,
            "State": "enabled",
            "OwnerId": "0000000000000000",
            "Flags": [],
        }
    ]
    assert any(u["Flags"] == ["system"] for u in listed)  # the root user
    by_email = admin(server, "GET", "ostor-users", emailAddress="alice@example.com").json()
    by_id = admin(server, "GET", "ostor-users", id=alice.id).json()
    assert by_email == by_id
    assert by_email["AWSAccessKeys"] == [
        {"AWSAccessKeyId": alice.access_key, "AWSSecretAccessKey": alice.secret_key}
    ]
    assert by_email["AccountCount"] == "0" and by_email["Accounts"] == []
    both = admin(server, "GET", "ostor-users", emailAddress=alice.email, id=alice.id)
    assert both.status_code == 400
    missing = admin(server, "GET", "ostor-users", emailAddress="nobody@example.com")
    assert missing.status_code == 404 and "<Code>NoSuchUser</Code>" in missing.text
    again = admin(server, "PUT", "ostor-users", emailAddress="ALICE@example.com")
    assert again.status_code == 409 and "<Code>UserAlreadyExists</Code>" in again.text
    assert admin(server, "PUT", "ostor-users", emailAddress="not an address").status_code == 400
    # the new user signs S3 requests at once, and owns what it creates
    s3 = alice.client(server)
    s3.create_bucket(Bucket="alices-bucket")
    try:
        assert s3.list_buckets()["Owner"]["ID"] == alice.id
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["alices-bucket"]
    finally:
        s3.delete_bucket(Bucket="alices-bucket")


def test_two_key_pairs_at_most_and_revoked_keys_stop_working(server: Server, alice: User) -> None:
    generated = admin(server, "POST", "ostor-users", emailAddress=alice.email, genKey=None)
    assert generated.status_code == 200, generated.text
    body = generated.json()
    assert body["UserEmail"] == alice.email and body["UserId"] == alice.id
    pairs = body["AWSAccessKeys"]
    assert [p["AWSAccessKeyId"] for p in pairs][0] == alice.access_key and len(pairs) == 2
    third = admin(server, "POST", "ostor-users", emailAddress=alice.email, genKey=None)
    assert third.status_code == 400 and "<Code>TooManyAccessKeys</Code>" in third.text
    second = User(alice.email, alice.id, pairs[1]["AWSAccessKeyId"], pairs[1]["AWSSecretAccessKey"])
    second.client(server).create_bucket(Bucket="alice-second-key")
    try:
        # both keys are one owner's: what one key creates, the other owns
        names = [b["Name"] for b in alice.client(server).list_buckets()["Buckets"]]
        assert names == ["alice-second-key"]
        revoked = admin(
            server, "POST", "ostor-users", emailAddress=alice.email, revokeKey=alice.access_key
        )
        assert revoked.status_code == 200 and revoked.content == b""
        assert eventually(
            lambda: refused_code(alice.client(server).list_buckets) == "InvalidAccessKeyId"
        )
        assert second.client(server).list_buckets()["Buckets"][0]["Name"] == "alice-second-key"
        unknown = admin(server, "POST", "ostor-users", emailAddress=alice.email, revokeKey="NOPE")
        assert unknown.status_code == 403 and "InvalidAccessKeyId" in unknown.text
    finally:
        second.client(server).delete_bucket(Bucket="alice-second-key")


def test_a_disabled_users_keys_are_refused(server: Server, alice: User) -> None:
    s3 = alice.client(server)
    s3.list_buckets()
    assert admin(server, "POST", "ostor-users", emailAddress=alice.email, disable=None).ok
    shown = admin(server, "GET", "ostor-users", id=alice.id).json()
    assert shown["State"] == "disabled" and shown["Flags"] == ["disabled"]
    assert eventually(lambda: refused_code(s3.list_buckets) == "AccessDenied")
    expect_error("AccessDenied", 403, s3.list_buckets)
    assert admin(server, "POST", "ostor-users", emailAddress=alice.email, enable=None).ok
    assert eventually(lambda: refused_code(s3.list_buckets) == "")


def test_an_accounts_state_is_shown_with_it(server: Server, alice: User) -> None:
    """A disabled account says so in its user's answer (what the console shows), and its
    keys are refused; its user stays enabled."""
    made = admin(server, "POST", "ostor-accounts", emailAddress=alice.email, accountName="ops")
    (pair,) = made.json()["AWSAccessKeys"]
    account_s3 = User(alice.email, "", pair["AWSAccessKeyId"], pair["AWSSecretAccessKey"])
    flag = {"emailAddress": alice.email, "accountName": "ops"}
    assert admin(server, "POST", "ostor-users", **flag, disable=None).ok
    shown = admin(server, "GET", "ostor-users", emailAddress=alice.email).json()
    assert [(a["Name"], a["State"]) for a in shown["Accounts"]] == [("ops", "disabled")]
    assert shown["State"] == "enabled"
    client = account_s3.client(server)
    assert eventually(lambda: refused_code(client.list_buckets) == "AccessDenied")
    assert admin(server, "POST", "ostor-users", **flag, enable=None).ok
    shown = admin(server, "GET", "ostor-users", emailAddress=alice.email).json()
    assert [(a["Name"], a["State"]) for a in shown["Accounts"]] == [("ops", "enabled")]
    assert eventually(lambda: refused_code(client.list_buckets) == "")


def test_a_user_with_buckets_is_not_deleted(server: Server) -> None:
    bob = create_user(server, "bob@example.com")
    s3 = bob.client(server)
    s3.create_bucket(Bucket="bobs-first")
    s3.create_bucket(Bucket="bobs-second")
    refused = admin(server, "DELETE", "ostor-users", emailAddress=bob.email)
    assert refused.status_code == 409 and "<Code>OwnerHasBuckets</Code>" in refused.text
    assert "bobs-first, bobs-second" in refused.text
    s3.delete_bucket(Bucket="bobs-first")
    s3.delete_bucket(Bucket="bobs-second")
    deleted = admin(server, "DELETE", "ostor-users", id=bob.id)
    assert deleted.status_code == 204
    assert eventually(lambda: refused_code(s3.list_buckets) == "InvalidAccessKeyId")
    assert admin(server, "GET", "ostor-users", id=bob.id).status_code == 404
    # the e-mail address is free again
    delete_user(server, create_user(server, "bob@example.com").email)


def test_the_root_user_stays(server: Server) -> None:
    root = [
        u for u in admin(server, "GET", "ostor-users").json()["Users"] if "system" in u["Flags"]
    ]
    assert root and root[0]["UserId"] == server.owner_id
    assert admin(server, "DELETE", "ostor-users", id=server.owner_id).status_code == 403
    assert admin(server, "POST", "ostor-users", id=server.owner_id, disable=None).status_code == 403


def test_accounts_are_isolated_owners_under_a_user(server: Server, alice: User) -> None:
    made = admin(server, "POST", "ostor-accounts", emailAddress=alice.email, accountName="web")
    assert made.status_code == 200, made.text
    body = made.json()
    assert body["Name"] == "web"
    (pair,) = body["AWSAccessKeys"]
    assert pair["AWSAccessKeyId"].startswith(alice.id.upper())
    web = User(alice.email, "", pair["AWSAccessKeyId"], pair["AWSSecretAccessKey"])
    twice = admin(server, "POST", "ostor-accounts", id=alice.id, accountName="web")
    assert twice.status_code == 409
    account_s3, user_s3 = web.client(server), alice.client(server)
    account_s3.create_bucket(Bucket="web-assets")
    user_s3.create_bucket(Bucket="alice-own")
    try:
        account_id = account_s3.list_buckets()["Owner"]["ID"]
        assert OWNER_ID.match(account_id) and account_id != alice.id
        assert [b["Name"] for b in account_s3.list_buckets()["Buckets"]] == ["web-assets"]
        assert [b["Name"] for b in user_s3.list_buckets()["Buckets"]] == ["alice-own"]
        account_s3.put_object(Bucket="web-assets", Key="logo", Body=b"png")
        expect_error("AccessDenied", 403, user_s3.get_object, Bucket="web-assets", Key="logo")
        expect_error("AccessDenied", 403, account_s3.list_objects_v2, Bucket="alice-own")
        # a second account of the same user is as isolated from the first
        api = admin(server, "POST", "ostor-accounts", id=alice.id, accountName="api").json()
        (api_pair,) = api["AWSAccessKeys"]
        api_s3 = User(alice.email, "", api_pair["AWSAccessKeyId"], api_pair["AWSSecretAccessKey"])
        expect_error(
            "AccessDenied", 403, api_s3.client(server).get_object, Bucket="web-assets", Key="logo"
        )
        assert api_s3.client(server).list_buckets()["Buckets"] == []
        assert admin(server, "DELETE", "ostor-accounts", id=alice.id, accountName="api").ok
        shown = admin(server, "GET", "ostor-users", id=alice.id).json()
        assert shown["AccountCount"] == "1"
        assert shown["Accounts"] == [{"Name": "web", "State": "enabled", "AWSAccessKeys": [pair]}]
        # the account's own second key
        more = admin(
            server, "POST", "ostor-users", emailAddress=alice.email, accountName="web", genKey=None
        )
        assert more.status_code == 200 and len(more.json()["AWSAccessKeys"]) == 2
        # a disabled user's accounts are disabled with it
        admin(server, "POST", "ostor-users", emailAddress=alice.email, disable=None)
        assert eventually(lambda: refused_code(account_s3.list_buckets) == "AccessDenied")
        admin(server, "POST", "ostor-users", emailAddress=alice.email, enable=None)
        assert eventually(lambda: refused_code(account_s3.list_buckets) == "")
        busy = admin(server, "DELETE", "ostor-accounts", id=alice.id, accountName="web")
        assert busy.status_code == 409 and "web-assets" in busy.text
        account_s3.delete_object(Bucket="web-assets", Key="logo")
        account_s3.delete_bucket(Bucket="web-assets")
        gone = admin(server, "DELETE", "ostor-accounts", id=alice.id, accountName="web")
        assert gone.status_code == 204
        assert eventually(lambda: refused_code(account_s3.list_buckets) == "InvalidAccessKeyId")
        missing = admin(server, "DELETE", "ostor-accounts", id=alice.id, accountName="web")
        assert missing.status_code == 404 and "<Code>NoSuchAccount</Code>" in missing.text
    finally:
        user_s3.delete_bucket(Bucket="alice-own")


def test_tenant_qualified_paths_reach_the_owners_bucket(server: Server, alice: User, s3) -> None:  # type: ignore[no-untyped-def]
    mine = alice.client(server)
    mine.create_bucket(Bucket="alice-public")
    try:
        mine.put_object(Bucket="alice-public", Key="hello.txt", Body=b"hi", ACL="public-read")
        mine.put_object(Bucket="alice-public", Key="private.txt", Body=b"secret")
        base = server.endpoint
        assert (
            requests.get(f"{base}/{alice.id}:alice-public/hello.txt", timeout=10).content == b"hi"
        )
        encoded = requests.get(f"{base}/{alice.id}%3Aalice-public/hello.txt", timeout=10)
        assert encoded.content == b"hi"
        assert requests.get(f"{base}/alice-public/hello.txt", timeout=10).content == b"hi"
        wrong = requests.get(f"{base}/{server.owner_id}:alice-public/hello.txt", timeout=10)
        assert wrong.status_code == 404 and "<Code>NoSuchBucket</Code>" in wrong.text
        # a signed request names the path it was sent to (boto3 refuses ":" in bucket names)
        path = f"/{alice.id}:alice-public/private.txt"
        signed = sign(
            server, "GET", path, {}, access_key=alice.access_key, secret_key=alice.secret_key
        )
        assert send(signed).content == b"secret"
    finally:
        for key in ("hello.txt", "private.txt"):
            mine.delete_object(Bucket="alice-public", Key=key)
        mine.delete_bucket(Bucket="alice-public")


ADMIN_CALLS = [
    ("GET", "ostor-users", {}),
    ("PUT", "ostor-users", {"emailAddress": "x@example.com"}),
    ("POST", "ostor-users", {"emailAddress": "alice@example.com", "genKey": None}),
    ("DELETE", "ostor-users", {"emailAddress": "alice@example.com"}),
    ("POST", "ostor-accounts", {"emailAddress": "alice@example.com", "accountName": "a"}),
    ("DELETE", "ostor-accounts", {"emailAddress": "alice@example.com", "accountName": "a"}),
    ("GET", "ostor-buckets", {"emailAddress": "root@localhost"}),  # of another user
    ("GET", "ostor-limits", {"emailAddress": "alice@example.com"}),
    ("PUT", "ostor-limits", {"emailAddress": "alice@example.com", "ops": None, "default": "6"}),
    ("DELETE", "ostor-limits", {"emailAddress": "alice@example.com", "ops": None}),
    ("GET", "ostor-quotas", {"default": "user"}),
    ("PUT", "ostor-quotas", {"default": "user", "quota-size": "1"}),
    ("DELETE", "ostor-quotas", {"default": "user"}),
    ("GET", "ostor-usage", {}),
    ("DELETE", "ostor-usage", {"obj": "s3-usage-x"}),
]


@pytest.mark.parametrize(("method", "resource", "args"), ADMIN_CALLS)
def test_only_system_users_call_the_admin_api(
    server: Server, alice: User, method: str, resource: str, args: dict[str, str | None]
) -> None:
    as_alice = admin(
        server,
        method,
        resource,
        access_key=alice.access_key,
        secret_key=alice.secret_key,
        **args,
    )
    assert as_alice.status_code == 403 and "<Code>AccessDenied</Code>" in as_alice.text
    anonymous = requests.request(method, f"{server.endpoint}/?{resource}", timeout=10)
    assert anonymous.status_code == 403
    assert admin(server, "GET", "ostor-users", emailAddress=alice.email).ok  # nothing changed


def test_users_see_the_inventory_of_their_own_buckets(server: Server, alice: User) -> None:
    mine = alice.client(server)
    mine.create_bucket(Bucket="alice-inventory")
    try:
        mine.put_object(Bucket="alice-inventory", Key="k", Body=b"12345")
        server.client().create_bucket(Bucket="root-inventory")
        for args in ({}, {"emailAddress": alice.email}, {"id": alice.id}):
            answer = admin(
                server,
                "GET",
                "ostor-buckets",
                access_key=alice.access_key,
                secret_key=alice.secret_key,
                **args,
            )
            (listed,) = answer.json()["Buckets"]  # hers only
            assert (listed["name"], listed["objects"], listed["size"]["current"]) == (
                "alice-inventory",
                1,
                5,
            )
        everything = admin(server, "GET", "ostor-buckets").json()["Buckets"]
        assert {"alice-inventory", "root-inventory"} <= {b["name"] for b in everything}
    finally:
        mine.delete_object(Bucket="alice-inventory", Key="k")
        mine.delete_bucket(Bucket="alice-inventory")
        server.client().delete_bucket(Bucket="root-inventory")


def test_a_system_user_made_by_the_root_administers(server: Server) -> None:
    operator = create_user(server, "operator@example.com", "system")
    try:
        listed = admin(
            server,
            "GET",
            "ostor-users",
            access_key=operator.access_key,
            secret_key=operator.secret_key,
        )
        assert listed.status_code == 200
        assert "operator@example.com" in [u["UserEmail"] for u in listed.json()["Users"]]
    finally:
        delete_user(server, operator.email)
