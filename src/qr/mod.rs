//! QR transport: a bundle played as an animated, fountain-coded stream of QR codes, and read
//! back from any capture (screenshots, photos, a video).
//!
//! - [`frame`]: the bytes of one frame (header, RaptorQ symbol, CRC32C).
//! - [`fountain`]: a bundle as an endless stream of frames, and its reassembly.
//! - [`render`]: QR symbols at a fixed version, as images and terminal text.
//! - [`output`]: numbered PNG frames, a self-contained HTML player, an animated GIF.
//! - [`scan`]: finding and reading every QR code in an image or a video.

pub mod fountain;
pub mod frame;
pub mod output;
pub mod render;
pub mod scan;

/// Why QR frames could not be made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame does not fit the symbol version.
    #[error("a {bytes}-byte frame does not fit a version {version} QR code")]
    FrameTooLarge {
        /// The frame's size.
        bytes: usize,
        /// The QR version.
        version: u8,
    },
    /// An output file could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// An image could not be encoded.
    #[error("{}: {reason}", path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The bundle cannot be cut into frames.
    #[error(transparent)]
    Fountain(#[from] fountain::Error),
}

use std::path::{Path, PathBuf};

use render::Ecc;

/// How frames are made and shown: chosen by measurement (see bundle-format.md, "QR frames").
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Profile {
    /// Name on the command line.
    pub name: &'static str,
    /// Id carried in every frame (0 for custom settings).
    pub id: u8,
    /// QR version (1-40).
    pub version: u8,
    /// Error correction.
    pub ecc: Ecc,
    /// Screen frames per second.
    pub fps: f32,
    /// QR codes side by side in one screen frame.
    pub codes_per_frame: u8,
}

/// The profiles, by name.
pub const PROFILES: &[Profile] = &[
    Profile {
        name: "small",
        id: 1,
        version: 15,
        ecc: Ecc::L,
        fps: 8.0,
        codes_per_frame: 1,
    },
    Profile {
        name: "default",
        id: 2,
        version: 25,
        ecc: Ecc::L,
        fps: 12.0,
        codes_per_frame: 1,
    },
    Profile {
        name: "large",
        id: 3,
        version: 32,
        ecc: Ecc::L,
        fps: 15.0,
        codes_per_frame: 1,
    },
    Profile {
        name: "photo",
        id: 4,
        version: 40,
        ecc: Ecc::M,
        fps: 2.0,
        codes_per_frame: 1,
    },
    Profile {
        name: "duo",
        id: 5,
        version: 32,
        ecc: Ecc::L,
        fps: 15.0,
        codes_per_frame: 2,
    },
];

impl Profile {
    /// The profile named `name`.
    pub fn named(name: &str) -> Option<Profile> {
        PROFILES.iter().copied().find(|p| p.name == name)
    }

    /// This profile with some settings changed (then it is "custom", id 0).
    pub fn with(self, version: Option<u8>, ecc: Option<Ecc>, fps: Option<f32>) -> Profile {
        if version.is_none() && ecc.is_none() {
            return Profile {
                fps: fps.unwrap_or(self.fps),
                ..self
            };
        }
        Profile {
            name: "custom",
            id: 0,
            version: version.unwrap_or(self.version),
            ecc: ecc.unwrap_or(self.ecc),
            fps: fps.unwrap_or(self.fps),
            codes_per_frame: self.codes_per_frame,
        }
    }

    /// Bytes one QR code of this profile holds: the frame length.
    pub fn frame_len(&self) -> usize {
        render::capacity(self.version, self.ecc)
    }

    /// Pixels per module in images: enough for a screen or a camera to resolve.
    pub fn scale(&self) -> u32 {
        if self.version >= 32 { 4 } else { 5 }
    }
}

/// What reading a set of captures found.
#[derive(Debug, Default, serde::Serialize)]
pub struct Scan {
    /// Images read (video frames included).
    pub images: usize,
    /// Codes that were mule frames and new to their session.
    pub frames: usize,
    /// Frames seen again.
    pub duplicates: usize,
    /// Codes that were not mule frames, failed their checksum, or contradicted their session.
    pub skipped: usize,
    /// Images that could not be read, with the reason.
    pub unreadable: Vec<String>,
}

/// Reads every QR code in `inputs` (images, folders of them, videos) into `receiver`, calling
/// `progress` after each image with the receiver's state.
pub fn scan_inputs(
    inputs: &[PathBuf],
    receiver: &mut fountain::Receiver,
    mut progress: impl FnMut(&fountain::Receiver),
) -> Result<Scan, scan::Error> {
    let mut report = Scan::default();
    let mut files = Vec::new();
    for input in inputs {
        files.extend(scan::inputs(input)?);
    }
    for file in files {
        if scan::is_video(&file) {
            let frames_dir = tempfile::tempdir().map_err(|source| scan::Error::Io {
                path: file.clone(),
                source,
            })?;
            for frame in scan::video_frames(&file, frames_dir.path())? {
                scan_image(&frame, receiver, &mut report);
                progress(receiver);
            }
        } else {
            scan_image(&file, receiver, &mut report);
            progress(receiver);
        }
        if receiver.progress().iter().all(|p| p.done) && !receiver.bundles().is_empty() {
            break;
        }
    }
    Ok(report)
}

fn scan_image(path: &Path, receiver: &mut fountain::Receiver, report: &mut Scan) {
    let image = match image::open(path) {
        Ok(image) => image,
        Err(e) => {
            report.unreadable.push(format!("{}: {e}", path.display()));
            return;
        }
    };
    report.images += 1;
    for code in scan::read_codes(&image) {
        match frame::Frame::parse(&code).map(|f| receiver.accept(f)) {
            Ok(Ok(fountain::Accepted::New)) => report.frames += 1,
            Ok(Ok(_)) => report.duplicates += 1,
            Ok(Err(_)) | Err(_) => report.skipped += 1,
        }
    }
}
