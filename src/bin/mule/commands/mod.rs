//! The commands, one file per group: each holds its clap arguments and the functions that run
//! them (parse, call the library, print). What every command shares is here: the global
//! options, the store they name, and the size parser.

pub mod blob;
pub mod bundles;
pub mod cal;
pub mod entries;
pub mod kv;
pub mod map;
pub mod mirror;
pub mod project;
pub mod qr;
pub mod sync;
pub mod ui;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, anyhow};
use clap::Args;

use mule::replica::Replica;
use mule::store::{self, Store};

/// The environment variable that names the store when `--store` does not.
const STORE_ENV: &str = "MULE_STORE";

/// Options every command takes.
#[derive(Args)]
pub struct Global {
    /// Store directory [env: MULE_STORE] [default: the per-user data directory's `mule` folder]
    // MULE_STORE is read in `store_dir`, not by clap: clap puts an argument its variable gave in
    // every usage line, where `--store <DIR>` would read as required.
    #[arg(long, global = true, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Print JSON (one object, or JSON Lines for lists) for scripts
    #[arg(long, global = true)]
    pub json: bool,
    /// Report the progress of long operations as JSON lines on stderr, for other front ends
    #[arg(long, global = true)]
    pub progress_json: bool,
}

/// What a command runs with: the global options and standard output.
pub struct Context<'a> {
    /// The global options.
    pub global: &'a Global,
    /// Whether to print JSON instead of text.
    pub json: bool,
    /// Standard output (buffered).
    pub out: &'a mut dyn Write,
}

impl Context<'_> {
    /// The store directory: `--store`, else `MULE_STORE`, else the per-user default.
    pub fn store_dir(&self) -> Result<PathBuf> {
        let named = self.global.store.clone().or_else(|| {
            std::env::var_os(STORE_ENV)
                .filter(|dir| !dir.is_empty())
                .map(PathBuf::from)
        });
        match named {
            Some(dir) => Ok(dir),
            None => store::default_dir().ok_or_else(|| {
                anyhow!("no per-user data directory is known here; pass --store DIR")
            }),
        }
    }

    /// Opens (or creates) the store the options name; what it does on its own (a damaged views
    /// file rebuilt) is noted on stderr.
    pub fn replica(&self) -> Result<Replica> {
        let mut replica = Replica::open(&self.store_dir()?)?;
        replica.on_note(|note| eprintln!("note: {note}"));
        Ok(replica)
    }

    /// The project key of the store `--store` names (or the default one), for commands that
    /// need no store but may meet sealed bundles; none when there is no such store or project.
    pub fn project_key(&self) -> Result<Option<age::x25519::Identity>> {
        let dir = self.store_dir()?;
        if !dir.join(store::DB_FILE).is_file() {
            return Ok(None);
        }
        let store = Store::open(&dir)?;
        Ok(mule::project::load(&store)?.map(|p| p.identity().clone()))
    }
}

/// `700M`, `4G`, `512K` or a number of bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let upper = text.trim().to_ascii_uppercase();
    let digits = upper.trim_end_matches(['B', 'I']);
    let (number, unit) = digits.split_at(digits.trim_end_matches(['K', 'M', 'G', 'T']).len());
    let factor: u64 = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => 0,
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .filter(|n| *n >= 1 << 20)
        .ok_or_else(|| format!("`{text}`: write a size of at least 1M, such as 700M or 4G"))
}

/// The report of writing document or event `id` in entry `hash`, with the note of the views
/// rebuild the write needed, if any.
fn doc_written(replica: &Replica, id: &str, hash: mule::Hash) -> mule::report::DocWritten {
    mule::report::DocWritten {
        id: id.to_owned(),
        hash,
        views_rebuilt: replica.views_rebuilt().map(str::to_owned),
    }
}
