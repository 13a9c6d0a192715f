//! `mule ui`'s calendar routes (issue 17): a preview that writes nothing, events written
//! through the replica and seen by `mule cal query`, occurrences with their clashes and
//! conflicts, keeping one of concurrent versions, and the .ics download.

use assert_cmd::prelude::*;
use mule::report;

use super::ui::Ui;
use super::*;

/// Mondays in March 2031 at 9, but not the 17th: the 3rd, 10th, 24th and 31st.
const STANDUP: &str =
    "standup every monday 9-10am starting 2031-03-01 until 2031-03-31 except 2031-03-17";

/// A JSON body for the calendar routes: the text, read in Oslo's zone.
fn phrase(text: &str) -> Vec<u8> {
    serde_json::json!({ "text": text, "tz": "Europe/Oslo" })
        .to_string()
        .into_bytes()
}

/// `cal query` from the terminal, in Oslo's zone.
fn cli_query(store: &Path, from: &str, to: &str) -> Vec<Value> {
    let out = run(
        store,
        &["--json", "cal", "query", from, to, "--tz", "Europe/Oslo"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// The starts of the occurrences the page would show from `from` to `to`.
fn page_query(ui: &Ui, from: &str, to: &str) -> Vec<Value> {
    let path = format!("/api/cal/occurrences?from={from}&to={to}&tz=Europe%2FOslo");
    let reply = ui.call("GET", &path, b"");
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json().as_array().expect("a list").clone()
}

#[test]
fn ui_previews_a_schedule_without_writing_it() {
    let work = Work::new();
    let store = work.path("a");
    let ui = Ui::start(&store);
    let reply = ui.call("POST", "/api/cal/preview", &phrase(STANDUP));
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let reading = reply.json();
    assert_eq!(reading["title"], "standup");
    assert_eq!(reading["tz"], "Europe/Oslo");
    assert_eq!(reading["repeat"]["frequency"], "weekly");
    assert_eq!(reading["repeat"]["weekdays"][0]["day"], 1, "Monday");
    assert_eq!(reading["repeat"]["until"], "2031-03-31");
    assert_eq!(reading["except"], serde_json::json!(["2031-03-17"]));
    let starts: Vec<&str> = reading["next"]
        .as_array()
        .expect("next")
        .iter()
        .map(|o| o["start"].as_str().expect("start"))
        .collect();
    assert_eq!(
        starts,
        [
            "2031-03-03T09:00:00+01:00",
            "2031-03-10T09:00:00+01:00",
            "2031-03-24T09:00:00+01:00",
            "2031-03-31T09:00:00+02:00",
        ]
    );
    assert!(cli_query(&store, "2031-03-01", "2031-03-31").is_empty());

    let unread = ui.call(
        "POST",
        "/api/cal/preview",
        &phrase("standup every blursday 9am"),
    );
    assert_eq!(unread.status, 400);
    let error = unread.json()["error"].as_str().expect("error").to_owned();
    assert!(error.contains("blursday"), "{error}");
    let zone = ui.call(
        "POST",
        "/api/cal/preview",
        br#"{"text": "friday 3pm", "tz": "Mars/Olympus"}"#,
    );
    assert_eq!(zone.status, 400);
}

#[test]
fn ui_writes_edits_and_removes_events_that_the_terminal_sees() {
    let work = Work::new();
    let store = work.path("a");
    let ui = Ui::start(&store);
    let reply = ui.call("POST", "/api/cal/events", &phrase(STANDUP));
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let written: report::EventWritten = serde_json::from_value(reply.json()).expect("EventWritten");
    let found = cli_query(&store, "2031-03-01", "2031-03-31");
    assert_eq!(found.len(), 4);
    assert!(found.iter().all(|o| o["id"] == written.id.as_str()));
    assert_eq!(
        page_query(&ui, "2031-03-01", "2031-03-31"),
        found
            .iter()
            .map(|o| {
                let mut shown = o.clone();
                shown["clashes"] = serde_json::json!([]);
                shown
            })
            .collect::<Vec<_>>(),
        "the page shows what `cal query` prints"
    );

    let path = format!("/api/cal/events/{}", written.id);
    let moved = phrase("2031-04-01 10:00");
    let preview = format!("/api/cal/preview?id={}", written.id);
    let reading = ui.call("POST", &preview, &moved).json();
    assert_eq!(reading["title"], "standup", "a change keeps the title");
    assert_eq!(reading["next"][0]["start"], "2031-04-01T10:00:00+02:00");
    assert_eq!(
        cli_query(&store, "2031-03-01", "2031-03-31").len(),
        4,
        "nothing written"
    );
    assert_eq!(ui.call("PUT", &path, &moved).status, 200);
    assert!(cli_query(&store, "2031-03-01", "2031-03-31").is_empty());
    assert_eq!(
        cli_query(&store, "2031-04-01", "2031-04-01")[0]["title"],
        "standup"
    );
    assert_eq!(
        ui.call("PUT", &path, &phrase(STANDUP)).status,
        200,
        "and back"
    );
    let renamed = ui.call("PUT", &path, br#"{"title": "daily sync"}"#);
    assert_eq!(
        renamed.status,
        200,
        "{}",
        String::from_utf8_lossy(&renamed.body)
    );
    let versions = ui.call("GET", &path, b"").json();
    assert_eq!(versions["versions"].as_array().map(Vec::len), Some(1));
    assert_eq!(versions["versions"][0]["title"], "daily sync");
    assert_eq!(
        versions["versions"][0]["text"], STANDUP,
        "the schedule is kept"
    );

    assert_eq!(ui.call("DELETE", &path, b"").status, 200);
    assert!(cli_query(&store, "2031-03-01", "2031-03-31").is_empty());
    assert_eq!(
        ui.call("DELETE", &path, b"").status,
        404,
        "nothing left to remove"
    );
    assert_eq!(ui.call("GET", &path, b"").status, 404);
}

#[test]
fn ui_marks_overlapping_occurrences_and_concurrent_versions() {
    let work = Work::new();
    let (a, b, stick) = (work.path("a"), work.path("b"), work.folder("stick"));
    let add = |text: &str| {
        let out = run(&a, &["--json", "cal", "add", text, "--tz", "Europe/Oslo"]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str::<Value>(&stdout(&out)).expect("JSON")["id"]
            .as_str()
            .expect("id")
            .to_owned()
    };
    let dentist = add("dentist 2031-03-04 10:00-11:00");
    let call = add("call 2031-03-04 10:30-11:30");
    add("lunch 2031-03-04 12:00-13:00");
    let meeting = add("meeting 2031-03-05 14:00");
    mule(&a).arg("sync").arg(&stick).assert().success();
    mule(&b).arg("sync").arg(&stick).assert().success();
    for (store, text) in [(&a, "2031-03-05 15:00"), (&b, "2031-03-06 9:00")] {
        mule(store)
            .args(["cal", "put", &meeting, text, "--tz", "Europe/Oslo"])
            .assert()
            .success();
    }
    mule(&b).arg("sync").arg(&stick).assert().success();
    mule(&a).arg("sync").arg(&stick).assert().success();

    let ui = Ui::start(&a);
    let shown = page_query(&ui, "2031-03-04", "2031-03-06");
    let marks: Vec<(&str, &Value, bool)> = shown
        .iter()
        .map(|o| {
            let title = o["title"].as_str().expect("title");
            (title, &o["clashes"], o.get("conflict").is_some())
        })
        .collect();
    let none = serde_json::json!([]);
    assert_eq!(
        marks,
        [
            ("dentist", &serde_json::json!([call]), false),
            ("call", &serde_json::json!([dentist]), false),
            ("lunch", &none, false),
            ("meeting", &none, true),
            ("meeting", &none, true),
        ]
    );

    let path = format!("/api/cal/events/{meeting}");
    let versions = ui.call("GET", &path, b"").json();
    let versions = versions["versions"].as_array().expect("versions").clone();
    assert_eq!(versions.len(), 2);
    let keep = versions[1]["version"].as_str().expect("version");
    let body = serde_json::json!({ "keep": keep }).to_string();
    assert_eq!(ui.call("PUT", &path, body.as_bytes()).status, 200);
    let found = cli_query(&a, "2031-03-05", "2031-03-06");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].get("conflict"), None, "one version left");
    assert_eq!(found[0]["start"], versions[1]["start"]);
    let stale = ui.call("PUT", &path, body.as_bytes());
    assert_eq!(stale.status, 400, "that version is no longer current");
}

#[test]
fn ui_refuses_a_range_it_cannot_read() {
    let work = Work::new();
    let ui = Ui::start(&work.path("a"));
    for query in [
        "from=2031-03-05&to=2031-03-01",
        "from=soon&to=2031-03-01",
        "from=2031-03-01&to=2031-03-05&tz=Mars%2FOlympus",
    ] {
        let reply = ui.call("GET", &format!("/api/cal/occurrences?{query}"), b"");
        assert_eq!(reply.status, 400, "{query}");
        assert!(reply.json()["error"].is_string());
    }
    assert_eq!(ui.call("DELETE", "/api/cal/occurrences", b"").status, 405);
    assert_eq!(ui.call("GET", "/api/cal/nowhere", b"").status, 404);
}

#[test]
fn ui_downloads_the_calendar_as_an_ics_attachment() {
    let work = Work::new();
    let store = work.path("a");
    let ui = Ui::start(&store);
    assert_eq!(
        ui.call("POST", "/api/cal/events", &phrase(STANDUP)).status,
        200
    );
    let reply = ui.call("GET", "/api/cal/calendar.ics", b"");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"mule-calendar.ics\"")
    );
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/calendar"))
    );
    let text = String::from_utf8(reply.body).expect("UTF-8");
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
    assert!(text.contains("SUMMARY:standup\r\n"), "{text}");
    assert!(text.contains("EXDATE"), "the exception travels: {text}");
}
