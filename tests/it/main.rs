//! Integration tests: they drive the real `mule` binary (and, for the property test, the
//! library) on temporary directories. One test binary, one module per concern.

mod architecture;
mod basemap;
mod blobs;
mod bucket;
mod bundles;
mod cal;
mod cli;
mod convergence;
mod crash;
mod damaged;
mod disk_full;
mod first_hour;
mod fixtures;
mod fsck;
mod fuzz_regressions;
mod hostile;
mod json;
mod live;
mod map;
mod mirror;
mod progress;
mod project;
mod qr;
mod qr_receiver;
mod qr_scan;
mod scale;
#[cfg(unix)]
mod ssh;
mod sync;
mod ui;
mod ui_basemap;
mod ui_cal;
mod ui_map;
mod ui_notes;
mod ui_qr_project;
mod ui_qr_receive;
mod ui_sync;
mod views;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// An outside program a test needs, found on `PATH`; `None` when it is not installed, after
/// printing why the running test is skipped (see [`skip`]).
pub fn outside_tool(program: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file());
    found.or_else(|| {
        skip(&format!(
            "`{program}` is not installed (Debian package {package}; scripts/test installs it)"
        ))
    })
}

/// Skips the running test with a reason printed to the real standard error (the test
/// harness captures `eprintln!`, so a skip would otherwise be silent). Under `CI=true` nothing
/// may be skipped: the test fails with the reason instead.
pub fn skip<T>(reason: &str) -> Option<T> {
    use std::io::Write;
    let current = std::thread::current();
    let test = current.name().unwrap_or("a test");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "{test}: {reason} (CI=true, so nothing may be skipped)");
    // Best effort: a closed stderr must not fail the test.
    let _ = writeln!(std::io::stderr(), "skipped {test}: {reason}");
    None
}

/// A temporary workspace holding stores and folders.
pub struct Work {
    dir: tempfile::TempDir,
}

impl Default for Work {
    fn default() -> Self {
        Self::new()
    }
}

impl Work {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A path inside the workspace (not created).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A folder inside the workspace (created).
    pub fn folder(&self, name: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(&path).expect("create folder");
        path
    }
}

/// `mule` with a store; the store and environment are explicit so no test touches the user's
/// default store.
pub fn mule(store: &Path) -> Command {
    let mut cmd = mule_bare();
    cmd.arg("--store").arg(store);
    cmd
}

/// `mule` without any store option, and without a fault plan from the environment (tests that
/// inject faults set `MULE_FAULT` themselves).
pub fn mule_bare() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mule"));
    cmd.env_remove("MULE_STORE").env_remove(mule::fault::ENV);
    cmd
}

/// Runs `mule --store STORE ARGS...` and returns its output.
pub fn run(store: &Path, args: &[&str]) -> Output {
    mule(store).args(args).output().expect("run mule")
}

/// Runs a command that must succeed and returns its stdout parsed as one JSON object.
pub fn json(store: &Path, args: &[&str]) -> Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let output = run(store, &full);
    assert!(
        output.status.success(),
        "mule {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON object")
}

/// Appends one JSON body per line through `mule append KIND -`.
pub fn append_lines(store: &Path, kind: &str, lines: &str) -> Output {
    let mut command = mule(store);
    command.args(["append", kind, "-"]);
    feed(command, lines)
}

/// Runs `command` with `input` on its standard input and collects its output.
pub fn feed(mut command: Command, input: &str) -> Output {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mule");
    let mut stdin = child.stdin.take().expect("stdin");
    // A command that fails may stop reading before the end; its exit status tells.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    child.wait_with_output().expect("wait mule")
}

/// `n` JSON lines `{"i": start..}`.
pub fn numbered(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("{{\"i\":{i}}}\n"))
        .collect()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The repository's fixtures folder.
pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path)
}

/// The status JSON minus the fields that legitimately change between two reads.
pub fn state(store: &Path) -> Value {
    let mut status = json(store, &["status"]);
    status.as_object_mut().expect("object").remove("store");
    status
}

/// `n` JSON lines that do not compress much (about 40 bundle bytes each): `{"i": .., "h": ..}`.
pub fn hashed_lines(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"i\":{i},\"h\":\"{}\"}}\n",
                mule::Hash::of(&i.to_le_bytes())
            )
        })
        .collect()
}

/// A store with `n` entries that do not compress much, and a bundle of all of them.
pub fn incompressible_bundle(work: &Work, n: usize) -> (PathBuf, PathBuf) {
    let store = work.path("source");
    assert!(
        append_lines(&store, "obs", &hashed_lines(n))
            .status
            .success()
    );
    let bundle = work.path("all.mule");
    let exported = run(
        &store,
        &["export", "--all", "-o", bundle.to_str().expect("utf-8")],
    );
    assert!(exported.status.success(), "{}", stderr(&exported));
    (store, bundle)
}

/// The `.mule` files in a folder, sorted.
pub fn bundles_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "mule"))
        .collect();
    found.sort();
    found
}
