"""Headless Chromium under selenium, as the browser tests and the scripts that measure or
photograph the app start it (Debian's chromium and chromium-driver; nothing is downloaded)."""

import shutil

# Quiet, offline, English: no background requests of Chromium's own in the network log.
ARGUMENTS = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
             "--window-size=1280,860", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--disable-default-apps", "--disable-sync", "--lang=en-US"]


def paths():
    """(browser, driver) paths, or None where either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def start(browser, driver, network_log=False, extra=()):
    """A selenium driver of headless Chromium; with `network_log`, its performance and console
    logs can be read with `get_log`; `extra` arguments are added (such as a fake camera's)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in [*ARGUMENTS, *extra]:
        options.add_argument(argument)
    if network_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)
