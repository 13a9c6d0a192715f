//! Views derived from the log: kv semantics through the CLI, catch-up after sync, rebuilds
//! that give identical results, and order independence.

use assert_cmd::prelude::*;
use mule::bundle::{Coverage, import_bundle, write_bundle};
use mule::entry::body_from_json;
use mule::store::{Draft, Frontier, Store};
use mule::views::Views;
use proptest::prelude::*;
use serde_json::Value;

use super::*;

/// The current values of `key`; none when `kv get` says the key is missing (exit 1, and
/// under `--json` a failure object on stdout).
fn values(store: &Path, key: &str) -> Vec<Value> {
    let out = run(store, &["--json", "kv", "get", key]);
    if out.status.code() == Some(1) && stdout(&out).contains(&format!("no kv key `{key}`")) {
        return Vec::new();
    }
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON")["value"].clone())
        .collect()
}

#[test]
fn a_single_writer_replaces_and_deletes() {
    let work = Work::new();
    let store = work.path("s");
    mule(&store)
        .args(["kv", "put", "well-7", r#""dry""#])
        .assert()
        .success();
    mule(&store)
        .args(["kv", "put", "well-7", r#""wet""#])
        .assert()
        .success();
    assert_eq!(values(&store, "well-7"), [Value::from("wet")]);
    mule(&store)
        .args(["kv", "put", "well-8", "1"])
        .assert()
        .success();
    let list = stdout(&run(&store, &["kv", "list", "well-"]));
    assert_eq!(list.lines().collect::<Vec<_>>(), ["well-7", "well-8"]);
    mule(&store)
        .args(["kv", "del", "well-7"])
        .assert()
        .success();
    assert!(values(&store, "well-7").is_empty());
    assert_eq!(stdout(&run(&store, &["kv", "list"])).trim(), "well-8");
    mule(&store).args(["kv", "del", "well-7"]).assert().code(1);
}

/// Issue 16: `kv get` of a missing key printed nothing and exited 0 while `map get` exited 1.
/// One rule for every view: a missing key, document or event is exit 1 with one line on
/// stderr and nothing on stdout.
#[test]
fn a_missing_key_is_exit_1_in_every_view() {
    let work = Work::new();
    let store = work.path("s");
    mule(&store)
        .args(["kv", "put", "k", "1"])
        .assert()
        .success();
    mule(&store).args(["kv", "del", "k"]).assert().success();
    for (args, said) in [
        (
            ["kv", "get", "never"],
            "no kv key `never` (never put, or deleted)",
        ),
        (["kv", "get", "k"], "no kv key `k`"),
        (["kv", "del", "k"], "no kv key `k`"),
        (
            ["map", "get", "X"],
            "no map document `X` (never created, or deleted)",
        ),
        (["map", "del", "X"], "no map document `X`"),
        (["cal", "rm", "X"], "no event `X` (never added, or removed)"),
    ] {
        let out = run(&store, &args);
        assert_eq!(out.status.code(), Some(1), "mule {args:?}");
        assert_eq!(stdout(&out), "", "mule {args:?}");
        assert_eq!(
            stderr(&out).lines().count(),
            1,
            "mule {args:?}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(said),
            "mule {args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn concurrent_puts_both_show_until_merged() {
    let work = Work::new();
    let (a, b, stick) = (work.path("a"), work.path("b"), work.folder("stick"));
    mule(&a)
        .args(["kv", "put", "k", r#""base""#])
        .assert()
        .success();
    mule(&a).arg("sync").arg(&stick).assert().success();
    mule(&b).arg("sync").arg(&stick).assert().success();
    assert_eq!(
        values(&b, "k"),
        [Value::from("base")],
        "synced means visible"
    );
    mule(&a)
        .args(["kv", "put", "k", r#""from a""#])
        .assert()
        .success();
    mule(&b)
        .args(["kv", "put", "k", r#""from b""#])
        .assert()
        .success();
    for store in [&a, &b, &a] {
        mule(store).arg("sync").arg(&stick).assert().success();
    }
    let mut both = values(&a, "k");
    both.sort_by_key(|v| v.to_string());
    assert_eq!(both, [Value::from("from a"), Value::from("from b")]);
    assert_eq!(values(&b, "k").len(), 2);
    mule(&b)
        .args(["kv", "put", "k", r#""merged""#])
        .assert()
        .success();
    mule(&b).arg("sync").arg(&stick).assert().success();
    mule(&a).arg("sync").arg(&stick).assert().success();
    assert_eq!(values(&a, "k"), [Value::from("merged")]);
}

#[test]
fn reindex_and_a_deleted_views_file_rebuild_identically() {
    let work = Work::new();
    let store = work.path("s");
    for (k, v) in [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4")] {
        mule(&store).args(["kv", "put", k, v]).assert().success();
    }
    mule(&store).args(["kv", "del", "c"]).assert().success();
    let dump = |store: &Path| {
        let views = Views::open(store).expect("views");
        views.kv().dump().expect("dump")
    };
    let before = dump(&store);
    mule(&store).arg("reindex").assert().success();
    assert_eq!(dump(&store), before);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(store.join(format!("views.sqlite{suffix}")));
    }
    assert_eq!(values(&store, "a"), [Value::from(3)]);
    assert_eq!(dump(&store), before);
}

fn kv_draft(key: &str, value: i64, links: Vec<mule::Hash>) -> Draft {
    Draft {
        kind: "kv".into(),
        body: body_from_json(&serde_json::json!({ "k": key, "v": value })).expect("body"),
        links,
        timestamp: 1_795_000_000_000,
    }
}

/// A map node (or its deletion) at a position derived from `step`.
fn map_draft(id: &str, step: usize, delete: bool, links: Vec<mule::Hash>) -> Draft {
    let doc = if delete {
        serde_json::json!({ "id": id, "deleted": true })
    } else {
        let lat = (step % 7) as f64 - 3.0;
        serde_json::json!({ "id": id, "lat": lat, "lon": 179.0 + (step % 3) as f64 * 0.5 - 0.5 })
    };
    Draft {
        kind: "map".into(),
        body: body_from_json(&doc).expect("body"),
        links,
        // Equal timestamps on purpose: the winner rule must fall back to the hash.
        timestamp: 1_795_000_000_000 + (step % 2) as u64,
    }
}

/// A weekly calendar event (or its tombstone) whose day and hour derive from `step`.
fn cal_draft(id: &str, step: usize, delete: bool, links: Vec<mule::Hash>) -> Draft {
    let event = if delete {
        serde_json::json!({ "id": id, "deleted": true })
    } else {
        let (day, hour) = (1 + step % 28, 8 + step % 10);
        serde_json::json!({
            "id": id, "title": format!("step {step}"), "tz": "America/Anchorage",
            "start": format!("2027-02-{day:02}T{hour:02}:00:00"),
            "end": format!("2027-02-{day:02}T{hour:02}:30:00"),
            "rrule": "FREQ=WEEKLY;UNTIL=20270401T000000Z", "except": ["2027-03-08"],
        })
    };
    Draft {
        kind: "cal".into(),
        body: body_from_json(&event).expect("body"),
        links,
        timestamp: 1_795_000_000_000,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Three writers put, merge and delete kv keys, map documents and calendar events; their bundles reach three readers shuffled and
    /// repeated; every reader's view dump is identical.
    #[test]
    fn views_do_not_depend_on_arrival_order(
        puts in prop::collection::vec((0..3usize, 0..4usize, any::<bool>(), 0..6u8), 1..25),
        orders in prop::collection::vec(Just(()).prop_perturb(|_, mut rng| {
            let mut order: Vec<usize> = (0..6).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, rng.random_range(0..=i));
            }
            order
        }), 3),
    ) {
        let work = tempfile::tempdir().expect("temp");
        let mut writers: Vec<Store> = (0..3)
            .map(|i| Store::open(&work.path().join(format!("w{i}"))).expect("open"))
            .collect();
        let mut bundles = Vec::new();
        for (step, &(writer, key, merge, op)) in puts.iter().enumerate() {
            let key = format!("key-{key}");
            let store = &mut writers[writer];
            let mut views = Views::open(store.dir()).expect("views");
            views.catch_up(store).expect("catch up");
            let draft = if op < 2 {
                let links = if merge {
                    views.kv().heads(&key).expect("heads").into_iter().map(|h| h.hash).collect()
                } else {
                    Vec::new()
                };
                kv_draft(&key, step as i64, links)
            } else if op < 4 {
                let links = if merge {
                    views.map().heads(&key).expect("heads").into_iter().map(|h| h.hash).collect()
                } else {
                    Vec::new()
                };
                map_draft(&key, step, op == 3, links)
            } else {
                let links = if merge {
                    views.cal().heads(&key).expect("heads").into_iter().map(|h| h.hash).collect()
                } else {
                    Vec::new()
                };
                cal_draft(&key, step, op == 5, links)
            };
            store.append(vec![draft]).expect("append");
            // Writers exchange now and then, so later puts can link others' versions.
            if step % 4 == 3 {
                let path = work.path().join(format!("x{step}.mule"));
                write_bundle(&writers[writer], &Frontier::new(), &Coverage::default(), &path, false).expect("export");
                for other in &mut writers {
                    import_bundle(other, &path).expect("import");
                }
            }
        }
        for (i, writer) in writers.iter().enumerate() {
            for half in 0..2 {
                let path = work.path().join(format!("final-{i}-{half}.mule"));
                write_bundle(writer, &Frontier::new(), &Coverage::default(), &path, false).expect("export");
                bundles.push(path);
            }
        }
        let mut dumps = Vec::new();
        for (r, order) in orders.iter().enumerate() {
            let mut reader = Store::open(&work.path().join(format!("r{r}"))).expect("open");
            let mut views = Views::open(reader.dir()).expect("views");
            for &i in order {
                import_bundle(&mut reader, &bundles[i]).expect("import");
                views.catch_up(&reader).expect("catch up");
            }
            let snapshot = |views: &Views| {
                let bbox = mule::views::map::BBox::parse("-90,90", "170,-170").expect("bbox");
                let shown: Vec<_> = views.map().query(&bbox, false).expect("query")
                    .iter().map(|v| v.to_json()).collect();
                let (from, to) = (
                    mule::calendar::time::parse_time("2027-01-01", chrono_tz::UTC, false).expect("from"),
                    mule::calendar::time::parse_time("2027-04-01", chrono_tz::UTC, false).expect("to"),
                );
                let occurrences: Vec<_> = views.cal().query(from, to, chrono_tz::UTC).expect("query").expect("few")
                    .iter().map(|(o, conflict)| o.to_json(*conflict)).collect();
                (
                    (views.kv().dump().expect("kv"), views.map().dump().expect("map"), shown),
                    (views.cal().dump().expect("cal"), occurrences),
                )
            };
            dumps.push(snapshot(&views));
            views.rebuild(&reader).expect("rebuild");
            prop_assert_eq!(&snapshot(&views), dumps.last().expect("dump"));
        }
        prop_assert_eq!(&dumps[0], &dumps[1]);
        prop_assert_eq!(&dumps[0], &dumps[2]);
    }
}
