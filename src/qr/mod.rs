//! QR transport: a bundle played as an animated, fountain-coded stream of QR codes, and read
//! back from any capture (screenshots, photos, a video).
//!
//! - [`render`]: QR symbols at a fixed version, as images and terminal text.
//! - [`scan`]: finding and reading every QR code in an image or a video.

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
}
