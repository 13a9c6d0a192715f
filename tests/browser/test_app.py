"""The app shell, the secret, the network log, the status page and live updates."""

from urllib.parse import urlsplit

from conftest import login, page_text, requested_urls, shot, wait_for


def test_a_request_without_the_secret_is_refused(ui, browser):
    browser.get(ui.page("/api/status"))
    assert "401" in browser.page_source or "secret" in browser.page_source.lower()
    status = browser.execute_script(
        "return fetch('/api/status').then(r => r.status)")
    assert status == 401
    shot(browser, "refused-without-secret")


def test_the_page_loads_nothing_from_other_hosts(ui, browser):
    login(browser, ui, "/status")
    for path in ["/map", "/calendar", "/notes", "/sync", "/qr", "/project", "/status"]:
        browser.get(ui.page(path))
        wait_for(browser, lambda d: d.execute_script(
            "return document.querySelector('#page h1') !== null"), f"{path}'s heading")
    urls = requested_urls(browser)
    assert len(urls) > 10, urls
    others = [u for u in urls if urlsplit(u).netloc != ui.host and not u.startswith("data:")]
    assert others == [], f"requests to other hosts: {others}"


def test_the_status_page_shows_the_device_and_its_entries(store, ui, browser):
    store.run("kv", "put", "greeting", "\"hello\"")
    author = store.run("id").strip()
    login(browser, ui, "/status")
    wait_for(browser, lambda d: author[:12] in page_text(d),
             "this device's id")
    text = page_text(browser)
    assert "Entries\n1" in text, text
    shot(browser, "status")
    browser.set_window_size(390, 844)
    shot(browser, "status-phone")


def test_a_change_from_another_program_shows_without_a_reload(store, ui, browser):
    login(browser, ui, "/notes")
    wait_for(browser, lambda d: "No notes yet" in page_text(d),
             "the empty notes table")
    browser.execute_script("window.notReloaded = true")
    store.run("kv", "put", "arrived", "\"by the terminal\"")
    wait_for(browser, lambda d: "by the terminal" in page_text(d),
             "the note written by another program")
    assert browser.execute_script("return window.notReloaded") is True


def test_a_page_opened_without_the_secret_says_where_the_secret_is(ui, browser):
    browser.get(ui.page("/notes"))
    text = browser.find_element("tag name", "body").text
    assert "This link is missing its secret" in text, text
    assert "mule ui --open" in text
    assert browser.find_elements("tag name", "script") == []
    shot(browser, "refused-page")
    browser.set_window_size(390, 844)
    shot(browser, "refused-page-phone")
