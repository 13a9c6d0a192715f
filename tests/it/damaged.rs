//! Damaged stores (issue 15): the stores in `fixtures/damaged-stores/<defect>/`, made by
//! `scripts/make-damaged-stores.sh`, each with one defect of `views.sqlite` or `store.sqlite`.
//! No input, the store's own files included, may make mule panic: views that fail to read are
//! rebuilt from the log with a one-line note, and a damaged log is an error naming the file and
//! the place, which `mule fsck` reports and `--repair` fixes when it derives from the rows.

use std::process::Output;

use super::*;

/// A copy of a damaged-store fixture in a temporary folder (the commands may repair it).
struct Damaged {
    work: Work,
    store: PathBuf,
}

impl Damaged {
    fn copy(name: &str) -> Self {
        let work = Work::new();
        let store = work.folder("store");
        for file in std::fs::read_dir(fixture("damaged-stores").join(name)).expect("fixture") {
            let file = file.expect("entry").path();
            std::fs::copy(&file, store.join(file.file_name().expect("name"))).expect("copy");
        }
        Self { work, store }
    }

    /// Runs `args` on the copy: no panic, the exit code `code`, and every text of `out` on
    /// stdout and of `err` on stderr.
    fn run(&self, args: &[&str], code: i32, out: &[&str], err: &[&str]) -> Output {
        let output = run(&self.store, args);
        assert_no_panic(&output, args);
        let (stdout, stderr) = (stdout(&output), stderr(&output));
        assert_eq!(
            output.status.code(),
            Some(code),
            "mule {args:?}: {stdout}{stderr}"
        );
        for text in out {
            assert!(
                stdout.contains(text),
                "mule {args:?}: no `{text}` in {stdout}"
            );
        }
        for text in err {
            assert!(
                stderr.contains(text),
                "mule {args:?}: no `{text}` in {stderr}"
            );
        }
        output
    }
}

fn assert_no_panic(output: &Output, args: &[&str]) {
    let stderr = stderr(output);
    assert!(
        output.status.code() != Some(101) && !stderr.contains("panicked"),
        "mule {args:?} panicked: {stderr}"
    );
}

/// A damaged views file: the read answers from a rebuild after one note naming the file and
/// the reason; fsck reports it as repairable and --repair leaves no problem.
fn views_are_rebuilt(name: &str, read: &[&str], answer: &str, reason: &str) {
    let damaged = Damaged::copy(name);
    let output = damaged.run(read, 0, &[answer], &["views.sqlite", reason]);
    let notes: Vec<&str> = std::str::from_utf8(&output.stderr)
        .expect("utf-8")
        .lines()
        .filter(|line| line.starts_with("note: "))
        .collect();
    assert_eq!(notes.len(), 1, "one note: {}", stderr(&output));
    assert!(notes[0].contains("rebuilt the views from the log"));
    damaged.run(read, 0, &[answer], &[]);
    let fresh = Damaged::copy(name);
    fresh.run(
        &["fsck"],
        1,
        &["views.sqlite", "(mule fsck --repair rebuilds it)"],
        &[],
    );
    fresh.run(
        &["fsck", "--repair"],
        0,
        &["repaired 1 problem", "no problems"],
        &[],
    );
    fresh.run(read, 0, &[answer], &[]);
}

#[test]
fn views_kv_value_not_json_is_rebuilt() {
    views_are_rebuilt(
        "views-kv-value-not-json",
        &["kv", "get", "a"],
        "\"x\"",
        "expected ident",
    );
}

#[test]
fn views_kv_value_blob_is_rebuilt() {
    views_are_rebuilt(
        "views-kv-value-blob",
        &["kv", "get", "a"],
        "\"x\"",
        "name: value",
    );
}

#[test]
fn views_kv_hash_wrong_size_is_rebuilt() {
    views_are_rebuilt(
        "views-kv-hash-wrong-size",
        &["kv", "get", "a"],
        "\"x\"",
        "2 byte blob",
    );
}

#[test]
fn views_table_dropped_is_rebuilt() {
    views_are_rebuilt(
        "views-table-dropped",
        &["kv", "list"],
        "a\nb",
        "no such table",
    );
}

#[test]
fn views_frontier_negative_seq_is_rebuilt() {
    views_are_rebuilt(
        "views-frontier-negative-seq",
        &["kv", "get", "b"],
        " 3",
        "-5",
    );
}

#[test]
fn views_cal_doc_not_an_event_is_rebuilt() {
    let read = ["cal", "query", "2026-12-01", "2026-12-31"];
    views_are_rebuilt(
        "views-cal-doc-not-an-event",
        &read,
        "standup",
        "an event needs",
    );
}

#[test]
fn views_map_doc_not_json_is_rebuilt() {
    let read = ["map", "query", "60,70", "-150,-140"];
    views_are_rebuilt(
        "views-map-doc-not-json",
        &read,
        "\"id\":\"A\"",
        "expected ident",
    );
}

#[test]
fn views_not_a_database_is_rebuilt() {
    views_are_rebuilt(
        "views-not-a-database",
        &["kv", "get", "a"],
        "\"x\"",
        "not a database",
    );
}

/// A write on damaged views says in its --json report that they were rebuilt, and why.
#[test]
fn a_write_reports_rebuilt_views_in_json() {
    let damaged = Damaged::copy("views-table-dropped");
    // The copy is elsewhere than the store was made: confirm, so that it may write.
    damaged.run(&["id", "--confirm-move"], 0, &[], &[]);
    let output = damaged.run(&["--json", "kv", "put", "a", "2"], 0, &[], &["note: "]);
    let report: mule::report::Written =
        serde_json::from_slice(&output.stdout).expect("one Written report");
    let why = report.views_rebuilt.expect("views_rebuilt is reported");
    assert!(
        why.contains("views.sqlite") && why.contains("no such table"),
        "{why}"
    );
    let again = damaged.run(&["--json", "kv", "put", "a", "3"], 0, &[], &[]);
    assert!(
        !stdout(&again).contains("views_rebuilt"),
        "{}",
        stdout(&again)
    );
}

/// A damaged log row: commands that read it fail with one error naming the file and the place
/// (and a hint to run fsck); fsck reports the place, and --repair says it cannot fix it.
fn log_damage_is_reported(name: &str, read: &[&str], error: &[&str], fsck: &[&str]) {
    let damaged = Damaged::copy(name);
    let output = damaged.run(read, 1, &[], error);
    let errors = stderr(&output)
        .lines()
        .filter(|l| l.starts_with("error: "))
        .count();
    assert_eq!(errors, 1, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("store.sqlite"),
        "{}",
        stderr(&output)
    );
    damaged.run(&["fsck"], 1, fsck, &[]);
    let mut repair_says = fsck.to_vec();
    repair_says.push("cannot repair 1 problem");
    damaged.run(&["fsck", "--repair"], 1, &repair_says, &[]);
}

#[test]
fn store_author_id_wrong_size_is_an_error_not_a_panic() {
    log_damage_is_reported(
        "store-author-id-wrong-size",
        &["status"],
        &[
            "column authors_v1.author is damaged: an author id of 2 bytes, not 32",
            "mule fsck",
        ],
        &["authors_v1 row 1: the author id is 2 bytes, not 32"],
    );
}

#[test]
fn store_author_id_text_is_reported() {
    log_damage_is_reported(
        "store-author-id-text",
        &["log"],
        &["is damaged", "name: author"],
        &["authors_v1 row 1: column author holds text of 2 bytes"],
    );
}

#[test]
fn store_segment_seq_negative_is_reported() {
    log_damage_is_reported(
        "store-segment-seq-negative",
        &["status"],
        &["is damaged", "-3"],
        &[
            "segments_v1 row 1 of author",
            "column first holds the integer -3",
        ],
    );
}

#[test]
fn store_segment_data_garbage_is_reported() {
    log_damage_is_reported(
        "store-segment-data-garbage",
        &["log"],
        &["stored segment", "is damaged"],
        &["seq 1-4: cannot be decoded"],
    );
}

/// A damaged value that derives from the rows: fsck reports it as repairable, --repair fixes
/// it, and the store reads again.
fn derived_damage_is_repaired(name: &str, fsck: &str) {
    let damaged = Damaged::copy(name);
    damaged.run(
        &["fsck"],
        1,
        &[fsck, "(mule fsck --repair rebuilds it)"],
        &[],
    );
    damaged.run(&["fsck", "--repair"], 0, &["no problems"], &[]);
    damaged.run(&["kv", "get", "a"], 0, &["\"x\""], &[]);
    damaged.run(&["status"], 0, &["4"], &[]);
}

#[test]
fn store_head_wrong_size_is_repaired() {
    derived_damage_is_repaired("store-head-wrong-size", "the recorded head is not the hash");
}

#[test]
fn store_frontier_negative_is_reported_then_repaired() {
    let damaged = Damaged::copy("store-frontier-negative");
    // Not a store without entries: the damage is an error until it is repaired.
    damaged.run(
        &["kv", "get", "a"],
        1,
        &[],
        &["store.sqlite", "is damaged", "mule fsck"],
    );
    derived_damage_is_repaired(
        "store-frontier-negative",
        "column frontier holds the integer -1",
    );
}

#[test]
fn store_kinds_blob_is_reported_then_repaired() {
    let damaged = Damaged::copy("store-kinds-blob");
    damaged.run(
        &["status"],
        1,
        &[],
        &["store.sqlite", "is damaged", "name: kinds"],
    );
    derived_damage_is_repaired("store-kinds-blob", "column kinds holds a blob of 1 bytes");
}

#[test]
fn store_acknowledgement_wrong_size_is_forgotten_by_repair() {
    let damaged = Damaged::copy("store-acknowledgement-wrong-size");
    damaged.run(
        &["status"],
        1,
        &[],
        &["store.sqlite", "peers_v2.author", "mule fsck"],
    );
    damaged.run(
        &["fsck"],
        1,
        &["peers_v2", "(mule fsck --repair rebuilds it)"],
        &[],
    );
    damaged.run(&["fsck", "--repair"], 0, &["no problems"], &[]);
    damaged.run(&["status"], 0, &["4"], &[]);
}

/// An import whose author gets the row id of a deleted author row would have continued that
/// author's orphaned segments (a debug assertion, a silently mixed chain in a release build).
#[test]
fn import_onto_orphaned_rows_is_refused() {
    let damaged = Damaged::copy("store-author-row-deleted");
    let bundle = fixture("v3/two-writers.mule");
    damaged.run(
        &["import", bundle.to_str().expect("utf-8")],
        1,
        &[],
        &[
            "store.sqlite",
            "table segments_v1, row 1 is damaged",
            "recorded frontier",
        ],
    );
}

/// Every command on every damaged store: an answer or an error, never a panic.
#[test]
fn mule_never_panics_on_a_damaged_store() {
    let mut names: Vec<String> = std::fs::read_dir(fixture("damaged-stores"))
        .expect("fixtures")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 17, "{names:?}");
    for name in &names {
        let damaged = Damaged::copy(name);
        let bundle = damaged.work.path("out.mule");
        let two_writers = fixture("v3/two-writers.mule");
        let commands: [&[&str]; 10] = [
            &["status"],
            &["log"],
            &["kv", "get", "a"],
            &["kv", "list"],
            &["map", "query", "60,70", "-150,-140"],
            &["cal", "query", "2026-12-01", "2026-12-31"],
            &["fsck"],
            &["export", "--all", "-o", bundle.to_str().expect("utf-8")],
            &["fsck", "--repair"],
            &["import", two_writers.to_str().expect("utf-8")],
        ];
        for args in commands {
            let output = run(&damaged.store, args);
            assert_no_panic(&output, args);
            assert!(
                matches!(output.status.code(), Some(0 | 1)),
                "{name}: mule {args:?}: {}",
                stderr(&output)
            );
        }
    }
}

#[test]
fn damaged_store_fixtures_stay_small() {
    for store in std::fs::read_dir(fixture("damaged-stores")).expect("fixtures") {
        for file in std::fs::read_dir(store.expect("store").path()).expect("store") {
            let file = file.expect("file");
            let len = file.metadata().expect("metadata").len();
            assert!(len <= 16 * 1024, "{:?} is {len} bytes", file.path());
        }
    }
}
