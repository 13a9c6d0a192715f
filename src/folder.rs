//! `mule sync DIR`: a folder (a USB stick, a shared directory a cron job visits) used as a
//! mailbox of bundles.
//!
//! The folder is never written in place: new bundles are written to a hidden temporary file,
//! flushed and renamed; `--compact` removes only bundles whose every segment the new bundle
//! carries, and only after the new bundle is durable. Runs on one store are serialized by a
//! lock file in the store directory.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::bundle::{
    self, Coverage, Imported, Summary, Written, bundle_files, import_batch, import_from_folder,
    read_manifest_only_with, write_bundle,
};
use crate::fsutil;
use crate::store::{Frontier, Store};

/// File in the store directory that serializes sync runs.
pub const LOCK_FILE: &str = "sync.lock";

/// Why a sync could not run at all (a bad bundle in the folder is not such a reason: it is
/// reported and the rest goes on).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The folder is missing or unreadable.
    #[error("{}: {source}", path.display())]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// Listing the folder or writing the new bundle failed.
    #[error(transparent)]
    Bundle(#[from] bundle::Error),
    /// The lock file could not be opened.
    #[error("{}: cannot open the sync lock: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}

/// How to sync.
#[derive(Debug, Clone)]
pub struct Options {
    /// Replace bundles in the folder that one new full bundle covers.
    pub compact: bool,
    /// How long to wait for another run on the same store before skipping.
    pub wait: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            compact: false,
            wait: Duration::from_secs(5),
        }
    }
}

/// What a sync did.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Report {
    /// Another run held the lock for longer than [`Options::wait`]; nothing was done.
    pub skipped: bool,
    /// Import totals.
    #[serde(flatten)]
    pub imported: Summary,
    /// One line per refused bundle: file and reason.
    pub rejections: Vec<String>,
    /// The bundle written, if any.
    pub written: Option<PathBuf>,
    /// Entries in the bundle written.
    pub exported: u64,
    /// Bundles removed by `--compact`.
    pub removed: Vec<PathBuf>,
    /// Temporary files of writes that died more than a day ago, removed.
    pub stale: Vec<PathBuf>,
}

/// Imports every new bundle in `dir`, then writes one bundle with what the folder's bundles do
/// not already carry.
pub fn sync(store: &mut Store, dir: &Path, options: &Options) -> Result<Report, Error> {
    if let Err(source) = std::fs::read_dir(dir) {
        return Err(Error::Folder {
            path: dir.to_path_buf(),
            source,
        });
    }
    let lock_path = store.dir().join(LOCK_FILE);
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| Error::Lock {
            path: lock_path.clone(),
            source,
        })?;
    if !acquire(&lock, options.wait) {
        return Ok(Report {
            skipped: true,
            ..Report::default()
        });
    }
    let mut report = Report {
        stale: fsutil::remove_stale_temps(dir),
        ..Report::default()
    };
    let mut accepted = Vec::new();
    let files = bundle_files(dir)?;
    let results = import_batch(store, &files, import_from_folder);
    for (path, result) in files.into_iter().zip(results) {
        report.imported.add(&result);
        match result {
            Ok(Imported::RefusedBefore { .. } | Imported::Vanished) => {}
            Ok(_) => accepted.push(path),
            Err(e) => report.rejections.push(e.to_string()),
        }
    }
    let project = crate::project::load(store).map_err(|e| bundle::Error::new(store.dir(), e))?;
    let key = project.as_ref().map(|p| p.identity());
    let mut coverage = Coverage::default();
    let mut manifests = Vec::new();
    for path in &accepted {
        // A bundle that vanished meanwhile (another store compacted the folder) covers nothing.
        if let Ok(manifest) = read_manifest_only_with(path, key) {
            coverage.add_all(&manifest.segments);
            manifests.push((path.clone(), manifest));
        }
    }
    if options.compact {
        let written = write_bundle(store, &Frontier::new(), &Coverage::default(), dir, false)?;
        let written = written.expect("a bundle is written when empty ones are not skipped");
        let mut carried = Coverage::default();
        carried.add_all(&written.manifest.segments);
        for (path, manifest) in &manifests {
            if path != &written.path && manifest.segments.iter().all(|r| carried.contains(r)) {
                match fsutil::remove_durably(path) {
                    Ok(()) => report.removed.push(path.clone()),
                    // Another store compacting the same folder removed it first.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(bundle::Error::new(path, e).into()),
                }
            }
        }
        record_written(&mut report, written);
    } else {
        let after: Frontier = store_frontier_prefixes(store, &coverage)?;
        if let Some(written) = write_bundle(store, &after, &coverage, dir, true)? {
            record_written(&mut report, written);
        }
    }
    Ok(report)
}

fn record_written(report: &mut Report, written: Written) {
    report.exported = written.manifest.entries;
    report.written = Some(written.path);
}

/// For every author the store knows, how much of its chain the folder already carries.
fn store_frontier_prefixes(store: &Store, coverage: &Coverage) -> Result<Frontier, Error> {
    let frontier = store
        .frontier()
        .map_err(|e| bundle::Error::new(store.dir(), e))?;
    Ok(frontier
        .keys()
        .map(|author| (*author, coverage.prefix(author)))
        .collect())
}

fn acquire(lock: &File, wait: Duration) -> bool {
    let start = Instant::now();
    loop {
        match lock.try_lock() {
            Ok(()) => return true,
            Err(_) if start.elapsed() < wait => thread::sleep(Duration::from_millis(100)),
            Err(_) => return false,
        }
    }
}
