//! The last version of each document a batch has written before it commits (a bulk append of
//! kv puts, a map import): a later put of the same key, or feature of the same id, links to it
//! as it would to a committed version. Kept in a temporary table of the views' connection,
//! which SQLite spills to a temporary file, so memory stays bounded however many documents a
//! batch writes (a map held in memory grew by about 100 bytes a document).

use rusqlite::{OptionalExtension, params};

use super::{Error, Views, hash_column};
use crate::Hash;
use crate::store;

/// The versions one batch wrote last, per document id; forgotten when dropped. While it lives,
/// the views are read in one read transaction, so the batch's many lookups of current versions
/// skip taking and releasing SQLite's locks for each.
pub struct BatchHeads<'a> {
    views: &'a Views,
    _reading: store::Snapshot<'a>,
}

impl<'a> BatchHeads<'a> {
    /// An empty record for a new batch.
    pub fn new(views: &'a Views) -> Result<Self, Error> {
        let reading = views.read_snapshot()?;
        views.db(views.conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS batch_heads(id TEXT PRIMARY KEY, hash BLOB NOT NULL) WITHOUT ROWID;
             DELETE FROM temp.batch_heads;",
        ))?;
        Ok(Self {
            views,
            _reading: reading,
        })
    }

    /// The hash of the version of `id` this batch wrote last, if it wrote one.
    pub fn get(&self, id: &str) -> Result<Option<Hash>, Error> {
        let views = self.views;
        let mut stmt = views.db(views
            .conn
            .prepare_cached("SELECT hash FROM temp.batch_heads WHERE id = ?1"))?;
        views.db(stmt.query_row([id], |r| hash_column(r, 0)).optional())
    }

    /// Records that this batch wrote `id` last in version `hash`.
    pub fn set(&self, id: &str, hash: &Hash) -> Result<(), Error> {
        let views = self.views;
        let mut stmt = views.db(views.conn.prepare_cached(
            "INSERT INTO temp.batch_heads(id, hash) VALUES (?1, ?2)
             ON CONFLICT(id) DO UPDATE SET hash = excluded.hash",
        ))?;
        views.db(stmt.execute(params![id, hash.as_bytes().as_slice()]))?;
        Ok(())
    }
}

impl Drop for BatchHeads<'_> {
    fn drop(&mut self) {
        // A temporary table vanishes with the connection; emptying it early only frees its pages.
        let _ = self
            .views
            .conn
            .execute_batch("DELETE FROM temp.batch_heads");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_last_version_of_each_id_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let views = Views::open(dir.path()).unwrap();
        let (one, two) = (Hash::from_bytes([1; 32]), Hash::from_bytes([2; 32]));
        {
            let heads = BatchHeads::new(&views).unwrap();
            assert_eq!(heads.get("a").unwrap(), None);
            heads.set("a", &one).unwrap();
            heads.set("b", &one).unwrap();
            heads.set("a", &two).unwrap();
            assert_eq!(heads.get("a").unwrap(), Some(two));
            assert_eq!(heads.get("b").unwrap(), Some(one));
        }
        let next = BatchHeads::new(&views).unwrap();
        assert_eq!(next.get("a").unwrap(), None);
    }
}
