//! QR symbols for frames: one byte-mode segment at a fixed version, and the profiles that pick
//! the version, error correction and speed of a stream.
//!
//! The `qrcode` crate's automatic segmentation would split binary data into numeric and
//! alphanumeric runs that some readers then lose, so a frame is pushed as one byte segment
//! through its `Bits` API.

use qrcode::bits::Bits;
use qrcode::{Color, EcLevel, QrCode, Version};

/// A payload does not fit the QR symbol asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {bytes}-byte frame does not fit a version {version} QR code")]
pub struct TooLarge {
    /// The payload's size.
    pub bytes: usize,
    /// The QR version.
    pub version: u8,
}

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
pub fn symbol(payload: &[u8], version: u8, ecc: Ecc) -> Result<QrCode, TooLarge> {
    let too_large = |_| TooLarge {
        bytes: payload.len(),
        version,
    };
    let mut bits = Bits::new(Version::Normal(i16::from(version)));
    bits.push_byte_data(payload).map_err(too_large)?;
    bits.push_terminator(ecc.level()).map_err(too_large)?;
    QrCode::with_bits(bits, ecc.level()).map_err(too_large)
}

/// A symbol holding `text` (an invite) at the smallest version that fits, error correction L.
pub fn text_symbol(text: &str) -> Result<QrCode, TooLarge> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).map_err(|_| TooLarge {
        bytes: text.len(),
        version: 40,
    })
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

/// How frames are made and shown: chosen by measurement (see bundle-format.md, "QR frames").
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Profile {
    /// Name on the command line.
    pub name: &'static str,
    /// Id carried in every frame (0 for custom settings).
    pub id: u8,
    /// QR version (1-40).
    pub version: u8,
    /// Error correction.
    pub ecc: Ecc,
    /// Screen frames per second.
    pub fps: f32,
    /// QR codes side by side in one screen frame.
    pub codes_per_frame: u8,
}

/// The profiles, by name.
pub const PROFILES: &[Profile] = &[
    Profile {
        name: "small",
        id: 1,
        version: 15,
        ecc: Ecc::L,
        fps: 8.0,
        codes_per_frame: 1,
    },
    Profile {
        name: "default",
        id: 2,
        version: 25,
        ecc: Ecc::L,
        fps: 12.0,
        codes_per_frame: 1,
    },
    Profile {
        name: "large",
        id: 3,
        version: 32,
        ecc: Ecc::L,
        fps: 15.0,
        codes_per_frame: 1,
    },
    Profile {
        name: "photo",
        id: 4,
        version: 40,
        ecc: Ecc::M,
        fps: 2.0,
        codes_per_frame: 1,
    },
    Profile {
        name: "duo",
        id: 5,
        version: 32,
        ecc: Ecc::L,
        fps: 15.0,
        codes_per_frame: 2,
    },
];

impl Profile {
    /// The profile named `name`.
    pub fn named(name: &str) -> Option<Profile> {
        PROFILES.iter().copied().find(|p| p.name == name)
    }

    /// This profile with some settings changed (then it is "custom", id 0).
    pub fn with(self, version: Option<u8>, ecc: Option<Ecc>, fps: Option<f32>) -> Profile {
        if version.is_none() && ecc.is_none() {
            return Profile {
                fps: fps.unwrap_or(self.fps),
                ..self
            };
        }
        Profile {
            name: "custom",
            id: 0,
            version: version.unwrap_or(self.version),
            ecc: ecc.unwrap_or(self.ecc),
            fps: fps.unwrap_or(self.fps),
            codes_per_frame: self.codes_per_frame,
        }
    }

    /// Bytes one QR code of this profile holds: the frame length.
    pub fn frame_len(&self) -> usize {
        capacity(self.version, self.ecc)
    }

    /// Character cells (columns, rows) a terminal needs to show this profile's codes as text
    /// (see [`text_size`]).
    pub fn text_size(&self) -> (u32, u32) {
        text_size(self.version)
    }

    /// Whether this profile's codes fit a terminal of `columns` x `rows` characters.
    pub fn fits(&self, columns: u32, rows: u32) -> bool {
        let (need_columns, need_rows) = self.text_size();
        need_columns <= columns && need_rows <= rows
    }

    /// The profile with the largest codes that fit a terminal of `columns` x `rows`.
    pub fn largest_fitting(columns: u32, rows: u32) -> Option<Profile> {
        PROFILES
            .iter()
            .copied()
            .filter(|p| p.fits(columns, rows))
            .max_by_key(|p| (p.version, p.id))
    }

    /// Pixels per module in images: enough for a screen or a camera to resolve.
    pub fn scale(&self) -> u32 {
        if self.version >= 32 { 4 } else { 5 }
    }
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
        let refused = symbol(&[0u8; 1274], 25, Ecc::L).err();
        assert_eq!(
            refused,
            Some(TooLarge {
                bytes: 1274,
                version: 25
            })
        );
        assert_eq!(symbol(&[7u8; 1273], 25, Ecc::L).unwrap().width(), 117);
    }

    #[test]
    fn profiles_fill_their_codes() {
        let default = Profile::named("default").unwrap();
        assert_eq!(default.frame_len(), 1273);
        assert_eq!(default.with(Some(15), None, None).id, 0);
        assert_eq!(Profile::largest_fitting(125, 65).unwrap().name, "default");
    }
}
