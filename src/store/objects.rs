//! The index of blob objects (`objects_v1`): which pack file holds an object, where, and how
//! many packed bytes. [`crate::blob`] writes and reads the pack files; the store keeps the
//! index, so an import records its objects in the same transaction as its entries.

use rusqlite::{Connection, OptionalExtension, params};

use crate::id::Hash;

use super::{Error, Fault, Import, Store};

/// Where a stored object's packed bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectLocation {
    /// The pack file's number.
    pub pack: i64,
    /// Offset of the packed bytes in the pack file.
    pub offset: u64,
    /// Length of the packed bytes.
    pub len: u64,
}

const READING: &str = "reading the blob object index";
const RECORDING: &str = "recording blob objects";

impl Store {
    /// Where the object `hash` is stored, if the store holds it.
    pub fn object_location(&self, hash: &Hash) -> Result<Option<ObjectLocation>, Error> {
        self.run(READING, |conn| object_location(conn, hash))
    }

    /// Whether the store holds the object `hash`.
    pub fn holds_object(&self, hash: &Hash) -> Result<bool, Error> {
        Ok(self.object_location(hash)?.is_some())
    }

    /// Whether the store holds any object at all.
    pub fn holds_any_object(&self) -> Result<bool, Error> {
        self.run(READING, |conn| {
            Ok(conn.query_row("SELECT EXISTS(SELECT 1 FROM objects_v1)", [], |r| r.get(0))?)
        })
    }

    /// The hash of every indexed object; `None` for a row whose hash is not 32 bytes (damage).
    pub fn object_hashes(&self) -> Result<Vec<Option<Hash>>, Error> {
        self.run(READING, |conn| {
            let mut stmt = conn.prepare("SELECT hash FROM objects_v1")?;
            let hashes = stmt
                .query_map([], |r| r.get::<_, Vec<u8>>(0))?
                .map(|bytes| Ok(Hash::from_slice(&bytes?)))
                .collect::<rusqlite::Result<_>>()?;
            Ok(hashes)
        })
    }

    /// Whether any object is stored in pack number `pack`.
    pub fn pack_in_use(&self, pack: i64) -> Result<bool, Error> {
        self.run(READING, |conn| {
            Ok(conn
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM objects_v1 WHERE pack = ?1)")?
                .query_row([pack], |r| r.get(0))?)
        })
    }

    /// Records `objects` (hash, offset, packed length) as stored in pack number `pack`; returns
    /// how many were not indexed before.
    pub fn record_objects(&self, pack: i64, objects: &[(Hash, u64, u64)]) -> Result<u64, Error> {
        self.run(RECORDING, |conn| record_objects(conn, pack, objects))
    }
}

impl Import<'_> {
    /// Whether the store, with what this import added so far, holds the object `hash`.
    pub fn holds_object(&self, hash: &Hash) -> Result<bool, Error> {
        self.run(|tx| Ok(object_location(tx, hash)?.is_some()))
    }

    /// [`Store::record_objects`] inside the import: the rows roll back with it.
    pub fn record_objects(&self, pack: i64, objects: &[(Hash, u64, u64)]) -> Result<u64, Error> {
        self.run(|tx| record_objects(tx, pack, objects))
    }
}

fn object_location(conn: &Connection, hash: &Hash) -> Result<Option<ObjectLocation>, Fault> {
    Ok(conn
        .prepare_cached("SELECT pack, offset, len FROM objects_v1 WHERE hash = ?1")?
        .query_row([hash.as_bytes().as_slice()], |r| {
            Ok(ObjectLocation {
                pack: r.get(0)?,
                offset: r.get(1)?,
                len: r.get(2)?,
            })
        })
        .optional()?)
}

fn record_objects(
    conn: &Connection,
    pack: i64,
    objects: &[(Hash, u64, u64)],
) -> Result<u64, Fault> {
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO objects_v1(hash, pack, offset, len) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut added = 0;
    for (hash, offset, len) in objects {
        added += insert.execute(params![hash.as_bytes().as_slice(), pack, offset, len])? as u64;
    }
    Ok(added)
}
