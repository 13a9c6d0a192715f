//! Carriers for the live protocol: stdin/stdout, pipes and TCP, with a bounded wait on every
//! read, and a server that takes peers one after another or at once, within limits that a
//! hostile peer cannot starve (a deadline for each handshake, caps on handshakes and syncs).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use super::{Error, Local, Options, Report, handshake, reason_for_hang_up, refuse, transfer};
use crate::store::Store;

/// How long a peer may stay silent before the sync gives up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A reader and a writer used as one duplex stream (stdin and stdout, a pair of pipes).
#[derive(Debug)]
pub struct Duplex<R, W> {
    /// Where the peer's bytes come from.
    pub reader: R,
    /// Where this side's bytes go.
    pub writer: W,
}

impl<R: Read, W> Read for Duplex<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl<R, W: Write> Write for Duplex<R, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// A reader that fails with [`io::ErrorKind::TimedOut`] when no byte comes for `timeout`.
/// Reads happen on a helper thread, so it works for pipes and stdin, which have no timeout of
/// their own.
#[derive(Debug)]
pub struct TimedReader {
    chunks: Receiver<io::Result<Vec<u8>>>,
    pending: Vec<u8>,
    at: usize,
    timeout: Duration,
}

impl TimedReader {
    /// Starts reading `inner` on a helper thread.
    pub fn new<R: Read + Send + 'static>(mut inner: R, timeout: Duration) -> Self {
        let (send, chunks) = sync_channel(4);
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let chunk = match inner.read(&mut buf) {
                    Ok(n) => Ok(buf[..n].to_vec()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(e),
                };
                let stop = !matches!(&chunk, Ok(bytes) if !bytes.is_empty());
                if send.send(chunk).is_err() || stop {
                    return;
                }
            }
        });
        Self {
            chunks,
            pending: Vec::new(),
            at: 0,
            timeout,
        }
    }

    /// The longest a read waits for a byte.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Changes the longest a read waits for a byte.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }
}

impl Read for TimedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.pending.len() {
            match self.chunks.recv_timeout(self.timeout) {
                Ok(chunk) => {
                    self.pending = chunk?;
                    self.at = 0;
                }
                Err(RecvTimeoutError::Timeout) => return Err(io::ErrorKind::TimedOut.into()),
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// This process's stdin and stdout as one stream (`mule sync -`).
pub fn stdio(timeout: Duration) -> Duplex<TimedReader, io::Stdout> {
    Duplex {
        reader: TimedReader::new(io::stdin(), timeout),
        writer: io::stdout(),
    }
}

/// Why an address cannot be used.
fn bad_address(text: &str, why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("`{text}`: {why}"))
}

/// The socket addresses of `HOST:PORT` (a `tcp://` or `ws://` prefix and a path are allowed).
pub fn resolve(text: &str) -> io::Result<Vec<SocketAddr>> {
    let rest = text.split_once("://").map_or(text, |(_, rest)| rest);
    let host_port = rest.split('/').next().unwrap_or_default();
    let addrs: Vec<SocketAddr> = host_port
        .to_socket_addrs()
        .map_err(|e| bad_address(text, &format!("not a reachable HOST:PORT ({e})")))?
        .collect();
    if addrs.is_empty() {
        return Err(bad_address(text, "the host name has no address"));
    }
    Ok(addrs)
}

/// Connects to `tcp://HOST:PORT`, with `timeout` for the connection and every later read.
pub fn connect_tcp(text: &str, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = None;
    for addr in resolve(text)? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => {
                prepare(&stream, timeout)?;
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| bad_address(text, "no address to connect to")))
}

/// Sets the bounded waits (and no Nagle delay: the protocol flushes whole frames).
pub fn prepare(stream: &TcpStream, timeout: Duration) -> io::Result<()> {
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)
}

/// Most peers a server syncs with at once, by default.
pub const DEFAULT_MAX_PEERS: usize = 16;
/// Most connections a server keeps in their handshake at once, by default (twice the peers):
/// with hellos of at most [`super::MAX_FRONTIER_FRAME_LEN`] bytes, unproven peers hold at most
/// about 32 MiB.
pub const DEFAULT_MAX_HANDSHAKES: usize = 2 * DEFAULT_MAX_PEERS;
/// Longest a connection may take to prove its key, by default.
pub const DEFAULT_HANDSHAKE_DEADLINE: Duration = Duration::from_secs(20);

/// How a server runs.
#[derive(Debug, Clone)]
pub struct Serve {
    /// The protocol options for every peer.
    pub options: Options,
    /// Bounded wait on every read and write.
    pub timeout: Duration,
    /// Stop after this many peers (`None`: serve until killed).
    pub peers: Option<usize>,
    /// Most peers syncing at once (after they proved their key); one more is told the server is
    /// busy.
    pub max_peers: usize,
    /// Most connections in their handshake at once; one more drops the oldest of them.
    pub max_handshakes: usize,
    /// Longest a connection may take from being accepted to having proved its key (WebSocket
    /// handshake, preamble, hello, proof); then it is dropped.
    pub handshake_deadline: Duration,
}

impl Serve {
    /// Serves with `options` and `timeout`, until killed, with the default limits.
    pub fn new(options: Options, timeout: Duration) -> Self {
        Self {
            options,
            timeout,
            peers: None,
            max_peers: DEFAULT_MAX_PEERS,
            max_handshakes: DEFAULT_MAX_HANDSHAKES,
            handshake_deadline: DEFAULT_HANDSHAKE_DEADLINE,
        }
    }
}

/// Serves the store in `dir` to peers connecting to `listener`, each on its own thread. Before a
/// peer proved its key it costs a thread, its socket and its hello: the server's own store handle
/// answers its hello, a deadline bounds its handshake and at most
/// [`Serve::max_handshakes`] wait at once. A proven peer gets its own store handle (SQLite
/// serializes their imports), and `synced` runs on it after each sync (the replica catches its
/// views up there: see [`crate::replica::serve`]). `wrap` turns an accepted connection
/// into the stream the protocol runs on (TCP as it is, or a WebSocket); `report` hears how each
/// peer went.
pub fn serve<S: Read + Write>(
    dir: &Path,
    listener: &TcpListener,
    settings: &Serve,
    wrap: impl Fn(TcpStream) -> io::Result<S> + Sync,
    synced: impl Fn(&Store) -> Result<(), Error> + Sync,
    report: impl Fn(SocketAddr, Result<Report, Error>) + Sync,
) -> Result<(), Error> {
    let shared = Mutex::new(Store::open(dir)?);
    let gate = Gate::new(settings);
    std::thread::scope(|scope| {
        scope.spawn(|| gate.watch());
        let mut served = 0;
        for connection in listener.incoming() {
            if settings.peers.is_some_and(|most| served >= most) {
                break;
            }
            let Ok(connection) = connection else { continue };
            let (Ok(addr), Ok(socket)) = (connection.peer_addr(), connection.try_clone()) else {
                continue;
            };
            served += 1;
            let ticket = gate.admit(socket);
            let (wrap, synced, report, shared) = (&wrap, &synced, &report, &shared);
            let handle = scope.spawn(move || {
                let result = serve_one(dir, shared, connection, settings, ticket, wrap);
                report(
                    addr,
                    result.and_then(|done| synced(&done.0).map(|()| done.1)),
                );
            });
            if settings.peers.is_some_and(|most| served >= most) {
                let _ = handle.join();
                break;
            }
        }
        gate.close();
    });
    Ok(())
}

fn serve_one<S: Read + Write>(
    dir: &Path,
    shared: &Mutex<Store>,
    connection: TcpStream,
    settings: &Serve,
    mut ticket: Ticket<'_>,
    wrap: impl Fn(TcpStream) -> io::Result<S>,
) -> Result<(Store, Report), Error> {
    let io = |source| Error::Io {
        during: "accepting the connection",
        source,
    };
    let options = &settings.options;
    let mut stream = prepare(&connection, settings.timeout)
        .and_then(|()| wrap(connection))
        .map_err(|e| ticket.explain(io(e)))?;
    // The shared handle is locked only for a moment: to say hello, then to sign.
    let local = Local::of(&lock(shared));
    let theirs = local
        .and_then(|local| {
            let sign = |m: &[u8]| lock(shared).device_key().sign_message(m).to_vec();
            handshake(&local, sign, &mut stream, options)
        })
        .map_err(|e| ticket.explain(reason_for_hang_up(&mut stream, e)))?;
    if let Err(e) = ticket.proven() {
        return Err(refuse(&mut stream, e));
    }
    let mut store = Store::open(dir)?;
    let report = transfer(&mut store, &mut stream, &theirs, options)
        .map_err(|e| reason_for_hang_up(&mut stream, e))?;
    Ok((store, report))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Who is at a server's door: connections in their handshake (oldest first), each with its
/// deadline, and how many proven peers are syncing.
struct Gate {
    state: Mutex<Door>,
    changed: Condvar,
    max_peers: usize,
    max_handshakes: usize,
    deadline: Duration,
}

#[derive(Default)]
struct Door {
    next: u64,
    waiting: VecDeque<Waiting>,
    syncing: usize,
    closed: bool,
}

/// A connection in its handshake.
struct Waiting {
    id: u64,
    deadline: Instant,
    /// A handle on its socket, to shut it down from here.
    socket: TcpStream,
    /// Why it was dropped, for its thread to say.
    cut: Arc<OnceLock<String>>,
}

impl Waiting {
    /// Shuts the connection down: its thread's next read or write fails at once.
    fn cut(self, why: String) {
        let _ = self.cut.set(why);
        let _ = self.socket.shutdown(Shutdown::Both);
    }
}

impl Gate {
    fn new(settings: &Serve) -> Self {
        Self {
            state: Mutex::default(),
            changed: Condvar::new(),
            max_peers: settings.max_peers.max(1),
            max_handshakes: settings.max_handshakes.max(1),
            deadline: settings.handshake_deadline,
        }
    }

    /// Lets a new connection start its handshake, dropping the oldest one in its handshake when
    /// as many as allowed are: a crowd of silent connections cannot keep a real peer out.
    fn admit(&self, socket: TcpStream) -> Ticket<'_> {
        let mut door = lock(&self.state);
        while door.waiting.len() >= self.max_handshakes {
            if let Some(oldest) = door.waiting.pop_front() {
                oldest.cut(format!(
                    "{} connections were in their handshake; the oldest made room (--max-peers)",
                    self.max_handshakes
                ));
            }
        }
        let id = door.next;
        door.next += 1;
        let cut = Arc::new(OnceLock::new());
        door.waiting.push_back(Waiting {
            id,
            deadline: Instant::now() + self.deadline,
            socket,
            cut: Arc::clone(&cut),
        });
        self.changed.notify_all();
        Ticket {
            gate: self,
            id,
            cut,
            syncing: false,
        }
    }

    /// Drops connections whose handshake ran out of time; returns once the gate is closed and
    /// no connection is in its handshake.
    fn watch(&self) {
        let mut door = lock(&self.state);
        while !(door.closed && door.waiting.is_empty()) {
            let now = Instant::now();
            while door.waiting.front().is_some_and(|w| w.deadline <= now) {
                if let Some(late) = door.waiting.pop_front() {
                    late.cut(format!(
                        "it did not prove its key within {} s of connecting",
                        self.deadline.as_secs_f64()
                    ));
                }
            }
            let wait = door
                .waiting
                .front()
                .map_or(Duration::from_secs(3600), |w| w.deadline - now);
            door = self
                .changed
                .wait_timeout(door, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// No connection comes any more.
    fn close(&self) {
        lock(&self.state).closed = true;
        self.changed.notify_all();
    }
}

/// A connection's place at the gate; it leaves when this is dropped.
struct Ticket<'g> {
    gate: &'g Gate,
    id: u64,
    cut: Arc<OnceLock<String>>,
    syncing: bool,
}

impl Ticket<'_> {
    /// The connection proved its peer's key: it leaves the handshake and syncs, unless as many
    /// peers as allowed are syncing.
    fn proven(&mut self) -> Result<(), Error> {
        let mut door = lock(&self.gate.state);
        let Some(at) = door.waiting.iter().position(|w| w.id == self.id) else {
            return Err(self.explain(Error::Dropped("its handshake took too long".into())));
        };
        door.waiting.remove(at);
        self.gate.changed.notify_all();
        if door.syncing >= self.gate.max_peers {
            return Err(Error::Busy(self.gate.max_peers));
        }
        door.syncing += 1;
        self.syncing = true;
        Ok(())
    }

    /// Why the connection failed: the gate's reason when it cut the connection.
    fn explain(&self, error: Error) -> Error {
        self.cut
            .get()
            .map_or(error, |why| Error::Dropped(why.clone()))
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut door = lock(&self.gate.state);
        door.waiting.retain(|w| w.id != self.id);
        if self.syncing {
            door.syncing -= 1;
        }
        self.gate.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connected pair of sockets on 127.0.0.1: (the server's end, the peer's end).
    fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        (server, peer)
    }

    /// Whether the server's side shut the connection down (the peer reads the end).
    fn shut(mut peer: &TcpStream) -> bool {
        matches!(peer.read(&mut [0u8; 8]), Ok(0))
    }

    fn gate(max_peers: usize, max_handshakes: usize, deadline: Duration) -> Gate {
        Gate::new(&Serve {
            max_peers,
            max_handshakes,
            handshake_deadline: deadline,
            ..Serve::new(Options::default(), DEFAULT_TIMEOUT)
        })
    }

    #[test]
    fn one_peer_more_than_max_peers_is_busy_until_one_leaves() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let gate = gate(1, 4, DEFAULT_HANDSHAKE_DEADLINE);
        let (a, _peer_a) = pair(&listener);
        let (b, _peer_b) = pair(&listener);
        let mut first = gate.admit(a);
        let mut second = gate.admit(b);
        first.proven().unwrap();
        let busy = second.proven().unwrap_err();
        assert!(matches!(busy, Error::Busy(1)), "{busy:?}");
        assert!(busy.to_string().contains("--max-peers"), "{busy}");
        drop(first);
        let (c, _peer_c) = pair(&listener);
        gate.admit(c).proven().unwrap();
    }

    #[test]
    fn a_new_connection_drops_the_oldest_handshake_when_too_many_wait() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let gate = gate(4, 2, DEFAULT_HANDSHAKE_DEADLINE);
        let (a, peer_a) = pair(&listener);
        let (b, peer_b) = pair(&listener);
        let (c, _peer_c) = pair(&listener);
        let mut oldest = gate.admit(a);
        let _middle = gate.admit(b);
        let _newest = gate.admit(c);
        assert!(shut(&peer_a), "the oldest is shut down");
        let error = oldest.explain(Error::Malformed("anything".into()));
        assert!(
            error.to_string().contains("the oldest made room"),
            "{error}"
        );
        assert!(matches!(oldest.proven(), Err(Error::Dropped(_))));
        peer_b.set_nonblocking(true).unwrap();
        assert!(
            matches!((&peer_b).read(&mut [0u8; 8]), Err(e) if e.kind() == io::ErrorKind::WouldBlock),
            "the others go on"
        );
    }

    #[test]
    fn a_handshake_past_its_deadline_is_dropped() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let gate = gate(4, 4, Duration::from_millis(100));
        std::thread::scope(|scope| {
            scope.spawn(|| gate.watch());
            let (a, peer_a) = pair(&listener);
            let late = gate.admit(a);
            assert!(shut(&peer_a), "the watch shuts it down");
            let error = late.explain(Error::Malformed("anything".into()));
            assert!(
                error
                    .to_string()
                    .contains("did not prove its key within 0.1 s"),
                "{error}"
            );
            drop(late);
            gate.close();
        });
    }
}
