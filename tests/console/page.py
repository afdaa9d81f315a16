"""The console in a real headless Chromium, for the browser tests: the browser's flags and a
page object with waits on what a user would see."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 20.0

# no traffic but to 127.0.0.1: nothing in the background, no proxy from the environment
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    "--window-size=1280,900",
]


class Page:
    """The console in the browser, with waits on what a user would see."""

    def __init__(self, driver: WebDriver, shots: Path) -> None:
        self.driver = driver
        self.shots = shots

    def until(self, check: Callable[[WebDriver], Any], timeout: float = WAIT) -> Any:
        return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(check)

    def by_id(self, element_id: str) -> WebElement:
        return self.driver.find_element(By.ID, element_id)

    def visible(self, element_id: str) -> WebElement:
        def shown(driver: WebDriver) -> WebElement | None:
            element = driver.find_element(By.ID, element_id)
            return element if element.is_displayed() else None

        found: WebElement = self.until(shown)
        return found

    def css(self, selector: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def type_into(self, element_id: str, text: str) -> None:
        field = self.by_id(element_id)
        field.clear()
        field.send_keys(text)

    def accept_confirm(self) -> None:
        self.until(lambda d: d.switch_to.alert).accept()

    def status(self) -> str:
        return str(self.by_id("status").text)

    def shot(self, name: str) -> None:
        self.driver.save_screenshot(str(self.shots / f"{name}.png"))


def open_console(page: Page, endpoint: str) -> None:
    page.driver.get(endpoint + "/-/console/")
    page.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))


def sign_in_as(page: Page, endpoint: str, access_key: str, secret_key: str) -> None:
    """Signs in from the sign-in view with the given key pair; waits for the bucket list."""
    page.visible("sign-in-view")
    page.type_into("access-key", access_key)
    page.type_into("secret-key", secret_key)
    page.by_id("sign-in").click()
    page.visible("buckets-view")
