//! The device key: the ed25519 key that signs this store's entries, and the record of where it
//! lives so a copied or restored store is noticed before it forks its own chain.
//!
//! The key is kept in `device.key` inside the store directory, as text
//! (`mule device key v1` and the hex seed on the next line), readable by its owner only.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};

use crate::entry::signed_message;
use crate::id::{AuthorId, Hash};
use crate::segment::{self, Segment, SignatureBytes};

/// File name of the device key inside a store directory.
pub const KEY_FILE: &str = "device.key";
const KEY_HEADER: &str = "mule device key v1";

/// Why the device key could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The key file does not hold a key in the expected form.
    #[error("{path}: not a mule device key file (expected `{KEY_HEADER}` and a hex seed)")]
    Malformed {
        /// The key file.
        path: PathBuf,
    },
    /// The system random generator failed.
    #[error("cannot get random bytes for a new key: {0}")]
    Random(String),
}

/// The signing key of this store's device.
pub struct DeviceKey {
    signing: SigningKey,
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceKey({:?})", self.author())
    }
}

impl DeviceKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self::try_generate().expect("the operating system random generator works")
    }

    fn try_generate() -> Result<Self, Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Error::Random(e.to_string()))?;
        Ok(Self {
            signing: SigningKey::from_bytes(&seed),
        })
    }

    /// This key's author id (its public key).
    pub fn author(&self) -> AuthorId {
        AuthorId::from_bytes(self.signing.verifying_key().to_bytes())
    }

    /// Signs the entry with hash `hash`.
    pub fn sign(&self, hash: &Hash) -> SignatureBytes {
        self.signing.sign(&signed_message(hash)).to_bytes()
    }

    /// Signs `message`, which must open with its own domain-separation context (project
    /// invites use `mule-invite-v1\0`).
    pub(crate) fn sign_message(&self, message: &[u8]) -> SignatureBytes {
        self.signing.sign(message).to_bytes()
    }

    /// Computes the hashes of a segment of this key's entries and signs the entries for which
    /// `should_sign(seq, is_last)` says so. Returns the hashes.
    pub fn sign_segment(
        &self,
        segment: &mut Segment,
        mut should_sign: impl FnMut(u64, bool) -> bool,
    ) -> Result<Vec<Hash>, segment::Error> {
        let hashes = segment.hashes()?;
        let last = segment.last();
        for ((seq, entry), hash) in (segment.first..).zip(&mut segment.entries).zip(&hashes) {
            if should_sign(seq, seq == last) {
                entry.signature = Some(self.sign(hash));
            }
        }
        Ok(hashes)
    }

    /// Reads the key in `dir`, creating it first if there is none. Creation is atomic: two
    /// processes starting at once end up with the same key.
    pub fn load_or_create(dir: &Path) -> Result<Self, Error> {
        let path = dir.join(KEY_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text).ok_or(Error::Malformed { path }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Self::create(dir, &path),
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    /// Replaces the key in `dir` with a fresh one (the old file is kept as `device.key.old-<id>`).
    pub fn replace(dir: &Path) -> Result<Self, Error> {
        let path = dir.join(KEY_FILE);
        let old = Self::load_or_create(dir)?;
        let kept = dir.join(format!("{KEY_FILE}.old-{}", old.author().short()));
        fs::rename(&path, &kept).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        Self::create(dir, &path)
    }

    fn parse(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        if lines.next()? != KEY_HEADER {
            return None;
        }
        let mut seed = [0u8; 32];
        hex::decode_to_slice(lines.next()?.trim(), &mut seed).ok()?;
        Some(Self {
            signing: SigningKey::from_bytes(&seed),
        })
    }

    fn create(dir: &Path, path: &Path) -> Result<Self, Error> {
        let io_err = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let key = Self::try_generate()?;
        let mut file = tempfile::Builder::new()
            .prefix(".device.key.")
            .permissions(owner_only())
            .tempfile_in(dir)
            .map_err(io_err)?;
        let text = format!("{KEY_HEADER}\n{}\n", hex::encode(key.signing.to_bytes()));
        file.write_all(text.as_bytes()).map_err(io_err)?;
        file.as_file().sync_all().map_err(io_err)?;
        match file.persist_noclobber(path) {
            Ok(_) => Ok(key),
            // Another process created the key first: use theirs.
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Self::load_or_create(dir),
            Err(e) => Err(io_err(e.error)),
        }
    }
}

#[cfg(unix)]
fn owner_only() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(0o600)
}

#[cfg(not(unix))]
fn owner_only() -> fs::Permissions {
    fs::metadata(".")
        .map(|m| m.permissions())
        .unwrap_or_else(|_| unreachable!())
}

/// Where a store's device key was created or last confirmed: the machine, the store's path and
/// the key file's identity on disk. A store copied to another laptop, moved, or restored from a
/// backup differs in at least one of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Home {
    /// `/etc/machine-id` (or the host name where there is none).
    pub machine: String,
    /// The store directory, canonicalized.
    pub path: String,
    /// Device and inode number of `device.key` (0 on systems without them).
    pub key_file: (u64, u64),
}

impl Home {
    /// The home of the store in `dir` as it is now.
    pub fn here(dir: &Path) -> io::Result<Self> {
        let path = fs::canonicalize(dir)?;
        let meta = fs::metadata(dir.join(KEY_FILE))?;
        Ok(Self {
            machine: machine_id(),
            path: path.display().to_string(),
            key_file: file_identity(&meta),
        })
    }

    /// What differs between `self` (recorded) and `now`, in words.
    pub fn differences(&self, now: &Home) -> Vec<&'static str> {
        let mut changes = Vec::new();
        if self.machine != now.machine {
            changes.push("it is on a different machine");
        }
        if self.path != now.path {
            changes.push("it is in a different directory");
        }
        if self.key_file != now.key_file && self.machine == now.machine {
            changes.push("its key file was replaced (copied or restored from a backup)");
        }
        changes
    }
}

fn machine_id() -> String {
    [
        "/etc/machine-id",
        "/var/lib/dbus/machine-id",
        "/etc/hostname",
    ]
    .iter()
    .find_map(|p| fs::read_to_string(p).ok())
    .map(|s| s.trim().to_owned())
    .filter(|s| !s.is_empty())
    .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(unix)]
fn file_identity(meta: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn file_identity(_: &fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// Whether `signature` is `author`'s signature of `message` (strict ed25519, RFC 8032).
pub(crate) fn verifies(author: &AuthorId, message: &[u8], signature: &SignatureBytes) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(author.as_bytes()).is_ok_and(|key| {
        key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let a = DeviceKey::load_or_create(dir.path()).unwrap();
        let b = DeviceKey::load_or_create(dir.path()).unwrap();
        assert_eq!(a.author(), b.author());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn malformed_key_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(KEY_FILE), "hello\n").unwrap();
        assert!(matches!(
            DeviceKey::load_or_create(dir.path()),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn copied_store_has_a_different_home() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        DeviceKey::load_or_create(a.path()).unwrap();
        fs::copy(a.path().join(KEY_FILE), b.path().join(KEY_FILE)).unwrap();
        let home_a = Home::here(a.path()).unwrap();
        let home_b = Home::here(b.path()).unwrap();
        assert!(home_a.differences(&home_a).is_empty());
        assert!(!home_a.differences(&home_b).is_empty());
    }
}
