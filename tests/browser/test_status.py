"""The status page: what the store holds and the store check (fsck) in words."""

from conftest import login, page_text, shot, wait_for


def test_the_store_check_says_no_problems_were_found(store, ui, browser):
    store.run("kv", "put", "greeting", "\"hello\"")
    login(browser, ui, "/status")
    wait_for(browser, lambda d: "Entries" in page_text(d), "the store's facts")
    browser.find_element("xpath", '//button[normalize-space()="Check the store"]').click()
    wait_for(browser, lambda d: "No problems found." in page_text(d), "the check's result")
    assert "Entries checked: 1." in page_text(browser)
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    shot(browser, "status-check")
    browser.set_window_size(390, 844)
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    shot(browser, "status-check-phone")
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scroll"
