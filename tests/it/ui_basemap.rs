//! The basemap in `mule ui`: a PMTiles archive written by protomaps' own Python writer, carried
//! to a second store, and its tiles served byte for byte; damaged archives answer with an error.

use super::ui::Ui;
use super::*;

/// A 256-pixel PNG tile of one colour.
fn png(shade: u8) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(256, 256, image::Rgb([shade, 128, 255 - shade]));
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .expect("encode PNG");
    bytes
}

const TILES: [&str; 5] = ["0/0/0", "1/0/0", "1/1/0", "1/0/1", "1/1/1"];

/// Writes the tiles and an archive of them with `tests/python/make_pmtiles.py`; `None` (a
/// skip) without python3 and the `pmtiles` package.
fn archive(work: &Work) -> Option<(PathBuf, Vec<Vec<u8>>)> {
    let python = outside_tool("python3", "python3")?;
    let has_pmtiles = std::process::Command::new(&python)
        .args(["-c", "import pmtiles"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_pmtiles {
        return skip("the Python package pmtiles is not installed (scripts/test installs it)");
    }
    let out = work.path("area.pmtiles");
    let mut command = std::process::Command::new(python);
    command
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/make_pmtiles.py"))
        .arg(&out)
        .arg("© test tiles");
    let mut tiles = Vec::new();
    for (i, zxy) in TILES.iter().enumerate() {
        let path = work.path(&format!("tile{i}.png"));
        let bytes = png(i as u8 * 50);
        std::fs::write(&path, &bytes).expect("write tile");
        command.arg(format!("{zxy}={}", path.display()));
        tiles.push(bytes);
    }
    let status = command.status().expect("run make_pmtiles.py");
    assert!(status.success(), "make_pmtiles.py failed");
    Some((out, tiles))
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
