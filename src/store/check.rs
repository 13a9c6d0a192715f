//! The log tables' self-check, for [`crate::fsck`]: every attached, waiting and fork row decodes
//! and verifies, every chain is contiguous and linked, each author's recorded frontier, head
//! and each row's kinds match what the rows hold, and every attached chain follows the
//! lowest-hash rule. What derives from the rows can be rebuilt ([`Store::repair_log`]); nothing
//! here deletes an entry.

use rusqlite::types::{FromSql, ValueRef};
use rusqlite::{Connection, Row, params};

use crate::id::{AuthorId, Hash};
use crate::segment::Segment;

use super::fork::{misattached, settle_author};
use super::read::kinds_of;
use super::{Error, Fault, Store};

/// What [`Store::check_log`] found.
#[derive(Debug, Default)]
pub struct LogCheck {
    /// Attached entries checked.
    pub entries: u64,
    /// Segment rows checked (attached, waiting and fork rows).
    pub segments: u64,
    /// Everything wrong, in the order found.
    pub problems: Vec<LogProblem>,
}

/// Something wrong in the log tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogProblem {
    /// Where: the database file, an author's chain, a table row.
    pub place: String,
    /// What is wrong.
    pub what: String,
    /// How [`Store::repair_log`] rebuilds it, when it derives from the rows.
    pub fix: Option<LogFix>,
}

/// A value of the log tables that derives from the rows, to rebuild with [`Store::repair_log`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFix(Repair);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Repair {
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
    /// A damaged acknowledgement of a peer, forgotten: the next export to that peer then
    /// sends what it may lack, and its next bundle acknowledges again.
    /// The row is named by `hex(author)` and `quote(of_author)`, which name any stored value.
    ForgetAcknowledgement { author: String, of_author: String },
}

impl LogCheck {
    fn found(&mut self, place: impl Into<String>, what: impl Into<String>, fix: Option<Repair>) {
        self.problems.push(LogProblem {
            place: place.into(),
            what: what.into(),
            fix: fix.map(LogFix),
        });
    }
}

/// What the check's and the repair's database errors say the store was doing.
const CHECKING: &str = "checking the log";
const REPAIRING: &str = "repairing the log";

impl Store {
    /// Checks the log tables without changing anything: SQLite's `quick_check` of the database
    /// file, every segment row, every chain, and the lowest-hash rule (asked only when all rows
    /// decode).
    pub fn check_log(&self) -> Result<LogCheck, Error> {
        self.run(CHECKING, |conn| {
            let mut report = LogCheck::default();
            for line in quick_check(conn)? {
                report.found(self.db_path.display().to_string(), line, None);
            }
            check_chains(conn, &mut report)?;
            check_acknowledgements(conn, &mut report)?;
            for table in ["waiting_v1", "forks_v1"] {
                check_loose_runs(conn, table, &mut report)?;
            }
            if report.problems.is_empty() {
                check_attachment(conn, &mut report)?;
            }
            Ok(report)
        })
    }

    /// Rebuilds what `fixes` name, in one transaction.
    pub fn repair_log<'a>(
        &mut self,
        fixes: impl IntoIterator<Item = &'a LogFix>,
    ) -> Result<(), Error> {
        self.write(REPAIRING, |tx| {
            for LogFix(repair) in fixes {
                apply(tx, repair)?;
            }
            Ok(())
        })
    }
}

/// Rebuilds one derived value.
fn apply(tx: &Connection, repair: &Repair) -> Result<(), Fault> {
    match repair {
        Repair::Frontier {
            row,
            frontier,
            head,
        } => {
            tx.execute(
                "UPDATE authors_v1 SET frontier = ?2, head = ?3 WHERE id = ?1",
                params![row, frontier, head.map(|h| h.as_bytes().to_vec())],
            )?;
        }
        Repair::Kinds { id, kinds } => {
            tx.execute(
                "UPDATE segments_v1 SET kinds = ?2 WHERE id = ?1",
                params![id, kinds],
            )?;
        }
        Repair::Attach { row } => settle_author(tx, *row)?,
        Repair::ForgetAcknowledgement { author, of_author } => {
            tx.execute(
                "DELETE FROM peers_v2 WHERE hex(author) = ?1 AND quote(of_author) = ?2",
                params![author, of_author],
            )?;
        }
    }
    Ok(())
}

/// Finds acknowledgements (`peers_v2`) holding a value mule never writes: a peer id that is no
/// 32-byte blob, a seq that is no integer of 0 or more.
fn check_acknowledgements(conn: &Connection, report: &mut LogCheck) -> Result<(), Fault> {
    let mut stmt = conn.prepare(
        "SELECT hex(author), quote(of_author), length(author) FROM peers_v2
         WHERE typeof(author) <> 'blob' OR length(author) <> 32
            OR typeof(of_author) <> 'integer' OR typeof(seq) <> 'integer' OR seq < 0",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?)))?;
    for row in rows {
        let (author, of_author, len) = row?;
        report.found(
            format!("peers_v2 (an acknowledgement, peer id of {len} bytes)"),
            "the row holds a value mule never writes",
            Some(Repair::ForgetAcknowledgement { author, of_author }),
        );
    }
    Ok(())
}

/// SQLite's `quick_check` of any mule database file (the views' too): the problems it lists,
/// none when the file is sound.
pub(crate) fn quick_check(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("PRAGMA quick_check")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let found: Vec<String> = rows.collect::<Result<_, _>>()?;
    Ok(found.into_iter().filter(|line| line != "ok").collect())
}

/// Column `index` of `row` as a `T`, or what is wrong with the stored value: the check reports
/// a value of another type or range (a database edited by hand) where it is, and goes on.
fn loose<T: FromSql>(row: &Row<'_>, index: usize) -> rusqlite::Result<Result<T, String>> {
    let value = row.get_ref(index)?;
    Ok(T::column_result(value).map_err(|_| {
        let column = row.as_ref().column_name(index).unwrap_or("?");
        format!(
            "column {column} holds {}, which mule never writes there",
            describe(value)
        )
    }))
}

/// A stored value in words.
fn describe(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".to_owned(),
        ValueRef::Integer(i) => format!("the integer {i}"),
        ValueRef::Real(r) => format!("the number {r}"),
        ValueRef::Text(t) => format!("text of {} bytes", t.len()),
        ValueRef::Blob(b) => format!("a blob of {} bytes", b.len()),
    }
}

/// A row of `authors_v1` as stored: row id, author id, frontier, head.
type AuthorRow = (
    i64,
    Result<Vec<u8>, String>,
    Result<u64, String>,
    Result<Option<Vec<u8>>, String>,
);

fn check_chains(conn: &Connection, report: &mut LogCheck) -> Result<(), Fault> {
    let mut authors =
        conn.prepare("SELECT id, author, frontier, head FROM authors_v1 ORDER BY id")?;
    let authors: Vec<AuthorRow> = authors
        .query_map([], |r| {
            Ok((r.get(0)?, loose(r, 1)?, loose(r, 2)?, loose(r, 3)?))
        })?
        .collect::<Result<_, _>>()?;
    for (row, author, frontier, head) in authors {
        let place = format!("authors_v1 row {row}");
        let author = match author {
            Ok(author) => AuthorId::from_slice(&author)
                .ok_or_else(|| format!("the author id is {} bytes, not 32", author.len())),
            Err(e) => Err(e),
        };
        let author = match author {
            Ok(author) => author,
            Err(e) => {
                report.found(place, e, None);
                continue;
            }
        };
        let Some((end, end_hash)) = check_chain(conn, row, &author, report)? else {
            // The chain is damaged (reported already): its sound end is not where the entries
            // end, and moving the frontier back would hide, then overwrite, the entries after.
            continue;
        };
        let head = head.ok().flatten().as_deref().and_then(Hash::from_slice);
        let what = match &frontier {
            Ok(frontier) if *frontier != end => {
                format!("the recorded frontier is {frontier}, but the chain ends at seq {end}")
            }
            Ok(_) => "the recorded head is not the hash of the chain's last entry".to_owned(),
            Err(e) => format!("{e}; the chain ends at seq {end}"),
        };
        if (frontier.ok(), head) != (Some(end), end_hash) {
            report.found(
                format!("author {}", author.short()),
                what,
                Some(Repair::Frontier {
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
    report: &mut LogCheck,
) -> Result<Option<(u64, Option<Hash>)>, Fault> {
    let mut stmt = conn.prepare(
        "SELECT id, first, last, kinds, data FROM segments_v1 WHERE author = ?1 ORDER BY last",
    )?;
    let rows = stmt.query_map([row], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            loose::<u64>(r, 1)?,
            loose::<u64>(r, 2)?,
            loose::<String>(r, 3)?,
            loose::<Vec<u8>>(r, 4)?,
        ))
    })?;
    let (mut end, mut end_hash, mut broken) = (0u64, None, false);
    for found in rows {
        let (id, first, last, kinds, data) = found?;
        report.segments += 1;
        let (first, last, data) = match (first, last, data) {
            (Ok(first), Ok(last), Ok(data)) => (first, last, data),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                report.found(
                    format!("segments_v1 row {id} of author {}", author.short()),
                    e,
                    None,
                );
                broken = true;
                continue;
            }
        };
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
        if kinds.as_deref() != Ok(actual.as_str()) {
            report.found(
                place,
                kinds
                    .err()
                    .unwrap_or_else(|| "the row's list of entry kinds is out of date".to_owned()),
                Some(Repair::Kinds { id, kinds: actual }),
            );
        }
    }
    Ok((!broken).then_some((end, end_hash)))
}

/// Checks that every attached chain takes, at each fork the store holds, the branch with the
/// lowest hash (store docs, "Which branch is attached").
fn check_attachment(conn: &Connection, report: &mut LogCheck) -> Result<(), Fault> {
    let mut stmt = conn.prepare("SELECT id, author FROM authors_v1 ORDER BY id")?;
    let authors: Vec<(i64, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (row, author) in authors {
        if let Some(seq) = misattached(conn, row)? {
            let author =
                AuthorId::from_slice(&author).map_or_else(|| format!("row {row}"), |a| a.short());
            report.found(
                format!("author {author}"),
                format!(
                    "a kept branch from seq {seq} should be attached (it has the lower hash, or continues the chain)"
                ),
                Some(Repair::Attach { row }),
            );
        }
    }
    Ok(())
}

fn check_loose_runs(conn: &Connection, table: &str, report: &mut LogCheck) -> Result<(), Fault> {
    let mut stmt = conn.prepare(&format!("SELECT id, data FROM {table} ORDER BY id"))?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, loose::<Vec<u8>>(r, 1)?)))?;
    for found in rows {
        let (id, data) = found?;
        report.segments += 1;
        let result = data.and_then(|data| {
            Segment::decode(&data)
                .and_then(|s| s.verify())
                .map_err(|e| e.to_string())
        });
        if let Err(e) = result {
            report.found(format!("{table} row {id}"), e, None);
        }
    }
    Ok(())
}
