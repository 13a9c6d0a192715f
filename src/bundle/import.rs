//! Importing bundles into a store: verify while streaming, apply in one transaction, skip
//! bundles already imported by id.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::read::{Member, hash_file, read_bundle_with};
use super::{BundleId, EXTENSION, Error, Kind, Manifest, Reason};
use crate::blob::PackWriter;
use crate::project::{Admission, Membership};
use crate::store::{self, Outcome, Store};

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
    },
}

/// Totals over several bundles, as `mule import` and `mule sync` report them.
#[derive(Debug, Clone, Default, Serialize)]
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
    /// Entries of removed devices left out.
    pub left_out: u64,
    /// Objects (blob chunks and chunk lists) newly stored.
    pub objects: u64,
    /// Bundles refused.
    pub rejected: u64,
}

impl Summary {
    /// Adds one import's result.
    pub fn add(&mut self, result: &Result<Imported, Error>) {
        self.bundles += 1;
        match result {
            Ok(Imported::AlreadyImported { .. }) => self.already_imported += 1,
            Ok(Imported::Applied {
                outcome,
                left_out,
                objects,
                ..
            }) => {
                self.left_out += left_out;
                self.objects += objects;
                self.new += outcome.new;
                self.duplicate += outcome.duplicate;
                self.waiting += outcome.waiting;
                self.forked += outcome.forked;
            }
            Err(_) => self.rejected += 1,
        }
    }
}

/// Imports the bundle at `path`: everything or, on any problem, nothing.
pub fn import_bundle(store: &mut Store, path: &Path) -> Result<Imported, Error> {
    let id = hash_file(path)?;
    import_known(store, path, id)
}

/// Imports a bundle whose id was already computed (or read from its `<id>.mule` name: a wrong
/// name is caught when the streaming hash differs, and then the bundle is refused).
///
/// In a store of a project, the bundle is opened with the project's key when sealed; segments
/// of removed devices beyond what still counts are left out; and if, once applied, the log would
/// hold entries of a device the project never admitted, nothing is applied.
fn import_known(store: &mut Store, path: &Path, id: BundleId) -> Result<Imported, Error> {
    let fail = |reason: Reason| Error::new(path, reason);
    if store.is_imported(&id).map_err(|e| fail(e.into()))? {
        return Ok(Imported::AlreadyImported { id });
    }
    let project = crate::project::load(store).map_err(|e| fail(e.into()))?;
    let before = match &project {
        Some(project) => Some(Membership::of_store(store, project).map_err(|e| fail(e.into()))?),
        None => None,
    };
    let mut left_out = 0;
    let dir = store.dir().to_path_buf();
    let mut pack: Option<PackWriter> = None;
    let mut import = store.begin_import().map_err(|e| fail(e.into()))?;
    let key = project.as_ref().map(|p| p.identity());
    let info = read_bundle_with(path, key, Some(id), |member| match member {
        Member::Segment { kind, mut verified } => {
            let segment = &verified.segment;
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
                Kind::Log => import.offer(verified),
                Kind::Fork => import.offer_fork(verified),
            }
            .map(drop)
            .map_err(Reason::from)
        }
        Member::Object { hash, bytes } => {
            let (conn, _) = import.connection();
            let held = crate::blob::holds(conn, &hash).map_err(store::Error::from)?;
            if !held {
                let writer = match &mut pack {
                    Some(writer) => writer,
                    None => pack.insert(PackWriter::create(&dir)?),
                };
                writer.add(&hash, &bytes)?;
            }
            Ok(())
        }
    })?;
    if let Some(project) = &project {
        let (conn, db_path) = import.connection();
        let after = Membership::read(conn, db_path, project).map_err(|e| fail(e.into()))?;
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
    }
    let pack_path = pack.as_ref().map(|p| p.path().to_path_buf());
    let objects = match pack {
        Some(writer) => {
            let (conn, db_path) = import.connection();
            writer.finish(conn, db_path).map_err(|e| fail(e.into()))?
        }
        None => 0,
    };
    let outcome = import
        .commit(&id, &info.manifest.sender, &info.manifest.frontier)
        .map_err(|e| {
            // The objects' rows rolled back with the transaction; their pack goes too.
            if let Some(path) = &pack_path {
                let _ = std::fs::remove_file(path);
            }
            fail(e.into())
        })?;
    Ok(Imported::Applied {
        id,
        manifest: Box::new(info.manifest),
        outcome,
        left_out,
        objects,
    })
}

/// Imports a bundle found in a folder, trusting an `<id>.mule` name to skip known bundles
/// without reading them (what makes a repeated `mule sync` cheap).
pub fn import_from_folder(store: &mut Store, path: &Path) -> Result<Imported, Error> {
    let named = path
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.parse::<BundleId>().ok());
    match named {
        Some(id) if store.is_imported(&id).map_err(|e| Error::new(path, e))? => {
            Ok(Imported::AlreadyImported { id })
        }
        _ => import_bundle(store, path),
    }
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
