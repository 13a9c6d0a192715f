#!/usr/bin/env python3
"""Takes the README's screenshots of `mule ui` (docs/screenshots/*.png) from a demo store.

Usage: MULE_BIN=target/release/mule python3 scripts/readme-screenshots.py

Makes two throwaway stores of a small water-point survey (points and a road on the map, a
clinic's schedule, notes, one note two devices changed at once, a project both belong to),
syncs them through a folder, starts `mule ui` on the first and photographs each page in
headless Chromium (desktop, and the map at phone width). Needs Debian's chromium,
chromium-driver and imagemagick (the PNGs are reduced to 64 colours to stay small).
"""

import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
import chromium  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
MULE = os.environ.get("MULE_BIN", str(ROOT / "target" / "release" / "mule"))
KINDS = [("well", "Well"), ("water_point", "Tap"), ("clinic", "Clinic"), ("school", "School")]


def mule(store, *args, input=None):
    done = subprocess.run([MULE, "--store", store, *args], input=input, text=True,
                          capture_output=True, check=False)
    if done.returncode != 0:
        sys.exit(f"mule {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def demo(work):
    office, field, stick = work / "office", work / "field", work / "stick"
    stick.mkdir()
    mule(office, "project", "create", "Valley water survey")
    invite = mule(office, "--json", "project", "invite")
    mule(field, "project", "join", "-", input=json.loads(invite)["invite"])
    rng = random.Random(3)
    points = []
    for i in range(40):
        amenity, label = KINDS[i % len(KINDS)]
        points.append({"id": f"point-{i + 1}", "type": "node", "lat": -1.95 + rng.uniform(-0.03, 0.03),
                       "lon": 30.06 + rng.uniform(-0.04, 0.04),
                       "tags": {"amenity": amenity, "name": f"{label} {i + 1}"}})
    mule(office, "append", "map", "-", input="".join(json.dumps(p) + "\n" for p in points))
    road = [json.loads(mule(office, "--json", "map", "create", json.dumps(
        {"lat": -1.95 + 0.01 * k, "lon": 30.03 + 0.015 * k})))["id"] for k in range(-2, 3)]
    mule(office, "map", "create", json.dumps(
        {"type": "way", "refs": road, "tags": {"highway": "track", "name": "Valley track"}}))
    for text in ["clinic day every tuesday 9am-1pm", "team meeting every monday 8-9am except dec 28",
                 "vaccination drive dec 10 8am-4pm", "pump repair dec 10 2pm-3pm",
                 "water committee every other thursday at 4pm"]:
        mule(office, "cal", "add", text, "--tz", "UTC")
    for key, value in [("well-7/status", "dry since november"), ("clinic-3/nurse", "Amina"),
                       ("stock/chlorine-tablets", 1200), ("school-2/tank", "needs cleaning")]:
        mule(office, "kv", "put", key, json.dumps(value))
    mule(field, "kv", "put", "well-7/status", json.dumps("repaired on the 3rd, flowing"))
    for store in [field, office, field]:
        mule(store, "sync", str(stick))
    # What the field laptop adds after the office last synced: the Sync page brings it in.
    mule(field, "map", "create", json.dumps({"lat": -1.94, "lon": 30.05, "tags": {
        "amenity": "water_point", "name": "New tap by the market"}}))
    mule(field, "sync", str(stick))
    return office, stick


def main():
    found = chromium.paths()
    if found is None:
        sys.exit("readme-screenshots.py: needs Debian's chromium and chromium-driver")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temp:
        office, stick = demo(Path(temp))
        server = subprocess.Popen([MULE, "--store", office, "--json", "ui", "--port", "0"],
                                  stdout=subprocess.PIPE, text=True)
        driver = chromium.start(*found)
        try:
            url = json.loads(server.stdout.readline())["url"]
            photograph(driver, url, stick)
        finally:
            driver.quit()
            server.kill()
            server.wait()


def photograph(driver, url, stick):
    origin = url.split("/?")[0]
    driver.get(url)
    wait = WebDriverWait(driver, 30, poll_frequency=0.05)

    def show(path, name, ready="true", size=(1280, 860)):
        driver.set_window_size(*size)
        driver.get(origin + path)
        try:
            wait.until(lambda d: d.execute_script(
                "return document.body.dataset.ready === arguments[0] && (" + ready + ")",
                path.split("?")[0]))
        except Exception:
            save(driver, "FAILED-" + name)
            raise
        save(driver, name)

    show("/map", "map", "document.querySelectorAll('#map-list li').length > 10")
    show("/map", "map-phone", "document.querySelectorAll('#map-list li').length > 10", (390, 844))
    show("/calendar?view=month&date=2026-12-01", "calendar")
    show("/notes", "notes")
    show("/status", "status")
    show("/project", "project")
    driver.get(origin + "/sync")
    wait.until(lambda d: d.execute_script("return document.body.dataset.ready === '/sync'"))
    driver.execute_script(
        "const input = document.querySelector('#page input[type=text], #page input:not([type])');"
        "input.value = arguments[0]; input.form.requestSubmit();", str(stick))
    wait.until(lambda d: str(stick) in d.find_element("id", "page").text)
    # Sync with the stick, as a person presses its button, and photograph the result.
    driver.execute_script(
        "for (const button of document.querySelectorAll('#page button')) {"
        "  const place = button.parentElement.parentElement;"
        "  if (button.textContent === 'Sync' && place.textContent.includes(arguments[0]))"
        "    { button.click(); return; } }", str(stick))
    wait.until(lambda d: "Came in" in d.find_element("id", "page").text)
    save(driver, "sync")


def save(driver, name):
    raw = OUT / f"{name}.raw.png"
    driver.save_screenshot(str(raw))
    subprocess.run(["/usr/bin/convert", raw, "-strip", "+dither", "-colors", "64", f"PNG8:{OUT / name}.png"],
                   check=True)
    raw.unlink()
    print(f"{OUT / name}.png: {(OUT / f'{name}.png').stat().st_size} bytes")


if __name__ == "__main__":
    main()
