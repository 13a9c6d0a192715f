//! What the store holds and what its peers are known to hold: frontier, peers, forks and the
//! [`Status`] summary.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use crate::id::{AuthorId, Hash};

use super::import::{merge_runs, waiting_runs};
use super::{
    CHAIN_CHANGES, Error, Fault, Frontier, MAX_FORK_BRANCHES, Store, author_from, author_row,
    hash_from,
};

/// A fork: two different entries signed by one author at one seq.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fork {
    /// The author who signed both.
    pub author: AuthorId,
    /// The seq with two entries.
    pub seq: u64,
    /// The entry the branch contradicts there: the attached chain's, or another kept branch's
    /// for a branch of a branch.
    pub ours: Option<Hash>,
    /// The branch's entry there (the `prev` of its first entry when that entry is not held).
    pub theirs: Hash,
    /// How many entries of the other branch are kept.
    pub kept: u64,
}

/// What a known peer is known to hold, and how much of ours it lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// The peer's author id.
    pub peer: AuthorId,
    /// Its frontier as its newest bundle reported it.
    pub frontier: Frontier,
    /// Entries this store holds that the peer has not acknowledged.
    pub lacks: u64,
}

/// A summary of the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// This store's author id.
    pub author: AuthorId,
    /// The store directory.
    pub store: PathBuf,
    /// Entries in attached chains.
    pub entries: u64,
    /// Authors with at least one attached entry.
    pub authors: u64,
    /// Author -> highest contiguous seq.
    pub frontier: Frontier,
    /// Entries kept while waiting for their predecessors.
    pub waiting: u64,
    /// Forks found.
    pub forks: Vec<Fork>,
    /// Known peers.
    pub peers: Vec<Peer>,
    /// Bundles imported from other stores.
    pub bundles_imported: u64,
}

impl Status {
    /// The authors holding [`MAX_FORK_BRANCHES`] kept branches: further branches of theirs are
    /// not kept.
    pub fn authors_at_fork_cap(&self) -> Vec<AuthorId> {
        let mut branches: BTreeMap<AuthorId, u64> = BTreeMap::new();
        for fork in &self.forks {
            *branches.entry(fork.author).or_default() += 1;
        }
        branches
            .into_iter()
            .filter(|(_, count)| *count >= MAX_FORK_BRANCHES)
            .map(|(author, _)| author)
            .collect()
    }
}

impl Store {
    /// This store's frontier.
    pub fn frontier(&self) -> Result<Frontier, Error> {
        self.run("reading the frontier", |conn| {
            let mut stmt =
                // `<> 0`, not `> 0`: a negative frontier (a hand edit) is damage to report, not
                // an author to leave out.
                conn.prepare("SELECT author, frontier FROM authors_v1 WHERE frontier <> 0")?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, u64>(1)?)))?;
            let mut frontier = Frontier::new();
            for row in rows {
                let (author, seq) = row?;
                frontier.insert(author_from("authors_v1.author", &author)?, seq);
            }
            Ok(frontier)
        })
    }

    /// How many times an import re-attached an author's chain to a lower-hash branch (see the
    /// module docs). Views built at another count may show entries no longer attached.
    pub fn chain_changes(&self) -> Result<u64, Error> {
        Ok(self
            .meta(CHAIN_CHANGES)?
            .and_then(|value| value.parse().ok())
            .unwrap_or(0))
    }

    /// The frontier the peer `peer` acknowledged, if any bundle of it was imported.
    pub fn peer_frontier(&self, peer: &AuthorId) -> Result<Option<Frontier>, Error> {
        Ok(self.peers()?.remove(peer))
    }

    /// What every peer acknowledged. For an author with kept fork branches, an acknowledgement
    /// counts only below the lowest fork seq: a peer's frontier names seqs, not which branch it
    /// holds, and the peer may hold another branch than the one attached here.
    pub fn peers(&self) -> Result<BTreeMap<AuthorId, Frontier>, Error> {
        self.run("reading what peers acknowledged", |conn| {
            let mut stmt = conn.prepare(
                "SELECT p.author, a.author, min(p.seq, coalesce(
                     (SELECT min(f.seq) - 1 FROM forks_v1 f WHERE f.author = p.of_author), p.seq))
                 FROM peers_v2 p JOIN authors_v1 a ON a.id = p.of_author",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, u64>(2)?,
                ))
            })?;
            let mut peers: BTreeMap<AuthorId, Frontier> = BTreeMap::new();
            for row in rows {
                let (peer, of, seq) = row?;
                let frontier = peers
                    .entry(author_from("peers_v2.author", &peer)?)
                    .or_default();
                if seq > 0 {
                    frontier.insert(author_from("authors_v1.author", &of)?, seq);
                }
            }
            Ok(peers)
        })
    }

    /// What no known peer is missing, per author: the default lower bound of an export. With no
    /// known peer, nothing is known to be held elsewhere and everything is exported.
    pub fn acknowledged_by_all(&self) -> Result<Frontier, Error> {
        let own = self.author();
        let peers: Vec<Frontier> = self
            .peers()?
            .into_iter()
            .filter(|(peer, _)| *peer != own)
            .map(|(_, frontier)| frontier)
            .collect();
        if peers.is_empty() {
            return Ok(Frontier::new());
        }
        Ok(self
            .frontier()?
            .into_keys()
            .map(|author| {
                let least = peers
                    .iter()
                    .map(|known| known.get(&author).copied().unwrap_or(0))
                    .min()
                    .unwrap_or(0);
                (author, least)
            })
            .collect())
    }

    /// A summary: counts, frontier, waiting entries, forks and peers.
    pub fn status(&self) -> Result<Status, Error> {
        let frontier = self.frontier()?;
        let (waiting, bundles_imported) = self.run("summing up the store", |conn| {
            let bundles_imported = conn.query_row(
                "SELECT COUNT(*) FROM bundles_v1 WHERE sender != ?1",
                [self.author().as_bytes().as_slice()],
                |r| r.get(0),
            )?;
            Ok((waiting_entries(conn)?, bundles_imported))
        })?;
        let peers = self
            .peers()?
            .into_iter()
            .filter(|(peer, _)| *peer != self.author())
            .map(|(peer, known)| {
                let lacks = super::entries_beyond(&frontier, &known);
                Peer {
                    peer,
                    frontier: known,
                    lacks,
                }
            })
            .collect();
        Ok(Status {
            author: self.author(),
            store: self.dir.clone(),
            entries: frontier.values().sum(),
            authors: frontier.len() as u64,
            frontier,
            waiting,
            forks: self.forks()?,
            peers,
            bundles_imported,
        })
    }

    /// Per author, entries of theirs kept waiting for earlier ones that have not arrived.
    pub fn waiting_by_author(&self) -> Result<BTreeMap<AuthorId, u64>, Error> {
        self.run("counting waiting entries", waiting_by_author)
    }

    /// Per sender, when (ms since the epoch) this store last imported a bundle of theirs.
    pub fn last_heard(&self) -> Result<BTreeMap<AuthorId, u64>, Error> {
        self.run("reading when peers were last heard from", |conn| {
            let mut stmt =
                conn.prepare("SELECT sender, max(imported) FROM bundles_v1 GROUP BY sender")?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, u64>(1)?)))?;
            let mut heard = BTreeMap::new();
            for row in rows {
                let (sender, at) = row?;
                heard.insert(author_from("bundles_v1.sender", &sender)?, at);
            }
            Ok(heard)
        })
    }

    fn forks(&self) -> Result<Vec<Fork>, Error> {
        self.run("reading the forks", |conn| {
            let mut stmt = conn.prepare(
                "SELECT a.author, f.seq, f.ours, f.theirs, f.last - f.first + 1
                 FROM forks_v1 f JOIN authors_v1 a ON a.id = f.author
                 ORDER BY a.author, f.seq, f.theirs, f.first",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, u64>(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, u64>(4)?,
                ))
            })?;
            let mut forks = Vec::new();
            for row in rows {
                let (author, seq, ours, theirs, kept) = row?;
                forks.push(Fork {
                    author: author_from("authors_v1.author", &author)?,
                    seq,
                    ours: ours.map(|h| hash_from("forks_v1.ours", &h)).transpose()?,
                    theirs: hash_from("forks_v1.theirs", &theirs)?,
                    kept,
                });
            }
            Ok(forks)
        })
    }
}

/// Entries held as waiting, each counted once even where waiting runs overlap.
fn waiting_entries(conn: &Connection) -> Result<u64, Fault> {
    Ok(waiting_by_author(conn)?.values().sum())
}

/// Per author, entries held as waiting, each counted once even where waiting runs overlap.
fn waiting_by_author(conn: &Connection) -> Result<BTreeMap<AuthorId, u64>, Fault> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT w.author, a.author FROM waiting_v1 w JOIN authors_v1 a ON a.id = w.author",
    )?;
    let rows: Vec<(i64, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut waiting = BTreeMap::new();
    for (row, author) in rows {
        let count = merge_runs(waiting_runs(conn, row)?)
            .iter()
            .map(|(first, last)| last - first + 1)
            .sum::<u64>();
        waiting.insert(author_from("authors_v1.author", &author)?, count);
    }
    Ok(waiting)
}

/// Records `frontier` as what `peer` holds (never lowering what it was known to hold); an empty
/// frontier still makes `peer` a known peer.
pub(super) fn record_acknowledged(
    tx: &Connection,
    peer: &AuthorId,
    frontier: &Frontier,
) -> Result<(), Fault> {
    let key = peer.as_bytes().as_slice();
    for (author, seq) in frontier {
        let of = author_row(tx, author)?;
        tx.execute(
            "INSERT INTO peers_v2(author, of_author, seq) VALUES (?1, ?2, ?3)
             ON CONFLICT(author, of_author) DO UPDATE SET seq = max(seq, excluded.seq)",
            params![key, of, seq],
        )?;
    }
    if frontier.is_empty() {
        let of = author_row(tx, peer)?;
        tx.execute(
            "INSERT OR IGNORE INTO peers_v2(author, of_author, seq) VALUES (?1, ?2, 0)",
            params![key, of],
        )?;
    }
    Ok(())
}
