//! The PostgreSQL mirror: every entry of a store, and what its views show, kept in step in a
//! PostgreSQL/PostGIS database for the tools an office works with (QGIS and GeoServer read
//! PostGIS, dashboards read PostgreSQL), incrementally (`mule mirror postgres://…`).
//!
//! The mirror reads the store and writes the database; it never writes the log (edits at HQ go
//! through mule). It copies the entries above the frontier it recorded in the database, in
//! batches: a batch's entries are committed through a second connection while its view
//! versions and what they change are written through the first, in one transaction with the
//! frontier the batch reaches, committed last. A mirror killed at any point continues after the
//! last batch whose frontier committed, and writes no row twice (entries already there are
//! skipped by their hash).
//!
//! **Several stores, one database.** Base tables hold entries and view versions keyed by entry
//! hash and only gain rows (`ON CONFLICT DO NOTHING`), so two offices mirroring into one database
//! add the union of their logs. Derived tables (`kv`, `map_features`, `cal_events`,
//! `cal_occurrences`) are recomputed from the base tables, the union, for what each batch
//! touched, with the same decoding, winner rule and geometry code as mule's own views
//! ([`crate::views`]). Batches of all mirrors take one advisory lock ([`LOCK`]) for their
//! transaction, so a batch's recomputation sees every batch committed before it; mirrors
//! therefore write one at a time, and each reads its store meanwhile.
//!
//! **Bulk loading.** Rows go to temporary staging tables by binary `COPY`, and from there into
//! the base tables with one `INSERT … SELECT … ON CONFLICT DO NOTHING` per table.
//!
//! `schema` creates and migrates the tables; `derive` recomputes the derived ones.
//! `docs/postgres.md` describes both for users.

mod batch;
mod derive;
mod schema;

use std::borrow::Cow;
use std::sync::mpsc::sync_channel;

use chrono::{DateTime, NaiveDate, Utc};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{IsNull, ToSql, Type, accepts, to_sql_checked};
use postgres::{Client, NoTls, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::blob;
use crate::id::{AuthorId, Hash};
use crate::progress::{Listener, Operation, Progress};
use crate::store::{self, Frontier, Store, entries_beyond};
use crate::views;
use batch::{BATCHES_AHEAD, Batch, Touched, read_batches};

pub use schema::VERSION as SCHEMA_VERSION;

/// The advisory lock every mirror's batch holds for its transaction (the text "mulemirr").
pub const LOCK: i64 = 0x6d75_6c65_6d69_7272;

/// Entries per batch (one transaction) unless [`Options::batch`] says otherwise.
pub const BATCH_ENTRIES: u64 = 10_000;

/// Why mirroring failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not a PostgreSQL connection string.
    #[error(
        "`{url}` is not a PostgreSQL URL ({reason}); write postgres://USER@HOST[:PORT]/DATABASE"
    )]
    Url {
        /// The URL as given (without its password).
        url: String,
        /// What the parser said.
        reason: String,
    },
    /// The URL asks for TLS, which this mule does not speak yet.
    #[error(
        "{target}: sslmode={mode} asks for TLS, which mule's mirror does not speak; reach the \
         server through a local socket or an SSH tunnel (ssh -L), with sslmode=disable or prefer"
    )]
    TlsRequired {
        /// Where the URL points.
        target: String,
        /// The sslmode asked for.
        mode: String,
    },
    /// The server could not be reached or refused the login.
    #[error(
        "cannot connect to {target}: {reason}; check that the server runs, the URL, and the \
         password (PGPASSWORD)"
    )]
    Connect {
        /// Where the URL points.
        target: String,
        /// What the client or server said.
        reason: String,
    },
    /// The database lacks PostGIS and the mirror's user may not create it.
    #[error(
        "the database has no PostGIS and mule could not add it ({reason}); install PostGIS on \
         the server and run `CREATE EXTENSION postgis;` in the database as a superuser"
    )]
    NoPostgis {
        /// What the server said.
        reason: String,
    },
    /// The database was set up by a newer mule.
    #[error(
        "the database's mule schema is version {found}, newer than this mule knows ({known}); \
         mirror with a newer mule"
    )]
    SchemaTooNew {
        /// The version found.
        found: i32,
        /// The newest this mule writes.
        known: i32,
    },
    /// The connection to the server was lost (the server stopped or restarted, the network
    /// dropped): what was not committed was rolled back by the server.
    #[error("lost the connection to PostgreSQL while {doing}: {reason}")]
    Lost {
        /// What the mirror was doing.
        doing: &'static str,
        /// What the client or server said.
        reason: String,
    },
    /// A statement failed.
    #[error("PostgreSQL failed while {doing}: {reason}")]
    Db {
        /// What the mirror was doing.
        doing: &'static str,
        /// What the server or client said.
        reason: String,
    },
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// Reading the project's membership failed.
    #[error(transparent)]
    Views(#[from] views::Error),
    /// Reading a blob's objects failed.
    #[error(transparent)]
    Blob(#[from] blob::Error),
    /// Reading the log stopped because writing to the database failed (that failure is
    /// reported instead).
    #[error("reading the log stopped")]
    Stopped,
}

impl Error {
    /// A function labelling a client error with what the mirror was `doing`.
    fn db(doing: &'static str) -> impl Fn(postgres::Error) -> Error {
        move |source| {
            let reason = server_message(&source);
            if connection_lost(&source) {
                Error::Lost { doing, reason }
            } else {
                Error::Db { doing, reason }
            }
        }
    }

    /// Whether trying again later may succeed: the server could not be reached or the
    /// connection was lost (`--watch` then connects again).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Connect { .. } | Error::Lost { .. })
    }
}

/// Whether a client error means the connection is gone: closed, failed at the socket, or ended
/// by the server (SQLSTATE class 08, connection exception, or 57, operator intervention such
/// as a shutdown).
fn connection_lost(error: &postgres::Error) -> bool {
    match error.as_db_error() {
        Some(db) => matches!(&db.code().code()[..2], "08" | "57"),
        None => {
            error.is_closed()
                || std::error::Error::source(error).is_some_and(|s| s.is::<std::io::Error>())
        }
    }
}

/// The most useful text of a client error: the server's message (and detail) when the server
/// sent one, else the client's own.
fn server_message(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        },
        None => error.to_string(),
    }
}

/// The window of dates whose calendar occurrences the mirror lists (`cal_occurrences`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first day (UTC midnight).
    pub from: NaiveDate,
    /// The day after the last one.
    pub until: NaiveDate,
}

impl Window {
    /// The default: from the first of January of last year to the end of the year after next,
    /// so it moves once a year (and every event's occurrences are listed again then).
    pub fn around(today: NaiveDate) -> Self {
        use chrono::Datelike;
        let year = |y| NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(today);
        Window {
            from: year(today.year() - 1),
            until: year(today.year() + 3),
        }
    }

    fn bounds(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let midnight = |d: NaiveDate| d.and_time(chrono::NaiveTime::MIN).and_utc();
        (midnight(self.from), midnight(self.until))
    }

    fn key(&self) -> String {
        format!("{}..{}", self.from, self.until)
    }
}

/// How to mirror.
#[derive(Debug, Clone)]
pub struct Options {
    /// Copy the bytes of blobs (in `mule.blob_bytes`), not only their metadata.
    pub blob_bytes: bool,
    /// The dates whose calendar occurrences are listed.
    pub window: Window,
    /// Entries per transaction.
    pub batch: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            blob_bytes: false,
            window: Window::around(Utc::now().date_naive()),
            batch: BATCH_ENTRIES,
        }
    }
}

/// What one pass of the mirror did (`mule mirror --json`; one line per pass with `--watch`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mirrored {
    /// The database, as `USER@HOST:PORT/DATABASE`.
    pub database: String,
    /// The name of this store's mirror in the database (the store's device key).
    pub mirror: String,
    /// Entries copied in this pass (those another store had copied already count too).
    pub entries: u64,
    /// Entries the database holds in all, from every store that mirrors into it.
    pub entries_in_database: u64,
    /// Batches committed.
    pub batches: u64,
    /// Blobs whose bytes were copied (with `--blob-bytes`).
    pub blob_bytes: u64,
    /// Whether the mirror started over from the store's first entry, because the store
    /// re-attached a forked chain or a project's membership changed since the last pass.
    pub restarted: bool,
    /// The frontier now recorded in the database for this store.
    pub frontier: Frontier,
}

/// A connection to the database, with the schema brought up to date.
pub struct Mirror {
    client: Client,
    /// For the second connection a pass opens to add entries.
    config: postgres::Config,
    target: String,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("target", &self.target)
            .finish()
    }
}

impl Mirror {
    /// Connects to the database `url` names (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`, or
    /// the `key=value` form; a password is better given in `PGPASSWORD`), makes sure PostGIS is
    /// there and brings the `mule` schema to [`SCHEMA_VERSION`].
    pub fn connect(url: &str) -> Result<Self, Error> {
        let mut config: postgres::Config =
            url.parse().map_err(|e: postgres::Error| Error::Url {
                url: without_password(url),
                reason: e.to_string(),
            })?;
        if config.get_password().is_none()
            && let Some(password) = std::env::var_os("PGPASSWORD")
        {
            config.password(password.as_encoded_bytes());
        }
        let target = describe(&config);
        if config.get_ssl_mode() == postgres::config::SslMode::Require {
            return Err(Error::TlsRequired {
                target,
                mode: "require".into(),
            });
        }
        config.application_name("mule mirror");
        let mut client = session(&config, &target)?;
        schema::migrate(&mut client)?;
        derive::create_staging(&mut client)?;
        Ok(Mirror {
            client,
            config,
            target,
        })
    }

    /// Where this mirror writes, as `USER@HOST:PORT/DATABASE`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Copies what the store holds and the database lacks, and what the views derive from it.
    pub fn run(&mut self, store: &Store, options: &Options) -> Result<Mirrored, Error> {
        self.run_with_progress(store, options, &mut |_| {})
    }

    /// [`Mirror::run`], telling `listener` after each batch.
    pub fn run_with_progress(
        &mut self,
        store: &Store,
        options: &Options,
        listener: &mut Listener<'_>,
    ) -> Result<Mirrored, Error> {
        let name = store.author().to_string();
        let limits = views::counted_limits(store)?;
        let chains = store.chain_changes()?;
        let restarted = self.begin(&name, chains, &views::limits_key(&limits))?;
        self.follow_window(options.window)?;
        let upto = store.frontier()?;
        let mut seen = self.frontier(&name)?;
        let mut progress =
            Progress::new(Operation::Mirror, Some(entries_beyond(&upto, &seen)), None);
        listener(&progress);
        let mut batches = 0;
        let reader = store.log_reader()?;
        let start = seen.clone();
        let mut loader = session(&self.config, &self.target)?;
        // One thread reads and decodes the log; another adds each batch's entries through a
        // connection of its own while this one adds the view versions and recomputes, so the
        // server works on both at once. A batch commits its frontier only once its entries are
        // committed: a mirror killed between the two finds those entries there on the next
        // run, and adds them again without doubling any.
        std::thread::scope(|scope| -> Result<(), Error> {
            let (send, receive) = sync_channel(BATCHES_AHEAD);
            let decoder = scope.spawn(move || {
                read_batches(&reader, &start, (&upto, &limits), options.batch, &send)
            });
            let (send_entries, entries) = sync_channel::<Vec<batch::EntryRow>>(1);
            let (send_done, done) = sync_channel(1);
            scope.spawn(move || {
                for rows in entries {
                    if send_done
                        .send(batch::load_entries(&mut loader, &rows))
                        .is_err()
                    {
                        break;
                    }
                }
            });
            for mut batch in receive {
                let rows = std::mem::take(&mut batch.entries);
                send_entries.send(rows).map_err(|_| Error::Stopped)?;
                let entries_loaded = || done.recv().unwrap_or(Err(Error::Stopped));
                self.commit(
                    &name,
                    &mut batch,
                    &mut seen,
                    options,
                    &mut progress,
                    entries_loaded,
                )?;
                batches += 1;
                listener(&progress);
            }
            drop(send_entries);
            decoder.join().expect("reading the log does not panic")
        })?;
        self.record_bundles_and_peers(store, &name)?;
        let blob_bytes = if options.blob_bytes {
            self.copy_blob_bytes(store)?
        } else {
            0
        };
        Ok(Mirrored {
            database: self.target.clone(),
            mirror: name,
            entries: progress.entries,
            entries_in_database: self.count_entries()?,
            batches,
            blob_bytes,
            restarted,
            frontier: seen,
        })
    }

    /// Records this store's mirror; when the store re-attached a chain or its project's
    /// membership changed since the last pass, forgets its frontier, so the pass starts over
    /// (rows keep their hashes, so nothing is doubled). Returns whether it did.
    fn begin(&mut self, name: &str, chains: u64, limits: &str) -> Result<bool, Error> {
        let mut tx = self.locked_transaction()?;
        let chains = i64::try_from(chains).unwrap_or(i64::MAX);
        let held = tx
            .query_opt(
                "SELECT chain_changes, limits FROM mule.mirrors WHERE name = $1",
                &[&name],
            )
            .map_err(Error::db("reading the mirror's record"))?
            .map(|row| (row.get::<_, i64>(0), row.get::<_, String>(1)));
        let restart = held
            .as_ref()
            .is_some_and(|(c, l)| *c != chains || l != limits);
        if restart {
            tx.execute("DELETE FROM mule.mirror_frontier WHERE name = $1", &[&name])
                .map_err(Error::db("resetting the mirror's frontier"))?;
        }
        tx.execute(
            "INSERT INTO mule.mirrors(name, chain_changes, limits, updated) VALUES ($1, $2, $3, now())
             ON CONFLICT (name) DO UPDATE SET chain_changes = $2, limits = $3, updated = now()",
            &[&name, &chains, &limits],
        )
        .map_err(Error::db("recording the mirror"))?;
        tx.commit().map_err(Error::db("recording the mirror"))?;
        Ok(restart)
    }

    /// Lists every event's occurrences again when the window differs from the one they were
    /// listed for.
    fn follow_window(&mut self, window: Window) -> Result<(), Error> {
        let mut tx = self.locked_transaction()?;
        let held: Option<String> = tx
            .query_opt(
                "SELECT value FROM mule.settings WHERE key = 'occurrence_window'",
                &[],
            )
            .map_err(Error::db("reading the occurrence window"))?
            .map(|row| row.get(0));
        if held.as_deref() == Some(window.key().as_str()) {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO mule.settings(key, value) VALUES ('occurrence_window', $1)
             ON CONFLICT (key) DO UPDATE SET value = $1",
            &[&window.key()],
        )
        .map_err(Error::db("recording the occurrence window"))?;
        derive::all_events(&mut tx, window)?;
        tx.commit()
            .map_err(Error::db("listing occurrences in the new window"))
    }

    /// The frontier recorded for this store's mirror.
    fn frontier(&mut self, name: &str) -> Result<Frontier, Error> {
        let rows = self
            .client
            .query(
                "SELECT author, seq FROM mule.mirror_frontier WHERE name = $1",
                &[&name],
            )
            .map_err(Error::db("reading the mirror's frontier"))?;
        let mut frontier = Frontier::new();
        for row in rows {
            let author: Vec<u8> = row.get(0);
            let seq: i64 = row.get(1);
            if let Some(author) = AuthorId::from_slice(&author) {
                frontier.insert(author, u64::try_from(seq).unwrap_or(0));
            }
        }
        Ok(frontier)
    }

    /// A transaction holding the mirrors' lock.
    fn locked_transaction(&mut self) -> Result<Transaction<'_>, Error> {
        let mut tx = self
            .client
            .transaction()
            .map_err(Error::db("starting a transaction"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
            .map_err(Error::db("waiting for other mirrors"))?;
        Ok(tx)
    }

    /// Writes `batch`'s view versions, what they change, and the frontier it reaches in one
    /// transaction, committed once `entries_loaded` says its entries are.
    fn commit(
        &mut self,
        name: &str,
        batch: &mut Batch,
        seen: &mut Frontier,
        options: &Options,
        progress: &mut Progress,
        entries_loaded: impl FnOnce() -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut tx = self.locked_transaction()?;
        let touched = batch.load(&mut tx)?;
        derive::touched(&mut tx, &touched, options.window)?;
        entries_loaded()?;
        for (author, seq) in &batch.frontier {
            let seq = i64::try_from(*seq).unwrap_or(i64::MAX);
            tx.execute(
                "INSERT INTO mule.mirror_frontier(name, author, seq) VALUES ($1, $2, $3)
                 ON CONFLICT (name, author) DO UPDATE SET seq = greatest(mirror_frontier.seq, $3)",
                &[&name, &author.as_bytes().as_slice(), &seq],
            )
            .map_err(Error::db("recording the frontier"))?;
        }
        tx.commit().map_err(Error::db("committing a batch"))?;
        progress.entries += batch.gone_through;
        progress.bytes += batch.bytes as u64;
        seen.extend(std::mem::take(&mut batch.frontier));
        Ok(())
    }

    /// Replaces this mirror's rows of `mule.bundles` and `mule.peers` with what the store knows.
    fn record_bundles_and_peers(&mut self, store: &Store, name: &str) -> Result<(), Error> {
        let bundles = store.seen_bundles()?;
        let peers = store.peers()?;
        let mut tx = self.locked_transaction()?;
        tx.execute("DELETE FROM mule.bundles WHERE mirror = $1", &[&name])
            .and_then(|_| tx.execute("DELETE FROM mule.peers WHERE mirror = $1", &[&name]))
            .map_err(Error::db("replacing the bundles and peers"))?;
        let mut rows = copy_in(
            &mut tx,
            "COPY mule.bundles(mirror, bundle, sender, imported, new_entries) FROM STDIN BINARY",
            &[
                Type::TEXT,
                Type::BYTEA,
                Type::BYTEA,
                Type::TIMESTAMPTZ,
                Type::INT8,
            ],
        )?;
        for bundle in &bundles {
            rows.write(&[
                &name,
                &bundle.id.as_bytes().as_slice(),
                &bundle.sender.as_bytes().as_slice(),
                &time_of(bundle.imported_ms),
                &i64::try_from(bundle.new).unwrap_or(i64::MAX),
            ])
            .map_err(Error::db("copying bundles"))?;
        }
        rows.finish().map_err(Error::db("copying bundles"))?;
        let mut rows = copy_in(
            &mut tx,
            "COPY mule.peers(mirror, peer, author, seq) FROM STDIN BINARY",
            &[Type::TEXT, Type::BYTEA, Type::BYTEA, Type::INT8],
        )?;
        for (peer, frontier) in &peers {
            for (author, seq) in frontier {
                rows.write(&[
                    &name,
                    &peer.as_bytes().as_slice(),
                    &author.as_bytes().as_slice(),
                    &i64::try_from(*seq).unwrap_or(i64::MAX),
                ])
                .map_err(Error::db("copying peers"))?;
            }
        }
        rows.finish().map_err(Error::db("copying peers"))?;
        tx.commit()
            .map_err(Error::db("committing bundles and peers"))
    }

    /// Copies the bytes of every blob the database lists without them and this store holds
    /// whole, one blob per transaction, chunk by chunk (never a whole file in memory). Returns
    /// how many blobs it copied.
    fn copy_blob_bytes(&mut self, store: &Store) -> Result<u64, Error> {
        let wanted = self
            .client
            .query(
                "SELECT DISTINCT ON (b.root) b.root, b.list FROM mule.blobs b
                 WHERE NOT EXISTS (SELECT 1 FROM mule.blob_bytes x WHERE x.root = b.root)
                 ORDER BY b.root",
                &[],
            )
            .map_err(Error::db("listing blobs without bytes"))?;
        let mut copied = 0;
        for row in wanted {
            let (Some(root), Some(list)) = (
                Hash::from_slice(row.get::<_, &[u8]>(0)),
                Hash::from_slice(row.get::<_, &[u8]>(1)),
            ) else {
                continue;
            };
            let list = blob::read_object(store, &list)?;
            let Some(chunks) = list.as_deref().and_then(blob::parse_list) else {
                continue;
            };
            if chunks
                .iter()
                .any(|(hash, _)| !store.holds_object(hash).unwrap_or(false))
            {
                continue;
            }
            let mut tx = self.locked_transaction()?;
            let mut rows = copy_in(
                &mut tx,
                "COPY mule.blob_bytes(root, part, bytes) FROM STDIN BINARY",
                &[Type::BYTEA, Type::INT4, Type::BYTEA],
            )?;
            for (part, (hash, _)) in chunks.iter().enumerate() {
                let bytes = blob::read_object(store, hash)?.unwrap_or_default();
                let part = i32::try_from(part).unwrap_or(i32::MAX);
                rows.write(&[&root.as_bytes().as_slice(), &part, &bytes])
                    .map_err(Error::db("copying blob bytes"))?;
            }
            rows.finish().map_err(Error::db("copying blob bytes"))?;
            // Another mirror may have copied the same blob meanwhile: the key says so.
            match tx.commit() {
                Ok(()) => copied += 1,
                Err(e) if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) => {}
                Err(e) => return Err(Error::db("committing blob bytes")(e)),
            }
        }
        Ok(copied)
    }

    /// How many entries the database holds.
    fn count_entries(&mut self) -> Result<u64, Error> {
        let row = self
            .client
            .query_one("SELECT count(*) FROM mule.entries", &[])
            .map_err(Error::db("counting entries"))?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }
}

/// A connection to the database `config` names (`target`, for messages), set up for the
/// mirror's statements.
fn session(config: &postgres::Config, target: &str) -> Result<Client, Error> {
    let mut client = config.connect(NoTls).map_err(|e| Error::Connect {
        target: target.to_owned(),
        reason: server_message(&e),
    })?;
    // Every query of a batch looks up the rows of its few thousand ids by index. Left to
    // itself, the planner judges by statistics that lag behind a bulk load (a table "empty" at
    // its last ANALYZE holds 200,000 rows a minute later) and picks hash joins over
    // whole-table scans, whose cost grows with the database: a heads query of 2,000 documents
    // took 8 ms by index and 90 ms that way. So this session only joins by nested loops over
    // indexes. It also compiles no query with LLVM (the planner's overestimates made it, 200 ms
    // of every batch) and starts no parallel workers.
    client
        .batch_execute(
            "SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_seqscan = off;
             SET jit = off; SET max_parallel_workers_per_gather = 0",
        )
        .map_err(Error::db("setting up the session"))?;
    Ok(client)
}

/// `USER@HOST:PORT/DATABASE` of a configuration, for messages (never the password).
fn describe(config: &postgres::Config) -> String {
    use postgres::config::Host;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        config.get_user().unwrap_or("?"),
        config
            .get_dbname()
            .unwrap_or_else(|| config.get_user().unwrap_or("?"))
    )
}

/// `url` with the password of a `postgres://user:password@…` URL replaced by `***`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// A binary `COPY … FROM STDIN` into the table `sql` names, with columns of `types`.
fn copy_in<'a>(
    tx: &'a mut Transaction<'_>,
    sql: &str,
    types: &[Type],
) -> Result<BinaryCopyInWriter<'a>, Error> {
    let sink = tx.copy_in(sql).map_err(Error::db("starting a COPY"))?;
    Ok(BinaryCopyInWriter::new(sink, types))
}

/// A time in milliseconds since the Unix epoch (an entry's clock) as a timestamp.
fn time_of(ms: u64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)
}

/// Text PostgreSQL accepts: it holds no NUL character, which mule's text may (it is replaced
/// by U+FFFD, the replacement character).
fn pg_text(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A JSON value `jsonb` accepts: strings and keys without NUL (see [`pg_text`]). Nearly every
/// value holds none and is passed on untouched.
fn pg_json(value: Value) -> Value {
    if holds_nul(&value) {
        without_nul(value)
    } else {
        value
    }
}

fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

fn without_nul(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(pg_text(&s).into_owned()),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nul).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (pg_text(&k).into_owned(), without_nul(v)))
                .collect(),
        ),
        other => other,
    }
}

/// JSON text for a `json` or `jsonb` column, sent as it is: the views' JSON text goes to the
/// server without being parsed and written again here (jsonb's binary form is a version byte,
/// 1, then the text).
#[derive(Debug)]
struct JsonText<'a>(Cow<'a, str>);

impl ToSql for JsonText<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        if *ty == Type::JSONB {
            out.extend_from_slice(&[1]);
        }
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    accepts!(JSON, JSONB);
    to_sql_checked!();
}

/// JSON text (as the views write it) for a `jsonb` column. serde_json writes a NUL character
/// as `\u0000`, which `jsonb` refuses: such text (and only such) is parsed and cleaned first.
fn pg_json_text(text: &str) -> JsonText<'_> {
    if text.contains("\\u0000") {
        let value = serde_json::from_str(text).unwrap_or(Value::Null);
        JsonText(Cow::Owned(without_nul(value).to_string()))
    } else {
        JsonText(Cow::Borrowed(text))
    }
}

/// A count or clock reading as PostgreSQL's `bigint` (values past its range are clamped).
fn sql_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_with_a_nul_is_cleaned_and_other_text_passes_untouched() {
        let clean = pg_json_text(r#"{"a":"x\u0000y","b\u0000":1}"#);
        assert!(matches!(clean.0, Cow::Owned(_)));
        let value: Value = serde_json::from_str(&clean.0).expect("JSON");
        assert_eq!(
            value,
            serde_json::json!({"a": "x\u{FFFD}y", "b\u{FFFD}": 1})
        );
        let plain = pg_json_text(r#"{"a":"x"}"#);
        assert!(matches!(plain.0, Cow::Borrowed(_)));
        assert_eq!(
            pg_json(serde_json::json!(["ok", {"k": "n\u{0}l"}])),
            serde_json::json!(["ok", {"k": "n\u{FFFD}l"}])
        );
    }

    #[test]
    fn a_password_in_the_url_is_never_shown() {
        assert_eq!(
            without_password("postgres://mule:s3cret@hq/field"),
            "postgres://mule:***@hq/field"
        );
        assert_eq!(
            without_password("postgres://mule@hq/field"),
            "postgres://mule@hq/field"
        );
        let config: postgres::Config = "postgres://mule:s3cret@hq:6543/field".parse().expect("URL");
        assert_eq!(describe(&config), "mule@hq:6543/field");
    }

    #[test]
    fn the_default_window_moves_once_a_year() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        let window = Window::around(day(2026, 12, 2));
        assert_eq!(
            (window.from, window.until),
            (day(2025, 1, 1), day(2029, 1, 1))
        );
        assert_eq!(Window::around(day(2026, 1, 1)), window);
    }
}
