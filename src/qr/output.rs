//! Frames for people to show: numbered PNG files, a self-contained HTML player, an animated GIF.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use image::{GrayImage, ImageFormat, Luma};

use super::fountain::Sender;
use super::{Error, Profile, render};

/// Pixels of white between codes that share a screen frame.
const GUTTER: u32 = 8;

/// The `screen`th screen frame: `codes_per_frame` codes side by side, `scale` pixels per module.
pub fn screen_frame(
    sender: &Sender,
    profile: &Profile,
    screen: usize,
    scale: u32,
) -> Result<GrayImage, Error> {
    let per = usize::from(profile.codes_per_frame.max(1));
    let codes: Vec<GrayImage> = (0..per)
        .map(|i| {
            let payload = sender.frame(screen * per + i);
            render::symbol(&payload, profile.version, profile.ecc)
                .map(|code| render::to_image(&code, scale))
        })
        .collect::<Result<_, _>>()?;
    Ok(side_by_side(&codes))
}

fn side_by_side(codes: &[GrayImage]) -> GrayImage {
    let height = codes.iter().map(GrayImage::height).max().unwrap_or(0);
    let width = codes.iter().map(GrayImage::width).sum::<u32>()
        + GUTTER * (codes.len().saturating_sub(1) as u32);
    let mut out = GrayImage::from_pixel(width, height, Luma([255]));
    let mut x = 0;
    for code in codes {
        image::imageops::replace(&mut out, code, i64::from(x), 0);
        x += code.width() + GUTTER;
    }
    out
}

/// How many screen frames an output holds to carry `codes` codes.
pub fn screens_for(profile: &Profile, codes: usize) -> usize {
    codes.div_ceil(usize::from(profile.codes_per_frame.max(1)))
}

/// Writes `screens` frames as `frame-00001.png`, ... into `dir` (created if needed).
pub fn write_pngs(
    sender: &Sender,
    profile: &Profile,
    screens: usize,
    dir: &Path,
    mut progress: impl FnMut(),
) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::with_capacity(screens);
    for screen in 0..screens {
        let path = dir.join(format!("frame-{:05}.png", screen + 1));
        let image = screen_frame(sender, profile, screen, profile.scale())?;
        image
            .save_with_format(&path, ImageFormat::Png)
            .map_err(|e| Error::Image {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        written.push(path);
        progress();
    }
    Ok(written)
}

/// The most bytes of bundle a screen player (`mule ui`'s QR page) plays at once: 2 MiB takes
/// about 2.3 minutes of frames at the default profile (1,650 codes of 1,273 bytes at 12 fps),
/// and the loop of [`player_codes`] twice that. Larger exports play in parts of about
/// [`PLAYED_PART`]; a part that alone is larger (one big attachment) is not played.
pub const MAX_PLAYED: u64 = 2 << 20;

/// The size a larger export is cut into for a screen player: half of [`MAX_PLAYED`], so that a
/// part holding one whole log segment (up to about 1 MiB, never split) still plays.
pub const PLAYED_PART: u64 = MAX_PLAYED / 2;

/// The player's script, shared by the HTML page (inline) and `mule ui` (served as a file).
pub const PLAYER_JS: &str = include_str!("player.js");

pub use mule_qr::fountain::player_codes;

/// The `screen`th screen frame as a PNG at one pixel per module: a player scales it up
/// without smoothing.
pub fn player_frame_png(
    sender: &Sender,
    profile: &Profile,
    screen: usize,
) -> Result<Vec<u8>, Error> {
    let image = screen_frame(sender, profile, screen, 1)?;
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::Png)
        .expect("encoding a PNG in memory does not fail");
    Ok(out.into_inner())
}

/// A self-contained HTML page that plays `screens` frames full-screen at the profile's fps,
/// looping. Its Content-Security-Policy forbids every network access; it has no external
/// scripts, styles or fonts.
pub fn html_page(
    sender: &Sender,
    profile: &Profile,
    screens: usize,
    title: &str,
    mut progress: impl FnMut(),
) -> Result<String, Error> {
    let mut frames = Vec::with_capacity(screens);
    for screen in 0..screens {
        let png = player_frame_png(sender, profile, screen)?;
        let data = base64::engine::general_purpose::STANDARD.encode(png);
        frames.push(format!("\"data:image/png;base64,{data}\""));
        progress();
    }
    Ok(PLAYER
        .replace("{PLAYER_JS}", PLAYER_JS)
        .replace("{TITLE}", &html_escape(title))
        .replace("{FPS}", &format!("{}", profile.fps))
        .replace("{FRAMES}", &frames.join(",\n")))
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const PLAYER: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{TITLE}</title>
<style>
html, body { margin: 0; height: 100%; background: #fff; color: #222; font: 14px sans-serif; }
#frame { display: block; margin: 0 auto; height: calc(100vh - 2.5em); max-width: 100vw; object-fit: contain; image-rendering: pixelated; }
#bar { height: 2.5em; display: flex; gap: 1em; align-items: center; justify-content: center; }
</style>
</head>
<body>
<img id="frame" alt="QR frame">
<div id="bar">
<button id="pause">pause</button>
<button id="full">full screen</button>
<label>fps <input id="fps" type="range"></label>
<span id="info"></span>
<span>space: pause · ← →: step · + −: speed · f: full screen</span>
</div>
<script>
{PLAYER_JS}
const $ = (id) => document.getElementById(id);
let fps = {FPS}, frames = [
{FRAMES}
];
playQrFrames({ img: $("frame"), pause: $("pause"), speed: $("fps"), info: $("info"),
  fullscreen: $("full"), screen: document.documentElement }, frames, fps, { pause: "pause",
  play: "play", info: (number, count, fps) => `frame ${number} of ${count} · ${fps} fps` });
</script>
</body>
</html>
"#;

/// Writes `screens` frames as an animated GIF at the profile's fps, looping, `scale` pixels
/// per module.
pub fn write_gif(
    sender: &Sender,
    profile: &Profile,
    screens: usize,
    out: impl Write,
    mut progress: impl FnMut(),
) -> Result<(), Error> {
    let gif_error = |e: image::ImageError| Error::Image {
        path: PathBuf::from("GIF"),
        reason: e.to_string(),
    };
    let mut encoder = image::codecs::gif::GifEncoder::new(out);
    encoder
        .set_repeat(image::codecs::gif::Repeat::Infinite)
        .map_err(gif_error)?;
    let delay = image::Delay::from_numer_denom_ms(1000, profile.fps.max(0.5).round() as u32);
    for screen in 0..screens {
        let gray = screen_frame(sender, profile, screen, 2)?;
        let rgba = image::DynamicImage::ImageLuma8(gray).into_rgba8();
        encoder
            .encode_frame(image::Frame::from_parts(rgba, 0, 0, delay))
            .map_err(gif_error)?;
        progress();
    }
    Ok(())
}
