"""The QR page receiving: Chromium's fake camera films a QR stream (a y4m made by ffmpeg from
`qr encode --png` frames), the page posts its frames to the server, the bundle is imported."""

import hashlib

import camera
import chromium
from conftest import login, missing, page_text, shot, wait_for


def camera_video(other_store, folder):
    """A degraded 1280x720 y4m of the QR frames of `other_store`'s bundle."""
    _, frames = camera.encoded_frames(other_store, folder, "all")
    return camera.video_of(frames, folder / "stream.y4m")


def status_line(browser):
    return browser.find_element("css selector", ".qr-status").text


def test_the_camera_receives_a_stream_and_imports_it(store, other_store, ui, tmp_path):
    # Values that do not compress, so the stream takes several codes.
    for n in range(12):
        value = hashlib.sha256(str(n).encode()).hexdigest() * 4
        other_store.run("kv", "put", f"k{n}", f'"{value}"')
    other_store.run("kv", "put", "filmed", '"through the camera"')
    video = camera_video(other_store, tmp_path)
    browser = camera.camera_browser(video)
    try:
        login(browser, ui, "/qr")
        assert "Start the camera" in page_text(browser)
        # Pages redraw on `changed`: a frame that imports nothing must not send one.
        browser.execute_script("""
            window.changes = 0;
            const events = new EventSource('/api/events');
            events.addEventListener('changed', () => { window.changes += 1; });
            events.addEventListener('hello', () => { window.listening = true; });""")
        wait_for(browser, lambda d: d.execute_script("return window.listening === true"),
                 "the event stream")
        browser.find_element("xpath", "//button[text()='Start the camera']").click()
        wait_for(browser, lambda d: status_line(d).startswith("codes "), "progress of the codes")
        shot(browser, "qr-receiving")
        wait_for(browser, lambda d: status_line(d).startswith("Received and added"), "the import")
        shot(browser, "qr-received")
        wait_for(browser, lambda d: d.execute_script("return window.changes") >= 1, "`changed`")
        assert browser.execute_script("return window.changes") == 1, "one `changed`: the import"
        assert store.json("kv", "get", "filmed")[0]["value"] == "through the camera"
        assert store.json("status")[0]["entries"] == other_store.json("status")[0]["entries"]
    finally:
        browser.quit()


def test_a_refused_camera_says_what_to_do(store, ui):
    found = chromium.paths()
    if found is None:
        missing("Chromium and chromedriver are needed (Debian: chromium chromium-driver)")
    browser = chromium.start(*found, extra=["--use-fake-device-for-media-stream",
                                            "--deny-permission-prompts"])
    try:
        browser.set_window_size(390, 844)
        login(browser, ui, "/qr")
        browser.find_element("xpath", "//button[text()='Start the camera']").click()
        wait_for(browser, lambda d: "Allow the camera" in status_line(d), "what to do")
        browser.execute_script("document.querySelector('.qr-status').scrollIntoView()")
        shot(browser, "qr-camera-refused-phone")
    finally:
        browser.quit()
