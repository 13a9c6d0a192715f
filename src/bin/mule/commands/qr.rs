//! `mule qr`: a bundle as an animated stream of QR codes, and read back from captures.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use mule::qr::live;
use mule::report;

use mule::bundle;
use mule::replica::Replica;

use super::Context;
use crate::output::{count, finish, print, progress_bar, spinner, tick};
use mule::fsutil::write_atomically;

#[derive(Subcommand)]
/// `mule qr ...`.
pub enum QrCommand {
    /// Write a bundle's frames: numbered PNGs, a self-contained HTML player, an animated GIF
    Encode {
        /// The bundle file
        bundle: PathBuf,
        /// Write numbered PNG frames into this folder
        #[arg(long, value_name = "DIR")]
        png: Option<PathBuf>,
        /// Write one HTML page that plays the frames full-screen (no network, no external scripts)
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Write an animated GIF (5-12 times the bundle's size)
        #[arg(long, value_name = "FILE")]
        gif: Option<PathBuf>,
        #[command(flatten)]
        settings: QrSettings,
    },
    /// Play a bundle's frames in this terminal (Unicode blocks), fresh frames until stopped
    Play {
        /// The bundle file
        bundle: PathBuf,
        #[command(flatten)]
        settings: QrSettings,
    },
    /// Rebuild bundles from captures: images, folders of screenshots or photos, videos (ffmpeg)
    Decode {
        /// Images, folders, or videos
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Write the bundle to this file, or each bundle to this existing folder as
        /// <bundle id>.mule [default: <bundle id>.mule in the current folder]
        #[arg(short, long, value_name = "FILE", conflicts_with = "import")]
        output: Option<PathBuf>,
        /// Import the bundle into the store instead of writing it
        #[arg(long)]
        import: bool,
    },
    /// Scan a QR stream live from a camera or a video stream (ffmpeg), and import the bundles
    Scan {
        /// V4L2 camera device [default: the first /dev/video* there is]
        #[arg(long, value_name = "DEVICE", conflicts_with = "input")]
        camera: Option<PathBuf>,
        /// A video ffmpeg reads (MJPEG, y4m, any container), or - for standard input; read at
        /// its own frame rate, as a camera delivers it
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
        /// Write the bundle to this file (or each to this existing folder as <id>.mule)
        /// instead of importing it
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Write the phone page: one offline HTML file that makes a phone a data mule (scan a QR
    /// stream with its camera, keep the bundles, save them, play them to the next camera)
    Receiver {
        /// The page to write (send it to the phone once, by any means)
        #[arg(long, value_name = "FILE", required = true)]
        html: PathBuf,
    },
}

/// How QR frames are made: a profile, and what overrides it.
#[derive(Args)]
pub struct QrSettings {
    /// small (v15-L, 8 fps: old cameras), default (v25-L, 12 fps: phone to laptop),
    /// large (v32-L, 15 fps: steady 1080p capture), photo (v40-M: photos, print),
    /// duo (two v32-L codes per screen frame, 15 fps: big screens)
    #[arg(long, default_value = "default", value_parser = parse_profile)]
    profile: mule::qr::Profile,
    /// QR version 1-40 (overrides the profile's)
    #[arg(long, value_parser = clap::value_parser!(u8).range(5..=40))]
    version: Option<u8>,
    /// Error correction: L (screens) or M (photos, print)
    #[arg(long, value_parser = parse_ecc)]
    ecc: Option<mule::qr::render::Ecc>,
    /// Frames per second (overrides the profile's)
    #[arg(long, value_parser = parse_fps)]
    fps: Option<f32>,
    /// How many QR codes to write: at least the bundle's source symbols (K); by default K plus
    /// a quarter for PNG and GIF, 2K for HTML; endless for play
    #[arg(long, value_name = "N")]
    frames: Option<usize>,
}

impl QrSettings {
    fn profile(&self) -> mule::qr::Profile {
        self.profile.with(self.version, self.ecc, self.fps)
    }
}

fn parse_profile(name: &str) -> Result<mule::qr::Profile, String> {
    mule::qr::Profile::named(name).ok_or_else(|| {
        let names: Vec<&str> = mule::qr::PROFILES.iter().map(|p| p.name).collect();
        format!("no profile `{name}`; use one of {}", names.join(", "))
    })
}

fn parse_ecc(text: &str) -> Result<mule::qr::render::Ecc, String> {
    match text {
        "L" | "l" => Ok(mule::qr::render::Ecc::L),
        "M" | "m" => Ok(mule::qr::render::Ecc::M),
        _ => Err(format!("`{text}`: error correction is L or M")),
    }
}

fn parse_fps(text: &str) -> Result<f32, String> {
    text.parse::<f32>()
        .ok()
        .filter(|fps| (0.2..=60.0).contains(fps))
        .ok_or_else(|| format!("`{text}`: frames per second go from 0.2 to 60"))
}

/// Runs a `mule qr` command.
pub fn run(command: QrCommand, context: &mut Context<'_>) -> Result<ExitCode> {
    match command {
        QrCommand::Encode {
            bundle,
            png,
            html,
            gif,
            settings,
        } => qr_encode(&bundle, png, html, gif, &settings, context),
        QrCommand::Play { bundle, settings } => qr_play(&bundle, &settings, context.out),
        QrCommand::Decode {
            inputs,
            output,
            import,
        } => {
            let mut replica = import.then(|| context.replica()).transpose()?;
            qr_decode(&inputs, replica.as_mut(), output, context)
        }
        QrCommand::Receiver { html } => qr_receiver(&html, context),
        QrCommand::Scan {
            camera,
            input,
            output,
        } => {
            let source = match (camera, input) {
                (Some(device), _) => live::Source::Camera(device),
                (None, Some(input)) => live::Source::Input(input),
                (None, None) => live::Source::first_camera()?,
            };
            let mut replica = output.is_none().then(|| context.replica()).transpose()?;
            qr_scan(&source, replica.as_mut(), output, context)
        }
    }
}

/// What became of a bundle read from QR codes, for people.
fn decoded_line(bundle: &report::QrBundle) -> String {
    match bundle {
        report::QrBundle::Written { id, path, .. } => {
            format!("wrote bundle {id} to {}", path.display())
        }
        report::QrBundle::Imported { id, imported } => {
            let new = match imported {
                report::QrImport::Applied(outcome) => outcome.new,
                report::QrImport::AlreadyImported { new, .. } => *new,
            };
            format!("imported bundle {id}: {}", count(new, "new entry"))
        }
    }
}

/// A fountain sender for a bundle file, checked to be a bundle first.
fn qr_sender(path: &Path, profile: &mule::qr::Profile) -> Result<mule::qr::fountain::Sender> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    // A sealed bundle travels as it is; whoever scans it needs the project's key to read it.
    let id = if bundle::sealed::is_sealed(&mut file)? {
        bundle::hash_file(path)?
    } else {
        bundle::read_manifest(path)?.id
    };
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    mule::qr::fountain::Sender::new(&bytes, id.as_bytes(), profile.frame_len(), profile.id)
        .with_context(|| path.display().to_string())
}

/// How many codes an output carries: `--frames`, or the default for the output.
fn qr_codes(
    settings: &QrSettings,
    sender: &mule::qr::fountain::Sender,
    default: usize,
) -> Result<usize> {
    let k = sender.source_symbols();
    match settings.frames {
        Some(n) if n < k => bail!("--frames {n} is fewer than the {k} frames this bundle needs"),
        Some(n) => Ok(n),
        None => Ok(default),
    }
}

fn qr_encode(
    bundle_path: &Path,
    png: Option<PathBuf>,
    html: Option<PathBuf>,
    gif: Option<PathBuf>,
    settings: &QrSettings,
    context: &mut Context<'_>,
) -> Result<ExitCode> {
    use mule::qr::output;
    let json = context.json;
    if png.is_none() && html.is_none() && gif.is_none() {
        bail!(
            "say where the frames go: --png DIR, --html FILE or --gif FILE (or use `mule qr play`)"
        );
    }
    let profile = settings.profile();
    let sender = qr_sender(bundle_path, &profile)?;
    let k = sender.source_symbols();
    let mut written = report::QrOutputs::default();
    if let Some(dir) = &png {
        let screens =
            output::screens_for(&profile, qr_codes(settings, &sender, k + (k / 4).max(3))?);
        let bar = progress_bar("PNG frames", screens as u64, json);
        let files = output::write_pngs(&sender, &profile, screens, dir, || tick(&bar))?;
        finish(bar);
        written.png = Some(report::PngFrames {
            dir: dir.clone(),
            frames: files.len() as u64,
        });
    }
    if let Some(path) = &html {
        let screens = output::screens_for(
            &profile,
            qr_codes(settings, &sender, output::player_codes(k))?,
        );
        let bar = progress_bar("HTML frames", screens as u64, json);
        let title = format!("mule bundle {}", bundle_path.display());
        let page = output::html_page(&sender, &profile, screens, &title, || tick(&bar))?;
        finish(bar);
        write_atomically(path, page.as_bytes())?;
        written.html = Some(report::FramesFile {
            file: path.clone(),
            frames: screens as u64,
            bytes: None,
        });
    }
    if let Some(path) = &gif {
        let screens =
            output::screens_for(&profile, qr_codes(settings, &sender, k + (k / 4).max(3))?);
        let bar = progress_bar("GIF frames", screens as u64, json);
        let mut bytes = Vec::new();
        output::write_gif(&sender, &profile, screens, &mut bytes, || tick(&bar))?;
        finish(bar);
        write_atomically(path, &bytes)?;
        written.gif = Some(report::FramesFile {
            file: path.clone(),
            frames: screens as u64,
            bytes: Some(bytes.len() as u64),
        });
    }
    let summary = report::QrEncoded {
        profile: report::QrProfile::from(&profile),
        frame_bytes: profile.frame_len() as u64,
        source_frames: k as u64,
        session: hex::encode(sender.session()),
        written,
    };
    let text = format!(
        "{k} frames carry the bundle (profile {}, QR version {} {:?}, {} bytes per code, {} fps); any {k} of them rebuild it",
        profile.name,
        profile.version,
        profile.ecc,
        profile.frame_len(),
        profile.fps
    );
    print(context, &summary, &text)
}

/// `mule qr receiver --html FILE`.
fn qr_receiver(path: &Path, context: &mut Context<'_>) -> Result<ExitCode> {
    let page = mule::qr::receiver::page()?;
    write_atomically(path, page.as_bytes())?;
    let summary = report::ReceiverPage {
        file: path.to_path_buf(),
        bytes: page.len() as u64,
    };
    let text = format!(
        "wrote {} ({} KB): send it to a phone once, by any means, and open it there in the browser; it needs no network and no install",
        path.display(),
        page.len().div_ceil(1024)
    );
    print(context, &summary, &text)
}

fn qr_play(bundle_path: &Path, settings: &QrSettings, out: &mut dyn Write) -> Result<ExitCode> {
    let profile = settings.profile();
    let sender = qr_sender(bundle_path, &profile)?;
    let terminal = io::stdout().is_terminal();
    if terminal {
        check_terminal_size(&profile)?;
    }
    // Endless on a terminal; one pass of the source frames into a pipe.
    let limit = match settings.frames {
        Some(n) => Some(n),
        None if terminal => None,
        None => Some(sender.source_symbols()),
    };
    let pause = Duration::from_secs_f32(1.0 / profile.fps);
    let mut index = 0;
    while limit.is_none_or(|n| index < n) {
        let started = std::time::Instant::now();
        let code = mule::qr::render::symbol(&sender.frame(index), profile.version, profile.ecc)?;
        if terminal {
            write!(out, "\x1b[H\x1b[2J")?;
        }
        write!(out, "{}", mule::qr::render::to_text(&code))?;
        writeln!(
            out,
            "frame {} · {} needed · Ctrl-C stops",
            index + 1,
            sender.source_symbols()
        )?;
        out.flush()?;
        if terminal {
            std::thread::sleep(pause.saturating_sub(started.elapsed()));
        }
        index += 1;
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses to draw codes the terminal cannot show whole: says what size they need, and what
/// fits.
fn check_terminal_size(profile: &mule::qr::Profile) -> Result<()> {
    let Some((rows, columns)) = console::Term::stdout().size_checked() else {
        return Ok(());
    };
    let (columns, rows) = (u32::from(columns), u32::from(rows));
    if profile.fits(columns, rows) {
        return Ok(());
    }
    let (need_columns, need_rows) = profile.text_size();
    let advice = match mule::qr::Profile::largest_fitting(columns, rows) {
        Some(fits) => {
            let (c, r) = fits.text_size();
            format!(", or use --profile {} (needs {c}x{r})", fits.name)
        }
        None => String::new(),
    };
    bail!(
        "the terminal is {columns}x{rows} characters, too small for a version {} code, which needs {need_columns}x{need_rows}: enlarge the window or make the font smaller{advice}",
        profile.version
    )
}

fn qr_decode(
    inputs: &[PathBuf],
    replica: Option<&mut Replica>,
    output: Option<PathBuf>,
    context: &mut Context<'_>,
) -> Result<ExitCode> {
    let json = context.json;
    let mut receiver = mule::qr::fountain::Receiver::default();
    let bar = progress_bar("reading codes", 0, json);
    let scan = mule::qr::scan_inputs(inputs, &mut receiver, |r| {
        if let Some(bar) = &bar {
            let sessions = r.progress();
            let (received, needed) = sessions
                .iter()
                .max_by_key(|p| p.received)
                .map_or((0, 0), |p| (p.received, p.needed));
            bar.set_length(needed as u64);
            bar.set_position(received as u64);
        }
    })?;
    finish(bar);
    for problem in &scan.unreadable {
        eprintln!("warning: {problem}");
    }
    if let Some(hint) = scan.upgrade_hint() {
        eprintln!("warning: {hint}");
    }
    let sessions = receiver.progress();
    let bundles = rebuilt(&receiver);
    let incomplete: Vec<String> = sessions
        .iter()
        .filter(|p| !p.done)
        .map(incomplete_line)
        .collect();
    if bundles.is_empty() {
        let Some(best) = sessions.iter().max_by_key(|p| p.received) else {
            bail!(
                "no mule QR frames in {} ({}, {} skipped)",
                count(scan.images as u64, "image"),
                count(scan.foreign as u64, "foreign code"),
                count(scan.damaged as u64, "damaged frame")
            );
        };
        for line in incomplete.iter().filter(|l| !l.contains(&best.session)) {
            eprintln!("warning: {line}");
        }
        bail!("{}", incomplete_line(best));
    }
    for line in &incomplete {
        eprintln!("warning: {line}");
    }
    let results = deliver(&bundles, replica, output)?;
    let lines: Vec<String> = results.iter().map(decoded_line).collect();
    let summary = report::QrDecoded {
        bundles: results,
        images: scan.images as u64,
        frames: scan.frames as u64,
        duplicates: scan.duplicates as u64,
        skipped: scan.skipped as u64,
        foreign: scan.foreign as u64,
        damaged: scan.damaged as u64,
        newer_format: scan.newer_format as u64,
        unneeded: scan.unneeded as u64,
        sessions,
    };
    let set_aside = summary
        .sessions
        .iter()
        .filter(|p| p.done && p.set_aside > 0)
        .map(|p| {
            format!(
                "\nsession {}: {} set aside (they disagree with the bundle)",
                p.session,
                count(p.set_aside as u64, "frame")
            )
        });
    let text = format!(
        "{}{}\n{}: {} used, {} repeated (a frame read again before the rebuild), {} unneeded (read after the bundle was rebuilt: repair frames beyond those needed, and later loops); skipped {}, {}",
        lines.join("\n"),
        set_aside.collect::<String>(),
        count(scan.images as u64, "image"),
        count(scan.frames as u64, "frame"),
        scan.duplicates,
        scan.unneeded,
        count(scan.foreign as u64, "foreign code"),
        count(scan.damaged as u64, "damaged frame")
    );
    print(context, &summary, &text)
}

/// Imports each rebuilt bundle through `replica`, or writes it where `output` says.
/// The bundles `receiver` rebuilt, with their ids.
fn rebuilt(receiver: &mule::qr::fountain::Receiver) -> Vec<(mule::Hash, &[u8])> {
    let bundles = receiver.bundles().into_iter();
    bundles
        .map(|(id, bytes)| (mule::Hash::from_bytes(id), bytes))
        .collect()
}

fn deliver(
    bundles: &[(mule::Hash, &[u8])],
    mut replica: Option<&mut Replica>,
    output: Option<PathBuf>,
) -> Result<Vec<report::QrBundle>> {
    let target = output_target(output, bundles)?;
    let mut results = Vec::new();
    for &(id, bytes) in bundles {
        let result = match replica.as_deref_mut() {
            Some(replica) => {
                let imported = replica.import_bytes(bytes)?.into();
                report::QrBundle::Imported { id, imported }
            }
            None => {
                let path = target.path_for(&id);
                write_atomically(&path, bytes)?;
                let bytes = bytes.len() as u64;
                report::QrBundle::Written { id, path, bytes }
            }
        };
        results.push(result);
    }
    Ok(results)
}

/// `mule qr scan`: decodes a live stream until every stream seen is rebuilt, then imports or
/// writes the bundles; an incomplete stream leaves the store unchanged.
fn qr_scan(
    source: &live::Source,
    replica: Option<&mut Replica>,
    output: Option<PathBuf>,
    context: &mut Context<'_>,
) -> Result<ExitCode> {
    let frames = live::FfmpegFrames::open(source)?;
    let stop = frames.stopper();
    let mut receiver = mule::qr::fountain::Receiver::default();
    let bar = spinner("scanning", context.json);
    let scanned = live::scan_live(frames, stop, &mut receiver, |p| {
        if let Some(bar) = &bar {
            bar.set_message(scan_progress_line(p));
        }
    })?;
    finish(bar);
    let sessions = receiver.progress();
    if let Some(incomplete) = sessions.iter().find(|s| !s.done) {
        bail!(
            "the stream ended before it was complete: {}",
            incomplete_line(incomplete)
        );
    }
    if sessions.is_empty() {
        bail!(
            "the stream ended without a mule QR frame ({} read); point the camera at the code, or check the video",
            count(scanned.scan.images as u64, "frame")
        );
    }
    let bundles = rebuilt(&receiver);
    let results = deliver(&bundles, replica, output)?;
    let lines: Vec<String> = results.iter().map(decoded_line).collect();
    let scan = &scanned.scan;
    let summary = report::QrScanned {
        bundles: results,
        images: scan.images as u64,
        dropped: scanned.dropped,
        frames: scan.frames as u64,
        duplicates: scan.duplicates as u64,
        skipped: scan.skipped as u64,
        unneeded: scan.unneeded as u64,
        ms: scanned.ms,
        sessions,
    };
    let text = format!(
        "{}
{} decoded, {} dropped (the decoder was busy), {} used, in {:.1} s",
        lines.join("\n"),
        count(summary.images, "frame"),
        summary.dropped,
        summary.frames,
        scanned.ms as f64 / 1000.0
    );
    print(context, &summary, &text)
}

/// "frames 31 of ~34, 2 streams seen, 18 KB/s".
fn scan_progress_line(progress: &live::Progress) -> String {
    format!(
        "frames {} of ~{}, {} seen, {:.0} KB/s",
        progress.received,
        progress.needed,
        count(progress.streams as u64, "stream"),
        progress.bytes_per_second / 1000.0
    )
}

/// What an incomplete session still needs, for people.
fn incomplete_line(session: &mule::qr::fountain::Progress) -> String {
    if session.received < session.needed {
        return format!(
            "session {}: {} of the {} needed; capture at least {} more",
            session.session,
            session.received,
            count(session.needed as u64, "frame"),
            session.needed - session.received
        );
    }
    format!(
        "session {}: {} held for the {} needed, but they do not rebuild the bundle ({} conflict with others: frames of another stream, or made up); capture more frames of the stream",
        session.session,
        count(session.received as u64, "frame"),
        session.needed,
        session.set_aside
    )
}

/// Where `qr decode` writes bundles.
enum Target {
    /// `<id>.mule` in this folder.
    Folder(PathBuf),
    /// This file (one bundle).
    File(PathBuf),
}

impl Target {
    fn path_for(&self, id: &impl std::fmt::Display) -> PathBuf {
        match self {
            Target::Folder(dir) => dir.join(format!("{id}.mule")),
            Target::File(path) => path.clone(),
        }
    }
}

/// `-o` read: an existing folder takes every bundle, a file only one.
fn output_target(output: Option<PathBuf>, bundles: &[(mule::Hash, &[u8])]) -> Result<Target> {
    match output {
        None => Ok(Target::Folder(PathBuf::new())),
        Some(dir) if dir.is_dir() => Ok(Target::Folder(dir)),
        Some(file) if bundles.len() > 1 => {
            let ids: Vec<String> = bundles.iter().map(|(id, _)| id.to_string()).collect();
            bail!(
                "the captures hold {} bundles ({}); -o {} names one file: name an existing folder to write each there as <id>.mule",
                bundles.len(),
                ids.join(", "),
                file.display()
            )
        }
        Some(file) => Ok(Target::File(file)),
    }
}
