//! Property: stores that append at random and exchange bundles in any order, with duplicates
//! and losses, hold the same entries once everything has been delivered.

use std::collections::BTreeSet;

use mule::Hash;
use mule::bundle::{Coverage, import_bundle, write_bundle};
use mule::entry::body_from_json;
use mule::store::{Draft, Frontier, Store};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    /// Store `0` appends `1` entries.
    Append(usize, usize),
    /// Store `0` exports (everything, or only what it thinks is unacknowledged) to store `1`;
    /// the bundle is delivered `2` times (0 = lost).
    Send(usize, usize, bool, usize),
    /// Store `0` re-imports every bundle it ever received, in reverse order.
    Replay(usize),
}

fn step(stores: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..stores, 1..40usize).prop_map(|(s, n)| Step::Append(s, n)),
        (0..stores, 0..stores, any::<bool>(), 0..3usize)
            .prop_map(|(from, to, all, times)| Step::Send(from, to, all, times)),
        (0..stores).prop_map(Step::Replay),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Step>)> {
    (3..=5usize).prop_flat_map(|n| (Just(n), prop::collection::vec(step(n), 1..30)))
}

fn hashes(store: &Store) -> BTreeSet<Hash> {
    let mut all = BTreeSet::new();
    store
        .for_each_segment::<mule::store::Error>(None, |_, hashes| {
            all.extend(hashes.iter().copied());
            Ok(())
        })
        .expect("read store");
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn stores_converge_whatever_the_delivery_order((n, steps) in scenario()) {
        let work = tempfile::tempdir().expect("temp");
        let mut stores: Vec<Store> = (0..n)
            .map(|i| Store::open(&work.path().join(format!("s{i}"))).expect("open"))
            .collect();
        let mut received: Vec<Vec<std::path::PathBuf>> = vec![Vec::new(); n];
        let mut counter = 0usize;
        let mut bundle_path = || {
            counter += 1;
            work.path().join(format!("b{counter}.mule"))
        };
        for step in &steps {
            match *step {
                Step::Append(s, count) => {
                    let drafts = (0..count)
                        .map(|i| Draft {
                            kind: "kv".into(),
                            body: body_from_json(&serde_json::json!({ "s": s, "i": i })).expect("body"),
                            links: vec![],
                            timestamp: 1_795_000_000_000 + i as u64,
                        })
                        .collect();
                    stores[s].append(drafts).expect("append");
                }
                Step::Send(from, to, all, times) => {
                    let after = if all { Frontier::new() } else { stores[from].acknowledged_by_all().expect("acks") };
                    let path = bundle_path();
                    write_bundle(&stores[from], &after, &Coverage::default(), &path, false).expect("export");
                    for _ in 0..times {
                        import_bundle(&mut stores[to], &path).expect("import");
                        received[to].push(path.clone());
                    }
                }
                Step::Replay(s) => {
                    for path in received[s].clone().iter().rev() {
                        import_bundle(&mut stores[s], path).expect("re-import");
                    }
                }
            }
        }
        // Deliver everything: every store sends all it has to every other, twice around.
        for _ in 0..2 {
            for from in 0..n {
                let path = bundle_path();
                write_bundle(&stores[from], &Frontier::new(), &Coverage::default(), &path, false).expect("export");
                for to in (0..n).filter(|to| *to != from) {
                    import_bundle(&mut stores[to], &path).expect("import");
                }
            }
        }
        let reference = (stores[0].frontier().expect("frontier"), hashes(&stores[0]));
        for store in &stores {
            let status = store.status().expect("status");
            prop_assert_eq!(status.waiting, 0);
            prop_assert!(status.forks.is_empty());
            prop_assert_eq!(&(status.frontier.clone(), hashes(store)), &reference);
            prop_assert_eq!(status.entries as usize, reference.1.len());
        }
    }
}
