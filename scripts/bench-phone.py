#!/usr/bin/env python3
"""Measures the phone page (`mule qr receiver --html`) in Debian's headless Chromium: how long
its WebAssembly takes to decode one camera picture, and how fast a stream comes in end to end.

Chromium's fake camera plays a y4m made by ffmpeg from `mule qr encode --png` frames of a
bundle (default profile, degraded as a camera films a screen, 12 pictures a second, each code
filmed at 24 pictures a second), at 1920x1080 and at 1280x720. The page times each `push_rgba` call (RGBA to grey,
rxing, the fountain decoder) with performance.now() and shows the median; this script reads it
and the time from pressing Scan to the bundle being kept.

    scripts/bench-phone.py [--kib 60] [--mule target/release/mule]
"""

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
import camera  # noqa: E402


class Store:
    def __init__(self, mule, path):
        self.mule, self.path = mule, path

    def run(self, *args):
        subprocess.run([self.mule, "--store", self.path, *args], check=True,
                       capture_output=True, timeout=600)


def measure(page, video, size):
    browser = camera.camera_browser(video, extra=["--window-size=412,915"])
    try:
        browser.get(page.as_uri())
        wait = WebDriverWait(browser, 600, poll_frequency=0.05)
        wait.until(lambda d: d.execute_script("return document.body.dataset.ready"))
        started = time.monotonic()
        browser.find_element("id", "scan").click()
        wait.until(lambda d: d.execute_script("return document.body.dataset.received"))
        seconds = time.monotonic() - started
        timing = browser.find_element("id", "timing")
        return {
            "size": timing.get_attribute("data-size"),
            "median_ms": float(timing.get_attribute("data-median")),
            "pictures": int(timing.get_attribute("data-count")),
            "seconds": seconds,
        }
    finally:
        browser.quit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kib", type=int, default=60, help="bundle size to carry (about)")
    parser.add_argument("--mule", default=str(ROOT / "target" / "release" / "mule"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        temp = Path(temp)
        store = Store(args.mule, temp / "store")
        # Values that do not compress: the bundle is about as large as what was written.
        for n in range(args.kib * 1024 // 256):
            store.run("kv", "put", f"k{n}", f'"{hashlib.sha512(str(n).encode()).hexdigest() * 2}"')
        bundle, frames = camera.encoded_frames(store, temp, "bench")
        page = temp / "receive.html"
        store.run("qr", "receiver", "--html", page)
        kib = bundle.stat().st_size / 1024
        print(f"bundle {kib:.1f} KiB, {len(list(frames.glob('*.png')))} codes; "
              f"page {page.stat().st_size / 1024:.0f} KiB")
        for size in [(1920, 1080), (1280, 720)]:
            # The screen plays the default profile's 12 codes a second; the camera films 24.
            video = camera.video_of(frames, temp / f"{size[0]}.y4m", size=size,
                                    codes_per_second=12, fps=24)
            result = measure(page, video, size)
            print(f"{result['size']}: decode median {result['median_ms']:.1f} ms a picture "
                  f"({result['pictures']} pictures); stream {kib / result['seconds']:.1f} KiB/s "
                  f"end to end ({result['seconds']:.1f} s)")


if __name__ == "__main__":
    main()
