"""The sync page: a folder added by its path and synced with live progress, what the others
still lack, a bundle file opened with the file picker, and the export download."""

import urllib.request

from conftest import login, page_text, shot, wait_for


def place_item(browser, path):
    return browser.find_element("css selector", f"li[data-path='{path}']")


def add_folder(browser, path):
    box = browser.find_element("id", "sync-path")
    box.send_keys(str(path))
    box.submit()
    wait_for(browser, lambda d: d.find_elements("css selector", f"li[data-path='{path}']"),
             f"the folder {path} in the list of places")


def sync_with(browser, path):
    place_item(browser, path).find_element("css selector", "button.primary").click()


def test_sync_to_a_folder_added_by_path_is_picked_up_by_a_second_store(
        store, other_store, ui, browser, tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    store.run("kv", "put", "well-7", '"dry"')
    store.run("kv", "put", "well-8", '"full"')
    other_store.run("kv", "put", "pump-2", '"broken"')
    other_store.run("sync", str(stick))
    other_id = other_store.run("id").strip()

    login(browser, ui, "/sync")
    wait_for(browser, lambda d: "Places to sync with" in page_text(d), "the places")
    add_folder(browser, stick)
    sync_with(browser, stick)
    # The result and the progress under the place, which came as server-sent events.
    wait_for(browser, lambda d: "Came in: 1 new entry from 1 bundle." in page_text(d),
             "what came in")
    text = page_text(browser)
    assert "Went out: 2 entries written to the folder." in text, text
    wait_for(browser, lambda d: "Wrote 2 entries" in place_item(d, stick).text,
             "the sync's progress under the place")
    progress = place_item(browser, stick).text
    assert "Read 1 bundle (" in progress and "B): 1 new entry" in progress, progress
    shot(browser, "sync")
    browser.set_window_size(390, 844)
    shot(browser, "sync-phone")
    browser.set_window_size(1280, 860)

    # The second store picks it up; its word comes back to this one at the next sync.
    other_store.run("sync", str(stick))
    assert other_store.json("kv", "get", "well-7")[0]["value"] == "dry"
    sync_with(browser, stick)
    wait_for(browser, lambda d: f"{other_id[:12]} has everything you have" in page_text(d),
             "that the other store has everything")

    # A stick pulled out is named as such, with what to do.
    stick.rename(tmp_path / "elsewhere")
    sync_with(browser, stick)
    wait_for(browser, lambda d: "was the stick removed?" in page_text(d),
             "the missing folder in words")
    shot(browser, "sync-stick-removed")


def test_a_bundle_file_opened_with_the_picker_shows_what_came_in(
        store, other_store, ui, browser, tmp_path):
    for n in range(3):
        other_store.run("kv", "put", f"tank-{n}", f'"{n}"')
    bundle = tmp_path / "brought.mule"
    other_store.run("export", "--all", "-o", str(bundle))
    other_id = other_store.run("id").strip()

    login(browser, ui, "/sync")
    picker = browser.find_element("id", "sync-import")
    picker.send_keys(str(bundle))
    wait_for(browser, lambda d: f"brought.mule: 3 new entries from {other_id[:12]}."
             in page_text(d), "what the bundle brought")
    assert store.json("kv", "get", "tank-2")[0]["value"] == "2"
    browser.execute_script("document.getElementById('sync-import-result').scrollIntoView()")
    shot(browser, "sync-imported")

    browser.find_element("id", "sync-import").send_keys(str(bundle))
    wait_for(browser, lambda d: "brought.mule was opened here before" in page_text(d),
             "that a second import changes nothing")

    damaged = tmp_path / "damaged.mule"
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 0x55
    damaged.write_bytes(bytes(data))
    browser.find_element("id", "sync-import").send_keys(str(damaged))
    wait_for(browser, lambda d: "damaged.mule is not a bundle mule can use" in page_text(d),
             "the damaged bundle refused in words")
    browser.execute_script("document.getElementById('sync-import-result').scrollIntoView()")
    shot(browser, "sync-import-refused")


def test_the_export_download_is_a_bundle_mule_import_accepts(
        store, other_store, ui, browser, tmp_path):
    for n in range(4):
        store.run("kv", "put", f"well-{n}", f'"{n}"')
    login(browser, ui, "/sync")
    link = browser.find_element("id", "sync-export")
    assert link.get_attribute("download") is not None
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
    request = urllib.request.Request(link.get_attribute("href"), headers={"Cookie": cookies})
    with urllib.request.urlopen(request) as answer:
        assert answer.headers["Content-Disposition"].startswith("attachment; filename=")
        downloaded = tmp_path / "download.mule"
        downloaded.write_bytes(answer.read())
    imported = other_store.json("import", str(downloaded))
    assert imported[-1]["new"] == 4, imported
    assert other_store.json("kv", "get", "well-3")[0]["value"] == "3"
