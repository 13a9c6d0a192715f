//! Bundles: the files that carry entries between stores (bundle-format.md).
//!
//! A bundle is a zstd skippable frame holding the mule magic, then a zstd stream of a ustar
//! archive whose first member is `manifest.cbor` and whose other members are segments:
//! `log/<author>/<first>-<last>.cbor` for runs of an author's chain and
//! `fork/<author>/<first>-<last>.cbor` for branches that contradict it. `tar --zstd -tvf`
//! lists it. The bundle's id is BLAKE3 of the whole file.
//!
//! The constants below are specified in bundle-format.md, sections "Header" and "Limits";
//! the manifest in "Manifest"; the checks a reader makes in "What a reader checks, in order".

mod coverage;
mod import;
mod read;
pub mod sealed;
mod write;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::id::{AuthorId, Hash};
use crate::store::{self, Frontier};

pub use coverage::Coverage;
pub use import::{
    Imported, Summary, bundle_files, import_batch, import_bundle, import_files_with_progress,
    import_from_folder,
};
pub use read::{
    BundleInfo, Member, hash_file, read_bundle, read_bundle_with, read_manifest,
    read_manifest_only, read_manifest_only_with, read_manifest_with,
};
pub use write::{
    Options, Written, write_acknowledgement, write_bundle, write_bundles,
    write_bundles_with_progress,
};

/// Newest format version this mule reads, and the one it writes (bundle-format.md, "Version
/// changes"). Formats 1 and 2 are still read; their manifests are unsigned.
pub const FORMAT_VERSION: u64 = 3;
/// The first format that may carry objects (blob chunks).
pub const OBJECTS_FORMAT: u64 = 2;
/// The first format whose bundles end with the sender's signature (bundle-format.md,
/// "Signature trailer"); a reader believes a manifest's frontier only from such a bundle.
pub const SIGNED_FORMAT: u64 = 3;
/// Magic number of the zstd skippable frame that closes a signed bundle.
pub const SIGNATURE_FRAME_MAGIC: u32 = 0x184D_2A5F;
/// Length of the signature trailer: frame magic, frame size, the archive's BLAKE3, the
/// signature.
pub const TRAILER_LEN: usize = 8 + 32 + 64;
/// Domain separation of the bundle signature: the signed message is this followed by the
/// BLAKE3 of the uncompressed archive.
pub const SIGNATURE_CONTEXT: &[u8] = b"mule-bundle-v3\0";
/// Highest seq a frontier or segment range may name: the store keeps seqs as SQLite integers.
pub const MAX_SEQ: u64 = i64::MAX as u64;
/// The 8 bytes inside the leading skippable frame: PNG-style, so text-mode transfers and CRLF
/// conversion that would damage the file are caught at once.
pub const MAGIC: [u8; 8] = *b"\x89MULE\r\n\x1a";
/// Magic number of the zstd skippable frame that opens a bundle.
pub const SKIPPABLE_FRAME_MAGIC: u32 = 0x184D_2A5E;
/// Length of the header: skippable frame magic, frame size, [`MAGIC`], format version (u32 LE).
pub const HEADER_LEN: usize = 20;
/// Largest manifest member, in bytes.
pub const MAX_MANIFEST_LEN: u64 = 64 << 20;
/// Largest segment member, in bytes.
pub const MAX_MEMBER_LEN: u64 = 16 << 20;
/// Most entries one bundle may carry.
pub const MAX_ENTRIES: u64 = 10_000_000;
/// Most members one bundle may hold.
pub const MAX_MEMBERS: u64 = 1_000_000;
/// Largest uncompressed archive, in bytes.
pub const MAX_PAYLOAD: u64 = 8 << 30;
/// Largest ratio of uncompressed archive to bundle file: mule's bundles compress about 4:1,
/// so a file that claims or yields 1,000 times its size is a decompression bomb.
pub const MAX_RATIO: u64 = 1000;

/// Most uncompressed bytes a bundle file of `file_len` bytes may yield: [`MAX_RATIO`] times its
/// size plus 1 MiB of slack for tiny bundles, never more than [`MAX_PAYLOAD`].
pub fn payload_limit(file_len: u64) -> u64 {
    file_len
        .saturating_mul(MAX_RATIO)
        .saturating_add(1 << 20)
        .min(MAX_PAYLOAD)
}
/// zstd level used for writing.
pub const ZSTD_LEVEL: i32 = 3;
/// Largest zstd window a reader accepts (log2 bytes).
pub const MAX_WINDOW_LOG: u32 = 27;
/// File name extension of bundles.
pub const EXTENSION: &str = "mule";

/// Which part of an author's history a segment member carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A run of the author's chain.
    Log,
    /// A branch contradicting the chain another run carries (a fork).
    Fork,
}

impl Kind {
    fn dir(self) -> &'static str {
        match self {
            Kind::Log => "log",
            Kind::Fork => "fork",
        }
    }
}

/// One segment member as the manifest lists it; travels as the array
/// `[kind, author, first, last]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Range {
    /// Chain run or fork branch.
    pub kind: Kind,
    /// The author.
    pub author: AuthorId,
    /// First seq.
    pub first: u64,
    /// Last seq.
    pub last: u64,
}

impl Serialize for Range {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.kind, &self.author, self.first, self.last).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Range {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (kind, author, first, last) = Deserialize::deserialize(d)?;
        // Ranges hold at least one entry, from seq 1 on; `len` relies on it.
        if first == 0 || last < first || last > MAX_SEQ {
            return Err(serde::de::Error::custom(format!(
                "segment range {first}-{last} is not 1 <= first <= last <= {MAX_SEQ}"
            )));
        }
        Ok(Self {
            kind,
            author,
            first,
            last,
        })
    }
}

impl Range {
    /// Entries in the range.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Never true: ranges hold at least one entry. (Present for clippy's `len_without_is_empty`.)
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The member name in the archive.
    pub fn member_name(&self) -> String {
        format!(
            "{}/{}/{}-{}.cbor",
            self.kind.dir(),
            self.author,
            self.first,
            self.last
        )
    }
}

/// The first member of every bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version ([`FORMAT_VERSION`]).
    pub format: u64,
    /// The exporting store's author id.
    pub sender: AuthorId,
    /// When the bundle was written, milliseconds since the Unix epoch.
    pub created: u64,
    /// The sender's whole frontier at export time: an acknowledgement of what it holds.
    #[serde(with = "frontier_pairs")]
    pub frontier: Frontier,
    /// The segment members, in archive order.
    pub segments: Vec<Range>,
    /// Entries in all segment members.
    pub entries: u64,
    /// Size of the uncompressed archive in bytes.
    pub payload: u64,
    /// The object members (blob chunks and chunk lists), in archive order after the segments;
    /// format 2 and later.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<Hash>,
}

impl Manifest {
    /// Whether the bundle carries nothing but its sender's word: no segments and no objects
    /// (bundle-format.md, "Acknowledgements").
    pub fn is_acknowledgement(&self) -> bool {
        self.segments.is_empty() && self.objects.is_empty()
    }
}

/// A frontier travels as an array of `[author, seq]` pairs (DAG-CBOR map keys must be text).
pub(crate) mod frontier_pairs {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(frontier: &Frontier, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(frontier.iter())
    }

    /// Refuses what no writer produces: authors out of order or repeated (which a map would
    /// silently merge), and seqs no store can hold.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Frontier, D::Error> {
        let pairs: Vec<(AuthorId, u64)> = Vec::deserialize(d)?;
        for pair in pairs.windows(2) {
            if pair[0].0 >= pair[1].0 {
                return Err(serde::de::Error::custom(format!(
                    "frontier names author {} {}",
                    pair[1].0.short(),
                    if pair[0].0 == pair[1].0 {
                        "twice"
                    } else {
                        "out of order (authors must be sorted)"
                    }
                )));
            }
        }
        if let Some((author, seq)) = pairs.iter().find(|(_, seq)| *seq > MAX_SEQ) {
            return Err(serde::de::Error::custom(format!(
                "frontier gives author {} seq {seq}, above the largest possible {MAX_SEQ}",
                author.short()
            )));
        }
        Ok(pairs.into_iter().collect())
    }
}

/// Why a bundle could not be read, written or accepted. Displayed as one line that names the
/// file and the reason.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct Error {
    /// The bundle file.
    pub path: PathBuf,
    /// What is wrong.
    #[source]
    pub reason: Box<Reason>,
}

/// What is wrong with a bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Reason {
    /// The file could not be read or written.
    #[error("{0}")]
    Io(#[source] std::io::Error),
    /// The path is a named pipe, a device, a socket or a folder, not a bundle file.
    #[error("{0}, not a bundle file (refused without reading it)")]
    NotAFile(&'static str),
    /// The file does not start with the mule header.
    #[error("not a mule bundle ({0})")]
    NotABundle(&'static str),
    /// Written by a newer format version.
    #[error(
        "bundle format {0} is newer than this mule understands (format {FORMAT_VERSION}); upgrade mule"
    )]
    NewerFormat(u32),
    /// The file ends early.
    #[error("file is truncated (it ends in the middle of the compressed data)")]
    Truncated,
    /// The compressed data is damaged.
    #[error("compressed data is corrupted ({0})")]
    Corrupted(String),
    /// The archive structure is damaged.
    #[error("archive is damaged: {0}")]
    Archive(String),
    /// A member that a bundle never contains (absolute path, `..`, links, unknown names).
    #[error(
        "unexpected archive member `{0}` (refused: only manifest.cbor, log/ and fork/ segment files belong in a bundle)"
    )]
    UnexpectedMember(String),
    /// A member larger than the format allows.
    #[error("member `{name}` is {size} bytes, the limit is {limit}")]
    MemberTooLarge {
        /// Member name.
        name: String,
        /// Declared size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The first member is not the manifest.
    #[error("first member must be manifest.cbor")]
    ManifestMissing,
    /// The manifest does not decode.
    #[error("manifest.cbor is malformed: {0}")]
    ManifestMalformed(String),
    /// The manifest disagrees with the contents.
    #[error("manifest does not match the contents: {0}")]
    ManifestMismatch(String),
    /// A segment member fails verification.
    #[error("member `{member}`: {source}")]
    Segment {
        /// Member name.
        member: String,
        /// What is wrong.
        source: crate::segment::Error,
    },
    /// More data than the format allows: a decompression bomb or a lying manifest.
    #[error("uncompressed data exceeds {0} bytes (refused as a possible decompression bomb)")]
    TooLarge(u64),
    /// Bytes after the end of the archive.
    #[error("unexpected data after the end of the archive")]
    TrailingData,
    /// A signed format's trailer is missing or malformed.
    #[error("the sender's signature at the end of the file is missing or damaged ({0})")]
    SignatureMissing(&'static str),
    /// The signature does not match the bundle: its manifest or contents were changed after
    /// the sender signed it, or someone else signed it in the sender's name.
    #[error(
        "the sender's signature does not match: the manifest or contents were changed after signing, or the bundle was forged in the name of {0}"
    )]
    Forged(String),
    /// The file changed between hashing and reading.
    #[error("file changed while it was being read")]
    Changed,
    /// The store failed while applying the bundle.
    #[error("{0}")]
    Store(#[from] store::Error),
    /// A sealed bundle cannot be opened.
    #[error("{0}")]
    Sealed(#[from] sealed::Problem),
    /// The bundle carries entries of a device the store's project never admitted.
    #[error(
        "it holds entries of device {author}, which is not a member of project \"{project}\"; nothing was imported (an admin can invite that device: mule project invite)"
    )]
    NotMember {
        /// The device.
        author: AuthorId,
        /// The project's name.
        project: String,
    },
    /// The store's project could not be read.
    #[error("{0}")]
    Project(#[from] crate::project::Error),
    /// Blob objects could not be stored or read.
    #[error("{0}")]
    Blob(#[from] crate::blob::Error),
    /// The destination for a new bundle is unusable.
    #[error("cannot write the bundle here: {0}")]
    Destination(String),
    /// The folder a new bundle should go in does not exist (mule does not create it: a
    /// mistyped path would silently put the bundle where nobody looks).
    #[error("folder {} does not exist", .0.display())]
    NoSuchFolder(PathBuf),
}

impl Error {
    pub(crate) fn new(path: impl Into<PathBuf>, reason: impl Into<Reason>) -> Self {
        Self {
            path: path.into(),
            reason: Box::new(reason.into()),
        }
    }
}

impl From<std::io::Error> for Reason {
    // Plain I/O failures (not found, permission, disk full) keep their own message.
    fn from(e: std::io::Error) -> Self {
        Reason::Io(e)
    }
}

/// The id of a bundle file: BLAKE3 of its bytes.
pub type BundleId = Hash;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trips_through_strict_cbor() {
        let author = AuthorId::from_bytes([1; 32]);
        let manifest = Manifest {
            format: FORMAT_VERSION,
            sender: author,
            created: 5,
            frontier: [(author, 3)].into_iter().collect(),
            segments: vec![Range {
                kind: Kind::Log,
                author,
                first: 1,
                last: 3,
            }],
            entries: 3,
            payload: 4096,
            objects: vec![],
        };
        let bytes = serde_ipld_dagcbor::to_vec(&manifest).unwrap();
        let back: Manifest = serde_ipld_dagcbor::from_slice(&bytes).unwrap();
        assert_eq!(back, manifest);
    }

    #[test]
    fn member_names_fit_ustar() {
        let range = Range {
            kind: Kind::Fork,
            author: AuthorId::from_bytes([0xab; 32]),
            first: u64::MAX / 2,
            last: u64::MAX / 2,
        };
        let name = range.member_name();
        let (prefix, file) = name.rsplit_once('/').unwrap();
        assert!(prefix.len() <= 155 && file.len() <= 100);
    }
}
