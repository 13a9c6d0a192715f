//! mule: sync data where the network is poor or absent.
//!
//! Every change is an [`Entry`] in an append-only log: entries are content-addressed (BLAKE3),
//! chained per author (`prev`), linked across authors (`links`), and signed by the device that
//! wrote them. Replicas converge by exchanging the entries the other lacks, carried in bundles.
//!
//! A tour of the modules, from the bottom up:
//! - [`id`]: the [`Hash`] and [`AuthorId`] newtypes.
//! - [`entry`]: an entry's canonical encoding, its body and the signature message.
//! - [`segment`]: a run of one author's entries in the compact form bundles carry and the store
//!   keeps; verification rebuilds every canonical encoding and checks the signatures.
//! - [`keys`]: the device key and the record of where it lives.
//! - [`store`]: the log store (SQLite), frontiers, waiting entries, forks, peers.
//! - [`bundle`]: the bundle file format: writing, reading with every limit enforced, importing.
//! - [`folder`]: `mule sync`, a folder used as a mailbox of bundles.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bundle;
pub mod entry;
pub mod folder;
pub mod id;
pub mod keys;
pub mod segment;
pub mod store;

pub use entry::Entry;
pub use id::{AuthorId, Hash};
pub use store::{Frontier, Store};
