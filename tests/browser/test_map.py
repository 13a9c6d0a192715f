"""The map page: points from the terminal and from the page, a feature's tags and photo,
forks kept from the page, the device's position refused, and the layout at two widths."""

import json
import os
import struct
import zlib

from selenium.webdriver.common.action_chains import ActionChains

from conftest import login, page_text, shot, wait_for


def listed(driver):
    """The text of the list of visible features."""
    return driver.find_element("id", "map-list").text


def panel(driver):
    return driver.find_element("id", "map-panel").text


def click_map_at(driver, lat, lon):
    """Clicks the map where (lat, lon) is drawn, as a person would."""
    canvas = driver.find_element("id", "map-canvas")
    # Wholly in view: an element's in-view centre, where the offsets count from, is its centre.
    driver.execute_script("arguments[0].scrollIntoView()", canvas)
    point = driver.execute_script(
        "const p = mapState.map.latLngToContainerPoint([arguments[0], arguments[1]]);"
        "return [p.x, p.y];", lat, lon)
    size = canvas.size
    ActionChains(driver).move_to_element_with_offset(
        canvas, point[0] - size["width"] / 2, point[1] - size["height"] / 2).click().perform()


def docs_in(store):
    return store.json("map", "query", "-90,90", "-180,180")


def test_a_point_from_the_terminal_is_listed_and_the_map_opens_on_the_data(store, ui, browser):
    store.run("map", "create",
              '{"id": "well-7", "lat": -1.29, "lon": 36.82, "tags": {"name": "North well"}}')
    store.run("map", "create",
              '{"id": "well-8", "lat": -1.31, "lon": 36.85, "tags": {"amenity": "drinking_water"}}')
    login(browser, ui, "/map")
    wait_for(browser, lambda d: "North well" in listed(d), "the point made with the CLI")
    text = listed(browser)
    assert "-1.29000, 36.82000" in text, text
    assert "amenity=drinking_water" in text, text
    bounds = browser.execute_script(
        "const b = mapState.map.getBounds(); return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]")
    assert bounds[0] < -1.31 and bounds[2] > -1.29 and bounds[1] < 36.82 and bounds[3] > 36.85, \
        f"the map opens fitted to the data: {bounds}"
    assert bounds[2] - bounds[0] < 1, f"and close to it: {bounds}"
    browser.execute_script("window.notReloaded = true")
    store.run("map", "create",
              '{"id": "road", "type": "way", "refs": ["well-7", "well-8"], "tags": {"highway": "track"}}')
    wait_for(browser, lambda d: "highway=track · line" in listed(d), "the way, without a reload")
    assert browser.execute_script("return window.notReloaded") is True
    errors = [e["message"] for e in browser.get_log("browser")
              if e["level"] == "SEVERE" and "favicon.ico" not in e["message"]]
    assert errors == [], errors
    shot(browser, "map")
    browser.set_window_size(390, 844)
    wait_for(browser, lambda d: d.find_element("id", "map-list").location["y"]
             > d.find_element("id", "map-canvas").location["y"]
             + d.find_element("id", "map-canvas").size["height"], "the list below the map")
    shot(browser, "map-phone")
    browser.execute_script("document.getElementById('map-list').scrollIntoView()")
    shot(browser, "map-phone-list")


def test_a_crowded_map_shows_clusters_and_clicking_one_zooms_in(store, ui, browser):
    lines = "".join(
        json.dumps({"id": f"n{i}", "lat": 10 + (i // 100) * 0.001, "lon": 20 + (i % 100) * 0.001}) + "\n"
        for i in range(1100))
    store.run("append", "map", "-", input=lines)
    login(browser, ui, "/map")
    wait_for(browser, lambda d: "1100 points here, grouped" in page_text(d), "the clusters")
    zoom = browser.execute_script("return mapState.map.getZoom()")
    shot(browser, "map-clusters")
    browser.find_element("css selector", ".map-item").click()
    wait_for(browser, lambda d: "· point ·" in listed(d), "the points of the clicked cluster")
    assert browser.execute_script("return mapState.map.getZoom()") > zoom


def test_the_last_view_is_remembered(store, ui, browser):
    store.run("map", "create", '{"id": "a", "lat": 10, "lon": 10}')
    login(browser, ui, "/map")
    wait_for(browser, lambda d: "a · point" in listed(d), "the point")
    browser.execute_script("mapState.map.setView([40, -3], 6)")
    wait_for(browser, lambda d: "Nothing in this part" in page_text(d), "the empty view")
    browser.refresh()
    wait_for(browser, lambda d: d.execute_script(
        "return mapState.map !== null && mapState.map.getZoom() === 6"), "the remembered zoom")
    center = browser.execute_script("const c = mapState.map.getCenter(); return [c.lat, c.lng]")
    assert abs(center[0] - 40) < 0.01 and abs(center[1] + 3) < 0.01, center
    # Away through the navigation and back: a new map, on the same view.
    browser.find_element("css selector", "nav a[href='/status']").click()
    wait_for(browser, lambda d: "Status" in page_text(d), "the status page")
    browser.find_element("css selector", "nav a[href='/map']").click()
    wait_for(browser, lambda d: "Nothing in this part" in page_text(d), "the map again")
    assert browser.execute_script("return mapState.map.getZoom()") == 6


def test_a_point_made_in_the_page_shows_in_map_query_and_is_edited_and_deleted(store, ui, browser):
    store.run("map", "create", '{"id": "camp", "lat": 2.0, "lon": 30.0, "tags": {"name": "Camp"}}')
    login(browser, ui, "/map")
    wait_for(browser, lambda d: "Camp" in listed(d), "the camp")
    browser.find_element("id", "map-add-here").click()
    wait_for(browser, lambda d: "Click the map" in page_text(d), "the placing hint")
    click_map_at(browser, 2.0005, 30.0005)
    wait_for(browser, lambda d: "New point" in panel(d), "the new point's editor")
    browser.find_element("css selector", ".map-key").send_keys("name")
    browser.find_element("css selector", ".map-value").send_keys("Spring")
    shot(browser, "map-new-point")
    browser.find_element("css selector", "#map-panel button[type=submit]").click()
    wait_for(browser, lambda d: "Spring" in listed(d), "the new point in the list")
    made = [d for d in docs_in(store) if d.get("tags", {}).get("name") == "Spring"]
    assert len(made) == 1, docs_in(store)
    assert abs(made[0]["lat"] - 2.0005) < 0.0005 and abs(made[0]["lon"] - 30.0005) < 0.0005, made
    entries = store.json("log")
    assert entries[-1]["author"] == store.run("id").strip(), "signed by this device"

    wait_for(browser, lambda d: "Edit" in panel(d), "the point's panel")
    browser.find_element("xpath", "//*[@id='map-panel']//button[text()='Edit']").click()
    value = browser.find_element("css selector", ".map-value")
    value.clear()
    value.send_keys("Hot spring")
    browser.find_element("css selector", "#map-panel button[type=submit]").click()
    wait_for(browser, lambda d: "Hot spring" in listed(d), "the edited name")
    assert [d["tags"]["name"] for d in docs_in(store) if d["id"] == made[0]["id"]] == ["Hot spring"]
    wait_for(browser, lambda d: "Earlier versions (1)" in panel(d), "the history")

    browser.find_element("xpath", "//*[@id='map-panel']//button[text()='Delete']").click()
    browser.switch_to.alert.accept()
    wait_for(browser, lambda d: "Hot spring" not in listed(d), "the point gone")
    assert [d["id"] for d in docs_in(store)] == ["camp"]


def test_clicking_a_feature_shows_its_tags_and_photo(store, ui, browser, tmp_path):
    photo = tmp_path / "site.png"
    photo.write_bytes(png(4, 3))
    added = store.json("blob", "add", str(photo), "--kind", "photo")[0]
    doc = {"id": "w", "lat": 5, "lon": 5,
           "tags": {"amenity": "drinking_water", "name": "Well W", "photo": "blob:" + added["hash"]}}
    store.run("map", "create", json.dumps(doc))
    login(browser, ui, "/map")
    wait_for(browser, lambda d: "Well W" in listed(d), "the well")
    click_map_at(browser, 5, 5)
    wait_for(browser, lambda d: "drinking_water" in panel(d), "the clicked well's tags")
    assert "amenity" in panel(browser)
    wait_for(browser, lambda d: d.execute_script(
        "const i = document.querySelector('.map-photo img'); return i !== null && i.complete && i.naturalWidth === 4"),
        "the photo")


def test_a_photo_is_downscaled_in_the_browser_before_it_is_sent(store, ui, browser, tmp_path):
    big = tmp_path / "camera.png"
    big.write_bytes(png(2400, 1800, noise=True))
    assert big.stat().st_size > 1024 * 1024, "larger than a request may be"
    store.run("map", "create", '{"id": "p", "lat": 1, "lon": 1, "tags": {"name": "Pump"}}')
    login(browser, ui, "/map")
    wait_for(browser, lambda d: "Pump" in listed(d), "the pump")
    browser.find_element("css selector", ".map-item").click()
    wait_for(browser, lambda d: "Edit" in panel(d), "the pump's panel")
    browser.find_element("xpath", "//*[@id='map-panel']//button[text()='Edit']").click()
    browser.find_element("id", "map-photo-input").send_keys(str(big))
    browser.find_element("css selector", "#map-panel button[type=submit]").click()
    wait_for(browser, lambda d: d.execute_script(
        "const i = document.querySelector('.map-photo img'); return i !== null && i.complete && i.naturalWidth > 0"),
        "the uploaded photo")
    size = browser.execute_script(
        "const i = document.querySelector('.map-photo img'); return [i.naturalWidth, i.naturalHeight]")
    assert size == [1600, 1200], size
    blobs = store.json("blob", "ls")
    assert len(blobs) == 1 and blobs[0]["size"] <= 1000 * 1000, blobs
    shot(browser, "map-photo")


def fork_a_gate(store, other_store, stick):
    """Point P edited on two stores at once (access=yes here, access=no there), then synced."""
    stick.mkdir()
    store.run("map", "create", '{"id": "P", "lat": 1, "lon": 1, "tags": {"name": "Gate"}}')
    store.run("sync", str(stick))
    other_store.run("sync", str(stick))
    store.run("map", "put", "P", '{"lat": 1, "lon": 1, "tags": {"name": "Gate", "access": "yes"}}')
    other_store.run("map", "put", "P",
                    '{"lat": 1, "lon": 1, "tags": {"name": "Gate", "access": "no", "gate": "swing"}}')
    for side in [store, other_store, store]:
        side.run("sync", str(stick))
    assert len(store.json("map", "get", "P", "--forks")) == 2


def test_a_fork_shows_both_versions_and_keeping_one_resolves_it(store, other_store, ui, browser, tmp_path):
    stick = tmp_path / "stick"
    fork_a_gate(store, other_store, stick)
    login(browser, ui, "/map")
    wait_for(browser, lambda d: "two versions" in listed(d), "the forked point")
    browser.find_element("css selector", ".map-item").click()
    wait_for(browser, lambda d: "2 versions" in panel(d), "both versions")
    text = panel(browser)
    assert "yes" in text and "no" in text, text
    shot(browser, "map-fork")
    keep = browser.find_elements("css selector", ".map-keep")
    assert len(keep) == 2
    kept_value = "yes" if "yes" in keep[0].find_element("xpath", "..").text else "no"
    keep[0].click()
    wait_for(browser, lambda d: "versions were made" not in panel(d), "the fork resolved")
    heads = store.json("map", "get", "P", "--forks")
    assert len(heads) == 1 and heads[0]["tags"]["access"] == kept_value, heads
    other_store.run("sync", str(stick))
    store.run("sync", str(stick))
    other_store.run("sync", str(stick))
    assert len(other_store.json("map", "get", "P", "--forks")) == 1, "resolved for the others too"


def test_merging_a_fork_writes_one_version_with_both_versions_tags(store, other_store, ui, browser, tmp_path):
    fork_a_gate(store, other_store, tmp_path / "stick")
    login(browser, ui, "/map")
    wait_for(browser, lambda d: "two versions" in listed(d), "the forked point")
    browser.find_element("css selector", ".map-item").click()
    wait_for(browser, lambda d: "Merge" in panel(d), "the merge button")
    browser.find_element("css selector", ".map-merge").click()
    wait_for(browser, lambda d: len(d.find_elements("css selector", ".map-row")) == 3, "the merged tags")
    browser.find_element("css selector", "#map-panel button[type=submit]").click()
    wait_for(browser, lambda d: not d.find_elements("css selector", ".map-editor")
             and "versions were made" not in panel(d), "the merge saved")
    heads = store.json("map", "get", "P", "--forks")
    assert len(heads) == 1, heads
    assert heads[0]["tags"]["gate"] == "swing" and heads[0]["tags"]["access"] in ("yes", "no"), heads


def test_a_refused_position_says_what_to_do(store, ui, browser):
    login(browser, ui, "/map")
    browser.execute_cdp_cmd("Browser.setPermission", {
        "permission": {"name": "geolocation"}, "setting": "denied", "origin": ui.origin})
    browser.find_element("id", "map-add-mine").click()
    wait_for(browser, lambda d: "was not allowed" in page_text(d), "the refusal")
    browser.execute_cdp_cmd("Browser.setPermission", {
        "permission": {"name": "geolocation"}, "setting": "granted", "origin": ui.origin})
    browser.execute_cdp_cmd("Emulation.setGeolocationOverride",
                            {"latitude": -3.5, "longitude": 37.25, "accuracy": 10})
    browser.find_element("id", "map-add-mine").click()
    wait_for(browser, lambda d: "At -3.50000, 37.25000" in panel(d), "the editor at the device's position")


def png(width, height, noise=False):
    """A PNG of `width` x `height` pixels: grey, or random noise (which compresses badly)."""
    row_bytes = width * 3
    rows = b"".join(
        b"\x00" + (os.urandom(row_bytes) if noise else b"\x80" * row_bytes) for _ in range(height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b""))
