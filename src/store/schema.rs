//! The store's tables and what happens to them when a store opens.
//!
//! All the DDL of `store.sqlite` lives here, the tables other modules interpret included (see
//! the store's docs, "The store boundary"). Tables are named with a version suffix: a change of
//! layout is a new table, and the step from the old one is a migration in [`SCHEMA`], run by
//! an open that finds a store of an older [`LAYOUT`]. Migrations so far:
//! - `peers_v1` -> `peers_v2`: acknowledgements from unsigned manifests are dropped (store docs,
//!   "What is kept").
//! - Layout 2 adds the index `segments_v1_kinds`, built on the first open.

use std::path::Path;

use rusqlite::Connection;

use super::BUSY_TIMEOUT;

/// The layout [`SCHEMA`] brings a store to, kept in SQLite's `user_version`. An open that finds
/// it there skips the DDL: parsing it cost about a millisecond of every command. A change to
/// [`SCHEMA`] raises it.
const LAYOUT: i64 = 2;

/// The tables of a store, created when missing, and the migrations from older layouts.
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
-- Layout 2: which kinds each row holds, readable without the rows' pages (`mule status` lists
-- the blob entries; the views look for the kinds they read).
CREATE INDEX IF NOT EXISTS segments_v1_kinds ON segments_v1(author, last, first, kinds);
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

/// Sets the connection up (busy timeout, WAL, `synchronous=FULL`; see the store's docs, "Why
/// SQLite") and brings the tables to the current layout.
pub(super) fn open(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    keep_wal_between_commands(conn)?;
    plan_once(conn)?;
    bring_to_layout(conn, LAYOUT, SCHEMA)?;
    if crate::fault::planned(crate::fault::Point::Store) == Some(crate::fault::Fault::Enospc) {
        // The database may not grow by one page: SQLite's own "disk is full".
        conn.pragma_update(None, "max_page_count", 1)?;
    }
    Ok(())
}

/// Runs `ddl` (idempotent: `IF NOT EXISTS` and migrations) unless SQLite's `user_version`
/// says the database is at `layout` already, then records `layout` there (never lowering a
/// newer one). A database on a write-protected stick may not take the record: then the next
/// open runs `ddl` again, as every open did before. Shared with the views file.
pub(crate) fn bring_to_layout(conn: &Connection, layout: i64, ddl: &str) -> rusqlite::Result<()> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found == layout {
        return Ok(());
    }
    conn.execute_batch(ddl)?;
    if found > layout {
        return Ok(());
    }
    match conn.pragma_update(None, "user_version", layout) {
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ReadOnly => {
            Ok(())
        }
        done => done,
    }
}

/// Leaves the write-ahead log in place when the connection closes, instead of copying it
/// into the database, syncing both and deleting it: that cost four `fsync`s, a directory
/// sync and a re-created file at every command. The next open reads what the log holds, so
/// nothing committed is lost, and [`checkpoint_if_large`] empties the log once it has grown;
/// a store is the whole folder (copy `store.sqlite-wal` with `store.sqlite`). Shared with the
/// views file.
pub(crate) fn keep_wal_between_commands(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )?;
    Ok(())
}

/// Plans each statement once, at prepare. Without SQLite's query planner stability guarantee,
/// a statement that compares a column to a parameter and has an ORDER BY is planned again at
/// every new binding (SQLite 3.54 re-prepares it: measured, the kv heads query was parsed
/// again for every put of a bulk load, a third of its time). Every connection mule opens
/// takes it.
pub(crate) fn plan_once(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// The size of write-ahead log that a closing connection leaves in place. The first process to
/// open the database reads the whole log to index it, so the log is kept small: a command that
/// writes one entry adds about 13 KB to the store's and the views' logs, and one in about
/// twenty empties them.
const WAL_KEPT_UP_TO: u64 = 256 << 10;

/// Copies the write-ahead log of the database at `db_path` into it and empties the log, when
/// the log has grown past [`WAL_KEPT_UP_TO`] and no other process is reading it (this does not
/// wait: a `mule ui` reading the store leaves the log to a later close). For a connection's
/// last moments, so it cannot fail: what stays in the log is read from there.
pub(crate) fn checkpoint_if_large(conn: &Connection, db_path: &Path) {
    let mut wal = db_path.as_os_str().to_owned();
    wal.push("-wal");
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_KEPT_UP_TO) {
        // A busy database, a full disk or a read-only file only leave the log in place.
        let _ = conn.busy_timeout(std::time::Duration::ZERO);
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
}

#[cfg(test)]
mod tests {
    use crate::id::AuthorId;
    use crate::store::Store;

    #[test]
    fn the_kinds_of_rows_are_read_from_an_index_alone_also_in_an_older_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        // What layout 1 left: no such index.
        store
            .conn
            .execute_batch("DROP INDEX segments_v1_kinds; PRAGMA user_version = 1;")
            .unwrap();
        drop(store);
        let store = Store::open(&dir.path().join("store")).unwrap();
        let plan: String = store
            .conn
            .query_row(
                &format!("EXPLAIN QUERY PLAN {}", crate::store::read::ROWS_AND_KINDS),
                [1, 0],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("COVERING INDEX segments_v1_kinds"), "{plan}");
    }

    #[test]
    fn acknowledgements_recorded_before_signed_bundles_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let peer = AuthorId::from_bytes([9; 32]);
        // What an earlier version left: a peer said (unsigned) to hold 1000 of our entries.
        store
            .conn
            .execute_batch(
                "CREATE TABLE peers_v1(author BLOB, of_author INTEGER, seq INTEGER);
                 INSERT INTO peers_v1 VALUES (x'0909', 1, 1000);
                 PRAGMA user_version = 0;",
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
}
