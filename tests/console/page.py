"""The console in a real headless Chromium or Firefox, for the browser tests: the browsers'
flags and prefs and a page object with waits on what a user would see."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium.common.exceptions import StaleElementReferenceException
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

# What CHROMIUM_FLAGS leave: a run of the console flow under strace still looked up Google's
# autofill, password-leak, optimization-guide, account and update hosts (and the default
# search engine's). The resolver rules answer every name but the loopback one "not found",
# so nothing is looked up or reached; the features named are what asked.
CHROMIUM_LOCAL_ONLY = [
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
    "--disable-features=AutofillServerCommunication,OptimizationHints,OptimizationGuideModelDownloading,PasswordLeakDetection,MediaRouter,DialMediaRouteProvider,Translate,CertificateTransparencyComponentUpdater",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-pings",
    "--metrics-recording-only",
    "--password-store=basic",
    "--use-mock-keychain",
]


class Page:
    """The console in the browser, with waits on what a user would see."""

    def __init__(self, driver: WebDriver, shots: Path) -> None:
        self.driver = driver
        self.shots = shots

    def until(self, check: Callable[[WebDriver], Any], timeout: float = WAIT) -> Any:
        # a list the page makes again (rows after a change) leaves stale elements: looked
        # up again at the next poll
        stale = (StaleElementReferenceException,)
        wait = WebDriverWait(self.driver, timeout, poll_frequency=0.05, ignored_exceptions=stale)
        return wait.until(check)

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

    def in_window(self, element_id: str) -> bool:
        """Whether the whole element is inside the window as it is scrolled now."""
        return bool(
            self.driver.execute_script(
                "const r = arguments[0].getBoundingClientRect();"
                "return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;",
                self.by_id(element_id),
            )
        )

    def shot(self, name: str) -> None:
        self.driver.save_screenshot(str(self.shots / f"{name}.png"))

    def shot_at(self, element_id: str, name: str) -> None:
        """A screenshot with the element at the top of the window (the part a step changed)."""
        self.driver.execute_script("arguments[0].scrollIntoView()", self.by_id(element_id))
        self.shot(name)


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


# -- Firefox --------------------------------------------------------------------------------------

FIREFOX = "/usr/bin/firefox-esr"
GECKODRIVER_VERSION = "0.37.1"  # ci/test.sh builds this one (crates.io has no other binary)


def _test_cache() -> Path:
    return Path(os.environ.get("OXSTORE_TEST_CACHE", Path.home() / ".cache" / "oxstore-tests"))


# Debian has no geckodriver package: ci/test.sh builds Mozilla's crate into the test cache and
# names it in OXSTORE_GECKODRIVER
GECKODRIVER = os.environ.get(
    "OXSTORE_GECKODRIVER",
    str(_test_cache() / f"geckodriver-{GECKODRIVER_VERSION}" / "bin" / "geckodriver"),
)

# No traffic but to 127.0.0.1. A fresh profile reaches out to Mozilla's services at start and
# in the background: each of these turns one of them off (a few are also set by geckodriver's
# and Marionette's own defaults, which change between releases, so they are named here).
FIREFOX_PREFS: dict[str, bool | int | str] = {
    # no proxy from the environment or the desktop, no DNS over HTTPS, no prefetching
    "network.proxy.type": 0,
    "network.trr.mode": 5,  # DoH off by choice: no canary lookups either
    "network.dns.disablePrefetch": True,
    "network.prefetch-next": False,
    "network.predictor.enabled": False,
    "network.http.speculative-parallel-limit": 0,
    "browser.urlbar.speculativeConnect.enabled": False,
    "browser.places.speculativeConnect.enabled": False,
    # captive portal and connectivity checks (detectportal.firefox.com)
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "captivedetect.canonicalURL": "",
    # updates of the browser, its add-ons, system add-ons, media plugins and search engines
    "app.update.disabledForTesting": True,
    "app.update.auto": False,
    "app.update.checkInstallTime": False,
    "extensions.update.enabled": False,  # Debian's firefox-esr.js turns it on
    "extensions.update.autoUpdateDefault": False,
    "extensions.systemAddon.update.enabled": False,
    "extensions.systemAddon.update.url": "",
    "extensions.blocklist.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.htmlaboutaddons.recommendations.enabled": False,
    "extensions.recommendations.themeRecommendationUrl": "",
    "browser.discovery.enabled": False,
    "media.gmp-manager.updateEnabled": False,
    "media.gmp-manager.url": "",
    "media.gmp-gmpopenh264.enabled": False,
    "media.gmp-widevinecdm.enabled": False,
    "browser.search.update": False,
    "browser.search.suggest.enabled": False,
    # region lookups and geolocation
    "browser.region.network.url": "",
    "browser.region.update.enabled": False,
    "geo.enabled": False,
    "geo.provider.network.url": "",
    # telemetry and data reporting
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.usage.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.archive.enabled": False,
    "toolkit.telemetry.server": "",
    "toolkit.telemetry.shutdownPingSender.enabled": False,
    "toolkit.telemetry.firstShutdownPing.enabled": False,
    "toolkit.telemetry.newProfilePing.enabled": False,
    "toolkit.telemetry.updatePing.enabled": False,
    "toolkit.telemetry.bhrPing.enabled": False,
    "browser.ping-centre.telemetry": False,
    "toolkit.crashreporter.enabled": False,
    "browser.crashReports.unsubmittedCheck.enabled": False,
    # safe browsing (list updates and download checks)
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.downloads.remote.enabled": False,
    "browser.safebrowsing.provider.google.updateURL": "",
    "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "privacy.trackingprotection.enabled": False,
    # remote settings (blocklists, CRLite, intermediates, translations' and ML models)
    "services.settings.server": "data:,#remote-settings-dummy/v1",
    "security.remote_settings.crlite_filters.enabled": False,
    "security.remote_settings.intermediates.enabled": False,
    "browser.translations.enable": False,
    "browser.ml.enable": False,
    # studies (normandy, shield) and push
    "app.normandy.enabled": False,
    "app.normandy.api_url": "",
    "app.shield.optoutstudies.enabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
    "dom.push.enabled": False,
    "dom.push.connection.enabled": False,
    "dom.push.serverURL": "",
    # the start and new-tab pages (activity stream, its snippets, stories and top sites)
    "browser.startup.page": 0,
    "browser.startup.homepage": "about:blank",
    "browser.startup.homepage_override.mstone": "ignore",
    "startup.homepage_welcome_url": "",
    "startup.homepage_welcome_url.additional": "",
    "browser.aboutwelcome.enabled": False,
    "browser.newtabpage.enabled": False,
    "browser.newtabpage.activity-stream.feeds.snippets": False,
    "browser.newtabpage.activity-stream.feeds.section.topstories": False,
    "browser.newtabpage.activity-stream.feeds.system.topstories": False,
    "browser.newtabpage.activity-stream.feeds.discoverystreamfeed": False,
    "browser.newtabpage.activity-stream.feeds.telemetry": False,
    "browser.newtabpage.activity-stream.telemetry": False,
    "browser.newtabpage.activity-stream.showSponsored": False,
    "browser.newtabpage.activity-stream.showSponsoredTopSites": False,
    "browser.newtabpage.activity-stream.default.sites": "",
    "browser.topsites.contile.enabled": False,
    "extensions.pocket.enabled": False,
    "identity.fxaccounts.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    # the console's Download link saves without asking, into the test's directory
    "browser.download.folderList": 2,
    "browser.download.useDownloadDir": True,
    "browser.download.always_ask_before_handling_new_types": False,
    "browser.helperApps.neverAsk.saveToDisk": "application/octet-stream,binary/octet-stream",
    "browser.download.manager.showWhenStarting": False,
    "browser.download.alwaysOpenPanel": False,
}

# the browsers a test runs in with `@pytest.mark.parametrize("browser", BROWSERS, indirect=True)`
BROWSERS = ["chromium", "firefox"]

# Firefox's uncaught script errors, by WebDriver session, as WebDriver BiDi reports them
# (geckodriver has no log endpoint)
_FIREFOX_ERRORS: dict[str, list[str]] = {}


def watch_script_errors(driver: WebDriver) -> None:
    errors = _FIREFOX_ERRORS.setdefault(str(driver.session_id), [])
    driver.script.add_javascript_error_handler(lambda entry: errors.append(str(entry.text)))


def script_errors(driver: WebDriver) -> list[str]:
    """The page's script errors so far: Chromium's SEVERE log entries other than failed loads
    (the refused calls' 403s and 404s), Firefox's uncaught errors and rejections."""
    if driver.capabilities.get("browserName") == "firefox":
        return list(_FIREFOX_ERRORS.get(str(driver.session_id), []))
    entries = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    return [str(e["message"]) for e in entries if "Failed to load resource" not in e["message"]]


def downloaded(directory: Path, name: str, size: int) -> Callable[[WebDriver], Path | None]:
    """A wait's check: the file the browser saved, whole and no longer being written (Chromium
    writes NAME.crdownload, Firefox NAME.part, and each renames it when done)."""

    def check(driver: WebDriver) -> Path | None:
        path = directory / name
        partial = [p for p in directory.iterdir() if p.suffix in (".crdownload", ".part")]
        if partial or not path.exists() or path.stat().st_size != size:
            return None
        return path

    return check
