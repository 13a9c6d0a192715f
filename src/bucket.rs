//! `mule sync s3://BUCKET/PREFIX` (and `gs://`, `az://`, `http(s)://` WebDAV): a bucket of an
//! object store used as the drop folder of `mule sync DIR` ([`crate::folder`]), for the ship
//! that docks or the camp with a satellite window.
//!
//! The bucket's bundles are mirrored in a **spool**, a folder of this store
//! (`buckets/<hash of the URL>/`): a sync downloads the bundles the spool lacks and forgets the
//! ones gone from the bucket ([`Bucket::pull`]), runs the folder sync on the spool, then uploads
//! the bundle it wrote and deletes from the bucket the bundles the folder sync removed, its own
//! superseded acknowledgements and, with `--compact`, what the new bundle replaces
//! ([`Bucket::push`]). So a bucket behaves as a folder, with the same rules, and a bundle is
//! downloaded once, however many syncs follow. Bucket syncs of one store take turns
//! ([`LOCK_FILE`]), as folder syncs do.
//!
//! **Atomic uploads.** A bundle goes up in one `PUT` (up to [`PART_BYTES`]) or as a multipart
//! upload completed only after its last part: either way the object appears whole or not at
//! all, so a reader never sees half a bundle, and a sync killed mid-upload leaves nothing
//! behind but an unfinished multipart upload (which the store's lifecycle rules expire).
//! Downloads go to a temporary file, renamed when whole.
//!
//! **Credentials** come from the environment, as the object store's own tools read them
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
//! `AWS_ENDPOINT` for S3-compatible servers, `AWS_ALLOW_HTTP`; `GOOGLE_SERVICE_ACCOUNT`;
//! `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`...), from the AWS CLI's shared
//! files for S3 (`~/.aws/credentials`, `~/.aws/config`; the environment wins), or from the
//! instance's role; never from the command line.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
use serde::{Deserialize, Serialize};

use crate::bundle::{EXTENSION, MAX_MANIFEST_LEN, MAX_PAYLOAD};
use crate::fault::{self, Point};
use crate::fsutil;

/// Bundles up to this size go up in one request; larger ones as a multipart upload of parts
/// of this size (S3 needs at least 5 MiB a part). Downloads read this much at a time.
pub const PART_BYTES: usize = 8 << 20;

/// The largest object taken for a bundle: past it, no bundle mule reads could be.
const MAX_OBJECT: u64 = MAX_PAYLOAD + MAX_MANIFEST_LEN;

/// Folder of the store directory holding the spools.
pub const SPOOLS: &str = "buckets";

/// File in the store directory that serializes bucket syncs (their spools); the folder sync
/// inside takes the store's own sync lock as well.
pub const LOCK_FILE: &str = "buckets.lock";

/// Takes the bucket-sync lock of the store in `store_dir`, waiting at most `wait`: `None` when
/// another bucket sync held it all that time. Held until dropped.
pub fn lock(store_dir: &Path, wait: std::time::Duration) -> Result<Option<File>, Error> {
    let path = store_dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| Error::Spool { path, source })?;
    Ok(crate::folder::acquire(&file, wait).then_some(file))
}

/// Why a bucket could not be synced with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL names no object store mule speaks.
    #[error(
        "`{url}` is not a bucket mule can reach ({reason}); write s3://BUCKET/PREFIX, \
         gs://BUCKET/PREFIX, az://CONTAINER/PREFIX or https://HOST/PATH"
    )]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The object store refused or failed a request.
    #[error(
        "{url}: {doing}: {reason}; check the credentials (AWS_ACCESS_KEY_ID, ...), the bucket name and the network"
    )]
    Store {
        /// The bucket.
        url: String,
        /// What mule was doing.
        doing: String,
        /// What the store said.
        reason: String,
    },
    /// The spool could not be read or written.
    #[error("{}: {source}", path.display())]
    Spool {
        /// The file or folder.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}

/// The bundles in a bucket (or a spool): file name -> size.
pub type Listing = BTreeMap<String, u64>;

/// What moving bundles to and from a bucket did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    /// Bundles downloaded into the spool.
    pub downloaded: u64,
    /// Bundles uploaded.
    pub uploaded: u64,
    /// Bundles deleted from the bucket.
    pub deleted: u64,
    /// Objects left alone, with why (too large to be a bundle).
    pub left_alone: Vec<String>,
}

/// A bucket (and prefix) of an object store.
pub struct Bucket {
    store: Box<dyn ObjectStore>,
    prefix: ObjectPath,
    url: String,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket").field("url", &self.url).finish()
    }
}

/// Whether `target` names a bucket rather than a folder.
pub fn is_bucket_url(target: &str) -> bool {
    [
        "s3://", "s3a://", "gs://", "az://", "abfs://", "abfss://", "http://", "https://",
    ]
    .iter()
    .any(|scheme| target.starts_with(scheme))
}

impl Bucket {
    /// The bucket `url` names, with credentials from the environment. Nothing is requested yet.
    pub fn open(url: &str) -> Result<Self, Error> {
        let bad = |reason: String| Error::Url {
            url: url.to_owned(),
            reason,
        };
        let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        let from_environment = std::env::vars().filter_map(|(key, value)| {
            let key = key.to_ascii_lowercase();
            ["aws_", "google_", "azure_"]
                .iter()
                .any(|p| key.starts_with(p))
                .then_some((key, value))
        });
        // The environment wins over the shared files: it comes last.
        let shared = match parsed.scheme() {
            "s3" | "s3a" => aws_shared_files(),
            _ => Vec::new(),
        };
        let options: Vec<(String, String)> = shared.into_iter().chain(from_environment).collect();
        let (store, prefix) =
            object_store::parse_url_opts(&parsed, options).map_err(|e| bad(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| bad(e.to_string()))?;
        Ok(Bucket {
            store,
            prefix,
            url: url.to_owned(),
            runtime,
        })
    }

    /// The bucket's URL, as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The spool of this bucket inside `store_dir`.
    pub fn spool(&self, store_dir: &Path) -> PathBuf {
        let name = blake3::hash(self.url.as_bytes()).to_hex();
        store_dir.join(SPOOLS).join(&name[..16])
    }

    /// Brings `spool` (created when missing) to the bucket's bundles: downloads those it lacks,
    /// removes those no longer in the bucket. Returns the bucket's listing.
    pub fn pull(&self, spool: &Path, moved: &mut Moved) -> Result<Listing, Error> {
        let listing = self.list()?;
        std::fs::create_dir_all(spool).map_err(|source| Error::Spool {
            path: spool.to_path_buf(),
            source,
        })?;
        let held = spool_listing(spool)?;
        for (name, size) in &listing {
            if *size > MAX_OBJECT {
                moved.left_alone.push(format!(
                    "{name}: {size} bytes, larger than any bundle can be"
                ));
                continue;
            }
            if held.get(name) != Some(size) {
                self.download(name, &spool.join(name))?;
                moved.downloaded += 1;
            }
        }
        for name in held.keys().filter(|name| !listing.contains_key(*name)) {
            let path = spool.join(name);
            std::fs::remove_file(&path).map_err(|source| Error::Spool { path, source })?;
        }
        Ok(listing)
    }

    /// Uploads the spool's bundles the bucket does not hold (`before` is its listing from
    /// [`Bucket::pull`]) and deletes from the bucket those of `before` the spool no longer
    /// holds (the folder sync removed them).
    pub fn push(&self, spool: &Path, before: &Listing, moved: &mut Moved) -> Result<(), Error> {
        let now = spool_listing(spool)?;
        for name in now.keys().filter(|name| !before.contains_key(*name)) {
            self.upload(&spool.join(name), name)?;
            moved.uploaded += 1;
        }
        for name in before.keys().filter(|name| !now.contains_key(*name)) {
            self.delete(name)?;
            moved.deleted += 1;
        }
        Ok(())
    }

    fn object(&self, name: &str) -> ObjectPath {
        self.prefix.child(name)
    }

    fn failed(&self, doing: String) -> impl Fn(object_store::Error) -> Error + '_ {
        move |e| Error::Store {
            url: self.url.clone(),
            doing: doing.clone(),
            reason: e.to_string(),
        }
    }

    /// The bundles directly under the prefix (names ending in `.mule`, not hidden).
    fn list(&self) -> Result<Listing, Error> {
        let listed = self
            .runtime
            .block_on(self.store.list_with_delimiter(Some(&self.prefix)))
            .map_err(self.failed("listing the bundles".into()))?;
        Ok(listed
            .objects
            .into_iter()
            .filter_map(|meta| {
                let name = meta.location.filename()?.to_owned();
                is_bundle_name(&name).then_some((name, meta.size))
            })
            .collect())
    }

    /// Downloads object `name` into `path`, a part at a time, through a temporary file.
    fn download(&self, name: &str, path: &Path) -> Result<(), Error> {
        let object = self.object(name);
        let failed = self.failed(format!("downloading {name}"));
        let spool_error = |source| Error::Spool {
            path: path.to_path_buf(),
            source,
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut file =
            fsutil::AtomicFile::create_in(dir, Point::BundleWrite).map_err(spool_error)?;
        let size = self
            .runtime
            .block_on(self.store.head(&object))
            .map_err(&failed)?
            .size;
        let mut at = 0;
        while at < size {
            let end = (at + PART_BYTES as u64).min(size);
            let bytes = self
                .runtime
                .block_on(self.store.get_range(&object, at..end))
                .map_err(&failed)?;
            file.write_all(&bytes).map_err(spool_error)?;
            at = end;
        }
        file.commit(path).map_err(spool_error)
    }

    /// Uploads the file at `path` as object `name`, appearing whole or not at all.
    fn upload(&self, path: &Path, name: &str) -> Result<(), Error> {
        let object = self.object(name);
        let failed = self.failed(format!("uploading {name}"));
        let spool_error = |source| Error::Spool {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(spool_error)?;
        let first = read_part(&mut file).map_err(spool_error)?;
        if first.len() < PART_BYTES {
            fault::stop_point(Point::BucketUpload);
            return self
                .runtime
                .block_on(self.store.put(&object, PutPayload::from(first)))
                .map(drop)
                .map_err(&failed);
        }
        let mut upload = self
            .runtime
            .block_on(self.store.put_multipart(&object))
            .map_err(&failed)?;
        let mut part = first;
        let sent = loop {
            let sending = self
                .runtime
                .block_on(upload.put_part(PutPayload::from(part)));
            if let Err(e) = sending {
                break Err(failed(e));
            }
            part = match read_part(&mut file) {
                Ok(next) => next,
                Err(source) => break Err(spool_error(source)),
            };
            if part.is_empty() {
                break Ok(());
            }
        };
        if let Err(e) = sent {
            // The store expires an unfinished upload by itself if this fails too.
            let _ = self.runtime.block_on(upload.abort());
            return Err(e);
        }
        // A fault here dies with every part sent and none of it visible.
        fault::stop_point(Point::BucketUpload);
        self.runtime
            .block_on(upload.complete())
            .map(drop)
            .map_err(&failed)
    }

    fn delete(&self, name: &str) -> Result<(), Error> {
        match self.runtime.block_on(self.store.delete(&self.object(name))) {
            // Another store removed it first: the same end.
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.failed(format!("deleting {name}"))(e)),
        }
    }
}

/// The settings the AWS CLI's shared files hold for the profile `AWS_PROFILE` names (else
/// `default`): keys from the credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else
/// `~/.aws/credentials`), region and endpoint from the config file (`AWS_CONFIG_FILE`, else
/// `~/.aws/config`), as object store options. Missing or unreadable files give nothing.
fn aws_shared_files() -> Vec<(String, String)> {
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    let file = |variable: &str, name: &str| {
        std::env::var_os(variable)
            .map(PathBuf::from)
            .or_else(|| dirs::home_dir().map(|home| home.join(".aws").join(name)))
    };
    let read = |path: Option<PathBuf>, section: &str, keys: &[(&str, &str)]| {
        let Some(ini) = path.and_then(|p| ini::Ini::load_from_file(p).ok()) else {
            return Vec::new();
        };
        let Some(found) = ini.section(Some(section)) else {
            return Vec::new();
        };
        keys.iter()
            .filter_map(|(key, option)| Some(((*option).to_owned(), found.get(key)?.to_owned())))
            .collect::<Vec<_>>()
    };
    let config_section = if profile == "default" {
        profile.clone()
    } else {
        format!("profile {profile}")
    };
    let mut options = read(
        file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        &profile,
        &[
            ("aws_access_key_id", "aws_access_key_id"),
            ("aws_secret_access_key", "aws_secret_access_key"),
            ("aws_session_token", "aws_session_token"),
        ],
    );
    options.extend(read(
        file("AWS_CONFIG_FILE", "config"),
        &config_section,
        &[("region", "aws_region"), ("endpoint_url", "aws_endpoint")],
    ));
    options
}

/// Up to [`PART_BYTES`] of `file` (fewer only at its end).
fn read_part(file: &mut File) -> std::io::Result<Vec<u8>> {
    let mut part = Vec::with_capacity(PART_BYTES);
    file.take(PART_BYTES as u64).read_to_end(&mut part)?;
    Ok(part)
}

/// Whether a file or object name is a bundle's (temporary and hidden files are not).
fn is_bundle_name(name: &str) -> bool {
    !name.starts_with('.') && name.ends_with(&format!(".{EXTENSION}"))
}

/// The bundles in the spool.
fn spool_listing(spool: &Path) -> Result<Listing, Error> {
    let failed = |source| Error::Spool {
        path: spool.to_path_buf(),
        source,
    };
    let mut listing = Listing::new();
    for entry in std::fs::read_dir(spool).map_err(failed)? {
        let entry = entry.map_err(failed)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_bundle_name(&name) {
            listing.insert(name, entry.metadata().map_err(failed)?.len());
        }
    }
    Ok(listing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bundles_count_and_only_bucket_urls_are_buckets() {
        assert!(is_bundle_name("2026-12-02-ab12.mule"));
        assert!(!is_bundle_name(".tmp-ab12.mule"));
        assert!(!is_bundle_name("notes.txt"));
        assert!(is_bucket_url("s3://drop/ship"));
        assert!(is_bucket_url("gs://drop"));
        assert!(!is_bucket_url("/media/STICK"));
        assert!(!is_bucket_url("ssh://host/store"));
    }

    #[test]
    fn a_bad_url_says_what_to_write() {
        let error = Bucket::open("ftp://example.org/x").expect_err("not a bucket");
        assert!(
            error.to_string().contains("write s3://BUCKET/PREFIX"),
            "{error}"
        );
    }
}
