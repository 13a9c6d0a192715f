//! Printing: a report as one JSON line (`--json`) or as text for people on stdout; progress
//! bars and spinners on stderr; an error on one line with a hint of what to do next.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

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

/// A progress bar on stderr when it is a terminal and JSON is not asked for.
pub fn progress_bar(message: &str, length: u64, json: bool) -> Option<indicatif::ProgressBar> {
    if json || !io::stderr().is_terminal() {
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

/// A spinner on stderr when it is a terminal and JSON is not asked for.
pub fn spinner(message: &str, json: bool) -> Option<indicatif::ProgressBar> {
    if json || !io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner().with_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
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
