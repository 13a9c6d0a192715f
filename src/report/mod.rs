//! What a command reports: one serde type per line of `--json` output, so every front end (the
//! CLI's `--json`, the HTTP answers of `mule ui`) promises the same shapes. `docs/json.md`
//! describes each with an example line; the integration test `json` checks that every command's
//! output reads back into its type and writes out the same.
//!
//! Types of other modules that a line carries as they are ([`store::Status`],
//! [`bundle::Summary`], [`folder::Report`](crate::folder::Report),
//! [`live::Report`](crate::live::Report), [`fsck::Report`],
//! [`project::Member`](crate::project::Member), [`kv::Value`](crate::views::kv::Value)) are
//! reports too. Key order is not part of any shape.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::bundle::{self, BundleId, Imported, Kind, Manifest, Summary};
use crate::calendar::event::Event;
use crate::id::ProjectId;
use crate::project::Role;
use crate::store::{self, Frontier};
use crate::views::cal;
use crate::{AuthorId, Hash, blob, fsck};

mod qr;
pub use qr::*;

/// `mule id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Id {
    /// This store's author id.
    pub author: AuthorId,
    /// The store directory.
    pub store: PathBuf,
}

/// `mule append KIND JSON`: the entry appended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Appended {
    /// Its hash.
    pub hash: Hash,
    /// This store's author id.
    pub author: AuthorId,
    /// Its seq.
    pub seq: u64,
}

/// `mule append KIND -`: the entries appended from stdin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppendedLines {
    /// How many.
    pub appended: u64,
    /// This store's author id.
    pub author: AuthorId,
    /// The first one's seq.
    pub first_seq: u64,
    /// The last one's seq.
    pub last_seq: u64,
    /// The last one's hash.
    pub last_hash: Hash,
}

/// `mule log`: one line per entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// The entry's hash.
    pub hash: Hash,
    /// Its author.
    pub author: AuthorId,
    /// Its seq in the author's chain.
    pub seq: u64,
    /// The author's previous entry (none for seq 1).
    pub prev: Option<Hash>,
    /// Entries it supersedes or merges.
    pub links: Vec<Hash>,
    /// When it was written, ms since the Unix epoch.
    pub timestamp: u64,
    /// What its body is: kv, map, cal, blob...
    pub kind: String,
    /// The body.
    pub body: serde_json::Value,
}

/// `mule status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The store's counts, frontier, forks and peers.
    #[serde(flatten)]
    pub store: store::Status,
    /// Blobs some of whose chunks have not arrived.
    pub incomplete_blobs: Vec<IncompleteBlob>,
    /// The store's project, if it is in one.
    pub project: Option<ProjectRole>,
}

/// A blob not all of whose chunks are here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncompleteBlob {
    /// The blob's hash.
    pub hash: Hash,
    /// The file name it was added with.
    pub name: String,
    /// Chunks not here.
    pub missing: u64,
    /// Chunks in all.
    pub chunks: u64,
}

/// A project and this device's role in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectRole {
    /// The project's id.
    pub id: ProjectId,
    /// Its name.
    pub name: String,
    /// This device's role.
    pub role: Role,
}

/// `mule export`: one line per bundle written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exported {
    /// The file.
    pub path: PathBuf,
    /// The bundle's id.
    pub id: BundleId,
    /// Entries it carries.
    pub entries: u64,
    /// Segment members.
    pub segments: u64,
    /// Blob objects (chunks and chunk lists).
    pub objects: u64,
    /// Its size.
    pub bytes: u64,
}

impl From<&bundle::Written> for Exported {
    fn from(written: &bundle::Written) -> Self {
        Self {
            path: written.path.clone(),
            id: written.id,
            entries: written.manifest.entries,
            segments: written.manifest.segments.len() as u64,
            objects: written.manifest.objects.len() as u64,
            bytes: written.size,
        }
    }
}

/// `mule import`: totals, and what happened to each file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Import {
    /// The totals.
    #[serde(flatten)]
    pub summary: Summary,
    /// Each file, in the order read.
    pub files: Vec<ImportedFile>,
}

/// What an import did with one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ImportedFile {
    /// Imported before.
    AlreadyImported {
        /// The file.
        path: PathBuf,
        /// The bundle's id.
        id: BundleId,
    },
    /// Applied.
    Imported {
        /// The file.
        path: PathBuf,
        /// The bundle's id.
        id: BundleId,
        /// Who wrote it.
        sender: AuthorId,
        /// Entries new here.
        new: u64,
        /// Entries held already.
        duplicate: u64,
        /// Entries waiting for their predecessors.
        waiting: u64,
        /// Entries kept as a fork.
        forked: u64,
        /// Fork entries not kept (too many branches).
        fork_dropped: u64,
        /// Entries of removed devices after their removal.
        left_out: u64,
        /// New blob objects.
        objects: u64,
        /// Whether the sender signed it.
        signed: bool,
        /// The seq of this store's own entries its manifest claimed beyond what it wrote.
        impossible_claim: Option<u64>,
    },
    /// Refused before: holds entries of a device not in the project.
    RefusedBefore {
        /// The file.
        path: PathBuf,
        /// The bundle's id.
        id: BundleId,
        /// The device.
        author: AuthorId,
    },
    /// Removed by someone else before it was read.
    Vanished {
        /// The file.
        path: PathBuf,
    },
    /// Refused; the store is unchanged by it.
    Rejected {
        /// The file.
        path: PathBuf,
        /// Why.
        error: String,
    },
}

impl ImportedFile {
    /// What importing `path` did.
    pub fn new(path: PathBuf, result: &Result<Imported, bundle::Error>) -> Self {
        match result {
            Ok(Imported::AlreadyImported { id }) => Self::AlreadyImported { path, id: *id },
            Ok(Imported::Applied {
                id,
                outcome,
                manifest,
                left_out,
                objects,
                impossible_claim,
            }) => Self::Imported {
                path,
                id: *id,
                sender: manifest.sender,
                new: outcome.new,
                duplicate: outcome.duplicate,
                waiting: outcome.waiting,
                forked: outcome.forked,
                fork_dropped: outcome.fork_dropped,
                left_out: *left_out,
                objects: *objects,
                signed: manifest.format >= bundle::SIGNED_FORMAT,
                impossible_claim: *impossible_claim,
            },
            Ok(Imported::RefusedBefore { id, author }) => Self::RefusedBefore {
                path,
                id: *id,
                author: *author,
            },
            Ok(Imported::Vanished) => Self::Vanished { path },
            Err(e) => Self::Rejected {
                path,
                error: e.reason.to_string(),
            },
        }
    }
}

/// `mule verify`: one line per bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Verified {
    /// Every check passed.
    Ok(VerifiedBundle),
    /// A check failed.
    Failed(VerifyFailed),
}

/// A bundle that passed every check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifiedBundle {
    /// The file.
    pub path: PathBuf,
    /// Always true.
    pub ok: bool,
    /// The bundle's id.
    pub id: BundleId,
    /// Entries it carries.
    pub entries: u64,
    /// Segment members read.
    pub segments: u64,
    /// Who wrote it.
    pub sender: AuthorId,
    /// Whether it is sealed to a project key.
    pub encrypted: bool,
    /// Whether the sender signed it.
    pub signed: bool,
}

/// A bundle that failed a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyFailed {
    /// The file.
    pub path: PathBuf,
    /// Always false.
    pub ok: bool,
    /// Why.
    pub error: String,
}

/// `mule inspect`: a bundle's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inspected {
    /// The bundle's id.
    pub id: BundleId,
    /// Its size.
    pub bytes: u64,
    /// Whether it is sealed to a project key.
    pub encrypted: bool,
    /// The format version.
    pub format: u64,
    /// Who wrote it.
    pub sender: AuthorId,
    /// When, ms since the Unix epoch.
    pub created: u64,
    /// The sender's frontier when it wrote the bundle.
    pub frontier: Frontier,
    /// The segment members.
    pub segments: Vec<Segment>,
    /// Entries in all segments.
    pub entries: u64,
    /// Bytes of the uncompressed archive.
    pub payload: u64,
    /// The blob objects it carries (left out when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<Hash>,
}

/// One segment member of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// A run of the chain, or a fork branch.
    pub kind: Kind,
    /// The author.
    pub author: AuthorId,
    /// First seq.
    pub first: u64,
    /// Last seq.
    pub last: u64,
}

impl Inspected {
    /// The report of a bundle with this manifest.
    pub fn new(id: BundleId, bytes: u64, encrypted: bool, manifest: &Manifest) -> Self {
        let segments = manifest
            .segments
            .iter()
            .map(|range| Segment {
                kind: range.kind,
                author: range.author,
                first: range.first,
                last: range.last,
            })
            .collect();
        Self {
            id,
            bytes,
            encrypted,
            format: manifest.format,
            sender: manifest.sender,
            created: manifest.created,
            frontier: manifest.frontier.clone(),
            segments,
            entries: manifest.entries,
            payload: manifest.payload,
            objects: manifest.objects.clone(),
        }
    }
}

/// `mule blob add`: one line per file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlobAdded {
    /// What was stored.
    #[serde(flatten)]
    pub added: blob::Added,
    /// The file.
    pub path: PathBuf,
}

/// `mule map basemap ls`: the basemap every replica shows (nothing is printed when none is
/// set). `mule map basemap add` prints a [`BlobAdded`], `rm` a [`Written`].
pub type BasemapShown = crate::basemap::Basemap;

/// `mule blob get`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobWritten {
    /// The blob's hash.
    pub hash: Hash,
    /// The file written.
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// The file name it was added with.
    pub name: String,
}

/// `mule blob ls`: one line per blob.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlobListed {
    /// The blob and its entry.
    #[serde(flatten)]
    pub listed: blob::Listed,
    /// Whether every chunk is here.
    pub complete: bool,
}

/// `mule kv put` and `mule kv del`: the entry written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Written {
    /// Its hash.
    pub hash: Hash,
    /// Present when the views file failed to read and was rebuilt from the log before the
    /// write: why (the note `mule` also prints on stderr).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub views_rebuilt: Option<String>,
}

/// `mule kv list`: one line per key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    /// The key.
    pub key: String,
}

/// `mule ui`'s `GET /api/kv`: a key and its current values (several after concurrent puts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyValues {
    /// The key.
    pub key: String,
    /// Its current values, ordered by hash.
    pub values: Vec<crate::views::kv::Value>,
}

/// `mule ui`: where the server listens, printed first (the server then runs until stopped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiStarted {
    /// The URL to open, with the secret token (`http://127.0.0.1:PORT/?token=...`).
    pub url: String,
}

/// `mule map create|put|del` and `mule cal rm`: the document or event and the entry written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocWritten {
    /// The document's or event's id.
    pub id: String,
    /// The entry's hash.
    pub hash: Hash,
    /// Present when the views file failed to read and was rebuilt from the log before the
    /// write: why (the note `mule` also prints on stderr).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub views_rebuilt: Option<String>,
}

/// `mule map get|query`: a document version as every replica shows it: the document's own
/// fields (OpenStreetMap-shaped, free-form tags), `version` (the entry's hash), and
/// `deleted: true` for a deletion.
pub type MapVersion = serde_json::Map<String, serde_json::Value>;

/// `mule map import`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapImported {
    /// Documents written (new, or changed since the last import).
    pub documents: u64,
    /// Documents the store already showed exactly so (an earlier import of the same features),
    /// not written again.
    pub unchanged: u64,
    /// Features skipped: those with a null geometry, the only ones not imported.
    pub skipped: u64,
    /// The skipped features, in file order.
    pub skipped_features: Vec<SkippedFeature>,
}

/// A feature of a GeoJSON file that `mule map import` did not import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkippedFeature {
    /// Its position in the file's `features`, from 0.
    pub index: u64,
    /// Its `id` (or `properties.id`), if any.
    pub id: Option<String>,
    /// Its `properties.name` (or `NAME`), if any.
    pub name: Option<String>,
}

/// `mule cal add|put`: the event's first occurrence in the shape of a `cal query` line
/// ([`Occurrence`]: times with their offset, every field present), then what only the event
/// holds (its text, recurrence and exceptions) and the entry's hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventWritten {
    /// The event's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// First start (DTSTART), RFC 3339 with offset (midnight when all day).
    pub start: String,
    /// First end, RFC 3339 with offset (the midnight after the last day when all day).
    pub end: String,
    /// Whether it lasts whole days.
    pub all_day: bool,
    /// Whether the event repeats.
    pub recurring: bool,
    /// Its time zone (IANA name).
    pub tz: String,
    /// The entry's hash (the event version, as `cal query` names it).
    pub version: Hash,
    /// The schedule as written (null when none was).
    pub text: Option<String>,
    /// Its recurrence (RFC 5545 RRULE), null for a one-time event.
    pub rrule: Option<String>,
    /// Dates left out of the recurrence (empty when none).
    pub except: Vec<String>,
    /// The entry's hash (the same as `version`; kept for scripts that read it).
    pub hash: Hash,
    /// Present when the views file failed to read and was rebuilt from the log before the
    /// write: why (the note `mule` also prints on stderr).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub views_rebuilt: Option<String>,
}

impl EventWritten {
    /// The report of writing `event` in entry `hash`.
    pub fn new(event: &Event, hash: Hash) -> Self {
        let version = crate::calendar::event::EventVersion {
            hash,
            timestamp: 0,
            event: Some(event.clone()),
        };
        let first = cal::Occurrence::first(version).expect("an event has a first occurrence");
        let first = Occurrence::new(&first, false);
        Self {
            id: first.id,
            title: first.title,
            start: first.start,
            end: first.end,
            all_day: first.all_day,
            recurring: first.recurring,
            tz: first.tz,
            version: hash,
            text: event.text.clone(),
            rrule: event.rrule.clone(),
            except: event.except.iter().map(ToString::to_string).collect(),
            hash,
            views_rebuilt: None,
        }
    }
}

/// `mule cal query`: one line per occurrence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Occurrence {
    /// The event's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Start, RFC 3339 with offset.
    pub start: String,
    /// End, RFC 3339 with offset.
    pub end: String,
    /// Whether it lasts whole days.
    pub all_day: bool,
    /// Whether the event repeats.
    pub recurring: bool,
    /// The event's time zone.
    pub tz: String,
    /// The event version's entry hash.
    pub version: Hash,
    /// Present and true when concurrent edits left several versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<bool>,
}

impl Occurrence {
    /// The report of `occurrence`; `conflict` when its event has several current versions.
    pub fn new(occurrence: &cal::Occurrence, conflict: bool) -> Self {
        serde_json::from_value(occurrence.to_json(conflict))
            .expect("an occurrence has the fields of its report")
    }
}

/// `mule cal export --ics FILE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IcsWritten {
    /// The file.
    pub file: PathBuf,
    /// Events written.
    pub events: u64,
}

/// `mule sync s3://…` (and the other buckets, see [`crate::bucket`]): what a folder sync
/// reports, with its bundles named by their URL in the bucket, and what moved to and from it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct BucketSynced {
    /// The bucket, as given.
    pub bucket: String,
    /// Bundles downloaded, uploaded and deleted.
    #[serde(flatten)]
    pub moved: crate::bucket::Moved,
    /// The sync itself.
    #[serde(flatten)]
    pub sync: crate::folder::Report,
}

/// `mule reindex`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reindexed {
    /// Entries the views were rebuilt from.
    pub entries: u64,
    /// How long it took, in milliseconds.
    pub ms: u64,
}

/// `mule fsck`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Fsck {
    /// What the check found (after repairs, with `--repair`).
    #[serde(flatten)]
    pub report: fsck::Report,
    /// Problems repaired.
    pub repaired: u64,
    /// Whether no problem is left.
    pub clean: bool,
}

/// `mule project create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectCreated {
    /// The project's id.
    pub project: ProjectId,
    /// Its name.
    pub name: String,
    /// The device that created it (this one).
    pub root: AuthorId,
}

/// `mule project invite`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invited {
    /// The invite's text.
    pub invite: String,
    /// The role it gives.
    pub role: Role,
    /// When it expires, seconds since the Unix epoch.
    pub expires: u64,
}

/// `mule project join`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Joined {
    /// The project's id.
    pub project: ProjectId,
    /// Its name.
    pub name: String,
    /// This device's role.
    pub role: Role,
    /// This device's author id.
    pub author: AuthorId,
}

/// `mule project key`: the project's key, as secret as an invite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectKey {
    /// The project's id.
    pub project: ProjectId,
    /// The public key bundles are sealed to (age recipient).
    pub recipient: String,
    /// The secret key (age identity).
    pub identity: String,
}

/// `mule project remove`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Removed {
    /// The device removed.
    pub author: AuthorId,
    /// Its last seq that still counts.
    pub through: u64,
}

/// `mule serve`: a peer whose sync failed (one that succeeded prints a [`live::Report`]).
///
/// [`live::Report`]: crate::live::Report
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerFailed {
    /// The peer's address.
    pub peer_address: SocketAddr,
    /// Why.
    pub error: String,
}

/// Any command that failed, under `--json`: one object on stdout (stderr for `sync -`, whose
/// stdout carries the protocol) instead of the `error:` and `hint:` lines; the exit code is
/// the same. Commands that report per item (`verify`, `import`, `serve`) still print their
/// report, with the failures in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    /// What failed, on one line (the text `error:` prints).
    pub error: String,
    /// What to do next (the text `hint:` prints), null when mule has nothing useful to say.
    pub hint: Option<String>,
}
