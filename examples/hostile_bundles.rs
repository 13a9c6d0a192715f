//! Hostile bundles written by hand from bundle-format.md, not by mule's writer: what a person
//! with a USB stick, a key of their own and the spec can make. The tests
//! (`tests/it/hostile.rs`) and the bench (`benches/hostile.rs`) use these functions; run it to
//! get the files for trying mule by hand:
//!
//!     cargo run --example hostile_bundles -- DIR
//!
//! writes `DIR/forged-in-peers-name.mule` (a frontier claim signed by the wrong key),
//! `DIR/claims-your-chain.mule` (signed, claiming seq 1000 of the author given as the second
//! argument, or of a made-up one), `DIR/fork-a.mule` and `DIR/fork-b.mule` (two signed branches
//! of one author at seq 2), `DIR/tiny-members.mule` (100,000 one-entry members) and
//! `DIR/seq-1-branches.mule` (10,000 different seq-1 entries of one key).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use ed25519_dalek::{Signer, SigningKey};
use mule::bundle::{Kind, Manifest, Range};
use mule::segment::{Segment, SegmentEntry};
use mule::{AuthorId, Hash};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[allow(dead_code)]
fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .ok_or("usage: hostile_bundles DIR [VICTIM-ID]")?,
    );
    std::fs::create_dir_all(&out)?;
    let (peer, attacker) = (Device::new(0x11), Device::new(0x66));
    let victim: AuthorId = match args.next() {
        Some(id) => id.parse()?,
        None => Device::new(0x77).author(),
    };
    let claim: BTreeMap<_, _> = [(victim, 1000)].into_iter().collect();
    let one = peer.run(1, None, &[("k", "v")]);
    let put = |name: &str, bytes: Vec<u8>| std::fs::write(out.join(name), bytes);
    put(
        "forged-in-peers-name.mule",
        bundle(
            peer.author(),
            &attacker,
            claim.clone(),
            &[(Kind::Log, one.clone())],
        ),
    )?;
    put(
        "claims-your-chain.mule",
        bundle(peer.author(), &peer, claim, &[(Kind::Log, one)]),
    )?;
    let (a, b) = fork_branches(&peer);
    put("fork-a.mule", a)?;
    put("fork-b.mule", b)?;
    put("tiny-members.mule", tiny_members(&peer, 100_000))?;
    put("seq-1-branches.mule", seq_1_branches(&attacker, 10_000))?;
    println!("hostile bundles written to {}", out.display());
    Ok(())
}

/// A device of the generator: an ed25519 key made from a one-byte seed.
pub struct Device {
    key: SigningKey,
}

impl Device {
    pub fn new(seed: u8) -> Self {
        Self {
            key: SigningKey::from_bytes(&[seed; 32]),
        }
    }

    pub fn author(&self) -> AuthorId {
        AuthorId::from_bytes(self.key.verifying_key().to_bytes())
    }

    /// A run of kv entries `{"k": k, "v": v}` from seq `first` after `prev`, every entry
    /// signed ("Entry": the signature is over the signing context and the entry's hash).
    pub fn run(&self, first: u64, prev: Option<Hash>, values: &[(&str, &str)]) -> Segment {
        let entries = values
            .iter()
            .enumerate()
            .map(|(i, (k, v))| SegmentEntry {
                timestamp: 1_795_000_000_000 + first * 1000 + i as u64,
                kind: "kv".into(),
                links: vec![],
                body: mule::entry::body_from_json(&serde_json::json!({"k": k, "v": v}))
                    .expect("JSON body"),
                signature: None,
            })
            .collect();
        let mut segment = Segment {
            author: self.author(),
            first,
            prev,
            entries,
        };
        let hashes = segment.hashes().expect("a fresh run hashes");
        for (entry, hash) in segment.entries.iter_mut().zip(&hashes) {
            let message = mule::entry::signed_message(hash);
            entry.signature = Some(self.key.sign(&message).to_bytes());
        }
        segment
    }
}

/// The hash of a run's last entry (what the next run names as `prev`).
pub fn last_hash(segment: &Segment) -> Hash {
    *segment.hashes().expect("hashes").last().expect("not empty")
}

/// A format-3 bundle, byte for byte from bundle-format.md: the 20-byte header, one zstd frame
/// of a ustar archive (`manifest.cbor`, then the members), and the signature trailer signed by
/// `signer` in the name of `sender`.
pub fn bundle(
    sender: AuthorId,
    signer: &Device,
    frontier: BTreeMap<AuthorId, u64>,
    members: &[(Kind, Segment)],
) -> Vec<u8> {
    let encoded: Vec<(Range, Vec<u8>)> = members
        .iter()
        .map(|(kind, segment)| {
            let range = Range {
                kind: *kind,
                author: segment.author,
                first: segment.first,
                last: segment.last(),
            };
            (range, segment.encode())
        })
        .collect();
    let mut manifest = Manifest {
        format: 3,
        sender,
        created: 1_795_000_000_000,
        frontier,
        segments: encoded.iter().map(|(range, _)| *range).collect(),
        entries: encoded.iter().map(|(range, _)| range.len()).sum(),
        payload: 0,
        objects: vec![],
    };
    let pad = |n: usize| n.div_ceil(512) * 512;
    let members_len: usize = encoded.iter().map(|(_, b)| 512 + pad(b.len())).sum();
    loop {
        let len = serde_ipld_dagcbor::to_vec(&manifest).expect("CBOR").len();
        let payload = (512 + pad(len) + members_len + 1024) as u64;
        if payload == manifest.payload {
            break;
        }
        manifest.payload = payload;
    }
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut header = tar::Header::new_ustar();
        header.set_path(name).expect("name");
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(manifest.created / 1000);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append(&header, data).expect("in memory");
    };
    add(
        "manifest.cbor",
        &serde_ipld_dagcbor::to_vec(&manifest).expect("CBOR"),
    );
    for (range, bytes) in &encoded {
        add(&range.member_name(), bytes);
    }
    let archive = tar.into_inner().expect("in memory");
    assert_eq!(archive.len() as u64, manifest.payload);
    let mut out = Vec::new();
    out.extend_from_slice(&0x184D_2A5Eu32.to_le_bytes());
    out.extend_from_slice(&12u32.to_le_bytes());
    out.extend_from_slice(b"\x89MULE\r\n\x1a");
    out.extend_from_slice(&3u32.to_le_bytes());
    let mut encoder = zstd::stream::write::Encoder::new(out, 3).expect("zstd");
    encoder.include_checksum(true).expect("zstd");
    encoder.write_all(&archive).expect("in memory");
    let mut out = encoder.finish().expect("in memory");
    let archive_hash = Hash::of(&archive);
    let mut message = b"mule-bundle-v3\0".to_vec();
    message.extend_from_slice(archive_hash.as_bytes());
    out.extend_from_slice(&0x184D_2A5Fu32.to_le_bytes());
    out.extend_from_slice(&96u32.to_le_bytes());
    out.extend_from_slice(archive_hash.as_bytes());
    out.extend_from_slice(&signer.key.sign(&message).to_bytes());
    out
}

/// Two bundles of `device`: seq 1 `x`, then two different seq-2 entries (`x` again, and
/// `other`), each bundle holding seq 1 and one branch.
pub fn fork_branches(device: &Device) -> (Vec<u8>, Vec<u8>) {
    let base = device.run(1, None, &[("x", "1")]);
    let prev = Some(last_hash(&base));
    let a = device.run(2, prev, &[("x", "2")]);
    let b = device.run(2, prev, &[("other", "2")]);
    let frontier: BTreeMap<_, _> = [(device.author(), 2)].into_iter().collect();
    let pack = |branch: Segment| {
        bundle(
            device.author(),
            device,
            frontier.clone(),
            &[(Kind::Log, base.clone()), (Kind::Log, branch)],
        )
    };
    (pack(a), pack(b))
}

/// One chain of `n` kv entries of `device`, each entry a member of its own.
pub fn tiny_members(device: &Device, n: u64) -> Vec<u8> {
    let mut members = Vec::new();
    let mut prev = None;
    for seq in 1..=n {
        let run = device.run(seq, prev, &[("k", "v")]);
        prev = Some(last_hash(&run));
        members.push((Kind::Log, run));
    }
    let frontier = [(device.author(), n)].into_iter().collect();
    bundle(device.author(), device, frontier, &members)
}

/// `n` different seq-1 entries of `device`: one chain member and `n - 1` fork members.
pub fn seq_1_branches(device: &Device, n: u64) -> Vec<u8> {
    let members: Vec<(Kind, Segment)> = (0..n)
        .map(|i| {
            let kind = if i == 0 { Kind::Log } else { Kind::Fork };
            (kind, device.run(1, None, &[("k", &i.to_string())]))
        })
        .collect();
    let frontier = [(device.author(), 1)].into_iter().collect();
    bundle(device.author(), device, frontier, &members)
}
