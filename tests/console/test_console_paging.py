"""Folder paging over 100,000 keys in a real headless Chromium: a bucket loaded by s5cmd with
100,000 empty objects under `many/` beside a few other folders and keys; the console shows the
folders, then `many/` a page at a time (no key skipped or shown twice from one page to the
next, the same keys again going back, the position said), and its name filter reaches
`many/099999` in one step."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from tests.conftest import ACCESS_KEY, SECRET_KEY, Server, Tool, require_binary
from tests.console.page import Page, open_console, sign_in_as

MANY = 100_000
OTHERS = ["alpha/a.txt", "alpha/b.txt", "zeta/z.txt", "readme.txt", "top.txt"]


def many(i: int) -> str:
    return f"{i:06d}"  # the zero-padded names list in numeric order


def load_bucket(server: Server, tool: Tool, bucket: str) -> float:
    """Puts MANY empty objects under many/ and OTHERS into a new bucket; the seconds it took.
    s5cmd uploads a local tree of empty files with many workers: measured here, about 45 s
    (2,300 objects/s on 2 cores), against over a minute for `s5cmd run` of single copies."""
    server.client(s3={"addressing_style": "path"}).create_bucket(Bucket=bucket)
    tree = tool.home / "tree"
    (tree / "many").mkdir(parents=True)
    for i in range(MANY):
        (tree / "many" / many(i)).touch()
    for key in OTHERS:
        (tree / key).parent.mkdir(parents=True, exist_ok=True)
        (tree / key).touch()
    started = time.monotonic()
    binary = require_binary("s5cmd")
    args = ["--endpoint-url", server.endpoint, "--numworkers", "64", "cp"]
    tool.run(binary, *args, f"{tree}/*", f"s3://{bucket}/", timeout=240)
    took = time.monotonic() - started
    shutil.rmtree(tree)  # 100,000 inodes less
    return took


def names(page: Page) -> list[str]:
    """The names in the folder's table, in order (one call: 200 rows one by one are slow)."""
    found = page.driver.execute_script(
        "return Array.from(document.querySelectorAll('#object-table tbody td.name a'),"
        " (a) => a.textContent)"
    )
    return [str(name) for name in found]


def shows(page: Page, expected: list[str], position: str) -> Callable[[WebDriver], bool]:
    """A wait's check: the table holds exactly these names and the pager says where it is."""
    return lambda d: names(page) == expected and page.by_id("page-position").text == position


def page_size(page: Page) -> int:
    # the console's own constant (the same module instance: importing it again runs nothing)
    size = page.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('./browser.js').then((m) => done(m.PAGE_SIZE));"
    )
    return int(size)


def top_level(page: Page, bucket: str) -> None:
    page.driver.find_element(By.LINK_TEXT, bucket).click()
    page.visible("objects-view")
    expected = ["alpha/", "many/", "zeta/", "readme.txt", "top.txt"]
    page.until(shows(page, expected, "Items 1–5 of 5"))
    assert page.by_id("next-page").get_attribute("disabled") is not None
    page.shot("20-top-level")


def turn_pages(page: Page, size: int) -> None:
    """Four pages forward and one back: each continues where the last one ended."""
    page.driver.find_element(By.LINK_TEXT, "many/").click()
    first = [many(i) for i in range(size)]
    page.until(shows(page, first, f"Items 1–{size}"))
    assert page.by_id("prev-page").get_attribute("disabled") is not None
    seen = list(first)
    for number in range(1, 4):
        page.by_id("next-page").click()
        expected = [many(i) for i in range(number * size, (number + 1) * size)]
        page.until(shows(page, expected, f"Items {number * size + 1}–{(number + 1) * size}"))
        seen += expected
    assert seen == [many(i) for i in range(4 * size)]  # no gap, no repeat
    page.shot("21-fourth-page")
    page.by_id("prev-page").click()
    again = [many(i) for i in range(2 * size, 3 * size)]
    page.until(shows(page, again, f"Items {2 * size + 1}–{3 * size}"))


def filter_names(page: Page, size: int) -> None:
    """The filter lists only the names that start with it: the end of 100,000 in one step."""
    page.type_into("name-filter", "0999")
    page.by_id("apply-filter").click()
    page.until(shows(page, [many(i) for i in range(99_900, MANY)], "Items 1–100 of 100"))
    assert page.by_id("next-page").get_attribute("disabled") is not None
    page.shot("22-filtered")
    page.type_into("name-filter", many(MANY - 1))
    page.by_id("apply-filter").click()
    page.until(shows(page, [many(MANY - 1)], "Items 1–1 of 1"))
    page.driver.find_element(By.LINK_TEXT, many(MANY - 1)).click()
    page.visible("object-view")
    page.until(lambda d: d.find_element(By.ID, "object-title").text == many(MANY - 1))
    page.driver.back()  # the folder as it was left: filter and all
    page.visible("objects-view")
    page.until(shows(page, [many(MANY - 1)], "Items 1–1 of 1"))
    assert page.by_id("name-filter").get_attribute("value") == many(MANY - 1)
    page.type_into("name-filter", "nothing")
    page.by_id("apply-filter").click()
    page.until(lambda d: d.find_element(By.ID, "no-objects").is_displayed())
    assert "nothing" in page.by_id("no-objects").text and names(page) == []
    # emptied as a user does (WebDriver's clear() sends no input event): the whole folder
    # again, without a click
    page.by_id("name-filter").send_keys(Keys.CONTROL, "a", Keys.DELETE)
    page.until(shows(page, [many(i) for i in range(size)], f"Items 1–{size}"))


def test_paging_over_many_keys(
    server_factory: Callable[..., Server], tool: Tool, browser: WebDriver, tmp_path: Path
) -> None:
    # a server of its own, two workers: the 100,000 keys stay out of the shared one
    server = server_factory(extra_args=["--workers", "2"])
    bucket = f"paging-{uuid.uuid4().hex[:10]}"
    took = load_bucket(server, tool, bucket)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = Page(browser, shots)
    open_console(page, server.endpoint)
    sign_in_as(page, server.endpoint, ACCESS_KEY, SECRET_KEY)
    size = page_size(page)
    assert size == 200
    top_level(page, bucket)
    turn_pages(page, size)
    filter_names(page, size)
    print(f"{MANY} keys loaded in {took:.1f} s; screenshots: {shots}")
