"""Nothing of an earlier answer stays on screen, in a real headless Chromium and Firefox against
a real server: an object that fails to load (404 after another object was shown, 403 for
another user after sign-out) shows none of the last object's facts, metadata, tags, versions,
share link or presigned download URL; a folder refused (AccessDenied) lists none of the last
folder's rows or settings; and sign-out empties every view, the Admin view's too."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.admin.helpers import create_user, delete_user
from tests.conftest import ACCESS_KEY, SECRET_KEY, Server
from tests.console.page import BROWSERS, Page, open_console, script_errors, sign_in_as

KEY = "report.txt"
FACTS = ["object-size", "object-type", "object-modified", "object-etag", "object-access"]


def go(page: Page, server: Server, route: str) -> None:
    page.driver.get(f"{server.endpoint}/-/console/#/{route}")


def object_shown(page: Page, server: Server, bucket: str) -> None:
    """Root's object in full: metadata, tags, two versions, a download URL and a share link."""
    go(page, server, f"o/{bucket}/{KEY}")
    page.visible("object-view")
    page.until(lambda d: "owner = root" in d.find_element(By.ID, "object-meta").text)
    page.until(lambda d: "project = apollo" in d.find_element(By.ID, "object-tags").text)
    page.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#version-table tr.version")) == 2)
    page.until(lambda d: d.find_element(By.ID, "object-access").text == "private")
    assert "X-Amz-Signature=" in (page.by_id("download-link").get_attribute("href") or "")
    page.by_id("create-share").click()
    page.until(lambda d: d.find_element(By.ID, "share-url").get_attribute("value"))


def nothing_of_an_object(page: Page, title: str) -> None:
    assert page.by_id("object-view").is_displayed()
    assert page.by_id("object-title").text == title
    assert {name: page.by_id(name).text for name in FACTS} == dict.fromkeys(FACTS, "")
    assert page.css("#object-meta li") == [] and page.css("#object-tags li") == []
    assert page.by_id("download-link").get_dom_attribute("href") is None
    assert page.by_id("public-url").get_dom_attribute("href") is None
    assert not page.by_id("make-public").is_displayed()
    assert not page.by_id("make-private").is_displayed()
    assert not page.by_id("share-result").is_displayed()
    assert page.by_id("share-url").get_attribute("value") == ""
    assert not page.by_id("versions-section").is_displayed()
    assert page.css("#version-table tbody tr") == []
    assert "X-Amz" not in page.driver.page_source  # no presigned URL anywhere in the page


def refused(page: Page, code: str) -> None:
    page.until(lambda d: code in page.status())
    assert "error" in (page.by_id("status").get_attribute("class") or "")


def folder_shown(page: Page, server: Server, bucket: str) -> None:
    go(page, server, f"b/{bucket}/")
    page.visible("objects-view")
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"tr.object[data-key='{KEY}']"))
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#object-table tr.folder"))
    page.until(lambda d: d.find_element(By.ID, "bucket-versioning").text == "on")


def nothing_of_a_folder(page: Page) -> None:
    assert page.by_id("objects-view").is_displayed()
    assert page.css("#object-table tbody tr") == []
    assert page.by_id("page-position").text == ""
    assert page.by_id("bucket-versioning").text == "" and page.by_id("bucket-access").text == ""
    assert page.css("#bucket-cors li") == []
    for button in ["versioning-on", "versioning-off", "bucket-public", "bucket-private"]:
        assert not page.by_id(button).is_displayed(), button


def admin_shown(page: Page, email: str) -> None:
    page.by_id("admin-link").click()
    page.visible("admin-view")
    manage = f"#user-table button[data-email='{email}']"
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, manage))
    page.css(manage)[0].click()
    page.until(lambda d: d.find_element(By.ID, "user-detail-title").text == email)
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#key-list li"))
    page.until(lambda d: d.find_element(By.ID, "user-quota").text == "unlimited")
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#inventory-table tr.inventory"))


# where root's answers were shown, in every view (the Admin view's too)
TABLES = "bucket-table object-table version-table user-table inventory-table usage-table"
LISTS = "object-meta object-tags bucket-cors key-list account-list user-limits bucket-limits"
TEXTS = "object-etag user-detail-id user-detail-title user-quota usage-count ops-chart"


def nothing_of_root(page: Page) -> None:
    """What the signed-out root user saw is gone from every view, shown or not."""
    for rows in TABLES.split():
        assert page.css(f"#{rows} tbody tr") == [], rows
    for items in [*LISTS.split(), "usage-list", "usage-legend", "uploads"]:
        assert page.css(f"#{items} li") == [], items
    for text in [*TEXTS.split(), "bytes-chart"]:
        assert page.by_id(text).get_attribute("textContent") == "", text
    assert page.by_id("user-detail").get_dom_attribute("hidden") is not None
    assert page.by_id("download-link").get_dom_attribute("href") is None
    assert page.by_id("name-filter").get_attribute("value") == ""


@pytest.mark.parametrize("browser", BROWSERS, indirect=True)
def test_nothing_stale(server: Server, browser: WebDriver, tmp_path: Path) -> None:
    bucket = f"console-s-{uuid.uuid4().hex[:10]}"
    email = f"console-s-{uuid.uuid4().hex[:8]}@example.com"
    s3 = server.client(s3={"addressing_style": "path"})
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"first", b"second"):
        s3.put_object(Bucket=bucket, Key=KEY, Body=body, Metadata={"owner": "root"})
    tags = {"TagSet": [{"Key": "project", "Value": "apollo"}]}
    s3.put_object_tagging(Bucket=bucket, Key=KEY, Tagging=tags)
    s3.put_object(Bucket=bucket, Key="docs/inner.txt", Body=b"x")
    other = create_user(server, email)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = Page(browser, shots)
    try:
        open_console(page, server.endpoint)
        sign_in_as(page, server.endpoint, ACCESS_KEY, SECRET_KEY)
        # one user: an object that is not there shows nothing of the one before
        folder_shown(page, server, bucket)
        object_shown(page, server, bucket)
        go(page, server, f"o/{bucket}/doesnotexist")
        refused(page, "404")
        nothing_of_an_object(page, "doesnotexist")
        page.shot("40-missing-object")
        # sign-out, then another user: nothing of root's anywhere
        folder_shown(page, server, bucket)
        object_shown(page, server, bucket)
        admin_shown(page, email)
        go(page, server, f"o/{bucket}/{KEY}")
        object_shown(page, server, bucket)
        page.by_id("sign-out").click()
        page.visible("sign-in-view")
        nothing_of_root(page)
        sign_in_as(page, server.endpoint, other.access_key, other.secret_key)
        assert page.css("#bucket-table tbody tr") == []
        go(page, server, f"o/{bucket}/anything")
        refused(page, "403")
        nothing_of_an_object(page, "anything")
        page.shot("41-object-refused")
        go(page, server, f"b/{bucket}/")
        refused(page, "AccessDenied")
        nothing_of_a_folder(page)
        page.shot("42-folder-refused")
        assert script_errors(browser) == []
    finally:
        listed = s3.list_object_versions(Bucket=bucket)
        for entry in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]:
            s3.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
        s3.delete_bucket(Bucket=bucket)
        delete_user(server, email)
