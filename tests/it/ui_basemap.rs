//! The basemap in `mule ui`: a PMTiles archive written by protomaps' own Python writer, carried
//! to a second store, and its tiles served byte for byte; damaged archives answer with an error.

use super::ui::Ui;
use super::*;

/// `image` as PNG bytes.
fn png_bytes(image: image::RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .expect("encode PNG");
    bytes
}

/// A 256-pixel PNG tile of one colour.
fn png(shade: u8) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(256, 256, image::Rgb([shade, 128, 255 - shade]));
    png_bytes(image)
}

const TILES: [&str; 5] = ["0/0/0", "1/0/0", "1/1/0", "1/0/1", "1/1/1"];

/// An archive of `tiles` (`z/x/y`, PNG bytes) written by `tests/python/make_pmtiles.py` as
/// `name`; `None` (a skip) without python3 and the `pmtiles` package.
fn write_archive(work: &Work, name: &str, tiles: &[(String, Vec<u8>)]) -> Option<PathBuf> {
    let python = outside_tool("python3", "python3")?;
    let has_pmtiles = std::process::Command::new(&python)
        .args(["-c", "import pmtiles"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_pmtiles {
        return skip("the Python package pmtiles is not installed (scripts/test installs it)");
    }
    let out = work.path(name);
    let mut command = std::process::Command::new(python);
    command
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/make_pmtiles.py"))
        .arg(&out)
        .arg("© test tiles");
    let folder = work.folder(&format!("{name}.tiles"));
    for (i, (zxy, bytes)) in tiles.iter().enumerate() {
        let path = folder.join(format!("{i}.png"));
        std::fs::write(&path, bytes).expect("write tile");
        command.arg(format!("{zxy}={}", path.display()));
    }
    let status = command.status().expect("run make_pmtiles.py");
    assert!(status.success(), "make_pmtiles.py failed");
    Some(out)
}

/// The five tiles of zooms 0 and 1, and their archive.
fn archive(work: &Work) -> Option<(PathBuf, Vec<Vec<u8>>)> {
    let tiles: Vec<(String, Vec<u8>)> = TILES
        .iter()
        .enumerate()
        .map(|(i, zxy)| (zxy.to_string(), png(i as u8 * 50)))
        .collect();
    let file = write_archive(work, "area.pmtiles", &tiles)?;
    Some((file, tiles.into_iter().map(|(_, bytes)| bytes).collect()))
}

/// A 64-pixel PNG tile of noise (so it does not compress away), from `seed`.
fn noise_png(seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let image = image::RgbImage::from_fn(64, 64, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        image::Rgb([
            (state >> 24) as u8,
            (state >> 32) as u8,
            (state >> 40) as u8,
        ])
    });
    png_bytes(image)
}

#[test]
fn a_redrawn_tile_in_a_real_archive_resends_a_few_chunks_under_five_percent() {
    let work = Work::new();
    let tiles = |changed: Option<&str>| -> Vec<(String, Vec<u8>)> {
        let mut all = Vec::new();
        for z in 0..=5u32 {
            for x in 0..1u32 << z {
                for y in 0..1u32 << z {
                    let zxy = format!("{z}/{x}/{y}");
                    let seed = u64::from(z * 1000 + x * 32 + y) + 1;
                    let seed = if changed == Some(zxy.as_str()) {
                        seed + 99_999
                    } else {
                        seed
                    };
                    all.push((zxy, noise_png(seed)));
                }
            }
        }
        all
    };
    let Some(v1) = write_archive(&work, "v1.pmtiles", &tiles(None)) else {
        return;
    };
    let v2 = write_archive(&work, "v2.pmtiles", &tiles(Some("3/4/5"))).expect("written as v1");
    let store = work.path("a");
    let again = super::basemap::add_twice(&store, &v1, &v2);
    let new = again["new_bytes"].as_u64().expect("new_bytes");
    let size = again["size"].as_u64().expect("size");
    let fraction = new as f64 / size as f64;
    println!(
        "a redrawn tile in a {size}-byte archive (protomaps' writer) resent {new} bytes: {:.2}%",
        fraction * 100.0
    );
    // What is resent does not grow with the archive: the chunk holding the header and the
    // root directory, and the chunks around the tile (under 5% from about 4.5 MB up).
    assert!(again["new_chunks"].as_u64() <= Some(4), "{again}");
    assert!(fraction < 0.05, "{again}");
}

#[test]
fn a_synced_basemap_serves_its_tiles_byte_for_byte() {
    let work = Work::new();
    let Some((file, tiles)) = archive(&work) else {
        return;
    };
    let (a, b, stick) = (work.path("a"), work.path("b"), work.folder("stick"));
    json(
        &a,
        &["map", "basemap", "add", file.to_str().expect("utf-8")],
    );
    mule(&a).arg("sync").arg(&stick).output().expect("sync a");
    let synced = run(&b, &["sync", stick.to_str().expect("utf-8")]);
    assert!(synced.status.success(), "{}", stderr(&synced));
    let ui = Ui::start(&b);
    let info = ui.call("GET", "/api/map/basemap", b"").json();
    assert_eq!(info["attribution"], "© test tiles", "{info}");
    assert_eq!(info["max_zoom"], 1, "{info}");
    assert_eq!(info["raster"], true, "{info}");
    for (zxy, bytes) in TILES.iter().zip(&tiles) {
        let reply = ui.call("GET", &format!("/api/map/tiles/{zxy}"), b"");
        assert_eq!(
            reply.status,
            200,
            "{zxy}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(reply.header("content-type"), Some("image/png"));
        assert!(reply.body == *bytes, "tile {zxy} is the tile put in");
    }
    for missing in ["2/0/0", "1/2/0", "x/0/0"] {
        let status = ui
            .call("GET", &format!("/api/map/tiles/{missing}"), b"")
            .status;
        assert!(status == 404 || status == 400, "{missing}: {status}");
    }
}

#[test]
fn a_damaged_archive_answers_with_a_one_line_error() {
    let work = Work::new();
    let Some((file, _)) = archive(&work) else {
        return;
    };
    let good = std::fs::read(&file).expect("read");
    let mut lying = good.clone();
    // The root directory's length: far past the end of the file.
    lying[16..24].copy_from_slice(&(good.len() as u64 * 3).to_le_bytes());
    let mut huge = good.clone();
    huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    let mut garbled = good.clone();
    for byte in &mut garbled[127..200] {
        *byte ^= 0x5a;
    }
    let cases = [
        ("truncated", good[..good.len() / 2].to_vec()),
        ("lying", lying),
        ("huge", huge),
        ("garbled", garbled),
    ];
    for (name, bytes) in cases {
        let store = work.path(name);
        let path = work.path(&format!("{name}.pmtiles"));
        std::fs::write(&path, bytes).expect("write");
        json(
            &store,
            &["map", "basemap", "add", path.to_str().expect("utf-8")],
        );
        let ui = Ui::start(&store);
        let reply = ui.call("GET", "/api/map/tiles/1/1/1", b"");
        assert!(reply.status >= 400, "{name}: {}", reply.status);
        let error = reply.json()["error"].as_str().expect("an error").to_owned();
        assert!(!error.contains('\n'), "{name}: {error}");
        println!("{name}: {error}");
        // The server lives on.
        assert_eq!(ui.call("GET", "/api/map/extent", b"").status, 200, "{name}");
    }
}

#[test]
fn a_vector_basemap_is_said_to_be_not_drawn() {
    let work = Work::new();
    let Some((file, _)) = archive(&work) else {
        return;
    };
    let mut bytes = std::fs::read(&file).expect("read");
    bytes[99] = 1; // tile type: mvt
    std::fs::write(&file, bytes).expect("write");
    let store = work.path("a");
    json(
        &store,
        &["map", "basemap", "add", file.to_str().expect("utf-8")],
    );
    let ui = Ui::start(&store);
    assert_eq!(
        ui.call("GET", "/api/map/basemap", b"").json()["raster"],
        false
    );
    let reply = ui.call("GET", "/api/map/tiles/0/0/0", b"");
    let error = reply.json()["error"].as_str().expect("an error").to_owned();
    assert!(error.contains("vector tiles (mvt)"), "{error}");
}
