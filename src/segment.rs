//! Segments: a run of one author's consecutive entries in the compact form that travels in
//! bundles and is kept in the store (bundle-format.md, "Segment").
//!
//! A segment carries what a reader cannot recompute: the author once, the first seq, the prev
//! hash of the first entry, and for each entry its timestamp (as a difference from the previous
//! one), kind, links, body and, where present, signature. The reader rebuilds every entry's
//! canonical bytes, chaining the hashes, and checks the signatures; the last entry of every
//! segment must be signed, so a verified segment is authenticated entirely.

use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteArray;

use crate::entry::{self, Entry, EntryRef, signed_message};
use crate::id::{AuthorId, Hash};

/// An ed25519 signature.
pub type SignatureBytes = [u8; 64];

/// Why a segment is not acceptable. Each variant names the entry (author seq) it is about.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a segment.
    #[error("segment is not valid CBOR of the expected shape: {0}")]
    Decode(String),
    /// A segment holds at least one entry.
    #[error("segment has no entries")]
    Empty,
    /// Seq numbers start at 1 and fit in 63 bits.
    #[error("segment seq range starting at {0} is out of bounds")]
    SeqRange(u64),
    /// The author field is not a valid ed25519 public key.
    #[error("author {0} is not a valid ed25519 public key")]
    AuthorKey(AuthorId),
    /// An entry breaks a field rule.
    #[error("entry seq {seq}: {source}")]
    Entry {
        /// The entry's seq.
        seq: u64,
        /// What is wrong.
        source: entry::Error,
    },
    /// A timestamp difference leaves the range 0..=i64::MAX.
    #[error("entry seq {0}: timestamp out of range")]
    Timestamp(u64),
    /// A signature does not verify against the author key and the rebuilt hash.
    #[error("entry seq {0}: signature does not match (tampered or corrupted)")]
    BadSignature(u64),
    /// The last entry carries no signature, so nothing authenticates the run.
    #[error("entry seq {0} ends a segment but is not signed")]
    Unsigned(u64),
}

/// One entry inside a [`Segment`]: everything but author, seq and prev.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentEntry {
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// See [`Entry::kind`].
    pub kind: String,
    /// See [`Entry::links`].
    pub links: Vec<Hash>,
    /// Canonical DAG-CBOR body.
    pub body: Vec<u8>,
    /// The author's signature over this entry's hash, if this entry is signed.
    pub signature: Option<SignatureBytes>,
}

/// A run of one author's consecutive entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Whose chain this is.
    pub author: AuthorId,
    /// Seq of the first entry.
    pub first: u64,
    /// Hash of the entry before the first (`None` when `first` is 1).
    pub prev: Option<Hash>,
    /// The entries, in seq order.
    pub entries: Vec<SegmentEntry>,
}

#[derive(Serialize)]
struct WireOut<'a>(&'a AuthorId, u64, Option<&'a Hash>, Vec<WireEntryOut<'a>>);

#[derive(Serialize)]
struct WireEntryOut<'a>(
    i64,
    &'a str,
    &'a [Hash],
    #[serde(with = "serde_bytes")] &'a [u8],
    Option<&'a ByteArray<64>>,
);

#[derive(Deserialize)]
struct WireIn<'a>(
    AuthorId,
    u64,
    Option<Hash>,
    #[serde(borrow)] Vec<WireEntryIn<'a>>,
);

#[derive(Deserialize)]
struct WireEntryIn<'a>(
    i64,
    &'a str,
    Vec<Hash>,
    #[serde(with = "serde_bytes")] &'a [u8],
    Option<ByteArray<64>>,
);

impl Segment {
    /// Seq of the last entry.
    pub fn last(&self) -> u64 {
        self.first + self.entries.len() as u64 - 1
    }

    /// Decodes the wire form. This checks shape only; call [`Segment::verify`] to authenticate.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let wire: WireIn<'_> = serde_ipld_dagcbor::from_slice(bytes)
            .map_err(|e| Error::Decode(crate::entry::describe_decode_error(&e)))?;
        let WireIn(author, first, prev, wire_entries) = wire;
        if wire_entries.is_empty() {
            return Err(Error::Empty);
        }
        let last = first.checked_add(wire_entries.len() as u64 - 1);
        if first == 0 || last.is_none_or(|last| last > i64::MAX as u64) {
            return Err(Error::SeqRange(first));
        }
        let mut entries = Vec::with_capacity(wire_entries.len());
        let mut timestamp: i64 = 0;
        for (seq, WireEntryIn(delta, kind, links, body, signature)) in (first..).zip(wire_entries) {
            timestamp = timestamp
                .checked_add(delta)
                .filter(|t| *t >= 0)
                .ok_or(Error::Timestamp(seq))?;
            entries.push(SegmentEntry {
                timestamp: timestamp as u64,
                kind: kind.to_owned(),
                links,
                body: body.to_vec(),
                signature: signature.map(|s| s.into_array()),
            });
        }
        Ok(Self {
            author,
            first,
            prev,
            entries,
        })
    }

    /// Encodes the wire form.
    pub fn encode(&self) -> Vec<u8> {
        let signatures: Vec<Option<ByteArray<64>>> = self
            .entries
            .iter()
            .map(|e| e.signature.map(ByteArray::new))
            .collect();
        let mut previous: i64 = 0;
        let wire_entries = self
            .entries
            .iter()
            .zip(&signatures)
            .map(|(e, signature)| {
                // Timestamps are checked to fit in i64 when entries are made or decoded.
                let timestamp = e.timestamp as i64;
                let delta = timestamp.wrapping_sub(previous);
                previous = timestamp;
                WireEntryOut(delta, &e.kind, &e.links, &e.body, signature.as_ref())
            })
            .collect();
        let wire = WireOut(&self.author, self.first, self.prev.as_ref(), wire_entries);
        serde_ipld_dagcbor::to_vec(&wire).expect("encoding into a Vec cannot fail")
    }

    /// Authenticates the segment: checks every entry's fields and body, rebuilds every
    /// canonical encoding along the hash chain, verifies every signature present, and requires
    /// the last entry to be signed. Returns the entries' hashes in seq order.
    pub fn verify(&self) -> Result<Vec<Hash>, Error> {
        let key = VerifyingKey::from_bytes(self.author.as_bytes())
            .map_err(|_| Error::AuthorKey(self.author))?;
        let hashes = self.walk(|seq, hash, entry| {
            entry::check_body(&entry.body).map_err(|source| Error::Entry { seq, source })?;
            if let Some(signature) = &entry.signature {
                key.verify_strict(&signed_message(hash), &Signature::from_bytes(signature))
                    .map_err(|_| Error::BadSignature(seq))?;
            }
            Ok(())
        })?;
        if self.entries.last().is_some_and(|e| e.signature.is_none()) {
            return Err(Error::Unsigned(self.last()));
        }
        Ok(hashes)
    }

    /// The entries' hashes, for a segment already verified (as everything in a store is).
    pub fn hashes(&self) -> Result<Vec<Hash>, Error> {
        self.walk(|_, _, _| Ok(()))
    }

    fn walk(
        &self,
        mut check: impl FnMut(u64, &Hash, &SegmentEntry) -> Result<(), Error>,
    ) -> Result<Vec<Hash>, Error> {
        if self.entries.is_empty() {
            return Err(Error::Empty);
        }
        let mut hashes = Vec::with_capacity(self.entries.len());
        let mut buf = Vec::with_capacity(256);
        let mut prev = self.prev;
        for (seq, entry) in (self.first..).zip(&self.entries) {
            let fields = self.entry_ref(seq, prev.as_ref(), entry);
            let hash = fields
                .check_fields()
                .and_then(|()| fields.hash_with(&mut buf))
                .map_err(|source| Error::Entry { seq, source })?;
            check(seq, &hash, entry)?;
            hashes.push(hash);
            prev = Some(hash);
        }
        Ok(hashes)
    }

    fn entry_ref<'a>(
        &'a self,
        seq: u64,
        prev: Option<&'a Hash>,
        entry: &'a SegmentEntry,
    ) -> EntryRef<'a> {
        EntryRef {
            author: &self.author,
            seq,
            prev,
            links: &entry.links,
            timestamp: entry.timestamp,
            kind: &entry.kind,
            body: &entry.body,
        }
    }

    /// The full entries, given their hashes (from [`Segment::hashes`] or [`Segment::verify`]).
    pub fn to_entries(&self, hashes: &[Hash]) -> Vec<(Hash, Entry)> {
        let prevs = std::iter::once(self.prev).chain(hashes.iter().copied().map(Some));
        (self.first..)
            .zip(&self.entries)
            .zip(prevs)
            .zip(hashes)
            .map(|(((seq, e), prev), hash)| {
                let entry = Entry {
                    author: self.author,
                    seq,
                    prev,
                    links: e.links.clone(),
                    timestamp: e.timestamp,
                    kind: e.kind.clone(),
                    body: e.body.clone(),
                };
                (*hash, entry)
            })
            .collect()
    }

    /// Drops the entries before `seq`; `hashes` are this segment's entry hashes.
    /// `seq` must lie in `first + 1 ..= last`.
    pub fn drop_before(&mut self, seq: u64, hashes: &[Hash]) {
        let cut = (seq - self.first) as usize;
        self.prev = Some(hashes[cut - 1]);
        self.entries.drain(..cut);
        self.first = seq;
    }

    /// Appends the entries of `next`, which must continue this segment's chain.
    pub fn extend(&mut self, next: Segment) {
        debug_assert_eq!(next.first, self.last() + 1);
        self.entries.extend(next.entries);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::entry::body_from_json;
    use crate::keys::DeviceKey;

    /// A signed segment of `n` entries by `key`, continuing `after` (a seq and its hash).
    pub(crate) fn make_segment(key: &DeviceKey, after: Option<(u64, Hash)>, n: usize) -> Segment {
        let (first, prev) = after.map_or((1, None), |(seq, h)| (seq + 1, Some(h)));
        let entries = (0..n)
            .map(|i| SegmentEntry {
                timestamp: 1_700_000_000_000 + i as u64 * 10,
                kind: "test".into(),
                links: vec![],
                body: body_from_json(&serde_json::json!({ "i": i })).unwrap(),
                signature: None,
            })
            .collect();
        let mut segment = Segment {
            author: key.author(),
            first,
            prev,
            entries,
        };
        key.sign_segment(&mut segment, |_, is_last| is_last)
            .unwrap();
        segment
    }

    #[test]
    fn round_trip_and_verify() {
        let key = DeviceKey::generate();
        let segment = make_segment(&key, None, 5);
        let bytes = segment.encode();
        let back = Segment::decode(&bytes).unwrap();
        assert_eq!(back, segment);
        let hashes = back.verify().unwrap();
        assert_eq!(hashes.len(), 5);
        let entries = back.to_entries(&hashes);
        assert_eq!(entries[4].1.prev, Some(hashes[3]));
        assert_eq!(entries[2].1.hash().unwrap(), hashes[2]);
    }

    #[test]
    fn tampered_body_fails_signature() {
        let key = DeviceKey::generate();
        let mut segment = make_segment(&key, None, 3);
        segment.entries[0].body = body_from_json(&serde_json::json!({ "i": 99 })).unwrap();
        assert!(matches!(segment.verify(), Err(Error::BadSignature(3))));
    }

    #[test]
    fn unsigned_tail_is_rejected() {
        let key = DeviceKey::generate();
        let mut segment = make_segment(&key, None, 3);
        segment.entries[2].signature = None;
        assert!(matches!(segment.verify(), Err(Error::Unsigned(3))));
    }

    #[test]
    fn drop_before_keeps_chain() {
        let key = DeviceKey::generate();
        let mut segment = make_segment(&key, None, 6);
        let hashes = segment.verify().unwrap();
        segment.drop_before(4, &hashes);
        assert_eq!(segment.first, 4);
        assert_eq!(segment.verify().unwrap(), hashes[3..]);
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(matches!(
            Segment::decode(b"\xff\x00"),
            Err(Error::Decode(_))
        ));
        assert!(matches!(Segment::decode(&[]), Err(Error::Decode(_))));
    }
}
