//! What a bundle says of itself, read without any key, for the phone page's list: sealed or
//! plain, and for a plain bundle its sender, entry count and date, believed only when the
//! signature trailer verifies (bundle-format.md, "Bundle file"). The laptop that imports the
//! bundle checks everything again; this is for the person holding the phone.

use std::io::Read;

use ed25519_dalek::{Signature, VerifyingKey};
use wasm_bindgen::prelude::*;

/// The first bytes of a sealed (project) bundle: an age file.
const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";
/// The bundle header: zstd skippable frame magic 0x184D2A5E, size 12, `\x89MULE\r\n\x1a`.
const HEADER: &[u8; 16] = b"\x5e\x2a\x4d\x18\x0c\x00\x00\x00\x89MULE\r\n\x1a";
const HEADER_LEN: usize = 20;
/// The signature trailer (format 3): skippable frame magic 0x184D2A5F, size 96, then BLAKE3 of
/// the archive and the sender's ed25519 signature.
const TRAILER_START: &[u8; 8] = b"\x5f\x2a\x4d\x18\x60\x00\x00\x00";
const TRAILER_LEN: usize = 104;
const SIGNATURE_CONTEXT: &[u8] = b"mule-bundle-v3\0";
/// Largest manifest read; mule writes far smaller ones for any bundle a QR stream carries.
const MAX_MANIFEST: u64 = 16 << 20;

/// What the list shows of a bundle.
#[wasm_bindgen(getter_with_clone)]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BundleInfo {
    /// The bundle id: BLAKE3 of the file, hex.
    pub id: String,
    /// Encrypted for a project: nothing inside can be read without the project key.
    pub sealed: bool,
    /// The sender's device id (hex), when the signature verifies.
    pub sender: Option<String>,
    /// Entries carried, when the signature verifies.
    pub entries: Option<f64>,
    /// When the bundle was written (ms since 1970), when the signature verifies.
    pub created: Option<f64>,
    /// Why the sender is not shown, for a plain bundle whose signature did not verify.
    pub unverified: Option<String>,
}

/// The manifest fields the list shows (others are ignored).
#[derive(serde::Deserialize)]
struct Manifest {
    sender: serde_bytes::ByteBuf,
    created: u64,
    entries: u64,
}

/// Reads what `bundle` says of itself.
#[wasm_bindgen]
pub fn inspect(bundle: &[u8]) -> BundleInfo {
    let mut info = BundleInfo {
        id: blake3::hash(bundle).to_hex().to_string(),
        ..BundleInfo::default()
    };
    if bundle.starts_with(AGE_MAGIC) {
        info.sealed = true;
        return info;
    }
    match signed_manifest(bundle) {
        Ok(manifest) => {
            info.sender = Some(hex::encode(&manifest.sender));
            info.entries = Some(manifest.entries as f64);
            info.created = Some(manifest.created as f64);
        }
        Err(reason) => info.unverified = Some(reason),
    }
    info
}

/// The manifest of a plain format-3 bundle whose signature verifies.
fn signed_manifest(bundle: &[u8]) -> Result<Manifest, String> {
    if bundle.len() < HEADER_LEN + TRAILER_LEN || &bundle[..16] != HEADER {
        return Err("not a mule bundle".into());
    }
    let version = u32::from_le_bytes(bundle[16..20].try_into().expect("4 bytes"));
    if version < 3 {
        return Err(format!("format {version} bundles are not signed"));
    }
    let (body, trailer) = bundle[HEADER_LEN..].split_at(bundle.len() - HEADER_LEN - TRAILER_LEN);
    if &trailer[..8] != TRAILER_START {
        return Err("the signature trailer is missing".into());
    }
    let mut archive = Hashing {
        inner: ruzstd::decoding::StreamingDecoder::new(body).map_err(|e| e.to_string())?,
        hasher: blake3::Hasher::new(),
    };
    let manifest = read_manifest(&mut archive)?;
    std::io::copy(&mut archive, &mut std::io::sink()).map_err(|e| e.to_string())?;
    let archive_hash = archive.hasher.finalize();
    if archive_hash.as_bytes()[..] != trailer[8..40] {
        return Err("the archive does not match its signature".into());
    }
    let key = <[u8; 32]>::try_from(manifest.sender.as_slice())
        .ok()
        .and_then(|key| VerifyingKey::from_bytes(&key).ok())
        .ok_or("the sender is not a device id")?;
    let signature = Signature::from_bytes(trailer[40..].try_into().expect("64 bytes"));
    let message = [SIGNATURE_CONTEXT, archive_hash.as_bytes()].concat();
    key.verify_strict(&message, &signature)
        .map_err(|_| "the signature does not verify")?;
    Ok(manifest)
}

/// The first archive member, which must be `manifest.cbor`.
fn read_manifest(archive: &mut impl Read) -> Result<Manifest, String> {
    let mut header = [0u8; 512];
    archive.read_exact(&mut header).map_err(|e| e.to_string())?;
    if !header.starts_with(b"manifest.cbor\0") {
        return Err("the archive does not start with its manifest".into());
    }
    let size = std::str::from_utf8(&header[124..136])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u64::from_str_radix(s, 8).ok())
        .filter(|size| *size <= MAX_MANIFEST)
        .ok_or("the manifest's size is unreadable")?;
    let mut bytes = Vec::new();
    archive
        .take(size.next_multiple_of(512))
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    bytes.truncate(size as usize);
    serde_ipld_dagcbor::from_slice(&bytes).map_err(|e| format!("the manifest is unreadable: {e}"))
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: blake3::Hasher,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> BundleInfo {
        let path = format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        inspect(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
    }

    #[test]
    fn a_signed_bundle_names_its_sender() {
        let info = fixture("v3/two-writers.mule");
        assert!(
            info.sender.as_deref().unwrap().starts_with("55154f42"),
            "{info:?}"
        );
        assert_eq!((info.entries, info.unverified), (Some(5.0), None));
        assert!(!info.sealed);
    }

    #[test]
    fn a_sealed_bundle_shows_nothing_of_itself() {
        let info = fixture("v1/project/camp-root.mule");
        assert!(info.sealed);
        assert_eq!(
            (info.sender, info.entries, info.unverified),
            (None, None, None)
        );
    }

    #[test]
    fn unsigned_or_altered_bundles_name_no_sender() {
        for (name, reason) in [
            ("v1/two-writers.mule", "format 1 bundles are not signed"),
            (
                "bad/forged-frontier.mule",
                "the archive does not match its signature",
            ),
            (
                "bad/signature-missing.mule",
                "the signature trailer is missing",
            ),
            ("bad/not-a-bundle.mule", "not a mule bundle"),
        ] {
            let info = fixture(name);
            assert_eq!(info.sender, None, "{name}");
            assert_eq!(info.unverified.as_deref(), Some(reason), "{name}");
        }
        let path = format!(
            "{}/../../fixtures/v3/two-writers.mule",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut bytes = std::fs::read(path).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        let info = inspect(&bytes);
        assert_eq!(
            info.unverified.as_deref(),
            Some("the signature does not verify")
        );
    }
}
