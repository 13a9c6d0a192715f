//! Log entries: the canonical encoding an entry's hash is computed over, its body, and the
//! signature rule (bundle-format.md, "Entry").
//!
//! The canonical bytes of an entry are the DAG-CBOR array
//! `[1, author, seq, prev | null, links, timestamp, kind, body]`, where `body` is a byte string
//! holding the canonical DAG-CBOR of a JSON-model value. The entry's [`Hash`](struct@crate::Hash) is BLAKE3 of these
//! bytes. Signatures are not part of them: a signature is ed25519 over
//! `"mule-entry-v1\0" || hash`, and because the hash covers `prev`, one signature authenticates
//! the whole chain before it.

use std::fmt;

use serde::Serialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::id::{AuthorId, Hash};

/// Version number that opens every entry's canonical encoding.
pub const ENTRY_VERSION: u64 = 1;
/// Longest kind, in bytes (bundle-format.md, "Limits").
pub const MAX_KIND_LEN: usize = 64;
/// Most links one entry may carry.
pub const MAX_LINKS: usize = 256;
/// Largest canonical entry, in bytes.
pub const MAX_ENTRY_LEN: usize = 1 << 20;
/// Deepest nesting of arrays and maps inside a body.
pub const MAX_BODY_DEPTH: usize = 64;
/// Domain separation prefix of the signed message.
pub const SIGNATURE_CONTEXT: &[u8] = b"mule-entry-v1\0";

/// Why an entry's fields are not acceptable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The kind is empty or longer than [`MAX_KIND_LEN`].
    #[error("kind must be 1 to {MAX_KIND_LEN} bytes, got {0}")]
    Kind(usize),
    /// More than [`MAX_LINKS`] links.
    #[error("at most {MAX_LINKS} links per entry, got {0}")]
    TooManyLinks(usize),
    /// Links must be sorted ascending without duplicates so the encoding is unique.
    #[error("links are not sorted and unique")]
    LinksNotCanonical,
    /// The canonical encoding would exceed [`MAX_ENTRY_LEN`].
    #[error("entry is {0} bytes, the limit is {MAX_ENTRY_LEN}")]
    TooLarge(usize),
    /// The body is not canonical DAG-CBOR of a JSON value.
    #[error("body is not canonical DAG-CBOR of a JSON value: {0}")]
    Body(String),
    /// `prev` must be absent exactly for the first entry of a chain.
    #[error("seq {seq} {}", if *seq == 1 { "must not have a prev hash" } else { "needs a prev hash" })]
    Prev {
        /// The entry's seq.
        seq: u64,
    },
}

/// A complete entry. `body` holds canonical DAG-CBOR; use [`Entry::body_json`] to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The writing device.
    pub author: AuthorId,
    /// Position in the author's chain, from 1.
    pub seq: u64,
    /// Hash of the author's entry at `seq - 1`; `None` for seq 1.
    pub prev: Option<Hash>,
    /// Entries this one supersedes or merges, any author, sorted and unique.
    pub links: Vec<Hash>,
    /// Milliseconds since the Unix epoch, as the author's clock said.
    pub timestamp: u64,
    /// Short text naming what the body is ("kv", "map", or an application's own).
    pub kind: String,
    /// Canonical DAG-CBOR of the body value.
    pub body: Vec<u8>,
}

/// The fields of an entry, borrowed: what the hash is computed over.
#[derive(Debug, Clone, Copy)]
pub struct EntryRef<'a> {
    /// See [`Entry::author`].
    pub author: &'a AuthorId,
    /// See [`Entry::seq`].
    pub seq: u64,
    /// See [`Entry::prev`].
    pub prev: Option<&'a Hash>,
    /// See [`Entry::links`].
    pub links: &'a [Hash],
    /// See [`Entry::timestamp`].
    pub timestamp: u64,
    /// See [`Entry::kind`].
    pub kind: &'a str,
    /// See [`Entry::body`].
    pub body: &'a [u8],
}

#[derive(Serialize)]
struct Canonical<'a>(
    u64,
    &'a AuthorId,
    u64,
    Option<&'a Hash>,
    &'a [Hash],
    u64,
    &'a str,
    #[serde(with = "serde_bytes")] &'a [u8],
);

impl EntryRef<'_> {
    /// Checks the field rules that do not need the body decoded.
    pub fn check_fields(&self) -> Result<(), Error> {
        if self.kind.is_empty() || self.kind.len() > MAX_KIND_LEN {
            return Err(Error::Kind(self.kind.len()));
        }
        if self.links.len() > MAX_LINKS {
            return Err(Error::TooManyLinks(self.links.len()));
        }
        if self.links.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::LinksNotCanonical);
        }
        if (self.seq == 1) != self.prev.is_none() || self.seq == 0 {
            return Err(Error::Prev { seq: self.seq });
        }
        Ok(())
    }

    /// Writes the canonical bytes into `buf` (cleared first).
    pub fn encode_into(&self, buf: &mut Vec<u8>) -> Result<(), Error> {
        buf.clear();
        let canonical = Canonical(
            ENTRY_VERSION,
            self.author,
            self.seq,
            self.prev,
            self.links,
            self.timestamp,
            self.kind,
            self.body,
        );
        serde_ipld_dagcbor::to_writer(&mut *buf, &canonical)
            .expect("writing CBOR into a Vec cannot fail");
        if buf.len() > MAX_ENTRY_LEN {
            return Err(Error::TooLarge(buf.len()));
        }
        Ok(())
    }

    /// The entry's hash, using `buf` as scratch space.
    pub fn hash_with(&self, buf: &mut Vec<u8>) -> Result<Hash, Error> {
        self.encode_into(buf)?;
        Ok(Hash::of(buf))
    }
}

impl Entry {
    /// Borrows the fields.
    pub fn as_ref(&self) -> EntryRef<'_> {
        EntryRef {
            author: &self.author,
            seq: self.seq,
            prev: self.prev.as_ref(),
            links: &self.links,
            timestamp: self.timestamp,
            kind: &self.kind,
            body: &self.body,
        }
    }

    /// The canonical bytes.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut buf = Vec::new();
        self.as_ref().encode_into(&mut buf)?;
        Ok(buf)
    }

    /// The entry's hash.
    pub fn hash(&self) -> Result<Hash, Error> {
        self.as_ref().hash_with(&mut Vec::new())
    }

    /// The body as JSON.
    pub fn body_json(&self) -> Result<serde_json::Value, Error> {
        body_to_json(&self.body)
    }
}

/// The message an author signs for the entry with hash `hash`.
pub fn signed_message(hash: &Hash) -> [u8; 46] {
    let mut message = [0u8; 46];
    message[..14].copy_from_slice(SIGNATURE_CONTEXT);
    message[14..].copy_from_slice(hash.as_bytes());
    message
}

/// Encodes a JSON value as a canonical body.
pub fn body_from_json(value: &serde_json::Value) -> Result<Vec<u8>, Error> {
    let body = serde_ipld_dagcbor::to_vec(value).map_err(|e| Error::Body(e.to_string()))?;
    check_body(&body)?;
    Ok(body)
}

/// Decodes a canonical body into JSON.
pub fn body_to_json(body: &[u8]) -> Result<serde_json::Value, Error> {
    serde_ipld_dagcbor::from_slice(body).map_err(|e| Error::Body(describe_decode_error(&e)))
}

/// A DAG-CBOR decoding error in words (the crate's own text is its `Debug` form).
pub(crate) fn describe_decode_error<E: std::fmt::Debug>(
    error: &serde_ipld_dagcbor::DecodeError<E>,
) -> String {
    use serde_ipld_dagcbor::DecodeError;
    match error {
        DecodeError::Msg(message) => message.clone(),
        DecodeError::Eof { name, .. } => format!("it ends inside a {name}"),
        DecodeError::TrailingData => "there are bytes after its end".into(),
        DecodeError::DepthOverflow { .. } => "it is nested too deep".into(),
        DecodeError::RequireUtf8 { .. } => "a text is not UTF-8".into(),
        DecodeError::NonMinimal { .. } => "a number or length is not minimally encoded".into(),
        DecodeError::UnorderedKey => "map keys are not in canonical order".into(),
        DecodeError::IndefiniteSize => "it uses an indefinite length".into(),
        other => format!("{other:?}"),
    }
}

/// Checks that `body` is one canonical DAG-CBOR item of the JSON data model (null, booleans,
/// integers, 64-bit floats, text, arrays, maps with text keys in canonical order), nested at
/// most [`MAX_BODY_DEPTH`] deep, without allocating.
///
/// The strict decoder already rejects non-minimal lengths and integers, unsorted or duplicate
/// map keys, non-text keys, NaN and infinities, and trailing bytes; the visitor here rejects
/// what the JSON model has no place for (byte strings, CIDs, 32-bit floats, integers beyond
/// 64 bits), so every accepted body re-encodes to the same bytes.
pub fn check_body(body: &[u8]) -> Result<(), Error> {
    let mut deserializer = serde_ipld_dagcbor::de::Deserializer::from_slice(body);
    BodyCheck { depth: 0 }
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end())
        .map_err(|e| Error::Body(e.to_string()))
}

#[derive(Clone, Copy)]
struct BodyCheck {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for BodyCheck {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl BodyCheck {
    fn nested<E: serde::de::Error>(self) -> Result<Self, E> {
        if self.depth >= MAX_BODY_DEPTH {
            return Err(E::custom(format!("nested deeper than {MAX_BODY_DEPTH}")));
        }
        Ok(Self {
            depth: self.depth + 1,
        })
    }
}

impl<'de> Visitor<'de> for BodyCheck {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-model value")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.nested()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.nested()?;
        while map.next_key_seed(KeyCheck)?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

/// A map key. The strict decoder refuses indefinite lengths in values but not in map keys: it
/// reads a key as a `Cow<str>`, borrowed from the body (`visit_str`) unless the key is a text of
/// indefinite length whose chunks it had to join (`visit_string`). DAG-CBOR has no indefinite
/// lengths, and the definite form of the same key is other bytes.
#[derive(Clone, Copy)]
struct KeyCheck;

impl<'de> DeserializeSeed<'de> for KeyCheck {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyCheck {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a text map key")
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_string<E: serde::de::Error>(self, _: String) -> Result<(), E> {
        Err(E::custom("a map key has an indefinite length"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Entry {
        Entry {
            author: AuthorId::from_bytes([7; 32]),
            seq: 2,
            prev: Some(Hash::of(b"one")),
            links: vec![
                Hash::of(b"a").min(Hash::of(b"b")),
                Hash::of(b"a").max(Hash::of(b"b")),
            ],
            timestamp: 1_700_000_000_000,
            kind: "kv".into(),
            body: body_from_json(&json!({"k": "name", "v": [1, 2.5, null, true]})).unwrap(),
        }
    }

    #[test]
    fn hash_is_stable_across_reencoding() {
        let entry = sample();
        let bytes = entry.canonical_bytes().unwrap();
        assert_eq!(entry.hash().unwrap(), Hash::of(&bytes));
        let back = body_from_json(&entry.body_json().unwrap()).unwrap();
        assert_eq!(back, entry.body);
    }

    #[test]
    fn body_check_rejects_non_canonical() {
        // {"b":1,"a":2}: keys out of canonical order.
        let unsorted = [0xa2, 0x61, b'b', 0x01, 0x61, b'a', 0x02];
        assert!(check_body(&unsorted).is_err());
        // 1 encoded in two bytes instead of one.
        assert!(check_body(&[0x18, 0x01]).is_err());
        // a byte string has no JSON meaning
        assert!(check_body(&[0x41, 0x00]).is_err());
        // f32 1.0
        assert!(check_body(&[0xfa, 0x3f, 0x80, 0, 0]).is_err());
        // trailing byte
        assert!(check_body(&[0x01, 0x01]).is_err());
        assert!(check_body(&[]).is_err());
        assert!(check_body(&[0x01]).is_ok());
        // {"": "`"} with its key as an indefinite-length text (found by the `segment` fuzzer),
        // and with integer keys; the canonical form passes.
        assert!(check_body(&[0xa1, 0x7f, 0xff, 0x61, 0x60]).is_err());
        assert!(check_body(&[0xa1, 0x7f, 0x60, 0xff, 0x61, 0x60]).is_err());
        assert!(check_body(&[0xa1, 0x01, 0x61, 0x60]).is_err());
        assert!(check_body(&[0xa1, 0x60, 0x61, 0x60]).is_ok());
        assert!(check_body(&[0x7f, 0x61, b'a', 0xff]).is_err());
        assert!(check_body(&[0x82, 0x61, b'a', 0x7f, 0xff]).is_err());
    }

    #[test]
    fn body_depth_is_limited() {
        let mut deep = vec![0x81; MAX_BODY_DEPTH];
        deep.push(0x01);
        assert!(check_body(&deep).is_ok());
        let mut too_deep = vec![0x81; MAX_BODY_DEPTH + 1];
        too_deep.push(0x01);
        assert!(check_body(&too_deep).is_err());
    }

    #[test]
    fn an_entry_over_one_mebibyte_is_refused_and_one_just_under_is_kept() {
        let mut e = sample();
        let mut buf = Vec::new();
        e.body = body_from_json(&json!("x".repeat(MAX_ENTRY_LEN))).unwrap();
        match e.as_ref().encode_into(&mut buf) {
            Err(Error::TooLarge(len)) => assert!(len > MAX_ENTRY_LEN),
            other => panic!("{other:?}"),
        }
        e.body = body_from_json(&json!("x".repeat(MAX_ENTRY_LEN - 300))).unwrap();
        assert_eq!(e.as_ref().encode_into(&mut buf), Ok(()));
        assert!(buf.len() <= MAX_ENTRY_LEN);
    }

    #[test]
    fn field_rules() {
        let mut e = sample();
        assert_eq!(e.as_ref().check_fields(), Ok(()));
        e.kind = String::new();
        assert_eq!(e.as_ref().check_fields(), Err(Error::Kind(0)));
        e.kind = "k".repeat(MAX_KIND_LEN + 1);
        assert_eq!(
            e.as_ref().check_fields(),
            Err(Error::Kind(MAX_KIND_LEN + 1))
        );
        e.kind = "k".repeat(MAX_KIND_LEN);
        assert_eq!(e.as_ref().check_fields(), Ok(()));
        e.links.reverse();
        assert_eq!(e.as_ref().check_fields(), Err(Error::LinksNotCanonical));
        e.links.clear();
        e.seq = 1;
        assert_eq!(e.as_ref().check_fields(), Err(Error::Prev { seq: 1 }));
    }
}
