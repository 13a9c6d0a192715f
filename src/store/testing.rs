//! Helpers the store's unit tests share: stores, drafts, and runs signed to order.

use serde_json::json;

use crate::entry::body_from_json;
use crate::id::{AuthorId, Hash};
use crate::segment::Segment;

use super::{Draft, Error, Frontier, Outcome, Store, Verified};

pub(super) fn draft(i: u64) -> Draft {
    Draft {
        kind: "test".into(),
        body: body_from_json(&json!({ "i": i })).unwrap(),
        links: vec![],
        timestamp: 1_700_000_000_000 + i,
    }
}

pub(super) fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    (dir, store)
}

/// The first `entries` of `full` (a run of `source`'s chain) with the bodies at `edits`
/// replaced, signed by `source` at its last entry: a run that may contradict the chain.
pub(super) fn signed_prefix(
    source: &Store,
    full: &Segment,
    entries: usize,
    edits: &[(usize, &str)],
) -> Verified {
    let mut segment = full.clone();
    segment.entries.truncate(entries);
    for (at, body) in edits {
        segment.entries[*at].body = body_from_json(&json!(body)).unwrap();
    }
    let hashes = source
        .key
        .sign_segment(&mut segment, |_, last| last)
        .unwrap();
    Verified {
        segment,
        hashes,
        bytes: None,
    }
}

/// A body for the entry at index `at` of `full` such that the edited entry's hash is
/// higher (`higher`) or lower than the original's: tests use it to know which branch of a
/// fork the lowest-hash rule attaches.
pub(super) fn edit_that(source: &Store, full: &Segment, at: usize, higher: bool) -> String {
    let original = full.hashes().unwrap()[at];
    (0..)
        .map(|i| format!("edit{i}"))
        .find(|body| {
            let edited = signed_prefix(source, full, at + 1, &[(at, body)]).hashes[at];
            (edited > original) == higher
        })
        .unwrap()
}

pub(super) fn segments_of(store: &Store) -> Vec<Verified> {
    let mut out = Vec::new();
    store
        .for_each_segment::<Error>(None, |segment, hashes| {
            out.push(Verified {
                segment: segment.clone(),
                hashes: hashes.to_vec(),
                bytes: None,
            });
            Ok(())
        })
        .unwrap();
    out
}

/// Imports `runs` in one bundle from `sender` (reporting `frontier`); returns the totals.
pub(super) fn import_from(
    sink: &mut Store,
    runs: Vec<Verified>,
    sender: &AuthorId,
    frontier: &Frontier,
) -> Outcome {
    let mut import = sink.begin_import().unwrap();
    for run in runs {
        import.offer(run).unwrap();
    }
    // Bundle ids only keep a file from being imported twice, which these tests do not use.
    import
        .commit(&Hash::of(b"bundle"), sender, Some(frontier))
        .unwrap()
}

/// Imports each run in a bundle of its own from `sender`.
pub(super) fn import_each(sink: &mut Store, runs: &[Verified], sender: &AuthorId) -> Outcome {
    let mut total = Outcome::default();
    for run in runs {
        total += import_from(sink, vec![run.clone()], sender, &Frontier::new());
    }
    total
}

/// The attached hashes of `author` in `store`, in seq order.
pub(super) fn chain_of(store: &Store, author: &AuthorId) -> Vec<Hash> {
    let mut chain = Vec::new();
    store
        .for_each_segment::<Error>(Some(author), |_, hashes| {
            chain.extend_from_slice(hashes);
            Ok(())
        })
        .unwrap();
    chain
}

/// A source store holding `n` entries, and its one segment.
pub(super) fn source_of(n: u64) -> (tempfile::TempDir, Store, Segment) {
    let (dir, mut source) = open();
    source.append((0..n).map(draft).collect()).unwrap();
    let full = segments_of(&source)[0].segment.clone();
    (dir, source, full)
}

pub(super) fn assert_fsck_passes(store: &Store) {
    let report = crate::fsck::check(store).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
