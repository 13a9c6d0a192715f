//! Fault injection: named points in mule's write paths where a test can make a debug build fail
//! the way a full disk, a failing stick or a crash would, without root, tmpfs mounts or luck in
//! timing.
//!
//! A test sets `MULE_FAULT=POINT:FAULT[,POINT:FAULT...]` for the `mule` it runs, for example
//! `MULE_FAULT=bundle-write:enospc` or `MULE_FAULT=import-commit:abort`. The variable is read
//! once per process, and only builds with debug assertions (what `cargo test` builds) honour it:
//! a release build never reads it.
//!
//! What each fault does where it fires:
//! - `enospc`: writing a file fails with "No space left on device"; for the `store` point, the
//!   store's database may not grow by a single page, so SQLite reports "database or disk is full".
//! - `fsync`: making a file durable fails with "Input/output error", as a failing stick does.
//! - `torn`: the process dies (exit code [`ABORT_EXIT`]) just before a file would be made
//!   durable, with only the first half of its bytes in it: a crash or a stick pulled mid-write.
//! - `abort`: the process dies (exit code [`ABORT_EXIT`]) when it reaches the point, without
//!   running any cleanup, as `kill -9` would have it: for tests that must know where a process
//!   died.
//! - `sigint`: the process sends itself SIGINT (Ctrl-C) when it reaches the point, and goes on
//!   once its handler has asked for the interrupt ([`crate::interrupt`]).

use std::io;
use std::sync::OnceLock;

/// The environment variable that configures faults (debug builds only).
pub const ENV: &str = "MULE_FAULT";

/// The exit code of a process that a `torn` or `abort` fault stopped. A test tells it from a
/// failure (1) and a usage error (2).
pub const ABORT_EXIT: i32 = 86;

/// A place in mule where a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Point {
    /// Writing a bundle file (`export`, `sync DIR`, and the bundles live syncs stage).
    BundleWrite,
    /// Writing a pack file of blob objects (`blob add`, importing a bundle with objects).
    PackWrite,
    /// Writing a blob out of the store (`blob get`).
    BlobGet,
    /// Writing any other file the user asked for, through [`crate::fsutil::write_atomically`].
    FileWrite,
    /// Inside an import's write transaction, everything applied, just before it commits.
    ImportCommit,
    /// Inside an append's write transaction, every entry written, just before it commits.
    AppendCommit,
    /// The store's database (`store.sqlite`).
    Store,
    /// Uploading a bundle to a bucket (`sync s3://…`), every byte sent, just before the
    /// upload is completed and the object appears.
    BucketUpload,
}

impl Point {
    /// Every point, for parsing and for messages.
    pub const ALL: [Point; 8] = [
        Point::BundleWrite,
        Point::PackWrite,
        Point::BlobGet,
        Point::FileWrite,
        Point::ImportCommit,
        Point::AppendCommit,
        Point::Store,
        Point::BucketUpload,
    ];

    /// The point's name in [`ENV`].
    pub fn name(self) -> &'static str {
        match self {
            Point::BundleWrite => "bundle-write",
            Point::PackWrite => "pack-write",
            Point::BlobGet => "blob-get",
            Point::FileWrite => "file-write",
            Point::ImportCommit => "import-commit",
            Point::AppendCommit => "append-commit",
            Point::Store => "store",
            Point::BucketUpload => "bucket-upload",
        }
    }
}

/// What goes wrong at a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The disk is full.
    Enospc,
    /// Making a file durable fails.
    Fsync,
    /// The process dies with half of a file written.
    Torn,
    /// The process dies at the point.
    Abort,
    /// The process interrupts itself (SIGINT) at the point.
    Sigint,
}

impl Fault {
    /// Every fault, for parsing and for messages.
    pub const ALL: [Fault; 5] = [
        Fault::Enospc,
        Fault::Fsync,
        Fault::Torn,
        Fault::Abort,
        Fault::Sigint,
    ];

    /// The fault's name in [`ENV`].
    pub fn name(self) -> &'static str {
        match self {
            Fault::Enospc => "enospc",
            Fault::Fsync => "fsync",
            Fault::Torn => "torn",
            Fault::Abort => "abort",
            Fault::Sigint => "sigint",
        }
    }
}

/// Why a fault plan does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A part is not `POINT:FAULT`.
    #[error("`{0}` is not POINT:FAULT (such as bundle-write:enospc)")]
    Shape(String),
    /// The point is not one mule has.
    #[error("no fault point `{name}`; the points are {}", names(Point::ALL.map(Point::name)))]
    Point {
        /// The name given.
        name: String,
    },
    /// The fault is not one mule can inject.
    #[error("no fault `{name}`; the faults are {}", names(Fault::ALL.map(Fault::name)))]
    Fault {
        /// The name given.
        name: String,
    },
}

fn names<const N: usize>(names: [&str; N]) -> String {
    names.join(", ")
}

/// Which fault fires at which point.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    faults: Vec<(Point, Fault)>,
}

impl Plan {
    /// Parses `POINT:FAULT[,POINT:FAULT...]`; an empty text is an empty plan.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let faults = text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(parse_one)
            .collect::<Result<_, _>>()?;
        Ok(Self { faults })
    }

    /// The fault planned at `point`, if any.
    pub fn at(&self, point: Point) -> Option<Fault> {
        self.faults
            .iter()
            .find(|(planned, _)| *planned == point)
            .map(|(_, fault)| *fault)
    }
}

fn parse_one(part: &str) -> Result<(Point, Fault), Error> {
    let (point, fault) = part
        .split_once(':')
        .ok_or_else(|| Error::Shape(part.to_owned()))?;
    let point = Point::ALL
        .into_iter()
        .find(|p| p.name() == point)
        .ok_or_else(|| Error::Point { name: point.into() })?;
    let fault = Fault::ALL
        .into_iter()
        .find(|f| f.name() == fault)
        .ok_or_else(|| Error::Fault { name: fault.into() })?;
    Ok((point, fault))
}

/// The plan this process runs under: [`ENV`] in a debug build, nothing in a release build.
fn plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| {
        if !cfg!(debug_assertions) {
            return Plan::default();
        }
        let text = std::env::var(ENV).unwrap_or_default();
        // A test that misspells its fault must not pass by testing nothing.
        Plan::parse(&text).unwrap_or_else(|e| panic!("{ENV}={text}: {e}"))
    })
}

/// The fault planned at `point` for this process.
pub(crate) fn planned(point: Point) -> Option<Fault> {
    plan().at(point)
}

/// Ends the process at once, as a crash would: no destructor runs, so no transaction rolls back
/// and no temporary file is removed.
fn die() -> ! {
    std::process::exit(ABORT_EXIT)
}

/// Sends this process SIGINT, as Ctrl-C does, and waits until its handler has asked for the
/// interrupt, so the next safe point sees it (no race with the handler's thread).
fn interrupt_self() {
    #[cfg(unix)]
    {
        use rustix::process::{Signal, getpid, kill_process};
        if kill_process(getpid(), Signal::INT).is_ok() {
            while !crate::interrupt::requested() {
                std::thread::yield_now();
            }
        }
    }
    #[cfg(not(unix))]
    {
        crate::interrupt::request();
    }
}

/// A named stop point: the process dies here when the plan says `abort` for `point`, and
/// interrupts itself under `sigint`.
pub(crate) fn stop_point(point: Point) {
    match planned(point) {
        Some(Fault::Abort) => die(),
        Some(Fault::Sigint) => interrupt_self(),
        _ => {}
    }
}

/// Before writing bytes at `point`: fails as a full disk does under `enospc`, dies under
/// `abort`, and interrupts itself under `sigint`.
pub(crate) fn before_write(point: Point) -> io::Result<()> {
    match planned(point) {
        Some(Fault::Enospc) => Err(disk_full()),
        Some(Fault::Abort) => die(),
        Some(Fault::Sigint) => {
            interrupt_self();
            crate::interrupt::check_io()
        }
        _ => Ok(()),
    }
}

/// Before making a file durable at `point`: fails as a failing medium does under `fsync`.
pub(crate) fn before_sync(point: Point) -> io::Result<()> {
    match planned(point) {
        Some(Fault::Fsync) => Err(io_error()),
        _ => Ok(()),
    }
}

/// Before making `file` durable at `point`: under `torn`, cuts it to the first half of its
/// bytes, makes that durable and dies, as a crash in the middle of writing it would leave it.
pub(crate) fn tear(point: Point, file: &std::fs::File) -> io::Result<()> {
    if planned(point) == Some(Fault::Torn) {
        let len = file.metadata()?.len();
        file.set_len(len / 2)?;
        file.sync_all()?;
        die();
    }
    Ok(())
}

/// The error a write to a full disk gets.
fn disk_full() -> io::Error {
    #[cfg(unix)]
    {
        io::Error::from_raw_os_error(28)
    }
    #[cfg(not(unix))]
    {
        io::Error::new(io::ErrorKind::StorageFull, "No space left on device")
    }
}

/// The error a failing medium gives.
fn io_error() -> io::Error {
    #[cfg(unix)]
    {
        io::Error::from_raw_os_error(5)
    }
    #[cfg(not(unix))]
    {
        io::Error::other("Input/output error")
    }
}

/// A writer that consults [`before_write`] at `point` before every write.
#[derive(Debug)]
pub(crate) struct Writer<W> {
    inner: W,
    point: Point,
}

impl<W> Writer<W> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: W, point: Point) -> Self {
        Self { inner, point }
    }

    /// The wrapped writer.
    pub(crate) fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The wrapped writer.
    pub(crate) fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: io::Write> io::Write for Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        before_write(self.point)?;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_names_points_and_faults() {
        let plan = Plan::parse("bundle-write:enospc, import-commit:abort").unwrap();
        assert_eq!(plan.at(Point::BundleWrite), Some(Fault::Enospc));
        assert_eq!(plan.at(Point::ImportCommit), Some(Fault::Abort));
        assert_eq!(plan.at(Point::Store), None);
        assert_eq!(Plan::parse("").unwrap(), Plan::default());
    }

    #[test]
    fn a_misspelt_plan_says_what_exists() {
        assert_eq!(
            Plan::parse("bundle-write").unwrap_err(),
            Error::Shape("bundle-write".into())
        );
        let unknown = Plan::parse("bundle:enospc").unwrap_err().to_string();
        assert!(unknown.contains("bundle-write, pack-write"), "{unknown}");
        let fault = Plan::parse("store:full").unwrap_err().to_string();
        assert!(
            fault.contains("enospc, fsync, torn, abort, sigint"),
            "{fault}"
        );
    }

    #[test]
    fn the_injected_errors_read_like_the_real_ones() {
        assert_eq!(disk_full().kind(), io::ErrorKind::StorageFull);
        assert!(io_error().to_string().contains("Input/output error"));
    }
}
