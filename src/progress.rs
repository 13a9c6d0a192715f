//! Where a long operation is, for a front end that shows it while it runs (a bar on a
//! terminal, `--progress-json` lines for another program).
//!
//! An operation that takes a listener (the `*_with_progress` functions) calls it with a
//! [`Progress`] now and then: once per segment, object or batch, never per entry, so listening
//! costs nothing measurable. Its last call says what was done in the end: where a total is
//! known and the operation succeeded, the count then equals the total. The function of the same
//! name without `_with_progress` is the same operation with nobody listening.

use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// The operation a [`Progress`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `mule append KIND -`: bytes of input read, entries appended.
    Append,
    /// Importing bundle files: bytes of the files read, entries read from them.
    Import,
    /// Writing bundles: entries written, and bytes of segments and blob objects written
    /// (before compression).
    Export,
    /// Rebuilding the views: entries of the log gone through.
    Reindex,
    /// Importing GeoJSON: bytes of the file read, features read.
    MapImport,
    /// Syncing with a folder: bytes of the folder's bundles read, entries taken in and written.
    Sync,
    /// Mirroring into PostgreSQL: entries of the log copied (bytes: their bodies).
    Mirror,
}

/// How far an operation got: entries and bytes done, and their totals when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The operation.
    #[serde(rename = "progress")]
    pub operation: Operation,
    /// Entries done (what counts as an entry is the operation's: see [`Operation`]).
    pub entries: u64,
    /// Entries to do, when known before they are done.
    pub entries_total: Option<u64>,
    /// Bytes done.
    pub bytes: u64,
    /// Bytes to do, when known before they are done.
    pub bytes_total: Option<u64>,
}

impl Progress {
    /// The start of `operation`: nothing done yet of the totals given.
    pub fn new(operation: Operation, entries_total: Option<u64>, bytes_total: Option<u64>) -> Self {
        Self {
            operation,
            entries: 0,
            entries_total,
            bytes: 0,
            bytes_total,
        }
    }
}

/// Someone listening to an operation: gets the [`Progress`] after each step.
pub type Listener<'a> = dyn FnMut(&Progress) + 'a;

/// An operation's progress and who listens to it (perhaps nobody).
pub(crate) struct Tally<'l> {
    /// Where the operation is.
    pub(crate) now: Progress,
    listener: Option<&'l mut Listener<'l>>,
}

impl<'l> Tally<'l> {
    /// A tally starting at `now`, told to `listener`.
    pub(crate) fn new(now: Progress, listener: &'l mut Listener<'l>) -> Self {
        Self {
            now,
            listener: Some(listener),
        }
    }

    /// A tally nobody listens to.
    pub(crate) fn quiet(operation: Operation) -> Self {
        Self {
            now: Progress::new(operation, None, None),
            listener: None,
        }
    }

    /// Sets the bytes done: never more than the total, nor fewer than before (a file read again
    /// is not counted twice).
    pub(crate) fn bytes_at(&mut self, bytes: u64) {
        let total = self.now.bytes_total.unwrap_or(u64::MAX);
        self.now.bytes = bytes.min(total).max(self.now.bytes);
    }

    /// Tells the listener where the operation is now.
    pub(crate) fn tell(&mut self) {
        if let Some(listener) = &mut self.listener {
            listener(&self.now);
        }
    }
}

/// A reader that adds the bytes read through it to a counter another part (or thread) reads.
pub(crate) struct Counted<'c, R> {
    inner: R,
    count: &'c AtomicU64,
}

impl<'c, R> Counted<'c, R> {
    /// `inner`, counting into `count`.
    pub(crate) fn new(inner: R, count: &'c AtomicU64) -> Self {
        Self { inner, count }
    }

    fn add(&self, n: usize) {
        self.count.fetch_add(n as u64, Ordering::Relaxed);
    }
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.add(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.add(amount);
        self.inner.consume(amount);
    }
}

/// The bytes counted so far.
pub(crate) fn counted(count: &AtomicU64) -> u64 {
    count.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counted_reader_counts_what_is_read_and_what_is_consumed() {
        let count = AtomicU64::new(0);
        let mut lines = Counted::new(io::Cursor::new(b"one\ntwo\n".to_vec()), &count);
        let mut line = String::new();
        lines.read_line(&mut line).expect("a line");
        assert_eq!(counted(&count), 4);
        let mut rest = Vec::new();
        lines.read_to_end(&mut rest).expect("the rest");
        assert_eq!(counted(&count), 8);
    }

    #[test]
    fn a_progress_line_names_its_operation_and_every_count() {
        let progress = Progress {
            entries: 3,
            bytes: 10,
            ..Progress::new(Operation::MapImport, None, Some(10))
        };
        assert_eq!(
            serde_json::to_string(&progress).expect("json"),
            r#"{"progress":"map_import","entries":3,"entries_total":null,"bytes":10,"bytes_total":10}"#
        );
    }
}
