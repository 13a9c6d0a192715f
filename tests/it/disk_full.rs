//! A full disk, a failing stick and a write cut off half way: import, append, export, sync and
//! blobs fail with one clear error that names the file, change nothing, and succeed once there is
//! room.
//!
//! The failures are injected through mule's fault points (`MULE_FAULT`, honoured by debug
//! builds), so every developer runs these. The last test checks the same promises on real small
//! file systems (tmpfs mounts): it needs root, and is skipped with a reason elsewhere, except in
//! CI (`CI=true`), where it must run.

use std::process::Command as Process;
use std::time::{Duration, SystemTime};

use mule::fault;

use super::*;

/// Whether this build honours `MULE_FAULT`; says why a test is skipped when not.
pub fn faults_honoured() -> bool {
    cfg!(debug_assertions)
        || skip::<()>(&format!("{} is honoured only in debug builds", fault::ENV)).is_some()
}

/// `mule --store STORE ARGS` under the fault plan `faults`.
fn with_faults(store: &Path, faults: &str, args: &[&str]) -> Output {
    mule(store)
        .env(fault::ENV, faults)
        .args(args)
        .output()
        .expect("run mule")
}

/// `mule --store STORE append KIND -` under the fault plan `faults`, fed `lines`.
fn append_with_faults(store: &Path, faults: &str, kind: &str, lines: &str) -> Output {
    let mut command = mule(store);
    command.env(fault::ENV, faults).args(["append", kind, "-"]);
    feed(command, lines)
}

/// The names in a folder, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The command failed with exit code 1 and exactly one error line, which names `file`; returns
/// that line.
fn fails_once_naming(output: &Output, file: &str) -> String {
    let message = stderr(output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    let errors: Vec<&str> = message
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{message}");
    assert!(errors[0].contains(file), "{message}");
    errors[0].to_owned()
}

fn fails_for_lack_of_space(output: &Output, file: &str) {
    fails_once_naming(output, file);
    let message = stderr(output);
    assert!(
        message.contains("hint: the disk is full; nothing was changed"),
        "{message}"
    );
}

fn assert_sound(store: &Path) {
    let fsck = run(store, &["fsck"]);
    assert!(fsck.status.success(), "{}{}", stdout(&fsck), stderr(&fsck));
}

#[test]
fn a_full_disk_during_an_import_or_an_append_changes_nothing() {
    if !faults_honoured() {
        return;
    }
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 2_000);
    let bundle_arg = bundle.to_str().expect("utf-8");
    let target = work.path("target");
    assert!(run(&target, &["id"]).status.success());
    let before = state(&target);

    let import = with_faults(&target, "store:enospc", &["import", bundle_arg]);
    fails_for_lack_of_space(&import, "all.mule");
    assert_eq!(state(&target), before);
    let append = append_with_faults(&target, "store:enospc", "obs", &hashed_lines(2_000));
    fails_for_lack_of_space(&append, "store.sqlite");
    assert_eq!(state(&target), before);
    assert_sound(&target);

    assert_eq!(json(&target, &["import", bundle_arg])["new"], 2_000);
}

#[test]
fn a_full_disk_during_an_export_or_a_sync_leaves_no_file() {
    if !faults_honoured() {
        return;
    }
    let work = Work::new();
    let source = work.path("source");
    assert!(
        append_lines(&source, "obs", &hashed_lines(2_000))
            .status
            .success()
    );
    let before = state(&source);
    let out = work.folder("out");
    let file = out.join("all.mule");
    let file_arg = file.to_str().expect("utf-8");
    let export = with_faults(
        &source,
        "bundle-write:enospc",
        &["export", "--all", "-o", file_arg],
    );
    fails_for_lack_of_space(&export, "all.mule");
    assert_eq!(names_in(&out), Vec::<String>::new());

    let stick = work.folder("stick");
    let stick_arg = stick.to_str().expect("utf-8");
    let sync = with_faults(&source, "bundle-write:enospc", &["sync", stick_arg]);
    fails_for_lack_of_space(&sync, "stick");
    assert_eq!(names_in(&stick), Vec::<String>::new());
    assert_eq!(state(&source), before);
    assert_sound(&source);

    let synced = json(&source, &["sync", stick_arg]);
    assert_eq!(synced["exported"], 2_000, "{synced}");
}

#[test]
fn a_failing_fsync_leaves_no_bundle_and_names_it() {
    if !faults_honoured() {
        return;
    }
    let work = Work::new();
    let source = work.path("source");
    assert!(run(&source, &["kv", "put", "k", "1"]).status.success());
    let out = work.folder("out");
    let file = out.join("all.mule");
    let file_arg = file.to_str().expect("utf-8");
    let export = with_faults(
        &source,
        "bundle-write:fsync",
        &["export", "--all", "-o", file_arg],
    );
    let error = fails_once_naming(&export, "all.mule");
    assert!(error.contains("Input/output error"), "{error}");
    assert_eq!(names_in(&out), Vec::<String>::new());
    assert!(
        run(&source, &["export", "--all", "-o", file_arg])
            .status
            .success()
    );
}

#[test]
fn a_bundle_write_cut_off_half_way_leaves_only_a_temporary_file_that_a_later_sync_removes() {
    if !faults_honoured() {
        return;
    }
    let work = Work::new();
    let source = work.path("source");
    assert!(
        append_lines(&source, "obs", &hashed_lines(2_000))
            .status
            .success()
    );
    let before = state(&source);
    let stick = work.folder("stick");
    let stick_arg = stick.to_str().expect("utf-8");

    let torn = with_faults(&source, "bundle-write:torn", &["sync", stick_arg]);
    assert_eq!(
        torn.status.code(),
        Some(fault::ABORT_EXIT),
        "{}",
        stderr(&torn)
    );
    let left = names_in(&stick);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(
        left[0].starts_with(".mule-") && left[0].ends_with(".part"),
        "{left:?}"
    );
    assert_eq!(state(&source), before);
    assert_sound(&source);

    // Readers of the stick never see the half file as a bundle; the next sync writes a whole one.
    let synced = json(&source, &["sync", stick_arg]);
    assert_eq!(synced["exported"], 2_000, "{synced}");
    for bundle in bundles_in(&stick) {
        let verify = mule_bare()
            .arg("verify")
            .arg(&bundle)
            .output()
            .expect("verify");
        assert!(verify.status.success(), "{}", stderr(&verify));
    }
    // The remains go once they are a day old.
    let part = stick.join(&left[0]);
    let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
    std::fs::File::open(&part)
        .and_then(|file| file.set_modified(two_days_ago))
        .expect("age the temporary file");
    let again = json(&source, &["sync", stick_arg]);
    assert_eq!(again["stale"][0], part.to_str().expect("utf-8"), "{again}");
    assert!(!part.exists());
}

#[test]
fn a_full_disk_while_storing_or_getting_a_blob_changes_nothing() {
    if !faults_honoured() {
        return;
    }
    let work = Work::new();
    let store = work.path("s");
    assert!(run(&store, &["id"]).status.success());
    let photo = work.path("photo.jpg");
    let bytes: Vec<u8> = (0..300_000u32)
        .flat_map(|i| mule::Hash::of(&i.to_le_bytes()).as_bytes()[..4].to_vec())
        .collect();
    std::fs::write(&photo, &bytes).expect("write photo");
    let photo_arg = photo.to_str().expect("utf-8");
    let before = state(&store);

    let add = with_faults(&store, "pack-write:enospc", &["blob", "add", photo_arg]);
    fails_for_lack_of_space(&add, ".pack");
    assert_eq!(state(&store), before);
    assert_eq!(names_in(&store.join("packs")), Vec::<String>::new());
    let torn = with_faults(&store, "pack-write:torn", &["blob", "add", photo_arg]);
    assert_eq!(
        torn.status.code(),
        Some(fault::ABORT_EXIT),
        "{}",
        stderr(&torn)
    );
    assert_eq!(state(&store), before);
    assert_sound(&store);

    let added = json(&store, &["blob", "add", photo_arg]);
    let hash = added["hash"].as_str().expect("hash").to_owned();
    let out = work.folder("out");
    let copy = out.join("copy.jpg");
    let copy_arg = copy.to_str().expect("utf-8");
    let get = with_faults(
        &store,
        "blob-get:enospc",
        &["blob", "get", &hash, "-o", copy_arg],
    );
    fails_for_lack_of_space(&get, "copy.jpg");
    assert_eq!(names_in(&out), Vec::<String>::new());
    assert!(
        run(&store, &["blob", "get", &hash, "-o", copy_arg])
            .status
            .success()
    );
    assert_eq!(std::fs::read(&copy).expect("copy"), bytes);
}

/// Whether this process runs as root, as mounting a tmpfs needs.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let uids = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
            uids.split_whitespace()
                .nth(1)
                .map(|effective| effective == "0")
        })
        .unwrap_or(false)
}

/// A tmpfs mounted for the test's lifetime.
struct Mount {
    path: PathBuf,
}

impl Mount {
    fn new(path: PathBuf, size: &str) -> Self {
        std::fs::create_dir_all(&path).expect("mount point");
        let status = Process::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("run mount");
        assert!(status.success(), "mounting a small tmpfs failed");
        Self { path }
    }

    fn grow(&self, size: &str) {
        let status = Process::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.path)
            .status()
            .expect("run mount");
        assert!(status.success(), "remount");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Process::new("umount").arg(&self.path).status();
    }
}

#[test]
fn a_full_disk_changes_nothing_and_a_retry_with_room_succeeds() {
    if !is_root() {
        skip::<()>(
            "a real full disk needs root to mount small tmpfs file systems; the MULE_FAULT tests check the same promises",
        );
        return;
    }
    let work = Work::new();
    let (source, bundle) = incompressible_bundle(&work, 30_000);
    let bundle_arg = bundle.to_str().expect("utf-8");

    let disk = Mount::new(work.path("small"), "1m");
    let target = disk.path.join("store");
    assert!(run(&target, &["id"]).status.success());
    let before = state(&target);
    fails_for_lack_of_space(&run(&target, &["import", bundle_arg]), "all.mule");
    assert_eq!(state(&target), before);
    assert!(run(&target, &["fsck"]).status.success());
    disk.grow("100m");
    assert_eq!(json(&target, &["import", bundle_arg])["new"], 30_000);

    let stick = Mount::new(work.path("stick"), "1m");
    let stick_arg = stick.path.to_str().expect("utf-8");
    fails_for_lack_of_space(&run(&source, &["sync", stick_arg]), "stick");
    let left: Vec<_> = std::fs::read_dir(&stick.path).expect("stick").collect();
    assert!(left.is_empty(), "the stick holds {} files", left.len());
    assert!(run(&source, &["fsck"]).status.success());
    stick.grow("100m");
    let synced = json(&source, &["sync", stick_arg]);
    assert_eq!(synced["exported"], 30_000, "{synced}");
    for file in std::fs::read_dir(&stick.path).expect("stick") {
        let path = file.expect("entry").path();
        assert!(
            mule_bare()
                .arg("verify")
                .arg(&path)
                .output()
                .expect("verify")
                .status
                .success()
        );
    }
}
