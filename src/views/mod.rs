//! Views: tables derived from the log, kept in their own SQLite file (`views.sqlite` in the
//! store directory) that anyone can open with the `sqlite3` shell and anyone may delete.
//!
//! The log is the truth. Every view is a pure function of the *set* of attached entries, so the
//! same entries give the same view contents whatever order and however many imports they came
//! in: a version is superseded when any entry links to it, whenever that entry arrives. Views
//! catch up incrementally: they record, per author, the highest seq they have processed (their
//! own frontier), in the same transaction as the rows derived from those entries, and a catch-up
//! reads only the store's segments above it. Deleting the file, `mule reindex`, or a change of
//! [`VIEWS_VERSION`] rebuilds everything from the log.
//!
//! Only attached entries feed views; waiting entries join when they attach, and fork branches
//! are reported by `mule status` but never shown in a view. When an import re-attaches an
//! author's chain to a lower-hash branch (see [`crate::store`]), entries the views have seen may
//! no longer be attached: the store counts re-attachments ([`Store::chain_changes`]) and views
//! built at another count are rebuilt.

pub mod batch;
pub mod cal;
pub mod kv;
pub mod map;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, sync_channel};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::entry::{Entry, body_from_json};
use crate::id::{AuthorId, Hash};
use crate::progress::{Listener, Operation, Progress, Tally};
use crate::store::{self, Draft, Frontier, SegmentsOfKinds, Store, now_ms};

/// File name of the views database inside a store directory.
pub const VIEWS_FILE: &str = "views.sqlite";
/// Version of the view code; a database made by another version is rebuilt from the log.
pub const VIEWS_VERSION: &str = "kv1-map3-cal2";

/// Why a view could not be read or brought up to date.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The views database reported an error.
    #[error("{}: views database error: {source}", path.display())]
    Db {
        /// The views file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// Reading the log failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// An entry to write is not acceptable.
    #[error(transparent)]
    Entry(#[from] crate::entry::Error),
    /// The store's project could not be read.
    #[error(transparent)]
    Project(#[from] crate::project::Error),
    /// Reading the log stopped because writing the views failed (that failure is reported).
    #[error("reading the log stopped")]
    Stopped,
    /// A key, document or event the view does not show: never written, or deleted. Every
    /// view's `get` (and `del`, `rm`) says so with this error, which a front end turns into
    /// exit code 1.
    #[error("no {} `{key}` ({})", view.thing(), view.never())]
    Missing {
        /// The view asked.
        view: ViewName,
        /// The key, document id or event id asked for.
        key: String,
    },
    /// A damaged views file could not be removed to rebuild it.
    #[error("{}: cannot remove the damaged views file: {source}", path.display())]
    Remove {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}

impl Error {
    /// Whether this is damage to the views file itself (a table missing, a value of the wrong
    /// type or shape, a file that is no database): a rebuild from the log cures it. A busy,
    /// full, read-only or unreadable file is not damage, and neither is a failure of the log.
    pub fn is_damage(&self) -> bool {
        use rusqlite::ErrorCode;
        let Error::Db { source, .. } = self else {
            return false;
        };
        match source {
            rusqlite::Error::SqliteFailure(e, _) => matches!(
                e.code,
                ErrorCode::DatabaseCorrupt
                    | ErrorCode::NotADatabase
                    | ErrorCode::ConstraintViolation
                    | ErrorCode::TypeMismatch
                    | ErrorCode::Unknown
            ),
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::InvalidColumnIndex(..)
            | rusqlite::Error::InvalidColumnName(..) => true,
            _ => false,
        }
    }
}

/// The views, to name the one a [`Error::Missing`] was asked of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewName {
    /// The key/value view.
    Kv,
    /// The map view.
    Map,
    /// The calendar view.
    Cal,
}

impl ViewName {
    /// What the view holds, as a user names one of them.
    fn thing(self) -> &'static str {
        match self {
            ViewName::Kv => "kv key",
            ViewName::Map => "map document",
            ViewName::Cal => "event",
        }
    }

    /// How one comes to be missing.
    fn never(self) -> &'static str {
        match self {
            ViewName::Kv => "never put, or deleted",
            ViewName::Map => "never created, or deleted",
            ViewName::Cal => "never added, or removed",
        }
    }
}

/// What a catch-up did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CatchUp {
    /// Entries fed to a view (entries of kinds no view reads are not counted).
    pub entries: u64,
    /// Whether the views were rebuilt from scratch (new file, `reindex`, or a new version).
    pub rebuilt: bool,
}

/// The open views database.
pub struct Views {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Views {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Views").field("path", &self.path).finish()
    }
}

impl Drop for Views {
    fn drop(&mut self) {
        store::checkpoint_if_large(&self.conn, &self.path);
    }
}

impl Views {
    /// Opens (creating if needed) the views of the store in `store_dir`.
    pub fn open(store_dir: &Path) -> Result<Self, Error> {
        Self::open_file(&store_dir.join(VIEWS_FILE))
    }

    /// Deletes the views file of `store` (a damaged one may not even open) and rebuilds it from
    /// the log.
    pub fn recreate(store: &Store) -> Result<(Self, CatchUp), Error> {
        let path = store.dir().join(VIEWS_FILE);
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            if let Err(source) = std::fs::remove_file(&file)
                && source.kind() != std::io::ErrorKind::NotFound
            {
                return Err(Error::Remove { path: file, source });
            }
        }
        let mut views = Self::open_file(&path)?;
        let done = views.rebuild(store)?;
        Ok((views, done))
    }

    /// Opens (creating if needed) a views database at `path`.
    pub fn open_file(path: &Path) -> Result<Self, Error> {
        let path = path.to_path_buf();
        let db = db_error(&path);
        let conn = Connection::open(&path).map_err(db)?;
        conn.busy_timeout(Duration::from_secs(60)).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        // Views are derived data: a power cut may lose the last catch-up (rows and frontier
        // together, so they stay consistent) and the next command redoes it.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        // A bounded page cache (16 MiB), so memory does not grow with the views: rebuilding the
        // kv view from 1,000,000 puts took 8.3 s in 74 MiB with it, 7.1 s in 280 MiB with the
        // 256 MiB cache used before (release, same machine, same hour).
        conn.pragma_update(None, "cache_size", -16_384)
            .map_err(db)?;
        store::keep_wal_between_commands(&conn).map_err(db)?;
        store::plan_once(&conn).map_err(db)?;
        // Temporary tables and sorts go to a temporary file past SQLite's page cache, not to
        // memory (this build's default), so that large ones stay out of RSS.
        conn.pragma_update(None, "temp_store", "FILE").map_err(db)?;
        store::bring_to_layout(&conn, BOOKKEEPING_LAYOUT, BOOKKEEPING).map_err(db)?;
        Ok(Self { conn, path })
    }

    /// Begins a read transaction, for a run of many small reads (see [`store::Snapshot`]).
    pub fn read_snapshot(&self) -> Result<store::Snapshot<'_>, Error> {
        self.db(store::Snapshot::begin(&self.conn))
    }

    /// `result`, its error labelled with the views file.
    fn db<T>(&self, result: rusqlite::Result<T>) -> Result<T, Error> {
        result.map_err(db_error(&self.path))
    }

    /// The code version that built the views (none before the first catch-up) and how far into
    /// the log they got.
    pub fn checkpoint(&self) -> Result<(Option<String>, Frontier), Error> {
        let version = self.db(meta_value(&self.conn, "version"))?;
        let mut stmt = self.db(self.conn.prepare("SELECT author, seq FROM views_frontier"))?;
        let rows = self.db(stmt.query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get(1)?))))?;
        let mut seen = Frontier::new();
        for row in rows {
            let (author, seq) = self.db(row)?;
            if let Some(author) = AuthorId::from_slice(&author) {
                seen.insert(author, seq);
            }
        }
        Ok((version, seen))
    }

    /// Whether the views were built at the store's current [`Store::chain_changes`]; when not,
    /// the next catch-up rebuilds them.
    pub fn follows_chains_of(&self, store: &Store) -> Result<bool, Error> {
        let seen = self.db(chains_seen(&self.conn))?;
        Ok(seen == store.chain_changes()?.to_string())
    }

    /// SQLite's `quick_check` of the views file: empty when it is sound.
    pub fn quick_check(&self) -> Result<Vec<String>, Error> {
        self.db(store::quick_check(&self.conn))
    }

    /// Processes every attached entry of `store` the views have not seen, in one transaction.
    pub fn catch_up(&mut self, store: &Store) -> Result<CatchUp, Error> {
        self.update(store, false, &mut Tally::quiet(Operation::Reindex))
    }

    /// Drops every view and rebuilds it from the log.
    pub fn rebuild(&mut self, store: &Store) -> Result<CatchUp, Error> {
        self.rebuild_with_progress(store, &mut |_| {})
    }

    /// [`Views::rebuild`], telling `progress` the entries of the log gone through, of all the
    /// log holds, after each segment and at the end.
    pub fn rebuild_with_progress(
        &mut self,
        store: &Store,
        progress: &mut Listener<'_>,
    ) -> Result<CatchUp, Error> {
        let start = Progress::new(Operation::Reindex, None, None);
        self.update(store, true, &mut Tally::new(start, progress))
    }

    fn update(
        &mut self,
        store: &Store,
        force: bool,
        tally: &mut Tally<'_>,
    ) -> Result<CatchUp, Error> {
        let path = self.path.clone();
        let db = db_error(&path);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let version = meta_value(&tx, "version").map_err(db)?;
        // Entries a project no longer counts (removed devices) stay out of every view; when
        // that set changes, views may hold some of them, so they are rebuilt.
        let limits = counted_limits(store)?;
        let limits_key = limits_key(&limits);
        let held_limits = meta_value(&tx, "limits").map_err(db)?;
        // Read before the store's frontier: a re-attachment after this read is seen next time.
        let chains_key = store.chain_changes()?.to_string();
        let rebuilt = force
            || version.as_deref() != Some(VIEWS_VERSION)
            || held_limits.unwrap_or_default() != limits_key
            || chains_seen(&tx).map_err(db)? != chains_key;
        if rebuilt {
            reset(&tx).map_err(db)?;
            set_meta_value(&tx, "limits", &limits_key).map_err(db)?;
            set_meta_value(&tx, CHAINS_KEY, &chains_key).map_err(db)?;
        }
        let seen = frontier(&tx).map_err(db)?;
        // Read the store's frontier first: entries beyond it (a concurrent append) are left for
        // the next catch-up, and everything up to it is either viewed here or of a kind no view
        // reads.
        let upto = store.frontier()?;
        let to_go = store::entries_beyond(&upto, &seen);
        tally.now.entries_total = Some(to_go);
        tally.tell();
        let entries = if rebuilt || to_go > CATCH_UP_IN_LINE {
            decode_beside(store, &tx, &path, (&seen, &upto, &limits), rebuilt, tally)?
        } else {
            let mut written = 0;
            decode_log(store, &seen, &upto, &limits, |batch| {
                written += write_batch(&tx, batch, false, tally).map_err(db)?;
                Ok(())
            })?;
            written
        };
        if rebuilt {
            finish_rebuild(&tx).map_err(db)?;
        }
        // Segments of kinds no view reads were gone through without being read.
        tally.now.entries = to_go;
        tally.tell();
        for (author, seq) in &upto {
            if seen.get(author) != Some(seq) {
                tx.execute(
                    "INSERT INTO views_frontier(author, seq) VALUES (?1, ?2)
                     ON CONFLICT(author) DO UPDATE SET seq = excluded.seq",
                    params![author.as_bytes().as_slice(), seq],
                )
                .map_err(db)?;
            }
        }
        tx.commit().map_err(db)?;
        Ok(CatchUp { entries, rebuilt })
    }

    /// The key/value view.
    pub fn kv(&self) -> kv::Kv<'_> {
        kv::Kv { views: self }
    }

    /// The rows `sql` finds with `params`, each read by `read`.
    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, Error> {
        let mut stmt = self.db(self.conn.prepare_cached(sql))?;
        let rows = self.db(stmt.query_map(params, read))?;
        rows.map(|row| self.db(row)).collect()
    }

    /// Rows of (key, hash, text) from `sql`, for the views' dumps.
    fn dump_heads(&self, sql: &str) -> Result<Vec<(String, Hash, Option<String>)>, Error> {
        self.rows(sql, [], |r| Ok((r.get(0)?, hash_column(r, 1)?, r.get(2)?)))
    }

    /// The map view.
    pub fn map(&self) -> map::MapView<'_> {
        map::MapView { views: self }
    }

    /// The calendar view.
    pub fn cal(&self) -> cal::CalView<'_> {
        cal::CalView { views: self }
    }
}

/// Labels a SQLite error with the views file it came from.
fn db_error(path: &Path) -> impl Fn(rusqlite::Error) -> Error + Copy + '_ {
    move |source| Error::Db {
        path: path.to_path_buf(),
        source,
    }
}

/// The entry hash in column `index` of a view's row; a blob of another size (a views file
/// edited by hand) is an error, not a panic.
fn hash_column(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Hash> {
    row.get(index).map(Hash::from_bytes)
}

/// The JSON text in column `index` of a view's row (`None` for NULL); text that is not JSON (a
/// views file edited by hand) is a conversion error, which [`Error::is_damage`] recognizes.
fn json_column(
    row: &rusqlite::Row<'_>,
    index: usize,
) -> rusqlite::Result<Option<serde_json::Value>> {
    let text: Option<String> = row.get(index)?;
    text.map(|text| serde_json::from_str(&text).map_err(|e| damaged_column(index, e)))
        .transpose()
}

/// The error for a stored value in column `index` that does not decode.
fn damaged_column(
    index: usize,
    e: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
}

/// A draft of kind `kind` writing `body` as a new version that replaces the versions `links`.
fn draft(kind: &str, body: &serde_json::Value, links: Vec<Hash>) -> Result<Draft, Error> {
    Ok(Draft {
        kind: kind.into(),
        body: body_from_json(body)?,
        links,
        timestamp: now_ms(),
    })
}

/// The `views_meta` key recording the store's [`Store::chain_changes`] the views were built at.
const CHAINS_KEY: &str = "chain_changes";

/// The store's [`Store::chain_changes`] the views were built at ("0" for views built before it
/// was recorded, when it could only have been 0 for them).
fn chains_seen(conn: &Connection) -> rusqlite::Result<String> {
    Ok(meta_value(conn, CHAINS_KEY)?.unwrap_or_else(|| "0".to_owned()))
}

/// The layout of the views file's own bookkeeping tables ([`BOOKKEEPING`]), kept in SQLite's
/// `user_version`: an open that finds it skips the DDL. (The views' tables follow
/// [`VIEWS_VERSION`] instead.)
const BOOKKEEPING_LAYOUT: i64 = 1;

/// The views file's own bookkeeping tables.
const BOOKKEEPING: &str =
    "CREATE TABLE IF NOT EXISTS views_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS views_frontier(author BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;";

/// A `views_meta` value.
fn meta_value(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM views_meta WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
}

/// Sets a `views_meta` value.
fn set_meta_value(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO views_meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
    .map(drop)
}

/// Drops and recreates every view's tables, and forgets how far they got.
fn reset(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    kv::drop_tables(tx)?;
    map::drop_tables(tx)?;
    cal::drop_tables(tx)?;
    tx.execute_batch("DELETE FROM views_frontier;")?;
    kv::create_tables(tx)?;
    map::create_tables(tx)?;
    cal::create_tables(tx)?;
    for superseded in EVERY_SUPERSEDED {
        superseded.begin_staging(tx)?;
    }
    set_meta_value(tx, "version", VIEWS_VERSION)
}

fn frontier(tx: &Transaction<'_>) -> rusqlite::Result<Frontier> {
    let mut stmt = tx.prepare("SELECT author, seq FROM views_frontier")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, u64>(1)?)))?;
    let mut frontier = Frontier::new();
    for row in rows {
        let (author, seq) = row?;
        if let Some(author) = AuthorId::from_slice(&author) {
            frontier.insert(author, seq);
        }
    }
    Ok(frontier)
}

/// A view's table of superseded versions (`<view>_superseded`: the hashes some entry of its
/// kind links). Each view names its table's statements once, with [`superseded!`], so no SQL
/// is formatted per entry.
///
/// A rebuild marks into a temporary heap table instead (appending, whatever the order of the
/// hashes) and [`Superseded::merge`] moves its hashes into the view's table in hash order at the
/// end: inserted one by one in log order, random 32-byte keys touch a random page of a B-tree
/// larger than the page cache each time.
pub(super) struct Superseded {
    insert: &'static str,
    select: &'static str,
    stage: &'static str,
    begin_staging: &'static str,
    merge: &'static str,
}

/// Every view's superseded table, for the steps a rebuild takes on all of them.
const EVERY_SUPERSEDED: [&Superseded; 3] = [&kv::SUPERSEDED, &map::SUPERSEDED, &cal::SUPERSEDED];

/// The [`Superseded`] statements of the view table named by the literal `$table`.
macro_rules! superseded {
    ($table:literal) => {
        $crate::views::Superseded::new([
            concat!("INSERT OR IGNORE INTO main.", $table, "(hash) VALUES (?1)"),
            concat!("SELECT 1 FROM main.", $table, " WHERE hash = ?1"),
            concat!("INSERT INTO temp.", $table, "_staged(hash) VALUES (?1)"),
            concat!(
                "DROP TABLE IF EXISTS temp.",
                $table,
                "_staged;",
                "CREATE TEMP TABLE ",
                $table,
                "_staged(hash BLOB NOT NULL);"
            ),
            concat!(
                "INSERT OR IGNORE INTO main.",
                $table,
                "(hash)",
                " SELECT hash FROM temp.",
                $table,
                "_staged ORDER BY hash;",
                "DROP TABLE temp.",
                $table,
                "_staged;"
            ),
        ])
    };
}
pub(super) use superseded;

impl Superseded {
    /// The statements made by [`superseded!`]: insert, select, stage, begin staging, merge.
    pub(super) const fn new(
        [insert, select, stage, begin_staging, merge]: [&'static str; 5],
    ) -> Self {
        Self {
            insert,
            select,
            stage,
            begin_staging,
            merge,
        }
    }

    /// Starts a rebuild: marks go to the staging table until [`Superseded::merge`].
    pub(super) fn begin_staging(&self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        tx.execute_batch(self.begin_staging)
    }

    /// Ends a rebuild: moves the staged marks into the view's table, in hash order.
    pub(super) fn merge(&self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        tx.execute_batch(self.merge)
    }

    /// Records that the version written by `hash` is superseded (staged while `rebuilding`).
    pub(super) fn mark(
        &self,
        tx: &Transaction<'_>,
        hash: &[u8],
        rebuilding: bool,
    ) -> rusqlite::Result<()> {
        let sql = if rebuilding { self.stage } else { self.insert };
        tx.prepare_cached(sql)?.execute([hash]).map(drop)
    }

    /// Whether the version written by `hash` is superseded (not while rebuilding: the staged
    /// marks are not looked up).
    pub(super) fn contains(&self, tx: &Transaction<'_>, hash: &[u8]) -> rusqlite::Result<bool> {
        Ok(tx
            .prepare_cached(self.select)?
            .query_row([hash], |_| Ok(()))
            .optional()?
            .is_some())
    }
}

/// The entry kinds some view reads.
const VIEWED_KINDS: &[&str] = &[kv::KIND, map::KIND, cal::KIND];

/// Batches of decoded entries (one per segment, up to 4,096 entries) the decoder may run ahead.
/// Enough to keep both threads busy; each batch of map documents holds about 1.3 MiB, so 16
/// (as it was) let peak memory depend on which thread ran faster that day: a map import's
/// peak moved by 20 MiB between runs when the machine was busy.
const DECODED_BATCHES_IN_FLIGHT: usize = 4;

/// What every view needs of an entry besides its decoded body.
#[derive(Debug)]
pub(crate) struct Viewed {
    pub(crate) hash: Hash,
    pub(crate) links: Vec<Hash>,
    pub(crate) timestamp: u64,
}

/// An entry's body as the view of its kind decoded it.
#[derive(Debug)]
pub(crate) enum Row {
    Kv(kv::Row),
    Map(map::Row),
    Cal(cal::Row),
}

/// Decodes an entry for the view its kind belongs to; `None` for kinds no view reads and for
/// bodies that fit no view's shape.
/// (The PostgreSQL mirror decodes with this too, so both keep the same versions.)
pub(crate) fn decode(hash: Hash, entry: Entry) -> Option<(Viewed, Row)> {
    let row = match entry.kind.as_str() {
        kv::KIND => Row::Kv(kv::prepare(&entry)?),
        map::KIND => Row::Map(map::prepare(&entry)?),
        cal::KIND => Row::Cal(cal::prepare(&entry)?),
        _ => return None,
    };
    let viewed = Viewed {
        hash,
        links: entry.links,
        timestamp: entry.timestamp,
    };
    Some((viewed, row))
}

/// A JSON value's text, the same as its `to_string()`, but written straight into a buffer
/// instead of through the formatter a token at a time (2-3% of a rebuild's CPU).
fn json_text(value: &serde_json::Value) -> String {
    serde_json::to_string(value).expect("a JSON value always serializes")
}

/// The entries a project no longer counts (removed devices: author -> last counted seq), which
/// stay out of every view; empty without a project.
pub(crate) fn counted_limits(store: &Store) -> Result<BTreeMap<AuthorId, u64>, Error> {
    Ok(match crate::project::load(store)? {
        Some(project) => crate::project::Membership::of_store(store, &project)?.limits(),
        None => BTreeMap::new(),
    })
}

/// The views' record of which entries a project no longer counts: empty without limits.
pub(crate) fn limits_key(limits: &BTreeMap<AuthorId, u64>) -> String {
    limits
        .iter()
        .map(|(author, seq)| format!("{author}:{seq}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A segment's entries decoded for the views, and how many entries of the log it went through
/// (those no view reads too).
struct Decoded {
    rows: Vec<(Viewed, Row)>,
    gone_through: u64,
}

/// A catch-up of at most this many entries reads the log on the views' own thread, through the
/// store's connection: opening a second connection and starting a thread cost more than
/// decoding a few entries (a third of a `mule kv put`).
const CATCH_UP_IN_LINE: u64 = 512;

/// The log below `upto` (and `limits`) above `seen`, decoded on another thread through a
/// reader of its own while this one writes what it decoded into `tx` (of the views file at
/// `path`); returns how many entries were written. While `rebuilding`, views leave their
/// indexes to [`finish_rebuild`].
fn decode_beside(
    store: &Store,
    tx: &Transaction<'_>,
    path: &Path,
    (seen, upto, limits): (&Frontier, &Frontier, &BTreeMap<AuthorId, u64>),
    rebuilding: bool,
    tally: &mut Tally<'_>,
) -> Result<u64, Error> {
    let reader = store.log_reader()?;
    std::thread::scope(|scope| {
        let (send, receive) = sync_channel(DECODED_BATCHES_IN_FLIGHT);
        let decoder = scope.spawn(move || {
            decode_log(&reader, seen, upto, limits, |batch| {
                send.send(batch).map_err(|_| Error::Stopped)
            })
        });
        let written = write_batches(tx, receive, rebuilding, tally);
        let decoded = decoder.join().expect("decoding the log does not panic");
        // A failed write stops the decoder, whose own error then only says so.
        let entries = written.map_err(db_error(path))?;
        decoded?;
        Ok(entries)
    })
}

/// Reads the entries above `seen` and up to `upto` and `limits` (per author) and hands them to
/// `deliver` decoded, one batch per segment; stops at the first error `deliver` returns.
fn decode_log(
    reader: &impl SegmentsOfKinds,
    seen: &Frontier,
    upto: &Frontier,
    limits: &BTreeMap<AuthorId, u64>,
    mut deliver: impl FnMut(Decoded) -> Result<(), Error>,
) -> Result<(), Error> {
    reader.for_each_segment_of_kinds::<Error>(seen, VIEWED_KINDS, |segment| {
        let already = seen.get(&segment.author).copied().unwrap_or(0);
        let held = upto.get(&segment.author).copied().unwrap_or(0);
        let limit = limits
            .get(&segment.author)
            .map_or(held, |&counts| counts.min(held));
        let hashes = reader.hashes_of(segment)?;
        let rows = segment
            .to_entries(&hashes)
            .into_iter()
            .filter(|(_, entry)| entry.seq > already && entry.seq <= limit)
            .filter_map(|(hash, entry)| decode(hash, entry))
            .collect();
        let gone_through = segment
            .last()
            .min(held)
            .saturating_sub(already.max(segment.first - 1));
        deliver(Decoded { rows, gone_through })
    })
}

/// Writes decoded batches until the decoder is done; returns how many entries were written.
/// While `rebuilding`, views leave their indexes to [`finish_rebuild`].
fn write_batches(
    tx: &Transaction<'_>,
    receive: Receiver<Decoded>,
    rebuilding: bool,
    tally: &mut Tally<'_>,
) -> rusqlite::Result<u64> {
    let mut written = 0;
    for batch in receive {
        written += write_batch(tx, batch, rebuilding, tally)?;
    }
    Ok(written)
}

/// Writes one decoded batch and tells `tally` how far into the log it got; returns how many
/// entries it wrote.
fn write_batch(
    tx: &Transaction<'_>,
    batch: Decoded,
    rebuilding: bool,
    tally: &mut Tally<'_>,
) -> rusqlite::Result<u64> {
    let written = batch.rows.len() as u64;
    for (viewed, row) in batch.rows {
        match row {
            Row::Kv(row) => kv::write(tx, &viewed, row, rebuilding)?,
            Row::Map(row) => map::write(tx, &viewed, row, rebuilding)?,
            Row::Cal(row) => cal::write(tx, &viewed, row, rebuilding)?,
        }
    }
    tally.now.entries += batch.gone_through;
    tally.tell();
    Ok(written)
}

/// Builds every view's indexes after a rebuild took in the whole log.
fn finish_rebuild(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    // These sorts run once the decoding thread is done, so they may use the second core:
    // 1,000,000 map points rebuilt in 6.8 s instead of 7.7 s, in 75 MiB instead of 44 (each
    // sorting thread fills a cache of its own). Set here, not at open, which every command pays.
    tx.pragma_update(None, "threads", 2)?;
    for superseded in EVERY_SUPERSEDED {
        superseded.merge(tx)?;
    }
    kv::finish_rebuild(tx)?;
    map::finish_rebuild(tx)?;
    cal::finish_rebuild(tx)
}
