//! The log store: one directory holding the device key and an SQLite database of segments.
//!
//! # Why SQLite, and why segments
//! The store keeps entries in the same compact [`Segment`] form that bundles carry, one row per
//! run of up to [`SEGMENT_MAX_ENTRIES`] entries of one author. Export therefore copies rows into
//! a bundle without re-encoding, import stores verified members as they arrived, and the
//! database does one row of work per few thousand entries instead of one per entry (measured:
//! SQLite costs about 1.5 us per row, which alone would cap bulk loading near the 300,000
//! entries/s target). SQLite (bundled, WAL, `synchronous=FULL`) was chosen over redb or
//! hand-made segment files because it gives, without code of ours, what a store holding the only
//! copy of a field team's data needs: atomic multi-table transactions (a bundle is applied whole
//! or not at all), durability across `kill -9` and power loss, and safe concurrent use by several
//! processes (a cron job and a person), which redb's one-process file lock does not.
//!
//! Tables are named with a version suffix (`segments_v1`), so a schema change is a new table,
//! never a silent reinterpretation of an old one.
//!
//! # What is kept
//! - `segments_v1`: each author's attached chain, contiguous from seq 1 (the frontier).
//! - `waiting_v1`: authenticated runs whose predecessors have not arrived yet.
//! - `forks_v1`: branches that contradict the attached chain (the author signed two different
//!   entries at one seq), and branches of those. They are kept, reported and passed on, up to
//!   [`MAX_FORK_BRANCHES`] per author.
//! - `peers_v2`: for every sender of a signed bundle, its frontier as its newest bundle
//!   reported it. (`peers_v1`, which older versions filled from unsigned manifests, is dropped
//!   when a store is opened: an acknowledgement nobody signed must not lower what is sent.)
//! - `bundles_v1`: ids of imported bundles, so a second import of one is skipped by id.
//! - `refused_v1`: folder bundles refused because a device in them is not a project member,
//!   skipped by later syncs until that device is admitted.
//!
//! # Which branch is attached
//! The same set of entries gives the same attached chains on every replica, whatever order the
//! entries arrived in: the attached chain of an author is the path from seq 1 that, wherever
//! the author signed two different entries at one seq (two seq-1 entries, or two entries whose
//! `prev` is the same held entry), takes the one with the lowest hash. When a lower-hash branch
//! arrives, or a run arrives that connects one, the import's transaction re-attaches: the
//! attached entries from the fork point up become a kept branch, the winning branch is attached
//! and extended by the kept branches that continue it, and waiting runs that continue it attach
//! when the import commits. Every re-attachment bumps the `meta` counter
//! [`Store::chain_changes`], which views compare to rebuild, and lowers what every peer is
//! recorded to hold of that author to below the fork point. Since a peer's frontier names seqs
//! but not branches, what peers acknowledged of an author with kept branches counts only below
//! the lowest fork seq, so an export never leaves out a branch the peer may lack.
//!
//! Kept branches are ranked by the hash of their first entry (the one at the fork point): past
//! [`MAX_FORK_BRANCHES`] per author, the highest-ranked are not kept, so every replica keeps the
//! same ones.

use std::collections::{BTreeMap, btree_map};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use crate::entry::{self, EntryRef};
use crate::id::{AuthorId, Hash};
use crate::keys::{self, DeviceKey, Home};
use crate::segment::{self, Segment, SegmentEntry};

/// Author id -> highest contiguous seq held.
pub type Frontier = BTreeMap<AuthorId, u64>;

/// File name of the database inside a store directory.
pub const DB_FILE: &str = "store.sqlite";
/// Most entries the store puts in one segment row.
pub const SEGMENT_MAX_ENTRIES: usize = 4096;
/// Size at which the store starts a new segment row.
pub const SEGMENT_TARGET_BYTES: usize = 1 << 20;
/// An appended batch signs at least every this many entries (and its last one).
pub const SIGN_EVERY: u64 = 1024;
/// How long a write waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);
/// Most fork branches (rows of `forks_v1`) kept per author. An honest author forks only when a
/// store is copied and both copies write, which leaves a handful of branches; more is a broken
/// or hostile device, and beyond this many the branches whose first entry has the highest hash
/// are not kept (the import still succeeds and counts them in [`Outcome::fork_dropped`]).
pub const MAX_FORK_BRANCHES: u64 = 16;
/// The `meta` key counting re-attachments; see [`Store::chain_changes`].
const CHAIN_CHANGES: &str = "chain_changes";

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database reported an error.
    #[error("{path}: database error: {source}")]
    Db {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A file or directory of the store could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The device key could not be read or created.
    #[error(transparent)]
    Key(#[from] keys::Error),
    /// The store was copied, moved or restored since its key was last confirmed.
    #[error(
        "store {dir} was copied, moved or restored ({changes}); writing from two copies would fork this device's chain"
    )]
    Moved {
        /// The store directory.
        dir: PathBuf,
        /// What differs, in words.
        changes: String,
    },
    /// An entry to append breaks a rule.
    #[error("entry {index}: {source}")]
    Entry {
        /// Position in the batch, from 1.
        index: usize,
        /// What is wrong.
        source: entry::Error,
    },
    /// Data in the store does not decode; the database was damaged outside mule.
    #[error("{path}: stored segment ({location}) is damaged: {source}")]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// Which row: table, author, first seq.
        location: String,
        /// The decode error.
        source: segment::Error,
    },
}

/// An entry to append: what the caller chooses; the store adds author, seq, prev and signs.
#[derive(Debug, Clone)]
pub struct Draft {
    /// See [`crate::Entry::kind`].
    pub kind: String,
    /// Canonical body bytes (see [`crate::entry::body_from_json`]).
    pub body: Vec<u8>,
    /// Linked hashes; sorted and deduplicated by the store.
    pub links: Vec<Hash>,
    /// Milliseconds since the Unix epoch; [`now_ms`] for "now".
    pub timestamp: u64,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

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

/// Which table a stored segment row lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    /// The author's attached chain.
    Log,
    /// Waiting for predecessors.
    Waiting,
    /// A branch contradicting the attached chain.
    Fork,
}

impl Placement {
    fn table(self) -> &'static str {
        match self {
            Placement::Log => "segments_v1",
            Placement::Waiting => "waiting_v1",
            Placement::Fork => "forks_v1",
        }
    }
}

/// A segment to export: a stored row copied as it is, or a cut of one.
#[derive(Debug, Clone)]
pub struct ExportSegment {
    /// Where it comes from.
    pub placement: Placement,
    /// Its author.
    pub author: AuthorId,
    /// First seq.
    pub first: u64,
    /// Last seq.
    pub last: u64,
    /// Encoded length in bytes.
    pub len: u64,
    source: ExportSource,
}

#[derive(Debug, Clone)]
enum ExportSource {
    Row(i64),
    Bytes(Vec<u8>),
}

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
    /// [`MAX_FORK_BRANCHES`] conflicting branches.
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
    fn into_bytes(self) -> Vec<u8> {
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

    fn drop_before(&mut self, seq: u64) {
        let cut = (seq - self.segment.first) as usize;
        self.segment.drop_before(seq, &self.hashes);
        self.hashes.drain(..cut);
        self.bytes = None;
    }

    fn last_hash(&self) -> Hash {
        *self.hashes.last().expect("a verified segment is not empty")
    }
}

/// An open store.
pub struct Store {
    dir: PathBuf,
    db_path: PathBuf,
    conn: Connection,
    key: DeviceKey,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

/// The default store directory: the per-user data directory's `mule` folder.
pub fn default_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("mule"))
}

impl Store {
    /// Opens the store in `dir`, creating the directory, the key and the database on first use.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        create_private_dir(dir)?;
        let key = DeviceKey::load_or_create(dir)?;
        let db_path = dir.join(DB_FILE);
        let conn = Connection::open(&db_path).map_err(|source| Error::Db {
            path: db_path.clone(),
            source,
        })?;
        let store = Self {
            dir: dir.to_path_buf(),
            db_path,
            conn,
            key,
        };
        store.init_schema()?;
        store.init_home()?;
        Ok(store)
    }

    fn db<T>(&self, result: rusqlite::Result<T>) -> Result<T, Error> {
        result.map_err(|source| Error::Db {
            path: self.db_path.clone(),
            source,
        })
    }

    fn init_schema(&self) -> Result<(), Error> {
        self.db(self.conn.busy_timeout(BUSY_TIMEOUT))?;
        self.db(self.conn.pragma_update(None, "journal_mode", "WAL"))?;
        self.db(self.conn.pragma_update(None, "synchronous", "FULL"))?;
        self.db(self.conn.execute_batch(SCHEMA))
    }

    fn init_home(&self) -> Result<(), Error> {
        if self.meta("home")?.is_none() {
            self.record_home()?;
        }
        Ok(())
    }

    fn record_home(&self) -> Result<(), Error> {
        let home = Home::here(&self.dir).map_err(|source| self.io(source))?;
        let text = serde_json::to_string(&home).expect("a home record serializes");
        self.db(self.conn.execute(
            "INSERT INTO meta(key, value) VALUES ('home', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [text],
        ))?;
        Ok(())
    }

    fn io(&self, source: io::Error) -> Error {
        Error::Io {
            path: self.dir.clone(),
            source,
        }
    }

    fn meta(&self, key: &str) -> Result<Option<String>, Error> {
        self.db(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional())
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// This store's author id.
    pub fn author(&self) -> AuthorId {
        self.key.author()
    }

    /// Fails with [`Error::Moved`] when the store is not where its key was created or last
    /// confirmed. Every command that signs entries calls this first.
    pub fn check_home(&self) -> Result<(), Error> {
        let now = Home::here(&self.dir).map_err(|source| self.io(source))?;
        let recorded: Option<Home> = self
            .meta("home")?
            .and_then(|text| serde_json::from_str(&text).ok());
        let changes = match recorded {
            Some(recorded) => recorded.differences(&now),
            None => vec!["its home record is missing"],
        };
        if changes.is_empty() {
            Ok(())
        } else {
            Err(Error::Moved {
                dir: self.dir.clone(),
                changes: changes.join(", "),
            })
        }
    }

    /// Accepts the store's current location as its home (after a deliberate move, when the old
    /// copy will never be written again).
    pub fn confirm_home(&self) -> Result<(), Error> {
        self.record_home()
    }

    /// Takes a fresh device key (a new author id) and records the current location as home.
    /// Entries of the old key stay in the store; the old key file is kept beside the new one.
    pub fn new_key(&mut self) -> Result<AuthorId, Error> {
        self.key = DeviceKey::replace(&self.dir)?;
        self.record_home()?;
        Ok(self.key.author())
    }

    /// The log database and its path, for [`crate::fsck`].
    pub(crate) fn database(&self) -> (&Connection, &Path) {
        (&self.conn, &self.db_path)
    }

    /// The device key, for signatures outside entries (project invites).
    pub(crate) fn device_key(&self) -> &DeviceKey {
        &self.key
    }

    pub(crate) fn write_txn(&mut self) -> Result<Transaction<'_>, Error> {
        let path = self.db_path.clone();
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| Error::Db { path, source })
    }

    /// Appends entries by this device in one transaction and returns their hashes.
    ///
    /// Signing rule (bundle-format.md, "Signatures"): the last entry of the batch is signed, and
    /// so is every entry whose seq is a multiple of [`SIGN_EVERY`] or that closes
    /// [`SEGMENT_TARGET_BYTES`] of unsigned entries, so a run can be cut into bounded segments.
    pub fn append(&mut self, drafts: Vec<Draft>) -> Result<Vec<Hash>, Error> {
        self.check_home()?;
        let author = self.author();
        let path = self.db_path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| Error::Db { path, source })?;
        let author_row = author_row(&tx, &author)?;
        let (frontier, head) = head(&tx, author_row)?;
        let (segments, hashes) = build_segments(&self.key, frontier, head, drafts)?;
        for verified in segments {
            attach(&tx, author_row, verified)?;
        }
        tx.commit()?;
        Ok(hashes)
    }

    /// This store's frontier.
    pub fn frontier(&self) -> Result<Frontier, Error> {
        let mut stmt = self.db(self
            .conn
            .prepare("SELECT author, frontier FROM authors_v1 WHERE frontier > 0"))?;
        let rows =
            self.db(stmt.query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, u64>(1)?))))?;
        let mut frontier = Frontier::new();
        for row in rows {
            let (author, seq) = self.db(row)?;
            frontier.insert(author_from(&author), seq);
        }
        Ok(frontier)
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
    fn peers(&self) -> Result<BTreeMap<AuthorId, Frontier>, Error> {
        let mut stmt = self.db(self.conn.prepare(
            "SELECT p.author, a.author, min(p.seq, coalesce(
                 (SELECT min(f.seq) - 1 FROM forks_v1 f WHERE f.author = p.of_author), p.seq))
             FROM peers_v2 p JOIN authors_v1 a ON a.id = p.of_author",
        ))?;
        let rows = self.db(stmt.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, u64>(2)?,
            ))
        }))?;
        let mut peers: BTreeMap<AuthorId, Frontier> = BTreeMap::new();
        for row in rows {
            let (peer, of, seq) = self.db(row)?;
            let frontier = peers.entry(author_from(&peer)).or_default();
            if seq > 0 {
                frontier.insert(author_from(&of), seq);
            }
        }
        Ok(peers)
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
        let waiting = waiting_entries(&self.conn)?;
        let bundles_imported = self.db(self.conn.query_row(
            "SELECT COUNT(*) FROM bundles_v1 WHERE sender != ?1",
            [self.author().as_bytes().as_slice()],
            |r| r.get(0),
        ))?;
        let peers = self
            .peers()?
            .into_iter()
            .filter(|(peer, _)| *peer != self.author())
            .map(|(peer, known)| {
                let lacks = frontier
                    .iter()
                    .map(|(a, seq)| seq.saturating_sub(known.get(a).copied().unwrap_or(0)))
                    .sum();
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

    fn forks(&self) -> Result<Vec<Fork>, Error> {
        let mut stmt = self.db(self.conn.prepare(
            "SELECT a.author, f.seq, f.ours, f.theirs, f.last - f.first + 1
             FROM forks_v1 f JOIN authors_v1 a ON a.id = f.author
             ORDER BY a.author, f.seq, f.theirs, f.first",
        ))?;
        let rows = self.db(stmt.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, u64>(1)?,
                r.get::<_, Option<Vec<u8>>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, u64>(4)?,
            ))
        }))?;
        let mut forks = Vec::new();
        for row in rows {
            let (author, seq, ours, theirs, kept) = self.db(row)?;
            forks.push(Fork {
                author: author_from(&author),
                seq,
                ours: ours.map(|h| hash_from(&h)),
                theirs: hash_from(&theirs),
                kept,
            });
        }
        Ok(forks)
    }

    /// Calls `visit` with every attached segment (of `author`, or of everyone), author by author
    /// in seq order, decoding one segment at a time.
    pub fn for_each_segment<E: From<Error>>(
        &self,
        author: Option<&AuthorId>,
        visit: impl FnMut(&Segment, &[Hash]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.for_each_segment_after(&Frontier::new(), author, visit)
    }

    /// Like [`Store::for_each_segment`], but only segments holding entries above `after`
    /// (author -> seq already seen); the first segment of an author may also hold entries at or
    /// below it, which the caller skips. Cost is proportional to what is new.
    pub fn for_each_segment_after<E: From<Error>>(
        &self,
        after: &Frontier,
        only: Option<&AuthorId>,
        mut visit: impl FnMut(&Segment, &[Hash]) -> Result<(), E>,
    ) -> Result<(), E> {
        for (row, author) in self.author_rows()? {
            if only.is_some_and(|a| *a != author) {
                continue;
            }
            let seen = after.get(&author).copied().unwrap_or(0);
            let mut stmt = self.db(self.conn.prepare_cached(
                "SELECT first, data FROM segments_v1 WHERE author = ?1 AND last > ?2 ORDER BY last",
            ))?;
            let mut rows = self.db(stmt.query(params![row, seen]))?;
            while let Some(r) = self.db(rows.next())? {
                let first: u64 = self.db(r.get(0))?;
                let data: Vec<u8> = self.db(r.get(1))?;
                let segment = Segment::decode(&data)
                    .map_err(|source| self.damaged(&author, first, source))?;
                let hashes = self.segment_hashes(&segment)?;
                visit(&segment, &hashes)?;
            }
        }
        Ok(())
    }

    /// The hashes of a segment read from this store.
    pub fn segment_hashes(&self, segment: &Segment) -> Result<Vec<Hash>, Error> {
        segment
            .hashes()
            .map_err(|source| self.damaged(&segment.author, segment.first, source))
    }

    /// Whether a bundle with this id was imported before.
    pub fn is_imported(&self, bundle: &Hash) -> Result<bool, Error> {
        self.db(self
            .conn
            .query_row(
                "SELECT 1 FROM bundles_v1 WHERE id = ?1",
                [bundle.as_bytes().as_slice()],
                |_| Ok(()),
            )
            .optional())
            .map(|found| found.is_some())
    }

    /// Records a bundle this store wrote, so a later sync of the folder does not read it back.
    pub fn mark_imported(&self, bundle: &Hash, sender: &AuthorId) -> Result<(), Error> {
        self.db(self.conn.execute(
            "INSERT OR IGNORE INTO bundles_v1(id, sender, imported, new) VALUES (?1, ?2, ?3, 0)",
            params![
                bundle.as_bytes().as_slice(),
                sender.as_bytes().as_slice(),
                now_ms()
            ],
        ))?;
        Ok(())
    }

    /// Records that the bundle `bundle` was refused because it holds entries of `author`,
    /// a device the store's project has not admitted.
    pub fn remember_refused_stranger(&self, bundle: &Hash, author: &AuthorId) -> Result<(), Error> {
        self.db(self.conn.execute(
            "INSERT OR REPLACE INTO refused_v1(id, author, refused) VALUES (?1, ?2, ?3)",
            params![
                bundle.as_bytes().as_slice(),
                author.as_bytes().as_slice(),
                now_ms()
            ],
        ))?;
        Ok(())
    }

    /// The device whose entries made the store refuse `bundle` before, if it did.
    pub fn refused_stranger(&self, bundle: &Hash) -> Result<Option<AuthorId>, Error> {
        let author: Option<Vec<u8>> = self.db(self
            .conn
            .query_row(
                "SELECT author FROM refused_v1 WHERE id = ?1",
                [bundle.as_bytes().as_slice()],
                |r| r.get(0),
            )
            .optional())?;
        Ok(author.map(|a| author_from(&a)))
    }

    /// Starts applying one bundle: everything offered through the returned [`Import`] becomes
    /// visible at once when it is committed, or not at all.
    pub fn begin_import(&mut self) -> Result<Import<'_>, Error> {
        let path = self.db_path.clone();
        let own = self.author();
        let tx = self.write_txn()?;
        Ok(Import {
            tx,
            path,
            own,
            offered: BTreeMap::new(),
            outcome: Outcome::default(),
        })
    }

    /// Plans an export of everything above `after` (author -> seq already held by the receiver;
    /// authors not named are exported whole), plus waiting runs and fork branches of the same
    /// authors. The plan and the later reads see one snapshot only if the caller holds
    /// [`Store::read_snapshot`].
    pub fn plan_export(&self, after: &Frontier) -> Result<Vec<ExportSegment>, Error> {
        let mut plan = Vec::new();
        let authors = self.author_rows()?;
        for (row, author) in authors {
            let from = after.get(&author).copied().unwrap_or(0) + 1;
            for placement in [Placement::Log, Placement::Waiting, Placement::Fork] {
                self.plan_rows(row, &author, placement, from, &mut plan)?;
            }
        }
        Ok(plan)
    }

    /// Begins a read transaction so that a plan and the reads of its rows agree even while
    /// another process writes.
    pub fn read_snapshot(&self) -> Result<Snapshot<'_>, Error> {
        self.db(self.conn.execute_batch("BEGIN DEFERRED"))?;
        Ok(Snapshot { store: self })
    }

    fn author_rows(&self) -> Result<Vec<(i64, AuthorId)>, Error> {
        author_rows(&self.conn, &self.db_path)
    }

    /// A second, read-only connection to the log, which may move to another thread.
    pub fn log_reader(&self) -> Result<LogReader, Error> {
        let db = |source| Error::Db {
            path: self.db_path.clone(),
            source,
        };
        let conn = Connection::open_with_flags(
            &self.db_path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(60))
            .map_err(db)?;
        Ok(LogReader {
            conn,
            db_path: self.db_path.clone(),
        })
    }

    fn plan_rows(
        &self,
        row: i64,
        author: &AuthorId,
        placement: Placement,
        from: u64,
        plan: &mut Vec<ExportSegment>,
    ) -> Result<(), Error> {
        let sql = format!(
            "SELECT id, first, last, length(data) FROM {} WHERE author = ?1 AND last >= ?2 ORDER BY first",
            placement.table()
        );
        let mut stmt = self.db(self.conn.prepare_cached(&sql))?;
        let rows = self.db(stmt.query_map(params![row, from], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, u64>(1)?,
                r.get::<_, u64>(2)?,
                r.get::<_, u64>(3)?,
            ))
        }))?;
        for r in rows {
            let (id, first, last, len) = self.db(r)?;
            // Waiting runs and fork branches travel whole; a chain row is cut at `from`.
            let segment = if first >= from || placement != Placement::Log {
                ExportSegment {
                    placement,
                    author: *author,
                    first,
                    last,
                    len,
                    source: ExportSource::Row(id),
                }
            } else {
                let mut segment = self.decode_row(placement, id, author, first)?;
                let hashes = segment
                    .hashes()
                    .map_err(|source| self.damaged(author, first, source))?;
                segment.drop_before(from, &hashes);
                let bytes = segment.encode();
                ExportSegment {
                    placement,
                    author: *author,
                    first: from,
                    last,
                    len: bytes.len() as u64,
                    source: ExportSource::Bytes(bytes),
                }
            };
            plan.push(segment);
        }
        Ok(())
    }

    fn decode_row(
        &self,
        placement: Placement,
        id: i64,
        author: &AuthorId,
        first: u64,
    ) -> Result<Segment, Error> {
        let data = self.row_bytes(placement, id)?;
        Segment::decode(&data).map_err(|source| self.damaged(author, first, source))
    }

    fn row_bytes(&self, placement: Placement, id: i64) -> Result<Vec<u8>, Error> {
        let sql = format!("SELECT data FROM {} WHERE id = ?1", placement.table());
        self.db(self.conn.query_row(&sql, [id], |r| r.get(0)))
    }

    fn damaged(&self, author: &AuthorId, first: u64, source: segment::Error) -> Error {
        damaged(&self.db_path, author, first, source)
    }

    /// The bytes of a planned segment.
    pub fn export_bytes(&self, segment: &ExportSegment) -> Result<Vec<u8>, Error> {
        match &segment.source {
            ExportSource::Row(id) => self.row_bytes(segment.placement, *id),
            ExportSource::Bytes(bytes) => Ok(bytes.clone()),
        }
    }
}

/// A read transaction; see [`Store::read_snapshot`]. Ends when dropped.
pub struct Snapshot<'a> {
    store: &'a Store,
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        // Ending a read-only transaction cannot lose data; an error here leaves nothing to undo.
        let _ = self.store.conn.execute_batch("COMMIT");
    }
}

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
    fn db<T>(&self, result: rusqlite::Result<T>) -> Result<T, Error> {
        result.map_err(|source| Error::Db {
            path: self.path.clone(),
            source,
        })
    }

    /// The import's transaction, to read what the store would hold if it committed.
    pub(crate) fn connection(&self) -> (&Connection, &Path) {
        (&self.tx, &self.path)
    }

    /// Offers a verified run of the author's chain.
    pub fn offer(&mut self, verified: Verified) -> Result<Outcome, Error> {
        let row = self.offered_row(&verified)?;
        let outcome = offer(&self.tx, row, verified)?;
        self.outcome += outcome;
        Ok(outcome)
    }

    /// The author's row, remembering the run as offered by this bundle.
    fn offered_row(&mut self, verified: &Verified) -> Result<i64, Error> {
        let row = author_row(&self.tx, &verified.segment.author)?;
        let run = (verified.segment.first, verified.segment.last());
        self.offered.entry(row).or_default().push(run);
        Ok(row)
    }

    /// Offers a verified fork branch another store kept.
    pub fn offer_fork(&mut self, verified: Verified) -> Result<Outcome, Error> {
        let row = self.offered_row(&verified)?;
        // A branch that turns out to continue our chain after all attaches normally.
        let outcome = offer(&self.tx, row, verified)?;
        self.outcome += outcome;
        Ok(outcome)
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
        // Runs released from waiting were counted as waiting when offered, possibly by an
        // earlier bundle; what counts is which of this bundle's entries still wait at the end.
        self.outcome.waiting = 0;
        for (row, runs) in std::mem::take(&mut self.offered) {
            let released = release_waiting(&self.tx, row)?;
            self.outcome.new += released.new;
            self.outcome.duplicate += released.duplicate;
            self.outcome.forked += released.forked;
            self.outcome.fork_dropped += released.fork_dropped;
            let waiting = waiting_runs(&self.tx, row)?;
            self.outcome.waiting += overlap(&merge_runs(runs), &merge_runs(waiting));
        }
        if let Some(sender_frontier) = acknowledged.filter(|_| sender != &self.own) {
            let peer = sender.as_bytes().as_slice();
            for (author, seq) in sender_frontier {
                let of = author_row(&self.tx, author)?;
                self.db(self.tx.execute(
                    "INSERT INTO peers_v2(author, of_author, seq) VALUES (?1, ?2, ?3)
                     ON CONFLICT(author, of_author) DO UPDATE SET seq = max(seq, excluded.seq)",
                    params![peer, of, seq],
                ))?;
            }
            if sender_frontier.is_empty() {
                let of = author_row(&self.tx, sender)?;
                self.db(self.tx.execute(
                    "INSERT OR IGNORE INTO peers_v2(author, of_author, seq) VALUES (?1, ?2, 0)",
                    params![peer, of],
                ))?;
            }
        }
        self.db(self.tx.execute(
            "INSERT OR IGNORE INTO bundles_v1(id, sender, imported, new) VALUES (?1, ?2, ?3, ?4)",
            params![
                bundle.as_bytes().as_slice(),
                sender.as_bytes().as_slice(),
                now_ms(),
                self.outcome.new
            ],
        ))?;
        let outcome = self.outcome;
        let path = self.path.clone();
        self.tx
            .commit()
            .map_err(|source| Error::Db { path, source })?;
        Ok(outcome)
    }
}

/// A read-only connection to a store's log (see [`Store::log_reader`]): it can move to another
/// thread, so views decode the log on one core while they write on another.
pub struct LogReader {
    conn: Connection,
    db_path: PathBuf,
}

impl std::fmt::Debug for LogReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogReader")
            .field("db_path", &self.db_path)
            .finish()
    }
}

impl LogReader {
    /// Visits the attached segments holding entries above `after` (author -> seq) of any of
    /// `kinds`, author by author in seq order. Segments may start at or below `after`; the
    /// visitor skips what it has seen. Rows whose entries are all of other kinds are not decoded.
    pub fn for_each_segment_of_kinds<E: From<Error>>(
        &self,
        after: &Frontier,
        kinds: &[&str],
        visit: impl FnMut(&Segment) -> Result<(), E>,
    ) -> Result<(), E> {
        segments_of_kinds(&self.conn, &self.db_path, after, kinds, visit)
    }

    /// The hashes of a segment read through this reader.
    pub fn segment_hashes(&self, segment: &Segment) -> Result<Vec<Hash>, Error> {
        segment
            .hashes()
            .map_err(|source| damaged(&self.db_path, &segment.author, segment.first, source))
    }
}

/// See [`LogReader::for_each_segment_of_kinds`]; also reads through an import's transaction.
pub(crate) fn segments_of_kinds<E: From<Error>>(
    conn: &Connection,
    path: &Path,
    after: &Frontier,
    kinds: &[&str],
    mut visit: impl FnMut(&Segment) -> Result<(), E>,
) -> Result<(), E> {
    let db = |source| Error::Db {
        path: path.to_path_buf(),
        source,
    };
    for (row, author) in author_rows(conn, path)? {
        let seen = after.get(&author).copied().unwrap_or(0);
        // SQLite reads every selected column at each step, so the segment bytes are fetched
        // apart, only for rows that hold a wanted kind.
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, first, kinds FROM segments_v1 WHERE author = ?1 AND last > ?2 ORDER BY last",
            )
            .map_err(db)?;
        let mut data_of = conn
            .prepare_cached("SELECT data FROM segments_v1 WHERE id = ?1")
            .map_err(db)?;
        let mut rows = stmt.query(params![row, seen]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let id: i64 = r.get(0).map_err(db)?;
            let first: u64 = r.get(1).map_err(db)?;
            let row_kinds: String = r.get(2).map_err(db)?;
            if !row_kinds.split('\n').any(|k| kinds.contains(&k)) {
                continue;
            }
            let data: Vec<u8> = data_of.query_row([id], |r| r.get(0)).map_err(db)?;
            let segment =
                Segment::decode(&data).map_err(|source| damaged(path, &author, first, source))?;
            visit(&segment)?;
        }
    }
    Ok(())
}

/// Visits the attached entries of `kind` above `after` (per author), author by author in seq
/// order.
pub(crate) fn entries_of_kind(
    conn: &Connection,
    path: &Path,
    after: &Frontier,
    kind: &str,
    mut visit: impl FnMut(crate::Entry),
) -> Result<(), Error> {
    segments_of_kinds::<Error>(conn, path, after, &[kind], |segment| {
        let seen = after.get(&segment.author).copied().unwrap_or(0);
        let hashes = segment
            .hashes()
            .map_err(|source| damaged(path, &segment.author, segment.first, source))?;
        for (_, entry) in segment.to_entries(&hashes) {
            if entry.kind == kind && entry.seq > seen {
                visit(entry);
            }
        }
        Ok(())
    })
}

fn author_rows(conn: &Connection, path: &Path) -> Result<Vec<(i64, AuthorId)>, Error> {
    let db = |source| Error::Db {
        path: path.to_path_buf(),
        source,
    };
    let mut stmt = conn
        .prepare("SELECT id, author FROM authors_v1 ORDER BY author")
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get::<_, Vec<u8>>(1)?)))
        .map_err(db)?;
    let mut authors = Vec::new();
    for row in rows {
        let (id, author) = row.map_err(db)?;
        authors.push((id, author_from(&author)));
    }
    Ok(authors)
}

fn damaged(path: &Path, author: &AuthorId, first: u64, source: segment::Error) -> Error {
    Error::Damaged {
        path: path.to_path_buf(),
        location: format!("author {author}, seq {first}"),
        source,
    }
}

impl From<rusqlite::Error> for Error {
    fn from(source: rusqlite::Error) -> Self {
        Error::Db {
            path: PathBuf::from(DB_FILE),
            source,
        }
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS authors_v1(
    id INTEGER PRIMARY KEY,
    author BLOB NOT NULL UNIQUE,
    frontier INTEGER NOT NULL DEFAULT 0,
    head BLOB
);
CREATE TABLE IF NOT EXISTS segments_v1(
    id INTEGER PRIMARY KEY,
    author INTEGER NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    kinds TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS segments_v1_author_last ON segments_v1(author, last);
CREATE TABLE IF NOT EXISTS waiting_v1(
    id INTEGER PRIMARY KEY,
    author INTEGER NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    last_hash BLOB NOT NULL,
    data BLOB NOT NULL,
    UNIQUE(author, first, last_hash)
);
CREATE TABLE IF NOT EXISTS forks_v1(
    id INTEGER PRIMARY KEY,
    author INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    ours BLOB,
    theirs BLOB NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    data BLOB NOT NULL,
    UNIQUE(author, seq, theirs, first)
);
-- Acknowledgements recorded before bundles were signed (format 3) may have been forged; they are
-- dropped once, so no unsigned frontier ever lowers what is sent.
DROP TABLE IF EXISTS peers_v1;
CREATE TABLE IF NOT EXISTS peers_v2(
    author BLOB NOT NULL,
    of_author INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY(author, of_author)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects_v1(
    hash BLOB PRIMARY KEY,
    pack INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    len INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS project_v1(
    id INTEGER PRIMARY KEY CHECK (id = 1),
    config BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS refused_v1(
    id BLOB PRIMARY KEY,
    author BLOB NOT NULL,
    refused INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bundles_v1(
    id BLOB PRIMARY KEY,
    sender BLOB NOT NULL,
    imported INTEGER NOT NULL,
    new INTEGER NOT NULL
) WITHOUT ROWID;
";

fn create_private_dir(dir: &Path) -> Result<(), Error> {
    let io_err = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io_err)
}

fn author_from(bytes: &[u8]) -> AuthorId {
    AuthorId::from_slice(bytes).expect("the store writes 32-byte author ids")
}

fn hash_from(bytes: &[u8]) -> Hash {
    Hash::from_slice(bytes).expect("the store writes 32-byte hashes")
}

fn author_row(tx: &Connection, author: &AuthorId) -> Result<i64, Error> {
    let key = author.as_bytes().as_slice();
    tx.execute(
        "INSERT OR IGNORE INTO authors_v1(author) VALUES (?1)",
        [key],
    )?;
    Ok(
        tx.query_row("SELECT id FROM authors_v1 WHERE author = ?1", [key], |r| {
            r.get(0)
        })?,
    )
}

/// Builds the error for a stored row that does not decode (`at`: its first seq or id).
fn damaged_row(
    table: &'static str,
    author_row: i64,
    at: u64,
) -> impl FnOnce(segment::Error) -> Error {
    move |source| Error::Damaged {
        path: PathBuf::from(DB_FILE),
        location: format!("table {table}, author row {author_row}, at {at}"),
        source,
    }
}

/// Entries held as waiting, each counted once even where waiting runs overlap.
fn waiting_entries(conn: &Connection) -> Result<u64, Error> {
    let mut stmt = conn.prepare("SELECT DISTINCT author FROM waiting_v1")?;
    let rows: Vec<i64> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut total = 0;
    for row in rows {
        total += merge_runs(waiting_runs(conn, row)?)
            .iter()
            .map(|(first, last)| last - first + 1)
            .sum::<u64>();
    }
    Ok(total)
}

/// The `(first, last)` of the author's waiting runs.
fn waiting_runs(conn: &Connection, row: i64) -> Result<Vec<(u64, u64)>, Error> {
    let mut stmt = conn.prepare_cached("SELECT first, last FROM waiting_v1 WHERE author = ?1")?;
    let runs = stmt
        .query_map([row], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(runs)
}

/// Sorted, disjoint, inclusive ranges covering exactly the seqs of `runs`.
fn merge_runs(mut runs: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
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

fn head(tx: &Connection, row: i64) -> Result<(u64, Option<Hash>), Error> {
    let (frontier, head): (u64, Option<Vec<u8>>) = tx.query_row(
        "SELECT frontier, head FROM authors_v1 WHERE id = ?1",
        [row],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((frontier, head.map(|h| hash_from(&h))))
}

/// Hashes of the attached entries `from..=to` of the author in `row`.
fn attached_hashes(tx: &Connection, row: i64, from: u64, to: u64) -> Result<Vec<Hash>, Error> {
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
fn offer(tx: &Connection, row: i64, verified: Verified) -> Result<Outcome, Error> {
    let first = verified.segment.first;
    let mut outcome = place(tx, row, verified)?;
    if outcome.new + outcome.forked > 0 {
        outcome += settle(tx, row, first)?;
    }
    Ok(outcome)
}

/// Places one verified run: attaches it (or the part of it that is new), recognizes it as
/// already held, keeps it waiting, or keeps it as a fork branch.
fn place(tx: &Connection, row: i64, mut verified: Verified) -> Result<Outcome, Error> {
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

/// Places a run on a kept fork branch that holds the entry its `prev` names: what the branch
/// already holds counts as duplicate, the rest extends the branch, and a run that parts from
/// the branch is kept as a fork of its own. `None` when no branch holds that entry.
fn continue_fork(
    tx: &Connection,
    row: i64,
    verified: &mut Verified,
) -> Result<Option<Outcome>, Error> {
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

fn keep_waiting(tx: &Connection, row: i64, verified: Verified) -> Result<Outcome, Error> {
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

/// Keeps a fork branch: `theirs` is the author's other entry at `seq`, where we hold `ours`.
/// A copy of a branch already kept that goes further replaces it; one that parts from it
/// further on is kept from the point where the two differ.
fn keep_fork(
    tx: &Connection,
    row: i64,
    seq: u64,
    ours: Option<Hash>,
    theirs: Hash,
    mut verified: Verified,
) -> Result<Outcome, Error> {
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
) -> Result<Outcome, Error> {
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
fn drop_branches_over_cap(tx: &Connection, row: i64) -> Result<Vec<(i64, u64)>, Error> {
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
fn settle(tx: &Connection, row: i64, mut from: u64) -> Result<Outcome, Error> {
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
fn challenger(tx: &Connection, row: i64, from: u64) -> Result<Option<(i64, Verified)>, Error> {
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
/// `None` when the attached chain follows the lowest-hash rule. For [`crate::fsck`].
pub(crate) fn misattached(conn: &Connection, row: i64) -> Result<Option<u64>, Error> {
    Ok(connected_branches(conn, row, 1)?
        .iter()
        .filter(|c| c.wins())
        .map(|c| c.branch.segment.first)
        .min())
}

/// Attaches, in the author's chain, every kept branch the lowest-hash rule chooses. For
/// [`crate::fsck`]'s repair.
pub(crate) fn settle_author(tx: &Connection, row: i64) -> Result<(), Error> {
    settle(tx, row, 1).map(drop)
}

/// The kept branches starting in `from..=frontier + 1` whose first entry continues the attached
/// chain.
fn connected_branches(tx: &Connection, row: i64, from: u64) -> Result<Vec<Connected>, Error> {
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
fn cut_repeated(tx: &Connection, row: i64, id: i64, mut branch: Verified) -> Result<(), Error> {
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
fn reattach(tx: &Connection, row: i64, id: i64, branch: Verified) -> Result<Outcome, Error> {
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
fn detach_from(tx: &Connection, row: i64, seq: u64) -> Result<(Option<Verified>, Verified), Error> {
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
    let run = run.expect("seq is at most the frontier, so a row holds it");
    Ok((below, run))
}

/// Records that the author's attached chain changed from `seq` on: bumps
/// [`Store::chain_changes`] and lowers what every peer is known to hold of the author to below
/// `seq`, since whether a peer holds the new branch is not known.
fn record_chain_change(tx: &Connection, row: i64, seq: u64) -> Result<(), Error> {
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

/// The distinct kinds in a segment, sorted, one per line: lets views skip rows they do not read
/// without decoding them.
pub(crate) fn kinds_of(segment: &Segment) -> String {
    let kinds: std::collections::BTreeSet<&str> =
        segment.entries.iter().map(|e| e.kind.as_str()).collect();
    kinds.into_iter().collect::<Vec<_>>().join("\n")
}

/// Appends a run that continues the author's attached chain, merging it into the author's last
/// row while that stays small, and advances the frontier.
fn attach(tx: &Connection, row: i64, verified: Verified) -> Result<(), Error> {
    let last = verified.segment.last();
    let head = verified.last_hash();
    let tail: Option<(i64, usize, usize, Vec<u8>)> = tx
        .query_row(
            "SELECT id, last - first + 1, length(data), data FROM segments_v1
             WHERE author = ?1 ORDER BY last DESC LIMIT 1",
            [row],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let new_len = verified.bytes.as_ref().map_or(0, Vec::len);
    match tail {
        Some((id, count, len, data))
            if count + verified.segment.entries.len() <= SEGMENT_MAX_ENTRIES
                && len + new_len < SEGMENT_TARGET_BYTES =>
        {
            let mut merged = Segment::decode(&data).map_err(damaged_row("segments_v1", row, 0))?;
            merged.extend(verified.segment);
            tx.execute(
                "UPDATE segments_v1 SET last = ?2, kinds = ?3, data = ?4 WHERE id = ?1",
                params![id, last, kinds_of(&merged), merged.encode()],
            )?;
        }
        _ => {
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

/// A waiting run of the author whose predecessor is held on a kept fork branch.
fn waiting_on_a_fork(tx: &Connection, row: i64) -> Result<Option<(i64, Vec<u8>)>, Error> {
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
fn release_waiting(tx: &Connection, row: i64) -> Result<Outcome, Error> {
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

/// Turns drafts into signed segments continuing the chain at `frontier`/`head`.
fn build_segments(
    key: &DeviceKey,
    frontier: u64,
    head: Option<Hash>,
    drafts: Vec<Draft>,
) -> Result<(Vec<Verified>, Vec<Hash>), Error> {
    let author = key.author();
    let total = drafts.len();
    let mut all_hashes = Vec::with_capacity(total);
    let mut segments = Vec::new();
    let mut current = Segment {
        author,
        first: frontier + 1,
        prev: head,
        entries: Vec::new(),
    };
    let mut current_hashes = Vec::new();
    let mut current_bytes = 0usize;
    let mut unsigned_bytes = 0usize;
    let mut prev = head;
    let mut buf = Vec::with_capacity(256);
    for (index, mut draft) in drafts.into_iter().enumerate() {
        let seq = frontier + 1 + index as u64;
        draft.links.sort_unstable();
        draft.links.dedup();
        let fields = EntryRef {
            author: &author,
            seq,
            prev: prev.as_ref(),
            links: &draft.links,
            timestamp: draft.timestamp.min(i64::MAX as u64),
            kind: &draft.kind,
            body: &draft.body,
        };
        let hash = fields
            .check_fields()
            .and_then(|()| fields.hash_with(&mut buf))
            .map_err(|source| Error::Entry {
                index: index + 1,
                source,
            })?;
        let is_last = index + 1 == total;
        unsigned_bytes += buf.len();
        current_bytes += buf.len();
        let sign =
            is_last || seq.is_multiple_of(SIGN_EVERY) || unsigned_bytes >= SEGMENT_TARGET_BYTES;
        if sign {
            unsigned_bytes = 0;
        }
        current.entries.push(SegmentEntry {
            timestamp: fields.timestamp,
            kind: draft.kind,
            links: draft.links,
            body: draft.body,
            signature: sign.then(|| key.sign(&hash)),
        });
        current_hashes.push(hash);
        all_hashes.push(hash);
        prev = Some(hash);
        let full =
            current.entries.len() >= SEGMENT_MAX_ENTRIES || current_bytes >= SEGMENT_TARGET_BYTES;
        if sign && (full || is_last) {
            let next = Segment {
                author,
                first: seq + 1,
                prev,
                entries: Vec::new(),
            };
            segments.push(Verified {
                segment: std::mem::replace(&mut current, next),
                hashes: std::mem::take(&mut current_hashes),
                bytes: None,
            });
            current_bytes = 0;
        }
    }
    Ok((segments, all_hashes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::body_from_json;
    use serde_json::json;

    fn draft(i: u64) -> Draft {
        Draft {
            kind: "test".into(),
            body: body_from_json(&json!({ "i": i })).unwrap(),
            links: vec![],
            timestamp: 1_700_000_000_000 + i,
        }
    }

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        (dir, store)
    }

    #[test]
    fn acknowledgements_recorded_before_signed_bundles_are_dropped() {
        let (dir, store) = open();
        let peer = AuthorId::from_bytes([9; 32]);
        // What an earlier version left: a peer said (unsigned) to hold 1000 of our entries.
        store
            .conn
            .execute_batch(
                "CREATE TABLE peers_v1(author BLOB, of_author INTEGER, seq INTEGER);
                 INSERT INTO peers_v1 VALUES (x'0909', 1, 1000);",
            )
            .unwrap();
        drop(store);
        let store = Store::open(&dir.path().join("store")).unwrap();
        assert_eq!(store.peer_frontier(&peer).unwrap(), None);
        let left: i64 = store
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'peers_v1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0);
    }

    #[test]
    fn append_builds_a_contiguous_chain() {
        let (_dir, mut store) = open();
        let hashes = store.append((0..10).map(draft).collect()).unwrap();
        assert_eq!(hashes.len(), 10);
        store.append(vec![draft(10)]).unwrap();
        let status = store.status().unwrap();
        assert_eq!(status.entries, 11);
        assert_eq!(status.frontier[&store.author()], 11);
        let mut seen = Vec::new();
        store
            .for_each_segment::<Error>(None, |segment, hashes| {
                segment.verify().unwrap();
                seen.extend_from_slice(hashes);
                Ok(())
            })
            .unwrap();
        assert_eq!(seen[..10], hashes[..]);
        assert_eq!(seen.len(), 11);
    }

    #[test]
    fn large_batches_are_cut_at_signed_entries() {
        let (_dir, mut store) = open();
        store.append((0..10_000).map(draft).collect()).unwrap();
        let mut rows = 0;
        store
            .for_each_segment::<Error>(None, |segment, _| {
                segment.verify().unwrap();
                assert!(segment.entries.len() <= SEGMENT_MAX_ENTRIES);
                rows += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(rows, 3);
    }

    /// The first `entries` of `full` (a run of `source`'s chain) with the bodies at `edits`
    /// replaced, signed by `source` at its last entry: a run that may contradict the chain.
    fn signed_prefix(
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
    fn edit_that(source: &Store, full: &Segment, at: usize, higher: bool) -> String {
        let original = full.hashes().unwrap()[at];
        (0..)
            .map(|i| format!("edit{i}"))
            .find(|body| {
                let edited = signed_prefix(source, full, at + 1, &[(at, body)]).hashes[at];
                (edited > original) == higher
            })
            .unwrap()
    }

    fn segments_of(store: &Store) -> Vec<Verified> {
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

    /// Imports `runs` in one bundle from `sender` (reporting `frontier`); returns the totals.
    fn import_from(
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
    fn import_each(sink: &mut Store, runs: &[Verified], sender: &AuthorId) -> Outcome {
        let mut total = Outcome::default();
        for run in runs {
            total += import_from(sink, vec![run.clone()], sender, &Frontier::new());
        }
        total
    }

    /// The attached hashes of `author` in `store`, in seq order.
    fn chain_of(store: &Store, author: &AuthorId) -> Vec<Hash> {
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
    fn source_of(n: u64) -> (tempfile::TempDir, Store, Segment) {
        let (dir, mut source) = open();
        source.append((0..n).map(draft).collect()).unwrap();
        let full = segments_of(&source)[0].segment.clone();
        (dir, source, full)
    }

    fn assert_fsck_passes(store: &Store) {
        let report = crate::fsck::check(store).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
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
        let tx = sink.write_txn().unwrap();
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

    #[test]
    fn waiting_ranges_merge_and_overlap() {
        assert_eq!(merge_runs(vec![(5, 9), (1, 2), (3, 4), (8, 12)]), [(1, 12)]);
        assert_eq!(merge_runs(vec![(5, 9), (11, 12)]), [(5, 9), (11, 12)]);
        assert_eq!(overlap(&[(1, 10)], &[(5, 6), (9, 20)]), 4);
        assert_eq!(overlap(&[(1, 4)], &[(5, 6)]), 0);
    }

    #[test]
    fn export_plan_starts_after_the_given_frontier() {
        let (_a, mut store) = open();
        store.append((0..100).map(draft).collect()).unwrap();
        let mut after = Frontier::new();
        after.insert(store.author(), 60);
        let plan = store.plan_export(&after).unwrap();
        assert_eq!(plan.len(), 1);
        assert_eq!((plan[0].first, plan[0].last), (61, 100));
        let bytes = store.export_bytes(&plan[0]).unwrap();
        let segment = Segment::decode(&bytes).unwrap();
        segment.verify().unwrap();
        after.insert(store.author(), 100);
        assert!(store.plan_export(&after).unwrap().is_empty());
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
