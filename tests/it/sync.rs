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
    // B, A's one known peer, acknowledged all 45 entries: the folder need not carry them
    // (issue 15).
    let one = json(&a, &["inspect", written.to_str().expect("utf-8")]);
    assert_eq!(one["entries"], 0);
    // Compacting a compacted folder replaces the one bundle, and nothing else.
    let again = compact();
    let rewritten = PathBuf::from(again["written"].as_str().expect("written"));
    assert_eq!(
        again["removed"],
        serde_json::json!([written.to_str().expect("utf-8")])
    );
    assert_eq!(bundles_in(&stick).len(), 3);
    assert!(rewritten.exists() && !written.exists());
    // A newcomer says what it holds (nothing); A's next sync writes what it lacks.
    mule(&c).arg("sync").arg(&stick).assert().code(1);
    mule(&a).arg("sync").arg(&stick).assert().code(1);
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

/// The bundles in `folder` that `sender` wrote (read with `mule inspect` through `store`).
fn written_by(store: &Path, folder: &Path, sender: &Value) -> Vec<(PathBuf, Value)> {
    bundles_in(folder)
        .into_iter()
        .map(|path| {
            let inspected = json(store, &["inspect", path.to_str().expect("utf-8")]);
            (path, inspected)
        })
        .filter(|(_, inspected)| &inspected["sender"] == sender)
        .collect()
}

fn id_of(store: &Path) -> Value {
    json(store, &["id"])["author"].clone()
}

fn sync_json(store: &Path, folder: &Path) -> Value {
    json(store, &["sync", folder.to_str().expect("utf-8")])
}

/// Issue 15: a store with nothing of its own to write still tells the sender what arrived.
#[test]
fn a_receiver_only_store_acknowledges_what_arrived() {
    let work = Work::new();
    let (sender, receiver, stick) = (work.path("a"), work.path("b"), work.folder("stick"));
    assert!(
        append_lines(&sender, "obs", &numbered(0, 3))
            .status
            .success()
    );
    sync_json(&sender, &stick);
    let report = sync_json(&receiver, &stick);
    assert_eq!(report["new"], 3);
    assert_eq!(report["acknowledged"], true, "{report}");
    assert_eq!(report["exported"], 0);
    let ack = written_by(&sender, &stick, &id_of(&receiver));
    assert_eq!(ack.len(), 1, "one acknowledgement by the receiver");
    assert_eq!(ack[0].1["entries"], 0);
    assert_eq!(ack[0].1["format"], 3, "signed, so the sender believes it");
    sync_json(&sender, &stick);
    let status = json(&sender, &["status"]);
    let peers = status["peers"].as_array().expect("peers");
    assert_eq!(peers.len(), 1, "{status}");
    assert_eq!(peers[0]["peer"], id_of(&receiver));
    assert_eq!(peers[0]["lacks"], 0);
    // The default export leaves out what the receiver acknowledged.
    assert!(
        append_lines(&sender, "obs", &numbered(3, 1))
            .status
            .success()
    );
    let outbox = work.folder("outbox");
    let exported = json(&sender, &["export", "-o", outbox.to_str().expect("utf-8")]);
    assert_eq!(exported["entries"], 1, "{exported}");
}

/// Issue 15: one acknowledgement per store, rewritten only when it is out of date.
#[test]
fn acknowledgements_are_replaced_not_piled_up() {
    let work = Work::new();
    let (sender, receiver, stick) = (work.path("a"), work.path("b"), work.folder("stick"));
    let other = work.path("c");
    let receiver_id = id_of(&receiver);
    for round in 0..3 {
        assert!(
            append_lines(&sender, "obs", &numbered(round * 2, 2))
                .status
                .success()
        );
        sync_json(&sender, &stick);
        let first = sync_json(&receiver, &stick);
        assert_eq!(first["acknowledged"], true, "round {round}: {first}");
        let acks = written_by(&sender, &stick, &receiver_id);
        assert_eq!(
            acks.len(),
            1,
            "round {round}: the older acknowledgement was replaced"
        );
        assert_eq!(
            acks[0].0,
            PathBuf::from(first["written"].as_str().expect("written"))
        );
        // Up to date: nothing is rewritten.
        let again = sync_json(&receiver, &stick);
        assert_eq!(again["written"], Value::Null, "round {round}: {again}");
        assert_eq!(again["acknowledged"], false);
        assert_eq!(written_by(&sender, &stick, &receiver_id)[0].0, acks[0].0);
        sync_json(&other, &stick);
    }
    // Two receivers, one acknowledgement each, beside the sender's bundles.
    assert_eq!(written_by(&sender, &stick, &id_of(&other)).len(), 1);
    assert_eq!(bundles_in(&stick).len(), 3 + 2);
    // Once the receiver writes entries of its own, that bundle is its newest word.
    assert!(
        append_lines(&receiver, "obs", &numbered(10, 1))
            .status
            .success()
    );
    let wrote = sync_json(&receiver, &stick);
    assert_eq!(wrote["acknowledged"], false, "{wrote}");
    let words = written_by(&sender, &stick, &receiver_id);
    assert_eq!(words.len(), 1, "{words:?}");
    assert_eq!(words[0].1["entries"], 1);
}

/// Issue 15: once every known peer acknowledged the sender's entries, compaction drops them
/// from the folder, and a later sync does not write them again; a newcomer who says what it
/// lacks gets them back.
#[test]
fn compact_drops_what_every_known_peer_holds() {
    let work = Work::new();
    let (sender, receiver, stick) = (work.path("a"), work.path("b"), work.folder("stick"));
    assert!(
        append_lines(&sender, "obs", &numbered(0, 10))
            .status
            .success()
    );
    let data = PathBuf::from(
        sync_json(&sender, &stick)["written"]
            .as_str()
            .expect("written"),
    );
    sync_json(&receiver, &stick);
    let ack = written_by(&sender, &stick, &id_of(&receiver));
    let compacted = json(
        &sender,
        &["sync", "--compact", stick.to_str().expect("utf-8")],
    );
    assert_eq!(compacted["exported"], 0, "{compacted}");
    assert_eq!(compacted["removed"], serde_json::json!([data.to_str()]));
    let written = PathBuf::from(compacted["written"].as_str().expect("written"));
    let mut left = vec![written.clone(), ack[0].0.clone()];
    left.sort();
    assert_eq!(
        bundles_in(&stick),
        left,
        "another store's acknowledgement stays"
    );
    let after = sync_json(&sender, &stick);
    assert_eq!(
        after["written"],
        Value::Null,
        "dropped entries are not written again"
    );
    // A newcomer finds nothing to attach, says so, and gets the entries on the next round.
    let newcomer = work.path("c");
    let first = sync_json(&newcomer, &stick);
    assert_eq!(first["acknowledged"], true, "{first}");
    assert_eq!(sync_json(&sender, &stick)["exported"], 10);
    assert_eq!(sync_json(&newcomer, &stick)["new"], 10);
}

/// Issue 15: stores syncing one folder at once, the sender compacting it meanwhile, never
/// remove each other's words; after two more rounds each store has one word there and the
/// sender knows that every peer holds everything.
#[test]
fn concurrent_syncs_keep_every_stores_word() {
    let work = Work::new();
    let (sender, stick) = (work.path("a"), work.folder("stick"));
    assert!(
        append_lines(&sender, "obs", &numbered(0, 20))
            .status
            .success()
    );
    sync_json(&sender, &stick);
    let receivers: Vec<PathBuf> = (0..4).map(|i| work.path(&format!("r{i}"))).collect();
    let sync_in_thread = |store: &Path, extra: &'static [&'static str]| {
        let (store, dir) = (
            store.to_path_buf(),
            stick.to_str().expect("utf-8").to_owned(),
        );
        std::thread::spawn(move || {
            let mut args = vec!["sync"];
            args.extend_from_slice(extra);
            args.push(&dir);
            run(&store, &args)
        })
    };
    for round in 0..2 {
        let mut runs: Vec<_> = receivers.iter().map(|r| sync_in_thread(r, &[])).collect();
        runs.push(sync_in_thread(&sender, &["--compact"]));
        for handle in runs {
            let out = handle.join().expect("sync thread");
            assert!(out.status.success(), "round {round}: {}", stderr(&out));
        }
    }
    for _ in 0..2 {
        for receiver in &receivers {
            sync_json(receiver, &stick);
        }
        sync_json(&sender, &stick);
    }
    for receiver in &receivers {
        assert_eq!(json(receiver, &["status"])["entries"], 20);
        let words = written_by(&sender, &stick, &id_of(receiver));
        assert_eq!(words.len(), 1, "{words:?}");
    }
    let status = json(&sender, &["status"]);
    let peers = status["peers"].as_array().expect("peers");
    assert_eq!(peers.len(), 4, "{status}");
    assert!(peers.iter().all(|p| p["lacks"] == 0), "{status}");
}

/// Issue 15: a sync cut off between writing its new acknowledgement and removing the old one
/// leaves both; the next sync removes the old one and writes nothing.
#[test]
fn an_acknowledgement_left_over_by_a_crash_is_removed_next_time() {
    let work = Work::new();
    let (sender, receiver, stick) = (work.path("a"), work.path("b"), work.folder("stick"));
    assert!(
        append_lines(&sender, "obs", &numbered(0, 2))
            .status
            .success()
    );
    sync_json(&sender, &stick);
    let old = PathBuf::from(
        sync_json(&receiver, &stick)["written"]
            .as_str()
            .expect("ack"),
    );
    let kept = work.path("old-ack.mule");
    std::fs::copy(&old, &kept).expect("copy");
    assert!(
        append_lines(&sender, "obs", &numbered(2, 2))
            .status
            .success()
    );
    sync_json(&sender, &stick);
    let new = sync_json(&receiver, &stick);
    assert_eq!(new["removed"], serde_json::json!([old.to_str()]), "{new}");
    // The folder as a crash right after the new acknowledgement was renamed into place left it.
    std::fs::copy(&kept, &old).expect("copy back");
    let next = sync_json(&receiver, &stick);
    assert_eq!(next["written"], Value::Null, "{next}");
    assert_eq!(next["removed"], serde_json::json!([old.to_str()]));
    assert_eq!(written_by(&sender, &stick, &id_of(&receiver)).len(), 1);
}

/// What known peers hold is left out only of a folder they read: a new, empty stick (for a
/// store the sender has never met) still gets everything.
#[test]
fn a_new_stick_carries_everything_even_what_known_peers_hold() {
    let work = Work::new();
    let (sender, receiver) = (work.path("a"), work.path("b"));
    let (shared, fresh) = (work.folder("shared"), work.folder("fresh"));
    assert!(
        append_lines(&sender, "obs", &numbered(0, 3))
            .status
            .success()
    );
    sync_json(&sender, &shared);
    sync_json(&receiver, &shared);
    sync_json(&sender, &shared);
    assert_eq!(json(&sender, &["status"])["peers"][0]["lacks"], 0);
    let report = sync_json(&sender, &fresh);
    assert_eq!(report["exported"], 3, "{report}");
}
