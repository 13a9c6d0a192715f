//! `mule qr receiver --html` (issue 18): the phone page, written by the CLI and served by the
//! app. What it does in a browser is tested in tests/browser/test_phone.py.

use super::ui::Ui;
use super::*;

/// The page's size bound: it is sent to a phone once, by messenger or cable.
const MOST_PAGE_BYTES: u64 = 1 << 20;

#[test]
fn qr_receiver_writes_one_small_offline_page() {
    let work = Work::new();
    let page = work.path("receive.html");
    let written = json(
        &work.path("store"),
        &["qr", "receiver", "--html", page.to_str().expect("utf-8")],
    );
    let bytes = std::fs::read(&page).expect("the page");
    assert_eq!(written["bytes"], bytes.len() as u64);
    assert!(
        bytes.len() as u64 <= MOST_PAGE_BYTES,
        "{} bytes",
        bytes.len()
    );
    let html = String::from_utf8(bytes).expect("UTF-8");
    // Everything inline; the browser is told the page may reach no network at all (the
    // bindings' `fetch` of a module URL is never called: the page passes the module's bytes).
    assert!(html.contains("default-src 'none'"));
    for reference in ["src=\"http", "href=\"http", "import(\"http"] {
        assert!(!html.contains(reference), "{reference}");
    }
    assert!(
        !work.path("store").exists(),
        "writing the page opens no store"
    );
}

#[test]
fn qr_receiver_to_a_missing_folder_names_the_file() {
    let work = Work::new();
    let page = work.path("no-such-folder").join("receive.html");
    let out = run(
        &work.path("store"),
        &["qr", "receiver", "--html", page.to_str().expect("utf-8")],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("receive.html"), "{stderr}");
    assert!(!page.exists());
}

#[test]
fn ui_offers_the_same_phone_page_as_a_download() {
    let work = Work::new();
    let store = work.path("store");
    let page = work.path("receive.html");
    assert!(
        run(
            &store,
            &["qr", "receiver", "--html", page.to_str().expect("utf-8")]
        )
        .status
        .success()
    );
    let ui = Ui::start(&store);
    let answer = ui.call("GET", "/api/qr/phone-page", b"");
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-disposition"),
        Some("attachment; filename=\"mule-receiver.html\"")
    );
    assert_eq!(answer.body, std::fs::read(&page).expect("the page"));
    assert_eq!(ui.call("POST", "/api/qr/phone-page", b"").status, 405);
}
