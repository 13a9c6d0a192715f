//! Reading bundles: every check bundle-format.md lists, enforced while streaming, so an
//! untrusted file costs at most its declared size and is refused at the first lie.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

use super::{
    BundleId, Error, FORMAT_VERSION, HEADER_LEN, Kind, MAGIC, MAX_ENTRIES, MAX_MANIFEST_LEN,
    MAX_MEMBER_LEN, MAX_MEMBERS, MAX_PAYLOAD, MAX_WINDOW_LOG, Manifest, OBJECTS_FORMAT, Range,
    Reason, SIGNATURE_FRAME_MAGIC, SIGNED_FORMAT, SKIPPABLE_FRAME_MAGIC, TRAILER_LEN,
    payload_limit, sealed,
};
use crate::blob::MAX_OBJECT_LEN;
use crate::id::{AuthorId, Hash};
use crate::progress::Counted;
use crate::segment::Segment;
use crate::store::Verified;
use zstd::stream::read::Decoder;

/// What a read bundle is.
#[derive(Debug, Clone)]
pub struct BundleInfo {
    /// BLAKE3 of the file.
    pub id: BundleId,
    /// Its manifest.
    pub manifest: Manifest,
    /// File size in bytes.
    pub size: u64,
    /// Whether the file is sealed to a project's key (see [`super::sealed`]).
    pub sealed: bool,
}

impl BundleInfo {
    /// Whether the manifest is signed by its sender (format 3 on), so its frontier is the
    /// sender's own word. Only such bundles are read at all when the signature is bad.
    pub fn signed(&self) -> bool {
        self.manifest.format >= SIGNED_FORMAT
    }
}

/// One verified member, handed to the caller as it is read.
#[derive(Debug)]
pub enum Member {
    /// A segment: a run of an author's chain, or a fork branch.
    Segment {
        /// Chain run or fork branch.
        kind: Kind,
        /// The verified segment.
        verified: Verified,
    },
    /// An object (a blob's chunk or chunk list) whose BLAKE3 matched its name.
    Object {
        /// Its BLAKE3.
        hash: Hash,
        /// Its bytes.
        bytes: Vec<u8>,
    },
}

const ZSTD_FRAME_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Reads and verifies the bundle at `path`, passing each verified member to `sink` in archive
/// order. Fails at the first problem; the caller undoes what `sink` did (the store does so by
/// rolling back its transaction). `expected_id`, when given, is the id the file had when it
/// was hashed before; a different result means the file changed meanwhile. A sealed bundle
/// needs `key`, and is authenticated whole before anything in it is parsed.
///
/// Decompression and the archive checks run on one thread, segment verification (decoding,
/// rebuilding canonical bytes, hashing, signatures) on one thread per core, and `sink` on the
/// calling thread, which receives members in archive order.
pub fn read_bundle_with(
    path: &Path,
    key: Option<&age::x25519::Identity>,
    expected_id: Option<BundleId>,
    sink: impl FnMut(Member) -> Result<(), Reason>,
) -> Result<BundleInfo, Error> {
    read_bundle_counting(path, key, expected_id, &AtomicU64::new(0), sink)
}

/// [`read_bundle_with`], adding the bytes of the file read to `read` as it goes (a sealed
/// bundle's bytes are counted as they are decrypted, after it was authenticated whole).
pub(crate) fn read_bundle_counting(
    path: &Path,
    key: Option<&age::x25519::Identity>,
    expected_id: Option<BundleId>,
    read: &AtomicU64,
    sink: impl FnMut(Member) -> Result<(), Reason>,
) -> Result<BundleInfo, Error> {
    let fail = |reason: Reason| Error::new(path, reason);
    let mut file = open_regular(path).map_err(fail)?;
    let size = file.metadata().map_err(|e| fail(e.into()))?.len();
    if !sealed::is_sealed(&mut file).map_err(|e| fail(e.into()))? {
        let source = Counted::new(file, read);
        let (manifest, id) = read_source(source, size, sink).map_err(fail)?;
        if expected_id.is_some_and(|expected| expected != id) {
            return Err(fail(Reason::Changed));
        }
        return Ok(BundleInfo {
            id,
            manifest,
            size,
            sealed: false,
        });
    }
    let key = key
        .ok_or(Reason::Sealed(sealed::Problem::NoKey))
        .map_err(fail)?;
    let first = sealed::authenticate(file, key).map_err(fail)?;
    if expected_id.is_some_and(|expected| expected != first.id) {
        return Err(fail(Reason::Changed));
    }
    let file = Counted::new(open_regular(path).map_err(fail)?, read);
    let plain = sealed::decrypting(BufReader::with_capacity(1 << 16, file), key).map_err(fail)?;
    let (manifest, plain_id) = read_source(plain, first.plain_len, sink).map_err(fail)?;
    // The second pass must read what the first one authenticated.
    if plain_id != first.plain_id {
        return Err(fail(Reason::Changed));
    }
    Ok(BundleInfo {
        id: first.id,
        manifest,
        size,
        sealed: true,
    })
}

/// [`read_bundle_with`] without a project key: sealed bundles are refused.
pub fn read_bundle(
    path: &Path,
    expected_id: Option<BundleId>,
    sink: impl FnMut(Member) -> Result<(), Reason>,
) -> Result<BundleInfo, Error> {
    read_bundle_with(path, None, expected_id, sink)
}

/// Reads a plaintext bundle of `len` bytes from `source`; returns its manifest and BLAKE3.
fn read_source<R: Read + Send>(
    source: R,
    len: u64,
    mut sink: impl FnMut(Member) -> Result<(), Reason>,
) -> Result<(Manifest, BundleId), Reason> {
    let workers = thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    thread::scope(|scope| {
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(workers * 2);
        let (done_tx, done_rx) = mpsc::sync_channel(workers * 2);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let reader = scope.spawn(move || read_archive(source, len, &job_tx));
        for _ in 0..workers {
            let (job_rx, done_tx) = (Arc::clone(&job_rx), done_tx.clone());
            scope.spawn(move || verify_jobs(&job_rx, &done_tx));
        }
        drop((job_rx, done_tx));
        let delivered = deliver_in_order(done_rx, &mut sink);
        let archive = reader.join().expect("the archive reader does not panic");
        delivered.and(archive)
    })
}

/// A member read from the archive, to be verified.
struct Job {
    index: usize,
    name: String,
    what: What,
    bytes: Vec<u8>,
}

/// What a member's name says it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Segment(Range),
    Object(Hash),
}

type Done = (usize, Result<Member, Reason>);

fn verify_jobs(jobs: &Mutex<Receiver<Job>>, done: &SyncSender<Done>) {
    loop {
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let member = match job.what {
            What::Segment(range) => {
                verify_member(&job.name, &range, job.bytes).map(|verified| Member::Segment {
                    kind: range.kind,
                    verified,
                })
            }
            What::Object(hash) if Hash::of(&job.bytes) == hash => Ok(Member::Object {
                hash,
                bytes: job.bytes,
            }),
            What::Object(_) => Err(Reason::Archive(format!(
                "`{}` does not hold the object its name says (BLAKE3 differs)",
                job.name
            ))),
        };
        if done.send((job.index, member)).is_err() {
            return;
        }
    }
}

/// Hands verified members to `sink` in archive order. Returning (on success or at the first
/// error) drops the receiver, which stops the workers and then the archive reader.
fn deliver_in_order(
    done: Receiver<Done>,
    sink: &mut impl FnMut(Member) -> Result<(), Reason>,
) -> Result<(), Reason> {
    let mut pending = BTreeMap::new();
    let mut next = 0;
    for (index, member) in done {
        pending.insert(index, member);
        while let Some(member) = pending.remove(&next) {
            sink(member?)?;
            next += 1;
        }
    }
    Ok(())
}

/// Decompresses and walks the archive, checking everything that does not need a segment
/// decoded, and sends each segment member to the verifiers. Returns the manifest and the
/// file's id once the whole file has been read.
fn read_archive<R: Read>(
    source: R,
    len: u64,
    jobs: &SyncSender<Job>,
) -> Result<(Manifest, BundleId), Reason> {
    let mut reader = HashReader {
        inner: source,
        hasher: blake3::Hasher::new(),
    };
    let version = check_header(&mut reader)?;
    // One frame only: a second frame or a skippable frame after it is trailing data.
    let mut decoder = Decoder::new(reader)?.single_frame();
    decoder.window_log_max(MAX_WINDOW_LOG)?;
    let limit = Rc::new(Cell::new(payload_limit(len)));
    let mut limited = Limited::new(decoder, limit.clone());
    let manifest = read_members(&mut limited, &limit, version, jobs)?;
    let id = finish(limited, &manifest)?;
    Ok((manifest, id))
}

/// Reads only the header and the manifest (for `mule inspect`); the id is computed over the
/// whole file, and a sealed bundle is authenticated whole first.
pub fn read_manifest_with(
    path: &Path,
    key: Option<&age::x25519::Identity>,
) -> Result<BundleInfo, Error> {
    let fail = |reason: Reason| Error::new(path, reason);
    let mut file = open_regular(path).map_err(fail)?;
    let size = file.metadata().map_err(|e| fail(e.into()))?.len();
    let sealed = sealed::is_sealed(&mut file).map_err(|e| fail(e.into()))?;
    let id = match (sealed, key) {
        (false, _) => hash_file(path)?,
        (true, None) => return Err(fail(Reason::Sealed(sealed::Problem::NoKey))),
        (true, Some(key)) => sealed::authenticate(file, key).map_err(fail)?.id,
    };
    let manifest = read_manifest_only_with(path, key)?;
    Ok(BundleInfo {
        id,
        manifest,
        size,
        sealed,
    })
}

/// [`read_manifest_with`] without a project key.
pub fn read_manifest(path: &Path) -> Result<BundleInfo, Error> {
    read_manifest_with(path, None)
}

/// Reads only the header and the manifest, without hashing or verifying the rest. Of a sealed
/// bundle it decrypts only the first chunks, each authenticated on its own (enough for a hint
/// such as which entries a folder already carries).
pub fn read_manifest_only_with(
    path: &Path,
    key: Option<&age::x25519::Identity>,
) -> Result<Manifest, Error> {
    let fail = |reason: Reason| Error::new(path, reason);
    let mut file = open_regular(path).map_err(fail)?;
    if !sealed::is_sealed(&mut file).map_err(|e| fail(e.into()))? {
        return manifest_from(BufReader::new(file)).map_err(fail);
    }
    let key = key
        .ok_or(Reason::Sealed(sealed::Problem::NoKey))
        .map_err(fail)?;
    let plain = sealed::decrypting(BufReader::new(file), key).map_err(fail)?;
    manifest_from(BufReader::new(plain)).map_err(fail)
}

/// [`read_manifest_only_with`] without a project key.
pub fn read_manifest_only(path: &Path) -> Result<Manifest, Error> {
    read_manifest_only_with(path, None)
}

fn manifest_from(mut reader: impl BufRead) -> Result<Manifest, Reason> {
    let version = check_header(&mut reader)?;
    let mut decoder = Decoder::with_buffer(reader)?.single_frame();
    decoder.window_log_max(MAX_WINDOW_LOG)?;
    let limited = Limited::new(decoder, Rc::new(Cell::new(MAX_PAYLOAD)));
    let mut archive = tar::Archive::new(limited);
    let mut entries = archive.entries().map_err(io_reason)?.raw(true);
    read_manifest_member(&mut entries, version)
}

/// Opens a bundle for reading, refusing anything but a regular file: opening a named pipe would
/// wait for a writer forever, and a device or socket is never a bundle. The file is opened
/// without blocking and checked by its open handle, so it cannot be swapped in between.
pub(crate) fn open_regular(path: &Path) -> Result<File, Reason> {
    let mut options = File::options();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        rustix::fs::OFlags::NONBLOCK.bits() as i32,
    );
    let file = options.open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    Err(Reason::NotAFile(describe_file_type(&kind)))
}

/// What a non-regular file is, in words.
fn describe_file_type(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a named pipe";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
    }
    if kind.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

/// BLAKE3 of a file: a bundle's id.
pub fn hash_file(path: &Path) -> Result<BundleId, Error> {
    let file = open_regular(path).map_err(|e| Error::new(path, e))?;
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(file)
        .map_err(|e| Error::new(path, e))?;
    Ok(Hash::from_bytes(*hasher.finalize().as_bytes()))
}

fn check_header(reader: &mut impl Read) -> Result<u64, Reason> {
    let mut header = [0u8; HEADER_LEN];
    if let Err(e) = reader.read_exact(&mut header) {
        return Err(match e.kind() {
            io::ErrorKind::UnexpectedEof => Reason::NotABundle("the file is too short"),
            _ => Reason::Io(e),
        });
    }
    if header[..4] == ZSTD_FRAME_MAGIC {
        return Err(Reason::NotABundle("zstd data without the mule header"));
    }
    if header[..4] != SKIPPABLE_FRAME_MAGIC.to_le_bytes()
        || header[4..8] != 12u32.to_le_bytes()
        || header[8..16] != MAGIC
    {
        return Err(Reason::NotABundle(
            "wrong file type, or damaged by a text-mode copy",
        ));
    }
    let version = u32::from_le_bytes(header[16..].try_into().expect("4 bytes"));
    match u64::from(version) {
        0 => Err(Reason::NotABundle("format version 0 does not exist")),
        v if v > FORMAT_VERSION => Err(Reason::NewerFormat(version)),
        v => Ok(v),
    }
}

fn read_members<R: Read>(
    limited: &mut Limited<R>,
    limit: &Rc<Cell<u64>>,
    version: u64,
    jobs: &SyncSender<Job>,
) -> Result<Manifest, Reason> {
    let mut archive = tar::Archive::new(limited);
    // Raw: PAX and GNU extension headers show up as members of their own and are refused.
    let mut entries = archive.entries().map_err(io_reason)?.raw(true);
    let manifest = read_manifest_member(&mut entries, version)?;
    if manifest.payload > limit.get() {
        return Err(Reason::TooLarge(limit.get()));
    }
    limit.set(manifest.payload);
    let mut ranges = Vec::with_capacity(manifest.segments.len());
    let mut objects = Vec::with_capacity(manifest.objects.len());
    let listed = (manifest.segments.len() as u64).saturating_add(manifest.objects.len() as u64);
    let mut entries_seen = 0u64;
    let mut last_first: BTreeMap<AuthorId, u64> = BTreeMap::new();
    for member in entries {
        let mut member = member.map_err(io_reason)?;
        let name = String::from_utf8_lossy(&member.path_bytes()).into_owned();
        let what = parse_member_name(&name)
            .map(What::Segment)
            .or_else(|| parse_object_name(&name, version).map(What::Object))
            .filter(|_| member.header().entry_type() == tar::EntryType::Regular)
            .ok_or_else(|| Reason::UnexpectedMember(name.clone()))?;
        let index = ranges.len() + objects.len();
        if index as u64 >= MAX_MEMBERS.min(listed) {
            return Err(Reason::ManifestMismatch(format!(
                "the archive holds more than the {} segments and {} objects listed",
                manifest.segments.len(),
                manifest.objects.len()
            )));
        }
        let size = member.size();
        let limit = match what {
            What::Segment(_) => MAX_MEMBER_LEN,
            What::Object(_) => MAX_OBJECT_LEN,
        };
        if size > limit {
            return Err(Reason::MemberTooLarge { name, size, limit });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        member.read_to_end(&mut bytes).map_err(io_reason)?;
        match what {
            What::Segment(range) => {
                if !objects.is_empty() {
                    return Err(Reason::Archive(format!(
                        "`{name}` comes after an object; segments come first"
                    )));
                }
                if range.kind == Kind::Log {
                    let previous = last_first.insert(range.author, range.first);
                    if previous.is_some_and(|p| p > range.first) {
                        return Err(Reason::Archive(format!(
                            "`{name}` comes after a later run of the same author"
                        )));
                    }
                }
                entries_seen = entries_seen.saturating_add(range.len());
                if entries_seen > MAX_ENTRIES {
                    return Err(Reason::ManifestMismatch(format!(
                        "more than {MAX_ENTRIES} entries"
                    )));
                }
                ranges.push(range);
            }
            What::Object(hash) => objects.push(hash),
        }
        let job = Job {
            index,
            name,
            what,
            bytes,
        };
        if jobs.send(job).is_err() {
            // The receiving side stopped at an error of its own, which is the one reported.
            return Err(Reason::Archive("reading stopped".into()));
        }
    }
    if ranges != manifest.segments {
        return Err(Reason::ManifestMismatch(segments_mismatch(
            &manifest.segments,
            &ranges,
        )));
    }
    if objects != manifest.objects {
        return Err(Reason::ManifestMismatch(format!(
            "it lists {} objects, the archive holds {} others or in another order",
            manifest.objects.len(),
            objects.len()
        )));
    }
    if entries_seen != manifest.entries {
        return Err(Reason::ManifestMismatch(format!(
            "it counts {} entries, the archive holds {entries_seen}",
            manifest.entries
        )));
    }
    Ok(manifest)
}

/// `obj/<64 hex>`, in formats that carry objects.
fn parse_object_name(name: &str, version: u64) -> Option<Hash> {
    let hex = name.strip_prefix("obj/")?;
    let hash: Hash = hex.parse().ok()?;
    (version >= OBJECTS_FORMAT && hash.to_hex() == hex).then_some(hash)
}

/// Names the first segment where the manifest and the archive disagree.
fn segments_mismatch(listed: &[Range], held: &[Range]) -> String {
    let runs = |range: &Range| {
        let kind = match range.kind {
            Kind::Log => "",
            Kind::Fork => "fork ",
        };
        let author = range.author.short();
        format!(
            "{kind}seq {}-{} of author {author}",
            range.first, range.last
        )
    };
    let first_difference = listed.iter().zip(held).position(|(a, b)| a != b);
    match first_difference {
        Some(at) => format!(
            "it lists {} where the archive holds {}",
            runs(&listed[at]),
            runs(&held[at])
        ),
        None if listed.len() > held.len() => format!(
            "it lists {}, which the archive lacks",
            runs(&listed[held.len()])
        ),
        None => format!(
            "the archive holds {}, which it does not list",
            runs(&held[listed.len()])
        ),
    }
}

fn read_manifest_member<R: Read>(
    entries: &mut tar::Entries<'_, R>,
    version: u64,
) -> Result<Manifest, Reason> {
    let mut member = entries
        .next()
        .ok_or(Reason::ManifestMissing)?
        .map_err(io_reason)?;
    if member.path_bytes().as_ref() != b"manifest.cbor"
        || member.header().entry_type() != tar::EntryType::Regular
    {
        return Err(Reason::ManifestMissing);
    }
    if member.size() > MAX_MANIFEST_LEN {
        return Err(Reason::MemberTooLarge {
            name: "manifest.cbor".into(),
            size: member.size(),
            limit: MAX_MANIFEST_LEN,
        });
    }
    let mut bytes = Vec::with_capacity(member.size() as usize);
    member.read_to_end(&mut bytes).map_err(io_reason)?;
    let manifest: Manifest = serde_ipld_dagcbor::from_slice(&bytes)
        .map_err(|e| Reason::ManifestMalformed(crate::entry::describe_decode_error(&e)))?;
    if manifest.format != version {
        return Err(Reason::ManifestMismatch(format!(
            "manifest says format {} inside a format {version} file",
            manifest.format
        )));
    }
    if version < OBJECTS_FORMAT && !manifest.objects.is_empty() {
        return Err(Reason::ManifestMismatch(format!(
            "format {version} carries no objects, the manifest lists {}",
            manifest.objects.len()
        )));
    }
    if manifest.payload > MAX_PAYLOAD {
        return Err(Reason::TooLarge(MAX_PAYLOAD));
    }
    Ok(manifest)
}

fn verify_member(name: &str, range: &Range, bytes: Vec<u8>) -> Result<Verified, Reason> {
    let segment_error = |source| Reason::Segment {
        member: name.to_owned(),
        source,
    };
    let segment = Segment::decode(&bytes).map_err(segment_error)?;
    if segment.author != range.author
        || segment.first != range.first
        || segment.last() != range.last
    {
        return Err(Reason::Archive(format!(
            "`{name}` holds author {} seq {}-{}, not what its name says",
            segment.author.short(),
            segment.first,
            segment.last()
        )));
    }
    let hashes = segment.verify().map_err(segment_error)?;
    Ok(Verified {
        segment,
        hashes,
        bytes: Some(bytes),
    })
}

/// Parses `log/<author>/<first>-<last>.cbor` or `fork/...`, accepting only the exact form the
/// writer produces (so `..`, absolute paths, and padded numbers are all refused).
fn parse_member_name(name: &str) -> Option<Range> {
    let (dir, rest) = name.split_once('/')?;
    let kind = match dir {
        "log" => Kind::Log,
        "fork" => Kind::Fork,
        _ => return None,
    };
    let (author, file) = rest.split_once('/')?;
    let (first, last) = file.strip_suffix(".cbor")?.split_once('-')?;
    let range = Range {
        kind,
        author: author.parse().ok()?,
        first: first.parse().ok()?,
        last: last.parse().ok()?,
    };
    (range.first >= 1 && range.first <= range.last && range.member_name() == name).then_some(range)
}

/// Checks what follows the last member: only zero blocks, exactly the declared payload, and
/// nothing after the compressed stream. Returns the file's BLAKE3.
fn finish<R: Read>(
    mut limited: Limited<Decoder<'static, BufReader<HashReader<R>>>>,
    manifest: &Manifest,
) -> Result<BundleId, Reason> {
    let mut block = [0u8; 8192];
    loop {
        let n = limited.read(&mut block).map_err(io_reason)?;
        if n == 0 {
            break;
        }
        if block[..n].iter().any(|b| *b != 0) {
            return Err(Reason::TrailingData);
        }
    }
    if limited.read != manifest.payload {
        return Err(Reason::ManifestMismatch(format!(
            "it declares {} bytes of archive, the file holds {}",
            manifest.payload, limited.read
        )));
    }
    let archive_hash = Hash::from_bytes(*limited.hasher.finalize().as_bytes());
    let mut rest = limited.inner.finish();
    if manifest.format >= SIGNED_FORMAT {
        check_signature(&mut rest, manifest, &archive_hash)?;
    }
    let trailing = io::copy(&mut rest, &mut io::sink()).map_err(Reason::Io)?;
    if trailing > 0 {
        return Err(Reason::TrailingData);
    }
    let hasher = rest.into_inner().hasher;
    Ok(Hash::from_bytes(*hasher.finalize().as_bytes()))
}

/// Reads the signature trailer that follows the archive's zstd frame and checks it against
/// the archive's BLAKE3 and the manifest's sender (bundle-format.md, "Signature trailer").
fn check_signature(
    rest: &mut impl Read,
    manifest: &Manifest,
    archive_hash: &Hash,
) -> Result<(), Reason> {
    let mut trailer = [0u8; TRAILER_LEN];
    rest.read_exact(&mut trailer).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => Reason::SignatureMissing("the file ends before it"),
        _ => Reason::Io(e),
    })?;
    if trailer[..4] != SIGNATURE_FRAME_MAGIC.to_le_bytes()
        || trailer[4..8] != ((TRAILER_LEN - 8) as u32).to_le_bytes()
    {
        return Err(Reason::SignatureMissing(
            "the archive is not followed by a signature frame",
        ));
    }
    let sender = manifest.sender;
    let signature: &[u8; 64] = trailer[40..].try_into().expect("64 bytes");
    if &trailer[8..40] != archive_hash.as_bytes()
        || !crate::keys::verifies(
            &sender,
            &super::write::signature_message(archive_hash),
            signature,
        )
    {
        return Err(Reason::Forged(sender.short()));
    }
    Ok(())
}

pub(super) struct HashReader<R> {
    pub(super) inner: R,
    pub(super) hasher: blake3::Hasher,
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Counts and hashes decompressed bytes, and refuses to produce more than `limit`.
struct Limited<R> {
    inner: R,
    read: u64,
    limit: Rc<Cell<u64>>,
    hasher: blake3::Hasher,
}

impl<R> Limited<R> {
    fn new(inner: R, limit: Rc<Cell<u64>>) -> Self {
        Self {
            inner,
            read: 0,
            limit,
            hasher: blake3::Hasher::new(),
        }
    }
}

#[derive(Debug)]
struct LimitExceeded(u64);

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {} bytes", self.0)
    }
}

impl std::error::Error for LimitExceeded {}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit.get() {
            return Err(io::Error::other(LimitExceeded(self.limit.get())));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn io_reason(e: io::Error) -> Reason {
    if let Some(LimitExceeded(limit)) = e.get_ref().and_then(|e| e.downcast_ref()) {
        return Reason::TooLarge(*limit);
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => Reason::Truncated,
        _ => Reason::Corrupted(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::body_from_json;
    use crate::store::{Draft, Frontier, Store};
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// A small real bundle (bytes), written once for all cases.
    fn sample_bundle() -> &'static [u8] {
        static BUNDLE: OnceLock<Vec<u8>> = OnceLock::new();
        BUNDLE.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let mut store = Store::open(&dir.path().join("s")).unwrap();
            let drafts = (0..50)
                .map(|i| Draft {
                    kind: "kv".into(),
                    body: body_from_json(&serde_json::json!({ "k": i })).unwrap(),
                    links: vec![],
                    timestamp: 1_700_000_000_000 + i,
                })
                .collect();
            store.append(drafts).unwrap();
            let path = dir.path().join("b.mule");
            super::super::write_bundle(&store, &Frontier::new(), &Default::default(), &path, false)
                .unwrap();
            std::fs::read(path).unwrap()
        })
    }

    /// Reads a bundle from bytes; returns its manifest and its members' segment bytes.
    fn read_bytes(bytes: &[u8]) -> Result<(Manifest, Vec<Vec<u8>>), Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.mule");
        std::fs::write(&path, bytes).unwrap();
        let mut members = Vec::new();
        let info = read_bundle(&path, None, |member| {
            if let Member::Segment { verified, .. } = member {
                members.push(verified.bytes.unwrap());
            }
            Ok(())
        })?;
        Ok((info.manifest, members))
    }

    /// A bundle file: the sample's manifest changed by `edit`, then members given as (name,
    /// size the tar header declares, data actually present).
    fn crafted(edit: impl FnOnce(&mut Manifest), members: &[(String, u64, Vec<u8>)]) -> Vec<u8> {
        let (mut manifest, _) = read_bytes(sample_bundle()).unwrap();
        // Written as format 1, which has no signature trailer to recompute.
        manifest.format = 1;
        edit(&mut manifest);
        let cbor = serde_ipld_dagcbor::to_vec(&manifest).unwrap();
        let mut tar = Vec::new();
        let mut add = |name: &str, declared: u64, data: &[u8]| {
            let mut header = tar::Header::new_ustar();
            header.set_path(name).unwrap();
            header.set_size(declared);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            tar.extend_from_slice(header.as_bytes());
            tar.extend_from_slice(data);
            tar.resize(tar.len().div_ceil(512) * 512, 0);
        };
        add("manifest.cbor", cbor.len() as u64, &cbor);
        for (name, declared, data) in members {
            add(name, *declared, data);
        }
        tar.resize(tar.len() + 1024, 0);
        let mut out = super::super::write::header(manifest.format).to_vec();
        out.extend(zstd::encode_all(&tar[..], 3).unwrap());
        out
    }

    /// An acknowledgement (bundle-format.md, "Acknowledgements") holds the manifest alone; the
    /// reader of every format accepts it, and the one mule writes is signed.
    #[test]
    fn a_bundle_without_entries_reads_in_every_format() {
        for format in [1, 2] {
            let bytes = crafted(
                |m| {
                    m.format = format;
                    m.segments.clear();
                    m.entries = 0;
                    // The manifest's block, the end-of-archive blocks.
                    m.payload = 512 + 512 + 1024;
                },
                &[],
            );
            let (manifest, members) = read_bytes(&bytes).unwrap();
            assert!(manifest.is_acknowledgement() && members.is_empty());
        }
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s")).unwrap();
        store
            .append(vec![Draft {
                kind: "kv".into(),
                body: body_from_json(&serde_json::json!({ "k": 1 })).unwrap(),
                links: vec![],
                timestamp: 1_700_000_000_000,
            }])
            .unwrap();
        let written = super::super::write_acknowledgement(&store, dir.path()).unwrap();
        let mut members = 0;
        let info = read_bundle(&written.path, Some(written.id), |_| {
            members += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(members, 0);
        assert!(info.signed() && info.manifest.is_acknowledgement());
        assert_eq!(info.manifest.frontier, store.frontier().unwrap());
    }

    /// A bundle file whose manifest declares `payload` bytes of archive (and holds nothing else).
    fn declaring(payload: u64) -> Vec<u8> {
        crafted(|m| m.payload = payload, &[])
    }

    /// A member name for `first..=last` of the sample's author.
    fn run_name(first: u64, last: u64) -> (Range, String) {
        let (manifest, _) = read_bytes(sample_bundle()).unwrap();
        let range = Range {
            first,
            last,
            ..manifest.segments[0]
        };
        let name = range.member_name();
        (range, name)
    }

    #[test]
    fn a_member_over_the_size_limit_is_refused_by_its_header() {
        let (range, name) = run_name(1, 1);
        let bytes = crafted(
            |m| {
                m.segments = vec![range];
                m.payload = 4096;
            },
            &[(name.clone(), MAX_MEMBER_LEN + 1, vec![0; 100])],
        );
        let error = read_bytes(&bytes).unwrap_err().to_string();
        assert!(
            error.contains(&name) && error.contains(&MAX_MEMBER_LEN.to_string()),
            "{error}"
        );
    }

    #[test]
    fn more_entries_than_the_limit_are_refused_by_the_member_names() {
        let (range, name) = run_name(1, MAX_ENTRIES + 1);
        let bytes = crafted(
            |m| {
                m.segments = vec![range];
                m.entries = MAX_ENTRIES + 1;
                m.payload = 4096;
            },
            &[(name, 8, vec![0; 8])],
        );
        let error = read_bytes(&bytes).unwrap_err().to_string();
        assert!(
            error.contains(&format!("more than {MAX_ENTRIES} entries")),
            "{error}"
        );
    }

    #[test]
    fn a_manifest_claiming_over_1000_times_the_file_is_a_bomb() {
        let small = declaring(5 << 20);
        let limit = payload_limit(small.len() as u64);
        assert!(limit < 5 << 20, "{limit}");
        let error = read_bytes(&small).unwrap_err().to_string();
        assert!(error.contains(&format!("exceeds {limit} bytes")), "{error}");
        assert_eq!(payload_limit(100 << 30), MAX_PAYLOAD);
    }

    /// The sample bundle with its manifest changed by `edit` and then signed by `signer`, or
    /// with its original trailer kept when `signer` is `None`.
    fn resigned(
        edit: impl FnOnce(&mut Manifest),
        signer: Option<&crate::keys::DeviceKey>,
    ) -> Vec<u8> {
        let bytes = sample_bundle();
        let (head, rest) = bytes.split_at(HEADER_LEN);
        let (frame, old_trailer) = rest.split_at(rest.len() - TRAILER_LEN);
        let archive = zstd::decode_all(frame).unwrap();
        let mut members: Vec<(String, Vec<u8>)> = tar::Archive::new(&archive[..])
            .entries()
            .unwrap()
            .map(|m| {
                let mut m = m.unwrap();
                let name = String::from_utf8(m.path_bytes().to_vec()).unwrap();
                let mut data = Vec::new();
                m.read_to_end(&mut data).unwrap();
                (name, data)
            })
            .collect();
        let mut manifest: Manifest = serde_ipld_dagcbor::from_slice(&members[0].1).unwrap();
        edit(&mut manifest);
        members[0].1 = serde_ipld_dagcbor::to_vec(&manifest).unwrap();
        let mut tar = tar::Builder::new(Vec::new());
        for (name, data) in &members {
            let mut header = tar::Header::new_ustar();
            header.set_path(name).unwrap();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(manifest.created / 1000);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            tar.append(&header, &data[..]).unwrap();
        }
        let archive = tar.into_inner().unwrap();
        assert_eq!(
            archive.len() as u64,
            manifest.payload,
            "edits keep the size"
        );
        let mut out = head.to_vec();
        out.extend(zstd::encode_all(&archive[..], 3).unwrap());
        match signer {
            None => out.extend_from_slice(old_trailer),
            Some(key) => {
                let hash = Hash::of(&archive);
                out.extend_from_slice(&old_trailer[..8]);
                out.extend_from_slice(hash.as_bytes());
                out.extend_from_slice(
                    &key.sign_message(&super::super::write::signature_message(&hash)),
                );
            }
        }
        out
    }

    fn refusal(bytes: &[u8]) -> String {
        read_bytes(bytes).unwrap_err().reason.to_string()
    }

    #[test]
    fn a_changed_frontier_breaks_the_senders_signature() {
        let (manifest, _) = read_bytes(sample_bundle()).unwrap();
        let sender = manifest.sender;
        // 50 -> 255 keeps the CBOR integer's width, so the archive keeps its declared size and
        // only the signature can tell.
        let claim = |m: &mut Manifest| {
            m.frontier.insert(sender, 255);
        };
        let error = refusal(&resigned(claim, None));
        assert!(error.contains("signature does not match"), "{error}");
        let stranger = crate::keys::DeviceKey::generate();
        let error = refusal(&resigned(claim, Some(&stranger)));
        assert!(
            error.contains("signature does not match") && error.contains(&sender.short()),
            "{error}"
        );
        // Rebuilt unchanged, the bundle keeps its writer's signature and reads.
        assert!(read_bytes(&resigned(|_| {}, None)).is_ok());
    }

    #[test]
    fn a_signed_format_without_its_trailer_is_refused() {
        let bytes = sample_bundle();
        let cut = &bytes[..bytes.len() - TRAILER_LEN];
        assert!(refusal(cut).contains("signature at the end of the file is missing"));
        let mut junk = cut.to_vec();
        junk.extend_from_slice(&[0x5f, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]);
        assert!(
            refusal(&junk).contains("missing or damaged"),
            "{}",
            refusal(&junk)
        );
        let mut extra = bytes.to_vec();
        extra.push(0);
        assert!(refusal(&extra).contains("unexpected data after the end"));
    }

    #[test]
    fn frontiers_that_no_writer_makes_are_malformed() {
        let pairs = |pairs: Vec<(AuthorId, u64)>| {
            let manifest = serde_ipld_dagcbor::to_vec(&pairs).unwrap();
            let mut de = serde_ipld_dagcbor::de::Deserializer::from_slice(&manifest);
            super::super::frontier_pairs::deserialize(&mut de).map_err(|e| e.to_string())
        };
        let (a, b) = (AuthorId::from_bytes([1; 32]), AuthorId::from_bytes([2; 32]));
        assert!(pairs(vec![(a, 1), (b, 2)]).is_ok());
        assert!(pairs(vec![(a, 1), (a, 2)]).unwrap_err().contains("twice"));
        assert!(
            pairs(vec![(b, 1), (a, 2)])
                .unwrap_err()
                .contains("out of order")
        );
        assert!(
            pairs(vec![(a, u64::MAX)])
                .unwrap_err()
                .contains("above the largest")
        );
    }

    #[test]
    fn sample_bundle_reads() {
        let (manifest, members) = read_bytes(sample_bundle()).unwrap();
        assert_eq!(manifest.entries, 50);
        assert_eq!(members.len(), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// A changed byte is refused, or (in the few bits of a zstd block that do not affect
        /// the output) yields exactly the original contents; it never panics.
        #[test]
        fn a_changed_byte_never_changes_contents(position in any::<prop::sample::Index>(), xor in 1u8..=255) {
            let mut bytes = sample_bundle().to_vec();
            let i = position.index(bytes.len());
            bytes[i] ^= xor;
            if let Ok(read) = read_bytes(&bytes) {
                prop_assert_eq!(read, read_bytes(sample_bundle()).unwrap());
            }
        }

        /// Any truncation is caught, and never panics.
        #[test]
        fn any_truncation_is_rejected(position in any::<prop::sample::Index>()) {
            let bytes = sample_bundle();
            let cut = position.index(bytes.len());
            prop_assert!(read_bytes(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn member_names_are_exact() {
        let author = AuthorId::from_bytes([0xcd; 32]);
        let good = format!("log/{author}/1-20.cbor");
        assert_eq!(parse_member_name(&good).unwrap().last, 20);
        for bad in [
            format!("log/{author}/01-20.cbor"),
            format!("/log/{author}/1-20.cbor"),
            format!("log/../{author}/1-20.cbor"),
            format!("log/{author}/20-1.cbor"),
            format!("log/{author}/0-1.cbor"),
            format!("other/{author}/1-2.cbor"),
            "../../etc/passwd".to_owned(),
            format!("log/{author}/1-2.cbor/x"),
        ] {
            assert!(parse_member_name(&bad).is_none(), "{bad}");
        }
    }
}
