//! `mule mirror`: keeps a PostgreSQL/PostGIS database in step with the store.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};
use chrono::{NaiveDate, Utc};
use clap::Args;

use mule::mirror::{BATCH_ENTRIES, Mirror, Mirrored, Options, Window};
use mule::store::{self, Store};

use super::Context;
use crate::output::{count, print, reporter};

/// How often `--watch` looks for changes another process made to the store (one cheap read of
/// SQLite's `data_version`), as `mule ui` does.
const WATCH_INTERVAL: Duration = mule::ui::WATCH_INTERVAL;

/// `mule mirror`.
#[derive(Args)]
pub struct MirrorArgs {
    /// The database: postgres://USER@HOST[:PORT]/DATABASE (give the password in PGPASSWORD)
    #[arg(value_name = "URL")]
    url: String,
    /// Keep running: mirror again after every write, import and sync of the store (Ctrl-C
    /// stops; every committed batch stays)
    #[arg(long)]
    watch: bool,
    /// Copy the bytes of blobs too (table mule.blob_bytes), not only their metadata
    #[arg(long)]
    blob_bytes: bool,
    /// First day whose calendar occurrences are listed [default: 1 January of last year]
    #[arg(long, value_name = "YYYY-MM-DD")]
    occurrences_from: Option<NaiveDate>,
    /// Day after the last one whose occurrences are listed [default: 1 January in 3 years]
    #[arg(long, value_name = "YYYY-MM-DD")]
    occurrences_until: Option<NaiveDate>,
    /// Entries per transaction
    #[arg(long, default_value_t = BATCH_ENTRIES, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    batch: u64,
}

/// `mule mirror URL`.
pub fn mirror(args: MirrorArgs, context: &mut Context<'_>) -> Result<ExitCode> {
    let dir = context.store_dir()?;
    if !dir.join(store::DB_FILE).is_file() {
        bail!(
            "{}: no mule store here; pass --store DIR (or MULE_STORE) naming the store to mirror",
            dir.display()
        );
    }
    let options = options(&args)?;
    let store = Store::open(&dir)?;
    let mut mirror = Some(Mirror::connect(&args.url)?);
    let mut seen = store.data_version()?;
    let mut retry = Retry::default();
    loop {
        let connected = match &mut mirror {
            Some(connected) => connected,
            None => match Mirror::connect(&args.url) {
                Ok(connected) => {
                    eprintln!("note: connected again to {}", connected.target());
                    retry = Retry::default();
                    mirror.insert(connected)
                }
                Err(e) if e.is_transient() => {
                    retry.wait_after(&e);
                    continue;
                }
                Err(e) => return Err(e.into()),
            },
        };
        let mut progress = reporter(context, "mirroring");
        let pass = connected.run_with_progress(&store, &options, &mut |p| progress.update(p));
        progress.finish();
        match pass {
            Ok(done) => {
                print(context, &done, &summary(&done))?;
                context.out.flush()?;
            }
            // Under --watch a server that went away is waited for, as a sync waits for a link;
            // the next pass copies what was not committed.
            Err(e) if args.watch && e.is_transient() => {
                mirror = None;
                retry.wait_after(&e);
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        if !args.watch {
            return Ok(ExitCode::SUCCESS);
        }
        // Writes through other connections (every other mule command) change data_version.
        loop {
            std::thread::sleep(WATCH_INTERVAL);
            let now = store.data_version()?;
            if now != seen {
                seen = now;
                break;
            }
        }
    }
}

/// How long `--watch` waits before connecting again: 1 s, doubling up to a minute.
#[derive(Default)]
struct Retry {
    failures: u32,
}

impl Retry {
    /// Says what failed and waits before the next try.
    fn wait_after(&mut self, error: &mule::mirror::Error) {
        let wait = Duration::from_secs(1 << self.failures.min(6)).min(Duration::from_secs(60));
        self.failures += 1;
        eprintln!("warning: {error}; connecting again in {} s", wait.as_secs());
        std::thread::sleep(wait);
    }
}

/// The options the arguments name.
fn options(args: &MirrorArgs) -> Result<Options> {
    let default = Window::around(Utc::now().date_naive());
    let window = Window {
        from: args.occurrences_from.unwrap_or(default.from),
        until: args.occurrences_until.unwrap_or(default.until),
    };
    if window.until <= window.from {
        bail!(
            "--occurrences-until {} is not after --occurrences-from {}",
            window.until,
            window.from
        );
    }
    if (window.until - window.from).num_days() > 366 * 20 {
        bail!("the occurrence window is longer than 20 years; give a shorter one");
    }
    Ok(Options {
        blob_bytes: args.blob_bytes,
        window,
        batch: args.batch,
    })
}

/// One line saying what a pass did.
fn summary(done: &Mirrored) -> String {
    let restarted = if done.restarted {
        " (started over: the store re-attached a forked chain or its project changed)"
    } else {
        ""
    };
    let blobs = if done.blob_bytes > 0 {
        format!(", bytes of {}", count(done.blob_bytes, "blob"))
    } else {
        String::new()
    };
    format!(
        "mirrored {} into {}{blobs}; it holds {} from every store{restarted}",
        count(done.entries, "new entry"),
        done.database,
        count(done.entries_in_database, "entry"),
    )
}
