"""The Admin view's accounts, quotas, limits and user deletion in a real headless Chromium
against a real server, as the root (system) user and through the page only; each step is
checked with the admin API and with boto3 as the keys' owners: an account created, its new
key working and then refused once revoked, the account disabled and enabled, a 1 MiB quota on
the user and on the account refusing an upload beyond it, operation and bandwidth limits set
and removed (for the user, the account and a bucket), the account deleted, the user's deletion
refused while it owns a bucket (the server's error shown, in sight of the button pressed) and
done once it owns none. Screenshots are left under tmp_path."""

from __future__ import annotations

import uuid
from pathlib import Path

import botocore.exceptions
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.admin.helpers import admin, delete_user, eventually, refused_code
from tests.conftest import Server, empty_bucket, make_client
from tests.console.page import Page, script_errors
from tests.console.test_console_admin import new_key_shown, start, text_of
from tests.s3.helpers import expect_error

KIB = 1024
ACCOUNT = "web"
ROW = f"#account-list li.account[data-account='{ACCOUNT}']"


def client_of(server: Server, access: str, secret: str):  # type: ignore[no-untyped-def]
    return make_client(server.endpoint, access, secret, region=server.region)


def shown_user(server: Server, email: str) -> dict[str, object]:
    answer = admin(server, "GET", "ostor-users", emailAddress=email)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def accounts_of(server: Server, email: str) -> dict[str, dict[str, object]]:
    accounts = shown_user(server, email)["Accounts"]
    assert isinstance(accounts, list)
    return {a["Name"]: a for a in accounts}


def account_keys(server: Server, email: str) -> list[str]:
    pairs = accounts_of(server, email)[ACCOUNT]["AWSAccessKeys"]
    assert isinstance(pairs, list)
    return sorted(pair["AWSAccessKeyId"] for pair in pairs)


def keys_listed(page: Page) -> list[str]:
    return sorted(li.get_attribute("data-key") or "" for li in page.css(f"{ROW} li[data-key]"))


def open_admin(page: Page) -> None:
    page.by_id("admin-link").click()
    page.visible("admin-view")
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#user-table tr.user"))


def create_user(page: Page, server: Server, email: str) -> tuple[str, str]:
    page.type_into("new-user", email)
    page.by_id("create-user").click()
    access, secret = new_key_shown(page, f"new user {email}")
    text_of(page, "user-quota", "unlimited")  # the detail shows its allowance too
    text_of(page, "user-limits", "none (unlimited)")
    return access, secret


def create_account(page: Page, server: Server, email: str) -> tuple[str, str]:
    page.type_into("new-account", ACCOUNT)
    page.by_id("new-account").send_keys(Keys.ENTER)  # the keyboard submits the form
    access, secret = new_key_shown(page, f"new account {ACCOUNT}")
    page.until(lambda d: keys_listed(page) == [access])
    assert page.css(f"{ROW} .account-state")[0].text == "enabled"
    assert account_keys(server, email) == [access]
    assert client_of(server, access, secret).list_buckets()["Buckets"] == []
    page.shot_at("accounts-title", "20-admin-account-created")
    return access, secret


def account_key_made_and_revoked(page: Page, server: Server, email: str, first: str) -> None:
    page.css(f"{ROW} button.account-gen-key")[0].click()
    second, secret = new_key_shown(page, f"New key pair of account {ACCOUNT}")
    assert second != first
    page.until(lambda d: keys_listed(page) == sorted([first, second]))
    assert account_keys(server, email) == sorted([first, second])
    client = client_of(server, second, secret)
    assert client.list_buckets()["Buckets"] == []  # a real S3 request with the new key
    page.shot_at("new-key", "21-admin-account-two-keys")
    page.css(f"{ROW} button[data-key='{second}']")[0].click()
    page.accept_confirm()
    page.until(lambda d: keys_listed(page) == [first])
    assert account_keys(server, email) == [first]
    assert eventually(lambda: refused_code(client.list_buckets) == "InvalidAccessKeyId")


def account_disabled_and_enabled(page: Page, server: Server, email: str, client) -> None:  # type: ignore[no-untyped-def]
    state = f"{ROW} .account-state"
    page.css(f"{ROW} button.account-disable")[0].click()
    page.until(lambda d: d.find_element(By.CSS_SELECTOR, state).text == "disabled")
    assert accounts_of(server, email)[ACCOUNT]["State"] == "disabled"
    assert eventually(lambda: refused_code(client.list_buckets) == "AccessDenied")
    # the focus went on to the button that undoes it, for the keyboard
    active = page.driver.switch_to.active_element
    assert "account-enable" in (active.get_attribute("class") or "")
    active.send_keys(Keys.ENTER)
    page.until(lambda d: d.find_element(By.CSS_SELECTOR, state).text == "enabled")
    assert accounts_of(server, email)[ACCOUNT]["State"] == "enabled"
    assert eventually(lambda: refused_code(client.list_buckets) == "")


def set_one_mib_quota(page: Page, prefix: str) -> None:
    page.type_into(f"{prefix}-quota-size", "1")
    Select(page.by_id(f"{prefix}-quota-unit")).select_by_visible_text("MiB")
    page.by_id(f"{prefix}-quota-set").click()
    text_of(page, f"{prefix}-quota", f"1.0 MiB ({1024 * KIB} bytes)")


def second_upload_refused(client, bucket: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether 700 KiB more, after the 700 KiB `first`, is refused for the 1 MiB quota."""

    def put() -> object:
        return client.put_object(Bucket=bucket, Key="second", Body=b"q" * (700 * KIB))

    return refused_code(put) == "QuotaExceeded"


def quota_enforced(client, bucket: str) -> None:  # type: ignore[no-untyped-def]
    client.put_object(Bucket=bucket, Key="first", Body=b"q" * (700 * KIB))
    assert eventually(lambda: second_upload_refused(client, bucket))
    body = b"q" * (700 * KIB)
    expect_error("QuotaExceeded", 403, client.put_object, Bucket=bucket, Key="second", Body=body)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["first"]  # nothing of the refused upload was written


def quota_on_the_user(page: Page, server: Server, email: str, user_s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    set_one_mib_quota(page, "user")
    quota = admin(server, "GET", "ostor-quotas", emailAddress=email).json()
    assert quota == {"version": "1", "type": "0", "size": str(1024 * KIB)}
    quota_enforced(user_s3, bucket)
    page.shot_at("user-allowance", "22-admin-user-quota")
    page.by_id("user-quota-remove").click()
    text_of(page, "user-quota", "unlimited")
    assert admin(server, "GET", "ostor-quotas", emailAddress=email).json()["size"] == "0"
    assert eventually(lambda: not second_upload_refused(user_s3, bucket))


def allowance_of_the_account(page: Page, server: Server, email: str, client) -> None:  # type: ignore[no-untyped-def]
    """The account's own quota and bandwidth limit, set and removed in the page; the quota
    holds for the account's uploads."""
    page.css(f"{ROW} button.account-manage")[0].click()
    page.visible("account-detail")
    text_of(page, "account-detail-title", f"Quota and limits of account {ACCOUNT}")
    text_of(page, "account-quota", "unlimited")
    target = {"emailAddress": email, "accountName": ACCOUNT}
    set_one_mib_quota(page, "account")
    assert admin(server, "GET", "ostor-quotas", **target).json()["size"] == str(1024 * KIB)
    bucket = f"console-a-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    try:
        quota_enforced(client, bucket)
    finally:
        empty_bucket(client, bucket)
        client.delete_bucket(Bucket=bucket)  # an account is deleted only without buckets
    page.type_into("account-bandwidth-out", "64")
    page.by_id("account-bandwidth-set").click()
    page.until(lambda d: limit(page, "account", "bandwidth:out") == "64.00")
    account_limits = limits_of(server, **target)
    assert account_limits is not None and account_limits["bandwidth:out"] == "64.00"
    assert limits_of(server, emailAddress=email) is None  # the user's own are not touched
    page.shot_at("account-detail", "22-admin-account-allowance")
    page.by_id("account-bandwidth-remove").click()
    text_of(page, "account-limits", "none (unlimited)")
    assert limits_of(server, **target) is None
    page.by_id("account-quota-remove").click()
    text_of(page, "account-quota", "unlimited")
    assert admin(server, "GET", "ostor-quotas", **target).json()["size"] == "0"


def limit(page: Page, prefix: str, name: str) -> str:
    found = page.css(f"#{prefix}-limits li[data-limit='{name}']")
    return (found[0].get_attribute("data-value") or "") if found else ""


def limits_of(server: Server, **target: str) -> dict[str, str] | None:
    answer = admin(server, "GET", "ostor-limits", **target)
    if answer.status_code == 404:
        assert "<Code>NoSuchLimits</Code>" in answer.text
        return None
    assert answer.status_code == 200, answer.text
    body: dict[str, str] = answer.json()
    return body


def limits_on_the_user(page: Page, server: Server, email: str) -> None:
    page.type_into("user-ops-default", "600")  # per minute, as the API takes them
    page.type_into("user-ops-put", "60")
    page.by_id("user-ops-set").click()
    page.until(lambda d: limit(page, "user", "ops:put") == "1.00")  # shown per second
    per_second = {"default": "10.00", "get": "10.00", "put": "1.00", "list": "10.00"}
    expected = {f"ops:{kind}": value for kind, value in {**per_second, "delete": "10.00"}.items()}
    assert limits_of(server, emailAddress=email) == {**expected, "bandwidth:out": "0"}
    assert limit(page, "user", "ops:default") == "10.00"
    page.type_into("user-bandwidth-out", "1024")
    page.by_id("user-bandwidth-set").click()
    page.until(lambda d: limit(page, "user", "bandwidth:out") == "1024.00")
    assert limits_of(server, emailAddress=email) == {**expected, "bandwidth:out": "1024.00"}
    page.shot_at("user-allowance", "23-admin-user-limits")
    page.by_id("user-ops-remove").click()
    page.until(lambda d: limit(page, "user", "ops:put") == "0")
    left = limits_of(server, emailAddress=email)
    assert left is not None and left["bandwidth:out"] == "1024.00" and left["ops:put"] == "0"
    assert "unlimited" in page.css("#user-limits li[data-limit='ops:put']")[0].text
    page.by_id("user-bandwidth-remove").click()
    text_of(page, "user-limits", "none (unlimited)")
    assert limits_of(server, emailAddress=email) is None


def bucket_allowance(page: Page, server: Server, bucket: str) -> None:
    page.css(f"#inventory-table button.bucket-manage[data-bucket='{bucket}']")[0].click()
    page.visible("bucket-detail")
    text_of(page, "bucket-detail-title", f"Quota and limits of bucket {bucket}")
    text_of(page, "bucket-quota", "unlimited")
    page.type_into("bucket-quota-size", "2")
    Select(page.by_id("bucket-quota-unit")).select_by_visible_text("GiB")
    page.by_id("bucket-quota-size").send_keys(Keys.ENTER)
    text_of(page, "bucket-quota", f"2.0 GiB ({2 * 1024**3} bytes)")
    quota = admin(server, "GET", "ostor-quotas", bucket=bucket).json()
    assert quota == {"version": "1", "type": "1", "size": str(2 * 1024**3)}
    page.type_into("bucket-bandwidth-out", "50")
    page.by_id("bucket-bandwidth-set").click()
    page.until(lambda d: limit(page, "bucket", "bandwidth:out") == "50.00")
    bucket_limits = limits_of(server, bucket=bucket)
    assert bucket_limits is not None and bucket_limits["bandwidth:out"] == "50.00"
    page.shot_at("bucket-detail", "24-admin-bucket-limits")
    page.by_id("bucket-bandwidth-remove").click()
    text_of(page, "bucket-limits", "none (unlimited)")
    assert limits_of(server, bucket=bucket) is None
    page.by_id("bucket-quota-remove").click()
    text_of(page, "bucket-quota", "unlimited")
    assert admin(server, "GET", "ostor-quotas", bucket=bucket).json()["size"] == "0"


def delete_account(page: Page, server: Server, email: str, client) -> None:  # type: ignore[no-untyped-def]
    page.css(f"{ROW} button.account-delete")[0].click()
    page.accept_confirm()
    page.until(lambda d: not d.find_elements(By.CSS_SELECTOR, ROW))
    page.visible("no-accounts")
    assert accounts_of(server, email) == {}
    assert eventually(lambda: refused_code(client.list_buckets) == "InvalidAccessKeyId")


def delete_the_user(page: Page, server: Server, email: str, user_s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    page.driver.set_window_size(1280, 500)  # the page's top is out of sight at the button
    page.driver.execute_script("arguments[0].scrollIntoView()", page.by_id("user-delete"))
    assert not page.in_window("admin-title")
    page.by_id("user-delete").click()
    page.accept_confirm()
    # refused while it owns a bucket: 409 OwnerHasBuckets, naming it, as the server said
    page.until(lambda d: "OwnerHasBuckets" in page.status())
    assert bucket in page.status()
    assert "error" in (page.by_id("status").get_attribute("class") or "")
    assert page.in_window("status")  # where the eyes are, not only announced
    page.driver.set_window_size(1280, 900)
    assert shown_user(server, email)["UserEmail"] == email
    page.shot_at("status", "25-admin-user-delete-refused")
    empty_bucket(user_s3, bucket)
    user_s3.delete_bucket(Bucket=bucket)
    page.by_id("user-delete").click()
    page.accept_confirm()
    page.until(lambda d: page.status() == f"User {email} deleted.")
    page.until(lambda d: not d.find_elements(By.CSS_SELECTOR, f"tr.user[data-email='{email}']"))
    assert not page.by_id("user-detail").is_displayed()
    answer = admin(server, "GET", "ostor-users", emailAddress=email)
    assert answer.status_code == 404 and "<Code>NoSuchUser</Code>" in answer.text


def test_accounts_quotas_limits_and_deletes(
    server: Server, browser: WebDriver, tmp_path: Path
) -> None:
    email = f"console-acct-{uuid.uuid4().hex[:8]}@example.com"
    own_bucket = f"console-q-{uuid.uuid4().hex[:10]}"  # the user's, for its quota
    root_bucket = f"console-l-{uuid.uuid4().hex[:10]}"  # the root user's, for a bucket's limits
    root_s3 = server.client(s3={"addressing_style": "path"})
    root_s3.create_bucket(Bucket=root_bucket)
    user_s3 = None
    try:
        page = start(browser, tmp_path, server)
        open_admin(page)
        user_access, user_secret = create_user(page, server, email)
        user_s3 = make_client(
            server.endpoint, user_access, user_secret, s3={"addressing_style": "path"}
        )
        user_s3.create_bucket(Bucket=own_bucket)
        first, secret = create_account(page, server, email)
        account_s3 = client_of(server, first, secret)
        account_key_made_and_revoked(page, server, email, first)
        account_disabled_and_enabled(page, server, email, account_s3)
        allowance_of_the_account(page, server, email, account_s3)
        quota_on_the_user(page, server, email, user_s3, own_bucket)
        limits_on_the_user(page, server, email)
        bucket_allowance(page, server, root_bucket)
        page.driver.set_window_size(360, 800)  # a phone: forms and tables still fit
        page.shot_at("user-detail", "26-admin-user-detail-narrow")
        page.shot_at("accounts-title", "26-admin-accounts-narrow")
        page.driver.set_window_size(1280, 900)
        delete_account(page, server, email, account_s3)
        delete_the_user(page, server, email, user_s3, own_bucket)
        assert script_errors(browser) == []
    finally:
        if user_s3 is not None:
            try:
                empty_bucket(user_s3, own_bucket)
                user_s3.delete_bucket(Bucket=own_bucket)
            except botocore.exceptions.ClientError:
                pass  # gone already, with its user
        root_s3.delete_bucket(Bucket=root_bucket)
        delete_user(server, email)
