//! A replica: the log [`Store`] and the [`Views`] derived from it, behind the one API every
//! front end (the CLI, `mule ui`, a mirror) writes through.
//!
//! The rule "synced means visible" lives here and nowhere else: every write (an append, a
//! kv/map/calendar put, an import, a folder or live sync, a bundle read from QR codes, a project
//! change) brings the views up to date before it returns, so what it added shows in `kv get`,
//! `map query` and `cal query` at once. The other rules a front end must not copy live here
//! too: which entries an export selects, how a frontier is written on a command line, where an
//! invite's text comes from, and whether a failure is a full disk or a read-only store.

use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bundle::{self, Coverage, Imported, Written};
use crate::calendar::event::Event;
use crate::id::ParseIdError;
use crate::live::{self, transport};
use crate::progress::Listener;
use crate::store::{self, Draft, Frontier, Store};
use crate::views::{self, Views, cal, kv, map};
use crate::{AuthorId, Hash, basemap, blob, bucket, folder, fsck, project, qr, report};

mod bulk;
mod geojson;

/// Why a replica operation failed. Each variant carries the failure of the layer below as its
/// source, so a front end can still ask which layer failed (and what to tell the user).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The log store failed.
    #[error("{0}")]
    Store(#[from] store::Error),
    /// The views could not be read or brought up to date (the log has what was written;
    /// `mule reindex` retries).
    #[error("{0}")]
    Views(#[from] views::Error),
    /// A bundle could not be written, read or imported.
    #[error("{0}")]
    Bundle(#[from] bundle::Error),
    /// A folder sync failed.
    #[error("{0}")]
    Folder(#[from] folder::Error),
    /// A bucket could not be read or written.
    #[error("{0}")]
    Bucket(#[from] bucket::Error),
    /// A live sync failed.
    #[error("{0}")]
    Live(#[from] live::Error),
    /// The program carrying a live sync (ssh, `--exec`) failed.
    #[error("{0}")]
    Command(#[from] live::command::Error),
    /// A blob could not be stored.
    #[error("{0}")]
    Blob(#[from] blob::Error),
    /// A basemap could not be read, stored or found.
    #[error("{0}")]
    Basemap(#[from] basemap::Error),
    /// A project operation failed.
    #[error("{0}")]
    Project(#[from] project::Error),
    /// Checking or repairing the store failed.
    #[error("{0}")]
    Fsck(#[from] fsck::Error),
    /// A GeoJSON import is not valid GeoJSON, or a feature is not acceptable; nothing was
    /// imported.
    #[error("{0}")]
    Geojson(#[from] map::MapError),
    /// A line of a bulk append is not a valid entry body; nothing was appended.
    #[error("line {number}: {reason}; nothing was appended")]
    Line {
        /// The line's number, from 1.
        number: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// An entry to write is not acceptable.
    #[error("{0}")]
    Entry(#[from] crate::entry::Error),
    /// A bundle read from QR codes, or a file sent by a page, could not be put beside the
    /// store to import or add it.
    #[error("cannot stage a file in the store folder {} (is the disk full?): {source}", dir.display())]
    Staging {
        /// The store folder.
        dir: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// An export for a peer this store has never heard from.
    #[error("no bundle from peer {0} has been imported here, so what it holds is unknown")]
    UnknownPeer(AuthorId),
    /// A file named as an invite is neither its text nor a picture of its QR code.
    #[error("{}: holds neither an invite's text nor a picture of its QR code", .0.display())]
    NotAnInvite(PathBuf),
    /// A picture named as an invite shows no invite QR code.
    #[error("{}: no invite QR code found in this image", .0.display())]
    NoInviteCode(PathBuf),
}

/// A store and its views. Reads go through [`Replica::store`] and [`Replica::read_views`];
/// every write goes through a method of this type, which catches the views up before it
/// returns.
///
/// Views are derived, so a views file that fails to read (edited by hand, a table dropped, a
/// value of the wrong type) is rebuilt from the log and the read answered from the rebuild; the
/// replica tells its [`Replica::on_note`] listener in one line.
#[derive(Debug)]
pub struct Replica {
    store: Store,
    /// Opened on first use: commands that never read a view leave `views.sqlite` alone.
    views: Option<Views>,
    notes: NoteListener,
    /// Why the views file was rebuilt, when it failed to read.
    views_rebuilt: Option<String>,
}

/// Who hears what a replica did on its own (the library never prints).
struct NoteListener(Box<dyn FnMut(&str)>);

impl std::fmt::Debug for NoteListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoteListener")
    }
}

impl Replica {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        Ok(Self::from_store(Store::open(dir)?))
    }

    /// A replica over an open store.
    pub fn from_store(store: Store) -> Self {
        Self {
            store,
            views: None,
            notes: NoteListener(Box::new(|_| {})),
            views_rebuilt: None,
        }
    }

    /// Why the views file was rebuilt from the log, when it failed to read since this replica
    /// was opened (for a front end's report).
    pub fn views_rebuilt(&self) -> Option<&str> {
        self.views_rebuilt.as_deref()
    }

    /// Sends each one-line note about what the replica did on its own (a damaged views file
    /// rebuilt from the log) to `listen`; a front end shows it to the user.
    pub fn on_note(&mut self, listen: impl FnMut(&str) + 'static) {
        self.notes = NoteListener(Box::new(listen));
    }

    /// The log store, for reading.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The views, brought up to date with the log first.
    pub fn views(&mut self) -> Result<&Views, Error> {
        self.catch_up()?;
        Ok(self.views.as_ref().expect("catch_up opened the views"))
    }

    /// Reads the views (brought up to date first) with `read`; when the views file turns out to
    /// be damaged, rebuilds it from the log and reads again.
    pub fn read_views<T>(
        &mut self,
        read: impl Fn(&Views) -> Result<T, views::Error>,
    ) -> Result<T, Error> {
        match read(self.views()?) {
            Err(damage) if damage.is_damage() => {
                self.rebuild_damaged_views(&damage)?;
                Ok(read(self.views()?)?)
            }
            answer => Ok(answer?),
        }
    }

    /// Brings the views up to date with the log (rebuilding a damaged views file).
    pub fn catch_up(&mut self) -> Result<views::CatchUp, Error> {
        match self.try_catch_up() {
            Err(Error::Views(damage)) if damage.is_damage() => self.rebuild_damaged_views(&damage),
            done => done,
        }
    }

    fn try_catch_up(&mut self) -> Result<views::CatchUp, Error> {
        let views = match &mut self.views {
            Some(views) => views,
            None => self.views.insert(Views::open(self.store.dir())?),
        };
        Ok(views.catch_up(&self.store)?)
    }

    /// Replaces the views file, which failed with `damage`, by a rebuild from the log, and says
    /// so in a note.
    fn rebuild_damaged_views(&mut self, damage: &views::Error) -> Result<views::CatchUp, Error> {
        self.views = None;
        let (views, done) = Views::recreate(&self.store)?;
        self.views = Some(views);
        let note = format!("{damage}; rebuilt the views from the log");
        (self.notes.0)(&note);
        self.views_rebuilt = Some(note);
        Ok(done)
    }

    /// Runs a write on the store, then catches the views up: the one way to change a replica
    /// that has no method of its own here (project changes, for one).
    pub fn write<T, E>(&mut self, op: impl FnOnce(&mut Store) -> Result<T, E>) -> Result<T, Error>
    where
        Error: From<E>,
    {
        self.write_partly(op, |_| true)
    }

    /// [`Replica::write`] for writes that can fail in part (a batch of bundles, a folder sync):
    /// when `complete` says some of it failed, the views catch up only if the log grew, so a
    /// write that changed nothing (on a full disk, say) leaves every file as it was.
    fn write_partly<T, E>(
        &mut self,
        op: impl FnOnce(&mut Store) -> Result<T, E>,
        complete: impl FnOnce(&T) -> bool,
    ) -> Result<T, Error>
    where
        Error: From<E>,
    {
        let _changing = crate::interrupt::changing().map_err(store::Error::from)?;
        let before = self.store.frontier()?;
        let done = op(&mut self.store)?;
        if complete(&done) || self.store.frontier()? != before {
            self.catch_up()?;
        }
        Ok(done)
    }

    /// Appends one entry; returns its hash.
    fn append_one(&mut self, draft: Draft) -> Result<Hash, Error> {
        let hashes = self.append(vec![draft])?;
        Ok(hashes[0])
    }

    /// Puts a value under `key` (`None`: a tombstone), superseding `links`, or the key's current
    /// values when `links` is empty.
    pub fn put_kv(
        &mut self,
        key: &str,
        value: Option<&serde_json::Value>,
        links: Vec<Hash>,
    ) -> Result<Hash, Error> {
        let draft = self.read_views(|views| kv::put_draft(views, key, value, links.clone()))?;
        self.append_one(draft)
    }

    /// Deletes `key`: a tombstone over its current values. Refused when it has none.
    pub fn delete_kv(&mut self, key: &str) -> Result<Hash, Error> {
        self.read_views(|views| views.kv().require(key))?;
        self.put_kv(key, None, Vec::new())
    }

    /// Writes a version of a (normalized) map document, superseding its current versions.
    pub fn put_map(&mut self, doc: &serde_json::Value) -> Result<Hash, Error> {
        let draft = self.read_views(|views| map::put_draft(views, doc))?;
        self.append_one(draft)
    }

    /// Deletes map document `id`: a deletion linking every current version, so it also settles
    /// a fork between an edit and a deletion. Refused ([`views::Error::Missing`]) when no
    /// current version is a document (unknown, or deleted already).
    pub fn delete_map(&mut self, id: &str) -> Result<Hash, Error> {
        let heads = self.read_views(|views| views.map().require(id, true))?;
        if heads.iter().all(|head| head.doc.is_none()) {
            return Err(views::Error::Missing {
                view: views::ViewName::Map,
                key: id.to_owned(),
            }
            .into());
        }
        self.put_map(&serde_json::json!({ "id": id, "deleted": true }))
    }

    /// Writes a version of each (normalized) map document, in one append.
    pub fn put_maps(&mut self, docs: &[serde_json::Value]) -> Result<Vec<Hash>, Error> {
        let drafts = self.read_views(|views| {
            docs.iter()
                .map(|doc| map::put_draft(views, doc))
                .collect::<Result<Vec<_>, _>>()
        })?;
        self.append(drafts)
    }

    /// The newest version of event `id` that is an event (not a removal), if any.
    pub fn event(&mut self, id: &str) -> Result<Option<Event>, Error> {
        let heads = self.read_views(|views| views.cal().heads(id))?;
        Ok(heads.into_iter().find_map(|version| version.event))
    }

    /// Writes a version of event `id` (`None`: removes it), superseding its current versions.
    pub fn put_event(&mut self, id: &str, event: Option<&Event>) -> Result<Hash, Error> {
        let draft = self.read_views(|views| cal::put_draft(views, id, event))?;
        self.append_one(draft)
    }

    /// Stores the file at `path` as a blob and appends the entry naming it.
    pub fn add_blob(
        &mut self,
        path: &Path,
        kind: Option<&str>,
        meta: Option<serde_json::Value>,
    ) -> Result<blob::Added, Error> {
        self.write(|store| blob::add(store, path, kind, meta))
    }

    /// Stores the PMTiles archive at `path` as a blob and records it as the map's basemap
    /// (the kv key [`basemap::KEY`], superseding the basemaps this replica shows).
    pub fn add_basemap(&mut self, path: &Path) -> Result<blob::Added, Error> {
        basemap::check_pmtiles(path)?;
        let added = self.add_blob(path, Some(basemap::BLOB_KIND), None)?;
        let record = basemap::Basemap {
            blob: added.hash,
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            size: added.size,
        };
        let value = serde_json::to_value(&record).expect("a basemap record is JSON");
        self.put_kv(basemap::KEY, Some(&value), Vec::new())?;
        Ok(added)
    }

    /// The map's basemap, the same on every replica, if one is set.
    pub fn basemap(&mut self) -> Result<Option<basemap::Basemap>, Error> {
        Ok(basemap::current(self.views()?)?)
    }

    /// The map's basemap opened for reading tiles, if one is set (refused while its chunks have
    /// not all arrived).
    pub fn basemap_archive(&mut self) -> Result<Option<basemap::Archive<'_>>, Error> {
        let Some(record) = self.basemap()? else {
            return Ok(None);
        };
        Ok(Some(basemap::Archive::open(&self.store, record)?))
    }

    /// Unsets the map's basemap (its blob stays in the store). Refused when none is set.
    pub fn remove_basemap(&mut self) -> Result<Hash, Error> {
        self.delete_kv(basemap::KEY)
    }

    /// Stores `bytes` (a photo sent by a page) as a blob named `name` and appends the entry
    /// naming it. The bytes are staged as a file in a hidden folder of the store, where a blob
    /// is added from, and removed after; `name` keeps only its last path component.
    pub fn add_blob_bytes(
        &mut self,
        name: &str,
        bytes: &[u8],
        kind: Option<&str>,
    ) -> Result<blob::Added, Error> {
        let dir = self.store.dir().to_path_buf();
        let staging = |source| Error::Staging {
            dir: dir.clone(),
            source,
        };
        let staged = tempfile::Builder::new()
            .prefix(".mule-upload-")
            .tempdir_in(&dir)
            .map_err(staging)?;
        let file_name = Path::new(name)
            .file_name()
            .filter(|n| !n.is_empty())
            .unwrap_or("upload".as_ref());
        let path = staged.path().join(file_name);
        std::fs::write(&path, bytes).map_err(staging)?;
        self.add_blob(&path, kind, None)
    }

    /// Imports bundle files (see [`bundle::import_batch`]); one result per file, in order.
    pub fn import(
        &mut self,
        files: &[PathBuf],
    ) -> Result<Vec<Result<Imported, bundle::Error>>, Error> {
        self.import_with_progress(files, &mut |_| {})
    }

    /// [`Replica::import`], telling `progress` how far it is (see
    /// [`bundle::import_files_with_progress`]).
    pub fn import_with_progress(
        &mut self,
        files: &[PathBuf],
        progress: &mut Listener<'_>,
    ) -> Result<Vec<Result<Imported, bundle::Error>>, Error> {
        self.write_partly(
            |store| Ok::<_, Error>(bundle::import_files_with_progress(store, files, progress)),
            |results| results.iter().all(Result::is_ok),
        )
    }

    /// Imports a bundle held in memory (one read back from QR codes): it is staged as a hidden
    /// file in the store folder, where a bundle file is imported from, and removed after.
    pub fn import_bytes(&mut self, bytes: &[u8]) -> Result<Imported, Error> {
        let dir = self.store.dir().to_path_buf();
        let staging = |source| Error::Staging {
            dir: dir.clone(),
            source,
        };
        let mut staged = tempfile::Builder::new()
            .prefix(".mule-qr-")
            .suffix(".mule")
            .tempfile_in(&dir)
            .map_err(staging)?;
        staged.write_all(bytes).map_err(staging)?;
        self.write(|store| bundle::import_bundle(store, staged.path()))
    }

    /// Syncs with a folder of bundles (see [`folder::sync`]).
    pub fn sync_folder(
        &mut self,
        dir: &Path,
        options: &folder::Options,
    ) -> Result<folder::Report, Error> {
        self.sync_folder_with_progress(dir, options, &mut |_| {})
    }

    /// Syncs with a folder of bundles, telling `progress` where it is (see
    /// [`folder::sync_with_progress`]).
    pub fn sync_folder_with_progress(
        &mut self,
        dir: &Path,
        options: &folder::Options,
        progress: &mut dyn FnMut(&folder::Progress),
    ) -> Result<folder::Report, Error> {
        self.write_partly(
            |store| folder::sync_with_progress(store, dir, options, progress),
            |report| report.imported.rejected == 0,
        )
    }

    /// Syncs with a bucket as with a folder (see [`bucket`]): brings the bucket's bundles into
    /// its spool, syncs with the spool, then uploads what the sync wrote and deletes from the
    /// bucket what it removed. The report names bundles by their URL in the bucket.
    pub fn sync_bucket_with_progress(
        &mut self,
        bucket: &bucket::Bucket,
        options: &folder::Options,
        progress: &mut dyn FnMut(&folder::Progress),
    ) -> Result<report::BucketSynced, Error> {
        let Some(_lock) = bucket::lock(self.store.dir(), options.wait)? else {
            return Ok(report::BucketSynced {
                bucket: bucket.url().to_owned(),
                sync: folder::Report {
                    skipped: true,
                    ..folder::Report::default()
                },
                ..report::BucketSynced::default()
            });
        };
        let spool = bucket.spool(self.store.dir());
        let mut moved = bucket::Moved::default();
        let before = bucket.pull(&spool, &mut moved)?;
        let mut sync = self.sync_folder_with_progress(&spool, options, progress)?;
        bucket.push(&spool, &before, &mut moved)?;
        let in_bucket = |path: &PathBuf| {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            PathBuf::from(format!(
                "{}/{}",
                bucket.url().trim_end_matches('/'),
                name.unwrap_or_default()
            ))
        };
        sync.written = sync.written.as_ref().map(in_bucket);
        sync.removed = sync.removed.iter().map(in_bucket).collect();
        Ok(report::BucketSynced {
            bucket: bucket.url().to_owned(),
            moved,
            sync,
        })
    }

    /// Syncs with a peer over a live stream (see [`live::sync`]).
    pub fn live_sync<S: Read + Write>(
        &mut self,
        stream: &mut S,
        options: &live::Options,
    ) -> Result<live::Report, Error> {
        self.write(|store| live::sync(store, stream, options))
    }

    /// Syncs with a peer reached through a program (ssh, `--exec`; see [`live::command`]),
    /// every read waiting at most `timeout`. When the sync fails, the program's exit says why if
    /// it can (ssh could not connect, no mule on the remote side).
    pub fn live_sync_command(
        &mut self,
        peer: &live::command::Peer,
        timeout: Duration,
        options: &live::Options,
    ) -> Result<live::Report, Error> {
        let mut child = peer.spawn(timeout)?;
        let synced = self.live_sync(&mut child, options);
        child.finish(synced.as_ref().err().map(ToString::to_string))?;
        synced
    }

    /// The store's counts, frontier, forks and peers, its incomplete blobs and its project.
    pub fn status(&self) -> Result<report::Status, Error> {
        let incomplete_blobs = blob::list(&self.store)?
            .into_iter()
            .filter(|listed| listed.missing > 0)
            .map(|listed| report::IncompleteBlob {
                hash: listed.blob.hash,
                name: listed.blob.name,
                missing: listed.missing,
                chunks: listed.blob.chunks,
            })
            .collect();
        let project = project::load(&self.store)?.map(|p| report::ProjectRole {
            role: p.role(),
            id: p.id,
            name: p.name,
        });
        Ok(report::Status {
            store: self.store.status()?,
            incomplete_blobs,
            project,
        })
    }

    /// Gives this store a fresh device key (a new author id).
    pub fn new_key(&mut self) -> Result<AuthorId, Error> {
        Ok(self.store.new_key()?)
    }

    /// Checks the store and its views without changing anything (see [`fsck::check`]).
    pub fn check(&self) -> Result<fsck::Report, Error> {
        Ok(fsck::check(&self.store)?)
    }

    /// Repairs what `report` found that derives from the log; returns how many problems.
    pub fn repair(&mut self, report: &fsck::Report) -> Result<usize, Error> {
        Ok(fsck::repair(&mut self.store, report)?)
    }

    /// Writes bundles of what `selection` picks to `output` (a file or a folder).
    pub fn export(
        &self,
        selection: &Selection,
        output: &Path,
        options: &bundle::Options,
    ) -> Result<Vec<Written>, Error> {
        self.export_with_progress(selection, output, options, &mut |_| {})
    }

    /// [`Replica::export`], telling `progress` how far it is (see
    /// [`bundle::write_bundles_with_progress`]).
    pub fn export_with_progress(
        &self,
        selection: &Selection,
        output: &Path,
        options: &bundle::Options,
        progress: &mut Listener<'_>,
    ) -> Result<Vec<Written>, Error> {
        let after = selection.after(&self.store)?;
        let coverage = Coverage::default();
        Ok(bundle::write_bundles_with_progress(
            &self.store,
            &after,
            &coverage,
            output,
            false,
            options,
            progress,
        )?)
    }

    /// One bundle of what `selection` picks, in memory, for a carrier that shows bundles rather
    /// than stores them (QR codes on a screen): the export is split into parts of at most about
    /// `max_size` bytes, each importing on its own, and part `number` (from 0) is read back.
    /// `None` when there is nothing to carry (or no such part). The parts are staged in the
    /// store folder and removed before this returns.
    pub fn export_part(
        &self,
        selection: &Selection,
        max_size: u64,
        number: usize,
    ) -> Result<Option<Part>, Error> {
        let after = selection.after(&self.store)?;
        let dir = self.store.dir();
        let staging = |source| Error::Staging {
            dir: dir.to_path_buf(),
            source,
        };
        let staged = tempfile::Builder::new()
            .prefix(".export-")
            .tempdir_in(dir)
            .map_err(staging)?;
        let options = bundle::Options {
            blobs: true,
            max_size: Some(max_size),
        };
        let written = bundle::write_bundles(
            &self.store,
            &after,
            &Coverage::default(),
            staged.path(),
            true,
            &options,
        )?;
        let parts = written.len();
        let Some(one) = written.into_iter().nth(number) else {
            return Ok(None);
        };
        Ok(Some(Part {
            bytes: std::fs::read(&one.path).map_err(staging)?,
            id: one.id,
            entries: one.manifest.entries,
            number,
            parts,
        }))
    }
}

/// One part of an export, in memory (see [`Replica::export_part`]).
#[derive(Debug, Clone)]
pub struct Part {
    /// The bundle's id: BLAKE3 of its bytes.
    pub id: bundle::BundleId,
    /// Entries it carries.
    pub entries: u64,
    /// The bundle file's bytes.
    pub bytes: Vec<u8>,
    /// Which part it is, from 0.
    pub number: usize,
    /// How many parts the export has.
    pub parts: usize,
}

/// Serves the store in `dir` to live peers on `listener` (see [`transport::serve`]), each peer
/// on its own store handle; the views take in what each peer brought before its sync is
/// reported. A function of the folder, not of a [`Replica`]: a store handle stays on one thread.
pub fn serve<S: Read + Write>(
    dir: &Path,
    listener: &TcpListener,
    settings: &transport::Serve,
    wrap: impl Fn(TcpStream) -> io::Result<S> + Sync,
    report: impl Fn(SocketAddr, Result<live::Report, live::Error>) + Sync,
) -> Result<(), Error> {
    let synced = |store: &Store| -> Result<(), live::Error> {
        Views::open(store.dir())?.catch_up(store)?;
        Ok(())
    };
    transport::serve(dir, listener, settings, wrap, synced, report)?;
    Ok(())
}

/// What an export carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Selection {
    /// What some known peer has not acknowledged yet: nothing when every peer has everything.
    #[default]
    NotAcknowledged,
    /// What this peer has not acknowledged.
    For(AuthorId),
    /// What lies above this frontier.
    Since(Frontier),
    /// Everything.
    All,
}

impl Selection {
    /// The frontier above which the selected entries lie.
    pub fn after(&self, store: &Store) -> Result<Frontier, Error> {
        match self {
            Self::All => Ok(Frontier::new()),
            Self::Since(frontier) => Ok(frontier.clone()),
            Self::For(peer) => store.peer_frontier(peer)?.ok_or(Error::UnknownPeer(*peer)),
            Self::NotAcknowledged => Ok(store.acknowledged_by_all()?),
        }
    }
}

/// Why a frontier written on a command line does not parse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrontierError {
    /// The `{...}` form is not a JSON object of author ids and sequence numbers.
    #[error("not a frontier object: {0}")]
    Json(#[from] serde_json::Error),
    /// A part of the `<id>:<seq>,...` form has no colon.
    #[error("`{0}` is not <author-id>:<seq>")]
    Part(String),
    /// An author id does not parse.
    #[error("{0}")]
    Author(#[from] ParseIdError),
    /// A sequence number does not parse.
    #[error("`{text}`: {source}")]
    Seq {
        /// The text.
        text: String,
        /// Why.
        source: std::num::ParseIntError,
    },
}

/// Reads a frontier as written on a command line: `{"<id>": seq, ...}` or `<id>:<seq>,...`.
pub fn parse_frontier(text: &str) -> Result<Frontier, FrontierError> {
    let text = text.trim();
    if text.starts_with('{') {
        return Ok(serde_json::from_str(text)?);
    }
    text.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (author, seq) = part
                .split_once(':')
                .ok_or_else(|| FrontierError::Part(part.to_owned()))?;
            let seq = seq
                .trim()
                .parse::<u64>()
                .map_err(|source| FrontierError::Seq {
                    text: seq.to_owned(),
                    source,
                })?;
            Ok((author.parse::<AuthorId>()?, seq))
        })
        .collect()
}

/// An invite's text from what a user named: the text itself, a file holding it (a saved
/// message), or an image (photo, screenshot) of its QR code. Reading standard input is the
/// front end's business.
pub fn invite_text(argument: &str) -> Result<String, Error> {
    let path = Path::new(argument);
    if argument.starts_with(project::INVITE_PREFIX) || !path.is_file() {
        return Ok(argument.to_string());
    }
    if let Ok(text) = std::fs::read_to_string(path)
        && text.len() <= project::MAX_INVITE_LEN
        && text.trim_start().starts_with(project::INVITE_PREFIX)
    {
        return Ok(text);
    }
    let image = qr::scan::open_image(path).map_err(|_| Error::NotAnInvite(path.to_path_buf()))?;
    qr::scan::read_codes(&image)
        .into_iter()
        .filter_map(|bytes| String::from_utf8(bytes).ok())
        .find(|text| text.starts_with(project::INVITE_PREFIX))
        .ok_or_else(|| Error::NoInviteCode(path.to_path_buf()))
}

/// Whether an error, or one of its causes, is a full disk or file system (SQLite says so in
/// its own words).
pub fn is_disk_full(e: &(dyn std::error::Error + 'static)) -> bool {
    caused_by(e, io::ErrorKind::StorageFull, rusqlite::ErrorCode::DiskFull)
}

/// Whether an error, or one of its causes, is a file (or file system) that may not be written.
pub fn is_read_only(e: &(dyn std::error::Error + 'static)) -> bool {
    caused_by(
        e,
        io::ErrorKind::ReadOnlyFilesystem,
        rusqlite::ErrorCode::ReadOnly,
    )
}

/// Whether an error, or one of its causes, is a file or folder that is not there (a stick
/// pulled out, a path mistyped).
pub fn is_missing(e: &(dyn std::error::Error + 'static)) -> bool {
    io_caused_by(e, io::ErrorKind::NotFound) || io_caused_by(e, io::ErrorKind::NotADirectory)
}

/// Whether an error, or one of its causes, is a file or folder this user may not write.
pub fn is_permission_denied(e: &(dyn std::error::Error + 'static)) -> bool {
    io_caused_by(e, io::ErrorKind::PermissionDenied)
}

/// Whether an error, or one of its causes, is an I/O error of `kind` or an SQLite error of
/// `code`.
fn caused_by(
    e: &(dyn std::error::Error + 'static),
    kind: io::ErrorKind,
    code: rusqlite::ErrorCode,
) -> bool {
    io_caused_by(e, kind)
        || std::iter::successors(Some(e), |e| e.source()).any(|cause| {
            cause
                .downcast_ref::<rusqlite::Error>()
                .and_then(rusqlite::Error::sqlite_error_code)
                == Some(code)
        })
}

/// Whether an error, or one of its causes, is an I/O error of `kind`.
fn io_caused_by(e: &(dyn std::error::Error + 'static), kind: io::ErrorKind) -> bool {
    std::iter::successors(Some(e), |e| e.source()).any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == kind)
    })
}

impl From<Imported> for report::QrImport {
    /// What an import of rebuilt bytes did (only a folder's bundles are skipped as refused
    /// before or vanish, so those read as already imported too).
    fn from(imported: Imported) -> Self {
        match imported {
            Imported::Applied { outcome, .. } => Self::Applied(outcome),
            Imported::AlreadyImported { .. }
            | Imported::RefusedBefore { .. }
            | Imported::Vanished => Self::AlreadyImported {
                new: 0,
                already_imported: true,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bulk_append_tells_its_progress_per_segment_not_per_entry() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut replica = Replica::open(&dir.path().join("s")).expect("open");
        let input: String = (0..10_000).map(|i| format!("{{\"i\":{i}}}\n")).collect();
        let len = input.len() as u64;
        let mut heard = Vec::new();
        replica
            .append_lines_with_progress("obs", &[], input.as_bytes(), Some(len), &mut |p| {
                heard.push(p.clone());
            })
            .expect("append");
        assert!(heard.len() <= 4, "3 segments and the end: {heard:?}");
        assert!(heard.windows(2).all(|w| w[0].entries <= w[1].entries));
        let done = heard.last().expect("told at the end");
        assert_eq!(
            (done.entries, done.bytes, done.bytes_total),
            (10_000, len, Some(len))
        );
    }

    #[test]
    fn a_frontier_reads_in_both_forms() {
        let id = AuthorId::from_bytes([7; 32]);
        let colon = parse_frontier(&format!("{id}:3,")).expect("colon form");
        let json = parse_frontier(&format!("{{\"{id}\": 3}}")).expect("json form");
        assert_eq!(colon, json);
        assert_eq!(colon[&id], 3);
        assert!(matches!(
            parse_frontier("nonsense"),
            Err(FrontierError::Part(_))
        ));
        assert!(matches!(
            parse_frontier(&format!("{id}:x")),
            Err(FrontierError::Seq { .. })
        ));
    }

    #[test]
    fn a_failed_import_that_changed_nothing_leaves_the_views_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = dir.path().join("store");
        let broken = dir.path().join("broken.mule");
        std::fs::write(&broken, b"not a bundle").expect("write");
        let mut replica = Replica::open(&store).expect("open");
        let results = replica.import(&[broken]).expect("import");
        assert!(results[0].is_err());
        assert!(!store.join(views::VIEWS_FILE).exists());
    }

    #[test]
    fn an_export_part_imports_elsewhere_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut replica = Replica::open(&dir.path().join("a")).expect("open");
        let all = |replica: &Replica, number| {
            replica
                .export_part(&Selection::All, 1 << 20, number)
                .expect("export")
        };
        assert!(
            all(&replica, 0).is_none(),
            "an empty store has nothing to carry"
        );
        for n in 0..3 {
            replica
                .put_kv(&format!("k{n}"), Some(&serde_json::json!(n)), Vec::new())
                .expect("put");
        }
        let files = |dir: &Path| std::fs::read_dir(dir).expect("list").count();
        let before = files(&dir.path().join("a"));
        let part = all(&replica, 0).expect("a bundle");
        assert_eq!((part.entries, part.number, part.parts), (3, 0, 1));
        assert_eq!(part.id, Hash::of(&part.bytes));
        assert_eq!(
            files(&dir.path().join("a")),
            before,
            "the staged files are gone"
        );
        assert!(all(&replica, 1).is_none(), "there is one part");
        let mut other = Replica::open(&dir.path().join("b")).expect("open");
        other.import_bytes(&part.bytes).expect("import");
        assert_eq!(other.store().status().expect("status").entries, 3);
    }

    #[test]
    fn a_folder_that_is_not_there_is_told_from_other_failures() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut replica = Replica::open(&dir.path().join("store")).expect("open");
        let options = folder::Options::default();
        let pulled = replica
            .sync_folder(&dir.path().join("pulled-out"), &options)
            .expect_err("no folder");
        assert!(is_missing(&pulled));
        assert!(!is_permission_denied(&pulled) && !is_disk_full(&pulled));
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"").expect("write");
        let not_a_folder = replica.sync_folder(&file, &options).expect_err("a file");
        assert!(is_missing(&not_a_folder), "{not_a_folder}");
    }

    #[test]
    fn a_write_makes_what_it_added_visible() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut replica = Replica::open(dir.path()).expect("open");
        let value = serde_json::json!("dry");
        let hash = replica
            .put_kv("well-7", Some(&value), Vec::new())
            .expect("put");
        let fresh = Views::open(dir.path()).expect("views");
        let values = fresh.kv().get("well-7").expect("get");
        assert_eq!(values.len(), 1);
        assert_eq!(values[0].hash, hash);
        assert!(matches!(
            replica.delete_map("well-8"),
            Err(Error::Views(views::Error::Missing {
                view: views::ViewName::Map,
                ..
            }))
        ));
        assert!(matches!(
            replica.delete_kv("well-8"),
            Err(Error::Views(views::Error::Missing { view: views::ViewName::Kv, key })) if key == "well-8"
        ));
    }

    #[test]
    fn deleting_a_map_document_settles_a_fork_with_a_deletion_and_is_refused_after() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut replica = Replica::open(dir.path()).expect("open");
        let point = serde_json::json!({"id": "p", "type": "node", "lat": 1.0, "lon": 2.0});
        let deletion = serde_json::json!({"id": "p", "deleted": true});
        // Two heads that do not link each other: an edit and a deletion, as a sync leaves them.
        let drafts = [&point, &deletion]
            .into_iter()
            .map(|doc| Draft {
                kind: map::KIND.into(),
                body: crate::entry::body_from_json(doc).expect("a JSON body"),
                links: Vec::new(),
                timestamp: store::now_ms(),
            })
            .collect();
        replica.append(drafts).expect("append");
        let heads = |replica: &mut Replica| {
            replica
                .read_views(|views| views.map().heads("p"))
                .expect("heads")
                .len()
        };
        assert_eq!(heads(&mut replica), 2);
        replica
            .delete_map("p")
            .expect("a current version is a document");
        assert_eq!(heads(&mut replica), 1, "the deletion links both");
        assert!(matches!(
            replica.delete_map("p"),
            Err(Error::Views(views::Error::Missing { .. }))
        ));
    }
}
