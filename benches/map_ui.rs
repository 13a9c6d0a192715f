//! The map page's query (`GET /api/map?bbox=...&zoom=...`), in process: a map of 200,000 nodes
//! and the boxes a screen of 1280 x 800 pixels shows at a few zoom levels (run:
//! `cargo bench --bench map_ui`; `cargo test --bench map_ui` runs it unoptimized, where the
//! numbers say little). Target: every answer under 100 ms. Prints a Markdown table.
//!
//! The nodes are spread uniformly over a 20 x 20 degree area, the worst case for clustering
//! (no two nodes share a place, so every node in the box is read), plus 2% in one dense town.
//! `MAP_UI_NODES=1000000` measures another size.

use std::time::{Duration, Instant};

use mule::entry::body_from_json;
use mule::store::{Draft, Store};
use mule::views::Views;
use mule::views::map::{BBox, Overview};
use serde_json::json;

/// Nodes in the map unless `MAP_UI_NODES` says otherwise.
const NODES: usize = 200_000;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let nodes = std::env::var("MAP_UI_NODES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(NODES);
    let work = tempfile::tempdir()?;
    let mut store = Store::open(work.path())?;
    let mut random = 0x2545_f491_4f6c_dd1d_u64;
    let mut unit = move || {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        (random >> 11) as f64 / (1u64 << 53) as f64
    };
    let drafts = (0..nodes)
        .map(|i| {
            let (lat, lon) = if i % 50 == 0 {
                (10.0 + 0.05 * unit(), 10.0 + 0.05 * unit())
            } else {
                (20.0 * unit(), 20.0 * unit())
            };
            let doc = json!({"id": format!("n{i}"), "type": "node", "lat": lat, "lon": lon,
                             "tags": {"amenity": "well", "name": format!("well {i}")}});
            Ok(Draft {
                kind: "map".into(),
                body: body_from_json(&doc)?,
                links: vec![],
                timestamp: 1_790_000_000_000,
            })
        })
        .collect::<std::result::Result<Vec<_>, mule::entry::Error>>()?;
    store.append(drafts)?;
    let mut views = Views::open(store.dir())?;
    views.catch_up(&store)?;

    println!("| map page query, {nodes} nodes (in-process) | answer | median | target |");
    println!("|---|---|---|---|");
    let extent = median(|| views.map().extent().map(drop))?;
    println!(
        "| extent of the data | one box | {:.1} ms | < 100 ms |",
        ms(extent)
    );
    // A 1280 x 800 screen spans 1280 / 256 tiles of 360 / 2^zoom degrees.
    for (zoom, lat, lon) in [
        (5, 10.0, 10.0),
        (7, 10.0, 10.0),
        (9, 5.0, 5.0),
        (13, 5.0, 5.0),
    ] {
        let half_width = 1280.0 / 256.0 * 360.0 / 2f64.powi(zoom) / 2.0;
        let half_height = half_width * 800.0 / 1280.0;
        let bbox = BBox {
            south: f64::max(lat - half_height, -90.0),
            north: f64::min(lat + half_height, 90.0),
            west: f64::max(lon - half_width, -180.0),
            east: f64::min(lon + half_width, 180.0),
        };
        let answer = match views.map().overview(&bbox, zoom as u8)? {
            Overview::Documents { versions, .. } => format!("{} documents", versions.len()),
            Overview::Clusters {
                clusters, nodes, ..
            } => format!("{} clusters of {nodes} nodes", clusters.len()),
        };
        let time = median(|| views.map().overview(&bbox, zoom as u8).map(drop))?;
        println!(
            "| zoom {zoom}, box {:.2} x {:.2} degrees | {answer} | {:.1} ms | < 100 ms |",
            bbox.east - bbox.west,
            bbox.north - bbox.south,
            ms(time)
        );
    }
    Ok(())
}

fn ms(time: Duration) -> f64 {
    time.as_secs_f64() * 1000.0
}

/// Median of 21 runs.
fn median<E>(
    mut f: impl FnMut() -> std::result::Result<(), E>,
) -> std::result::Result<Duration, E> {
    let mut times = Vec::with_capacity(21);
    for _ in 0..21 {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[10])
}
