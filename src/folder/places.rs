//! The places a person can sync with from the app: removable drives the system mounted (under
//! `/media`, `/run/media`, `/mnt`) and folders this device was told about before.
//!
//! Drives are found by looking, not by asking the system's disk service: a mount root holds
//! either the drives themselves (`/media/STICK`, `/mnt/usb`) or a folder per user holding them
//! (`/media/alice/STICK`, `/run/media/alice/STICK`). A folder one level down is a place when it
//! is a mount point, already holds bundles, or has no folders inside; otherwise the folders
//! inside it are. Both levels are bounded ([`MAX_PER_FOLDER`]), so a root holding thousands of
//! folders costs a bounded look.
//!
//! The folders named before are a setting of this device ([`crate::Store::set_setting`], key
//! [`SETTING`]): another device has other drives and other paths, so they are never synced.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Error;
use crate::bundle::EXTENSION;
use crate::fsutil;
use crate::store::Store;

/// Where the system mounts removable drives.
pub const MOUNT_ROOTS: &[&str] = &["/media", "/run/media", "/mnt"];
/// The most folders looked at inside one folder while looking for drives.
pub const MAX_PER_FOLDER: usize = 64;
/// The setting holding the folders named before (a JSON list of paths).
pub const SETTING: &str = "sync.places";

/// A place to sync with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// What to call it: the folder's name (a drive's label).
    pub name: String,
    /// The folder.
    pub path: PathBuf,
    /// Bytes free there, when the system says.
    pub free: Option<u64>,
    /// Whether it was named before (and is remembered), rather than found under a mount root.
    pub remembered: bool,
    /// Whether it exists now (a remembered stick may be unplugged).
    pub present: bool,
}

/// The places to sync with: drives found under `roots` (pass [`MOUNT_ROOTS`]), then the
/// `remembered` folders not among them, each once.
pub fn discover(roots: &[&Path], remembered: &[PathBuf]) -> Vec<Place> {
    let mut places: Vec<Place> = roots
        .iter()
        .flat_map(|root| drives_under(root))
        .map(|path| place(path, false))
        .collect();
    for path in remembered {
        match places.iter_mut().find(|p| &p.path == path) {
            Some(found) => found.remembered = true,
            None => places.push(place(path.clone(), true)),
        }
    }
    places
}

/// The folders this device was told to remember.
pub fn remembered(store: &Store) -> Result<Vec<PathBuf>, Error> {
    let Some(text) = store.setting(SETTING)? else {
        return Ok(Vec::new());
    };
    // A setting edited by hand into something else is no list: start again rather than fail.
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

/// Remembers `path`, which must be a folder that exists (named absolutely, so it means the same
/// wherever the app was started); returns it as remembered.
pub fn remember(store: &mut Store, path: &Path) -> Result<PathBuf, Error> {
    if !path.is_absolute() {
        return Err(Error::Relative(path.to_path_buf()));
    }
    let folder_error = |source| Error::Folder {
        path: path.to_path_buf(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(folder_error)?;
    if !metadata.is_dir() {
        return Err(folder_error(std::io::ErrorKind::NotADirectory.into()));
    }
    let mut paths = remembered(store)?;
    if !paths.iter().any(|p| p == path) {
        paths.push(path.to_path_buf());
        let text = serde_json::to_string(&paths).expect("a list of paths serializes");
        store.set_setting(SETTING, &text)?;
    }
    Ok(path.to_path_buf())
}

/// Forgets a remembered folder (nothing happens when it was not remembered).
pub fn forget(store: &mut Store, path: &Path) -> Result<(), Error> {
    let mut paths = remembered(store)?;
    paths.retain(|p| p != path);
    let text = serde_json::to_string(&paths).expect("a list of paths serializes");
    store.set_setting(SETTING, &text)?;
    Ok(())
}

fn place(path: PathBuf, remembered: bool) -> Place {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Place {
        name,
        free: fsutil::free_space(&path),
        present: path.is_dir(),
        path,
        remembered,
    }
}

/// The drives under one mount root, in name order (see the module docs).
fn drives_under(root: &Path) -> Vec<PathBuf> {
    let mut drives = Vec::new();
    for folder in folders_in(root) {
        if is_mount_point(&folder) || holds_bundles(&folder) {
            drives.push(folder);
            continue;
        }
        let inside = folders_in(&folder);
        if inside.is_empty() {
            drives.push(folder);
        } else {
            drives.extend(inside);
        }
    }
    drives
}

/// The visible folders in `dir`, at most [`MAX_PER_FOLDER`], sorted; none when it is unreadable.
fn folders_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(items) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut folders: Vec<PathBuf> = items
        .filter_map(Result::ok)
        .filter(|item| !item.file_name().to_string_lossy().starts_with('.'))
        .filter(|item| item.path().is_dir())
        .take(MAX_PER_FOLDER)
        .map(|item| item.path())
        .collect();
    folders.sort();
    folders
}

fn holds_bundles(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut items| {
        items.any(|item| {
            item.is_ok_and(|item| item.path().extension().is_some_and(|e| e == EXTENSION))
        })
    })
}

/// Whether `dir` is on another file system than its parent: something is mounted there.
#[cfg(unix)]
fn is_mount_point(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let device = |path: &Path| std::fs::metadata(path).map(|m| m.dev()).ok();
    match (device(dir), dir.parent().and_then(device)) {
        (Some(own), Some(parent)) => own != parent,
        _ => false,
    }
}

#[cfg(not(unix))]
fn is_mount_point(_dir: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(path: &Path) {
        std::fs::create_dir_all(path).expect("create folder");
    }

    #[test]
    fn drives_are_found_one_or_two_levels_down() {
        let media = tempfile::tempdir().expect("temp dir");
        let root = media.path();
        // A drive mounted right under the root, an empty one, and a user's folder holding two.
        folder(&root.join("STICK/DCIM"));
        std::fs::write(root.join("STICK/x.mule"), b"").expect("write");
        folder(&root.join("EMPTY"));
        folder(&root.join("alice/KINGSTON/notes"));
        folder(&root.join("alice/SD"));
        folder(&root.join(".hidden"));
        std::fs::write(root.join("file.txt"), b"").expect("write");
        let places = discover(&[root], &[]);
        let names: Vec<&str> = places.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["EMPTY", "STICK", "KINGSTON", "SD"]);
        assert_eq!(places[2].path, root.join("alice/KINGSTON"));
        assert!(places.iter().all(|p| p.present && !p.remembered));
        assert!(places[0].free.is_some_and(|free| free > 0));
    }

    #[test]
    fn a_missing_root_has_no_drives_and_a_crowded_one_is_looked_at_boundedly() {
        let media = tempfile::tempdir().expect("temp dir");
        assert!(discover(&[&media.path().join("absent")], &[]).is_empty());
        for n in 0..MAX_PER_FOLDER + 5 {
            folder(&media.path().join(format!("d{n:03}")));
        }
        assert_eq!(discover(&[media.path()], &[]).len(), MAX_PER_FOLDER);
    }

    #[test]
    fn folders_named_before_are_remembered_per_device_and_listed_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(&dir.path().join("store")).expect("store");
        let media = dir.path().join("media");
        let drop = dir.path().join("drop");
        folder(&media.join("STICK"));
        folder(&drop);
        assert!(matches!(
            remember(&mut store, Path::new("relative")),
            Err(Error::Relative(_))
        ));
        assert!(matches!(
            remember(&mut store, &dir.path().join("absent")),
            Err(Error::Folder { .. })
        ));
        remember(&mut store, &drop).expect("remember");
        remember(&mut store, &drop).expect("remembering twice is once");
        remember(&mut store, &media.join("STICK")).expect("remember");
        let reopened = Store::open(&dir.path().join("store")).expect("store");
        let paths = remembered(&reopened).expect("remembered");
        assert_eq!(paths, [drop.clone(), media.join("STICK")]);
        std::fs::remove_dir(&drop).expect("unplug");
        let places = discover(&[&media], &paths);
        assert_eq!(places.len(), 2, "{places:?}");
        assert!(places[0].remembered && places[0].present, "found and named");
        assert!(
            places[1].remembered && !places[1].present,
            "named, now absent"
        );
        forget(&mut store, &drop).expect("forget");
        assert_eq!(
            remembered(&store).expect("remembered"),
            [media.join("STICK")]
        );
    }
}
