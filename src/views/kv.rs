//! The key/value view: a multi-value register per key, as in hyperkv.
//!
//! An entry of kind `kv` with body `{"k": KEY, "v": VALUE}` puts a value;
//! `{"k": KEY, "del": true}` is a tombstone. A version is a *head* while no other kv entry links
//! to it. `get` shows the values of a key's heads (tombstones hide nothing but themselves), so two
//! replicas that put the same key concurrently both show after they sync, until a put that links
//! both merges them. A new put links the key's current heads by default.

use rusqlite::{Transaction, params};
use serde::{Deserialize, Serialize};

use super::{
    Error, Superseded, Viewed, Views, damaged_column, draft, hash_column, json_column, json_text,
    superseded,
};
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
pub(crate) struct Row {
    pub(crate) key: String,
    pub(crate) value: Option<String>,
}

/// Decodes a kv entry; entries whose body has another shape belong to no key (`None`).
pub(super) fn prepare(entry: &Entry) -> Option<Row> {
    let body = entry.body_json().ok()?;
    let key = key_of(&body)?;
    let value = if body.get("del").and_then(|d| d.as_bool()) == Some(true) {
        None
    } else {
        Some(json_text(body.get("v")?))
    };
    Some(Row { key, value })
}

/// The SQL condition "`key` starts with `?1`", as one range of the key index: every text that
/// starts with the prefix sorts below the prefix followed by the bytes F4 90 80 80, which no
/// UTF-8 text holds (its code point would be past U+10FFFF), so a listing reads the prefix's
/// keys only, not the index from the prefix to its end.
macro_rules! with_prefix {
    () => {
        "key >= ?1 AND key < ?1 || CAST(x'F4908080' AS TEXT)"
    };
}

/// The statements of this view's superseded table (kv only marks; heads are found by query).
pub(super) const SUPERSEDED: Superseded = superseded!("kv_superseded");

pub(super) fn write(
    tx: &Transaction<'_>,
    entry: &Viewed,
    row: Row,
    rebuilding: bool,
) -> rusqlite::Result<()> {
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
        SUPERSEDED.mark(tx, linked.as_bytes().as_slice(), rebuilding)?;
    }
    Ok(())
}

/// What [`Kv::search`] looks for and which page of it to return.
#[derive(Debug, Clone, Copy, Default)]
pub struct Search<'a> {
    /// Only keys starting with this.
    pub prefix: &'a str,
    /// Text the key or a current value must contain, ignoring case ("": every key).
    pub text: &'a str,
    /// How many matching keys to pass over before the page starts.
    pub skip: usize,
    /// The most keys on the page.
    pub limit: usize,
    /// Whether to count every match when there is no text to look for, which reads every
    /// current value's row: without it, reading stops once the page is full (see
    /// [`Found::counted`]). A text search reads them all anyway and always counts.
    pub count: bool,
}

/// A page of a [`Kv::search`].
#[derive(Debug, Default, PartialEq)]
pub struct Found {
    /// How many keys match in all (when [`Found::counted`]; else how many up to the page's end).
    pub total: usize,
    /// Whether `total` counts every match.
    pub counted: bool,
    /// The page's keys, sorted, each with its current values ordered by hash.
    pub keys: Vec<(String, Vec<Value>)>,
}

/// A key and its current values (hash and JSON text), while [`Kv::search`] reads them.
struct Group {
    key: String,
    /// Whether the key or a value holds the text searched for.
    matched: bool,
    /// Whether the key falls on the page if it matches (the values are kept only then).
    on_page: bool,
    values: Vec<(Hash, String)>,
}

impl Found {
    /// Counts `group` when it matched, and keeps it when it falls on the page (only then are
    /// its values decoded: a search reads every value's text but decodes one page of them).
    fn add(
        &mut self,
        mut group: Group,
        decode: impl Fn(&str) -> Result<serde_json::Value, Error>,
    ) -> Result<(), Error> {
        if !group.matched {
            return Ok(());
        }
        if group.on_page {
            group.values.sort_unstable_by_key(|(hash, _)| *hash);
            let values = group
                .values
                .into_iter()
                .map(|(hash, text)| {
                    Ok(Value {
                        hash,
                        value: decode(&text)?,
                    })
                })
                .collect::<Result<_, Error>>()?;
            self.keys.push((group.key, values));
        }
        self.total += 1;
        Ok(())
    }
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
            concat!(
                "SELECT DISTINCT key FROM kv_versions v WHERE ",
                with_prefix!(),
                " AND deleted = 0",
                " AND NOT EXISTS (SELECT 1 FROM kv_superseded s WHERE s.hash = v.hash)",
                " ORDER BY key"
            ),
            [prefix],
            |r| r.get(0),
        )
    }

    /// One page of the keys that have a value and whose key or a current value's JSON text
    /// contains `query.text` (ignoring case; every key when it is empty), sorted, with their
    /// current values, and how many keys match in all: a front end shows a bounded page of a
    /// store with any number of keys. A text search cannot use the key index, so the view's
    /// current values from the first key with the prefix on are read once, in key order,
    /// without holding them all; with no text, reading stops once the page is full and the
    /// keys are counted by one query that reads no values.
    pub fn search(&self, query: &Search<'_>) -> Result<Found, Error> {
        let needle = query.text.to_lowercase();
        let matches = |text: &str| needle.is_empty() || text.to_lowercase().contains(&needle);
        // A value that is not JSON: the views file was edited by hand (see `json_column`).
        let decode = |text: &str| {
            self.views
                .db(serde_json::from_str(text).map_err(|e| damaged_column(2, e)))
        };
        let mut stmt = self.views.db(self.views.conn.prepare_cached(
            "SELECT key, hash, value FROM kv_versions v
             WHERE key >= ?1 AND deleted = 0
               AND NOT EXISTS (SELECT 1 FROM kv_superseded s WHERE s.hash = v.hash)
             ORDER BY key",
        ))?;
        let mut rows = self.views.db(stmt.query([query.prefix]))?;
        let mut found = Found {
            counted: true,
            ..Found::default()
        };
        let mut group: Option<Group> = None;
        while let Some(row) = self.views.db(rows.next())? {
            let key = self.views.db(text_column(row, 0))?;
            if !key.starts_with(query.prefix) {
                break;
            }
            if group.as_ref().is_none_or(|g| g.key != key) {
                if let Some(done) = group.take() {
                    found.add(done, decode)?;
                }
                if needle.is_empty() && found.keys.len() == query.limit {
                    if query.count {
                        found.total = self.count(query.prefix)?;
                    } else {
                        found.counted = false;
                    }
                    return Ok(found);
                }
                group = Some(Group {
                    key: key.to_owned(),
                    matched: matches(key),
                    on_page: found.total >= query.skip && found.keys.len() < query.limit,
                    values: Vec::new(),
                });
            }
            let text = self.views.db(text_column(row, 2))?;
            let current = group.as_mut().expect("a group was started above");
            current.matched = current.matched || matches(text);
            // Only a key that may land on the page keeps its values to show.
            if current.on_page {
                let hash = self.views.db(hash_column(row, 1))?;
                current.values.push((hash, text.to_owned()));
            }
        }
        if let Some(done) = group {
            found.add(done, decode)?;
        }
        Ok(found)
    }

    /// How many keys starting with `prefix` have a value.
    fn count(&self, prefix: &str) -> Result<usize, Error> {
        let counted: i64 = self.views.db(self
            .views
            .conn
            .prepare_cached(concat!(
                "SELECT COUNT(DISTINCT key) FROM kv_versions v WHERE ",
                with_prefix!(),
                " AND deleted = 0",
                " AND NOT EXISTS (SELECT 1 FROM kv_superseded s WHERE s.hash = v.hash)"
            ))
            .and_then(|mut stmt| stmt.query_row([prefix], |r| r.get(0))))?;
        Ok(usize::try_from(counted).unwrap_or_default())
    }

    /// Every head of every key, for comparing replicas: (key, hash, value).
    pub fn dump(&self) -> Result<Vec<(String, Hash, Option<String>)>, Error> {
        self.views.dump_heads(
            "SELECT key, hash, value FROM kv_versions v
             WHERE NOT EXISTS (SELECT 1 FROM kv_superseded s WHERE s.hash = v.hash) ORDER BY key, hash",
        )
    }
}

/// The key a kv draft puts, if its body has the shape the view reads.
pub(crate) fn draft_key(draft: &Draft) -> Option<String> {
    key_of(&crate::entry::body_to_json(&draft.body).ok()?)
}

/// The key of a kv body (`{"k": KEY, ...}`).
pub(crate) fn key_of(body: &serde_json::Value) -> Option<String> {
    Some(body.get("k")?.as_str()?.to_owned())
}

/// The hashes of `key`'s heads: what a new put of it links.
pub(crate) fn head_hashes(views: &Views, key: &str) -> Result<Vec<Hash>, Error> {
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

/// The text in column `index` of a row, borrowed; anything else (a views file edited by hand)
/// is a conversion error, which [`Error::is_damage`] recognizes.
fn text_column<'r>(row: &'r rusqlite::Row<'_>, index: usize) -> rusqlite::Result<&'r str> {
    row.get_ref(index)?
        .as_str()
        .map_err(|e| damaged_column(index, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replica::Replica;
    use serde_json::json;

    /// The keys a search finds on its page, and its total.
    fn keys(found: &Found) -> (Vec<&str>, usize) {
        let keys = found.keys.iter().map(|(k, _)| k.as_str()).collect();
        (keys, found.total)
    }

    #[test]
    fn a_prefix_lists_and_counts_exactly_the_keys_that_start_with_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut replica = Replica::open(dir.path()).expect("open");
        let keys = [
            "site",
            "site-1",
            "site-2",
            "site\u{10FFFF}",
            "site\u{10FFFF}z",
            "sitf",
            "sita",
            "sit",
            "",
        ];
        for key in keys {
            replica
                .put_kv(key, Some(&json!(1)), Vec::new())
                .expect("put");
        }
        replica
            .put_kv("site-gone", Some(&json!(1)), Vec::new())
            .expect("put");
        replica.delete_kv("site-gone").expect("delete");
        let views = replica.views().expect("views");
        let kv = views.kv();
        let expected = [
            "site",
            "site-1",
            "site-2",
            "site\u{10FFFF}",
            "site\u{10FFFF}z",
        ];
        assert_eq!(kv.list("site").expect("list"), expected);
        assert_eq!(kv.count("site").expect("count"), expected.len());
        let mut every: Vec<&str> = keys.to_vec();
        every.sort_unstable();
        assert_eq!(kv.list("").expect("list"), every);
        assert_eq!(kv.count("").expect("count"), keys.len());
        assert!(kv.list("zz").expect("list").is_empty());
    }

    #[test]
    fn a_search_finds_keys_by_key_or_value_text_ignoring_case_one_page_at_a_time() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut replica = Replica::open(dir.path()).expect("open");
        for (key, value) in [
            ("well-1", json!("Dry")),
            ("well-2", json!({"state": "wet"})),
            ("Pump", json!("dry since Año nuevo")),
            ("gone", json!("dry")),
        ] {
            replica.put_kv(key, Some(&value), Vec::new()).expect("put");
        }
        replica.delete_kv("gone").expect("delete");
        let mut search = |text, skip, limit| {
            let query = Search {
                prefix: "",
                text,
                skip,
                limit,
                count: true,
            };
            replica
                .views()
                .expect("views")
                .kv()
                .search(&query)
                .expect("search")
        };
        assert_eq!(
            keys(&search("", 0, 10)),
            (vec!["Pump", "well-1", "well-2"], 3)
        );
        assert_eq!(keys(&search("DRY", 0, 10)), (vec!["Pump", "well-1"], 2));
        assert_eq!(keys(&search("pump", 0, 10)), (vec!["Pump"], 1));
        assert_eq!(
            keys(&search("año", 0, 10)),
            (vec!["Pump"], 1),
            "not only ASCII"
        );
        assert_eq!(
            keys(&search("", 1, 1)),
            (vec!["well-1"], 3),
            "a page, and the total"
        );
        assert_eq!(keys(&search("nothing", 0, 10)), (vec![], 0));
        let prefixed = Search {
            prefix: "well-",
            text: "wet",
            skip: 0,
            limit: 10,
            count: true,
        };
        let found = replica.views().expect("views").kv().search(&prefixed);
        assert_eq!(keys(&found.expect("search")), (vec!["well-2"], 1));
        // A prefix ends the scan at its last key; without a count, a full page ends it.
        let first_page = Search {
            prefix: "well-",
            text: "",
            skip: 0,
            limit: 1,
            count: false,
        };
        let found = replica.views().expect("views").kv().search(&first_page);
        let found = found.expect("search");
        assert_eq!(keys(&found), (vec!["well-1"], 1));
        assert!(!found.counted, "the page was full before the last key");
        let counted = Search {
            count: true,
            ..first_page
        };
        let found = replica.views().expect("views").kv().search(&counted);
        let found = found.expect("search");
        assert_eq!(
            keys(&found),
            (vec!["well-1"], 2),
            "well-1 and well-2, not Pump"
        );
        assert!(found.counted);
    }

    #[test]
    fn a_search_shows_every_current_value_of_a_key_it_finds_by_one_of_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut replica = Replica::open(dir.path()).expect("open");
        let other = replica
            .put_kv("other", Some(&json!(0)), Vec::new())
            .expect("put");
        let first = replica
            .put_kv("k", Some(&json!("apple")), Vec::new())
            .expect("put");
        // Linking another key's entry instead of `first` leaves both values of `k` current,
        // as two devices' concurrent puts do.
        let second = replica
            .put_kv("k", Some(&json!("pear")), vec![other])
            .expect("put");
        let query = Search {
            prefix: "",
            text: "pear",
            skip: 0,
            limit: 10,
            count: true,
        };
        let found = replica
            .views()
            .expect("views")
            .kv()
            .search(&query)
            .expect("search");
        let mut hashes = vec![first, second];
        hashes.sort();
        let shown: Vec<Hash> = found.keys[0].1.iter().map(|v| v.hash).collect();
        assert_eq!((found.total, shown), (1, hashes));
    }
}
