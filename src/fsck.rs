//! `mule fsck`: checks everything a store holds and says precisely what is wrong; with repair,
//! rebuilds what can be derived (each author's frontier and head, the kinds each segment row
//! lists, the views) and never deletes an entry.
//!
//! What is checked:
//! - both SQLite files pass `PRAGMA quick_check`;
//! - every segment row of every author decodes, holds what its row says (author, first, last),
//!   continues the chain of the row before it (seqs contiguous from 1, `prev` equal to the hash
//!   of the entry before), and verifies: every entry's hash recomputed, every signature checked,
//!   the last entry signed;
//! - the author's recorded frontier and head are the end of that chain; each row's kinds are
//!   the kinds of its entries;
//! - every waiting run and kept fork branch decodes and verifies;
//! - every attached chain takes the lowest-hash branch at each fork it holds (store docs);
//! - when the log is sound: the views were built by this code version, have not seen entries
//!   the log lacks, and, when they have seen the whole log, equal a fresh rebuild (heads of every
//!   kv key, map document and calendar event, and the nodes a whole-world map query returns).

use std::path::PathBuf;

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use crate::id::{AuthorId, Hash};
use crate::segment::Segment;
use crate::store::{self, Store, kinds_of};
use crate::views::{self, VIEWS_FILE, VIEWS_VERSION, Views};

/// Why a check could not run (not what it found: that is a [`Problem`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The log database failed.
    #[error("{}: {source}", path.display())]
    Db {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The views failed.
    #[error(transparent)]
    Views(#[from] views::Error),
    /// A temporary folder for the comparison rebuild could not be made.
    #[error("cannot make a temporary folder: {0}")]
    Temp(std::io::Error),
    /// A file could not be removed during a repair.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}

/// Something wrong, where, and whether `--repair` can fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Where: a file, an author's chain, a table row.
    pub place: String,
    /// What is wrong.
    pub what: String,
    /// Whether it can be rebuilt from the log.
    pub repairable: bool,
    #[serde(skip)]
    fix: Option<Fix>,
}

/// A derivable value to rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fix {
    /// An author's frontier and head, from the end of its chain.
    Frontier {
        row: i64,
        frontier: u64,
        head: Option<Hash>,
    },
    /// An author's attached chain, to re-attach to the branches the lowest-hash rule chooses.
    Attach { row: i64 },
    /// A segment row's kinds.
    Kinds { id: i64, kinds: String },
    /// The views, rebuilt from the log.
    Views,
    /// A pack file no object refers to (left by an interrupted `blob add` or import).
    UnusedPack { path: PathBuf },
}

/// What a check found.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Report {
    /// Attached entries checked.
    pub entries: u64,
    /// Segment rows checked (attached, waiting and fork rows).
    pub segments: u64,
    /// Blob objects (chunks and chunk lists) checked against their hashes.
    pub objects: u64,
    /// Everything wrong.
    pub problems: Vec<Problem>,
}

impl Report {
    fn found(&mut self, place: impl Into<String>, what: impl Into<String>, fix: Option<Fix>) {
        self.problems.push(Problem {
            place: place.into(),
            what: what.into(),
            repairable: fix.is_some(),
            fix,
        });
    }
}

/// Checks the store and its views without changing anything.
pub fn check(store: &Store) -> Result<Report, Error> {
    let mut report = Report::default();
    let (conn, path) = store.database();
    let db = |source| Error::Db {
        path: path.to_path_buf(),
        source,
    };
    for line in views::quick_check(conn).map_err(db)? {
        report.found(path.display().to_string(), line, None);
    }
    check_chains(conn, &mut report).map_err(db)?;
    for table in ["waiting_v1", "forks_v1"] {
        check_loose_runs(conn, table, &mut report).map_err(db)?;
    }
    // Which branch wins is only worth asking of branches that decode.
    if report.problems.is_empty() {
        check_attachment(conn, &mut report)?;
    }
    check_objects(store, &mut report).map_err(db)?;
    check_packs(store, &mut report).map_err(db)?;
    // Views are compared with a rebuild from the log, which only means something, and is
    // only worth repairing to, once the log itself is sound.
    if report.problems.iter().all(|p| p.repairable) {
        check_views(store, &mut report)?;
    }
    Ok(report)
}

/// Reads every blob object back and checks it against its hash. A damaged one cannot be
/// rebuilt here: it must come again from a store that has it.
fn check_objects(store: &Store, report: &mut Report) -> rusqlite::Result<()> {
    let (conn, _) = store.database();
    let mut stmt = conn.prepare("SELECT hash FROM objects_v1")?;
    let hashes: Vec<Vec<u8>> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for bytes in hashes {
        report.objects += 1;
        let Some(hash) = crate::id::Hash::from_slice(&bytes) else {
            report.found("objects_v1", "a row's hash is not 32 bytes", None);
            continue;
        };
        if let Err(e) = crate::blob::read_object(store, &hash) {
            report.found(
                format!("object {}", hash.short()),
                format!("{e}; import a bundle that carries it again (mule export --all from a store that has it)"),
                None,
            );
        }
    }
    Ok(())
}

/// Finds pack files that no object refers to and that were last written more than a day ago (a
/// younger one may belong to an add or import still running).
fn check_packs(store: &Store, report: &mut Report) -> rusqlite::Result<()> {
    let (conn, _) = store.database();
    let dir = store.dir().join(crate::blob::PACKS_DIR);
    let Ok(files) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    let mut used = conn.prepare("SELECT EXISTS(SELECT 1 FROM objects_v1 WHERE pack = ?1)")?;
    for file in files.filter_map(Result::ok) {
        let path = file.path();
        let number = path
            .file_stem()
            .and_then(|s| i64::from_str_radix(&s.to_string_lossy(), 16).ok());
        let old = file
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > crate::folder::STALE_PART_AGE);
        let Some(number) = number.filter(|_| old) else {
            continue;
        };
        if !used.query_row([number], |r| r.get::<_, bool>(0))? {
            report.found(
                path.display().to_string(),
                "no blob object refers to this pack (an add or import was interrupted)",
                Some(Fix::UnusedPack { path }),
            );
        }
    }
    Ok(())
}

/// Rebuilds what `report` found repairable; returns how many problems were fixed.
pub fn repair(store: &mut Store, report: &Report) -> Result<usize, Error> {
    let fixes: Vec<&Fix> = report
        .problems
        .iter()
        .filter_map(|p| p.fix.as_ref())
        .collect();
    for fix in &fixes {
        if let Fix::UnusedPack { path } = fix {
            std::fs::remove_file(path).map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
        }
    }
    let store_fixes = fixes
        .iter()
        .filter(|f| {
            matches!(
                f,
                Fix::Frontier { .. } | Fix::Kinds { .. } | Fix::Attach { .. }
            )
        })
        .count();
    if store_fixes > 0 {
        let path = store.database().1.to_path_buf();
        let db = |source| Error::Db {
            path: path.clone(),
            source,
        };
        let tx = store.write_txn()?;
        for fix in &fixes {
            match fix {
                Fix::Frontier {
                    row,
                    frontier,
                    head,
                } => {
                    tx.execute(
                        "UPDATE authors_v1 SET frontier = ?2, head = ?3 WHERE id = ?1",
                        params![row, frontier, head.map(|h| h.as_bytes().to_vec())],
                    )
                    .map_err(db)?;
                }
                Fix::Kinds { id, kinds } => {
                    tx.execute(
                        "UPDATE segments_v1 SET kinds = ?2 WHERE id = ?1",
                        params![id, kinds],
                    )
                    .map_err(db)?;
                }
                Fix::Attach { row } => store::settle_author(&tx, *row)?,
                Fix::Views | Fix::UnusedPack { .. } => {}
            }
        }
        tx.commit().map_err(db)?;
    }
    if fixes.iter().any(|f| matches!(f, Fix::Views)) {
        rebuild_views(store)?;
    }
    Ok(fixes.len())
}

/// Replaces the views file with a fresh rebuild (a damaged file may not even open).
fn rebuild_views(store: &Store) -> Result<(), Error> {
    let path = store.dir().join(VIEWS_FILE);
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if let Err(e) = std::fs::remove_file(&file)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return Err(Error::Store(store::Error::Io {
                path: file,
                source: e,
            }));
        }
    }
    Views::open(store.dir())?.rebuild(store)?;
    Ok(())
}

/// A row of `authors_v1`: row id, author id, frontier, head.
type AuthorRow = (i64, Vec<u8>, u64, Option<Vec<u8>>);

fn check_chains(conn: &Connection, report: &mut Report) -> rusqlite::Result<()> {
    let mut authors =
        conn.prepare("SELECT id, author, frontier, head FROM authors_v1 ORDER BY id")?;
    let authors: Vec<AuthorRow> = authors
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    for (row, author, frontier, head) in authors {
        let Some(author) = AuthorId::from_slice(&author) else {
            report.found(
                format!("authors_v1 row {row}"),
                "the author id is not 32 bytes",
                None,
            );
            continue;
        };
        let Some((end, end_hash)) = check_chain(conn, row, &author, report)? else {
            // The chain is damaged (reported already): its sound end is not where the entries
            // end, and moving the frontier back would hide, then overwrite, the entries after.
            continue;
        };
        let head = head.as_deref().and_then(Hash::from_slice);
        if (frontier, head) != (end, end_hash) {
            report.found(
                format!("author {}", author.short()),
                format!("the recorded frontier is {frontier}, but the chain ends at seq {end}"),
                Some(Fix::Frontier {
                    row,
                    frontier: end,
                    head: end_hash,
                }),
            );
        }
    }
    Ok(())
}

/// Checks one author's attached rows; returns where the chain ends (seq and hash), or `None`
/// when it is damaged.
fn check_chain(
    conn: &Connection,
    row: i64,
    author: &AuthorId,
    report: &mut Report,
) -> rusqlite::Result<Option<(u64, Option<Hash>)>> {
    let mut stmt = conn.prepare(
        "SELECT id, first, last, kinds, data FROM segments_v1 WHERE author = ?1 ORDER BY last",
    )?;
    let rows = stmt.query_map([row], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, u64>(1)?,
            r.get::<_, u64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Vec<u8>>(4)?,
        ))
    })?;
    let (mut end, mut end_hash, mut broken) = (0u64, None, false);
    for found in rows {
        let (id, first, last, kinds, data) = found?;
        report.segments += 1;
        let place = format!("author {}, seq {first}-{last}", author.short());
        let segment = match Segment::decode(&data) {
            Ok(segment) => segment,
            Err(e) => {
                report.found(place, format!("cannot be decoded: {e}"), None);
                broken = true;
                continue;
            }
        };
        if segment.author != *author || segment.first != first || segment.last() != last {
            report.found(
                place.clone(),
                format!(
                    "the row holds author {} seq {}-{}",
                    segment.author.short(),
                    segment.first,
                    segment.last()
                ),
                None,
            );
        }
        if !broken && first != end + 1 {
            report.found(
                place.clone(),
                format!("the chain jumps from seq {end} to seq {first}"),
                None,
            );
            broken = true;
        }
        if !broken && segment.prev != end_hash {
            report.found(
                place.clone(),
                "it does not continue the entry before it",
                None,
            );
            broken = true;
        }
        match segment.verify() {
            Ok(hashes) => {
                report.entries += hashes.len() as u64;
                if !broken {
                    end = segment.last();
                    end_hash = hashes.last().copied();
                }
            }
            Err(e) => {
                report.found(place.clone(), e.to_string(), None);
                broken = true;
            }
        }
        let actual = kinds_of(&segment);
        if actual != kinds {
            report.found(
                place,
                "the row's list of entry kinds is out of date",
                Some(Fix::Kinds { id, kinds: actual }),
            );
        }
    }
    Ok((!broken).then_some((end, end_hash)))
}

/// Checks that every attached chain takes, at each fork the store holds, the branch with the
/// lowest hash (store docs, "Which branch is attached").
fn check_attachment(conn: &Connection, report: &mut Report) -> Result<(), store::Error> {
    let mut stmt = conn.prepare("SELECT id, author FROM authors_v1 ORDER BY id")?;
    let authors: Vec<(i64, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (row, author) in authors {
        if let Some(seq) = store::misattached(conn, row)? {
            let author =
                AuthorId::from_slice(&author).map_or_else(|| format!("row {row}"), |a| a.short());
            report.found(
                format!("author {author}"),
                format!(
                    "a kept branch from seq {seq} should be attached (it has the lower hash, or continues the chain)"
                ),
                Some(Fix::Attach { row }),
            );
        }
    }
    Ok(())
}

fn check_loose_runs(conn: &Connection, table: &str, report: &mut Report) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(&format!("SELECT id, data FROM {table} ORDER BY id"))?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
    for found in rows {
        let (id, data) = found?;
        report.segments += 1;
        let result = Segment::decode(&data).and_then(|s| s.verify());
        if let Err(e) = result {
            report.found(format!("{table} row {id}"), e.to_string(), None);
        }
    }
    Ok(())
}

fn check_views(store: &Store, report: &mut Report) -> Result<(), Error> {
    let path = store.dir().join(VIEWS_FILE);
    if !path.exists() {
        return Ok(());
    }
    let place = path.display().to_string();
    let views = match Views::open(store.dir()) {
        Ok(views) => views,
        Err(e) => {
            report.found(place, format!("cannot be opened: {e}"), Some(Fix::Views));
            return Ok(());
        }
    };
    let damage = views.quick_check().unwrap_or_else(|e| vec![e.to_string()]);
    if !damage.is_empty() {
        report.found(place, damage.join("; "), Some(Fix::Views));
        return Ok(());
    }
    let (version, seen) = views.checkpoint()?;
    if version.is_some() && version.as_deref() != Some(VIEWS_VERSION) {
        report.found(
            place,
            format!(
                "built by view code {}, this mule is {VIEWS_VERSION}",
                version.unwrap_or_default()
            ),
            Some(Fix::Views),
        );
        return Ok(());
    }
    if version.is_some() && !views.follows_chains_of(store)? {
        // An import re-attached a chain since: the next catch-up rebuilds the views, so what
        // they hold now is expected to differ from the log.
        return Ok(());
    }
    let log = store.frontier()?;
    let ahead: Vec<String> = seen
        .iter()
        .filter(|(author, seq)| log.get(author).copied().unwrap_or(0) < **seq)
        .map(|(author, seq)| format!("author {} seq {seq}", author.short()))
        .collect();
    if !ahead.is_empty() {
        report.found(
            place,
            format!(
                "the views have seen entries the log lacks ({})",
                ahead.join(", ")
            ),
            Some(Fix::Views),
        );
        return Ok(());
    }
    if version.is_some() && seen == log && snapshot(&views)? != fresh_snapshot(store)? {
        report.found(
            place,
            "the views differ from a rebuild from the log",
            Some(Fix::Views),
        );
    }
    Ok(())
}

/// Everything the views show, for comparing with a rebuild.
type Snapshot = (
    Vec<(String, Hash, Option<String>)>,
    Vec<(String, Hash, Option<String>)>,
    Vec<(String, Hash, Option<String>)>,
    Vec<serde_json::Value>,
);

fn snapshot(views: &Views) -> Result<Snapshot, Error> {
    let world = views::map::BBox {
        south: -90.0,
        north: 90.0,
        west: -180.0,
        east: 180.0,
    };
    let shown = views
        .map()
        .query(&world, true)?
        .iter()
        .map(views::map::Version::to_json)
        .collect();
    Ok((
        views.kv().dump()?,
        views.map().dump()?,
        views.cal().dump()?,
        shown,
    ))
}

fn fresh_snapshot(store: &Store) -> Result<Snapshot, Error> {
    let dir = tempfile::tempdir().map_err(Error::Temp)?;
    let mut fresh = Views::open_file(&dir.path().join(VIEWS_FILE))?;
    fresh.rebuild(store)?;
    snapshot(&fresh)
}
