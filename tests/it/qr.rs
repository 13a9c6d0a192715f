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

/// Decodes `inputs` into `rebuilt.mule` in `work`, checks it is byte for byte `bundle`, and
/// returns the decode's output.
fn decodes_to(work: &Work, inputs: &[&Path], bundle: &Path) -> Output {
    let rebuilt = work.path("rebuilt.mule");
    let out = decode(inputs, &["-o", rebuilt.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&rebuilt).expect("rebuilt"),
        std::fs::read(bundle).expect("bundle")
    );
    out
}

/// The files in `dir` (frames written by `qr encode --png`), in name order.
pub fn png_frames(dir: &Path) -> Vec<PathBuf> {
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
    decodes_to(&work, &chosen, &bundle);
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
    let sender =
        mule::qr::fountain::Sender::new(&bytes, info.id.as_bytes(), 1273, 2).expect("sender");
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
    decodes_to(&work, &[&video], &bundle);
}

/// The bundle's bytes and a sender of its frames (profile `default`, as `qr encode` makes).
fn sender_of(bundle: &Path) -> (Vec<u8>, mule::qr::fountain::Sender) {
    let info = mule::bundle::read_manifest(bundle).expect("manifest");
    let bytes = std::fs::read(bundle).expect("bundle");
    let sender =
        mule::qr::fountain::Sender::new(&bytes, info.id.as_bytes(), 1273, 2).expect("sender");
    (bytes, sender)
}

/// Saves `payload` as a version 25-L code, as `qr encode` draws it.
fn save_code(payload: &[u8], path: &Path) {
    let code = mule::qr::render::symbol(payload, 25, mule::qr::render::Ecc::L).expect("code");
    mule::qr::render::to_image(&code, 4)
        .save(path)
        .expect("save");
}

/// The `index`th frame of `sender` with its symbol changed and a valid checksum: a forgery.
fn forged(sender: &mule::qr::fountain::Sender, index: usize, salt: u8) -> Vec<u8> {
    let mut frame = mule::qr::frame::Frame::parse(&sender.frame(index)).expect("frame");
    for (i, byte) in frame.symbol.iter_mut().enumerate() {
        *byte ^= (i as u8).wrapping_add(salt) | 1;
    }
    frame.encode()
}

#[test]
fn forged_frames_with_genuine_numbers_are_set_aside() {
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 600);
    let (frames, _) = encode_png(&work, &bundle, &[]);
    let (bytes, sender) = sender_of(&bundle);
    // Read before the genuine frame 0, and right after the genuine frame 2 (frame-00003.png).
    save_code(&forged(&sender, 0, 1), &frames.join("0-forged.png"));
    save_code(&forged(&sender, 2, 2), &frames.join("frame-00003x.png"));
    let rebuilt = work.path("rebuilt.mule");
    let out = decode(&[&frames], &["-o", rebuilt.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&rebuilt).expect("rebuilt"), bytes);
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(said.contains("2 frames set aside"), "{said}");
    let out = mule_bare()
        .args(["--json", "qr", "decode", "-o"])
        .arg(&rebuilt)
        .arg(&frames)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["sessions"][0]["set_aside"], 2, "{report}");
}

/// Copies the files of `from` into `to`, their names prefixed with `prefix`.
fn copy_prefixed(from: &Path, to: &Path, prefix: &str) {
    std::fs::create_dir_all(to).expect("mkdir");
    for file in png_frames(from) {
        let name = file.file_name().expect("name").to_str().expect("utf-8");
        std::fs::copy(&file, to.join(format!("{prefix}{name}"))).expect("copy");
    }
}

#[test]
fn every_complete_stream_of_a_capture_folder_is_rebuilt() {
    let (one, two) = (Work::new(), Work::new());
    let (_, first) = incompressible_bundle(&one, 300);
    let (_, second) = incompressible_bundle(&two, 200);
    let (first_frames, _) = encode_png(&one, &first, &["--profile", "small"]);
    let (second_frames, _) = encode_png(&two, &second, &["--profile", "small"]);
    let captures = one.path("captures");
    copy_prefixed(&first_frames, &captures, "a-");
    copy_prefixed(&second_frames, &captures, "b-");
    // A third stream, of which one frame was caught.
    let work = Work::new();
    let (_, third) = incompressible_bundle(&work, 400);
    let (third_frames, _) = encode_png(&work, &third, &["--profile", "small"]);
    std::fs::copy(&png_frames(&third_frames)[0], captures.join("c-frame.png")).expect("copy");
    let ids: Vec<String> = [&first, &second]
        .iter()
        .map(|b| {
            mule::bundle::read_manifest(b)
                .expect("manifest")
                .id
                .to_string()
        })
        .collect();
    // -o naming a folder: each bundle as <id>.mule.
    let into = one.folder("into");
    let out = decode(&[&captures], &["-o", into.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    for (id, bundle) in ids.iter().zip([&first, &second]) {
        let written = into.join(format!("{id}.mule"));
        assert_eq!(
            std::fs::read(&written).expect("written"),
            std::fs::read(bundle).expect("b")
        );
    }
    let message = stderr(&out);
    assert!(message.contains("1 of the"), "{message}");
    assert!(message.contains("more"), "{message}");
    // -o naming a file: an error that lists the bundles.
    let file = one.path("one.mule");
    let out = decode(&[&captures], &["-o", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    for id in &ids {
        assert!(message.contains(id.as_str()), "{message}");
    }
    assert!(!file.exists());
    // --import: both.
    let receiver = one.path("receiver");
    let out = mule(&receiver)
        .args(["--json", "qr", "decode", "--import"])
        .arg(&captures)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        report["bundles"].as_array().expect("bundles").len(),
        2,
        "{report}"
    );
    assert_eq!(
        report["sessions"].as_array().expect("sessions").len(),
        3,
        "{report}"
    );
}

#[test]
fn an_animated_gif_is_read_frame_by_frame() {
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 300);
    let gif = work.path("play.gif");
    let written = encode(
        &bundle,
        &["--gif", gif.to_str().expect("utf-8"), "--profile", "small"],
    );
    assert!(
        written["source_frames"].as_u64().expect("k") >= 2,
        "{written}"
    );
    decodes_to(&work, &[&gif], &bundle);
}

#[test]
fn an_animated_png_is_read_frame_by_frame() {
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 300);
    let (frames, written) = encode_png(&work, &bundle, &["--profile", "small"]);
    assert!(
        written["source_frames"].as_u64().expect("k") >= 2,
        "{written}"
    );
    let images: Vec<image::GrayImage> = png_frames(&frames)
        .iter()
        .map(|f| image::open(f).expect("frame").to_luma8())
        .collect();
    let (width, height) = images[0].dimensions();
    let apng = work.path("play.png");
    let file = std::io::BufWriter::new(std::fs::File::create(&apng).expect("create"));
    let mut encoder = png::Encoder::new(file, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .set_animated(images.len() as u32, 0)
        .expect("animated");
    let mut writer = encoder.write_header().expect("header");
    for image in &images {
        writer.write_image_data(image.as_raw()).expect("frame");
    }
    writer.finish().expect("finish");
    decodes_to(&work, &[&apng], &bundle);
}

#[test]
fn frames_of_a_newer_format_ask_once_for_an_upgrade() {
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 600);
    let (frames, _) = encode_png(&work, &bundle, &[]);
    let (_, sender) = sender_of(&bundle);
    for (i, name) in ["0-newer.png", "1-newer.png"].iter().enumerate() {
        let mut newer = sender.frame(i);
        newer[2] = 2 << 4;
        save_code(&newer, &frames.join(name));
    }
    let out = mule_bare()
        .args(["--json", "qr", "decode", "-o"])
        .arg(work.path("out.mule"))
        .arg(&frames)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let message = stderr(&out);
    assert_eq!(message.matches("upgrade mule").count(), 1, "{message}");
    assert!(message.contains("format 2"), "{message}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["newer_format"], 2, "{report}");
}

#[test]
fn foreign_codes_are_counted_apart_from_damaged_frames() {
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 600);
    let (frames, _) = encode_png(&work, &bundle, &[]);
    let (bytes, sender) = sender_of(&bundle);
    for (i, url) in ["https://example.org/a", "https://example.org/b"]
        .iter()
        .enumerate()
    {
        let code =
            mule::qr::render::symbol(url.as_bytes(), 5, mule::qr::render::Ecc::L).expect("code");
        mule::qr::render::to_image(&code, 4)
            .save(frames.join(format!("0-foreign-{i}.png")))
            .expect("save");
    }
    let mut damaged = sender.frame(1);
    damaged[200] ^= 0x08;
    save_code(&damaged, &frames.join("0-damaged.png"));
    let out = mule_bare()
        .args(["--json", "qr", "decode", "-o"])
        .arg(work.path("out.mule"))
        .arg(&frames)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["foreign"], 2, "{report}");
    assert_eq!(report["damaged"], 1, "{report}");
    assert_eq!(report["skipped"], 3, "{report}");
    assert_eq!(std::fs::read(work.path("out.mule")).expect("out"), bytes);
    let out = decode(
        &[&frames],
        &["-o", work.path("again.mule").to_str().expect("utf-8")],
    );
    let said = stdout(&out);
    assert!(said.contains("2 foreign codes"), "{said}");
    assert!(said.contains("1 damaged frame"), "{said}");
}

/// Runs `mule qr play` with its standard output on a pseudo-terminal of `columns` x `rows`.
fn play_on_terminal(bundle: &Path, columns: u16, rows: u16, extra: &[&str]) -> Output {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: rows,
        ws_col: columns,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors, which are then owned here.
    let opened = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are not owned elsewhere.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut command = mule_bare();
    command
        .args(["qr", "play"])
        .arg(bundle)
        .args(extra)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::from(slave))
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("spawn");
    drop(command);
    let reader = std::thread::spawn(move || {
        let mut drawn = Vec::new();
        let _ = std::fs::File::from(master).read_to_end(&mut drawn);
        drawn
    });
    let mut out = child.wait_with_output().expect("wait");
    out.stdout = reader.join().expect("reader");
    out
}

#[test]
fn play_says_when_the_terminal_is_too_small_for_the_code() {
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 200);
    let out = play_on_terminal(&bundle, 110, 50, &["--frames", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("110x50"), "{message}");
    assert!(message.contains("125x65"), "{message}");
    assert!(message.contains("--profile small"), "{message}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains('▀'));
    // Large enough: it draws.
    let out = play_on_terminal(&bundle, 90, 45, &["--frames", "1", "--profile", "small"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains('▀'));
}

/// Issue 16: frames read after the bundle was rebuilt (the repair frames beyond the K needed,
/// a stream's later loops) are reported as unneeded, never as frames "seen twice"; a frame
/// read again before the rebuild is a repeat.
#[test]
fn frames_beyond_those_needed_are_reported_unneeded() {
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 600);
    let (frames, written) = encode_png(&work, &bundle, &[]);
    let k = written["source_frames"].as_u64().expect("k") as usize;
    let mut files = png_frames(&frames);
    let extra = files.len() - k;
    files.push(files[0].clone());
    let inputs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let rebuilt = work.path("rebuilt.mule");
    let out = decode(&inputs, &["-o", rebuilt.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("{k} frames used, 0 repeated")),
        "{text}"
    );
    assert!(text.contains(&format!("{} unneeded", extra + 1)), "{text}");
    assert!(!text.contains("twice"), "{text}");
}
