//! The map's basemap: one PMTiles v3 archive stored as a blob (so a new version of it carries
//! only the chunks that changed) and named by the kv key [`KEY`].
//!
//! The key's value is a [`Basemap`] (JSON). Two devices that set a basemap concurrently leave
//! two current values; every replica shows the one whose entry hash is greatest, so all agree.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::id::Hash;
use crate::views::{self, Views};

/// The kv key naming the map's basemap.
pub const KEY: &str = "mule/map/basemap";
/// The `--kind` of the blob entry that carries a basemap.
pub const BLOB_KIND: &str = "basemap";
/// Bytes of a PMTiles v3 header.
pub const HEADER_LEN: usize = 127;
const MAGIC: &[u8; 7] = b"PMTiles";

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
    let not = |why: &str| Error::NotPmtiles {
        path: path.to_path_buf(),
        why: why.to_owned(),
    };
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut header = Vec::with_capacity(HEADER_LEN);
    File::open(path)
        .map_err(io)?
        .take(HEADER_LEN as u64)
        .read_to_end(&mut header)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if header.len() < MAGIC.len() || &header[..MAGIC.len()] != MAGIC {
        return Err(not("it does not start with \"PMTiles\""));
    }
    if header.len() < HEADER_LEN {
        return Err(not("its header is cut short"));
    }
    match header[7] {
        3 => Ok(()),
        version => Err(not(&format!("it is version {version}"))),
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
        header[..7].copy_from_slice(MAGIC);
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
