//! Hostile sticks: bundles written by hand from bundle-format.md (not by mule's writer, see
//! `examples/hostile_bundles.rs`), each aimed at one promise, and what mule must do with them.

use std::collections::BTreeMap;

use mule::AuthorId;
use mule::bundle::Kind;

use assert_cmd::prelude::*;

use super::*;

// The generator, compiled into this test binary.
#[allow(dead_code)]
#[path = "../../examples/hostile_bundles.rs"]
mod hostile_bundles;
use hostile_bundles::{Device, bundle, fork_branches, seq_1_branches, tiny_members};

fn author_of(store: &Path) -> AuthorId {
    json(store, &["id"])["author"]
        .as_str()
        .expect("author")
        .parse()
        .expect("hex")
}

fn write(work: &Work, name: &str, bytes: &[u8]) -> PathBuf {
    let path = work.path(name);
    std::fs::write(&path, bytes).expect("write bundle");
    path
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("utf-8")
}

/// Entries `mule export --for PEER` carries (0 when it writes nothing).
fn exported_for(store: &Path, peer: &AuthorId, out: &Path) -> u64 {
    let exported = json(
        store,
        &["export", "--for", &peer.to_string(), "-o", path_arg(out)],
    );
    exported["entries"].as_u64().unwrap_or(0)
}

/// A store `s` in `work` with `n` entries of its own.
fn store_with_notes(work: &Work, n: usize) -> PathBuf {
    let store = work.path("s");
    let appended = append_lines(&store, "note", &numbered(0, n));
    assert!(appended.status.success(), "{}", stderr(&appended));
    store
}

#[test]
fn a_forged_frontier_does_not_stop_the_flow_of_data() {
    let work = Work::new();
    let store = store_with_notes(&work, 3);
    let own = author_of(&store);
    let (peer, attacker) = (Device::new(0x11), Device::new(0x66));
    let claim: BTreeMap<_, _> = [(own, 1000), (peer.author(), 1)].into_iter().collect();
    let one = peer.run(1, None, &[("k", "v")]);

    // The attacker signs a bundle in the peer's name: refused whole.
    let forged = write(
        &work,
        "forged.mule",
        &bundle(
            peer.author(),
            &attacker,
            claim.clone(),
            &[(Kind::Log, one.clone())],
        ),
    );
    let refused = run(&store, &["import", path_arg(&forged)]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("signature does not match"),
        "{}",
        stderr(&refused)
    );

    // The peer itself (or anyone in its own name) claims more of our chain than we wrote: the
    // claim is cut to what exists, and said so.
    let lying = write(
        &work,
        "lying.mule",
        &bundle(peer.author(), &peer, claim, &[(Kind::Log, one)]),
    );
    let imported = run(&store, &["import", path_arg(&lying)]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    assert!(
        stdout(&imported).contains("claims this store's own entries up to seq 1000"),
        "{}",
        stdout(&imported)
    );
    let status = json(&store, &["status"]);
    assert_eq!(status["peers"][0]["frontier"][own.to_string()], 3);
    assert!(
        append_lines(&store, "note", &numbered(3, 2))
            .status
            .success()
    );
    assert_eq!(
        exported_for(&store, &peer.author(), &work.path("to-peer.mule")),
        2,
        "the two new entries still go to the peer"
    );
}

#[test]
fn an_unsigned_format_1_frontier_never_lowers_what_is_sent() {
    let work = Work::new();
    let store = store_with_notes(&work, 3);
    // v1/two-writers.mule is unsigned; its sender B claims A:3 and B:2 (not our entries, but
    // the point is that B becomes no known peer at all).
    let imported = json(
        &store,
        &["import", path_arg(&fixture("v1/two-writers.mule"))],
    );
    assert_eq!(imported["new"], 5);
    assert_eq!(json(&store, &["status"])["peers"], serde_json::json!([]));
    let exported = json(&store, &["export", "-o", path_arg(&work.path("out.mule"))]);
    assert_eq!(
        exported["entries"], 8,
        "the default export carries everything"
    );
}

#[test]
fn named_pipes_are_refused_at_once() {
    let work = Work::new();
    let fifo = work.path("x.mule");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let store = work.path("s");
    for args in [vec!["import"], vec!["verify"], vec!["inspect"]] {
        let out = mule(&store).args(&args).arg(&fifo).output().expect("run");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!(
                "error: {}: a named pipe, not a bundle file",
                fifo.display()
            )),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_batch_imports_alike_in_any_order_when_one_bundle_admits_a_device() {
    let work = Work::new();
    let root = work.path("root");
    json(&root, &["project", "create", "Camp"]);
    let invite = |store: &Path| json(store, &["project", "invite"])["invite"].clone();
    let field = work.path("field");
    let text = invite(&root);
    json(&field, &["project", "join", text.as_str().expect("text")]);
    assert!(
        run(&field, &["kv", "put", "well-1", "\"dry\""])
            .status
            .success()
    );
    let base = work.path("base.mule");
    json(&field, &["export", "--all", "-o", path_arg(&base)]);
    let since = format!("{}:{}", author_of(&field), 2);
    assert!(
        run(&field, &["kv", "put", "well-2", "\"full\""])
            .status
            .success()
    );
    let delta = work.path("delta.mule");
    json(
        &field,
        &["export", "--since", &since, "-o", path_arg(&delta)],
    );
    // A newcomer gets the delta before the base that holds the field device's join entry.
    let other = work.path("other");
    let text = invite(&root);
    json(&other, &["project", "join", text.as_str().expect("text")]);
    let imported = run(&other, &["import", path_arg(&delta), path_arg(&base)]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let got = json(&other, &["kv", "get", "well-2"]);
    assert_eq!(got["value"], "full");
}

#[test]
fn a_strangers_bundle_in_a_folder_is_reported_once() {
    let work = Work::new();
    let root = work.path("root");
    json(&root, &["project", "create", "Camp"]);
    let stick = work.folder("stick");
    let stranger = work.path("stranger");
    assert!(
        run(&stranger, &["kv", "put", "k", "\"poison\""])
            .status
            .success()
    );
    let dropped = run(&stranger, &["sync", path_arg(&stick)]);
    assert!(dropped.status.success(), "{}", stderr(&dropped));
    let first = run(&root, &["sync", path_arg(&stick)]);
    assert_eq!(first.status.code(), Some(1), "the refusal is reported");
    assert!(stderr(&first).contains("not a member of project"));
    for _ in 0..2 {
        let again = run(&root, &["sync", path_arg(&stick)]);
        assert!(again.status.success(), "{}", stderr(&again));
        assert!(
            stdout(&again).contains("1 skipped as refused before"),
            "{}",
            stdout(&again)
        );
    }
}

#[test]
fn a_bundle_that_vanishes_before_it_is_read_is_no_error() {
    let work = Work::new();
    let mut store = mule::Store::open(&work.path("s")).expect("store");
    let gone = work.path("0000000000000000000000000000000000000000000000000000000000000000.mule");
    let unnamed = work.path("renamed.mule");
    for path in [gone, unnamed] {
        let result = mule::bundle::import_from_folder(&mut store, &path);
        assert!(
            matches!(result, Ok(mule::bundle::Imported::Vanished)),
            "{result:?}"
        );
    }
}

#[test]
fn concurrent_compacting_syncs_of_one_folder_all_succeed() {
    let work = Work::new();
    let stick = work.folder("stick");
    let stores: Vec<PathBuf> = (0..3).map(|i| work.path(&format!("s{i}"))).collect();
    for (i, store) in stores.iter().enumerate() {
        assert!(
            append_lines(store, "note", &numbered(i * 10, 5))
                .status
                .success()
        );
    }
    for round in 0..4 {
        let children: Vec<_> = stores
            .iter()
            .map(|store| {
                mule(store)
                    .args(["sync", "--compact"])
                    .arg(&stick)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().expect("wait");
            assert!(out.status.success(), "round {round}: {}", stderr(&out));
        }
    }
    for store in &stores {
        let synced = run(store, &["sync", path_arg(&stick)]);
        assert!(synced.status.success(), "{}", stderr(&synced));
    }
    for store in &stores {
        assert_eq!(json(store, &["status"])["entries"], 15);
    }
}

#[test]
fn tiny_members_import_as_one_run() {
    let work = Work::new();
    let device = Device::new(0x22);
    let path = write(&work, "tiny.mule", &tiny_members(&device, 5_000));
    let store = work.path("s");
    let imported = json(&store, &["import", path_arg(&path)]);
    assert_eq!(imported["new"], 5_000);
    let status = json(&store, &["status"]);
    assert_eq!(status["frontier"][device.author().to_string()], 5_000);
    mule(&store).arg("fsck").assert().success();
}

/// `kv list` and `mule log` of a store, what two replicas must agree on.
fn shown(store: &Path) -> (String, String) {
    let list = run(store, &["kv", "list"]);
    let log = run(store, &["--json", "log"]);
    (stdout(&list), stdout(&log))
}

#[test]
fn two_branches_of_one_key_show_the_same_whatever_arrives_first() {
    let work = Work::new();
    let (a, b) = fork_branches(&Device::new(0x44));
    let (a, b) = (write(&work, "a.mule", &a), write(&work, "b.mule", &b));
    let (first, second) = (work.path("first"), work.path("second"));
    for (store, order) in [(&first, [&a, &b]), (&second, [&b, &a])] {
        for bundle in order {
            let imported = run(store, &["import", path_arg(bundle)]);
            assert!(imported.status.success(), "{}", stderr(&imported));
            // Views catch up between the two imports, so a stale view would show.
            assert!(run(store, &["kv", "list"]).status.success());
        }
    }
    assert_eq!(shown(&first), shown(&second));
    let forks = |store: &Path| json(store, &["status"])["forks"].clone();
    assert_eq!(forks(&first), forks(&second));
    assert_eq!(forks(&first).as_array().map(Vec::len), Some(1));
}

#[test]
fn ten_thousand_seq_1_branches_keep_only_the_cap() {
    let work = Work::new();
    let device = Device::new(0x55);
    let path = write(&work, "branches.mule", &seq_1_branches(&device, 10_000));
    let store = work.path("s");
    let imported = run(&store, &["--json", "import", path_arg(&path)]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let summary: Value = serde_json::from_slice(&imported.stdout).expect("JSON");
    let cap = mule::store::MAX_FORK_BRANCHES;
    let forks = json(&store, &["status"])["forks"].clone();
    assert_eq!(forks.as_array().map(Vec::len), Some(cap as usize));
    // One branch is attached, the cap's worth are kept, the rest are dropped and said so.
    assert_eq!(summary["fork_dropped"], 10_000 - 1 - cap, "{summary}");
    assert!(
        stderr(&imported).is_empty(),
        "the warning is for people, not --json"
    );
    let words = run(&work.path("other"), &["import", path_arg(&path)]);
    assert!(words.status.success());
    assert!(
        stderr(&words).contains(&format!(
            "were not kept: the author has more than {cap} conflicting branches"
        )),
        "{}",
        stderr(&words)
    );
    let status = run(&store, &["status"]);
    let lines = stdout(&status).lines().count();
    assert!(lines < 40, "status prints {lines} lines");
    mule(&store).arg("fsck").assert().success();
}

#[test]
fn messages_say_what_happened() {
    let work = Work::new();
    let store = work.path("s");
    // A frontier at seq 2^64-1 is malformed, not a database error.
    let device = Device::new(0x33);
    let huge = [(device.author(), u64::MAX)].into_iter().collect();
    let path = write(
        &work,
        "huge.mule",
        &bundle(
            device.author(),
            &device,
            huge,
            &[(Kind::Log, device.run(1, None, &[("k", "v")]))],
        ),
    );
    let out = run(&store, &["import", path_arg(&path)]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("manifest.cbor is malformed") && err.contains("above the largest possible"),
        "{err}"
    );
    assert!(!err.contains("database error"), "{err}");
}
