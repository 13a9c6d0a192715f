//! QR symbols for frames: one byte-mode segment at a fixed version, drawn as images or text.
//!
//! The `qrcode` crate's automatic segmentation would split binary data into numeric and
//! alphanumeric runs that some readers then lose, so a frame is pushed as one byte segment
//! through its `Bits` API.

use image::{GrayImage, Luma};
use qrcode::bits::Bits;
use qrcode::{Color, EcLevel, QrCode, Version};

use super::Error;

/// Modules of white border around a symbol, as ISO 18004 asks.
pub const QUIET_ZONE: u32 = 4;

/// Error correction level of a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Ecc {
    /// About 7% of codewords recoverable: screens.
    L,
    /// About 15%: photos of screens and print (survives a glare patch that kills L).
    M,
}

impl Ecc {
    fn level(self) -> EcLevel {
        match self {
            Ecc::L => EcLevel::L,
            Ecc::M => EcLevel::M,
        }
    }
}

/// A QR symbol holding `payload` as one byte segment at `version` (1-40).
pub fn symbol(payload: &[u8], version: u8, ecc: Ecc) -> Result<QrCode, Error> {
    let too_large = |_| Error::FrameTooLarge {
        bytes: payload.len(),
        version,
    };
    let mut bits = Bits::new(Version::Normal(i16::from(version)));
    bits.push_byte_data(payload).map_err(too_large)?;
    bits.push_terminator(ecc.level()).map_err(too_large)?;
    QrCode::with_bits(bits, ecc.level()).map_err(too_large)
}

/// A symbol holding `text` (an invite) at the smallest version that fits, error correction L.
pub fn text_symbol(text: &str) -> Result<QrCode, Error> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).map_err(|_| {
        Error::FrameTooLarge {
            bytes: text.len(),
            version: 40,
        }
    })
}

/// The symbol as a PNG file's bytes, `scale` pixels per module, with the quiet zone.
pub fn to_png(code: &QrCode, scale: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    to_image(code, scale)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding a PNG in memory does not fail");
    out.into_inner()
}

/// Bytes a byte-mode symbol of `version` and `ecc` holds.
pub fn capacity(version: u8, ecc: Ecc) -> usize {
    // Binary search on what the encoder accepts: the crate knows the tables.
    let (mut low, mut high) = (0usize, 3000usize);
    while low < high {
        let middle = (low + high).div_ceil(2);
        if symbol(&vec![0u8; middle], version, ecc).is_ok() {
            low = middle;
        } else {
            high = middle - 1;
        }
    }
    low
}

/// The symbol as a black-on-white image, `scale` pixels per module, with the quiet zone.
pub fn to_image(code: &QrCode, scale: u32) -> GrayImage {
    let modules = code.width() as u32;
    let side = (modules + 2 * QUIET_ZONE) * scale;
    let colors = code.to_colors();
    GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = (x / scale, y / scale);
        let inside = (QUIET_ZONE..QUIET_ZONE + modules).contains(&mx)
            && (QUIET_ZONE..QUIET_ZONE + modules).contains(&my);
        let dark = inside
            && colors[((my - QUIET_ZONE) * modules + (mx - QUIET_ZONE)) as usize] == Color::Dark;
        Luma([if dark { 0 } else { 255 }])
    })
}

/// Character cells (columns, rows) that [`to_text`] of a `version` symbol takes, with one line
/// below for a status and one for the cursor.
pub fn text_size(version: u8) -> (u32, u32) {
    let side = 17 + 4 * u32::from(version) + 2 * QUIET_ZONE;
    (side, side.div_ceil(2) + 2)
}

/// The symbol as terminal text: two modules per character cell (upper and lower half blocks),
/// dark modules drawn dark on a light background, with the quiet zone.
pub fn to_text(code: &QrCode) -> String {
    let modules = code.width();
    let colors = code.to_colors();
    let quiet = QUIET_ZONE as usize;
    let side = modules + 2 * quiet;
    let dark = |x: usize, y: usize| {
        x >= quiet
            && y >= quiet
            && x < quiet + modules
            && y < quiet + modules
            && colors[(y - quiet) * modules + (x - quiet)] == Color::Dark
    };
    let mut out = String::with_capacity(side * (side / 2 + 1) * 3);
    for y in (0..side).step_by(2) {
        for x in 0..side {
            // Light is drawn as a full block so the code reads on dark terminals too.
            out.push(match (dark(x, y), y + 1 < side && dark(x, y + 1)) {
                (false, false) => '█',
                (true, false) => '▄',
                (false, true) => '▀',
                (true, true) => ' ',
            });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities_match_the_standard() {
        assert_eq!(capacity(15, Ecc::L), 520);
        assert_eq!(capacity(25, Ecc::L), 1273);
        assert_eq!(capacity(32, Ecc::L), 1952);
        assert_eq!(capacity(40, Ecc::M), 2331);
    }

    #[test]
    fn text_takes_one_row_for_two_modules() {
        let code = symbol(&[7u8; 520], 15, Ecc::L).unwrap();
        let text = to_text(&code);
        let (columns, rows) = text_size(15);
        assert_eq!(text.lines().count() as u32 + 2, rows);
        assert!(text.lines().all(|l| l.chars().count() as u32 == columns));
        assert_eq!(text_size(25), (125, 65));
    }

    #[test]
    fn an_oversized_payload_is_an_error() {
        assert!(symbol(&[0u8; 1274], 25, Ecc::L).is_err());
        let code = symbol(&[7u8; 1273], 25, Ecc::L).unwrap();
        assert_eq!(code.width(), 117);
        let image = to_image(&code, 2);
        assert_eq!(image.width(), (117 + 8) * 2);
    }
}
