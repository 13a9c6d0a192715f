//! Printing: a report as one JSON line (`--json`) or as text for people on stdout; progress
//! bars and spinners on stderr (or `--progress-json` lines); an error on one line with a hint
//! of what to do next.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use mule::progress::Progress;
use mule::replica::{is_disk_full, is_read_only};
use mule::{bundle, folder, store};

use crate::commands::Context;

/// Prints `report` as a JSON line with `--json`, else `text`; the command succeeded.
pub fn print(context: &mut Context<'_>, report: &impl Serialize, text: &str) -> Result<ExitCode> {
    if context.json {
        json_line(context, report)?;
    } else {
        writeln!(context.out, "{text}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Reports a failed command: `error:` and `hint:` lines on stderr, or with `--json` one
/// [`report::Failure`] line on stdout (on stderr when stdout carries the live protocol).
pub fn failed(e: &anyhow::Error, json: bool, protocol_on_stdout: bool) -> ExitCode {
    let failure = mule::report::Failure {
        error: one_line(e),
        hint: hint(e).map(str::to_owned),
    };
    if json {
        let written = if protocol_on_stdout {
            write_json(&mut io::stderr(), &failure)
        } else {
            write_json(&mut io::stdout(), &failure)
        };
        // Nowhere is left to say that the report could not be written.
        drop(written);
    } else {
        eprintln!("error: {}", failure.error);
        if let Some(hint) = &failure.hint {
            eprintln!("hint: {hint}");
        }
    }
    ExitCode::FAILURE
}

/// Prints `report` as one JSON line.
pub fn json_line(context: &mut Context<'_>, report: &impl Serialize) -> Result<()> {
    write_json(context.out, report)
}

/// Writes `report` to `out` as one JSON line.
pub fn write_json(out: &mut dyn Write, report: &impl Serialize) -> Result<()> {
    serde_json::to_writer(&mut *out, report)?;
    writeln!(out)?;
    Ok(())
}

/// Whether progress may be drawn: stdout and stderr are terminals, and JSON is not asked for.
fn on_terminal(json: bool) -> bool {
    !json && io::stdout().is_terminal() && io::stderr().is_terminal()
}

/// A progress bar on stderr when [`on_terminal`].
pub fn progress_bar(message: &str, length: u64, json: bool) -> Option<indicatif::ProgressBar> {
    if !on_terminal(json) {
        return None;
    }
    let bar = indicatif::ProgressBar::new(length);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:30} {pos}/{len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(message.to_owned());
    Some(bar)
}

/// Advances a progress bar by one.
pub fn tick(bar: &Option<indicatif::ProgressBar>) {
    if let Some(bar) = bar {
        bar.inc(1);
    }
}

/// A spinner on stderr when [`on_terminal`].
pub fn spinner(message: &str, json: bool) -> Option<indicatif::ProgressBar> {
    if !on_terminal(json) {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner().with_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}

/// How long an operation runs before its bar shows.
const BAR_DELAY: Duration = Duration::from_secs(1);

/// The environment variable that sets [`BAR_DELAY`] in milliseconds instead (tests set 0).
const BAR_DELAY_ENV: &str = "MULE_PROGRESS_DELAY_MS";

/// `--progress-json` writes a line at most this often (and the last one always).
const LINE_EVERY: Duration = Duration::from_millis(100);

/// Shows where a long operation is, as its listener ([`Reporter::update`]): with
/// `--progress-json`, JSON lines on stderr; else, when [`on_terminal`], a bar on stderr once the
/// operation has run for a second; else nothing. Dropping it clears the bar or writes the last
/// line held back.
pub enum Reporter {
    /// Nothing to show.
    Quiet,
    /// A bar, hidden until the operation has run for a while.
    Bar(Bar),
    /// `--progress-json` lines.
    Lines(Lines),
}

/// The reporter the options ask for, its bar saying `message`.
pub fn reporter(context: &Context<'_>, message: &str) -> Reporter {
    if context.global.progress_json {
        Reporter::Lines(Lines::default())
    } else if on_terminal(context.json) {
        Reporter::Bar(Bar::new(message))
    } else {
        Reporter::Quiet
    }
}

impl Reporter {
    /// Shows `progress`.
    pub fn update(&mut self, progress: &Progress) {
        match self {
            Reporter::Quiet => {}
            Reporter::Bar(bar) => bar.update(progress),
            Reporter::Lines(lines) => lines.update(progress),
        }
    }

    /// The operation is over (as dropping it says).
    pub fn finish(self) {}
}

/// A bar on stderr, shown once the operation has run for [`BAR_DELAY`].
pub struct Bar {
    bar: indicatif::ProgressBar,
    started: Instant,
    delay: Duration,
    shown: bool,
}

impl Bar {
    fn new(message: &str) -> Self {
        let delay = std::env::var(BAR_DELAY_ENV)
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(BAR_DELAY, Duration::from_millis);
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::hidden());
        bar.set_message(message.to_owned());
        Self {
            bar,
            started: Instant::now(),
            delay,
            shown: false,
        }
    }

    fn update(&mut self, progress: &Progress) {
        let (position, length) = match (progress.bytes_total, progress.entries_total) {
            (Some(total), _) => (progress.bytes, Some(total)),
            (None, total) => (progress.entries, total),
        };
        self.bar.set_length(length.unwrap_or(0));
        self.bar.set_position(position);
        self.bar.set_prefix(besides(progress));
        if !self.shown && self.started.elapsed() >= self.delay {
            self.shown = true;
            self.bar.set_style(bar_style(progress));
            self.bar
                .set_draw_target(indicatif::ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(200));
            self.bar.tick();
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// The bar's shape: measured in bytes when their total is known, else in entries when theirs
/// is, else counts and rate without a bar.
fn bar_style(progress: &Progress) -> indicatif::ProgressStyle {
    let template = match (progress.bytes_total, progress.entries_total) {
        (Some(_), _) => "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}){prefix}",
        (None, Some(_)) => "{msg} [{bar:30}] {human_pos}/{human_len} entries ({per_sec:0}){prefix}",
        (None, None) => "{spinner} {msg}: {human_pos} entries ({per_sec:0}){prefix}",
    };
    indicatif::ProgressStyle::with_template(template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// What the bar says besides what it measures: the entries when it measures bytes, the bytes
/// (if any) when it measures entries.
fn besides(progress: &Progress) -> String {
    use indicatif::{HumanBytes, HumanCount};
    if progress.bytes_total.is_some() {
        return match progress.entries_total {
            Some(total) => format!(
                ", {}/{} entries",
                HumanCount(progress.entries),
                HumanCount(total)
            ),
            None => format!(", {} entries", HumanCount(progress.entries)),
        };
    }
    if progress.bytes == 0 {
        return String::new();
    }
    format!(", {}", HumanBytes(progress.bytes))
}

/// `--progress-json`: one [`Progress`] per line on stderr, at most every [`LINE_EVERY`] and
/// never the same twice in a row; an update that comes sooner is held back, and written when no
/// later one replaced it by the end.
#[derive(Default)]
pub struct Lines {
    /// When the last line was written, and what it said.
    written: Option<(Instant, Progress)>,
    held: Option<Progress>,
}

impl Lines {
    fn update(&mut self, progress: &Progress) {
        match &self.written {
            Some((_, last)) if last == progress => self.held = None,
            Some((at, _)) if at.elapsed() < LINE_EVERY => self.held = Some(progress.clone()),
            _ => {
                self.held = None;
                self.written = Some((Instant::now(), progress.clone()));
                write_line(progress);
            }
        }
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        if let Some(progress) = self.held.take() {
            write_line(&progress);
        }
    }
}

/// Writes `progress` as a JSON line on stderr; a closed stderr drops it (the operation goes on).
fn write_line(progress: &Progress) {
    drop(write_json(&mut io::stderr().lock(), progress));
}

/// Clears a progress bar or spinner.
pub fn finish(progress: Option<indicatif::ProgressBar>) {
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
}

/// The error and its causes on one line, skipping causes whose text the line already holds
/// (library errors often include their source in their own message).
pub fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}

/// What to say when a write failed for lack of space.
pub const DISK_FULL_HINT: &str = "the disk is full; nothing was changed: free some space (or use another folder) and run the command again";

/// What to do when the store cannot be written.
pub const READ_ONLY_HINT: &str = "the store's files cannot be written (a write-protected stick, or a store of another user); nothing was changed: run mule as the store's owner, or copy the store somewhere writable";

/// What to do about a damaged or unreadable bundle: the store is unchanged by it.
pub const DAMAGED_BUNDLE_HINT: &str =
    "a refused bundle changes nothing in the store; ask the sender for a fresh copy";

/// What to do about a bundle file that is not there.
pub const MISSING_FILE_HINT: &str =
    "that file does not exist: check the path (and that the stick or share is mounted)";

/// What to do when the folder to write a bundle in is not there. mule does not create it: a
/// mistyped path would put the bundle where nobody looks.
pub const MISSING_FOLDER_HINT: &str =
    "that folder does not exist: create it first, or pick another -o";

/// What to do about a refused bundle, unless its message already says.
pub fn bundle_hint(e: &bundle::Error) -> Option<&'static str> {
    match &*e.reason {
        bundle::Reason::Store(_) if is_read_only(e) => Some(READ_ONLY_HINT),
        bundle::Reason::Io(io) if io.kind() == io::ErrorKind::NotFound => Some(MISSING_FILE_HINT),
        bundle::Reason::NoSuchFolder(_) => Some(MISSING_FOLDER_HINT),
        bundle::Reason::Store(_)
        | bundle::Reason::NotMember { .. }
        | bundle::Reason::Sealed(
            bundle::sealed::Problem::NoKey | bundle::sealed::Problem::WrongKey,
        )
        | bundle::Reason::Project(_) => None,
        _ => Some(DAMAGED_BUNDLE_HINT),
    }
}

/// The store error `cause` is, also behind a blob or views error that shows it transparently
/// (and so hides it from the chain of sources).
fn store_error<'a>(cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a store::Error> {
    if let Some(mule::blob::Error::Store(e)) = cause.downcast_ref::<mule::blob::Error>() {
        return Some(e);
    }
    if let Some(mule::views::Error::Store(e)) = cause.downcast_ref::<mule::views::Error>() {
        return Some(e);
    }
    cause.downcast_ref::<store::Error>()
}

/// What to do next about a failed command, when something useful can be said.
pub fn hint(e: &anyhow::Error) -> Option<&'static str> {
    if e.chain().any(is_disk_full) {
        return Some(DISK_FULL_HINT);
    }
    if e.chain().any(is_read_only) {
        return Some(READ_ONLY_HINT);
    }
    for cause in e.chain() {
        if let Some(store::Error::Moved { .. }) = cause.downcast_ref::<store::Error>() {
            return Some(
                "if the store was moved on purpose and the old copy will never be used again, run \
                 `mule id --confirm-move`; if both copies may be used, run `mule id --new-key` here \
                 so this copy writes as a new author",
            );
        }
        if let Some(store::Error::BadValue { .. } | store::Error::Damaged { .. }) =
            store_error(cause)
        {
            return Some(
                "the store's database was changed outside mule; run `mule fsck` to see every \
                 damaged place and what to do",
            );
        }
        if let Some(store::Error::Db { .. }) = cause.downcast_ref::<store::Error>() {
            return Some(
                "another mule may hold the store, or the disk may be full; try again, and check free space",
            );
        }
        if let Some(folder::Error::Folder { .. }) = cause.downcast_ref::<folder::Error>() {
            return Some("check that the stick or share is mounted and the folder path is right");
        }
        if let Some(e) = cause.downcast_ref::<bundle::Error>() {
            return bundle_hint(e);
        }
        if cause.downcast_ref::<mule::entry::Error>().is_some() {
            return Some("nothing was appended; fix the input and run the command again");
        }
    }
    None
}

/// Standard output that a closed pipe (`mule log | head -1`) silences instead of failing: the
/// output is dropped and the command runs on, so its exit code is its own (a failed import still
/// exits 1).
pub struct Stdout<W> {
    inner: W,
    closed: bool,
}

impl<W: Write> Stdout<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            closed: false,
        }
    }

    /// Runs a write unless the pipe is known closed; a closed pipe marks it so and is no error.
    fn unless_closed(&mut self, write: impl FnOnce(&mut W) -> io::Result<()>) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match write(&mut self.inner) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            result => result,
        }
    }
}

impl<W: Write> Write for Stdout<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.unless_closed(|inner| inner.write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.unless_closed(Write::flush)
    }
}

/// `n` and the noun, in the plural unless `n` is 1: "1 entry", "3 entries", "0 bundles".
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        return format!("1 {noun}");
    }
    match noun.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{n} {stem}ies"),
        _ if noun.ends_with(['s', 'x']) || noun.ends_with("ch") || noun.ends_with("sh") => {
            format!("{n} {noun}es")
        }
        _ => format!("{n} {noun}s"),
    }
}

/// The noun with its indefinite article: "a member", "an admin".
pub fn a_or_an(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {noun}")
}

/// Milliseconds since the Unix epoch as a UTC date and time, such as
/// `2026-12-01T04:15:17.123Z`; the number itself when no date can hold it.
pub fn utc_time(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || format!("{ms} ms since the Unix epoch"),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_agree_with_their_nouns() {
        assert_eq!(count(1, "entry"), "1 entry");
        assert_eq!(count(0, "entry"), "0 entries");
        assert_eq!(count(2, "bundle"), "2 bundles");
        assert_eq!(count(1, "blob chunk"), "1 blob chunk");
        assert_eq!(count(3, "key"), "3 keys");
        assert_eq!(count(2, "branch"), "2 branches");
        assert_eq!(a_or_an("admin"), "an admin");
        assert_eq!(a_or_an("member"), "a member");
    }

    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(utc_time(1_796_080_189_380), "2026-11-30T23:09:49.380Z");
        assert_eq!(
            utc_time(u64::MAX),
            "18446744073709551615 ms since the Unix epoch"
        );
    }

    #[test]
    fn a_closed_pipe_drops_the_output_and_is_no_error() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
        }
        let mut out = Stdout::new(Closed);
        writeln!(out, "dropped").unwrap();
        out.flush().unwrap();
    }
}
