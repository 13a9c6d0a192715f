//! Live scanning: frames from a camera or a video stream, decoded as they come.
//!
//! Frames are read by `ffmpeg` run as a child that decodes whatever it is given (a V4L2
//! camera, MJPEG, y4m, any container on a pipe or in a file) to grey PGM images on its standard
//! output. A program rather than a crate: ffmpeg already reads every camera and format there
//! is, a V4L2 crate would add only cameras (and a build dependency on kernel headers), and
//! decoding video in-process would mean linking libav through bindings; the test suite and
//! `qr decode` already rely on ffmpeg for videos. PGM is raw grey pixels behind a header of a
//! dozen bytes that gives each frame's size, so no probing of the source is needed and a camera
//! that changes resolution mid-stream is read as it is.
//!
//! A reader thread hands frames to the decoder through a slot of one frame: a new frame
//! replaces one the decoder has not taken yet, so a decoder slower than the stream skips frames
//! (counted as dropped) instead of falling behind, and memory stays bounded however long the
//! scan runs. The receiver's own limits bound what it keeps per stream and in all.

use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use image::{DynamicImage, GrayImage};

pub use mule_qr::Progress;
use mule_qr::Tally;

use super::{Scan, fountain, scan};

/// Largest frame read (pixels): a 8K frame. Larger ones are refused rather than allocated.
const MAX_PIXELS: u64 = 7680 * 4320;

/// Why a live scan could not read its frames.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `ffmpeg` is not installed.
    #[error("ffmpeg is not on PATH; install ffmpeg (Debian: apt install ffmpeg) to scan live")]
    FfmpegMissing,
    /// No camera was named and none is plugged in.
    #[error(
        "no camera found (no /dev/video* device); plug one in, or pass --camera /dev/videoN or --input FILE"
    )]
    NoCamera,
    /// ffmpeg could not read the source, or wrote something that is not a grey frame.
    #[error("ffmpeg could not read {source_name}: {message}; check that it is a camera or a video")]
    Ffmpeg {
        /// The camera or input.
        source_name: String,
        /// ffmpeg's last line on its standard error, or what was wrong with its output.
        message: String,
    },
    /// The frames could not be read from ffmpeg.
    #[error("cannot read frames of {source_name} from ffmpeg: {error}")]
    Io {
        /// The camera or input.
        source_name: String,
        /// The operating system's error.
        error: io::Error,
    },
}

/// Where frames come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A V4L2 camera device.
    Camera(PathBuf),
    /// A video file, or `-` for standard input.
    Input(PathBuf),
}

impl Source {
    /// The first camera (`/dev/videoN`, lowest N) there is.
    pub fn first_camera() -> Result<Source, Error> {
        let entries = std::fs::read_dir("/dev").map_err(|_| Error::NoCamera)?;
        let mut numbers: Vec<u32> = entries
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_prefix("video")?
                    .parse()
                    .ok()
            })
            .collect();
        numbers.sort_unstable();
        let first = numbers.first().ok_or(Error::NoCamera)?;
        Ok(Source::Camera(PathBuf::from(format!("/dev/video{first}"))))
    }

    fn name(&self) -> String {
        match self {
            Source::Input(_) if self.is_stdin() => "standard input".to_owned(),
            Source::Camera(path) | Source::Input(path) => path.display().to_string(),
        }
    }

    fn is_stdin(&self) -> bool {
        matches!(self, Source::Input(path) if path == Path::new("-"))
    }

    /// ffmpeg's standard input: ours when it reads the stream from it, else none (ffmpeg
    /// would take keys typed for its own commands).
    fn stdin(&self) -> Stdio {
        if self.is_stdin() {
            Stdio::inherit()
        } else {
            Stdio::null()
        }
    }

    /// ffmpeg's input arguments. A file or pipe is read at its own frame rate (`-re`), as a
    /// camera would deliver it, so a recording plays as it was filmed.
    fn input_args(&self) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = match self {
            Source::Camera(_) => vec!["-nostdin".into(), "-f".into(), "v4l2".into()],
            Source::Input(_) if self.is_stdin() => vec!["-re".into()],
            Source::Input(_) => vec!["-nostdin".into(), "-re".into()],
        };
        args.push("-i".into());
        args.push(match self {
            Source::Input(_) if self.is_stdin() => "pipe:0".into(),
            Source::Camera(path) | Source::Input(path) => path.into(),
        });
        args
    }
}

/// The frames ffmpeg decodes from a source, as grey images; ends with the stream.
pub struct FfmpegFrames {
    child: Arc<Mutex<Child>>,
    stdout: BufReader<ChildStdout>,
    /// Reads ffmpeg's standard error as it comes (a full pipe would stall ffmpeg), keeping
    /// the last line for the error message.
    last_words: Option<JoinHandle<Option<String>>>,
    source_name: String,
}

impl FfmpegFrames {
    /// Starts ffmpeg on `source`.
    pub fn open(source: &Source) -> Result<FfmpegFrames, Error> {
        Self::open_with("ffmpeg", source)
    }

    /// [`FfmpegFrames::open`] with the program named (tests name a missing one).
    fn open_with(program: &str, source: &Source) -> Result<FfmpegFrames, Error> {
        let source_name = source.name();
        let mut child = Command::new(program)
            .args(["-hide_banner", "-loglevel", "error"])
            .args(source.input_args())
            .args([
                "-an",
                "-f",
                "image2pipe",
                "-c:v",
                "pgm",
                "-pix_fmt",
                "gray",
                "pipe:1",
            ])
            .stdin(source.stdin())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| match error.kind() {
                io::ErrorKind::NotFound => Error::FfmpegMissing,
                _ => Error::Io {
                    source_name: source_name.clone(),
                    error,
                },
            })?;
        let stdout = child.stdout.take().ok_or_else(|| Error::Io {
            source_name: source_name.clone(),
            error: io::Error::other("no pipe to ffmpeg"),
        })?;
        let last_words = child.stderr.take().map(|stderr| {
            std::thread::spawn(move || {
                BufReader::new(stderr)
                    .lines()
                    .map_while(Result::ok)
                    .filter(|line| !line.trim().is_empty())
                    .last()
            })
        });
        Ok(FfmpegFrames {
            child: Arc::new(Mutex::new(child)),
            stdout: BufReader::new(stdout),
            last_words,
            source_name,
        })
    }

    /// Stops ffmpeg from any thread: the frames then end.
    pub fn stopper(&self) -> impl Fn() + Send + 'static + use<> {
        let child = Arc::clone(&self.child);
        move || {
            // Already gone is as good as stopped.
            let _ = child.lock().unwrap_or_else(PoisonError::into_inner).kill();
        }
    }

    /// How ffmpeg ended: an error with its last line when it failed.
    fn ended(&mut self) -> Result<(), Error> {
        let status = self
            .child
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .wait()
            .map_err(|error| Error::Io {
                source_name: self.source_name.clone(),
                error,
            })?;
        // ffmpeg has exited, so its standard error is at its end.
        let last = self.last_words.take().and_then(|t| t.join().ok().flatten());
        // Killed by [`FfmpegFrames::stopper`] is a normal end.
        if status.success() || status.code().is_none() {
            return Ok(());
        }
        Err(Error::Ffmpeg {
            source_name: self.source_name.clone(),
            message: last.map_or_else(|| status.to_string(), |l| l.trim().to_owned()),
        })
    }
}

impl Iterator for FfmpegFrames {
    type Item = Result<GrayImage, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match read_pgm(&mut self.stdout) {
            Ok(Some(image)) => Some(Ok(image)),
            Ok(None) => self.ended().err().map(Err),
            Err(error) => Some(Err(Error::Ffmpeg {
                source_name: self.source_name.clone(),
                message: error.to_string(),
            })),
        }
    }
}

impl Drop for FfmpegFrames {
    fn drop(&mut self) {
        (self.stopper())();
        let _ = self
            .child
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .wait();
    }
}

/// Reads one binary PGM image (`P5 width height 255`, then the pixels); `None` at the end of
/// the stream.
fn read_pgm(input: &mut impl BufRead) -> io::Result<Option<GrayImage>> {
    if input.fill_buf()?.is_empty() {
        return Ok(None);
    }
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    if pgm_token(input)? != "P5" {
        return Err(bad("not a binary PGM frame"));
    }
    let mut number = || -> io::Result<u32> {
        pgm_token(input)?
            .parse()
            .map_err(|_| bad("a PGM header number is not a number"))
    };
    let (width, height, max) = (number()?, number()?, number()?);
    if max != 255 {
        return Err(bad("PGM frames must have 8-bit grey levels"));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(bad("a frame is larger than 8K"));
    }
    let mut pixels = vec![0; width as usize * height as usize];
    input.read_exact(&mut pixels)?;
    GrayImage::from_raw(width, height, pixels)
        .map(Some)
        .ok_or_else(|| bad("a PGM frame is short"))
}

/// One whitespace-separated header token; consumes the one whitespace byte after it.
fn pgm_token(input: &mut impl BufRead) -> io::Result<String> {
    let mut token = String::new();
    let mut byte = [0];
    loop {
        input.read_exact(&mut byte)?;
        match byte[0] {
            b if b.is_ascii_whitespace() && token.is_empty() => {}
            b if b.is_ascii_whitespace() => return Ok(token),
            b if token.len() < 16 => token.push(char::from(b)),
            _ => return Err(io::Error::new(io::ErrorKind::InvalidData, "PGM header")),
        }
    }
}

/// The slot between the reader and the decoder: the newest frame not yet taken.
#[derive(Default)]
struct Latest {
    state: Mutex<Slot>,
    changed: Condvar,
}

#[derive(Default)]
struct Slot {
    frame: Option<GrayImage>,
    /// Frames replaced before the decoder took them.
    dropped: u64,
    /// Set by the reader when the frames end (with an error if they failed).
    ended: Option<Result<(), Error>>,
    /// Set by the decoder when it needs no more frames.
    closed: bool,
}

impl Latest {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts a frame in, replacing one not taken; false once the decoder has closed.
    fn put(&self, frame: GrayImage) -> bool {
        let mut slot = self.lock();
        if slot.closed {
            return false;
        }
        if slot.frame.replace(frame).is_some() {
            slot.dropped += 1;
        }
        self.changed.notify_one();
        true
    }

    fn end(&self, outcome: Result<(), Error>) {
        self.lock().ended = Some(outcome);
        self.changed.notify_one();
    }

    /// Waits for the next frame; `Err` with how the frames ended when there are no more.
    fn take(&self) -> Result<GrayImage, Result<(), Error>> {
        let mut slot = self.lock();
        loop {
            if let Some(frame) = slot.frame.take() {
                return Ok(frame);
            }
            if let Some(ended) = slot.ended.take() {
                return Err(ended);
            }
            slot = self
                .changed
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// What a live scan read.
#[derive(Debug)]
pub struct LiveScan {
    /// Codes and frames counted as `qr decode` counts them.
    pub scan: Scan,
    /// Frames skipped because the decoder was busy.
    pub dropped: u64,
    /// Whether every stream seen was rebuilt before the frames ended.
    pub complete: bool,
    /// How long the scan ran, in milliseconds.
    pub ms: u64,
}

/// Decodes `frames` as they come into `receiver` until every stream seen is rebuilt (then
/// calls `stop` so the source ends) or the frames end; calls `progress` after each frame.
/// The frames are read on their own thread; a frame arriving while the decoder is busy
/// replaces the one waiting (see the module doc).
pub fn scan_live<F>(
    frames: F,
    stop: impl FnOnce(),
    receiver: &mut fountain::Receiver,
    mut progress: impl FnMut(&Progress),
) -> Result<LiveScan, Error>
where
    F: Iterator<Item = Result<GrayImage, Error>> + Send + 'static,
{
    let latest = Arc::new(Latest::default());
    let reader = {
        let latest = Arc::clone(&latest);
        std::thread::spawn(move || {
            for frame in frames {
                match frame {
                    Ok(frame) => {
                        if !latest.put(frame) {
                            return;
                        }
                    }
                    Err(error) => return latest.end(Err(error)),
                }
            }
            latest.end(Ok(()));
        })
    };
    let mut decoding = Decoding::default();
    let outcome = loop {
        let frame = match latest.take() {
            Ok(frame) => frame,
            Err(ended) => break ended,
        };
        let dropped = latest.lock().dropped;
        let now = decoding.push(frame, receiver, dropped);
        progress(&now);
        if now.is_complete() {
            break Ok(());
        }
    };
    latest.lock().closed = true;
    stop();
    // The reader ends once the source does (stopped above, or at its end).
    let _ = reader.join();
    outcome?;
    receiver.finish();
    let sessions = receiver.progress();
    Ok(LiveScan {
        dropped: latest.lock().dropped,
        complete: !sessions.is_empty() && sessions.iter().all(|s| s.done),
        ms: decoding.ms(),
        scan: decoding.tally.report,
    })
}

/// Decoding frames one at a time, as they come: what [`scan_live`] does with each frame, for
/// callers that are handed frames rather than read them (the app's /qr page posts the
/// camera's frames one by one). A [`Tally`] with a clock.
#[derive(Debug)]
pub struct Decoding {
    tally: Tally,
    started: Instant,
}

impl Default for Decoding {
    fn default() -> Self {
        Decoding {
            tally: Tally::default(),
            started: Instant::now(),
        }
    }
}

impl Decoding {
    /// Reads the codes in one grey frame into `receiver`; `dropped` is how many frames the
    /// caller skipped so far. Returns the progress after it.
    pub fn push(
        &mut self,
        frame: GrayImage,
        receiver: &mut fountain::Receiver,
        dropped: u64,
    ) -> Progress {
        let codes = scan::read_codes(&DynamicImage::ImageLuma8(frame));
        self.tally.push(codes, receiver);
        let seconds = self.started.elapsed().as_secs_f64();
        self.tally.progress(receiver, dropped, seconds)
    }

    /// Milliseconds since the first frame was expected.
    pub fn ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qr::fountain::Sender;
    use crate::qr::render::{self, Ecc};

    fn pgm(image: &GrayImage) -> Vec<u8> {
        let mut bytes = format!("P5\n{} {}\n255\n", image.width(), image.height()).into_bytes();
        bytes.extend_from_slice(image.as_raw());
        bytes
    }

    #[test]
    fn pgm_frames_read_back_and_end() {
        let first = GrayImage::from_fn(3, 2, |x, y| image::Luma([(x * 10 + y) as u8]));
        let second = GrayImage::from_pixel(1, 4, image::Luma([200]));
        let mut stream = pgm(&first);
        stream.extend(pgm(&second));
        let mut input = io::Cursor::new(stream);
        assert_eq!(read_pgm(&mut input).expect("first"), Some(first));
        assert_eq!(read_pgm(&mut input).expect("second"), Some(second));
        assert_eq!(read_pgm(&mut input).expect("end"), None);
    }

    #[test]
    fn odd_pgm_streams_are_errors_not_panics() {
        for stream in [
            &b"P6\n1 1\n255\nabc"[..],
            b"P5\n2 2\n65535\n",
            b"P5\n99999 99999\n255\n",
            b"P5\nx 1\n255\n",
            b"P5\n4 4\n255\nshort",
            b"P5 1234567890123456789 1 255 ",
        ] {
            let result = read_pgm(&mut io::Cursor::new(stream));
            assert!(result.is_err(), "{:?}", String::from_utf8_lossy(stream));
        }
    }

    #[test]
    fn ffmpeg_reads_cameras_with_v4l2_and_files_and_stdin_at_their_frame_rate() {
        let args = |source: Source| -> Vec<String> {
            let args = source.input_args().into_iter();
            args.map(|a| a.to_string_lossy().into_owned()).collect()
        };
        let camera = Source::Camera(PathBuf::from("/dev/video2"));
        assert_eq!(
            args(camera),
            ["-nostdin", "-f", "v4l2", "-i", "/dev/video2"]
        );
        let file = Source::Input(PathBuf::from("clip.mkv"));
        assert_eq!(args(file), ["-nostdin", "-re", "-i", "clip.mkv"]);
        assert_eq!(
            args(Source::Input(PathBuf::from("-"))),
            ["-re", "-i", "pipe:0"]
        );
    }

    #[test]
    fn a_missing_ffmpeg_says_to_install_it() {
        let source = Source::Input(PathBuf::from("-"));
        let error = FfmpegFrames::open_with("mule-test-no-such-ffmpeg", &source)
            .err()
            .expect("no program");
        assert!(matches!(error, Error::FfmpegMissing), "{error:?}");
        assert!(error.to_string().contains("install ffmpeg"), "{error}");
    }

    /// A stand-in for ffmpeg: a shell script that says a lot on its standard error (more than
    /// a pipe holds), then writes one 2x1 frame, and exits with `status`.
    #[cfg(unix)]
    fn chatty_ffmpeg(dir: &Path, status: u8) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join("ffmpeg");
        let body = format!(
            "#!/bin/sh\ni=0\nwhile [ $i -lt 3000 ]; do echo 'corrupt JPEG data: 12 extraneous bytes before marker' >&2; i=$((i+1)); done\necho 'the last word' >&2\nprintf 'P5\\n2 1\\n255\\n\\001\\002'\nexit {status}\n"
        );
        std::fs::write(&script, body).expect("write");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        script
    }

    #[cfg(unix)]
    #[test]
    fn a_chatty_ffmpeg_does_not_stall_and_its_last_line_is_the_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = Source::Input(PathBuf::from("-"));
        let ok = chatty_ffmpeg(dir.path(), 0);
        let frames: Vec<_> = FfmpegFrames::open_with(ok.to_str().expect("utf-8"), &source)
            .expect("runs")
            .collect();
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frames[0].as_ref().expect("a frame").as_raw(), &vec![1, 2]);
        let other = tempfile::tempdir().expect("tempdir");
        let failing = chatty_ffmpeg(other.path(), 1);
        let mut frames =
            FfmpegFrames::open_with(failing.to_str().expect("utf-8"), &source).expect("runs");
        assert!(frames.next().expect("a frame").is_ok());
        match frames.next() {
            Some(Err(Error::Ffmpeg { message, .. })) => assert_eq!(message, "the last word"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_slow_decoder_gets_the_newest_frame_and_counts_the_rest_dropped() {
        let latest = Latest::default();
        for level in [1, 2, 3] {
            assert!(latest.put(GrayImage::from_pixel(1, 1, image::Luma([level]))));
        }
        latest.end(Ok(()));
        let frame = latest.take().expect("a frame");
        assert_eq!(frame.get_pixel(0, 0).0, [3]);
        assert_eq!(latest.lock().dropped, 2);
        assert!(matches!(latest.take(), Err(Ok(()))));
        latest.lock().closed = true;
        assert!(!latest.put(GrayImage::new(1, 1)));
    }

    /// Frames of a small bundle as images, and the bundle.
    fn stream(len: usize, seed: u8) -> (Vec<u8>, Vec<GrayImage>) {
        let bundle: Vec<u8> = (0..len).map(|i| (i * 7) as u8 ^ seed).collect();
        let id = crate::Hash::of(&bundle);
        let sender =
            Sender::new(&bundle, id.as_bytes(), render::capacity(15, Ecc::L), 1).expect("sender");
        let images = (0..sender.source_symbols() + 2)
            .map(|i| {
                let symbol = render::symbol(&sender.frame(i), 15, Ecc::L).expect("fits");
                render::to_image(&symbol, 3)
            })
            .collect();
        (bundle, images)
    }

    #[test]
    fn stops_once_every_stream_is_rebuilt() {
        let (bundle, images) = stream(1500, 1);
        let total = images.len();
        // An endless source: the scan must stop it by itself.
        let frames = images.into_iter().cycle().map(Ok);
        let (sent, told) = std::sync::mpsc::channel();
        let mut receiver = fountain::Receiver::default();
        let mut events = Vec::new();
        let live = scan_live(
            frames,
            move || sent.send(()).expect("told"),
            &mut receiver,
            |p| events.push(p.clone()),
        )
        .expect("scan");
        assert!(told.try_recv().is_ok(), "stop was called");
        assert!(live.complete);
        assert_eq!(receiver.bundles()[0].1, &bundle[..]);
        let last = events.last().expect("progress");
        assert_eq!((last.streams, last.complete), (1, 1));
        assert!(last.images as usize <= total * 50, "{last:?}");
    }

    #[test]
    fn an_incomplete_stream_ends_with_the_frames() {
        let (_, images) = stream(3000, 2);
        let frames = images.into_iter().take(1).map(Ok);
        let mut receiver = fountain::Receiver::default();
        let live = scan_live(frames, || {}, &mut receiver, |_| {}).expect("scan");
        assert!(!live.complete);
        let sessions = receiver.progress();
        assert!(sessions[0].received < sessions[0].needed, "{sessions:?}");
    }

    #[test]
    fn a_failing_source_is_an_error() {
        let frames = std::iter::once(Err(Error::NoCamera));
        let mut receiver = fountain::Receiver::default();
        let result = scan_live(frames, || {}, &mut receiver, |_| {});
        assert!(matches!(result, Err(Error::NoCamera)), "{result:?}");
    }
}
