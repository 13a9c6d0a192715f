//! Identifiers: [`Hash`](struct@Hash) (BLAKE3 of an entry's canonical bytes), [`AuthorId`] (an
//! ed25519 public key) and [`ProjectId`] (random). All are 32 bytes, shown as lowercase hex to
//! people and in JSON, and carried as CBOR byte strings in every binary format (bundle-format.md, "Identifiers").

use std::fmt;
use std::str::FromStr;

use serde::de::{Error as _, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Error for a hex identifier typed by a person or found in a script's input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{text}` is not a 64-character hex id")]
pub struct ParseIdError {
    /// The rejected text (shortened when long).
    pub text: String,
}

macro_rules! id32 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Wraps raw bytes.
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Lowercase hex, 64 characters.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// The first 8 hex characters, for people reading a summary.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..4])
            }

            /// Reads from a byte slice that must be exactly 32 bytes long.
            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                <[u8; 32]>::try_from(bytes).ok().map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| ParseIdError {
                    text: text.chars().take(80).collect(),
                })?;
                Ok(Self(bytes))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    serializer.serialize_str(&self.to_hex())
                } else {
                    serializer.serialize_bytes(&self.0)
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct IdVisitor;
                impl Visitor<'_> for IdVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("32 bytes or 64 hex characters")
                    }
                    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<$name, E> {
                        $name::from_slice(v).ok_or_else(|| E::invalid_length(v.len(), &self))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        v.parse().map_err(E::custom)
                    }
                }
                if deserializer.is_human_readable() {
                    deserializer.deserialize_str(IdVisitor)
                } else {
                    deserializer.deserialize_bytes(IdVisitor)
                }
                .map_err(D::Error::custom)
            }
        }
    };
}

id32!(
    /// BLAKE3 hash of an entry's canonical bytes (bundle-format.md, "Entry").
    Hash
);
id32!(
    /// An author: the ed25519 public key of the device that signs a chain of entries.
    AuthorId
);

id32!(
    /// A project: a group of devices that write one shared log (see [`crate::project`]).
    ProjectId
);

impl Hash {
    /// Hashes `bytes` with BLAKE3.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }
}

/// The fewest hex characters a [`HashPrefix`] may have: shorter ones would match too much to
/// be worth typing (as in git, which also asks for at least 4).
pub const MIN_PREFIX: usize = 4;

/// Error for text that is neither a hash nor a prefix of one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{text}` is not a hash nor the start of one: give {MIN_PREFIX} to 64 hex characters")]
pub struct ParsePrefixError {
    /// The rejected text (shortened when long).
    pub text: String,
}

/// The start of a hash as people type it (`5c1e`, or all 64 characters), lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashPrefix(String);

/// What a [`HashPrefix`] names among some hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Exactly one hash starts so.
    One(Hash),
    /// None does.
    None,
    /// Several do (all of them, sorted).
    Ambiguous(Vec<Hash>),
}

impl HashPrefix {
    /// Whether `hash` starts with this prefix.
    pub fn matches(&self, hash: &Hash) -> bool {
        hash.to_hex().starts_with(&self.0)
    }

    /// Which of `hashes` this prefix names (a hash listed twice counts once).
    pub fn resolve(&self, hashes: impl IntoIterator<Item = Hash>) -> Resolved {
        let mut found: Vec<Hash> = hashes.into_iter().filter(|h| self.matches(h)).collect();
        found.sort();
        found.dedup();
        match found.len() {
            0 => Resolved::None,
            1 => Resolved::One(found[0]),
            _ => Resolved::Ambiguous(found),
        }
    }
}

impl fmt::Display for HashPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for HashPrefix {
    type Err = ParsePrefixError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let prefix = text.trim().to_ascii_lowercase();
        if (MIN_PREFIX..=64).contains(&prefix.len())
            && prefix.bytes().all(|b| b.is_ascii_hexdigit())
        {
            Ok(Self(prefix))
        } else {
            Err(ParsePrefixError {
                text: text.chars().take(80).collect(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_names_one_none_or_several_hashes() {
        let a = Hash::from_bytes([0x5c; 32]);
        let mut bytes = [0; 32];
        bytes[..2].copy_from_slice(&[0x5c, 0x5c]);
        let b = Hash::from_bytes(bytes);
        let named = |text: &str| {
            text.parse::<HashPrefix>()
                .expect("prefix")
                .resolve([a, b, a])
        };
        assert_eq!(named("5C5C5C"), Resolved::One(a));
        assert_eq!(named("5c5c00"), Resolved::One(b));
        assert_eq!(named(&a.to_hex()), Resolved::One(a));
        assert_eq!(named("5d5d"), Resolved::None);
        assert_eq!(named("5c5c"), Resolved::Ambiguous(vec![b, a]));
        assert!(
            "5c5".parse::<HashPrefix>().is_err(),
            "3 characters are too few"
        );
        assert!("5c1g".parse::<HashPrefix>().is_err());
        assert!(format!("{a}0").parse::<HashPrefix>().is_err());
    }

    #[test]
    fn hex_round_trip() {
        let h = Hash::of(b"mule");
        assert_eq!(h.to_hex().parse::<Hash>(), Ok(h));
        assert_eq!(h.short().len(), 8);
    }

    #[test]
    fn rejects_bad_hex() {
        assert!("abc".parse::<AuthorId>().is_err());
        assert!("zz".repeat(32).parse::<AuthorId>().is_err());
    }

    #[test]
    fn cbor_is_bytes_json_is_hex() {
        let h = Hash::of(b"x");
        let cbor = serde_ipld_dagcbor::to_vec(&h).unwrap();
        assert_eq!(cbor.len(), 34);
        assert_eq!(cbor[0], 0x58);
        let back: Hash = serde_ipld_dagcbor::from_slice(&cbor).unwrap();
        assert_eq!(back, h);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{}\"", h.to_hex()));
        assert_eq!(serde_json::from_str::<Hash>(&json).unwrap(), h);
    }
}
