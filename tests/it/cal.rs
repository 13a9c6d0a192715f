//! The calendar view through the CLI: schedules in everyday words, queries that expand
//! recurrences, concurrent edits, removal, and iCalendar export read back by an independent
//! parser (Python's icalendar and recurring-ical-events, installed by .ci/run).

use std::process::Command;

use assert_cmd::prelude::*;

use serde_json::Value;

use super::*;

const NOW: &str = "2026-11-25T10:00";
const TZ: &str = "Europe/Oslo";

/// `mule cal add TEXT` at the pinned clock; returns the event id.
fn add(store: &Path, text: &str) -> String {
    add_in(store, text, TZ)
}

fn add_in(store: &Path, text: &str, tz: &str) -> String {
    let added = json(store, &["cal", "add", text, "--now", NOW, "--tz", tz]);
    added["id"].as_str().expect("an id").to_owned()
}

/// `cal query --json` lines.
fn query(store: &Path, from: &str, to: &str) -> Vec<Value> {
    query_in(store, from, to, TZ)
}

/// `cal query --json` lines, asked in zone `tz`.
fn query_in(store: &Path, from: &str, to: &str, tz: &str) -> Vec<Value> {
    let out = run(store, &["--json", "cal", "query", from, to, "--tz", tz]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn starts(occurrences: &[Value]) -> Vec<&str> {
    occurrences
        .iter()
        .map(|o| o["start"].as_str().expect("start"))
        .collect()
}

#[test]
fn recurrences_expand_with_exceptions_and_end_dates() {
    let work = Work::new();
    let store = work.path("s");
    let fridays = add(&store, "every other friday at 4pm until march");
    let mondays = add(&store, "standup every monday 9-10am except dec 28");
    let found = query(&store, "2026-12-01", "2027-01-10");
    let of = |id: &str| -> Vec<&str> {
        found
            .iter()
            .filter(|o| o["id"] == id)
            .map(|o| o["start"].as_str().expect("start"))
            .collect()
    };
    assert_eq!(
        of(&fridays),
        [
            "2026-12-11T16:00:00+01:00",
            "2026-12-25T16:00:00+01:00",
            "2027-01-08T16:00:00+01:00"
        ]
    );
    assert_eq!(
        of(&mondays),
        [
            "2026-12-07T09:00:00+01:00",
            "2026-12-14T09:00:00+01:00",
            "2026-12-21T09:00:00+01:00",
            "2027-01-04T09:00:00+01:00"
        ]
    );
    let standup = found.iter().find(|o| o["id"] == mondays).expect("standup");
    assert_eq!(standup["title"], "standup");
    assert_eq!(standup["end"], "2026-12-07T10:00:00+01:00");
    assert_eq!(standup["recurring"], true);
    assert!(
        starts(&found).is_sorted(),
        "occurrences come sorted by start"
    );
    // "until march" ends with February: the last is 19 February.
    let late = query(&store, "2027-02-15", "2027-04-01");
    assert_eq!(starts(&late)[..1], ["2027-02-15T09:00:00+01:00"]);
    let late_fridays: Vec<&Value> = late.iter().filter(|o| o["id"] == fridays).collect();
    assert_eq!(late_fridays.len(), 1);
    assert_eq!(late_fridays[0]["start"], "2027-02-19T16:00:00+01:00");
}

#[test]
fn a_query_range_of_dates_includes_its_last_day_and_accepts_times() {
    let work = Work::new();
    let store = work.path("s");
    let id = add(&store, "DMV friday at 10:30");
    let found = query(&store, "2026-11-27", "2026-11-27");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], id);
    assert_eq!(found[0]["title"], "DMV");
    assert_eq!(found[0]["recurring"], false);
    assert_eq!(
        query(&store, "2026-11-27T11:00", "2026-11-27T12:00").len(),
        1,
        "an occurrence still running at FROM is in the range"
    );
    assert!(query(&store, "2026-11-27T11:30:00+01:00", "2026-11-28").is_empty());
    let out = run(&store, &["cal", "query", "2026-12-01", "last week"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("`last week` is not a date or time"));
}

#[test]
fn unreadable_text_names_the_word_and_writes_nothing() {
    let work = Work::new();
    let store = work.path("s");
    add(&store, "dec 5 9:30am");
    let before = state(&store);
    for (text, word) in [
        ("every blursday", "\"blursday\" at character 7"),
        ("dec 45", "\"45\""),
        ("lunch with bob", "no date"),
    ] {
        let out = run(&store, &["cal", "add", text, "--now", NOW, "--tz", TZ]);
        assert_eq!(out.status.code(), Some(1), "{text}");
        let message = stderr(&out);
        assert!(message.contains(word), "{text}: {message}");
        assert_eq!(message.lines().count(), 1, "{message}");
    }
    let out = run(&store, &["cal", "add", "friday", "--tz", "Mars/Olympus"]);
    assert!(stderr(&out).contains("unknown time zone `Mars/Olympus`"));
    assert_eq!(state(&store), before);
}

#[test]
fn an_exception_that_is_no_occurrence_is_refused_with_the_nearest_ones() {
    let work = Work::new();
    let store = work.path("s");
    add(&store, "dec 5 9:30am");
    let before = state(&store);
    // 30 December is a Wednesday, but not one of every other Wednesday from 25 November.
    let text = "retro every other wednesday at 2pm except dec 30";
    let out = run(&store, &["cal", "add", text, "--now", NOW, "--tz", TZ]);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(
        message.contains("2026-12-30 is not one of the repeat's days")
            && message.contains("2026-12-23 and 2027-01-06"),
        "{message}"
    );
    assert_eq!(state(&store), before, "nothing is written");
    let id = add(&store, "retro every other wednesday at 2pm except jan 6");
    let found = query(&store, "2026-12-20", "2027-01-25");
    let retro: Vec<&str> = found
        .iter()
        .filter(|o| o["id"] == id)
        .map(|o| o["start"].as_str().expect("start"))
        .collect();
    assert_eq!(
        retro,
        ["2026-12-23T14:00:00+01:00", "2027-01-20T14:00:00+01:00"]
    );
}

#[test]
fn a_zone_written_in_the_text_overrides_tz_for_that_event() {
    let work = Work::new();
    let store = work.path("s");
    let id = add(&store, "9am PST tomorrow");
    let found = query(&store, "2026-11-26", "2026-11-27");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], id);
    assert_eq!(found[0]["title"], "");
    assert_eq!(found[0]["tz"], "America/Los_Angeles");
    assert_eq!(found[0]["start"], "2026-11-26T09:00:00-08:00");
    let out = run(
        &store,
        &["cal", "add", "standup 9:30 CST", "--now", NOW, "--tz", TZ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("America/Chicago (US Central) or Asia/Shanghai"));
}

#[test]
fn all_day_events_are_the_same_dates_in_query_and_export() {
    let work = Work::new();
    let store = work.path("s");
    let visit = add(&store, "visit dec 24 to dec 26");
    let course = add(&store, "course every day from jan 15 to feb 10");
    let new_york = "America/New_York";
    let found = query_in(&store, "2026-12-24", "2026-12-24", new_york);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], visit);
    assert_eq!(
        (&found[0]["start"], &found[0]["end"]),
        (
            &Value::from("2026-12-24T00:00:00-05:00"),
            &Value::from("2026-12-27T00:00:00-05:00")
        )
    );
    let last = query_in(&store, "2027-02-10", "2027-02-12", new_york);
    assert_eq!(starts(&last), ["2027-02-10T00:00:00-05:00"]);
    assert_eq!(last[0]["id"], course);
    let ics = work.path("cal.ics");
    json(
        &store,
        &["cal", "export", "--ics", ics.to_str().expect("utf-8")],
    );
    let text = std::fs::read_to_string(&ics).expect("ics");
    for line in [
        "DTSTART;VALUE=DATE:20261224",
        "DTEND;VALUE=DATE:20261227",
        "RRULE:FREQ=DAILY;UNTIL=20270210",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    let Some(python) = python_with_icalendar() else {
        return;
    };
    let (from, to) = ("2026-12-01T00:00:00+00:00", "2027-03-01T00:00:00+00:00");
    let dates = |found: &[Value], id: &str| -> Vec<String> {
        let mut dates: Vec<String> = found
            .iter()
            .filter(|o| o["id"] == id || o["uid"] == format!("{id}@mule"))
            .map(|o| {
                let (start, end) = (o["start"].as_str(), o["end"].as_str());
                format!(
                    "{} {}",
                    &start.expect("start")[..10],
                    &end.expect("end")[..10]
                )
            })
            .collect();
        dates.sort();
        dates
    };
    let theirs = python_occurrences(&python, &ics, from, to);
    let ours = query_in(&store, from, to, new_york);
    for id in [&visit, &course] {
        assert_eq!(dates(&ours, id), dates(&theirs, id), "{id}");
    }
    assert_eq!(dates(&theirs, &course).len(), 27, "jan 15 to feb 10");
}

#[test]
fn title_option_wins_and_words_left_over_become_the_title() {
    let work = Work::new();
    let store = work.path("s");
    let quoted = add(&store, "\"linux installfest friday\" friday at 21:00");
    let studied = add(&store, "javascript study group thursdays at 7 pm");
    let named = json(
        &store,
        &[
            "cal",
            "add",
            "tomorrow at noon",
            "--title",
            "Lunch",
            "--now",
            NOW,
            "--tz",
            TZ,
        ],
    );
    let found = query(&store, "2026-11-25", "2026-11-28");
    let title_of = |id: &str| {
        found
            .iter()
            .find(|o| o["id"] == id)
            .map(|o| o["title"].clone())
    };
    assert_eq!(
        title_of(&quoted),
        Some(Value::from("linux installfest friday"))
    );
    assert_eq!(
        title_of(&studied),
        Some(Value::from("javascript study group"))
    );
    assert_eq!(
        title_of(named["id"].as_str().expect("id")),
        Some(Value::from("Lunch"))
    );
}

#[test]
fn removing_an_event_hides_it_and_a_second_removal_fails() {
    let work = Work::new();
    let store = work.path("s");
    let id = add(&store, "every day at 12:00");
    assert_eq!(query(&store, "2026-12-01", "2026-12-03").len(), 3);
    mule(&store).args(["cal", "rm", &id]).assert().success();
    assert!(query(&store, "2026-12-01", "2026-12-03").is_empty());
    let out = run(&store, &["cal", "rm", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&format!("no event `{id}`")));
}

#[test]
fn concurrent_edits_both_show_until_an_edit_merges_them() {
    let work = Work::new();
    let (a, b, stick) = (work.path("a"), work.path("b"), work.folder("stick"));
    let id = add(&a, "team meeting dec 10 at 14:00");
    mule(&a).arg("sync").arg(&stick).assert().success();
    mule(&b).arg("sync").arg(&stick).assert().success();
    for (store, text) in [(&a, "dec 10 at 15:00"), (&b, "dec 11 at 9:00")] {
        mule(store)
            .args(["cal", "put", &id, text, "--now", NOW, "--tz", TZ])
            .assert()
            .success();
    }
    for store in [&a, &b, &a] {
        mule(store).arg("sync").arg(&stick).assert().success();
    }
    for store in [&a, &b] {
        let found = query(store, "2026-12-01", "2026-12-31");
        assert_eq!(
            starts(&found),
            ["2026-12-10T15:00:00+01:00", "2026-12-11T09:00:00+01:00"]
        );
        assert!(found.iter().all(|o| o["conflict"] == true));
    }
    mule(&b)
        .args([
            "cal",
            "put",
            &id,
            "dec 12 at 10:00",
            "--now",
            NOW,
            "--tz",
            TZ,
        ])
        .assert()
        .success();
    let found = query(&b, "2026-12-01", "2026-12-31");
    assert_eq!(starts(&found), ["2026-12-12T10:00:00+01:00"]);
    assert_eq!(found[0].get("conflict"), None);
}

/// Python with the iCalendar readers of tests/python/requirements.txt, or `None` (skipped).
fn python_with_icalendar() -> Option<PathBuf> {
    let python = outside_tool("python3", "python3")?;
    let imports = Command::new(&python)
        .args(["-c", "import icalendar, recurring_ical_events"])
        .output()
        .is_ok_and(|out| out.status.success());
    if imports {
        Some(python)
    } else {
        skip(
            "Python's icalendar packages are missing (pip install -r tests/python/requirements.txt; scripts/test installs them)",
        )
    }
}

/// The independent reader's occurrences of an exported file.
fn python_occurrences(python: &Path, file: &Path, from: &str, to: &str) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/ics_occurrences.py");
    let out = Command::new(python)
        .arg(script)
        .arg(file)
        .args([from, to])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "the iCalendar reader refused the export: {}",
        stderr(&out)
    );
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

#[test]
fn ics_export_reads_back_the_same_occurrences_in_an_independent_parser() {
    let Some(python) = python_with_icalendar() else {
        return;
    };
    let work = Work::new();
    let store = work.path("s");
    for text in [
        "every monday 9-10am except dec 28",
        "every other friday at 4pm until march",
        "every day at 12:00 starting jan 15 until feb 10",
        "2nd and 4th thursday at 18:00",
        "rent the 15th",
        "every oct 31st",
        "dec 24 to dec 26",
        "2026-12-24 18:00-22:00",
    ] {
        add(&store, text);
    }
    json(
        &store,
        &[
            "cal",
            "add",
            "dec 9 at 8",
            "--title",
            "Review; notes, and \\ backslashes",
            "--now",
            NOW,
            "--tz",
            TZ,
        ],
    );
    add_in(&store, "weekly call tuesdays at 8am", "America/New_York");
    add_in(&store, "tomorrow at 10pm for 3 hours", "UTC");
    let ics = work.path("cal.ics");
    let written = json(
        &store,
        &["cal", "export", "--ics", ics.to_str().expect("utf-8")],
    );
    assert_eq!(written["events"], 11);
    let (from, to) = ("2026-11-25T00:00:00+00:00", "2027-12-01T00:00:00+00:00");
    let theirs = python_occurrences(&python, &ics, from, to);
    let ours: Vec<Value> = query(&store, from, to);
    assert!(ours.len() > 150, "{} occurrences", ours.len());
    let key = |id: &str, start: &str, end: &str| format!("{id} {start} {end}");
    let mut theirs: Vec<String> = theirs
        .iter()
        .map(|o| {
            let id = o["uid"].as_str().expect("uid").trim_end_matches("@mule");
            key(
                id,
                o["start"].as_str().expect("start"),
                o["end"].as_str().expect("end"),
            )
        })
        .collect();
    let mut ours: Vec<String> = ours
        .iter()
        .map(|o| {
            let (start, end) = (
                o["start"].as_str().expect("s"),
                o["end"].as_str().expect("e"),
            );
            if o["all_day"] == true {
                key(o["id"].as_str().expect("id"), &start[..10], &end[..10])
            } else {
                key(o["id"].as_str().expect("id"), start, end)
            }
        })
        .collect();
    theirs.sort();
    ours.sort();
    assert_eq!(ours, theirs);
    let text = std::fs::read_to_string(&ics).expect("ics");
    assert!(text.contains("SUMMARY:Review\\; notes\\, and \\\\ backslashes"));
    assert!(text.lines().all(|l| l.len() <= 76), "lines are folded");
}

#[test]
fn views_rebuild_to_the_same_calendar() {
    let work = Work::new();
    let store = work.path("s");
    add(&store, "every monday 9-10am");
    let id = add(&store, "dec 5");
    mule(&store).args(["cal", "rm", &id]).assert().success();
    let before = query(&store, "2026-11-25", "2027-02-01");
    mule(&store).arg("reindex").assert().success();
    assert_eq!(query(&store, "2026-11-25", "2027-02-01"), before);
    std::fs::remove_file(store.join("views.sqlite")).expect("remove");
    assert_eq!(query(&store, "2026-11-25", "2027-02-01"), before);
}

/// Issue 16: a new version keeps every field the person did not change.
#[test]
fn put_keeps_what_it_does_not_change() {
    let work = Work::new();
    let store = work.path("a");
    let id = add(&store, "DMV friday at 10:30");
    let put = |args: &[&str]| {
        let mut all = vec!["cal", "put", &id];
        all.extend_from_slice(args);
        all.extend(["--now", NOW]);
        let out = run(&store, &all);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    // Moved from Oslo's Friday 10:30 to Dec 12 10:00; no --tz: read in the event's own zone.
    put(&["dec 12 at 10:00"]);
    let found = query(&store, "2026-12-01", "2026-12-31");
    assert_eq!(starts(&found), ["2026-12-12T10:00:00+01:00"]);
    assert_eq!(found[0]["title"], "DMV", "{}", found[0]);
    put(&["--title", "Driving test"]);
    let found = query(&store, "2026-12-01", "2026-12-31");
    assert_eq!(starts(&found), ["2026-12-12T10:00:00+01:00"]);
    assert_eq!(found[0]["title"], "Driving test");
    let missing = run(&store, &["cal", "put", "no-such-event", "--title", "x"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("no event `no-such-event`"));
}
