//! Verified runs from elsewhere entering the store: each is attached, recognized as held, kept
//! waiting for its predecessors, or kept as a fork branch (see `fork`), all inside one
//! [`Import`] transaction per bundle.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::id::{AuthorId, Hash};
use crate::segment::Segment;

use super::bundles::record_bundle;
use super::fork::{continue_fork, keep_fork, settle};
use super::read::{entries_of_kind, kinds_of};
use super::status::record_acknowledged;
use super::{
    Error, Fault, Frontier, MERGE_BELOW_BYTES, SEGMENT_MAX_ENTRIES, SEGMENT_TARGET_BYTES, Store,
    author_row, damaged_row, hash_from,
};

/// What happened to one offered segment during an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Entries newly attached (including waiting ones they released).
    pub new: u64,
    /// Entries already held.
    pub duplicate: u64,
    /// Entries stored as waiting for predecessors.
    pub waiting: u64,
    /// Entries kept as a fork branch. A branch the lowest-hash rule then attaches (see the
    /// module docs) still counts here, not as `new`.
    pub forked: u64,
    /// Entries of fork branches not kept (or no longer kept) because their author has more than
    /// [`MAX_FORK_BRANCHES`](super::MAX_FORK_BRANCHES) conflicting branches.
    pub fork_dropped: u64,
}

impl std::ops::AddAssign for Outcome {
    fn add_assign(&mut self, other: Self) {
        self.new += other.new;
        self.duplicate += other.duplicate;
        self.waiting += other.waiting;
        self.forked += other.forked;
        self.fork_dropped += other.fork_dropped;
    }
}

/// A verified segment offered to the store, with its entry hashes and, when available, the
/// exact bytes it was decoded from (stored as they are when nothing is cut off).
#[derive(Debug, Clone)]
pub struct Verified {
    /// The segment.
    pub segment: Segment,
    /// Its entries' hashes.
    pub hashes: Vec<Hash>,
    /// Its wire bytes.
    pub bytes: Option<Vec<u8>>,
}

impl Verified {
    pub(super) fn into_bytes(self) -> Vec<u8> {
        match self.bytes {
            Some(bytes) => bytes,
            None => self.segment.encode(),
        }
    }

    /// Cuts the segment after `seq` (which it must hold), if the entry there is signed so the
    /// rest still ends in a signature. Returns how many entries were cut, or `None` when the
    /// entry at `seq` is unsigned and the segment was left as it was.
    pub fn keep_through(&mut self, seq: u64) -> Option<u64> {
        let keep = (seq - self.segment.first + 1) as usize;
        self.segment.entries[keep - 1].signature?;
        let cut = self.segment.entries.len() - keep;
        self.segment.entries.truncate(keep);
        self.hashes.truncate(keep);
        self.bytes = None;
        Some(cut as u64)
    }

    pub(super) fn drop_before(&mut self, seq: u64) {
        let cut = (seq - self.segment.first) as usize;
        self.segment.drop_before(seq, &self.hashes);
        self.hashes.drain(..cut);
        self.bytes = None;
    }

    pub(super) fn last_hash(&self) -> Hash {
        *self.hashes.last().expect("a verified segment is not empty")
    }
}

impl Store {
    /// Starts applying one bundle: everything offered through the returned [`Import`] becomes
    /// visible at once when it is committed, or not at all.
    pub fn begin_import(&mut self) -> Result<Import<'_>, Error> {
        let path = self.db_path.clone();
        let own = self.author();
        let tx = self.write_txn(IMPORTING)?;
        Ok(Import {
            tx,
            path,
            own,
            offered: BTreeMap::new(),
            outcome: Outcome::default(),
        })
    }
}

/// What an import's database errors say the store was doing.
const IMPORTING: &str = "importing a bundle";

/// One bundle's import in progress; see [`Store::begin_import`]. Dropping it without
/// [`Import::commit`] rolls everything back.
pub struct Import<'a> {
    tx: Transaction<'a>,
    path: PathBuf,
    own: AuthorId,
    /// The runs this bundle offered, by author row: what it may leave waiting.
    offered: BTreeMap<i64, Vec<(u64, u64)>>,
    outcome: Outcome,
}

impl Import<'_> {
    /// Runs `work` in the import's transaction; a failure names the database file.
    pub(super) fn run<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, Fault>,
    ) -> Result<T, Error> {
        work(&self.tx).map_err(|fault| fault.at(&self.path, IMPORTING))
    }

    /// Visits the entries of `kind` the store would hold if the import committed, like
    /// [`Store::entries_of_kind`].
    pub fn entries_of_kind(
        &self,
        after: &Frontier,
        kind: &str,
        visit: impl FnMut(crate::Entry),
    ) -> Result<(), Error> {
        entries_of_kind(&self.tx, &self.path, after, kind, visit)
    }

    /// Offers a verified run of the author's chain.
    pub fn offer(&mut self, verified: Verified) -> Result<Outcome, Error> {
        let row = self.offered_row(&verified)?;
        let outcome = self.run(|tx| offer(tx, row, verified))?;
        self.outcome += outcome;
        Ok(outcome)
    }

    /// The author's row, remembering the run as offered by this bundle.
    fn offered_row(&mut self, verified: &Verified) -> Result<i64, Error> {
        let row = self.run(|tx| author_row(tx, &verified.segment.author))?;
        let run = (verified.segment.first, verified.segment.last());
        self.offered.entry(row).or_default().push(run);
        Ok(row)
    }

    /// Offers a verified fork branch another store kept.
    pub fn offer_fork(&mut self, verified: Verified) -> Result<Outcome, Error> {
        // Placing a run finds the kept branch it contradicts or continues, and a branch that
        // turns out to continue our chain after all attaches normally.
        self.offer(verified)
    }

    /// Releases waiting runs that now attach, records the bundle as imported and, when given,
    /// `acknowledged` as what its sender holds (only what the sender signed is given), and
    /// commits. Returns the totals for this bundle.
    pub fn commit(
        mut self,
        bundle: &Hash,
        sender: &AuthorId,
        acknowledged: Option<&Frontier>,
    ) -> Result<Outcome, Error> {
        let offered = std::mem::take(&mut self.offered);
        let own = self.own;
        let mut outcome = self.outcome;
        self.run(|tx| {
            // Runs released from waiting were counted as waiting when offered, possibly by an
            // earlier bundle; what counts is which of this bundle's entries still wait at the end.
            outcome.waiting = 0;
            for (row, runs) in offered {
                let released = release_waiting(tx, row)?;
                outcome.new += released.new;
                outcome.duplicate += released.duplicate;
                outcome.forked += released.forked;
                outcome.fork_dropped += released.fork_dropped;
                let waiting = waiting_runs(tx, row)?;
                outcome.waiting += overlap(&merge_runs(runs), &merge_runs(waiting));
            }
            if let Some(frontier) = acknowledged.filter(|_| *sender != own) {
                record_acknowledged(tx, sender, frontier)?;
            }
            record_bundle(tx, bundle, sender, outcome.new)
        })?;
        let path = self.path;
        self.tx
            .commit()
            .map_err(|source| Fault::Db(source).at(&path, IMPORTING))?;
        Ok(outcome)
    }
}

/// The `(first, last)` of the author's waiting runs.
pub(super) fn waiting_runs(conn: &Connection, row: i64) -> Result<Vec<(u64, u64)>, Fault> {
    let mut stmt = conn.prepare_cached("SELECT first, last FROM waiting_v1 WHERE author = ?1")?;
    let runs = stmt
        .query_map([row], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(runs)
}

/// Sorted, disjoint, inclusive ranges covering exactly the seqs of `runs`.
pub(super) fn merge_runs(mut runs: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    runs.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(runs.len());
    for (first, last) in runs {
        match merged.last_mut() {
            Some(open) if first <= open.1.saturating_add(1) => open.1 = open.1.max(last),
            _ => merged.push((first, last)),
        }
    }
    merged
}

/// How many seqs two merged range lists share.
fn overlap(a: &[(u64, u64)], b: &[(u64, u64)]) -> u64 {
    let mut shared = 0;
    for &(a_first, a_last) in a {
        for &(b_first, b_last) in b {
            let (first, last) = (a_first.max(b_first), a_last.min(b_last));
            if first <= last {
                shared += last - first + 1;
            }
        }
    }
    shared
}

pub(super) fn head(tx: &Connection, row: i64) -> Result<(u64, Option<Hash>), Fault> {
    let (frontier, head): (u64, Option<Vec<u8>>) = tx.query_row(
        "SELECT frontier, head FROM authors_v1 WHERE id = ?1",
        [row],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((
        frontier,
        head.map(|h| hash_from("authors_v1.head", &h)).transpose()?,
    ))
}

/// Hashes of the attached entries `from..=to` of the author in `row`.
pub(super) fn attached_hashes(
    tx: &Connection,
    row: i64,
    from: u64,
    to: u64,
) -> Result<Vec<Hash>, Fault> {
    let mut stmt = tx.prepare_cached(
        "SELECT first, data FROM segments_v1 WHERE author = ?1 AND last >= ?2 AND first <= ?3 ORDER BY last",
    )?;
    let mut rows = stmt.query(params![row, from, to])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let first: u64 = r.get(0)?;
        let data: Vec<u8> = r.get(1)?;
        let hashes = Segment::decode(&data)
            .and_then(|s| s.hashes())
            .map_err(damaged_row("segments_v1", row, first))?;
        for (seq, hash) in (first..).zip(hashes) {
            if (from..=to).contains(&seq) {
                out.push(hash);
            }
        }
    }
    Ok(out)
}

/// Places one verified run, then lets the attached chain follow the lowest-hash rule (see the
/// module docs) where the run may have changed what wins.
fn offer(tx: &Connection, row: i64, verified: Verified) -> Result<Outcome, Fault> {
    let first = verified.segment.first;
    let mut outcome = place(tx, row, verified)?;
    if outcome.new + outcome.forked > 0 {
        outcome += settle(tx, row, first)?;
    }
    Ok(outcome)
}

/// Places one verified run: attaches it (or the part of it that is new), recognizes it as
/// already held, keeps it waiting, or keeps it as a fork branch.
pub(super) fn place(tx: &Connection, row: i64, mut verified: Verified) -> Result<Outcome, Fault> {
    let (frontier, head) = head(tx, row)?;
    let first = verified.segment.first;
    let last = verified.segment.last();
    let count = last - first + 1;
    let continues_ours = first == frontier + 1 && verified.segment.prev == head;
    if !continues_ours && let Some(outcome) = continue_fork(tx, row, &mut verified)? {
        return Ok(outcome);
    }
    if first > frontier + 1 {
        return keep_waiting(tx, row, verified);
    }
    if first == frontier + 1 {
        if continues_ours {
            attach(tx, row, verified)?;
            return Ok(Outcome {
                new: count,
                ..Outcome::default()
            });
        }
        // The author signed a different entry at `frontier` than the one we hold.
        let theirs = verified.segment.prev.expect("prev is absent only at seq 1");
        return keep_fork(tx, row, frontier, head, theirs, verified);
    }
    let top = last.min(frontier);
    let ours = attached_hashes(tx, row, first, top)?;
    let theirs = &verified.hashes[..ours.len()];
    match ours.iter().zip(theirs).position(|(a, b)| a != b) {
        None if last <= frontier => Ok(Outcome {
            duplicate: count,
            ..Outcome::default()
        }),
        None => {
            verified.drop_before(frontier + 1);
            attach(tx, row, verified)?;
            Ok(Outcome {
                new: last - frontier,
                duplicate: frontier + 1 - first,
                ..Outcome::default()
            })
        }
        Some(at) => {
            let seq = first + at as u64;
            let (ours, theirs) = (ours[at], verified.hashes[at]);
            let duplicate = at as u64;
            if seq > first {
                verified.drop_before(seq);
            }
            let mut outcome = keep_fork(tx, row, seq, Some(ours), theirs, verified)?;
            outcome.duplicate += duplicate;
            Ok(outcome)
        }
    }
}

/// The outcome of an `INSERT OR IGNORE` of `count` entries: `stored(count)` when the row was
/// new, all duplicates when an identical row was already kept.
fn stored_or_duplicate(inserted: usize, count: u64, stored: fn(u64) -> Outcome) -> Outcome {
    if inserted == 1 {
        stored(count)
    } else {
        Outcome {
            duplicate: count,
            ..Outcome::default()
        }
    }
}

fn keep_waiting(tx: &Connection, row: i64, verified: Verified) -> Result<Outcome, Fault> {
    let (first, last) = (verified.segment.first, verified.segment.last());
    let last_hash = verified.last_hash();
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO waiting_v1(author, first, last, last_hash, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![row, first, last, last_hash.as_bytes().as_slice(), verified.into_bytes()],
    )?;
    Ok(stored_or_duplicate(inserted, last - first + 1, |n| {
        Outcome {
            waiting: n,
            ..Outcome::default()
        }
    }))
}

/// Appends a run that continues the author's attached chain, merging it into the author's last
/// row while that row is under [`MERGE_BELOW_BYTES`], and advances the frontier.
pub(super) fn attach(tx: &Connection, row: i64, verified: Verified) -> Result<(), Fault> {
    let last = verified.segment.last();
    let head = verified.last_hash();
    match mergeable_tail(tx, row, &verified)? {
        Some(id) => {
            let data: Vec<u8> =
                tx.query_row("SELECT data FROM segments_v1 WHERE id = ?1", [id], |r| {
                    r.get(0)
                })?;
            let mut merged = Segment::decode(&data).map_err(damaged_row("segments_v1", row, 0))?;
            let continues = merged.author == verified.segment.author
                && merged.last() + 1 == verified.segment.first;
            if !continues {
                // The author's frontier and its last row disagree: the database was edited.
                return Err(Fault::BadValue {
                    location: format!("table segments_v1, row {id}"),
                    reason: format!(
                        "it holds author {} seq {}-{}, where the recorded frontier of author {} \
                         ends at seq {}",
                        merged.author.short(),
                        merged.first,
                        merged.last(),
                        verified.segment.author.short(),
                        verified.segment.first.saturating_sub(1)
                    ),
                });
            }
            merged.extend(verified.segment);
            tx.execute(
                "UPDATE segments_v1 SET last = ?2, kinds = ?3, data = ?4 WHERE id = ?1",
                params![id, last, kinds_of(&merged), merged.encode()],
            )?;
        }
        None => {
            let first = verified.segment.first;
            let kinds = kinds_of(&verified.segment);
            tx.execute(
                "INSERT INTO segments_v1(author, first, last, kinds, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![row, first, last, kinds, verified.into_bytes()],
            )?;
        }
    }
    tx.execute(
        "UPDATE authors_v1 SET frontier = ?2, head = ?3 WHERE id = ?1",
        params![row, last, head.as_bytes().as_slice()],
    )?;
    Ok(())
}

/// The id of the author's last row when `verified` should be merged into it: the row is small
/// (a short append or import made it) and stays within a row's bounds with the run added.
/// Only the row's length is read here, so a command appending one entry to a store whose last
/// row is large reads and rewrites nothing of it.
fn mergeable_tail(tx: &Connection, row: i64, verified: &Verified) -> Result<Option<i64>, Fault> {
    let tail: Option<(i64, usize, usize)> = tx
        .query_row(
            "SELECT id, last - first + 1, length(data) FROM segments_v1
             WHERE author = ?1 ORDER BY last DESC LIMIT 1",
            [row],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let new_len = verified.bytes.as_ref().map_or(0, Vec::len);
    Ok(tail.and_then(|(id, count, len)| {
        (len < MERGE_BELOW_BYTES
            && count + verified.segment.entries.len() <= SEGMENT_MAX_ENTRIES
            && len + new_len < SEGMENT_TARGET_BYTES)
            .then_some(id)
    }))
}

/// A waiting run of the author whose predecessor is held on a kept fork branch.
fn waiting_on_a_fork(tx: &Connection, row: i64) -> Result<Option<(i64, Vec<u8>)>, Fault> {
    let candidates: Vec<(i64, Vec<u8>, u64, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT w.id, w.data, f.first, f.data FROM waiting_v1 w JOIN forks_v1 f
               ON f.author = w.author AND f.first <= w.first - 1 AND f.last >= w.first - 1
             WHERE w.author = ?1 ORDER BY w.first",
        )?
        .query_map([row], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    for (id, data, branch_first, branch) in candidates {
        let run = Segment::decode(&data).map_err(damaged_row("waiting_v1", row, id as u64))?;
        let hashes = Segment::decode(&branch)
            .and_then(|b| b.hashes())
            .map_err(damaged_row("forks_v1", row, branch_first))?;
        let at = (run.first - 1 - branch_first) as usize;
        if run.prev.is_some() && hashes.get(at) == run.prev.as_ref() {
            return Ok(Some((id, data)));
        }
    }
    Ok(None)
}

/// Offers again every waiting run of the author that may now attach, or continue a kept fork
/// branch.
fn release_waiting(tx: &Connection, row: i64) -> Result<Outcome, Fault> {
    let mut total = Outcome::default();
    loop {
        let (frontier, _) = head(tx, row)?;
        let next: Option<(i64, Vec<u8>)> = tx
            .query_row(
                "SELECT id, data FROM waiting_v1 WHERE author = ?1 AND first <= ?2 ORDER BY first LIMIT 1",
                params![row, frontier + 1],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((id, data)) = next.or(waiting_on_a_fork(tx, row)?) else {
            return Ok(total);
        };
        tx.execute("DELETE FROM waiting_v1 WHERE id = ?1", [id])?;
        let damaged = damaged_row("waiting_v1", row, id as u64);
        let segment = Segment::decode(&data).map_err(damaged)?;
        let hashes = segment
            .hashes()
            .map_err(damaged_row("waiting_v1", row, id as u64))?;
        let outcome = offer(
            tx,
            row,
            Verified {
                segment,
                hashes,
                bytes: Some(data),
            },
        )?;
        total += outcome;
        if outcome.waiting > 0 {
            // Offered again, the run went back to waiting: nothing more can move now (and
            // picking it again would never end).
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{merge_runs, overlap};
    use crate::id::Hash;
    use crate::store::testing::{draft, edit_that, open, segments_of, signed_prefix};
    use crate::store::{Outcome, Store, Verified};

    #[test]
    fn waiting_runs_attach_when_the_gap_fills() {
        let (_a, mut source) = open();
        source.append((0..5).map(draft).collect()).unwrap();
        source.append((5..9).map(draft).collect()).unwrap();
        // Force two rows by appending enough to not merge: instead split the segment by hand.
        let mut segs = segments_of(&source);
        assert_eq!(segs.len(), 1);
        let whole = segs.remove(0);
        let mut tail = whole.clone();
        tail.drop_before(6); // seq 6..=9, last entry signed
        let (_b, mut sink) = open();
        let mut import = sink.begin_import().unwrap();
        let outcome = import.offer(tail.clone()).unwrap();
        assert_eq!(outcome.waiting, 4);
        import
            .commit(&Hash::of(b"b1"), &source.author(), None)
            .unwrap();
        assert_eq!(sink.status().unwrap().waiting, 4);
        let mut import = sink.begin_import().unwrap();
        import.offer(whole).unwrap();
        let total = import
            .commit(&Hash::of(b"b2"), &source.author(), None)
            .unwrap();
        assert_eq!(total.new, 9);
        let status = sink.status().unwrap();
        assert_eq!(status.waiting, 0);
        assert_eq!(status.frontier[&source.author()], 9);
    }

    #[test]
    fn duplicates_write_nothing_and_forks_are_kept() {
        let (_a, mut source) = open();
        source.append((0..3).map(draft).collect()).unwrap();
        let segs = segments_of(&source);
        let (_b, mut sink) = open();
        for round in 0..2 {
            let mut import = sink.begin_import().unwrap();
            let outcome = import.offer(segs[0].clone()).unwrap();
            assert_eq!(
                (outcome.new, outcome.duplicate),
                if round == 0 { (3, 0) } else { (0, 3) }
            );
            import
                .commit(&Hash::of(&[round]), &source.author(), None)
                .unwrap();
        }
        // The same key signs a different seq 3: a fork. Its entry has the higher hash, so the
        // attached chain stays as it is (the lowest-hash rule).
        let loses = edit_that(&source, &segs[0].segment, 2, true);
        let other = signed_prefix(&source, &segs[0].segment, 3, &[(2, &loses)]);
        let hashes = other.hashes.clone();
        let mut import = sink.begin_import().unwrap();
        let outcome = import.offer(other).unwrap();
        assert_eq!((outcome.duplicate, outcome.forked), (2, 1));
        import
            .commit(&Hash::of(b"f"), &source.author(), None)
            .unwrap();
        let forks = sink.status().unwrap().forks;
        assert_eq!(forks.len(), 1);
        assert_eq!((forks[0].seq, forks[0].theirs), (3, hashes[2]));
        assert_eq!(sink.status().unwrap().entries, 3);
    }

    #[test]
    fn a_fork_branch_that_grows_replaces_its_copy_and_one_that_parts_is_kept_too() {
        let (_a, mut source) = open();
        source.append((0..5).map(draft).collect()).unwrap();
        let full = segments_of(&source)[0].segment.clone();
        // The branch's entry at seq 3 has the higher hash: it stays a kept branch.
        let x = edit_that(&source, &full, 2, true);
        let x = x.as_str();
        // And the branch of it at seq 4 has the higher hash there: the kept branch goes on
        // with x's own seq 4.
        let x_full = signed_prefix(&source, &full, 5, &[(2, x)]).segment;
        let y = edit_that(&source, &x_full, 3, true);
        let y = y.as_str();
        let signed =
            |entries: usize, edits: &[(usize, &str)]| signed_prefix(&source, &full, entries, edits);
        let (_b, mut sink) = open();
        let mut offer = |verified: Verified| {
            let mut import = sink.begin_import().unwrap();
            let outcome = import.offer(verified).unwrap();
            import
                .commit(&Hash::of(b"b"), &source.author(), None)
                .unwrap();
            (outcome.new, outcome.duplicate, outcome.forked)
        };
        assert_eq!(offer(signed(3, &[])), (3, 0, 0));
        assert_eq!(offer(signed(4, &[(2, x)])), (0, 2, 2));
        assert_eq!(offer(signed(5, &[(2, x)])), (0, 4, 1));
        assert_eq!(offer(signed(4, &[(2, x)])), (0, 4, 0));
        assert_eq!(offer(signed(4, &[(2, x), (3, y)])), (0, 3, 1));
        let forks = sink.status().unwrap().forks;
        let kept: Vec<(u64, u64)> = forks.iter().map(|f| (f.seq, f.kept)).collect();
        assert_eq!(kept, [(3, 3), (4, 1)]);
    }

    #[test]
    fn runs_that_continue_a_kept_fork_branch_join_it_in_either_order() {
        let (_a, mut source) = open();
        source.append((0..5).map(draft).collect()).unwrap();
        let full = segments_of(&source)[0].segment.clone();
        // The branch's entry at seq 3 has the higher hash: it stays a kept branch.
        let x = edit_that(&source, &full, 2, true);
        let signed = |entries: usize, from: u64| {
            let mut verified = signed_prefix(&source, &full, entries, &[(2, &x)]);
            if from > 1 {
                verified.drop_before(from);
            }
            verified
        };
        let attached = signed_prefix(&source, &full, 3, &[]);
        let import = |sink: &mut Store, runs: Vec<Verified>| {
            let mut import = sink.begin_import().unwrap();
            let mut total = Outcome::default();
            for run in runs {
                total += import.offer(run).unwrap();
            }
            let committed = import
                .commit(&Hash::of(b"b"), &source.author(), None)
                .unwrap();
            (total, committed)
        };
        let kept = |sink: &Store| {
            let status = sink.status().unwrap();
            (
                status.forks.iter().map(|f| f.kept).sum::<u64>(),
                status.waiting,
            )
        };
        // The branch first, then a delta that continues it.
        let (_b, mut sink) = open();
        import(&mut sink, vec![attached.clone(), signed(4, 3)]);
        assert_eq!(kept(&sink), (2, 0));
        let (delta, _) = import(&mut sink, vec![signed(5, 5)]);
        assert_eq!((delta.forked, delta.waiting), (1, 0));
        assert_eq!(kept(&sink), (3, 0));
        let (again, _) = import(&mut sink, vec![signed(5, 5)]);
        assert_eq!((again.duplicate, again.forked), (1, 0));
        // The delta first: it waits, and joins the branch when the branch arrives.
        let (_c, mut sink) = open();
        import(&mut sink, vec![attached, signed(5, 5)]);
        assert_eq!(kept(&sink), (0, 1));
        let (_, committed) = import(&mut sink, vec![signed(4, 3)]);
        assert_eq!(kept(&sink), (3, 0));
        assert_eq!(committed.waiting, 0);
    }

    #[test]
    fn waiting_ranges_merge_and_overlap() {
        assert_eq!(merge_runs(vec![(5, 9), (1, 2), (3, 4), (8, 12)]), [(1, 12)]);
        assert_eq!(merge_runs(vec![(5, 9), (11, 12)]), [(5, 9), (11, 12)]);
        assert_eq!(overlap(&[(1, 10)], &[(5, 6), (9, 20)]), 4);
        assert_eq!(overlap(&[(1, 4)], &[(5, 6)]), 0);
    }

    #[test]
    fn rolled_back_import_leaves_nothing() {
        let (_a, mut source) = open();
        source.append((0..3).map(draft).collect()).unwrap();
        let segs = segments_of(&source);
        let (_b, mut sink) = open();
        {
            let mut import = sink.begin_import().unwrap();
            import.offer(segs[0].clone()).unwrap();
        }
        assert_eq!(sink.status().unwrap().entries, 0);
        assert!(!sink.is_imported(&Hash::of(b"x")).unwrap());
    }
}
