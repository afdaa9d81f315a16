"""Objects read path-style share the console's origin: an HTML object opened in the console's
own tab must not read the signed-in key (its sessionStorage), nor act as the console. Its page
is sandboxed (Content-Security-Policy: sandbox, without allow-same-origin); its scripts still
run, in an origin of their own. In a real headless Chromium against a real server."""

from __future__ import annotations

import uuid
from pathlib import Path

from selenium.webdriver.remote.webdriver import WebDriver

from tests.conftest import Server, empty_bucket
from tests.console.test_console_admin import start

PAGE = b"""<!doctype html><title>loading</title><script>
try {
  document.title = sessionStorage.length ? "read the console's session" : "empty session";
} catch (error) {
  document.title = "sandboxed: " + error.name;
}
</script>"""


def test_an_html_object_cannot_read_the_console_session(
    server: Server, browser: WebDriver, tmp_path: Path
) -> None:
    s3 = server.client(s3={"addressing_style": "path"})
    bucket = f"origin-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    try:
        s3.put_object(
            Bucket=bucket, Key="page.html", Body=PAGE, ContentType="text/html", ACL="public-read"
        )
        page = start(browser, tmp_path, server)  # signed in: the key is in this tab's session
        assert browser.execute_script("return sessionStorage.length") > 0
        browser.get(f"{server.endpoint}/{bucket}/page.html")  # the same tab, the same origin
        page.until(lambda d: d.title != "loading")
        assert browser.title.startswith("sandboxed: "), browser.title  # its script ran, walled
    finally:
        empty_bucket(s3, bucket)
        s3.delete_bucket(Bucket=bucket)
