//! The phone page's WebAssembly (`mule qr receiver --html`): the same frame parser, RaptorQ
//! decoder, QR reader and QR writer as the `mule` binary (the `mule-qr` crate), behind a small
//! JavaScript-facing API. The page hands it camera pictures and gets back progress and, once a
//! stream is complete, the bundle (its BLAKE3 already checked against the bundle id the frames
//! carry); it plays a held bundle as QR frames again; it reads what a bundle says of itself
//! without any key.

use mule_qr::fountain::{Receiver, Sender, player_codes};
use mule_qr::{Profile, Tally};
use wasm_bindgen::prelude::*;

mod bundle;

pub use bundle::{BundleInfo, inspect};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console)]
    fn error(message: &str);
}

/// Panics (a bug) are written to the browser's console before the call traps, so a person
/// who reports one can copy the reason.
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| error(&format!("mule receiver: {info}"))));
}

/// A live scan: camera pictures in, bundles out.
#[wasm_bindgen]
#[derive(Default)]
pub struct Scanner {
    receiver: Receiver,
    tally: Tally,
    /// Ids of the bundles already handed out.
    taken: Vec<[u8; 32]>,
}

/// Progress after a picture, as the page shows it ("frames 31 of ~34, 2 streams seen").
#[wasm_bindgen]
#[derive(Debug, Clone, Copy)]
pub struct Status {
    /// Pictures decoded.
    pub images: u32,
    /// Distinct frames received, all streams together.
    pub received: u32,
    /// About how many frames the streams seen need.
    pub needed: u32,
    /// Streams seen.
    pub streams: u32,
    /// Streams rebuilt.
    pub complete: u32,
    /// QR codes in the last picture that were not mule frames.
    pub foreign: u32,
    /// Bundle bytes received per second so far.
    pub bytes_per_second: f64,
}

#[wasm_bindgen]
impl Scanner {
    /// A scan that has seen nothing yet.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Scanner {
        Scanner::default()
    }

    /// Reads the QR codes in one camera picture: `rgba` as a canvas's `getImageData` gives it
    /// (4 bytes a pixel), `seconds` since the scan began.
    pub fn push_rgba(&mut self, rgba: &[u8], width: u32, height: u32, seconds: f64) -> Status {
        let luma = rgba.chunks_exact(4).map(grey).collect();
        self.push_luma(luma, width, height, seconds)
    }

    /// Reads the QR codes in one grey picture (a byte a pixel).
    pub fn push_luma(&mut self, luma: Vec<u8>, width: u32, height: u32, seconds: f64) -> Status {
        let foreign_before = self.tally.report.foreign;
        // One code a picture, one fast pass: the camera's next picture comes sooner than a
        // search for more would end (see `one_code_in_luma`).
        let codes = mule_qr::read::one_code_in_luma(luma, width, height);
        self.tally
            .push(codes.into_iter().collect(), &mut self.receiver);
        let progress = self.tally.progress(&self.receiver, 0, seconds);
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Status {
            images: u32::try_from(progress.images).unwrap_or(u32::MAX),
            received: count(progress.received),
            needed: count(progress.needed),
            streams: count(progress.streams),
            complete: count(progress.complete),
            foreign: count(self.tally.report.foreign - foreign_before),
            bytes_per_second: progress.bytes_per_second,
        }
    }

    /// A bundle rebuilt and checked since the last call, or nothing. Each comes out once.
    pub fn take_bundle(&mut self) -> Option<Vec<u8>> {
        let (id, bytes) = self
            .receiver
            .bundles()
            .into_iter()
            .find(|(id, _)| !self.taken.contains(id))?;
        self.taken.push(id);
        Some(bytes.to_vec())
    }
}

/// Grey level of an RGBA pixel (ITU-R BT.601 weights, in integers).
fn grey(pixel: &[u8]) -> u8 {
    let [r, g, b] = [pixel[0], pixel[1], pixel[2]].map(u32::from);
    ((77 * r + 150 * g + 29 * b + 128) >> 8) as u8
}

/// A held bundle played as QR frames, as `mule qr encode --html` plays one: its source
/// frames, then repair frames, twice K and a few in a loop.
#[wasm_bindgen]
pub struct Player {
    sender: Sender,
    profile: Profile,
}

#[wasm_bindgen]
impl Player {
    /// Prepares to play `bundle` with the profile named `profile` ("small", "default", ...).
    #[wasm_bindgen(constructor)]
    pub fn new(bundle: &[u8], profile: &str) -> Result<Player, JsError> {
        let profile = Profile::named(profile)
            .filter(|p| p.codes_per_frame == 1)
            .ok_or_else(|| JsError::new(&format!("no profile named {profile} plays here")))?;
        let id = blake3::hash(bundle);
        let sender = Sender::new(bundle, id.as_bytes(), profile.frame_len(), profile.id)?;
        Ok(Player { sender, profile })
    }

    /// Frames in one loop.
    pub fn frames(&self) -> u32 {
        u32::try_from(player_codes(self.sender.source_symbols())).unwrap_or(u32::MAX)
    }

    /// Frames per second the profile shows.
    pub fn fps(&self) -> f32 {
        self.profile.fps
    }

    /// Modules across one symbol (without the quiet zone).
    pub fn modules(&self) -> u32 {
        17 + 4 * u32::from(self.profile.version)
    }

    /// Modules across the quiet zone on each side.
    pub fn quiet_zone(&self) -> u32 {
        mule_qr::code::QUIET_ZONE
    }

    /// The `index`th frame's symbol, row by row: 1 for a dark module, 0 for a light one.
    pub fn frame(&self, index: u32) -> Result<Vec<u8>, JsError> {
        let payload = self.sender.frame(index as usize);
        let code = mule_qr::code::symbol(&payload, self.profile.version, self.profile.ecc)?;
        let dark = |c: &qrcode::Color| u8::from(*c == qrcode::Color::Dark);
        Ok(code.to_colors().iter().map(dark).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_played_bundle_scans_back_byte_exact() {
        let bundle: Vec<u8> = (0..9_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let player = Player::new(&bundle, "small").unwrap();
        let modules = player.modules();
        let mut scanner = Scanner::new();
        for index in 0..player.frames() {
            let dark = player.frame(index).unwrap();
            let (luma, side) = drawn(&dark, modules, player.quiet_zone());
            let status = scanner.push_luma(luma, side, side, 1.0);
            if status.complete == 1 {
                break;
            }
        }
        assert_eq!(scanner.take_bundle(), Some(bundle));
        assert_eq!(scanner.take_bundle(), None);
    }

    /// A symbol drawn 2 pixels per module with its quiet zone.
    fn drawn(dark: &[u8], modules: u32, quiet: u32) -> (Vec<u8>, u32) {
        let side = (modules + 2 * quiet) * 2;
        let luma = (0..side * side)
            .map(|i| {
                let (x, y) = ((i % side) / 2, (i / side) / 2);
                let inside =
                    (quiet..quiet + modules).contains(&x) && (quiet..quiet + modules).contains(&y);
                let is_dark = inside && dark[((y - quiet) * modules + (x - quiet)) as usize] == 1;
                if is_dark { 0 } else { 255 }
            })
            .collect();
        (luma, side)
    }

    #[test]
    fn grey_weights_sum_to_white() {
        assert_eq!(grey(&[255, 255, 255, 255]), 255);
        assert_eq!(grey(&[0, 0, 0, 255]), 0);
    }
}
