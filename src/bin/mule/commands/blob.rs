//! `mule blob`: attachments stored as deduplicated chunks and carried in bundles.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use mule::report;

use mule::HashPrefix;

use super::Context;
use crate::output::{count, finish, spinner, write_json};

#[derive(Subcommand)]
/// `mule blob ...`.
pub enum BlobCommand {
    /// Store files and append an entry naming each; prints each file's hash
    Add {
        /// The files
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// What they are: photo, tile, audio, document...
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
        /// More about them, as a JSON object: '{"site": "well-7"}'
        #[arg(long, value_name = "JSON")]
        meta: Option<String>,
    },
    /// Write a blob to a file and check it byte for byte
    Get {
        /// The blob's hash (as `blob add` and `blob ls` print it), or its first 4 or more
        /// characters when no other blob's hash starts with them
        hash: HashPrefix,
        /// The file to write
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
    },
    /// List blobs, and the chunks of each that have not arrived yet
    Ls,
}

/// Runs a `mule blob` command.
pub fn run(command: BlobCommand, context: &mut Context<'_>) -> Result<ExitCode> {
    let mut replica = context.replica()?;
    let (json, out) = (context.json, &mut *context.out);
    match command {
        BlobCommand::Add { files, kind, meta } => {
            let meta = meta
                .map(|text| serde_json::from_str(&text).map_err(|_| mule::blob::Error::Meta))
                .transpose()?;
            for file in &files {
                let progress = spinner(&format!("adding {}", file.display()), json);
                let added = replica.add_blob(file, kind.as_deref(), meta.clone())?;
                finish(progress);
                if json {
                    let path = file.clone();
                    write_json(out, &report::BlobAdded { added, path })?;
                } else {
                    writeln!(
                        out,
                        "{}: {} ({}: {} + 1 chunk list; {} of the chunks new)",
                        file.display(),
                        added.hash,
                        count(added.size, "byte"),
                        count(added.chunks, "chunk"),
                        added.new_chunks
                    )?;
                }
            }
        }
        BlobCommand::Get { hash, output } => {
            let hash = mule::blob::resolve(replica.store(), &hash)?;
            let blob = mule::blob::get(replica.store(), &hash, &output)?;
            if json {
                let report = report::BlobWritten {
                    hash,
                    path: output,
                    size: blob.size,
                    name: blob.name,
                };
                write_json(out, &report)?;
            } else {
                writeln!(
                    out,
                    "wrote {} ({}, {}, checked)",
                    output.display(),
                    blob.name,
                    count(blob.size, "byte")
                )?;
            }
        }
        BlobCommand::Ls => {
            for listed in mule::blob::list(replica.store())? {
                if json {
                    let complete = listed.missing == 0;
                    write_json(out, &report::BlobListed { listed, complete })?;
                    continue;
                }
                let state = match listed.missing {
                    0 => "complete".to_owned(),
                    n => format!("{n} of {} missing", count(listed.blob.chunks, "chunk")),
                };
                writeln!(
                    out,
                    "{}  {:>12} bytes  {}  {state}",
                    listed.blob.hash, listed.blob.size, listed.blob.name
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
