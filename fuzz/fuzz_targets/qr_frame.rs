//! QR frames, and a fountain receiver fed every frame that parses.
//!
//! Input: one flags byte, then frames, each prefixed by its length (2 bytes, big-endian; the
//! last one takes what is left). Flag bit 0 makes the target write the right CRC32C into every
//! frame before parsing it, so the fuzzer reaches the header checks and the RaptorQ decoder
//! without having to find checksums.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mule::qr::fountain::Receiver;
use mule::qr::frame::Frame;

fn frames(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !data.is_empty() && out.len() < 256 {
        let (frame, rest) = match data {
            [hi, lo, rest @ ..] => {
                let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(rest.len());
                rest.split_at(len)
            }
            _ => (data, &[][..]),
        };
        out.push(frame.to_vec());
        data = rest;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, data)) = data.split_first() else {
        return;
    };
    let mut receiver = Receiver::default();
    for mut bytes in frames(data) {
        if flags & 1 == 1 && bytes.len() >= 4 {
            let body = bytes.len() - 4;
            let crc = crc32c(&bytes[..body]);
            bytes[body..].copy_from_slice(&crc.to_be_bytes());
        }
        let Ok(frame) = Frame::parse(&bytes) else {
            continue;
        };
        assert_eq!(
            Frame::parse(&frame.encode()).as_ref(),
            Ok(&frame),
            "no round trip"
        );
        let _ = receiver.accept(frame);
    }
    let _ = receiver.progress();
    for (id, bundle) in receiver.bundles() {
        let _ = (id, bundle.len());
    }
});

/// CRC32C (Castagnoli), bitwise: the frame checksum, without another dependency.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
