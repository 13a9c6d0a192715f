//! The `mule` command: parses arguments, calls the library, prints. Nothing else lives here.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use mule::bundle::{self, Coverage, Imported, Summary};
use mule::calendar::event::{Event, Span};
use mule::calendar::{self, time};
use mule::entry::body_from_json;
use mule::store::{self, Draft, Frontier, Store, now_ms};
use mule::views::{Views, cal, kv, map};
use mule::{AuthorId, Hash};
use mule::{folder, live, project};

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

#[derive(Args)]
struct Global {
    /// Store directory [default: the per-user data directory's `mule` folder]
    #[arg(long, global = true, env = "MULE_STORE", value_name = "DIR")]
    store: Option<PathBuf>,
    /// Print JSON (one object, or JSON Lines for lists) for scripts
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Print this store's author id (creates the store on first use)
    Id {
        /// Accept the store's new location after a deliberate move or restore
        #[arg(long, conflicts_with = "new_key")]
        confirm_move: bool,
        /// Give this store a fresh device key (a new author id)
        #[arg(long)]
        new_key: bool,
    },
    /// Append an entry and print its hash; with `-`, one entry per JSON line on stdin
    Append {
        /// Short text naming what the body is, such as kv, map, cal
        kind: String,
        /// The body as JSON, or `-` to read one body per line from stdin
        #[arg(value_name = "JSON")]
        body: String,
        /// Hash of an entry this one supersedes or merges (repeatable)
        #[arg(long = "link", value_name = "HASH")]
        links: Vec<Hash>,
    },
    /// List entries
    Log {
        /// Only this author's entries
        #[arg(long, value_name = "ID")]
        author: Option<AuthorId>,
    },
    /// Entry and author counts, frontier, waiting entries, forks, known peers
    Status,
    /// Write a bundle
    Export {
        /// A file to write, or a folder to write `<id>.mule` into
        #[arg(short = 'o', long = "output", value_name = "PATH")]
        output: PathBuf,
        #[command(flatten)]
        selection: Selection,
        /// Split into bundles of at most this size that each import on their own: 700M, 4G
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_size: Option<u64>,
        /// Carry entries only, no blob chunks
        #[arg(long)]
        no_blobs: bool,
    },
    /// Attachments (photos, map tiles, PDFs): stored as deduplicated chunks, carried in bundles
    #[command(subcommand)]
    Blob(BlobCommand),
    /// Import bundle files, or folders of them
    Import {
        /// Bundle files or folders
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Check bundles without importing them (needs no store)
    Verify {
        /// Bundle files
        #[arg(required = true)]
        bundles: Vec<PathBuf>,
    },
    /// Show a bundle's manifest
    Inspect {
        /// A bundle file
        bundle: PathBuf,
    },
    /// Key/value view: a multi-value register per key
    #[command(subcommand)]
    Kv(KvCommand),
    /// Map view: OpenStreetMap-shaped nodes, ways and relations with a spatial index
    #[command(subcommand)]
    Map(MapCommand),
    /// QR transport: play a bundle as an animated stream of QR codes, read it back from captures
    #[command(subcommand)]
    Qr(QrCommand),
    /// Calendar view: events written the way people write schedules
    #[command(subcommand)]
    Cal(CalCommand),
    /// Rebuild every view from the log (deleting views.sqlite does the same)
    Reindex,
    /// Check every hash, signature, chain link and view checkpoint; say what is wrong
    Fsck {
        /// Rebuild what can be derived from the log (frontiers, indexes, views); never deletes
        /// an entry
        #[arg(long)]
        repair: bool,
    },
    /// Projects: devices that admit each other, and bundles sealed to the project's key
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Import the new bundles in a folder, then write one with what the folder lacks
    ///
    /// TARGET is a folder (a USB stick, a shared directory), `-` for the live protocol on
    /// stdin/stdout (`ssh host mule sync -`), tcp://HOST:PORT or ws://HOST:PORT of a `mule
    /// serve`; or `--lan` to sync with every store announced on the local network.
    Sync {
        /// The folder, `-`, tcp://HOST:PORT or ws://HOST:PORT
        #[arg(value_name = "TARGET", required_unless_present = "lan")]
        target: Option<String>,
        /// Replace the folder's bundles with one bundle of everything (folders only)
        #[arg(long)]
        compact: bool,
        /// Find stores announced on the local network (`mule serve --announce`) and sync with
        /// each
        #[arg(long, conflicts_with_all = ["target", "compact"])]
        lan: bool,
        /// How long `--lan` looks for stores, in seconds
        #[arg(long, default_value_t = 3, value_name = "SECONDS", requires = "lan")]
        wait: u64,
        #[command(flatten)]
        live: LiveArgs,
    },
    /// Accept live syncs from other stores (`mule sync tcp://HOST:PORT` or `ws://HOST:PORT`)
    Serve {
        /// Address to accept TCP peers on, such as 0.0.0.0:7777 or 127.0.0.1:0
        #[arg(long, value_name = "ADDR", required_unless_present = "ws")]
        listen: Option<String>,
        /// Address to accept WebSocket peers on (ws://, for browsers and HTTP proxies)
        #[arg(long, value_name = "ADDR")]
        ws: Option<String>,
        /// Announce this store on the local network (multicast DNS) for `mule sync --lan`
        #[arg(long)]
        announce: bool,
        /// Stop after this many peers on each address [default: serve until stopped]
        #[arg(long, value_name = "N")]
        peers: Option<usize>,
        /// Sync with at most this many peers at once on each address (one more is told the
        /// server is busy); twice as many may be proving their key, and a newer one drops the
        /// oldest of those
        #[arg(
            long,
            value_name = "N",
            default_value_t = live::transport::DEFAULT_MAX_PEERS,
            value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
        )]
        max_peers: usize,
        /// Seconds a connection may take to prove its key before it is dropped
        #[arg(long, value_name = "SECONDS", default_value_t = live::transport::DEFAULT_HANDSHAKE_DEADLINE.as_secs())]
        handshake_timeout: u64,
        #[command(flatten)]
        live: LiveArgs,
    },
}

#[derive(Args)]
struct LiveArgs {
    /// Only sync with this device (an author id; repeatable); others are refused once they
    /// prove their key
    #[arg(long = "allow", value_name = "ID")]
    allow: Vec<AuthorId>,
    /// Seconds to wait for a silent peer before giving up
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    timeout: u64,
    /// Refuse a bundle from the peer larger than this, before receiving it: 700M, 4G [default:
    /// half the free space of the store's disk, at most 16G]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_bundle: Option<u64>,
}

impl LiveArgs {
    fn options(&self) -> live::Options {
        live::Options {
            allow: (!self.allow.is_empty()).then(|| self.allow.iter().copied().collect()),
            max_bundle: self.max_bundle,
            ..live::Options::default()
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout.max(1))
    }
}

#[derive(Subcommand)]
enum BlobCommand {
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
        /// The blob's hash (as `blob add` and `blob ls` print it)
        hash: Hash,
        /// The file to write
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
    },
    /// List blobs, and the chunks of each that have not arrived yet
    Ls,
}

/// `700M`, `4G`, `512K` or a number of bytes.
fn parse_size(text: &str) -> Result<u64, String> {
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

#[derive(Subcommand)]
enum ProjectCommand {
    /// Make this store the first device (and an admin) of a new project
    Create {
        /// The project's name, for people
        name: String,
    },
    /// Print an invite (text, and a QR code on a terminal) that lets one more device join
    Invite {
        /// Let the new device invite and remove devices too
        #[arg(long)]
        admin: bool,
        /// How long the invite can be used: 30m, 12h, 7d
        #[arg(long, default_value = "7d", value_name = "TIME", value_parser = parse_lifetime)]
        expires: u64,
        /// Also print the QR code when output is not a terminal
        #[arg(long)]
        qr: bool,
        /// Write the QR code to this PNG file
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
    },
    /// Join a project: INVITE is the invite's text, `-` to read it from stdin, a file holding
    /// the text, or an image (photo, screenshot) of its QR code
    Join {
        /// The invite
        invite: String,
    },
    /// List the project's devices and whether their entries count
    Members,
    /// Print the project's key as an age identity file, for `age -d -i FILE BUNDLE` (keep it
    /// as secret as an invite)
    Key,
    /// Remove a device: entries it writes from now on are not accepted
    Remove {
        /// The device's author id
        author: AuthorId,
    },
}

fn parse_lifetime(text: &str) -> Result<u64, String> {
    let (number, unit) = text.split_at(text.trim_end_matches(char::is_alphabetic).len());
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "`{text}`: write a number and a unit, such as 30m, 12h or 7d"
            ));
        }
    };
    number
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| n.checked_mul(seconds))
        .ok_or_else(|| format!("`{text}`: write a number and a unit, such as 30m, 12h or 7d"))
}

#[derive(Subcommand)]
enum KvCommand {
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

#[derive(Subcommand)]
enum MapCommand {
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
    /// Nodes inside a box, the ways that use them, and those ways' other nodes
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
    /// Import the features of a GeoJSON file as map documents
    Import {
        /// A .geojson file
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum CalCommand {
    /// Add an event: "dec 5 9:30am", "every other friday at 4pm until march", ... Prints its id
    Add {
        /// The schedule in everyday words; words that are not schedule become the title
        text: String,
        /// The title (instead of the words left over from the text)
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        clock: Clock,
    },
    /// Replace an event with a new schedule (links its current versions)
    Put {
        /// The event id
        id: String,
        /// The schedule in everyday words
        text: String,
        /// The title (instead of the words left over from the text)
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        clock: Clock,
    },
    /// Remove an event
    Rm {
        /// The event id
        id: String,
    },
    /// Every occurrence from FROM to TO (recurrences expanded), sorted by start
    Query {
        /// Start: a date (2026-12-01) or a date and time (2026-12-01T09:00, or with an offset)
        from: String,
        /// End: a date (included whole) or a date and time (excluded)
        to: String,
        #[command(flatten)]
        clock: Clock,
    },
    /// Write every event as iCalendar (RFC 5545) for calendar programs
    Export {
        /// The .ics file to write (`-` for standard output)
        #[arg(long, value_name = "FILE")]
        ics: PathBuf,
    },
}

#[derive(Subcommand)]
enum QrCommand {
    /// Write a bundle's frames: numbered PNGs, a self-contained HTML player, an animated GIF
    Encode {
        /// The bundle file
        bundle: PathBuf,
        /// Write numbered PNG frames into this folder
        #[arg(long, value_name = "DIR")]
        png: Option<PathBuf>,
        /// Write one HTML page that plays the frames full-screen (no network, no external scripts)
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Write an animated GIF (5-12 times the bundle's size)
        #[arg(long, value_name = "FILE")]
        gif: Option<PathBuf>,
        #[command(flatten)]
        settings: QrSettings,
    },
    /// Play a bundle's frames in this terminal (Unicode blocks), fresh frames until stopped
    Play {
        /// The bundle file
        bundle: PathBuf,
        #[command(flatten)]
        settings: QrSettings,
    },
    /// Rebuild bundles from captures: images, folders of screenshots or photos, videos (ffmpeg)
    Decode {
        /// Images, folders, or videos
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Write the bundle here [default: <bundle id>.mule in the current folder]
        #[arg(short, long, value_name = "FILE", conflicts_with = "import")]
        output: Option<PathBuf>,
        /// Import the bundle into the store instead of writing it
        #[arg(long)]
        import: bool,
    },
}

#[derive(Args)]
struct QrSettings {
    /// small (v15-L, 8 fps: old cameras), default (v25-L, 12 fps: phone to laptop),
    /// large (v32-L, 15 fps: steady 1080p capture), photo (v40-M: photos, print),
    /// duo (two v32-L codes per screen frame, 15 fps: big screens)
    #[arg(long, default_value = "default", value_parser = parse_profile)]
    profile: mule::qr::Profile,
    /// QR version 1-40 (overrides the profile's)
    #[arg(long, value_parser = clap::value_parser!(u8).range(5..=40))]
    version: Option<u8>,
    /// Error correction: L (screens) or M (photos, print)
    #[arg(long, value_parser = parse_ecc)]
    ecc: Option<mule::qr::render::Ecc>,
    /// Frames per second (overrides the profile's)
    #[arg(long, value_parser = parse_fps)]
    fps: Option<f32>,
    /// How many QR codes to write: at least the bundle's source symbols (K); by default K plus
    /// a quarter for PNG and GIF, 2K for HTML; endless for play
    #[arg(long, value_name = "N")]
    frames: Option<usize>,
}

impl QrSettings {
    fn profile(&self) -> mule::qr::Profile {
        self.profile.with(self.version, self.ecc, self.fps)
    }
}

fn parse_profile(name: &str) -> Result<mule::qr::Profile, String> {
    mule::qr::Profile::named(name).ok_or_else(|| {
        let names: Vec<&str> = mule::qr::PROFILES.iter().map(|p| p.name).collect();
        format!("no profile `{name}`; use one of {}", names.join(", "))
    })
}

fn parse_ecc(text: &str) -> Result<mule::qr::render::Ecc, String> {
    match text {
        "L" | "l" => Ok(mule::qr::render::Ecc::L),
        "M" | "m" => Ok(mule::qr::render::Ecc::M),
        _ => Err(format!("`{text}`: error correction is L or M")),
    }
}

fn parse_fps(text: &str) -> Result<f32, String> {
    text.parse::<f32>()
        .ok()
        .filter(|fps| (0.2..=60.0).contains(fps))
        .ok_or_else(|| format!("`{text}`: frames per second go from 0.2 to 60"))
}

#[derive(Args)]
struct Clock {
    /// Time zone for times without an offset (IANA name such as Europe/Oslo) [default: the system's]
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// What "now" is when reading "tomorrow", "friday": 2026-11-25T10:00 (in --tz) or with an offset [default: the clock]
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
}

impl Clock {
    fn zone(&self) -> Result<chrono_tz::Tz> {
        time::zone(self.tz.as_deref()).map_err(|e| anyhow!(e))
    }

    /// The current wall-clock time in `tz`.
    fn now(&self, tz: chrono_tz::Tz) -> Result<chrono::NaiveDateTime> {
        let now = match &self.now {
            Some(text) => time::parse_time(text, tz, false).map_err(|e| anyhow!("--now: {e}"))?,
            None => chrono::Utc::now(),
        };
        Ok(now.with_timezone(&tz).naive_local())
    }
}

#[derive(Args)]
#[group(multiple = false)]
struct Selection {
    /// Only what this peer (an author id) has not acknowledged
    #[arg(long = "for", value_name = "PEER")]
    peer: Option<AuthorId>,
    /// Only what lies above this frontier: `{"<id>": seq, ...}` or `<id>:<seq>,...`
    #[arg(long, value_name = "FRONTIER", value_parser = parse_frontier)]
    since: Option<Frontier>,
    /// Everything
    #[arg(long)]
    all: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            if let Some(hint) = hint(&e) {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    let code = dispatch(cli, &mut out)?;
    out.flush()?;
    Ok(code)
}

fn dispatch(cli: Cli, out: &mut impl Write) -> Result<ExitCode> {
    let json = cli.global.json;
    match cli.command {
        Command::Verify { bundles } => {
            return verify(&bundles, project_key(&cli.global)?.as_ref(), json, out);
        }
        Command::Qr(QrCommand::Encode {
            bundle,
            png,
            html,
            gif,
            settings,
        }) => return qr_encode(&bundle, png, html, gif, &settings, json, out),
        Command::Qr(QrCommand::Play { bundle, settings }) => {
            return qr_play(&bundle, &settings, out);
        }
        Command::Qr(QrCommand::Decode {
            inputs,
            output,
            import: false,
        }) => return qr_decode(&inputs, None, output, json, out),
        Command::Inspect { bundle } => {
            return inspect(&bundle, project_key(&cli.global)?.as_ref(), json, out);
        }
        _ => {}
    }
    let mut store = Store::open(&store_dir(&cli.global)?)?;
    let writes = matches!(
        cli.command,
        Command::Append { .. }
            | Command::Import { .. }
            | Command::Sync { .. }
            | Command::Qr(QrCommand::Decode { .. })
            | Command::Project(_)
            | Command::Blob(BlobCommand::Add { .. })
    );
    let frontier_before = if writes {
        Some(store.frontier()?)
    } else {
        None
    };
    let code = match cli.command {
        Command::Id {
            confirm_move,
            new_key,
        } => id(&mut store, confirm_move, new_key, json, out),
        Command::Append { kind, body, links } => append(&mut store, kind, &body, links, json, out),
        Command::Log { author } => log(&store, author.as_ref(), json, out),
        Command::Status => status(&store, json, out),
        Command::Export {
            output,
            selection,
            max_size,
            no_blobs,
        } => {
            let options = bundle::Options {
                blobs: !no_blobs,
                max_size,
            };
            export(&store, &output, &selection, &options, json, out)
        }
        Command::Blob(command) => blob(&mut store, command, json, out),
        Command::Import { paths } => import(&mut store, &paths, json, out),
        Command::Sync {
            lan: true,
            wait,
            live,
            ..
        } => lan_sync(&mut store, Duration::from_secs(wait), &live, json, out),
        Command::Sync {
            target,
            compact,
            live,
            ..
        } => match target.as_deref().unwrap_or_default() {
            "-" => live_sync(&mut store, Target::Stdio, &live, json, out),
            url if url.starts_with("tcp://") => {
                live_sync(&mut store, Target::Tcp(url), &live, json, out)
            }
            url if url.starts_with("ws://") || url.starts_with("wss://") => {
                live_sync(&mut store, Target::Ws(url), &live, json, out)
            }
            dir => sync(&mut store, Path::new(dir), compact, json, out),
        },
        Command::Serve {
            listen,
            ws,
            announce,
            peers,
            max_peers,
            handshake_timeout,
            live,
        } => {
            let addresses = Listen {
                tcp: listen,
                ws,
                announce,
            };
            let settings = live::transport::Serve {
                peers,
                max_peers,
                max_handshakes: max_peers.saturating_mul(2),
                handshake_deadline: Duration::from_secs(handshake_timeout.max(1)),
                ..live::transport::Serve::new(live.options(), live.timeout())
            };
            serve(&store, &addresses, &settings, json, out)
        }
        Command::Kv(command) => kv(&mut store, command, json, out),
        Command::Map(command) => map(&mut store, command, json, out),
        Command::Cal(command) => calendar(&mut store, command, json, out),
        Command::Qr(QrCommand::Decode { inputs, .. }) => {
            qr_decode(&inputs, Some(&mut store), None, json, out)
        }
        Command::Qr(_) => unreachable!("handled above"),
        Command::Reindex => reindex(&store, json, out),
        Command::Fsck { repair } => fsck(&mut store, repair, json, out),
        Command::Project(command) => project(&mut store, command, json, out),
        Command::Verify { .. } | Command::Inspect { .. } => unreachable!("handled above"),
    }?;
    if let Some(before) = frontier_before
        && (code == ExitCode::SUCCESS || store.frontier()? != before)
    {
        // "Synced" means "visible": views take in what the command added before it returns.
        catch_up(&store, json)?;
    }
    Ok(code)
}

fn store_dir(global: &Global) -> Result<PathBuf> {
    match &global.store {
        Some(dir) => Ok(dir.clone()),
        None => store::default_dir()
            .ok_or_else(|| anyhow!("no per-user data directory is known here; pass --store DIR")),
    }
}

/// The project key of the store `--store` names (or the default one), for commands that need
/// no store but may meet sealed bundles; none when there is no such store or project.
fn project_key(global: &Global) -> Result<Option<age::x25519::Identity>> {
    let dir = store_dir(global)?;
    if !dir.join(store::DB_FILE).is_file() {
        return Ok(None);
    }
    let store = Store::open(&dir)?;
    Ok(project::load(&store)?.map(|p| p.identity().clone()))
}

fn project(
    store: &mut Store,
    command: ProjectCommand,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    match command {
        ProjectCommand::Create { name } => {
            let made = project::create(store, &name)?;
            if json {
                writeln!(
                    out,
                    "{}",
                    json!({ "project": made.id, "name": made.name, "root": made.root })
                )?;
            } else {
                writeln!(
                    out,
                    "created project \"{}\" ({}); this device is its admin",
                    made.name,
                    made.id.short()
                )?;
                writeln!(
                    out,
                    "next: `mule project invite` for each device that should join"
                )?;
            }
        }
        ProjectCommand::Invite {
            admin,
            expires,
            qr,
            png,
        } => {
            let role = if admin {
                project::Role::Admin
            } else {
                project::Role::Member
            };
            let invite = project::invite(store, role, expires)?;
            invite_output(&invite, qr, png.as_deref(), json, out)?;
        }
        ProjectCommand::Join { invite } => {
            let invite = project::Invite::parse(&read_invite(&invite)?)?;
            let joined = project::join(store, &invite)?;
            let role = joined.role().as_str();
            if json {
                let value = json!({ "project": joined.id, "name": joined.name, "role": role, "author": store.author() });
                writeln!(out, "{value}")?;
            } else {
                writeln!(
                    out,
                    "joined project \"{}\" as {role}; the project's stores accept this device's entries",
                    joined.name
                )?;
            }
        }
        ProjectCommand::Members => members(store, json, out)?,
        ProjectCommand::Key => {
            let (current, _) = project::current(store)?;
            let secret = current.identity().to_string();
            let secret = age::secrecy::ExposeSecret::expose_secret(&secret);
            if json {
                let value = json!({ "project": current.id, "recipient": current.recipient().to_string(), "identity": secret });
                writeln!(out, "{value}")?;
            } else {
                writeln!(out, "# mule project \"{}\" ({})", current.name, current.id)?;
                writeln!(out, "# public key: {}", current.recipient())?;
                writeln!(out, "{secret}")?;
            }
        }
        ProjectCommand::Remove { author } => {
            let through = project::remove(store, &author)?;
            if json {
                writeln!(out, "{}", json!({ "author": author, "through": through }))?;
            } else {
                writeln!(
                    out,
                    "removed {}: its entries up to seq {through} still count, later ones will not",
                    author.short()
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn invite_output(
    invite: &project::Invite,
    qr: bool,
    png: Option<&Path>,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let text = invite.to_text();
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L)
        .context("the invite does not fit a QR code")?;
    if let Some(path) = png {
        let mut bytes = Vec::new();
        mule::qr::render::to_image(&code, 4)
            .write_to(&mut io::Cursor::new(&mut bytes), image::ImageFormat::Png)
            .context("cannot encode the QR code as PNG")?;
        write_file_atomically(path, &bytes)?;
    }
    let until = chrono::DateTime::from_timestamp(invite.expires as i64, 0)
        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M UTC").to_string());
    if json {
        let value =
            json!({ "invite": text, "role": invite.role.as_str(), "expires": invite.expires });
        writeln!(out, "{value}")?;
        return Ok(());
    }
    writeln!(out, "{text}")?;
    if qr || io::stdout().is_terminal() {
        writeln!(out, "{}", mule::qr::render::to_text(&code))?;
    }
    eprintln!(
        "one device can join with this invite until {until}: `mule project join INVITE`. \
         Whoever holds it can read the project's bundles; hand it over in person."
    );
    Ok(())
}

/// The invite's text from the argument: the text itself, `-` for stdin, or an image of its QR
/// code.
fn read_invite(argument: &str) -> Result<String> {
    if argument == "-" {
        let mut text = String::new();
        io::Read::read_to_string(&mut io::stdin(), &mut text)?;
        return Ok(text);
    }
    let path = Path::new(argument);
    if argument.starts_with(project::INVITE_PREFIX) || !path.is_file() {
        return Ok(argument.to_string());
    }
    // A file holding the invite's text (a saved message), or an image of its QR code.
    if let Ok(text) = std::fs::read_to_string(path)
        && text.len() <= project::MAX_INVITE_LEN
        && text.trim_start().starts_with(project::INVITE_PREFIX)
    {
        return Ok(text);
    }
    let image = mule::qr::scan::open_image(path).map_err(|_| {
        anyhow!(
            "{}: holds neither an invite's text nor a picture of its QR code",
            path.display()
        )
    })?;
    mule::qr::scan::read_codes(&image)
        .into_iter()
        .filter_map(|bytes| String::from_utf8(bytes).ok())
        .find(|text| text.starts_with(project::INVITE_PREFIX))
        .ok_or_else(|| anyhow!("{}: no invite QR code found in this image", path.display()))
}

fn members(store: &Store, json: bool, out: &mut impl Write) -> Result<()> {
    let (current, membership) = project::current(store)?;
    if !json {
        writeln!(out, "project \"{}\" ({})", current.name, current.id.short())?;
    }
    for member in membership.members() {
        if json {
            writeln!(out, "{}", serde_json::to_value(member)?)?;
            continue;
        }
        let via = match (&member.invited_by, member.author == current.root) {
            (_, true) => "created the project".to_string(),
            (Some(by), false) => format!("invited by {}", by.short()),
            (None, false) => String::new(),
        };
        let standing = match member.standing {
            project::Standing::Active => "active".to_string(),
            project::Standing::Removed { through, by } => {
                format!(
                    "removed by {} (entries up to seq {through} count)",
                    by.short()
                )
            }
            project::Standing::InviteTaken { by } => {
                format!(
                    "not admitted: device {} used the same invite first",
                    by.short()
                )
            }
        };
        let me = if member.author == store.author() {
            " (this device)"
        } else {
            ""
        };
        writeln!(
            out,
            "{}  {:<6}  {via}, {standing}{me}",
            member.author.short(),
            member.role.as_str()
        )?;
    }
    Ok(())
}

/// Opens the views and brings them up to date with the log.
fn catch_up(store: &Store, json: bool) -> Result<Views> {
    let mut views = Views::open(store.dir())?;
    let progress = spinner("updating views", json);
    views.catch_up(store)?;
    finish(progress);
    Ok(views)
}

fn kv(store: &mut Store, command: KvCommand, json: bool, out: &mut impl Write) -> Result<ExitCode> {
    let views = catch_up(store, json)?;
    match command {
        KvCommand::Put { key, value, links } => {
            let value: serde_json::Value =
                serde_json::from_str(&value).context("the value is not valid JSON")?;
            let draft = kv::put_draft(&views, &key, Some(&value), links)?;
            write_kv(store, draft, json, out)
        }
        KvCommand::Del { key } => {
            if views.kv().get(&key)?.is_empty() {
                bail!("key `{key}` has no value to delete");
            }
            let draft = kv::put_draft(&views, &key, None, Vec::new())?;
            write_kv(store, draft, json, out)
        }
        KvCommand::Get { key } => {
            for value in views.kv().get(&key)? {
                if json {
                    writeln!(out, "{}", serde_json::to_string(&value)?)?;
                } else {
                    writeln!(out, "{} {}", value.hash, value.value)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        KvCommand::List { prefix } => {
            for key in views.kv().list(&prefix)? {
                if json {
                    writeln!(out, "{}", json!({ "key": key }))?;
                } else {
                    writeln!(out, "{key}")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn write_kv(store: &mut Store, draft: Draft, json: bool, out: &mut impl Write) -> Result<ExitCode> {
    let hash = write_drafts(store, vec![draft], json)?[0];
    print_written(out, json, json!({ "hash": hash }), &hash.to_string())
}

fn map(
    store: &mut Store,
    command: MapCommand,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let views = catch_up(store, json)?;
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
            if views.map().get(&id)?.is_some() {
                bail!("document `{id}` exists already; use `mule map put {id} JSON` to change it");
            }
            let hash = write_drafts(store, vec![map::put_draft(&views, &doc)?], json)?[0];
            print_written(out, json, json!({ "id": id, "hash": hash }), &id)
        }
        MapCommand::Put { id, doc } => {
            let mut doc = parse_doc(&doc)?;
            if let Some(fields) = doc.as_object_mut() {
                fields.insert("id".into(), json!(id));
            }
            let doc = map::normalize(doc).map_err(|e| anyhow!(e))?;
            write_doc(store, &views, &doc, json, out)
        }
        MapCommand::Del { id } => {
            if views.map().get(&id)?.is_none() {
                bail!("no map document `{id}` to delete");
            }
            write_doc(
                store,
                &views,
                &json!({ "id": id, "deleted": true }),
                json,
                out,
            )
        }
        MapCommand::Get { id, forks } => {
            let versions = if forks {
                views.map().heads(&id)?
            } else {
                views.map().get(&id)?.into_iter().collect()
            };
            if versions.is_empty() {
                bail!("no map document `{id}` (never created, or deleted)");
            }
            for version in versions {
                writeln!(out, "{}", version.to_json())?;
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
            let found = views.map().query(&bbox, forks)?;
            if geojson {
                writeln!(out, "{}", map::to_geojson(&found))?;
            } else {
                for version in found {
                    writeln!(out, "{}", version.to_json())?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        MapCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("{}: cannot read", file.display()))?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not valid JSON", file.display()))?;
            let (docs, skipped) =
                map::from_geojson(&value).map_err(|e| anyhow!("{}: {e}", file.display()))?;
            let drafts = docs
                .iter()
                .map(|doc| map::put_draft(&views, doc))
                .collect::<Result<Vec<_>, _>>()?;
            let count = drafts.len();
            write_drafts(store, drafts, json)?;
            if json {
                writeln!(out, "{}", json!({ "documents": count, "skipped": skipped }))?;
            } else {
                writeln!(
                    out,
                    "imported {count} documents ({skipped} features skipped: no OSM equivalent)"
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn calendar(
    store: &mut Store,
    command: CalCommand,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let views = catch_up(store, json)?;
    match command {
        CalCommand::Add { text, title, clock } => {
            let event = parse_event(map::new_id(), text, title, &clock)?;
            write_event(store, &views, &event, json, out)
        }
        CalCommand::Put {
            id,
            text,
            title,
            clock,
        } => {
            let event = parse_event(id, text, title, &clock)?;
            write_event(store, &views, &event, json, out)
        }
        CalCommand::Rm { id } => {
            if !views.cal().heads(&id)?.iter().any(|v| v.event.is_some()) {
                bail!("no event `{id}` to remove (never added, or removed already)");
            }
            let hash = write_drafts(store, vec![cal::put_draft(&views, &id, None)?], json)?[0];
            print_written(
                out,
                json,
                json!({ "id": id, "hash": hash }),
                &hash.to_string(),
            )
        }
        CalCommand::Query { from, to, clock } => {
            let tz = clock.zone()?;
            let from = time::parse_time(&from, tz, false).map_err(|e| anyhow!("FROM: {e}"))?;
            let to = time::parse_time(&to, tz, true).map_err(|e| anyhow!("TO: {e}"))?;
            if to <= from {
                bail!("TO must come after FROM");
            }
            let Ok(found) = views.cal().query(from, to)? else {
                bail!(
                    "more than {} occurrences in that range; ask for a shorter one",
                    cal::MAX_OCCURRENCES
                );
            };
            for (occurrence, conflict) in found {
                if json {
                    writeln!(out, "{}", occurrence.to_json(conflict))?;
                } else {
                    writeln!(out, "{}", occurrence_line(&occurrence, conflict))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        CalCommand::Export { ics } => {
            let text = calendar::ics::calendar(&views.cal().events()?, chrono::Utc::now());
            let events = views.cal().events()?.len();
            if ics.as_os_str() == "-" {
                out.write_all(text.as_bytes())?;
                return Ok(ExitCode::SUCCESS);
            }
            write_file_atomically(&ics, text.as_bytes())?;
            print_written(
                out,
                json,
                json!({ "file": ics, "events": events }),
                &format!("wrote {events} events to {}", ics.display()),
            )
        }
    }
}

/// A fountain sender for a bundle file, checked to be a bundle first.
fn qr_sender(path: &Path, profile: &mule::qr::Profile) -> Result<mule::qr::fountain::Sender> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    // A sealed bundle travels as it is; whoever scans it needs the project's key to read it.
    let id = if bundle::sealed::is_sealed(&mut file)? {
        bundle::hash_file(path)?
    } else {
        bundle::read_manifest(path)?.id
    };
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    mule::qr::fountain::Sender::new(&bytes, &id, profile.frame_len(), profile.id)
        .with_context(|| path.display().to_string())
}

/// How many codes an output carries: `--frames`, or the default for the output.
fn qr_codes(
    settings: &QrSettings,
    sender: &mule::qr::fountain::Sender,
    default: usize,
) -> Result<usize> {
    let k = sender.source_symbols();
    match settings.frames {
        Some(n) if n < k => bail!("--frames {n} is fewer than the {k} frames this bundle needs"),
        Some(n) => Ok(n),
        None => Ok(default),
    }
}

fn qr_encode(
    bundle_path: &Path,
    png: Option<PathBuf>,
    html: Option<PathBuf>,
    gif: Option<PathBuf>,
    settings: &QrSettings,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    use mule::qr::output;
    if png.is_none() && html.is_none() && gif.is_none() {
        bail!(
            "say where the frames go: --png DIR, --html FILE or --gif FILE (or use `mule qr play`)"
        );
    }
    let profile = settings.profile();
    let sender = qr_sender(bundle_path, &profile)?;
    let k = sender.source_symbols();
    let mut written = serde_json::Map::new();
    if let Some(dir) = &png {
        let screens =
            output::screens_for(&profile, qr_codes(settings, &sender, k + (k / 4).max(3))?);
        let bar = progress_bar("PNG frames", screens as u64, json);
        let files = output::write_pngs(&sender, &profile, screens, dir, || tick(&bar))?;
        finish(bar);
        written.insert("png".into(), json!({ "dir": dir, "frames": files.len() }));
    }
    if let Some(path) = &html {
        let screens = output::screens_for(&profile, qr_codes(settings, &sender, 2 * k + 3)?);
        let bar = progress_bar("HTML frames", screens as u64, json);
        let title = format!("mule bundle {}", bundle_path.display());
        let page = output::html_page(&sender, &profile, screens, &title, || tick(&bar))?;
        finish(bar);
        write_file_atomically(path, page.as_bytes())?;
        written.insert("html".into(), json!({ "file": path, "frames": screens }));
    }
    if let Some(path) = &gif {
        let screens =
            output::screens_for(&profile, qr_codes(settings, &sender, k + (k / 4).max(3))?);
        let bar = progress_bar("GIF frames", screens as u64, json);
        let mut bytes = Vec::new();
        output::write_gif(&sender, &profile, screens, &mut bytes, || tick(&bar))?;
        finish(bar);
        write_file_atomically(path, &bytes)?;
        written.insert(
            "gif".into(),
            json!({ "file": path, "frames": screens, "bytes": bytes.len() }),
        );
    }
    let summary = json!({
        "profile": profile,
        "frame_bytes": profile.frame_len(),
        "source_frames": k,
        "session": hex::encode(sender.session()),
        "written": written,
    });
    let text = format!(
        "{k} frames carry the bundle (profile {}, QR version {} {:?}, {} bytes per code, {} fps); any {k} of them rebuild it",
        profile.name,
        profile.version,
        profile.ecc,
        profile.frame_len(),
        profile.fps
    );
    print_written(out, json, summary, &text)
}

fn qr_play(bundle_path: &Path, settings: &QrSettings, out: &mut impl Write) -> Result<ExitCode> {
    let profile = settings.profile();
    let sender = qr_sender(bundle_path, &profile)?;
    let terminal = io::stdout().is_terminal();
    // Endless on a terminal; one pass of the source frames into a pipe.
    let limit = match settings.frames {
        Some(n) => Some(n),
        None if terminal => None,
        None => Some(sender.source_symbols()),
    };
    let pause = Duration::from_secs_f32(1.0 / profile.fps);
    let mut index = 0;
    while limit.is_none_or(|n| index < n) {
        let started = std::time::Instant::now();
        let code = mule::qr::render::symbol(&sender.frame(index), profile.version, profile.ecc)?;
        if terminal {
            write!(out, "\x1b[H\x1b[2J")?;
        }
        write!(out, "{}", mule::qr::render::to_text(&code))?;
        writeln!(
            out,
            "frame {} · {} needed · Ctrl-C stops",
            index + 1,
            sender.source_symbols()
        )?;
        out.flush()?;
        if terminal {
            std::thread::sleep(pause.saturating_sub(started.elapsed()));
        }
        index += 1;
    }
    Ok(ExitCode::SUCCESS)
}

fn qr_decode(
    inputs: &[PathBuf],
    store: Option<&mut Store>,
    output: Option<PathBuf>,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let mut receiver = mule::qr::fountain::Receiver::default();
    let bar = progress_bar("reading codes", 0, json);
    let scan = mule::qr::scan_inputs(inputs, &mut receiver, |r| {
        if let Some(bar) = &bar {
            let sessions = r.progress();
            let (received, needed) = sessions
                .iter()
                .max_by_key(|p| p.received)
                .map_or((0, 0), |p| (p.received, p.needed));
            bar.set_length(needed as u64);
            bar.set_position(received as u64);
        }
    })?;
    finish(bar);
    for problem in &scan.unreadable {
        eprintln!("warning: {problem}");
    }
    let sessions = receiver.progress();
    let bundles = receiver.bundles();
    if bundles.is_empty() {
        let Some(best) = sessions.iter().max_by_key(|p| p.received) else {
            bail!(
                "no mule QR frames in {} images ({} other or damaged codes skipped)",
                scan.images,
                scan.skipped
            );
        };
        bail!(
            "session {}: {} of the {} frames needed; capture at least {} more",
            best.session,
            best.received,
            best.needed,
            best.needed.saturating_sub(best.received).max(1)
        );
    }
    if output.is_some() && bundles.len() > 1 {
        bail!(
            "the captures hold {} bundles; -o names one file (leave it out to write each as <id>.mule)",
            bundles.len()
        );
    }
    let mut results = Vec::new();
    let mut store = store;
    for (id, bytes) in bundles {
        let result = match store.as_deref_mut() {
            Some(store) => {
                let staged = tempfile::Builder::new()
                    .prefix(".mule-qr-")
                    .suffix(".mule")
                    .tempfile_in(store.dir())
                    .context("cannot stage the bundle in the store folder")?;
                std::fs::write(staged.path(), bytes).context("cannot stage the bundle")?;
                let imported = match bundle::import_bundle(store, staged.path())? {
                    Imported::Applied { outcome, .. } => json!(outcome),
                    // Only a folder's bundles are skipped as refused before or vanish.
                    Imported::AlreadyImported { .. }
                    | Imported::RefusedBefore { .. }
                    | Imported::Vanished => {
                        json!({ "new": 0, "already_imported": true })
                    }
                };
                json!({ "id": id, "imported": imported })
            }
            None => {
                let path = output
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(format!("{id}.mule")));
                write_file_atomically(&path, bytes)?;
                json!({ "id": id, "path": path, "bytes": bytes.len() })
            }
        };
        results.push(result);
    }
    let summary = json!({
        "bundles": results,
        "images": scan.images,
        "frames": scan.frames,
        "duplicates": scan.duplicates,
        "skipped": scan.skipped,
        "sessions": sessions,
    });
    let lines: Vec<String> = results
        .iter()
        .map(|r| match r.get("path") {
            Some(path) => format!(
                "wrote bundle {} to {}",
                r["id"].as_str().unwrap_or(""),
                path.as_str().unwrap_or("")
            ),
            None => format!(
                "imported bundle {}: {} new entries",
                r["id"].as_str().unwrap_or(""),
                r["imported"]["new"]
            ),
        })
        .collect();
    let text = format!(
        "{}\n{} images, {} frames used, {} seen twice, {} other codes skipped",
        lines.join("\n"),
        scan.images,
        scan.frames,
        scan.duplicates,
        scan.skipped
    );
    print_written(out, json, summary, &text)
}

/// A progress bar on stderr when it is a terminal and JSON is not asked for.
fn progress_bar(message: &str, length: u64, json: bool) -> Option<indicatif::ProgressBar> {
    if json || !io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(length);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:30} {pos}/{len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(message.to_owned());
    Some(bar)
}

fn tick(bar: &Option<indicatif::ProgressBar>) {
    if let Some(bar) = bar {
        bar.inc(1);
    }
}

/// Parses a schedule text into an event with id `id`.
fn parse_event(id: String, text: String, title: Option<String>, clock: &Clock) -> Result<Event> {
    let tz = clock.zone()?;
    let mut schedule = calendar::schedule::parse(&text, clock.now(tz)?)
        .map_err(|e| anyhow!("the schedule {text:?}: {e}"))?;
    if let Some(title) = title {
        schedule.title = title;
    }
    Event::from_schedule(id, Some(text), &schedule, tz).map_err(|e| anyhow!(e))
}

/// Writes an event version and prints its id, first occurrence and recurrence.
fn write_event(
    store: &mut Store,
    views: &Views,
    event: &Event,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let draft = cal::put_draft(views, &event.id, Some(event))?;
    let hash = write_drafts(store, vec![draft], json)?[0];
    let mut value = event.to_json();
    value["hash"] = json!(hash);
    let first = match event.span {
        Span::AllDay { start, .. } => format!("{start} (all day)"),
        Span::Timed { .. } => event.first_start().to_rfc3339(),
    };
    let repeats = event
        .rrule
        .as_deref()
        .map_or_else(String::new, |r| format!(", repeats {r}"));
    let except: Vec<String> = event.except.iter().map(|d| d.to_string()).collect();
    let except = if except.is_empty() {
        String::new()
    } else {
        format!(", except {}", except.join(", "))
    };
    let title = if event.title.is_empty() {
        "(no title)"
    } else {
        &event.title
    };
    let text = format!("{}  {title}: first {first}{repeats}{except}", event.id);
    print_written(out, json, value, &text)
}

/// `2026-12-05 09:30-10:30 +01:00  DMV  [id]` for people.
fn occurrence_line(occurrence: &cal::Occurrence, conflict: bool) -> String {
    let event = occurrence.event.event.as_ref();
    let title = event.map_or("", |e| e.title.as_str());
    let title = if title.is_empty() {
        "(no title)"
    } else {
        title
    };
    let all_day = event.is_some_and(|e| matches!(e.span, Span::AllDay { .. }));
    let when = if all_day {
        format!("{} all day", occurrence.start.format("%a %Y-%m-%d"))
    } else {
        format!(
            "{}-{} {}",
            occurrence.start.format("%a %Y-%m-%d %H:%M"),
            occurrence.end.format("%H:%M"),
            occurrence.start.format("%:z")
        )
    };
    let conflict = if conflict {
        " (one of several versions)"
    } else {
        ""
    };
    format!("{when}  {title}  [{}]{conflict}", occurrence.id())
}

/// Writes `bytes` to `path` through a temporary file in the same folder, so a failure leaves
/// no half-written file behind.
fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("{}: cannot write there", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .with_context(|| format!("{}: cannot write", path.display()))?;
    // Temporary files are private; what the user asked for is an ordinary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    file.persist(path)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// Writes a map document version and prints its entry hash.
fn write_doc(
    store: &mut Store,
    views: &Views,
    doc: &serde_json::Value,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let hash = write_drafts(store, vec![map::put_draft(views, doc)?], json)?[0];
    print_written(
        out,
        json,
        json!({ "id": doc["id"], "hash": hash }),
        &hash.to_string(),
    )
}

/// Appends entries for a view command and brings the views up to date before returning.
fn write_drafts(store: &mut Store, drafts: Vec<Draft>, json: bool) -> Result<Vec<Hash>> {
    let hashes = store.append(drafts)?;
    catch_up(store, json)?;
    Ok(hashes)
}

fn print_written(
    out: &mut impl Write,
    json: bool,
    value: serde_json::Value,
    text: &str,
) -> Result<ExitCode> {
    if json {
        writeln!(out, "{value}")?;
    } else {
        writeln!(out, "{text}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn fsck(store: &mut Store, repair: bool, json: bool, out: &mut impl Write) -> Result<ExitCode> {
    let progress = spinner("checking the store", json);
    let mut report = mule::fsck::check(store)?;
    let mut repaired = 0;
    if repair && report.problems.iter().any(|p| p.repairable) {
        repaired = mule::fsck::repair(store, &report)?;
        report = mule::fsck::check(store)?;
    }
    finish(progress);
    let clean = report.problems.is_empty();
    if json {
        let mut value = serde_json::to_value(&report)?;
        value["repaired"] = json!(repaired);
        value["clean"] = json!(clean);
        writeln!(out, "{value}")?;
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
            writeln!(out, "repaired {repaired} problems")?;
        }
        writeln!(
            out,
            "checked {} entries in {} segment rows and {} blob objects: {}",
            report.entries,
            report.segments,
            report.objects,
            if clean {
                "no problems".to_owned()
            } else {
                format!("{} problems", report.problems.len())
            }
        )?;
    }
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn reindex(store: &Store, json: bool, out: &mut impl Write) -> Result<ExitCode> {
    let mut views = Views::open(store.dir())?;
    let progress = spinner("rebuilding views", json);
    let started = std::time::Instant::now();
    let done = views.rebuild(store)?;
    finish(progress);
    let ms = started.elapsed().as_millis();
    if json {
        writeln!(out, "{}", json!({ "entries": done.entries, "ms": ms }))?;
    } else {
        writeln!(
            out,
            "rebuilt views from {} entries in {ms} ms",
            done.entries
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn id(
    store: &mut Store,
    confirm_move: bool,
    new_key: bool,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    if new_key {
        store.new_key()?;
    } else if confirm_move {
        store.confirm_home()?;
    }
    let author = store.author();
    if json {
        let value = json!({ "author": author, "store": store.dir() });
        writeln!(out, "{value}")?;
    } else {
        writeln!(out, "{author}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn append(
    store: &mut Store,
    kind: String,
    body: &str,
    links: Vec<Hash>,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let drafts = if body == "-" {
        read_drafts(&kind, &links)?
    } else {
        let value: serde_json::Value =
            serde_json::from_str(body).context("the body is not valid JSON")?;
        vec![Draft {
            kind,
            body: body_from_json(&value)?,
            links,
            timestamp: now_ms(),
        }]
    };
    if drafts.is_empty() {
        bail!("stdin held no JSON lines, so nothing was appended");
    }
    let progress = spinner(&format!("appending {} entries", drafts.len()), json);
    let hashes = store.append(drafts)?;
    finish(progress);
    let author = store.author();
    let last_seq = store.frontier()?.get(&author).copied().unwrap_or(0);
    let first_seq = last_seq + 1 - hashes.len() as u64;
    let last = hashes.last().expect("at least one entry was appended");
    if body != "-" {
        if json {
            let value = json!({ "hash": last, "author": author, "seq": last_seq });
            writeln!(out, "{value}")?;
        } else {
            writeln!(out, "{last}")?;
        }
    } else if json {
        let value = json!({
            "appended": hashes.len(), "author": author,
            "first_seq": first_seq, "last_seq": last_seq, "last_hash": last,
        });
        writeln!(out, "{value}")?;
    } else {
        writeln!(
            out,
            "appended {} entries (seq {first_seq}..{last_seq}), last {last}",
            hashes.len()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn read_drafts(kind: &str, links: &[Hash]) -> Result<Vec<Draft>> {
    let timestamp = now_ms();
    let mut drafts = Vec::new();
    for (number, line) in io::stdin().lock().lines().enumerate() {
        let line = line.context("cannot read stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&line).with_context(|| {
            format!(
                "stdin line {}: not valid JSON; nothing was appended",
                number + 1
            )
        })?;
        let body = body_from_json(&value)
            .with_context(|| format!("stdin line {}; nothing was appended", number + 1))?;
        drafts.push(Draft {
            kind: kind.to_owned(),
            body,
            links: links.to_vec(),
            timestamp,
        });
    }
    Ok(drafts)
}

fn log(
    store: &Store,
    author: Option<&AuthorId>,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    store.for_each_segment::<anyhow::Error>(author, |segment, hashes| {
        for (hash, entry) in segment.to_entries(hashes) {
            let body = entry.body_json()?;
            if json {
                let value = json!({
                    "hash": hash, "author": entry.author, "seq": entry.seq, "prev": entry.prev,
                    "links": entry.links, "timestamp": entry.timestamp, "kind": entry.kind,
                    "body": body,
                });
                writeln!(out, "{value}")?;
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

fn status(store: &Store, json: bool, out: &mut impl Write) -> Result<ExitCode> {
    let status = store.status()?;
    let current = project::load(store)?;
    let incomplete: Vec<_> = mule::blob::list(store)?
        .into_iter()
        .filter(|listed| listed.missing > 0)
        .collect();
    if json {
        let mut value = serde_json::to_value(&status)?;
        value["incomplete_blobs"] = json!(incomplete
            .iter()
            .map(|l| json!({ "hash": l.blob.hash, "name": l.blob.name, "missing": l.missing, "chunks": l.blob.chunks }))
            .collect::<Vec<_>>());
        value["project"] = current.map_or(
            serde_json::Value::Null,
            |p| json!({ "id": p.id, "name": p.name, "role": p.role().as_str() }),
        );
        writeln!(out, "{value}")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "store    {}", status.store.display())?;
    writeln!(out, "author   {}", status.author)?;
    if let Some(p) = current {
        let role = p.role().as_str();
        writeln!(
            out,
            "project  \"{}\" ({}), this device is a {role}",
            p.name,
            p.id.short()
        )?;
    }
    writeln!(
        out,
        "entries  {} from {} authors",
        status.entries, status.authors
    )?;
    writeln!(
        out,
        "waiting  {} (their predecessors have not arrived yet)",
        status.waiting
    )?;
    writeln!(out, "imported {} bundles", status.bundles_imported)?;
    for listed in &incomplete {
        writeln!(
            out,
            "INCOMPLETE blob {} ({}): {} of {} chunks have not arrived",
            listed.blob.hash.short(),
            listed.blob.name,
            listed.missing,
            listed.blob.chunks
        )?;
    }
    for (author, seq) in &status.frontier {
        let me = if *author == status.author {
            " (this store)"
        } else {
            ""
        };
        writeln!(out, "  {author} up to seq {seq}{me}")?;
    }
    for branches in status.forks.chunk_by(|a, b| a.author == b.author) {
        for fork in branches.iter().take(FORK_LINES_PER_AUTHOR) {
            writeln!(
                out,
                "FORK: author {} signed two different entries at seq {} (ours {}, theirs {}); both are kept",
                fork.author,
                fork.seq,
                fork.ours.map_or("-".to_owned(), |h| h.short()),
                fork.theirs.short()
            )?;
        }
        if let Some(more) = branches
            .len()
            .checked_sub(FORK_LINES_PER_AUTHOR)
            .filter(|n| *n > 0)
        {
            writeln!(
                out,
                "  ... and {more} more branches of author {} (`mule status --json` lists them)",
                branches[0].author
            )?;
        }
    }
    for peer in &status.peers {
        writeln!(
            out,
            "peer {} acknowledged {} entries; lacks {} of ours",
            peer.peer,
            peer.frontier.values().sum::<u64>(),
            peer.lacks
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn export(
    store: &Store,
    output: &Path,
    selection: &Selection,
    options: &bundle::Options,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let after = if selection.all {
        Frontier::new()
    } else if let Some(since) = &selection.since {
        since.clone()
    } else if let Some(peer) = &selection.peer {
        store.peer_frontier(peer)?.ok_or_else(|| {
            anyhow!(
                "no bundle from peer {peer} has been imported here, so what it holds is unknown"
            )
        })?
    } else {
        store.acknowledged_by_all()?
    };
    let progress = spinner("writing bundle", json);
    let written =
        bundle::write_bundles(store, &after, &Coverage::default(), output, false, options)?;
    finish(progress);
    for written in &written {
        if json {
            let value = json!({
                "path": written.path, "id": written.id, "entries": written.manifest.entries,
                "segments": written.manifest.segments.len(), "objects": written.manifest.objects.len(),
                "bytes": written.size,
            });
            writeln!(out, "{value}")?;
            continue;
        }
        let what = match (written.manifest.entries, written.manifest.objects.len()) {
            (0, 0) => "no entries; it still tells the receiver what this store holds".to_owned(),
            (entries, 0) => format!("{entries} entries"),
            (entries, objects) => format!("{entries} entries, {objects} blob chunks"),
        };
        writeln!(
            out,
            "wrote {} ({what}, {} bytes)",
            written.path.display(),
            written.size
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn blob(
    store: &mut Store,
    command: BlobCommand,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    match command {
        BlobCommand::Add { files, kind, meta } => {
            let meta = meta
                .map(|text| serde_json::from_str(&text).map_err(|_| mule::blob::Error::Meta))
                .transpose()?;
            for file in &files {
                let progress = spinner(&format!("adding {}", file.display()), json);
                let added = mule::blob::add(store, file, kind.as_deref(), meta.clone())?;
                finish(progress);
                if json {
                    let mut value = serde_json::to_value(&added)?;
                    value["path"] = json!(file);
                    writeln!(out, "{value}")?;
                } else {
                    writeln!(
                        out,
                        "{}: {} ({} bytes, {} chunks, {} new)",
                        file.display(),
                        added.hash,
                        added.size,
                        added.chunks,
                        added.new_chunks
                    )?;
                }
            }
        }
        BlobCommand::Get { hash, output } => {
            let blob = mule::blob::get(store, &hash, &output)?;
            if json {
                writeln!(
                    out,
                    "{}",
                    json!({ "hash": hash, "path": output, "size": blob.size, "name": blob.name })
                )?;
            } else {
                writeln!(
                    out,
                    "wrote {} ({}, {} bytes, checked)",
                    output.display(),
                    blob.name,
                    blob.size
                )?;
            }
        }
        BlobCommand::Ls => {
            for listed in mule::blob::list(store)? {
                if json {
                    let mut value = serde_json::to_value(&listed)?;
                    value["complete"] = json!(listed.missing == 0);
                    writeln!(out, "{value}")?;
                    continue;
                }
                let state = match listed.missing {
                    0 => "complete".to_owned(),
                    n => format!("{n} of {} chunks missing", listed.blob.chunks),
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

fn import(
    store: &mut Store,
    paths: &[PathBuf],
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
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
    let progress = spinner(&format!("importing {} bundles", files.len()), json);
    let imported = bundle::import_batch(store, &files, bundle::import_bundle);
    finish(progress);
    let results: Vec<_> = files.iter().zip(imported).collect();
    for (_, result) in &results {
        summary.add(result);
        if let Err(e) = result {
            eprintln!("error: {e}");
        }
    }
    if json {
        let files: Vec<_> = results
            .iter()
            .map(|(path, result)| file_json(path, result))
            .collect();
        let mut value = serde_json::to_value(&summary)?;
        value["files"] = json!(files);
        writeln!(out, "{value}")?;
    } else {
        if summary.fork_dropped > 0 {
            warn_fork_dropped(store, summary.fork_dropped)?;
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
        let hint = if errors.iter().any(|e| is_disk_full(*e)) {
            Some(DISK_FULL_HINT)
        } else if errors.iter().any(|e| is_read_only(*e)) {
            Some(READ_ONLY_HINT)
        } else if errors.iter().any(|e| bundle_hint(e).is_some()) {
            Some(
                "rejected bundles were not applied (the store is unchanged by them); ask the sender for a fresh copy",
            )
        } else {
            None
        };
        if let Some(hint) = hint.filter(|_| !json) {
            eprintln!("hint: {hint}");
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
        "warning: {dropped} entries of author {} were not kept: the author has more than {} conflicting branches (a broken or hostile device)",
        authors.join(", "),
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

fn summary_line(summary: &Summary) -> String {
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
        "{} bundles read ({} already imported{skipped}): {} new, {} duplicate, {} waiting, {} rejected{}{}{}{}",
        summary.bundles,
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
            "; {claims} bundles claimed more of this store's own entries than it wrote (ignored)"
        )
    }
}

fn objects_note(objects: u64) -> String {
    if objects == 0 {
        String::new()
    } else {
        format!(", {objects} new blob chunks")
    }
}

fn file_json(path: &Path, result: &Result<Imported, bundle::Error>) -> serde_json::Value {
    match result {
        Ok(Imported::AlreadyImported { id }) => {
            json!({ "path": path, "id": id, "status": "already-imported" })
        }
        Ok(Imported::Applied {
            id,
            outcome,
            manifest,
            left_out,
            objects,
            impossible_claim,
        }) => json!({
            "path": path, "id": id, "status": "imported", "sender": manifest.sender,
            "new": outcome.new, "duplicate": outcome.duplicate, "waiting": outcome.waiting,
            "forked": outcome.forked, "fork_dropped": outcome.fork_dropped,
            "left_out": left_out, "objects": objects,
            "signed": manifest.format >= bundle::SIGNED_FORMAT,
            "impossible_claim": impossible_claim,
        }),
        Ok(Imported::RefusedBefore { id, author }) => {
            json!({ "path": path, "id": id, "status": "refused-before", "author": author })
        }
        Ok(Imported::Vanished) => json!({ "path": path, "status": "vanished" }),
        Err(e) => json!({ "path": path, "status": "rejected", "error": e.reason.to_string() }),
    }
}

fn verify(
    bundles: &[PathBuf],
    key: Option<&age::x25519::Identity>,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let mut failed = 0;
    for path in bundles {
        let mut segments = 0u64;
        let result = bundle::read_bundle_with(path, key, None, |_| {
            segments += 1;
            Ok(())
        });
        match &result {
            Ok(info) if json => writeln!(
                out,
                "{}",
                json!({ "path": path, "ok": true, "id": info.id, "entries": info.manifest.entries,
                        "segments": segments, "sender": info.manifest.sender,
                        "encrypted": info.sealed, "signed": info.signed() })
            )?,
            Ok(info) => writeln!(
                out,
                "{}: ok ({}{} entries in {segments} segments from {}{}, id {})",
                path.display(),
                if info.sealed { "encrypted, " } else { "" },
                info.manifest.entries,
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
                    let value = json!({ "path": path, "ok": false, "error": e.reason.to_string() });
                    writeln!(out, "{value}")?;
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

fn inspect(
    path: &Path,
    key: Option<&age::x25519::Identity>,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let info = bundle::read_manifest_with(path, key)?;
    let manifest = &info.manifest;
    if json {
        let mut value = serde_json::to_value(manifest)?;
        value["id"] = json!(info.id);
        value["bytes"] = json!(info.size);
        value["encrypted"] = json!(info.sealed);
        value["frontier"] = json!(manifest.frontier);
        value["segments"] = json!(manifest
            .segments
            .iter()
            .map(|r| json!({ "kind": r.kind, "author": r.author, "first": r.first, "last": r.last }))
            .collect::<Vec<_>>());
        writeln!(out, "{value}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let sealed = if info.sealed { ", encrypted" } else { "" };
    writeln!(out, "bundle   {} ({} bytes{sealed})", info.id, info.size)?;
    let signing = if manifest.format >= bundle::SIGNED_FORMAT {
        "signed by the sender; `mule verify` checks the signature"
    } else {
        "unsigned: its frontier is not taken as the sender's word"
    };
    writeln!(out, "format   {} ({signing})", manifest.format)?;
    writeln!(out, "sender   {}", manifest.sender)?;
    writeln!(out, "created  {} ms since the Unix epoch", manifest.created)?;
    writeln!(
        out,
        "entries  {} in {} segments, {} bytes uncompressed",
        manifest.entries,
        manifest.segments.len(),
        manifest.payload
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

fn sync(
    store: &mut Store,
    dir: &Path,
    compact: bool,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let options = folder::Options {
        compact,
        wait: Duration::from_secs(5),
    };
    let progress = spinner(&format!("syncing with {}", dir.display()), json);
    let report = folder::sync(store, dir, &options)?;
    finish(progress);
    for rejection in &report.rejections {
        eprintln!("error: {rejection}");
    }
    if json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else if report.skipped {
        writeln!(out, "skipped: another mule sync is running on this store")?;
    } else {
        let written = match &report.written {
            Some(path) => format!("wrote {} ({} entries)", path.display(), report.exported),
            None => "nothing new to write".to_owned(),
        };
        let removed = if report.removed.is_empty() {
            String::new()
        } else {
            format!("; removed {} bundles it replaces", report.removed.len())
        };
        writeln!(
            out,
            "{}; {written}{removed}",
            summary_line(&report.imported)
        )?;
    }
    Ok(if report.imported.rejected > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Where a live sync goes.
enum Target<'a> {
    Stdio,
    Tcp(&'a str),
    Ws(&'a str),
}

fn live_sync(
    store: &mut Store,
    target: Target<'_>,
    args: &LiveArgs,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let report = live_report(store, &target, args)?;
    let line = if json {
        serde_json::to_string(&report)?
    } else {
        live_line(&report)
    };
    // On stdin/stdout the protocol owns stdout: the report goes to stderr.
    match target {
        Target::Stdio => eprintln!("{line}"),
        Target::Tcp(_) | Target::Ws(_) => writeln!(out, "{line}")?,
    }
    Ok(ExitCode::SUCCESS)
}

fn live_report(store: &mut Store, target: &Target<'_>, args: &LiveArgs) -> Result<live::Report> {
    let options = args.options();
    let report = match *target {
        Target::Stdio => {
            let mut stream = live::transport::stdio(args.timeout());
            live::sync(store, &mut stream, &options).context("sync with the peer on stdin")
        }
        Target::Tcp(url) => {
            let mut stream = live::transport::connect_tcp(url, args.timeout())
                .with_context(|| format!("cannot connect to {url}"))?;
            live::sync(store, &mut stream, &options).with_context(|| format!("sync with {url}"))
        }
        Target::Ws(url) => {
            let mut stream = live::ws::connect(url, args.timeout())
                .with_context(|| format!("cannot connect to {url}"))?;
            live::sync(store, &mut stream, &options).with_context(|| format!("sync with {url}"))
        }
    }?;
    Ok(report)
}

/// `mule sync --lan`: every announced store, one after another.
fn lan_sync(
    store: &mut Store,
    wait: Duration,
    args: &LiveArgs,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let progress = spinner("looking for stores on the local network", json);
    let peers = live::lan::discover(&store.author(), wait)?;
    finish(progress);
    if peers.is_empty() {
        bail!(
            "no mule store announced itself on the local network within {} s; start one with `mule serve --listen 0.0.0.0:7777 --announce`",
            wait.as_secs()
        );
    }
    let mut failed = 0;
    for peer in &peers {
        let result = peer
            .addrs
            .iter()
            .find_map(|addr| live::transport::connect_tcp(&addr.to_string(), args.timeout()).ok())
            .ok_or_else(|| anyhow!("none of its addresses answered"))
            .and_then(|mut stream| Ok(live::sync(store, &mut stream, &args.options())?));
        match result {
            Ok(report) if json => writeln!(out, "{}", serde_json::to_string(&report)?)?,
            Ok(report) => writeln!(out, "{}", live_line(&report))?,
            Err(e) => {
                failed += 1;
                eprintln!(
                    "error: sync with {} on the local network: {}",
                    peer.author.short(),
                    one_line(&e)
                );
            }
        }
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn live_line(report: &live::Report) -> String {
    format!(
        "synced with {}: sent {} entries ({} bytes); received {} bytes: {}",
        report.peer.short(),
        report.sent,
        report.sent_bytes,
        report.received_bytes,
        summary_line(&report.received)
    )
}

/// Where `mule serve` takes peers.
struct Listen {
    tcp: Option<String>,
    ws: Option<String>,
    announce: bool,
}

fn bind(addr: &str) -> Result<std::net::TcpListener> {
    std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))
}

fn serve(
    store: &Store,
    listen: &Listen,
    settings: &live::transport::Serve,
    json: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let tcp = listen.tcp.as_deref().map(bind).transpose()?;
    let ws = listen.ws.as_deref().map(bind).transpose()?;
    let port = |listener: &Option<std::net::TcpListener>| {
        listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
    };
    for (scheme, listener) in [("tcp", &tcp), ("ws", &ws)] {
        if let Some(addr) = listener.as_ref().map(|l| l.local_addr()).transpose()? {
            eprintln!("serving {} on {scheme}://{addr}", store.dir().display());
        }
    }
    let _announcement = if listen.announce {
        let tcp_port = port(&tcp).ok_or_else(|| {
            anyhow!("--announce needs --listen: `mule sync --lan` connects over TCP")
        })?;
        Some(live::lan::announce(&store.author(), tcp_port, port(&ws))?)
    } else {
        None
    };
    // Server threads hand each peer's line to this thread, which owns stdout.
    let (lines, printed) = std::sync::mpsc::channel::<(bool, String)>();
    let report = |addr: std::net::SocketAddr, result: Result<live::Report, live::Error>| {
        let line = match (&result, json) {
            (Ok(report), true) => serde_json::to_string(report).unwrap_or_default(),
            (Ok(report), false) => format!("{addr}: {}", live_line(report)),
            (Err(e), true) => json!({ "peer_address": addr, "error": e.to_string() }).to_string(),
            (Err(e), false) => format!("{addr}: error: {e}"),
        };
        let _ = lines.send((result.is_ok(), line));
    };
    let dir = store.dir();
    let mut failures = 0;
    std::thread::scope(|scope| {
        let tcp = tcp.as_ref().map(|listener| {
            scope.spawn(|| live::transport::serve(dir, listener, settings, Ok, report))
        });
        let ws = ws.as_ref().map(|listener| {
            scope
                .spawn(|| live::transport::serve(dir, listener, settings, live::ws::accept, report))
        });
        let servers: Vec<_> = [tcp, ws].into_iter().flatten().collect();
        while servers.iter().any(|s| !s.is_finished()) {
            if let Ok((ok, line)) = printed.recv_timeout(Duration::from_millis(200)) {
                failures += usize::from(!ok);
                writeln!(out, "{line}")?;
                out.flush()?;
            }
        }
        for (ok, line) in printed.try_iter() {
            failures += usize::from(!ok);
            writeln!(out, "{line}")?;
        }
        for server in servers {
            server.join().expect("a server thread does not panic")?;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(if failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn parse_frontier(text: &str) -> Result<Frontier, String> {
    let text = text.trim();
    if text.starts_with('{') {
        return serde_json::from_str(text).map_err(|e| format!("not a frontier object: {e}"));
    }
    text.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (author, seq) = part
                .split_once(':')
                .ok_or_else(|| format!("`{part}` is not <author-id>:<seq>"))?;
            let author = author.parse::<AuthorId>().map_err(|e| e.to_string())?;
            let seq = seq
                .trim()
                .parse::<u64>()
                .map_err(|e| format!("`{seq}`: {e}"))?;
            Ok((author, seq))
        })
        .collect()
}

fn spinner(message: &str, json: bool) -> Option<indicatif::ProgressBar> {
    if json || !io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner().with_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}

fn finish(progress: Option<indicatif::ProgressBar>) {
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
}

/// The error and its causes on one line, skipping causes whose text the line already holds
/// (library errors often include their source in their own message).
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}

/// Whether the error is our output pipe closing (`mule log | head`), which is no failure. A
/// live peer hanging up is one, even when it shows as a broken pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let live = e
        .chain()
        .any(|cause| cause.downcast_ref::<live::Error>().is_some());
    !live
        && e.chain().any(|cause| {
            cause
                .downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
        })
}

/// What to say when a write failed for lack of space.
const DISK_FULL_HINT: &str = "the disk is full; nothing was changed: free some space (or use another folder) and run the command again";

/// Whether an error, or one of its causes, is a full disk or file system.
fn is_disk_full(e: &(dyn std::error::Error + 'static)) -> bool {
    caused_by(e, io::ErrorKind::StorageFull, rusqlite::ErrorCode::DiskFull)
}

/// Whether an error, or one of its causes, is an I/O error of `kind` or an SQLite error of
/// `code` (SQLite reports a full disk or a read-only file in its own words).
fn caused_by(
    e: &(dyn std::error::Error + 'static),
    kind: io::ErrorKind,
    code: rusqlite::ErrorCode,
) -> bool {
    std::iter::successors(Some(e), |e| e.source()).any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == kind)
            || cause
                .downcast_ref::<rusqlite::Error>()
                .and_then(rusqlite::Error::sqlite_error_code)
                == Some(code)
    })
}

/// What to do when the store cannot be written.
const READ_ONLY_HINT: &str = "the store's files cannot be written (a write-protected stick, or a store of another user); nothing was changed: run mule as the store's owner, or copy the store somewhere writable";

/// Whether the failure is a store (or file) that may not be written.
fn is_read_only(e: &(dyn std::error::Error + 'static)) -> bool {
    caused_by(
        e,
        io::ErrorKind::ReadOnlyFilesystem,
        rusqlite::ErrorCode::ReadOnly,
    )
}

/// What to do about a refused bundle, unless its message already says.
fn bundle_hint(e: &bundle::Error) -> Option<&'static str> {
    match *e.reason {
        bundle::Reason::Store(_) if is_read_only(e) => Some(READ_ONLY_HINT),
        bundle::Reason::Store(_) => None,
        bundle::Reason::NotMember { .. }
        | bundle::Reason::Sealed(
            bundle::sealed::Problem::NoKey | bundle::sealed::Problem::WrongKey,
        )
        | bundle::Reason::Project(_) => None,
        _ => Some(
            "check the path; a refused bundle changes nothing in the store, so ask the sender for a fresh copy",
        ),
    }
}

fn hint(e: &anyhow::Error) -> Option<&'static str> {
    if e.chain().any(is_disk_full) {
        return Some(DISK_FULL_HINT);
    }
    if e.chain().any(is_read_only) {
        return Some(READ_ONLY_HINT);
    }
    for cause in e.chain() {
        if let Some(store::Error::Moved { .. }) = cause.downcast_ref::<store::Error>() {
            return Some(
                "if the store was moved on purpose and the old copy will never be used again, run \
                 `mule id --confirm-move`; if both copies may be used, run `mule id --new-key` here \
                 so this copy writes as a new author",
            );
        }
        if let Some(store::Error::Db { .. }) = cause.downcast_ref::<store::Error>() {
            return Some(
                "another mule may hold the store, or the disk may be full; try again, and check free space",
            );
        }
        if let Some(folder::Error::Folder { .. }) = cause.downcast_ref::<folder::Error>() {
            return Some("check that the stick or share is mounted and the folder path is right");
        }
        if let Some(e) = cause.downcast_ref::<bundle::Error>() {
            return bundle_hint(e);
        }
        if cause.downcast_ref::<mule::entry::Error>().is_some() {
            return Some("nothing was appended; fix the input and run the command again");
        }
    }
    None
}
