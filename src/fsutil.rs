//! File utilities every writer in mule shares: a file written under a temporary name and renamed
//! into place once durable (so no reader ever sees half of it under its final name), durable
//! removal, and the stale temporary files that writes cut off by a crash or a pulled stick leave
//! behind (bundle-format.md, "Assumptions about the media").
//!
//! Writes and syncs pass the [`fault`] points their callers name, so tests can make
//! them fail like a full disk or a failing stick.

use std::fs::{self, File, Metadata};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fault::{self, Point};

/// Names of mule's temporary files start with this ...
pub const TEMP_PREFIX: &str = ".mule-";
/// ... and end with this, so no reader takes one for a bundle.
pub const TEMP_SUFFIX: &str = ".part";

/// How old a temporary file must be before it is taken for the remains of a write that was cut
/// off (a stick pulled, a crash) and removed: a younger one may belong to a write still running.
pub const STALE_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// Why [`write_atomically`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No temporary file could be made beside the destination.
    #[error("{}: cannot write there: {source}", path.display())]
    Create {
        /// The destination.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// Writing, making durable or renaming failed; the destination is as it was.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The destination.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
}

/// Bytes an unprivileged writer may still put in the file system holding `path`, when the
/// system says (statvfs).
#[cfg(unix)]
pub fn free_space(path: &Path) -> Option<u64> {
    let fs = rustix::fs::statvfs(path).ok()?;
    Some(fs.f_bavail.saturating_mul(fs.f_frsize))
}

/// Bytes an unprivileged writer may still put in the file system holding `path`: unknown here.
#[cfg(not(unix))]
pub fn free_space(_path: &Path) -> Option<u64> {
    None
}

/// Writes `bytes` to `path` atomically: a reader (or a crash) sees the old file or the whole new
/// one, never a part. The new file is an ordinary one (mode 644), whatever was there before.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let fail = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = AtomicFile::create_in(&folder_of(path), Point::FileWrite).map_err(|source| {
        Error::Create {
            path: path.to_path_buf(),
            source,
        }
    })?;
    file.write_all(bytes).map_err(fail)?;
    file.commit(path).map_err(fail)
}

/// The folder a file at `path` lives in (`.` for a bare file name).
pub(crate) fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A file being written under a temporary name (`.mule-*.part`) in the folder of its
/// destination. [`AtomicFile::commit`] makes it durable and gives it its name; dropped without
/// that, it is removed.
#[derive(Debug)]
pub(crate) struct AtomicFile {
    temp: fault::Writer<tempfile::NamedTempFile>,
    dir: PathBuf,
    point: Point,
    /// Ctrl-C stops the write at its next `write` (the file is removed as it drops).
    _changing: crate::interrupt::Changing,
}

impl AtomicFile {
    /// Starts a file in `dir`, readable by others (bundles travel through shared folders and
    /// sticks; other files are what the user asked for). Its writes consult `point`.
    pub(crate) fn create_in(dir: &Path, point: Point) -> io::Result<Self> {
        let mut builder = tempfile::Builder::new();
        builder.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let changing = crate::interrupt::changing().map_err(io::Error::other)?;
        Ok(Self {
            temp: fault::Writer::new(builder.tempfile_in(dir)?, point),
            dir: dir.to_path_buf(),
            point,
            _changing: changing,
        })
    }

    /// Bytes in the file so far.
    pub(crate) fn len(&self) -> io::Result<u64> {
        Ok(self.temp.get_ref().as_file().metadata()?.len())
    }

    /// Makes the file durable, renames it to `path` (in the same folder; an existing file is
    /// replaced) and makes the rename durable.
    pub(crate) fn commit(self, path: &Path) -> io::Result<()> {
        let temp = self.temp.into_inner();
        sync_file(temp.as_file(), self.point)?;
        temp.persist(path).map_err(|e| e.error)?;
        sync_dir(&self.dir)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        crate::interrupt::check_io()?;
        self.temp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

/// Makes `file`'s contents durable (fsync), consulting `point` first.
pub(crate) fn sync_file(file: &File, point: Point) -> io::Result<()> {
    fault::tear(point, file)?;
    fault::before_sync(point)?;
    file.sync_all()
}

/// Makes a rename, creation or removal inside `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Removes a file and makes the removal durable.
pub(crate) fn remove_durably(path: &Path) -> io::Result<()> {
    fs::remove_file(path)?;
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
        _ => Ok(()),
    }
}

/// Whether a file or folder was last changed more than [`STALE_AGE`] ago.
pub(crate) fn is_stale(metadata: &Metadata) -> bool {
    metadata
        .modified()
        .ok()
        .and_then(|modified| modified.elapsed().ok())
        .is_some_and(|age| age > STALE_AGE)
}

/// Whether `name` is one of mule's temporary files (see [`AtomicFile`]).
pub(crate) fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)
}

/// Removes mule's temporary files in `dir` that are stale (see [`STALE_AGE`]); best effort.
pub(crate) fn remove_stale_temps(dir: &Path) -> Vec<PathBuf> {
    remove_stale(dir, is_temp_name)
}

/// Removes the files and folders in `dir` whose name `ours` recognizes and that are stale (see
/// [`STALE_AGE`]): what writes cut off by a crash or a pulled stick left behind. Best effort: one
/// that cannot be removed stays, and the next run tries again. Returns what was removed.
pub(crate) fn remove_stale(dir: &Path, ours: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| ours(&entry.file_name().to_string_lossy()))
        .filter(|entry| entry.metadata().is_ok_and(|m| is_stale(&m)))
        .map(|entry| entry.path())
        .filter(|path| {
            if path.is_dir() {
                fs::remove_dir_all(path).is_ok()
            } else {
                fs::remove_file(path).is_ok()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    fn age(path: &Path, by: Duration) {
        File::open(path)
            .and_then(|f| f.set_modified(SystemTime::now() - by))
            .unwrap();
    }

    #[test]
    fn an_atomic_write_replaces_the_file_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        fs::write(&path, b"old").unwrap();
        write_atomically(&path, b"new contents").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new contents");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o644, 0o644, "{mode:o}");
        }
    }

    #[test]
    fn an_atomic_write_into_a_missing_folder_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nowhere").join("out.txt");
        let error = write_atomically(&path, b"x").unwrap_err();
        assert!(matches!(error, Error::Create { .. }), "{error:?}");
        assert!(error.to_string().contains("out.txt: cannot write there"));
    }

    #[test]
    fn an_uncommitted_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = AtomicFile::create_in(dir.path(), Point::BundleWrite).unwrap();
        file.write_all(b"half").unwrap();
        assert_eq!(file.len().unwrap(), 4);
        drop(file);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn only_stale_temporary_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let names = [".mule-old.part", ".mule-new.part", "old.mule", ".mule-old"];
        for name in names {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        for name in [".mule-old.part", "old.mule", ".mule-old"] {
            age(&dir.path().join(name), 2 * STALE_AGE);
        }
        let removed = remove_stale_temps(dir.path());
        assert_eq!(removed, [dir.path().join(".mule-old.part")]);
        let left = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(left, 3);
    }

    #[test]
    fn a_durable_removal_of_a_missing_file_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let error = remove_durably(&dir.path().join("gone")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }
}
