//! Counting what a reader saw: every code read from a picture classified (a new frame, a
//! duplicate, another QR code, a damaged frame, ...), and the progress of a scan that reads
//! pictures as they come. The same counts drive `mule qr decode`, `mule qr scan`, the app's
//! camera receive and the phone page.

use crate::fountain::{Accepted, Receiver};
use crate::frame::{self, Frame};

/// What reading a set of captures found.
#[derive(Debug, Default, serde::Serialize)]
pub struct Scan {
    /// Images read (video frames and the frames of animated images included).
    pub images: usize,
    /// Codes that were mule frames and new to their session.
    pub frames: usize,
    /// Frames seen again.
    pub duplicates: usize,
    /// Frames of a bundle already rebuilt.
    pub unneeded: usize,
    /// Codes that were not mule frames, failed their checksum, were of a newer format, or
    /// contradicted their session.
    pub skipped: usize,
    /// Of those skipped: codes that are not mule frames (another QR code in the picture).
    pub foreign: usize,
    /// Of those skipped: mule frames whose checksum or header is wrong (misread or altered).
    pub damaged: usize,
    /// Of those skipped: mule frames of a format newer than this mule reads.
    pub newer_format: usize,
    /// The newest frame format seen, when newer than this mule reads.
    pub newest_format: Option<u8>,
    /// Images that could not be read, with the reason.
    pub unreadable: Vec<String>,
}

impl Scan {
    /// The upgrade message frames of a newer format call for, if any were seen: say it once.
    pub fn upgrade_hint(&self) -> Option<String> {
        let version = self.newest_format?;
        Some(format!(
            "{} codes are {}",
            self.newer_format,
            frame::Error::NewerFormat(version)
        ))
    }

    /// Classifies one code read from a picture and hands a frame to `receiver`.
    pub fn count(&mut self, code: &[u8], receiver: &mut Receiver) {
        let frame = match Frame::parse(code) {
            Ok(frame) => frame,
            Err(error) => {
                self.skipped += 1;
                match error {
                    frame::Error::Foreign => self.foreign += 1,
                    frame::Error::NewerFormat(version) => {
                        self.newer_format += 1;
                        self.newest_format = self.newest_format.max(Some(version));
                    }
                    frame::Error::Checksum | frame::Error::Header(_) => self.damaged += 1,
                }
                return;
            }
        };
        match receiver.accept(frame) {
            Ok(Accepted::New | Accepted::Conflicting) => self.frames += 1,
            Ok(Accepted::Duplicate) => self.duplicates += 1,
            Ok(Accepted::Done) => self.unneeded += 1,
            Err(_) => self.skipped += 1,
        }
    }
}

/// Progress of a live scan, after each picture decoded.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Progress {
    /// Pictures decoded.
    pub images: u64,
    /// Pictures skipped because the decoder was busy.
    pub dropped: u64,
    /// Distinct frames received, all streams together.
    pub received: usize,
    /// Frames needed, all streams together (about: any this many of a stream rebuild it).
    pub needed: usize,
    /// Streams (sessions) seen.
    pub streams: usize,
    /// Streams rebuilt.
    pub complete: usize,
    /// Bundle bytes received per second so far.
    pub bytes_per_second: f64,
}

impl Progress {
    /// Whether every stream seen is rebuilt (and at least one was seen).
    pub fn is_complete(&self) -> bool {
        self.streams > 0 && self.complete == self.streams
    }
}

/// A scan fed one picture at a time: the counts, and the bundle bytes the new frames carried.
/// It keeps no clock (the WebAssembly build has none): callers pass the seconds elapsed.
#[derive(Debug, Default)]
pub struct Tally {
    /// Codes and frames counted as `qr decode` counts them.
    pub report: Scan,
    /// Bundle bytes of the new frames.
    bytes: usize,
}

impl Tally {
    /// Counts the codes read from one picture into `receiver`.
    pub fn push(&mut self, codes: Vec<Vec<u8>>, receiver: &mut Receiver) {
        self.report.images += 1;
        for code in codes {
            let before = self.report.frames;
            self.report.count(&code, receiver);
            if self.report.frames > before {
                self.bytes += code.len();
            }
        }
    }

    /// The progress so far: `dropped` pictures skipped, `seconds` since the scan began.
    pub fn progress(&self, receiver: &Receiver, dropped: u64, seconds: f64) -> Progress {
        let sessions = receiver.progress();
        Progress {
            images: self.report.images as u64,
            dropped,
            received: sessions.iter().map(|s| s.received.min(s.needed)).sum(),
            needed: sessions.iter().map(|s| s.needed).sum(),
            streams: sessions.len(),
            complete: sessions.iter().filter(|s| s.done).count(),
            bytes_per_second: self.bytes as f64 / seconds.max(1e-3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::{Ecc, capacity};
    use crate::fountain::Sender;

    #[test]
    fn a_tally_counts_frames_and_foreign_codes_until_complete() {
        let bundle = vec![9u8; 3_000];
        let id = *blake3::hash(&bundle).as_bytes();
        let sender = Sender::new(&bundle, &id, capacity(15, Ecc::L), 1).unwrap();
        let mut receiver = Receiver::default();
        let mut tally = Tally::default();
        tally.push(vec![b"https://example.org".to_vec()], &mut receiver);
        let mut frames = (0..).map(|i| sender.frame(i));
        while !tally.progress(&receiver, 0, 1.0).is_complete() {
            tally.push(vec![frames.next().unwrap()], &mut receiver);
        }
        let progress = tally.progress(&receiver, 2, 1.0);
        assert_eq!(
            (progress.streams, progress.complete, progress.dropped),
            (1, 1, 2)
        );
        assert_eq!(tally.report.foreign, 1);
        assert_eq!(tally.report.frames, sender.source_symbols());
        let frame_len = sender.frame(0).len();
        assert_eq!(
            progress.bytes_per_second,
            (sender.source_symbols() * frame_len) as f64
        );
    }
}
