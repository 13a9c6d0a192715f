//! The key/value view: a multi-value register per key, as in hyperkv.
//!
//! An entry of kind `kv` with body `{"k": KEY, "v": VALUE}` puts a value;
//! `{"k": KEY, "del": true}` is a tombstone. A version is a *head* while no other kv entry links
//! to it. `get` shows the values of a key's heads (tombstones hide nothing but themselves), so two
//! replicas that put the same key concurrently both show after they sync, until a put that links
//! both merges them. A new put links the key's current heads by default.

use rusqlite::{Transaction, params};
use serde::{Deserialize, Serialize};

use super::{Error, Superseded, Viewed, Views, draft, hash_column, json_column};
use crate::entry::Entry;
use crate::id::Hash;
use crate::store::Draft;

/// The entry kind this view reads.
pub const KIND: &str = "kv";

/// A current value of a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Value {
    /// The entry that wrote it.
    pub hash: Hash,
    /// The value.
    pub value: serde_json::Value,
}

/// A head of a key: a value or a tombstone.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// The entry.
    pub hash: Hash,
    /// `None` for a tombstone.
    pub value: Option<serde_json::Value>,
}

pub(super) fn create_tables(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE kv_versions(
             hash BLOB NOT NULL,
             key TEXT NOT NULL,
             value TEXT,
             deleted INTEGER NOT NULL
         );
         CREATE TABLE kv_superseded(hash BLOB PRIMARY KEY) WITHOUT ROWID;",
    )
}

/// Creates the index at the end of a rebuild (faster than keeping it up entry by entry).
pub(super) fn finish_rebuild(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch("CREATE INDEX kv_versions_key ON kv_versions(key);")
}

pub(super) fn drop_tables(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch("DROP TABLE IF EXISTS kv_versions; DROP TABLE IF EXISTS kv_superseded;")
}

/// A kv entry, decoded: the key and the value's JSON text (`None` for a tombstone).
#[derive(Debug)]
pub(super) struct Row {
    key: String,
    value: Option<String>,
}

/// Decodes a kv entry; entries whose body has another shape belong to no key (`None`).
pub(super) fn prepare(entry: &Entry) -> Option<Row> {
    let body = entry.body_json().ok()?;
    let key = key_of(&body)?;
    let value = if body.get("del").and_then(|d| d.as_bool()) == Some(true) {
        None
    } else {
        Some(body.get("v")?.to_string())
    };
    Some(Row { key, value })
}

/// The statements of this view's superseded table (kv only marks; heads are found by query).
const SUPERSEDED: Superseded = Superseded::new(
    "INSERT OR IGNORE INTO kv_superseded(hash) VALUES (?1)",
    "SELECT 1 FROM kv_superseded WHERE hash = ?1",
);

pub(super) fn write(tx: &Transaction<'_>, entry: &Viewed, row: Row) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO kv_versions(hash, key, value, deleted) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        entry.hash.as_bytes().as_slice(),
        row.key,
        row.value,
        row.value.is_none()
    ])?;
    for linked in &entry.links {
        SUPERSEDED.mark(tx, linked.as_bytes().as_slice())?;
    }
    Ok(())
}

/// Queries on the key/value view.
pub struct Kv<'a> {
    pub(super) views: &'a Views,
}

impl Kv<'_> {
    /// The heads of `key`, values and tombstones, ordered by hash.
    pub fn heads(&self, key: &str) -> Result<Vec<Head>, Error> {
        self.views.rows(
            "SELECT hash, value FROM kv_versions
             WHERE key = ?1 AND NOT EXISTS (SELECT 1 FROM kv_superseded s WHERE s.hash = kv_versions.hash) ORDER BY hash",
            [key],
            |r| {
                Ok(Head {
                    hash: hash_column(r, 0)?,
                    value: json_column(r, 1)?,
                })
            },
        )
    }

    /// The current values of `key` (none when it was never put or is deleted).
    pub fn get(&self, key: &str) -> Result<Vec<Value>, Error> {
        Ok(self
            .heads(key)?
            .into_iter()
            .filter_map(|head| {
                head.value.map(|value| Value {
                    hash: head.hash,
                    value,
                })
            })
            .collect())
    }

    /// The current values of `key`; [`Error::Missing`] when it has none.
    pub fn require(&self, key: &str) -> Result<Vec<Value>, Error> {
        let values = self.get(key)?;
        if values.is_empty() {
            return Err(Error::Missing {
                view: super::ViewName::Kv,
                key: key.to_owned(),
            });
        }
        Ok(values)
    }

    /// Keys starting with `prefix` that have at least one value, sorted.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        self.views.rows(
            "SELECT DISTINCT key FROM kv_versions
             WHERE substr(key, 1, length(?1)) = ?1 AND deleted = 0
               AND NOT EXISTS (SELECT 1 FROM kv_superseded s WHERE s.hash = kv_versions.hash)
             ORDER BY key",
            [prefix],
            |r| r.get(0),
        )
    }

    /// Every head of every key, for comparing replicas: (key, hash, value).
    pub fn dump(&self) -> Result<Vec<(String, Hash, Option<String>)>, Error> {
        self.views.dump_heads(
            "SELECT key, hash, value FROM kv_versions v
             WHERE NOT EXISTS (SELECT 1 FROM kv_superseded s WHERE s.hash = v.hash) ORDER BY key, hash",
        )
    }
}

/// Links a batch of drafts (a bulk `mule append kv -`) the way `kv put` links one: a kv draft
/// without links of its own supersedes its key's current heads, or, when an earlier draft of the
/// batch put the same key, that draft (which superseded the heads already). Returns, for each
/// draft, the earlier draft of the batch it links (see [`crate::store::Store::append_linking`]).
pub fn link_batch(views: &Views, drafts: &mut [Draft]) -> Result<Vec<Option<usize>>, Error> {
    let mut last_put = std::collections::HashMap::new();
    let mut earlier = vec![None; drafts.len()];
    for (index, draft) in drafts.iter_mut().enumerate() {
        if draft.kind != KIND || !draft.links.is_empty() {
            continue;
        }
        let Some(key) = draft_key(draft) else {
            continue;
        };
        match last_put.get(&key) {
            Some(previous) => earlier[index] = Some(*previous),
            None => draft.links = head_hashes(views, &key)?,
        }
        last_put.insert(key, index);
    }
    Ok(earlier)
}

/// The key a kv draft puts, if its body has the shape the view reads.
fn draft_key(draft: &Draft) -> Option<String> {
    key_of(&crate::entry::body_to_json(&draft.body).ok()?)
}

/// The key of a kv body (`{"k": KEY, ...}`).
fn key_of(body: &serde_json::Value) -> Option<String> {
    Some(body.get("k")?.as_str()?.to_owned())
}

/// The hashes of `key`'s heads: what a new put of it links.
fn head_hashes(views: &Views, key: &str) -> Result<Vec<Hash>, Error> {
    Ok(views.kv().heads(key)?.into_iter().map(|h| h.hash).collect())
}

/// A draft that puts `value` under `key`, linking `links` (or, when empty, the key's heads).
pub fn put_draft(
    views: &Views,
    key: &str,
    value: Option<&serde_json::Value>,
    links: Vec<Hash>,
) -> Result<Draft, Error> {
    let body = match value {
        Some(value) => serde_json::json!({ "k": key, "v": value }),
        None => serde_json::json!({ "k": key, "del": true }),
    };
    let links = if links.is_empty() {
        head_hashes(views, key)?
    } else {
        links
    };
    draft(KIND, &body, links)
}
