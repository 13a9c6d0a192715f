"""Browser tests of `mule ui`: Debian's Chromium, driven by selenium through chromedriver.

Each test starts the real `mule` binary (built by `cargo test`, or named by $MULE_BIN) on
throwaway stores, opens the app in headless Chromium and acts as a person would. Screenshots go
to target/browser-screenshots/ (look at them). Where Chromium, chromedriver or selenium is
missing the tests are skipped with the reason, except under CI=true, where they fail.
"""

import json
import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import chromium

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
SCREENSHOTS = TARGET / "browser-screenshots"
# How long a wait for something the page must show may take before the test fails. Waits end
# as soon as the page shows it (selenium polls the DOM); this is only the bound.
PATIENCE = 20


def missing(reason):
    """Skips the test for a missing outside tool, or fails it under CI=true."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: nothing may be skipped)")
    pytest.skip(reason)


def mule_binary():
    binary = Path(os.environ.get("MULE_BIN", TARGET / "debug" / "mule"))
    if not binary.exists():
        pytest.fail(f"{binary} does not exist: run `cargo build` first (scripts/test does)")
    return binary


class Store:
    """A throwaway store and the `mule` commands run on it."""

    def __init__(self, path):
        self.path = path

    def run(self, *args, input=None):
        """Runs `mule --store PATH ARGS`, fails the test on a non-zero exit, returns stdout."""
        done = subprocess.run(
            [mule_binary(), "--store", self.path, *args],
            input=input, capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, f"mule {' '.join(map(str, args))}: {done.stderr}"
        return done.stdout

    def json(self, *args, input=None):
        """The JSON lines `mule --json ARGS` prints."""
        out = self.run("--json", *args, input=input)
        return [json.loads(line) for line in out.splitlines() if line.strip()]


class Ui:
    """`mule ui` running on a store: its URL (with the secret) and its origin."""

    def __init__(self, store):
        self.process = subprocess.Popen(
            [mule_binary(), "--store", store.path, "--json", "ui", "--port", "0"],
            stdout=subprocess.PIPE, text=True,
        )
        # The server listens once the URL line is out: nothing to wait for after it.
        first = json.loads(self.process.stdout.readline())
        self.url = first["url"]
        parts = urlsplit(self.url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.host = parts.netloc

    def page(self, path):
        return self.origin + path

    def stop(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "store")


@pytest.fixture
def other_store(tmp_path):
    return Store(tmp_path / "other")


@pytest.fixture
def ui(store):
    server = Ui(store)
    yield server
    server.stop()


@pytest.fixture
def browser(request):
    """Headless Chromium whose network log the test can read (`requests(browser)`)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing("selenium is needed (pip install -r tests/python/requirements.txt)")
    found = chromium.paths()
    if found is None:
        missing("Chromium and chromedriver are needed (Debian: chromium chromium-driver)")
    driver = chromium.start(*found, network_log=True)
    driver.set_page_load_timeout(PATIENCE)
    yield driver
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        shot(driver, f"FAILED-{request.node.name}")
    driver.quit()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the test item, so a failed test leaves a screenshot."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


def shot(driver, name):
    """Saves a screenshot as target/browser-screenshots/NAME.png and returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def requested_urls(driver):
    """Every URL the browser asked for since the last call (from its performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def wait_for(driver, condition, what):
    """Waits until `condition(driver)` is true (polling the page), or fails saying `what`."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, PATIENCE, poll_frequency=0.05).until(
        condition, message=f"the page never showed {what}")


def page_text(driver):
    """The text the page's main area shows."""
    return driver.find_element("id", "page").text


def login(driver, ui, path="/status"):
    """Opens the printed URL (which sets the cookie), then goes to `path`."""
    driver.get(ui.url)
    driver.get(ui.page(path))
    wait_for(driver, lambda d: d.execute_script(
        "return document.querySelector('#page h1') !== null"), f"{path}'s heading")
