//! `mule sync DIR`: a folder (a USB stick, a shared directory a cron job visits) used as a
//! mailbox of bundles.
//!
//! The folder is never written in place: new bundles are written to a hidden temporary file,
//! flushed and renamed; `--compact` removes only bundles whose every segment the new bundle
//! carries or every known peer holds, and only after the new bundle is durable. Runs on one
//! store are serialized by a lock file in the store directory.
//!
//! A store with nothing to carry still leaves its word: an acknowledgement (a bundle with no
//! entries, see bundle-format.md, "Acknowledgements") whenever none of its bundles in the
//! folder says all it holds. The folder tells a store's words by their signed manifests'
//! `sender`; a store removes only its own acknowledgements, so stores syncing one folder at
//! once never remove each other's words.
//!
//! A front end that shows a sync while it runs passes a listener to [`sync_with_progress`];
//! [`places`] finds the folders to sync with, and [`standing`] says what each known peer still
//! lacks once a sync is done.

pub mod places;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::bundle::{
    self, Coverage, Imported, Kind, Manifest, Range, Summary, Written, bundle_files, import_batch,
    import_from_folder, read_manifest_only_with, write_bundle,
};
use crate::fsutil;
use crate::id::AuthorId;
use crate::store::{self, Frontier, Store};

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
    /// A folder to remember was not named absolutely.
    #[error("{}: name the folder by its whole path, starting with /", .0.display())]
    Relative(PathBuf),
    /// The store could not be read or its settings written.
    #[error(transparent)]
    Store(#[from] store::Error),
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
    /// The bundle written is an acknowledgement: no entries, only this store's frontier (written
    /// because the folder's newest word from this store was out of date, or by `--compact` when
    /// every known peer holds everything).
    #[serde(default)]
    pub acknowledged: bool,
    /// Bundles removed: those `--compact` replaced, and this store's acknowledgements that its
    /// newer word in the folder supersedes.
    pub removed: Vec<PathBuf>,
    /// Temporary files of writes that died more than a day ago, removed.
    pub stale: Vec<PathBuf>,
}

/// Where a running sync is; a listener passed to [`sync_with_progress`] gets it after each bundle
/// read and once the new bundle is written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Progress {
    /// Bundle files in the folder.
    pub bundles: u64,
    /// Of those, read (imported, or skipped as imported before).
    pub bundles_read: u64,
    /// Bytes of the folder's bundle files.
    pub bytes: u64,
    /// Of those, read.
    pub bytes_read: u64,
    /// Entries new to this store so far.
    pub entries_in: u64,
    /// Entries written to the folder (known once the new bundle is written).
    pub entries_out: u64,
    /// Bytes written to the folder.
    pub bytes_out: u64,
}

impl Progress {
    /// The sync's progress as every long operation tells it: bytes of the folder's bundles read
    /// (of their total), entries taken in and written.
    pub fn overall(&self) -> crate::progress::Progress {
        crate::progress::Progress {
            entries: self.entries_in + self.entries_out,
            bytes: self.bytes_read,
            ..crate::progress::Progress::new(
                crate::progress::Operation::Sync,
                None,
                Some(self.bytes),
            )
        }
    }
}

/// [`sync_with_progress`] with no listener.
pub fn sync(store: &mut Store, dir: &Path, options: &Options) -> Result<Report, Error> {
    sync_with_progress(store, dir, options, &mut |_| {})
}

/// Imports every new bundle in `dir`, then writes one bundle with what the folder's bundles do
/// not already carry and not every known peer holds; with nothing to carry, an acknowledgement
/// when the folder's newest word from this store is out of date. This store's older
/// acknowledgements that the new word supersedes are removed after it is durable. `progress`
/// hears where it is after each bundle read and once the new bundle is written.
pub fn sync_with_progress(
    store: &mut Store,
    dir: &Path,
    options: &Options,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Report, Error> {
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
    let (results, mut now) = import_reporting(store, &files, progress);
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
    let held_by_all = store
        .acknowledged_by_all()
        .map_err(|e| bundle::Error::new(store.dir(), e))?;
    if options.compact {
        compact(store, dir, &manifests, &held_by_all, &mut report)?;
    } else {
        // What every known peer holds is left out only where peers speak: a folder no other
        // store has written to (a new stick, for whoever) gets everything it lacks.
        let skip = if others_spoke(store, &manifests) {
            held_by_all.clone()
        } else {
            Frontier::new()
        };
        let after = lower_bound(store, &coverage, &skip)?;
        let written = match write_bundle(store, &after, &coverage, dir, true)? {
            Some(written) => Some(written),
            None if word_out_of_date(store, &manifests)? => {
                Some(bundle::write_acknowledgement(store, dir)?)
            }
            None => None,
        };
        let mut words: Vec<(PathBuf, Manifest)> = own_words(store, &manifests).cloned().collect();
        words.extend(written.iter().map(|w| (w.path.clone(), w.manifest.clone())));
        remove_superseded_acknowledgements(&words, &mut report)?;
        if let Some(written) = written {
            record_written(&mut report, written);
        }
    }
    now.entries_out = report.exported;
    now.bytes_out = report
        .written
        .as_deref()
        .and_then(|path| std::fs::metadata(path).ok())
        .map_or(0, |m| m.len());
    progress(&now);
    Ok(report)
}

/// Imports the folder's `files`, telling `progress` after each; returns the results and the
/// progress once all are read.
fn import_reporting(
    store: &mut Store,
    files: &[PathBuf],
    progress: &mut dyn FnMut(&Progress),
) -> (Vec<Result<Imported, bundle::Error>>, Progress) {
    let size = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
    let mut now = Progress {
        bundles: files.len() as u64,
        bytes: files.iter().map(|path| size(path)).sum(),
        ..Progress::default()
    };
    progress(&now);
    let results = import_batch(store, files, |store, path| {
        let result = import_from_folder(store, path);
        // A bundle tried again (see `import_batch`) is not counted twice.
        now.bundles_read = (now.bundles_read + 1).min(now.bundles);
        now.bytes_read = (now.bytes_read + size(path)).min(now.bytes);
        if let Ok(Imported::Applied { outcome, .. }) = &result {
            now.entries_in += outcome.new;
        }
        progress(&now);
        result
    });
    (results, now)
}

/// What one known peer holds of what this store holds, as far as its words say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// The peer.
    pub peer: AuthorId,
    /// Entries this store holds that the peer has not said it holds (0: it has everything).
    pub lacks: u64,
    /// When (ms since the epoch) this store last imported a bundle of the peer's, its newest
    /// word.
    pub heard: Option<u64>,
}

/// What the store knows after a sync: each known peer's standing, and per author how many
/// entries wait here for earlier ones of theirs that have not arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standings {
    /// Known peers (other stores that sent signed bundles).
    pub peers: Vec<Standing>,
    /// Author -> entries of theirs waiting for earlier ones.
    pub waiting: std::collections::BTreeMap<AuthorId, u64>,
}

/// Each known peer's standing and the entries waiting here, from the store's records of the
/// peers' acknowledgements (see the store's docs, "What is kept").
pub fn standing(store: &Store) -> Result<Standings, Error> {
    let heard = store.last_heard()?;
    let peers = store
        .status()?
        .peers
        .into_iter()
        .map(|peer| Standing {
            heard: heard.get(&peer.peer).copied(),
            peer: peer.peer,
            lacks: peer.lacks,
        })
        .collect();
    Ok(Standings {
        peers,
        waiting: store.waiting_by_author()?,
    })
}

/// `--compact`: writes one bundle of everything that not every known peer holds, then removes
/// the bundles whose every segment it carries or every known peer holds. Another store's
/// acknowledgement stays: what it says, its sender's frontier, is in no other bundle.
fn compact(
    store: &Store,
    dir: &Path,
    manifests: &[(PathBuf, Manifest)],
    held_by_all: &Frontier,
    report: &mut Report,
) -> Result<(), Error> {
    let written = write_bundle(store, held_by_all, &Coverage::default(), dir, false)?;
    let written = written.expect("a bundle is written when empty ones are not skipped");
    let mut carried = Coverage::default();
    carried.add_all(&written.manifest.segments);
    carried.add_all(&chains_up_to(held_by_all));
    let own = store.author();
    for (path, manifest) in manifests {
        let replaced = manifest.segments.iter().all(|r| carried.contains(r))
            && (manifest.sender == own || !manifest.is_acknowledgement());
        if path != &written.path && replaced {
            remove(path, report)?;
        }
    }
    record_written(report, written);
    Ok(())
}

/// The ranges `1..=seq` of each author's chain in `frontier`.
fn chains_up_to(frontier: &Frontier) -> Vec<Range> {
    frontier
        .iter()
        .filter(|(_, seq)| **seq > 0)
        .map(|(author, seq)| Range {
            kind: Kind::Log,
            author: *author,
            first: 1,
            last: *seq,
        })
        .collect()
}

/// Removes a bundle from the folder durably; one already gone (another store compacting the
/// same folder removed it first) is no error.
fn remove(path: &Path, report: &mut Report) -> Result<(), Error> {
    match fsutil::remove_durably(path) {
        Ok(()) => report.removed.push(path.to_path_buf()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(bundle::Error::new(path, e).into()),
    }
    Ok(())
}

fn record_written(report: &mut Report, written: Written) {
    report.acknowledged = written.manifest.is_acknowledgement();
    report.exported = written.manifest.entries;
    report.written = Some(written.path);
}

/// For every author the store knows, the seq below which a new bundle has nothing to carry:
/// how much of its chain the folder already carries, or every known peer holds.
fn lower_bound(
    store: &Store,
    coverage: &Coverage,
    held_by_all: &Frontier,
) -> Result<Frontier, Error> {
    let frontier = store
        .frontier()
        .map_err(|e| bundle::Error::new(store.dir(), e))?;
    Ok(frontier
        .keys()
        .map(|author| {
            let held = held_by_all.get(author).copied().unwrap_or(0);
            (*author, coverage.prefix(author).max(held))
        })
        .collect())
}

/// This store's signed bundles in the folder: what a receiver believes it holds.
fn own_words<'a>(
    store: &Store,
    manifests: &'a [(PathBuf, Manifest)],
) -> impl Iterator<Item = &'a (PathBuf, Manifest)> {
    let own = store.author();
    manifests
        .iter()
        .filter(move |(_, m)| m.sender == own && m.format >= bundle::SIGNED_FORMAT)
}

/// Whether the folder's newest word from this store is out of date: the store holds entries
/// that none of its bundles there says it holds, or it has said nothing yet in a folder where
/// others have (a store that holds nothing says so too, so the others send it everything).
fn word_out_of_date(store: &Store, manifests: &[(PathBuf, Manifest)]) -> Result<bool, Error> {
    let frontier = store
        .frontier()
        .map_err(|e| bundle::Error::new(store.dir(), e))?;
    let mut said = Frontier::new();
    let mut spoke = false;
    for (_, manifest) in own_words(store, manifests) {
        spoke = true;
        for (author, seq) in &manifest.frontier {
            let known = said.entry(*author).or_default();
            *known = (*known).max(*seq);
        }
    }
    Ok(!covers(&said, &frontier) || (!spoke && others_spoke(store, manifests)))
}

/// Whether another store has written to the folder: it is read by peers, not only carried.
fn others_spoke(store: &Store, manifests: &[(PathBuf, Manifest)]) -> bool {
    manifests.iter().any(|(_, m)| m.sender != store.author())
}

/// Whether `wide` says of every author at least what `narrow` says.
fn covers(wide: &Frontier, narrow: &Frontier) -> bool {
    narrow
        .iter()
        .all(|(author, seq)| wide.get(author).is_some_and(|held| held >= seq))
}

/// Removes this store's acknowledgements that its newest word in the folder (`words`: its
/// bundles there, the one just written included) says as much as. The newest is written before
/// any older one is removed, so a crash in between leaves one acknowledgement too many, which
/// the next sync removes, and never none.
fn remove_superseded_acknowledgements(
    words: &[(PathBuf, Manifest)],
    report: &mut Report,
) -> Result<(), Error> {
    let Some((newest, word)) = words.iter().max_by_key(|(path, m)| (m.created, path)) else {
        return Ok(());
    };
    for (path, manifest) in words {
        if manifest.is_acknowledgement()
            && path != newest
            && covers(&word.frontier, &manifest.frontier)
        {
            remove(path, report)?;
        }
    }
    Ok(())
}

/// Takes the lock on `lock`, waiting at most `wait`; whether it did (released when the file is
/// closed).
pub(crate) fn acquire(lock: &File, wait: Duration) -> bool {
    let start = Instant::now();
    loop {
        match lock.try_lock() {
            Ok(()) => return true,
            Err(_) if start.elapsed() < wait => thread::sleep(Duration::from_millis(100)),
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::body_from_json;
    use crate::store::Draft;

    fn append(store: &mut Store, count: u64) {
        let drafts = (0..count)
            .map(|i| Draft {
                kind: "test".into(),
                body: body_from_json(&serde_json::json!({ "i": i })).expect("body"),
                links: vec![],
                timestamp: 1_700_000_000_000 + i,
            })
            .collect();
        store.append(drafts).expect("append");
    }

    #[test]
    fn progress_counts_what_came_in_and_went_out_and_standing_what_peers_lack() {
        let dir = tempfile::tempdir().expect("temp dir");
        let stick = dir.path().join("stick");
        std::fs::create_dir(&stick).expect("stick");
        let mut laptop = Store::open(&dir.path().join("laptop")).expect("laptop");
        let mut phone = Store::open(&dir.path().join("phone")).expect("phone");
        append(&mut laptop, 5);
        let mut heard = Vec::new();
        sync_with_progress(&mut laptop, &stick, &Options::default(), &mut |p| {
            heard.push(p.clone());
        })
        .expect("laptop syncs");
        let done = heard.last().expect("told when done");
        assert_eq!((done.entries_in, done.entries_out), (0, 5));
        assert_eq!((done.bundles, done.bytes), (0, 0), "the folder was empty");
        assert!(done.bytes_out > 0);

        append(&mut phone, 2);
        let mut heard = Vec::new();
        sync_with_progress(&mut phone, &stick, &Options::default(), &mut |p| {
            heard.push(p.clone());
        })
        .expect("phone syncs");
        assert_eq!(heard[0].bundles, 1, "told before reading");
        assert_eq!(heard[0].bundles_read, 0);
        assert!(heard[0].bytes > 0);
        let read = &heard[1];
        assert_eq!((read.bundles_read, read.bytes_read), (1, read.bytes));
        assert_eq!(read.entries_in, 5);
        let done = heard.last().expect("done");
        assert_eq!(done.entries_out, 2);
        assert_eq!(
            (done.bytes_read, done.entries_in),
            (read.bytes, 5),
            "what was read stays"
        );

        // The laptop hears that the phone holds its 5 entries; the phone lacks nothing of them.
        sync(&mut laptop, &stick, &Options::default()).expect("laptop syncs again");
        let standings = standing(&laptop).expect("standing");
        assert_eq!(standings.peers.len(), 1);
        let phone_standing = &standings.peers[0];
        assert_eq!(phone_standing.peer, phone.author());
        assert_eq!(phone_standing.lacks, 0);
        assert!(phone_standing.heard.is_some());
        assert!(standings.waiting.is_empty());
    }
}
