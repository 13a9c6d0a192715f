//! Crash consistency: a `kill -9` in the middle of an import leaves a store that opens, holds
//! either nothing or all of the bundle (it is applied in one transaction), and accepts the
//! import again.

use std::time::Duration;

use super::*;

#[test]
fn killing_an_import_leaves_a_consistent_store() {
    let work = Work::new();
    let source = work.path("source");
    let lines = numbered(0, 150_000);
    assert!(append_lines(&source, "obs", &lines).status.success());
    let bundle = work.path("big.mule");
    let out = run(
        &source,
        &["export", "--all", "-o", bundle.to_str().expect("utf-8")],
    );
    assert!(out.status.success());
    let mut saw_partial_work = false;
    for (attempt, delay_ms) in [5u64, 20, 40, 80, 150, 300].into_iter().enumerate() {
        let store = work.path(&format!("target-{attempt}"));
        mule(&store).arg("id").output().expect("create store");
        let mut child = mule(&store)
            .arg("import")
            .arg(&bundle)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn import");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let finished = child.try_wait().expect("poll").is_some();
        child.kill().ok();
        child.wait().expect("reap");
        let entries = json(&store, &["status"])["entries"]
            .as_u64()
            .expect("entries");
        assert!(
            entries == 0 || entries == 150_000,
            "attempt {attempt}: a killed import left {entries} entries"
        );
        saw_partial_work |= !finished && entries == 0;
        let again = json(&store, &["import", bundle.to_str().expect("utf-8")]);
        assert_eq!(json(&store, &["status"])["entries"], 150_000);
        assert_eq!(again["rejected"], 0);
    }
    assert!(
        saw_partial_work,
        "no attempt was killed mid-import; the test proved nothing"
    );
}
