//! Bundles as untrusted input: the format-1 fixture keeps reading, every damaged fixture is
//! refused with its reason and changes nothing, imports are idempotent and order-free.

use assert_cmd::prelude::*;
use predicates::prelude::*;
use serde_json::Value;

use super::*;

/// Every damaged fixture and a distinctive part of the reason it must be refused with.
const BAD: &[(&str, &str)] = &[
    ("truncated-tail.mule", "file is truncated"),
    ("bit-flip.mule", "signature does not match"),
    ("not-a-bundle.mule", "not a mule bundle"),
    (
        "zstd-without-header.mule",
        "zstd data without the mule header",
    ),
    ("newer-format.mule", "newer than this mule understands"),
    ("tampered-body.mule", "signature does not match"),
    ("wrong-signature.mule", "signature does not match"),
    ("unsigned-tail.mule", "is not signed"),
    (
        "manifest-lies-count.mule",
        "counts 4 entries, the archive holds 3",
    ),
    (
        "member-dotdot.mule",
        "unexpected archive member `log/../../evil.cbor`",
    ),
    (
        "member-absolute.mule",
        "unexpected archive member `/etc/evil.cbor`",
    ),
    (
        "unknown-member.mule",
        "unexpected archive member `notes.txt`",
    ),
    ("decompression-bomb.mule", "decompression bomb"),
];

fn log_lines(store: &Path) -> Vec<Value> {
    let out = run(store, &["--json", "log"]);
    assert!(out.status.success());
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

#[test]
fn format_1_fixture_keeps_reading() {
    let work = Work::new();
    let store = work.path("s");
    let imported = json(
        &store,
        &[
            "import",
            fixture("v1/two-writers.mule").to_str().expect("utf-8"),
        ],
    );
    assert_eq!(imported["new"], 5);
    let entries = log_lines(&store);
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect();
    let mut sorted = kinds.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["cal", "kv", "kv", "kv", "map"]);
    let well_7 = entries
        .iter()
        .find(|e| e["body"]["k"] == "well-7")
        .expect("well-7");
    assert_eq!(well_7["body"]["v"], "dry");
    assert_eq!(well_7["seq"], 1);
    let correction = entries
        .iter()
        .find(|e| e["body"]["v"] == "half")
        .expect("the correction");
    let full = entries
        .iter()
        .find(|e| e["body"]["v"] == "full")
        .expect("the original");
    assert_eq!(correction["links"][0], full["hash"]);
    assert_ne!(correction["author"], full["author"]);
    let status = json(&store, &["status"]);
    assert_eq!(status["authors"], 2);
    assert_eq!(status["peers"].as_array().expect("peers").len(), 1);
}

#[test]
fn damaged_bundles_are_refused_and_change_nothing() {
    let work = Work::new();
    let store = work.path("s");
    mule(&store)
        .args(["append", "kv", r#"{"k":1}"#])
        .assert()
        .success();
    let before = state(&store);
    for (name, reason) in BAD {
        let path = fixture(&format!("bad/{name}"));
        for command in ["verify", "import"] {
            let out = run(&store, &[command, path.to_str().expect("utf-8")]);
            assert_eq!(out.status.code(), Some(1), "{command} {name}");
            let err = stderr(&out);
            let first = err.lines().next().unwrap_or_default();
            assert!(
                first.starts_with("error: ") && first.contains(name) && first.contains(reason),
                "{command} {name}: {err}"
            );
        }
        assert_eq!(state(&store), before, "{name} changed the store");
    }
}

#[test]
fn good_bundles_import_beside_bad_ones() {
    let work = Work::new();
    let store = work.path("s");
    let out = mule(&store)
        .arg("--json")
        .arg("import")
        .arg(fixture("bad/truncated-tail.mule"))
        .arg(fixture("v1/two-writers.mule"))
        .arg(fixture("bad/member-dotdot.mule"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(summary["new"], 5);
    assert_eq!(summary["rejected"], 2);
    assert_eq!(summary["files"][0]["status"], "rejected");
    assert_eq!(summary["files"][1]["status"], "imported");
}

#[test]
fn import_is_idempotent_and_skips_known_bundles_by_id() {
    let work = Work::new();
    let (a, b) = (work.path("a"), work.path("b"));
    assert!(append_lines(&a, "obs", &numbered(0, 50)).status.success());
    let bundle = work.path("all.mule");
    mule(&a)
        .args(["export", "--all", "-o"])
        .arg(&bundle)
        .assert()
        .success();
    let path = bundle.to_str().expect("utf-8");
    assert_eq!(json(&b, &["import", path])["new"], 50);
    let after_first = state(&b);
    let again = json(&b, &["import", path]);
    assert_eq!(again["already_imported"], 1);
    assert_eq!(again["new"], 0);
    assert_eq!(state(&b), after_first);
    // The same entries in a different file are deduplicated entry by entry.
    let copy = work.path("copy.mule");
    mule(&a)
        .args(["export", "--all", "-o"])
        .arg(&copy)
        .assert()
        .success();
    let dup = json(&b, &["import", copy.to_str().expect("utf-8")]);
    assert_eq!(
        (dup["new"].clone(), dup["duplicate"].clone()),
        (0.into(), 50.into())
    );
    assert_eq!(state(&b)["frontier"], after_first["frontier"]);
}

#[test]
fn entries_wait_for_their_predecessors_then_attach() {
    let work = Work::new();
    let (a, b) = (work.path("a"), work.path("b"));
    assert!(append_lines(&a, "obs", &numbered(0, 10)).status.success());
    let early = work.path("early.mule");
    mule(&a)
        .args(["export", "-o"])
        .arg(&early)
        .assert()
        .success();
    assert!(append_lines(&a, "obs", &numbered(10, 10)).status.success());
    let author = json(&a, &["id"])["author"].as_str().expect("id").to_owned();
    let late = work.path("late.mule");
    mule(&a)
        .args(["export", "-o"])
        .arg(&late)
        .args(["--since", &format!("{author}:10")])
        .assert()
        .success();
    let first = json(&b, &["import", late.to_str().expect("utf-8")]);
    assert_eq!(first["waiting"], 10);
    assert_eq!(json(&b, &["status"])["waiting"], 10);
    mule(&b)
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::contains("waiting  10"));
    let second = json(&b, &["import", early.to_str().expect("utf-8")]);
    assert_eq!(second["new"], 20);
    let status = json(&b, &["status"]);
    assert_eq!(status["waiting"], 0);
    assert_eq!(status["frontier"][&author], 20);
}

#[test]
fn a_fork_is_kept_and_reported() {
    let work = Work::new();
    let (original, clone, receiver) = (work.path("o"), work.path("c"), work.path("r"));
    mule(&original)
        .args(["append", "kv", r#"{"k":1}"#])
        .assert()
        .success();
    let copied = Command::new("cp")
        .arg("-r")
        .arg(&original)
        .arg(&clone)
        .status()
        .expect("cp");
    assert!(copied.success());
    // The user overrides the warning on the copy: both now write seq 2 with one key.
    mule(&clone)
        .args(["id", "--confirm-move"])
        .assert()
        .success();
    mule(&clone)
        .args(["append", "kv", r#"{"k":"copy"}"#])
        .assert()
        .success();
    mule(&original)
        .args(["append", "kv", r#"{"k":"original"}"#])
        .assert()
        .success();
    for (store, name) in [(&original, "o.mule"), (&clone, "c.mule")] {
        let path = work.path(name);
        mule(store)
            .args(["export", "--all", "-o"])
            .arg(&path)
            .assert()
            .success();
        mule(&receiver).arg("import").arg(&path).assert().success();
    }
    let status = json(&receiver, &["status"]);
    let forks = status["forks"].as_array().expect("forks");
    assert_eq!(forks.len(), 1);
    assert_eq!(forks[0]["seq"], 2);
    assert_eq!(status["entries"], 2);
    mule(&receiver)
        .arg("status")
        .assert()
        .stdout(predicate::str::contains("FORK"));
    // The kept branch travels on: a third store learns of the fork too.
    let onward = work.path("onward.mule");
    mule(&receiver)
        .args(["export", "--all", "-o"])
        .arg(&onward)
        .assert()
        .success();
    let third = work.path("third");
    mule(&third).arg("import").arg(&onward).assert().success();
    assert_eq!(
        json(&third, &["status"])["forks"]
            .as_array()
            .expect("forks")
            .len(),
        1
    );
}
