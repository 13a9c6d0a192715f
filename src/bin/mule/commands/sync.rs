//! `mule sync` (a folder, a live peer, the stores on the local network) and `mule serve`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use mule::report;

use mule::replica::{self, Replica};
use mule::{AuthorId, folder, live};

use super::bundles::summary_line;
use super::{Context, parse_size};
use crate::output::{count, finish, one_line, reporter, spinner};

/// `mule sync`.
#[derive(Args)]
pub struct SyncArgs {
    /// The folder, s3://BUCKET/PREFIX (or gs://, az://, https://), `-`,
    /// ssh://[USER@]HOST[:PORT]/PATH, tcp://HOST:PORT or ws://HOST:PORT
    #[arg(value_name = "TARGET", required_unless_present_any = ["lan", "exec"])]
    target: Option<String>,
    /// Sync with the `mule sync -` this shell command runs, over its stdin and stdout: `mule
    /// sync --exec 'mule --store B sync -'` syncs two stores on this machine
    #[arg(long, value_name = "COMMAND", conflicts_with_all = ["target", "compact", "lan"])]
    exec: Option<String>,
    /// Where mule is on the remote side of ssh:// [default: mule]
    #[arg(long, value_name = "PATH", env = "MULE_REMOTE")]
    remote_mule: Option<String>,
    /// The ssh command for ssh://, run by `sh -c` with ssh's arguments after it (such as `ssh
    /// -i ~/.ssh/camp`) [default: ssh]
    #[arg(long, value_name = "COMMAND", env = "MULE_SSH")]
    ssh: Option<String>,
    /// Replace the folder's bundles with one bundle of what not every known peer holds (folders
    /// only; other stores' acknowledgements stay)
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
}

impl SyncArgs {
    /// Whether the live protocol runs on stdin/stdout (`mule sync -`).
    pub fn is_stdio(&self) -> bool {
        self.target.as_deref() == Some("-")
    }
}

/// `mule serve`.
#[derive(Args)]
pub struct ServeArgs {
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
}

/// Options of a live sync, on either side.
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

/// `mule sync`: a folder, a live peer, or every store announced on the local network.
pub fn sync(args: SyncArgs, context: &mut Context<'_>) -> Result<ExitCode> {
    let mut replica = context.replica()?;
    let (json, out) = (context.json, &mut *context.out);
    let live = &args.live;
    if args.lan {
        return lan_sync(
            &mut replica,
            Duration::from_secs(args.wait),
            live,
            json,
            out,
        );
    }
    if let Some(command) = &args.exec {
        let peer = Target::Command(live::command::Peer::exec(command));
        return live_sync(&mut replica, peer, live, json, out);
    }
    match args.target.as_deref().unwrap_or_default() {
        "-" => live_sync(&mut replica, Target::Stdio, live, json, out),
        url if url.starts_with("ssh://") => {
            let url = live::command::SshUrl::parse(url)?;
            let peer =
                live::command::Peer::ssh(&url, args.ssh.as_deref(), args.remote_mule.as_deref());
            live_sync(&mut replica, Target::Command(peer), live, json, out)
        }
        url if url.starts_with("tcp://") => {
            live_sync(&mut replica, Target::Tcp(url), live, json, out)
        }
        url if url.starts_with("ws://") || url.starts_with("wss://") => {
            live_sync(&mut replica, Target::Ws(url), live, json, out)
        }
        url if mule::bucket::is_bucket_url(url) => {
            bucket_sync(&mut replica, url, args.compact, context)
        }
        dir => folder_sync(&mut replica, Path::new(dir), args.compact, context),
    }
}

fn folder_sync(
    replica: &mut Replica,
    dir: &Path,
    compact: bool,
    context: &mut Context<'_>,
) -> Result<ExitCode> {
    let options = folder::Options {
        compact,
        wait: Duration::from_secs(5),
    };
    let mut progress = reporter(context, &format!("syncing with {}", dir.display()));
    let report =
        replica.sync_folder_with_progress(dir, &options, &mut |p| progress.update(&p.overall()))?;
    progress.finish();
    let (json, out) = (context.json, &mut *context.out);
    for rejection in &report.rejections {
        eprintln!("error: {rejection}");
    }
    if json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else {
        writeln!(out, "{}", folder_line(&report))?;
    }
    Ok(exit_code(&report))
}

/// `mule sync s3://…`: a bucket as a folder.
fn bucket_sync(
    replica: &mut Replica,
    url: &str,
    compact: bool,
    context: &mut Context<'_>,
) -> Result<ExitCode> {
    let bucket = mule::bucket::Bucket::open(url)?;
    let options = folder::Options {
        compact,
        wait: Duration::from_secs(5),
    };
    let mut progress = reporter(context, &format!("syncing with {url}"));
    let report = replica
        .sync_bucket_with_progress(&bucket, &options, &mut |p| progress.update(&p.overall()))?;
    progress.finish();
    let (json, out) = (context.json, &mut *context.out);
    for rejection in &report.sync.rejections {
        eprintln!("error: {rejection}");
    }
    for skipped in &report.moved.left_alone {
        eprintln!("warning: {url}: left alone: {skipped}");
    }
    if json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else {
        let moved = &report.moved;
        writeln!(
            out,
            "{}; {} downloaded, {} uploaded, {} deleted from the bucket",
            folder_line(&report.sync),
            count(moved.downloaded, "bundle"),
            moved.uploaded,
            moved.deleted
        )?;
    }
    Ok(exit_code(&report.sync))
}

/// What a folder (or bucket) sync did, in one line.
fn folder_line(report: &folder::Report) -> String {
    if report.skipped {
        return "skipped: another mule sync is running on this store".to_owned();
    }
    let written = match &report.written {
        Some(path) if report.acknowledged => {
            format!("wrote acknowledgement {}", path.display())
        }
        Some(path) => format!(
            "wrote {} ({})",
            path.display(),
            count(report.exported, "entry")
        ),
        None => "nothing new to write".to_owned(),
    };
    let removed = if report.removed.is_empty() {
        String::new()
    } else {
        let removed = count(report.removed.len() as u64, "bundle");
        format!("; removed {removed} it replaces")
    };
    format!("{}; {written}{removed}", summary_line(&report.imported))
}

/// A sync that refused a bundle exits 1.
fn exit_code(report: &folder::Report) -> ExitCode {
    if report.imported.rejected > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Where a live sync goes.
enum Target<'a> {
    Stdio,
    /// A program such as ssh, on its stdin and stdout.
    Command(live::command::Peer),
    Tcp(&'a str),
    Ws(&'a str),
}

fn live_sync(
    replica: &mut Replica,
    target: Target<'_>,
    args: &LiveArgs,
    json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let report = live_report(replica, &target, args)?;
    let line = if json {
        serde_json::to_string(&report)?
    } else {
        live_line(&report)
    };
    // On stdin/stdout the protocol owns stdout: the report goes to stderr.
    match target {
        Target::Stdio => eprintln!("{line}"),
        Target::Command(_) | Target::Tcp(_) | Target::Ws(_) => writeln!(out, "{line}")?,
    }
    Ok(ExitCode::SUCCESS)
}

fn live_report(
    replica: &mut Replica,
    target: &Target<'_>,
    args: &LiveArgs,
) -> Result<live::Report> {
    let options = args.options();
    let report = match target {
        Target::Stdio => {
            let mut stream = live::transport::stdio(args.timeout());
            replica
                .live_sync(&mut stream, &options)
                .context("sync with the peer on stdin")
        }
        Target::Command(peer) => Ok(replica.live_sync_command(peer, args.timeout(), &options)?),
        Target::Tcp(url) => {
            let mut stream = live::transport::connect_tcp(url, args.timeout())
                .with_context(|| format!("cannot connect to {url}"))?;
            replica
                .live_sync(&mut stream, &options)
                .with_context(|| format!("sync with {url}"))
        }
        Target::Ws(url) => {
            let mut stream = live::ws::connect(url, args.timeout())
                .with_context(|| format!("cannot connect to {url}"))?;
            replica
                .live_sync(&mut stream, &options)
                .with_context(|| format!("sync with {url}"))
        }
    }?;
    Ok(report)
}

/// `mule sync --lan`: every announced store, one after another.
fn lan_sync(
    replica: &mut Replica,
    wait: Duration,
    args: &LiveArgs,
    json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let progress = spinner("looking for stores on the local network", json);
    let peers = live::lan::discover(&replica.store().author(), wait)?;
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
            .and_then(|mut stream| Ok(replica.live_sync(&mut stream, &args.options())?));
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
        "synced with {}: sent {} ({}); received {}: {}",
        report.peer.short(),
        count(report.sent, "entry"),
        count(report.sent_bytes, "byte"),
        count(report.received_bytes, "byte"),
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

/// `mule serve`: accepts live syncs until stopped (or `--peers` of them).
pub fn serve(args: ServeArgs, context: &mut Context<'_>) -> Result<ExitCode> {
    let replica = context.replica()?;
    let listen = Listen {
        tcp: args.listen,
        ws: args.ws,
        announce: args.announce,
    };
    let settings = live::transport::Serve {
        peers: args.peers,
        max_peers: args.max_peers,
        max_handshakes: args.max_peers.saturating_mul(2),
        handshake_deadline: Duration::from_secs(args.handshake_timeout.max(1)),
        ..live::transport::Serve::new(args.live.options(), args.live.timeout())
    };
    serve_on(&replica, &listen, &settings, context.json, context.out)
}

fn serve_on(
    replica: &Replica,
    listen: &Listen,
    settings: &live::transport::Serve,
    json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let store = replica.store();
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
            (Err(e), true) => serde_json::to_string(&report::PeerFailed {
                peer_address: addr,
                error: e.to_string(),
            })
            .unwrap_or_default(),
            (Err(e), false) => format!("{addr}: error: {e}"),
        };
        let _ = lines.send((result.is_ok(), line));
    };
    let dir = store.dir();
    let mut failures = 0;
    std::thread::scope(|scope| {
        let tcp = tcp
            .as_ref()
            .map(|listener| scope.spawn(|| replica::serve(dir, listener, settings, Ok, report)));
        let ws = ws.as_ref().map(|listener| {
            scope.spawn(|| replica::serve(dir, listener, settings, live::ws::accept, report))
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
