//! Which bundles this store has seen: imported ones (`bundles_v1`), skipped by id when they come
//! again, and folder bundles refused because of a stranger's entries (`refused_v1`), skipped
//! until that device is admitted. The bundle layer decides; the store remembers.

use rusqlite::{Connection, OptionalExtension, params};

use crate::id::{AuthorId, Hash};

use super::{Error, Fault, Store, author_from, now_ms};

impl Store {
    /// Whether a bundle with this id was imported before.
    pub fn is_imported(&self, bundle: &Hash) -> Result<bool, Error> {
        self.run("looking up imported bundles", |conn| {
            let found = conn
                .query_row(
                    "SELECT 1 FROM bundles_v1 WHERE id = ?1",
                    [bundle.as_bytes().as_slice()],
                    |_| Ok(()),
                )
                .optional()?;
            Ok(found.is_some())
        })
    }

    /// Records a bundle this store wrote, so a later sync of the folder does not read it back.
    pub fn mark_imported(&self, bundle: &Hash, sender: &AuthorId) -> Result<(), Error> {
        self.run("recording a written bundle", |conn| {
            record_bundle(conn, bundle, sender, 0)
        })
    }

    /// Records that the bundle `bundle` was refused because it holds entries of `author`,
    /// a device the store's project has not admitted.
    pub fn remember_refused_stranger(&self, bundle: &Hash, author: &AuthorId) -> Result<(), Error> {
        self.run("recording a refused bundle", |conn| {
            conn.execute(
                "INSERT OR REPLACE INTO refused_v1(id, author, refused) VALUES (?1, ?2, ?3)",
                params![
                    bundle.as_bytes().as_slice(),
                    author.as_bytes().as_slice(),
                    now_ms()
                ],
            )?;
            Ok(())
        })
    }

    /// The device whose entries made the store refuse `bundle` before, if it did.
    pub fn refused_stranger(&self, bundle: &Hash) -> Result<Option<AuthorId>, Error> {
        self.run("looking up refused bundles", |conn| {
            let author: Option<Vec<u8>> = conn
                .query_row(
                    "SELECT author FROM refused_v1 WHERE id = ?1",
                    [bundle.as_bytes().as_slice()],
                    |r| r.get(0),
                )
                .optional()?;
            author
                .map(|a| author_from("refused_v1.author", &a))
                .transpose()
        })
    }
}

/// Records `bundle` from `sender`, which brought `new` entries, as seen (once: a bundle seen
/// before keeps its first record).
pub(super) fn record_bundle(
    conn: &Connection,
    bundle: &Hash,
    sender: &AuthorId,
    new: u64,
) -> Result<(), Fault> {
    conn.execute(
        "INSERT OR IGNORE INTO bundles_v1(id, sender, imported, new) VALUES (?1, ?2, ?3, ?4)",
        params![
            bundle.as_bytes().as_slice(),
            sender.as_bytes().as_slice(),
            now_ms(),
            new
        ],
    )?;
    Ok(())
}
