"""Fixtures of the browser tests: a headless Chromium (Debian's chromium + chromium-driver) or
Firefox (Debian's firefox-esr + geckodriver, which ci/test.sh builds), driven by Selenium, and
an HTTP session that never uses a proxy.

`browser` is Chromium; a test runs in Firefox too with
`@pytest.mark.parametrize("browser", BROWSERS, indirect=True)`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.firefox.service import Service as FirefoxService
from selenium.webdriver.remote.webdriver import WebDriver

from tests.console.page import (
    CHROMEDRIVER,
    CHROMIUM,
    CHROMIUM_FLAGS,
    CHROMIUM_LOCAL_ONLY,
    FIREFOX,
    FIREFOX_PREFS,
    GECKODRIVER,
    watch_script_errors,
)


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    """Where the browser saves what the page downloads."""
    path = tmp_path / "downloads"
    path.mkdir()
    return path


@pytest.fixture
def browser(request: pytest.FixtureRequest, tmp_path: Path, downloads: Path) -> Iterator[WebDriver]:
    name = getattr(request, "param", "chromium")
    if name == "chromium":
        driver = chromium(tmp_path / "chromium-profile", downloads)
    elif name == "firefox":
        driver = firefox(tmp_path / "firefox-profile", downloads, tmp_path / "geckodriver.log")
    else:
        raise ValueError(f"no such browser: {name}")
    yield driver
    driver.quit()


def chromium(profile: Path, downloads: Path) -> WebDriver:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("needs Debian's chromium and chromium-driver (ci/test.sh installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for flag in [*CHROMIUM_FLAGS, *CHROMIUM_LOCAL_ONLY, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    prefs = {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    options.add_experimental_option("prefs", prefs)
    # a given driver path: Selenium Manager (which downloads drivers) never runs
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


def firefox(profile: Path, downloads: Path, log: Path) -> WebDriver:
    if not (shutil.which(FIREFOX) and os.access(GECKODRIVER, os.X_OK)):
        pytest.fail(
            f"needs Debian's firefox-esr and geckodriver at {GECKODRIVER} "
            "(ci/test.sh installs both; OXSTORE_GECKODRIVER names another)"
        )
    profile.mkdir()
    options = webdriver.FirefoxOptions()
    options.binary_location = FIREFOX
    # a profile of the test's own: geckodriver writes the prefs into it, nothing is shared
    for argument in ["-headless", "-profile", str(profile), "-width", "1280", "-height", "900"]:
        options.add_argument(argument)
    for pref, value in {**FIREFOX_PREFS, "browser.download.dir": str(downloads)}.items():
        options.set_preference(pref, value)
    options.enable_bidi = True  # Firefox has no log endpoint: script errors come over BiDi
    # a BiDi session dismisses a confirm() at once unless told to leave it to the test
    options.unhandled_prompt_behavior = "ignore"
    # Mozilla's own test switch: Firefox refuses every connection but to a local address,
    # and takes the prefs that point its remote settings at nothing (release builds ignore
    # them otherwise); geckodriver hands its environment on to Firefox
    env = {**os.environ, "MOZ_DISABLE_NONLOCAL_CONNECTIONS": "1"}
    service = FirefoxService(executable_path=GECKODRIVER, log_output=str(log), env=env)
    driver = webdriver.Firefox(options=options, service=service)
    driver.set_window_size(1280, 900)
    watch_script_errors(driver)
    return driver


@pytest.fixture
def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy: the server is on 127.0.0.1
    return session
