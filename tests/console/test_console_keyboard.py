"""The console without a mouse, and on a phone's width: sign in, create a bucket, open it and
make a folder with Tab and Enter only; every main view fits 360 px without scrolling sideways
(wide tables scroll inside their own box)."""

from __future__ import annotations

import uuid
from pathlib import Path

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from tests.conftest import ACCESS_KEY, SECRET_KEY, Server
from tests.console.page import Page, open_console

MAX_TABS = 40  # a control further than this from where focus is counts as unreachable


def focused(page: Page) -> WebElement:
    return page.driver.switch_to.active_element


def press(page: Page, *keys: str) -> None:
    """Types into whatever has the focus, as a user's keyboard does."""
    ActionChains(page.driver).send_keys(*keys).perform()


def tab_to(page: Page, matches: str) -> WebElement:
    """Presses Tab until the focused element matches the CSS selector; fails if it never does."""
    for _ in range(MAX_TABS):
        element = focused(page)
        script = "return arguments[0].matches(arguments[1])"
        if page.driver.execute_script(script, element, matches):
            return element
        press(page, Keys.TAB)  # as keystrokes: element.send_keys() would pick a file here
    raise AssertionError(f"{matches} is not reachable with Tab")


def fits_narrow_screen(page: Page, view: str) -> None:
    page.visible(view)
    wide = page.driver.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth"
    )
    culprits = page.driver.execute_script(
        "return [...document.querySelectorAll('#' + arguments[0] + ' *')]"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(e => `${e.tagName}#${e.id}.${e.className} ${e.getBoundingClientRect().right}`)"
        ".slice(0, 8)",
        view,
    )
    assert wide <= 1, f"{view} is {wide} px wider than the screen: {culprits}"
    page.shot(f"30-narrow-{view}")


def test_keyboard_only_and_narrow(server: Server, browser: WebDriver, tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = Page(browser, shots)
    bucket = f"keys-{uuid.uuid4().hex[:10]}"
    open_console(page, server.endpoint)
    page.visible("sign-in-view")
    assert focused(page).get_attribute("id") == "access-key"  # where typing starts
    press(page, ACCESS_KEY, Keys.TAB, SECRET_KEY, Keys.ENTER)
    page.visible("buckets-view")
    tab_to(page, "#new-bucket")
    press(page, bucket, Keys.ENTER)
    page.until(lambda d: d.find_elements(By.LINK_TEXT, bucket))
    tab_to(page, f"#bucket-table a[href$='/b/{bucket}/']")
    press(page, Keys.ENTER)
    page.visible("objects-view")
    tab_to(page, "#new-folder")
    press(page, "docs", Keys.ENTER)
    page.until(lambda d: d.current_url.endswith(f"/b/{bucket}/docs%2F"))  # it opens the folder
    page.shot("30-keyboard-folder")
    s3 = server.client(s3={"addressing_style": "path"})
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["docs/"]
    s3.put_object(Bucket=bucket, Key="docs/a-file-with-a-rather-long-name-to-wrap.txt", Body=b"x")
    try:
        page.driver.set_window_size(360, 800)
        page.driver.get(f"{server.endpoint}/-/console/#/")
        fits_narrow_screen(page, "buckets-view")
        page.driver.get(f"{server.endpoint}/-/console/#/b/{bucket}/docs%2F")
        page.until(lambda d: d.find_elements(By.PARTIAL_LINK_TEXT, "a-file-with"))
        fits_narrow_screen(page, "objects-view")
        key = "docs/a-file-with-a-rather-long-name-to-wrap.txt"
        page.driver.get(f"{server.endpoint}/-/console/#/o/{bucket}/{key}")
        fits_narrow_screen(page, "object-view")
        page.driver.get(f"{server.endpoint}/-/console/#/admin")
        fits_narrow_screen(page, "admin-view")
    finally:
        page.driver.set_window_size(1280, 900)
        for listed in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=listed["Key"])
        s3.delete_bucket(Bucket=bucket)
