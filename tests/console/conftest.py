"""Fixtures of the browser tests: a headless Chromium (Debian's chromium + chromium-driver,
driven by Selenium) and an HTTP session that never uses a proxy."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from tests.console.page import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("needs Debian's chromium and chromium-driver (ci/test.sh installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    # a given driver path: Selenium Manager (which downloads drivers) never runs
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


@pytest.fixture
def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy: the server is on 127.0.0.1
    return session
