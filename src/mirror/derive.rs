//! The derived tables (`mule.kv` is a view, computed when read), recomputed inside a batch's transaction (holding the mirrors' lock) for
//! the keys, documents and events the batch touched: from the base tables, which hold the union
//! of every mirrored store's entries, with mule's own rules ([`crate::views`]).
//!
//! - `map_features`: one row per shown document (the winner; none for a deleted one), with its
//!   PostGIS geometry built from the winners of its nodes and members. A changed node changes
//!   the ways and relations over it, so those are recomputed too.
//! - `cal_events`, `cal_occurrences`: every head version that is an event, and its
//!   occurrences in the [`Window`].

use std::collections::{BTreeSet, HashMap};
use std::time::SystemTime;

use postgres::types::Type;
use postgres::{Client, Transaction};
use serde_json::Value;

use super::{Error, Touched, Window, copy_in, pg_json, sql_int};
use crate::calendar::event::{Event, Span};
use crate::id::Hash;
use crate::views::map::{self, Version};

/// Documents or events recomputed per round trip.
const CHUNK: usize = 2_000;

/// How deep the parts of a document are followed (relations of relations), as in mule's
/// GeoJSON export.
const MAX_DEPTH: usize = 16;

/// Most occurrences listed for one event version (events repeat at most daily).
const MAX_OCCURRENCES: usize = 20_000;

/// The temporary table the map's geometries are built in (emptied at every commit).
pub(super) fn create_staging(client: &mut Client) -> Result<(), Error> {
    client
        .batch_execute(
            "CREATE TEMP TABLE stage_features(doc_id text, type text, version bytea,
                 time_ms bigint, heads integer, tags jsonb, lat float8, lon float8,
                 geojson text) ON COMMIT DELETE ROWS;",
        )
        .map_err(Error::db("creating the staging tables"))
}

/// Recomputes what a batch touched (`kv` is a view of the base tables: nothing to do).
pub(super) fn touched(
    tx: &mut Transaction<'_>,
    touched: &Touched,
    window: Window,
) -> Result<(), Error> {
    let docs = ids(tx, AFFECTED_DOCS, &[&touched.docs, &touched.map_superseded])?;
    for chunk in docs.chunks(CHUNK) {
        features(tx, chunk)?;
    }
    let events = ids(
        tx,
        "SELECT unnest($1::text[]) UNION SELECT v.event_id FROM unnest($2::bytea[]) h JOIN mule.cal_versions v ON v.hash = h",
        &[&touched.events, &touched.cal_superseded],
    )?;
    for chunk in events.chunks(CHUNK) {
        cal_events(tx, chunk, window)?;
    }
    Ok(())
}

/// Lists the occurrences of every event again (the window changed).
pub(super) fn all_events(tx: &mut Transaction<'_>, window: Window) -> Result<(), Error> {
    let events = ids(
        tx,
        "SELECT DISTINCT event_id FROM mule.cal_versions ORDER BY event_id",
        &[],
    )?;
    for chunk in events.chunks(CHUNK) {
        cal_events(tx, chunk, window)?;
    }
    Ok(())
}

/// The documents a batch wrote ($1) or superseded versions of ($2), and every way or
/// relation whose head refers to one of them (and so on up): their features change.
const AFFECTED_DOCS: &str = "
WITH RECURSIVE seed(doc_id) AS (
    SELECT unnest($1::text[])
    UNION SELECT v.doc_id FROM unnest($2::bytea[]) h JOIN mule.map_versions v ON v.hash = h
), up(doc_id) AS (
    SELECT doc_id FROM seed
    UNION
    SELECT v.doc_id FROM up
        JOIN mule.map_refs r ON r.ref_id = up.doc_id
        JOIN mule.map_versions v ON v.hash = r.hash
    WHERE NOT EXISTS (SELECT 1 FROM mule.map_superseded s WHERE s.hash = v.hash)
)
SELECT doc_id FROM up ORDER BY doc_id";

/// The first column of every row `sql` returns.
fn ids(
    tx: &mut Transaction<'_>,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> Result<Vec<String>, Error> {
    let rows = tx
        .query(sql, params)
        .map_err(Error::db("listing what to recompute"))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The head versions of the documents `ids`, by document.
fn map_heads(
    tx: &mut Transaction<'_>,
    ids: &[String],
) -> Result<HashMap<String, Vec<Version>>, Error> {
    let rows = tx
        .query(
            "SELECT v.doc_id, v.hash, v.doc::text, v.time_ms
             FROM unnest($1::text[]) d JOIN mule.map_versions v ON v.doc_id = d
             WHERE NOT EXISTS (SELECT 1 FROM mule.map_superseded s WHERE s.hash = v.hash)",
            &[&ids],
        )
        .map_err(Error::db("reading map heads"))?;
    let mut heads: HashMap<String, Vec<Version>> = HashMap::new();
    for row in rows {
        let Some(hash) = Hash::from_slice(row.get::<_, &[u8]>(1)) else {
            continue;
        };
        let doc: Option<&str> = row.get(2);
        heads.entry(row.get(0)).or_default().push(Version {
            hash,
            doc: doc.and_then(|d| serde_json::from_str(d).ok()),
            timestamp: u64::try_from(row.get::<_, i64>(3)).unwrap_or(0),
        });
    }
    Ok(heads)
}

/// Shown documents by id: the winner and how many heads the document has.
type Shown = HashMap<String, (Version, usize)>;

/// The shown versions of `ids` with their head counts, and the winners of every part they are
/// built of (nodes of ways, members of relations, down to [`MAX_DEPTH`]).
fn winners_with_parts(
    tx: &mut Transaction<'_>,
    ids: &[String],
) -> Result<(Shown, HashMap<String, Value>), Error> {
    let mut shown = HashMap::new();
    let mut docs = HashMap::new();
    for (id, heads) in map_heads(tx, ids)? {
        let count = heads.len();
        if let Some(winner) = map::winner(heads) {
            if let Some(doc) = &winner.doc {
                docs.insert(id.clone(), doc.clone());
            }
            shown.insert(id, (winner, count));
        }
    }
    let mut tried: BTreeSet<String> = ids.iter().cloned().collect();
    let mut wanted = parts_missing(docs.values(), &mut tried);
    for _ in 0..MAX_DEPTH {
        if wanted.is_empty() {
            break;
        }
        let mut found = Vec::new();
        for chunk in wanted.chunks(CHUNK) {
            for (id, heads) in map_heads(tx, chunk)? {
                if let Some(doc) = map::winner(heads).and_then(|w| w.doc) {
                    found.push((id, doc));
                }
            }
        }
        wanted = parts_missing(found.iter().map(|(_, d)| d), &mut tried);
        docs.extend(found);
    }
    Ok((shown, docs))
}

/// The ids that `docs` refer to and that were not looked up yet (now marked as looked up).
fn parts_missing<'a>(
    docs: impl Iterator<Item = &'a Value>,
    tried: &mut BTreeSet<String>,
) -> Vec<String> {
    let mut missing = Vec::new();
    for doc in docs {
        for part in map::references(doc) {
            if tried.insert(part.to_owned()) {
                missing.push(part.to_owned());
            }
        }
    }
    missing
}

/// Recomputes the `map_features` rows of the documents `ids`.
fn features(tx: &mut Transaction<'_>, ids: &[String]) -> Result<(), Error> {
    let (shown, docs) = winners_with_parts(tx, ids)?;
    let lookup: HashMap<&str, &Value> = docs.iter().map(|(id, d)| (id.as_str(), d)).collect();
    tx.execute(
        "DELETE FROM mule.map_features f USING unnest($1::text[]) d WHERE f.doc_id = d",
        &[&ids],
    )
    .map_err(Error::db("replacing map features"))?;
    let fail = Error::db("copying map features");
    let mut rows = copy_in(
        tx,
        "COPY stage_features FROM STDIN BINARY",
        &[
            Type::TEXT,
            Type::TEXT,
            Type::BYTEA,
            Type::INT8,
            Type::INT4,
            Type::JSONB,
            Type::FLOAT8,
            Type::FLOAT8,
            Type::TEXT,
        ],
    )?;
    for id in ids {
        let Some((winner, heads)) = shown.get(id) else {
            continue;
        };
        let Some(doc) = &winner.doc else {
            continue;
        };
        let kind = doc["type"].as_str().unwrap_or_default();
        let (lat, lon) = (doc["lat"].as_f64(), doc["lon"].as_f64());
        let geojson = if kind == "node" {
            None
        } else {
            map::geometry(doc, &lookup).map(|g| g.to_string())
        };
        let tags = pg_json(Value::Object(map::properties(doc)));
        rows.write(&[
            &super::pg_text(id),
            &kind,
            &winner.hash.as_bytes().as_slice(),
            &sql_int(winner.timestamp),
            &i32::try_from(*heads).unwrap_or(i32::MAX),
            &tags,
            &lat.filter(|_| kind == "node"),
            &lon.filter(|_| kind == "node"),
            &geojson,
        ])
        .map_err(&fail)?;
    }
    rows.finish().map_err(&fail)?;
    tx.batch_execute(
        "INSERT INTO mule.map_features(doc_id, type, version, time, heads, tags, geom)
             SELECT doc_id, type, version, to_timestamp(time_ms / 1000.0), heads, tags,
                 CASE WHEN lat IS NOT NULL THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326)
                      ELSE mule.geometry_from_geojson(geojson) END
             FROM stage_features;
         TRUNCATE stage_features;",
    )
    .map_err(Error::db("writing map features"))
}

/// Recomputes the `cal_events` and `cal_occurrences` rows of the events `ids`.
fn cal_events(tx: &mut Transaction<'_>, ids: &[String], window: Window) -> Result<(), Error> {
    let rows = tx
        .query(
            "SELECT v.event_id, v.hash, v.doc
             FROM unnest($1::text[]) e JOIN mule.cal_versions v ON v.event_id = e
             WHERE v.doc IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM mule.cal_superseded s WHERE s.hash = v.hash)
             ORDER BY event_id, hash",
            &[&ids],
        )
        .map_err(Error::db("reading event heads"))?;
    let mut events: HashMap<String, Vec<(Vec<u8>, Value, Event)>> = HashMap::new();
    for row in rows {
        let doc: Value = row.get(2);
        if let Ok(event) = Event::decode(&doc) {
            events
                .entry(row.get(0))
                .or_default()
                .push((row.get(1), doc, event));
        }
    }
    tx.execute(
        "DELETE FROM mule.cal_events c USING unnest($1::text[]) e WHERE c.event_id = e",
        &[&ids],
    )
    .and_then(|_| {
        tx.execute(
            "DELETE FROM mule.cal_occurrences o USING unnest($1::text[]) e WHERE o.event_id = e",
            &[&ids],
        )
    })
    .map_err(Error::db("replacing events"))?;
    let fail = Error::db("copying events");
    let mut rows = copy_in(
        tx,
        "COPY mule.cal_events(event_id, version, title, tz, all_day, rrule, first_start,
             conflict, doc) FROM STDIN BINARY",
        &[
            Type::TEXT,
            Type::BYTEA,
            Type::TEXT,
            Type::TEXT,
            Type::BOOL,
            Type::TEXT,
            Type::TIMESTAMPTZ,
            Type::BOOL,
            Type::JSONB,
        ],
    )?;
    for (id, versions) in &events {
        for (hash, doc, event) in versions {
            rows.write(&[
                id,
                hash,
                &super::pg_text(&event.title),
                &event.tz.name(),
                &matches!(event.span, Span::AllDay { .. }),
                &event.rrule,
                &SystemTime::from(event.first_occurrence().0),
                &(versions.len() > 1),
                doc,
            ])
            .map_err(&fail)?;
        }
    }
    rows.finish().map_err(&fail)?;
    let mut rows = copy_in(
        tx,
        "COPY mule.cal_occurrences(event_id, version, starts, ends, all_day) FROM STDIN BINARY",
        &[
            Type::TEXT,
            Type::BYTEA,
            Type::TIMESTAMPTZ,
            Type::TIMESTAMPTZ,
            Type::BOOL,
        ],
    )?;
    let (from, until) = window.bounds();
    for (id, versions) in &events {
        for (hash, _, event) in versions {
            let all_day = matches!(event.span, Span::AllDay { .. });
            let found = event
                .occurrences(from, until, MAX_OCCURRENCES, chrono_tz::UTC)
                .unwrap_or_default();
            for (start, end) in found {
                rows.write(&[
                    id,
                    hash,
                    &SystemTime::from(start),
                    &SystemTime::from(end),
                    &all_day,
                ])
                .map_err(&fail)?;
            }
        }
    }
    rows.finish().map_err(fail).map(drop)
}
