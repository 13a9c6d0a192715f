//! `mule kv`: the key/value view, a multi-value register per key.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::Subcommand;
use mule::report;

use mule::Hash;
use mule::replica::Replica;

use super::Context;
use crate::output::{print, write_json};

#[derive(Subcommand)]
/// `mule kv ...`.
pub enum KvCommand {
    /// Put a value; links the key's current values unless --link is given
    Put {
        /// The key
        key: String,
        /// The value, as JSON
        #[arg(value_name = "JSON")]
        value: String,
        /// An entry this put supersedes (repeatable; replaces the default links)
        #[arg(long = "link", value_name = "HASH")]
        links: Vec<Hash>,
    },
    /// Print the key's current values (several after concurrent puts), each with its hash
    Get {
        /// The key
        key: String,
    },
    /// Delete the key: a tombstone that supersedes its current values
    Del {
        /// The key
        key: String,
    },
    /// List keys that have a value
    List {
        /// Only keys starting with this
        #[arg(default_value = "")]
        prefix: String,
    },
}

/// Runs a `mule kv` command.
pub fn run(command: KvCommand, context: &mut Context<'_>) -> Result<ExitCode> {
    let mut replica = context.replica()?;
    match command {
        KvCommand::Put { key, value, links } => {
            let value: serde_json::Value =
                serde_json::from_str(&value).context("the value is not valid JSON")?;
            let hash = replica.put_kv(&key, Some(&value), links)?;
            written(context, &replica, hash)
        }
        KvCommand::Del { key } => {
            let hash = replica.delete_kv(&key)?;
            written(context, &replica, hash)
        }
        KvCommand::Get { key } => {
            let (json, out) = (context.json, &mut *context.out);
            for value in replica.read_views(|views| views.kv().require(&key))? {
                if json {
                    write_json(out, &value)?;
                } else {
                    writeln!(out, "{} {}", value.hash, value.value)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        KvCommand::List { prefix } => {
            let (json, out) = (context.json, &mut *context.out);
            for key in replica.read_views(|views| views.kv().list(&prefix))? {
                if json {
                    write_json(out, &report::Key { key })?;
                } else {
                    writeln!(out, "{key}")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints the hash of the entry a put or delete wrote.
fn written(context: &mut Context<'_>, replica: &Replica, hash: Hash) -> Result<ExitCode> {
    let report = report::Written {
        hash,
        views_rebuilt: replica.views_rebuilt().map(str::to_owned),
    };
    print(context, &report, &hash.to_string())
}
