"""The phone page (`mule qr receiver --html`) in a phone-sized Chromium: the fake camera films
two QR streams at once (a project's sealed bundle and a plain one, degraded as a camera films a
screen), the page keeps both, saves each byte-exact, and plays one back: screenshots of its
frames rebuild the bundle with `mule qr decode`. Nothing leaves the page: no request at all."""

import hashlib
import subprocess

import camera
from conftest import mule_binary, requested_urls, shot, wait_for

PHONE = (412, 915)


def fill(store, prefix, count):
    """Values that do not compress, so each stream takes several codes."""
    for n in range(count):
        value = hashlib.sha256(f"{prefix}{n}".encode()).hexdigest() * 3
        store.run("kv", "put", f"{prefix}{n}", f'"{value}"')


def downloads_to(browser, folder):
    browser.execute_cdp_cmd("Browser.setDownloadBehavior",
                            {"behavior": "allow", "downloadPath": str(folder)})


def row_of(browser, bundle_id):
    return browser.find_element("css selector", f'#bundles li[data-id="{bundle_id}"]')


def saved(folder, bundle_id):
    """The saved file once the browser has finished writing it."""
    path = folder / f"{bundle_id}.mule"
    done = path.exists() and not list(folder.glob("*.crdownload"))
    return path if done else None


def open_page(browser, page, tmp_path):
    """Opens the phone page with downloads going to a new folder; returns the folder."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    downloads_to(browser, downloads)
    browser.get(page.as_uri())
    wait_for(browser, lambda d: d.execute_script("return document.body.dataset.ready"),
             "the page ready (WebAssembly loaded)")
    return downloads


def test_the_phone_page_carries_two_bundles_saves_them_and_plays_one_back(
        store, other_store, tmp_path):
    # Two senders: a project store (its bundles are sealed) and a plain one.
    store.run("project", "create", "Camp")
    fill(store, "camp", 6)
    fill(other_store, "well", 8)
    sealed, sealed_frames = camera.encoded_frames(store, tmp_path, "sealed")
    plain, plain_frames = camera.encoded_frames(other_store, tmp_path, "plain")
    both = camera.interleaved([sealed_frames, plain_frames], tmp_path / "both")
    video = camera.video_of(both, tmp_path / "both.y4m")
    page = tmp_path / "receive.html"
    written = other_store.json("qr", "receiver", "--html", page)[0]
    assert written["bytes"] == page.stat().st_size

    browser = camera.camera_browser(video, network_log=True,
                                    extra=[f"--window-size={PHONE[0]},{PHONE[1]}"])
    try:
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True})
        downloads = open_page(browser, page, tmp_path)
        shot(browser, "phone-start")
        browser.find_element("id", "scan").click()
        wait_for(browser, lambda d: "frames " in d.find_element("id", "status").text,
                 "progress of the frames")
        shot(browser, "phone-receiving")
        wait_for(browser, lambda d: d.execute_script("return document.body.dataset.received"),
                 "both bundles received")
        assert browser.find_element("id", "status").text.startswith("Received 2 bundles")
        timing = browser.find_element("id", "timing")
        print(f"phone page: {timing.text}")
        shot(browser, "phone-received")

        rows = {row.get_attribute("data-id"): row.text
                for row in browser.find_elements("css selector", "#bundles li")}
        assert len(rows) == 2, rows
        ids = {sealed: next(i for i, text in rows.items() if "sealed for a project" in text),
               plain: next(i for i, text in rows.items() if "from device" in text)}
        sender = other_store.json("id")[0]["author"]
        assert f"from device {sender[:8]}, 8 entries" in rows[ids[plain]], rows
        assert f"{ids[plain][:8]}.mule" in rows[ids[plain]]

        # Save: each file byte-exact.
        for path in (sealed, plain):
            row_of(browser, ids[path]).find_element("xpath", ".//button[text()='Save']").click()
            found = wait_for(browser, lambda d: saved(downloads, ids[path]), f"{path.name} saved")
            assert found.read_bytes() == path.read_bytes(), path.name

        # Kept across a reload (browser storage).
        browser.refresh()
        wait_for(browser, lambda d: d.execute_script("return document.body.dataset.ready"),
                 "the page ready again")
        assert len(browser.find_elements("css selector", "#bundles li")) == 2

        # Play the plain bundle; step through one loop with the player's keys, photographing
        # each code as it shows on the phone's screen.
        row_of(browser, ids[plain]).find_element("xpath", ".//button[text()='Play']").click()
        screen = browser.find_element("id", "screen")
        wait_for(browser, lambda d: screen.is_displayed(), "the player")
        browser.find_element("id", "pause").click()
        count = int(screen.get_attribute("data-frames"))
        shots = tmp_path / "played"
        shots.mkdir()
        image = browser.find_element("id", "frame")
        info = browser.find_element("id", "info")
        shown = lambda d: int(info.text.split()[1])  # "code 3 of 11 · 12 a second"
        number = shown(browser)
        for step in range(count):
            image.screenshot(str(shots / f"code-{number:04d}.png"))
            if step == 0:
                shot(browser, "phone-playing")
            browser.find_element("tag name", "body").send_keys("\ue014")  # ArrowRight
            number = number % count + 1
            wait_for(browser, lambda d: shown(d) == number, f"code {number}")
        rebuilt = tmp_path / "rebuilt.mule"
        done = subprocess.run([mule_binary(), "qr", "decode", shots, "-o", rebuilt],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert rebuilt.read_bytes() == plain.read_bytes()

        # The page asked no host for anything: only itself, and its own blobs.
        urls = requested_urls(browser)
        assert urls and all(u.startswith(("file:", "blob:", "data:")) for u in urls), urls
    finally:
        browser.quit()


def test_a_bundle_the_browser_storage_refuses_is_still_listed_and_saved(other_store, tmp_path):
    fill(other_store, "full", 4)
    plain, frames = camera.encoded_frames(other_store, tmp_path, "plain")
    video = camera.video_of(frames, tmp_path / "plain.y4m")
    page = tmp_path / "receive.html"
    other_store.run("qr", "receiver", "--html", page)
    browser = camera.camera_browser(video, extra=[f"--window-size={PHONE[0]},{PHONE[1]}"])
    try:
        downloads = open_page(browser, page, tmp_path)
        # A full disk: the browser refuses every write to the page's storage.
        browser.execute_script("""IDBObjectStore.prototype.put = function () {
            throw new DOMException('the quota is used up', 'QuotaExceededError'); };""")
        browser.find_element("id", "scan").click()
        wait_for(browser, lambda d: d.execute_script("return document.body.dataset.received"),
                 "the bundle received")
        row = browser.find_element("css selector", "#bundles li")
        assert "storage refused it" in row.text and "Save it now" in row.text, row.text
        shot(browser, "phone-storage-full")
        bundle_id = row.get_attribute("data-id")
        row.find_element("xpath", ".//button[text()='Save']").click()
        found = wait_for(browser, lambda d: saved(downloads, bundle_id), "the bundle saved")
        assert found.read_bytes() == plain.read_bytes()
    finally:
        browser.quit()
