//! QR symbols for frames drawn as images. The symbols themselves, their capacities and terminal
//! text come from the `mule-qr` crate (shared with the phone page's WebAssembly build).

use image::{GrayImage, Luma};
use qrcode::{Color, QrCode};

pub use mule_qr::code::{
    Ecc, QUIET_ZONE, TooLarge, capacity, symbol, text_size, text_symbol, to_text,
};

/// The symbol as a PNG file's bytes, `scale` pixels per module, with the quiet zone.
pub fn to_png(code: &QrCode, scale: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    to_image(code, scale)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding a PNG in memory does not fail");
    out.into_inner()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_have_the_quiet_zone() {
        let code = symbol(&[7u8; 1273], 25, Ecc::L).unwrap();
        let image = to_image(&code, 2);
        assert_eq!(image.width(), (117 + 8) * 2);
        assert_eq!(image.get_pixel(0, 0).0, [255]);
        assert_eq!(image.get_pixel(8, 8).0, [0]);
    }
}
