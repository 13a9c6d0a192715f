"""The QR page: a bundle played as a loop of QR codes that another store rebuilds."""

import json
import shutil
import subprocess

from conftest import login, missing, page_text, shot, wait_for

FRAME_MAGIC = bytes([0x6D, 0xD1])


def answered_by_server(browser):
    """The URLs the server answered since the log was last read (not the browser's cache)."""
    answered = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.responseReceived":
            response = message["params"]["response"]
            if not response.get("fromDiskCache") and not response.get("fromPrefetchCache"):
                answered.append(response["url"])
    return answered


def shown_frame(browser):
    """The frame the player shows, once its image has loaded: (its URL, the info line)."""
    return browser.execute_script("""
        const img = document.querySelector('.qr-frame');
        if (!img || !img.complete || img.naturalWidth === 0) return null;
        return [img.getAttribute('src'), document.querySelector('.qr-info').textContent];
    """)


def step(browser, body):
    """Shows the next frame of the paused player (the right arrow key), once it has loaded."""
    from selenium.webdriver.common.keys import Keys
    number = wait_for(browser, shown_frame, "a frame")[1].split(" ")[1]
    body.send_keys(Keys.ARROW_RIGHT)
    wait_for(browser, lambda d: (shown_frame(d) or [None, "code " + number])[1].split(" ")[1]
             != number, f"the frame after {number}")
    wait_for(browser, shown_frame, "the frame loaded")


def play(browser, profile="small"):
    browser.execute_script(
        "document.querySelector('select[name=profile]').value = arguments[0]", profile)
    browser.find_element("css selector", ".qr-choices button[type=submit]").click()
    return wait_for(browser, shown_frame, "a QR frame")


def test_the_qr_page_plays_frames_that_another_store_rebuilds(store, other_store, ui, browser,
                                                              tmp_path):
    for n in range(5):
        store.run("kv", "put", f"well-{n}", f'"dry season {n}"')
    login(browser, ui, "/qr")
    assert "Start the camera" in page_text(browser)  # receiving is there (issue 18)
    first = play(browser)
    wait_for(browser, lambda d: (shown_frame(d) or first)[0] != first[0], "the next frame")
    shot(browser, "qr-playing")
    # Paused, the arrow keys step through the loop: each frame is captured as the screen shows it.
    browser.find_element("css selector", ".qr-bar button").click()
    count = int(first[1].split(" of ")[1].split(" ")[0])
    captures = tmp_path / "captures"
    captures.mkdir()
    body = browser.find_element("tag name", "body")
    wait_for(browser, shown_frame, "the paused frame loaded")
    for n in range(count):
        browser.find_element("css selector", ".qr-frame").screenshot(str(captures / f"{n:03}.png"))
        step(browser, body)
    # Once round the loop, every frame comes from the browser's cache, not the server again.
    answered_by_server(browser)
    for n in range(count):
        step(browser, body)
    frames = [url for url in answered_by_server(browser) if "/api/qr/frames/" in url]
    assert frames == [], frames
    other_store.run("qr", "decode", "--import", str(captures))
    values = other_store.json("kv", "get", "well-4")
    assert "dry season 4" in str(values), values
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        missing("zbarimg is needed to read a frame as a camera would (Debian: zbar-tools)")
    raw = subprocess.run([zbarimg, "--raw", "-q", "-Sbinary", str(captures / "000.png")],
                         capture_output=True, timeout=60).stdout
    assert raw.startswith(FRAME_MAGIC), raw[:8]


def test_the_qr_page_says_when_there_is_nothing_to_send(ui, browser):
    login(browser, ui, "/qr")
    browser.find_element("css selector", ".qr-choices button[type=submit]").click()
    wait_for(browser, lambda d: "Nothing to send" in page_text(d), "that nothing is to send")


def test_the_qr_page_on_a_phone_and_full_screen(store, ui, browser):
    store.run("kv", "put", "note", '"hello"')
    browser.set_window_size(390, 844)
    login(browser, ui, "/qr")
    play(browser, "default")
    shot(browser, "qr-phone")
    browser.find_element("xpath", "//button[text()='Full screen']").click()
    wait_for(browser, lambda d: d.execute_script("return document.fullscreenElement !== null"),
             "the player full screen")
    shot(browser, "qr-full-screen")


def test_the_html_page_of_qr_encode_plays_with_the_same_player(store, browser, tmp_path):
    store.run("kv", "put", "note", '"hello"')
    bundle, page = tmp_path / "all.mule", tmp_path / "play.html"
    store.run("export", "--all", "-o", str(bundle))
    store.run("qr", "encode", str(bundle), "--html", str(page))
    browser.get(page.as_uri())
    first = browser.execute_script("return document.getElementById('frame').src")
    wait_for(browser, lambda d: d.execute_script(
        "return document.getElementById('frame').src") != first, "the next frame")
    assert " of " in browser.find_element("id", "info").text
    browser.find_element("id", "pause").click()
    assert browser.find_element("id", "pause").text == "play"
    browser.find_element("id", "full").click()
    wait_for(browser, lambda d: d.execute_script("return document.fullscreenElement !== null"),
             "the page full screen")
    shot(browser, "qr-encode-html")
