//! QR transport: a bundle played as an animated, fountain-coded stream of QR codes, and read
//! back from any capture (screenshots, photos, a video).
//!
//! - [`frame`]: the bytes of one frame (header, RaptorQ symbol, CRC32C).
//! - [`fountain`]: a bundle as an endless stream of frames, and its reassembly.
//! - [`render`]: QR symbols at a fixed version, as images and terminal text.
//! - [`output`]: numbered PNG frames, a self-contained HTML player, an animated GIF.
//! - [`scan`]: finding and reading every QR code in an image or a video.
//! - [`live`]: a camera or video stream decoded as it comes, with bounded memory.

pub mod fountain;
pub mod frame;
pub mod live;
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

    /// Character cells (columns, rows) a terminal needs to show this profile's codes as text
    /// (see [`render::text_size`]).
    pub fn text_size(&self) -> (u32, u32) {
        render::text_size(self.version)
    }

    /// Whether this profile's codes fit a terminal of `columns` x `rows` characters.
    pub fn fits(&self, columns: u32, rows: u32) -> bool {
        let (need_columns, need_rows) = self.text_size();
        need_columns <= columns && need_rows <= rows
    }

    /// The profile with the largest codes that fit a terminal of `columns` x `rows`.
    pub fn largest_fitting(columns: u32, rows: u32) -> Option<Profile> {
        PROFILES
            .iter()
            .copied()
            .filter(|p| p.fits(columns, rows))
            .max_by_key(|p| (p.version, p.id))
    }

    /// Pixels per module in images: enough for a screen or a camera to resolve.
    pub fn scale(&self) -> u32 {
        if self.version >= 32 { 4 } else { 5 }
    }
}

/// What reading a set of captures found.
#[derive(Debug, Default, serde::Serialize)]
pub struct Scan {
    /// Images read (video frames and the frames of animated images included).
    pub images: usize,
    /// Codes that were mule frames and new to their session.
    pub frames: usize,
    /// Frames seen again.
    pub duplicates: usize,
    /// Frames of a bundle already rebuilt.
    pub unneeded: usize,
    /// Codes that were not mule frames, failed their checksum, were of a newer format, or
    /// contradicted their session.
    pub skipped: usize,
    /// Of those skipped: codes that are not mule frames (another QR code in the picture).
    pub foreign: usize,
    /// Of those skipped: mule frames whose checksum or header is wrong (misread or altered).
    pub damaged: usize,
    /// Of those skipped: mule frames of a format newer than this mule reads.
    pub newer_format: usize,
    /// The newest frame format seen, when newer than this mule reads.
    pub newest_format: Option<u8>,
    /// Images that could not be read, with the reason.
    pub unreadable: Vec<String>,
}

impl Scan {
    /// The upgrade message frames of a newer format call for, if any were seen: say it once.
    pub fn upgrade_hint(&self) -> Option<String> {
        let version = self.newest_format?;
        Some(format!(
            "{} codes are {}",
            self.newer_format,
            frame::Error::NewerFormat(version)
        ))
    }

    fn count(&mut self, code: &[u8], receiver: &mut fountain::Receiver) {
        let frame = match frame::Frame::parse(code) {
            Ok(frame) => frame,
            Err(error) => {
                self.skipped += 1;
                match error {
                    frame::Error::Foreign => self.foreign += 1,
                    frame::Error::NewerFormat(version) => {
                        self.newer_format += 1;
                        self.newest_format = self.newest_format.max(Some(version));
                    }
                    frame::Error::Checksum | frame::Error::Header(_) => self.damaged += 1,
                }
                return;
            }
        };
        match receiver.accept(frame) {
            Ok(fountain::Accepted::New | fountain::Accepted::Conflicting) => self.frames += 1,
            Ok(fountain::Accepted::Duplicate) => self.duplicates += 1,
            Ok(fountain::Accepted::Done) => self.unneeded += 1,
            Err(_) => self.skipped += 1,
        }
    }
}

/// Reads every QR code in `inputs` (images, folders of them, animated GIF and PNG files,
/// videos) into `receiver`, calling `progress` after each image with the receiver's state.
/// Every input is read, whatever the sessions completed before: captures may hold several
/// streams. The receiver then has its last round of rebuilding ([`fountain::Receiver::finish`]).
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
                scan_file(&frame, receiver, &mut report, &mut progress);
            }
        } else {
            scan_file(&file, receiver, &mut report, &mut progress);
        }
    }
    receiver.finish();
    Ok(report)
}

fn scan_file(
    path: &Path,
    receiver: &mut fountain::Receiver,
    report: &mut Scan,
    progress: &mut impl FnMut(&fountain::Receiver),
) {
    let read = scan::each_picture(path, |image| {
        report.images += 1;
        for code in scan::read_codes(&image) {
            report.count(&code, receiver);
        }
        progress(receiver);
    });
    if let Err(e) = read {
        report.unreadable.push(e.to_string());
    }
}
