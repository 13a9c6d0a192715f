//! Live replication over any duplex byte stream: a pipe, stdin/stdout, a program such as ssh
//! ([`command`]), TCP, a WebSocket
//! (bundle-format.md, "Live protocol").
//!
//! Both sides run the same [`sync`]: they send a preamble and a hello (protocol version, author,
//! a fresh nonce, frontier), prove their author key by signing the other's nonce, then exchange
//! what the other lacks **as one bundle each, in the v1 bundle format**, so the same
//! verification, deduplication, limits, sealing and project rules apply as to a file on a stick.
//! The side with the smaller author id sends first, then the other: one direction at a time, so
//! no stream needs buffering beyond its own and any half-duplex carrier works. Each side imports
//! what it received, both confirm with their new frontier, and the stream closes.
//!
//! A received bundle is written to a temporary file in the store directory and imported only
//! once it arrived whole; an interrupted sync leaves both stores as they were or with whole
//! bundles applied, and the next sync sends only what is still missing (frontiers say what).

pub mod command;
pub mod lan;
pub mod transport;
pub mod ws;

use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::bundle::{self, Coverage, Summary, frontier_pairs};
use crate::id::AuthorId;
use crate::store::{self, Frontier, Store};

/// Version of the live protocol this mule speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// The first 8 bytes each side sends, then the version as a u32, big-endian.
pub const MAGIC: [u8; 8] = *b"\x89MLIVE\r\n";
/// Largest control frame that carries no frontier (proof, error, bundle header), in bytes.
pub const MAX_CONTROL_LEN: u32 = 4 << 10;
/// Most authors a hello or done frame may list in its frontier.
pub const MAX_FRONTIER_AUTHORS: u32 = 16_384;
/// Largest frame that carries a frontier (hello, done), in bytes: 1 KiB for the rest of the map
/// and 64 bytes per author (a `[author, seq]` pair takes at most 44), for at most
/// [`MAX_FRONTIER_AUTHORS`] authors: 1 MiB + 1 KiB.
pub const MAX_FRONTIER_FRAME_LEN: u32 = 1024 + 64 * MAX_FRONTIER_AUTHORS;
/// Largest bundle one side may send in one sync, in bytes (the format's limit; a receiver may
/// accept less, [`Options::max_bundle`]).
pub const MAX_BUNDLE_LEN: u64 = 16 << 30;
/// The slowest a bundle may travel by default: 1 KiB/s on average over every 30 s window, the
/// first window being the grace period ([`Options::min_rate`]).
pub const DEFAULT_MIN_RATE: MinRate = MinRate {
    bytes_per_sec: 1024,
    window: Duration::from_secs(30),
};
/// Name prefix of the temporary folder a sync keeps in the store directory.
const LIVE_WORK_PREFIX: &str = ".mule-live-";
/// Domain separation of the signature that proves a peer's author key.
const PROOF_CONTEXT: &[u8] = b"mule-live-v1\0";

const HELLO: u8 = b'H';
const PROOF: u8 = b'P';
const BUNDLE: u8 = b'B';
const DONE: u8 = b'D';
const ERROR: u8 = b'E';

/// Why a live sync failed. The store keeps every bundle that arrived whole and nothing else.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The stream failed, closed early, or stalled.
    #[error("{}", io_words(.source, .during))]
    Io {
        /// What the sync was doing.
        during: &'static str,
        /// The failure.
        source: io::Error,
    },
    /// The peer sent something other than the mule live protocol.
    #[error("the peer does not speak the mule live protocol (it sent {0})")]
    NotMule(String),
    /// The peer speaks a newer protocol.
    #[error(
        "the peer speaks live protocol {0}, newer than this mule's {PROTOCOL_VERSION}; upgrade mule on this side"
    )]
    NewerProtocol(u32),
    /// The peer sent a malformed or unexpected frame.
    #[error("the peer broke the protocol: {0}")]
    Malformed(String),
    /// A frame of the peer did not decode.
    #[error("the peer's {what} is malformed: {why}")]
    BadFrame {
        /// Which frame (hello, proof, confirmation).
        what: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// A frontier lists more authors than a hello may carry.
    #[error(
        "a frontier of {0} authors is more than the live protocol carries ({MAX_FRONTIER_AUTHORS}); sync these stores with bundles (mule export, mule import)"
    )]
    TooManyAuthors(usize),
    /// The peer announced a bundle larger than this side accepts.
    #[error("the bundle is {len} bytes; the receiver accepts at most {max} (--max-bundle)")]
    TooBig {
        /// The announced size.
        len: u64,
        /// The most this side accepts.
        max: u64,
    },
    /// A bundle travelled slower than [`Options::min_rate`].
    #[error(
        "the peer was too slow while {during}: less than {} bytes/s over {} s; dropped it",
        .rate.bytes_per_sec,
        .rate.window.as_secs_f64()
    )]
    TooSlow {
        /// What the sync was doing.
        during: &'static str,
        /// The rate it fell below.
        rate: MinRate,
    },
    /// A server dropped the peer before it proved its key (see [`transport::Serve`]).
    #[error("dropped the peer: {0}")]
    Dropped(String),
    /// A server already syncs with as many peers as it may at once.
    #[error("the server is busy: it syncs with {0} peers at once (--max-peers); try again shortly")]
    Busy(usize),
    /// The peer reported an error and stopped.
    #[error("the peer stopped: {0}")]
    Peer(String),
    /// Both ends are the same device.
    #[error("the peer is this same device (author {0}); sync with another store")]
    SameDevice(String),
    /// The peer did not prove it holds its author key.
    #[error("the peer claims author {0} but cannot prove it holds that key")]
    BadProof(String),
    /// The two stores are not in the same project.
    #[error("{0}")]
    Projects(String),
    /// The peer is not on the allow-list.
    #[error("device {0} is not on this side's list of allowed peers")]
    NotAllowed(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The bundle to send could not be written, or the one received was refused.
    #[error("{0}")]
    Bundle(#[from] bundle::Error),
    /// The views could not take in what arrived (the log has it; `mule reindex` retries).
    #[error(transparent)]
    Views(#[from] crate::views::Error),
}

fn io_words(e: &io::Error, during: &str) -> String {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => format!("the peer closed the connection while {during}"),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            format!("the peer went silent while {during} (timed out)")
        }
        _ => format!("connection failed while {during}: {e}"),
    }
}

/// Choices for one sync.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// When set, only these devices may sync (checked after they prove their key).
    pub allow: Option<BTreeSet<AuthorId>>,
    /// Largest bundle the peer may send, in bytes; a larger one is refused before any byte of it
    /// is stored. `None`: half the free space of the store's file system when the bundle is
    /// announced (less what other syncs of this process are receiving), at most
    /// [`MAX_BUNDLE_LEN`].
    pub max_bundle: Option<u64>,
    /// The slowest a bundle may travel, either way, before the peer is dropped.
    pub min_rate: MinRate,
}

/// What one live sync did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The peer's author id (proven).
    pub peer: AuthorId,
    /// Entries sent.
    pub sent: u64,
    /// Bytes of bundle sent.
    pub sent_bytes: u64,
    /// Bytes of bundle received.
    pub received_bytes: u64,
    /// What importing the received bundle did.
    pub received: Summary,
    /// The peer's frontier after it imported what we sent: an object of author id to the
    /// highest seq held, as everywhere else in `--json` (the wire carries it as pairs).
    pub peer_frontier: Frontier,
}

/// The hello each side sends after the preamble.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Hello {
    author: AuthorId,
    #[serde(with = "serde_bytes")]
    nonce: Vec<u8>,
    #[serde(with = "frontier_pairs")]
    frontier: Frontier,
    /// BLAKE3 of `"mule-live-project-v1\0" || project id`, when the store is in a project.
    project: Option<crate::id::Hash>,
}

fn project_tag(project: &crate::project::Project) -> crate::id::Hash {
    let mut bytes = b"mule-live-project-v1\0".to_vec();
    bytes.extend_from_slice(project.id.as_bytes());
    crate::id::Hash::of(&bytes)
}

/// Stores of different projects, or a project store and a plain one, have nothing to give each
/// other: each would refuse the other's bundles. Say so before sending any.
fn check_projects(
    ours: Option<&crate::project::Project>,
    theirs: Option<&crate::id::Hash>,
) -> Result<(), Error> {
    let why = match (ours, theirs) {
        (None, None) => return Ok(()),
        (Some(project), Some(tag)) if project_tag(project) == *tag => return Ok(()),
        (Some(project), None) => format!(
            "the peer's store is not part of project \"{}\"; it can join with an invite (mule project join INVITE)",
            project.name
        ),
        (None, Some(_)) => "the peer's store belongs to a project and this one does not; join the project first (mule project join INVITE)".to_string(),
        (Some(_), Some(_)) => "the peer's store belongs to another project".to_string(),
    };
    Err(Error::Projects(why))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Proof {
    #[serde(with = "serde_bytes")]
    signature: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Done {
    #[serde(with = "frontier_pairs")]
    frontier: Frontier,
}

/// Runs one live sync with the peer at the other end of `stream`.
pub fn sync<S: Read + Write>(
    store: &mut Store,
    stream: &mut S,
    options: &Options,
) -> Result<Report, Error> {
    exchange(store, stream, options).map_err(|e| reason_for_hang_up(stream, e))
}

fn exchange<S: Read + Write>(
    store: &mut Store,
    stream: &mut S,
    options: &Options,
) -> Result<Report, Error> {
    let local = Local::of(store)?;
    let key = store.device_key();
    let theirs = handshake(&local, |m| key.sign_message(m).to_vec(), stream, options)?;
    transfer(store, stream, &theirs, options)
}

/// When the peer hung up while this side was writing, its last words (an error frame it sent
/// before closing) say why better than "broken pipe".
pub(crate) fn reason_for_hang_up<S: Read>(stream: &mut S, error: Error) -> Error {
    let hung_up = matches!(&error, Error::Io { source, .. } if matches!(
        source.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
    ));
    if !hung_up {
        return error;
    }
    // Skips what the peer sent before its error frame (its hello, proof), bounded.
    for _ in 0..4 {
        match read_control(stream, ERROR, "reading why the peer hung up") {
            Err(peer @ Error::Peer(_)) => return peer,
            Err(Error::Malformed(_)) => continue,
            _ => break,
        }
    }
    error
}

/// This side of a handshake: the hello it sends (with its fresh nonce) and its project.
pub(crate) struct Local {
    hello: Hello,
    project: Option<crate::project::Project>,
}

impl Local {
    /// What `store` says in its hello now.
    pub(crate) fn of(store: &Store) -> Result<Self, Error> {
        let mut nonce = vec![0u8; 32];
        getrandom::fill(&mut nonce)
            .map_err(|e| store::Error::Key(crate::keys::Error::Random(e.to_string())))?;
        let project = crate::project::load(store).map_err(|e| Error::Projects(e.to_string()))?;
        let frontier = store.frontier()?;
        if frontier.len() > MAX_FRONTIER_AUTHORS as usize {
            return Err(Error::TooManyAuthors(frontier.len()));
        }
        Ok(Self {
            hello: Hello {
                author: store.author(),
                nonce,
                frontier,
                project: project.as_ref().map(project_tag),
            },
            project,
        })
    }
}

/// Runs the handshake (preamble, hello, proof, allow-list, project) and returns the peer's
/// proven hello. `sign` signs a message with this side's author key. Needs no store: a server
/// opens one only for peers that got through.
pub(crate) fn handshake<S: Read + Write>(
    local: &Local,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
    stream: &mut S,
    options: &Options,
) -> Result<Hello, Error> {
    let own = local.hello.author;
    let mut preamble = MAGIC.to_vec();
    preamble.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    send(stream, "sending the hello", |s| {
        s.write_all(&preamble)?;
        write_frame(s, HELLO, &cbor(&local.hello))
    })?;
    read_preamble(stream)?;
    let theirs: Hello = decode(
        &read_control(stream, HELLO, "waiting for the hello")?,
        "hello",
    )?;
    if theirs.frontier.len() > MAX_FRONTIER_AUTHORS as usize {
        return Err(refuse(stream, Error::TooManyAuthors(theirs.frontier.len())));
    }
    if theirs.author == own {
        return Err(refuse(stream, Error::SameDevice(own.short())));
    }
    let proof = Proof {
        signature: sign(&proof_message(&theirs.nonce, &own)),
    };
    send(stream, "proving this device's key", |s| {
        write_frame(s, PROOF, &cbor(&proof))
    })?;
    let their_proof: Proof = decode(
        &read_control(stream, PROOF, "waiting for the peer's proof")?,
        "proof",
    )?;
    if !proves(
        &theirs.author,
        &proof_message(&local.hello.nonce, &theirs.author),
        &their_proof.signature,
    ) {
        return Err(refuse(stream, Error::BadProof(theirs.author.short())));
    }
    if let Some(allow) = &options.allow
        && !allow.contains(&theirs.author)
    {
        return Err(refuse(stream, Error::NotAllowed(theirs.author.to_hex())));
    }
    if let Err(e) = check_projects(local.project.as_ref(), theirs.project.as_ref()) {
        return Err(refuse(stream, e));
    }
    Ok(theirs)
}

/// After the handshake: one bundle each way, imports, and the confirmations.
pub(crate) fn transfer<S: Read + Write>(
    store: &mut Store,
    stream: &mut S,
    theirs: &Hello,
    options: &Options,
) -> Result<Report, Error> {
    // What a killed sync left behind (its temporary folder) goes after a day.
    crate::fsutil::remove_stale(store.dir(), |name| name.starts_with(LIVE_WORK_PREFIX));
    let work = tempfile::Builder::new()
        .prefix(LIVE_WORK_PREFIX)
        .tempdir_in(store.dir())
        .map_err(|source| Error::Io {
            during: "making room for the bundle",
            source,
        })?;
    // One direction at a time, so neither side's writes can wait on the other's.
    let (sent, received) = if store.author() < theirs.author {
        let sent = send_bundle(store, stream, &theirs.frontier, work.path(), options)?;
        (sent, receive_bundle(stream, work.path(), options)?)
    } else {
        let received = receive_bundle(stream, work.path(), options)?;
        (
            send_bundle(store, stream, &theirs.frontier, work.path(), options)?,
            received,
        )
    };
    let mut summary = Summary::default();
    let received_bytes = match &received {
        Some(received) => {
            let result = bundle::import_bundle(store, &received.path);
            summary.add(&result);
            if let Err(e) = result {
                return Err(refuse(stream, Error::Bundle(e)));
            }
            received.len
        }
        None => 0,
    };
    drop(received);
    let done = Done {
        frontier: store.frontier()?,
    };
    send(stream, "confirming", |s| write_frame(s, DONE, &cbor(&done)))?;
    let their_done: Done = decode(
        &read_control(stream, DONE, "waiting for the peer to confirm")?,
        "confirmation",
    )?;
    Ok(Report {
        peer: theirs.author,
        sent: sent.0,
        sent_bytes: sent.1,
        received_bytes,
        received: summary,
        peer_frontier: their_done.frontier,
    })
}

fn proof_message(nonce: &[u8], author: &AuthorId) -> Vec<u8> {
    let mut message = PROOF_CONTEXT.to_vec();
    message.extend_from_slice(nonce);
    message.extend_from_slice(author.as_bytes());
    message
}

fn proves(author: &AuthorId, message: &[u8], signature: &[u8]) -> bool {
    <[u8; 64]>::try_from(signature)
        .is_ok_and(|signature| crate::keys::verifies(author, message, &signature))
}

/// Tells the peer why this side stops (best effort), and returns the error.
pub(crate) fn refuse<S: Write>(stream: &mut S, error: Error) -> Error {
    let _ = write_frame(stream, ERROR, error.to_string().as_bytes()).and_then(|()| stream.flush());
    error
}

fn send<S: Write>(
    stream: &mut S,
    during: &'static str,
    write: impl FnOnce(&mut S) -> io::Result<()>,
) -> Result<(), Error> {
    write(stream)
        .and_then(|()| stream.flush())
        .map_err(|source| Error::Io { during, source })
}

fn cbor<T: Serialize>(value: &T) -> Vec<u8> {
    serde_ipld_dagcbor::to_vec(value).expect("a protocol message encodes")
}

/// Decodes the peer's `what` (hello, proof...) frame.
fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &'static str) -> Result<T, Error> {
    serde_ipld_dagcbor::from_slice(bytes).map_err(|e| Error::BadFrame {
        what,
        why: cbor_words(&e),
    })
}

/// What is wrong with a CBOR payload, in words: the decoder's messages come out of its `Debug`
/// form, nested (`Msg("Msg(\"missing field `author`\")")`).
fn cbor_words<E: std::fmt::Debug>(e: &serde_ipld_dagcbor::DecodeError<E>) -> String {
    use serde_ipld_dagcbor::DecodeError;
    let mut text = match e {
        DecodeError::Msg(text) => text.clone(),
        DecodeError::Eof { .. } => return "it ends early".into(),
        DecodeError::TrailingData => return "it has bytes after its end".into(),
        other => format!("{other:?}"),
    };
    while let Some(inner) = text
        .strip_prefix("Msg(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
    {
        text = inner.replace("\\\"", "\"").replace("\\\\", "\\");
    }
    text.replace(['\n', '\r'], " ")
}

fn write_frame<W: Write>(stream: &mut W, kind: u8, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(io::Error::other)?;
    stream.write_all(&[kind])?;
    stream.write_all(&len.to_be_bytes())?;
    stream.write_all(payload)
}

fn read_preamble<R: Read>(stream: &mut R) -> Result<(), Error> {
    let during = "waiting for the peer to say hello";
    let mut preamble = [0u8; 12];
    let mut filled = 0;
    while filled < preamble.len() {
        match stream.read(&mut preamble[filled..]) {
            Ok(0) if filled == 0 => {
                let source = io::ErrorKind::UnexpectedEof.into();
                return Err(Error::Io { during, source });
            }
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(Error::Io { during, source }),
        }
        if !MAGIC.starts_with(&preamble[..filled.min(MAGIC.len())]) {
            break;
        }
    }
    if filled < preamble.len() || preamble[..8] != MAGIC {
        return Err(Error::NotMule(printable(&preamble[..filled])));
    }
    let version = u32::from_be_bytes(preamble[8..].try_into().expect("4 bytes"));
    if version > PROTOCOL_VERSION {
        return Err(Error::NewerProtocol(version));
    }
    if version == 0 {
        return Err(Error::Malformed("protocol version 0".into()));
    }
    Ok(())
}

/// Shows what a confused peer sent: text as text, anything else as hex.
fn printable(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing".into();
    }
    match std::str::from_utf8(bytes) {
        Ok(text)
            if text
                .chars()
                .all(|c| !c.is_control() || c == '\n' || c == '\r') =>
        {
            format!("{:?}", text)
        }
        _ => format!("bytes {}", hex::encode(bytes)),
    }
}

/// Reads one frame of `kind`; an error frame from the peer becomes [`Error::Peer`].
fn read_control<R: Read>(stream: &mut R, kind: u8, during: &'static str) -> Result<Vec<u8>, Error> {
    let io = |source| Error::Io { during, source };
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).map_err(io)?;
    let len = u32::from_be_bytes(head[1..].try_into().expect("4 bytes"));
    let limit = match head[0] {
        HELLO | DONE => MAX_FRONTIER_FRAME_LEN,
        _ => MAX_CONTROL_LEN,
    };
    if len > limit {
        let frame = match head[0] {
            HELLO => "a hello frame".to_string(),
            DONE => "a done frame".to_string(),
            PROOF => "a proof frame".to_string(),
            BUNDLE => "a bundle header".to_string(),
            ERROR => "an error frame".to_string(),
            other => format!("a frame of type {}", printable(&[other])),
        };
        return Err(Error::Malformed(format!(
            "{frame} of {len} bytes (the limit is {limit})"
        )));
    }
    // Grows with what arrives, not with what the peer announced.
    let mut payload = Vec::new();
    Read::take(&mut *stream, u64::from(len))
        .read_to_end(&mut payload)
        .map_err(io)?;
    if payload.len() < len as usize {
        return Err(io(io::ErrorKind::UnexpectedEof.into()));
    }
    match head[0] {
        ERROR => Err(Error::Peer(String::from_utf8_lossy(&payload).into_owned())),
        got if got == kind => Ok(payload),
        got => Err(Error::Malformed(format!(
            "expected frame `{}`, got `{}`",
            kind as char,
            printable(&[got])
        ))),
    }
}

/// Writes what the peer lacks as a bundle and streams it. Returns entries and bytes sent.
fn send_bundle<S: Write>(
    store: &Store,
    stream: &mut S,
    peer_frontier: &Frontier,
    work: &Path,
    options: &Options,
) -> Result<(u64, u64), Error> {
    let written = bundle::write_bundle(store, peer_frontier, &Coverage::default(), work, true)?;
    let during = "sending the bundle";
    let io = |source| Error::Io { during, source };
    let Some(written) = written else {
        send(stream, during, |s| {
            write_frame(s, BUNDLE, &0u64.to_be_bytes())
        })?;
        return Ok((0, 0));
    };
    let mut file = std::fs::File::open(&written.path).map_err(|source| Error::Io {
        during: "reading the bundle to send",
        source,
    })?;
    write_frame(stream, BUNDLE, &written.size.to_be_bytes()).map_err(io)?;
    let mut pace = Pace::new(options.min_rate, during);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = read_some(&mut file, &mut buf).map_err(|source| Error::Io {
            during: "reading the bundle to send",
            source,
        })?;
        if n == 0 {
            break;
        }
        stream.write_all(&buf[..n]).map_err(io)?;
        pace.moved(n)?;
    }
    stream.flush().map_err(io)?;
    Ok((written.manifest.entries, written.size))
}

/// Bytes moved at a time while a bundle travels.
const CHUNK: usize = 1 << 16;

/// One read, retried when interrupted.
fn read_some<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

/// A bundle that arrived whole, in the sync's temporary folder.
struct Received {
    path: std::path::PathBuf,
    len: u64,
    /// Its bytes count against the free space other syncs of this process may fill.
    _room: Room,
}

/// Receives the peer's bundle into a file in `work`; `None` when it had nothing to send. A
/// bundle larger than this side accepts is refused before any byte of it is stored.
fn receive_bundle<S: Read + Write>(
    stream: &mut S,
    work: &Path,
    options: &Options,
) -> Result<Option<Received>, Error> {
    let during = "receiving the bundle";
    let header = read_control(stream, BUNDLE, during)?;
    let len = <[u8; 8]>::try_from(header.as_slice())
        .map(u64::from_be_bytes)
        .map_err(|_| Error::Malformed("a bundle header that is not 8 bytes".into()))?;
    if len == 0 {
        return Ok(None);
    }
    if len > MAX_BUNDLE_LEN {
        return Err(Error::Malformed(format!(
            "a bundle of {len} bytes (the limit is {MAX_BUNDLE_LEN})"
        )));
    }
    let room = match Room::take(work, options.max_bundle, len) {
        Ok(room) => room,
        Err(max) => return Err(refuse(stream, Error::TooBig { len, max })),
    };
    let path = work.join("received.mule");
    let store_error = |source| Error::Io {
        during: "storing the received bundle",
        source,
    };
    let mut file = std::fs::File::create(&path).map_err(store_error)?;
    let mut pace = Pace::new(options.min_rate, during);
    let mut buf = vec![0u8; CHUNK];
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match read_some(stream, &mut buf[..want]) {
            Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
            result => result,
        }
        .map_err(|source| Error::Io { during, source })?;
        file.write_all(&buf[..n]).map_err(store_error)?;
        left -= n as u64;
        pace.moved(n)?;
    }
    Ok(Some(Received {
        path,
        len,
        _room: room,
    }))
}

/// The slowest a bundle may travel: a peer that moves fewer than `bytes_per_sec` on average over
/// a `window` is dropped. Each window is judged when it ends, so the first is a grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinRate {
    /// The least average rate, in bytes per second.
    pub bytes_per_sec: u64,
    /// How long each judged stretch of a transfer is.
    pub window: Duration,
}

impl Default for MinRate {
    fn default() -> Self {
        DEFAULT_MIN_RATE
    }
}

/// Watches the pace of one bundle transfer.
struct Pace {
    rate: MinRate,
    during: &'static str,
    since: Instant,
    moved: u64,
}

impl Pace {
    fn new(rate: MinRate, during: &'static str) -> Self {
        Self {
            rate,
            during,
            since: Instant::now(),
            moved: 0,
        }
    }

    /// Counts `n` more bytes; fails once a window ended below the rate.
    fn moved(&mut self, n: usize) -> Result<(), Error> {
        self.moved += n as u64;
        let elapsed = self.since.elapsed();
        if elapsed < self.rate.window {
            return Ok(());
        }
        let least = self.rate.bytes_per_sec as f64 * elapsed.as_secs_f64();
        if (self.moved as f64) < least {
            return Err(Error::TooSlow {
                during: self.during,
                rate: self.rate,
            });
        }
        self.since = Instant::now();
        self.moved = 0;
        Ok(())
    }
}

/// Bytes that the syncs of this process are receiving, not yet counted in the free space.
static RECEIVING: AtomicU64 = AtomicU64::new(0);

/// Room taken for a bundle being received; given back when dropped.
struct Room(u64);

impl Room {
    /// Takes room for `len` bytes in the file system of `dir`, or says the most this side
    /// accepts: `max_bundle` when set, else half the free space less what other syncs are
    /// receiving; never more than [`MAX_BUNDLE_LEN`].
    fn take(dir: &Path, max_bundle: Option<u64>, len: u64) -> Result<Self, u64> {
        let max = max_bundle
            .unwrap_or_else(|| {
                free_space(dir).saturating_sub(RECEIVING.load(Ordering::Relaxed)) / 2
            })
            .min(MAX_BUNDLE_LEN);
        if len > max {
            return Err(max);
        }
        RECEIVING.fetch_add(len, Ordering::Relaxed);
        Ok(Self(len))
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        RECEIVING.fetch_sub(self.0, Ordering::Relaxed);
    }
}

/// Bytes an unprivileged writer may still put in the file system holding `dir` (unknown: no
/// limit but the format's).
fn free_space(dir: &Path) -> u64 {
    crate::fsutil::free_space(dir).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(kind: u8, len: u32) -> Vec<u8> {
        let mut bytes = vec![kind];
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes
    }

    #[test]
    fn an_oversized_frame_is_refused_at_its_head() {
        for (kind, len, words) in [
            (HELLO, 16 << 20, "a hello frame of 16777216 bytes"),
            (DONE, MAX_FRONTIER_FRAME_LEN + 1, "a done frame of"),
            (PROOF, MAX_CONTROL_LEN + 1, "a proof frame of 4097 bytes"),
            (ERROR, 1 << 20, "an error frame of 1048576 bytes"),
        ] {
            let mut bytes = head(kind, len);
            bytes.extend_from_slice(&[0u8; 64]);
            let mut stream = io::Cursor::new(bytes);
            let error = read_control(&mut stream, kind, "testing").unwrap_err();
            assert!(error.to_string().contains(words), "{error}");
            assert!(matches!(error, Error::Malformed(_)), "{error:?}");
            assert_eq!(stream.position(), 5, "nothing of the payload is read");
        }
    }

    #[test]
    fn a_frame_cut_short_is_an_early_end() {
        let mut bytes = head(HELLO, MAX_FRONTIER_FRAME_LEN);
        bytes.extend_from_slice(b"short");
        let error = read_control(&mut io::Cursor::new(bytes), HELLO, "testing").unwrap_err();
        assert!(
            matches!(&error, Error::Io { source, .. } if source.kind() == io::ErrorKind::UnexpectedEof),
            "{error:?}"
        );
    }

    #[test]
    fn a_hello_that_does_not_decode_is_named_in_plain_words() {
        #[derive(Serialize)]
        struct NoAuthor {
            #[serde(with = "serde_bytes")]
            nonce: Vec<u8>,
            frontier: Vec<(AuthorId, u64)>,
            project: Option<crate::id::Hash>,
        }
        let bytes = cbor(&NoAuthor {
            nonce: vec![1; 32],
            frontier: vec![],
            project: None,
        });
        let error = decode::<Hello>(&bytes, "hello").err().expect("refused");
        assert_eq!(
            error.to_string(),
            "the peer's hello is malformed: missing field `author`"
        );
        let error = decode::<Hello>(&bytes[..4], "hello")
            .err()
            .expect("refused");
        assert_eq!(
            error.to_string(),
            "the peer's hello is malformed: it ends early"
        );
    }

    #[test]
    fn room_for_a_bundle_is_its_limit_and_what_others_receive_counts() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Room::take(dir.path(), Some(100), 101).err(), Some(100));
        assert!(Room::take(dir.path(), Some(100), 100).is_ok());
        assert_eq!(
            Room::take(dir.path(), Some(u64::MAX), MAX_BUNDLE_LEN + 1).err(),
            Some(MAX_BUNDLE_LEN)
        );
        let free = free_space(dir.path());
        assert!(free > 0 && free < u64::MAX, "statvfs answers");
        let half = free / 2;
        let err = Room::take(dir.path(), None, half + (64 << 20)).err();
        assert!(err.is_some_and(|max| max <= half), "{err:?}");
    }

    #[test]
    fn a_slow_transfer_fails_once_a_window_ends_below_the_rate() {
        let rate = MinRate {
            bytes_per_sec: 1 << 20,
            window: Duration::ZERO,
        };
        let mut pace = Pace::new(rate, "testing");
        std::thread::sleep(Duration::from_millis(5));
        assert!(matches!(pace.moved(1), Err(Error::TooSlow { .. })));
        let mut pace = Pace::new(DEFAULT_MIN_RATE, "testing");
        assert!(pace.moved(1).is_ok(), "the first window is grace");
    }
}
