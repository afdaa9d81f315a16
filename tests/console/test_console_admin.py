"""The console's bucket settings, object details, versions and Admin view in a real headless
Chromium against a real server: versioning on, public/private bucket, CORS shown, metadata
and tags shown, two uploads listed as two versions (download of the older one, then its
delete); for the root user (a system user) bucket sizes and the Admin view: a user created in
the page, disabled and enabled, a new key made and a key revoked, each step checked with the
admin API; a plain user sees neither. Screenshots are left under tmp_path."""

from __future__ import annotations

import uuid
from pathlib import Path

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.admin.helpers import admin, delete_user
from tests.conftest import ACCESS_KEY, SECRET_KEY, Server, make_client
from tests.console.page import Page, open_console, sign_in_as

CORS = {
    "CORSRules": [
        {"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET", "PUT"]},
    ]
}


def start(browser: WebDriver, tmp_path: Path, server: Server) -> Page:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = Page(browser, shots)
    open_console(page, server.endpoint)
    sign_in_as(page, server.endpoint, ACCESS_KEY, SECRET_KEY)
    return page


def text_of(page: Page, element_id: str, expected: str) -> None:
    page.until(lambda d: d.find_element(By.ID, element_id).text == expected)


def no_script_errors(browser: WebDriver) -> None:
    # refused calls (403s, 404s) are logged as failed loads; nothing else may be
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert all("Failed to load resource" in e["message"] for e in errors), errors


def upload_small(page: Page, path: Path, done: int) -> None:
    page.by_id("file-input").send_keys(str(path))
    page.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#uploads li.done")) >= done)


def bucket_settings(page: Page, server: Server, http: requests.Session, bucket: str) -> None:
    s3 = server.client(s3={"addressing_style": "path"})
    page.driver.get(f"{server.endpoint}/-/console/#/b/{bucket}/")
    page.visible("objects-view")
    text_of(page, "bucket-versioning", "off")
    text_of(page, "bucket-access", "private")
    text_of(page, "bucket-cors", "none")
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=CORS)
    page.driver.refresh()
    page.until(lambda d: "https://app.example" in d.find_element(By.ID, "bucket-cors").text)
    assert "GET, PUT" in page.by_id("bucket-cors").text
    page.by_id("versioning-on").click()
    text_of(page, "bucket-versioning", "on")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    listing = f"{server.endpoint}/{bucket}"
    assert http.get(listing, timeout=10).status_code == 403
    page.by_id("bucket-public").click()
    page.until(lambda d: d.find_element(By.ID, "bucket-access").text.startswith("public"))
    assert http.get(listing, timeout=10).status_code == 200  # anyone may list it now
    page.shot("10-bucket-settings")
    page.by_id("bucket-private").click()
    text_of(page, "bucket-access", "private")
    assert http.get(listing, timeout=10).status_code == 403


def versions(
    page: Page, server: Server, http: requests.Session, bucket: str, tmp_path: Path
) -> None:
    s3 = server.client(s3={"addressing_style": "path"})
    source = tmp_path / "notes v.txt"
    source.write_bytes(b"first version\n")
    upload_small(page, source, 1)
    source.write_bytes(b"second, longer version\n")
    upload_small(page, source, 2)
    s3.put_object_tagging(
        Bucket=bucket,
        Key=source.name,
        Tagging={"TagSet": [{"Key": "project", "Value": "apollo"}, {"Key": "tier", "Value": "2"}]},
    )
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"tr.object[data-key='{source.name}']"))
    page.driver.find_element(By.LINK_TEXT, source.name).click()
    page.visible("object-view")
    page.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#version-table tr.version")) == 2)
    tags = page.by_id("object-tags").text
    assert "project = apollo" in tags and "tier = 2" in tags
    text_of(page, "versions-count", "2 versions")
    listed = s3.list_object_versions(Bucket=bucket, Prefix=source.name)["Versions"]
    older = next(v["VersionId"] for v in listed if not v["IsLatest"])
    link = page.driver.find_element(By.CSS_SELECTOR, f"#version-table a[data-version='{older}']")
    got = http.get(link.get_attribute("href") or "", timeout=10)
    assert got.status_code == 200 and got.content == b"first version\n", got.text
    page.shot("11-object-versions")
    page.driver.find_element(By.CSS_SELECTOR, f"button[data-version='{older}']").click()
    page.accept_confirm()
    page.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#version-table tr.version")) == 1)
    text_of(page, "versions-count", "1 version")
    left = s3.list_object_versions(Bucket=bucket, Prefix=source.name)["Versions"]
    assert [v["VersionId"] for v in left] != [older] and len(left) == 1
    body = s3.get_object(Bucket=bucket, Key=source.name)["Body"].read()
    assert body == b"second, longer version\n"
    # the last version deleted: no object is left, the page goes back to its folder
    page.driver.find_element(By.CSS_SELECTOR, "#version-table button[data-version]").click()
    page.accept_confirm()
    page.visible("objects-view")
    page.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "tr.object"))
    assert "Versions" not in s3.list_object_versions(Bucket=bucket, Prefix=source.name)


def metadata(page: Page, server: Server, bucket: str) -> None:
    s3 = server.client(s3={"addressing_style": "path"})
    s3.put_object(
        Bucket=bucket,
        Key="meta.json",
        Body=b"{}",
        ContentType="application/json",
        Metadata={"owner": "qa team"},
    )
    page.driver.get(f"{server.endpoint}/-/console/#/o/{bucket}/meta.json")
    page.visible("object-view")
    text_of(page, "object-type", "application/json")
    page.until(lambda d: "owner = qa team" in d.find_element(By.ID, "object-meta").text)
    text_of(page, "object-tags", "no tags")
    assert page.by_id("object-size").text == "2 B"
    assert page.by_id("object-etag").text.strip('"')


def bucket_sizes(page: Page, server: Server, bucket: str) -> None:
    page.driver.get(f"{server.endpoint}/-/console/#/")
    page.visible("buckets-view")
    row = f"#bucket-table tr[data-bucket='{bucket}']"
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"{row} td.bucket-objects"))
    objects = page.css(f"{row} td.bucket-objects")[0].text
    assert objects.isdigit() and int(objects) >= 1, objects
    assert page.css(f"{row} td.bucket-size")[0].text.endswith("B")
    assert all(th.is_displayed() for th in page.css("#bucket-table th.usage"))
    page.shot("12-buckets-with-sizes")
    page.driver.set_window_size(390, 844)
    page.shot("12-buckets-with-sizes-narrow")
    page.driver.set_window_size(1280, 900)


def empty(server: Server, bucket: str) -> None:
    s3 = server.client(s3={"addressing_style": "path"})
    listed = s3.list_object_versions(Bucket=bucket)
    for entry in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]:
        s3.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
    s3.delete_bucket(Bucket=bucket)


def test_bucket_settings_and_versions(
    server: Server, browser: WebDriver, http: requests.Session, tmp_path: Path
) -> None:
    bucket = f"console-v-{uuid.uuid4().hex[:10]}"
    server.client(s3={"addressing_style": "path"}).create_bucket(Bucket=bucket)
    try:
        page = start(browser, tmp_path, server)
        bucket_settings(page, server, http, bucket)
        versions(page, server, http, bucket, tmp_path)
        metadata(page, server, bucket)
        bucket_sizes(page, server, bucket)
        no_script_errors(browser)
    finally:
        empty(server, bucket)


def user_of(server: Server, email: str) -> dict[str, object]:
    answer = admin(server, "GET", "ostor-users", emailAddress=email)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def keys_of(server: Server, email: str) -> list[str]:
    pairs = user_of(server, email)["AWSAccessKeys"]
    assert isinstance(pairs, list)
    return [pair["AWSAccessKeyId"] for pair in pairs]


def new_key_shown(page: Page, title: str) -> tuple[str, str]:
    page.visible("new-key")
    page.until(lambda d: title in d.find_element(By.ID, "new-key-title").text)
    access = page.by_id("new-key-access").get_attribute("value") or ""
    secret = page.by_id("new-key-secret").get_attribute("value") or ""
    assert access and secret
    return access, secret


def state_is(page: Page, server: Server, email: str, state: str) -> None:
    text_of(page, "user-detail-state", state)
    cell = f"#user-table tr[data-email='{email}'] td.user-state"
    page.until(lambda d: d.find_element(By.CSS_SELECTOR, cell).text == state)
    assert user_of(server, email)["State"] == state


def admin_view(page: Page, server: Server, bucket: str) -> None:
    page.by_id("admin-link").click()
    page.visible("admin-view")
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"tr.inventory[data-bucket='{bucket}']"))
    page.until(lambda d: d.find_element(By.ID, "usage-count").text.endswith("statistics objects"))
    assert page.css(f"tr.inventory[data-bucket='{bucket}'] td")[2].text == "1"
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#user-table tr.user"))
    page.shot("12-admin")
    page.driver.set_window_size(390, 844)  # a phone: still one readable column
    page.shot("12-admin-narrow")
    page.driver.set_window_size(1280, 900)


def create_user(page: Page, server: Server, email: str) -> tuple[str, str]:
    page.type_into("new-user", email)
    page.by_id("create-user").click()
    access, secret = new_key_shown(page, f"new user {email}")
    assert keys_of(server, email) == [access]
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"#key-list li[data-key='{access}']"))
    page.shot("13-admin-new-user")
    # the new pair works
    client = make_client(server.endpoint, access, secret, region=server.region)
    assert client.list_buckets()["Buckets"] == []
    return access, secret


def disable_enable(page: Page, server: Server, email: str) -> None:
    page.by_id("user-disable").click()
    state_is(page, server, email, "disabled")
    page.shot("14-admin-user-disabled")
    page.by_id("user-enable").click()
    state_is(page, server, email, "enabled")


def new_key_and_revoke(page: Page, server: Server, email: str, first: str) -> tuple[str, str]:
    page.by_id("user-gen-key").click()
    second, secret = new_key_shown(page, f"New key pair of {email}")
    assert second != first
    assert sorted(keys_of(server, email)) == sorted([first, second])
    page.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#key-list li")) == 2)
    page.shot("15-admin-two-keys")
    page.driver.find_element(By.CSS_SELECTOR, f"#key-list button[data-key='{first}']").click()
    page.accept_confirm()
    page.until(lambda d: not d.find_elements(By.CSS_SELECTOR, f"#key-list li[data-key='{first}']"))
    assert keys_of(server, email) == [second]
    return second, secret


def plain_user(page: Page, server: Server, access: str, secret: str) -> None:
    page.by_id("sign-out").click()
    theirs = make_client(server.endpoint, access, secret)
    theirs.create_bucket(Bucket="plain-user-bucket")
    theirs.put_object(Bucket="plain-user-bucket", Key="k", Body=b"1234567")
    try:
        sign_in_as(page, server.endpoint, access, secret)
        row = "#bucket-table tr[data-bucket='plain-user-bucket']"
        page.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"{row} td.bucket-objects"))
        (only,) = page.css("#bucket-table tbody tr")  # none of the root user's buckets
        assert only.find_element(By.CSS_SELECTOR, "td.bucket-objects").text == "1"
        assert only.find_element(By.CSS_SELECTOR, "td.bucket-size").text == "7 B"
    finally:
        theirs.delete_object(Bucket="plain-user-bucket", Key="k")
        theirs.delete_bucket(Bucket="plain-user-bucket")
    assert not page.by_id("admin-link").is_displayed()
    page.driver.get(f"{server.endpoint}/-/console/#/admin")  # no Admin view for them
    page.driver.refresh()  # a fresh load from the session too
    page.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    page.visible("buckets-view")
    assert not page.by_id("admin-view").is_displayed()
    assert not page.by_id("admin-link").is_displayed()
    page.shot("16-plain-user")


def test_admin_flow(
    server: Server, browser: WebDriver, http: requests.Session, tmp_path: Path
) -> None:
    bucket = f"console-a-{uuid.uuid4().hex[:10]}"
    email = f"console-{uuid.uuid4().hex[:8]}@example.com"
    s3 = server.client(s3={"addressing_style": "path"})
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="one", Body=b"x" * 1000)
    try:
        page = start(browser, tmp_path, server)
        admin_view(page, server, bucket)
        first, _ = create_user(page, server, email)
        disable_enable(page, server, email)
        second, secret = new_key_and_revoke(page, server, email, first)
        plain_user(page, server, second, secret)
        no_script_errors(browser)
        assert len(list((tmp_path / "screenshots").glob("*.png"))) >= 4
    finally:
        s3.delete_object(Bucket=bucket, Key="one")
        s3.delete_bucket(Bucket=bucket)
        delete_user(server, email)
