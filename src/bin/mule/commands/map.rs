//! `mule map`: OpenStreetMap-shaped documents with a spatial index.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Subcommand;
use serde_json::json;

use mule::replica::Replica;
use mule::report;
use mule::views::map;

use super::{Context, doc_written};
use crate::output::{count, print, reporter};

#[derive(Subcommand)]
/// `mule map ...`.
pub enum MapCommand {
    /// Create a document; without an `id` one is generated. Prints the id
    Create {
        /// The document, e.g. '{"id":"A","lat":64.5,"lon":-147.6}'
        #[arg(value_name = "JSON")]
        doc: String,
    },
    /// Write a new version of a document (links its current versions)
    Put {
        /// The document id
        id: String,
        /// The document
        #[arg(value_name = "JSON")]
        doc: String,
    },
    /// Print a document (the version every replica shows)
    Get {
        /// The document id
        id: String,
        /// Print every current version instead of the winner
        #[arg(long)]
        forks: bool,
    },
    /// Delete a document
    Del {
        /// The document id
        id: String,
    },
    /// Nodes inside a box, the ways that use them, those ways' other nodes, the relations
    /// holding any of them, whole
    Query {
        /// Latitude range `S,N`
        #[arg(value_name = "S,N", allow_hyphen_values = true)]
        lat: String,
        /// Longitude range `W,E` (W > E crosses the antimeridian)
        #[arg(value_name = "W,E", allow_hyphen_values = true)]
        lon: String,
        /// Print one GeoJSON FeatureCollection
        #[arg(long)]
        geojson: bool,
        /// Show every current version of forked documents
        #[arg(long)]
        forks: bool,
    },
    /// Import the features of a GeoJSON file as map documents (again: only what changed)
    Import {
        /// A .geojson file
        file: PathBuf,
    },
    /// The map's background: a PMTiles archive carried as a blob
    Basemap {
        #[command(subcommand)]
        command: BasemapCommand,
    },
}

#[derive(Subcommand)]
/// `mule map basemap ...`.
pub enum BasemapCommand {
    /// Store a PMTiles v3 archive and make it the map's basemap (a new version sends only the
    /// chunks that changed)
    Add {
        /// The .pmtiles file
        file: PathBuf,
    },
    /// Print the basemap every replica shows, if one is set
    Ls,
    /// Unset the basemap (its blob stays in the store)
    Rm,
}

/// Runs a `mule map` command.
pub fn run(command: MapCommand, context: &mut Context<'_>) -> Result<ExitCode> {
    let mut replica = context.replica()?;
    let parse_doc = |text: &str| -> Result<serde_json::Value> {
        serde_json::from_str(text).context("the document is not valid JSON")
    };
    match command {
        MapCommand::Create { doc } => {
            let mut doc = parse_doc(&doc)?;
            let fields = doc
                .as_object_mut()
                .ok_or_else(|| anyhow!("a map document is a JSON object"))?;
            if !fields.contains_key("id") {
                fields.insert("id".into(), json!(map::new_id()));
            }
            let doc = map::normalize(doc).map_err(|e| anyhow!(e))?;
            let id = doc["id"].as_str().unwrap_or_default().to_owned();
            if replica.read_views(|views| views.map().get(&id))?.is_some() {
                bail!("document `{id}` exists already; use `mule map put {id} JSON` to change it");
            }
            let hash = replica.put_map(&doc)?;
            print(context, &doc_written(&replica, &id, hash), &id)
        }
        MapCommand::Put { id, doc } => {
            let mut doc = parse_doc(&doc)?;
            if let Some(fields) = doc.as_object_mut() {
                fields.insert("id".into(), json!(id));
            }
            let doc = map::normalize(doc).map_err(|e| anyhow!(e))?;
            write_doc(&mut replica, &doc, context)
        }
        MapCommand::Del { id } => {
            let hash = replica.delete_map(&id)?;
            print(
                context,
                &doc_written(&replica, &id, hash),
                &hash.to_string(),
            )
        }
        MapCommand::Get { id, forks } => {
            let versions = replica.read_views(|views| views.map().require(&id, forks))?;
            for version in versions {
                writeln!(context.out, "{}", version.to_json())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        MapCommand::Query {
            lat,
            lon,
            geojson,
            forks,
        } => {
            let bbox = map::BBox::parse(&lat, &lon).map_err(|e| anyhow!(e))?;
            let found = replica.read_views(|views| views.map().query(&bbox, forks))?;
            if geojson {
                writeln!(context.out, "{}", map::to_geojson(&found))?;
            } else {
                for version in found {
                    writeln!(context.out, "{}", version.to_json())?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        MapCommand::Import { file } => {
            let named = |e: &dyn std::fmt::Display| anyhow!("{}: {e}", file.display());
            let input = std::fs::File::open(&file).map_err(|e| named(&e))?;
            let len = input.metadata().ok().map(|m| m.len());
            let mut progress = reporter(context, "importing features");
            let summary = replica
                .import_geojson_with_progress(input, len, &mut |p| progress.update(p))
                .map_err(|e| match e {
                    mule::replica::Error::Geojson(e) => named(&e),
                    e => e.into(),
                })?;
            progress.finish();
            let mut text = format!(
                "imported {} ({} unchanged)",
                count(summary.documents, "document"),
                summary.unchanged
            );
            for skipped in &summary.skipped_features {
                let label = map::SkippedFeature {
                    index: skipped.index as usize,
                    id: skipped.id.clone(),
                    name: skipped.name.clone(),
                };
                text.push_str(&format!(
                    "\nskipped feature {}{}: null geometry",
                    skipped.index,
                    label.label()
                ));
            }
            print(context, &summary, &text)
        }
        MapCommand::Basemap { command } => run_basemap(command, &mut replica, context),
    }
}

/// Runs a `mule map basemap` command.
fn run_basemap(
    command: BasemapCommand,
    replica: &mut Replica,
    context: &mut Context<'_>,
) -> Result<ExitCode> {
    match command {
        BasemapCommand::Add { file } => {
            let added = replica.add_basemap(&file)?;
            let text = format!(
                "{}: basemap {} ({}, {} of {} new)",
                file.display(),
                added.hash,
                count(added.size, "byte"),
                count(added.new_chunks, "chunk"),
                added.chunks
            );
            print(context, &report::BlobAdded { added, path: file }, &text)
        }
        BasemapCommand::Ls => {
            let shown: Option<report::BasemapShown> = replica.basemap()?;
            if let Some(basemap) = shown {
                let text = format!(
                    "{}  {:>12} bytes  {}",
                    basemap.blob, basemap.size, basemap.name
                );
                print(context, &basemap, &text)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        BasemapCommand::Rm => {
            let hash = replica.remove_basemap()?;
            let report = report::Written {
                hash,
                views_rebuilt: replica.views_rebuilt().map(str::to_owned),
            };
            print(context, &report, &hash.to_string())
        }
    }
}

/// Writes a map document version and prints its entry hash.
fn write_doc(
    replica: &mut Replica,
    doc: &serde_json::Value,
    context: &mut Context<'_>,
) -> Result<ExitCode> {
    let hash = replica.put_map(doc)?;
    print(
        context,
        &doc_written(replica, doc["id"].as_str().unwrap_or_default(), hash),
        &hash.to_string(),
    )
}
