//! Live replication: pipes, child processes, TCP, WebSocket; bad peers; interruptions; and a
//! property test mixing live syncs with bundles.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use assert_cmd::prelude::*;
use mule::live::transport::{Duplex, TimedReader};
use mule::live::{self, Options};
use mule::store::Store;

use super::*;

type PipeEnd = Duplex<TimedReader, std::io::PipeWriter>;

/// Two ends of an in-process duplex pipe.
fn pipe_pair() -> (PipeEnd, PipeEnd) {
    let (r1, w1) = std::io::pipe().expect("pipe");
    let (r2, w2) = std::io::pipe().expect("pipe");
    let end = |r, w| Duplex {
        reader: TimedReader::new(r, Duration::from_secs(30)),
        writer: w,
    };
    (end(r1, w2), end(r2, w1))
}

/// Syncs two library stores through an in-process pipe pair.
fn sync_pair(a: &mut Store, b: &mut Store) -> (live::Report, live::Report) {
    let (mut left, mut right) = pipe_pair();
    std::thread::scope(|scope| {
        let other = scope.spawn(move || live::sync(b, &mut right, &Options::default()));
        let mine = live::sync(a, &mut left, &Options::default()).expect("sync a");
        (mine, other.join().expect("thread").expect("sync b"))
    })
}

fn library_store(work: &Work, name: &str, entries: usize) -> Store {
    let mut store = Store::open(&work.path(name)).expect("open");
    if entries > 0 {
        let drafts = (0..entries)
            .map(|i| mule::store::Draft {
                kind: "kv".into(),
                body: mule::entry::body_from_json(
                    &serde_json::json!({"k": format!("{name}-{i}"), "v": i}),
                )
                .expect("body"),
                links: vec![],
                timestamp: 1_795_000_000_000 + i as u64,
            })
            .collect();
        store.append(drafts).expect("append");
    }
    store
}

#[test]
fn two_and_three_stores_converge_through_in_process_pipes() {
    let work = Work::new();
    let mut a = library_store(&work, "a", 50);
    let mut b = library_store(&work, "b", 30);
    let mut c = library_store(&work, "c", 5);
    let (ab, ba) = sync_pair(&mut a, &mut b);
    assert_eq!((ab.sent, ba.sent), (50, 30));
    assert_eq!(ab.peer_frontier, b.frontier().expect("frontier"));
    sync_pair(&mut b, &mut c);
    sync_pair(&mut c, &mut a);
    let frontier = a.frontier().expect("frontier");
    assert_eq!(frontier.len(), 3);
    assert_eq!(b.frontier().expect("frontier"), frontier);
    assert_eq!(c.frontier().expect("frontier"), frontier);
    // Nothing left to send: both directions carry nothing.
    let (again, back) = sync_pair(&mut a, &mut b);
    assert_eq!((again.sent, back.sent, again.received_bytes), (0, 0, 0));
}

/// Starts `mule sync -` for `store` with the given stdin and stdout.
fn sync_child(store: &Path, stdin: impl Into<Stdio>, stdout: impl Into<Stdio>) -> Child {
    mule(store)
        .args(["--json", "sync", "-"])
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mule sync -")
}

/// Runs `mule sync -` for two stores, each reading what the other writes; returns both reports.
fn sync_children(a: &Path, b: &Path) -> (Value, Value) {
    let (r1, w1) = std::io::pipe().expect("pipe");
    let (r2, w2) = std::io::pipe().expect("pipe");
    let left = sync_child(a, r1, w2);
    let right = sync_child(b, r2, w1);
    (report_of(left), report_of(right))
}

fn report_of(child: Child) -> Value {
    let out = child.wait_with_output().expect("wait");
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");
    serde_json::from_str(text.lines().last().expect("a report line")).expect("JSON report")
}

#[test]
fn two_child_processes_sync_over_their_pipes_and_views_catch_up() {
    let work = Work::new();
    let (a, b) = (work.path("a"), work.path("b"));
    mule(&a)
        .args(["kv", "put", "well-7", "\"dry\""])
        .assert()
        .success();
    mule(&b)
        .args(["kv", "put", "well-8", "\"full\""])
        .assert()
        .success();
    let (left, right) = sync_children(&a, &b);
    assert_eq!((&left["sent"], &right["sent"]), (&1.into(), &1.into()));
    assert_eq!(json(&a, &["kv", "get", "well-8"])["value"], "full");
    assert_eq!(json(&b, &["kv", "get", "well-7"])["value"], "dry");
}

/// A `mule serve` child and the address it listens on.
pub fn serve(store: &Path, args: &[&str]) -> (Child, String) {
    let mut child = mule(store)
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let line = lines.next().expect("a line").expect("utf-8");
    let url = line.rsplit(' ').next().expect("the address").to_owned();
    assert!(url.contains("://127.0.0.1:"), "{line}");
    (child, url)
}

#[test]
fn a_server_takes_many_peers_at_once_over_tcp_and_websocket() {
    let work = Work::new();
    let hub = work.path("hub");
    append_lines(&hub, "kv", &numbered(0, 100));
    let (tcp_server, tcp) = serve(&hub, &["--listen", "127.0.0.1:0", "--peers", "3"]);
    let clients: Vec<PathBuf> = (0..3).map(|i| work.path(&format!("c{i}"))).collect();
    for (i, client) in clients.iter().enumerate() {
        append_lines(client, "kv", &numbered(1000 * (i + 1), 20));
    }
    let running: Vec<Child> = clients
        .iter()
        .map(|client| {
            mule(client)
                .args(["--json", "sync", &tcp])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in running {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", stderr(&out));
        let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(report["received"]["rejected"], 0);
    }
    let served = tcp_server
        .wait_with_output()
        .expect("serve exits after 3 peers");
    assert!(served.status.success(), "{}", stderr(&served));
    assert_eq!(stdout(&served).lines().count(), 3);
    assert_eq!(json(&hub, &["status"])["entries"], 160);
    mule(&hub).arg("fsck").assert().success();

    let (ws_server, ws) = serve(&hub, &["--ws", "127.0.0.1:0", "--peers", "1"]);
    assert!(ws.starts_with("ws://"));
    // What the first client still lacks depends on when its TCP sync ran beside the others'.
    let held = json(&clients[0], &["status"])["entries"]
        .as_u64()
        .expect("entries");
    let report = json(&clients[0], &["sync", &ws]);
    assert_eq!(report["received"]["new"], 160 - held, "{report}");
    assert!(
        ws_server
            .wait_with_output()
            .expect("ws serve")
            .status
            .success()
    );
    assert_eq!(json(&clients[0], &["status"])["entries"], 160);
}

/// A fake peer on a TCP port: runs `behave` on the first connection.
fn fake_peer(behave: impl FnOnce(TcpStream) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("tcp://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            behave(stream);
        }
    });
    url
}

/// Longest a test lets a `mule sync` run, or a server stay silent, before it takes it for hung
/// and fails. Nothing waits for it to pass: it only turns a hang into a failure instead of a
/// stuck test.
const WATCHDOG: Duration = Duration::from_secs(120);

/// Runs `mule sync URL EXTRA...`, which must fail with one error line; returns its stderr.
fn refused(store: &Path, url: &str, extra: &[&str]) -> String {
    let mut sync = mule(store);
    sync.arg("sync").arg(url).args(extra);
    let out = assert_cmd::Command::from_std(sync)
        .timeout(WATCHDOG)
        .output()
        .expect("run");
    let text = stderr(&out);
    assert!(
        out.status.code().is_some(),
        "mule sync {url} was still waiting after {WATCHDOG:?}: {text}"
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("error: ")).count(),
        1,
        "{text}"
    );
    text
}

/// Holds a fake peer's side of the connection open until the client closes its own: a client
/// that waited for the peer to hang up first would never finish.
fn hold_until_closed(mut stream: TcpStream) {
    let _ = std::io::copy(&mut stream, &mut std::io::sink());
}

#[test]
fn bad_peers_get_one_line_and_a_bounded_wait() {
    let work = Work::new();
    let store = work.path("s");
    mule(&store)
        .args(["kv", "put", "k", "1"])
        .assert()
        .success();
    let before = state(&store);
    // Every fake peer keeps the connection open until mule closes it: mule must end the sync on
    // its own, within its own bounds.
    let newer = fake_peer(|mut s| {
        let mut preamble = live::MAGIC.to_vec();
        preamble.extend_from_slice(&2u32.to_be_bytes());
        let _ = s.write_all(&preamble);
        hold_until_closed(s);
    });
    assert!(
        refused(&store, &newer, &[]).contains("speaks live protocol 2, newer than this mule's 1")
    );
    let garbage = fake_peer(|mut s| {
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        hold_until_closed(s);
    });
    assert!(refused(&store, &garbage, &[]).contains("does not speak the mule live protocol"));
    let silent = fake_peer(hold_until_closed);
    assert!(refused(&store, &silent, &["--timeout", "1"]).contains("timed out"));
    // A peer that says hello properly, then vanishes in the middle of its bundle.
    let cut = fake_peer(|mut s| {
        let work = Work::new();
        let mut peer = library_store(&work, "peer", 2000);
        let mut tee = Duplex {
            reader: s.try_clone().expect("clone"),
            writer: CutAfter {
                inner: &mut s,
                left: 3000,
            },
        };
        let _ = live::sync(&mut peer, &mut tee, &Options::default());
    });
    let text = refused(&store, &cut, &["--timeout", "5"]);
    assert!(
        text.contains("closed the connection") || text.contains("timed out"),
        "{text}"
    );
    assert_eq!(state(&store), before, "nothing from a half-received bundle");
    mule(&store).arg("fsck").assert().success();
}

/// A writer that passes on `left` bytes, then fails as a dropped connection would.
struct CutAfter<W> {
    inner: W,
    left: usize,
}

impl<W: Write> Write for CutAfter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        let n = buf.len().min(self.left);
        self.inner.write_all(&buf[..n])?;
        self.left -= n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[test]
fn the_allow_list_refuses_other_devices_after_they_prove_their_key() {
    let work = Work::new();
    let (hub, friend, other) = (work.path("hub"), work.path("friend"), work.path("other"));
    let friend_id = json(&friend, &["id"])["author"]
        .as_str()
        .expect("id")
        .to_owned();
    mule(&other)
        .args(["kv", "put", "k", "1"])
        .assert()
        .success();
    let (server, url) = serve(
        &hub,
        &[
            "--listen",
            "127.0.0.1:0",
            "--peers",
            "2",
            "--allow",
            &friend_id,
        ],
    );
    let text = refused(&other, &url, &[]);
    assert!(
        text.contains("not on this side's list of allowed peers"),
        "{text}"
    );
    json(&friend, &["sync", &url]);
    let served = server.wait_with_output().expect("serve");
    assert_eq!(served.status.code(), Some(1), "one peer was refused");
    assert_eq!(json(&hub, &["status"])["entries"], 0);
}

#[test]
fn project_stores_sync_live_and_strangers_are_refused() {
    let work = Work::new();
    let root = work.path("root");
    mule(&root)
        .args(["project", "create", "Camp"])
        .assert()
        .success();
    let invite = json(&root, &["project", "invite"])["invite"]
        .as_str()
        .expect("text")
        .to_owned();
    let field = work.path("field");
    mule(&field)
        .args(["project", "join", &invite])
        .assert()
        .success();
    mule(&field)
        .args(["kv", "put", "well", "\"dry\""])
        .assert()
        .success();
    let stranger = work.path("stranger");
    mule(&stranger)
        .args(["kv", "put", "well", "\"poison\""])
        .assert()
        .success();
    let (server, url) = serve(&root, &["--listen", "127.0.0.1:0", "--peers", "2"]);
    json(&field, &["sync", &url]);
    let text = refused(&stranger, &url, &[]);
    assert!(
        text.contains("belongs to a project and this one does not"),
        "{text}"
    );
    server.wait_with_output().expect("serve");
    assert_eq!(json(&root, &["kv", "get", "well"])["value"], "dry");
}

/// How many bytes two relayed syncs may pass to each other (both directions together) before
/// the relay holds them.
struct Budget {
    state: Mutex<Spent>,
    changed: Condvar,
}

#[derive(Default)]
struct Spent {
    left: u64,
    passed: u64,
    spent: bool,
    released: bool,
    ended: usize,
}

impl Budget {
    fn new(bytes: u64) -> Self {
        Self {
            state: Mutex::new(Spent {
                left: bytes,
                ..Spent::default()
            }),
            changed: Condvar::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Spent> {
        self.state.lock().expect("budget")
    }

    /// How many of `n` bytes may pass; fewer than `n` once the budget is spent.
    fn take(&self, n: usize) -> usize {
        let mut state = self.state();
        let allowed = state.left.min(n as u64);
        state.left -= allowed;
        state.passed += allowed;
        if allowed < n as u64 {
            state.spent = true;
            self.changed.notify_all();
        }
        allowed as usize
    }

    /// Waits until the budget is spent (then returns true) or both directions ended.
    fn spent_or_ended(&self) -> bool {
        let state = self
            .changed
            .wait_while(self.state(), |s| !s.spent && s.ended < 2)
            .expect("budget");
        state.spent
    }

    /// Waits until [`Budget::release`].
    fn hold(&self) {
        drop(
            self.changed
                .wait_while(self.state(), |s| !s.released)
                .expect("budget"),
        );
    }

    fn release(&self) {
        self.state().released = true;
        self.changed.notify_all();
    }

    fn ended(&self) {
        self.state().ended += 1;
        self.changed.notify_all();
    }
}

/// Copies `from` to `to` as the budget allows; once it is spent, holds both ends open until it
/// is released.
fn relay(mut from: impl std::io::Read, mut to: impl Write, budget: &Budget) {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let allowed = budget.take(n);
        if to.write_all(&buf[..allowed]).is_err() {
            break;
        }
        if allowed < n {
            budget.hold();
            break;
        }
    }
    budget.ended();
}

/// Syncs `a` and `b` through two `mule sync -` children whose bytes the test relays. Once
/// `limit` bytes have passed (both directions together), the relay holds them, `victim` (0 for
/// `a`, 1 for `b`) is killed, and then the other sees the connection close. Returns the bytes
/// that passed.
fn sync_killed_after(a: &Path, b: &Path, limit: u64, victim: usize) -> u64 {
    let mut children = [a, b].map(|store| {
        mule(store)
            .args(["--json", "sync", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn mule sync -")
    });
    let budget = Budget::new(limit);
    let [a_out, b_out] = children
        .each_mut()
        .map(|child| child.stdout.take().expect("stdout"));
    let [a_in, b_in] = children
        .each_mut()
        .map(|child| child.stdin.take().expect("stdin"));
    std::thread::scope(|scope| {
        let budget = &budget;
        scope.spawn(move || relay(a_out, b_in, budget));
        scope.spawn(move || relay(b_out, a_in, budget));
        if budget.spent_or_ended() {
            children[victim].kill().ok();
            children[victim].wait().expect("reap");
        }
        budget.release();
        for child in &mut children {
            child.wait().expect("reap");
        }
    });
    budget.state().passed
}

#[test]
fn killing_either_side_mid_transfer_leaves_both_sound_and_the_next_sync_completes() {
    let work = Work::new();
    let (big, small) = (work.path("big"), work.path("small"));
    assert!(
        append_lines(&big, "obs", &hashed_lines(60_000))
            .status
            .success()
    );
    append_lines(&small, "obs", &numbered(0, 10));
    // How many bytes a whole sync passes, measured on a copy; kills land after fractions of them,
    // counted by the relay between the two processes.
    let probe = work.path("probe");
    append_lines(&probe, "obs", &numbered(0, 1));
    let total = sync_killed_after(&big, &probe, u64::MAX, 0);
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for round in 0..8 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let limit = total * (rng % 1000) / 1000;
        sync_killed_after(&big, &small, limit, round % 2);
        for store in [&big, &small] {
            mule(store).arg("fsck").assert().success();
        }
    }
    sync_children(&big, &small);
    assert_eq!(
        json(&small, &["status"])["frontier"],
        json(&big, &["status"])["frontier"]
    );
    assert_eq!(json(&small, &["status"])["entries"], 60_011);
}

mod convergence {
    //! Property: live syncs and bundle exchanges, mixed in any order, converge.

    use mule::bundle::{Coverage, import_bundle, write_bundle};
    use mule::store::{Frontier, Store};
    use proptest::prelude::*;

    use super::{library_store, sync_pair};

    #[derive(Debug, Clone)]
    enum Step {
        Append(usize, usize),
        Live(usize, usize),
        Bundle(usize, usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0..3usize, 1..40usize).prop_map(|(s, n)| Step::Append(s, n)),
            (0..3usize, 0..3usize).prop_map(|(a, b)| Step::Live(a, b)),
            (0..3usize, 0..3usize).prop_map(|(a, b)| Step::Bundle(a, b)),
        ]
    }

    fn pair(stores: &mut [Store], a: usize, b: usize) -> (&mut Store, &mut Store) {
        let (low, high) = stores.split_at_mut(a.max(b));
        let (first, second) = (&mut low[a.min(b)], &mut high[0]);
        if a < b {
            (first, second)
        } else {
            (second, first)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 64, ..ProptestConfig::default() })]

        #[test]
        fn live_syncs_and_bundles_mixed_converge(steps in prop::collection::vec(step(), 3..25)) {
            let work = super::Work::new();
            let mut stores: Vec<Store> = (0..3).map(|i| library_store(&work, &format!("s{i}"), 3)).collect();
            let file = work.path("b.mule");
            for step in steps {
                match step {
                    Step::Append(s, n) => {
                        let drafts = (0..n).map(|i| mule::store::Draft {
                            kind: "obs".into(),
                            body: mule::entry::body_from_json(&serde_json::json!({"i": i})).expect("body"),
                            links: vec![],
                            timestamp: 1_795_000_000_000,
                        }).collect();
                        stores[s].append(drafts).expect("append");
                    }
                    Step::Live(a, b) if a != b => {
                        let (x, y) = pair(&mut stores, a, b);
                        sync_pair(x, y);
                    }
                    Step::Bundle(a, b) if a != b => {
                        write_bundle(&stores[a], &Frontier::new(), &Coverage::default(), &file, false).expect("export");
                        import_bundle(&mut stores[b], &file).expect("import");
                    }
                    _ => {}
                }
            }
            for (a, b) in [(0, 1), (1, 2), (2, 0), (0, 1)] {
                let (x, y) = pair(&mut stores, a, b);
                sync_pair(x, y);
            }
            let frontier = stores[0].frontier().expect("frontier");
            for store in &stores[1..] {
                prop_assert_eq!(&store.frontier().expect("frontier"), &frontier);
            }
        }
    }
}

#[test]
fn a_store_announced_on_the_local_network_is_found_and_synced() {
    let work = Work::new();
    let (hub, laptop) = (work.path("hub"), work.path("laptop"));
    mule(&hub)
        .args(["kv", "put", "camp", "\"north\""])
        .assert()
        .success();
    let (server, _) = serve(
        &hub,
        &["--listen", "127.0.0.1:0", "--announce", "--peers", "1"],
    );
    let synced = mule(&laptop)
        .args(["--json", "sync", "--lan", "--wait", "3"])
        .output()
        .expect("run");
    assert!(synced.status.success(), "{}", stderr(&synced));
    let report: Value =
        serde_json::from_str(stdout(&synced).lines().next().expect("a line")).expect("JSON");
    assert_eq!(report["received"]["new"], 1, "{report}");
    assert!(server.wait_with_output().expect("serve").status.success());
    assert_eq!(json(&laptop, &["kv", "get", "camp"])["value"], "north");
}

#[test]
fn what_a_killed_sync_left_is_removed_after_a_day() {
    let work = Work::new();
    let mut a = library_store(&work, "a", 3);
    let mut b = library_store(&work, "b", 3);
    let (old, fresh) = (
        work.path("a/.mule-live-old"),
        work.path("a/.mule-live-fresh"),
    );
    for dir in [&old, &fresh] {
        std::fs::create_dir(dir).expect("dir");
        std::fs::write(dir.join("received.mule"), b"partial").expect("file");
    }
    let two_days_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
    std::fs::File::open(&old)
        .and_then(|dir| dir.set_modified(two_days_ago))
        .expect("age the folder");
    sync_pair(&mut a, &mut b);
    assert!(!old.exists(), "a day-old leftover is removed");
    assert!(
        fresh.exists(),
        "a recent one may belong to a sync still running"
    );
}

/// A number from a `/proc/<pid>/status` line such as `VmRSS:  12345 kB`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd folder")
        .count()
}

/// Drips `bytes` into `socket` one at a time (a byte every 50 ms) until the peer closes the
/// connection; whether it did so before all of them went.
fn drip_until_closed(mut socket: TcpStream, bytes: &[u8]) -> bool {
    bytes.iter().any(|byte| {
        std::thread::sleep(Duration::from_millis(50));
        socket.write_all(&[*byte]).is_err()
    })
}

/// The server's next line; fails the test when it says nothing for [`WATCHDOG`].
fn next_line(printed: &std::sync::mpsc::Receiver<String>) -> String {
    printed
        .recv_timeout(WATCHDOG)
        .unwrap_or_else(|e| panic!("no line from the server after {WATCHDOG:?}: {e}"))
}

/// The server's stdout lines, as they come, on a thread.
fn lines_of(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout");
    let (send, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                return;
            }
        }
    });
    lines
}

#[test]
fn a_server_under_attack_stays_small_and_still_syncs_a_real_peer() {
    // Connections that stay silent, that announce an oversized hello, that drip their handshake;
    // and how many a server keeps in their handshake (twice the default --max-peers).
    const IDLE: usize = 200;
    const OVERSIZED: usize = 8;
    const SLOW: usize = 4;
    const HANDSHAKES: usize = 32;
    let work = Work::new();
    let (hub, laptop) = (work.path("hub"), work.path("laptop"));
    append_lines(&hub, "kv", &numbered(0, 50));
    append_lines(&laptop, "kv", &numbered(100, 5));
    let (mut server, url) = serve(
        &hub,
        &["--listen", "127.0.0.1:0", "--handshake-timeout", "2"],
    );
    let printed = lines_of(&mut server);
    let pid = server.id();
    let addr = url.trim_start_matches("tcp://").to_owned();
    // A first sync warms the server up; once the server has said how it went, its size is the
    // baseline.
    json(&laptop, &["sync", &url]);
    let warm_up = next_line(&printed);
    let (rss_before, fds_before) = (rss_kib(pid), open_fds(pid));

    let mut preamble = live::MAGIC.to_vec();
    preamble.extend_from_slice(&live::PROTOCOL_VERSION.to_be_bytes());
    let idle: Vec<TcpStream> = (0..IDLE)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    // Hellos announcing 16 MiB, then sending as much of it as the server takes.
    let oversized: Vec<_> = (0..OVERSIZED)
        .map(|_| {
            let mut socket = TcpStream::connect(&addr).expect("connect");
            let preamble = preamble.clone();
            std::thread::spawn(move || {
                socket
                    .set_write_timeout(Some(Duration::from_secs(10)))
                    .expect("timeout");
                let mut frame = vec![b'H'];
                frame.extend_from_slice(&(16u32 << 20).to_be_bytes());
                let _ = socket
                    .write_all(&preamble)
                    .and_then(|()| socket.write_all(&frame))
                    .and_then(|()| socket.write_all(&vec![0xA5; 16 << 20]));
            })
        })
        .collect();
    // Peers that drip their handshake one byte at a time (a preamble, then a hello of 1000
    // bytes), for far longer than the server lets a handshake take.
    let mut drip = preamble.clone();
    drip.push(b'H');
    drip.extend_from_slice(&1000u32.to_be_bytes());
    drip.extend_from_slice(&[0; 1000]);
    let slow: Vec<TcpStream> = (0..SLOW)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    let dripping: Vec<_> = slow
        .iter()
        .map(|socket| {
            let socket = socket.try_clone().expect("clone");
            let drip = drip.clone();
            std::thread::spawn(move || drip_until_closed(socket, &drip))
        })
        .collect();
    for writer in oversized {
        writer.join().expect("writer");
    }
    let synced = json(&laptop, &["kv", "put", "during-attack", "1"]);
    assert!(synced.is_object());
    let report = json(&laptop, &["sync", &url]);
    assert_eq!(report["sent"], 1, "{report}");

    // Every connection ends in one line of the server's. Once all but as many as may be in their
    // handshake have ended, the server holds at most those.
    let connections = 2 + IDLE + OVERSIZED + SLOW;
    let mut lines = vec![warm_up];
    while lines.len() < connections - HANDSHAKES {
        lines.push(next_line(&printed));
    }
    let most_fds = fds_before + 2 * HANDSHAKES + 8;
    let (rss_under, fds_under) = (rss_kib(pid), open_fds(pid));
    eprintln!(
        "serve under load: VmRSS {rss_before} KiB -> {rss_under} KiB, fds {fds_before} -> {fds_under}"
    );
    assert!(
        fds_under <= most_fds,
        "descriptors: {fds_before} before, {fds_under} under load (at most {most_fds})"
    );
    assert!(
        rss_under < rss_before + 48 * 1024,
        "VmRSS {rss_before} KiB before, {rss_under} KiB under load"
    );
    // The rest end when their handshake runs out of time, the dripping peers among them.
    while lines.len() < connections {
        lines.push(next_line(&printed));
    }
    for drip in dripping {
        assert!(
            drip.join().expect("drip"),
            "the server drops a peer that drips its handshake"
        );
    }
    for socket in &slow {
        let me = socket.local_addr().expect("address").to_string();
        let line = lines.iter().find(|line| line.starts_with(&me));
        assert!(
            line.is_some_and(|line| line.contains("did not prove its key within 2 s")),
            "{me}: {line:?}"
        );
    }
    server.kill().expect("kill serve");
    server.wait().expect("reap");
    let said = |text: &str| lines.iter().any(|line| line.contains(text));
    assert!(said("the oldest made room"), "{lines:#?}");
    assert!(said("hello frame of 16777216 bytes"), "{lines:#?}");
    drop(idle);
    assert_eq!(json(&hub, &["kv", "get", "during-attack"])["value"], 1);
}

#[test]
fn a_bundle_larger_than_max_bundle_is_refused_before_it_is_stored() {
    let work = Work::new();
    let (hub, big) = (work.path("hub"), work.path("big"));
    assert!(
        append_lines(&big, "obs", &hashed_lines(40_000))
            .status
            .success()
    );
    let (mut server, url) = serve(
        &hub,
        &[
            "--listen",
            "127.0.0.1:0",
            "--peers",
            "1",
            "--max-bundle",
            "1M",
        ],
    );
    let printed = lines_of(&mut server);
    let text = refused(&big, &url, &[]);
    assert!(
        text.contains("bytes; the receiver accepts at most 1048576 (--max-bundle)"),
        "{text}"
    );
    assert!(!server.wait().expect("serve").success());
    let line = next_line(&printed);
    assert!(
        line.contains("the receiver accepts at most 1048576"),
        "{line}"
    );
    assert_eq!(json(&hub, &["status"])["entries"], 0);
    let leftovers: Vec<_> = std::fs::read_dir(&hub)
        .expect("hub")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".mule-live-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_malformed_hello_is_named_in_one_plain_line() {
    let work = Work::new();
    let store = work.path("s");
    // A hello map without `author`: nonce, project, frontier (DAG-CBOR key order).
    let mut hello = vec![0xa3, 0x65];
    hello.extend_from_slice(b"nonce");
    hello.extend_from_slice(&[0x58, 0x20]);
    hello.extend_from_slice(&[7u8; 32]);
    hello.push(0x67);
    hello.extend_from_slice(b"project");
    hello.push(0xf6);
    hello.push(0x68);
    hello.extend_from_slice(b"frontier");
    hello.push(0x80);
    let peer = fake_peer(move |mut s| {
        let mut frames = live::MAGIC.to_vec();
        frames.extend_from_slice(&live::PROTOCOL_VERSION.to_be_bytes());
        frames.push(b'H');
        frames.extend_from_slice(&(hello.len() as u32).to_be_bytes());
        frames.extend_from_slice(&hello);
        let _ = s.write_all(&frames);
        hold_until_closed(s);
    });
    let text = refused(&store, &peer, &[]);
    assert!(
        text.contains("the peer's hello is malformed: missing field `author`"),
        "{text}"
    );
    assert!(!text.contains("Msg("), "{text}");
}

/// A writer that passes on `fast` bytes at full speed, then dribbles 64 bytes every 2 ms;
/// `cut` records that the reader hung up while it still had bytes to pass.
struct Dribble<W> {
    inner: W,
    fast: usize,
    cut: bool,
}

impl<W: Write> Write for Dribble<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = if self.fast > 0 {
            let n = buf.len().min(self.fast);
            self.fast -= n;
            self.inner.write(&buf[..n])
        } else {
            std::thread::sleep(Duration::from_millis(2));
            self.inner.write(&buf[..buf.len().min(64)])
        };
        self.cut |= written.is_err();
        written
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[test]
fn a_peer_slower_than_the_minimum_rate_is_dropped() {
    let work = Work::new();
    let mut fast = library_store(&work, "fast", 0);
    let mut slow = library_store(&work, "slow", 3000);
    let before = fast.frontier().expect("frontier");
    let (left, right) = pipe_pair();
    let strict = Options {
        min_rate: live::MinRate {
            bytes_per_sec: 1 << 20,
            window: Duration::from_millis(200),
        },
        ..Options::default()
    };
    let (error, cut_off) = std::thread::scope(|scope| {
        let dribbler = scope.spawn(move || {
            let mut dribbling = Duplex {
                reader: right.reader,
                writer: Dribble {
                    inner: right.writer,
                    fast: 2048,
                    cut: false,
                },
            };
            let _ = live::sync(&mut slow, &mut dribbling, &Options::default());
            dribbling.writer.cut
        });
        // Dropping this end stops the slow peer too.
        let mut left = left;
        let error = live::sync(&mut fast, &mut left, &strict).expect_err("dropped");
        drop(left);
        (error, dribbler.join().expect("dribbler"))
    });
    assert!(
        matches!(error, live::Error::TooSlow { .. }),
        "{error}: {error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("too slow while receiving the bundle"),
        "{error}"
    );
    // Dropped in the middle of the bundle, not after waiting all of it out.
    assert!(cut_off, "the slow peer sent its whole bundle");
    assert_eq!(
        fast.frontier().expect("frontier"),
        before,
        "nothing imported"
    );
}
