//! Crash consistency: a `kill -9` in the middle of an import leaves a store that opens, holds
//! either nothing or all of the bundle (it is applied in one transaction), and accepts the
//! import again.

use std::process::Stdio;
use std::time::{Duration, Instant};

use super::*;

const ENTRIES: u64 = 200_000;

/// Bytes in the store's write-ahead log: pages a transaction wrote, committed or not.
fn wal_len(store: &Path) -> u64 {
    std::fs::metadata(store.join("store.sqlite-wal")).map_or(0, |m| m.len())
}

#[test]
fn killing_an_import_leaves_nothing_or_everything() {
    let work = Work::new();
    let source = work.path("source");
    let out = append_lines(&source, "obs", &numbered(0, ENTRIES as usize));
    assert!(out.status.success(), "{}", stderr(&out));
    let bundle = work.path("big.mule");
    let bundle_arg = bundle.to_str().expect("utf-8");
    assert!(
        run(&source, &["export", "--all", "-o", bundle_arg])
            .status
            .success()
    );

    // How long a whole import takes here; kills land at fractions of it, so they fall before,
    // during and after the write transaction however fast or slow the machine is. Every
    // re-import below measures it again.
    let timed_import = |store: &Path| {
        let started = Instant::now();
        let imported = json(store, &["import", bundle_arg]);
        (started.elapsed(), imported)
    };
    let (mut full, _) = timed_import(&work.path("measure"));
    let mut killed_inside_the_transaction = 0;
    let fractions = [0.0, 0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
    for (attempt, fraction) in fractions.into_iter().enumerate() {
        let store = work.path(&format!("target-{attempt}"));
        mule(&store).arg("id").output().expect("create store");
        let delay = Duration::from_millis(5).max(full.mul_f64(fraction));
        let mut child = mule(&store)
            .arg("import")
            .arg(&bundle)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn import");
        std::thread::sleep(delay);
        let finished = child.try_wait().expect("poll").is_some();
        child.kill().ok();
        child.wait().expect("reap");
        let uncommitted = wal_len(&store);

        let status = run(&store, &["--json", "status"]);
        assert!(
            status.status.success(),
            "attempt {attempt} ({delay:?}): the store does not open after the kill: {}",
            stderr(&status)
        );
        let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON");
        let entries = status["entries"].as_u64().expect("entries");
        assert!(
            entries == 0 || entries == ENTRIES,
            "attempt {attempt} ({delay:?}): a killed import left {entries} entries"
        );
        assert_eq!(status["waiting"], 0, "attempt {attempt}");
        if !finished && entries == 0 && uncommitted > 0 {
            killed_inside_the_transaction += 1;
        }

        let (took, again) = timed_import(&store);
        full = took;
        assert_eq!(again["rejected"], 0);
        let expected = if entries == 0 { ENTRIES } else { 0 };
        assert_eq!(again["new"], expected, "attempt {attempt}: {again}");
        let status = json(&store, &["status"]);
        assert_eq!(status["entries"], ENTRIES);
        assert_eq!(status["waiting"], 0);
    }
    // A kill that found uncommitted pages in the log proves the test interrupted a write and
    // the store threw those pages away; without one, this test would have shown nothing.
    assert!(
        killed_inside_the_transaction > 0,
        "no kill landed inside the import's write transaction"
    );
}

/// Kills `mule ARGS` (on `store`) after `delay`; returns whether it had already finished.
fn kill_after(store: &Path, args: &[&str], delay: Duration) -> bool {
    let mut child = mule(store)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mule");
    std::thread::sleep(delay);
    let finished = child.try_wait().expect("poll").is_some();
    child.kill().ok();
    child.wait().expect("reap");
    finished
}

/// `mule fsck` must find nothing wrong.
fn assert_sound(store: &Path, what: &str) {
    let out = run(store, &["fsck"]);
    assert!(
        out.status.success(),
        "{what}: fsck after the kill: {}{}",
        stdout(&out),
        stderr(&out)
    );
}

/// Every `.mule` file in `dir` verifies.
fn assert_bundles_verify(dir: &Path, what: &str) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "mule") {
            let out = mule_bare()
                .arg("verify")
                .arg(&path)
                .output()
                .expect("verify");
            assert!(
                out.status.success(),
                "{what}: {} does not verify: {}",
                path.display(),
                stderr(&out)
            );
        }
    }
}

/// Kills imports, exports and folder syncs at pseudo-random points (200 kills; set
/// `MULE_CRASH_KILLS` for a longer run). After each: the store opens and `mule fsck` is clean,
/// an import that had finished is all there and one that had not left nothing, no bundle file
/// is half-written, and running the command again completes.
#[test]
fn kills_at_random_points_never_corrupt_a_store() {
    let kills: usize = std::env::var("MULE_CRASH_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let work = Work::new();
    let source = work.path("source");
    assert!(
        append_lines(&source, "obs", &numbered(0, 5_000))
            .status
            .success()
    );
    assert!(run(&source, &["kv", "put", "k", "1"]).status.success());
    let bundle = work.path("all.mule");
    let bundle_arg = bundle.to_str().expect("utf-8");
    assert!(
        run(&source, &["export", "--all", "-o", bundle_arg])
            .status
            .success()
    );
    let expected = json(&source, &["status"])["entries"]
        .as_u64()
        .expect("entries");
    let mut random: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |below: u64| {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        random % below
    };
    let started = Instant::now();
    let full = json(&work.path("probe"), &["import", bundle_arg]);
    assert_eq!(full["new"], expected);
    let span = started.elapsed().as_millis() as u64 + 50;
    let stick = work.folder("stick");
    let mut interrupted = 0;
    for kill in 0..kills {
        let delay = Duration::from_millis(next(span));
        match kill % 3 {
            0 => {
                let store = work.path(&format!("import-{kill}"));
                mule(&store).arg("id").output().expect("create store");
                let finished = kill_after(&store, &["import", bundle_arg], delay);
                assert_sound(&store, &format!("kill {kill}, import after {delay:?}"));
                let held = json(&store, &["status"])["entries"]
                    .as_u64()
                    .expect("entries");
                assert!(held == 0 || held == expected, "kill {kill}: {held} entries");
                if finished {
                    assert_eq!(
                        held, expected,
                        "kill {kill}: a finished import lost entries"
                    );
                } else {
                    interrupted += 1;
                }
                let again = json(&store, &["import", bundle_arg]);
                assert_eq!(again["rejected"], 0, "kill {kill}");
                assert_eq!(json(&store, &["status"])["entries"], expected);
                std::fs::remove_dir_all(&store).expect("clean up");
            }
            1 => {
                let target = work.path(&format!("export-{kill}.mule"));
                let target_arg = target.to_str().expect("utf-8");
                kill_after(&source, &["export", "--all", "-o", target_arg], delay);
                assert_sound(&source, &format!("kill {kill}, export after {delay:?}"));
                assert_bundles_verify(&work.path(""), &format!("kill {kill}"));
                assert!(
                    run(&source, &["export", "--all", "-o", target_arg])
                        .status
                        .success()
                );
                std::fs::remove_file(&target).expect("clean up");
            }
            _ => {
                // A second store drops its entries on the stick; the first syncs with the stick.
                let peer = work.path("peer");
                assert!(
                    append_lines(&peer, "obs", &numbered(kill * 10, 10))
                        .status
                        .success()
                );
                assert!(
                    run(&peer, &["sync", stick.to_str().expect("utf-8")])
                        .status
                        .success()
                );
                kill_after(&source, &["sync", stick.to_str().expect("utf-8")], delay);
                assert_sound(&source, &format!("kill {kill}, sync after {delay:?}"));
                assert_bundles_verify(&stick, &format!("kill {kill}"));
                let again = run(&source, &["sync", stick.to_str().expect("utf-8")]);
                assert!(again.status.success(), "kill {kill}: {}", stderr(&again));
            }
        }
    }
    assert!(
        interrupted >= kills / 12,
        "only {interrupted} imports were killed before they finished"
    );
    // Everything the peer wrote reached the source through the stick in the end.
    let peer_id = json(&work.path("peer"), &["id"])["author"]
        .as_str()
        .expect("id")
        .to_owned();
    let frontier = &json(&source, &["status"])["frontier"];
    assert_eq!(frontier[&peer_id].as_u64(), Some(kills as u64 / 3 * 10));
}
