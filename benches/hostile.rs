//! What hostile bundles cost to import (run: `cargo bench --bench hostile`). Prints a Markdown
//! table for the README.
//!
//! The same number of entries (100,000 kv entries of one device, every entry signed) arrives
//! once as a normal bundle (members of 4,096 entries, as mule writes them) and once as 100,000
//! one-entry members, written by hand from bundle-format.md (`examples/hostile_bundles.rs`).
//! Each is imported into an empty store; best of three runs.

use std::path::Path;
use std::time::{Duration, Instant};

use mule::Store;
use mule::bundle::{Kind, import_bundle};

#[allow(dead_code)]
#[path = "../examples/hostile_bundles.rs"]
mod hostile_bundles;
use hostile_bundles::{Device, bundle, last_hash, tiny_members};

const N: u64 = 100_000;
const RUNS: usize = 3;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let work = tempfile::tempdir()?;
    let device = Device::new(0x42);
    let normal = work.path().join("normal.mule");
    std::fs::write(&normal, normal_bundle(&device))?;
    let tiny = work.path().join("tiny.mule");
    std::fs::write(&tiny, tiny_members(&device, N))?;
    let mut rows = Vec::new();
    for (name, path) in [
        ("4,096-entry members", &normal),
        ("one-entry members", &tiny),
    ] {
        let best = (0..RUNS)
            .map(|run| import_once(path, &work.path().join(format!("{name}-{run}"))))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .min()
            .expect("runs");
        rows.push((name, best, std::fs::metadata(path)?.len()));
    }
    println!("| bundle of {N} entries | size | import (best of {RUNS}) | vs normal |");
    println!("|---|---|---|---|");
    let base = rows[0].1.as_secs_f64();
    for (name, time, size) in rows {
        println!(
            "| {name} | {:.1} MB | {:.2} s | {:.2}x |",
            size as f64 / 1e6,
            time.as_secs_f64(),
            time.as_secs_f64() / base
        );
    }
    Ok(())
}

/// The device's chain of `N` entries in members of 4,096.
fn normal_bundle(device: &Device) -> Vec<u8> {
    let mut members = Vec::new();
    let mut prev = None;
    let mut first = 1;
    while first <= N {
        let count = 4096.min(N - first + 1);
        let values: Vec<(&str, &str)> = (0..count).map(|_| ("k", "v")).collect();
        let run = device.run(first, prev, &values);
        prev = Some(last_hash(&run));
        members.push((Kind::Log, run));
        first += count;
    }
    let frontier = [(device.author(), N)].into_iter().collect();
    bundle(device.author(), device, frontier, &members)
}

fn import_once(bundle: &Path, store: &Path) -> Result<Duration> {
    let mut store = Store::open(store)?;
    let start = Instant::now();
    import_bundle(&mut store, bundle)?;
    Ok(start.elapsed())
}
