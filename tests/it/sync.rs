//! `mule sync`: the folder as a mailbox, its lock, and compaction.

use assert_cmd::prelude::*;
use predicates::prelude::*;

use super::*;

fn bundles_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "mule"))
        .collect();
    found.sort();
    found
}

#[test]
fn nothing_to_do_is_a_quiet_success() {
    let work = Work::new();
    let (store, stick) = (work.path("s"), work.folder("stick"));
    mule(&store)
        .args(["append", "kv", r#"{"k":1}"#])
        .assert()
        .success();
    mule(&store).arg("sync").arg(&stick).assert().success();
    assert_eq!(bundles_in(&stick).len(), 1);
    mule(&store)
        .arg("sync")
        .arg(&stick)
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing new to write"));
    assert_eq!(bundles_in(&stick).len(), 1, "a second sync writes nothing");
}

#[test]
fn temporary_and_hidden_files_are_ignored() {
    let work = Work::new();
    let (store, stick) = (work.path("s"), work.folder("stick"));
    std::fs::write(stick.join(".mule-abc.part"), b"half a bundle").expect("write");
    std::fs::write(stick.join("notes.txt"), b"not a bundle").expect("write");
    let report = json(&store, &["sync", stick.to_str().expect("utf-8")]);
    assert_eq!(report["rejected"], 0);
    assert_eq!(report["bundles"], 0);
}

#[test]
fn compact_replaces_only_what_it_covers() {
    let work = Work::new();
    let (a, b, c, stick) = (
        work.path("a"),
        work.path("b"),
        work.path("c"),
        work.folder("stick"),
    );
    for round in 0..3 {
        assert!(
            append_lines(&a, "obs", &numbered(round * 10, 10))
                .status
                .success()
        );
        mule(&a).arg("sync").arg(&stick).assert().success();
        assert!(
            append_lines(&b, "obs", &numbered(round * 10, 5))
                .status
                .success()
        );
        mule(&b).arg("sync").arg(&stick).assert().success();
    }
    let before = bundles_in(&stick);
    assert!(before.len() >= 4, "{before:?}");
    // A foreign bundle A never imported stays: a damaged one is not covered by anything.
    std::fs::copy(
        fixture("bad/truncated-tail.mule"),
        stick.join("damaged.mule"),
    )
    .expect("copy");
    let out = run(
        &a,
        &[
            "--json",
            "sync",
            "--compact",
            stick.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a rejected bundle makes the run fail"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["rejected"], 1);
    assert!(stderr(&out).contains("damaged.mule"));
    let after = bundles_in(&stick);
    assert!(after.contains(&stick.join("damaged.mule")));
    assert_eq!(after.len(), 2, "{after:?}");
    mule(&c).arg("sync").arg(&stick).assert().code(1);
    let (sa, sc) = (json(&a, &["status"]), json(&c, &["status"]));
    assert_eq!(sa["entries"], 45);
    assert_eq!(sc["frontier"], sa["frontier"]);
}

#[test]
fn a_second_run_on_a_locked_store_skips() {
    let work = Work::new();
    let (store, stick) = (work.path("s"), work.folder("stick"));
    mule(&store).arg("id").assert().success();
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(store.join("sync.lock"))
        .expect("lock file");
    lock.lock().expect("lock");
    mule(&store)
        .arg("sync")
        .arg(&stick)
        .assert()
        .success()
        .stdout(predicate::str::contains("skipped"));
    drop(lock);
    mule(&store)
        .arg("sync")
        .arg(&stick)
        .assert()
        .success()
        .stdout(predicate::str::contains("skipped").not());
}

#[test]
fn a_missing_folder_is_a_clear_error() {
    let work = Work::new();
    mule(&work.path("s"))
        .arg("sync")
        .arg(work.path("not-mounted"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not-mounted").and(predicate::str::contains("hint:")));
}
