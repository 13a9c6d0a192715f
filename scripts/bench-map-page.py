#!/usr/bin/env python3
"""The map page over a map of 200,000 nodes, measured in headless Chromium.

Usage: MULE_BIN=target/release/mule python3 scripts/bench-map-page.py [NODES]

Makes a throwaway store of NODES map nodes (default 200,000: uniform over 20 x 20 degrees),
starts `mule ui` on it, opens /map (fitted to the data's extent, so every node is in the first
box) and prints, as a Markdown table: the time from navigation to the first answer drawn (the
list of visible features filled), and the server's time for each /api/map request the page made
(the browser's Resource Timing: request sent to first byte, so it includes the loopback hop).
Then it zooms in three times and measures each answer the same way.
"""

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]


def main():
    nodes = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    mule = os.environ.get("MULE_BIN", str(ROOT / "target" / "release" / "mule"))
    with tempfile.TemporaryDirectory() as work:
        store = Path(work) / "store"
        fill(mule, store, nodes)
        server = subprocess.Popen([mule, "--store", store, "--json", "ui", "--port", "0"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            url = json.loads(server.stdout.readline())["url"]
            measure(url, nodes)
        finally:
            server.kill()
            server.wait()


def fill(mule, store, nodes):
    rng = random.Random(7)
    lines = "".join(
        json.dumps({"id": f"n{i}", "lat": 20 * rng.random(), "lon": 20 * rng.random(),
                    "tags": {"amenity": "well", "name": f"well {i}"}}) + "\n"
        for i in range(nodes))
    started = time.monotonic()
    subprocess.run([mule, "--store", store, "append", "map", "-"], input=lines, text=True,
                   check=True, capture_output=True)
    print(f"(store of {nodes} nodes made in {time.monotonic() - started:.1f} s)", file=sys.stderr)


def measure(url, nodes):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,860", "--disable-gpu"]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        origin = url.split("/?")[0]
        driver.get(url)
        driver.execute_script("localStorage.clear()")
        driver.get(origin + "/map")
        wait = WebDriverWait(driver, 60, poll_frequency=0.01)
        wait.until(lambda d: d.execute_script(
            "const l = document.getElementById('map-list'); return l !== null && l.children.length > 0"))
        ready = driver.execute_script("return performance.now()")
        print(f"| map page, {nodes} nodes | measured in Chromium | result |\n|---|---|---|")
        print(f"| page ready (navigation to the first answer drawn) | | {ready:.0f} ms |")
        report(driver, "first view (fitted to the data)")
        for step in range(3):
            driver.execute_script("performance.clearResourceTimings(); mapState.map.zoomIn(2, {animate: false})")
            # A resource timing entry appears once its answer has arrived.
            wait.until(lambda d: d.execute_script(
                "return performance.getEntriesByType('resource').some(e => e.name.includes('/api/map?'))"))
            report(driver, f"after zooming in {2 * (step + 1)} levels")
    finally:
        driver.quit()


def report(driver, what):
    entries = driver.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.name.includes('/api/map'))"
        ".map(e => [e.name.replace(location.origin, ''), e.responseStart - e.requestStart,"
        " e.transferSize])")
    status = driver.execute_script("return document.getElementById('map-status').textContent")
    for name, server, size in entries:
        print(f"| {what}: `{name[:60]}` | {status or 'documents'} ({size} bytes) | {server:.0f} ms |")


if __name__ == "__main__":
    main()
