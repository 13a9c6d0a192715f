//! The derived tables, recomputed inside a batch's transaction (holding the mirrors' lock) for
//! the keys, documents and events the batch touched: from the base tables, which hold the union
//! of every mirrored store's entries, with mule's own rules ([`crate::views`]).
//!
//! - `kv`: a key's heads that are values (not tombstones); `conflict` when there are several.
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

use super::{Error, Window, copy_in, pg_json, sql_int};
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

/// The temporary tables of the recomputation (emptied at every commit).
pub(super) fn create_staging(client: &mut Client) -> Result<(), Error> {
    client
        .batch_execute(
            "CREATE TEMP TABLE affected_keys(key text PRIMARY KEY) ON COMMIT DELETE ROWS;
             CREATE TEMP TABLE affected_docs(doc_id text PRIMARY KEY) ON COMMIT DELETE ROWS;
             CREATE TEMP TABLE affected_events(event_id text PRIMARY KEY) ON COMMIT DELETE ROWS;
             CREATE TEMP TABLE stage_features(doc_id text, type text, version bytea,
                 time_ms bigint, heads integer, tags jsonb, lat float8, lon float8,
                 geojson text) ON COMMIT DELETE ROWS;",
        )
        .map_err(Error::db("creating the staging tables"))
}

/// Recomputes what the staged batch touched.
pub(super) fn touched(tx: &mut Transaction<'_>, window: Window) -> Result<(), Error> {
    tx.batch_execute(KV)
        .map_err(Error::db("recomputing kv keys"))?;
    tx.batch_execute(AFFECTED_DOCS)
        .map_err(Error::db("finding the map documents to recompute"))?;
    let docs = ids(tx, "SELECT doc_id FROM affected_docs ORDER BY doc_id")?;
    for chunk in docs.chunks(CHUNK) {
        features(tx, chunk)?;
    }
    tx.batch_execute(AFFECTED_EVENTS)
        .map_err(Error::db("finding the events to recompute"))?;
    let events = ids(tx, "SELECT event_id FROM affected_events ORDER BY event_id")?;
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
    )?;
    for chunk in events.chunks(CHUNK) {
        cal_events(tx, chunk, window)?;
    }
    Ok(())
}

/// The kv keys the batch wrote or whose versions it superseded: their current values again.
const KV: &str = "
INSERT INTO affected_keys(key)
    SELECT key FROM stage_kv
    UNION SELECT v.key FROM stage_superseded s JOIN mule.kv_versions v ON v.hash = s.hash
          WHERE s.view = 'kv'
    ON CONFLICT DO NOTHING;
DELETE FROM mule.kv k USING affected_keys a WHERE k.key = a.key;
INSERT INTO mule.kv(key, version, value, conflict)
    SELECT v.key, v.hash, v.value, count(*) OVER (PARTITION BY v.key) > 1
    FROM mule.kv_versions v JOIN affected_keys a ON a.key = v.key
    WHERE NOT v.deleted
      AND NOT EXISTS (SELECT 1 FROM mule.kv_superseded s WHERE s.hash = v.hash);
";

/// The documents the batch wrote or superseded, and every way or relation whose head refers to
/// one of them (and so on up): their features again.
const AFFECTED_DOCS: &str = "
INSERT INTO affected_docs(doc_id)
    SELECT doc_id FROM stage_map
    UNION SELECT v.doc_id FROM stage_superseded s JOIN mule.map_versions v ON v.hash = s.hash
          WHERE s.view = 'map'
    ON CONFLICT DO NOTHING;
INSERT INTO affected_docs(doc_id)
    WITH RECURSIVE up(doc_id) AS (
        SELECT doc_id FROM affected_docs
        UNION
        SELECT v.doc_id FROM up
            JOIN mule.map_refs r ON r.ref_id = up.doc_id
            JOIN mule.map_versions v ON v.hash = r.hash
        WHERE NOT EXISTS (SELECT 1 FROM mule.map_superseded s WHERE s.hash = v.hash)
    )
    SELECT doc_id FROM up
    ON CONFLICT DO NOTHING;
";

/// The events the batch wrote or superseded.
const AFFECTED_EVENTS: &str = "
INSERT INTO affected_events(event_id)
    SELECT event_id FROM stage_cal
    UNION SELECT v.event_id FROM stage_superseded s JOIN mule.cal_versions v ON v.hash = s.hash
          WHERE s.view = 'cal'
    ON CONFLICT DO NOTHING;
";

/// The first column of every row `sql` returns.
fn ids(tx: &mut Transaction<'_>, sql: &str) -> Result<Vec<String>, Error> {
    let rows = tx
        .query(sql, &[])
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
            "SELECT doc_id, hash, doc::text, time_ms FROM mule.map_versions v
             WHERE doc_id = ANY($1)
               AND NOT EXISTS (SELECT 1 FROM mule.map_superseded s WHERE s.hash = v.hash)",
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

/// The shown versions of `ids` with their head counts, and the winners of every part they are
/// built of (nodes of ways, members of relations, down to [`MAX_DEPTH`]).
fn winners_with_parts(
    tx: &mut Transaction<'_>,
    ids: &[String],
) -> Result<(HashMap<String, (Version, usize)>, HashMap<String, Value>), Error> {
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
        "DELETE FROM mule.map_features WHERE doc_id = ANY($1)",
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
            "SELECT event_id, hash, doc FROM mule.cal_versions v
             WHERE event_id = ANY($1) AND doc IS NOT NULL
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
        "DELETE FROM mule.cal_events WHERE event_id = ANY($1)",
        &[&ids],
    )
    .and_then(|_| {
        tx.execute(
            "DELETE FROM mule.cal_occurrences WHERE event_id = ANY($1)",
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
