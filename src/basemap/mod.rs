//! The map's basemap: one PMTiles v3 archive stored as a blob (so a new version of it carries
//! only the chunks that changed) and named by the kv key [`KEY`].
//!
//! The key's value is a [`Basemap`] (JSON). Two devices that set a basemap concurrently leave
//! two current values; every replica shows the one whose entry hash is greatest, so all agree.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::blob::{self, Ranged};
use crate::id::Hash;
use crate::store::Store;
use crate::views::{self, Views};

pub mod pmtiles;

use pmtiles::{Failure, HEADER_LEN, Header};

/// The kv key naming the map's basemap.
pub const KEY: &str = "mule/map/basemap";
/// The `--kind` of the blob entry that carries a basemap.
pub const BLOB_KIND: &str = "basemap";

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a PMTiles v3 archive.
    #[error(
        "{path} is not a PMTiles v3 archive ({why}); convert it with `pmtiles convert` (MBTiles is not read)"
    )]
    NotPmtiles {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A value under the basemap key is not a basemap record.
    #[error(
        "the value of kv key {KEY} is not a basemap record: {0}; set it again with `mule map basemap add`"
    )]
    Record(serde_json::Error),
    /// The stored archive is damaged or lies about its parts.
    #[error("basemap {name} ({blob}): {why}; add a good archive with `mule map basemap add`")]
    Damaged {
        /// The file name it was added as.
        name: String,
        /// Its blob.
        blob: String,
        /// What is wrong.
        why: pmtiles::Damaged,
    },
    /// The archive holds tiles the map does not draw.
    #[error(
        "basemap {name} holds {what}; mule's map draws raster tiles (png, jpeg, webp) without compression"
    )]
    NotRaster {
        /// The file name it was added as.
        name: String,
        /// What it holds.
        what: String,
    },
    /// Reading its blob failed.
    #[error(transparent)]
    Blob(#[from] blob::Error),
    /// The views failed.
    #[error(transparent)]
    Views(#[from] views::Error),
}

/// What the basemap key holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Basemap {
    /// The archive's blob (its BLAKE3).
    pub blob: Hash,
    /// The file's name when it was added.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Checks that `path` starts with a PMTiles v3 header, reading only the header.
pub fn check_pmtiles(path: &Path) -> Result<(), Error> {
    let mut header = Vec::with_capacity(HEADER_LEN);
    File::open(path)
        .and_then(|file| file.take(HEADER_LEN as u64).read_to_end(&mut header))
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    Header::parse(&header).map_err(|why| Error::NotPmtiles {
        path: path.to_path_buf(),
        why: why.0,
    })?;
    Ok(())
}

/// What the map page needs to know of a basemap.
#[derive(Debug, Clone, Serialize)]
pub struct Info {
    /// The record.
    #[serde(flatten)]
    pub basemap: Basemap,
    /// Lowest zoom held.
    pub min_zoom: u8,
    /// Highest zoom held.
    pub max_zoom: u8,
    /// West, south, east, north in degrees.
    pub bounds: [f64; 4],
    /// The archive's attribution (its metadata's `attribution`), when it has one.
    pub attribution: Option<String>,
    /// Whether its tiles are raster tiles the map draws (else [`Archive::tile`] refuses them).
    pub raster: bool,
}

/// A tile to serve, with its content type.
#[derive(Debug, Clone)]
pub struct Tile {
    /// `image/png`, `image/jpeg` or `image/webp`.
    pub content_type: &'static str,
    /// The tile's bytes.
    pub bytes: Vec<u8>,
}

/// A basemap's archive opened for reading.
pub struct Archive<'a> {
    store: &'a Store,
    basemap: Basemap,
    ranged: Ranged,
    header: Header,
}

impl<'a> Archive<'a> {
    /// The content type of its tiles; [`Error::NotRaster`] for tiles the map does not draw.
    fn content_type(&self) -> Result<&'static str, Error> {
        match (self.header.tile_type, self.header.tile_compression) {
            (2, 0 | 1) => Ok("image/png"),
            (3, 0 | 1) => Ok("image/jpeg"),
            (4, 0 | 1) => Ok("image/webp"),
            (kind, compression) => {
                let what = match kind {
                    1 => "vector tiles (mvt)".to_owned(),
                    5 => "avif tiles".to_owned(),
                    2..=4 => format!("tiles compressed with method {compression}"),
                    other => format!("tiles of unknown type {other}"),
                };
                Err(Error::NotRaster {
                    name: self.basemap.name.clone(),
                    what,
                })
            }
        }
    }

    /// Opens the basemap's blob (refused when its chunks have not all arrived) and reads its
    /// header.
    pub fn open(store: &'a Store, basemap: Basemap) -> Result<Self, Error> {
        let ranged = Ranged::open(store, &basemap.blob)?;
        let bytes = ranged.read(store, 0, HEADER_LEN as u64)?;
        let header = Header::parse(&bytes).map_err(|why| Error::Damaged {
            name: basemap.name.clone(),
            blob: basemap.blob.short(),
            why,
        })?;
        Ok(Self {
            store,
            basemap,
            ranged,
            header,
        })
    }

    fn failed(&self, failure: Failure<blob::Error>) -> Error {
        match failure {
            Failure::Read(error) => Error::Blob(error),
            Failure::Damaged(why) => Error::Damaged {
                name: self.basemap.name.clone(),
                blob: self.basemap.blob.short(),
                why,
            },
        }
    }

    /// The basemap, its zooms, bounds and attribution.
    pub fn info(&self) -> Result<Info, Error> {
        let (store, ranged) = (self.store, &self.ranged);
        let metadata = pmtiles::metadata(&self.header, &mut |at, len| ranged.read(store, at, len))
            .map_err(|failure| self.failed(failure))?;
        Ok(Info {
            basemap: self.basemap.clone(),
            min_zoom: self.header.min_zoom,
            max_zoom: self.header.max_zoom,
            bounds: self.header.bounds,
            attribution: metadata["attribution"].as_str().map(str::to_owned),
            raster: self.content_type().is_ok(),
        })
    }

    /// Tile `z/x/y`, or `None` when the archive does not hold it; refused for vector tiles and
    /// compressed tiles ([`Error::NotRaster`]).
    pub fn tile(&self, z: u8, x: u32, y: u32) -> Result<Option<Tile>, Error> {
        let content_type = self.content_type()?;
        let (store, ranged) = (self.store, &self.ranged);
        let bytes = pmtiles::tile(
            &self.header,
            &mut |at, len| ranged.read(store, at, len),
            z,
            x,
            y,
        )
        .map_err(|failure| self.failed(failure))?;
        Ok(bytes.map(|bytes| Tile {
            content_type,
            bytes,
        }))
    }
}

/// The basemap every replica shows: of the key's current values, the one with the greatest
/// entry hash.
pub fn current(views: &Views) -> Result<Option<Basemap>, Error> {
    let values = views.kv().get(KEY)?;
    values
        .into_iter()
        .max_by_key(|value| value.hash)
        .map(|value| serde_json::from_value(value.value).map_err(Error::Record))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, bytes).unwrap();
        file
    }

    #[test]
    fn a_v3_header_passes_and_anything_else_says_why_in_one_line() {
        let mut header = vec![0u8; HEADER_LEN];
        header[..7].copy_from_slice(b"PMTiles");
        header[7] = 3;
        assert!(check_pmtiles(file_with(&header).path()).is_ok());
        for (bytes, why) in [
            (&b"SQLite format 3\0"[..], "does not start"),
            (&header[..40], "cut short"),
            (
                &[&header[..7], &[2u8][..], &[0; 119][..]].concat()[..],
                "version 2",
            ),
        ] {
            let message = check_pmtiles(file_with(bytes).path())
                .unwrap_err()
                .to_string();
            assert!(message.contains(why), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }
}
