//! The mirror's tables in PostgreSQL (schema `mule`), versioned: `mule.schema_version` holds the
//! number of [`MIGRATIONS`] applied, and [`migrate`] applies the rest, one transaction each,
//! under the mirrors' lock. `docs/postgres.md` describes every table.
//!
//! The tables come in two layers:
//! - **base** tables, which only ever gain rows keyed by entry hash: the log (`entries`), each
//!   view's versions and superseded marks, blob metadata. Several stores mirroring into one
//!   database add the union of their entries, whatever the order, and nothing twice.
//! - **derived** tables, recomputed from the base tables for the documents and events a batch
//!   touched: `map_features`, `cal_events`, `cal_occurrences`; and the view `kv`. They show what
//!   mule's views show for the union of the entries.

use postgres::{Client, Transaction};

use super::{Error, LOCK};

/// Each step brings the schema from its index to its index + 1.
const MIGRATIONS: &[&str] = &[
    // 1: the first layout.
    r#"CREATE TABLE mule.entries(
         hash bytea PRIMARY KEY,
         author bytea NOT NULL,
         seq bigint NOT NULL,
         kind text NOT NULL,
         time timestamptz NOT NULL,
         links bytea[] NOT NULL,
         body jsonb,
         body_cbor bytea
     );
     CREATE INDEX entries_author_seq ON mule.entries(author, seq);
     CREATE INDEX entries_time ON mule.entries USING brin(time);

     CREATE TABLE mule.kv_versions(
         hash bytea PRIMARY KEY,
         key text COLLATE "C" NOT NULL,
         value jsonb,
         deleted boolean NOT NULL
     );
     CREATE INDEX kv_versions_key ON mule.kv_versions(key);
     CREATE TABLE mule.kv_superseded(hash bytea PRIMARY KEY);
     -- Current values: the heads of each key that are values; a view, as cheap to read by key
     -- as a table and never behind.
     CREATE VIEW mule.kv AS
         SELECT v.key, v.hash AS version, v.value,
                count(*) OVER (PARTITION BY v.key) > 1 AS conflict
         FROM mule.kv_versions v
         WHERE NOT v.deleted
           AND NOT EXISTS (SELECT 1 FROM mule.kv_superseded s WHERE s.hash = v.hash);

     CREATE TABLE mule.map_versions(
         hash bytea PRIMARY KEY,
         doc_id text COLLATE "C" NOT NULL,
         type text,
         doc jsonb,
         time timestamptz NOT NULL,
         time_ms bigint NOT NULL
     );
     CREATE INDEX map_versions_doc ON mule.map_versions(doc_id);
     CREATE TABLE mule.map_refs(hash bytea NOT NULL, ref_id text COLLATE "C" NOT NULL, PRIMARY KEY(hash, ref_id));
     CREATE INDEX map_refs_target ON mule.map_refs(ref_id);
     CREATE TABLE mule.map_superseded(hash bytea PRIMARY KEY);
     CREATE TABLE mule.map_features(
         doc_id text COLLATE "C" PRIMARY KEY,
         type text NOT NULL,
         version bytea NOT NULL,
         time timestamptz NOT NULL,
         heads integer NOT NULL,
         tags jsonb NOT NULL,
         geom geometry(Geometry, 4326)
     );
     CREATE INDEX map_features_geom ON mule.map_features USING gist(geom);
     -- A geometry PostGIS cannot read (a ring of two points, drawn by hand) is left empty
     -- rather than failing the mirror for every document after it.
     CREATE FUNCTION mule.geometry_from_geojson(geojson text) RETURNS geometry
         LANGUAGE plpgsql IMMUTABLE AS $$
         BEGIN
             RETURN ST_SetSRID(ST_GeomFromGeoJSON(geojson), 4326);
         EXCEPTION WHEN OTHERS THEN
             RETURN NULL;
         END $$;

     CREATE TABLE mule.cal_versions(
         hash bytea PRIMARY KEY,
         event_id text COLLATE "C" NOT NULL,
         doc jsonb,
         time timestamptz NOT NULL
     );
     CREATE INDEX cal_versions_event ON mule.cal_versions(event_id);
     CREATE TABLE mule.cal_superseded(hash bytea PRIMARY KEY);
     CREATE TABLE mule.cal_events(
         event_id text COLLATE "C" NOT NULL,
         version bytea NOT NULL,
         title text NOT NULL,
         tz text NOT NULL,
         all_day boolean NOT NULL,
         rrule text,
         first_start timestamptz NOT NULL,
         conflict boolean NOT NULL,
         doc jsonb NOT NULL,
         PRIMARY KEY(event_id, version)
     );
     CREATE TABLE mule.cal_occurrences(
         event_id text COLLATE "C" NOT NULL,
         version bytea NOT NULL,
         starts timestamptz NOT NULL,
         ends timestamptz NOT NULL,
         all_day boolean NOT NULL
     );
     CREATE INDEX cal_occurrences_event ON mule.cal_occurrences(event_id);
     CREATE INDEX cal_occurrences_starts ON mule.cal_occurrences(starts);

     CREATE TABLE mule.blobs(
         entry bytea PRIMARY KEY,
         root bytea NOT NULL,
         list bytea NOT NULL,
         name text NOT NULL,
         size bigint NOT NULL,
         chunks bigint NOT NULL,
         kind text,
         meta jsonb,
         author bytea NOT NULL,
         time timestamptz NOT NULL
     );
     CREATE INDEX blobs_root ON mule.blobs(root);
     CREATE TABLE mule.blob_bytes(
         root bytea NOT NULL,
         part integer NOT NULL,
         bytes bytea NOT NULL,
         PRIMARY KEY(root, part)
     );

     CREATE TABLE mule.mirrors(
         name text PRIMARY KEY,
         chain_changes bigint NOT NULL,
         limits text NOT NULL,
         updated timestamptz NOT NULL
     );
     CREATE TABLE mule.mirror_frontier(
         name text NOT NULL REFERENCES mule.mirrors(name),
         author bytea NOT NULL,
         seq bigint NOT NULL,
         PRIMARY KEY(name, author)
     );
     CREATE TABLE mule.bundles(
         mirror text NOT NULL REFERENCES mule.mirrors(name),
         bundle bytea NOT NULL,
         sender bytea NOT NULL,
         imported timestamptz NOT NULL,
         new_entries bigint NOT NULL,
         PRIMARY KEY(mirror, bundle)
     );
     CREATE TABLE mule.peers(
         mirror text NOT NULL REFERENCES mule.mirrors(name),
         peer bytea NOT NULL,
         author bytea NOT NULL,
         seq bigint NOT NULL,
         PRIMARY KEY(mirror, peer, author)
     );
     CREATE TABLE mule.settings(key text PRIMARY KEY, value text NOT NULL);"#,
];

/// The schema version this mule writes.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

/// Brings the database's `mule` schema to [`VERSION`]: creates PostGIS when it is missing (which
/// needs a superuser, or an administrator to run it once), then applies the migrations it lacks.
/// A database at a newer version than this mule knows is refused, not touched.
pub(super) fn migrate(client: &mut Client) -> Result<(), Error> {
    let mut tx = client
        .transaction()
        .map_err(Error::db("starting a migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .map_err(Error::db("waiting for other mirrors"))?;
    ensure_postgis(&mut tx)?;
    tx.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS mule;
         CREATE TABLE IF NOT EXISTS mule.schema_version(version integer NOT NULL);",
    )
    .map_err(Error::db("creating the mule schema"))?;
    let found = version(&mut tx)?;
    if found > VERSION {
        return Err(Error::SchemaTooNew {
            found,
            known: VERSION,
        });
    }
    for (index, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(step)
            .map_err(Error::db("migrating the mule schema"))?;
        let reached = index as i32 + 1;
        tx.execute("DELETE FROM mule.schema_version", &[])
            .and_then(|_| {
                tx.execute(
                    "INSERT INTO mule.schema_version(version) VALUES ($1)",
                    &[&reached],
                )
            })
            .map_err(Error::db("recording the schema version"))?;
    }
    tx.commit().map_err(Error::db("committing a migration"))
}

/// The schema version recorded in the database (0 for a new one).
fn version(tx: &mut Transaction<'_>) -> Result<i32, Error> {
    let row = tx
        .query_opt("SELECT max(version) FROM mule.schema_version", &[])
        .map_err(Error::db("reading the schema version"))?;
    Ok(row.and_then(|r| r.get::<_, Option<i32>>(0)).unwrap_or(0))
}

/// Creates the PostGIS extension when the database lacks it.
fn ensure_postgis(tx: &mut Transaction<'_>) -> Result<(), Error> {
    let present = tx
        .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'postgis'", &[])
        .map_err(Error::db("looking for PostGIS"))?
        .is_some();
    if present {
        return Ok(());
    }
    tx.batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
        .map_err(|source| Error::NoPostgis {
            reason: super::server_message(&source),
        })
}
