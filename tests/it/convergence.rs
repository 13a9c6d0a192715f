//! Properties:
//! - stores that append at random and exchange bundles cut at random frontiers, delivered in
//!   random order, duplicated or lost, hold the same entries once everything has been
//!   delivered; and at every point in between, each store holds an exact prefix of every
//!   author's chain;
//! - authors whose chains fork (copied stores that both write, copies of copies), delivered in
//!   random orders and random splits into bundles, give every store the same attached chains
//!   (the lowest-hash branch at every fork) and the same views.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use mule::bundle::{Coverage, Imported, import_bundle, write_bundle};
use mule::entry::body_from_json;
use mule::store::{Draft, Frontier, Store};
use mule::views::Views;
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

/// Most authors in a fork scenario.
const FORK_AUTHORS: usize = 3;

/// What one author's devices do: `Copy` starts a new branch by copying the store of branch
/// `.0` (its key too), `Append` has branch `.0` append `.1` entries.
#[derive(Debug, Clone)]
enum BranchStep {
    Copy(Index),
    Append(Index, usize),
}

fn branch_steps() -> impl Strategy<Value = Vec<BranchStep>> {
    prop::collection::vec(
        prop_oneof![
            1 => any::<Index>().prop_map(BranchStep::Copy),
            2 => (any::<Index>(), 1..4usize).prop_map(|(b, n)| BranchStep::Append(b, n)),
        ],
        1..10,
    )
}

/// Copies a closed store directory (key and database).
fn copy_store(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create copy");
    for file in std::fs::read_dir(from).expect("read store dir") {
        let file = file.expect("dir entry");
        std::fs::copy(file.path(), to.join(file.file_name())).expect("copy file");
    }
}

/// A kv or map entry whose body is unique to the branch and step.
fn forked_draft(author: usize, branch: usize, step: usize) -> Draft {
    let id = format!("doc-{}", step % 3);
    let (kind, body) = if step.is_multiple_of(2) {
        (
            "kv",
            serde_json::json!({ "k": id, "v": [author, branch, step] }),
        )
    } else {
        let lat = (branch % 5) as f64;
        (
            "map",
            serde_json::json!({ "id": id, "lat": lat, "lon": step as f64 / 10.0 }),
        )
    };
    Draft {
        kind: kind.into(),
        body: body_from_json(&body).expect("body"),
        links: vec![],
        timestamp: 1_795_000_000_000 + step as u64,
    }
}

/// Plays one author's steps in `dir`; returns every branch's store directory.
fn forked_author(dir: &std::path::Path, author: usize, steps: &[BranchStep]) -> Vec<PathBuf> {
    let first = dir.join(format!("a{author}-b0"));
    Store::open(&first)
        .expect("open")
        .append(vec![forked_draft(author, 0, 0)])
        .expect("append");
    let mut branches = vec![first];
    for (step, action) in steps.iter().enumerate() {
        match action {
            BranchStep::Copy(from) => {
                let copy = dir.join(format!("a{author}-b{}", branches.len()));
                copy_store(&branches[from.index(branches.len())], &copy);
                Store::open(&copy)
                    .expect("open")
                    .confirm_home()
                    .expect("confirm");
                branches.push(copy);
            }
            BranchStep::Append(at, count) => {
                let branch = at.index(branches.len());
                let mut store = Store::open(&branches[branch]).expect("open");
                let drafts = (0..*count)
                    .map(|i| forked_draft(author, branch, step * 4 + i))
                    .collect();
                store.append(drafts).expect("append");
            }
        }
    }
    branches
}

/// The chain the lowest-hash rule attaches, given every branch's chain.
fn lowest_hash_chain(branches: &[Vec<Hash>]) -> Vec<Hash> {
    let mut chain: Vec<Hash> = Vec::new();
    loop {
        let next = branches
            .iter()
            .filter(|b| b.len() > chain.len() && b[..chain.len()] == chain[..])
            .map(|b| b[chain.len()])
            .min();
        match next {
            Some(hash) => chain.push(hash),
            None => return chain,
        }
    }
}

/// Everything the views show, for comparing stores.
type ViewDumps = Vec<Vec<(String, Hash, Option<String>)>>;

fn view_dumps(views: &Views) -> ViewDumps {
    vec![
        views.kv().dump().expect("kv"),
        views.map().dump().expect("map"),
        views.cal().dump().expect("cal"),
    ]
}

/// What a store shows of a fork scenario: attached chains and view dumps. (How the entries
/// not attached are split into kept branch rows may still depend on the order: a run cut from
/// a branch can be kept beside a copy of it.)
type Replica = (BTreeMap<AuthorId, Vec<Hash>>, ViewDumps);

/// A random permutation of `0..n`.
fn order(n: usize) -> impl Strategy<Value = Vec<usize>> {
    Just(()).prop_perturb(move |_, mut rng| {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        order
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, max_shrink_iters: 64, ..ProptestConfig::default() })]

    #[test]
    fn forked_chains_and_views_are_the_same_whatever_the_order(
        authors in prop::collection::vec(branch_steps(), 1..=FORK_AUTHORS),
        cuts in prop::collection::vec(any::<Index>(), 8),
        orders in prop::collection::vec(order(64), 3),
    ) {
        let work = tempfile::tempdir().expect("temp");
        let mut expected: BTreeMap<AuthorId, Vec<Hash>> = BTreeMap::new();
        let mut bundles: Vec<PathBuf> = Vec::new();
        for (a, steps) in authors.iter().enumerate() {
            let mut tips = Vec::new();
            let mut author = None;
            for (b, dir) in forked_author(work.path(), a, steps).iter().enumerate() {
                let store = Store::open(dir).expect("open");
                author = Some(store.author());
                let chain = chains(&store).into_values().next().expect("a chain");
                // The whole branch, and a tail of it cut at a random seq: runs that wait, or
                // that continue a branch kept or attached before them.
                let cut = cuts[(a * 7 + b) % cuts.len()].index(chain.len()) as u64;
                for (i, after) in [Frontier::new(), Frontier::from([(store.author(), cut)])].iter().enumerate() {
                    let path = work.path().join(format!("a{a}-b{b}-{i}.mule"));
                    write_bundle(&store, after, &Coverage::default(), &path, false).expect("export");
                    bundles.push(path);
                }
                tips.push(chain);
            }
            expected.insert(author.expect("a branch"), lowest_hash_chain(&tips));
        }
        let mut reference: Option<Replica> = None;
        for (r, order) in orders.iter().enumerate() {
            let mut store = Store::open(&work.path().join(format!("r{r}"))).expect("open");
            let mut views = Views::open(store.dir()).expect("views");
            for &i in order.iter().filter(|&&i| i < bundles.len()) {
                import_bundle(&mut store, &bundles[i]).expect("import");
                views.catch_up(&store).expect("catch up");
            }
            let held = chains(&store);
            prop_assert_eq!(&held, &expected);
            prop_assert_eq!(store.status().expect("status").waiting, 0);
            let dumps = view_dumps(&views);
            views.rebuild(&store).expect("rebuild");
            prop_assert_eq!(&view_dumps(&views), &dumps, "catch-up and rebuild differ");
            let report = mule::fsck::check(&store).expect("fsck");
            prop_assert!(report.problems.is_empty(), "{:?}", report.problems);
            match &reference {
                None => reference = Some((held, dumps)),
                Some(reference) => {
                    prop_assert_eq!(&reference.0, &held);
                    prop_assert_eq!(&reference.1, &dumps);
                }
            }
        }
        // A late store holding part of it tells the first what it holds, then gets only what the
        // first thinks it lacks (`export --for`): its frontier names seqs, not branches, so
        // nothing of another branch may be left out.
        let mut late = Store::open(&work.path().join("late")).expect("open");
        let half = &orders[0][..orders[0].len() / 2];
        for &i in half.iter().filter(|&&i| i < bundles.len()) {
            import_bundle(&mut late, &bundles[i]).expect("import");
        }
        let mut first = Store::open(&work.path().join("r0")).expect("open");
        let told = work.path().join("late.mule");
        write_bundle(&late, &Frontier::new(), &Coverage::default(), &told, false).expect("export");
        import_bundle(&mut first, &told).expect("import");
        let after = first.peer_frontier(&late.author()).expect("peer").unwrap_or_default();
        let reply = work.path().join("reply.mule");
        write_bundle(&first, &after, &Coverage::default(), &reply, false).expect("export");
        import_bundle(&mut late, &reply).expect("import");
        prop_assert_eq!(&chains(&late), &expected);
        let mut views = Views::open(late.dir()).expect("views");
        views.catch_up(&late).expect("catch up");
        prop_assert_eq!(&view_dumps(&views), &reference.expect("a store").1);
    }
}
