//! In-process benchmarks of view queries and rebuilds (run: `cargo bench --bench views`).
//!
//! Builds a store of 1,000,000 map nodes (uniform over a 100 x 100 degree area) and one of
//! 1,000,000 kv puts over 200,000 keys, then measures: rebuilding each view from the log, a
//! bounding-box query returning about 100 nodes, and `kv get`. Prints a Markdown table.

use std::time::{Duration, Instant};

use mule::entry::body_from_json;
use mule::store::{Draft, Store};
use mule::views::Views;
use mule::views::map::BBox;
use serde_json::json;

const N: usize = 1_000_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let work = tempfile::tempdir()?;
    let mut rows = Vec::new();

    let mut map_store = Store::open(&work.path().join("map"))?;
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        // xorshift: deterministic positions without another dependency.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let drafts = (0..N)
        .map(|i| {
            let doc = json!({"id": format!("n{i}"), "type": "node", "lat": -50.0 + 100.0 * next(),
                             "lon": -50.0 + 100.0 * next(), "tags": {"amenity": "well"}});
            Ok(Draft {
                kind: "map".into(),
                body: body_from_json(&doc)?,
                links: vec![],
                timestamp: 1,
            })
        })
        .collect::<Result<Vec<_>, mule::entry::Error>>()?;
    map_store.append(drafts)?;
    let mut views = Views::open(map_store.dir())?;
    let rebuild = timed(|| views.rebuild(&map_store).map(drop))?;
    rows.push(format!(
        "| rebuild the map view from {N} nodes | {:.0} entries/s ({} ms) | >= 200,000 entries/s |",
        N as f64 / rebuild.as_secs_f64(),
        rebuild.as_millis()
    ));
    // 1,000,000 nodes over 10,000 square degrees: a 1 x 1 degree box holds about 100.
    let bbox = BBox::parse("10,11", "20,21").map_err(|e| e.to_string())?;
    let found = views.map().query(&bbox, false)?.len();
    let query = median(|| views.map().query(&bbox, false).map(drop))?;
    rows.push(format!(
        "| map query returning {found} of {N} nodes | {:.2} ms | < 5 ms |",
        query.as_secs_f64() * 1000.0
    ));

    let mut kv_store = Store::open(&work.path().join("kv"))?;
    let drafts = (0..N)
        .map(|i| {
            let body = json!({"k": format!("site-{}", i % (N / 5)), "v": {"n": i, "note": "dry"}});
            Ok(Draft {
                kind: "kv".into(),
                body: body_from_json(&body)?,
                links: vec![],
                timestamp: 1,
            })
        })
        .collect::<Result<Vec<_>, mule::entry::Error>>()?;
    kv_store.append(drafts)?;
    let mut views = Views::open(kv_store.dir())?;
    let rebuild = timed(|| views.rebuild(&kv_store).map(drop))?;
    rows.push(format!(
        "| rebuild the kv view from {N} puts | {:.0} entries/s ({} ms) | >= 200,000 entries/s |",
        N as f64 / rebuild.as_secs_f64(),
        rebuild.as_millis()
    ));
    let get = median(|| views.kv().get("site-4242").map(drop))?;
    rows.push(format!(
        "| kv get (5 values) | {:.3} ms | < 1 ms |",
        get.as_secs_f64() * 1000.0
    ));

    println!("| measurement (in-process) | result | target |\n|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    Ok(())
}

fn timed<E>(f: impl FnOnce() -> Result<(), E>) -> Result<Duration, E> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed())
}

/// Median of 101 runs.
fn median<E>(mut f: impl FnMut() -> Result<(), E>) -> Result<Duration, E> {
    let mut times = Vec::with_capacity(101);
    for _ in 0..101 {
        times.push(timed(&mut f)?);
    }
    times.sort();
    Ok(times[50])
}
