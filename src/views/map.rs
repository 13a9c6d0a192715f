//! The map view: OpenStreetMap-shaped documents with a spatial index, as in osm-p2p-db.
//!
//! Entries of kind `map` hold one document each, in OSM's JSON shape:
//! - node `{"type": "node", "id", "lat", "lon", "tags"}` (`type` may be left out when `lat` and
//!   `lon` are present),
//! - way `{"type": "way", "id", "refs": [node ids], "tags"}`,
//! - relation `{"type": "relation", "id", "members": [{"type", "ref", "role"}], "tags"}`,
//! - a deletion `{"id", "deleted": true}`.
//!
//! GeoJSON import and export ([`from_geojson`], [`to_geojson`]) map GeoJSON geometries onto
//! these shapes the OpenStreetMap way (see the `geojson` module).
//!
//! Ids are text (numbers are read as their decimal text). An edit links the versions it
//! replaces; versions no entry links are the document's *heads*. Concurrent edits leave several
//! heads, and every replica shows the same one:
//!
//! **Winner rule.** If any head is a deletion, the document is deleted and never shown in a
//! query (deletion wins over a concurrent edit, so deleted points do not come back as ghosts;
//! the edit stays visible with `--forks` and a later put that links both revives it). Otherwise
//! the winner is the head with the latest timestamp, ties broken by the larger entry hash.
//!
//! Only head versions are kept in the spatial index and the reference index (a way's nodes, a
//! relation's members), so a query costs what it returns, not the size or the history of the
//! map. The spatial index is a grid of 1/64-degree cells numbered row by row, in a B-tree keyed
//! by (cell, lat, lon, version): a box is one key range per row of cells it touches. SQLite's
//! R*Tree module was measured first and dropped: inserting a node costs about 8.6 µs there
//! (1,000,000 nodes: 8.6 s), which alone would hold a rebuild under the 200,000 entries/s
//! target, while the B-tree takes the heads of a whole rebuild in one sorted pass.

use std::collections::BTreeSet;

use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::{Value, json};

use super::{
    Error, Superseded, Viewed, Views, draft, hash_column, json_column, json_text, superseded,
};
use crate::entry::Entry;
use crate::id::Hash;
use crate::store::Draft;

mod geojson;
mod overview;
pub use geojson::{
    Imported, SkippedFeature, feature_docs, from_geojson, geometry, properties, read_features,
    to_geojson,
};
pub use overview::{CLUSTER_PIXELS, Cluster, DETAIL_NODES, MAX_FEATURES, MAX_ZOOM, Overview};

/// The entry kind this view reads.
pub const KIND: &str = "map";

/// Why a bounding box, a map document or a GeoJSON file is not acceptable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// A box side is not two numbers.
    #[error("`{text}`: expected {what} as two numbers `A,B`")]
    NotAPair {
        /// The side as given.
        text: String,
        /// "latitude" or "longitude".
        what: &'static str,
    },
    /// A box edge is not a number within its limit.
    #[error("`{text}` is not a {what} between -{limit} and {limit}")]
    NotACoordinate {
        /// The number as given.
        text: String,
        /// "latitude" or "longitude".
        what: &'static str,
        /// 90 for a latitude, 180 for a longitude.
        limit: f64,
    },
    /// The box's south edge is north of its north edge.
    #[error("south {south} is north of north {north}")]
    SouthOfNorth {
        /// The south edge.
        south: f64,
        /// The north edge.
        north: f64,
    },
    /// The document is not a JSON object.
    #[error("a map document is a JSON object")]
    NotAnObject,
    /// The document has no usable `id`.
    #[error("the document needs an `id`")]
    MissingId,
    /// The document has neither a `type` nor a position.
    #[error("the document needs a `type` (node, way or relation)")]
    MissingType,
    /// The document's `type` is not an OSM one.
    #[error("unknown document type `{kind}` (node, way or relation)")]
    UnknownType {
        /// The type as written.
        kind: String,
    },
    /// A node's `lat` or `lon` is not a number within its limit.
    #[error("node `{field}` must be a number between -{limit} and {limit}")]
    NodeCoordinate {
        /// `lat` or `lon`.
        field: &'static str,
        /// 90 for `lat`, 180 for `lon`.
        limit: f64,
    },
    /// A way has no `refs` array.
    #[error("a way needs `refs`, an array of node ids")]
    MissingRefs,
    /// A way's `refs` holds something that is not a node id.
    #[error("way `refs` must be node ids")]
    BadRefs,
    /// A relation has no `members` array.
    #[error("a relation needs `members`")]
    MissingMembers,
    /// `tags` is not an object.
    #[error("`tags` must be an object")]
    TagsNotAnObject,
    /// A FeatureCollection has no `features` array.
    #[error("a FeatureCollection needs `features`")]
    MissingFeatures,
    /// The GeoJSON text is not valid JSON.
    #[error("not valid JSON: {0}")]
    Json(String),
    /// The GeoJSON is neither a FeatureCollection nor a Feature.
    #[error("expected a GeoJSON FeatureCollection or Feature")]
    NotGeoJson,
    /// A line's coordinate is not `[lon, lat]`.
    #[error("a coordinate is not [lon, lat] or [lon, lat, elevation]")]
    BadCoordinate,
    /// A geometry's `coordinates` do not have the shape its type needs.
    #[error("a {kind} needs `coordinates` shaped as GeoJSON (RFC 7946) says")]
    BadGeometry {
        /// The geometry type.
        kind: String,
    },
    /// A geometry's `type` is not one of GeoJSON's.
    #[error(
        "unknown geometry type `{kind}` (Point, LineString, Polygon, MultiPoint, \
         MultiLineString, MultiPolygon, GeometryCollection, or a null geometry)"
    )]
    UnknownGeometry {
        /// The type as written.
        kind: String,
    },
    /// A feature of a GeoJSON file is not acceptable; fix it (or leave it out) and import again.
    #[error("feature {index}{label}: {reason}; fix or remove that feature and import again")]
    Feature {
        /// Its position in the file's `features`, from 0.
        index: usize,
        /// ` (id ...)` or ` (name ...)` when the feature has one.
        label: String,
        /// What is wrong with it.
        reason: Box<MapError>,
    },
}

/// A version of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// The entry that wrote it.
    pub hash: Hash,
    /// The document (with `id` and `type`), or `None` for a deletion.
    pub doc: Option<Value>,
    /// When it was written (the author's clock), milliseconds since the Unix epoch.
    pub timestamp: u64,
}

impl Version {
    /// The document with its `version` (entry hash) added, as queries print it.
    pub fn to_json(&self) -> Value {
        let mut doc = self
            .doc
            .clone()
            .unwrap_or_else(|| json!({ "deleted": true }));
        if let Some(fields) = doc.as_object_mut() {
            fields.insert("version".into(), json!(self.hash));
        }
        doc
    }
}

/// A bounding box: latitudes `south..=north`, longitudes `west..=east`; `west > east` means the
/// box crosses the antimeridian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    /// Southern latitude.
    pub south: f64,
    /// Northern latitude.
    pub north: f64,
    /// Western longitude.
    pub west: f64,
    /// Eastern longitude.
    pub east: f64,
}

impl BBox {
    /// Parses `S,N` and `W,E` (the seed demo's `61,65 -148,-144`).
    pub fn parse(lat: &str, lon: &str) -> Result<Self, MapError> {
        let pair = |text: &str, what: &'static str, limit: f64| {
            let (a, b) = text.split_once(',').ok_or_else(|| MapError::NotAPair {
                text: text.to_owned(),
                what,
            })?;
            let parse = |v: &str| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && v.abs() <= limit)
                    .ok_or_else(|| MapError::NotACoordinate {
                        text: v.to_owned(),
                        what,
                        limit,
                    })
            };
            Ok::<_, MapError>((parse(a)?, parse(b)?))
        };
        let (south, north) = pair(lat, "latitude", 90.0)?;
        let (west, east) = pair(lon, "longitude", 180.0)?;
        if south > north {
            return Err(MapError::SouthOfNorth { south, north });
        }
        Ok(Self {
            south,
            north,
            west,
            east,
        })
    }

    /// The longitude ranges to search: one, or two when the box crosses the antimeridian.
    fn lon_ranges(&self) -> Vec<(f64, f64)> {
        if self.west <= self.east {
            vec![(self.west, self.east)]
        } else {
            vec![(self.west, 180.0), (-180.0, self.east)]
        }
    }
}

pub(super) fn create_tables(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE map_versions(
             id INTEGER PRIMARY KEY,
             hash BLOB NOT NULL,
             doc_id TEXT NOT NULL,
             type TEXT,
             doc TEXT,
             timestamp INTEGER NOT NULL,
             lat REAL,
             lon REAL,
             cell INTEGER
         );
         CREATE TABLE map_superseded(hash BLOB PRIMARY KEY) WITHOUT ROWID;
         CREATE TABLE map_nodes(
             cell INTEGER NOT NULL,
             lat REAL NOT NULL,
             lon REAL NOT NULL,
             version INTEGER NOT NULL,
             PRIMARY KEY(cell, lat, lon, version)
         ) WITHOUT ROWID;
         CREATE TABLE map_refs(version INTEGER NOT NULL, ref_id TEXT NOT NULL);",
    )
}

/// Creates the indexes, and fills the head indexes (nodes, references of ways and relations)
/// from the versions that no entry links: the end of a rebuild, which skipped them entry by entry.
pub(super) fn finish_rebuild(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE INDEX map_versions_doc ON map_versions(doc_id);
         CREATE UNIQUE INDEX map_versions_hash ON map_versions(hash);
         INSERT INTO map_nodes(cell, lat, lon, version)
             SELECT cell, lat, lon, id FROM map_versions v
             WHERE cell IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM map_superseded s WHERE s.hash = v.hash)
             ORDER BY cell, lat, lon, id;
         INSERT INTO map_refs(version, ref_id)
             SELECT v.id, r.value FROM map_versions v, json_each(v.doc, '$.refs') r
             WHERE v.type = 'way' AND v.doc IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM map_superseded s WHERE s.hash = v.hash);
         INSERT INTO map_refs(version, ref_id)
             SELECT v.id, json_extract(m.value, '$.ref') FROM map_versions v,
                 json_each(v.doc, '$.members') m
             WHERE v.type = 'relation' AND v.doc IS NOT NULL
               AND json_type(m.value, '$.ref') = 'text'
               AND NOT EXISTS (SELECT 1 FROM map_superseded s WHERE s.hash = v.hash);
         CREATE INDEX map_refs_target ON map_refs(ref_id);
         CREATE INDEX map_refs_version ON map_refs(version);",
    )
}

pub(super) fn drop_tables(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DROP TABLE IF EXISTS map_versions; DROP TABLE IF EXISTS map_superseded;
         DROP TABLE IF EXISTS map_nodes; DROP TABLE IF EXISTS map_refs;",
    )
}

/// Grid cells per degree of the node index: cells of 1/64 degree (about 1.7 km of latitude).
const CELLS_PER_DEGREE: f64 = 64.0;
/// Cells in one row of the grid (a band of latitude).
const ROW_CELLS: i64 = 360 * CELLS_PER_DEGREE as i64;
const ROWS: i64 = 180 * CELLS_PER_DEGREE as i64;

/// The grid row of a latitude and the column of a longitude.
fn grid_row(lat: f64) -> i64 {
    (((lat + 90.0) * CELLS_PER_DEGREE) as i64).clamp(0, ROWS - 1)
}

fn grid_column(lon: f64) -> i64 {
    (((lon + 180.0) * CELLS_PER_DEGREE) as i64).clamp(0, ROW_CELLS - 1)
}

/// The grid cell of a position: cells are numbered row by row from the south-west, so the
/// cells of one row of a box are one key range of the node index.
fn cell_of(lat: f64, lon: f64) -> i64 {
    grid_row(lat) * ROW_CELLS + grid_column(lon)
}

/// Text form of an OSM id or ref (text, or a number as its decimal text).
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A document checked against the OSM shapes; `Err` says what is wrong.
pub fn normalize(mut doc: Value) -> Result<Value, MapError> {
    let fields = doc.as_object_mut().ok_or(MapError::NotAnObject)?;
    let id = fields
        .get("id")
        .and_then(id_text)
        .ok_or(MapError::MissingId)?;
    fields.insert("id".into(), json!(id));
    if fields.get("deleted") == Some(&Value::Bool(true)) {
        return Ok(json!({ "id": id, "deleted": true }));
    }
    let has_position = fields.contains_key("lat") && fields.contains_key("lon");
    let kind = match fields.get("type").and_then(Value::as_str) {
        Some(kind) => kind.to_owned(),
        None if has_position => "node".to_owned(),
        None => return Err(MapError::MissingType),
    };
    fields.insert("type".into(), json!(kind));
    match kind.as_str() {
        "node" => {
            let coordinate = |field: &'static str, limit: f64| {
                fields
                    .get(field)
                    .and_then(Value::as_f64)
                    .filter(|v| v.abs() <= limit)
                    .ok_or(MapError::NodeCoordinate { field, limit })
            };
            coordinate("lat", 90.0)?;
            coordinate("lon", 180.0)?;
        }
        "way" => {
            let refs = fields
                .get("refs")
                .and_then(Value::as_array)
                .ok_or(MapError::MissingRefs)?;
            let refs: Option<Vec<String>> = refs.iter().map(id_text).collect();
            let refs = refs.ok_or(MapError::BadRefs)?;
            fields.insert("refs".into(), json!(refs));
        }
        "relation" => {
            let members = fields
                .get_mut("members")
                .and_then(Value::as_array_mut)
                .ok_or(MapError::MissingMembers)?;
            // A member's `ref` is read like a way's refs: a number as its decimal text.
            for member in members.iter_mut().filter_map(Value::as_object_mut) {
                if let Some(text) = member.get("ref").and_then(id_text) {
                    member.insert("ref".into(), json!(text));
                }
            }
        }
        other => {
            return Err(MapError::UnknownType {
                kind: other.to_owned(),
            });
        }
    }
    if let Some(tags) = fields.get("tags")
        && !tags.is_object()
    {
        return Err(MapError::TagsNotAnObject);
    }
    Ok(doc)
}

/// The ids a document refers to: a way's nodes, a relation's members (those with a text `ref`).
pub(crate) fn references(doc: &Value) -> impl Iterator<Item = &str> {
    let refs = doc["refs"].as_array().filter(|_| doc["type"] == "way");
    let members = doc["members"]
        .as_array()
        .filter(|_| doc["type"] == "relation");
    let way_refs = refs.into_iter().flatten().filter_map(Value::as_str);
    let member_refs = members
        .into_iter()
        .flatten()
        .filter_map(|m| m["ref"].as_str());
    way_refs.chain(member_refs)
}

/// A node's position, when the document is a node.
fn position(doc: &Value) -> Option<(f64, f64)> {
    if doc["type"] != "node" {
        return None;
    }
    Some((doc["lat"].as_f64()?, doc["lon"].as_f64()?))
}

/// A map entry, decoded: the document's id, type, JSON text (`None` for a deletion), and what
/// the indexes need (a node's position, the ids a way or relation refers to).
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) doc_id: String,
    pub(crate) kind: Option<String>,
    pub(crate) doc: Option<String>,
    pub(crate) position: Option<(f64, f64)>,
    pub(crate) refs: Vec<String>,
}

/// Decodes a map entry; entries that are not documents belong to no document (`None`).
pub(super) fn prepare(entry: &Entry) -> Option<Row> {
    let doc = normalize(entry.body_json().ok()?).ok()?;
    let deleted = doc.get("deleted").is_some();
    let refs = references(&doc).map(str::to_owned).collect();
    Some(Row {
        doc_id: doc["id"].as_str().unwrap_or_default().to_owned(),
        kind: doc.get("type").and_then(Value::as_str).map(str::to_owned),
        position: position(&doc),
        refs,
        doc: (!deleted).then(|| json_text(&doc)),
    })
}

/// The statements of this view's superseded table.
pub(super) const SUPERSEDED: Superseded = superseded!("map_superseded");

/// Writes one decoded entry. `rebuilding` skips the head indexes, which [`finish_rebuild`]
/// fills in one pass at the end.
pub(super) fn write(
    tx: &Transaction<'_>,
    entry: &Viewed,
    row: Row,
    rebuilding: bool,
) -> rusqlite::Result<()> {
    let hash_bytes = entry.hash.as_bytes().as_slice();
    for linked in &entry.links {
        let linked = linked.as_bytes().as_slice();
        SUPERSEDED.mark(tx, linked, rebuilding)?;
        if !rebuilding {
            unindex(tx, linked)?;
        }
    }
    tx.prepare_cached(
        "INSERT INTO map_versions(hash, doc_id, type, doc, timestamp, lat, lon, cell)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        hash_bytes,
        row.doc_id,
        row.kind,
        row.doc,
        entry.timestamp,
        row.position.map(|p| p.0),
        row.position.map(|p| p.1),
        row.position.map(|(lat, lon)| cell_of(lat, lon)),
    ])?;
    if rebuilding || row.doc.is_none() {
        return Ok(());
    }
    let version = tx.last_insert_rowid();
    if !SUPERSEDED.contains(tx, hash_bytes)? {
        index(tx, version, &row)?;
    }
    Ok(())
}

/// Adds a head version to the node and reference indexes.
fn index(tx: &Transaction<'_>, version: i64, row: &Row) -> rusqlite::Result<()> {
    if let Some((lat, lon)) = row.position {
        tx.prepare_cached(
            "INSERT INTO map_nodes(cell, lat, lon, version) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![cell_of(lat, lon), lat, lon, version])?;
    }
    let mut insert = tx.prepare_cached("INSERT INTO map_refs(version, ref_id) VALUES (?1, ?2)")?;
    for target in &row.refs {
        insert.execute(params![version, target])?;
    }
    Ok(())
}

/// Removes the version written by entry `hash` (now superseded) from the head indexes.
fn unindex(tx: &Transaction<'_>, hash: &[u8]) -> rusqlite::Result<()> {
    let version = tx
        .prepare_cached("SELECT id, lat, lon FROM map_versions WHERE hash = ?1")?
        .query_row([hash], |r| {
            let position = match (r.get(1)?, r.get(2)?) {
                (Some(lat), Some(lon)) => Some((lat, lon)),
                _ => None,
            };
            Ok((r.get::<_, i64>(0)?, position))
        })
        .optional()?;
    let Some((version, position)) = version else {
        return Ok(());
    };
    if let Some((lat, lon)) = position {
        tx.prepare_cached(
            "DELETE FROM map_nodes WHERE cell = ?1 AND lat = ?2 AND lon = ?3 AND version = ?4",
        )?
        .execute(params![cell_of(lat, lon), lat, lon, version])?;
    }
    tx.prepare_cached("DELETE FROM map_refs WHERE version = ?1")?
        .execute([version])?;
    Ok(())
}

/// Queries on the map view.
pub struct MapView<'a> {
    pub(super) views: &'a Views,
}

impl MapView<'_> {
    /// The heads of a document: its current versions (several after concurrent edits).
    pub fn heads(&self, doc_id: &str) -> Result<Vec<Version>, Error> {
        self.views.rows(
            "SELECT hash, doc, timestamp FROM map_versions v
             WHERE doc_id = ?1 AND NOT EXISTS (SELECT 1 FROM map_superseded s WHERE s.hash = v.hash)
             ORDER BY timestamp DESC, hash DESC",
            [doc_id],
            |r| {
                Ok(Version {
                    hash: hash_column(r, 0)?,
                    doc: json_column(r, 1)?,
                    timestamp: r.get(2)?,
                })
            },
        )
    }

    /// The version every replica shows (see the winner rule), or `None` when the document does
    /// not exist or is deleted.
    pub fn get(&self, doc_id: &str) -> Result<Option<Version>, Error> {
        Ok(winner(self.heads(doc_id)?))
    }

    /// The winner of a document, or with `forks` every head; [`Error::Missing`] when that is
    /// nothing.
    pub fn require(&self, doc_id: &str, forks: bool) -> Result<Vec<Version>, Error> {
        let versions = if forks {
            self.heads(doc_id)?
        } else {
            self.get(doc_id)?.into_iter().collect()
        };
        if versions.is_empty() {
            return Err(Error::Missing {
                view: super::ViewName::Map,
                key: doc_id.to_owned(),
            });
        }
        Ok(versions)
    }

    /// The shown versions of `doc_ids` (winners, or every head with `forks`), skipping deleted
    /// and unknown documents; each document at most once.
    fn shown(
        &self,
        doc_ids: impl IntoIterator<Item = String>,
        forks: bool,
    ) -> Result<Vec<Version>, Error> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for doc_id in doc_ids {
            if !seen.insert(doc_id.clone()) {
                continue;
            }
            if forks {
                out.extend(self.heads(&doc_id)?.into_iter().filter(|h| h.doc.is_some()));
            } else if let Some(winner) = self.get(&doc_id)? {
                out.push(winner);
            }
        }
        Ok(out)
    }

    /// Nodes inside `bbox`, every way that references one of them, and those ways' other nodes;
    /// then every relation with a member among those (and the relations holding those
    /// relations), and the members of those relations not found yet (with a way's nodes), so
    /// that each relation comes whole: a country's islands far from the box, its holes.
    /// Nodes come first (sorted by id), then ways, then the ways' other nodes, then relations,
    /// then their other members.
    pub fn query(&self, bbox: &BBox, forks: bool) -> Result<Vec<Version>, Error> {
        let inside = self.nodes_inside(bbox, forks)?;
        let inside_ids: BTreeSet<String> = inside.iter().filter_map(doc_id).collect();
        let ways = self.referrers(&inside_ids, "way", forks)?;
        let others = self.missing_refs(&ways, &inside_ids, forks)?;
        let mut out = inside;
        out.extend(ways);
        out.extend(others);
        let mut found: BTreeSet<String> = out.iter().filter_map(doc_id).collect();
        let mut relations = Vec::new();
        let mut newest = found.clone();
        while !newest.is_empty() {
            let holding: Vec<Version> = self
                .referrers(&newest, "relation", forks)?
                .into_iter()
                .filter(|r| doc_id(r).is_some_and(|id| !found.contains(&id)))
                .collect();
            newest = holding.iter().filter_map(doc_id).collect();
            found.extend(newest.iter().cloned());
            relations.extend(holding);
        }
        let members = self.members(&relations, &mut found, forks)?;
        out.extend(relations);
        out.extend(members);
        Ok(out)
    }

    /// The shown nodes inside `bbox`, sorted by id.
    fn nodes_inside(&self, bbox: &BBox, forks: bool) -> Result<Vec<Version>, Error> {
        let conn = &self.views.conn;
        let mut node_ids = BTreeSet::new();
        let mut stmt = self.views.db(conn.prepare_cached(
            "SELECT v.doc_id FROM map_nodes n JOIN map_versions v ON v.id = n.version
             WHERE n.cell BETWEEN ?1 AND ?2 AND n.lat BETWEEN ?3 AND ?4 AND n.lon BETWEEN ?5 AND ?6",
        ))?;
        for (cells, west, east) in overview::index_ranges(bbox) {
            let rows = self.views.db(stmt.query_map(
                params![cells.0, cells.1, bbox.south, bbox.north, west, east],
                |r| r.get::<_, String>(0),
            ))?;
            for found in rows {
                node_ids.insert(self.views.db(found)?);
            }
        }
        Ok(self
            .shown(node_ids, forks)?
            .into_iter()
            .filter(|v| v.doc.as_ref().is_some_and(|d| in_bbox(d, bbox)))
            .collect())
    }

    /// The shown documents of type `kind` (way or relation) that refer to one of `ids`.
    fn referrers(
        &self,
        ids: &BTreeSet<String>,
        kind: &str,
        forks: bool,
    ) -> Result<Vec<Version>, Error> {
        // One statement for all ids, which come as a JSON array.
        let referring = self.views.rows(
            "SELECT DISTINCT v.doc_id FROM map_refs r JOIN map_versions v ON v.id = r.version
             WHERE r.ref_id IN (SELECT value FROM json_each(?1)) AND v.type = ?2
             ORDER BY v.doc_id",
            params![json!(ids).to_string(), kind],
            |r| r.get::<_, String>(0),
        )?;
        // The index holds every head; the shown version may be another one.
        Ok(self
            .shown(referring, forks)?
            .into_iter()
            .filter(|v| {
                v.doc
                    .as_ref()
                    .is_some_and(|d| references(d).any(|r| ids.contains(r)))
            })
            .collect())
    }

    /// The shown documents that `versions` refer to and that are not in `known`.
    fn missing_refs(
        &self,
        versions: &[Version],
        known: &BTreeSet<String>,
        forks: bool,
    ) -> Result<Vec<Version>, Error> {
        let missing = versions
            .iter()
            .filter_map(|v| v.doc.as_ref())
            .flat_map(references)
            .filter(|r| !known.contains(*r))
            .map(str::to_owned);
        self.shown(missing, forks)
    }

    /// The members of `relations` not in `found`, down to the last node of a member way or
    /// relation: ways and relations first, then nodes. Adds them to `found`.
    fn members(
        &self,
        relations: &[Version],
        found: &mut BTreeSet<String>,
        forks: bool,
    ) -> Result<Vec<Version>, Error> {
        let (mut parts, mut nodes) = (Vec::new(), Vec::new());
        let mut newest = self.missing_refs(relations, found, forks)?;
        while !newest.is_empty() {
            found.extend(newest.iter().filter_map(doc_id));
            let next = self.missing_refs(&newest, found, forks)?;
            for version in newest {
                match version.doc.as_ref().map(|d| d["type"] == "node") {
                    Some(true) => nodes.push(version),
                    _ => parts.push(version),
                }
            }
            newest = next;
        }
        parts.extend(nodes);
        Ok(parts)
    }

    /// Every head of every document, for comparing replicas: (id, hash, document).
    pub fn dump(&self) -> Result<Vec<(String, Hash, Option<String>)>, Error> {
        self.views.dump_heads(
            "SELECT doc_id, hash, doc FROM map_versions v
             WHERE NOT EXISTS (SELECT 1 FROM map_superseded s WHERE s.hash = v.hash)
             ORDER BY doc_id, hash",
        )
    }
}

/// The version every replica shows among a document's `heads` (the winner rule of the module
/// documentation): `None` when a head is a deletion (or there are none), else the head with the
/// latest timestamp, ties broken by the larger entry hash.
pub fn winner(heads: Vec<Version>) -> Option<Version> {
    if heads.iter().any(|h| h.doc.is_none()) {
        return None;
    }
    heads.into_iter().max_by_key(|h| (h.timestamp, h.hash))
}

/// The id of a shown version's document.
fn doc_id(version: &Version) -> Option<String> {
    Some(version.doc.as_ref()?["id"].as_str()?.to_owned())
}

fn in_bbox(doc: &Value, bbox: &BBox) -> bool {
    let (Some(lat), Some(lon)) = (doc["lat"].as_f64(), doc["lon"].as_f64()) else {
        return false;
    };
    lat >= bbox.south
        && lat <= bbox.north
        && bbox
            .lon_ranges()
            .iter()
            .any(|(west, east)| lon >= *west && lon <= *east)
}

/// A draft writing `doc` (already normalized) as the new version of its document, linking the
/// document's current heads.
pub fn put_draft(views: &Views, doc: &Value) -> Result<Draft, Error> {
    let doc_id = doc["id"].as_str().unwrap_or_default();
    let links = views
        .map()
        .heads(doc_id)?
        .into_iter()
        .map(|h| h.hash)
        .collect();
    draft(KIND, doc, links)
}

/// A draft of a (normalized) map document superseding exactly `links` (an import's earlier
/// version of the same document, not yet in the view).
pub fn put_draft_over(doc: &Value, links: Vec<Hash>) -> Result<Draft, Error> {
    draft(KIND, doc, links)
}

/// A fresh document id: 16 random hex digits.
pub fn new_id() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system random generator works");
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_which_number_or_field_is_wrong() {
        let refused = |lat, lon| BBox::parse(lat, lon).unwrap_err().to_string();
        assert_eq!(
            refused("61", "1,2"),
            "`61`: expected latitude as two numbers `A,B`"
        );
        assert_eq!(
            refused("61,95", "1,2"),
            "`95` is not a latitude between -90 and 90"
        );
        assert_eq!(refused("65,61", "1,2"), "south 65 is north of north 61");
        let refused = |doc: Value| normalize(doc).unwrap_err().to_string();
        assert_eq!(
            refused(json!({"id": "a", "lat": 91, "lon": 0})),
            "node `lat` must be a number between -90 and 90"
        );
        assert_eq!(
            refused(json!({"id": "a", "type": "area"})),
            "unknown document type `area` (node, way or relation)"
        );
        assert_eq!(
            from_geojson(&json!({"type": "Point"})).unwrap_err(),
            MapError::NotGeoJson
        );
    }

    #[test]
    fn a_refused_feature_is_named_by_its_place_and_id_or_name() {
        let feature = |id: Value, coordinates: Value| {
            json!({"type": "Feature", "id": id, "properties": {"name": "Rock"},
                   "geometry": {"type": "LineString", "coordinates": coordinates}})
        };
        let file = json!({"type": "FeatureCollection", "features": [
            feature(json!("fine"), json!([[1.0, 2.0], [3.0, 4.0]])),
            feature(json!(12), json!([[1.0, 2.0], [3.0]])),
        ]});
        assert_eq!(
            from_geojson(&file).unwrap_err().to_string(),
            "feature 1 (id \"12\"): a coordinate is not [lon, lat] or [lon, lat, elevation]; \
             fix or remove that feature and import again"
        );
        let file = json!({"type": "Feature", "properties": {"name": "Rock"},
                          "geometry": {"type": "Curve", "coordinates": []}});
        assert!(
            from_geojson(&file)
                .unwrap_err()
                .to_string()
                .starts_with("feature 0 (name \"Rock\"): unknown geometry type `Curve`")
        );
    }

    #[test]
    fn relations_holding_each_other_export_without_looping() {
        let version = |doc: Value| Version {
            hash: Hash::of(doc.to_string().as_bytes()),
            doc: Some(doc),
            timestamp: 1,
        };
        let member = |id: &str| json!([{"type": "relation", "ref": id, "role": ""}]);
        let versions = [
            version(
                json!({"type": "relation", "id": "a", "members": member("b"),
                           "tags": {"name": "a"}}),
            ),
            version(
                json!({"type": "relation", "id": "b", "members": member("a"),
                           "tags": {"name": "b"}}),
            ),
        ];
        let features = to_geojson(&versions)["features"].clone();
        assert_eq!(features.as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn a_feature_without_an_id_gets_the_same_id_on_every_import() {
        let file = json!({"type": "Feature", "properties": {"b": 1, "a": 2},
                          "geometry": {"type": "Point", "coordinates": [1.0, 2.0]}});
        let first = from_geojson(&file).expect("import").docs;
        assert_eq!(first, from_geojson(&file).expect("import").docs);
        assert_eq!(first[0]["id"].as_str().map(str::len), Some(16));
        let reordered = json!({"type": "Feature", "properties": {"a": 2, "b": 1},
                               "geometry": {"coordinates": [1.0, 2.0], "type": "Point"}});
        assert_eq!(first, from_geojson(&reordered).expect("import").docs);
        let moved = json!({"type": "Feature", "properties": {"b": 1, "a": 2},
                           "geometry": {"type": "Point", "coordinates": [1.0, 2.5]}});
        assert_ne!(
            first[0]["id"],
            from_geojson(&moved).expect("import").docs[0]["id"]
        );
    }
}
