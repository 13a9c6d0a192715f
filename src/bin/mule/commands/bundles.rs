//! Bundles as files: `export`, `import`, `verify`, `inspect`; and the words for what an import
//! did, which folder and live syncs print too.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use mule::report;

use mule::bundle::{self, Imported, Summary};
use mule::replica::{self, Selection, is_disk_full, is_read_only};
use mule::store::{self, Frontier, Store};
use mule::{AuthorId, interrupt};

use super::{Context, parse_size};
use crate::output::{
    DISK_FULL_HINT, READ_ONLY_HINT, bundle_hint, count, reporter, utc_time, write_json,
};
use crate::signals;

/// `mule export`.
#[derive(Args)]
pub struct ExportArgs {
    /// A file to write, or a folder to write `<id>.mule` into
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    output: PathBuf,
    #[command(flatten)]
    selection: SelectionArgs,
    /// Split into bundles of at most this size that each import on their own: 700M, 4G
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_size: Option<u64>,
    /// Carry entries only, no blob chunks
    #[arg(long)]
    no_blobs: bool,
}

/// What an export carries [default: what some known peer has not acknowledged].
#[derive(Args)]
#[group(multiple = false)]
struct SelectionArgs {
    /// Only what this peer (an author id) has not acknowledged
    #[arg(long = "for", value_name = "PEER")]
    peer: Option<AuthorId>,
    /// Only what lies above this frontier: `{"<id>": seq, ...}` or `<id>:<seq>,...`
    #[arg(long, value_name = "FRONTIER", value_parser = replica::parse_frontier)]
    since: Option<Frontier>,
    /// Everything
    #[arg(long)]
    all: bool,
}

impl SelectionArgs {
    fn selection(self) -> Selection {
        match (self.all, self.since, self.peer) {
            (true, _, _) => Selection::All,
            (false, Some(since), _) => Selection::Since(since),
            (false, None, Some(peer)) => Selection::For(peer),
            (false, None, None) => Selection::NotAcknowledged,
        }
    }
}

/// `mule import`.
#[derive(Args)]
pub struct ImportArgs {
    /// Bundle files or folders
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// `mule verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// Bundle files
    #[arg(required = true)]
    bundles: Vec<PathBuf>,
    #[command(flatten)]
    key: KeyArg,
}

/// The key that opens a project's sealed bundles.
#[derive(Args)]
pub struct KeyArg {
    /// The project's key file (`mule project key > FILE`), to open sealed bundles without the
    /// project's store [default: the key of the store --store names, if it is in a project]
    #[arg(long = "key", value_name = "FILE")]
    file: Option<PathBuf>,
}

impl KeyArg {
    /// The key from `--key FILE`, else the project key of the store, if any.
    fn load(&self, context: &Context<'_>) -> Result<Option<age::x25519::Identity>> {
        match &self.file {
            Some(file) => Ok(Some(mule::project::read_key_file(file)?)),
            None => context.project_key(),
        }
    }
}

/// `mule inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// A bundle file
    bundle: PathBuf,
    #[command(flatten)]
    key: KeyArg,
}

/// `mule export`: writes a bundle (or several, with --max-size) of what the selection picks.
pub fn export(args: ExportArgs, context: &mut Context<'_>) -> Result<ExitCode> {
    let replica = context.replica()?;
    let options = bundle::Options {
        blobs: !args.no_blobs,
        max_size: args.max_size,
    };
    let mut progress = reporter(context, "exporting");
    let selection = args.selection.selection();
    let written = replica.export_with_progress(&selection, &args.output, &options, &mut |p| {
        progress.update(p)
    })?;
    progress.finish();
    let (json, out) = (context.json, &mut *context.out);
    for written in &written {
        if json {
            write_json(out, &report::Exported::from(written))?;
            continue;
        }
        let what = match (written.manifest.entries, written.manifest.objects.len()) {
            (0, 0) => "no entries; it still tells the receiver what this store holds".to_owned(),
            (entries, 0) => count(entries, "entry"),
            (entries, objects) => {
                format!(
                    "{}, {}",
                    count(entries, "entry"),
                    blob_objects(objects as u64, "")
                )
            }
        };
        writeln!(
            out,
            "wrote {} ({what}, {})",
            written.path.display(),
            count(written.size, "byte")
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `mule import`: bundle files, and the bundles in folders.
pub fn import(args: ImportArgs, context: &mut Context<'_>) -> Result<ExitCode> {
    let mut replica = context.replica()?;
    let paths = &args.paths;
    let mut summary = Summary::default();
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            match bundle::bundle_files(path) {
                Ok(found) => files.extend(found),
                Err(e) => {
                    summary.bundles += 1;
                    summary.rejected += 1;
                    eprintln!("error: {e}");
                }
            }
        } else {
            files.push(path.clone());
        }
    }
    let message = format!("importing {}", count(files.len() as u64, "bundle"));
    let mut progress = reporter(context, &message);
    let imported = replica.import_with_progress(&files, &mut |p| progress.update(p))?;
    progress.finish();
    let (json, out) = (context.json, &mut *context.out);
    let results: Vec<_> = files.iter().zip(imported).collect();
    let interrupted = results
        .iter()
        .any(|(_, r)| r.as_ref().is_err_and(|e| interrupt::is_interrupted(e)));
    for (_, result) in &results {
        summary.add(result);
        match result {
            Err(e) if !interrupted => eprintln!("error: {e}"),
            _ => {}
        }
    }
    if interrupted {
        let applied = results
            .iter()
            .filter(|(_, r)| matches!(r, Ok(Imported::Applied { .. })))
            .count() as u64;
        let done = (applied > 0).then(|| format!("{} imported", count(applied, "bundle")));
        return Ok(signals::interrupted(done));
    }
    if json {
        let files = results
            .iter()
            .map(|(path, result)| report::ImportedFile::new(path.to_path_buf(), result))
            .collect();
        let report = report::Import {
            summary: summary.clone(),
            files,
        };
        write_json(out, &report)?;
    } else {
        if summary.fork_dropped > 0 {
            warn_fork_dropped(replica.store(), summary.fork_dropped)?;
        }
        for (path, result) in &results {
            match result {
                Ok(Imported::AlreadyImported { .. }) => {
                    writeln!(out, "{}: already imported", path.display())?
                }
                Ok(Imported::Applied {
                    outcome,
                    objects,
                    left_out,
                    impossible_claim,
                    ..
                }) => writeln!(
                    out,
                    "{}: {} new, {} duplicate, {} waiting{}{}{}{}",
                    path.display(),
                    outcome.new,
                    outcome.duplicate,
                    outcome.waiting,
                    forked_note(outcome.forked),
                    left_out_note(*left_out),
                    objects_note(*objects),
                    claim_note(*impossible_claim)
                )?,
                Ok(Imported::RefusedBefore { author, .. }) => writeln!(
                    out,
                    "{}: skipped, refused before (device {} is not a member)",
                    path.display(),
                    author.short()
                )?,
                Ok(Imported::Vanished) => writeln!(
                    out,
                    "{}: removed by someone else before it was read",
                    path.display()
                )?,
                Err(_) => writeln!(out, "{}: rejected", path.display())?,
            }
        }
        writeln!(out, "{}", summary_line(&summary))?;
    }
    if summary.rejected > 0 {
        let errors: Vec<&bundle::Error> = results
            .iter()
            .filter_map(|(_, r)| r.as_ref().err())
            .collect();
        let hints: Vec<&str> = if errors.iter().any(|e| is_disk_full(*e)) {
            vec![DISK_FULL_HINT]
        } else if errors.iter().any(|e| is_read_only(*e)) {
            vec![READ_ONLY_HINT]
        } else {
            let mut hints: Vec<&str> = errors.iter().filter_map(|e| bundle_hint(e)).collect();
            hints.sort_unstable();
            hints.dedup();
            hints
        };
        if !json {
            for hint in hints {
                eprintln!("hint: {hint}");
            }
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Says on stderr that `dropped` entries were not kept, naming the authors with too many
/// branches.
fn warn_fork_dropped(store: &Store, dropped: u64) -> Result<()> {
    let authors: Vec<String> = store
        .status()?
        .authors_at_fork_cap()
        .iter()
        .map(ToString::to_string)
        .collect();
    eprintln!(
        "warning: {} of author {} {} not kept: the author has more than {} conflicting branches (a broken or hostile device)",
        count(dropped, "entry"),
        authors.join(", "),
        if dropped == 1 { "was" } else { "were" },
        store::MAX_FORK_BRANCHES
    );
    Ok(())
}

fn forked_note(forked: u64) -> String {
    if forked == 0 {
        String::new()
    } else {
        format!(", {forked} kept as a fork (see `mule status`)")
    }
}

/// What a batch of imports did, in one line.
pub fn summary_line(summary: &Summary) -> String {
    let mut skipped = String::new();
    if summary.refused_before > 0 {
        skipped += &format!(
            ", {} skipped as refused before (devices not in the project)",
            summary.refused_before
        );
    }
    if summary.vanished > 0 {
        skipped += &format!(
            ", {} removed by someone else before they were read",
            summary.vanished
        );
    }
    format!(
        "{} read ({} already imported{skipped}): {} new, {} duplicate, {} waiting, {} rejected{}{}{}{}",
        count(summary.bundles, "bundle"),
        summary.already_imported,
        summary.new,
        summary.duplicate,
        summary.waiting,
        summary.rejected,
        forked_note(summary.forked),
        left_out_note(summary.left_out),
        objects_note(summary.objects),
        claims_note(summary.impossible_claims)
    )
}

fn left_out_note(left_out: u64) -> String {
    if left_out == 0 {
        String::new()
    } else {
        format!(", {left_out} left out (entries of removed devices after their removal)")
    }
}

fn claim_note(claim: Option<u64>) -> String {
    match claim {
        None => String::new(),
        Some(seq) => format!(
            "; its manifest claims this store's own entries up to seq {seq}, more than it wrote (ignored: forged or broken)"
        ),
    }
}

fn claims_note(claims: u64) -> String {
    if claims == 0 {
        String::new()
    } else {
        format!(
            "; {} claimed more of this store's own entries than it wrote (ignored)",
            count(claims, "bundle")
        )
    }
}

/// The new blob objects an import stored, after its entry counts (nothing when none).
fn objects_note(objects: u64) -> String {
    if objects == 0 {
        String::new()
    } else {
        format!(", {}", blob_objects(objects, "new "))
    }
}

/// `9 new blob objects (chunks, and one chunk list per blob)`: a bundle carries, and an import
/// counts, each blob's list of chunks as an object beside its chunks, so the count is not the
/// sum of the `chunks` that `blob add` printed. `which` ("new ", or "") goes before "blob".
fn blob_objects(objects: u64, which: &str) -> String {
    format!("{objects} {which}blob objects (chunks, and one chunk list per blob)")
}

/// `mule verify`: reads each bundle through, checking everything an import checks.
pub fn verify(args: VerifyArgs, context: &mut Context<'_>) -> Result<ExitCode> {
    let key = args.key.load(context)?;
    let key = key.as_ref();
    let (json, out) = (context.json, &mut *context.out);
    let bundles = &args.bundles;
    let mut failed = 0;
    for path in bundles {
        let mut segments = 0u64;
        let result = bundle::read_bundle_with(path, key, None, |_| {
            segments += 1;
            Ok(())
        });
        match &result {
            Ok(info) if json => {
                let report = report::VerifiedBundle {
                    path: path.clone(),
                    ok: true,
                    id: info.id,
                    entries: info.manifest.entries,
                    segments,
                    sender: info.manifest.sender,
                    encrypted: info.sealed,
                    signed: info.signed(),
                };
                write_json(out, &report::Verified::Ok(report))?;
            }
            Ok(info) => writeln!(
                out,
                "{}: ok ({}{} in {} from {}{}, id {})",
                path.display(),
                if info.sealed { "encrypted, " } else { "" },
                count(info.manifest.entries, "entry"),
                count(segments, "segment"),
                info.manifest.sender.short(),
                if info.signed() {
                    ", signed by it"
                } else {
                    ", unsigned (an older format)"
                },
                info.id
            )?,
            Err(e) => {
                failed += 1;
                if json {
                    let report = report::VerifyFailed {
                        path: path.clone(),
                        ok: false,
                        error: e.reason.to_string(),
                    };
                    write_json(out, &report::Verified::Failed(report))?;
                }
                eprintln!("error: {e}");
            }
        }
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `mule inspect`: a bundle's manifest.
pub fn inspect(args: InspectArgs, context: &mut Context<'_>) -> Result<ExitCode> {
    let key = args.key.load(context)?;
    let key = key.as_ref();
    let (json, out) = (context.json, &mut *context.out);
    let path = &args.bundle;
    let info = bundle::read_manifest_with(path, key)?;
    let manifest = &info.manifest;
    if json {
        let report = report::Inspected::new(info.id, info.size, info.sealed, manifest);
        write_json(out, &report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let sealed = if info.sealed { ", encrypted" } else { "" };
    let size = count(info.size, "byte");
    writeln!(out, "bundle   {} ({size}{sealed})", info.id)?;
    let signing = if manifest.format >= bundle::SIGNED_FORMAT {
        "signed by the sender; `mule verify` checks the signature"
    } else {
        "unsigned: its frontier is not taken as the sender's word"
    };
    writeln!(out, "format   {} ({signing})", manifest.format)?;
    writeln!(out, "sender   {}", manifest.sender)?;
    writeln!(out, "created  {}", utc_time(manifest.created))?;
    writeln!(
        out,
        "entries  {} in {}, {} uncompressed",
        manifest.entries,
        count(manifest.segments.len() as u64, "segment"),
        count(manifest.payload, "byte")
    )?;
    writeln!(out, "sender's frontier:")?;
    for (author, seq) in &manifest.frontier {
        writeln!(out, "  {author} up to seq {seq}")?;
    }
    writeln!(out, "segments:")?;
    for range in &manifest.segments {
        writeln!(out, "  {}", range.member_name())?;
    }
    Ok(ExitCode::SUCCESS)
}
