//! The `mule` command: parses arguments, calls the library, prints. Each group of commands
//! lives in a file of its own under `commands/`; printing (text or `--json`, progress on
//! stderr) is in `output.rs`; this file holds the command line, the dispatch and exit codes.

mod commands;
mod output;
mod signals;

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use commands::{
    Context, Global, blob, bundles, cal, entries, kv, map, mirror, project, qr, sync, ui,
};

/// Sync data where the network is poor or absent: a signed append-only log per device,
/// carried between stores in bundles (USB sticks, shared folders).
#[derive(Parser)]
#[command(name = "mule", version, about)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print this store's author id (creates the store on first use)
    Id(entries::IdArgs),
    /// Append an entry and print its hash; with `-`, one entry per JSON line on stdin
    Append(entries::AppendArgs),
    /// List entries
    Log(entries::LogArgs),
    /// Entry and author counts, frontier, waiting entries, forks, known peers
    Status,
    /// Write a bundle
    Export(bundles::ExportArgs),
    /// Attachments (photos, map tiles, PDFs): stored as deduplicated chunks, carried in bundles
    #[command(subcommand)]
    Blob(blob::BlobCommand),
    /// Import bundle files, or folders of them
    Import(bundles::ImportArgs),
    /// Check bundles without importing them (needs no store; a sealed one needs --key)
    Verify(bundles::VerifyArgs),
    /// Show a bundle's manifest
    Inspect(bundles::InspectArgs),
    /// Key/value view: a multi-value register per key
    #[command(subcommand)]
    Kv(kv::KvCommand),
    /// Map view: OpenStreetMap-shaped nodes, ways and relations with a spatial index
    #[command(subcommand)]
    Map(map::MapCommand),
    /// QR transport: play a bundle as an animated stream of QR codes, read it back from captures
    #[command(subcommand)]
    Qr(qr::QrCommand),
    /// Calendar view: events written the way people write schedules
    #[command(subcommand)]
    Cal(cal::CalCommand),
    /// Rebuild every view from the log (deleting views.sqlite does the same)
    Reindex,
    /// Check every hash, signature, chain link and view checkpoint; say what is wrong
    Fsck(entries::FsckArgs),
    /// Projects: devices that admit each other, and bundles sealed to the project's key
    #[command(subcommand)]
    Project(project::ProjectCommand),
    /// Import the new bundles in a folder, then write one with what the folder lacks
    ///
    /// TARGET is a folder (a USB stick, a shared directory), a bucket used as one
    /// (s3://BUCKET/PREFIX, gs://, az://, https://; credentials from the environment, such as
    /// AWS_ACCESS_KEY_ID), `-` for the live protocol on stdin/stdout, ssh://[USER@]HOST[:PORT]/PATH (runs `mule sync -` there through ssh),
    /// tcp://HOST:PORT or ws://HOST:PORT of a `mule serve`; or `--exec CMD` to sync with the
    /// `mule sync -` a command runs, or `--lan` with every store announced on the local network.
    Sync(sync::SyncArgs),
    /// Accept live syncs from other stores (`mule sync tcp://HOST:PORT` or `ws://HOST:PORT`)
    Serve(sync::ServeArgs),
    /// The app in the browser: serve this store on a local web page (prints its URL with a secret)
    Ui(ui::UiArgs),
    /// Keep a PostgreSQL/PostGIS database in step with the store: the log, kv, map features,
    /// calendar, blobs (docs/postgres.md describes the tables)
    Mirror(mirror::MirrorArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.global.json;
    let protocol_on_stdout = matches!(&cli.command, Command::Sync(args) if args.is_stdio());
    if matches!(
        cli.command,
        Command::Import(_) | Command::Export(_) | Command::Append(_)
    ) {
        signals::catch();
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) if mule::interrupt::is_interrupted(e.as_ref()) => signals::interrupted(None),
        Err(e) => output::failed(&e, json, protocol_on_stdout),
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let mut out = io::BufWriter::new(output::Stdout::new(io::stdout().lock()));
    let mut context = Context {
        global: &cli.global,
        json: cli.global.json,
        out: &mut out,
    };
    let code = dispatch(cli.command, &mut context)?;
    out.flush()?;
    Ok(code)
}

fn dispatch(command: Command, context: &mut Context<'_>) -> Result<ExitCode> {
    match command {
        Command::Id(args) => entries::id(args, context),
        Command::Append(args) => entries::append(args, context),
        Command::Log(args) => entries::log(args, context),
        Command::Status => entries::status(context),
        Command::Reindex => entries::reindex(context),
        Command::Fsck(args) => entries::fsck(args, context),
        Command::Export(args) => bundles::export(args, context),
        Command::Import(args) => bundles::import(args, context),
        Command::Verify(args) => bundles::verify(args, context),
        Command::Inspect(args) => bundles::inspect(args, context),
        Command::Blob(command) => blob::run(command, context),
        Command::Kv(command) => kv::run(command, context),
        Command::Map(command) => map::run(command, context),
        Command::Cal(command) => cal::run(command, context),
        Command::Qr(command) => qr::run(command, context),
        Command::Project(command) => project::run(command, context),
        Command::Sync(args) => sync::sync(args, context),
        Command::Serve(args) => sync::serve(args, context),
        Command::Ui(args) => ui::ui(args, context),
        Command::Mirror(args) => mirror::mirror(args, context),
    }
}
