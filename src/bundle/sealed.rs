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
        "the bundle is encrypted for a project and this store is not part of one; join the project first (mule project join INVITE)"
    )]
    NoKey,
    /// The project key does not open it.
    #[error(
        "the bundle is encrypted for another project: this store's project key does not open it"
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
    let mut inner = HashingSink {
        hasher: blake3::Hasher::new(),
        len: 0,
    };
    io::copy(&mut plain, &mut inner)
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
        plain_len: inner.len,
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

struct HashingSink {
    hasher: blake3::Hasher,
    len: u64,
}

impl Write for HashingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
