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
