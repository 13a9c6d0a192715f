"""The calendar page: a schedule typed in words, previewed, saved and shown on its days; the
month, week and agenda views and their URLs; overlapping and concurrently edited events marked;
the .ics download read by the icalendar package."""

import datetime

from conftest import login, page_text, shot, wait_for

# A month that lies ahead whenever the tests run, so "every monday" starts in it.
TODAY = datetime.date.today()
NEXT_MONTH = (TODAY.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
FIRST_MONDAY = NEXT_MONTH + datetime.timedelta(days=(7 - NEXT_MONTH.weekday()) % 7)
MONDAYS = [FIRST_MONDAY + datetime.timedelta(weeks=n) for n in range(4)]


def items(driver, title):
    """The days (data-date) on which the view shows an occurrence titled `title`."""
    return driver.execute_script(
        """return [...document.querySelectorAll('.cal-item')]
             .filter(i => i.querySelector('.cal-title').textContent === arguments[0])
             .map(i => i.closest('.cal-day').dataset.date)""", title)


def preview_text(driver):
    return driver.find_element("css selector", ".cal-preview").text


def test_a_phrase_typed_in_the_page_is_previewed_saved_and_shown_on_four_mondays(store, ui, browser):
    login(browser, ui, "/calendar")
    box = browser.find_element("name", "phrase")
    box.send_keys("standup every blursday 9am")
    wait_for(browser, lambda d: "Not understood" in preview_text(d), "the parser's complaint")
    assert "blursday" in preview_text(browser), preview_text(browser)
    shot(browser, "calendar-not-understood")

    box.clear()
    phrase = f"standup every monday 9-10am starting {MONDAYS[0]} until {MONDAYS[3]}"
    box.send_keys(phrase)
    wait_for(browser, lambda d: "Read as" in preview_text(d), "the preview")
    read = preview_text(browser)
    assert "standup" in read and "every week on Monday" in read, read
    assert "9:00" in read and "10:00" in read, read
    # The next occurrences listed are the four Mondays, and nothing was written yet.
    listed = browser.execute_script(
        "return document.querySelectorAll('.cal-next li').length")
    assert listed == 4, read
    assert store.json("cal", "query", str(MONDAYS[0]), str(MONDAYS[3])) == []
    shot(browser, "calendar-preview")

    browser.find_element("css selector", ".cal-form button[type=submit]").click()
    wait_for(browser, lambda d: "Saved" in preview_text(d), "the saved message")
    # The month of the event, by its own URL (so it can be bookmarked).
    browser.get(ui.page(f"/calendar?view=month&date={MONDAYS[0]}"))
    wait_for(browser, lambda d: len(items(d, "standup")) == 4, "four standups")
    assert items(browser, "standup") == [str(day) for day in MONDAYS]
    found = store.json("cal", "query", str(NEXT_MONTH), str(MONDAYS[3] + datetime.timedelta(days=30)))
    assert [o["start"][:10] for o in found if o["title"] == "standup"] == [str(d) for d in MONDAYS]
    shot(browser, "calendar-month")
    browser.set_window_size(390, 844)
    shot(browser, "calendar-month-phone")


def test_the_views_have_urls_and_move_by_previous_next_and_today(store, ui, browser):
    store.run("cal", "add", f"planning {MONDAYS[1]} 14:00-15:30")
    store.run("cal", "add", f"harvest festival {MONDAYS[1] + datetime.timedelta(days=2)}")
    login(browser, ui, f"/calendar?view=week&date={MONDAYS[1]}")
    wait_for(browser, lambda d: items(d, "planning") == [str(MONDAYS[1])], "the week's event")
    assert "14:00" in page_text(browser) or "2:00 PM" in page_text(browser)
    shot(browser, "calendar-week")
    browser.set_window_size(390, 844)
    shot(browser, "calendar-week-phone")
    browser.set_window_size(1280, 860)

    browser.find_element("css selector", "[data-view=agenda]").click()
    wait_for(browser, lambda d: "view=agenda" in d.current_url, "the agenda's URL")
    wait_for(browser, lambda d: "harvest festival" in page_text(d), "the agenda")
    assert f"date={MONDAYS[1]}" in browser.current_url
    shot(browser, "calendar-agenda")
    browser.set_window_size(390, 844)
    shot(browser, "calendar-agenda-phone")
    browser.set_window_size(1280, 860)

    browser.find_element("css selector", "[data-view=week]").click()
    browser.find_element("css selector", "[data-nav=next]").click()
    week_after = MONDAYS[1] + datetime.timedelta(days=7)
    wait_for(browser, lambda d: f"date={week_after}" in d.current_url, "the next week's URL")
    wait_for(browser, lambda d: items(d, "planning") == [], "the next week, without the event")
    browser.back()
    wait_for(browser, lambda d: items(d, "planning") == [str(MONDAYS[1])], "the week again, after Back")
    browser.find_element("css selector", "[data-nav=today]").click()
    wait_for(browser, lambda d: f"date={TODAY}" in d.current_url, "today's URL")
    wait_for(browser, lambda d: d.execute_script(
        "return document.querySelector('.cal-today') !== null"), "today marked")


def test_overlapping_events_and_concurrent_versions_are_marked(store, other_store, ui, browser, tmp_path):
    day = MONDAYS[2]
    store.run("cal", "add", f"dentist {day} 10:00-11:00")
    store.run("cal", "add", f"call with Ana {day} 10:30-11:30")
    store.run("cal", "add", f"lunch {day} 12:00-13:00")
    # The same event changed on two devices at once: two versions until one is kept.
    meeting = store.json("cal", "add", f"team meeting {MONDAYS[3]} 14:00")[0]["id"]
    stick = tmp_path / "stick"
    stick.mkdir()
    store.run("sync", stick)
    other_store.run("sync", stick)
    store.run("cal", "put", meeting, f"{MONDAYS[3]} 15:00")
    other_store.run("cal", "put", meeting, f"{MONDAYS[3] + datetime.timedelta(days=1)} 9:00")
    other_store.run("sync", stick)
    store.run("sync", stick)

    login(browser, ui, f"/calendar?view=week&date={day}")
    wait_for(browser, lambda d: "overlaps call with Ana" in page_text(d), "the dentist's clash")
    text = page_text(browser)
    assert "overlaps dentist" in text, text
    marked = browser.execute_script(
        "return [...document.querySelectorAll('.cal-marked .cal-title')].map(e => e.textContent)")
    assert sorted(marked) == ["call with Ana", "dentist"], marked
    assert "marked: overlapping" in text
    shot(browser, "calendar-clash")

    browser.get(ui.page(f"/calendar?view=agenda&date={MONDAYS[3]}"))
    wait_for(browser, lambda d: page_text(d).count("several versions") == 2, "both versions marked")
    shot(browser, "calendar-versions")
    browser.find_element("css selector", ".cal-versions").find_element(
        "xpath", "..").find_element("css selector", ".cal-open").click()
    wait_for(browser, lambda d: "Keep this one" in page_text(d), "the versions to keep")
    shot(browser, "calendar-keep")
    browser.find_element("xpath", "//button[text()='Keep this one']").click()
    wait_for(browser, lambda d: "several versions" not in page_text(d), "one version kept")
    found = store.json("cal", "query", str(MONDAYS[3]), str(MONDAYS[3] + datetime.timedelta(days=1)))
    assert len(found) == 1 and "conflict" not in found[0], found


def test_the_calendar_downloads_as_ics_that_icalendar_reads(store, ui, browser):
    import icalendar

    store.run("cal", "add", f"standup every monday 9-10am starting {MONDAYS[0]} until {MONDAYS[3]}")
    store.run("cal", "add", f"harvest festival {MONDAYS[1]}")
    login(browser, ui, "/calendar")
    link = browser.find_element("css selector", "a.cal-download")
    assert link.get_attribute("href").endswith("/api/cal/calendar.ics")
    status, disposition, kind, text = browser.execute_async_script(
        """const done = arguments[0];
           fetch('/api/cal/calendar.ics').then(async r => done([r.status,
             r.headers.get('content-disposition'), r.headers.get('content-type'), await r.text()]))""")
    assert status == 200
    assert disposition.startswith("attachment") and ".ics" in disposition, disposition
    assert kind.startswith("text/calendar"), kind
    calendar = icalendar.Calendar.from_ical(text)
    events = {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {"standup", "harvest festival"}, text
    assert "FREQ=WEEKLY" in events["standup"]["RRULE"].to_ical().decode()


def test_an_event_is_changed_and_deleted_in_the_page_and_others_changes_show(store, ui, browser):
    store.run("cal", "add", f"planning {MONDAYS[1]} 14:00-15:30")
    tuesday = MONDAYS[1] + datetime.timedelta(days=1)
    login(browser, ui, f"/calendar?view=week&date={MONDAYS[1]}")
    wait_for(browser, lambda d: items(d, "planning") == [str(MONDAYS[1])], "the event")
    browser.find_element("css selector", ".cal-item .cal-open").click()
    wait_for(browser, lambda d: "Written as" in page_text(d), "the event's details")
    browser.find_element("xpath", "//section[contains(@class,'cal-details')]//button[text()='Edit']").click()
    box = browser.find_element("name", "phrase")
    assert box.get_attribute("value") == f"planning {MONDAYS[1]} 14:00-15:30"
    box.clear()
    box.send_keys(f"{tuesday} 16:00")
    wait_for(browser, lambda d: "Read as" in preview_text(d), "the new reading")
    assert "planning" in preview_text(browser), "a change keeps the title"
    shot(browser, "calendar-edit")
    browser.find_element("css selector", ".cal-form button[type=submit]").click()
    wait_for(browser, lambda d: items(d, "planning") == [str(tuesday)], "the event moved")
    found = store.json("cal", "query", str(MONDAYS[1]), str(tuesday))
    assert [(o["title"], o["start"][:16]) for o in found] == [("planning", f"{tuesday}T16:00")]

    # Written by another program while the page is open: it shows without a reload.
    browser.execute_script("window.notReloaded = true")
    store.run("cal", "add", f"review {MONDAYS[1]} 11:00")
    wait_for(browser, lambda d: items(d, "review") == [str(MONDAYS[1])], "the event from the terminal")
    assert browser.execute_script("return window.notReloaded") is True

    browser.find_element("xpath", "//li[.//span[text()='planning']]/button").click()
    wait_for(browser, lambda d: "Written as" in page_text(d), "the event's details")
    browser.find_element("xpath", "//section[contains(@class,'cal-details')]//button[text()='Delete']").click()
    browser.switch_to.alert.accept()
    wait_for(browser, lambda d: items(d, "planning") == [], "the event gone")
    found = store.json("cal", "query", str(MONDAYS[1]), str(tuesday))
    assert [o["title"] for o in found] == ["review"]
