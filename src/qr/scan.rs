//! TEMPORARY interface stub; replaced by the helper's module at merge.
#![allow(missing_docs, unused_variables)]
use std::path::{Path, PathBuf};
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("stub")]
    Stub,
    #[error("io")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}
pub fn read_codes(image: &image::DynamicImage) -> Vec<Vec<u8>> {
    Vec::new()
}
pub fn is_video(path: &Path) -> bool {
    false
}
pub fn video_frames(path: &Path, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    Err(Error::Stub)
}
pub fn inputs(path: &Path) -> Result<Vec<PathBuf>, Error> {
    Ok(vec![path.to_path_buf()])
}
