//! The lowest-hash rule (store docs, "Which branch is attached"): kept fork branches, how a run
//! that contradicts or continues one is kept, the cap on branches per author, and the
//! re-attachment of the attached chain when a lower-hash branch connects.

use std::collections::{BTreeMap, btree_map};

use rusqlite::{Connection, OptionalExtension, params};

use crate::id::Hash;
use crate::segment::Segment;

use super::import::{Outcome, Verified, attach, attached_hashes, head};
use super::{CHAIN_CHANGES, Fault, MAX_FORK_BRANCHES, damaged_row};

/// Places a run on a kept fork branch that holds the entry its `prev` names: what the branch
/// already holds counts as duplicate, the rest extends the branch, and a run that parts from
/// the branch is kept as a fork of its own. `None` when no branch holds that entry.
pub(super) fn continue_fork(
    tx: &Connection,
    row: i64,
    verified: &mut Verified,
) -> Result<Option<Outcome>, Fault> {
    let Some(prev) = verified.segment.prev else {
        return Ok(None);
    };
    let (first, last) = (verified.segment.first, verified.segment.last());
    let branches: Vec<(i64, u64, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT id, first, data FROM forks_v1 WHERE author = ?1 AND first <= ?2 AND last >= ?2",
        )?
        .query_map(params![row, first - 1], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    for (id, branch_first, data) in branches {
        let damaged = || damaged_row("forks_v1", row, branch_first);
        let mut branch = Segment::decode(&data).map_err(damaged())?;
        let hashes = branch.hashes().map_err(damaged())?;
        if hashes[(first - 1 - branch_first) as usize] != prev {
            continue;
        }
        let held = &hashes[(first - branch_first) as usize..];
        let shared = held
            .iter()
            .zip(&verified.hashes)
            .take_while(|(a, b)| a == b)
            .count();
        if shared < held.len().min(verified.hashes.len()) {
            // It parts from the branch: a fork of the fork, kept from where they differ.
            let seq = first + shared as u64;
            let mut rest = verified.clone();
            if shared > 0 {
                rest.drop_before(seq);
            }
            let branch = Verified {
                segment: branch,
                hashes,
                bytes: Some(data),
            };
            let mut outcome = part_from_branch(tx, row, id, branch, rest)?;
            outcome.duplicate += shared as u64;
            return Ok(Some(outcome));
        }
        if shared == verified.hashes.len() {
            return Ok(Some(Outcome {
                duplicate: shared as u64,
                ..Outcome::default()
            }));
        }
        let mut rest = verified.clone();
        if shared > 0 {
            rest.drop_before(first + shared as u64);
        }
        branch.extend(rest.segment);
        tx.execute(
            "UPDATE forks_v1 SET last = ?2, data = ?3 WHERE id = ?1",
            params![id, last, branch.encode()],
        )?;
        return Ok(Some(Outcome {
            forked: last - first + 1 - shared as u64,
            duplicate: shared as u64,
            ..Outcome::default()
        }));
    }
    Ok(None)
}

/// Keeps a fork branch: `theirs` is the author's other entry at `seq`, where we hold `ours`.
/// A copy of a branch already kept that goes further replaces it; one that parts from it
/// further on is kept from the point where the two differ.
pub(super) fn keep_fork(
    tx: &Connection,
    row: i64,
    seq: u64,
    ours: Option<Hash>,
    theirs: Hash,
    mut verified: Verified,
) -> Result<Outcome, Fault> {
    let (first, last) = (verified.segment.first, verified.segment.last());
    let kept: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT id, data FROM forks_v1 WHERE author = ?1 AND seq = ?2 AND theirs = ?3 AND first = ?4",
            params![row, seq, theirs.as_bytes().as_slice(), first],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((id, data)) = kept else {
        tx.execute(
            "INSERT INTO forks_v1(author, seq, ours, theirs, first, last, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                row,
                seq,
                ours.map(|h| h.as_bytes().to_vec()),
                theirs.as_bytes().as_slice(),
                first,
                last,
                verified.into_bytes()
            ],
        )?;
        let inserted = tx.last_insert_rowid();
        let mut outcome = Outcome {
            forked: last - first + 1,
            ..Outcome::default()
        };
        for (dropped, entries) in drop_branches_over_cap(tx, row)? {
            if dropped == inserted {
                outcome.forked = 0;
            }
            outcome.fork_dropped += entries;
        }
        return Ok(outcome);
    };
    let kept_segment = Segment::decode(&data).map_err(damaged_row("forks_v1", row, first))?;
    let kept_hashes = kept_segment
        .hashes()
        .map_err(damaged_row("forks_v1", row, first))?;
    let shared = kept_hashes
        .iter()
        .zip(&verified.hashes)
        .take_while(|(a, b)| a == b)
        .count();
    let shared_entries = shared as u64;
    if shared == verified.hashes.len() {
        return Ok(Outcome {
            duplicate: shared_entries,
            ..Outcome::default()
        });
    }
    if shared == kept_hashes.len() {
        tx.execute(
            "UPDATE forks_v1 SET last = ?2, data = ?3 WHERE id = ?1",
            params![id, last, verified.into_bytes()],
        )?;
        return Ok(Outcome {
            forked: last - first + 1 - shared_entries,
            duplicate: shared_entries,
            ..Outcome::default()
        });
    }
    let parted_at = first + shared_entries;
    let mut outcome = if shared > 0 {
        verified.drop_before(parted_at);
        let branch = Verified {
            segment: kept_segment,
            hashes: kept_hashes,
            bytes: Some(data),
        };
        part_from_branch(tx, row, id, branch, verified)?
    } else {
        // Both start at `first` after one missing entry: siblings there, not a branch of it.
        let (kept_there, theirs_there) = (kept_hashes[0], verified.hashes[0]);
        keep_fork(tx, row, parted_at, Some(kept_there), theirs_there, verified)?
    };
    outcome.duplicate += shared_entries;
    Ok(outcome)
}

/// Keeps `rest`, a run that parts from the kept branch `id` (decoded as `branch`) after sharing
/// its entries before `rest`'s first seq: the branch goes on with whichever of the two entries
/// there has the lower hash, and the other is kept as a branch of it, so how the kept entries
/// are split into branches does not depend on arrival order.
fn part_from_branch(
    tx: &Connection,
    row: i64,
    id: i64,
    mut branch: Verified,
    rest: Verified,
) -> Result<Outcome, Fault> {
    let seq = rest.segment.first;
    let at = (seq - branch.segment.first) as usize;
    let (kept, theirs) = (branch.hashes[at], rest.hashes[0]);
    if kept < theirs {
        return keep_fork(tx, row, seq, Some(kept), theirs, rest);
    }
    let mut old_tail = branch.clone();
    old_tail.drop_before(seq);
    let added = rest.hashes.len() as u64;
    branch.segment.entries.truncate(at);
    branch.hashes.truncate(at);
    branch.segment.extend(rest.segment);
    branch.hashes.extend(rest.hashes);
    tx.execute(
        "UPDATE forks_v1 SET last = ?2, data = ?3 WHERE id = ?1",
        params![id, branch.segment.last(), branch.segment.encode()],
    )?;
    tx.execute(
        "UPDATE forks_v1 SET ours = ?3 WHERE author = ?1 AND seq = ?2 AND ours = ?4",
        params![
            row,
            seq,
            theirs.as_bytes().as_slice(),
            kept.as_bytes().as_slice()
        ],
    )?;
    let moved = keep_fork(tx, row, seq, Some(theirs), kept, old_tail)?;
    Ok(Outcome {
        forked: added,
        fork_dropped: moved.fork_dropped,
        ..Outcome::default()
    })
}

/// Deletes the author's kept branches beyond the [`MAX_FORK_BRANCHES`] whose first entry has the
/// lowest hash (so every replica keeps the same ones); returns the deleted rows' ids and entry
/// counts.
fn drop_branches_over_cap(tx: &Connection, row: i64) -> Result<Vec<(i64, u64)>, Fault> {
    let dropped: Vec<(i64, u64)> = tx
        .prepare_cached(
            "SELECT id, last - first + 1 FROM forks_v1 WHERE author = ?1
             ORDER BY theirs, seq, first LIMIT -1 OFFSET ?2",
        )?
        .query_map(params![row, MAX_FORK_BRANCHES], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    for (id, _) in &dropped {
        tx.execute("DELETE FROM forks_v1 WHERE id = ?1", [id])?;
    }
    Ok(dropped)
}

/// Lets the attached chain follow the lowest-hash rule after kept branches starting at seq
/// `from` or above may have changed: a kept branch whose first entry continues the attached
/// chain is attached in place of the attached entries from there when its first entry has the
/// lower hash, or extends the chain when it starts right after its end. Repeats until no
/// branch does.
pub(super) fn settle(tx: &Connection, row: i64, mut from: u64) -> Result<Outcome, Fault> {
    let mut total = Outcome::default();
    while let Some((id, branch)) = challenger(tx, row, from)? {
        from = branch.segment.first + 1;
        total += reattach(tx, row, id, branch)?;
    }
    Ok(total)
}

/// A kept branch that continues the author's attached chain.
struct Connected {
    id: i64,
    branch: Verified,
    /// The attached entry at the branch's first seq, if the chain goes that far.
    ours: Option<Hash>,
}

/// The kept branch starting in `from..=frontier + 1` to attach next: among the branches whose
/// first entry continues the attached chain and starts right after its end or has a lower hash
/// than the attached entry at its seq, the lowest first seq, then the lowest hash.
/// A branch that repeats attached entries is cut to where it parts from them first (or deleted
/// when it holds nothing else).
fn challenger(tx: &Connection, row: i64, from: u64) -> Result<Option<(i64, Verified)>, Fault> {
    let connected = connected_branches(tx, row, from)?;
    if let Some(repeats) = connected
        .iter()
        .find(|c| c.ours == Some(c.branch.hashes[0]))
    {
        cut_repeated(tx, row, repeats.id, repeats.branch.clone())?;
        return challenger(tx, row, from);
    }
    let best = connected
        .into_iter()
        .filter(Connected::wins)
        .min_by_key(|c| (c.branch.segment.first, c.branch.hashes[0]));
    Ok(best.map(|b| (b.id, b.branch)))
}

impl Connected {
    /// Whether the branch should be attached: it starts right after the chain's end, or its
    /// first entry has a lower hash than the attached one.
    fn wins(&self) -> bool {
        self.ours.is_none_or(|ours| self.branch.hashes[0] < ours)
    }
}

/// The first seq of a kept branch of the author in `row` that should be attached and is not:
/// `None` when the attached chain follows the lowest-hash rule. For the log check.
pub(super) fn misattached(conn: &Connection, row: i64) -> Result<Option<u64>, Fault> {
    Ok(connected_branches(conn, row, 1)?
        .iter()
        .filter(|c| c.wins())
        .map(|c| c.branch.segment.first)
        .min())
}

/// Attaches, in the author's chain, every kept branch the lowest-hash rule chooses. For
/// the log check's repair.
pub(super) fn settle_author(tx: &Connection, row: i64) -> Result<(), Fault> {
    settle(tx, row, 1).map(drop)
}

/// The kept branches starting in `from..=frontier + 1` whose first entry continues the attached
/// chain.
fn connected_branches(tx: &Connection, row: i64, from: u64) -> Result<Vec<Connected>, Fault> {
    let (frontier, _) = head(tx, row)?;
    let rows: Vec<(i64, u64, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT id, first, data FROM forks_v1 WHERE author = ?1 AND first >= ?2 AND first <= ?3
             ORDER BY first, id",
        )?
        .query_map(params![row, from, frontier + 1], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut connected = Vec::new();
    let mut attached_around: BTreeMap<u64, Vec<Hash>> = BTreeMap::new();
    for (id, first, data) in rows {
        let damaged = || damaged_row("forks_v1", row, first);
        let segment = Segment::decode(&data).map_err(damaged())?;
        let hashes = segment.hashes().map_err(damaged())?;
        // Branches often start at one seq (a key that signs many seq-1 entries): one lookup.
        let around = match attached_around.entry(first) {
            btree_map::Entry::Occupied(held) => held.into_mut(),
            btree_map::Entry::Vacant(slot) => {
                slot.insert(attached_hashes(tx, row, first - 1, first)?)
            }
        };
        let (below, ours) = if first == 1 {
            (None, around.first().copied())
        } else {
            (around.first().copied(), around.get(1).copied())
        };
        if segment.prev != below {
            continue;
        }
        let branch = Verified {
            segment,
            hashes,
            bytes: Some(data),
        };
        connected.push(Connected { id, branch, ours });
    }
    Ok(connected)
}

/// Replaces the kept branch `id`, whose first entries are attached already, by what follows
/// them (nothing when it holds no other entry).
fn cut_repeated(tx: &Connection, row: i64, id: i64, mut branch: Verified) -> Result<(), Fault> {
    tx.execute("DELETE FROM forks_v1 WHERE id = ?1", [id])?;
    let (frontier, _) = head(tx, row)?;
    let first = branch.segment.first;
    let ours = attached_hashes(tx, row, first, branch.segment.last().min(frontier))?;
    let shared = ours
        .iter()
        .zip(&branch.hashes)
        .take_while(|(a, b)| a == b)
        .count();
    if shared == branch.hashes.len() {
        return Ok(());
    }
    let seq = first + shared as u64;
    branch.drop_before(seq);
    let theirs = branch.hashes[0];
    // The row count does not grow, so nothing is dropped for the cap here.
    keep_fork(tx, row, seq, ours.get(shared).copied(), theirs, branch)?;
    Ok(())
}

/// Attaches the kept branch `id`, whose first entry continues the attached chain: the attached
/// entries from its first seq on, if any, become a kept branch in its place.
fn reattach(tx: &Connection, row: i64, id: i64, branch: Verified) -> Result<Outcome, Fault> {
    tx.execute("DELETE FROM forks_v1 WHERE id = ?1", [id])?;
    let (frontier, _) = head(tx, row)?;
    let seq = branch.segment.first;
    let mut outcome = Outcome::default();
    let attached = if seq <= frontier {
        let (below, replaced) = detach_from(tx, row, seq)?;
        let (winner, loser) = (branch.hashes[0], replaced.hashes[0]);
        tx.execute(
            "UPDATE forks_v1 SET ours = ?3 WHERE author = ?1 AND seq = ?2 AND ours = ?4",
            params![
                row,
                seq,
                winner.as_bytes().as_slice(),
                loser.as_bytes().as_slice()
            ],
        )?;
        outcome.fork_dropped = keep_fork(tx, row, seq, Some(winner), loser, replaced)?.fork_dropped;
        record_chain_change(tx, row, seq)?;
        match below {
            Some(mut below) => {
                below.segment.extend(branch.segment);
                below.hashes.extend(branch.hashes);
                below
            }
            None => branch,
        }
    } else {
        branch
    };
    attach(tx, row, attached)?;
    Ok(outcome)
}

/// Takes the author's attached entries from `seq` on out of the chain. Returns the entries
/// below `seq` of the row that held `seq` (to attach again in front of what replaces the rest;
/// its last entry may be unsigned) and the entries from `seq` on, as one run.
fn detach_from(tx: &Connection, row: i64, seq: u64) -> Result<(Option<Verified>, Verified), Fault> {
    let rows: Vec<(i64, u64, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT id, first, data FROM segments_v1 WHERE author = ?1 AND last >= ?2 ORDER BY last",
        )?
        .query_map(params![row, seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let (mut below, mut run): (Option<Verified>, Option<Verified>) = (None, None);
    for (id, first, data) in rows {
        tx.execute("DELETE FROM segments_v1 WHERE id = ?1", [id])?;
        let damaged = || damaged_row("segments_v1", row, first);
        let segment = Segment::decode(&data).map_err(damaged())?;
        let hashes = segment.hashes().map_err(damaged())?;
        if segment.first != first || (run.is_none() && first > seq) {
            return Err(unheld(row, seq));
        }
        let mut part = Verified {
            segment,
            hashes,
            bytes: None,
        };
        if first < seq {
            let mut front = part.clone();
            let keep = (seq - first) as usize;
            front.segment.entries.truncate(keep);
            front.hashes.truncate(keep);
            below = Some(front);
            part.drop_before(seq);
        }
        match &mut run {
            Some(run) => {
                run.segment.extend(part.segment);
                run.hashes.extend(part.hashes);
            }
            None => run = Some(part),
        }
    }
    // Every seq up to the frontier is in a row, unless the database was edited by hand.
    let run = run.ok_or_else(|| unheld(row, seq))?;
    Ok((below, run))
}

/// The fault when the attached rows of the author in `row` do not hold `seq`, which its
/// recorded frontier covers.
fn unheld(row: i64, seq: u64) -> Fault {
    Fault::BadValue {
        location: format!("table segments_v1, author row {row}"),
        reason: format!("no row holds seq {seq}, which the author's recorded frontier covers"),
    }
}

/// Records that the author's attached chain changed from `seq` on: bumps
/// [`Store::chain_changes`] and lowers what every peer is known to hold of the author to below
/// `seq`, since whether a peer holds the new branch is not known.
fn record_chain_change(tx: &Connection, row: i64, seq: u64) -> Result<(), Fault> {
    tx.execute(
        "INSERT INTO meta(key, value) VALUES (?1, '1')
         ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [CHAIN_CHANGES],
    )?;
    tx.execute(
        "UPDATE peers_v2 SET seq = min(seq, ?2) WHERE of_author = ?1",
        params![row, seq - 1],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::import::place;
    use crate::id::{AuthorId, Hash};
    use crate::store::testing::{
        assert_fsck_passes, chain_of, edit_that, import_each, import_from, open, signed_prefix,
        source_of,
    };
    use crate::store::{Frontier, MAX_FORK_BRANCHES, Verified, author_row};

    /// Issue 15: a frontier above the rows (a database edited by hand) is a fault, not a panic.
    #[test]
    fn detaching_a_seq_no_row_holds_is_a_fault() {
        let (_a, source, full) = source_of(3);
        let (_s, mut sink) = open();
        import_each(
            &mut sink,
            &[signed_prefix(&source, &full, 3, &[])],
            &source.author(),
        );
        let tx = sink.write_txn("detaching by hand").unwrap();
        let row = author_row(&tx, &source.author()).unwrap();
        assert!(super::detach_from(&tx, row, 7).is_err());
        let stranger = author_row(&tx, &AuthorId::from_bytes([7; 32])).unwrap();
        assert!(super::detach_from(&tx, stranger, 1).is_err());
    }

    #[test]
    fn a_fork_at_seq_2_gives_the_same_chain_and_forks_in_either_order() {
        let (_a, source, full) = source_of(3);
        let a = signed_prefix(&source, &full, 3, &[]);
        let b = signed_prefix(&source, &full, 3, &[(1, "b")]);
        let author = source.author();
        let (_x, mut ab) = open();
        import_each(&mut ab, &[a.clone(), b.clone()], &author);
        let (_y, mut ba) = open();
        import_each(&mut ba, &[b.clone(), a.clone()], &author);
        let chain = chain_of(&ab, &author);
        assert_eq!(chain, chain_of(&ba, &author));
        let winner = if a.hashes[1] < b.hashes[1] { &a } else { &b };
        assert_eq!(chain, winner.hashes);
        let forks = ab.status().unwrap().forks;
        assert_eq!(forks, ba.status().unwrap().forks);
        assert_eq!(forks.len(), 1);
        assert_eq!(forks[0].seq, 2);
        assert_eq!(forks[0].ours, Some(chain[1]));
        assert_eq!(forks[0].kept, 2);
        assert_fsck_passes(&ab);
        assert_fsck_passes(&ba);
    }

    #[test]
    fn a_better_branch_arriving_later_reattaches() {
        let (_a, source, full) = source_of(5);
        let wins = edit_that(&source, &full, 1, false);
        let a = signed_prefix(&source, &full, 5, &[]);
        let b = signed_prefix(&source, &full, 3, &[(1, &wins)]);
        let author = source.author();
        let (peer, quiet) = (AuthorId::from_bytes([7; 32]), AuthorId::from_bytes([8; 32]));
        let (_s, mut sink) = open();
        let acknowledged = Frontier::from([(author, 5)]);
        import_from(&mut sink, vec![a.clone()], &peer, &acknowledged);
        assert_eq!(sink.chain_changes().unwrap(), 0);
        import_from(&mut sink, vec![b.clone()], &quiet, &Frontier::new());
        assert_eq!(chain_of(&sink, &author), b.hashes);
        assert_eq!(sink.frontier().unwrap()[&author], 3);
        assert_eq!(sink.chain_changes().unwrap(), 1);
        let forks = sink.status().unwrap().forks;
        let kept: Vec<_> = forks
            .iter()
            .map(|f| (f.seq, f.ours, f.theirs, f.kept))
            .collect();
        assert_eq!(kept, [(2, Some(b.hashes[1]), a.hashes[1], 4)]);
        // The peer acknowledged seq 5 of the old chain; it is only known to hold seq 1 now.
        assert_eq!(sink.peer_frontier(&peer).unwrap().unwrap()[&author], 1);
        // Its next bundle says seq 5 again, of whichever branch: still only seq 1 counts.
        import_from(&mut sink, vec![a.clone()], &peer, &acknowledged);
        assert_eq!(sink.peer_frontier(&peer).unwrap().unwrap()[&author], 1);
        assert_fsck_passes(&sink);
    }

    #[test]
    fn fsck_finds_and_repairs_a_chain_that_does_not_take_the_lowest_hash() {
        let (_a, source, full) = source_of(3);
        let wins = edit_that(&source, &full, 1, false);
        let (_s, mut sink) = open();
        import_each(
            &mut sink,
            &[signed_prefix(&source, &full, 3, &[])],
            &source.author(),
        );
        // Placed without the rule, as a store of an older mule would have kept it.
        let better = signed_prefix(&source, &full, 3, &[(1, &wins)]);
        let tx = sink.write_txn("placing a run by hand").unwrap();
        let row = author_row(&tx, &source.author()).unwrap();
        place(&tx, row, better.clone()).unwrap();
        tx.commit().unwrap();
        let report = crate::fsck::check(&sink).unwrap();
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert!(report.problems[0].repairable);
        crate::fsck::repair(&mut sink, &report).unwrap();
        assert_eq!(chain_of(&sink, &source.author()), better.hashes);
        assert_fsck_passes(&sink);
    }

    #[test]
    fn runs_that_continue_the_winning_or_the_losing_branch_land_on_it() {
        let (_a, source, full) = source_of(5);
        let wins = edit_that(&source, &full, 1, false);
        let a = signed_prefix(&source, &full, 3, &[]);
        let a_more = signed_prefix(&source, &full, 5, &[]);
        let b_to = |n: usize| signed_prefix(&source, &full, n, &[(1, &wins)]);
        let b = b_to(5);
        let author = source.author();
        let from = |run: &Verified, seq: u64| {
            let mut run = run.clone();
            run.drop_before(seq);
            run
        };
        // B 3-5 before B 2: kept apart, then attached behind B 2 when it wins.
        let (_s, mut sink) = open();
        import_each(&mut sink, &[a.clone(), from(&b, 3), b_to(2)], &author);
        assert_eq!(chain_of(&sink, &author), b.hashes);
        // B 4-5 waits (seq 3 is missing) and attaches when B 2-3 takes over.
        let (_t, mut sink) = open();
        let two = signed_prefix(&source, &full, 2, &[]);
        import_each(&mut sink, &[two, from(&b, 4), from(&b_to(3), 2)], &author);
        assert_eq!(chain_of(&sink, &author), b.hashes);
        assert_eq!(sink.status().unwrap().waiting, 0);
        // A 3 and A 4-5 continue the losing branch: they join the kept branch, not the chain.
        import_each(&mut sink, &[a, from(&a_more, 4)], &author);
        assert_eq!(chain_of(&sink, &author), b.hashes);
        let kept: Vec<_> = sink
            .status()
            .unwrap()
            .forks
            .iter()
            .map(|f| f.kept)
            .collect();
        assert_eq!(kept, [4]);
        assert_fsck_passes(&sink);
    }

    #[test]
    fn nested_forks_give_the_same_chain_in_every_order() {
        let (_a, source, full) = source_of(5);
        let author = source.author();
        let x = signed_prefix(&source, &full, 5, &[]);
        let y = signed_prefix(&source, &full, 5, &[(1, "y")]);
        let z = signed_prefix(&source, &full, 5, &[(1, "y"), (3, "z")]);
        let w = signed_prefix(&source, &full, 5, &[(3, "w")]);
        // The lowest hash at seq 2, then the lowest among its children at seq 4.
        let children = if x.hashes[1] < y.hashes[1] {
            [&x, &w]
        } else {
            [&y, &z]
        };
        let expected = children
            .iter()
            .min_by_key(|r| r.hashes[3])
            .unwrap()
            .hashes
            .clone();
        let runs = [x, y, z, w];
        let mut orders = vec![vec![0, 1, 2, 3]];
        while let Some(next) = next_permutation(orders.last().unwrap()) {
            orders.push(next);
        }
        assert_eq!(orders.len(), 24);
        for order in orders {
            let (_s, mut sink) = open();
            let runs: Vec<Verified> = order.iter().map(|&i| runs[i].clone()).collect();
            import_each(&mut sink, &runs, &author);
            assert_eq!(chain_of(&sink, &author), expected, "order {order:?}");
            assert_fsck_passes(&sink);
        }
    }

    /// The next permutation in lexicographic order, if any.
    fn next_permutation(order: &[usize]) -> Option<Vec<usize>> {
        let mut next = order.to_vec();
        let i = (1..next.len()).rev().find(|&i| next[i - 1] < next[i])?;
        let j = (i..next.len()).rev().find(|&j| next[j] > next[i - 1])?;
        next.swap(i - 1, j);
        next[i..].reverse();
        Some(next)
    }

    #[test]
    fn the_cap_keeps_the_lowest_hash_branches_whatever_the_order() {
        let (_a, source, full) = source_of(1);
        let author = source.author();
        let extra = 3;
        let total = MAX_FORK_BRANCHES as usize + 1 + extra;
        let mut branches: Vec<Verified> = (0..total)
            .map(|i| signed_prefix(&source, &full, 1, &[(0, &format!("b{i}"))]))
            .collect();
        branches.sort_by_key(|b| b.hashes[0]);
        let expected_forks: Vec<Hash> = branches[1..=MAX_FORK_BRANCHES as usize]
            .iter()
            .map(|b| b.hashes[0])
            .collect();
        let mut shuffled = branches.clone();
        shuffled.swap(0, total / 2);
        shuffled.swap(3, total - 1);
        let reversed: Vec<Verified> = branches.iter().rev().cloned().collect();
        for order in [branches.clone(), reversed, shuffled] {
            let (_s, mut sink) = open();
            let outcome = import_each(&mut sink, &order, &author);
            assert_eq!(outcome.fork_dropped, extra as u64);
            assert_eq!(chain_of(&sink, &author), branches[0].hashes);
            let status = sink.status().unwrap();
            let mut kept: Vec<Hash> = status.forks.iter().map(|f| f.theirs).collect();
            kept.sort();
            assert_eq!(kept, expected_forks);
            assert_eq!(status.authors_at_fork_cap(), [author]);
        }
    }
}
