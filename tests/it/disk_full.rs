//! A full disk: the store and the drop folder sit on small file systems (tmpfs mounts, so the
//! test runs as root, as CI does); import and sync fail with one clear error, change nothing,
//! and succeed once there is room.

use std::process::Command as Process;

use super::*;

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
        assert!(
            status.success(),
            "mounting a small tmpfs needs root (bash .ci/run runs as root); cannot test a full disk"
        );
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

fn fails_for_lack_of_space(output: &Output, file: &str) {
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(output);
    let errors: Vec<&str> = message
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{message}");
    assert!(errors[0].contains(file), "{message}");
    assert!(
        message.contains("hint: the disk is full; nothing was changed"),
        "{message}"
    );
}

#[test]
fn a_full_disk_changes_nothing_and_a_retry_with_room_succeeds() {
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
