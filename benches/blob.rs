//! Attachments (run: `cargo bench --bench blob`). Prints a Markdown table for the README.
//!
//! A 1 GiB file shaped like field data (half photo-like noise that does not compress, half
//! survey text that does, in 1 MiB stretches) is added to a store with `blob::add` (cut into
//! chunks, hashed, compressed into a pack file, fsynced) and compared with `zstd -3 -T1` of the
//! same file measured in the same run; then written back with `blob::get` (read, decompress,
//! check every chunk and the whole file).

use std::io::Write;
use std::time::{Duration, Instant};

use mule::blob;
use mule::store::Store;

const SIZE: usize = 1 << 30;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let work = tempfile::tempdir()?;
    let file = work.path().join("survey.bin");
    write_field_data(&file)?;
    let mib = SIZE as f64 / (1 << 20) as f64;
    let rate = |took: Duration| mib / took.as_secs_f64();

    let started = Instant::now();
    let status = std::process::Command::new("zstd")
        .args(["-3", "-T1", "-q", "-f", "-o"])
        .arg(work.path().join("survey.bin.zst"))
        .arg(&file)
        .status()?;
    let zstd = started.elapsed();
    assert!(status.success(), "zstd failed");

    let mut store = Store::open(&work.path().join("store"))?;
    let started = Instant::now();
    let added = blob::add(&mut store, &file, None, None)?;
    let add = started.elapsed();

    let out = work.path().join("back.bin");
    let started = Instant::now();
    blob::get(&store, &added.hash, &out)?;
    let get = started.elapsed();

    let packs = std::fs::read_dir(store.dir().join(blob::PACKS_DIR))?
        .map(|e| e.map(|e| e.metadata().map(|m| m.len()).unwrap_or(0)))
        .sum::<std::io::Result<u64>>()?;
    println!("| measurement (1 GiB, half incompressible) | time | throughput |");
    println!("|---|---|---|");
    println!(
        "| `zstd -3 -T1` of the file (baseline, same run) | {:.2} s | {:.0} MB/s |",
        zstd.as_secs_f64(),
        rate(zstd)
    );
    println!(
        "| `blob add`: chunk (FastCDC) + BLAKE3 + zstd into a pack + fsync | {:.2} s | {:.0} MB/s ({:.2}x zstd's time; {} chunks, pack {} MB) |",
        add.as_secs_f64(),
        rate(add),
        add.as_secs_f64() / zstd.as_secs_f64(),
        added.chunks,
        packs >> 20
    );
    println!(
        "| `blob get`: read + decompress + write + check the file's BLAKE3 | {:.2} s | {:.0} MB/s |",
        get.as_secs_f64(),
        rate(get)
    );
    Ok(())
}

/// 1 MiB stretches, alternating: xorshift noise, then lines of survey text.
fn write_field_data(path: &std::path::Path) -> Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut stretch = vec![0u8; 1 << 20];
    for i in 0..SIZE >> 20 {
        if i % 2 == 0 {
            for byte in &mut stretch {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *byte = (state >> 24) as u8;
            }
        } else {
            let mut text = Vec::with_capacity(1 << 20);
            let mut line = 0u64;
            while text.len() < 1 << 20 {
                line += 1;
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                writeln!(
                    text,
                    "{i},{line},well-{},{:.5},{:.5},depth={}cm,dry",
                    state % 900,
                    (state % 18000) as f64 / 100.0,
                    (state % 36000) as f64 / 100.0,
                    state % 400
                )?;
            }
            stretch.copy_from_slice(&text[..1 << 20]);
        }
        out.write_all(&stretch)?;
    }
    out.flush()?;
    Ok(())
}
