"""The web console in a real headless Chromium and Firefox (Debian's chromium + chromium-driver,
firefox-esr + geckodriver, driven by Selenium) against a real server: sign in, create a bucket,
upload 20 MiB (multipart) with progress, download, make public, share links with an expiry,
delete, sign out. Screenshots of each view are left under the test's tmp_path (artifacts, never
committed), in a directory named after the browser."""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.conftest import ACCESS_KEY, SECRET_KEY, Server
from tests.console.page import BROWSERS, Page, downloaded, script_errors

SIZE = 20 * 1024 * 1024  # over the page's 16 MiB threshold: a multipart upload of 3 parts


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sign_in(page: Page, server: Server) -> None:
    page.driver.get(server.endpoint)  # the printed endpoint sends a browser to /-/console/
    page.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    assert page.driver.current_url.endswith("/-/console/")
    page.visible("sign-in-view")
    assert page.by_id("region").get_attribute("value") == server.region  # from config.json
    page.shot("01-sign-in")
    page.type_into("access-key", ACCESS_KEY)
    page.type_into("secret-key", "not-the-secret")
    page.by_id("sign-in").click()
    page.until(lambda d: "SignatureDoesNotMatch" in page.status())
    page.type_into("secret-key", SECRET_KEY)
    page.by_id("sign-in").click()
    page.visible("buckets-view")
    stored = page.driver.execute_script("return JSON.stringify(sessionStorage)")
    assert SECRET_KEY in stored  # kept in this tab only...
    assert page.driver.get_cookies() == []  # ...and never in a cookie


def create_bucket(page: Page, bucket: str) -> None:
    page.type_into("new-bucket", bucket)
    page.by_id("create-bucket").click()
    page.until(lambda d: d.find_elements(By.LINK_TEXT, bucket))
    page.shot("02-buckets")
    page.driver.set_window_size(390, 844)  # a phone: still one readable column
    page.shot("02-buckets-narrow")
    page.driver.set_window_size(1280, 900)


def upload(page: Page, bucket: str, path: Path) -> None:
    page.driver.find_element(By.LINK_TEXT, bucket).click()
    page.visible("objects-view")
    page.shot("03-empty-bucket")
    # every percentage the page shows, recorded as it changes
    page.driver.execute_script(
        "window.seen = [];"
        "new MutationObserver(() => document.querySelectorAll('.upload-percent')"
        "  .forEach((e) => window.seen.push(e.textContent)))"
        ".observe(document.getElementById('uploads'),"
        "  {subtree: true, childList: true, characterData: true});"
    )
    page.by_id("file-input").send_keys(str(path))
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#uploads li.done"), timeout=40)
    assert page.css("#uploads li .upload-percent")[0].text == "100%"
    seen = page.driver.execute_script("return window.seen")
    assert any(0 < int(p.rstrip("%")) < 100 for p in seen if p.endswith("%")), seen
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"tr.object[data-key='{path.name}']"))
    page.shot("04-uploaded")


def check_stored(server: Server, bucket: str, key: str, data: bytes) -> None:
    s3 = server.client(s3={"addressing_style": "path"})
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == len(data)
    assert "-3" in head["ETag"]  # three parts of 8, 8 and 4 MiB
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert sha256(body) == sha256(data)


def open_object(page: Page, key: str, http: requests.Session, data: bytes, downloads: Path) -> None:
    page.driver.find_element(By.LINK_TEXT, key).click()
    page.visible("object-view")
    page.until(lambda d: d.find_element(By.ID, "object-access").text == "private")
    href = page.by_id("download-link").get_attribute("href") or ""
    assert "X-Amz-Signature=" in href
    got = http.get(href, timeout=30)
    assert got.status_code == 200, got.text
    assert sha256(got.content) == sha256(data)
    assert got.headers["content-disposition"].startswith("attachment")
    page.shot("05-object")
    # the browser itself saves it, under the object's name, and stays on the page
    page.by_id("download-link").click()
    saved = page.until(downloaded(downloads, key, len(data)), timeout=40)
    assert sha256(saved.read_bytes()) == sha256(data)
    page.visible("object-view")


def make_public(page: Page, url: str, http: requests.Session, data: bytes) -> None:
    assert http.get(url, timeout=30).status_code == 403  # private: anonymous is refused
    page.by_id("make-public").click()
    page.until(lambda d: d.find_element(By.ID, "object-access").text.startswith("public"))
    assert page.by_id("public-url").get_attribute("href") == url
    # an object is served on the console's origin: following its URL leaves this tab (and the
    # secret in its sessionStorage) alone
    link = page.by_id("public-url")
    assert link.get_attribute("target") == "_blank"
    assert {"noopener", "noreferrer"} <= set((link.get_attribute("rel") or "").split())
    got = http.get(url, timeout=30)
    assert got.status_code == 200, got.text
    assert sha256(got.content) == sha256(data)
    page.shot("06-public")
    page.by_id("make-private").click()
    page.until(lambda d: d.find_element(By.ID, "object-access").text == "private")
    assert http.get(url, timeout=30).status_code == 403


def share_link(page: Page, http: requests.Session, data: bytes) -> None:
    page.type_into("share-expiry", "5")
    page.driver.find_element(By.CSS_SELECTOR, "#share-unit option[value='1']").click()
    made = time.time()
    page.by_id("create-share").click()
    field = page.visible("share-url")
    url = page.until(lambda d: field.get_attribute("value"))
    assert "X-Amz-Expires=5&" in url
    got = http.get(url, timeout=30)
    assert got.status_code == 200, got.text
    assert sha256(got.content) == sha256(data)
    page.by_id("copy-share").click()
    page.until(lambda d: page.status() == "Share link copied.")
    page.shot("07-share-link")
    time.sleep(max(0.0, made + 6.5 - time.time()))  # X-Amz-Date is whole seconds
    expired = http.get(url, timeout=30)
    assert expired.status_code == 403
    assert b"Request has expired" in expired.content


def delete_all(page: Page, server: Server, bucket: str, key: str) -> None:
    page.by_id("delete-object").click()
    page.accept_confirm()
    page.visible("objects-view")
    page.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "tr.object"))
    page.visible("no-objects")
    s3 = server.client(s3={"addressing_style": "path"})
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    page.driver.find_element(By.CSS_SELECTOR, "#crumbs a[href='#/']").click()
    page.visible("buckets-view")
    page.driver.find_element(By.CSS_SELECTOR, f"button[data-bucket='{bucket}']").click()
    page.accept_confirm()
    page.until(lambda d: not d.find_elements(By.LINK_TEXT, bucket))
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def sign_out(page: Page) -> None:
    page.by_id("sign-out").click()
    page.visible("sign-in-view")
    assert page.driver.execute_script("return sessionStorage.length") == 0
    page.driver.refresh()  # nothing left to sign in with
    page.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    page.visible("sign-in-view")


@pytest.mark.parametrize("browser", BROWSERS, indirect=True)
def test_console_flow(
    server: Server, browser: WebDriver, http: requests.Session, tmp_path: Path, downloads: Path
) -> None:
    shots = tmp_path / f"screenshots-{browser.capabilities['browserName']}"
    shots.mkdir()
    page = Page(browser, shots)
    bucket = f"console-{uuid.uuid4().hex[:10]}"
    data = hashlib.shake_256(bucket.encode()).digest(SIZE)
    source = tmp_path / "big file.bin"  # a space: the key is URI-encoded when signed
    source.write_bytes(data)
    sign_in(page, server)
    create_bucket(page, bucket)
    upload(page, bucket, source)
    check_stored(server, bucket, source.name, data)
    open_object(page, source.name, http, data, downloads)
    make_public(page, f"{server.endpoint}/{bucket}/big%20file.bin", http, data)
    share_link(page, http, data)
    delete_all(page, server, bucket, source.name)
    sign_out(page)
    assert len(list(shots.glob("*.png"))) >= 8
    # no script error on the way (the refused sign-in's 403 is only a failed load)
    assert script_errors(browser) == []
    print(f"screenshots: {shots}")


def test_endpoint_opened_in_a_browser(server: Server, s3, http: requests.Session) -> None:  # type: ignore[no-untyped-def]
    """GET / asking for HTML (a browser's navigation) without a signature finds the console;
    an S3 client's anonymous ListBuckets is still refused, a signed one still answered."""
    page = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    opened = http.get(server.endpoint + "/", headers=page, allow_redirects=False, timeout=10)
    assert opened.status_code == 307 and opened.headers["location"] == "/-/console/"
    refused = http.get(server.endpoint + "/", timeout=10)
    assert refused.status_code == 403 and b"<Code>AccessDenied</Code>" in refused.content
    signed = s3.generate_presigned_url("list_buckets", ExpiresIn=60)
    listed = http.get(signed, headers=page, allow_redirects=False, timeout=10)
    assert listed.status_code == 200 and b"<ListAllMyBucketsResult" in listed.content
    posted = http.post(server.endpoint + "/", headers=page, allow_redirects=False, timeout=10)
    assert posted.status_code != 307  # only a GET of the service is a navigation


def test_static_files(server: Server, http: requests.Session) -> None:
    base = server.endpoint + "/-/console"
    first = http.get(base, allow_redirects=False, timeout=10)
    assert first.status_code == 301 and first.headers["location"] == "/-/console/"
    index = http.get(base + "/", timeout=10)
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in index.headers["content-security-policy"]
    script = http.head(base + "/sigv4.js", timeout=10)
    assert script.status_code == 200 and script.content == b""
    assert script.headers["content-type"].startswith("text/javascript")
    assert http.get(base + "/config.json", timeout=10).json()["region"] == server.region
    for missing in ("/nope.js", "/%2e%2e/__init__.py", "/..%2f__init__.py", "/static/app.js"):
        assert http.get(base + missing, timeout=10).status_code == 404, missing
    assert http.post(base + "/", timeout=10).status_code == 405
