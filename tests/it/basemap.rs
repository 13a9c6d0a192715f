//! `mule map basemap`: a PMTiles archive carried as a blob, synced, and resent in part.

use assert_cmd::prelude::*;

use super::*;

/// A PMTiles v3 header followed by `tiles` incompressible 4 KiB "tiles" (tile `changed` drawn
/// from another seed and 300 bytes longer, as a redrawn tile that shifts what follows).
fn archive(tiles: usize, changed: Option<usize>) -> Vec<u8> {
    let mut bytes = b"PMTiles\x03".to_vec();
    bytes.resize(127, 0);
    for tile in 0..tiles {
        let (len, seed) = match changed {
            Some(c) if c == tile => (4096 + 300, 1_000_000 + tile as u64),
            _ => (4096, tile as u64 + 1),
        };
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        bytes.extend((0..len).map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        }));
    }
    bytes
}

#[test]
fn a_basemap_syncs_to_a_second_store_byte_for_byte() {
    let work = Work::new();
    let (a, b, stick) = (work.path("a"), work.path("b"), work.folder("stick"));
    let file = work.path("area.pmtiles");
    std::fs::write(&file, archive(200, None)).expect("write");
    let added = json(
        &a,
        &["map", "basemap", "add", file.to_str().expect("utf-8")],
    );
    mule(&a).arg("sync").arg(&stick).assert().success();
    mule(&b).arg("sync").arg(&stick).assert().success();
    let shown = json(&b, &["map", "basemap", "ls"]);
    assert_eq!(shown["blob"], added["hash"], "{shown}");
    assert_eq!(shown["name"], "area.pmtiles");
    let out = work.path("out.pmtiles");
    let blob = shown["blob"].as_str().expect("hash");
    mule(&b)
        .args(["blob", "get", blob, "-o", out.to_str().expect("utf-8")])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(&out).expect("read"),
        std::fs::read(&file).expect("read")
    );
    mule(&b).args(["map", "basemap", "rm"]).assert().success();
    assert_eq!(stdout(&run(&b, &["map", "basemap", "ls"])), "");
}

#[test]
fn a_changed_tile_resends_under_five_percent_of_the_archive() {
    let work = Work::new();
    let store = work.path("a");
    let (v1, v2) = (work.path("v1.pmtiles"), work.path("v2.pmtiles"));
    std::fs::write(&v1, archive(1000, None)).expect("write");
    std::fs::write(&v2, archive(1000, Some(400))).expect("write");
    let again = add_twice(&store, &v1, &v2);
    let (new, size) = (again["new_bytes"].as_u64(), again["size"].as_u64());
    let fraction = new.expect("new_bytes") as f64 / size.expect("size") as f64;
    println!(
        "a changed tile resent {:.2}% of the archive",
        fraction * 100.0
    );
    assert!(fraction < 0.05, "{again}");
}

/// Adds basemap `v1`, then `v2`, to `store`: the report of the second add (`new_bytes` is what
/// the new version would send).
pub fn add_twice(store: &Path, v1: &Path, v2: &Path) -> Value {
    json(
        store,
        &["map", "basemap", "add", v1.to_str().expect("utf-8")],
    );
    json(
        store,
        &["map", "basemap", "add", v2.to_str().expect("utf-8")],
    )
}

#[test]
fn files_that_are_not_pmtiles_v3_are_refused_in_one_line() {
    let work = Work::new();
    let store = work.path("a");
    let cases: [(&str, Vec<u8>); 3] = [
        ("sqlite.mbtiles", b"SQLite format 3\0 and more".to_vec()),
        ("cut.pmtiles", b"PMTiles\x03\0\0".to_vec()),
        ("v2.pmtiles", [&b"PMTiles\x02"[..], &[0; 200]].concat()),
    ];
    for (name, bytes) in cases {
        let file = work.path(name);
        std::fs::write(&file, bytes).expect("write");
        let output = run(
            &store,
            &["map", "basemap", "add", file.to_str().expect("utf-8")],
        );
        assert!(!output.status.success());
        let message = stderr(&output);
        assert!(message.contains("is not a PMTiles v3 archive"), "{message}");
        assert_eq!(message.trim_end().lines().count(), 1, "{message}");
    }
    assert_eq!(stdout(&run(&store, &["map", "basemap", "ls"])), "");
}

#[test]
fn concurrent_basemaps_resolve_the_same_on_both_replicas() {
    let work = Work::new();
    let (a, b) = (work.path("a"), work.path("b"));
    let (ab, ba) = (work.folder("ab"), work.folder("ba"));
    for (store, seed) in [(&a, 1), (&b, 2)] {
        let file = work.path(&format!("{seed}.pmtiles"));
        std::fs::write(&file, archive(20, Some(seed))).expect("write");
        json(
            store,
            &["map", "basemap", "add", file.to_str().expect("utf-8")],
        );
    }
    mule(&a).arg("sync").arg(&ab).assert().success();
    mule(&b).arg("sync").arg(&ab).assert().success();
    mule(&b).arg("sync").arg(&ba).assert().success();
    mule(&a).arg("sync").arg(&ba).assert().success();
    let (on_a, on_b) = (
        json(&a, &["map", "basemap", "ls"]),
        json(&b, &["map", "basemap", "ls"]),
    );
    assert_eq!(on_a, on_b);
    // Both records are kept (a later `basemap add` supersedes both); one is shown everywhere.
    let values = stdout(&run(&a, &["kv", "get", "mule/map/basemap"]));
    assert_eq!(values.lines().count(), 2, "{values}");
}
