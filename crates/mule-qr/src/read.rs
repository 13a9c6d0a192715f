//! Reading QR codes from a grey picture: every code in it, byte-exact.
//!
//! Decoding uses rxing's multi-barcode reader restricted to QR codes: a fast pass first, and a
//! TryHarder pass only when the fast pass found nothing. rxing 0.9.3 reads QR along two paths
//! that report the payload differently: the default (cpp_port) reader puts it in the raw bytes,
//! the legacy fallback in the byte-segments metadata, with the raw codewords in the raw bytes.
//! Text (`getText`) is never used, as it holds the bytes decoded with a guessed charset.

use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};

use rxing::helpers::{detect_in_luma_with_hints, detect_multiple_in_luma_with_hints};
use rxing::{BarcodeFormat, DecodeHints, RXingResult, RXingResultMetadataType};
use rxing::{RXingResultMetadataValue, common::Result as RxingResult};

/// The raw bytes of every QR code in a grey picture of `width` x `height` pixels, one byte per
/// pixel, rows top to bottom (several codes per picture are supported). Empty when nothing was
/// found, and when `pixels` does not hold exactly `width * height` bytes. Never panics where
/// panics unwind (natively); in WebAssembly a bug in rxing traps the call.
pub fn codes_in_luma(pixels: Vec<u8>, width: u32, height: u32) -> Vec<Vec<u8>> {
    if width == 0 || height == 0 || pixels.len() as u64 != u64::from(width) * u64::from(height) {
        return Vec::new();
    }
    let fast = decode_pass(pixels.clone(), width, height, false);
    if !fast.is_empty() {
        return fast;
    }
    decode_pass(pixels, width, height, true)
}

/// One QR code from a grey picture (the first rxing finds), by one fast pass: for a live camera
/// that delivers the next picture within a few tens of milliseconds, where a second pass or a
/// search for more codes costs more pictures than it reads (at 1920x1080 natively: about 15 ms,
/// against 30 ms for [`codes_in_luma`]'s search for every code). A screen that shows two codes
/// at once (the `duo` profile) then gives one of them per picture.
pub fn one_code_in_luma(pixels: Vec<u8>, width: u32, height: u32) -> Option<Vec<u8>> {
    if width == 0 || height == 0 || pixels.len() as u64 != u64::from(width) * u64::from(height) {
        return None;
    }
    let mut hints = hints(false);
    // As in `decode_pass`: a bug of rxing's on an odd picture must not take the caller down.
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        detect_in_luma_with_hints(
            pixels,
            width,
            height,
            Some(BarcodeFormat::QR_CODE),
            &mut hints,
        )
    }));
    match outcome {
        Ok(Ok(result)) if *result.getBarcodeFormat() == BarcodeFormat::QR_CODE => {
            Some(payload(&result))
        }
        _ => None,
    }
}

fn hints(try_harder: bool) -> DecodeHints {
    DecodeHints::default()
        .with(rxing::DecodeHintValue::TryHarder(try_harder))
        .with(rxing::DecodeHintValue::PossibleFormats(HashSet::from([
            BarcodeFormat::QR_CODE,
        ])))
}

/// One rxing pass over a grey picture; empty when nothing was found or rxing failed.
fn decode_pass(pixels: Vec<u8>, width: u32, height: u32, try_harder: bool) -> Vec<Vec<u8>> {
    let mut hints = hints(try_harder);
    // rxing is a large port; a bug on some odd image must not take the caller down.
    let outcome: std::thread::Result<RxingResult<Vec<RXingResult>>> =
        panic::catch_unwind(AssertUnwindSafe(|| {
            detect_multiple_in_luma_with_hints(pixels, width, height, &mut hints)
        }));
    match outcome {
        Ok(Ok(results)) => results
            .iter()
            .filter(|r| *r.getBarcodeFormat() == BarcodeFormat::QR_CODE)
            .map(payload)
            .collect(),
        _ => Vec::new(),
    }
}

/// The payload of one result. rxing's default (cpp_port) reader puts the payload in the raw
/// bytes and sets no byte segments; its legacy fallback sets the byte segments (the payload)
/// and puts the raw codewords in the raw bytes. So byte segments win when present.
fn payload(result: &RXingResult) -> Vec<u8> {
    let segments = result
        .getRXingResultMetadata()
        .get(&RXingResultMetadataType::BYTE_SEGMENTS);
    match segments {
        Some(RXingResultMetadataValue::ByteSegments(segments)) if !segments.is_empty() => {
            segments.concat()
        }
        _ => result.getRawBytes().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::{Ecc, QUIET_ZONE, symbol};

    /// A symbol drawn 3 pixels per module with its quiet zone, as grey pixels.
    fn drawn(payload: &[u8]) -> (Vec<u8>, u32) {
        let code = symbol(payload, 15, Ecc::L).unwrap();
        let modules = code.width() as u32;
        let side = (modules + 2 * QUIET_ZONE) * 3;
        let colors = code.to_colors();
        let pixels = (0..side * side)
            .map(|i| {
                let (x, y) = (i % side / 3, i / side / 3);
                let inside = (QUIET_ZONE..QUIET_ZONE + modules).contains(&x)
                    && (QUIET_ZONE..QUIET_ZONE + modules).contains(&y);
                let dark = inside && {
                    let index = (y - QUIET_ZONE) * modules + (x - QUIET_ZONE);
                    colors[index as usize] == qrcode::Color::Dark
                };
                if dark { 0 } else { 255 }
            })
            .collect();
        (pixels, side)
    }

    #[test]
    fn binary_payloads_read_back_byte_exact() {
        let payload: Vec<u8> = (0..=255u8).cycle().take(500).collect();
        let (pixels, side) = drawn(&payload);
        assert_eq!(codes_in_luma(pixels, side, side), [payload]);
    }

    #[test]
    fn one_code_reads_the_same_bytes() {
        let payload: Vec<u8> = (0..=255u8).rev().cycle().take(400).collect();
        let (pixels, side) = drawn(&payload);
        assert_eq!(one_code_in_luma(pixels, side, side), Some(payload));
        assert_eq!(one_code_in_luma(vec![255; 100], 10, 10), None);
        assert_eq!(one_code_in_luma(vec![255; 99], 10, 10), None);
    }

    #[test]
    fn a_buffer_of_the_wrong_size_reads_nothing() {
        let (mut pixels, side) = drawn(b"hello");
        pixels.pop();
        assert!(codes_in_luma(pixels, side, side).is_empty());
        assert!(codes_in_luma(Vec::new(), 0, 0).is_empty());
    }

    #[test]
    fn byte_segments_win_over_raw_bytes() {
        let points = Vec::new();
        let mut result = RXingResult::new("text", vec![1, 2, 3], points, BarcodeFormat::QR_CODE);
        assert_eq!(payload(&result), vec![1, 2, 3]);
        result.putMetadata(
            RXingResultMetadataType::BYTE_SEGMENTS,
            RXingResultMetadataValue::ByteSegments(vec![vec![0, 255], vec![7]]),
        );
        assert_eq!(payload(&result), vec![0, 255, 7]);
    }
}
