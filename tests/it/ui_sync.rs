//! `mule ui`'s sync routes (issue 17): folder sync, places, a bundle exported as a download and
//! imported from an upload streamed to a file, over raw HTTP to the real binary.

use std::io::{Read, Write};
use std::net::TcpStream;

use super::ui::Ui;
use super::*;

/// The status code of the answer to `request` (such as "POST /api/sync/import") that announces
/// `length` body bytes but sends none: what the server says about the head alone.
fn status_of_head(ui: &Ui, request: &str, headers: &[String], length: u64) -> u16 {
    let mut stream = TcpStream::connect(("127.0.0.1", ui.port)).expect("connect");
    let mut head = format!("{request} HTTP/1.1\r\n");
    for header in headers {
        head.push_str(&format!("{header}\r\n"));
    }
    head.push_str(&format!("Content-Length: {length}\r\n\r\n"));
    stream.write_all(head.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let status_line = raw.split(|b| *b == b'\r').next().expect("a status line");
    String::from_utf8_lossy(status_line)
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code")
}

#[test]
fn ui_refuses_an_upload_over_its_bound_or_without_the_secret_before_reading_it() {
    let work = Work::new();
    let ui = Ui::start(&work.path("a"));
    let host = format!("Host: {}", ui.host());
    // Over 2 GiB: refused from the head, whatever the disk holds; the body is never sent.
    let over = 2 * 1024 * 1024 * 1024 + 1;
    let import = "POST /api/sync/import";
    let with_secret = [host.clone(), ui.login()];
    assert_eq!(status_of_head(&ui, import, &with_secret, over), 413);
    // Without the secret, even a small upload is refused before a byte of it is taken in.
    assert_eq!(status_of_head(&ui, import, &[host], 1000), 401);
    // Other routes keep their 1 MiB bound in memory.
    let kv = status_of_head(&ui, "PUT /api/kv/k", &with_secret, 1024 * 1024 + 1);
    assert_eq!(kv, 413);
}

#[test]
fn ui_import_of_a_tampered_bundle_leaves_the_store_unchanged_and_a_good_one_imports_once() {
    let work = Work::new();
    // Larger than the 1 MiB other routes hold in memory: this one streams to a file.
    let (_source, bundle) = incompressible_bundle(&work, 40_000);
    assert!(std::fs::metadata(&bundle).expect("bundle").len() > 1024 * 1024);
    let store = work.path("b");
    assert!(
        append_lines(&store, "obs", &numbered(0, 3))
            .status
            .success()
    );
    let ui = Ui::start(&store);
    let before = state(&store);
    let good = std::fs::read(&bundle).expect("read the bundle");
    let mut tampered = good.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x55;

    let refused = ui.call("POST", "/api/sync/import", &tampered);
    assert_eq!(refused.status, 400);
    let answer = refused.json();
    let error = answer["error"].as_str().expect("an error");
    assert!(
        !error.contains('\n') && !error.is_empty(),
        "one line: {error}"
    );
    assert!(
        !error.contains(".mule-upload-"),
        "no temporary name: {error}"
    );
    assert_eq!(answer["problem"], "bad_bundle");
    assert_eq!(state(&store), before, "the store is unchanged");
    assert!(
        std::fs::read_dir(&store).expect("read store").all(|e| !e
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .contains("upload")),
        "the upload's temporary file is gone"
    );

    let imported = ui.call("POST", "/api/sync/import", &good).json();
    assert_eq!(imported["summary"]["new"], 40_000);
    assert_eq!(imported["already"], false);
    let again = ui.call("POST", "/api/sync/import", &good).json();
    assert_eq!(again["summary"]["new"], 0);
    assert_eq!(again["already"], true, "a second import changes nothing");
}

#[test]
fn ui_exports_a_bundle_as_a_download_that_mule_import_accepts() {
    let work = Work::new();
    let store = work.path("a");
    assert!(
        append_lines(&store, "obs", &numbered(0, 7))
            .status
            .success()
    );
    let ui = Ui::start(&store);
    let download = ui.call("GET", "/api/sync/export", b"");
    assert_eq!(download.status, 200);
    let disposition = download.header("content-disposition").expect("a download");
    assert!(
        disposition.starts_with("attachment; filename=\""),
        "{disposition}"
    );
    assert!(disposition.ends_with(".mule\""), "{disposition}");
    assert!(
        std::fs::read_dir(&store).expect("read store").all(|e| !e
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .contains("export")),
        "the staging folder is gone"
    );
    let file = work.path("download.mule");
    std::fs::write(&file, &download.body).expect("save");
    let other = work.path("c");
    assert_eq!(
        json(&other, &["import", file.to_str().expect("utf-8")])["new"],
        7
    );
}

#[test]
fn ui_syncs_a_remembered_folder_and_says_what_a_missing_one_is() {
    let work = Work::new();
    let store = work.path("a");
    assert!(
        append_lines(&store, "obs", &numbered(0, 4))
            .status
            .success()
    );
    let stick = work.folder("stick");
    let ui = Ui::start(&store);
    let path = serde_json::json!({ "path": stick }).to_string();
    let places = ui.call("POST", "/api/sync/places", path.as_bytes()).json();
    let listed = places["places"].as_array().expect("places");
    assert!(
        listed
            .iter()
            .any(|p| p["path"] == stick.to_str().expect("utf-8") && p["remembered"] == true),
        "{places}"
    );
    let synced = ui.call("POST", "/api/sync/run", path.as_bytes()).json();
    assert_eq!(synced["report"]["exported"], 4, "{synced}");
    let other = work.path("b");
    json(&other, &["sync", stick.to_str().expect("utf-8")]);
    assert_eq!(json(&other, &["status"])["entries"], 4);

    let gone = serde_json::json!({ "path": work.path("pulled-out") }).to_string();
    let missing = ui.call("POST", "/api/sync/run", gone.as_bytes());
    assert_eq!(missing.status, 409);
    assert_eq!(missing.json()["problem"], "missing");
}

#[test]
fn ui_says_a_full_stick_is_full() {
    if !super::disk_full::faults_honoured() {
        return;
    }
    let work = Work::new();
    let store = work.path("a");
    assert!(
        append_lines(&store, "obs", &numbered(0, 4))
            .status
            .success()
    );
    let stick = work.folder("stick");
    let ui = Ui::start_with(&store, |command| {
        command.env(mule::fault::ENV, "bundle-write:enospc");
    });
    let path = serde_json::json!({ "path": stick }).to_string();
    let full = ui.call("POST", "/api/sync/run", path.as_bytes());
    assert_eq!(full.status, 409);
    let answer = full.json();
    assert_eq!(answer["problem"], "full", "{answer}");
    assert!(!answer["error"].as_str().expect("error").contains('\n'));
    assert!(
        bundles_in(&stick).is_empty(),
        "nothing half-written is left"
    );
}
