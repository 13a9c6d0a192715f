//! Writing bundles: plan from the store, stream through tar and zstd into a temporary file,
//! fsync, and rename into place, so a reader never sees a partial bundle under a final name.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{
    BundleId, Coverage, Error, FORMAT_VERSION, HEADER_LEN, Kind, MAGIC, Manifest, Range, Reason,
    SKIPPABLE_FRAME_MAGIC, ZSTD_LEVEL, sealed,
};
use crate::id::Hash;
use crate::store::{ExportSegment, Frontier, Placement, Store, now_ms};

/// A bundle that was written.
#[derive(Debug, Clone)]
pub struct Written {
    /// BLAKE3 of the file.
    pub id: BundleId,
    /// Where it is.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Its size in bytes.
    pub size: u64,
}

/// The leading skippable frame: magic, frame length, [`MAGIC`], format version.
pub(super) fn header() -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..4].copy_from_slice(&SKIPPABLE_FRAME_MAGIC.to_le_bytes());
    header[4..8].copy_from_slice(&12u32.to_le_bytes());
    header[8..16].copy_from_slice(&MAGIC);
    header[16..].copy_from_slice(&(FORMAT_VERSION as u32).to_le_bytes());
    header
}

/// Writes a bundle of everything in `store` above `after` (see [`Store::plan_export`]),
/// leaving out segments that `already` (what the destination holds) covers. A store of a
/// project seals the bundle to the project's key. `dest` is a
/// directory (the file is named `<id>.mule` inside it) or a file path. Returns `None` when
/// `skip_if_empty` is set and there is no entry to carry.
pub fn write_bundle(
    store: &Store,
    after: &Frontier,
    already: &Coverage,
    dest: &Path,
    skip_if_empty: bool,
) -> Result<Option<Written>, Error> {
    let fail = |reason: Reason| Error::new(dest, reason);
    let (dir, fixed_name) = if dest.is_dir() {
        (dest.to_path_buf(), None)
    } else {
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            return Err(fail(Reason::Destination(format!(
                "folder {} does not exist",
                parent.display()
            ))));
        }
        (parent, Some(dest.to_path_buf()))
    };
    let snapshot = store.read_snapshot().map_err(|e| fail(e.into()))?;
    let mut plan = store.plan_export(after).map_err(|e| fail(e.into()))?;
    plan.retain(|s| !already.contains(&range_of(s)));
    if plan.is_empty() && skip_if_empty {
        return Ok(None);
    }
    plan.sort_by_key(|s| (s.author, kind_of(s), s.first));
    let manifest = manifest_for(store, &plan).map_err(|e| fail(e.into()))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".mule-").suffix(".part");
    // Bundles are meant to be read by other people's accounts (shared folders, sticks).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut temp = builder.tempfile_in(&dir).map_err(|e| fail(e.into()))?;
    let project = crate::project::load(store).map_err(|e| fail(e.into()))?;
    let seal = project.as_ref().map(|p| p.recipient());
    let id =
        write_archive(store, &manifest, &plan, temp.as_file_mut(), seal.as_ref()).map_err(fail)?;
    drop(snapshot);
    let path = fixed_name.unwrap_or_else(|| dir.join(format!("{id}.{}", super::EXTENSION)));
    let size = temp.as_file().metadata().map_err(|e| fail(e.into()))?.len();
    temp.persist(&path).map_err(|e| fail(e.error.into()))?;
    sync_dir(&dir).map_err(|e| fail(e.into()))?;
    // The sender never needs to import its own bundle.
    store
        .mark_imported(&id, &manifest.sender)
        .map_err(|e| fail(e.into()))?;
    Ok(Some(Written {
        id,
        path,
        manifest,
        size,
    }))
}

fn range_of(segment: &ExportSegment) -> Range {
    Range {
        kind: kind_of(segment),
        author: segment.author,
        first: segment.first,
        last: segment.last,
    }
}

fn kind_of(segment: &ExportSegment) -> Kind {
    match segment.placement {
        Placement::Fork => Kind::Fork,
        Placement::Log | Placement::Waiting => Kind::Log,
    }
}

fn manifest_for(store: &Store, plan: &[ExportSegment]) -> Result<Manifest, crate::store::Error> {
    let segments: Vec<Range> = plan.iter().map(range_of).collect();
    let mut manifest = Manifest {
        format: FORMAT_VERSION,
        sender: store.author(),
        created: now_ms(),
        frontier: store.frontier()?,
        entries: segments.iter().map(Range::len).sum(),
        segments,
        payload: 0,
    };
    let members: u64 = plan.iter().map(|s| 512 + padded(s.len)).sum();
    // The payload size is part of the manifest, whose own size depends on it; a few rounds
    // reach the fixed point because the CBOR integer width only grows.
    loop {
        let manifest_len = serde_ipld_dagcbor::to_vec(&manifest)
            .expect("a manifest encodes")
            .len() as u64;
        let payload = 512 + padded(manifest_len) + members + 1024;
        if payload == manifest.payload {
            return Ok(manifest);
        }
        manifest.payload = payload;
    }
}

fn padded(len: u64) -> u64 {
    len.div_ceil(512) * 512
}

fn write_archive(
    store: &Store,
    manifest: &Manifest,
    plan: &[ExportSegment],
    file: &mut File,
    seal: Option<&age::x25519::Recipient>,
) -> Result<BundleId, Reason> {
    let out = HashWriter {
        inner: BufWriter::with_capacity(1 << 20, &mut *file),
        hasher: blake3::Hasher::new(),
    };
    let mut out = match seal {
        None => write_plain(store, manifest, plan, out)?,
        Some(recipient) => {
            let sealed = write_plain(store, manifest, plan, sealed::sealing(out, recipient)?)?;
            sealed.finish()?
        }
    };
    out.flush()?;
    let id = Hash::from_bytes(*out.hasher.finalize().as_bytes());
    drop(out);
    file.sync_all()?;
    Ok(id)
}

/// Writes the plaintext bundle (header, then zstd of the archive) into `out` and returns it.
fn write_plain<W: Write>(
    store: &Store,
    manifest: &Manifest,
    plan: &[ExportSegment],
    mut out: W,
) -> Result<W, Reason> {
    out.write_all(&header())?;
    let mut encoder = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?;
    encoder.include_checksum(true)?;
    let mut tar = tar::Builder::new(encoder);
    let mtime = manifest.created / 1000;
    let manifest_bytes = serde_ipld_dagcbor::to_vec(manifest).expect("a manifest encodes");
    append(&mut tar, "manifest.cbor", &manifest_bytes, mtime)?;
    for (segment, range) in plan.iter().zip(&manifest.segments) {
        let bytes = store.export_bytes(segment)?;
        append(&mut tar, &range.member_name(), &bytes, mtime)?;
    }
    let encoder = tar.into_inner()?;
    Ok(encoder.finish()?)
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    data: &[u8],
    mtime: u64,
) -> io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_path(name)?;
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(mtime);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    tar.append(&header, data)
}

struct HashWriter<W> {
    inner: W,
    hasher: blake3::Hasher,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Makes a rename inside `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Removes a file and makes the removal durable.
pub(crate) fn remove_durably(path: &Path) -> io::Result<()> {
    fs::remove_file(path)?;
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
        _ => Ok(()),
    }
}
