"""The app's pages over a store of 1,000,000 entries, measured in headless Chromium.

Usage: MULE_BIN=target/release/mule python3 scripts/bench-ui.py [NODES]

Makes a throwaway store of 1,000,000 entries: NODES map nodes (default 200,000, uniform over
20 x 20 degrees), 2,000 calendar events over the coming year (one in ten weekly), and kv puts
over 100,000 keys for the rest. Starts `mule ui` on it and prints, as Markdown tables:
- each page's "page ready" time: from the start of navigation to its data shown (the app sets
  the `mule:ready` mark once a page has drawn its data; the map also waits for its list of
  visible features), the issue's target being under 1 s;
- the map's box queries as the browser saw them (Resource Timing: request sent to first byte,
  so the loopback hop is included) for the first view, fitted to the data, and after zooming in
  three times.
"""

import datetime
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
import chromium  # noqa: E402


ENTRIES = 1_000_000
EVENTS = 2_000
KEYS = 100_000
PAGES = ["/map", "/notes", "/calendar", "/status", "/sync", "/project", "/qr"]


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
    started = time.monotonic()
    append(mule, store, "map", (
        {"id": f"n{i}", "lat": 20 * rng.random(), "lon": 20 * rng.random(),
         "tags": {"amenity": "well", "name": f"well {i}"}} for i in range(nodes)))
    today = datetime.date.today()
    events = []
    for i in range(EVENTS):
        day = today + datetime.timedelta(days=rng.randrange(365))
        hour = 8 + rng.randrange(10)
        event = {"id": f"e{i}", "title": f"visit {i}", "tz": "UTC",
                 "start": f"{day}T{hour:02}:00:00", "end": f"{day}T{hour:02}:45:00"}
        if i % 10 == 0:
            event["rrule"] = "FREQ=WEEKLY;COUNT=20"
        events.append(event)
    append(mule, store, "cal", events)
    puts = ENTRIES - nodes - EVENTS
    append(mule, store, "kv", (
        {"k": f"site-{rng.randrange(KEYS)}", "v": {"note": f"visit {i}", "n": i}}
        for i in range(puts)))
    print(f"(store of {ENTRIES} entries: {nodes} nodes, {EVENTS} events, {puts} kv puts, "
          f"made in {time.monotonic() - started:.1f} s)", file=sys.stderr)


def append(mule, store, kind, bodies):
    lines = "".join(json.dumps(body) + "\n" for body in bodies)
    subprocess.run([mule, "--store", store, "append", kind, "-"], input=lines, text=True,
                   check=True, capture_output=True)


def measure(url, nodes):
    found = chromium.paths()
    if found is None:
        sys.exit("bench-ui.py: needs Debian's chromium and chromium-driver")
    driver = chromium.start(*found)
    try:
        origin = url.split("/?")[0]
        driver.get(url)
        driver.execute_script("localStorage.clear()")
        wait = WebDriverWait(driver, 60, poll_frequency=0.01)
        print("| page, store of 1,000,000 entries | page ready | target |\n|---|---|---|")
        for path in PAGES:
            driver.get(origin + path)
            wait.until(lambda d: d.execute_script(
                "return document.body.dataset.ready === arguments[0]", path))
            ready = driver.execute_script(
                "return performance.getEntriesByName('mule:ready ' + arguments[0])[0].startTime",
                path)
            if path == "/map":
                wait.until(lambda d: d.execute_script(
                    "const l = document.getElementById('map-list');"
                    "return l !== null && l.children.length > 0"))
                ready = max(ready, driver.execute_script("return performance.now()"))
            print(f"| `{path}` | {ready:.0f} ms | < 1,000 ms |")
        driver.get(origin + "/map")
        wait.until(lambda d: d.execute_script(
            "const l = document.getElementById('map-list'); return l !== null && l.children.length > 0"))
        print(f"\n| map of {nodes} nodes, box queries | answer | server, as the browser saw it |")
        print("|---|---|---|")
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
