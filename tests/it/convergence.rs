//! Property: stores that append at random and exchange bundles cut at random frontiers,
//! delivered in random order, duplicated or lost, hold the same entries once everything has
//! been delivered; and at every point in between, each store holds an exact prefix of every
//! author's chain.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use mule::bundle::{Coverage, Imported, import_bundle, write_bundle};
use mule::entry::body_from_json;
use mule::store::{Draft, Frontier, Store};
use mule::{AuthorId, Hash};
use proptest::prelude::*;
use proptest::sample::Index;

/// Most stores in a scenario; also the most authors a frontier can name.
const MAX_STORES: usize = 5;

/// Where an export starts.
#[derive(Debug, Clone)]
enum After {
    /// Everything (`--all`).
    Nothing,
    /// What every known peer acknowledged (`mule export` without options).
    AcknowledgedByAll,
    /// A random frontier (`--since`): for the sender's i-th author, `None` leaves the author
    /// out (exported whole), `Some(ix)` cuts its chain at `ix` in `0..=frontier`. Cuts above
    /// what a receiver holds leave gaps there, so entries wait.
    Cut(Vec<Option<Index>>),
}

#[derive(Debug, Clone)]
enum Step {
    /// Store `.0` appends `.1` entries in one batch.
    Append(usize, usize),
    /// Store `.0` writes a bundle starting after `.1` and puts it in flight.
    Export(usize, After),
    /// The in-flight bundle picked by `.0` reaches store `.1`, `.2` times (0: lost on the way).
    Deliver(Index, usize, usize),
    /// Store `.0` imports again every bundle it ever received, newest first.
    Replay(usize),
}

fn after() -> impl Strategy<Value = After> {
    prop_oneof![
        Just(After::Nothing),
        Just(After::AcknowledgedByAll),
        prop::collection::vec(prop::option::weighted(0.8, any::<Index>()), MAX_STORES)
            .prop_map(After::Cut),
    ]
}

fn step(stores: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (0..stores, 1..30usize).prop_map(|(s, n)| Step::Append(s, n)),
        3 => (0..stores, after()).prop_map(|(s, a)| Step::Export(s, a)),
        6 => (any::<Index>(), 0..stores, 0..3usize).prop_map(|(b, to, n)| Step::Deliver(b, to, n)),
        1 => (0..stores).prop_map(Step::Replay),
    ]
}

/// Every store first appends a batch (so exports have chains to cut), then random steps.
fn scenario() -> impl Strategy<Value = (usize, Vec<Step>)> {
    (3..=MAX_STORES).prop_flat_map(|n| {
        let first = prop::collection::vec(1..30usize, n).prop_map(|counts| {
            counts
                .into_iter()
                .enumerate()
                .map(|(s, count)| Step::Append(s, count))
                .collect::<Vec<_>>()
        });
        let rest = prop::collection::vec(step(n), 15..50);
        (
            Just(n),
            (first, rest).prop_map(|(first, rest)| [first, rest].concat()),
        )
    })
}

/// Every attached entry hash of a store, per author, in seq order.
fn chains(store: &Store) -> BTreeMap<AuthorId, Vec<Hash>> {
    let mut all: BTreeMap<AuthorId, Vec<Hash>> = BTreeMap::new();
    store
        .for_each_segment::<mule::store::Error>(None, |segment, hashes| {
            all.entry(segment.author)
                .or_default()
                .extend_from_slice(hashes);
            Ok(())
        })
        .expect("read store");
    all
}

/// The store holds, for every author, exactly the first `frontier` entries that author
/// appended, no fork, and counts that agree with its frontier.
fn holds_exact_prefixes(
    store: &Store,
    written: &BTreeMap<AuthorId, Vec<Hash>>,
) -> Result<(), TestCaseError> {
    let status = store.status().expect("status");
    prop_assert!(
        status.forks.is_empty(),
        "a fork appeared: {:?}",
        status.forks
    );
    prop_assert_eq!(status.entries, status.frontier.values().sum::<u64>());
    let chains = chains(store);
    prop_assert_eq!(
        chains.keys().collect::<Vec<_>>(),
        status.frontier.keys().collect::<Vec<_>>()
    );
    for (author, chain) in &chains {
        let appended = written.get(author).map_or(&[][..], Vec::as_slice);
        prop_assert_eq!(chain.len() as u64, status.frontier[author]);
        prop_assert!(chain.len() <= appended.len());
        prop_assert_eq!(&chain[..], &appended[..chain.len()]);
    }
    Ok(())
}

fn draft(store: usize, i: usize) -> Draft {
    Draft {
        kind: "obs".into(),
        body: body_from_json(&serde_json::json!({ "s": store, "i": i })).expect("body"),
        links: vec![],
        timestamp: 1_795_000_000_000 + i as u64,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 256, ..ProptestConfig::default() })]

    #[test]
    fn stores_converge_whatever_is_cut_lost_duplicated_or_reordered((n, steps) in scenario()) {
        let work = tempfile::tempdir().expect("temp");
        let mut stores: Vec<Store> = (0..n)
            .map(|i| Store::open(&work.path().join(format!("s{i}"))).expect("open"))
            .collect();
        // What each author appended, in seq order: the truth every store must agree with.
        let mut written: BTreeMap<AuthorId, Vec<Hash>> = BTreeMap::new();
        let mut in_flight: Vec<PathBuf> = Vec::new();
        let mut received: Vec<Vec<PathBuf>> = vec![Vec::new(); n];
        let mut next_bundle = 0usize;
        let mut bundle_path = || {
            next_bundle += 1;
            work.path().join(format!("b{next_bundle}.mule"))
        };
        for step in &steps {
            match step {
                Step::Append(s, count) => {
                    let author = stores[*s].author();
                    let hashes = stores[*s]
                        .append((0..*count).map(|i| draft(*s, i)).collect())
                        .expect("append");
                    written.entry(author).or_default().extend(hashes);
                }
                Step::Export(s, after) => {
                    let store = &stores[*s];
                    let after = match after {
                        After::Nothing => Frontier::new(),
                        After::AcknowledgedByAll => store.acknowledged_by_all().expect("acks"),
                        After::Cut(cuts) => store
                            .frontier()
                            .expect("frontier")
                            .into_iter()
                            .zip(cuts)
                            .filter_map(|((author, seq), cut)| {
                                cut.as_ref().map(|ix| (author, ix.index(seq as usize + 1) as u64))
                            })
                            .collect(),
                    };
                    let path = bundle_path();
                    write_bundle(store, &after, &Coverage::default(), &path, false)
                        .expect("export");
                    in_flight.push(path);
                }
                Step::Deliver(pick, to, times) => {
                    if in_flight.is_empty() {
                        continue;
                    }
                    let path = in_flight[pick.index(in_flight.len())].clone();
                    for delivery in 0..*times {
                        let imported = import_bundle(&mut stores[*to], &path).expect("import");
                        if delivery > 0 {
                            prop_assert!(
                                matches!(imported, Imported::AlreadyImported { .. }),
                                "a second delivery of one file was applied again"
                            );
                        }
                        received[*to].push(path.clone());
                    }
                    holds_exact_prefixes(&stores[*to], &written)?;
                }
                Step::Replay(s) => {
                    let before = chains(&stores[*s]);
                    for path in received[*s].iter().rev() {
                        import_bundle(&mut stores[*s], path).expect("re-import");
                    }
                    prop_assert_eq!(chains(&stores[*s]), before, "a replay changed the store");
                }
            }
        }
        // Deliver everything: each store in turn sends all it holds to every other. One round
        // is enough: the last sender holds everything by then, so nothing may stay waiting.
        for from in 0..n {
            let path = bundle_path();
            write_bundle(&stores[from], &Frontier::new(), &Coverage::default(), &path, false)
                .expect("export");
            for to in (0..n).filter(|to| *to != from) {
                import_bundle(&mut stores[to], &path).expect("import");
            }
        }
        let expected_frontier: Frontier = written
            .iter()
            .map(|(author, hashes)| (*author, hashes.len() as u64))
            .collect();
        let expected_hashes: BTreeSet<Hash> = written.values().flatten().copied().collect();
        for store in &stores {
            holds_exact_prefixes(store, &written)?;
            let status = store.status().expect("status");
            prop_assert_eq!(status.waiting, 0);
            prop_assert_eq!(&status.frontier, &expected_frontier);
            let held: BTreeSet<Hash> = chains(store).into_values().flatten().collect();
            prop_assert_eq!(&held, &expected_hashes);
        }
    }
}
