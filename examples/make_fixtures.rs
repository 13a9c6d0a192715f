//! Writes the committed fixtures: `fixtures/v3/*.mule` (real bundles of the current format, 3)
//! and `fixtures/bad/*.mule` (bundles damaged in one way each, named after the defect).
//! `fixtures/v1/two-writers.mule` was written by this generator when format 1 was current and
//! is kept as it is: it holds the same entries as `v3/two-writers.mule`.
//!
//! Run: `cargo run --example make_fixtures -- fixtures` (overwrites the files).
//!
//! Every key comes from a fixed seed (written as a `device.key` file, whose form
//! bundle-format.md specifies, because `DeviceKey` has no from-seed constructor), and every
//! timestamp is fixed, so the entries, their hashes and the authors are the same on every run;
//! only the `created` time in manifests written by `mule::bundle::write_bundle` changes, and with
//! it the bytes of `v3/two-writers.mule` and of the fixtures cut from it. The tests pin the
//! contents, and `tests/it/fixtures.rs` checks that a fresh run of this generator still yields
//! what the committed files hold.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use mule::bundle::{
    self, Coverage, FORMAT_VERSION, HEADER_LEN, Kind, MAGIC, Manifest, Range,
    SKIPPABLE_FRAME_MAGIC, TRAILER_LEN,
};
use mule::entry::body_from_json;
use mule::keys::{DeviceKey, KEY_FILE};
use mule::segment::{Segment, SegmentEntry};
use mule::store::{Draft, Frontier, Store};
use serde_json::json;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Seeds of the fixture keys: the two writers of the v1 bundle, the author of the damaged
/// bundles, and a stranger whose signatures must not pass for that author's.
pub const SEED_A: [u8; 32] = [0xa1; 32];
/// See [`SEED_A`].
pub const SEED_B: [u8; 32] = [0xb2; 32];
/// See [`SEED_A`].
pub const SEED_BAD: [u8; 32] = [0xc3; 32];
/// See [`SEED_A`].
pub const SEED_STRANGER: [u8; 32] = [0xd4; 32];

/// Milliseconds since the Unix epoch that every fixture timestamp counts from.
const T0: u64 = 1_795_000_000_000;

fn main() -> Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "fixtures".into()));
    generate(&out)?;
    println!("fixtures written to {}", out.display());
    Ok(())
}

/// Writes `v3/` and `bad/` inside `out`.
pub fn generate(out: &Path) -> Result<()> {
    fs::create_dir_all(out.join("v3"))?;
    fs::create_dir_all(out.join("bad"))?;
    let work = tempfile::tempdir()?;
    let good = two_writers(work.path())?;
    fs::copy(&good, out.join("v3/two-writers.mule"))?;
    write_bad(work.path(), &out.join("bad"), &fs::read(&good)?)?;
    Ok(())
}

/// `good` (a signed bundle) with its manifest claiming that the sender holds author A's chain up
/// to seq 9 instead of 3, changed in place (the same CBOR width, so the archive's size and tar
/// headers still agree) and recompressed; the sender's signature is kept as it was.
fn forged_frontier(good: &[u8]) -> Result<Vec<u8>> {
    let (header, rest) = good.split_at(HEADER_LEN);
    let (frame, trailer) = rest.split_at(rest.len() - TRAILER_LEN);
    let mut archive = zstd::decode_all(frame)?;
    let author_a = key_from(&tempfile::tempdir()?.path().join("a"), SEED_A)?.author();
    // The pair [A, 3]: an array of two, A as a 32-byte byte string, then the integer 3.
    let mut pair = vec![0x82, 0x58, 0x20];
    pair.extend_from_slice(author_a.as_bytes());
    pair.push(0x03);
    let at = archive
        .windows(pair.len())
        .position(|w| w == pair)
        .ok_or("the manifest names A up to seq 3")?;
    archive[at + pair.len() - 1] = 0x09;
    let mut out = header.to_vec();
    out.extend(zstd::encode_all(&archive[..], 3)?);
    out.extend_from_slice(trailer);
    Ok(out)
}

/// Writes a `device.key` holding `seed` into `dir` (creating it), so a store or key opened
/// there signs with a known key.
fn plant_key(dir: &Path, seed: [u8; 32]) -> Result<()> {
    fs::create_dir_all(dir)?;
    let text = format!("mule device key v1\n{}\n", hex::encode(seed));
    fs::write(dir.join(KEY_FILE), text)?;
    Ok(())
}

fn store_with_key(dir: &Path, seed: [u8; 32]) -> Result<Store> {
    plant_key(dir, seed)?;
    Ok(Store::open(dir)?)
}

fn key_from(dir: &Path, seed: [u8; 32]) -> Result<DeviceKey> {
    plant_key(dir, seed)?;
    Ok(DeviceKey::load_or_create(dir)?)
}

fn draft(kind: &str, body: serde_json::Value, links: Vec<mule::Hash>, timestamp: u64) -> Draft {
    Draft {
        kind: kind.into(),
        body: body_from_json(&body).expect("fixture bodies are JSON"),
        links,
        timestamp,
    }
}

/// Two field laptops: A records three observations, B imports them and adds two of its own,
/// one correcting (linking) A's second entry. The bundle is B's export of everything.
fn two_writers(work: &Path) -> Result<PathBuf> {
    let mut a = store_with_key(&work.join("a"), SEED_A)?;
    let a_hashes = a.append(vec![
        draft("kv", json!({"k": "well-7", "v": "dry"}), vec![], T0),
        draft("kv", json!({"k": "well-8", "v": "full"}), vec![], T0 + 1000),
        draft(
            "map",
            json!({"id": "n1", "lat": -1.2921, "lon": 36.8219, "tags": {"amenity": "clinic"}}),
            vec![],
            T0 + 2000,
        ),
    ])?;
    let to_b = work.join("a-to-b.mule");
    bundle::write_bundle(&a, &Frontier::new(), &Coverage::default(), &to_b, false)?;
    let mut b = store_with_key(&work.join("b"), SEED_B)?;
    bundle::import_bundle(&mut b, &to_b)?;
    b.append(vec![draft(
        "kv",
        json!({"k": "well-8", "v": "half"}),
        vec![a_hashes[1]],
        T0 + 5000,
    )])?;
    b.append(vec![draft(
        "cal",
        json!({"title": "water committee", "start": "2026-12-01T09:00"}),
        vec![],
        T0 + 6000,
    )])?;
    let path = work.join("two-writers.mule");
    bundle::write_bundle(&b, &Frontier::new(), &Coverage::default(), &path, false)?;
    Ok(path)
}

fn write_bad(work: &Path, dir: &Path, good: &[u8]) -> Result<()> {
    let put = |name: &str, bytes: &[u8]| fs::write(dir.join(name), bytes);

    // Damage to the bytes of a real bundle.
    put("truncated-tail.mule", &good[..good.len() / 2])?;
    let mut flipped = good.to_vec();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x10;
    put("bit-flip.mule", &flipped)?;
    put(
        "not-a-bundle.mule",
        b"These are my field notes, not a bundle.\n",
    )?;
    put("zstd-without-header.mule", &good[HEADER_LEN..])?;
    let mut newer = good.to_vec();
    newer[16..20].copy_from_slice(&(FORMAT_VERSION as u32 + 1).to_le_bytes());
    put("newer-format.mule", &newer)?;
    put("forged-frontier.mule", &forged_frontier(good)?)?;
    put("signature-missing.mule", &good[..good.len() - TRAILER_LEN])?;

    // Well-formed archives whose contents lie, built member by member.
    let key = key_from(&work.join("bad-key"), SEED_BAD)?;
    let segment = signed_segment(&key, 3);
    let range = range_of(&segment);
    let good_member = (range.member_name(), segment.encode());

    let mut tampered = segment.clone();
    tampered.entries[0].body = body_from_json(&json!({"k": "well-0", "v": "poisoned"}))?;
    put(
        "tampered-body.mule",
        &pack(&key, &[(range.member_name(), tampered.encode())], None),
    )?;

    let mut wrong = segment.clone();
    key_from(&work.join("stranger-key"), SEED_STRANGER)?
        .sign_segment(&mut wrong, |_, last| last)?;
    put(
        "wrong-signature.mule",
        &pack(&key, &[(range.member_name(), wrong.encode())], None),
    )?;

    let mut unsigned = segment.clone();
    unsigned.entries.last_mut().expect("3 entries").signature = None;
    put(
        "unsigned-tail.mule",
        &pack(&key, &[(range.member_name(), unsigned.encode())], None),
    )?;

    let mut lying = manifest_for(&key, std::slice::from_ref(&good_member));
    lying.entries += 1;
    put(
        "manifest-lies-count.mule",
        &pack(&key, std::slice::from_ref(&good_member), Some(lying)),
    )?;

    // The same number of entries, in a range the archive does not hold.
    let mut lying = manifest_for(&key, std::slice::from_ref(&good_member));
    lying.segments[0].first += 1;
    lying.segments[0].last += 1;
    put(
        "manifest-lies-ranges.mule",
        &pack(&key, std::slice::from_ref(&good_member), Some(lying)),
    )?;

    let members = [("log/../../evil.cbor".to_owned(), segment.encode())];
    put("member-dotdot.mule", &pack(&key, &members, None))?;
    let members = [("/etc/evil.cbor".to_owned(), segment.encode())];
    put("member-absolute.mule", &pack(&key, &members, None))?;
    let members = [("notes.txt".to_owned(), b"hello".to_vec())];
    put("unknown-member.mule", &pack(&key, &members, None))?;

    // 15 MiB of zeros (under the member limit) compress to a few hundred bytes; the manifest
    // claims a 4 KiB archive, so the reader must stop at 4 KiB.
    let bomb = [(range.member_name(), vec![0u8; 15 << 20])];
    let mut small = manifest_for(&key, &[good_member]);
    small.payload = 4096;
    put("decompression-bomb.mule", &pack(&key, &bomb, Some(small)))?;
    Ok(())
}

fn signed_segment(key: &DeviceKey, n: usize) -> Segment {
    let entries = (0..n)
        .map(|i| SegmentEntry {
            timestamp: T0 + i as u64,
            kind: "kv".into(),
            links: vec![],
            body: body_from_json(&json!({"k": format!("well-{i}"), "v": "dry"})).expect("JSON"),
            signature: None,
        })
        .collect();
    let mut segment = Segment {
        author: key.author(),
        first: 1,
        prev: None,
        entries,
    };
    key.sign_segment(&mut segment, |_, last| last)
        .expect("a fresh segment hashes");
    segment
}

fn range_of(segment: &Segment) -> Range {
    Range {
        kind: Kind::Log,
        author: segment.author,
        first: segment.first,
        last: segment.last(),
    }
}

/// A truthful manifest for `members` (named like segments).
fn manifest_for(key: &DeviceKey, members: &[(String, Vec<u8>)]) -> Manifest {
    let segments: Vec<Range> = members
        .iter()
        .filter_map(|(_, bytes)| Segment::decode(bytes).ok().map(|s| range_of(&s)))
        .collect();
    let entries = segments.iter().map(Range::len).sum();
    let mut manifest = Manifest {
        format: 1,
        sender: key.author(),
        created: T0,
        frontier: Frontier::new(),
        segments,
        entries,
        payload: 0,
        objects: Vec::new(),
    };
    let pad = |n: usize| n.div_ceil(512) * 512;
    let members: usize = members.iter().map(|(_, b)| 512 + pad(b.len())).sum();
    for _ in 0..3 {
        let len = serde_ipld_dagcbor::to_vec(&manifest)
            .expect("encodes")
            .len();
        manifest.payload = (512 + pad(len) + members + 1024) as u64;
    }
    manifest
}

/// Header + zstd(tar(manifest, members)), writing member names byte for byte (so names a
/// well-behaved tar library refuses, like `..`, can be made).
fn pack(key: &DeviceKey, members: &[(String, Vec<u8>)], manifest: Option<Manifest>) -> Vec<u8> {
    let manifest = manifest.unwrap_or_else(|| manifest_for(key, members));
    let mut tar = tar::Builder::new(Vec::new());
    let manifest_bytes = serde_ipld_dagcbor::to_vec(&manifest).expect("encodes");
    append_raw(&mut tar, "manifest.cbor", &manifest_bytes);
    for (name, bytes) in members {
        append_raw(&mut tar, name, bytes);
    }
    let archive = tar.into_inner().expect("in memory");
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(&SKIPPABLE_FRAME_MAGIC.to_le_bytes());
    out.extend_from_slice(&12u32.to_le_bytes());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&1u32.to_le_bytes());
    let mut encoder = zstd::stream::write::Encoder::new(out, 3).expect("zstd");
    encoder.include_checksum(true).expect("zstd");
    encoder.write_all(&archive).expect("in memory");
    encoder.finish().expect("in memory")
}

fn append_raw(tar: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let mut header = tar::Header::new_ustar();
    let raw = &mut header.as_old_mut().name;
    raw[..name.len()].copy_from_slice(name.as_bytes());
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(T0 / 1000);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    tar.append(&header, data).expect("in memory");
}
