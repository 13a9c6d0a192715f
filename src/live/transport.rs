//! Carriers for the live protocol: stdin/stdout, pipes and TCP, with a bounded wait on every
//! read, and a server that takes peers one after another or at once.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::Duration;

use super::{Error, Options, Report, sync};
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

/// How a server runs.
#[derive(Debug, Clone)]
pub struct Serve {
    /// The protocol options for every peer.
    pub options: Options,
    /// Bounded wait on every read and write.
    pub timeout: Duration,
    /// Stop after this many peers (`None`: serve until killed).
    pub peers: Option<usize>,
}

/// Serves the store in `dir` to peers connecting to `listener`, each on its own thread with its
/// own store handle (SQLite serializes their imports), and views catch up after each sync.
/// `wrap` turns an accepted connection into the stream the protocol runs on (TCP as it is, or
/// a WebSocket); `report` hears how each peer went.
pub fn serve<S: Read + Write>(
    dir: &Path,
    listener: &TcpListener,
    settings: &Serve,
    wrap: impl Fn(TcpStream) -> io::Result<S> + Sync,
    report: impl Fn(SocketAddr, Result<Report, Error>) + Sync,
) -> io::Result<()> {
    std::thread::scope(|scope| {
        let mut served = 0;
        for connection in listener.incoming() {
            if settings.peers.is_some_and(|most| served >= most) {
                break;
            }
            let Ok(connection) = connection else { continue };
            let Ok(addr) = connection.peer_addr() else {
                continue;
            };
            served += 1;
            let (wrap, report) = (&wrap, &report);
            let handle =
                scope.spawn(move || report(addr, serve_one(dir, connection, settings, wrap)));
            if settings.peers.is_some_and(|most| served >= most) {
                let _ = handle.join();
                break;
            }
        }
        Ok(())
    })
}

fn serve_one<S: Read + Write>(
    dir: &Path,
    connection: TcpStream,
    settings: &Serve,
    wrap: impl Fn(TcpStream) -> io::Result<S>,
) -> Result<Report, Error> {
    let io = |source| Error::Io {
        during: "accepting the connection",
        source,
    };
    prepare(&connection, settings.timeout).map_err(io)?;
    let mut stream = wrap(connection).map_err(io)?;
    let mut store = Store::open(dir)?;
    let report = sync(&mut store, &mut stream, &settings.options)?;
    super::catch_up_views(&store)?;
    Ok(report)
}
