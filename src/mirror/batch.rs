//! A batch: entries read from the log above the mirror's frontier and decoded as the views
//! decode them (on a thread of their own, [`read_batches`]), then added to the base tables in
//! the batch's transaction ([`Batch::load`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc::SyncSender;

use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;

use super::{Error, pg_json, pg_json_text, pg_text, sql_int, time_of};
use crate::blob::{self, BlobEntry};
use crate::entry::Entry;
use crate::id::{AuthorId, Hash};
use crate::store::{self, Frontier};
use crate::views::{self, Row};

/// Batches the reading thread may decode ahead of the one being written.
pub(super) const BATCHES_AHEAD: usize = 1;

/// A batch also ends once its entries' bodies reach this many bytes, whatever their number.
const BATCH_BYTES: usize = 32 << 20;

/// Reads the log above `start` and up to `upto` and `limits` (per author) in batches of
/// `entries`, and sends them to the writer; stops when the writer stops taking them.
pub(super) fn read_batches(
    reader: &store::LogReader,
    start: &Frontier,
    (upto, limits): (&Frontier, &BTreeMap<AuthorId, u64>),
    entries: u64,
    send: &SyncSender<Batch>,
) -> Result<(), Error> {
    let mut batch = Batch::default();
    reader.for_each_segment_after::<Error>(start, None, |segment, hashes| {
        let already = start.get(&segment.author).copied().unwrap_or(0);
        let held = upto.get(&segment.author).copied().unwrap_or(0);
        let counted = limits.get(&segment.author).map_or(held, |&l| l.min(held));
        for (hash, entry) in segment.to_entries(hashes) {
            if entry.seq <= already || entry.seq > held {
                continue;
            }
            if entry.seq <= counted {
                batch.push(hash, entry);
            } else {
                batch.pass(&entry);
            }
            if batch.is_full(entries) {
                send.send(std::mem::take(&mut batch))
                    .map_err(|_| Error::Stopped)?;
            }
        }
        Ok(())
    })?;
    if !batch.frontier.is_empty() {
        // A writer that stopped has its own error to report.
        let _ = send.send(batch);
    }
    Ok(())
}

/// A base table a batch adds rows to (see [`Batch::load`]).
struct Table {
    name: &'static str,
    columns: &'static str,
    types: &'static [Type],
}

const ENTRIES: Table = Table {
    name: "entries",
    columns: "hash, author, seq, kind, time, links, body, body_cbor",
    types: &[
        Type::BYTEA,
        Type::BYTEA,
        Type::INT8,
        Type::TEXT,
        Type::TIMESTAMPTZ,
        Type::BYTEA_ARRAY,
        Type::JSONB,
        Type::BYTEA,
    ],
};
const KV_VERSIONS: Table = Table {
    name: "kv_versions",
    columns: "hash, key, value, deleted",
    types: &[Type::BYTEA, Type::TEXT, Type::JSONB, Type::BOOL],
};
const MAP_VERSIONS: Table = Table {
    name: "map_versions",
    columns: "hash, doc_id, type, doc, time, time_ms",
    types: &[
        Type::BYTEA,
        Type::TEXT,
        Type::TEXT,
        Type::JSONB,
        Type::TIMESTAMPTZ,
        Type::INT8,
    ],
};
const MAP_REFS: Table = Table {
    name: "map_refs",
    columns: "hash, ref_id",
    types: &[Type::BYTEA, Type::TEXT],
};
const CAL_VERSIONS: Table = Table {
    name: "cal_versions",
    columns: "hash, event_id, doc, time",
    types: &[Type::BYTEA, Type::TEXT, Type::JSONB, Type::TIMESTAMPTZ],
};
const BLOBS: Table = Table {
    name: "blobs",
    columns: "entry, root, list, name, size, chunks, kind, meta, author, time",
    types: &[
        Type::BYTEA,
        Type::BYTEA,
        Type::BYTEA,
        Type::TEXT,
        Type::INT8,
        Type::INT8,
        Type::TEXT,
        Type::JSONB,
        Type::BYTEA,
        Type::TIMESTAMPTZ,
    ],
};

/// The superseded marks of the view named `view`.
const fn superseded(view: &str) -> Table {
    Table {
        name: match view.as_bytes() {
            b"kv" => "kv_superseded",
            b"map" => "map_superseded",
            _ => "cal_superseded",
        },
        columns: "hash",
        types: &[Type::BYTEA],
    }
}

/// Writes one table's rows of a batch into a COPY (called a second time when the first try
/// met rows that were there already).
type Rows<'a> = dyn Fn(&mut BinaryCopyInWriter<'_>) -> Result<(), postgres::Error> + 'a;

/// The entries of one transaction, decoded as the views decode them.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) entries: Vec<EntryRow>,
    views: Vec<(views::Viewed, Row)>,
    blobs: Vec<(Hash, AuthorId, u64, BlobEntry)>,
    /// The highest seq gone through per author (counted or not).
    pub(super) frontier: BTreeMap<AuthorId, u64>,
    /// Entries gone through (counted or not).
    pub(super) gone_through: u64,
    /// Bytes of the bodies of the entries.
    pub(super) bytes: usize,
}

/// A body's JSON text, written straight from its DAG-CBOR (no JSON value built in between: the
/// entries' bodies are a third of what the mirror decodes); `None` if it is not JSON-shaped.
fn body_text(body: &[u8]) -> Option<String> {
    let mut text = Vec::with_capacity(body.len() * 2);
    let mut from = serde_ipld_dagcbor::de::Deserializer::from_slice(body);
    serde_transcode::transcode(&mut from, &mut serde_json::Serializer::new(&mut text)).ok()?;
    from.end().ok()?;
    String::from_utf8(text).ok()
}

/// An entry's row of `mule.entries`.
pub(super) struct EntryRow {
    hash: Hash,
    author: AuthorId,
    seq: u64,
    kind: String,
    timestamp: u64,
    links: Vec<Hash>,
    /// The body as JSON text (`None` if it is not of the JSON model, which no stored entry is).
    body: Option<String>,
    /// The body's exact bytes, when `body` cannot say them.
    cbor: Option<Vec<u8>>,
}

/// What a batch touched, for recomputing the derived tables.
#[derive(Debug, Default)]
pub(super) struct Touched {
    /// Map documents written.
    pub(super) docs: Vec<String>,
    /// Events written.
    pub(super) events: Vec<String>,
    /// Versions superseded, per view: their documents and events are touched too.
    pub(super) map_superseded: Vec<Vec<u8>>,
    pub(super) cal_superseded: Vec<Vec<u8>>,
}

impl Batch {
    /// Adds a counted entry.
    fn push(&mut self, hash: Hash, entry: Entry) {
        self.bytes += entry.body.len();
        self.pass(&entry);
        let json = body_text(&entry.body);
        // Bodies are of the JSON data model (see `entry::check_body`), so `body` says them
        // exactly, unless PostgreSQL's text made a NUL character U+FFFD.
        let exact = json.as_deref().is_some_and(|j| !j.contains("\\u0000"));
        let row = EntryRow {
            hash,
            author: entry.author,
            seq: entry.seq,
            kind: entry.kind.clone(),
            timestamp: entry.timestamp,
            links: entry.links.clone(),
            cbor: (!exact).then(|| entry.body.clone()),
            body: json,
        };
        if entry.kind == blob::KIND
            && let Some(found) = row
                .body
                .as_deref()
                .and_then(|b| serde_json::from_str::<BlobEntry>(b).ok())
        {
            self.blobs
                .push((hash, entry.author, entry.timestamp, found));
        }
        if let Some(decoded) = views::decode(hash, entry) {
            self.views.push(decoded);
        }
        self.entries.push(row);
    }

    /// Goes past an entry the store's project no longer counts.
    fn pass(&mut self, entry: &Entry) {
        self.frontier.insert(entry.author, entry.seq);
        self.gone_through += 1;
    }

    fn is_full(&self, entries: u64) -> bool {
        self.gone_through >= entries.max(1) || self.bytes >= BATCH_BYTES
    }

    /// Adds the batch's rows to the base tables; says what it touched.
    pub(super) fn load(&self, tx: &mut Transaction<'_>) -> Result<Touched, Error> {
        self.load_kv(tx)?;
        let touched = self.load_map(tx)?;
        let touched = self.load_cal(tx, touched)?;
        self.load_blobs(tx)?;
        Ok(touched)
    }

    /// The batch's versions of one view with their links, and the links deduplicated.
    fn of_view<'a, T>(
        &'a self,
        pick: impl Fn(&'a Row) -> Option<&'a T>,
    ) -> (Vec<(&'a views::Viewed, &'a T)>, Vec<&'a [u8]>) {
        let versions: Vec<_> = self
            .views
            .iter()
            .filter_map(|(viewed, row)| Some((viewed, pick(row)?)))
            .collect();
        let links: BTreeSet<&[u8]> = versions
            .iter()
            .flat_map(|(viewed, _)| viewed.links.iter().map(|l| l.as_bytes().as_slice()))
            .collect();
        (versions, links.into_iter().collect())
    }

    fn load_kv(&self, tx: &mut Transaction<'_>) -> Result<(), Error> {
        let (versions, links) = self.of_view(|row| match row {
            Row::Kv(kv) => Some(kv),
            _ => None,
        });
        load(tx, &KV_VERSIONS, &|rows| {
            for (viewed, kv) in &versions {
                rows.write(&[
                    &viewed.hash.as_bytes().as_slice(),
                    &pg_text(&kv.key),
                    &kv.value.as_deref().map(pg_json_text),
                    &kv.value.is_none(),
                ])?;
            }
            Ok(())
        })?;
        load_marks(tx, "kv", &links)
    }

    fn load_map(&self, tx: &mut Transaction<'_>) -> Result<Touched, Error> {
        let (versions, links) = self.of_view(|row| match row {
            Row::Map(map) => Some(map),
            _ => None,
        });
        load(tx, &MAP_VERSIONS, &|rows| {
            for (viewed, map) in &versions {
                rows.write(&[
                    &viewed.hash.as_bytes().as_slice(),
                    &pg_text(&map.doc_id),
                    &map.kind.as_deref().map(pg_text),
                    &map.doc.as_deref().map(pg_json_text),
                    &time_of(viewed.timestamp),
                    &sql_int(viewed.timestamp),
                ])?;
            }
            Ok(())
        })?;
        load(tx, &MAP_REFS, &|rows| {
            for (viewed, map) in &versions {
                let targets: BTreeSet<&String> = map.refs.iter().collect();
                for target in targets {
                    rows.write(&[&viewed.hash.as_bytes().as_slice(), &pg_text(target)])?;
                }
            }
            Ok(())
        })?;
        load_marks(tx, "map", &links)?;
        let docs: BTreeSet<String> = versions
            .iter()
            .map(|(_, map)| pg_text(&map.doc_id).into_owned())
            .collect();
        Ok(Touched {
            docs: docs.into_iter().collect(),
            map_superseded: links.iter().map(|l| l.to_vec()).collect(),
            ..Touched::default()
        })
    }

    fn load_cal(&self, tx: &mut Transaction<'_>, touched: Touched) -> Result<Touched, Error> {
        let (versions, links) = self.of_view(|row| match row {
            Row::Cal(cal) => Some(cal),
            _ => None,
        });
        load(tx, &CAL_VERSIONS, &|rows| {
            for (viewed, cal) in &versions {
                rows.write(&[
                    &viewed.hash.as_bytes().as_slice(),
                    &pg_text(&cal.event_id),
                    &cal.event.as_ref().map(|(text, _)| pg_json_text(text)),
                    &time_of(viewed.timestamp),
                ])?;
            }
            Ok(())
        })?;
        load_marks(tx, "cal", &links)?;
        let events: BTreeSet<String> = versions
            .iter()
            .map(|(_, cal)| pg_text(&cal.event_id).into_owned())
            .collect();
        Ok(Touched {
            events: events.into_iter().collect(),
            cal_superseded: links.iter().map(|l| l.to_vec()).collect(),
            ..touched
        })
    }

    fn load_blobs(&self, tx: &mut Transaction<'_>) -> Result<(), Error> {
        load(tx, &BLOBS, &|rows| {
            for (hash, author, timestamp, blob) in &self.blobs {
                rows.write(&[
                    &hash.as_bytes().as_slice(),
                    &blob.hash.as_bytes().as_slice(),
                    &blob.list.as_bytes().as_slice(),
                    &pg_text(&blob.name),
                    &sql_int(blob.size),
                    &sql_int(blob.chunks),
                    &blob.kind.as_deref().map(pg_text),
                    &blob.meta.clone().map(pg_json),
                    &author.as_bytes().as_slice(),
                    &time_of(*timestamp),
                ])?;
            }
            Ok(())
        })
    }
}

/// Adds `rows` to `mule.entries` in a transaction of their own on `client`, holding the
/// entries' advisory lock ([`super::LOCK`] + 1), so loaders of two mirrors never wait on each
/// other's rows in turn.
pub(super) fn load_entries(client: &mut postgres::Client, rows: &[EntryRow]) -> Result<(), Error> {
    let mut tx = client
        .transaction()
        .map_err(Error::db("starting a transaction"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&(super::LOCK + 1)])
        .map_err(Error::db("waiting for other mirrors"))?;
    load(&mut tx, &ENTRIES, &|writer| {
        for entry in rows {
            let links: Vec<&[u8]> = entry
                .links
                .iter()
                .map(|l| l.as_bytes().as_slice())
                .collect();
            writer.write(&[
                &entry.hash.as_bytes().as_slice(),
                &entry.author.as_bytes().as_slice(),
                &sql_int(entry.seq),
                &pg_text(&entry.kind),
                &time_of(entry.timestamp),
                &links,
                &entry.body.as_deref().map(pg_json_text),
                &entry.cbor,
            ])?;
        }
        Ok(())
    })?;
    tx.commit().map_err(Error::db("committing entries"))
}

/// Adds the superseded marks `hashes` of the view named `view`.
fn load_marks(tx: &mut Transaction<'_>, view: &str, hashes: &[&[u8]]) -> Result<(), Error> {
    load(tx, &superseded(view), &|rows| {
        for hash in hashes {
            rows.write(&[hash])?;
        }
        Ok(())
    })
}

/// Adds rows to `table`: straight by binary COPY, which is what nearly every batch needs; when
/// some are there already (another store mirrored the same entries), the COPY fails on the
/// table's key, is undone (to a savepoint), and the rows go through a staging table and
/// `INSERT … ON CONFLICT DO NOTHING` instead. The mirrors' lock keeps anyone from adding rows
/// in between.
fn load(tx: &mut Transaction<'_>, table: &Table, rows: &Rows<'_>) -> Result<(), Error> {
    let fail = Error::db("copying rows");
    let direct = format!(
        "COPY mule.{} ({}) FROM STDIN BINARY",
        table.name, table.columns
    );
    let mut savepoint = tx.savepoint("direct").map_err(&fail)?;
    match copy_rows(&mut savepoint, &direct, table.types, rows) {
        Ok(()) => return savepoint.commit().map_err(fail),
        Err(e) if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) => {
            savepoint.rollback().map_err(&fail)?;
        }
        Err(e) => return Err(fail(e)),
    }
    let stage = format!("stage_{}", table.name);
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE {stage} (LIKE mule.{}) ON COMMIT DROP",
        table.name
    ))
    .map_err(&fail)?;
    let staged = format!("COPY {stage} ({}) FROM STDIN BINARY", table.columns);
    copy_rows(tx, &staged, table.types, rows).map_err(&fail)?;
    tx.batch_execute(&format!(
        "INSERT INTO mule.{0} ({1}) SELECT {1} FROM {stage} ON CONFLICT DO NOTHING; DROP TABLE {stage}",
        table.name, table.columns
    ))
    .map_err(fail)
}

/// One binary COPY of `rows`.
fn copy_rows(
    tx: &mut Transaction<'_>,
    sql: &str,
    types: &[Type],
    rows: &Rows<'_>,
) -> Result<(), postgres::Error> {
    let mut writer = BinaryCopyInWriter::new(tx.copy_in(sql)?, types);
    rows(&mut writer)?;
    writer.finish().map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_s_text_says_what_its_json_value_says() {
        for value in [
            serde_json::json!({"k": "site-1", "v": {"lat": -9.5, "n": 18446744073709551615_u64}}),
            serde_json::json!({"text": "snø \u{1F4CD} \"quoted\" \\ and a NUL \u{0}", "list": [1, -2, 0.5, null, true]}),
            serde_json::json!("just text"),
            serde_json::json!(-9223372036854775808_i64),
        ] {
            let body = crate::entry::body_from_json(&value).expect("a body");
            let text = body_text(&body).expect("JSON text");
            let again: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
            assert_eq!(again, value, "{text}");
        }
        assert_eq!(body_text(&[0xff]), None, "not a body");
    }
}
