//! Importing bundles: idempotent, order-free, entries waiting for their predecessors, forks.

use assert_cmd::prelude::*;
use predicates::prelude::*;

use super::*;

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

/// Every ordering of `items`.
fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            all.push(tail);
        }
    }
    all
}

#[test]
fn delta_bundles_converge_in_any_import_order() {
    let work = Work::new();
    let (a, b) = (work.path("a"), work.path("b"));
    let export = |store: &Path, name: &str, selection: &[&str]| {
        let path = work.path(name);
        let mut args = vec!["export", "-o", path.to_str().expect("utf-8")];
        args.extend_from_slice(selection);
        json(store, &args);
        path.to_str().expect("utf-8").to_owned()
    };
    assert!(append_lines(&a, "obs", &numbered(0, 10)).status.success());
    let a_id = json(&a, &["id"])["author"].as_str().expect("id").to_owned();
    let a1 = export(&a, "a1.mule", &["--all"]);
    json(&b, &["import", &a1]);
    let b_id = json(&b, &["id"])["author"].as_str().expect("id").to_owned();
    let a_log = run(&a, &["--json", "log", "--author", &a_id]);
    let a_last = stdout(&a_log)
        .lines()
        .last()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON")["hash"].clone())
        .expect("a line");
    mule(&b)
        .args(["append", "kv", r#"{"k":"well-7","v":"checked"}"#, "--link"])
        .arg(a_last.as_str().expect("hash"))
        .assert()
        .success();
    assert!(append_lines(&b, "obs", &numbered(0, 4)).status.success());
    // What A lacks: only B's five entries.
    let b1 = export(&b, "b1.mule", &["--for", &a_id]);
    assert!(append_lines(&a, "obs", &numbered(10, 10)).status.success());
    let a2 = export(&a, "a2.mule", &["--since", &format!("{a_id}:10")]);
    assert!(append_lines(&b, "obs", &numbered(4, 5)).status.success());
    // Authors a frontier leaves out are exported whole, so both are named.
    let since = format!("{{\"{a_id}\": 10, \"{b_id}\": 5}}");
    let b2 = export(&b, "b2.mule", &["--since", &since]);
    for (path, entries) in [(&a1, 10), (&b1, 5), (&a2, 10), (&b2, 5)] {
        assert_eq!(json(&b, &["inspect", path])["entries"], entries, "{path}");
    }

    let mut reference = None;
    for (n, order) in permutations(&[&a1, &a2, &b1, &b2]).into_iter().enumerate() {
        let store = work.path(&format!("r{n}"));
        let mut args = vec!["import"];
        args.extend(order.iter().map(|p| p.as_str()));
        let summary = json(&store, &args);
        assert_eq!(summary["new"], 30, "{order:?}: {summary}");
        assert_eq!(summary["duplicate"], 0, "{order:?}");
        if order[0] == &a2 {
            assert_eq!(summary["files"][0]["waiting"], 10, "{order:?}");
        }
        let status = json(&store, &["status"]);
        assert_eq!(status["waiting"], 0, "{order:?}");
        assert_eq!(
            status["frontier"],
            serde_json::json!({ a_id.as_str(): 20, b_id.as_str(): 10 })
        );
        let log = stdout(&run(&store, &["--json", "log"]));
        match &reference {
            None => reference = Some(log),
            Some(reference) => assert_eq!(&log, reference, "{order:?}"),
        }
    }
}

/// Copies the store `original` to `copy` and confirms the copy's new home: from then on both
/// write with one key, so their chains fork.
fn copy_store(original: &Path, copy: &Path) {
    let copied = Command::new("cp")
        .arg("-r")
        .arg(original)
        .arg(copy)
        .status()
        .expect("cp");
    assert!(copied.success());
    mule(copy).args(["id", "--confirm-move"]).assert().success();
}

/// Exports all of `store` to `work/name` and returns the path.
fn export_all(work: &Work, store: &Path, name: &str) -> PathBuf {
    let path = work.path(name);
    mule(store)
        .args(["export", "--all", "-o"])
        .arg(&path)
        .assert()
        .success();
    path
}

/// The issue this reproduces: two replicas holding the same two branches of a forked author
/// listed different kv keys, depending on which branch arrived first.
#[test]
fn two_branches_imported_in_opposite_orders_show_the_same_views_and_log() {
    let work = Work::new();
    let (original, clone) = (work.path("o"), work.path("c"));
    mule(&original)
        .args(["kv", "put", "x", "1"])
        .assert()
        .success();
    copy_store(&original, &clone);
    mule(&original)
        .args(["kv", "put", "x", "2"])
        .assert()
        .success();
    mule(&clone)
        .args(["kv", "put", "other", "1"])
        .assert()
        .success();
    let a = export_all(&work, &original, "a.mule");
    let b = export_all(&work, &clone, "b.mule");
    let shown: Vec<_> = [(work.path("ab"), [&a, &b]), (work.path("ba"), [&b, &a])]
        .iter()
        .map(|(store, order)| {
            for bundle in order {
                mule(store).arg("import").arg(bundle).assert().success();
                // Views built after each import, so a re-attachment must rebuild them.
                mule(store).args(["kv", "list"]).assert().success();
            }
            let forks = json(store, &["status"])["forks"].clone();
            assert_eq!(forks.as_array().expect("forks").len(), 1);
            (
                stdout(&run(store, &["kv", "list"])),
                stdout(&run(store, &["--json", "log"])),
                forks,
            )
        })
        .collect();
    assert_eq!(shown[0], shown[1]);
    assert!(shown[0].0.contains('x'), "{}", shown[0].0);
    let fsck = run(&work.path("ab"), &["fsck"]);
    assert!(fsck.status.success(), "{}", stdout(&fsck));
}

/// The amplification the issue names: a key that signs many seq-1 entries. Only
/// `MAX_FORK_BRANCHES` branches are kept, the import says so, and `status` stays short.
#[test]
fn an_author_with_too_many_branches_is_capped_and_summarized() {
    let work = Work::new();
    let cap = mule::store::MAX_FORK_BRANCHES as usize;
    let original = work.path("o");
    mule(&original).arg("id").assert().success();
    let bundles: Vec<PathBuf> = (0..cap + 2)
        .map(|i| {
            let copy = work.path(&format!("c{i}"));
            copy_store(&original, &copy);
            mule(&copy)
                .args(["kv", "put", "k", &i.to_string()])
                .assert()
                .success();
            export_all(&work, &copy, &format!("c{i}.mule"))
        })
        .collect();
    let receiver = work.path("r");
    let imported = mule(&receiver)
        .arg("import")
        .args(&bundles)
        .output()
        .expect("import");
    assert!(imported.status.success(), "{}", stderr(&imported));
    assert!(
        stderr(&imported).contains(&format!(
            "1 entry of author {} was not kept: the author has more than {cap} conflicting branches",
            json(&original, &["id"])["author"].as_str().expect("id")
        )),
        "{}",
        stderr(&imported)
    );
    let status = json(&receiver, &["status"]);
    assert_eq!(status["forks"].as_array().expect("forks").len(), cap);
    let text = stdout(&run(&receiver, &["status"]));
    assert_eq!(text.matches("FORK").count(), 3, "{text}");
    assert!(
        text.contains(&format!("... and {} more branches", cap - 3)),
        "{text}"
    );
}

#[test]
fn a_fork_is_kept_and_reported() {
    let work = Work::new();
    let (original, clone, receiver) = (work.path("o"), work.path("c"), work.path("r"));
    mule(&original)
        .args(["append", "kv", r#"{"k":1}"#])
        .assert()
        .success();
    // The user overrides the warning on the copy: both now write seq 2 with one key.
    copy_store(&original, &clone);
    mule(&clone)
        .args(["append", "kv", r#"{"k":"copy"}"#])
        .assert()
        .success();
    mule(&original)
        .args(["append", "kv", r#"{"k":"original"}"#])
        .assert()
        .success();
    for (store, name) in [(&original, "o.mule"), (&clone, "c.mule")] {
        let path = export_all(&work, store, name);
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
    let onward = export_all(&work, &receiver, "onward.mule");
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

/// `n` entries of kind `obs` appended to `store`; returns its author id.
fn author_with(store: &Path, n: usize) -> String {
    assert!(append_lines(store, "obs", &numbered(0, n)).status.success());
    json(store, &["id"])["author"]
        .as_str()
        .expect("id")
        .to_owned()
}

fn export_since(store: &Path, path: &Path, since: &str) {
    mule(store)
        .args(["export", "--since", since, "-o"])
        .arg(path)
        .assert()
        .success();
}

#[test]
fn an_import_reports_the_entries_it_leaves_waiting() {
    let work = Work::new();
    let (p, q, relay, receiver) = (
        work.path("p"),
        work.path("q"),
        work.path("relay"),
        work.path("r"),
    );
    let p_id = author_with(&p, 20);
    let q_id = author_with(&q, 10);
    let p_tail = work.path("p-tail.mule");
    export_since(&p, &p_tail, &format!("{p_id}:10"));
    let p_all = work.path("p-all.mule");
    export_since(&p, &p_all, "");
    let q_tail = work.path("q-tail.mule");
    export_since(&q, &q_tail, &format!("{q_id}:5"));
    // The relay holds P 1-20 and Q 6-10 (waiting), and passes all of it on.
    mule(&relay)
        .arg("import")
        .arg(&p_all)
        .arg(&q_tail)
        .assert()
        .success();
    let both = work.path("both.mule");
    export_since(&relay, &both, "");

    let first = json(&receiver, &["import", p_tail.to_str().expect("utf-8")]);
    assert_eq!(first["waiting"], 10);
    // P 1-10 release P 11-20; Q 6-10 are left waiting for Q 1-5.
    let second = json(&receiver, &["import", both.to_str().expect("utf-8")]);
    assert_eq!(second["new"], 20);
    assert_eq!(json(&receiver, &["status"])["waiting"], 5);
    assert_eq!(second["waiting"], 5, "{second}");
}

#[test]
fn overlapping_waiting_runs_are_counted_once() {
    let work = Work::new();
    let (p, receiver) = (work.path("p"), work.path("r"));
    let p_id = author_with(&p, 20);
    let early = work.path("11-20.mule");
    export_since(&p, &early, &format!("{p_id}:10"));
    assert!(append_lines(&p, "obs", &numbered(20, 5)).status.success());
    let late = work.path("16-25.mule");
    export_since(&p, &late, &format!("{p_id}:15"));
    mule(&receiver)
        .arg("import")
        .arg(&early)
        .arg(&late)
        .assert()
        .success();
    // Seq 11 to 25 wait: 15 entries.
    assert_eq!(json(&receiver, &["status"])["waiting"], 15);
}

#[test]
fn a_fork_branch_that_grows_is_kept_whole() {
    let work = Work::new();
    let (original, copy, receiver) = (work.path("o"), work.path("c"), work.path("r"));
    mule(&original)
        .args(["append", "kv", r#"{"k":1}"#])
        .assert()
        .success();
    copy_store(&original, &copy);
    mule(&original)
        .args(["append", "kv", r#"{"k":"o2"}"#])
        .assert()
        .success();
    mule(&copy)
        .args(["append", "kv", r#"{"k":"c2"}"#])
        .assert()
        .success();
    for (store, name) in [(&original, "o.mule"), (&copy, "c1.mule")] {
        let path = work.path(name);
        export_since(store, &path, "");
        mule(&receiver).arg("import").arg(&path).assert().success();
    }
    assert_eq!(json(&receiver, &["status"])["forks"][0]["kept"], 1);
    // The copy goes on writing on its branch and sends its whole chain again.
    mule(&copy)
        .args(["append", "kv", r#"{"k":"c3"}"#])
        .assert()
        .success();
    let again = work.path("c2.mule");
    export_since(&copy, &again, "");
    let imported = json(&receiver, &["import", again.to_str().expect("utf-8")]);
    let status = json(&receiver, &["status"]);
    let kept: u64 = status["forks"]
        .as_array()
        .expect("forks")
        .iter()
        .map(|f| f["kept"].as_u64().expect("kept"))
        .sum();
    // Whichever branch the lowest-hash rule attaches, every entry is held: seq 1, o2, and
    // c2, c3 (attached, or kept whole as a branch).
    let attached = status["entries"].as_u64().expect("entries");
    assert_eq!(
        attached + kept,
        4,
        "the branch c2, c3 is kept whole: {status}"
    );
    assert_eq!(
        imported["duplicate"], 2,
        "seq 1 and c2 are held, c3 is not: {imported}"
    );
}
