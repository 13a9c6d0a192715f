//! QR transport: a bundle played as an animated, fountain-coded stream of QR codes, and read
//! back from any capture (screenshots, photos, a video).
//!
//! - [`frame`], [`fountain`], [`Profile`], [`Scan`]: from the `mule-qr` crate, the core shared
//!   with the phone page's WebAssembly build (frames, fountain code, symbols, counting).
//! - [`render`]: QR symbols at a fixed version, as images and terminal text.
//! - [`output`]: numbered PNG frames, a self-contained HTML player, an animated GIF.
//! - [`scan`]: finding and reading every QR code in an image or a video.
//! - [`receiver`]: the phone page, with the core above compiled to WebAssembly.
//! - [`live`]: a camera or video stream decoded as it comes, with bounded memory.

pub mod live;
pub mod output;
pub mod receiver;
pub mod render;
pub mod scan;

/// Why QR frames could not be made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame does not fit the symbol version.
    #[error(transparent)]
    FrameTooLarge(#[from] render::TooLarge),
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
    /// This binary was built without the phone page's WebAssembly.
    #[error(
        "this mule was built without the phone page (the wasm32-unknown-unknown target or wasm-bindgen 0.2.130 was missing when it was built): run scripts/setup-wasm, then build mule again"
    )]
    NoPhonePage,
    /// The bundle cannot be cut into frames.
    #[error(transparent)]
    Fountain(#[from] fountain::Error),
}

use std::path::{Path, PathBuf};

pub use mule_qr::{PROFILES, Profile, Scan, fountain, frame};

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
