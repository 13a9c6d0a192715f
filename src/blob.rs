//! Attachments: files (photos, map tiles, PDFs) stored as content-defined chunks, so that a
//! byte already held or already sent is never sent again (bundle-format.md, "Blobs").
//!
//! `add` cuts a file with FastCDC (16 KiB minimum, 64 KiB average, 256 KiB maximum chunks), so
//! an edit changes only the chunks around it. Each chunk is an **object** named by its BLAKE3;
//! the ordered list of a file's chunks is an object too (36-byte records: chunk hash, u32 LE
//! length). The log gets one entry of kind [`KIND`] naming the file's BLAKE3 (its **root**), its
//! size and its list. Entries travel as always; objects travel in bundles beside them, each at
//! most once per destination, and an entry whose objects have not all arrived is visible and
//! says what is missing.
//!
//! Objects live in pack files (`packs/<n>.pack` in the store directory: each object
//! zstd-compressed, one after another) indexed by the `objects_v1` table; one `add` or one
//! import writes one pack, fsyncs it, and only then records its objects.

use std::collections::{BTreeSet, HashSet};
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::entry::body_from_json;
use crate::fault::{self, Point};
use crate::fsutil::{self, AtomicFile};
use crate::id::{AuthorId, Hash, HashPrefix, Resolved};
use crate::store::{self, Draft, Frontier, ObjectLocation, Store, now_ms};

/// Kind of the entries that name a blob.
pub const KIND: &str = "blob";
/// Smallest chunk FastCDC cuts (but the last).
pub const MIN_CHUNK: usize = 16 << 10;
/// Average chunk size FastCDC aims for.
pub const AVG_CHUNK: usize = 64 << 10;
/// Largest chunk FastCDC cuts.
pub const MAX_CHUNK: usize = 256 << 10;
/// Largest object (a chunk, or a chunk list of a file up to ~15 GB) a bundle may carry.
pub const MAX_OBJECT_LEN: u64 = 8 << 20;
/// Bytes per record in a chunk list: the chunk's BLAKE3 and its length (u32 LE).
pub const LIST_RECORD_LEN: usize = 36;
/// zstd level objects are kept at in pack files.
const PACK_LEVEL: i32 = 1;
/// Folder of pack files inside a store directory.
pub const PACKS_DIR: &str = "packs";

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// Appending the entry failed.
    #[error(transparent)]
    Entry(#[from] crate::entry::Error),
    /// No entry names this blob.
    #[error("no blob {0} in this store (`mule blob ls` lists them)")]
    Unknown(String),
    /// A prefix that several blobs' hashes start with.
    #[error("`{prefix}` is the start of {} blobs' hashes ({}); give more characters", matches.len(), hex_list(matches))]
    Ambiguous {
        /// The prefix given.
        prefix: String,
        /// The hashes it starts.
        matches: Vec<Hash>,
    },
    /// Some chunks have not arrived.
    #[error(
        "blob {root} is incomplete: {missing} of {chunks} chunks have not arrived yet; sync again with a store that has it"
    )]
    Incomplete {
        /// The blob.
        root: String,
        /// Chunks missing.
        missing: u64,
        /// Chunks in all.
        chunks: u64,
    },
    /// A stored object does not match its hash: the pack file was damaged.
    #[error("{}: object {hash} is damaged ({why}); `mule fsck` checks every object", path.display())]
    Damaged {
        /// The pack file.
        path: PathBuf,
        /// The object.
        hash: String,
        /// What is wrong.
        why: String,
    },
    /// A blob too large to hold in memory for the asker.
    #[error(
        "blob {root} has {size} bytes, more than the {limit} this may read at once; use `mule blob get` to write it to a file"
    )]
    TooLarge {
        /// The blob.
        root: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// `--meta` is not a JSON object.
    #[error("--meta must be a JSON object, such as '{{\"site\": \"well-7\"}}'")]
    Meta,
}

/// The body of a blob entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlobEntry {
    /// BLAKE3 of the whole file.
    pub hash: Hash,
    /// Its size in bytes.
    pub size: u64,
    /// The object listing its chunks.
    pub list: Hash,
    /// How many chunks.
    pub chunks: u64,
    /// The file's name when it was added.
    pub name: String,
    /// What it is, as the user said (`--kind`): photo, tile, audio...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Anything else the user attached (`--meta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
}

/// What `add` did for one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Added {
    /// The blob's root hash.
    pub hash: Hash,
    /// The entry that names it.
    pub entry: Hash,
    /// Size of the file.
    pub size: u64,
    /// Chunks in the file.
    pub chunks: u64,
    /// Chunks this store did not hold before.
    pub new_chunks: u64,
    /// Bytes of those chunks.
    pub new_bytes: u64,
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Stores the file at `path` and appends the entry that names it.
pub fn add(
    store: &mut Store,
    path: &Path,
    kind: Option<&str>,
    meta: Option<serde_json::Value>,
) -> Result<Added, Error> {
    if meta.as_ref().is_some_and(|m| !m.is_object()) {
        return Err(Error::Meta);
    }
    store.check_home()?;
    let file = File::open(path).map_err(io_at(path))?;
    let pack = PackWriter::create(store.dir())?;
    // This thread cuts, hashes and looks chunks up; a second one compresses and writes them.
    let (to_pack, packing) = std::sync::mpsc::sync_channel::<(Hash, Vec<u8>)>(16);
    let (cut, pack) = std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> Result<PackWriter, Error> {
            let mut pack = pack;
            for (hash, bytes) in packing {
                pack.add(&hash, &bytes)?;
            }
            Ok(pack)
        });
        let cut = cut_file(store, path, file, &to_pack);
        drop(to_pack);
        let pack = writer.join().expect("the pack writer does not panic");
        (cut, pack)
    });
    let mut pack = pack?;
    let Cut {
        root,
        list,
        size,
        new_chunks,
        new_bytes,
    } = cut?;
    let list_hash = Hash::of(&list);
    if !store.holds_object(&list_hash)? {
        pack.add(&list_hash, &list)?;
    }
    pack.commit(store)?;
    let chunks = (list.len() / LIST_RECORD_LEN) as u64;
    let body = BlobEntry {
        hash: root,
        size,
        list: list_hash,
        chunks,
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        kind: kind.map(str::to_owned),
        meta,
    };
    let json = serde_json::to_value(&body).expect("a blob entry is JSON");
    let entry = store.append(vec![Draft {
        kind: KIND.into(),
        body: body_from_json(&json)?,
        links: vec![],
        timestamp: now_ms(),
    }])?[0];
    Ok(Added {
        hash: body.hash,
        entry,
        size,
        chunks,
        new_chunks,
        new_bytes,
    })
}

/// What cutting a file found.
struct Cut {
    root: Hash,
    list: Vec<u8>,
    size: u64,
    new_chunks: u64,
    new_bytes: u64,
}

/// Cuts `file` into chunks, hashes them and the whole file, builds the chunk list, and sends the
/// chunks the store does not hold (each once) to `to_pack`. Stops early if the pack writer
/// stopped (its error is the one reported).
fn cut_file(
    store: &Store,
    path: &Path,
    file: File,
    to_pack: &std::sync::mpsc::SyncSender<(Hash, Vec<u8>)>,
) -> Result<Cut, Error> {
    let mut root = blake3::Hasher::new();
    let mut list = Vec::new();
    let (mut size, mut new_chunks, mut new_bytes) = (0u64, 0u64, 0u64);
    let mut seen = HashSet::new();
    let chunker = fastcdc::v2020::StreamCDC::new(
        BufReader::with_capacity(1 << 20, file),
        MIN_CHUNK,
        AVG_CHUNK,
        MAX_CHUNK,
    );
    for chunk in chunker {
        let chunk = chunk.map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: io::Error::other(e),
        })?;
        root.update(&chunk.data);
        let hash = Hash::of(&chunk.data);
        let len = chunk.data.len() as u64;
        size += len;
        list.extend_from_slice(hash.as_bytes());
        list.extend_from_slice(&(len as u32).to_le_bytes());
        if seen.insert(hash) && !store.holds_object(&hash)? {
            if to_pack.send((hash, chunk.data)).is_err() {
                break;
            }
            new_chunks += 1;
            new_bytes += len;
        }
    }
    Ok(Cut {
        root: Hash::from_bytes(*root.finalize().as_bytes()),
        list,
        size,
        new_chunks,
        new_bytes,
    })
}

/// Appends objects to a new pack file; [`PackWriter::finish`] makes them durable and records
/// them (in the caller's transaction when importing).
pub struct PackWriter {
    number: i64,
    path: PathBuf,
    file: Option<BufWriter<fault::Writer<File>>>,
    offset: u64,
    objects: Vec<(Hash, u64, u64)>,
    kept: bool,
}

impl Drop for PackWriter {
    /// A pack that was not finished (a failed add or import) is removed: its objects were never
    /// recorded, so nothing refers to it.
    fn drop(&mut self) {
        if !self.kept {
            drop(self.file.take());
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl PackWriter {
    /// Opens a new pack file in the store directory `dir`.
    pub fn create(dir: &Path) -> Result<Self, Error> {
        let packs = dir.join(PACKS_DIR);
        fs::create_dir_all(&packs).map_err(io_at(&packs))?;
        loop {
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes).map_err(|e| Error::Io {
                path: packs.clone(),
                source: io::Error::other(e.to_string()),
            })?;
            let number = i64::from_le_bytes(bytes) & i64::MAX;
            let path = packs.join(format!("{number:016x}.pack"));
            match File::options().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(Self {
                        number,
                        path,
                        file: Some(BufWriter::with_capacity(
                            1 << 20,
                            fault::Writer::new(file, Point::PackWrite),
                        )),
                        offset: 0,
                        objects: Vec::new(),
                        kept: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_at(&path)(e)),
            }
        }
    }

    /// Adds an object (its hash already known to match `bytes`).
    pub fn add(&mut self, hash: &Hash, bytes: &[u8]) -> Result<(), Error> {
        let packed = zstd::bulk::compress(bytes, PACK_LEVEL).map_err(io_at(&self.path))?;
        let file = self
            .file
            .as_mut()
            .expect("a pack being written has its file");
        file.write_all(&packed).map_err(io_at(&self.path))?;
        self.objects.push((*hash, self.offset, packed.len() as u64));
        self.offset += packed.len() as u64;
        Ok(())
    }

    /// Flushes and fsyncs the pack, then records its objects with `record` (pack number, and
    /// hash, offset and packed length of each object: [`Store::record_objects`] or
    /// [`store::Import::record_objects`]); returns how many were new. An empty pack is removed
    /// instead.
    pub fn finish(
        mut self,
        record: impl FnOnce(i64, &[(Hash, u64, u64)]) -> Result<u64, store::Error>,
    ) -> Result<u64, Error> {
        if self.objects.is_empty() {
            return Ok(0);
        }
        let path = self.path.clone();
        let file = self
            .file
            .take()
            .expect("a pack being written has its file")
            .into_inner()
            .map_err(|e| io_at(&path)(e.into_error()))?
            .into_inner();
        fsutil::sync_file(&file, Point::PackWrite).map_err(io_at(&path))?;
        if let Some(dir) = path.parent() {
            fsutil::sync_dir(dir).map_err(io_at(dir))?;
        }
        let added = record(self.number, &self.objects)?;
        self.kept = true;
        Ok(added)
    }

    /// The pack file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn commit(self, store: &Store) -> Result<u64, Error> {
        self.finish(|pack, objects| store.record_objects(pack, objects))
    }
}

/// Reads the object `hash` from the store and checks it.
pub fn read_object(store: &Store, hash: &Hash) -> Result<Option<Vec<u8>>, Error> {
    ObjectReader::new(store).read(hash, None, true)
}

/// Reads objects one after another, keeping the last pack file open and one decompressor.
struct ObjectReader<'a> {
    store: &'a Store,
    open: Option<(i64, File)>,
    decompressor: zstd::bulk::Decompressor<'static>,
}

impl<'a> ObjectReader<'a> {
    fn new(store: &'a Store) -> Self {
        Self {
            store,
            open: None,
            decompressor: zstd::bulk::Decompressor::new().expect("a zstd decompressor starts"),
        }
    }

    /// The object's bytes; `len`, when known, sizes the buffer. With `check`, they are checked
    /// against the hash (a caller that checks the whole file's hash anyway may skip it).
    fn read(
        &mut self,
        hash: &Hash,
        len: Option<usize>,
        check: bool,
    ) -> Result<Option<Vec<u8>>, Error> {
        let Some(ObjectLocation {
            pack,
            offset,
            len: packed_len,
        }) = self.store.object_location(hash)?
        else {
            return Ok(None);
        };
        let path = self
            .store
            .dir()
            .join(PACKS_DIR)
            .join(format!("{pack:016x}.pack"));
        let damaged = |why: String| Error::Damaged {
            path: path.clone(),
            hash: hash.short(),
            why,
        };
        if self.open.as_ref().is_none_or(|(open, _)| *open != pack) {
            self.open = Some((pack, File::open(&path).map_err(io_at(&path))?));
        }
        let (_, file) = self.open.as_mut().expect("opened above");
        file.seek(SeekFrom::Start(offset)).map_err(io_at(&path))?;
        let mut packed = vec![0u8; packed_len as usize];
        file.read_exact(&mut packed)
            .map_err(|e| damaged(e.to_string()))?;
        let capacity = len.unwrap_or(MAX_OBJECT_LEN as usize);
        let bytes = self
            .decompressor
            .decompress(&packed, capacity)
            .map_err(|e| damaged(e.to_string()))?;
        if check && Hash::of(&bytes) != *hash {
            return Err(damaged("its content does not match its hash".into()));
        }
        Ok(Some(bytes))
    }
}

/// The chunks a list object names, in order.
pub fn parse_list(list: &[u8]) -> Option<Vec<(Hash, u32)>> {
    if !list.len().is_multiple_of(LIST_RECORD_LEN) {
        return None;
    }
    Some(
        list.chunks_exact(LIST_RECORD_LEN)
            .map(|record| {
                let hash = Hash::from_slice(&record[..32]).expect("32 bytes");
                let len = u32::from_le_bytes(record[32..].try_into().expect("4 bytes"));
                (hash, len)
            })
            .collect(),
    )
}

/// One blob entry in the log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Listed {
    /// The entry's author.
    pub author: AuthorId,
    /// Its seq.
    pub seq: u64,
    /// What it says.
    #[serde(flatten)]
    pub blob: BlobEntry,
    /// Chunks not held (all of them while the list itself is missing).
    pub missing: u64,
    /// Which objects are missing (the list's hash alone while the list itself is missing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_objects: Vec<Hash>,
}

/// Every blob the log names (once per hash, as its first entry names it), with how many of its
/// chunks are missing.
pub fn list(store: &Store) -> Result<Vec<Listed>, Error> {
    let mut listed = Vec::new();
    let mut seen = HashSet::new();
    for (author, seq, blob) in entries(store, &Frontier::new())? {
        if !seen.insert(blob.hash) {
            continue;
        }
        let mut missing_objects = missing_objects(store, &blob)?;
        let missing = missing_objects.len() as u64;
        missing_objects.dedup();
        listed.push(Listed {
            author,
            seq,
            blob,
            missing,
            missing_objects,
        });
    }
    Ok(listed)
}

/// The blob entries above `after` (per author), in log order.
pub fn entries(store: &Store, after: &Frontier) -> Result<Vec<(AuthorId, u64, BlobEntry)>, Error> {
    let mut found = Vec::new();
    store.entries_of_kind(after, KIND, |entry| {
        let blob = entry
            .body_json()
            .ok()
            .and_then(|json| serde_json::from_value::<BlobEntry>(json).ok());
        if let Some(blob) = blob {
            found.push((entry.author, entry.seq, blob));
        }
    })?;
    Ok(found)
}

/// The objects of `blob` (its list, then its chunks) this store does not hold. Without the list,
/// only the list is known to be missing, and the count is that of all chunks.
pub fn missing_objects(store: &Store, blob: &BlobEntry) -> Result<Vec<Hash>, Error> {
    let Some(list) = read_object(store, &blob.list)? else {
        return Ok(vec![blob.list; blob.chunks.max(1) as usize]);
    };
    let mut missing = Vec::new();
    for (hash, _) in parse_list(&list).unwrap_or_default() {
        if !store.holds_object(&hash)? {
            missing.push(hash);
        }
    }
    Ok(missing)
}

/// The objects of `blob` this store holds, with their lengths: its list, then its chunks in
/// order (each once).
pub fn objects_of(store: &Store, blob: &BlobEntry) -> Result<Vec<(Hash, u64)>, Error> {
    let Some(list) = read_object(store, &blob.list)? else {
        return Ok(Vec::new());
    };
    let mut objects = vec![(blob.list, list.len() as u64)];
    let mut seen = BTreeSet::new();
    for (hash, len) in parse_list(&list).unwrap_or_default() {
        if seen.insert(hash) && store.holds_object(&hash)? {
            objects.push((hash, u64::from(len)));
        }
    }
    Ok(objects)
}

/// The objects a destination holding `after` (per author) lacks, for the blob entries above
/// it: each once, and none that an entry at or below `after` already brought there.
pub fn export_objects(store: &Store, after: &Frontier) -> Result<Vec<(Hash, u64)>, Error> {
    if !store.holds_any_object()? {
        return Ok(Vec::new());
    }
    let mut theirs = HashSet::new();
    let mut wanted = Vec::new();
    let mut seen = HashSet::new();
    for (author, seq, blob) in entries(store, &Frontier::new())? {
        let objects = objects_of(store, &blob)?;
        if seq <= after.get(&author).copied().unwrap_or(0) {
            theirs.extend(objects.into_iter().map(|(hash, _)| hash));
        } else {
            wanted.extend(objects.into_iter().filter(|(hash, _)| seen.insert(*hash)));
        }
    }
    wanted.retain(|(hash, _)| !theirs.contains(hash));
    Ok(wanted)
}

/// The blob whose hash starts with `prefix` (as people abbreviate hashes): an error when no
/// blob's does, or several do (naming them).
pub fn resolve(store: &Store, prefix: &HashPrefix) -> Result<Hash, Error> {
    let hashes = entries(store, &Frontier::new())?
        .into_iter()
        .map(|(_, _, blob)| blob.hash);
    match prefix.resolve(hashes) {
        Resolved::One(hash) => Ok(hash),
        Resolved::None => Err(Error::Unknown(prefix.to_string())),
        Resolved::Ambiguous(matches) => Err(Error::Ambiguous {
            prefix: prefix.to_string(),
            matches,
        }),
    }
}

/// Hashes for a message, comma-separated.
fn hex_list(hashes: &[Hash]) -> String {
    hashes
        .iter()
        .map(Hash::to_hex)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes blob `root` to `out` (atomically: a temporary file renamed into place once durable)
/// and checks it byte for byte against its BLAKE3.
pub fn get(store: &Store, root: &Hash, out: &Path) -> Result<BlobEntry, Error> {
    let blob = complete_entry(store, root)?;
    let mut reader = ObjectReader::new(store);
    let list = reader.read(&blob.list, None, true)?.unwrap_or_default();
    let dir = fsutil::folder_of(out);
    if !dir.is_dir() {
        let source = io::Error::new(io::ErrorKind::NotFound, "this folder does not exist");
        return Err(io_at(&dir)(source));
    }
    let mut temp = AtomicFile::create_in(&dir, Point::BlobGet).map_err(io_at(&dir))?;
    // This thread finds and decompresses chunks; a second one hashes and writes them.
    let (to_write, writing) = std::sync::mpsc::sync_channel::<Vec<u8>>(16);
    let file = &mut temp;
    let (read, written) = std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> io::Result<blake3::Hasher> {
            let mut hasher = blake3::Hasher::new();
            let mut writer = BufWriter::with_capacity(1 << 20, file);
            for chunk in writing {
                hasher.update(&chunk);
                writer.write_all(&chunk)?;
            }
            writer.flush()?;
            Ok(hasher)
        });
        let read = (|| {
            for (hash, len) in parse_list(&list).unwrap_or_default() {
                // The whole file's BLAKE3 is checked below; each chunk's would only repeat it.
                let chunk = reader
                    .read(&hash, Some(len as usize), false)?
                    .ok_or_else(|| Error::Incomplete {
                        root: root.short(),
                        missing: 1,
                        chunks: blob.chunks,
                    })?;
                if to_write.send(chunk).is_err() {
                    break;
                }
            }
            Ok::<_, Error>(())
        })();
        drop(to_write);
        (read, writer.join().expect("the blob writer does not panic"))
    });
    let hasher = written.map_err(io_at(out))?;
    read?;
    if Hash::from_bytes(*hasher.finalize().as_bytes()) != *root {
        return Err(Error::Damaged {
            path: out.to_path_buf(),
            hash: root.short(),
            why: "the chunks put together do not match the blob's hash".into(),
        });
    }
    temp.commit(out).map_err(io_at(out))?;
    Ok(blob)
}

/// The entry naming blob `root`, when every object of it has arrived.
fn complete_entry(store: &Store, root: &Hash) -> Result<BlobEntry, Error> {
    let blob = entries(store, &Frontier::new())?
        .into_iter()
        .map(|(_, _, blob)| blob)
        .find(|blob| blob.hash == *root)
        .ok_or_else(|| Error::Unknown(root.to_hex()))?;
    let missing = missing_objects(store, &blob)?;
    if !missing.is_empty() {
        return Err(Error::Incomplete {
            root: root.short(),
            missing: missing.len() as u64,
            chunks: blob.chunks,
        });
    }
    Ok(blob)
}

/// Blob `root`, whole in memory and checked against its BLAKE3, for a front end that serves
/// it (a photo in `mule ui`); refused with [`Error::TooLarge`] when its entry says it is over
/// `limit` bytes, before anything is read.
pub fn read(store: &Store, root: &Hash, limit: u64) -> Result<(BlobEntry, Vec<u8>), Error> {
    let blob = complete_entry(store, root)?;
    if blob.size > limit {
        return Err(Error::TooLarge {
            root: root.short(),
            size: blob.size,
            limit,
        });
    }
    let mut reader = ObjectReader::new(store);
    let list = reader.read(&blob.list, None, true)?.unwrap_or_default();
    let mut bytes = Vec::with_capacity(usize::try_from(blob.size).unwrap_or_default());
    for (hash, len) in parse_list(&list).unwrap_or_default() {
        let chunk = reader.read(&hash, Some(len as usize), false)?;
        bytes.extend(chunk.ok_or_else(|| Error::Incomplete {
            root: root.short(),
            missing: 1,
            chunks: blob.chunks,
        })?);
        if bytes.len() as u64 > limit {
            break;
        }
    }
    if Hash::of(&bytes) != *root {
        return Err(Error::Damaged {
            path: store.dir().join(PACKS_DIR),
            hash: root.short(),
            why: "the chunks put together do not match the blob's hash".into(),
        });
    }
    Ok((blob, bytes))
}

/// A complete blob opened for reading parts of it: its chunks and where each starts.
pub struct Ranged {
    /// The blob's entry.
    pub blob: BlobEntry,
    chunks: Vec<(u64, Hash, u32)>,
}

impl Ranged {
    /// Opens blob `root` (refused when unknown or incomplete), reading only its chunk list.
    pub fn open(store: &Store, root: &Hash) -> Result<Self, Error> {
        let blob = complete_entry(store, root)?;
        let list = ObjectReader::new(store)
            .read(&blob.list, None, true)?
            .unwrap_or_default();
        let mut start = 0u64;
        let chunks = parse_list(&list)
            .unwrap_or_default()
            .into_iter()
            .map(|(hash, len)| {
                let at = start;
                start += u64::from(len);
                (at, hash, len)
            })
            .collect();
        Ok(Self { blob, chunks })
    }

    /// Bytes `offset..offset + len`, reading and checking only the chunks they lie in; fewer
    /// (none) where the range passes the blob's end. The caller bounds `len`.
    pub fn read(&self, store: &Store, offset: u64, len: u64) -> Result<Vec<u8>, Error> {
        let end = offset.saturating_add(len).min(self.blob.size);
        let first = self
            .chunks
            .partition_point(|(at, _, len)| at + u64::from(*len) <= offset);
        let mut reader = ObjectReader::new(store);
        let mut bytes = Vec::new();
        for (at, hash, chunk_len) in self.chunks[first..].iter().take_while(|(at, ..)| *at < end) {
            let chunk = reader
                .read(hash, Some(*chunk_len as usize), true)?
                .ok_or_else(|| Error::Incomplete {
                    root: self.blob.hash.short(),
                    missing: 1,
                    chunks: self.blob.chunks,
                })?;
            let from = offset.saturating_sub(*at) as usize;
            let to = ((end - at) as usize).min(chunk.len());
            bytes.extend_from_slice(chunk.get(from..to).unwrap_or_default());
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_reads_whole_up_to_its_limit_and_is_refused_past_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(&dir.path().join("store")).expect("store");
        let file = dir.path().join("photo.jpg");
        // Several chunks, so the read puts them together in order.
        let bytes: Vec<u8> = (0..300_000u32).flat_map(u32::to_le_bytes).collect();
        fs::write(&file, &bytes).expect("write");
        let added = add(&mut store, &file, Some("photo"), None).expect("add");
        assert!(added.chunks > 1, "{added:?}");
        let (entry, read) = read(&store, &added.hash, bytes.len() as u64).expect("read");
        assert_eq!(entry.name, "photo.jpg");
        assert!(read == bytes, "the same bytes, in order");
        assert!(matches!(
            super::read(&store, &added.hash, bytes.len() as u64 - 1),
            Err(Error::TooLarge { size, .. }) if size == bytes.len() as u64
        ));
        assert!(matches!(
            super::read(&store, &Hash::of(b"nothing"), 10),
            Err(Error::Unknown(_))
        ));
        let ranged = Ranged::open(&store, &added.hash).expect("open");
        let size = bytes.len() as u64;
        for (offset, len) in [(0, 10), (70_000, 200_000), (size - 5, 100), (size + 9, 4)] {
            let end = (offset + len).min(size).max(offset.min(size)) as usize;
            let expected = &bytes[(offset.min(size) as usize)..end];
            assert!(ranged.read(&store, offset, len).expect("range") == expected);
        }
    }
}
