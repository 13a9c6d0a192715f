//! QR transport through the CLI: bundles out as PNG frames, an HTML player, a GIF, terminal
//! text and a video, and back in through `mule qr decode`, byte-exact and verified.

use std::process::Command as Process;

use assert_cmd::prelude::*;
use base64::Engine;

use super::*;

fn encode(bundle: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json", "qr", "encode", bundle.to_str().expect("utf-8")];
    all.extend_from_slice(args);
    let out = mule_bare().args(&all).output().expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// Encodes `bundle` as numbered PNG frames in the work folder `frames`; returns the folder and
/// the encoder's JSON report.
fn encode_png(work: &Work, bundle: &Path, extra: &[&str]) -> (PathBuf, Value) {
    let frames = work.path("frames");
    let mut args = vec!["--png", frames.to_str().expect("utf-8")];
    args.extend_from_slice(extra);
    let written = encode(bundle, &args);
    (frames, written)
}

fn decode(args: &[&Path], extra: &[&str]) -> Output {
    mule_bare()
        .args(["qr", "decode"])
        .args(args)
        .args(extra)
        .output()
        .expect("run")
}

fn png_frames(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("frames")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

#[test]
fn png_frames_rebuild_the_bundle_byte_for_byte() {
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 600);
    let (frames, written) = encode_png(&work, &bundle, &[]);
    let k = written["source_frames"].as_u64().expect("k") as usize;
    assert!(k >= 5, "{written}");
    assert_eq!(written["frame_bytes"], 1273);
    let files = png_frames(&frames);
    assert_eq!(files.len(), k + (k / 4).max(3));
    // Any K frames will do: drop the first three source frames and keep K.
    let chosen: Vec<&Path> = files[3..3 + k].iter().map(PathBuf::as_path).collect();
    let rebuilt = work.path("rebuilt.mule");
    let out = decode(&chosen, &["-o", rebuilt.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&rebuilt).expect("rebuilt"),
        std::fs::read(&bundle).expect("bundle")
    );
}

#[test]
fn a_folder_of_captures_imports_into_the_store_and_views_catch_up() {
    let work = Work::new();
    let source = work.path("source");
    for (k, v) in [("well-1", "\"dry\""), ("well-2", "\"wet\"")] {
        mule(&source).args(["kv", "put", k, v]).assert().success();
    }
    let bundle = work.path("kv.mule");
    mule(&source)
        .args(["export", "--all", "-o"])
        .arg(&bundle)
        .assert()
        .success();
    let (frames, _) = encode_png(&work, &bundle, &["--profile", "small"]);
    let receiver = work.path("receiver");
    let out = mule(&receiver)
        .args(["--json", "qr", "decode", "--import"])
        .arg(&frames)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["bundles"][0]["imported"]["new"], 2);
    let got = stdout(&run(&receiver, &["kv", "get", "well-2"]));
    assert!(got.contains("\"wet\""), "{got}");
}

#[test]
fn too_few_frames_say_how_many_more_and_write_nothing() {
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 600);
    let (frames, written) = encode_png(&work, &bundle, &[]);
    let k = written["source_frames"].as_u64().expect("k") as usize;
    let files = png_frames(&frames);
    let few: Vec<&Path> = files[..k - 2].iter().map(PathBuf::as_path).collect();
    let target = work.path("out.mule");
    let out = decode(&few, &["-o", target.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(
        message.contains(&format!(
            "{} of the {k} frames needed; capture at least 2 more",
            k - 2
        )),
        "{message}"
    );
    assert!(!target.exists());
}

#[test]
fn foreign_and_damaged_codes_are_skipped_and_counted() {
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 600);
    let (frames, _) = encode_png(&work, &bundle, &[]);
    // A code that is not ours, and one of ours with a changed byte (its checksum fails).
    let foreign = mule::qr::render::symbol(
        b"https://example.org/not-a-frame",
        5,
        mule::qr::render::Ecc::L,
    )
    .expect("code");
    mule::qr::render::to_image(&foreign, 4)
        .save(frames.join("0-foreign.png"))
        .expect("save");
    let info = mule::bundle::read_manifest(&bundle).expect("manifest");
    let bytes = std::fs::read(&bundle).expect("bundle");
    let sender = mule::qr::fountain::Sender::new(&bytes, &info.id, 1273, 2).expect("sender");
    let mut damaged = sender.frame(0);
    damaged[100] ^= 0x40;
    let code = mule::qr::render::symbol(&damaged, 25, mule::qr::render::Ecc::L).expect("code");
    mule::qr::render::to_image(&code, 4)
        .save(frames.join("0-damaged.png"))
        .expect("save");
    std::fs::write(frames.join("notes.txt"), "not an image").expect("write");
    let out = Process::new(env!("CARGO_BIN_EXE_mule"))
        .args(["--json", "qr", "decode", "-o"])
        .arg(work.path("out.mule"))
        .arg(&frames)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["skipped"], 2, "{report}");
    assert_eq!(std::fs::read(work.path("out.mule")).expect("out"), bytes);
}

#[test]
fn wrong_inputs_get_one_line_errors() {
    let work = Work::new();
    let missing = work.path("no-such-folder");
    let out = decode(&[&missing], &[]);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(message.contains("no-such-folder"), "{message}");
    assert_eq!(
        message.lines().filter(|l| l.starts_with("error")).count(),
        1
    );
    let not_bundle = work.path("x.mule");
    std::fs::write(&not_bundle, "hello").expect("write");
    let out = mule_bare()
        .args(["qr", "encode"])
        .arg(&not_bundle)
        .args(["--png", work.path("f").to_str().expect("utf-8")])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("x.mule"), "{}", stderr(&out));
    let empty = work.folder("empty");
    let out = decode(&[&empty], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no mule QR frames"),
        "{}",
        stderr(&out)
    );
}

/// Codes of a decoded image scaled up `factor` times without smoothing.
fn codes_scaled(image: image::DynamicImage, factor: u32) -> Vec<Vec<u8>> {
    let (w, h) = (image.width() * factor, image.height() * factor);
    let big = image.resize_exact(w, h, image::imageops::FilterType::Nearest);
    mule::qr::scan::read_codes(&big)
}

fn rebuild(codes: impl IntoIterator<Item = Vec<u8>>) -> Vec<Vec<u8>> {
    let mut receiver = mule::qr::fountain::Receiver::default();
    for code in codes {
        if let Ok(frame) = mule::qr::frame::Frame::parse(&code) {
            receiver.accept(frame).expect("accept");
        }
    }
    receiver
        .bundles()
        .into_iter()
        .map(|(_, b)| b.to_vec())
        .collect()
}

#[test]
fn the_html_player_is_self_contained_and_carries_the_stream() {
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 600);
    let page = work.path("play.html");
    let written = encode(
        &bundle,
        &["--html", page.to_str().expect("utf-8"), "--fps", "10"],
    );
    let k = written["source_frames"].as_u64().expect("k") as usize;
    let html = std::fs::read_to_string(&page).expect("html");
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    for external in [
        "http://",
        "https://",
        "<script src",
        "<link",
        "@import",
        "url(",
    ] {
        assert!(!html.contains(external), "the page names {external}");
    }
    assert!(html.contains("let fps = 10,"));
    let uris: Vec<&str> = html
        .split('"')
        .filter(|s| s.starts_with("data:image/png;base64,"))
        .collect();
    assert_eq!(uris.len(), 2 * k + 3);
    let codes = uris.iter().skip(k).flat_map(|uri| {
        let png = base64::engine::general_purpose::STANDARD
            .decode(&uri["data:image/png;base64,".len()..])
            .expect("base64");
        codes_scaled(image::load_from_memory(&png).expect("png"), 4)
    });
    // The repair half of the loop alone rebuilds the bundle.
    assert_eq!(rebuild(codes), [std::fs::read(&bundle).expect("bundle")]);
}

#[test]
fn the_gif_carries_the_stream() {
    use image::AnimationDecoder;
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 300);
    let gif = work.path("play.gif");
    encode(
        &bundle,
        &["--gif", gif.to_str().expect("utf-8"), "--profile", "small"],
    );
    let file = std::io::BufReader::new(std::fs::File::open(&gif).expect("gif"));
    let frames = image::codecs::gif::GifDecoder::new(file)
        .expect("decoder")
        .into_frames()
        .collect_frames()
        .expect("frames");
    // 8 fps: 125 ms, which GIF stores in hundredths of a second.
    let (numer, denom) = frames[0].delay().numer_denom_ms();
    assert!((120..=130).contains(&(numer / denom)), "{numer}/{denom} ms");
    let codes = frames
        .into_iter()
        .flat_map(|f| codes_scaled(image::DynamicImage::ImageRgba8(f.into_buffer()), 2));
    assert_eq!(rebuild(codes), [std::fs::read(&bundle).expect("bundle")]);
}

/// Terminal text back into an image: each character is two modules, top and bottom.
fn text_to_image(text: &str) -> image::DynamicImage {
    let rows: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let (width, height) = (rows[0].len() as u32, rows.len() as u32 * 2);
    let image = image::GrayImage::from_fn(width * 4, height * 4, |x, y| {
        let c = rows[(y / 8) as usize][(x / 4) as usize];
        let top = y / 4 % 2 == 0;
        let dark = match c {
            ' ' => true,
            '▀' => !top,
            '▄' => top,
            _ => false,
        };
        image::Luma([if dark { 0 } else { 255 }])
    });
    image::DynamicImage::ImageLuma8(image)
}

#[test]
fn terminal_play_draws_codes_that_read_back() {
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 200);
    let out = mule_bare()
        .args(["qr", "play", "--profile", "small"])
        .arg(&bundle)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let codes = text
        .split("frame ")
        .filter_map(|chunk| {
            let art: String = chunk
                .lines()
                .filter(|l| l.chars().all(|c| " █▀▄".contains(c)) && !l.is_empty())
                .map(|l| format!("{l}\n"))
                .collect();
            (!art.is_empty()).then(|| mule::qr::scan::read_codes(&text_to_image(&art)))
        })
        .flatten();
    assert_eq!(rebuild(codes), [std::fs::read(&bundle).expect("bundle")]);
}

#[test]
fn a_video_of_the_frames_decodes() {
    let Some(ffmpeg) = outside_tool("ffmpeg", "ffmpeg") else {
        return;
    };
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 300);
    let (frames, _) = encode_png(&work, &bundle, &["--profile", "small"]);
    let video = work.path("capture.mp4");
    let made = Process::new(ffmpeg)
        .args(["-loglevel", "error", "-framerate", "4", "-i"])
        .arg(frames.join("frame-%05d.png"))
        .args([
            "-vf",
            "pad=ceil(iw/2)*2:ceil(ih/2)*2:color=white",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-crf",
            "18",
        ])
        .arg(&video)
        .status()
        .expect("run ffmpeg");
    assert!(made.success());
    let rebuilt = work.path("rebuilt.mule");
    let out = decode(&[&video], &["-o", rebuilt.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&rebuilt).expect("rebuilt"),
        std::fs::read(&bundle).expect("bundle")
    );
}
