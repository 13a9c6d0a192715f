//! The log store: one directory holding the device key and an SQLite database of segments.
//!
//! # Why SQLite, and why segments
//! The store keeps entries in the same compact [`Segment`](crate::segment::Segment) form that
//! bundles carry, one row per run of up to [`SEGMENT_MAX_ENTRIES`] entries of one author. Export
//! therefore copies rows into a bundle without re-encoding, import stores verified members as
//! they arrived, and the database does one row of work per few thousand entries instead of one
//! per entry (measured: SQLite costs about 1.5 us per row, which alone would cap bulk loading
//! near the 300,000 entries/s target). SQLite (bundled, WAL, `synchronous=FULL`) was chosen over
//! redb or hand-made segment files because it gives, without code of ours, what a store holding
//! the only copy of a field team's data needs: atomic multi-table transactions (a bundle is
//! applied whole or not at all), durability across `kill -9` and power loss, and safe concurrent
//! use by several processes (a cron job and a person), which redb's one-process file lock does
//! not.
//!
//! Tables are named with a version suffix (`segments_v1`), so a schema change is a new table,
//! never a silent reinterpretation of an old one.
//!
//! # What a command pays before its work
//! Scripts and cron jobs start mule once per change, so opening a store is kept cheap: the DDL
//! runs only when SQLite's `user_version` says the layout is older than this code's; the
//! write-ahead log stays in place between commands (no checkpoint, sync and delete at every
//! close) until it passes 256 KB; a catch-up of a few entries reads the log on the views' own
//! thread; and statements are planned once (see `schema`). A store is therefore the whole
//! folder: `store.sqlite-wal` and `views.sqlite-wal` may hold the latest commits.
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
//!
//! # Rooms
//! - `schema`: the tables (DDL) and the migrations run when a store opens.
//! - `append`: this device's new entries, signed and cut into segments.
//! - `import`: verified runs from elsewhere: attach, wait, or keep as a fork ([`Import`]).
//! - `fork`: the lowest-hash rule: kept branches and re-attachment.
//! - `read`: reading the log: segments, export plans, [`LogReader`].
//! - `status`: frontier, peers, forks, [`Status`].
//! - `bundles`: which bundles were imported or refused (`bundles_v1`, `refused_v1`).
//! - `objects`: the blob objects' index (`objects_v1`) and `project_record`: the project
//!   record (`project_v1`).
//! - `check`: the log tables' self-check and repair, for [`crate::fsck`].
//!
//! # The store boundary
//! No other module sees the SQLite connection. The store owns the one database file and every
//! table in it, including the tables whose contents other modules interpret (`objects_v1` for
//! [`crate::blob`], `project_v1` for [`crate::project`], `bundles_v1` and `refused_v1` for
//! [`crate::bundle`]): one import must add entries, blob objects and the bundle's id in a single
//! transaction, which a table kept in another file, or opened by another module, could not join.
//! Each such table has a room here with typed methods named for what they do (on [`Store`], and
//! on [`Import`] where they run inside an import's transaction); the rows hold plain values and
//! bytes that the owning module decodes, so the store does not depend on the modules above it.
//! `schema` keeps all the DDL in one place, so a store opens in one step and the versioned
//! names (a schema change is a new table) are checked in one place.
//!
//! Every database error names the database file and what the store was doing.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::entry;
use crate::id::{AuthorId, Hash};
use crate::keys::{self, DeviceKey, Home};
use crate::segment;

mod append;
pub use append::{Appended, Drafts};
mod bundles;
mod check;
mod fork;
mod import;
mod objects;
mod project_record;
mod read;
mod schema;
mod status;
#[cfg(test)]
mod testing;

pub use bundles::SeenBundle;
pub(crate) use check::quick_check;
pub use check::{LogCheck, LogFix, LogProblem};
pub use import::{Import, Outcome, Verified};
pub use objects::ObjectLocation;
pub(crate) use read::SegmentsOfKinds;
pub use read::{ExportSegment, LogReader, Placement, Snapshot};
pub(crate) use schema::{
    bring_to_layout, checkpoint_if_large, keep_wal_between_commands, plan_once,
};
pub use status::{Fork, Peer, Status};

/// Author id -> highest contiguous seq held.
pub type Frontier = BTreeMap<AuthorId, u64>;

/// How many entries `frontier` holds beyond `known` (per author, summed).
pub fn entries_beyond(frontier: &Frontier, known: &Frontier) -> u64 {
    frontier
        .iter()
        .map(|(author, seq)| seq.saturating_sub(known.get(author).copied().unwrap_or(0)))
        .sum()
}

/// File name of the database inside a store directory.
pub const DB_FILE: &str = "store.sqlite";
/// Most entries the store puts in one segment row.
pub const SEGMENT_MAX_ENTRIES: usize = 4096;
/// Size at which the store starts a new segment row.
pub const SEGMENT_TARGET_BYTES: usize = 1 << 20;
/// A run that continues an author's chain is merged into the author's last row only while that
/// row is smaller than this; otherwise it starts a row. Small appends (a script's `kv put` per
/// change) so rewrite at most this much, not a whole row of up to [`SEGMENT_TARGET_BYTES`]
/// (measured: a one-entry append into a 60 KB last row read and rewrote it twice, ~5 ms), and
/// rows still gather thousands of small appends instead of one row each.
pub const MERGE_BELOW_BYTES: usize = 16 << 10;
/// An appended batch signs at least every this many entries (and its last one).
pub const SIGN_EVERY: u64 = 1024;
/// How long a write waits for another process's transaction before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(60);
/// Most fork branches (rows of `forks_v1`) kept per author. An honest author forks only when a
/// store is copied and both copies write, which leaves a handful of branches; more is a broken
/// or hostile device, and beyond this many the branches whose first entry has the highest hash
/// are not kept (the import still succeeds and counts them in [`Outcome::fork_dropped`]).
pub const MAX_FORK_BRANCHES: u64 = 16;
/// The `meta` key counting re-attachments; see [`Store::chain_changes`].
pub(crate) const CHAIN_CHANGES: &str = "chain_changes";

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The user interrupted the write; its transaction rolled back.
    #[error("{0}")]
    Interrupted(#[from] crate::interrupt::Interrupted),
    /// The database reported an error.
    #[error("{path}: database error while {doing}: {source}")]
    Db {
        /// The database file.
        path: PathBuf,
        /// What the store was doing, in words ("importing a bundle").
        doing: &'static str,
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
    /// A stored value has the wrong type or size; the database was changed outside mule.
    #[error("{}: {location} is damaged: {reason}", path.display())]
    BadValue {
        /// The database file.
        path: PathBuf,
        /// Where: the table and column, or what the store was reading.
        location: String,
        /// What is wrong with the value.
        reason: String,
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

impl Drop for Store {
    fn drop(&mut self) {
        checkpoint_if_large(&self.conn, &self.db_path);
    }
}

/// The default store directory: the per-user data directory's `mule` folder.
pub fn default_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("mule"))
}

/// A failure in the store's statements before it is known which file and which operation they
/// served: the [`Store`] or [`Import`] method that ran them names both with [`Fault::at`].
#[derive(Debug)]
enum Fault {
    /// SQLite failed.
    Db(rusqlite::Error),
    /// A stored row does not decode.
    Damaged {
        /// Which row: table, author, seq.
        location: String,
        /// The decode error.
        source: segment::Error,
    },
    /// A stored value has the wrong type or size.
    BadValue {
        /// Where: table and column.
        location: String,
        /// What is wrong.
        reason: String,
    },
}

impl From<rusqlite::Error> for Fault {
    fn from(source: rusqlite::Error) -> Self {
        Fault::Db(source)
    }
}

impl Fault {
    /// A stored segment of `author` starting at `first` that does not decode.
    fn damaged(author: &AuthorId, first: u64, source: segment::Error) -> Self {
        Fault::Damaged {
            location: format!("author {author}, seq {first}"),
            source,
        }
    }

    /// The error for the database at `path`, while `doing` what.
    fn at(self, path: &Path, doing: &'static str) -> Error {
        match self {
            Fault::Db(source) if is_bad_value(&source) => Error::BadValue {
                path: path.to_path_buf(),
                location: format!("a value read while {doing}"),
                reason: source.to_string(),
            },
            Fault::Db(source) => Error::Db {
                path: path.to_path_buf(),
                doing,
                source,
            },
            Fault::Damaged { location, source } => Error::Damaged {
                path: path.to_path_buf(),
                location,
                source,
            },
            Fault::BadValue { location, reason } => Error::BadValue {
                path: path.to_path_buf(),
                location,
                reason,
            },
        }
    }
}

/// Whether SQLite read a value of another type or range than the column holds when mule
/// writes it (a database edited by hand), rather than failing to read at all.
fn is_bad_value(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::InvalidColumnType(..)
    )
}

/// Builds the fault for a stored row that does not decode (`at`: its first seq or id).
fn damaged_row(
    table: &'static str,
    author_row: i64,
    at: u64,
) -> impl FnOnce(segment::Error) -> Fault {
    move |source| Fault::Damaged {
        location: format!("table {table}, author row {author_row}, at {at}"),
        source,
    }
}

impl Store {
    /// Opens the store in `dir`, creating the directory, the key and the database on first use.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        create_private_dir(dir)?;
        let key = DeviceKey::load_or_create(dir)?;
        let db_path = dir.join(DB_FILE);
        let conn = Connection::open(&db_path)
            .map_err(|source| Fault::Db(source).at(&db_path, "opening the store"))?;
        schema::open(&conn)
            .map_err(|source| Fault::Db(source).at(&db_path, "opening the store"))?;
        let store = Self {
            dir: dir.to_path_buf(),
            db_path,
            conn,
            key,
        };
        store.init_home()?;
        Ok(store)
    }

    /// Runs `work` on the store's connection; a failure names the database file and `doing`.
    fn run<T>(
        &self,
        doing: &'static str,
        work: impl FnOnce(&Connection) -> Result<T, Fault>,
    ) -> Result<T, Error> {
        work(&self.conn).map_err(|fault| fault.at(&self.db_path, doing))
    }

    /// Runs `work` in a write transaction and commits it; on failure nothing is written.
    fn write<T>(
        &mut self,
        doing: &'static str,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, Fault>,
    ) -> Result<T, Error> {
        let tx = self.write_txn(doing)?;
        let done = work(&tx).and_then(|done| Ok(tx.commit().map(|()| done)?));
        done.map_err(|fault| fault.at(&self.db_path, doing))
    }

    /// Starts a write transaction, waiting up to [`BUSY_TIMEOUT`] for another process's.
    fn write_txn(&mut self, doing: &'static str) -> Result<Transaction<'_>, Error> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| Fault::Db(source).at(&self.db_path, doing))
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
        self.run("recording the store's home", |conn| {
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('home', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [text],
            )?;
            Ok(())
        })
    }

    fn io(&self, source: io::Error) -> Error {
        Error::Io {
            path: self.dir.clone(),
            source,
        }
    }

    fn meta(&self, key: &str) -> Result<Option<String>, Error> {
        self.run("reading the store's settings", |conn| {
            Ok(conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()?)
        })
    }

    /// A setting of this device (kept in the store's `meta` table under `setting.<name>`,
    /// never carried by a bundle), such as the folders the sync page remembers.
    pub fn setting(&self, name: &str) -> Result<Option<String>, Error> {
        self.meta(&format!("setting.{name}"))
    }

    /// Sets a setting of this device (see [`Store::setting`]).
    pub fn set_setting(&mut self, name: &str, value: &str) -> Result<(), Error> {
        let key = format!("setting.{name}");
        self.write("writing a setting of this device", |tx| {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key.as_str(), value],
            )?;
            Ok(())
        })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A number that changes whenever another connection (another process) commits to the
    /// database: SQLite's `PRAGMA data_version`. Writes through this store do not change it.
    pub fn data_version(&self) -> Result<i64, Error> {
        self.run("checking for changes by others", |conn| {
            Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
        })
    }

    /// The database file.
    pub fn db_path(&self) -> &Path {
        &self.db_path
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

    /// The device key, for signatures outside entries (project invites).
    pub(crate) fn device_key(&self) -> &DeviceKey {
        &self.key
    }
}

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

/// The author id stored in `column` (`table.column`); another size is damage, not a panic.
fn author_from(column: &'static str, bytes: &[u8]) -> Result<AuthorId, Fault> {
    AuthorId::from_slice(bytes).ok_or_else(|| wrong_size(column, "an author id", bytes))
}

/// The hash stored in `column` (`table.column`); another size is damage, not a panic.
fn hash_from(column: &'static str, bytes: &[u8]) -> Result<Hash, Fault> {
    Hash::from_slice(bytes).ok_or_else(|| wrong_size(column, "a hash", bytes))
}

fn wrong_size(column: &'static str, what: &str, bytes: &[u8]) -> Fault {
    Fault::BadValue {
        location: format!("column {column}"),
        reason: format!("{what} of {} bytes, not 32", bytes.len()),
    }
}

/// The row of `author` in `authors_v1`, added when the author is new.
fn author_row(tx: &Connection, author: &AuthorId) -> Result<i64, Fault> {
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

#[cfg(test)]
mod tests {
    use super::testing::{draft, open};
    use super::*;

    #[test]
    fn database_errors_name_the_full_path_and_what_was_being_done() {
        let (_dir, mut store) = open();
        store.append((0..3).map(draft).collect()).unwrap();
        let path = store.dir().join(DB_FILE);
        store
            .conn
            .execute_batch("UPDATE segments_v1 SET data = x'00'; DROP TABLE bundles_v1;")
            .unwrap();
        let damaged = store
            .for_each_segment::<Error>(None, |_, _| Ok(()))
            .unwrap_err();
        assert!(matches!(&damaged, Error::Damaged { path: p, .. } if *p == path));
        let failed = store.is_imported(&Hash::of(b"x")).unwrap_err();
        assert!(matches!(&failed, Error::Db { path: p, .. } if *p == path));
        let text = failed.to_string();
        assert!(text.starts_with(&format!("{}: ", path.display())), "{text}");
        assert!(text.contains("while looking up imported bundles"), "{text}");
    }
}
