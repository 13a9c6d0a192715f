//! `mule sync`: the folder as a mailbox, its lock, and compaction.

use assert_cmd::prelude::*;
use predicates::prelude::*;

use super::*;

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
    let stick = work.folder("stick");
    // Complete bundles under names a writer uses while writing: they must not be read.
    let good = fixture("v1/two-writers.mule");
    std::fs::copy(&good, stick.join(".mule-abc.part")).expect("copy");
    std::fs::copy(&good, stick.join(".mule-def.mule")).expect("copy");
    std::fs::write(stick.join(".mule-half.part"), b"half a bundle").expect("write");
    std::fs::write(stick.join("notes.txt"), b"not a bundle").expect("write");
    let dir = stick.to_str().expect("utf-8");
    let imported = json(&work.path("importer"), &["import", dir]);
    assert_eq!(imported["bundles"], 0, "{imported}");
    assert_eq!(json(&work.path("importer"), &["status"])["entries"], 0);
    let store = work.path("syncer");
    let report = json(&store, &["sync", dir]);
    assert_eq!(report["rejected"], 0);
    assert_eq!(report["bundles"], 0);
    assert_eq!(json(&store, &["status"])["entries"], 0);
    // Once renamed into place, the same file is a bundle like any other.
    std::fs::rename(stick.join(".mule-abc.part"), stick.join("arrived.mule")).expect("rename");
    let imported = json(&work.path("importer"), &["import", dir]);
    assert_eq!(imported["new"], 5);
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
    // Foreign bundles A could not import stay: a damaged one, and one from a newer mule that
    // may carry what this one cannot read.
    std::fs::copy(
        fixture("bad/truncated-tail.mule"),
        stick.join("damaged.mule"),
    )
    .expect("copy");
    std::fs::copy(fixture("bad/newer-format.mule"), stick.join("newer.mule")).expect("copy");
    // Another store is writing a bundle into the folder right now.
    let in_progress = stick.join(".mule-writing.part");
    std::fs::write(&in_progress, b"half a bundle").expect("write");
    let compact = || {
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
        assert!(stderr(&out).contains("damaged.mule") && stderr(&out).contains("newer.mule"));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(report["rejected"], 2);
        report
    };
    let report = compact();
    let removed: Vec<PathBuf> = report["removed"]
        .as_array()
        .expect("removed")
        .iter()
        .map(|p| PathBuf::from(p.as_str().expect("path")))
        .collect();
    let mut removed_sorted = removed.clone();
    removed_sorted.sort();
    assert_eq!(removed_sorted, before, "every bundle A read is covered");
    let written = PathBuf::from(report["written"].as_str().expect("written"));
    let mut expected = vec![
        stick.join("damaged.mule"),
        stick.join("newer.mule"),
        written.clone(),
    ];
    expected.sort();
    assert_eq!(bundles_in(&stick), expected);
    assert!(
        in_progress.exists(),
        "compaction touched a file being written"
    );
    let one = json(&a, &["inspect", written.to_str().expect("utf-8")]);
    assert_eq!(one["entries"], 45);
    // Compacting a compacted folder replaces the one bundle, and nothing else.
    let again = compact();
    let rewritten = PathBuf::from(again["written"].as_str().expect("written"));
    assert_eq!(
        again["removed"],
        serde_json::json!([written.to_str().expect("utf-8")])
    );
    assert_eq!(bundles_in(&stick).len(), 3);
    assert!(rewritten.exists() && !written.exists());
    mule(&c).arg("sync").arg(&stick).assert().code(1);
    let (sa, sc) = (json(&a, &["status"]), json(&c, &["status"]));
    assert_eq!(sa["entries"], 45);
    assert_eq!(sc["frontier"], sa["frontier"]);
}

#[test]
fn temporary_files_of_writes_that_died_long_ago_are_removed() {
    let work = Work::new();
    let stick = work.folder("stick");
    let old = stick.join(".mule-died.part");
    let fresh = stick.join(".mule-writing.part");
    for path in [&old, &fresh] {
        std::fs::write(path, b"part of a bundle").expect("write");
    }
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(48 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .and_then(|f| f.set_modified(two_days_ago))
        .expect("age the file");
    let report = json(&work.path("s"), &["sync", stick.to_str().expect("utf-8")]);
    assert_eq!(report["stale"][0], old.to_str().expect("utf-8"), "{report}");
    assert!(!old.exists());
    assert!(
        fresh.exists(),
        "a write still in progress elsewhere keeps its file"
    );
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
