//! Inputs with which the fuzzers (`fuzz/`, see fuzz/README.md) found crashes; each must now be
//! refused cleanly. The inputs live in `fuzz/regressions/<target>-<name>`.

use std::path::Path;

use mule::AuthorId;
use mule::bundle::{Kind, Manifest, Range};

fn regression(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `manifest` target: a manifest range whose last seq comes before its first decoded, and
/// `Range::len` then overflowed.
#[test]
fn manifest_ranges_that_end_before_they_start_are_refused() {
    let bytes = regression("manifest-range-last-before-first");
    let error = serde_ipld_dagcbor::from_slice::<Manifest>(&bytes).unwrap_err();
    assert!(error.to_string().contains("first <= last"), "{error}");

    let range = |first, last| Range {
        kind: Kind::Log,
        author: AuthorId::from_bytes([7; 32]),
        first,
        last,
    };
    // Seqs above i64::MAX are refused too: no store can hold them.
    for (first, last) in [(3, 1), (0, 0), (0, 5), (u64::MAX, 1), (1, u64::MAX)] {
        let bytes = serde_ipld_dagcbor::to_vec(&range(first, last)).unwrap();
        assert!(
            serde_ipld_dagcbor::from_slice::<Range>(&bytes).is_err(),
            "{first}-{last}"
        );
    }
    for (first, last) in [(1, 1), (2, 9), (1, i64::MAX as u64)] {
        let bytes = serde_ipld_dagcbor::to_vec(&range(first, last)).unwrap();
        let back: Range = serde_ipld_dagcbor::from_slice(&bytes).unwrap();
        assert_eq!(back, range(first, last));
        assert_eq!(back.len(), last - first + 1);
    }
}

/// A bundle of two members, `log/A/1-1` and `log/B/1-18446744073709551615`: counting the
/// second one's entries overflowed the reader's running total (found while writing the `bundle`
/// target; a fuzzer would have to find a zstd-compressed tar to get there).
#[test]
fn an_entry_count_beyond_u64_is_refused() {
    let (author, other) = (AuthorId::from_bytes([7; 32]), AuthorId::from_bytes([8; 32]));
    let range = |author, first, last| Range {
        kind: Kind::Log,
        author,
        first,
        last,
    };
    let manifest = Manifest {
        format: 1,
        sender: author,
        created: 5,
        frontier: [(author, 1)].into_iter().collect(),
        segments: vec![range(author, 1, 1), range(other, 1, u64::MAX)],
        entries: 1,
        payload: 1 << 20,
        objects: Vec::new(),
    };
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, data).unwrap();
    };
    add(
        "manifest.cbor",
        &serde_ipld_dagcbor::to_vec(&manifest).unwrap(),
    );
    for range in &manifest.segments {
        add(&range.member_name(), b"");
    }
    let archive = tar.into_inner().unwrap();
    let mut file = Vec::new();
    file.extend_from_slice(&mule::bundle::SKIPPABLE_FRAME_MAGIC.to_le_bytes());
    file.extend_from_slice(&12u32.to_le_bytes());
    file.extend_from_slice(&mule::bundle::MAGIC);
    file.extend_from_slice(&1u32.to_le_bytes());
    file.extend_from_slice(&zstd::encode_all(&archive[..], 3).unwrap());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("overflow.mule");
    std::fs::write(&path, file).unwrap();
    let result = mule::bundle::read_bundle(&path, None, |_| Ok(()));
    assert!(result.is_err());
}

/// `qr_frame` target input (crafted from reading the receiver, then confirmed by the target,
/// which went past its 2 GB limit): 40 frames of made-up sessions, each announcing the most
/// symbols a frame may; the receiver allocated a decoder slot for every announced symbol of
/// every session (about 70 MB each). The input is the target's: a flags byte (bit 0: fix each
/// frame's CRC32C), then frames prefixed by their length (u16, big-endian).
#[test]
fn frames_of_made_up_sessions_are_refused_beyond_the_receiver_budget() {
    use mule::qr::fountain::{Error, Receiver};
    use mule::qr::frame::Frame;

    let input = regression("qr_frame-many-sessions");
    let (flags, mut rest) = input.split_first().unwrap();
    assert_eq!(flags & 1, 1);
    let mut receiver = Receiver::default();
    let (mut accepted, mut refused) = (0, 0);
    while let [hi, lo, tail @ ..] = rest {
        let (frame, tail) = tail.split_at(usize::from(u16::from_be_bytes([*hi, *lo])));
        rest = tail;
        let mut bytes = frame.to_vec();
        let body = bytes.len() - 4;
        let crc = crc32c::crc32c(&bytes[..body]);
        bytes[body..].copy_from_slice(&crc.to_be_bytes());
        match receiver.accept(Frame::parse(&bytes).unwrap()) {
            Ok(_) => accepted += 1,
            Err(Error::TooManySymbols(_)) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((accepted, refused), (1, 39));
    assert_eq!(receiver.progress().len(), 1);
}

/// `segment` target: `{"": "`"}` with its key written as a text of indefinite length passed
/// `check_body` (keys were skipped, not read), though it is not canonical: it re-encodes to
/// other bytes.
#[test]
fn bodies_with_indefinite_length_texts_are_refused() {
    let bytes = regression("segment-indefinite-map-key");
    assert!(mule::entry::check_body(&bytes).is_err());
    let canonical = [0xa1, 0x60, 0x61, 0x60];
    assert!(mule::entry::check_body(&canonical).is_ok());
    let json = mule::entry::body_to_json(&bytes).unwrap();
    assert_eq!(serde_ipld_dagcbor::to_vec(&json).unwrap(), canonical);
}
