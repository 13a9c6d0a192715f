//! `mule fsck`: each kind of damage is found and named; what can be derived is repaired; log
//! entries are never deleted.

use assert_cmd::prelude::*;
use rusqlite::Connection;

use super::*;

/// A store with kv, map and plain entries over several segment rows.
fn store_with_data(work: &Work) -> PathBuf {
    let store = work.path("s");
    for (k, v) in [("a", "1"), ("b", "2"), ("a", "3")] {
        mule(&store).args(["kv", "put", k, v]).assert().success();
    }
    mule(&store)
        .args(["map", "create", r#"{"id":"A","lat":1,"lon":2}"#])
        .assert()
        .success();
    assert!(
        append_lines(&store, "obs", &numbered(0, 5000))
            .status
            .success()
    );
    store
}

fn fsck(store: &Path, repair: bool) -> (Option<i32>, Value) {
    let mut args = vec!["--json", "fsck"];
    if repair {
        args.push("--repair");
    }
    let out = run(store, &args);
    let report = serde_json::from_slice(&out.stdout).expect("JSON report");
    (out.status.code(), report)
}

fn sql(path: &Path, statement: &str) {
    let conn = Connection::open(path).expect("open");
    conn.execute_batch(statement).expect("sql");
}

fn entries(store: &Path) -> u64 {
    json(store, &["status"])["entries"]
        .as_u64()
        .expect("entries")
}

#[test]
fn a_sound_store_is_clean() {
    let work = Work::new();
    let store = store_with_data(&work);
    let (code, report) = fsck(&store, false);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["entries"], 5004);
    assert_eq!(report["problems"].as_array().map(Vec::len), Some(0));
}

#[test]
fn derivable_damage_is_found_and_repaired() {
    let work = Work::new();
    let store = store_with_data(&work);
    let db = store.join("store.sqlite");
    sql(
        &db,
        "UPDATE authors_v1 SET frontier = 2; UPDATE segments_v1 SET kinds = 'nothing';",
    );
    let (code, report) = fsck(&store, false);
    assert_eq!(code, Some(1));
    let problems = report["problems"].to_string();
    assert!(
        problems.contains("the recorded frontier is 2, but the chain ends at seq 5004"),
        "{problems}"
    );
    assert!(
        problems.contains("list of entry kinds is out of date"),
        "{problems}"
    );
    let (code, report) = fsck(&store, true);
    assert_eq!(code, Some(0), "{report}");
    assert!(report["repaired"].as_u64() >= Some(2));
    assert_eq!(entries(&store), 5004);
    // The repaired kinds let the views find the kv entries again.
    mule(&store).arg("reindex").assert().success();
    assert!(stdout(&run(&store, &["kv", "get", "a"])).contains(" 3"));
}

#[test]
fn tampered_entries_are_named_and_never_deleted() {
    let work = Work::new();
    let store = store_with_data(&work);
    let db = store.join("store.sqlite");
    let before = entries(&store);
    // Flip one byte near the end of the last row: inside an entry body or signature.
    let conn = Connection::open(&db).expect("open");
    let (id, mut data): (i64, Vec<u8>) = conn
        .query_row(
            "SELECT id, data FROM segments_v1 ORDER BY last DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row");
    let at = data.len() - 90;
    data[at] ^= 0x01;
    conn.execute(
        "UPDATE segments_v1 SET data = ?2 WHERE id = ?1",
        rusqlite::params![id, data],
    )
    .expect("tamper");
    drop(conn);
    for repair in [false, true] {
        let (code, report) = fsck(&store, repair);
        assert_eq!(code, Some(1), "{report}");
        let problem = &report["problems"][0];
        assert!(
            problem["place"]
                .as_str()
                .expect("place")
                .starts_with("author "),
            "{report}"
        );
        assert_eq!(problem["repairable"], false);
    }
    let rows: i64 = Connection::open(&db)
        .expect("open")
        .query_row("SELECT count(*) FROM segments_v1", [], |r| r.get(0))
        .expect("count");
    assert!(rows >= 2, "no row was deleted");
    assert_eq!(entries(&store), before);
}

#[test]
fn a_missing_row_breaks_the_chain_and_is_reported() {
    let work = Work::new();
    let store = store_with_data(&work);
    let db = store.join("store.sqlite");
    sql(&db, "DELETE FROM segments_v1 WHERE first = 1");
    let (code, report) = fsck(&store, true);
    assert_eq!(code, Some(1));
    assert!(
        report["problems"]
            .to_string()
            .contains("the chain jumps from seq 0"),
        "{report}"
    );
}

#[test]
fn damaged_or_stale_views_are_rebuilt() {
    let work = Work::new();
    let store = store_with_data(&work);
    let views = store.join("views.sqlite");
    sql(
        &views,
        "UPDATE kv_versions SET value = '999' WHERE key = 'b';",
    );
    let (code, report) = fsck(&store, false);
    assert_eq!(code, Some(1));
    assert!(
        report["problems"]
            .to_string()
            .contains("differ from a rebuild"),
        "{report}"
    );
    assert_eq!(fsck(&store, true).0, Some(0));
    assert!(stdout(&run(&store, &["kv", "get", "b"])).contains(" 2"));

    sql(&views, "UPDATE views_frontier SET seq = seq + 100;");
    let (_, report) = fsck(&store, false);
    assert!(
        report["problems"]
            .to_string()
            .contains("seen entries the log lacks"),
        "{report}"
    );
    assert_eq!(fsck(&store, true).0, Some(0));

    std::fs::write(
        &views,
        b"this is not a database, just junk of some length ".repeat(100),
    )
    .expect("write");
    let _ = std::fs::remove_file(store.join("views.sqlite-wal"));
    let _ = std::fs::remove_file(store.join("views.sqlite-shm"));
    let (code, report) = fsck(&store, false);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(fsck(&store, true).0, Some(0));
    assert!(stdout(&run(&store, &["kv", "get", "a"])).contains(" 3"));
}
