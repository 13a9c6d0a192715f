//! mule: sync data where the network is poor or absent.
//!
//! Every change is an [`Entry`] in an append-only log: entries are content-addressed (BLAKE3),
//! chained per author (`prev`), linked across authors (`links`), and signed by the device that
//! wrote them. Replicas converge by exchanging the entries the other lacks, carried in bundles.
//!
//! A tour of the modules, from the bottom up:
//! - [`fsutil`]: atomic file writes, durable removal, stale temporary files; [`fault`]: the
//!   points where tests make those writes (and the store) fail; [`interrupt`]: Ctrl-C, which
//!   stops a write at its next safe point.
//! - [`id`]: the [`Hash`](struct@Hash) and [`AuthorId`] newtypes.
//! - [`entry`]: an entry's canonical encoding, its body and the signature message.
//! - [`segment`]: a run of one author's entries in the compact form bundles carry and the store
//!   keeps; verification rebuilds every canonical encoding and checks the signatures.
//! - [`keys`]: the device key and the record of where it lives.
//! - [`store`]: the log store (SQLite), frontiers, waiting entries, forks, peers.
//! - [`blob`]: attachments as content-defined chunks (objects) in pack files.
//! - [`bundle`]: the bundle file format: writing, reading with every limit enforced, importing.
//! - [`folder`]: `mule sync`, a folder used as a mailbox of bundles.
//! - [`live`]: live replication over any duplex byte stream (pipes, ssh, TCP, WebSocket), one
//!   bundle each way.
//! - [`project`]: projects: invites, membership as signed log entries, and the project key that
//!   seals bundles ([`bundle::sealed`]).
//! - [`replica`]: a store and its views behind the one API every front end writes through;
//!   every write catches the views up before it returns ("synced means visible").
//! - [`report`]: the serde types of every `--json` line (docs/json.md), for every front end.
//! - [`progress`]: where a long operation (append, import, export, reindex, map import, folder
//!   sync) is, told to a listener as it runs.
//! - [`ui`]: `mule ui`, a local web server (secret token, loopback) serving the app and a JSON
//!   API over a replica.
//! - [`fsck`]: checks every hash, signature, chain link and view checkpoint; repairs what
//!   derives from the log.
//! - [`views`]: tables derived from the log (`views.sqlite`): the view engine, [`views::kv`],
//!   [`views::map`] and [`views::cal`].
//! - [`calendar`]: events written in everyday words ("every other friday at 4pm"), their
//!   occurrences, and iCalendar (RFC 5545) export.
//! - [`qr`]: a bundle as an animated, fountain-coded stream of QR codes, and read back from
//!   screenshots, photos and videos.
//!
//! Two stores exchanging one entry through a bundle file:
//!
//! ```
//! use mule::bundle::{self, Coverage};
//! use mule::entry::body_from_json;
//! use mule::store::{Draft, Frontier, Store, now_ms};
//!
//! let dir = tempfile::tempdir()?;
//! let mut laptop = Store::open(&dir.path().join("laptop"))?;
//! let hashes = laptop.append(vec![Draft {
//!     kind: "kv".into(),
//!     body: body_from_json(&serde_json::json!({"k": "well-7", "v": "dry"}))?,
//!     links: vec![],
//!     timestamp: now_ms(),
//! }])?;
//!
//! let file = dir.path().join("to-ship.mule");
//! bundle::write_bundle(&laptop, &Frontier::new(), &Coverage::default(), &file, false)?;
//!
//! let mut ship = Store::open(&dir.path().join("ship"))?;
//! bundle::import_bundle(&mut ship, &file)?;
//! assert_eq!(ship.frontier()?[&laptop.author()], 1);
//! let mut seen = Vec::new();
//! ship.for_each_segment::<mule::store::Error>(None, |_, h| Ok(seen.extend_from_slice(h)))?;
//! assert_eq!(seen, hashes);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod basemap;
pub mod blob;
pub mod bucket;
pub mod bundle;
pub mod calendar;
pub mod entry;
pub mod fault;
pub mod folder;
pub mod fsck;
pub mod fsutil;
pub mod id;
pub mod interrupt;
pub mod keys;
pub mod live;
pub mod mirror;
pub mod progress;
pub mod project;
pub mod qr;
pub mod replica;
pub mod report;
pub mod segment;
pub mod store;
pub mod ui;
pub mod views;

pub use entry::Entry;
pub use id::{AuthorId, Hash, HashPrefix};
pub use store::{Frontier, Store};
