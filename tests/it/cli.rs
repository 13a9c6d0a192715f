//! The command line: commands, script interface, exit codes, copied stores.

use std::process::Stdio;

use assert_cmd::prelude::*;
use predicates::prelude::*;
use serde_json::Value;

use super::*;

/// `mule log --json` of a store, one object per line.
fn log_lines(store: &Path) -> Vec<Value> {
    let out = run(store, &["--json", "log"]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn is_lower_hex(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[test]
fn round_trip_through_a_folder_converges() {
    let work = Work::new();
    let (a, b, stick) = (work.path("a"), work.path("b"), work.folder("stick"));
    // A is named by --store, B only by the environment.
    let b_env = |args: &[&str]| {
        let mut cmd = mule_bare();
        cmd.env("MULE_STORE", &b).args(args);
        assert_cmd::Command::from_std(cmd)
    };
    let first = json(&a, &["append", "kv", r#"{"k":"well-7","v":"dry"}"#])["hash"].clone();
    b_env(&["append", "note", "-"])
        .write_stdin(numbered(0, 3))
        .assert()
        .success();
    mule(&a).arg("sync").arg(&stick).assert().success();
    b_env(&["sync"]).arg(&stick).assert().success();
    // B answers A's entry with one that links it.
    b_env(&["append", "kv", r#"{"k":"well-7","v":"wet"}"#, "--link"])
        .arg(first.as_str().expect("hash"))
        .assert()
        .success();
    b_env(&["sync"]).arg(&stick).assert().success();
    mule(&a).arg("sync").arg(&stick).assert().success();
    assert!(
        b.join("store.sqlite").exists(),
        "MULE_STORE chose B's directory"
    );
    let (sa, sb) = (json(&a, &["status"]), json(&b, &["status"]));
    assert_eq!(sa["frontier"], sb["frontier"]);
    assert_eq!(sa["entries"], sb["entries"]);
    assert_eq!(sa["entries"], 5);
    assert_eq!(
        (sa["waiting"].clone(), sb["waiting"].clone()),
        (0.into(), 0.into())
    );
    let (la, lb) = (log_lines(&a), log_lines(&b));
    assert_eq!(la, lb);
    assert_eq!(la.len(), 5);
    let answer = la
        .iter()
        .find(|e| e["body"]["v"] == "wet")
        .expect("B's answer");
    assert_eq!(answer["links"], serde_json::json!([first]));
    assert_eq!(answer["seq"], 4);
    for entry in &la {
        for field in ["hash", "author", "seq", "kind", "body", "links"] {
            assert!(entry.get(field).is_some(), "{field} missing: {entry}");
        }
        assert!(
            is_lower_hex(&entry["hash"]) && is_lower_hex(&entry["author"]),
            "{entry}"
        );
        let links = entry["links"].as_array().expect("links");
        assert!(links.iter().all(is_lower_hex), "{entry}");
    }
    let authors: std::collections::BTreeSet<&str> = la
        .iter()
        .map(|e| e["author"].as_str().expect("author"))
        .collect();
    assert_eq!(authors.len(), 2);
}

#[test]
fn append_prints_the_hash_that_log_shows() {
    let work = Work::new();
    let store = work.path("s");
    let out = run(&store, &["append", "kv", r#"{"k":"a","v":[1,2.5,null]}"#]);
    assert!(out.status.success());
    let hash = stdout(&out).trim().to_owned();
    assert_eq!(hash.len(), 64);
    let linked = run(
        &store,
        &["append", "kv", r#"{"k":"a","v":2}"#, "--link", &hash],
    );
    assert!(linked.status.success());
    let log = run(&store, &["--json", "log"]);
    let lines: Vec<Value> = stdout(&log)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["hash"], hash.as_str());
    assert_eq!(lines[0]["seq"], 1);
    assert_eq!(lines[0]["kind"], "kv");
    assert_eq!(lines[0]["body"]["v"][1], 2.5);
    assert_eq!(lines[1]["links"][0], hash.as_str());
    assert_eq!(lines[1]["prev"], hash.as_str());
    let author = json(&store, &["id"])["author"].clone();
    assert_eq!(lines[1]["author"], author);
}

#[test]
fn bulk_append_is_one_transaction() {
    let work = Work::new();
    let store = work.path("s");
    let bad = format!("{}not json\n{}", numbered(0, 5), numbered(5, 5));
    let out = append_lines(&store, "obs", &bad);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("stdin line 6"), "{}", stderr(&out));
    assert_eq!(json(&store, &["status"])["entries"], 0);
    let out = append_lines(&store, "obs", &numbered(0, 2500));
    assert!(out.status.success());
    let status = json(&store, &["status"]);
    assert_eq!(status["entries"], 2500);
    let author = status["author"].as_str().expect("author").to_owned();
    assert_eq!(status["frontier"][&author], 2500);
    // Valid JSON that is no valid body (nested deeper than bodies may be), after good lines.
    let deep = format!("{}1{}", "[".repeat(70), "]".repeat(70));
    let bad = format!("{}{deep}\n{}", numbered(0, 3), numbered(3, 3));
    let out = append_lines(&store, "obs", &bad);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("stdin line 4"), "{}", stderr(&out));
    assert_eq!(state(&store)["frontier"], status["frontier"]);
    assert_eq!(json(&store, &["status"])["entries"], 2500);
}

#[test]
fn exit_codes_distinguish_usage_from_failure() {
    let work = Work::new();
    let store = work.path("s");
    mule(&store).arg("--bogus").assert().code(2);
    mule(&store).args(["status", "--bogus"]).assert().code(2);
    mule(&store).arg("frobnicate").assert().code(2);
    mule(&store).args(["append", "kv"]).assert().code(2);
    mule(&store).args(["export"]).assert().code(2);
    mule(&store)
        .args(["export", "-o", "x.mule", "--all", "--since", ""])
        .assert()
        .code(2);
    mule(&store)
        .args(["export", "-o", "x.mule", "--since", "not-a-frontier"])
        .assert()
        .code(2);
    mule(&store)
        .args(["append", "kv", "{}", "--link", "xyz"])
        .assert()
        .code(2);
    assert!(!store.exists(), "a usage error must not create the store");
    mule(&store)
        .args(["append", "kv", "{not json"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("error: "));
    mule(&store)
        .args(["import"])
        .arg(work.path("missing.mule"))
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("missing.mule").and(predicate::str::contains("No such file")),
        );
    mule(&store).args(["status"]).assert().success();
}

#[test]
fn every_command_speaks_json() {
    let work = Work::new();
    let (store, out_dir) = (work.path("s"), work.folder("out"));
    let id = json(&store, &["id"]);
    assert!(is_lower_hex(&id["author"]), "{id}");
    let one = json(&store, &["append", "kv", r#"{"k":1}"#]);
    assert!(is_lower_hex(&one["hash"]) && one["seq"] == 1, "{one}");
    let mut bulk = mule(&store);
    bulk.args(["--json", "append", "kv", "-"]);
    let out = assert_cmd::Command::from_std(bulk)
        .write_stdin(numbered(0, 3))
        .output()
        .expect("run");
    let bulk: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(
        (&bulk["appended"], &bulk["first_seq"], &bulk["last_seq"]),
        (&3.into(), &2.into(), &4.into())
    );
    let status = json(&store, &["status"]);
    assert_eq!(
        (&status["entries"], &status["author"]),
        (&4.into(), &id["author"])
    );
    let export = json(&store, &["export", "-o", out_dir.to_str().expect("utf-8")]);
    let bundle = export["path"].as_str().expect("path").to_owned();
    assert!(Path::new(&bundle).is_file());
    assert_eq!(export["entries"], 4);
    assert_eq!(json(&store, &["inspect", &bundle])["entries"], 4);
    let imported = json(&work.path("t"), &["import", &bundle]);
    assert_eq!(imported["new"], 4);
    assert_eq!(imported["rejected"], 0);
    assert_eq!(imported["files"][0]["status"], "imported");
    let synced = json(&work.path("t"), &["sync", out_dir.to_str().expect("utf-8")]);
    assert_eq!(synced["already_imported"], 1, "{synced}");
    assert_eq!(synced["skipped"], false);
    for (args, lines) in [(vec!["log"], 4), (vec!["verify", &bundle], 1)] {
        let out = run(&store, &[&["--json"], &args[..]].concat());
        assert!(out.status.success());
        let parsed: Vec<Value> = stdout(&out)
            .lines()
            .map(|line| serde_json::from_str(line).expect("JSON line"))
            .collect();
        assert_eq!(parsed.len(), lines, "{args:?}");
    }
}

#[test]
fn export_sends_only_what_the_peer_lacks() {
    let work = Work::new();
    let (a, b) = (work.path("a"), work.path("b"));
    assert!(append_lines(&a, "obs", &numbered(0, 10)).status.success());
    let first = work.path("first.mule");
    mule(&a)
        .args(["export", "-o"])
        .arg(&first)
        .assert()
        .success();
    assert_eq!(
        json(&b, &["import", first.to_str().expect("utf-8")])["new"],
        10
    );
    // B answers with its own bundle, which acknowledges A's 10 entries.
    let answer = work.path("answer.mule");
    mule(&b)
        .args(["export", "-o"])
        .arg(&answer)
        .assert()
        .success();
    json(&a, &["import", answer.to_str().expect("utf-8")]);
    assert!(append_lines(&a, "obs", &numbered(10, 5)).status.success());
    let b_id = json(&b, &["id"])["author"].as_str().expect("id").to_owned();
    let a_id = json(&a, &["id"])["author"].as_str().expect("id").to_owned();
    let export = |args: &[&str]| {
        let path = work.path("delta.mule");
        let mut full = vec!["export", "-o", path.to_str().expect("utf-8")];
        full.extend_from_slice(args);
        json(&a, &full)["entries"].as_u64().expect("count")
    };
    assert_eq!(export(&[]), 5);
    assert_eq!(export(&["--for", &b_id]), 5);
    assert_eq!(export(&["--since", &format!("{a_id}:12")]), 3);
    assert_eq!(export(&["--since", &format!("{{\"{a_id}\": 14}}")]), 1);
    assert_eq!(export(&["--all"]), 15);
    let unknown = "ab".repeat(32);
    mule(&a)
        .args(["export", "-o"])
        .arg(work.path("x.mule"))
        .args(["--for", &unknown])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no bundle from peer"));
}

#[test]
fn verify_and_inspect_need_no_store() {
    let work = Work::new();
    let nowhere = work.path("no-store-here");
    let bundle = fixture("v1/two-writers.mule");
    let out = mule_bare()
        .env("MULE_STORE", &nowhere)
        .arg("verify")
        .arg(&bundle)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ok (5 entries"));
    let out = mule_bare()
        .env("MULE_STORE", &nowhere)
        .arg("inspect")
        .arg(&bundle)
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(stdout(&out).contains("log/"));
    assert!(!nowhere.exists(), "verify/inspect must not create a store");
}

#[test]
fn a_copied_store_refuses_to_append_until_the_user_decides() {
    let work = Work::new();
    let (original, copy) = (work.path("laptop"), work.path("backup"));
    mule(&original)
        .args(["append", "kv", r#"{"k":1}"#])
        .assert()
        .success();
    let status = Command::new("cp")
        .arg("-r")
        .arg(&original)
        .arg(&copy)
        .status()
        .expect("cp");
    assert!(status.success());
    let before = state(&copy);
    mule(&copy)
        .args(["append", "kv", r#"{"k":2}"#])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("copied, moved or restored")
                .and(predicate::str::contains("--confirm-move"))
                .and(predicate::str::contains("--new-key")),
        );
    assert_eq!(state(&copy), before, "nothing may be appended");
    // Importing into the copy stays allowed: it cannot fork this device's chain.
    let other = work.path("other");
    mule(&other)
        .args(["append", "kv", r#"{"k":"x"}"#])
        .assert()
        .success();
    let bundle = work.path("other.mule");
    mule(&other)
        .args(["export", "-o"])
        .arg(&bundle)
        .assert()
        .success();
    mule(&copy).arg("import").arg(&bundle).assert().success();
    let old_id = json(&copy, &["id"])["author"].clone();
    let new_id = json(&copy, &["id", "--new-key"])["author"].clone();
    assert_ne!(old_id, new_id);
    mule(&copy)
        .args(["append", "kv", r#"{"k":2}"#])
        .assert()
        .success();
    let status = json(&copy, &["status"]);
    assert_eq!(status["entries"], 3);
    assert_eq!(status["frontier"][new_id.as_str().expect("id")], 1);
    assert_eq!(status["frontier"][old_id.as_str().expect("id")], 1);
    // The original, untouched, still appends; a moved store is accepted after confirmation.
    mule(&original)
        .args(["append", "kv", r#"{"k":3}"#])
        .assert()
        .success();
    let moved = work.path("moved");
    std::fs::rename(&original, &moved).expect("move");
    mule(&moved)
        .args(["append", "kv", r#"{"k":4}"#])
        .assert()
        .code(1);
    mule(&moved)
        .args(["id", "--confirm-move"])
        .assert()
        .success();
    mule(&moved)
        .args(["append", "kv", r#"{"k":4}"#])
        .assert()
        .success();
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let work = Work::new();
    let store = work.path("s");
    assert!(
        append_lines(&store, "obs", &numbered(0, 20_000))
            .status
            .success()
    );
    let script = format!(
        "set -o pipefail; '{}' --store '{}' log | head -n 1 >/dev/null",
        env!("CARGO_BIN_EXE_mule"),
        store.display()
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .output()
        .expect("bash");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "a closed pipe is not worth a message");
}

#[test]
fn concurrent_writers_never_corrupt_the_store() {
    let work = Work::new();
    let (store, stick) = (work.path("s"), work.folder("stick"));
    mule(&store).arg("id").assert().success();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || append_lines(&store, "obs", &numbered(w * 1000, 500)))
        })
        .collect();
    let syncer = {
        let (store, stick) = (store.clone(), stick.clone());
        std::thread::spawn(move || run(&store, &["sync", stick.to_str().expect("utf-8")]))
    };
    for writer in writers {
        let out = writer.join().expect("writer thread");
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert!(syncer.join().expect("sync thread").status.success());
    assert_eq!(json(&store, &["status"])["entries"], 2000);
    let log = run(&store, &["--json", "log"]);
    let seqs: Vec<u64> = stdout(&log)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("JSON")["seq"]
                .as_u64()
                .expect("seq")
        })
        .collect();
    assert_eq!(seqs, (1..=2000).collect::<Vec<_>>());
}

/// Issue 15: a missing output folder is said to be missing, with what to do about it, not
/// "Not a directory" with the hint meant for damaged bundles.
#[test]
fn export_to_a_missing_folder_says_to_create_it() {
    let work = Work::new();
    let store = work.path("s");
    assert!(
        append_lines(&store, "note", &numbered(0, 1))
            .status
            .success()
    );
    for dest in ["missing/", "missing/out.mule"] {
        let output = run(
            &store,
            &[
                "export",
                "--all",
                "-o",
                work.path(dest).to_str().expect("utf-8"),
            ],
        );
        assert_eq!(output.status.code(), Some(1));
        let err = stderr(&output);
        assert!(err.contains("does not exist"), "{dest}: {err}");
        assert!(
            err.contains("create it first, or pick another -o"),
            "{dest}: {err}"
        );
        assert!(!err.contains("fresh copy"), "{dest}: {err}");
        assert!(
            !work.path("missing").exists(),
            "mule does not guess the folder"
        );
    }
}

/// Issue 15: importing a file that is not there says so, not "ask the sender for a fresh copy".
#[test]
fn import_of_a_missing_file_says_to_check_the_path() {
    let work = Work::new();
    let store = work.path("s");
    let missing = work.path("nonexistent.mule");
    let output = run(&store, &["import", missing.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("does not exist: check the path"), "{err}");
    assert!(!err.contains("fresh copy"), "{err}");
}

/// Issue 16: `status` printed the frontier's lines with no heading, under the blob lines. Each
/// list is a section with a heading, its lines indented under it.
#[test]
fn status_prints_each_list_under_a_heading() {
    let work = Work::new();
    let (a, b, stick) = (work.path("a"), work.path("b"), work.folder("stick"));
    mule(&a).args(["kv", "put", "x", "1"]).assert().success();
    mule(&b).args(["kv", "put", "y", "2"]).assert().success();
    for store in [&a, &b, &a] {
        mule(store).arg("sync").arg(&stick).assert().success();
    }
    let text = stdout(&run(&a, &["status"]));
    let sections: Vec<&str> = text.split("\n\n").collect();
    assert_eq!(sections.len(), 3, "{text}");
    let frontier: Vec<&str> = sections[1].lines().collect();
    assert!(frontier[0].starts_with("frontier"), "{text}");
    assert_eq!(frontier.len(), 3, "{text}");
    assert!(
        frontier[1..]
            .iter()
            .all(|l| l.starts_with("  ") && l.contains(" up to seq 1"))
    );
    let peers: Vec<&str> = sections[2].lines().collect();
    assert!(peers[0].starts_with("peers"), "{text}");
    assert!(peers[1].starts_with("  peer "), "{text}");
}
