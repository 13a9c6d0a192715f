//! What the `mule qr` commands (and the app's QR page) report.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::bundle::BundleId;
use crate::qr::fountain::Progress;
use crate::store::Outcome;

/// `mule qr encode`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QrEncoded {
    /// The settings the frames were made with.
    pub profile: QrProfile,
    /// Bundle bytes per QR code.
    pub frame_bytes: u64,
    /// Frames that carry the bundle: any this many rebuild it.
    pub source_frames: u64,
    /// The session id the frames carry, hex.
    pub session: String,
    /// What was written.
    pub written: QrOutputs,
}

/// The QR settings used (see [`crate::qr::Profile`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QrProfile {
    /// The profile's name.
    pub name: String,
    /// The id frames carry.
    pub id: u8,
    /// QR version.
    pub version: u8,
    /// Error correction: L or M.
    pub ecc: String,
    /// Frames per second.
    pub fps: f32,
    /// QR codes per screen frame.
    pub codes_per_frame: u8,
}

impl From<&crate::qr::Profile> for QrProfile {
    fn from(profile: &crate::qr::Profile) -> Self {
        Self {
            name: profile.name.to_owned(),
            id: profile.id,
            version: profile.version,
            ecc: format!("{:?}", profile.ecc),
            fps: profile.fps,
            codes_per_frame: profile.codes_per_frame,
        }
    }
}

/// The outputs of `mule qr encode`, each present when asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QrOutputs {
    /// Numbered PNG frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub png: Option<PngFrames>,
    /// The HTML player.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<FramesFile>,
    /// The animated GIF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gif: Option<FramesFile>,
}

/// PNG frames in a folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PngFrames {
    /// The folder.
    pub dir: PathBuf,
    /// Files written.
    pub frames: u64,
}

/// Frames in one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FramesFile {
    /// The file.
    pub file: PathBuf,
    /// Screen frames in it.
    pub frames: u64,
    /// Its size (GIF only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

/// `mule qr decode`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QrDecoded {
    /// The bundles rebuilt.
    pub bundles: Vec<QrBundle>,
    /// Images read (video frames included).
    pub images: u64,
    /// Mule frames used.
    pub frames: u64,
    /// Frames seen more than once.
    pub duplicates: u64,
    /// Other or damaged codes skipped (foreign, damaged, of a newer format, or contradicting
    /// their session).
    pub skipped: u64,
    /// Of those skipped: codes that are not mule frames.
    #[serde(default)]
    pub foreign: u64,
    /// Of those skipped: mule frames whose checksum or header is wrong.
    #[serde(default)]
    pub damaged: u64,
    /// Of those skipped: mule frames of a newer format (upgrade mule to read them).
    #[serde(default)]
    pub newer_format: u64,
    /// Frames read after their bundle was rebuilt.
    #[serde(default)]
    pub unneeded: u64,
    /// Every session seen, complete or not.
    pub sessions: Vec<Progress>,
}

/// `mule qr scan`: a camera or video stream read live.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QrScanned {
    /// The bundles rebuilt: imported, or written with `-o`.
    pub bundles: Vec<QrBundle>,
    /// Frames of the stream decoded.
    pub images: u64,
    /// Frames of the stream skipped because the decoder was busy with an earlier one.
    pub dropped: u64,
    /// Mule frames used.
    pub frames: u64,
    /// Frames seen more than once.
    pub duplicates: u64,
    /// Other or damaged codes skipped (as in [`QrDecoded`]).
    pub skipped: u64,
    /// Frames read after their bundle was rebuilt.
    pub unneeded: u64,
    /// How long the scan ran, in milliseconds.
    pub ms: u64,
    /// Every stream (session) seen, all complete.
    pub sessions: Vec<Progress>,
}

/// A bundle rebuilt from QR codes: written to a file, or imported.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum QrBundle {
    /// Written to a file.
    Written {
        /// The bundle's id.
        id: BundleId,
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// Imported into the store.
    Imported {
        /// The bundle's id.
        id: BundleId,
        /// What the import did.
        imported: QrImport,
    },
}

/// What importing a bundle read from QR codes did.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum QrImport {
    /// Applied.
    Applied(Outcome),
    /// The store had imported it before.
    AlreadyImported {
        /// Always 0.
        new: u64,
        /// Always true.
        already_imported: bool,
    },
}

/// `mule qr receiver --html FILE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverPage {
    /// The page written.
    pub file: PathBuf,
    /// Its size.
    pub bytes: u64,
}
