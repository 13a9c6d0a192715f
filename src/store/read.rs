//! Reading the log: attached segments in seq order, export plans and their bytes, read
//! snapshots, and [`LogReader`], a second connection that can move to another thread.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use serde::Serialize;

use crate::id::{AuthorId, Hash};
use crate::segment::Segment;

use super::{Error, Fault, Frontier, Store, author_from};

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

impl Store {
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
        visit: impl FnMut(&Segment, &[Hash]) -> Result<(), E>,
    ) -> Result<(), E> {
        segments_after(&self.conn, &self.db_path, after, only, visit)
    }

    /// The hashes of a segment read from this store.
    pub fn segment_hashes(&self, segment: &Segment) -> Result<Vec<Hash>, Error> {
        segment_hashes(segment).map_err(|fault| fault.at(&self.db_path, "reading the log"))
    }

    /// Visits the attached entries of `kind` above `after` (per author), author by author in
    /// seq order.
    pub fn entries_of_kind(
        &self,
        after: &Frontier,
        kind: &str,
        visit: impl FnMut(crate::Entry),
    ) -> Result<(), Error> {
        entries_of_kind(&self.conn, &self.db_path, after, kind, visit)
    }

    /// Plans an export of everything above `after` (author -> seq already held by the receiver;
    /// authors not named are exported whole), plus waiting runs and fork branches of the same
    /// authors. The plan and the later reads see one snapshot only if the caller holds
    /// [`Store::read_snapshot`].
    pub fn plan_export(&self, after: &Frontier) -> Result<Vec<ExportSegment>, Error> {
        self.run("planning an export", |conn| {
            let mut plan = Vec::new();
            for (row, author) in author_rows(conn)? {
                let from = after.get(&author).copied().unwrap_or(0) + 1;
                for placement in [Placement::Log, Placement::Waiting, Placement::Fork] {
                    plan_rows(conn, row, &author, placement, from, &mut plan)?;
                }
            }
            Ok(plan)
        })
    }

    /// Begins a read transaction so that a plan and the reads of its rows agree even while
    /// another process writes.
    pub fn read_snapshot(&self) -> Result<Snapshot<'_>, Error> {
        Snapshot::begin(&self.conn)
            .map_err(|source| Fault::Db(source).at(&self.db_path, "starting a read"))
    }

    /// A second, read-only connection to the log, which may move to another thread.
    pub fn log_reader(&self) -> Result<LogReader, Error> {
        let fail =
            |source: rusqlite::Error| Fault::Db(source).at(&self.db_path, "opening a log reader");
        let conn = Connection::open_with_flags(
            &self.db_path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(fail)?;
        conn.busy_timeout(super::BUSY_TIMEOUT).map_err(fail)?;
        super::plan_once(&conn).map_err(fail)?;
        Ok(LogReader {
            conn,
            db_path: self.db_path.clone(),
        })
    }

    /// The bytes of a planned segment.
    pub fn export_bytes(&self, segment: &ExportSegment) -> Result<Vec<u8>, Error> {
        let mut bytes = Vec::new();
        self.export_bytes_into(segment, &mut bytes)?;
        Ok(bytes)
    }

    /// [`Store::export_bytes`] into `bytes` (emptied first), so that a writer going through
    /// many segments reuses one buffer instead of faulting in fresh pages for each.
    pub fn export_bytes_into(
        &self,
        segment: &ExportSegment,
        bytes: &mut Vec<u8>,
    ) -> Result<(), Error> {
        bytes.clear();
        match &segment.source {
            ExportSource::Row(id) => self.run("reading a segment to export", |conn| {
                row_bytes_into(conn, segment.placement, *id, bytes)
            }),
            ExportSource::Bytes(held) => {
                bytes.extend_from_slice(held);
                Ok(())
            }
        }
    }
}

/// Adds the rows of `placement` of the author in `row` that hold seqs from `from` on to `plan`.
fn plan_rows(
    conn: &Connection,
    row: i64,
    author: &AuthorId,
    placement: Placement,
    from: u64,
    plan: &mut Vec<ExportSegment>,
) -> Result<(), Fault> {
    let sql = format!(
        "SELECT id, first, last, length(data) FROM {} WHERE author = ?1 AND last >= ?2 ORDER BY first",
        placement.table()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![row, from], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, u64>(1)?,
            r.get::<_, u64>(2)?,
            r.get::<_, u64>(3)?,
        ))
    })?;
    for r in rows {
        let (id, first, last, len) = r?;
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
            let data = row_bytes(conn, placement, id)?;
            let mut segment =
                Segment::decode(&data).map_err(|source| Fault::damaged(author, first, source))?;
            let hashes = segment
                .hashes()
                .map_err(|source| Fault::damaged(author, first, source))?;
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

/// The stored bytes of row `id` of `placement`'s table.
fn row_bytes(conn: &Connection, placement: Placement, id: i64) -> Result<Vec<u8>, Fault> {
    let mut bytes = Vec::new();
    row_bytes_into(conn, placement, id, &mut bytes)?;
    Ok(bytes)
}

/// Appends the bytes of row `id` of `placement`'s table to `bytes`.
fn row_bytes_into(
    conn: &Connection,
    placement: Placement,
    id: i64,
    bytes: &mut Vec<u8>,
) -> Result<(), Fault> {
    let sql = format!("SELECT data FROM {} WHERE id = ?1", placement.table());
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    let row = rows.next()?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    bytes.extend_from_slice(row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?);
    Ok(())
}

/// A read transaction on the store's or the views' connection (see [`Store::read_snapshot`]):
/// its reads agree with each other, and a run of many small reads skips taking and releasing
/// SQLite's locks for each. Ends when dropped.
pub struct Snapshot<'a> {
    conn: &'a Connection,
}

impl<'a> Snapshot<'a> {
    /// Begins a read transaction on `conn`.
    pub(crate) fn begin(conn: &'a Connection) -> rusqlite::Result<Self> {
        conn.execute_batch("BEGIN DEFERRED")?;
        Ok(Snapshot { conn })
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        // Ending a read-only transaction cannot lose data; an error here leaves nothing to undo.
        let _ = self.conn.execute_batch("COMMIT");
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

/// Reads the log's segments by kind: through the store's own connection ([`Store`], cheapest for
/// a few entries), or through a [`LogReader`] on another thread (for many).
pub(crate) trait SegmentsOfKinds {
    /// The connection to read through, and the database's path for errors.
    fn log_connection(&self) -> (&Connection, &Path);

    /// Visits the attached segments holding entries above `after` (author -> seq) of any of
    /// `kinds`, author by author in seq order. Segments may start at or below `after`; the
    /// visitor skips what it has seen. Rows whose entries are all of other kinds are not decoded.
    fn for_each_segment_of_kinds<E: From<Error>>(
        &self,
        after: &Frontier,
        kinds: &[&str],
        visit: impl FnMut(&Segment) -> Result<(), E>,
    ) -> Result<(), E> {
        let (conn, path) = self.log_connection();
        segments_of_kinds(conn, path, after, kinds, visit)
    }

    /// The hashes of a segment read through this reader.
    fn hashes_of(&self, segment: &Segment) -> Result<Vec<Hash>, Error> {
        let (_, path) = self.log_connection();
        segment_hashes(segment).map_err(|fault| fault.at(path, "reading the log"))
    }
}

impl LogReader {
    /// [`Store::for_each_segment_after`], through this reader (on another thread).
    pub fn for_each_segment_after<E: From<Error>>(
        &self,
        after: &Frontier,
        only: Option<&AuthorId>,
        visit: impl FnMut(&Segment, &[Hash]) -> Result<(), E>,
    ) -> Result<(), E> {
        segments_after(&self.conn, &self.db_path, after, only, visit)
    }
}

/// See [`Store::for_each_segment_after`].
fn segments_after<E: From<Error>>(
    conn: &Connection,
    path: &Path,
    after: &Frontier,
    only: Option<&AuthorId>,
    mut visit: impl FnMut(&Segment, &[Hash]) -> Result<(), E>,
) -> Result<(), E> {
    let fail = |fault: Fault| fault.at(path, "reading the log");
    let db = |source: rusqlite::Error| fail(source.into());
    for (row, author) in author_rows(conn).map_err(fail)? {
        if only.is_some_and(|a| *a != author) {
            continue;
        }
        let seen = after.get(&author).copied().unwrap_or(0);
        let mut stmt = conn
            .prepare_cached(
                "SELECT first, data FROM segments_v1 WHERE author = ?1 AND last > ?2 ORDER BY last",
            )
            .map_err(db)?;
        let mut rows = stmt.query(params![row, seen]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let first: u64 = r.get(0).map_err(db)?;
            let data: Vec<u8> = r.get(1).map_err(db)?;
            let segment = Segment::decode(&data)
                .map_err(|source| fail(Fault::damaged(&author, first, source)))?;
            let hashes = segment_hashes(&segment).map_err(fail)?;
            visit(&segment, &hashes)?;
        }
    }
    Ok(())
}

impl SegmentsOfKinds for LogReader {
    fn log_connection(&self) -> (&Connection, &Path) {
        (&self.conn, &self.db_path)
    }
}

impl SegmentsOfKinds for Store {
    fn log_connection(&self) -> (&Connection, &Path) {
        (&self.conn, &self.db_path)
    }
}

/// The hashes of a stored segment; a failure is damage to the store.
fn segment_hashes(segment: &Segment) -> Result<Vec<Hash>, Fault> {
    segment
        .hashes()
        .map_err(|source| Fault::damaged(&segment.author, segment.first, source))
}

/// An author's rows past a seq, with the kinds each holds (answered from an index alone).
pub(super) const ROWS_AND_KINDS: &str =
    "SELECT id, first, kinds FROM segments_v1 WHERE author = ?1 AND last > ?2 ORDER BY last";

/// See [`SegmentsOfKinds::for_each_segment_of_kinds`].
fn segments_of_kinds<E: From<Error>>(
    conn: &Connection,
    path: &Path,
    after: &Frontier,
    kinds: &[&str],
    mut visit: impl FnMut(&Segment) -> Result<(), E>,
) -> Result<(), E> {
    let fail = |fault: Fault| fault.at(path, "reading the log");
    let db = |source: rusqlite::Error| fail(source.into());
    for (row, author) in author_rows(conn).map_err(fail)? {
        let seen = after.get(&author).copied().unwrap_or(0);
        // SQLite reads every selected column at each step, so the segment bytes are fetched
        // apart, only for rows that hold a wanted kind; the rest comes from the covering index
        // `segments_v1_kinds` alone (a few pages, instead of a page a row).
        let mut stmt = conn.prepare_cached(ROWS_AND_KINDS).map_err(db)?;
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
            let segment = Segment::decode(&data)
                .map_err(|source| fail(Fault::damaged(&author, first, source)))?;
            visit(&segment)?;
        }
    }
    Ok(())
}

/// Visits the attached entries of `kind` above `after` (per author), author by author in seq
/// order, through `conn` (the store's connection or an import's transaction, on the database
/// at `path`).
pub(super) fn entries_of_kind(
    conn: &Connection,
    path: &Path,
    after: &Frontier,
    kind: &str,
    mut visit: impl FnMut(crate::Entry),
) -> Result<(), Error> {
    segments_of_kinds::<Error>(conn, path, after, &[kind], |segment| {
        let seen = after.get(&segment.author).copied().unwrap_or(0);
        let hashes = segment_hashes(segment).map_err(|fault| fault.at(path, "reading the log"))?;
        for (_, entry) in segment.to_entries(&hashes) {
            if entry.kind == kind && entry.seq > seen {
                visit(entry);
            }
        }
        Ok(())
    })
}

/// Every author's row id and author id, ordered by author id.
pub(super) fn author_rows(conn: &Connection) -> Result<Vec<(i64, AuthorId)>, Fault> {
    let mut stmt = conn.prepare("SELECT id, author FROM authors_v1 ORDER BY author")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, Vec<u8>>(1)?)))?;
    let mut authors = Vec::new();
    for row in rows {
        let (id, author) = row?;
        authors.push((id, author_from("authors_v1.author", &author)?));
    }
    Ok(authors)
}

/// The distinct kinds in a segment, sorted, one per line: lets views skip rows they do not read
/// without decoding them.
pub(super) fn kinds_of(segment: &Segment) -> String {
    let kinds: std::collections::BTreeSet<&str> =
        segment.entries.iter().map(|e| e.kind.as_str()).collect();
    kinds.into_iter().collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use crate::segment::Segment;
    use crate::store::Frontier;
    use crate::store::testing::{draft, open};

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
}
