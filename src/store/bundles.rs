//! Which bundles this store has seen: imported ones (`bundles_v1`), skipped by id when they come
//! again, and folder bundles refused because of a stranger's entries (`refused_v1`), skipped
//! until that device is admitted. The bundle layer decides; the store remembers.

use rusqlite::{Connection, OptionalExtension, params};

use crate::id::{AuthorId, Hash};

use super::{Error, Fault, Store, author_from, hash_from, now_ms};

/// A bundle the store has seen (see [`Store::seen_bundles`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenBundle {
    /// The bundle's id.
    pub id: Hash,
    /// The device that wrote it.
    pub sender: AuthorId,
    /// When it was imported (or written here), milliseconds since the Unix epoch.
    pub imported_ms: u64,
    /// How many entries it brought that the store lacked (0 for bundles written here).
    pub new: u64,
}

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

    /// Every bundle this store imported or wrote, in id order (for the database mirror).
    pub fn seen_bundles(&self) -> Result<Vec<SeenBundle>, Error> {
        self.run("listing imported bundles", |conn| {
            let mut stmt =
                conn.prepare("SELECT id, sender, imported, new FROM bundles_v1 ORDER BY id")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, u64>(2)?,
                    r.get::<_, u64>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, sender, imported_ms, new) = row?;
                out.push(SeenBundle {
                    id: hash_from("bundles_v1.id", &id)?,
                    sender: author_from("bundles_v1.sender", &sender)?,
                    imported_ms,
                    new,
                });
            }
            Ok(out)
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
