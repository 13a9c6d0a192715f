//! Reading QR codes from images and videos: every code in a frame, byte-exact.
//!
//! Codes are read from grey pixels by [`mule_qr::read`] (rxing, QR only; the phone page runs the
//! same code in WebAssembly).
//!
//! Videos are split into PNG frames by the `ffmpeg` program, which must be on `PATH`.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use image::codecs::{gif::GifDecoder, png::PngDecoder};
use image::{AnimationDecoder, DynamicImage, GrayImage, ImageFormat, Luma};

/// Extensions (lower case) of the image files [`inputs`] picks up.
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "gif"];

/// Extensions (lower case) that [`is_video`] recognises.
const VIDEO_EXTENSIONS: &[&str] = &["mp4", "mov", "m4v", "webm", "mkv", "avi", "3gp"];

/// Prefix of the frame files [`video_frames`] writes.
const FRAME_PREFIX: &str = "frame-";

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file is not an image this build can decode.
    #[error("cannot read {} as an image ({reason}); pass PNG, JPEG or GIF files", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the image decoder said.
        reason: String,
    },
    /// A video was given but `ffmpeg` is not installed.
    #[error(
        "cannot read the video {}: ffmpeg is not on PATH; install ffmpeg to read videos, or pass the frames as images",
        path.display()
    )]
    FfmpegMissing {
        /// The video.
        path: PathBuf,
    },
    /// `ffmpeg` ran but could not extract the frames.
    #[error("ffmpeg could not read the video {}: {message}; check that the file is a complete video", path.display())]
    FfmpegFailed {
        /// The video.
        path: PathBuf,
        /// The last line ffmpeg wrote to its standard error (or its exit status).
        message: String,
    },
    /// A file or folder could not be read or written.
    #[error("cannot access {}: {source}; check that it exists and is readable", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

impl Error {
    fn io(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
        move |source| Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The raw bytes of every QR code found in `image` (several codes per image are supported),
/// byte-exact for binary payloads. Never panics on any image.
pub fn read_codes(image: &DynamicImage) -> Vec<Vec<u8>> {
    let luma = luma_over_white(image);
    let (width, height) = luma.dimensions();
    mule_qr::read::codes_in_luma(luma.into_raw(), width, height)
}

/// Opens an image file, naming the file in the error.
pub fn open_image(path: &Path) -> Result<DynamicImage, Error> {
    let reader = image::ImageReader::open(path).map_err(Error::io(path))?;
    let reader = reader.with_guessed_format().map_err(Error::io(path))?;
    reader.decode().map_err(|e| Error::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Calls `each` with every picture in an image file: each frame of an animated GIF or PNG
/// (APNG), as the file shows it, else the one image. Returns how many there were; an error
/// names the file (pictures before it were passed on).
pub fn each_picture(path: &Path, mut each: impl FnMut(DynamicImage)) -> Result<usize, Error> {
    let unreadable = |e: image::ImageError| Error::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let reader = image::ImageReader::open(path).map_err(Error::io(path))?;
    let reader = reader.with_guessed_format().map_err(Error::io(path))?;
    let frames = match reader.format() {
        Some(ImageFormat::Gif) => GifDecoder::new(reader.into_inner())
            .map_err(unreadable)?
            .into_frames(),
        Some(ImageFormat::Png) => {
            let decoder = PngDecoder::new(reader.into_inner()).map_err(unreadable)?;
            if !decoder.is_apng().map_err(unreadable)? {
                each(DynamicImage::from_decoder(decoder).map_err(unreadable)?);
                return Ok(1);
            }
            decoder.apng().map_err(unreadable)?.into_frames()
        }
        _ => {
            each(reader.decode().map_err(unreadable)?);
            return Ok(1);
        }
    };
    let mut count = 0;
    for frame in frames {
        each(DynamicImage::ImageRgba8(
            frame.map_err(unreadable)?.into_buffer(),
        ));
        count += 1;
    }
    Ok(count)
}

/// The image in grey levels; transparent pixels count as white, as on a screen.
fn luma_over_white(image: &DynamicImage) -> GrayImage {
    if !image.color().has_alpha() {
        return image.to_luma8();
    }
    let rgba = image.to_luma_alpha8();
    GrayImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [level, alpha] = rgba.get_pixel(x, y).0;
        let (level, alpha) = (u32::from(level), u32::from(alpha));
        let blended = (level * alpha + 255 * (255 - alpha) + 127) / 255;
        Luma([u8::try_from(blended).unwrap_or(u8::MAX)])
    })
}

/// Whether a path looks like a video by extension (mp4, mov, m4v, webm, mkv, avi, 3gp,
/// case-insensitive).
pub fn is_video(path: &Path) -> bool {
    has_extension(path, VIDEO_EXTENSIONS)
}

/// Whether a path looks like an image this build reads (png, jpg, jpeg, gif, case-insensitive).
pub fn is_image(path: &Path) -> bool {
    has_extension(path, IMAGE_EXTENSIONS)
}

fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(OsStr::to_str)
        .is_some_and(|ext| extensions.iter().any(|e| ext.eq_ignore_ascii_case(e)))
}

/// Extracts the frames of a video into `dir` as PNG files (ffmpeg, every frame, `-vsync 0`),
/// returns their paths in order. [`Error::FfmpegMissing`] when ffmpeg is not on `PATH`.
///
/// `dir` is created if needed and should be empty: frame files already there are overwritten
/// or returned with the new ones.
pub fn video_frames(path: &Path, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    frames_with("ffmpeg", path, dir)
}

/// [`video_frames`] with the ffmpeg program named (tests name a missing one).
fn frames_with(program: &str, path: &Path, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let pattern = dir.join(format!("{FRAME_PREFIX}%08d.png"));
    let output = Command::new(program)
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-i"])
        .arg(path)
        .args(["-vsync", "0", "-pix_fmt", "gray", "-y"])
        .arg(&pattern)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::FfmpegMissing {
                path: path.to_path_buf(),
            },
            _ => Error::io(path)(e),
        })?;
    if !output.status.success() {
        return Err(Error::FfmpegFailed {
            path: path.to_path_buf(),
            message: last_line(&output.stderr).unwrap_or_else(|| output.status.to_string()),
        });
    }
    frames_in(dir)
}

/// The last non-empty line of a program's output.
fn last_line(bytes: &[u8]) -> Option<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .map(str::to_owned)
}

/// The frame files [`video_frames`] wrote into `dir`, in order.
fn frames_in(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut frames = Vec::new();
    for entry in fs::read_dir(dir).map_err(Error::io(dir))? {
        let path = entry.map_err(Error::io(dir))?.path();
        let name = path.file_name().and_then(OsStr::to_str).unwrap_or("");
        if name.starts_with(FRAME_PREFIX) && name.ends_with(".png") {
            frames.push(path);
        }
    }
    frames.sort();
    Ok(frames)
}

/// Image files under `path` (a file or a folder, walked recursively, sorted by path; hidden
/// files and folders skipped), and videos found there. A file named directly is returned as
/// is, whatever its extension.
pub fn inputs(path: &Path) -> Result<Vec<PathBuf>, Error> {
    let metadata = fs::metadata(path).map_err(Error::io(path))?;
    if !metadata.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    walk(path, &mut found)?;
    found.sort();
    Ok(found)
}

/// Adds the images and videos under `dir` to `found`, skipping hidden entries.
fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), Error> {
    for entry in fs::read_dir(dir).map_err(Error::io(dir))? {
        let entry = entry.map_err(Error::io(dir))?;
        let path = entry.path();
        if is_hidden(&path) {
            continue;
        }
        let kind = entry.file_type().map_err(Error::io(&path))?;
        if kind.is_dir() {
            walk(&path, found)?;
        } else if (is_image(&path) || is_video(&path)) && is_file(&path) {
            found.push(path);
        }
    }
    Ok(())
}

/// Whether `path` is a file, following symbolic links (links to folders are not walked, so
/// a link loop cannot recurse; broken links are skipped).
fn is_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file())
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(OsStr::to_str)
        .is_some_and(|name| name.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qr::render::{self, Ecc};
    use image::codecs::jpeg::JpegEncoder;
    use image::imageops::{self, FilterType};
    use imageproc::filter::gaussian_blur_f32;
    use imageproc::geometric_transformations::{
        Interpolation, Projection, rotate_about_center, warp,
    };
    use imageproc::noise::gaussian_noise;
    use std::process::Output;

    const WHITE: Luma<u8> = Luma([255]);
    /// The versions every degradation is tried on, with their L capacities.
    const VERSIONS: [(u8, usize); 2] = [(25, 1273), (15, 520)];
    const HINT: &str = "run `scripts/test`, which installs zbar-tools, qrencode and ffmpeg";

    /// splitmix64: deterministic bytes without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Random bytes that include NULs, 0xFF and other high bytes.
        fn payload(&mut self, len: usize) -> Vec<u8> {
            let mut bytes: Vec<u8> = (0..len).map(|_| self.next().to_le_bytes()[0]).collect();
            for (i, fixed) in [0x00, 0xFF, 0x00, 0x80, 0xFE, 0x0A, 0x00]
                .into_iter()
                .enumerate()
            {
                bytes[i * len / 7] = fixed;
            }
            bytes
        }
    }

    fn code(payload: &[u8], version: u8) -> GrayImage {
        let symbol = render::symbol(payload, version, Ecc::L).expect("payload fits");
        render::to_image(&symbol, 4)
    }

    /// A full random payload for `version` (seeded by it) and its frame at 4 px/module.
    fn frame(version: u8, capacity: usize, seed: u64) -> (Vec<u8>, GrayImage) {
        let payload = Rng(seed ^ u64::from(version)).payload(capacity);
        let image = code(&payload, version);
        (payload, image)
    }

    fn read(image: GrayImage) -> Vec<Vec<u8>> {
        read_codes(&DynamicImage::ImageLuma8(image))
    }

    /// Applies `degrade` to a full v25-L and a full v15-L frame; each must read back exactly.
    fn survives(name: &str, degrade: impl Fn(GrayImage) -> GrayImage) {
        for (version, capacity) in VERSIONS {
            let (payload, image) = frame(version, capacity, 7);
            let codes = read(degrade(image));
            assert_eq!(codes.len(), 1, "{name}, v{version}: {} codes", codes.len());
            assert!(codes[0] == payload, "{name}, v{version}: payload differs");
        }
    }

    /// A white border of `fraction` of the size on each side, so transforms keep the code.
    fn pad(image: &GrayImage, fraction: f32) -> GrayImage {
        let border = (image.width() as f32 * fraction) as u32;
        let side = image.width() + 2 * border;
        let mut out = GrayImage::from_pixel(side, image.height() + 2 * border, WHITE);
        imageops::replace(&mut out, image, i64::from(border), i64::from(border));
        out
    }

    fn jpeg(image: &GrayImage, quality: u8) -> GrayImage {
        let mut bytes = Vec::new();
        JpegEncoder::new_with_quality(&mut bytes, quality)
            .encode_image(image)
            .expect("jpeg encodes");
        image::load_from_memory(&bytes)
            .expect("jpeg decodes")
            .to_luma8()
    }

    /// Moves the corners inwards by 2-10% of the size, differently each.
    fn perspective(image: &GrayImage) -> GrayImage {
        let (w, h) = (image.width() as f32, image.height() as f32);
        let from = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)];
        let to = [
            (0.02 * w, 0.05 * h),
            (0.90 * w, 0.03 * h),
            (0.96 * w, 0.92 * h),
            (0.07 * w, 0.98 * h),
        ];
        let projection = Projection::from_control_points(from, to).expect("a projection");
        warp(image, &projection, Interpolation::Bilinear, WHITE)
    }

    fn gradient(width: u32, height: u32) -> GrayImage {
        GrayImage::from_fn(width, height, |x, y| {
            Luma([(70 + x * 110 / width + y * 40 / height) as u8])
        })
    }

    /// A phone photo of a screen: the code at about 600 px in a 1920x1080 grey gradient,
    /// mild blur, noise and JPEG 70.
    fn photo(image: GrayImage) -> GrayImage {
        let code = imageops::resize(&image, 600, 600, FilterType::Triangle);
        let mut frame = gradient(1920, 1080);
        imageops::replace(&mut frame, &code, 700, 220);
        let frame = gaussian_blur_f32(&frame, 0.8);
        jpeg(&gaussian_noise(&frame, 0.0, 6.0, 11), 70)
    }

    /// Two codes side by side in a 1920x1080 frame, with mild blur, noise and JPEG 70.
    fn side_by_side(left: &GrayImage, right: &GrayImage) -> GrayImage {
        let mut frame = gradient(1920, 1080);
        let y = |image: &GrayImage| i64::from((1080 - image.height()) / 2);
        imageops::replace(&mut frame, left, 200, y(left));
        imageops::replace(&mut frame, right, 1100, y(right));
        let frame = gaussian_blur_f32(&frame, 0.8);
        jpeg(&gaussian_noise(&frame, 0.0, 6.0, 13), 70)
    }

    #[test]
    fn clean_frames_read_back_exactly() {
        survives("clean", |image| image);
    }

    #[test]
    fn reads_at_half_scale() {
        survives("down50", |image| {
            let (w, h) = (image.width() / 2, image.height() / 2);
            imageops::resize(&image, w, h, FilterType::Triangle)
        });
    }

    #[test]
    fn reads_after_a_one_pixel_blur() {
        survives("blur1", |image| gaussian_blur_f32(&image, 1.0));
    }

    #[test]
    fn reads_after_a_three_degree_rotation() {
        survives("rot3", |image| {
            let padded = pad(&image, 0.1);
            rotate_about_center(&padded, 3f32.to_radians(), Interpolation::Bilinear, WHITE)
        });
    }

    #[test]
    fn reads_in_perspective() {
        survives("persp", |image| perspective(&pad(&image, 0.1)));
    }

    #[test]
    fn reads_after_jpeg_40() {
        survives("jpeg40", |image| jpeg(&image, 40));
    }

    #[test]
    fn reads_through_gaussian_noise() {
        survives("noise", |image| gaussian_noise(&image, 0.0, 30.0, 5));
    }

    #[test]
    fn reads_a_code_in_a_1080p_photo() {
        survives("cam1080", photo);
    }

    #[test]
    fn reads_two_codes_in_one_frame() {
        for (version, capacity) in VERSIONS {
            let (first, left) = frame(version, capacity, 1);
            let (second, right) = frame(version, capacity, 2);
            assert_ne!(first, second);
            let mut codes = read(side_by_side(&left, &right));
            codes.sort();
            let mut expected = vec![first, second];
            expected.sort();
            assert!(codes == expected, "v{version}: {} codes", codes.len());
        }
    }

    #[test]
    fn reads_two_codes_of_different_versions() {
        let (first, left) = frame(25, 1273, 3);
        let (second, right) = frame(15, 520, 4);
        let mut codes = read(side_by_side(&left, &right));
        codes.sort();
        let mut expected = vec![first, second];
        expected.sort();
        assert!(codes == expected, "{} codes", codes.len());
    }

    #[test]
    fn an_image_without_a_code_reads_nothing() {
        assert!(read(gradient(640, 480)).is_empty());
        assert!(read(GrayImage::from_pixel(300, 200, WHITE)).is_empty());
    }

    #[test]
    fn odd_images_read_nothing_without_panicking() {
        let mut rng = Rng(99);
        let noise = GrayImage::from_fn(800, 600, |_, _| Luma([rng.next().to_le_bytes()[0]]));
        assert!(read(noise).is_empty());
        for (w, h) in [(0, 0), (1, 1), (0, 5), (3, 1), (1, 4000)] {
            assert!(read(GrayImage::new(w, h)).is_empty(), "{w}x{h}");
        }
        let empty = DynamicImage::new_rgba8(0, 0);
        assert!(read_codes(&empty).is_empty());
    }

    #[test]
    fn transparent_pixels_count_as_white() {
        let (payload, image) = frame(15, 520, 8);
        // Black modules opaque, light ones fully transparent (and black underneath).
        let rgba = image::RgbaImage::from_fn(image.width(), image.height(), |x, y| {
            let alpha = 255 - image.get_pixel(x, y).0[0];
            image::Rgba([0, 0, 0, alpha])
        });
        assert_eq!(read_codes(&DynamicImage::ImageRgba8(rgba)), vec![payload]);
    }

    #[test]
    fn videos_are_known_by_extension() {
        for name in [
            "a.mp4", "b.MOV", "c.m4v", "d.webm", "e.MkV", "f.avi", "g.3gp", "x/y.Mp4",
        ] {
            assert!(is_video(Path::new(name)), "{name}");
        }
        for name in ["a.png", "mp4", "a.mp4.png", "a.txt", "a", ".mp4", "a.mp"] {
            assert!(!is_video(Path::new(name)), "{name}");
        }
    }

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        fs::write(path, b"x").expect("write");
    }

    #[test]
    fn inputs_walks_folders_in_order_and_skips_hidden_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for name in [
            "b.png",
            "a.JPG",
            "c.gif",
            "clip.mp4",
            "notes.txt",
            ".hidden.png",
            "sub/z.jpeg",
            "sub/deeper/y.png",
            ".git/x.png",
            "sub/.secret/w.png",
        ] {
            touch(&root.join(name));
        }
        let found: Vec<String> = inputs(root)
            .expect("inputs")
            .iter()
            .map(|p| {
                p.strip_prefix(root)
                    .expect("under root")
                    .display()
                    .to_string()
            })
            .collect();
        let expected = [
            "a.JPG",
            "b.png",
            "c.gif",
            "clip.mp4",
            "sub/deeper/y.png",
            "sub/z.jpeg",
        ];
        assert_eq!(found, expected);
        // A file named directly comes back as is.
        let file = root.join("notes.txt");
        assert_eq!(inputs(&file).expect("a file"), vec![file]);
        let missing = inputs(&root.join("nope"));
        assert!(matches!(missing, Err(Error::Io { .. })), "{missing:?}");
    }

    #[test]
    fn unreadable_images_name_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("broken.png");
        fs::write(&path, b"not a png").expect("write");
        let error = open_image(&path).expect_err("not an image");
        assert!(matches!(error, Error::Unreadable { .. }), "{error:?}");
        assert!(error.to_string().contains("broken.png"), "{error}");
    }

    #[test]
    fn a_missing_ffmpeg_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let video = dir.path().join("clip.mp4");
        let program = "mule-test-no-such-ffmpeg";
        let error = frames_with(program, &video, dir.path()).expect_err("no program");
        assert!(matches!(error, Error::FfmpegMissing { .. }), "{error:?}");
        assert!(error.to_string().contains("install ffmpeg"), "{error}");
    }

    /// Runs a third-party tool; fails (never skips) when it is not installed.
    /// Whether `program` can be run; when not, prints why the running test is skipped (to the
    /// real stderr: the harness captures `eprintln!`), and fails instead under `CI=true`.
    fn installed(program: &str) -> bool {
        use std::io::Write;
        // Spawning is the test: a program that runs at all is installed.
        let found = Command::new(program).arg("--version").output().is_ok();
        if !found {
            let current = std::thread::current();
            let test = current.name().unwrap_or("a test");
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(!ci, "{test}: {program} is not installed: {HINT}");
            let _ = writeln!(
                io::stderr(),
                "skipped {test}: {program} is not installed: {HINT}"
            );
        }
        found
    }

    fn run(program: &str, args: &[&OsStr]) -> Output {
        let output = Command::new(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{program} failed: {stderr}");
        output
    }

    #[test]
    fn zbarimg_reads_our_frames_exactly() {
        if !installed("zbarimg") {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let (payload, image) = frame(25, 1273, 21);
        let path = dir.path().join("frame.png");
        image.save(&path).expect("save");
        let args = ["--raw", "-q", "-Sbinary", "-Sdisable", "-Sqrcode.enable"];
        let mut args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        args.push(path.as_os_str());
        let mut read = run("zbarimg", &args).stdout;
        if read.len() == payload.len() + 1 && read.last() == Some(&b'\n') {
            read.pop();
        }
        assert!(read == payload, "zbarimg read {} bytes", read.len());
    }

    #[test]
    fn we_read_qrencode_codes_exactly() {
        if !installed("qrencode") {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let payload = Rng(31).payload(1000);
        assert!(payload.contains(&0));
        let (input, output) = (dir.path().join("payload.bin"), dir.path().join("code.png"));
        fs::write(&input, &payload).expect("write");
        let args = ["-8", "-l", "L", "-s", "4", "-m", "4", "-r"];
        let mut args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        args.extend([input.as_os_str(), OsStr::new("-o"), output.as_os_str()]);
        run("qrencode", &args);
        let image = open_image(&output).expect("qrencode's png");
        assert_eq!(read_codes(&image), vec![payload]);
    }

    #[test]
    fn video_frames_read_back_exactly() {
        if !installed("ffmpeg") {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let mut payloads = Vec::new();
        for i in 0..3u8 {
            let (payload, image) = frame(25, 1273, 40 + u64::from(i));
            image
                .save(dir.path().join(format!("f{i:03}.png")))
                .expect("save");
            payloads.push(payload);
        }
        let video = dir.path().join("out.mp4");
        let args = [
            "-nostdin",
            "-loglevel",
            "error",
            "-framerate",
            "2",
            "-i",
            "f%03d.png",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-crf",
            "18",
            "out.mp4",
        ];
        let mut command = Command::new("ffmpeg");
        command.current_dir(dir.path()).args(args);
        let made = command
            .output()
            .unwrap_or_else(|e| panic!("cannot run ffmpeg: {e}"));
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let frames = video_frames(&video, &dir.path().join("frames")).expect("frames");
        assert_eq!(frames.len(), 3, "{frames:?}");
        let mut seen = Vec::new();
        for path in &frames {
            seen.extend(read_codes(&open_image(path).expect("a frame")));
        }
        assert!(seen == payloads, "{} codes read", seen.len());
    }

    #[test]
    fn ffmpeg_failures_are_reported() {
        if !installed("ffmpeg") {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let video = dir.path().join("clip.mp4");
        fs::write(&video, b"not a video").expect("write");
        match video_frames(&video, &dir.path().join("frames")) {
            Err(Error::FfmpegFailed { message, .. }) => assert!(!message.is_empty()),
            Err(Error::FfmpegMissing { .. }) => panic!("ffmpeg missing: {HINT}"),
            other => panic!("{other:?}"),
        }
    }
}
