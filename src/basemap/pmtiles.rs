//! Tiles out of a PMTiles v3 archive (protomaps' `spec/v3/spec.md`), read through a function
//! that reads a byte range, so only the header, the directories on the way and the tile are
//! read. Every length an archive states is bounded before anything is allocated, and every
//! offset is checked against what the read returned: a hostile archive gives an error.

use std::io::Read;

use flate2::read::GzDecoder;

/// Bytes of a v3 header.
pub const HEADER_LEN: usize = 127;
/// The most bytes a directory may take, stored or decompressed.
pub const MAX_DIRECTORY: u64 = 16 << 20;
/// The most bytes a tile or the metadata may take.
pub const MAX_TILE: u64 = 8 << 20;
/// Leaf directories nest at most this deep below the root (the spec's writers use one level).
const MAX_DEPTH: usize = 4;
/// Highest zoom whose tile ids fit in a u64.
const MAX_ZOOM: u8 = 31;

/// What is wrong with an archive: one line, without the archive's name (the caller adds it).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Damaged(pub String);

fn damaged(why: impl Into<String>) -> Damaged {
    Damaged(why.into())
}

/// The parts of the header a reader needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    root: (u64, u64),
    metadata: (u64, u64),
    leaves: u64,
    data: u64,
    internal_compression: u8,
    /// How tiles are compressed: 1 none, 2 gzip, 3 brotli, 4 zstd (0 unknown).
    pub tile_compression: u8,
    /// What tiles are: 1 mvt, 2 png, 3 jpeg, 4 webp, 5 avif (0 unknown).
    pub tile_type: u8,
    /// Lowest zoom held.
    pub min_zoom: u8,
    /// Highest zoom held.
    pub max_zoom: u8,
    /// West, south, east, north in degrees.
    pub bounds: [f64; 4],
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

fn degrees_at(bytes: &[u8], at: usize) -> f64 {
    f64::from(i32::from_le_bytes(
        bytes[at..at + 4].try_into().expect("4 bytes"),
    )) / 1e7
}

impl Header {
    /// Reads a header from the archive's first bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, Damaged> {
        if !bytes.starts_with(b"PMTiles") {
            return Err(damaged("it does not start with \"PMTiles\""));
        }
        if bytes.len() < HEADER_LEN {
            return Err(damaged("its header is cut short"));
        }
        if bytes[7] != 3 {
            return Err(damaged(format!("it is version {}", bytes[7])));
        }
        Ok(Self {
            root: (u64_at(bytes, 8), u64_at(bytes, 16)),
            metadata: (u64_at(bytes, 24), u64_at(bytes, 32)),
            leaves: u64_at(bytes, 40),
            data: u64_at(bytes, 56),
            internal_compression: bytes[97],
            tile_compression: bytes[98],
            tile_type: bytes[99],
            min_zoom: bytes[100],
            max_zoom: bytes[101],
            bounds: [102, 106, 110, 114].map(|at| degrees_at(bytes, at)),
        })
    }
}

/// Reads `len` bytes at `offset` (fewer where the archive ends).
pub type ReadAt<'a, E> = dyn FnMut(u64, u64) -> Result<Vec<u8>, E> + 'a;

/// Reading failed, or the archive is damaged.
#[derive(Debug)]
pub enum Failure<E> {
    /// The read failed.
    Read(E),
    /// The archive is damaged.
    Damaged(Damaged),
}

impl<E> From<Damaged> for Failure<E> {
    fn from(damaged: Damaged) -> Self {
        Self::Damaged(damaged)
    }
}

fn exact<E>(
    read: &mut ReadAt<'_, E>,
    offset: u64,
    len: u64,
    what: &str,
) -> Result<Vec<u8>, Failure<E>> {
    let limit = if what == "tile" || what == "metadata" {
        MAX_TILE
    } else {
        MAX_DIRECTORY
    };
    if len > limit {
        return Err(damaged(format!("its {what} claims {len} bytes, more than {limit}")).into());
    }
    let bytes = read(offset, len).map_err(Failure::Read)?;
    if bytes.len() as u64 != len {
        return Err(damaged(format!(
            "its {what} at {offset} ({len} bytes) lies past the end"
        ))
        .into());
    }
    Ok(bytes)
}

fn decompress(bytes: Vec<u8>, compression: u8, what: &str) -> Result<Vec<u8>, Damaged> {
    match compression {
        0 | 1 => Ok(bytes),
        2 => {
            let mut out = Vec::new();
            GzDecoder::new(&bytes[..])
                .take(MAX_DIRECTORY + 1)
                .read_to_end(&mut out)
                .map_err(|e| damaged(format!("its {what} does not decompress: {e}")))?;
            if out.len() as u64 > MAX_DIRECTORY {
                return Err(damaged(format!(
                    "its {what} decompresses to over {MAX_DIRECTORY} bytes"
                )));
            }
            Ok(out)
        }
        other => Err(damaged(format!(
            "its {what} is compressed with method {other}, which mule does not read (gzip or none)"
        ))),
    }
}

/// The archive's metadata (a JSON object; attribution, name...).
pub fn metadata<E>(
    header: &Header,
    read: &mut ReadAt<'_, E>,
) -> Result<serde_json::Value, Failure<E>> {
    let (offset, len) = header.metadata;
    if len == 0 {
        return Ok(serde_json::json!({}));
    }
    let bytes = exact(read, offset, len, "metadata")?;
    let text = decompress(bytes, header.internal_compression, "metadata")?;
    serde_json::from_slice(&text)
        .map_err(|e| damaged(format!("its metadata is not JSON: {e}")).into())
}

/// The tile id of `z/x/y`: tiles of lower zooms first, then along a Hilbert curve.
pub fn tile_id(z: u8, x: u32, y: u32) -> Option<u64> {
    if z > MAX_ZOOM || u64::from(x) >= 1 << z || u64::from(y) >= 1 << z {
        return None;
    }
    let before = ((1u64 << (2 * u32::from(z))) - 1) / 3;
    let (mut x, mut y) = (u64::from(x), u64::from(y));
    let mut d = 0u64;
    let mut s = (1u64 << z) / 2;
    while s > 0 {
        let (rx, ry) = (u64::from(x & s > 0), u64::from(y & s > 0));
        d += s * s * ((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = s - 1 - (x & (s - 1));
                y = s - 1 - (y & (s - 1));
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    Some(before + d)
}

/// One directory entry.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    tile_id: u64,
    offset: u64,
    length: u64,
    run_length: u64,
}

fn varint(bytes: &mut &[u8]) -> Result<u64, Damaged> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes
            .split_first()
            .ok_or_else(|| damaged("a directory is cut short"))?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(damaged("a directory holds a number over 64 bits"))
}

fn parse_directory(mut bytes: &[u8]) -> Result<Vec<Entry>, Damaged> {
    let bytes = &mut bytes;
    let count = varint(bytes)?;
    // Each entry takes at least four bytes, so a count over the bytes left is a lie.
    if count > bytes.len() as u64 {
        return Err(damaged(format!(
            "a directory claims {count} entries in {} bytes",
            bytes.len()
        )));
    }
    let mut entries = vec![
        Entry {
            tile_id: 0,
            offset: 0,
            length: 0,
            run_length: 0
        };
        count as usize
    ];
    let mut last = 0u64;
    for entry in entries.iter_mut() {
        last = last
            .checked_add(varint(bytes)?)
            .ok_or_else(|| damaged("a directory's tile ids overflow"))?;
        entry.tile_id = last;
    }
    for entry in entries.iter_mut() {
        entry.run_length = varint(bytes)?;
    }
    for entry in entries.iter_mut() {
        entry.length = varint(bytes)?;
    }
    for i in 0..entries.len() {
        let value = varint(bytes)?;
        entries[i].offset = match (value, i.checked_sub(1)) {
            (0, Some(previous)) => entries[previous]
                .offset
                .saturating_add(entries[previous].length),
            (0, None) => return Err(damaged("a directory's first entry has no offset")),
            (value, _) => value - 1,
        };
    }
    Ok(entries)
}

/// Tile `z/x/y`, or `None` when the archive does not hold it.
pub fn tile<E>(
    header: &Header,
    read: &mut ReadAt<'_, E>,
    z: u8,
    x: u32,
    y: u32,
) -> Result<Option<Vec<u8>>, Failure<E>> {
    let Some(id) = tile_id(z, x, y) else {
        return Ok(None);
    };
    let (mut offset, mut len) = header.root;
    for _ in 0..=MAX_DEPTH {
        let stored = exact(read, offset, len, "directory")?;
        let entries = parse_directory(&decompress(
            stored,
            header.internal_compression,
            "directory",
        )?)?;
        let Some(entry) = entries.get(entries.partition_point(|e| e.tile_id <= id).wrapping_sub(1))
        else {
            return Ok(None);
        };
        if entry.run_length == 0 {
            (offset, len) = (header.leaves.saturating_add(entry.offset), entry.length);
        } else if id - entry.tile_id < entry.run_length {
            let at = header.data.saturating_add(entry.offset);
            return Ok(Some(exact(read, at, entry.length, "tile")?));
        } else {
            return Ok(None);
        }
    }
    Err(damaged(format!("its leaf directories nest deeper than {MAX_DEPTH}")).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_ids_follow_the_spec() {
        // The spec's examples: zoom 0, the first tile of zoom 1, and zoom 2's tiles.
        assert_eq!(tile_id(0, 0, 0), Some(0));
        assert_eq!(tile_id(1, 0, 0), Some(1));
        assert_eq!(tile_id(1, 0, 1), Some(2));
        assert_eq!(tile_id(1, 1, 1), Some(3));
        assert_eq!(tile_id(1, 1, 0), Some(4));
        assert_eq!(tile_id(2, 0, 0), Some(5));
        assert_eq!(tile_id(1, 2, 0), None);
    }

    /// A directory of `(tile_id, run_length, length, offset)` entries, uncompressed.
    fn directory(entries: &[(u64, u64, u64, u64)]) -> Vec<u8> {
        let mut out = vec![entries.len() as u8];
        let mut last = 0;
        for (id, ..) in entries {
            out.push((id - last) as u8);
            last = *id;
        }
        out.extend(entries.iter().map(|e| e.1 as u8));
        out.extend(entries.iter().map(|e| e.2 as u8));
        out.extend(entries.iter().map(|e| e.3 as u8 + 1));
        out
    }

    /// An archive whose root points to a leaf (at leaf offset `leaf_at`) holding tile 1/0/1.
    fn with_leaf(leaf_at: u64) -> (Header, Vec<u8>) {
        let root = directory(&[(0, 0, 6, leaf_at)]);
        let leaf = directory(&[(2, 1, 4, 0)]);
        let mut bytes = vec![0u8; HEADER_LEN];
        bytes[..8].copy_from_slice(b"PMTiles\x03");
        let leaves = (HEADER_LEN + root.len()) as u64;
        let data = leaves + leaf.len() as u64;
        for (at, value) in [
            (8, HEADER_LEN as u64),
            (16, root.len() as u64),
            (40, leaves),
            (56, data),
        ] {
            bytes[at..at + 8].copy_from_slice(&u64::to_le_bytes(value));
        }
        bytes[97] = 1;
        bytes.extend(root.iter().chain(&leaf).chain(b"tile"));
        (Header::parse(&bytes).expect("header"), bytes)
    }

    fn read_from(bytes: &[u8]) -> impl FnMut(u64, u64) -> Result<Vec<u8>, ()> + '_ {
        |at, len| {
            Ok(bytes
                .iter()
                .skip(at as usize)
                .take(len as usize)
                .copied()
                .collect())
        }
    }

    #[test]
    fn a_tile_is_found_through_a_leaf_and_a_looping_leaf_stops() {
        let (header, bytes) = with_leaf(0);
        let found = tile(&header, &mut read_from(&bytes), 1, 0, 1)
            .ok()
            .flatten();
        assert_eq!(found.as_deref(), Some(&b"tile"[..]));
        assert!(matches!(
            tile(&header, &mut read_from(&bytes), 1, 1, 1),
            Ok(None)
        ));
        // A leaf whose one entry points at the root again (as a leaf), forever.
        let (mut header, bytes) = with_leaf(0);
        header.leaves = HEADER_LEN as u64;
        match tile(&header, &mut read_from(&bytes), 1, 0, 1) {
            Err(Failure::Damaged(why)) => assert!(why.0.contains("nest deeper"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_directory_that_lies_gives_an_error() {
        for bytes in [
            &[0xff, 0xff, 0xff, 0x0f][..],
            &[2, 1],
            &[1, 0, 1, 1, 0],
            &[0xff; 11],
        ] {
            assert!(parse_directory(bytes).is_err(), "{bytes:?}");
        }
        assert_eq!(parse_directory(&[1, 0, 1, 5, 1]).unwrap()[0].length, 5);
    }
}
