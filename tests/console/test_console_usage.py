"""The Admin view's usage charts in a real headless Chromium against a server with short usage
periods: requests in two buckets, in two periods, make statistics objects (polled through the
admin API, bounded); the page's charts are SVG images (role img, labelled) whose legend names
both buckets, and its data table, their text alternative, has exactly the numbers of the
objects' JSON. Screenshots, wide and at a phone's width, are left under tmp_path."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.admin.helpers import admin
from tests.conftest import Server
from tests.console.page import Page, script_errors
from tests.console.test_console_admin import start

PERIOD = 2  # seconds of one statistics object
USAGE_ARGS = ["--usage", "--usage-period", str(PERIOD), "--usage-cache-timeout", "0.5"]
COLUMNS = ["ops", "put", "get", "list", "other", "uploaded", "downloaded"]  # the table's numbers


def statistics(server: Server) -> dict[int, dict[str, Any]]:
    """Every statistics object, by the start of its period."""
    listed = admin(server, "GET", "ostor-usage").json()
    bodies = [admin(server, "GET", "ostor-usage", obj=name).json() for name in listed["items"]]
    return {int(body["start_ts"]): body for body in bodies}


def counts_of(body: dict[str, Any], bucket: str) -> list[int]:
    """One object's counters of a bucket, summed over its users, in the table's order."""
    summed = dict.fromkeys(COLUMNS, 0)
    for item in body["items"]:
        if item["key"]["bucket"] != bucket:
            continue
        for kind, count in {**item["counters"]["ops"], **item["counters"]["net_io"]}.items():
            summed[kind] += count
    summed["ops"] = sum(summed[kind] for kind in ("put", "get", "list", "other"))
    return [summed[name] for name in COLUMNS]


def wait_for(check: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "no statistics objects in time"
        time.sleep(0.25)


def requests_in_two_periods(server: Server, first: str, second: str) -> None:
    s3 = server.client(s3={"addressing_style": "path"})
    s3.create_bucket(Bucket=first)
    for n in range(3):
        s3.put_object(Bucket=first, Key=f"k{n}", Body=b"a" * 1000)
    s3.get_object(Bucket=first, Key="k0")["Body"].read()
    time.sleep(PERIOD - time.time() % PERIOD + 0.05)  # into the next period (the server's clock)
    s3.create_bucket(Bucket=second)
    for n in range(2):
        s3.put_object(Bucket=second, Key=f"k{n}", Body=b"b" * 2000)
        s3.get_object(Bucket=second, Key=f"k{n}")["Body"].read()
    s3.list_objects_v2(Bucket=second)


def counted(server: Server, buckets: set[str]) -> bool:
    objects = statistics(server)
    seen = {item["key"]["bucket"] for body in objects.values() for item in body["items"]}
    return len(objects) >= 2 and buckets <= seen


def table_rows(page: Page) -> list[tuple[int, str | None, list[int]]]:
    """(period start, bucket or None for "other buckets", numbers) of each row of the table."""
    rows = []
    for row in page.css("#usage-table tr.usage-row"):
        cells = row.find_elements(By.CSS_SELECTOR, "td.number")
        numbers = [int(cell.get_attribute("data-value") or "-1") for cell in cells]
        rows.append(
            (int(row.get_attribute("data-period") or 0), row.get_attribute("data-bucket"), numbers)
        )
    return rows


def charts_name(page: Page, buckets: list[str]) -> None:
    legend = [item.get_attribute("data-series") for item in page.css("#usage-legend li")]
    assert all(bucket in legend for bucket in buckets), legend
    assert "other buckets" not in legend  # few buckets: each is a series of its own
    for chart in ("ops-chart", "bytes-chart"):
        (image,) = page.css(f"#{chart} svg")
        assert image.get_attribute("role") == "img"
        label = image.get_attribute("aria-label") or ""
        assert all(bucket in label for bucket in buckets), label
        bars = page.css(f"#{chart} rect.bar")
        titles = [
            bar.find_element(By.TAG_NAME, "title").get_attribute("textContent") for bar in bars
        ]
        assert all(any(t.startswith(f"{bucket}, ") for t in titles) for bucket in buckets), titles


def test_usage_charts_show_the_statistics_objects(
    server_factory: Callable[..., Server], browser: WebDriver, tmp_path: Path
) -> None:
    server = server_factory(extra_args=USAGE_ARGS)
    first, second = (f"chart-{n}-{uuid.uuid4().hex[:8]}" for n in "ab")
    requests_in_two_periods(server, first, second)
    wait_for(lambda: counted(server, {first, second}))

    page = start(browser, tmp_path, server)
    page.by_id("admin-link").click()
    page.visible("usage-charts")

    def rows_of_both() -> bool:
        return {first, second} <= {bucket for _, bucket, _ in table_rows(page)}

    page.until(lambda d: rows_of_both())
    page.shot_at("usage-charts", "30-usage-charts")
    charts_name(page, [first, second])

    # the table has the objects' numbers (they never change once written)
    objects = statistics(server)
    rows = table_rows(page)
    for period, bucket, numbers in rows:
        assert bucket is not None, "no row of other buckets: there are few"
        assert numbers == counts_of(objects[period], bucket), (period, bucket)
    puts = {name: sum(n[1] for _, b, n in rows if b == name) for name in (first, second)}
    assert puts == {first: 3, second: 2}  # the test's own uploads, each period's in its row
    assert len({start for start, b, _ in rows if b in (first, second)}) == 2  # two periods
    assert len({start for start, _, _ in rows}) <= 50  # the newest objects only

    # the names are there still, folded away under a <details>
    names = page.by_id("usage-names")
    assert names.get_attribute("open") is None
    listed = page.css("#usage-list li")
    assert len(listed) >= 2
    assert all((item.get_attribute("textContent") or "").startswith("s3-usage-") for item in listed)

    # a phone: the charts are drawn again at the width shown, the table scrolls sideways
    page.driver.set_window_size(360, 800)
    page.until(
        lambda d: (
            int(d.find_element(By.CSS_SELECTOR, "#ops-chart svg").get_attribute("width") or 999)
            <= 360
        )
    )
    page.shot_at("usage-charts", "31-usage-charts-narrow")
    page.shot_at("usage-table", "31-usage-table-narrow")
    page.driver.set_window_size(1280, 900)
    assert script_errors(browser) == []
