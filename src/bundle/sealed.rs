//! Sealed bundles: a bundle of a project, encrypted to the project's key as a standard age file
//! (age-encryption.org/v1, one X25519 recipient), so a lost stick shows nothing but the file's
//! size, and anyone holding the key can open it with the `age` tool as well as with mule
//! (bundle-format.md, "Encrypted bundles").
//!
//! age authenticates the header with an HMAC and the payload in 64 KiB chunks
//! (ChaCha20-Poly1305, with a last-chunk flag so a cut-off file fails). A reader must not parse
//! anything of a file that may have been tampered with, so opening a sealed bundle takes two
//! passes: the first decrypts the whole file and keeps only its length and hash, the second
//! decrypts it again and hands the plaintext to the ordinary bundle reader, which checks that
//! it is the same plaintext.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, Write};

use super::read::HashReader;
use super::write::HashWriter;
use super::{BundleId, Reason};
use crate::id::Hash;

/// The bytes every age v1 file, and so every sealed bundle, starts with.
pub const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// Why a sealed bundle cannot be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The reader holds no project key.
    #[error(
        "the bundle is encrypted for a project and this store is not part of one; join the project first (mule project join INVITE), or, only to check or inspect it, give the project's key file (--key FILE, written by `mule project key > FILE` on a device of the project)"
    )]
    NoKey,
    /// The project key does not open it.
    #[error(
        "this store's project key does not open the bundle: it is encrypted for another project, or its header was damaged"
    )]
    WrongKey,
    /// Authentication failed: the file was changed, damaged or cut off.
    #[error(
        "the encrypted bundle fails authentication ({0}): it was changed, damaged or cut off after it was written; nothing of it was read"
    )]
    Damaged(String),
}

/// Whether the file starts like an age file. Leaves `file` at its start.
pub fn is_sealed(file: &mut File) -> io::Result<bool> {
    let mut start = [0u8; AGE_MAGIC.len()];
    let mut filled = 0;
    while filled < start.len() {
        match file.read(&mut start[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    file.rewind()?;
    Ok(&start[..filled] == AGE_MAGIC)
}

/// What the first pass over a sealed bundle learned.
#[derive(Debug, Clone, Copy)]
pub struct Authenticated {
    /// BLAKE3 of the sealed file: the bundle's id.
    pub id: BundleId,
    /// BLAKE3 of the plaintext bundle inside.
    pub plain_id: BundleId,
    /// Length of the plaintext bundle.
    pub plain_len: u64,
}

/// First pass: decrypts all of `file`, authenticating every chunk, and parses nothing.
pub fn authenticate(file: File, key: &age::x25519::Identity) -> Result<Authenticated, Reason> {
    let mut outer = HashReader {
        inner: BufReader::with_capacity(1 << 16, file),
        hasher: blake3::Hasher::new(),
    };
    let mut plain = decrypting(&mut outer, key)?;
    let mut inner = HashWriter {
        inner: io::sink(),
        hasher: blake3::Hasher::new(),
    };
    let plain_len = io::copy(&mut plain, &mut inner)
        .map_err(|e| Reason::Sealed(Problem::Damaged(e.to_string())))?;
    drop(plain);
    // age stops after the last chunk; bytes after it would not be authenticated.
    let trailing = io::copy(&mut outer, &mut io::sink())?;
    if trailing > 0 {
        return Err(Reason::Sealed(Problem::Damaged(format!(
            "{trailing} bytes follow the end of the encrypted data"
        ))));
    }
    Ok(Authenticated {
        id: Hash::from_bytes(*outer.hasher.finalize().as_bytes()),
        plain_id: Hash::from_bytes(*inner.hasher.finalize().as_bytes()),
        plain_len,
    })
}

/// A reader of the plaintext inside a sealed bundle. Every byte it yields passed its chunk's
/// authentication; call [`authenticate`] first when the whole file must be sound before use.
pub fn decrypting<R: Read>(
    input: R,
    key: &age::x25519::Identity,
) -> Result<age::stream::StreamReader<R>, Reason> {
    let decryptor = age::Decryptor::new(input).map_err(problem)?;
    decryptor
        .decrypt(std::iter::once(key as &dyn age::Identity))
        .map_err(problem)
}

/// Wraps `output` so that what is written to it is sealed to `recipient`; the caller finishes
/// with [`age::stream::StreamWriter::finish`].
pub fn sealing<W: Write>(
    output: W,
    recipient: &age::x25519::Recipient,
) -> io::Result<age::stream::StreamWriter<W>> {
    age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
        .map_err(io::Error::other)?
        .wrap_output(output)
}

fn problem(e: age::DecryptError) -> Reason {
    match e {
        age::DecryptError::NoMatchingKeys => Reason::Sealed(Problem::WrongKey),
        age::DecryptError::Io(e) if e.kind() != io::ErrorKind::UnexpectedEof => Reason::Io(e),
        other => Reason::Sealed(Problem::Damaged(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{Error, read_bundle_with, write_bundle};
    use crate::entry::body_from_json;
    use crate::store::{Draft, Frontier, Store};

    /// A project store with enough entries for several segment members and 64 KiB age chunks, and
    /// its bundle.
    fn sealed_bundle(dir: &tempfile::TempDir) -> (crate::project::Project, Vec<u8>) {
        let mut store = Store::open(&dir.path().join("s")).unwrap();
        let project = crate::project::create(&mut store, "Camp").unwrap();
        let drafts = (0..9000u32)
            .map(|i| Draft {
                kind: "kv".into(),
                body: body_from_json(&serde_json::json!({"k": i, "v": Hash::of(&i.to_le_bytes())}))
                    .unwrap(),
                links: vec![],
                timestamp: 1_700_000_000_000,
            })
            .collect();
        store.append(drafts).unwrap();
        let path = dir.path().join("b.mule");
        write_bundle(&store, &Frontier::new(), &Default::default(), &path, false).unwrap();
        (project, std::fs::read(path).unwrap())
    }

    #[test]
    fn damage_in_the_last_chunk_stops_the_reader_before_any_member_is_parsed() {
        let dir = tempfile::tempdir().unwrap();
        let (project, good) = sealed_bundle(&dir);
        assert!(good.len() > 4 * 65_536, "several chunks: {}", good.len());
        let path = dir.path().join("tampered.mule");
        // Returns the reader's result and how many members it handed over.
        let read = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            let mut members = 0;
            let result = read_bundle_with(&path, Some(project.identity()), None, |_| {
                members += 1;
                Ok(())
            });
            (result.map_err(|e: Error| *e.reason), members)
        };
        let (result, members) = read(&good);
        assert!(
            result.is_ok_and(|info| info.sealed) && members >= 3,
            "{members}"
        );
        let mut tampered = good.clone();
        let at = tampered.len() - 30;
        tampered[at] ^= 0x80;
        let (result, members) = read(&tampered);
        assert!(matches!(result, Err(Reason::Sealed(Problem::Damaged(_)))));
        assert_eq!(members, 0, "nothing was parsed");
        let mut longer = good.clone();
        longer.extend_from_slice(b"extra");
        let (result, members) = read(&longer);
        assert!(matches!(result, Err(Reason::Sealed(Problem::Damaged(_)))));
        assert_eq!(members, 0);
    }

    #[test]
    fn a_file_shorter_than_the_magic_is_not_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short");
        std::fs::write(&path, b"age").unwrap();
        assert!(!is_sealed(&mut File::open(&path).unwrap()).unwrap());
    }
}
