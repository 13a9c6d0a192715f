//! Live sync against the file route (run: `cargo bench --bench live`). Prints a Markdown table
//! for the README.
//!
//! A store of 1,000,000 entries (~100-byte JSON bodies, as in `scripts/bench.sh`) syncs with an
//! empty store over TCP on 127.0.0.1, both ends in this process, each on its own thread. The
//! baseline is what a person does with a stick: `write_bundle` to a file, then `import_bundle`
//! from it into an empty store. Then a sync with nothing to send between two stores that
//! already hold the same million entries, with and without the TCP connection setup; and the
//! file route between two stores of a project, where the bundle is sealed with age.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use mule::bundle::{Coverage, import_bundle, write_bundle};
use mule::entry::body_from_json;
use mule::live::{self, Options};
use mule::store::{Draft, Frontier, Store};

const N: usize = 1_000_000;
const RUNS: usize = 3;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let work = tempfile::tempdir()?;
    let mut source = Store::open(&work.path().join("source"))?;
    fill(&mut source)?;
    drop(source);
    let source_dir = work.path().join("source");

    // The same million entries in a project: bundles sealed to the project's key (age).
    let mut root = Store::open(&work.path().join("root"))?;
    mule::project::create(&mut root, "Bench")?;
    let invite = mule::project::invite(&mut root, mule::project::Role::Member, 3600)?;
    fill(&mut root)?;
    drop(root);
    let root_dir = work.path().join("root");

    let mut file_times = Vec::new();
    let mut live_times = Vec::new();
    let mut sealed_times = Vec::new();
    for run in 0..RUNS {
        file_times.push(file_route(
            &source_dir,
            &work.path().join(format!("file-{run}")),
            None,
        )?);
        live_times.push(live_route(
            &source_dir,
            &work.path().join(format!("live-{run}")),
        )?);
        let member = work.path().join(format!("member-{run}"));
        mule::project::join(&mut Store::open(&member)?, &invite)?;
        sealed_times.push(file_route(&root_dir, &member, Some(2))?);
    }
    // Two stores holding the same million entries: nothing to send either way.
    let twin = work.path().join(format!("live-{}", RUNS - 1));
    let mut idle = Vec::new();
    let mut idle_with_connect = Vec::new();
    for _ in 0..10 {
        let (with_connect, sync_only) = timed_sync(&source_dir, &twin)?;
        idle_with_connect.push(with_connect);
        idle.push(sync_only);
    }
    let best = |times: &[Duration]| times.iter().min().copied().unwrap_or_default();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (file, live_best) = (best(&file_times), best(&live_times));
    println!("| measurement ({N} entries, best of {RUNS}) | time |");
    println!("|---|---|");
    println!(
        "| export to a file + import from it into an empty store | {:.0} ms |",
        ms(file)
    );
    println!(
        "| live sync over TCP 127.0.0.1 into an empty store | {:.0} ms ({:.2}x the file route) |",
        ms(live_best),
        ms(live_best) / ms(file)
    );
    println!(
        "| live sync with nothing to send (best of 10) | {:.1} ms; {:.1} ms with the TCP connection |",
        ms(best(&idle)),
        ms(best(&idle_with_connect))
    );
    let sealed = best(&sealed_times);
    println!(
        "| the file route in a project (bundle sealed with age, opened in two passes) | {:.0} ms ({:.2}x plain) |",
        ms(sealed),
        ms(sealed) / ms(file)
    );
    Ok(())
}

/// Export to a file, then import it into the store at `dest`, which must end up with N entries
/// plus `extra` (a project's create and invite entries).
fn file_route(source: &Path, dest: &Path, extra: Option<u64>) -> Result<Duration> {
    let store = Store::open(source)?;
    let mut target = Store::open(dest)?;
    let file = dest.with_extension("mule");
    let started = Instant::now();
    write_bundle(&store, &Frontier::new(), &Coverage::default(), &file, false)?;
    import_bundle(&mut target, &file)?;
    let took = started.elapsed();
    let own = target
        .frontier()?
        .get(&target.author())
        .copied()
        .unwrap_or(0);
    assert_eq!(
        target.frontier()?.values().sum::<u64>() - own,
        N as u64 + extra.unwrap_or(0)
    );
    Ok(took)
}

/// A live sync over loopback TCP into a new store at `dest`.
fn live_route(source: &Path, dest: &Path) -> Result<Duration> {
    let (took, _) = timed_sync(source, dest)?;
    let target = Store::open(dest)?;
    assert_eq!(target.frontier()?.values().sum::<u64>(), N as u64);
    Ok(took)
}

/// Syncs the stores at `server` and `client` over TCP; returns the time including the
/// connection and the time of the protocol alone (as the client saw both).
fn timed_sync(server: &Path, client: &Path) -> Result<(Duration, Duration)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut server_store = Store::open(server)?;
    let mut client_store = Store::open(client)?;
    std::thread::scope(|scope| -> Result<(Duration, Duration)> {
        let serving = scope.spawn(move || -> std::result::Result<(), String> {
            let (mut stream, _) = listener.accept().map_err(|e| e.to_string())?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            live::sync(&mut server_store, &mut stream, &Options::default())
                .map(drop)
                .map_err(|e| e.to_string())
        });
        let started = Instant::now();
        let mut stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        let connected = Instant::now();
        live::sync(&mut client_store, &mut stream, &Options::default())?;
        let done = Instant::now();
        serving.join().map_err(|_| "server thread panicked")??;
        Ok((done - started, done - connected))
    })
}

/// Appends the million entries (~100-byte kv bodies), in batches of 100,000.
fn fill(store: &mut Store) -> Result<()> {
    for chunk in 0..N / 100_000 {
        let drafts = (chunk * 100_000..(chunk + 1) * 100_000)
            .map(|i| {
                let body = serde_json::json!({"k": format!("sensor-{}", i % 5000), "v": i, "t": "2026-11-25T10:00:00Z", "ok": true});
                Ok(Draft {
                    kind: "kv".into(),
                    body: body_from_json(&body)?,
                    links: vec![],
                    timestamp: 1_795_000_000_000 + i as u64,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        store.append(drafts)?;
    }
    Ok(())
}
