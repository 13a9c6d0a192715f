//! `mule ui`'s notes and status routes and `mule ui --open` (issue 17), on the real binary.

use std::io::BufRead;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::prelude::*;

use super::ui::{Ui, concurrent_values_of_k};
use super::*;

/// How long a test waits for something the server does on its own before failing.
const PATIENCE: Duration = Duration::from_secs(30);

/// The keys of a `GET /api/kv` page, and its total.
fn page(ui: &Ui, query: &str) -> (Vec<String>, u64) {
    let reply = ui.call("GET", &format!("/api/kv{query}"), b"");
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let page = reply.json();
    let keys = page["keys"].as_array().expect("keys").iter();
    let keys = keys.map(|k| k["key"].as_str().expect("a key").to_owned());
    (keys.collect(), page["total"].as_u64().expect("total"))
}

#[test]
fn ui_answers_one_page_of_notes_and_searches_keys_and_values_on_the_server() {
    let work = Work::new();
    let store = work.path("a");
    let lines: String = (0..250)
        .map(|i| {
            format!(
                "{{\"k\":\"well-{i:03}\",\"v\":\"{}\"}}\n",
                ["dry", "wet"][i % 2]
            )
        })
        .collect();
    assert!(append_lines(&store, "kv", &lines).status.success());
    let ui = Ui::start(&store);
    let (keys, total) = page(&ui, "");
    assert_eq!((keys.len(), total), (100, 250), "a bounded page by default");
    assert_eq!(keys[0], "well-000");
    let (keys, total) = page(&ui, "?offset=240&limit=50");
    assert_eq!((keys.len(), total, keys[0].as_str()), (10, 250, "well-240"));
    let (keys, total) = page(&ui, "?q=WET&limit=2");
    assert_eq!(
        (keys, total),
        (vec!["well-001".into(), "well-003".into()], 125)
    );
    let (keys, total) = page(&ui, "?q=well-12&prefix=well-1");
    assert_eq!((keys.len(), total), (10, 10), "well-120 ... well-129");
    let (keys, _) = page(&ui, "?limit=999999");
    assert_eq!(keys.len(), 250, "the limit is capped, not refused");
    assert_eq!(ui.call("GET", "/api/kv?limit=lots", b"").status, 400);
    // The page first, the count after: `count=no` leaves out a total that needs every key read.
    let quick = ui.call("GET", "/api/kv?limit=10&count=no", b"").json();
    assert_eq!(quick["keys"].as_array().expect("keys").len(), 10);
    assert!(quick["total"].is_null(), "{quick}");
    assert_eq!(page(&ui, "?limit=0"), (vec![], 250), "the count alone");
    assert_eq!(
        page(&ui, "?limit=300&count=no").1,
        250,
        "a page that reaches the end counts"
    );
}

#[test]
fn ui_a_put_over_two_concurrent_values_merges_them_into_one() {
    let work = Work::new();
    let a = concurrent_values_of_k(&work);
    let (b, stick) = (work.path("b"), work.path("stick"));
    let ui = Ui::start(&a);
    let reply = ui.call("PUT", "/api/kv/k", br#""both, merged""#);
    assert_eq!(reply.status, 200);
    let got = run(&a, &["--json", "kv", "get", "k"]);
    let lines: Vec<&str> = std::str::from_utf8(&got.stdout)
        .expect("UTF-8")
        .lines()
        .collect();
    assert_eq!(lines.len(), 1, "one value left: {lines:?}");
    let value: Value = serde_json::from_str(lines[0]).expect("JSON");
    assert_eq!(value["value"], "both, merged");
    // And the merge travels: b, which held both values, sees only the merged one after a sync.
    for store in [&a, &b] {
        mule(store).arg("sync").arg(&stick).assert().success();
    }
    assert_eq!(json(&b, &["kv", "get", "k"])["value"], "both, merged");
}

#[test]
fn ui_checks_the_store_and_says_it_is_clean() {
    let work = Work::new();
    let store = work.path("a");
    mule(&store)
        .args(["kv", "put", "k", "1"])
        .assert()
        .success();
    let ui = Ui::start(&store);
    let reply = ui.call("GET", "/api/status/fsck", b"");
    assert_eq!(reply.status, 200);
    let report: mule::report::Fsck = serde_json::from_value(reply.json()).expect("a report::Fsck");
    assert!(report.clean && report.report.problems.is_empty());
    assert_eq!(report.report.entries, 1);
    assert_eq!(ui.call("POST", "/api/status/fsck", b"").status, 405);
}

/// A stand-in browser: a script that writes the URL it was given into `record`.
#[cfg(unix)]
fn stand_in_browser(dir: &Path, name: &str, record: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join(name);
    let text = format!(
        "#!/bin/sh\nprintf '%s' \"$1\" > '{}.part'\nmv '{0}.part' '{0}'\n",
        record.display()
    );
    std::fs::write(&script, text).expect("write the script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

/// What the stand-in browser recorded, once it has (polling the file, at most [`PATIENCE`]).
fn recorded(record: &Path) -> String {
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(record) {
            return text;
        }
        assert!(started.elapsed() < PATIENCE, "no browser was started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[test]
fn ui_open_starts_the_browser_named_by_browser_with_the_url() {
    let work = Work::new();
    let record = work.path("opened");
    let browser = stand_in_browser(&work.folder("bin"), "browser", &record);
    let ui = Ui::start_with(&work.path("a"), |command| {
        command.arg("--open").env("BROWSER", &browser);
    });
    assert_eq!(
        recorded(&record),
        ui.first_line["url"].as_str().expect("url")
    );
}

#[cfg(all(unix, not(target_os = "macos")))]
#[test]
fn ui_open_falls_back_to_xdg_open() {
    let work = Work::new();
    let record = work.path("opened");
    let bin = work.folder("bin");
    stand_in_browser(&bin, "xdg-open", &record);
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("a PATH");
    let ui = Ui::start_with(&work.path("a"), |command| {
        command
            .arg("--open")
            .env_remove("BROWSER")
            .env("PATH", path);
    });
    assert_eq!(
        recorded(&record),
        ui.first_line["url"].as_str().expect("url")
    );
}

#[test]
fn ui_open_warns_when_no_browser_starts_and_serves_anyway() {
    let work = Work::new();
    let empty = work.folder("no-programs-here");
    let mut ui = Ui::start_with(&work.path("a"), |command| {
        command
            .arg("--open")
            .env("BROWSER", empty.join("no-browser"))
            .env("PATH", &empty)
            .stderr(Stdio::piped());
    });
    let stderr = ui.child.stderr.take().expect("stderr");
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        drop(std::io::BufReader::new(stderr).read_line(&mut line));
        drop(send.send(line));
    });
    let warning = receive.recv_timeout(PATIENCE).expect("a warning line");
    assert!(
        warning.starts_with("warning: could not open a browser"),
        "{warning}"
    );
    assert!(
        ui.first_line["url"].is_string(),
        "the URL was printed first"
    );
    assert_eq!(
        ui.call("GET", "/api/status", b"").status,
        200,
        "still serving"
    );
}
