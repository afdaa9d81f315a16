"""The create form's regions and storage policies in a real headless Chromium against a
server with a topology file: a region offering two policies shows a policy choice (its default
first), one offering a single policy shows none, and each bucket lands in the region and
under the policy chosen (checked with boto3's HEAD: x-amz-bucket-region, x-gmt-policyid)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select

from tests.conftest import Server
from tests.console.page import Page
from tests.console.test_console_admin import start

EU_DEFAULT, EU_ARCHIVE, CH_ONLY = "eu-standard", "eu-archive", "ch-standard"
TOPOLOGY = f"""
default_region = "eu"

[[regions]]
name = "eu"

[[regions]]
name = "ch"

[[policies]]
id = "{EU_DEFAULT}"
region = "eu"
default = true
description = "Standard"

[[policies]]
id = "{EU_ARCHIVE}"
region = "eu"
description = "Archive"

[[policies]]
id = "{CH_ONLY}"
region = "ch"
default = true
"""


def create(page: Page, name: str, region: str, policy: str | None) -> None:
    Select(page.by_id("new-bucket-region")).select_by_visible_text(region)
    if policy is not None:
        Select(page.by_id("new-bucket-policy")).select_by_visible_text(policy)
    page.type_into("new-bucket", name)
    page.by_id("create-bucket").click()
    page.until(lambda d: d.find_elements(By.LINK_TEXT, name))


def test_buckets_in_the_region_and_policy_chosen(
    server_factory: Callable[..., Server], browser: WebDriver, tmp_path: Path
) -> None:
    topology = tmp_path / "topology.toml"
    topology.write_text(TOPOLOGY)
    server = server_factory(extra_args=["--topology", str(topology)], region="eu")
    page = start(browser, tmp_path, server)
    policy = page.by_id("new-bucket-policy")
    offered = [option.text for option in Select(policy).options]
    assert offered == ["Standard (copies 1), default", "Archive (copies 1)"]
    archived, swiss, standard = (f"pol-{n}-{uuid.uuid4().hex[:8]}" for n in "abc")
    create(page, archived, "eu", "Archive (copies 1)")
    Select(page.by_id("new-bucket-region")).select_by_visible_text("ch")
    assert not policy.is_displayed()  # one policy: nothing to choose
    create(page, swiss, "ch", None)
    create(page, standard, "eu", "Standard (copies 1), default")
    page.shot("40-buckets-by-policy")
    s3 = server.client(s3={"addressing_style": "path"})
    for bucket, region, policy_id in (
        (archived, "eu", EU_ARCHIVE),
        (swiss, "ch", CH_ONLY),
        (standard, "eu", EU_DEFAULT),
    ):
        headers = s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]
        assert (headers["x-amz-bucket-region"], headers["x-gmt-policyid"]) == (region, policy_id)
