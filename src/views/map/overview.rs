//! What a map screen draws for a box at a zoom level, bounded whatever the map's size: the
//! documents themselves while the box holds few nodes, otherwise clusters (one per cell of a
//! grid whose cell is about [`CLUSTER_PIXELS`] on screen at that zoom) with their count, centre
//! and extent, so a screen over a million nodes gets a few thousand numbers, not the nodes.
//!
//! Clusters are computed at query time from the head node index (one key range per grid row
//! of the box, as [`super::MapView::query`] reads it), so they are never stale and cost no
//! space; ways and relations are drawn once the box is close enough to show documents.

use std::collections::{BTreeSet, HashMap};

use rusqlite::params;
use serde::Serialize;

use super::{BBox, MapView, ROW_CELLS, Version, grid_column, grid_row};
use crate::views::Error;

/// The most nodes a box may hold for its documents to be answered; past it, clusters.
pub const DETAIL_NODES: u64 = 1_000;
/// The most features (documents, or clusters) one answer carries; more are left out and the
/// answer says so.
pub const MAX_FEATURES: usize = 3_000;
/// The most zoom level asked for (Leaflet's deepest is about 22).
pub const MAX_ZOOM: u8 = 24;
/// About how wide a cluster's cell is on screen, in pixels (256-pixel Web Mercator tiles).
pub const CLUSTER_PIXELS: f64 = 48.0;
/// The most cluster cells across a box, so a huge box at a deep zoom stays bounded.
const MAX_CELLS_ACROSS: f64 = 64.0;

/// Nodes near each other, drawn as one mark.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// How many nodes.
    pub count: u64,
    /// Their mean latitude.
    pub lat: f64,
    /// Their mean longitude.
    pub lon: f64,
    /// The box around them: zooming to it shows them apart.
    pub south: f64,
    /// See `south`.
    pub west: f64,
    /// See `south`.
    pub north: f64,
    /// See `south`.
    pub east: f64,
}

/// What a box shows at a zoom level.
#[derive(Debug, Clone, PartialEq)]
pub enum Overview {
    /// Few enough nodes: the documents, as [`MapView::query`] finds them.
    Documents {
        /// The shown versions (at most [`MAX_FEATURES`]).
        versions: Vec<Version>,
        /// Ids of those documents that have concurrent versions (forks).
        forked: BTreeSet<String>,
        /// Whether documents were left out to stay under [`MAX_FEATURES`].
        truncated: bool,
    },
    /// Too many: clusters of the nodes.
    Clusters {
        /// The clusters, largest first (at most [`MAX_FEATURES`]).
        clusters: Vec<Cluster>,
        /// Nodes in the box.
        nodes: u64,
        /// Whether clusters were left out to stay under [`MAX_FEATURES`].
        truncated: bool,
    },
}

/// The side of a cluster's cell in degrees at `zoom` for `bbox`: [`CLUSTER_PIXELS`] at that
/// zoom, but never so small that the box holds more than [`MAX_CELLS_ACROSS`] cells a side.
fn cell_degrees(bbox: &BBox, zoom: u8) -> f64 {
    let world_pixels = 256.0 * 2f64.powi(i32::from(zoom));
    let on_screen = CLUSTER_PIXELS * 360.0 / world_pixels;
    let width: f64 = bbox.lon_ranges().iter().map(|(w, e)| e - w).sum();
    let height = bbox.north - bbox.south;
    on_screen
        .max(width / MAX_CELLS_ACROSS)
        .max(height / MAX_CELLS_ACROSS)
}

/// Sums of the nodes of one cell, gathered while scanning.
#[derive(Debug, Clone, Copy)]
struct Sums {
    count: u64,
    lat: f64,
    lon: f64,
    south: f64,
    west: f64,
    north: f64,
    east: f64,
}

impl Sums {
    fn new(lat: f64, lon: f64) -> Self {
        Self {
            count: 0,
            lat: 0.0,
            lon: 0.0,
            south: lat,
            west: lon,
            north: lat,
            east: lon,
        }
    }

    fn add(&mut self, lat: f64, lon: f64) {
        self.count += 1;
        self.lat += lat;
        self.lon += lon;
        self.south = self.south.min(lat);
        self.north = self.north.max(lat);
        self.west = self.west.min(lon);
        self.east = self.east.max(lon);
    }

    /// The cluster; `lon` sums were shifted east by 360 for nodes past the antimeridian.
    fn cluster(&self) -> Cluster {
        let wrap = |lon: f64| if lon > 180.0 { lon - 360.0 } else { lon };
        Cluster {
            count: self.count,
            lat: self.lat / self.count as f64,
            lon: wrap(self.lon / self.count as f64),
            south: self.south,
            west: wrap(self.west),
            north: self.north,
            east: wrap(self.east),
        }
    }
}

impl MapView<'_> {
    /// What `bbox` shows at `zoom` (clamped to [`MAX_ZOOM`]): its documents while it holds at
    /// most [`DETAIL_NODES`] nodes, else clusters; never more than [`MAX_FEATURES`] features.
    pub fn overview(&self, bbox: &BBox, zoom: u8) -> Result<Overview, Error> {
        // One pass over the box's index entries counts the nodes and clusters them; a box
        // that holds few shows its documents instead (the clusters then cost little).
        let mut clusters = self.clusters(bbox, cell_degrees(bbox, zoom.min(MAX_ZOOM)))?;
        let nodes = clusters.iter().map(|cluster| cluster.count).sum();
        if nodes <= DETAIL_NODES {
            let mut versions = self.query(bbox, false)?;
            let truncated = versions.len() > MAX_FEATURES;
            versions.truncate(MAX_FEATURES);
            let ids = versions.iter().filter_map(super::doc_id);
            let forked = self.forked(ids)?;
            return Ok(Overview::Documents {
                versions,
                forked,
                truncated,
            });
        }
        clusters.sort_by_key(|cluster| std::cmp::Reverse(cluster.count));
        let truncated = clusters.len() > MAX_FEATURES;
        clusters.truncate(MAX_FEATURES);
        Ok(Overview::Clusters {
            clusters,
            nodes,
            truncated,
        })
    }

    /// The head nodes inside `bbox` (deleted or superseded versions are not in the index),
    /// gathered by cells of `size` degrees.
    fn clusters(&self, bbox: &BBox, size: f64) -> Result<Vec<Cluster>, Error> {
        let conn = &self.views.conn;
        let mut stmt = self.views.db(conn.prepare_cached(
            "SELECT lat, lon FROM map_nodes
             WHERE cell BETWEEN ?1 AND ?2 AND lat BETWEEN ?3 AND ?4 AND lon BETWEEN ?5 AND ?6",
        ))?;
        let mut cells: HashMap<(i64, i64), Sums> = HashMap::new();
        for (range, west, east) in index_ranges(bbox) {
            // West of the box's west edge: the part past the antimeridian, shifted east.
            let shift = if west < bbox.west { 360.0 } else { 0.0 };
            let mut rows = self.views.db(stmt.query(params![
                range.0, range.1, bbox.south, bbox.north, west, east
            ]))?;
            while let Some(row) = self.views.db(rows.next())? {
                let (lat, lon): (f64, f64) = (
                    self.views.db(row.get(0))?,
                    self.views.db(row.get::<_, f64>(1))? + shift,
                );
                // Cells on a grid fixed to the globe, so clusters stay put as the map pans.
                let key = (
                    ((lat + 90.0) / size).floor() as i64,
                    ((lon + 180.0) / size).floor() as i64,
                );
                cells
                    .entry(key)
                    .or_insert_with(|| Sums::new(lat, lon))
                    .add(lat, lon);
            }
        }
        Ok(cells.values().map(Sums::cluster).collect())
    }

    /// The ids among `ids` whose documents have more than one head.
    fn forked(&self, ids: impl Iterator<Item = String>) -> Result<BTreeSet<String>, Error> {
        let ids: Vec<String> = ids.collect();
        let forked = self.views.rows(
            "SELECT doc_id FROM map_versions v
             WHERE doc_id IN (SELECT value FROM json_each(?1))
               AND NOT EXISTS (SELECT 1 FROM map_superseded s WHERE s.hash = v.hash)
             GROUP BY doc_id HAVING count(*) > 1",
            [serde_json::json!(ids).to_string()],
            |r| r.get::<_, String>(0),
        )?;
        Ok(forked.into_iter().collect())
    }

    /// Every version of a document that is no longer a head, newest first, at most `limit`.
    pub fn history(&self, doc_id: &str, limit: usize) -> Result<Vec<Version>, Error> {
        self.views.rows(
            "SELECT hash, doc, timestamp FROM map_versions v
             WHERE doc_id = ?1 AND EXISTS (SELECT 1 FROM map_superseded s WHERE s.hash = v.hash)
             ORDER BY timestamp DESC, hash DESC LIMIT ?2",
            params![doc_id, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| {
                Ok(Version {
                    hash: crate::views::hash_column(r, 0)?,
                    doc: crate::views::json_column(r, 1)?,
                    timestamp: r.get(2)?,
                })
            },
        )
    }

    /// The box around every shown node, or `None` for a map without nodes.
    pub fn extent(&self) -> Result<Option<BBox>, Error> {
        let found = self.views.rows(
            "SELECT min(lat), max(lat), min(lon), max(lon) FROM map_nodes",
            [],
            |r| {
                Ok((
                    r.get::<_, Option<f64>>(0)?,
                    r.get::<_, Option<f64>>(1)?,
                    r.get::<_, Option<f64>>(2)?,
                    r.get::<_, Option<f64>>(3)?,
                ))
            },
        )?;
        Ok(match found.first() {
            Some(&(Some(south), Some(north), Some(west), Some(east))) => Some(BBox {
                south,
                north,
                west,
                east,
            }),
            _ => None,
        })
    }
}

/// The key ranges of the node index that cover `bbox`: one per grid row and longitude range,
/// with that range's west and east edges.
pub(super) fn index_ranges(bbox: &BBox) -> impl Iterator<Item = ((i64, i64), f64, f64)> + '_ {
    bbox.lon_ranges().into_iter().flat_map(move |(west, east)| {
        (grid_row(bbox.south)..=grid_row(bbox.north)).map(move |row| {
            let cells = (
                row * ROW_CELLS + grid_column(west),
                row * ROW_CELLS + grid_column(east),
            );
            (cells, west, east)
        })
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::Store;
    use crate::views::Views;

    /// A store holding `docs` (each written once, or linking `links`), and its views.
    fn map_of(dir: &std::path::Path, docs: &[serde_json::Value]) -> (Store, Views) {
        let mut store = Store::open(dir).expect("store");
        let drafts = docs
            .iter()
            .map(|doc| crate::views::draft(super::super::KIND, doc, Vec::new()).expect("draft"))
            .collect();
        store.append(drafts).expect("append");
        let mut views = Views::open(dir).expect("views");
        views.catch_up(&store).expect("catch up");
        (store, views)
    }

    fn grid(n: usize) -> Vec<serde_json::Value> {
        (0..n)
            .map(|i| {
                json!({"id": format!("n{i}"), "lat": (i / 100) as f64 * 0.01,
                       "lon": (i % 100) as f64 * 0.01})
            })
            .collect()
    }

    #[test]
    fn a_box_with_few_nodes_shows_its_documents() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut docs = grid(20);
        // A second version of n0 that does not link the first: a fork.
        docs.push(json!({"id": "n0", "lat": 0.5, "lon": 0.5}));
        let (_, views) = map_of(dir.path(), &docs);
        let bbox = BBox::parse("-1,1", "-1,1").expect("box");
        let Overview::Documents {
            versions,
            truncated,
            forked,
        } = views.map().overview(&bbox, 10).expect("overview")
        else {
            panic!("documents expected")
        };
        assert_eq!(versions.len(), 20);
        assert!(!truncated);
        assert_eq!(forked.into_iter().collect::<Vec<_>>(), ["n0"]);
    }

    #[test]
    fn a_box_with_many_nodes_shows_bounded_clusters_that_count_every_node() {
        let dir = tempfile::tempdir().expect("temp dir");
        let n = DETAIL_NODES as usize + 500;
        let (_, views) = map_of(dir.path(), &grid(n));
        for (lat, lon, zoom) in [("-90,90", "-180,180", 0), ("-90,90", "-180,180", 24)] {
            let bbox = BBox::parse(lat, lon).expect("box");
            let Overview::Clusters {
                clusters, nodes, ..
            } = views.map().overview(&bbox, zoom).expect("overview")
            else {
                panic!("clusters expected")
            };
            assert_eq!(nodes, n as u64);
            assert_eq!(clusters.iter().map(|c| c.count).sum::<u64>(), n as u64);
            assert!(clusters.len() <= MAX_FEATURES, "{}", clusters.len());
            for cluster in &clusters {
                assert!(cluster.south <= cluster.lat && cluster.lat <= cluster.north);
                assert!(cluster.west <= cluster.lon && cluster.lon <= cluster.east);
            }
        }
    }

    #[test]
    fn clusters_stay_put_when_the_box_moves() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (_, views) = map_of(dir.path(), &grid(DETAIL_NODES as usize + 100));
        let clusters = |lat: &str, lon: &str| {
            let bbox = BBox::parse(lat, lon).expect("box");
            match views.map().overview(&bbox, 12).expect("overview") {
                Overview::Clusters { mut clusters, .. } => {
                    clusters.sort_by(|a, b| a.lat.total_cmp(&b.lat).then(a.lon.total_cmp(&b.lon)));
                    clusters
                }
                Overview::Documents { .. } => panic!("clusters expected"),
            }
        };
        assert_eq!(
            clusters("-0.5,0.5", "-0.5,1.5"),
            clusters("-0.4,0.6", "-0.3,1.7")
        );
    }

    #[test]
    fn clusters_across_the_antimeridian_keep_their_longitudes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let docs: Vec<_> = (0..DETAIL_NODES + 10)
            .map(|i| {
                let lon = if i % 2 == 0 { 179.9 } else { -179.9 };
                json!({"id": format!("n{i}"), "lat": 1.0, "lon": lon})
            })
            .collect();
        let (_, views) = map_of(dir.path(), &docs);
        let bbox = BBox::parse("0,2", "170,-170").expect("box");
        let Overview::Clusters { clusters, .. } = views.map().overview(&bbox, 2).expect("view")
        else {
            panic!("clusters expected")
        };
        assert_eq!(clusters.len(), 1, "{clusters:?}");
        assert!(clusters[0].lon.abs() > 179.0, "{clusters:?}");
    }

    #[test]
    fn the_extent_holds_every_node_and_history_the_superseded_versions() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (mut store, mut views) = map_of(dir.path(), &[]);
        assert_eq!(views.map().extent().expect("extent"), None);
        let first = json!({"id": "p", "lat": -3.5, "lon": 20.0});
        let hash = store
            .append(vec![crate::views::draft("map", &first, vec![]).expect("d")])
            .expect("append")[0];
        let moved = json!({"id": "p", "lat": 4.0, "lon": 21.0});
        let other = json!({"id": "q", "lat": 1.0, "lon": -7.0});
        store
            .append(vec![
                crate::views::draft("map", &moved, vec![hash]).expect("d"),
                crate::views::draft("map", &other, vec![]).expect("d"),
            ])
            .expect("append");
        views.catch_up(&store).expect("catch up");
        let extent = views.map().extent().expect("extent").expect("nodes");
        assert_eq!(
            (extent.south, extent.north, extent.west, extent.east),
            (1.0, 4.0, -7.0, 21.0),
            "the moved node's old place is not in it"
        );
        let history = views.map().history("p", 10).expect("history");
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].hash, hash);
    }
}
