//! Importing bundles into a store: verify while streaming, apply in one transaction, skip
//! bundles already imported by id.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

use serde::{Deserialize, Serialize};

use super::read::{Member, hash_file, read_bundle_counting};
use super::{BundleId, EXTENSION, Error, Kind, Manifest, Reason};
use crate::blob::PackWriter;
use crate::id::AuthorId;
use crate::progress::{Listener, Operation, Progress, Tally, counted};
use crate::project::{Admission, Membership};
use crate::store::{self, Import, Outcome, Store, Verified};

/// What importing one bundle file did.
#[derive(Debug, Clone)]
pub enum Imported {
    /// The bundle was imported before; nothing was read beyond its id.
    AlreadyImported {
        /// The bundle's id.
        id: BundleId,
    },
    /// The bundle was verified and applied.
    Applied {
        /// The bundle's id.
        id: BundleId,
        /// Its manifest.
        manifest: Box<Manifest>,
        /// What happened to its entries.
        outcome: Outcome,
        /// Entries left out because the project no longer counts them (removed devices).
        left_out: u64,
        /// Objects (blob chunks) newly stored.
        objects: u64,
        /// What the manifest claimed this store holds of its own chain, when that is more than
        /// it ever wrote: a forged or broken claim, ignored.
        impossible_claim: Option<u64>,
    },
    /// A folder's bundle refused before because it holds entries of a device the project has
    /// not admitted; skipped until that device is admitted.
    RefusedBefore {
        /// The bundle's id.
        id: BundleId,
        /// The device that is not a member.
        author: crate::id::AuthorId,
    },
    /// A folder's bundle that was removed between listing the folder and reading it (another
    /// store compacted the folder): nothing to do.
    Vanished,
}

/// Totals over several bundles, as `mule import` and `mule sync` report them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Bundle files looked at.
    pub bundles: u64,
    /// Bundles skipped because they were imported before.
    pub already_imported: u64,
    /// Entries newly attached.
    pub new: u64,
    /// Entries already held.
    pub duplicate: u64,
    /// Entries kept waiting for predecessors.
    pub waiting: u64,
    /// Entries kept as fork branches.
    pub forked: u64,
    /// Entries of fork branches not kept: their author has more conflicting branches than the
    /// store keeps.
    pub fork_dropped: u64,
    /// Entries of removed devices left out.
    pub left_out: u64,
    /// Objects (blob chunks and chunk lists) newly stored.
    pub objects: u64,
    /// Bundles refused.
    pub rejected: u64,
    /// Folder bundles skipped because they were refused before (devices not admitted).
    pub refused_before: u64,
    /// Folder bundles removed by someone else before they could be read.
    pub vanished: u64,
    /// Bundles whose manifest claimed more of this store's own chain than it wrote.
    pub impossible_claims: u64,
}

impl Summary {
    /// Adds one import's result.
    pub fn add(&mut self, result: &Result<Imported, Error>) {
        self.bundles += 1;
        match result {
            Ok(Imported::AlreadyImported { .. }) => self.already_imported += 1,
            Ok(Imported::RefusedBefore { .. }) => self.refused_before += 1,
            Ok(Imported::Vanished) => self.vanished += 1,
            Ok(Imported::Applied {
                outcome,
                left_out,
                objects,
                impossible_claim,
                ..
            }) => {
                self.impossible_claims += u64::from(impossible_claim.is_some());
                self.left_out += left_out;
                self.objects += objects;
                self.new += outcome.new;
                self.duplicate += outcome.duplicate;
                self.waiting += outcome.waiting;
                self.forked += outcome.forked;
                self.fork_dropped += outcome.fork_dropped;
            }
            Err(_) => self.rejected += 1,
        }
    }
}

/// Imports the bundle at `path`: everything or, on any problem, nothing.
pub fn import_bundle(store: &mut Store, path: &Path) -> Result<Imported, Error> {
    import_counted(store, path, &mut Tally::quiet(Operation::Import))
}

/// Imports the bundle `files` with [`import_batch`] and [`import_bundle`], telling `progress`
/// the bytes of the files read (of their total size) and the entries read from them, after each
/// segment and each file. Returns one result per file, in order.
pub fn import_files_with_progress(
    store: &mut Store,
    files: &[PathBuf],
    progress: &mut Listener<'_>,
) -> Vec<Result<Imported, Error>> {
    let sizes: BTreeMap<&Path, u64> = files
        .iter()
        .map(|path| {
            (
                path.as_path(),
                std::fs::metadata(path).map_or(0, |m| m.len()),
            )
        })
        .collect();
    let total = files.iter().map(|path| sizes[path.as_path()]).sum();
    let mut tally = Tally::new(
        Progress::new(Operation::Import, None, Some(total)),
        progress,
    );
    tally.tell();
    import_batch(store, files, |store, path| {
        let start = tally.now.bytes;
        let result = import_counted(store, path, &mut tally);
        tally.bytes_at(start + sizes.get(path).copied().unwrap_or(0));
        tally.tell();
        result
    })
}

/// [`import_bundle`], adding to `tally` the entries read and the bytes of the file read as the
/// import goes.
fn import_counted(
    store: &mut Store,
    path: &Path,
    tally: &mut Tally<'_>,
) -> Result<Imported, Error> {
    let id = hash_file(path)?;
    import_known(store, path, id, tally)
}

/// Imports a bundle whose id was already computed (or read from its `<id>.mule` name: a wrong
/// name is caught when the streaming hash differs, and then the bundle is refused).
///
/// In a store of a project, the bundle is opened with the project's key when sealed; segments
/// of removed devices beyond what still counts are left out; and if, once applied, the log would
/// hold entries of a device the project never admitted, nothing is applied.
fn import_known(
    store: &mut Store,
    path: &Path,
    id: BundleId,
    tally: &mut Tally<'_>,
) -> Result<Imported, Error> {
    let fail = |reason: Reason| Error::new(path, reason);
    // After Ctrl-C, the bundles still to come are not even read.
    crate::interrupt::check_io().map_err(|e| fail(Reason::Io(e)))?;
    if store.is_imported(&id).map_err(|e| fail(e.into()))? {
        return Ok(Imported::AlreadyImported { id });
    }
    let project = crate::project::load(store).map_err(|e| fail(e.into()))?;
    let before = match &project {
        Some(project) => Some(Membership::of_store(store, project).map_err(|e| fail(e.into()))?),
        None => None,
    };
    let mut left_out = 0;
    let own = store.author();
    let own_seq = store
        .frontier()
        .map_err(|e| fail(e.into()))?
        .get(&own)
        .copied()
        .unwrap_or(0);
    let dir = store.dir().to_path_buf();
    let mut pack: Option<PackWriter> = None;
    let mut import = store.begin_import().map_err(|e| fail(e.into()))?;
    let key = project.as_ref().map(|p| p.identity());
    let mut runs = Runs::default();
    let (read, start) = (AtomicU64::new(0), tally.now.bytes);
    let info = read_bundle_counting(path, key, Some(id), &read, |member| match member {
        Member::Segment { kind, mut verified } => {
            let segment = &verified.segment;
            tally.now.entries += segment.entries.len() as u64;
            tally.bytes_at(start + counted(&read));
            tally.tell();
            let (first, last) = (segment.first, segment.last());
            if let Some(Admission::Through(seq)) =
                before.as_ref().map(|m| m.admission(&segment.author))
                && last > seq
            {
                if first > seq {
                    left_out += last - first + 1;
                    return Ok(());
                }
                // Unsigned where it would be cut: kept whole; views still leave the rest out.
                left_out += verified.keep_through(seq).unwrap_or(0);
            }
            match kind {
                Kind::Log => runs.offer(&mut import, verified),
                Kind::Fork => {
                    runs.flush_author(&mut import, &verified.segment.author)?;
                    import.offer_fork(verified).map(drop)
                }
            }
            .map_err(Reason::from)
        }
        Member::Object { hash, bytes } => {
            if !import.holds_object(&hash)? {
                let writer = match &mut pack {
                    Some(writer) => writer,
                    None => pack.insert(PackWriter::create(&dir)?),
                };
                writer.add(&hash, &bytes)?;
            }
            Ok(())
        }
    })?;
    runs.flush(&mut import).map_err(|e| fail(e.into()))?;
    let mut believed = None;
    if let Some(project) = &project {
        let after = Membership::of_import(&import, project).map_err(|e| fail(e.into()))?;
        let stranger = info
            .manifest
            .segments
            .iter()
            .find(|range| after.admission(&range.author) == Admission::Stranger);
        if let Some(range) = stranger {
            return Err(fail(Reason::NotMember {
                author: range.author,
                project: project.name.clone(),
            }));
        }
        // In a project, only a member's word counts.
        believed = Some(after.admission(&info.manifest.sender) != Admission::Stranger);
    }
    let (acknowledged, impossible_claim) = if info.signed() && believed.unwrap_or(true) {
        let (frontier, claim) = without_impossible_claim(&info.manifest, own, own_seq);
        (Some(frontier), claim)
    } else {
        (None, None)
    };
    let pack_path = pack.as_ref().map(|p| p.path().to_path_buf());
    let objects = match pack {
        Some(writer) => writer
            .finish(|pack, objects| import.record_objects(pack, objects))
            .map_err(|e| fail(e.into()))?,
        None => 0,
    };
    crate::fault::stop_point(crate::fault::Point::ImportCommit);
    let committed = match crate::interrupt::check_io() {
        Ok(()) => import
            .commit(&id, &info.manifest.sender, acknowledged.as_ref())
            .map_err(|e| fail(e.into())),
        Err(interrupted) => Err(fail(Reason::Io(interrupted))),
    };
    let outcome = committed.inspect_err(|_| {
        // The objects' rows roll back with the transaction; their pack goes too.
        if let Some(path) = &pack_path {
            let _ = std::fs::remove_file(path);
        }
    })?;
    Ok(Imported::Applied {
        id,
        manifest: Box::new(info.manifest),
        outcome,
        left_out,
        objects,
        impossible_claim,
    })
}

/// The manifest's frontier as an acknowledgement, with a claim that the sender holds more of
/// this store's own chain than this store ever wrote (`own_seq`) cut down to what exists;
/// returns the cut claim too. Such a claim is impossible and would stop this store's new
/// entries from ever being sent to the sender.
fn without_impossible_claim(
    manifest: &Manifest,
    own: AuthorId,
    own_seq: u64,
) -> (crate::store::Frontier, Option<u64>) {
    let mut frontier = manifest.frontier.clone();
    match frontier.get_mut(&own) {
        Some(claimed) if *claimed > own_seq => {
            let claim = *claimed;
            *claimed = own_seq;
            (frontier, Some(claim))
        }
        _ => (frontier, None),
    }
}

/// Most bytes of runs held back for joining before they all go to the store.
const MAX_PENDING_BYTES: usize = 32 << 20;

/// Joins consecutive runs of one author before they reach the store. Each offer rewrites the
/// author's newest stored row, so a bundle of 100,000 one-entry members would otherwise cost
/// 100,000 rewrites of a growing row (bundle-format.md, "Import").
#[derive(Default)]
struct Runs {
    pending: BTreeMap<AuthorId, (Verified, usize)>,
    bytes: usize,
}

impl Runs {
    fn offer(&mut self, import: &mut Import<'_>, verified: Verified) -> Result<(), store::Error> {
        let author = verified.segment.author;
        let len = verified.bytes.as_ref().map_or(0, Vec::len);
        if let Some((held, held_len)) = self.pending.get_mut(&author) {
            if continues(held, &verified)
                && held.segment.entries.len() + verified.segment.entries.len()
                    <= store::SEGMENT_MAX_ENTRIES
                && *held_len + len <= store::SEGMENT_TARGET_BYTES
            {
                held.hashes.extend_from_slice(&verified.hashes);
                held.segment.extend(verified.segment);
                held.bytes = None;
                *held_len += len;
                self.bytes += len;
                return self.bound(import);
            }
            self.flush_author(import, &author)?;
        }
        self.pending.insert(author, (verified, len));
        self.bytes += len;
        self.bound(import)
    }

    fn bound(&mut self, import: &mut Import<'_>) -> Result<(), store::Error> {
        if self.bytes > MAX_PENDING_BYTES {
            self.flush(import)?;
        }
        Ok(())
    }

    fn flush_author(
        &mut self,
        import: &mut Import<'_>,
        author: &AuthorId,
    ) -> Result<(), store::Error> {
        if let Some((verified, len)) = self.pending.remove(author) {
            self.bytes -= len;
            import.offer(verified)?;
        }
        Ok(())
    }

    fn flush(&mut self, import: &mut Import<'_>) -> Result<(), store::Error> {
        for (_, (verified, _)) in std::mem::take(&mut self.pending) {
            import.offer(verified)?;
        }
        self.bytes = 0;
        Ok(())
    }
}

/// Whether `next` starts right where `held` ends, on the same chain.
fn continues(held: &Verified, next: &Verified) -> bool {
    held.segment.last().checked_add(1) == Some(next.segment.first)
        && next.segment.prev.is_some()
        && next.segment.prev.as_ref() == held.hashes.last()
}

/// Imports a bundle found in a folder, trusting an `<id>.mule` name to skip known bundles
/// without reading them (what makes a repeated `mule sync` cheap). A bundle refused before
/// because it holds entries of a device the project has not admitted is skipped until that
/// device is admitted, so a stranger's bundle on a shared stick is reported once, not at every
/// sync; a bundle that vanished meanwhile (another store compacted the folder) is no error.
pub fn import_from_folder(store: &mut Store, path: &Path) -> Result<Imported, Error> {
    let named = path
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.parse::<BundleId>().ok());
    let id = match named {
        Some(id) => id,
        None => match hash_file(path) {
            Err(e) if vanished(&e) => return Ok(Imported::Vanished),
            result => result?,
        },
    };
    let fail = |e: store::Error| Error::new(path, e);
    if store.is_imported(&id).map_err(fail)? {
        return Ok(Imported::AlreadyImported { id });
    }
    if let Some(author) = store.refused_stranger(&id).map_err(fail)?
        && still_a_stranger(store, &author).map_err(|e| Error::new(path, e))?
    {
        return Ok(Imported::RefusedBefore { id, author });
    }
    match import_known(store, path, id, &mut Tally::quiet(Operation::Sync)) {
        Err(e) if vanished(&e) => Ok(Imported::Vanished),
        Err(e) => {
            if let Reason::NotMember { author, .. } = &*e.reason {
                store.remember_refused_stranger(&id, author).map_err(fail)?;
            }
            Err(e)
        }
        imported => imported,
    }
}

/// Whether the error is a file that no longer exists.
fn vanished(e: &Error) -> bool {
    matches!(&*e.reason, Reason::Io(io) if io.kind() == std::io::ErrorKind::NotFound)
}

/// Whether the store's project still does not count `author` as a member.
fn still_a_stranger(store: &Store, author: &AuthorId) -> Result<bool, crate::project::Error> {
    let Some(project) = crate::project::load(store)? else {
        return Ok(false);
    };
    Ok(Membership::of_store(store, &project)?.admission(author) == Admission::Stranger)
}

/// Imports `files` with `import_one`, in order. A bundle refused only because it holds entries
/// of a device the project has not (yet) admitted is tried again after others were applied,
/// since one of them may admit that device: the files of one batch import alike in any order.
/// Returns one result per file, in the files' order.
pub fn import_batch(
    store: &mut Store,
    files: &[PathBuf],
    mut import_one: impl FnMut(&mut Store, &Path) -> Result<Imported, Error>,
) -> Vec<Result<Imported, Error>> {
    let mut results: Vec<Option<Result<Imported, Error>>> = files.iter().map(|_| None).collect();
    let mut pending: Vec<usize> = (0..files.len()).collect();
    loop {
        let mut applied = false;
        let mut deferred = Vec::new();
        for index in pending {
            let result = import_one(store, &files[index]);
            match &result {
                Ok(Imported::Applied { .. }) => applied = true,
                Err(e) if matches!(*e.reason, Reason::NotMember { .. }) => deferred.push(index),
                _ => {}
            }
            results[index] = Some(result);
        }
        if deferred.is_empty() || !applied {
            break;
        }
        pending = deferred;
    }
    results
        .into_iter()
        .map(|result| result.expect("every file was imported once at least"))
        .collect()
}

/// The bundle files in `dir`: names ending in `.mule`, not hidden (temporary files start with
/// a dot), sorted by name.
pub fn bundle_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let read = std::fs::read_dir(dir).map_err(|e| Error::new(dir, e))?;
    let mut files = Vec::new();
    for item in read {
        let item = item.map_err(|e| Error::new(dir, e))?;
        let path = item.path();
        let name = item.file_name();
        let name = name.to_string_lossy();
        let is_file = item.file_type().map(|t| t.is_file()).unwrap_or(false);
        if is_file && !name.starts_with('.') && path.extension().is_some_and(|e| e == EXTENSION) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
