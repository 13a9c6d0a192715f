//! Live replication over any duplex byte stream: a pipe, stdin/stdout, TCP, a WebSocket
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

pub mod lan;
pub mod transport;
pub mod ws;

use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::path::Path;

use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::bundle::{self, Coverage, Summary, frontier_pairs};
use crate::id::AuthorId;
use crate::store::{self, Frontier, Store};

/// Version of the live protocol this mule speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// The first 8 bytes each side sends, then the version as a u32, big-endian.
pub const MAGIC: [u8; 8] = *b"\x89MLIVE\r\n";
/// Largest control frame (hello, proof, done, error), in bytes.
pub const MAX_CONTROL_LEN: u32 = 16 << 20;
/// Largest bundle one side may send in one sync, in bytes.
pub const MAX_BUNDLE_LEN: u64 = 16 << 30;
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
}

/// What one live sync did.
#[derive(Debug, Clone, Serialize)]
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
    /// The peer's frontier after it imported what we sent.
    #[serde(with = "frontier_pairs")]
    pub peer_frontier: Frontier,
}

/// The hello each side sends after the preamble.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Hello {
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

/// When the peer hung up while this side was writing, its last words (an error frame it sent
/// before closing) say why better than "broken pipe".
fn reason_for_hang_up<S: Read>(stream: &mut S, error: Error) -> Error {
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

fn exchange<S: Read + Write>(
    store: &mut Store,
    stream: &mut S,
    options: &Options,
) -> Result<Report, Error> {
    let mut nonce = vec![0u8; 32];
    getrandom::fill(&mut nonce)
        .map_err(|e| store::Error::Key(crate::keys::Error::Random(e.to_string())))?;
    let own = store.author();
    let project = crate::project::load(store).map_err(|e| Error::Projects(e.to_string()))?;
    let hello = Hello {
        author: own,
        nonce: nonce.clone(),
        frontier: store.frontier()?,
        project: project.as_ref().map(project_tag),
    };
    let mut preamble = MAGIC.to_vec();
    preamble.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    send(stream, "sending the hello", |s| {
        s.write_all(&preamble)?;
        write_frame(s, HELLO, &cbor(&hello))
    })?;
    read_preamble(stream)?;
    let theirs: Hello = decode(&read_control(stream, HELLO, "waiting for the hello")?)?;
    if theirs.author == own {
        return Err(refuse(stream, Error::SameDevice(own.short())));
    }
    let proof = Proof {
        signature: store
            .device_key()
            .sign_message(&proof_message(&theirs.nonce, &own))
            .to_vec(),
    };
    send(stream, "proving this device's key", |s| {
        write_frame(s, PROOF, &cbor(&proof))
    })?;
    let their_proof: Proof = decode(&read_control(
        stream,
        PROOF,
        "waiting for the peer's proof",
    )?)?;
    if !proves(
        &theirs.author,
        &proof_message(&nonce, &theirs.author),
        &their_proof.signature,
    ) {
        return Err(refuse(stream, Error::BadProof(theirs.author.short())));
    }
    if let Some(allow) = &options.allow
        && !allow.contains(&theirs.author)
    {
        return Err(refuse(stream, Error::NotAllowed(theirs.author.to_hex())));
    }
    if let Err(e) = check_projects(project.as_ref(), theirs.project.as_ref()) {
        return Err(refuse(stream, e));
    }
    // What a killed sync left behind (its temporary folder) goes after a day.
    crate::folder::remove_stale(store.dir(), |name| name.starts_with(LIVE_WORK_PREFIX));
    let work = tempfile::Builder::new()
        .prefix(LIVE_WORK_PREFIX)
        .tempdir_in(store.dir())
        .map_err(|source| Error::Io {
            during: "making room for the bundle",
            source,
        })?;
    // One direction at a time, so neither side's writes can wait on the other's.
    let (sent, received) = if own < theirs.author {
        let sent = send_bundle(store, stream, &theirs.frontier, work.path())?;
        (sent, receive_bundle(stream, work.path())?)
    } else {
        let received = receive_bundle(stream, work.path())?;
        (
            send_bundle(store, stream, &theirs.frontier, work.path())?,
            received,
        )
    };
    let mut summary = Summary::default();
    let received_bytes = match &received {
        Some((path, len)) => {
            let result = bundle::import_bundle(store, path);
            summary.add(&result);
            if let Err(e) = result {
                return Err(refuse(stream, Error::Bundle(e)));
            }
            *len
        }
        None => 0,
    };
    let done = Done {
        frontier: store.frontier()?,
    };
    send(stream, "confirming", |s| write_frame(s, DONE, &cbor(&done)))?;
    let their_done: Done = decode(&read_control(
        stream,
        DONE,
        "waiting for the peer to confirm",
    )?)?;
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
    let Ok(signature) = <[u8; 64]>::try_from(signature) else {
        return false;
    };
    VerifyingKey::from_bytes(author.as_bytes()).is_ok_and(|key| {
        key.verify_strict(message, &Signature::from_bytes(&signature))
            .is_ok()
    })
}

/// Tells the peer why this side stops (best effort), and returns the error.
fn refuse<S: Write>(stream: &mut S, error: Error) -> Error {
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

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, Error> {
    serde_ipld_dagcbor::from_slice(bytes).map_err(|e| Error::Malformed(e.to_string()))
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
    if len > MAX_CONTROL_LEN {
        return Err(Error::Malformed(format!(
            "a frame of {len} bytes (the limit is {MAX_CONTROL_LEN})"
        )));
    }
    let mut payload = vec![0u8; len as usize];
    stream.read_exact(&mut payload).map_err(io)?;
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
) -> Result<(u64, u64), Error> {
    let written = bundle::write_bundle(store, peer_frontier, &Coverage::default(), work, true)?;
    let during = "sending the bundle";
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
    send(stream, during, |s| {
        write_frame(s, BUNDLE, &written.size.to_be_bytes())?;
        io::copy(&mut file, s).map(drop)
    })?;
    Ok((written.manifest.entries, written.size))
}

/// Receives the peer's bundle into a file in `work`; `None` when it had nothing to send.
fn receive_bundle<S: Read>(
    stream: &mut S,
    work: &Path,
) -> Result<Option<(std::path::PathBuf, u64)>, Error> {
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
    let path = work.join("received.mule");
    let mut file = std::fs::File::create(&path).map_err(|source| Error::Io {
        during: "storing the received bundle",
        source,
    })?;
    let mut buf = vec![0u8; 1 << 16];
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match stream.read(&mut buf[..want]) {
            Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => Err(e),
        }
        .map_err(|source| Error::Io { during, source })?;
        file.write_all(&buf[..n]).map_err(|source| Error::Io {
            during: "storing the received bundle",
            source,
        })?;
        left -= n as u64;
    }
    Ok(Some((path, len)))
}

/// Views take in what a sync brought, as after an import.
pub fn catch_up_views(store: &Store) -> Result<(), Error> {
    crate::views::Views::open(store.dir())?.catch_up(store)?;
    Ok(())
}
