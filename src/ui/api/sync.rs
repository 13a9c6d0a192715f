//! `/api/sync`: the sync page's routes. The places to sync with (drives found and folders named
//! before), a folder sync with its progress published on the bus as `sync_progress`, what each
//! known peer still lacks, and a bundle exported as a download or imported from an upload.
//!
//! A failure a person can do something about (a full or read-only stick, a stick pulled out)
//! is answered with a `problem` word beside the error, so the page says what to do in the
//! person's language.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::bundle::{Imported, Summary};
use crate::folder::{self, Standings, places};
use crate::id::AuthorId;
use crate::replica::{self, Replica, Selection};

use super::super::events::Bus;
use super::super::http::{Request, Response, query_param};
use super::{not_allowed, not_found};

/// The route a bundle file is uploaded to (`POST`), its body streamed to a temporary file.
pub const IMPORT_PATH: &str = "/api/sync/import";

/// The event the progress of a folder sync is published as.
const PROGRESS_EVENT: &str = "sync_progress";

/// `GET /api/sync/places`: where this device can sync.
#[derive(Debug, Serialize)]
struct Places {
    places: Vec<places::Place>,
}

/// A folder named in a request's body.
#[derive(Debug, Deserialize)]
struct Folder {
    path: PathBuf,
}

/// The progress of a folder sync, as the bus carries it.
#[derive(Debug, Serialize)]
struct Progress<'a> {
    path: &'a Path,
    #[serde(flatten)]
    progress: &'a folder::Progress,
}

/// `POST /api/sync/run`: what a folder sync did and where the known peers stand after it.
#[derive(Debug, Serialize)]
struct Synced {
    report: folder::Report,
    standing: Standings,
}

/// `POST /api/sync/import`: what an uploaded bundle brought.
#[derive(Debug, Serialize)]
struct ImportedBundle {
    /// The bundle was imported before; nothing changed.
    already: bool,
    /// The device that wrote it, when it was read.
    from: Option<AuthorId>,
    summary: Summary,
    standing: Standings,
}

/// A failure with the `problem` the page words for the person.
#[derive(Debug, Serialize)]
struct Failure {
    error: String,
    problem: Problem,
}

/// What went wrong, in terms of what a person can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Problem {
    /// The folder's disk is full.
    Full,
    /// The folder may not be written (a stick's write-protect switch, a read-only mount).
    ReadOnly,
    /// The folder is not there (the stick was pulled out, a typo).
    Missing,
    /// A file is not a bundle, or is damaged.
    BadBundle,
    /// Anything else: the error says it.
    Other,
}

/// Answers `/api/sync/...`; progress goes out on `bus`.
pub fn handle(replica: &mut Replica, bus: &Bus, request: &Request, rest: &str) -> Response {
    match (request.method.as_str(), rest) {
        ("GET", "places") => list_places(replica),
        ("POST", "places") => with_folder(request, |folder| {
            replica
                .write(|store| places::remember(store, &folder.path))
                .map_err(|e| failure(&e))
                .map(|_| list_places(replica))
        }),
        ("DELETE", "places") => {
            let Some(path) = query_param(&request.query, "path") else {
                return Response::failure(400, "name the folder to forget: ?path=...");
            };
            match replica.write(|store| places::forget(store, Path::new(&path))) {
                Ok(()) => list_places(replica),
                Err(e) => failure(&e),
            }
        }
        ("POST", "run") => with_folder(request, |folder| Ok(sync(replica, bus, &folder.path))),
        ("GET", "standing") => match folder::standing(replica.store()) {
            Ok(standing) => Response::json(200, &standing),
            Err(e) => failure(&e.into()),
        },
        ("GET", "export") => export(replica),
        ("POST", "import") => import(replica, request),
        (_, "places" | "run" | "standing" | "export" | "import") => not_allowed(),
        _ => not_found(request),
    }
}

/// Whether `request` is an upload, whose body the server streams to a file instead of memory.
pub fn is_upload(request: &Request) -> bool {
    request.method == "POST" && request.path == IMPORT_PATH
}

fn list_places(replica: &Replica) -> Response {
    let remembered = match places::remembered(replica.store()) {
        Ok(remembered) => remembered,
        Err(e) => return failure(&e.into()),
    };
    let roots: Vec<&Path> = places::MOUNT_ROOTS.iter().map(Path::new).collect();
    Response::json(
        200,
        &Places {
            places: places::discover(&roots, &remembered),
        },
    )
}

/// Reads the `{"path": ...}` body and answers with `answer`.
fn with_folder(
    request: &Request,
    answer: impl FnOnce(Folder) -> Result<Response, Response>,
) -> Response {
    match serde_json::from_slice::<Folder>(&request.body) {
        Ok(folder) => answer(folder).unwrap_or_else(|refusal| refusal),
        Err(e) => Response::failure(400, &format!("the body is not {{\"path\": ...}}: {e}")),
    }
}

/// Syncs with the folder at `path`, publishing its progress.
fn sync(replica: &mut Replica, bus: &Bus, path: &Path) -> Response {
    let options = folder::Options {
        compact: false,
        // The page's request holds the replica's thread: a sync from a terminal that holds the
        // lock is waited for briefly, then reported as skipped.
        wait: Duration::from_secs(5),
    };
    let mut publish = |progress: &folder::Progress| {
        bus.publish(PROGRESS_EVENT, &Progress { path, progress });
    };
    let report = match replica.sync_folder_with_progress(path, &options, &mut publish) {
        Ok(report) => report,
        Err(e) => return failure(&e),
    };
    match folder::standing(replica.store()) {
        Ok(standing) => Response::json(200, &Synced { report, standing }),
        Err(e) => failure(&e.into()),
    }
}

/// `GET /api/sync/export`: a bundle of everything, as a download. It is written to a hidden
/// folder in the store's folder and sent from there; the folder goes once the file is open.
fn export(replica: &Replica) -> Response {
    let staging = match tempfile::Builder::new()
        .prefix(".mule-export-")
        .tempdir_in(replica.store().dir())
    {
        Ok(staging) => staging,
        Err(e) => {
            return Response::failure(500, &format!("cannot write in the store's folder: {e}"));
        }
    };
    let written = match replica.export(&Selection::All, staging.path(), &Default::default()) {
        Ok(written) => written,
        Err(e) => return failure(&e),
    };
    let Some(bundle) = written.first() else {
        return Response::failure(500, "the export wrote no bundle");
    };
    let name = bundle.path.file_name().map_or_else(
        || "export.mule".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let opened = std::fs::File::open(&bundle.path)
        .and_then(|file| Response::file("application/octet-stream", file));
    match opened {
        Ok(mut response) => {
            response.headers.push((
                "Content-Disposition",
                format!("attachment; filename=\"{name}\""),
            ));
            response
        }
        Err(e) => Response::failure(500, &format!("cannot read the bundle just written: {e}")),
    }
}

/// `POST /api/sync/import`: imports the uploaded bundle (everything or, on any problem,
/// nothing; a bundle imported before changes nothing).
fn import(replica: &mut Replica, request: &Request) -> Response {
    let Some(upload) = &request.upload else {
        return Response::failure(400, "send the bundle file as the body");
    };
    let results = match replica.import(&[upload.path().to_path_buf()]) {
        Ok(results) => results,
        Err(e) => return failure(&e),
    };
    let Some(result) = results.into_iter().next() else {
        return Response::failure(500, "the import gave no result");
    };
    let mut summary = Summary::default();
    summary.add(&result);
    let (already, from) = match result {
        Ok(Imported::Applied { manifest, .. }) => (false, Some(manifest.sender)),
        Ok(_) => (true, None),
        // The temporary file's name means nothing to the person: only the reason is told.
        Err(e) => {
            return answer_failure(400, one_line(&e.reason.to_string()), Problem::BadBundle);
        }
    };
    match folder::standing(replica.store()) {
        Ok(standing) => Response::json(
            200,
            &ImportedBundle {
                already,
                from,
                summary,
                standing,
            },
        ),
        Err(e) => failure(&e.into()),
    }
}

/// The answer to a replica's failure, with its problem.
fn failure(e: &replica::Error) -> Response {
    let problem = problem_of(e);
    let status = if problem == Problem::Other { 500 } else { 409 };
    answer_failure(status, one_line(&e.to_string()), problem)
}

fn answer_failure(status: u16, error: String, problem: Problem) -> Response {
    Response::json(status, &Failure { error, problem })
}

fn problem_of(e: &replica::Error) -> Problem {
    if replica::is_disk_full(e) {
        Problem::Full
    } else if replica::is_read_only(e) || replica::is_permission_denied(e) {
        Problem::ReadOnly
    } else if replica::is_missing(e) {
        Problem::Missing
    } else {
        Problem::Other
    }
}

/// The text on one line: a page shows it in one.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
