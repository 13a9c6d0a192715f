//! `mule fsck`: checks everything a store holds and says precisely what is wrong; with repair,
//! rebuilds what can be derived (each author's frontier and head, the kinds each segment row
//! lists, the views) and never deletes an entry.
//!
//! What is checked:
//! - both SQLite files pass `PRAGMA quick_check`;
//! - every segment row of every author decodes, holds what its row says (author, first, last),
//!   continues the chain of the row before it (seqs contiguous from 1, `prev` equal to the hash
//!   of the entry before), and verifies: every entry's hash recomputed, every signature checked,
//!   the last entry signed;
//! - the author's recorded frontier and head are the end of that chain; each row's kinds are
//!   the kinds of its entries;
//! - every waiting run and kept fork branch decodes and verifies;
//! - every attached chain takes the lowest-hash branch at each fork it holds (store docs);
//! - when the log is sound: the views were built by this code version, have not seen entries
//!   the log lacks, and, when they have seen the whole log, equal a fresh rebuild (heads of every
//!   kv key, map document and calendar event, and the nodes a whole-world map query returns).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::id::Hash;
use crate::store::{self, LogFix, Store};
use crate::views::{self, VIEWS_FILE, VIEWS_VERSION, Views};

/// Why a check could not run (not what it found: that is a [`Problem`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The views failed.
    #[error(transparent)]
    Views(#[from] views::Error),
    /// A temporary folder for the comparison rebuild could not be made.
    #[error("cannot make a temporary folder: {0}")]
    Temp(std::io::Error),
    /// A file could not be removed during a repair.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}

/// Something wrong, where, and whether `--repair` can fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Where: a file, an author's chain, a table row.
    pub place: String,
    /// What is wrong.
    pub what: String,
    /// Whether it can be rebuilt from the log.
    pub repairable: bool,
    #[serde(skip)]
    fix: Option<Fix>,
}

/// A derivable value to rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fix {
    /// A value of the log tables that derives from the rows (a frontier, a row's kinds, which
    /// branch is attached).
    Log(LogFix),
    /// The views, rebuilt from the log.
    Views,
    /// A pack file no object refers to (left by an interrupted `blob add` or import).
    UnusedPack { path: PathBuf },
}

/// What a check found.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Report {
    /// Attached entries checked.
    pub entries: u64,
    /// Segment rows checked (attached, waiting and fork rows).
    pub segments: u64,
    /// Blob objects (chunks and chunk lists) checked against their hashes.
    pub objects: u64,
    /// Everything wrong.
    pub problems: Vec<Problem>,
}

impl Report {
    fn found(&mut self, place: impl Into<String>, what: impl Into<String>, fix: Option<Fix>) {
        self.problems.push(Problem {
            place: place.into(),
            what: what.into(),
            repairable: fix.is_some(),
            fix,
        });
    }
}

/// Checks the store and its views without changing anything.
pub fn check(store: &Store) -> Result<Report, Error> {
    let mut report = Report::default();
    let log = store.check_log()?;
    report.entries = log.entries;
    report.segments = log.segments;
    for problem in log.problems {
        report.found(problem.place, problem.what, problem.fix.map(Fix::Log));
    }
    check_objects(store, &mut report)?;
    check_packs(store, &mut report)?;
    // Views are compared with a rebuild from the log, which only means something, and is
    // only worth repairing to, once the log itself is sound.
    if report.problems.iter().all(|p| p.repairable) {
        let log_sound = report.problems.is_empty();
        match check_views(store, &mut report) {
            // A rebuild to compare with reads the log, which still has values to repair (a
            // row's kinds): the views are checked again after the repair.
            Err(Error::Views(views::Error::Store(_)) | Error::Store(_)) if !log_sound => {}
            checked => checked?,
        }
    }
    Ok(report)
}

/// Reads every blob object back and checks it against its hash. A damaged one cannot be
/// rebuilt here: it must come again from a store that has it.
fn check_objects(store: &Store, report: &mut Report) -> Result<(), Error> {
    for hash in store.object_hashes()? {
        report.objects += 1;
        let Some(hash) = hash else {
            report.found("objects_v1", "a row's hash is not 32 bytes", None);
            continue;
        };
        if let Err(e) = crate::blob::read_object(store, &hash) {
            report.found(
                format!("object {}", hash.short()),
                format!("{e}; import a bundle that carries it again (mule export --all from a store that has it)"),
                None,
            );
        }
    }
    Ok(())
}

/// Finds pack files that no object refers to and that were last written more than a day ago (a
/// younger one may belong to an add or import still running).
fn check_packs(store: &Store, report: &mut Report) -> Result<(), Error> {
    let dir = store.dir().join(crate::blob::PACKS_DIR);
    let Ok(files) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    for file in files.filter_map(Result::ok) {
        let path = file.path();
        let number = path
            .file_stem()
            .and_then(|s| i64::from_str_radix(&s.to_string_lossy(), 16).ok());
        let old = file.metadata().is_ok_and(|m| crate::fsutil::is_stale(&m));
        let Some(number) = number.filter(|_| old) else {
            continue;
        };
        if !store.pack_in_use(number)? {
            report.found(
                path.display().to_string(),
                "no blob object refers to this pack (an add or import was interrupted)",
                Some(Fix::UnusedPack { path }),
            );
        }
    }
    Ok(())
}

/// Rebuilds what `report` found repairable; returns how many problems were fixed.
pub fn repair(store: &mut Store, report: &Report) -> Result<usize, Error> {
    let fixes: Vec<&Fix> = report
        .problems
        .iter()
        .filter_map(|p| p.fix.as_ref())
        .collect();
    for fix in &fixes {
        if let Fix::UnusedPack { path } = fix {
            std::fs::remove_file(path).map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
        }
    }
    let log_fixes: Vec<&LogFix> = fixes
        .iter()
        .filter_map(|fix| match fix {
            Fix::Log(log) => Some(log),
            Fix::Views | Fix::UnusedPack { .. } => None,
        })
        .collect();
    if !log_fixes.is_empty() {
        store.repair_log(log_fixes)?;
    }
    if fixes.iter().any(|f| matches!(f, Fix::Views)) {
        Views::recreate(store)?;
    }
    Ok(fixes.len())
}

fn check_views(store: &Store, report: &mut Report) -> Result<(), Error> {
    let path = store.dir().join(VIEWS_FILE);
    if !path.exists() {
        return Ok(());
    }
    let place = path.display().to_string();
    let views = match Views::open(store.dir()) {
        Ok(views) => views,
        Err(e) => {
            report.found(place, format!("cannot be opened: {e}"), Some(Fix::Views));
            return Ok(());
        }
    };
    let damage = views.quick_check().unwrap_or_else(|e| vec![e.to_string()]);
    if !damage.is_empty() {
        report.found(place, damage.join("; "), Some(Fix::Views));
        return Ok(());
    }
    match compare_views(store, &views, &place, report) {
        // A table dropped, a value of the wrong type or shape: the file was edited by hand.
        Err(Error::Views(damage)) if damage.is_damage() => {
            let reason = match &damage {
                views::Error::Db { source, .. } => source.to_string(),
                other => other.to_string(),
            };
            report.found(
                place,
                format!("cannot be read ({reason})"),
                Some(Fix::Views),
            );
            Ok(())
        }
        compared => compared,
    }
}

/// Compares readable views with the log: their version, how far they got, their contents.
fn compare_views(
    store: &Store,
    views: &Views,
    place: &str,
    report: &mut Report,
) -> Result<(), Error> {
    let (version, seen) = views.checkpoint()?;
    if version.is_some() && version.as_deref() != Some(VIEWS_VERSION) {
        report.found(
            place,
            format!(
                "built by view code {}, this mule is {VIEWS_VERSION}",
                version.unwrap_or_default()
            ),
            Some(Fix::Views),
        );
        return Ok(());
    }
    if version.is_some() && !views.follows_chains_of(store)? {
        // An import re-attached a chain since: the next catch-up rebuilds the views, so what
        // they hold now is expected to differ from the log.
        return Ok(());
    }
    let log = store.frontier()?;
    let ahead: Vec<String> = seen
        .iter()
        .filter(|(author, seq)| log.get(author).copied().unwrap_or(0) < **seq)
        .map(|(author, seq)| format!("author {} seq {seq}", author.short()))
        .collect();
    if !ahead.is_empty() {
        report.found(
            place,
            format!(
                "the views have seen entries the log lacks ({})",
                ahead.join(", ")
            ),
            Some(Fix::Views),
        );
        return Ok(());
    }
    if version.is_some() && seen == log && snapshot(views)? != fresh_snapshot(store)? {
        report.found(
            place,
            "the views differ from a rebuild from the log",
            Some(Fix::Views),
        );
    }
    Ok(())
}

/// Everything the views show, for comparing with a rebuild.
type Snapshot = (
    Vec<(String, Hash, Option<String>)>,
    Vec<(String, Hash, Option<String>)>,
    Vec<(String, Hash, Option<String>)>,
    Vec<serde_json::Value>,
);

fn snapshot(views: &Views) -> Result<Snapshot, Error> {
    let world = views::map::BBox {
        south: -90.0,
        north: 90.0,
        west: -180.0,
        east: 180.0,
    };
    let shown = views
        .map()
        .query(&world, true)?
        .iter()
        .map(views::map::Version::to_json)
        .collect();
    Ok((
        views.kv().dump()?,
        views.map().dump()?,
        views.cal().dump()?,
        shown,
    ))
}

fn fresh_snapshot(store: &Store) -> Result<Snapshot, Error> {
    let dir = tempfile::tempdir().map_err(Error::Temp)?;
    let mut fresh = Views::open_file(&dir.path().join(VIEWS_FILE))?;
    fresh.rebuild(store)?;
    snapshot(&fresh)
}
