"""The project page: starting a project, inviting (a QR code and text), joining, removing."""

import shutil
import subprocess

from conftest import login, missing, page_text, shot, wait_for


def click(browser, text):
    """Clicks the button that says `text` (the last one, when several do)."""
    browser.find_elements("xpath", f"//button[normalize-space()='{text}']")[-1].click()


def try_click(driver, css):
    """Clicks the element `css` finds; False when a live update redrew it just then."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    try:
        driver.find_element("css selector", css).click()
        return True
    except (NoSuchElementException, StaleElementReferenceException):
        return False


def click_css(browser, css, what):
    """Clicks the element `css` finds, again if a live update redrew it in between."""
    wait_for(browser, lambda d: try_click(d, css), what)


def text_of(driver, css):
    """The text of the element `css` finds ("" while a live update redraws it)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    try:
        return driver.find_element("css selector", css).text
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def secrets(store):
    """The device's key seed and the project's key, as their files and `mule project key` hold
    them: no page may show either."""
    seed = (store.path / "device.key").read_text().splitlines()[1].strip()
    kept = [seed]
    if store.run("status", "--json").find('"project":null') == -1:
        kept.append(store.json("project", "key")[0]["identity"])
    return kept


def assert_no_secret(browser, store):
    shown = page_text(browser) + browser.page_source
    for secret in secrets(store):
        assert secret not in shown and secret.lower() not in shown.lower()


def test_a_project_started_in_the_page_invites_a_device(store, other_store, ui, browser, tmp_path):
    login(browser, ui, "/project")
    wait_for(browser, lambda d: "in no project" in page_text(d), "that there is no project")
    shot(browser, "project-none")
    browser.find_element("css selector", "input[name=name]").send_keys("Camp")
    click(browser, "Start the project")
    wait_for(browser, lambda d: "Project “Camp”" in page_text(d), "the new project")
    assert "(this device)" in page_text(browser) and "admin" in page_text(browser)
    click(browser, "Make an invite")
    wait_for(browser, lambda d: d.execute_script(
        "const i = document.querySelector('.invite-qr'); return i && i.complete && i.naturalWidth > 0"),
        "the invite's QR code")
    text = browser.execute_script("return document.querySelector('.invite-text').value")
    # The text is what `mule project invite` prints: one line another device joins with.
    printed = store.run("project", "invite").splitlines()[0]
    assert text.startswith("mule-invite1:") and printed.startswith("mule-invite1:")
    assert "\n" not in text and abs(len(text) - len(printed)) < 16, (text, printed)
    shot(browser, "project-invite")
    browser.set_window_size(390, 844)
    code = tmp_path / "invite.png"
    shown = browser.find_element("css selector", ".invite-qr")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", shown)
    shot(browser, "project-invite-phone")
    shown.screenshot(str(code))
    joined = other_store.json("project", "join", str(code))[0]
    assert joined["name"] == "Camp" and joined["role"] == "member"
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        missing("zbarimg is needed to read the invite as a phone's camera would (zbar-tools)")
    read = subprocess.run([zbarimg, "--raw", "-q", str(code)], capture_output=True, text=True,
                          timeout=60).stdout.strip()
    assert read == text
    assert_no_secret(browser, store)


def test_a_device_joins_by_pasting_an_invite(store, other_store, ui, browser):
    other_store.run("project", "create", "Farm")
    invite = other_store.run("project", "invite").splitlines()[0]
    login(browser, ui, "/project")
    wait_for(browser, lambda d: "in no project" in page_text(d), "that there is no project")
    browser.find_element("css selector", "textarea[name=invite]").send_keys(invite)
    click(browser, "Join")
    wait_for(browser, lambda d: "Project “Farm”" in page_text(d), "the joined project")
    text = page_text(browser)
    assert "Its role\nmember" in text, text
    assert "Only an admin" in text and "Make an invite" not in text
    assert browser.find_elements("xpath", "//button[normalize-space()='Remove']") == []
    status = store.json("status")[0]
    assert status["project"]["name"] == "Farm" and status["project"]["role"] == "member"
    shot(browser, "project-member")
    assert_no_secret(browser, store)


def test_an_admin_removes_a_device_after_an_inline_confirm(store, other_store, ui, browser,
                                                          tmp_path):
    store.run("project", "create", "Camp")
    invite = store.run("project", "invite").splitlines()[0]
    other_store.run("project", "join", invite)
    member = other_store.run("id").strip()
    stick = tmp_path / "stick"
    stick.mkdir()
    other_store.run("sync", str(stick))
    login(browser, ui, "/project")
    wait_for(browser, lambda d: "Project “Camp”" in page_text(d), "the project")
    store.run("sync", str(stick))
    row = f"tr[data-author='{member}']"
    wait_for(browser, lambda d: d.find_elements("css selector", row), "the member that joined")
    # The page may still redraw for what the sync brought: then the confirmation is asked again.
    def confirming(driver):
        if "What it writes from now on will not count" in text_of(driver, row):
            return True
        try_click(driver, row + " button")
        return False
    wait_for(browser, confirming, "the confirmation")
    shot(browser, "project-remove-confirm")
    click_css(browser, row + " button.danger", "the confirming Remove button")
    wait_for(browser, lambda d: "removed by" in text_of(d, row), "the device removed")
    members = store.json("project", "members")
    assert [m["status"] for m in members if m["author"] == member] == ["removed"]
    shot(browser, "project-removed")
    browser.set_window_size(390, 844)
    shot(browser, "project-removed-phone")
    assert_no_secret(browser, store)
