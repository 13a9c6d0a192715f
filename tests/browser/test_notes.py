"""The notes page: concurrent values shown and merged, add/edit/delete, search, paging."""

import subprocess

from conftest import login, mule_binary, page_text, requested_urls, shot, wait_for


def row(driver, key):
    """The table row of `key`, or None."""
    rows = driver.find_elements("css selector", f'tr[data-key="{key}"]')
    return rows[0] if rows else None


def row_text(driver, key):
    """The text of `key`'s row ("" while there is none, or while it is being redrawn)."""
    from selenium.common.exceptions import StaleElementReferenceException
    try:
        found = row(driver, key)
        return found.text if found else ""
    except StaleElementReferenceException:
        return ""


def values_of(store, key):
    """The values `mule --json kv get KEY` prints (none when the key has none)."""
    done = subprocess.run([mule_binary(), "--store", store.path, "--json", "kv", "get", key],
                          capture_output=True, text=True, timeout=120)
    if done.returncode == 1:
        return []
    assert done.returncode == 0, done.stderr
    import json
    return sorted(json.loads(line)["value"] for line in done.stdout.splitlines())


def concurrent(store, other_store, folder, key, mine, theirs):
    """Puts `key` on both stores, then syncs them through `folder`: two concurrent values."""
    store.run("kv", "put", key, f'"{mine}"')
    other_store.run("kv", "put", key, f'"{theirs}"')
    for each in (store, other_store, store):
        each.run("sync", folder)


def click(driver, key, label, value=None):
    """Clicks the button labelled `label` in the row of `key` (next to `value` when given). The
    row is redrawn whenever the store changes, so a button found may be gone by the click: then
    it is found again."""
    from selenium.common.exceptions import StaleElementReferenceException
    near = f'div[contains(@class,"value")][pre[normalize-space()="{value}"]]//' if value else ""

    def clicked(d):
        try:
            row(d, key).find_element("xpath", f'.//{near}button[normalize-space()="{label}"]').click()
            return True
        except StaleElementReferenceException:
            return False
    wait_for(driver, clicked, f"the button {label} of {key}")


def test_a_note_with_two_concurrent_values_shows_both_and_merges(
        store, other_store, ui, browser, tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    concurrent(store, other_store, stick, "well-7", "dry", "wet")
    concurrent(store, other_store, stick, "pump-2", "works", "broken")
    assert values_of(store, "well-7") == ["dry", "wet"]
    login(browser, ui, "/notes")
    wait_for(browser, lambda d: "dry" in row_text(d, "well-7") and "wet" in row_text(d, "well-7"),
             "both values of well-7")
    assert "2 devices changed this note at the same time" in row_text(browser, "well-7")
    shot(browser, "notes-concurrent")
    browser.set_window_size(390, 844)
    shot(browser, "notes-concurrent-phone")
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scroll"
    browser.set_window_size(1280, 860)

    # Keep one: the other goes, here and in the CLI.
    click(browser, "well-7", "Keep this one", value="wet")
    wait_for(browser, lambda d: "dry" not in row_text(d, "well-7"), "well-7 merged")
    assert "at the same time" not in row_text(browser, "well-7")
    assert values_of(store, "well-7") == ["wet"]

    # Write a merged value: it supersedes both.
    click(browser, "pump-2", "Write a merged value")
    box = browser.find_element("css selector", "form.editor textarea")
    assert sorted(box.get_attribute("value").split("\n")) == ["broken", "works"], "both to start"
    shot(browser, "notes-merge")
    box.clear()
    box.send_keys("works again, was broken")
    browser.find_element("css selector", "form.editor button.primary").click()
    wait_for(browser, lambda d: "works again" in row_text(d, "pump-2")
             and "at the same time" not in row_text(d, "pump-2"), "pump-2 merged")
    assert values_of(store, "pump-2") == ["works again, was broken"]


def test_a_note_added_edited_and_deleted_in_the_page_shows_in_the_cli(store, ui, browser):
    login(browser, ui, "/notes")
    wait_for(browser, lambda d: "No notes yet" in page_text(d), "the empty table")
    # A deletion is confirmed in the page, never by a browser dialog.
    browser.execute_script("window.confirm = () => { window.dialogUsed = true; return true; }")

    browser.find_element("xpath", '//button[normalize-space()="Add a note"]').click()
    browser.find_element("css selector", "form.editor input[name=key]").send_keys("camp/water")
    browser.find_element("css selector", "form.editor textarea").send_keys('{"litres": 400}')
    browser.find_element("css selector", "form.editor button.primary").click()
    wait_for(browser, lambda d: '"litres":400' in row_text(d, "camp/water"), "the new note")
    assert values_of(store, "camp/water") == [{"litres": 400}]

    click(browser, "camp/water", "Edit")
    box = browser.find_element("css selector", "form.editor textarea")
    box.clear()
    box.send_keys("empty since Tuesday")
    browser.find_element("css selector", "form.editor button.primary").click()
    wait_for(browser, lambda d: "empty since Tuesday" in row_text(d, "camp/water"), "the edit")
    assert values_of(store, "camp/water") == ["empty since Tuesday"]

    click(browser, "camp/water", "Delete")
    wait_for(browser, lambda d: "Delete this note?" in row_text(d, "camp/water"),
             "the confirmation in the row")
    shot(browser, "notes-confirm-delete")
    assert values_of(store, "camp/water") == ["empty since Tuesday"], "not deleted yet"
    click(browser, "camp/water", "Yes, delete")
    wait_for(browser, lambda d: row(d, "camp/water") is None, "the note gone")
    assert values_of(store, "camp/water") == []
    assert browser.execute_script("return window.dialogUsed === undefined")


def test_search_filters_on_the_server_and_a_large_store_comes_a_page_at_a_time(
        store, ui, browser):
    lines = "".join(f'{{"k":"well-{i:03}","v":"{"dry" if i % 2 else "wet"}"}}\n'
                    for i in range(250))
    store.run("append", "kv", "-", input=lines)
    login(browser, ui, "/notes")
    # A page short of the end does not count every note (that reads them all): the total
    # shows once a page reaches the end.
    wait_for(browser, lambda d: "Showing 1–100 (more on the next pages)" in page_text(d),
             "the first page")
    assert len(browser.find_elements("css selector", "tr[data-key]")) == 100
    browser.find_element("xpath", '//button[normalize-space()="Next"]').click()
    wait_for(browser, lambda d: "Showing 101–200 (more on the next pages)" in page_text(d),
             "the second page")
    assert row(browser, "well-100") is not None and row(browser, "well-000") is None
    browser.find_element("xpath", '//button[normalize-space()="Next"]').click()
    wait_for(browser, lambda d: "Showing 201–250 of 250 notes" in page_text(d), "the last page")
    # Another program deletes every note of the last page: the page shows the new last page.
    store.run("append", "kv", "-", input="".join(
        f'{{"k":"well-{i:03}","del":true}}\n' for i in range(200, 250)))
    wait_for(browser, lambda d: "Showing 101–200 of 200 notes" in page_text(d),
             "the new last page")

    requested_urls(browser)  # forget what came before
    search = browser.find_element("css selector", "input[name=search]")
    search.send_keys("WELL-12")
    wait_for(browser, lambda d: "10 notes" in page_text(d), "the keys found")
    assert [r.get_attribute("data-key") for r in browser.find_elements(
        "css selector", "tr[data-key]")] == [f"well-12{i}" for i in range(10)]
    asked = [u for u in requested_urls(browser) if "/api/kv?" in u]
    assert any("q=WELL-12" in u for u in asked), asked
    shot(browser, "notes-search")

    search.clear()
    search.send_keys("no such thing")
    wait_for(browser, lambda d: "No note has “no such thing”" in page_text(d), "no match")
