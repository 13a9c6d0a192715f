//! The store itself: `id`, `append`, `log`, `status`, `reindex`, `fsck`.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use mule::report;

use mule::entry::body_from_json;
use mule::store::{self, Draft, now_ms};
use mule::views::Views;
use mule::{AuthorId, Hash};

use super::Context;
use crate::output::{a_or_an, count, finish, print, reporter, spinner, write_json};

/// `mule id`.
#[derive(Args)]
pub struct IdArgs {
    /// Accept the store's new location after a deliberate move or restore
    #[arg(long, conflicts_with = "new_key")]
    confirm_move: bool,
    /// Give this store a fresh device key (a new author id)
    #[arg(long)]
    new_key: bool,
}

/// `mule append`.
#[derive(Args)]
pub struct AppendArgs {
    /// Short text naming what the body is, such as kv, map, cal
    kind: String,
    /// The body as JSON, or `-` to read one body per line from stdin
    #[arg(value_name = "JSON")]
    body: String,
    /// Hash of an entry this one supersedes or merges (repeatable)
    #[arg(long = "link", value_name = "HASH")]
    links: Vec<Hash>,
}

/// `mule log`.
#[derive(Args)]
pub struct LogArgs {
    /// Only this author's entries
    #[arg(long, value_name = "ID")]
    author: Option<AuthorId>,
}

/// `mule fsck`.
#[derive(Args)]
pub struct FsckArgs {
    /// Rebuild what can be derived from the log (frontiers, indexes, views); never deletes
    /// an entry
    #[arg(long)]
    repair: bool,
}

/// `mule id`: prints the author id, after a new key or a confirmed move when asked.
pub fn id(args: IdArgs, context: &mut Context<'_>) -> Result<ExitCode> {
    let mut replica = context.replica()?;
    if args.new_key {
        replica.new_key()?;
    } else if args.confirm_move {
        replica.store().confirm_home()?;
    }
    let store = replica.store();
    let report = report::Id {
        author: store.author(),
        store: store.dir().to_path_buf(),
    };
    print(context, &report, &report.author.to_string())
}

/// `mule append`: one entry, or one per JSON line on stdin.
pub fn append(args: AppendArgs, context: &mut Context<'_>) -> Result<ExitCode> {
    let AppendArgs { kind, body, links } = args;
    if body == "-" {
        return append_lines(&kind, &links, context);
    }
    let mut replica = context.replica()?;
    let value: serde_json::Value =
        serde_json::from_str(&body).context("the body is not valid JSON")?;
    let draft = Draft {
        kind,
        body: body_from_json(&value)?,
        links,
        timestamp: now_ms(),
    };
    let hash = replica.append(vec![draft])?[0];
    let store = replica.store();
    let author = store.author();
    let seq = store.frontier()?.get(&author).copied().unwrap_or(0);
    let report = report::Appended { hash, author, seq };
    print(context, &report, &hash.to_string())
}

/// `mule append KIND -`: one entry per line of stdin, streamed into one transaction.
fn append_lines(kind: &str, links: &[Hash], context: &mut Context<'_>) -> Result<ExitCode> {
    let mut replica = context.replica()?;
    let mut progress = reporter(context, "appending");
    let appended = replica
        .append_lines_with_progress(kind, links, io::stdin().lock(), stdin_len(), &mut |p| {
            progress.update(p)
        })
        .map_err(|e| match e {
            mule::replica::Error::Line { .. } => anyhow::anyhow!("stdin {e}"),
            e => e.into(),
        })?;
    progress.finish();
    let Some(last) = appended.last else {
        bail!("stdin held no JSON lines, so nothing was appended");
    };
    let report = report::AppendedLines {
        appended: appended.entries,
        author: replica.store().author(),
        first_seq: appended.first_seq,
        last_seq: appended.last_seq(),
        last_hash: last,
    };
    let text = format!(
        "appended {} (seq {}..{}), last {last}",
        count(appended.entries, "entry"),
        appended.first_seq,
        appended.last_seq()
    );
    print(context, &report, &text)
}

/// The bytes left to read on stdin when it is a regular file (`< file`); else unknown.
#[cfg(unix)]
fn stdin_len() -> Option<u64> {
    use std::io::Seek;
    use std::os::fd::AsFd;
    let mut file = std::fs::File::from(io::stdin().as_fd().try_clone_to_owned().ok()?);
    let metadata = file.metadata().ok().filter(std::fs::Metadata::is_file)?;
    let at = file.stream_position().ok()?;
    Some(metadata.len().saturating_sub(at))
}

/// The bytes left to read on stdin: unknown here.
#[cfg(not(unix))]
fn stdin_len() -> Option<u64> {
    None
}

/// `mule log`: every entry, or one author's.
pub fn log(args: LogArgs, context: &mut Context<'_>) -> Result<ExitCode> {
    let replica = context.replica()?;
    let (json, out) = (context.json, &mut *context.out);
    let author = args.author.as_ref();
    replica
        .store()
        .for_each_segment::<anyhow::Error>(author, |segment, hashes| {
            for (hash, entry) in segment.to_entries(hashes) {
                let body = entry.body_json()?;
                if json {
                    let line = report::LogEntry {
                        hash,
                        author: entry.author,
                        seq: entry.seq,
                        prev: entry.prev,
                        links: entry.links,
                        timestamp: entry.timestamp,
                        kind: entry.kind,
                        body,
                    };
                    write_json(out, &line)?;
                } else {
                    writeln!(
                        out,
                        "{} {}:{} {} {}",
                        hash.short(),
                        entry.author.short(),
                        entry.seq,
                        entry.kind,
                        body
                    )?;
                }
            }
            Ok(())
        })?;
    Ok(ExitCode::SUCCESS)
}

/// Fork branches `mule status` prints per author; the rest are counted in one line.
const FORK_LINES_PER_AUTHOR: usize = 3;

/// `mule status`.
pub fn status(context: &mut Context<'_>) -> Result<ExitCode> {
    let replica = context.replica()?;
    let report = replica.status()?;
    let (json, out) = (context.json, &mut *context.out);
    if json {
        write_json(out, &report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let status = &report.store;
    writeln!(out, "store    {}", status.store.display())?;
    writeln!(out, "author   {}", status.author)?;
    if let Some(p) = &report.project {
        let role = p.role.as_str();
        writeln!(
            out,
            "project  \"{}\" ({}), this device is {}",
            p.name,
            p.id.short(),
            a_or_an(role)
        )?;
    }
    writeln!(
        out,
        "entries  {} from {}",
        status.entries,
        count(status.authors, "author")
    )?;
    writeln!(
        out,
        "waiting  {} (their predecessors have not arrived yet)",
        status.waiting
    )?;
    writeln!(out, "imported {}", count(status.bundles_imported, "bundle"))?;
    let me = status.author;
    section(
        out,
        "frontier (the highest seq held of each author):",
        status.frontier.iter().map(|(author, seq)| {
            let mine = if *author == me { " (this store)" } else { "" };
            format!("{author} up to seq {seq}{mine}")
        }),
    )?;
    section(
        out,
        "incomplete blobs:",
        report.incomplete_blobs.iter().map(|blob| {
            format!(
                "INCOMPLETE blob {} ({}): {} of {} {} not arrived",
                blob.hash.short(),
                blob.name,
                blob.missing,
                count(blob.chunks, "chunk"),
                if blob.missing == 1 { "has" } else { "have" }
            )
        }),
    )?;
    section(out, "forks:", fork_lines(&status.forks))?;
    section(
        out,
        "peers (what each acknowledged):",
        status.peers.iter().map(|peer| {
            format!(
                "peer {} acknowledged {}; lacks {} of ours",
                peer.peer,
                count(peer.frontier.values().sum::<u64>(), "entry"),
                peer.lacks
            )
        }),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// A blank line, `heading` and the `lines` indented under it; nothing when there are no lines.
fn section(
    out: &mut dyn Write,
    heading: &str,
    lines: impl IntoIterator<Item = String>,
) -> Result<()> {
    let mut lines = lines.into_iter().peekable();
    if lines.peek().is_some() {
        writeln!(out, "\n{heading}")?;
        for line in lines {
            writeln!(out, "  {line}")?;
        }
    }
    Ok(())
}

/// The forks, at most [`FORK_LINES_PER_AUTHOR`] lines per author and a line saying how many
/// more.
fn fork_lines(forks: &[store::Fork]) -> Vec<String> {
    let mut lines = Vec::new();
    for branches in forks.chunk_by(|a, b| a.author == b.author) {
        for fork in branches.iter().take(FORK_LINES_PER_AUTHOR) {
            lines.push(format!(
                "FORK: author {} signed two different entries at seq {} (ours {}, theirs {}); both are kept",
                fork.author,
                fork.seq,
                fork.ours.map_or("-".to_owned(), |h| h.short()),
                fork.theirs.short()
            ));
        }
        let more = branches.len().saturating_sub(FORK_LINES_PER_AUTHOR);
        if more > 0 {
            lines.push(format!(
                "... and {} of author {} (`mule status --json` lists them)",
                count(more as u64, "more branch"),
                branches[0].author
            ));
        }
    }
    lines
}

/// `mule reindex`: rebuilds the views from the log.
pub fn reindex(context: &mut Context<'_>) -> Result<ExitCode> {
    let replica = context.replica()?;
    let store = replica.store();
    let mut views = Views::open(store.dir())?;
    let mut progress = reporter(context, "rebuilding views");
    let started = std::time::Instant::now();
    let done = views.rebuild_with_progress(store, &mut |p| progress.update(p))?;
    progress.finish();
    let report = report::Reindexed {
        entries: done.entries,
        ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    let text = format!(
        "rebuilt views from {} in {} ms",
        count(report.entries, "entry"),
        report.ms
    );
    print(context, &report, &text)
}

/// `mule fsck`: checks the store, and repairs what derives from the log when asked.
pub fn fsck(args: FsckArgs, context: &mut Context<'_>) -> Result<ExitCode> {
    let mut replica = context.replica()?;
    let (json, out) = (context.json, &mut *context.out);
    let progress = spinner("checking the store", json);
    let mut report = mule::fsck::check(replica.store())?;
    let mut repaired = 0;
    if args.repair && report.problems.iter().any(|p| p.repairable) {
        repaired = replica.repair(&report)?;
        report = mule::fsck::check(replica.store())?;
    }
    finish(progress);
    let clean = report.problems.is_empty();
    if json {
        let report = report::Fsck {
            report,
            repaired: repaired as u64,
            clean,
        };
        write_json(out, &report)?;
    } else {
        for problem in &report.problems {
            let fix = if problem.repairable {
                " (mule fsck --repair rebuilds it)"
            } else {
                " (not derivable: it must come again from a bundle or another store)"
            };
            writeln!(out, "problem: {}: {}{fix}", problem.place, problem.what)?;
        }
        if repaired > 0 {
            writeln!(out, "repaired {}", count(repaired as u64, "problem"))?;
        }
        let underived = report.problems.iter().filter(|p| !p.repairable).count();
        if args.repair && underived > 0 {
            writeln!(
                out,
                "cannot repair {}: those rows derive from nothing else here; \
                 import a bundle of the author's entries from another store (mule export --all \
                 there), or restore store.sqlite from a backup",
                count(underived as u64, "problem")
            )?;
        }
        writeln!(
            out,
            "checked {} in {} and {}: {}",
            count(report.entries, "entry"),
            count(report.segments, "segment row"),
            count(report.objects, "blob object"),
            if clean {
                "no problems".to_owned()
            } else {
                count(report.problems.len() as u64, "problem")
            }
        )?;
    }
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
